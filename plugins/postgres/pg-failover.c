/*
 * plugins/postgres/pg-failover.c - connecting to a conninfo that names
 * several servers ("host=db1,db2 ... target_session_attrs=read-write"),
 * where libpq does the choosing: it tries the hosts in turn and keeps the
 * first that suits target_session_attrs.  After the primary dies and a
 * standby is promoted, every new connection - the pool's and the
 * listening thread's - lands on the new primary by itself; the listener
 * LISTENs again and tells configuration subscribers to re-read everything
 * (pg-listen.c), and each new pooled connection prepares its statements
 * again (pg-conn.c).
 *
 * What this file changes is the timeout.  libpq moves on to the next host
 * when one does not answer within connect_timeout, but only in its
 * blocking connect: the non-blocking connect that pg-conn.c uses for a
 * single server (to keep connectTimeout in milliseconds) would spend all
 * of connectTimeout on a first host that does not answer at all - a
 * machine that is off - and never try the standby.  So a conninfo of
 * several hosts connects with libpq's blocking connect and a per-host
 * connect_timeout of connectTimeout rounded up to whole seconds (libpq's
 * unit, at least 2, libpq's minimum), unless the conninfo sets its own.
 */
#include "pg-private.h"

#include <stdio.h>
#include <string.h>

/* How many servers conninfo names (host or hostaddr, comma-separated);
   *has_timeout_r: it sets connect_timeout itself.  1 when it does not
   parse (open has already refused such a conninfo). */
unsigned pg_conninfo_hosts(const char *conninfo, bool *has_timeout_r)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	unsigned hosts = 1;

	*has_timeout_r = false;
	if (opts == NULL)
		return 1;
	for (const PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		unsigned n = 1;

		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "connect_timeout") == 0)
			*has_timeout_r = true;
		if (strcmp(o->keyword, "host") != 0 &&
		    strcmp(o->keyword, "hostaddr") != 0)
			continue;
		for (const char *p = o->val; *p != '\0'; p++)
			n += *p == ',';
		if (n > hosts)
			hosts = n;
	}
	PQconninfoFree(opts);
	return hosts;
}

/* Connect to a conninfo of several servers (see above); libpq's blocking
   connect, which gives each host timeout_ms rounded up to seconds
   (timeout_ms 0: the conninfo's own connect_timeout).  The connection,
   whatever its status (NULL only without memory). */
PGconn *pg_connect_hosts(const char *conninfo, int timeout_ms)
{
	const char *keywords[] = {
		"dbname", "client_encoding", "fallback_application_name",
		"connect_timeout", NULL
	};
	char seconds[16];
	const char *values[] = { conninfo, "UTF8", "persist", seconds, NULL };
	int s = (timeout_ms + 999) / 1000;

	snprintf(seconds, sizeof(seconds), "%d", s < 2 ? 2 : s);
	if (timeout_ms == 0)
		keywords[3] = NULL;
	return PQconnectdbParams(keywords, values, 1);
}
