/*
 * plugins/redis/redis-store.c - the part of a store that does not depend
 * on its kind: open (settings, pool, names, subscriber), close and health
 * (PING latency).
 *
 * Open does not connect: it parses and checks the settings and starts
 * the subscriber thread of configuration and session stores, which
 * connects in the background.  The first call connects (the pool opens a
 * connection when it has none) and, for a store with a subscriber, then
 * waits until the subscription is confirmed, so that an event published
 * after that call returned is not missed.  A server that answers but
 * refuses us (wrong password, missing database, not speaking Redis)
 * makes that call answer PERSIST_ECONFIG, because retrying cannot help.  A
 * server that cannot be reached, or does not answer (stopped), makes it
 * answer PERSIST_EUNAVAIL or PERSIST_ETIMEDOUT within about
 * connectTimeout + commandTimeout - the same as during any later outage,
 * so a host can start while Redis restarts and the core's fallback can
 * take over.
 *
 * With sentinels a store also runs a watcher thread (redis-sentinel.c)
 * that follows the sentinels' announcements of a new master.
 */
#include "redis-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* malloc'ed concatenation of a and b; NULL on ENOMEM. */
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

/* Escape the glob characters of s[0..len) for MATCH, append '*'. */
char *redis_glob_prefix(const char *s, size_t len)
{
	char *out = malloc(len * 2 + 2), *o = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (strchr("*?[]\\^", s[i]) != NULL && s[i] != '\0')
			*o++ = '\\';
		*o++ = s[i];
	}
	*o++ = '*';
	*o = '\0';
	return out;
}

/* Walk the keys matching pattern, one SCAN page a round trip (see
   redis-private.h). */
int redis_walk_keys(struct redis_store *st, const char *what,
		    const char *pattern, redis_walk_fn *fn, void *ctx,
		    struct persist_error *err)
{
	struct pc_map seen = { 0 };
	char cursor[32] = "0";
	int ret = PERSIST_OK;
	bool stop = false;

	do {
		struct redis_req req;
		redisReply **replies = NULL;
		const redisReply *keys;

		redis_req_init(&req, "%s", what);
		redis_req_cmd(&req, "SCAN");
		redis_req_str(&req, cursor);
		redis_req_str(&req, "MATCH");
		redis_req_str(&req, pattern);
		redis_req_str(&req, "COUNT");
		redis_req_str(&req, "1000");
		ret = redis_exec_scan(&st->pool, &req, cursor, sizeof(cursor),
				      &replies, &keys, err);
		if (ret != PERSIST_OK) {
			redis_req_free(&req);
			break;
		}
		for (size_t i = 0; i < keys->elements && !stop; i++) {
			redisReply *k = keys->element[i];
			int added;

			if (k->type != REDIS_REPLY_STRING)
				continue;
			added = pc_map_add(&seen, k->str, k->len, NULL);
			if (added < 0) {
				ret = st->host->error(err, PERSIST_ENOMEM, ENOMEM,
						      "%s: out of memory", what);
				break;
			}
			if (added == 0)
				continue; /* SCAN may return a key twice */
			ret = fn(ctx, k->str, k->len, err);
			stop = ret != PERSIST_OK;
		}
		redis_replies_free(replies, 1);
		redis_req_free(&req);
	} while (ret == PERSIST_OK && !stop && strcmp(cursor, "0") != 0);
	pc_map_deinit(&seen);
	return ret == REDIS_WALK_STOP ? PERSIST_OK : ret;
}

/* Free a store and everything it holds (subscriber already stopped). */
static void store_free(struct redis_store *st)
{
	free(st->instance_id);
	free(st->chan_config);
	free(st->chan_expired);
	free(st->chan_bcast);
	free(st->chan_self);
	free(st->chan_inst);
	free(st->cfg_key_prefix);
	free(st->sess_key_prefix);
	free(st->sess_index);
	redis_conf_free(&st->conf);
	free(st);
}

/* Build the key and channel names that depend on prefix and instance. */
static bool store_names(struct redis_store *st)
{
	const char *p = st->conf.prefix;
	char expired[64];

	snprintf(expired, sizeof(expired), "__keyevent@%d__:expired", st->conf.db);
	st->prefix_len = strlen(p);
	st->chan_config = str_cat(p, "c:changes");
	st->chan_expired = strdup(expired);
	st->chan_bcast = str_cat(p, "n:bcast");
	st->chan_inst = str_cat(p, "n:inst:");
	st->chan_self = st->chan_inst != NULL ?
			str_cat(st->chan_inst, st->instance_id) : NULL;
	st->cfg_key_prefix = str_cat(p, "c:d:");
	st->sess_key_prefix = str_cat(p, "n:s:");
	st->sess_index = str_cat(p, "n:idx");
	return st->chan_config != NULL && st->chan_expired != NULL &&
	       st->chan_bcast != NULL && st->chan_inst != NULL &&
	       st->chan_self != NULL && st->cfg_key_prefix != NULL &&
	       st->sess_key_prefix != NULL && st->sess_index != NULL;
}

