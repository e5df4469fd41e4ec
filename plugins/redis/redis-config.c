/*
 * plugins/redis/redis-config.c - configuration documents on Redis, with
 * ETags, compare-and-swap, TTL and change notification.
 *
 * Key layout (P = the "prefix" setting):
 *   P c:d:KEY        hash {d: document bytes, e: ETag}; PEXPIRE for a TTL
 *   P c:changes      pub/sub channel of change notices
 * The ETag is computed by the core's host->etag, so every provider agrees
 * on it, and stored beside the document: get returns both from one HMGET.
 *
 * set and delete are Lua scripts (config-set, config-del), which makes
 * if-match a real compare-and-swap: the ETag is compared and the document
 * written in one atomic step on the server, whoever else writes.  The same
 * script publishes the change notice, so a notice is never sent for a
 * write that did not happen nor missed for one that did.  A set whose
 * bytes equal the stored ones (same ETag) is not a change and notifies
 * nobody.
 *
 * Notices are "P1"-framed messages (redis-msg.c) of four fields: key,
 * new ETag ("" when deleted), TTL in ms ("0" when none) and "1" when the
 * document changed ("0": only its TTL was set again, which matters to the
 * expiry checks below but is not a change).  Every
 * configuration store subscribes to P c:changes on its own connection
 * (redis-pubsub.c) and hands each notice to host->config_changed.
 * Expiry: Redis removes an expired document silently, so a store
 * remembers the documents it learnt have a TTL (from notices and from
 * get) and, when one is due, asks the server (PTTL) - gone means
 * config_changed(key, NULL); still there (clocks differ, or it was
 * refreshed) means check again when the server says.  After the
 * subscription had to be re-established, notices may have been lost, so
 * the store calls config_changed(NULL, NULL): re-read everything.
 *
 * list walks the key space with SCAN MATCH "P c:d:*" (glob characters of
 * the prefix escaped), never KEYS.
 */
#include "redis-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A document with a TTL whose expiry is to be checked. */
struct redis_expiry {
	char *key;
	int64_t due_ms; /* monotonic */
};

#define MAX_EXPIRIES 100000

/* Monotonic milliseconds. */
static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Remember (or move) the expiry check of key, due in ms from now; ms < 0
   forgets it.  Wakes the subscriber when asked (calls from other threads). */
static void expiry_set(struct redis_store *st, const char *key, size_t klen,
		       int64_t ms, bool wake)
{
	size_t i;

	pthread_mutex_lock(&st->timer_lock);
	for (i = 0; i < st->n_expiries; i++)
		if (strlen(st->expiries[i].key) == klen &&
		    memcmp(st->expiries[i].key, key, klen) == 0)
			break;
	if (ms < 0) {
		if (i < st->n_expiries) {
			free(st->expiries[i].key);
			st->expiries[i] = st->expiries[--st->n_expiries];
		}
		pthread_mutex_unlock(&st->timer_lock);
		return;
	}
	if (i == st->n_expiries) {
		char *copy;

		if (st->n_expiries >= MAX_EXPIRIES)
			goto out;
		if (st->n_expiries == st->cap_expiries) {
			size_t cap = st->cap_expiries ? st->cap_expiries * 2 : 16;
			struct redis_expiry *e = realloc(st->expiries,
							 cap * sizeof(*e));

			if (e == NULL)
				goto out;
			st->expiries = e;
			st->cap_expiries = cap;
		}
		copy = strndup(key, klen);
		if (copy == NULL)
			goto out;
		st->expiries[i].key = copy;
		st->n_expiries++;
	}
	st->expiries[i].due_ms = mono_ms() + ms;
out:
	pthread_mutex_unlock(&st->timer_lock);
	if (wake && st->sub != NULL)
		redis_sub_wake(st->sub);
}

/* PTTL of a document: -2 gone, -1 no TTL, else ms left; INT64_MIN when
   the server could not be asked. */
