/*
 * plugins/postgres/pg-config.c - configuration documents in the table
 * config (key, doc, etag, updated_at, expires_at; see pg-schema.c).
 *
 * The ETag is the core's (host->etag) of the document's bytes, computed
 * here and stored with it.  A set with if-match is one UPDATE ... WHERE
 * etag = $if_match: the row lock makes concurrent writers of one version
 * take turns, and each re-checks the ETag of the version it waited for, so
 * exactly one wins.  Every change sends pg_notify on the channel
 * "<schema>.c" in its own transaction (so a notice is sent exactly when
 * the change commits), carrying "S<etag>\n<key>" or "D\n<key>"; a rewrite
 * of identical bytes is not a change and sends nothing.  The listening
 * thread hands notices to host->config_changed, and after it had to
 * reconnect it calls host->config_changed(sink, NULL, NULL): re-read
 * everything.  The same thread deletes expired documents (notifying each)
 * when the next one is due, and every sweepInterval ms.
 *
 * With replicaConninfo, get and list read from the replica, except that an
 * instance reads its own writes and what it was notified of: after this
 * store changed something, and when a change notice arrives, it notes the
 * primary's WAL position; a read on a replica that has not replayed that
 * far is done on the primary instead.  A replica that cannot be reached
 * (or fails the read) falls back to the primary.
 */
#include "pg-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void note_current_lsn(struct pg_store *st, PGconn *pg);

/* A notice payload: kind ('S' or 'D'), etag (S only), key (malloc). */
static char *payload(char kind, const char *etag, const char *key)
{
	size_t le = etag != NULL ? strlen(etag) : 0, lk = strlen(key);
	char *p = malloc(le + lk + 3);

	if (p == NULL)
		return NULL;
	p[0] = kind;
	memcpy(p + 1, etag != NULL ? etag : "", le);
	p[1 + le] = '\n';
	memcpy(p + 2 + le, key, lk + 1);
	return p;
}

/* A notice arrived on the configuration channel. */
static void config_msg(struct pg_store *st, PGconn *pg, const char *channel,
		       const char *msg)
{
	const char *nl = strchr(msg, '\n');
	char etag[PERSIST_ETAG_MAX];
	size_t le;

	(void)channel;
	if (nl == NULL || (msg[0] != 'S' && msg[0] != 'D'))
		return;
	/* the change has committed: a read after this notice must see it */
	if (st->has_replica)
		note_current_lsn(st, pg);
	le = (size_t)(nl - msg - 1);
	if (msg[0] == 'D' || le == 0 || le >= sizeof(etag)) {
		st->host->config_changed(st->sink, nl + 1, NULL);
		return;
	}
	memcpy(etag, msg + 1, le);
	etag[le] = '\0';
	st->host->config_changed(st->sink, nl + 1, etag);
}

/* The listener reconnected: anything may have changed. */
static void config_gap(struct pg_store *st)
{
	st->host->config_changed(st->sink, NULL, NULL);
}

/* Delete expired documents (each is notified); ms until the next expiry. */
static int64_t config_tick(struct pg_store *st, PGconn *pg)
{
	struct pg_params p = { 0 };
	PGresult *res = NULL;
	int64_t next = -1;

	pg_param_str(&p, st->chan_config);
	if (pg_listen_exec(st, pg, PS_CFG_SWEEP, &p, NULL) != PERSIST_OK)
		return -1;
	if (pg_listen_exec(st, pg, PS_CFG_NEXT_EXPIRY, NULL, &res) == PERSIST_OK) {
		if (PQntuples(res) == 1)
			next = pg_get_i64(res, 0, 0);
		PQclear(res);
	}
	return next;
}

int pg_config_start(struct pg_store *st, struct persist_error *err)
{
	const char *chans[1] = { st->chan_config };

	return pg_listen_start(st, chans, 1, config_msg, config_gap, config_tick, NULL,
			       &st->listener, err);
}

