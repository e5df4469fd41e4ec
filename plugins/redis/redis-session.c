/*
 * plugins/redis/redis-session.c - sessions on Redis: a registry of live
 * connections shared by every instance, broadcasts and targeted sends.
 *
 * Key layout (P = the "prefix" setting):
 *   P n:s:ID         hash {i: instance holding it, d: data, x: expiry in ms
 *                    since the epoch or 0}; PEXPIRE for a TTL, so Redis
 *                    itself forgets a session that was not refreshed
 *   P n:idx          sorted set ID -> expiry (+inf without TTL): the index
 *                    list walks (ZSCAN), so listing never scans the whole
 *                    database; entries whose session expired are skipped
 *                    and cleaned up by later puts (bounded work each)
 *   P n:bcast        channel: broadcasts, to every instance
 *   P n:inst:INST    channel: events for sessions held by instance INST
 *
 * put and drop are Lua scripts (session-put, session-drop) that keep the
 * hash and the index in step.  send is the session-send script: it reads
 * the holder and publishes to its channel in one atomic step, so an event
 * is never sent to an instance that no longer holds the session, and a
 * session that is not live answers PERSIST_ENOTFOUND.  A send succeeds
 * only when the holder's subscriber received the event (PUBLISH counts the
 * receivers): when nobody listens on the holder's channel the holder has
 * exited without dropping its sessions (or lost its connection to the
 * server for longer than its subscriber takes to reconnect), so the
 * script drops the stale registration and send answers
 * PERSIST_ENOTFOUND instead of losing the event silently.  A session put
 * waits for the store's subscriber to be subscribed first, so that a
 * session is never registered before its holder listens.
 *
 * Every session store subscribes (redis-pubsub.c, its own connection and
 * thread) to P n:bcast and to its own instance channel, and hands events
 * to host->session_event, its own broadcasts included.  An event is a
 * "P1"-framed message (redis-msg.c) of four fields: origin (the sender's
 * instance id), session id ("" for a broadcast), event name, data - so an
 * instance can tell its own events.  Pub/sub does not queue: events sent
 * while an instance is disconnected are lost to it; the subscriber
 * reconnects and subscribes again by itself.
 */
#include "redis-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_COUNT "500"

/* An event arrived on the broadcast or this instance's channel. */
static void session_message(struct redis_store *st, const char *channel,
			    size_t chlen, const char *data, size_t len)
{
	const char *f[4];
	size_t fl[4];
	char *origin, *sid = NULL, *event;
	struct persist_event ev = { .size = sizeof(ev) };

	(void)channel;
	(void)chlen;
	if (redis_msg_decode(data, len, 4, f, fl) < 0 || fl[2] == 0 ||
	    memchr(f[0], '\0', fl[0]) != NULL || memchr(f[1], '\0', fl[1]) != NULL ||
	    memchr(f[2], '\0', fl[2]) != NULL) {
		st->host->log(st->sink, PERSIST_LOG_WARNING,
			      "%s: ignoring a malformed session event",
			      st->conf.display);
		return;
	}
	origin = strndup(f[0], fl[0]);
	event = strndup(f[2], fl[2]);
	if (fl[1] > 0)
		sid = strndup(f[1], fl[1]);
	if (origin != NULL && event != NULL && (fl[1] == 0 || sid != NULL)) {
		ev.origin = origin;
		ev.session_id = sid;
		ev.event = event;
		ev.data = f[3];
		ev.len = fl[3];
		st->host->session_event(st->sink, &ev);
	}
	free(origin);
	free(sid);
	free(event);
}

/* Kind-specific open: subscribe to broadcasts and to this instance. */
int redis_session_start(struct redis_store *st, struct persist_error *err)
{
	const char *channels[2] = { st->chan_bcast, st->chan_self };

	return redis_sub_start(st, channels, 2, session_message, NULL, NULL,
			       &st->sub, err);
}

