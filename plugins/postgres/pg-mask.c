/*
 * plugins/postgres/pg-mask.c - the conninfo setting without its secrets.
 *
 * A conninfo may carry a password (password=..., or user:password@ in a
 * URI), so it is never printed.  pg_conninfo_check parses it with libpq
 * (PQconninfoParse) at open, so a malformed one is a configuration error
 * at once, and builds the form used in messages: every option that is
 * set, in libpq's order, except the password ("host=db1,db2 port=5432
 * dbname=app user=app").  libpq's own parse errors quote fragments of the
 * text, which may be part of a password: a quoted fragment is kept only
 * when it is a known option name.
 */
#include "pg-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* True when s[0..len) is the name of a libpq connection option. */
static bool known_option(const PQconninfoOption *defs, const char *s, size_t len)
{
	for (const PQconninfoOption *o = defs; o != NULL && o->keyword != NULL; o++) {
		if (strlen(o->keyword) == len && memcmp(o->keyword, s, len) == 0)
			return true;
	}
	return false;
}

/* libpq's parse error with every quoted fragment that is not an option
   name replaced by "...", without the trailing newline. */
static void mask_parse_error(const char *msg, char *out, size_t size)
{
	PQconninfoOption *defs = PQconndefaults();
	size_t o = 0;

	for (const char *p = msg; *p != '\0' && o + 8 < size; p++) {
		const char *end;

		if (*p == '"' && (end = strchr(p + 1, '"')) != NULL) {
			size_t len = (size_t)(end - p - 1);

			if (known_option(defs, p + 1, len) && o + len + 3 < size) {
				memcpy(out + o, p, len + 2);
				o += len + 2;
			} else {
				memcpy(out + o, "\"...\"", 5);
				o += 5;
			}
			p = end;
			continue;
		}
		if (*p == '\n')
			continue;
		out[o++] = *p;
	}
	out[o] = '\0';
	PQconninfoFree(defs);
}

/* Parse conninfo (setting `what`) and make its display form. */
int pg_conninfo_check(const struct persist_host *host, const char *what,
		      const char *conninfo, char **display_r,
		      struct persist_error *err)
{
	PQconninfoOption *opts;
	char *errmsg = NULL, masked[256];
	size_t size = 1, len = 0;
	char *display;

	opts = PQconninfoParse(conninfo, &errmsg);
	if (opts == NULL) {
		if (errmsg == NULL)
			return host->error(err, PERSIST_ENOMEM, ENOMEM,
					   "out of memory");
		mask_parse_error(errmsg, masked, sizeof(masked));
		PQfreemem(errmsg);
		return host->error(err, PERSIST_ECONFIG, 0,
				   "setting \"%s\" does not parse\n"
				   "libpq says: %s", what, masked);
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (o->val != NULL && o->val[0] != '\0' &&
		    strcmp(o->keyword, "password") != 0)
			size += strlen(o->keyword) + strlen(o->val) + 2;
	}
	display = malloc(size);
	if (display == NULL) {
		PQconninfoFree(opts);
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory");
	}
	display[0] = '\0';
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || o->val[0] == '\0' ||
		    strcmp(o->keyword, "password") == 0)
			continue;
		len += (size_t)snprintf(display + len, size - len, "%s%s=%s",
					len > 0 ? " " : "", o->keyword, o->val);
	}
	PQconninfoFree(opts);
	*display_r = display;
	return PERSIST_OK;
}