static int64_t doc_pttl(struct redis_store *st, const char *key)
{
	struct redis_req req;
	redisReply **replies = NULL;
	struct persist_error err;
	int64_t t = INT64_MIN;

	redis_req_init(&req, "expiry check of configuration document \"%s\"", key);
	redis_req_cmd(&req, "PTTL");
	redis_req_key(&req, st->cfg_key_prefix, key);
	if (redis_exec(&st->pool, &req, 0, &replies, &err) == PERSIST_OK) {
		if (replies[0]->type == REDIS_REPLY_INTEGER)
			t = replies[0]->integer;
		redis_replies_free(replies, 1);
	}
	redis_req_free(&req);
	return t;
}

/* Subscriber tick: check the documents whose expiry is due; return the
   ms until the next one (-1: none). */
static int64_t config_tick(struct redis_store *st)
{
	int64_t now = mono_ms(), next = -1;
	char *due = NULL;

	for (;;) {
		pthread_mutex_lock(&st->timer_lock);
		due = NULL;
		next = -1;
		for (size_t i = 0; i < st->n_expiries; i++) {
			if (st->expiries[i].due_ms <= now) {
				due = strdup(st->expiries[i].key);
				/* postpone; the check below decides */
				st->expiries[i].due_ms = now + 1000;
				break;
			}
			if (next < 0 || st->expiries[i].due_ms - now < next)
				next = st->expiries[i].due_ms - now;
		}
		pthread_mutex_unlock(&st->timer_lock);
		if (due == NULL)
			return next;
		{
			int64_t t = doc_pttl(st, due);

			if (t == -2) {
				expiry_set(st, due, strlen(due), -1, false);
				st->host->config_changed(st->sink, due, NULL);
			} else if (t == -1) {
				expiry_set(st, due, strlen(due), -1, false);
			} else if (t >= 0) {
				expiry_set(st, due, strlen(due), t + 1, false);
			} /* else: unavailable; retried in a second */
		}
		free(due);
		now = mono_ms();
	}
}

/* A message on the notice channel: key, ETag, TTL, changed. */
static void config_message(struct redis_store *st, const char *channel,
			   size_t chlen, const char *data, size_t len)
{
	const char *f[4];
	size_t fl[4];
	char *key, etag[PERSIST_ETAG_MAX];
	int64_t ttl = 0;

	if (chlen != strlen(st->chan_config) ||
	    memcmp(channel, st->chan_config, chlen) != 0)
		return;
	if (redis_msg_decode(data, len, 4, f, fl) < 0 || fl[0] == 0 ||
	    fl[3] != 1 ||
	    fl[1] >= PERSIST_ETAG_MAX || persist_parse_counter(f[2], fl[2], &ttl) < 0 ||
	    memchr(f[0], '\0', fl[0]) != NULL) {
		st->host->log(st->sink, PERSIST_LOG_WARNING,
			      "%s: ignoring a malformed notice on %s",
			      st->conf.display, st->chan_config);
		return;
	}
	key = strndup(f[0], fl[0]);
	if (key == NULL)
		return;
	memcpy(etag, f[1], fl[1]);
	etag[fl[1]] = '\0';
	expiry_set(st, f[0], fl[0], fl[1] > 0 && ttl > 0 ? ttl : -1, false);
	if (f[3][0] == '1')
		st->host->config_changed(st->sink, key, fl[1] > 0 ? etag : NULL);
	free(key);
}

/* The subscription was re-established: anything may have changed. */
static void config_gap(struct redis_store *st)
{
	st->host->config_changed(st->sink, NULL, NULL);
}

/* Kind-specific open: expiry list, subscriber. */
int redis_config_start(struct redis_store *st, struct persist_error *err)
{
	const char *channels[1] = { st->chan_config };

	if (pthread_mutex_init(&st->timer_lock, NULL) != 0)
		return st->host->error(err, PERSIST_ENOMEM, 0,
				       "cannot create a mutex");
	st->timer_lock_ready = true;
	return redis_sub_start(st, channels, 1, config_message, config_gap,
			       config_tick, &st->sub, err);
}

/* Kind-specific close (subscriber already stopped). */
void redis_config_stop(struct redis_store *st)
{
	if (!st->timer_lock_ready)
		return;
	for (size_t i = 0; i < st->n_expiries; i++)
		free(st->expiries[i].key);
	free(st->expiries);
	st->expiries = NULL;
	st->n_expiries = st->cap_expiries = 0;
	pthread_mutex_destroy(&st->timer_lock);
	st->timer_lock_ready = false;
}