/* put(): the session-put script (hash, TTL, index). */
int redis_session_put(void *store, const char *id, const void *data,
		      size_t len, int64_t ttl_ms, struct persist_error *err)
{
	struct redis_store *st = store;
	const struct persist_host *host = st->host;
	int64_t now = host->now_ms();
	struct redis_req req;
	char why[256];
	int ret;

	redis_req_init(&req, "put of session \"%s\"", id);
	ret = redis_check_ttl(host, ttl_ms, req.what, err);
	if (ret != PERSIST_OK) {
		redis_req_free(&req);
		return ret;
	}
	/* never register a session before its holder listens: a send would
	   find nobody on the channel and drop it */
	if (!redis_store_wait_sub(st, why, sizeof(why))) {
		ret = host->error(err, PERSIST_EUNAVAIL, 0,
				  "%s: redis %s is unavailable\nThe store cannot "
				  "subscribe to its events: %s. Nothing was sent.",
				  req.what, st->conf.display, why);
		redis_req_free(&req);
		return ret;
	}
	redis_req_script(&req, RS_SESSION_PUT, 2);
	redis_req_key(&req, st->sess_key_prefix, id);
	redis_req_str(&req, st->sess_index);
	redis_req_str(&req, id);
	redis_req_str(&req, st->instance_id);
	redis_req_arg(&req, data, len);
	redis_req_i64(&req, ttl_ms);
	redis_req_i64(&req, ttl_ms > 0 ? now + ttl_ms : 0);
	redis_req_i64(&req, now);
	redis_req_str(&req, st->sess_key_prefix);
	ret = redis_exec_integer(&st->pool, &req, REDIS_WRITE | REDIS_ATOMIC,
				 NULL, err);
	redis_req_free(&req);
	return ret;
}

/* drop(): the session-drop script; ENOTFOUND when not live. */
int redis_session_drop(void *store, const char *id, struct persist_error *err)
{
	struct redis_store *st = store;
	const struct persist_host *host = st->host;
	struct redis_req req;
	long long n;
	int ret;

	redis_req_init(&req, "drop of session \"%s\"", id);
	redis_req_script(&req, RS_SESSION_DROP, 2);
	redis_req_key(&req, st->sess_key_prefix, id);
	redis_req_str(&req, st->sess_index);
	redis_req_str(&req, id);
	ret = redis_exec_integer(&st->pool, &req, REDIS_WRITE | REDIS_ATOMIC, &n,
				 err);
	if (ret == PERSIST_OK && n == 0)
		ret = host->error(err, PERSIST_ENOTFOUND, 0,
				  "session \"%s\" not found", id);
	redis_req_free(&req);
	return ret;
}

/* Fetch one page of index ids (HMGET i d x each, one pipeline) and emit
   the live ones. */
static int list_page(struct redis_store *st, const char **ids, size_t n,
		     persist_emit_fn *emit, void *ctx, bool *stop,
		     struct persist_error *err)
{
	const struct persist_host *host = st->host;
	struct redis_req req;
	redisReply **replies = NULL;
	int ret;

	redis_req_init(&req, "list of sessions");
	for (size_t i = 0; i < n; i++) {
		redis_req_cmd(&req, "HMGET");
		redis_req_key(&req, st->sess_key_prefix, ids[i]);
		redis_req_str(&req, "i");
		redis_req_str(&req, "d");
		redis_req_str(&req, "x");
	}
	ret = redis_exec(&st->pool, &req, 0, &replies, err);
	if (ret != PERSIST_OK) {
		redis_req_free(&req);
		return ret;
	}
	for (size_t i = 0; i < n && !*stop; i++) {
		redisReply *r = replies[i];
		struct persist_item item = { .size = sizeof(item) };
		int64_t x = 0;

		if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
			ret = redis_reply_error(host, r, req.what, err);
			break;
		}
		if (r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_STRING)
			continue; /* expired or dropped since the index said so */
		if (r->element[2]->type == REDIS_REPLY_STRING)
			persist_parse_counter(r->element[2]->str, r->element[2]->len, &x);
		item.key = ids[i];
		item.instance = r->element[0]->str;
		item.value = r->element[1]->str;
		item.len = r->element[1]->len;
		item.expires_ms = x;
		*stop = emit(ctx, &item) != 0;
	}
	redis_replies_free(replies, req.ncmds);
	redis_req_free(&req);
	return ret;
}

/* list(): ZSCAN the index, then read each page's sessions. */
int redis_session_list(void *store, persist_emit_fn *emit, void *ctx,
		       struct persist_error *err)
{
	struct redis_store *st = store;
	const struct persist_host *host = st->host;
	struct pc_map seen = { 0 };
	char cursor[32] = "0";
	const char **ids = NULL;
	bool stop = false;
	int ret = PERSIST_OK;

