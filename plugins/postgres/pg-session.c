/*
 * plugins/postgres/pg-session.c - sessions in the table sessions (id,
 * instance, data, updated_at, expires_at) and events by NOTIFY on the
 * channel "<schema>.s", which every session store's listening thread
 * LISTENs on.  Payloads (the event framed by pg-msg.c as M):
 *   "B" M              broadcast
 *   "T" instance "\n" M   send to the instance holding a session (the
 *                      server fills in the holder, read in the same
 *                      statement that checks the session is live)
 *   "b" id, "t" instance "\n" id
 *                      the same for an event that cannot travel inline
 *                      (8000-byte limit, or not UTF-8 text): M is stored
 *                      in the events table, the receiver reads it by id;
 *                      rows older than 5 minutes are swept.
 * Every instance receives every send and keeps those addressed to it.
 *
 * A session has a live holder while the holder's listening connection is
 * up: that connection holds a session-level advisory lock on
 * hashtext(schema || "\n" || instance), which the server releases when the
 * connection ends (also when the process dies), and a send checks for it
 * in pg_locks in the same statement.  A send to a session whose holder is
 * gone answers PERSIST_ENOTFOUND, even before the session's TTL runs out.
 */
#include "pg-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deliver an encoded event to the core. */
static void deliver(struct pg_store *st, const char *msg, size_t len)
{
	struct persist_event ev;
	char *buf = NULL;

	if (pg_msg_decode(msg, len, &buf, &ev) != 0) {
		st->host->log(st->sink, PERSIST_LOG_WARNING,
			      "dropped a malformed session event");
		return;
	}
	st->host->session_event(st->sink, &ev);
	free(buf);
}

/* Read a stored event by id and deliver it. */
static void deliver_stored(struct pg_store *st, PGconn *pg, const char *id)
{
	struct pg_params p = { 0 };
	PGresult *res = NULL;

	pg_param_str(&p, id);
	if (pg_listen_exec(st, pg, PS_SES_EVENT, &p, &res) != PERSIST_OK)
		return;
	if (PQntuples(res) == 1)
		deliver(st, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
	else
		st->host->log(st->sink, PERSIST_LOG_WARNING,
			      "session event %s is gone", id);
	PQclear(res);
}

/* Is "instance\n..." addressed to this store?  The rest to *rest_r. */
static bool for_me(struct pg_store *st, const char *s, const char **rest_r)
{
	const char *nl = strchr(s, '\n');
	size_t len = strlen(st->instance_id);

	if (nl == NULL || (size_t)(nl - s) != len || memcmp(s, st->instance_id, len) != 0)
		return false;
	*rest_r = nl + 1;
	return true;
}

/* A notice arrived on the session channel. */
static void session_msg(struct pg_store *st, PGconn *pg, const char *channel,
			const char *msg)
{
	const char *rest;

	(void)channel;
	switch (msg[0]) {
	case 'B':
		deliver(st, msg + 1, strlen(msg + 1));
		break;
	case 'T':
		if (for_me(st, msg + 1, &rest))
			deliver(st, rest, strlen(rest));
		break;
	case 'b':
		deliver_stored(st, pg, msg + 1);
		break;
	case 't':
		if (for_me(st, msg + 1, &rest))
			deliver_stored(st, pg, rest);
		break;
	default:
		break;
	}
}

/* The listener reconnected: events sent meanwhile are lost. */
static void session_gap(struct pg_store *st)
{
	st->host->log(st->sink, PERSIST_LOG_WARNING,
		      "session events sent while the listening "
		      "connection was down are lost");
}

/* Sweep expired sessions and old stored events. */
static int64_t session_tick(struct pg_store *st, PGconn *pg)
{
	pg_listen_exec(st, pg, PS_SES_SWEEP, NULL, NULL);
	return st->conf.sweep_interval_ms;
}

/* The listening connection (re)connected: hold this instance's advisory
   lock on it, which tells senders that its sessions have a live holder. */
static int session_connect(struct pg_store *st, PGconn *pg)
{
	struct pg_params p = { 0 };

	pg_param_str(&p, st->holder_key);
	return pg_listen_exec(st, pg, PS_SES_HOLD, &p, NULL) == PERSIST_OK ? 0 : -1;
}

int pg_session_start(struct pg_store *st, struct persist_error *err)
{
	const char *chans[1] = { st->chan_session };
	size_t ls = strlen(st->conf.schema), li = strlen(st->instance_id);

	st->holder_key = malloc(ls + li + 2);
	st->schema_nl = malloc(ls + 2);
	if (st->holder_key == NULL || st->schema_nl == NULL)
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM,
				       "out of memory");
	memcpy(st->holder_key, st->conf.schema, ls);
	st->holder_key[ls] = '\n';
	memcpy(st->holder_key + ls + 1, st->instance_id, li + 1);
	memcpy(st->schema_nl, st->holder_key, ls + 1);
	st->schema_nl[ls + 1] = '\0';
	return pg_listen_start(st, chans, 1, session_msg, session_gap, session_tick,
			       session_connect, &st->listener, err);
}

