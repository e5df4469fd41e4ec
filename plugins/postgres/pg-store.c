/*
 * plugins/postgres/pg-store.c - the part of a store that does not depend
 * on its kind: open (settings, statements, pools, names, the listening
 * thread), close and health (SELECT 1 latency).
 *
 * Open does not wait for the database, except for the one thing that
 * needs it: a configuration or session store starts its listening thread
 * and waits for that thread's first connection attempt (at most
 * connectTimeout; a server that is down refuses at once), so that no
 * change made right after open is missed.  A server that answers but
 * refuses us (wrong password, missing database, no right to create the
 * schema) fails open with PERSIST_ECONFIG; one that cannot be reached
 * does not: the store opens, logs a warning and answers PERSIST_EUNAVAIL
 * until the server is back.  A state store connects on its first call.
 */
#include "pg-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* malloc'ed a + b. */
static char *str_cat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);

	if (s != NULL) {
		memcpy(s, a, la);
		memcpy(s + la, b, lb + 1);
	}
	return s;
}

/* The schema as a quoted identifier (as PQescapeIdentifier would quote
   it, which needs a connection): double quotes, inner ones doubled. */
static char *quote_ident(const char *s)
{
	size_t n = 0;
	char *q, *o;

	for (const char *p = s; *p != '\0'; p++)
		n += *p == '"' ? 2 : 1;
	q = o = malloc(n + 3);
	if (q == NULL)
		return NULL;
	*o++ = '"';
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '"')
			*o++ = '"';
		*o++ = *p;
	}
	*o++ = '"';
	*o = '\0';
	return q;
}

/* Free a store (listener stopped, pools destroyed). */
static void store_free(struct pg_store *st)
{
	pg_sql_free(st->sql);
	free(st->quoted_schema);
	free(st->instance_id);
	free(st->chan_config);
	free(st->chan_session);
	free(st->holder_key);
	free(st->schema_nl);
	pthread_mutex_destroy(&st->schema_lock);
	pthread_mutex_destroy(&st->rw_lock);
	pg_conf_free(&st->conf);
	free(st);
}

int pg_store_open(struct pg_plugin *plugin, const struct persist_store_args *args,
		  struct pg_store **st_r, struct persist_error *err)
{
	const struct persist_host *host = plugin->host;
	struct pg_store *st;
	int ret;

	if (args == NULL || !PERSIST_HAS(args, sink))
		return host->error(err, PERSIST_EINVAL, 0,
				   "open was given no or too old "
				   "store arguments");
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory");
	st->plugin = plugin;
	st->host = host;
	st->kind = args->kind;
	st->sink = args->sink;
	pthread_mutex_init(&st->schema_lock, NULL);
	pthread_mutex_init(&st->rw_lock, NULL);
	ret = pg_conf_parse(host, args->config_json, &st->conf, err);
	if (ret != PERSIST_OK) {
		store_free(st);
		return ret;
	}
	if (st->conf.display[0] == '\0') {
		free(st->conf.display);
		st->conf.display = pc_strdup("(libpq defaults)");
	}
	st->instance_id = pc_strdup(args->instance_id != NULL && args->instance_id[0] != '\0' ?
				 args->instance_id : "unnamed");
	st->quoted_schema = quote_ident(st->conf.schema);
	st->sql = st->quoted_schema != NULL ? pg_sql_build(st->quoted_schema) : NULL;
	st->chan_config = str_cat(st->conf.schema, ".c");
	st->chan_session = str_cat(st->conf.schema, ".s");
	if (st->conf.display == NULL || st->instance_id == NULL || st->sql == NULL ||
	    st->chan_config == NULL || st->chan_session == NULL) {
		store_free(st);
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory");
	}
	if (pg_pool_init(&st->pool, st, st->conf.conninfo, st->conf.display) != 0) {
		store_free(st);
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "cannot make a connection pool");
	}
	if (st->conf.replica_conninfo != NULL && st->kind == PERSIST_KIND_CONFIG) {
		if (pg_pool_init(&st->replica, st, st->conf.replica_conninfo,
				 st->conf.replica_display) != 0) {
			pg_pool_destroy(&st->pool);
			store_free(st);
			return host->error(err, PERSIST_ENOMEM, ENOMEM,
					   "cannot make a connection pool");
		}
		st->has_replica = true;
	}
	if (st->kind == PERSIST_KIND_CONFIG)
		ret = pg_config_start(st, err);
	else if (st->kind == PERSIST_KIND_SESSION)
		ret = pg_session_start(st, err);
	if (ret != PERSIST_OK) {
		pg_pool_destroy(&st->pool);
		if (st->has_replica)
			pg_pool_destroy(&st->replica);
		store_free(st);
		return ret;
	}
	*st_r = st;
	return PERSIST_OK;
}

void pg_store_close(struct pg_store *st)
{
	if (st == NULL)
		return;
	pg_listen_stop(st->listener);
	st->listener = NULL;
	pg_pool_destroy(&st->pool);
	if (st->has_replica)
		pg_pool_destroy(&st->replica);
	store_free(st);
}

/* health(): SELECT 1 round trip; its latency in microseconds. */
int pg_store_health(void *store, int64_t *latency_us_r, struct persist_error *err)
{
	struct pg_store *st = store;
	int64_t start = st->host->monotonic_us();
	PGresult *res = NULL;
	int ret = pg_exec(&st->pool, PS_HEALTH, NULL, 0, &res, "health check", err);

	if (ret != PERSIST_OK)
		return ret;
	if (PQntuples(res) != 1 || pg_get_i64(res, 0, 0) != 1)
		ret = st->host->error(err, PERSIST_EIO, 0,
				      "health check: unexpected answer");
	else if (latency_us_r != NULL)
		*latency_us_r = st->host->monotonic_us() - start;
	PQclear(res);
	return ret;
}