	do {
		struct redis_req req;
		redisReply **replies = NULL;
		const redisReply *items;
		size_t n = 0;

		redis_req_init(&req, "list of sessions");
		redis_req_cmd(&req, "ZSCAN");
		redis_req_str(&req, st->sess_index);
		redis_req_str(&req, cursor);
		redis_req_str(&req, "COUNT");
		redis_req_str(&req, LIST_COUNT);
		ret = redis_exec_scan(&st->pool, &req, cursor, sizeof(cursor),
				      &replies, &items, err);
		if (ret != PERSIST_OK) {
			redis_req_free(&req);
			break;
		}
		free(ids);
		ids = malloc((items->elements / 2 + 1) * sizeof(*ids));
		if (ids == NULL) {
			ret = host->error(err, PERSIST_ENOMEM, ENOMEM, "%s: out of memory",
					  req.what);
			redis_replies_free(replies, 1);
			redis_req_free(&req);
			break;
		}
		for (size_t i = 0; i + 1 < items->elements; i += 2) {
			redisReply *m = items->element[i];
			int added;

			if (m->type != REDIS_REPLY_STRING)
				continue;
			added = pc_map_add(&seen, m->str, m->len, NULL);
			if (added < 0) {
				ret = host->error(err, PERSIST_ENOMEM, ENOMEM,
						  "%s: out of memory", req.what);
				break;
			}
			if (added > 0)
				ids[n++] = m->str;
		}
		if (ret == PERSIST_OK && n > 0)
			ret = list_page(st, ids, n, emit, ctx, &stop, err);
		redis_replies_free(replies, 1);
		redis_req_free(&req);
	} while (ret == PERSIST_OK && !stop && strcmp(cursor, "0") != 0);
	free(ids);
	pc_map_deinit(&seen);
	return ret;
}

/* Encode an event message; NULL on ENOMEM. */
static char *event_msg(struct redis_store *st, const char *sid,
		       const char *event, const void *data, size_t len,
		       size_t *len_r)
{
	const void *f[4] = { st->instance_id, sid != NULL ? sid : "", event,
			     data != NULL ? data : "" };
	size_t fl[4] = { strlen(st->instance_id), sid != NULL ? strlen(sid) : 0,
			 strlen(event), len };

	return redis_msg_encode(4, f, fl, len_r);
}

/* broadcast(): PUBLISH on the broadcast channel. */
int redis_session_broadcast(void *store, const char *event, const void *data,
			    size_t len, struct persist_error *err)
{
	struct redis_store *st = store;
	const struct persist_host *host = st->host;
	struct redis_req req;
	size_t msg_len;
	char *msg;
	int ret;

	msg = event_msg(st, NULL, event, data, len, &msg_len);
	if (msg == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "broadcast of event \"%s\": out of memory", event);
	redis_req_init(&req, "broadcast of event \"%s\"", event);
	redis_req_cmd(&req, "PUBLISH");
	redis_req_str(&req, st->chan_bcast);
	redis_req_arg(&req, msg, msg_len);
	ret = redis_exec_integer(&st->pool, &req, REDIS_WRITE | REDIS_ATOMIC,
				 NULL, err);
	redis_req_free(&req);
	free(msg);
	return ret;
}

/* send(): the session-send script publishes to the holder's channel.
   Success means the holder's subscriber received the event; a holder
   that no longer listens (it exited without dropping its sessions) makes
   the script drop the stale registration, and send answers ENOTFOUND. */
int redis_session_send(void *store, const char *id, const char *event,
		       const void *data, size_t len, struct persist_error *err)
{
	struct redis_store *st = store;
	const struct persist_host *host = st->host;
	struct redis_req req;
	long long n;
	size_t msg_len;
	char *msg;
	int ret;

	msg = event_msg(st, id, event, data, len, &msg_len);
	if (msg == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "send of event \"%s\" to session \"%s\": out of "
				   "memory", event, id);
	redis_req_init(&req, "send of event \"%s\" to session \"%s\"", event, id);
	redis_req_script(&req, RS_SESSION_SEND, 2);
	redis_req_key(&req, st->sess_key_prefix, id);
	redis_req_str(&req, st->sess_index);
	redis_req_str(&req, st->chan_inst);
	redis_req_arg(&req, msg, msg_len);
	redis_req_str(&req, id);
	ret = redis_exec_integer(&st->pool, &req, REDIS_WRITE | REDIS_ATOMIC, &n,
				 err);
	if (ret == PERSIST_OK && n == -1)
		ret = host->error(err, PERSIST_ENOTFOUND, 0,
				  "session \"%s\" not found", id);
	else if (ret == PERSIST_OK && n < 0)
		ret = host->error(err, PERSIST_ENOTFOUND, 0,
				  "session \"%s\" not found\nIts holder no longer "
				  "listens (it exited without dropping it); the event "
				  "was not delivered and the session was dropped.", id);
	redis_req_free(&req);
	free(msg);
	return ret;
}