int pg_session_put(void *store, const char *id, const void *data, size_t len,
		   int64_t ttl_ms, struct persist_error *err)
{
	struct pg_store *st = store;
	struct pg_params p = { 0 };
	PGresult *res = NULL;
	char ttl[24];
	int ret;

	pg_param_str(&p, id);
	pg_param_str(&p, st->instance_id);
	pg_param_bin(&p, data, len);
	pg_param_i64(&p, ttl, ttl_ms);
	ret = pg_exec(&st->pool, PS_SES_PUT, &p, PG_WRITE, &res, "session put", err);
	if (ret == PERSIST_OK)
		PQclear(res);
	return ret;
}

int pg_session_drop(void *store, const char *id, struct persist_error *err)
{
	struct pg_store *st = store;
	struct pg_params p = { 0 };
	PGresult *res = NULL;
	bool live;
	int ret;

	pg_param_str(&p, id);
	ret = pg_exec(&st->pool, PS_SES_DROP, &p, PG_WRITE, &res, "session drop", err);
	if (ret != PERSIST_OK)
		return ret;
	live = PQntuples(res) == 1 && pg_get_bool(res, 0, 0);
	PQclear(res);
	if (!live)
		return st->host->error(err, PERSIST_ENOTFOUND, 0, "no session \"%s\"", id);
	return PERSIST_OK;
}

int pg_session_list(void *store, persist_emit_fn *emit, void *ctx,
		    struct persist_error *err)
{
	struct pg_store *st = store;
	PGresult *res = NULL;
	int ret = pg_exec(&st->pool, PS_SES_LIST, NULL, 0, &res, "session list", err);

	if (ret != PERSIST_OK)
		return ret;
	for (int i = 0; i < PQntuples(res); i++) {
		struct persist_item item = {
			.size = sizeof(item),
			.key = PQgetvalue(res, i, 0),
			.instance = PQgetvalue(res, i, 1),
			.value = PQgetvalue(res, i, 2),
			.len = (size_t)PQgetlength(res, i, 2),
			.expires_ms = pg_get_i64(res, i, 3),
		};

		if (emit(ctx, &item) != 0)
			break;
	}
	PQclear(res);
	return PERSIST_OK;
}

/* Send an event: to every instance (id NULL) or to the holder of id. */
static int session_notify(struct pg_store *st, const char *id, const char *event,
			  const void *data, size_t len, struct persist_error *err)
{
	struct pg_params p = { 0 };
	PGresult *res = NULL;
	size_t mlen;
	char *msg = pg_msg_encode(st->instance_id, id, event, data, len, &mlen);
	char *inline_payload = NULL;
	bool inl;
	int ret;

	if (msg == NULL)
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM,
				       "out of memory");
	inl = pg_msg_inline_ok(msg, mlen);
	pg_param_str(&p, st->chan_session);
	if (id != NULL)
		pg_param_str(&p, id);
	if (inl && id == NULL) {
		inline_payload = malloc(mlen + 2);
		if (inline_payload == NULL) {
			free(msg);
			return st->host->error(err, PERSIST_ENOMEM, ENOMEM,
					       "out of memory");
		}
		inline_payload[0] = 'B';
		memcpy(inline_payload + 1, msg, mlen + 1);
		pg_param_str(&p, inline_payload);
	} else if (inl) {
		pg_param_str(&p, msg);
	} else {
		pg_param_bin(&p, msg, mlen);
	}
	if (id != NULL)
		pg_param_str(&p, st->schema_nl);
	ret = pg_exec(&st->pool,
		      id == NULL ? (inl ? PS_SES_NOTIFY : PS_SES_NOTIFY_BIG) :
		      (inl ? PS_SES_SEND : PS_SES_SEND_BIG),
		      &p, PG_WRITE, &res, id == NULL ? "broadcast" : "send", err);
	free(msg);
	free(inline_payload);
	if (ret != PERSIST_OK)
		return ret;
	if (id != NULL && PQntuples(res) == 0) {
		PQclear(res);
		return st->host->error(err, PERSIST_ENOTFOUND, 0,
				       "no live session \"%s\" to send to\n"
				       "It is unknown, expired, or the instance holding it "
				       "is not connected.", id);
	}
	PQclear(res);
	return PERSIST_OK;
}

int pg_session_broadcast(void *store, const char *event, const void *data,
			 size_t len, struct persist_error *err)
{
	return session_notify(store, NULL, event, data, len, err);
}

int pg_session_send(void *store, const char *id, const char *event,
		    const void *data, size_t len, struct persist_error *err)
{
	return session_notify(store, id, event, data, len, err);
}
