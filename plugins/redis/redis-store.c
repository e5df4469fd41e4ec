/*
 * plugins/redis/redis-store.c - the part of a store that does not depend
 * on its kind: open (settings, pool, first connection, names), close and
 * health (PING latency).
 *
 * Open connects once.  A server that answers but refuses us (wrong
 * password, missing database, not speaking Redis) fails open with
 * PERSIST_ECONFIG, because retrying cannot help.  A server that cannot be
 * reached does not: the store opens, logs a warning, and its calls answer
 * PERSIST_EUNAVAIL until the server is back - the same as during any later
 * outage, so a host can start while Redis restarts and the core's fallback
 * can take over.
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

/* Open a store of args->kind: parse the settings, connect once, start
   what the kind needs (a subscriber for configuration and sessions). */
int redis_store_open(struct redis_plugin *plugin,
		     const struct persist_store_args *args,
		     struct redis_store **st_r, struct persist_error *err)
{
	const struct persist_host *host = plugin->host;
	struct redis_store *st;
	struct persist_error probe_err;
	int ret;

	if (args == NULL || !PERSIST_HAS(args, sink))
		return host->error(err, PERSIST_EINVAL, 0,
				   "redis provider: open was given no or too old "
				   "store arguments");
	if (redis_scripts_init() != 0)
		return host->error(err, PERSIST_EINIT, 0,
				   "redis provider: cannot compute the digests of its "
				   "Lua scripts (OpenSSL SHA1)");
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "redis provider: out of memory");
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
				   "redis provider: out of memory");
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
				   "redis provider: out of memory");
	}
	ret = redis_pool_init(&st->pool, &st->conf, host, st->sink, err);
	if (ret != PERSIST_OK) {
		store_free(st);
		return ret;
	}
	ret = redis_pool_probe(&st->pool, &probe_err);
	if (ret == PERSIST_ECONFIG || ret == PERSIST_ENOMEM) {
		if (err != NULL)
			*err = probe_err;
		redis_pool_destroy(&st->pool);
		store_free(st);
		return ret;
	}
	if (ret != PERSIST_OK)
		host->log(st->sink, PERSIST_LOG_WARNING,
			  "%s; the store opens anyway and answers unavailable "
			  "until the server can be reached", probe_err.msg);

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
	*st_r = st;
	return PERSIST_OK;
}

/* Close a store: stop its subscriber, close its connections. */
void redis_store_close(struct redis_store *st)
{
	if (st == NULL)
		return;
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