/* get(): HMGET d e and PTTL in one round trip. */
int redis_config_get(void *store, const char *key,
		     struct persist_value *value_r, struct persist_error *err)
{
	struct redis_store *st = store;
	const struct persist_host *host = st->host;
	struct redis_req req;
	redisReply **replies = NULL, *r, *t;
	char *buf;
	int ret;

	redis_req_init(&req, "get of configuration document \"%s\"", key);
	redis_req_cmd(&req, "HMGET");
	redis_req_key(&req, st->cfg_key_prefix, key);
	redis_req_str(&req, "d");
	redis_req_str(&req, "e");
	redis_req_cmd(&req, "PTTL");
	redis_req_key(&req, st->cfg_key_prefix, key);
	ret = redis_exec(&st->pool, &req, 0, &replies, err);
	if (ret != PERSIST_OK)
		goto out;
	r = replies[0];
	t = replies[1];
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
		ret = redis_reply_error(host, r, req.what, err);
	} else if (r->element[0]->type != REDIS_REPLY_STRING ||
		   r->element[1]->type != REDIS_REPLY_STRING) {
		ret = host->error(err, PERSIST_ENOTFOUND, 0,
				  "configuration document \"%s\" not found", key);
	} else if (r->element[1]->len >= PERSIST_ETAG_MAX) {
		ret = host->error(err, PERSIST_ECORRUPT, 0,
				  "configuration document \"%s\" has a malformed ETag",
				  key);
	} else if ((buf = host->alloc(r->element[0]->len + 1)) == NULL) {
		ret = host->error(err, PERSIST_ENOMEM, ENOMEM, "%s: out of memory",
				  req.what);
	} else {
		memcpy(buf, r->element[0]->str, r->element[0]->len);
		buf[r->element[0]->len] = '\0';
		value_r->data = buf;
		value_r->len = r->element[0]->len;
		memcpy(value_r->etag, r->element[1]->str, r->element[1]->len);
		value_r->etag[r->element[1]->len] = '\0';
		value_r->expires_ms = 0;
		if (t->type == REDIS_REPLY_INTEGER && t->integer >= 0) {
			value_r->expires_ms = host->now_ms() + t->integer;
			expiry_set(st, key, strlen(key), t->integer + 1, true);
		}
	}
	redis_replies_free(replies, req.ncmds);
out:
	redis_req_free(&req);
	return ret;
}

/* Encode a notice (key, etag, ttl, and with `changed` the fourth field
   "1"; without it the config-set script appends the fourth field);
   NULL on ENOMEM. */
static char *notice(const char *key, const char *etag, int64_t ttl_ms,
		    bool changed, size_t *len_r)
{
	char ttl[24];
	const void *f[4];
	size_t fl[4];

	snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
	f[0] = key;
	fl[0] = strlen(key);
	f[1] = etag;
	fl[1] = strlen(etag);
	f[2] = ttl;
	fl[2] = strlen(ttl);
	f[3] = "1";
	fl[3] = 1;
	return redis_msg_encode(changed ? 4 : 3, f, fl, len_r);
}

/* Append the compare-and-swap arguments of the config-set and
   config-del scripts: "1" and the expected ETag, or "0" and "" for an
   unconditional write. */
static void req_if_match(struct redis_req *req, const char *if_match)
{
	redis_req_str(req, if_match != NULL ? "1" : "0");
	redis_req_str(req, if_match != NULL ? if_match : "");
}

/* The error of a set or delete whose if_match is not the stored ETag. */
static int etag_mismatch(const struct persist_host *host, const char *key,
			 const char *if_match, struct persist_error *err)
{
	return host->error(err, PERSIST_ECONFLICT, 0,
			   "configuration document \"%s\" does not match ETag %s",
			   key, if_match);
}