/* Remember that reads must see the primary's WAL position text ("X/Y")
   or later. */
static void note_lsn(struct pg_store *st, const char *text)
{
	unsigned hi, lo;

	if (sscanf(text, "%X/%X", &hi, &lo) != 2)
		return;
	pthread_mutex_lock(&st->rw_lock);
	if (((uint64_t)hi << 32 | lo) > st->seen_lsn)
		st->seen_lsn = (uint64_t)hi << 32 | lo;
	pthread_mutex_unlock(&st->rw_lock);
}

/* The primary's current WAL position, on connection pg, into note_lsn. */
static void note_current_lsn(struct pg_store *st, PGconn *pg)
{
	PGresult *res = PQexec(pg, "SELECT pg_current_wal_insert_lsn()::text");

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		note_lsn(st, PQgetvalue(res, 0, 0));
	PQclear(res);
}

/* After a write of this store: reads must see it. */
static void note_write(struct pg_store *st)
{
	struct persist_error err;
	struct pg_conn *c = NULL;

	if (!st->has_replica || pg_pool_get(&st->pool, &c, &err) != PERSIST_OK)
		return;
	note_current_lsn(st, c->pg);
	pg_pool_put(&st->pool, c);
}

/* Run a read on the replica when it has replayed everything this store
   wrote or was told of, else (or when it is unreachable) on the primary. */
static int config_read(struct pg_store *st, enum pg_stmt id, const struct pg_params *p,
		       PGresult **res_r, const char *what, struct persist_error *err)
{
	if (st->has_replica) {
		struct persist_error rerr;
		struct pg_conn *c = NULL;
		uint64_t lsn;
		bool fresh = false;
		int ret;

		pthread_mutex_lock(&st->rw_lock);
		lsn = st->seen_lsn;
		pthread_mutex_unlock(&st->rw_lock);
		if (pg_pool_get(&st->replica, &c, &rerr) == PERSIST_OK) {
			if (lsn == 0) {
				fresh = true;
			} else {
				char text[40];
				const char *v[1] = { text };
				PGresult *r;

				snprintf(text, sizeof(text), "%X/%X", (unsigned)(lsn >> 32),
					 (unsigned)lsn);
				r = PQexecParams(c->pg, "SELECT COALESCE(pg_last_wal_replay_lsn() "
						 ">= $1::pg_lsn, true)", 1, NULL, v, NULL, NULL, 0);
				fresh = PQresultStatus(r) == PGRES_TUPLES_OK &&
					PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
				PQclear(r);
			}
			if (fresh) {
				ret = pg_conn_exec(&st->replica, c, id, p, 0, res_r, what, &rerr);
				pg_pool_put(&st->replica, c);
				if (ret == PERSIST_OK)
					return ret;
			} else {
				pg_pool_put(&st->replica, c);
			}
		}
	}
	return pg_exec(&st->pool, id, p, 0, res_r, what, err);
}

int pg_config_get(void *store, const char *key, struct persist_value *value_r,
		  struct persist_error *err)
{
	struct pg_store *st = store;
	struct pg_params p = { 0 };
	PGresult *res = NULL;
	int ret;

	pg_param_str(&p, key);
	ret = config_read(st, PS_CFG_GET, &p, &res, "get", err);
	if (ret != PERSIST_OK)
		return ret;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return st->host->error(err, PERSIST_ENOTFOUND, 0,
				       "no configuration document \"%s\"", key);
	}
	value_r->data = pg_get_copy(st->host, res, 0, 0, &value_r->len);
	snprintf(value_r->etag, sizeof(value_r->etag), "%s", PQgetvalue(res, 0, 1));
	value_r->expires_ms = pg_get_i64(res, 0, 2);
	PQclear(res);
	if (value_r->data == NULL)
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM,
				       "out of memory");
	return PERSIST_OK;
}