/* Wait until the subscriber has subscribed (bounded by the time its
   first attempt may take), so that once the first call of the store
   returned no event is missed; run after that call. */
static void store_after_first(void *ctx)
{
	struct redis_store *st = ctx;
	char why[256];

	redis_store_wait_sub(st, why, sizeof(why));
}

/* The sentinels announced a new master: make the subscriber move to
   it now rather than when its old connection fails. */
static void store_master_changed(void *ctx)
{
	struct redis_store *st = ctx;

	redis_sub_wake(st->sub);
}

/* Wait for the subscriber's first attempt (connect, handshake,
   SUBSCRIBE); true when it is subscribed, else false with why. */
bool redis_store_wait_sub(struct redis_store *st, char *why, size_t why_size)
{
	return redis_sub_wait_first(st->sub,
				    (int64_t)st->conf.connect_timeout_ms +
				    2 * (int64_t)st->conf.command_timeout_ms + 500,
				    why, why_size);
}

/* Open a store of args->kind: parse the settings, start what the kind
   needs (a subscriber thread for configuration and sessions, which
   connects in the background).  Open does not connect: the first call
   (or health) does, so that a server that is down or stopped costs a
   command that does not use this store nothing, and one that does one
   connectTimeout + commandTimeout. */
int redis_store_open(struct redis_plugin *plugin,
		     const struct persist_store_args *args,
		     struct redis_store **st_r, struct persist_error *err)
{
	const struct persist_host *host = plugin->host;
	struct redis_store *st;
	int ret;

	if (args == NULL || !PERSIST_HAS(args, sink))
		return host->error(err, PERSIST_EINVAL, 0,
				   "open was given no or too old "
				   "store arguments");
	if (redis_scripts_init() != 0)
		return host->error(err, PERSIST_EINIT, 0,
				   "cannot compute the digests of its "
				   "Lua scripts (OpenSSL SHA1)");
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory");
	st->plugin = plugin;
	st->host = host;
	st->kind = args->kind;
	st->sink = args->sink;
	st->instance_id = strdup(args->instance_id != NULL &&
				 args->instance_id[0] != '\0' ?
				 args->instance_id : "unnamed");
	if (st->instance_id == NULL) {
		free(st);
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory");
	}
	ret = redis_conf_parse(host, args->config_json, &st->conf, err);
	if (ret != PERSIST_OK) {
		free(st->instance_id);
		free(st);
		return ret;
	}
	if (!store_names(st)) {
		store_free(st);
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory");
	}
	ret = redis_pool_init(&st->pool, &st->conf, host, st->sink, err);
	if (ret != PERSIST_OK) {
		store_free(st);
		return ret;
	}
	if (st->kind == PERSIST_KIND_CONFIG)
		ret = redis_config_start(st, err);
	else if (st->kind == PERSIST_KIND_SESSION)
		ret = redis_session_start(st, err);
	else
		ret = PERSIST_OK;
	if (ret != PERSIST_OK) {
		if (st->kind == PERSIST_KIND_CONFIG)
			redis_config_stop(st);
		redis_pool_destroy(&st->pool);
		store_free(st);
		return ret;
	}
	if (st->sub != NULL) {
		st->pool.after_first = store_after_first;
		st->pool.after_first_ctx = st;
		st->pool.on_master_change = store_master_changed;
		st->pool.on_master_change_ctx = st;
	}
	if (st->conf.sentinels != NULL) {
		ret = redis_watch_start(&st->pool, &st->watch, err);
		if (ret != PERSIST_OK) {
			redis_store_close(st);
			return ret;
		}
	}
	*st_r = st;
	return PERSIST_OK;
}

/* Close a store: stop its subscriber, close its connections. */
void redis_store_close(struct redis_store *st)
{
	if (st == NULL)
		return;
	redis_watch_stop(st->watch);   /* first: it may wake the subscriber */
	st->watch = NULL;
	if (st->sub != NULL)
		redis_sub_stop(st->sub);
	st->sub = NULL;
	if (st->kind == PERSIST_KIND_CONFIG)
		redis_config_stop(st);
	redis_pool_destroy(&st->pool);
	store_free(st);
}

/* health(): PING round trip; its latency in microseconds. */
int redis_store_health(void *store, int64_t *latency_us_r,
		       struct persist_error *err)
{
	struct redis_store *st = store;
	struct redis_req req;
	redisReply **replies = NULL;
	int64_t start = st->host->monotonic_us();
	int ret;

	redis_req_init(&req, "health check");
	redis_req_cmd(&req, "PING");
	ret = redis_exec(&st->pool, &req, 0, &replies, err);
	redis_req_free(&req);
	if (ret != PERSIST_OK)
		return ret;
	if (replies[0]->type != REDIS_REPLY_STATUS ||
	    strcmp(replies[0]->str, "PONG") != 0)
		ret = redis_reply_error(st->host, replies[0], "health check", err);
	else if (latency_us_r != NULL)
		*latency_us_r = st->host->monotonic_us() - start;
	redis_replies_free(replies, 1);
	return ret;
}