/* set(): the config-set script (CAS on if_match, TTL, notice). */
int redis_config_set(void *store, const char *key, const void *data,
		     size_t len, const struct persist_write_opts *opts,
		     char etag_r[PERSIST_ETAG_MAX], struct persist_error *err)
{
	struct redis_store *st = store;
	const struct persist_host *host = st->host;
	const char *if_match = NULL;
	int64_t ttl = 0;
	char etag[PERSIST_ETAG_MAX];
	struct redis_req req;
	long long n;
	char *msg;
	size_t msg_len;
	int ret;

	pc_write_opts(opts, &if_match, &ttl);
	if (ttl < 0 || ttl > PERSIST_TTL_MAX_MS) {
		char what[192];

		snprintf(what, sizeof(what), "set of configuration document \"%s\"",
			 key);
		return redis_check_ttl(host, ttl, what, err);
	}
	host->etag(data, len, etag);
	msg = notice(key, etag, ttl, false, &msg_len);
	if (msg == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "set of configuration document \"%s\": out of memory",
				   key);
	redis_req_init(&req, "set of configuration document \"%s\"", key);
	redis_req_script(&req, RS_CONFIG_SET, 1);
	redis_req_key(&req, st->cfg_key_prefix, key);
	redis_req_arg(&req, data, len);
	redis_req_str(&req, etag);
	req_if_match(&req, if_match);
	redis_req_i64(&req, ttl);
	redis_req_str(&req, st->chan_config);
	redis_req_arg(&req, msg, msg_len);
	ret = redis_exec_integer(&st->pool, &req, REDIS_WRITE | REDIS_ATOMIC, &n,
				 err);
	if (ret == PERSIST_OK && n == 0)
		ret = etag_mismatch(host, key, if_match, err);
	else if (ret == PERSIST_OK && etag_r != NULL)
		memcpy(etag_r, etag, sizeof(etag));
	redis_req_free(&req);
	free(msg);
	return ret;
}

/* del(): the config-del script (if_match, notice). */
int redis_config_del(void *store, const char *key, const char *if_match,
		     struct persist_error *err)
{
	struct redis_store *st = store;
	const struct persist_host *host = st->host;
	struct redis_req req;
	long long n;
	char *msg;
	size_t msg_len;
	int ret;

	msg = notice(key, "", 0, true, &msg_len);
	if (msg == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "delete of configuration document \"%s\": out of "
				   "memory", key);
	redis_req_init(&req, "delete of configuration document \"%s\"", key);
	redis_req_script(&req, RS_CONFIG_DEL, 1);
	redis_req_key(&req, st->cfg_key_prefix, key);
	req_if_match(&req, if_match);
	redis_req_str(&req, st->chan_config);
	redis_req_arg(&req, msg, msg_len);
	ret = redis_exec_integer(&st->pool, &req, REDIS_WRITE | REDIS_ATOMIC, &n,
				 err);
	if (ret == PERSIST_OK && n == 0)
		ret = host->error(err, PERSIST_ENOTFOUND, 0,
				  "configuration document \"%s\" not found", key);
	else if (ret == PERSIST_OK && n < 0)
		ret = etag_mismatch(host, key, if_match, err);
	redis_req_free(&req);
	free(msg);
	return ret;
}

/* What list() carries through the walk. */
struct config_list {
	size_t plen;          /* length of the document keys' prefix */
	persist_emit_fn *emit;
	void *ctx;
};

/* One document key of the walk: emit its name. */
static int config_list_key(void *ctx, const char *key, size_t len,
			   struct persist_error *err)
{
	struct config_list *list = ctx;
	struct persist_item item = { .size = sizeof(item) };

	(void)err;
	if (len <= list->plen)
		return PERSIST_OK;
	item.key = key + list->plen;
	return list->emit(list->ctx, &item) != 0 ? REDIS_WALK_STOP : PERSIST_OK;
}

/* list(): SCAN MATCH over the document keys; each key once. */
int redis_config_list(void *store, persist_emit_fn *emit, void *ctx,
		      struct persist_error *err)
{
	struct redis_store *st = store;
	struct config_list list = {
		.plen = strlen(st->cfg_key_prefix), .emit = emit, .ctx = ctx,
	};
	char *pattern;
	int ret;

	pattern = redis_glob_prefix(st->cfg_key_prefix, list.plen);
	if (pattern == NULL)
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM,
				       "list of configuration documents: out of memory");
	ret = redis_walk_keys(st, "list of configuration documents", pattern,
			      config_list_key, &list, err);
	free(pattern);
	return ret;
}