int pg_config_set(void *store, const char *key, const void *data, size_t len,
		  const struct persist_write_opts *opts,
		  char etag_r[PERSIST_ETAG_MAX], struct persist_error *err)
{
	struct pg_store *st = store;
	const char *if_match = opts != NULL && PERSIST_HAS(opts, if_match) ? opts->if_match : NULL;
	int64_t ttl_ms = opts != NULL && PERSIST_HAS(opts, ttl_ms) ? opts->ttl_ms : 0;
	struct pg_params p = { 0 };
	char etag[PERSIST_ETAG_MAX], ttl[24], *msg;
	PGresult *res = NULL;
	bool done;
	int ret;

	st->host->etag(data, len, etag);
	msg = payload('S', etag, key);
	if (msg == NULL)
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM,
				       "out of memory");
	pg_param_str(&p, key);
	pg_param_bin(&p, data, len);
	pg_param_str(&p, etag);
	pg_param_i64(&p, ttl, ttl_ms);
	pg_param_str(&p, st->chan_config);
	pg_param_str(&p, msg);
	if (if_match != NULL)
		pg_param_str(&p, if_match);
	ret = pg_exec(&st->pool, if_match != NULL ? PS_CFG_SET_IF : PS_CFG_SET, &p,
		      PG_WRITE, &res, "set", err);
	free(msg);
	if (ret != PERSIST_OK)
		return ret;
	done = PQntuples(res) == 1 && pg_get_i64(res, 0, 0) == 1;
	PQclear(res);
	if (!done)
		return st->host->error(err, PERSIST_ECONFLICT, 0,
				       "configuration document \"%s\" does not have ETag %s",
				       key, if_match);
	note_write(st);
	if (ttl_ms > 0)
		pg_listen_wake(st->listener);
	memcpy(etag_r, etag, PERSIST_ETAG_MAX);
	return PERSIST_OK;
}

int pg_config_del(void *store, const char *key, const char *if_match,
		  struct persist_error *err)
{
	struct pg_store *st = store;
	struct pg_params p = { 0 };
	PGresult *res = NULL;
	int64_t deleted = 0, exists = 0;
	char *msg = payload('D', NULL, key);
	int ret;

	if (msg == NULL)
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM,
				       "out of memory");
	pg_param_str(&p, key);
	pg_param_str(&p, st->chan_config);
	pg_param_str(&p, msg);
	if (if_match != NULL)
		pg_param_str(&p, if_match);
	ret = pg_exec(&st->pool, if_match != NULL ? PS_CFG_DEL_IF : PS_CFG_DEL, &p,
		      PG_WRITE, &res, "delete", err);
	free(msg);
	if (ret != PERSIST_OK)
		return ret;
	if (PQntuples(res) == 1) {
		deleted = pg_get_i64(res, 0, 0);
		exists = if_match != NULL ? pg_get_i64(res, 0, 1) : 0;
	}
	PQclear(res);
	if (deleted > 0) {
		note_write(st);
		return PERSIST_OK;
	}
	if (exists > 0)
		return st->host->error(err, PERSIST_ECONFLICT, 0,
				       "configuration document \"%s\" does not have ETag %s",
				       key, if_match);
	return st->host->error(err, PERSIST_ENOTFOUND, 0,
			       "no configuration document \"%s\"", key);
}

int pg_config_list(void *store, persist_emit_fn *emit, void *ctx,
		   struct persist_error *err)
{
	struct pg_store *st = store;
	PGresult *res = NULL;
	int ret = config_read(st, PS_CFG_LIST, NULL, &res, "list", err);

	if (ret != PERSIST_OK)
		return ret;
	for (int i = 0; i < PQntuples(res); i++) {
		struct persist_item item = {
			.size = sizeof(item),
			.key = PQgetvalue(res, i, 0),
			.etag = PQgetvalue(res, i, 1),
		};

		if (emit(ctx, &item) != 0)
			break;
	}
	PQclear(res);
	return PERSIST_OK;
}
