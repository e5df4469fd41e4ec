/*
 * plugins/postgres/pg-msg.c - a session event as bytes, for a NOTIFY
 * payload or a row of the events table:
 *
 *     origin "\n" session-id "\n" event "\n" data
 *
 * (session-id empty for a broadcast).  Origin, session ids and event names
 * are checked by the core (no control characters), so "\n" cannot occur
 * in them; data is any bytes and comes last.  A NOTIFY payload is text of
 * the database encoding (UTF-8) under 8000 bytes, so an event travels
 * inline only when it is valid UTF-8 without NUL and short enough;
 * otherwise it goes through the events table.
 */
#include "pg-private.h"

#include <stdlib.h>
#include <string.h>

/* Encode an event (malloc). */
char *pg_msg_encode(const char *origin, const char *session_id,
		    const char *event, const void *data, size_t len,
		    size_t *len_r)
{
	size_t lo = strlen(origin), ls = session_id != NULL ? strlen(session_id) : 0;
	size_t le = strlen(event), n = lo + ls + le + 3 + len;
	char *msg = malloc(n + 1), *o = msg;

	if (msg == NULL)
		return NULL;
	memcpy(o, origin, lo);
	o += lo;
	*o++ = '\n';
	memcpy(o, session_id != NULL ? session_id : "", ls);
	o += ls;
	*o++ = '\n';
	memcpy(o, event, le);
	o += le;
	*o++ = '\n';
	if (len > 0)
		memcpy(o, data, len);
	msg[n] = '\0';
	*len_r = n;
	return msg;
}

/* Split an encoded event into ev (pointers into a copy in *buf_r). */
int pg_msg_decode(const char *msg, size_t len, char **buf_r,
		  struct persist_event *ev)
{
	char *buf = pc_memdup0(msg, len), *p, *f[3];
	size_t rest = len;

	if (buf == NULL)
		return -1;
	p = buf;
	for (int i = 0; i < 3; i++) {
		char *nl = memchr(p, '\n', rest);

		if (nl == NULL) {
			free(buf);
			return -1;
		}
		*nl = '\0';
		f[i] = p;
		rest -= (size_t)(nl + 1 - p);
		p = nl + 1;
	}
	memset(ev, 0, sizeof(*ev));
	ev->size = sizeof(*ev);
	ev->origin = f[0];
	ev->session_id = f[1][0] != '\0' ? f[1] : NULL;
	ev->event = f[2];
	ev->data = p;
	ev->len = rest;
	*buf_r = buf;
	return 0;
}

/* Valid UTF-8 (the support library's check), without NUL, and short
   enough for a NOTIFY payload. */
bool pg_msg_inline_ok(const char *msg, size_t len)
{
	return len <= PG_NOTIFY_INLINE_MAX && memchr(msg, '\0', len) == NULL &&
	       pc_utf8_valid(msg, len);
}
