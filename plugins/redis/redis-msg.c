/*
 * plugins/redis/redis-msg.c - the framing of pub/sub messages.
 *
 * A message carries a fixed number of byte fields (session events:
 * origin, session id, event name, payload; configuration notices: key,
 * ETag).  Payloads are arbitrary bytes, NULs and newlines included, so
 * each field is written as its decimal length, ':', then the bytes:
 *
 *     "P1" "<len>:" bytes "<len>:" bytes ...
 *
 * "P1" tags the format version, so a later format can be told apart and
 * a message from something else on the channel is rejected, not
 * misread.  Decoding checks every length against the buffer.
 */
#include "redis-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_TAG "P1"

/* Encode n fields into one malloc'ed message; NULL on ENOMEM. */
char *redis_msg_encode(size_t n, const void *const *fields,
		       const size_t *lens, size_t *len_r)
{
	size_t total = strlen(MSG_TAG);
	char *msg, *o;

	for (size_t i = 0; i < n; i++)
		total += 21 + lens[i];
	msg = malloc(total + 1);
	if (msg == NULL)
		return NULL;
	o = msg;
	memcpy(o, MSG_TAG, strlen(MSG_TAG));
	o += strlen(MSG_TAG);
	for (size_t i = 0; i < n; i++) {
		o += sprintf(o, "%zu:", lens[i]);
		if (lens[i] > 0)
			memcpy(o, fields[i], lens[i]);
		o += lens[i];
	}
	*o = '\0';
	*len_r = (size_t)(o - msg);
	return msg;
}

/* Split msg into exactly n fields; 0 on success, -1 when malformed. */
int redis_msg_decode(const char *msg, size_t len, size_t n,
		     const char **fields_r, size_t *lens_r)
{
	size_t pos = strlen(MSG_TAG);

	if (len < pos || memcmp(msg, MSG_TAG, pos) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t flen = 0, digits = 0;

		while (pos < len && msg[pos] >= '0' && msg[pos] <= '9') {
			if (++digits > 19)
				return -1;
			flen = flen * 10 + (size_t)(msg[pos] - '0');
			pos++;
		}
		if (digits == 0 || pos >= len || msg[pos] != ':')
			return -1;
		pos++;
		if (flen > len - pos)
			return -1;
		fields_r[i] = msg + pos;
		lens_r[i] = flen;
		pos += flen;
	}
	return pos == len ? 0 : -1;
}
