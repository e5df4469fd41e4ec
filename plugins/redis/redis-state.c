/*
 * plugins/redis/redis-state.c - state on Redis: counters, values with
 * TTL, append logs and batches.
 *
 * Key layout of collection C (P = the "prefix" setting, default
 * "persist:"; C cannot contain '{' or '}', so the braces delimit it
 * without ambiguity and also make it the Redis Cluster hash tag, keeping a
 * collection's keys in one slot):
 *
 *   P s:{C}:h        hash, one field per key of the collection:
 *                      a counter: its decimal value (HINCRBY works on it)
 *                      a value:   the marker "@v"; the bytes are in ...
 *   P s:{C}:v:KEY    string holding the value of KEY (SET, SET ... PX ttl)
 *   P s:{C}:x        sorted set KEY -> expiry (ms since the epoch) of the
 *                    values set with a TTL, to clean up their markers
 *   P s:{C}:log      list: the collection's append log (RPUSH)
 *   P s:{C}:lb       the log's base: the number of the list's first
 *                    element (absent: 0), moved by trims
 *   P s:{C}:w        sorted set KEY -> the time (ms since the epoch) of
 *                    the last set or delete applied to KEY (the write
 *                    times, see "Last writer wins" below)
 *
 * One key space per collection (plugin.h): a key is a value or a counter,
 * never both, because every write keeps the hash field and the string in
 * step atomically (Lua scripts, or MULTI/EXEC in batches):
 *   - set writes the string (with PX when there is a TTL) and the marker;
 *   - incr is a plain HINCRBY - the fast path, one command - which fails
 *     ("hash value is not an integer") only when the key holds a value;
 *     the state-incr script then increments the value in place (INCRBY
 *     keeps its TTL; a value that is not a decimal integer answers
 *     PERSIST_EINVAL), or, when the value has expired, starts a counter;
 *   - get and delete read the field first and follow the marker;
 *   - scan walks the hash with HSCAN (never KEYS or SCAN over the whole
 *     database): counters come with it, marked keys are fetched with a
 *     pipelined GET/PTTL per HSCAN page, and expired ones are skipped.
 * When a value expires, Redis drops the string; its marker stays until a
 * set in the same collection cleans it (bounded work per call, driven by
 * the :x sorted set) or the key is written again.  A marker without its
 * string means "absent" everywhere, so a stale marker is never visible.
 *
 * Logs are lists, not Streams: plugin.h numbers records 0, 1, 2, ... and
 * read_log starts at a record number, which is a list index plus the
 * log's base (RPUSH appends, LRANGE reads).  A trim LTRIMs the list and
 * adds what it removed to the base in one script, and read_log reads the
 * base and the page in one script, so numbers never change.  A stream
 * would number entries by time-based IDs and need a mapping from record
 * numbers to IDs.  A drop deletes the hash, the value strings (one per
 * field of the hash), the expiry set, the list and the base in one
 * script: the collection is then as if never written.
 *
 * Batches are one MULTI/EXEC pipeline: one round trip, applied atomically
 * - with one exception: an increment that meets a key holding a value
 * fails inside EXEC while the other commands apply (Redis does not roll
 * back).  That increment is redone through the state-incr script after
 * EXEC; if that fails too (the value is not a decimal integer) the batch
 * answers PERSIST_EUNCERTAIN, as plugin.h asks of a batch that failed
 * after some of its operations were applied, naming the key.
 *
 * batch_once is one Lua script (state-batch-once, see redis-script.c):
 * it looks for the batch's id key P b:ID, and when it is absent checks
 * every increment against the stored values (so the script fails before
 * it writes anything, or not at all), sets the id key with a PX of
 * PERSIST_BATCH_ID_KEEP_MS and applies the operations - one atomic step,
 * so a retry after a lost reply finds the id and applies nothing.
 * A batch of increments only - what the core's write queue sends for
 * usage counters - goes first to state-batch-once-incr, the same step
 * done cheaply: each collection's hash is named once, one HMGET per
 * collection reads the keys, the sums are checked (exactly, as above)
 * and one HSET per collection writes them with the id key.  When a key
 * holds a value (its marker), holds no counter text, or a sum leaves
 * int64, that script writes nothing and answers so; the batch then goes
 * to state-batch-once, which applies it or words the error.  Either way
 * one script applies the whole batch or none of it.
 *
 * Last writer wins (batch_once_dated).  Every set and delete records its
 * key's write time in P s:{C}:w, in the same script or MULTI/EXEC that
 * writes the key: the time given to batch_once_dated, else the host's
 * now_ms() passed as an argument (never the server's TIME: the times
 * compare with those of the core's journal, made by the host's clock).
 * A delete records its time also when the key was absent, since a set
 * made before that delete must not bring the key back; a key that
 * expires keeps its time, because nothing removes it from :w.  A sorted
 * set rather than a field beside the marker in the hash: the time
 * outlives the key (the hash field goes with the key), scores are exact
 * integers up to 2^53 ms, and ZRANGEBYSCORE finds the old ones to prune
 * without a walk.  The cost of a set or delete is a ZADD and a PEXPIRE
 * inside the script it already was, so still one round trip; a plain
 * batch adds one state-times call per run of sets and deletes in one
 * collection.  Increments and appends record nothing and cost what they
 * did (HINCRBY, state-batch-once-incr).  Times older than
 * PERSIST_BATCH_ID_KEEP_MS are pruned when a call adds keys to the
 * times (a ZRANGEBYSCORE then, O(log n)): at most 16 more than it added,
 * bounded work that still outpaces the growth; rewriting a key already
 * timed prunes nothing, as the set did not grow.  The whole set expires
 * two days after its last write, so a collection nobody writes any more
 * does not keep it.  batch_once_dated is state-batch-once with
 * the times as arguments: each set or delete whose key's recorded time
 * is later than its own is skipped (an equal time applies), the others
 * are applied in order and record their times, so two sets of one key
 * in one batch with increasing times both apply.  A drop deletes :w with
 * the rest; collections does not list a collection that has only :w (it
 * looks for :h and :log).
 *
 * flush has nothing to do: every call is synchronous, so everything
 * acknowledged is in the server; how durable that is depends on the
 * server's appendonly/appendfsync settings, which is why the table does
 * not claim PERSIST_CAP_DURABLE.
 */
#include "redis-private.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARK REDIS_VALUE_MARK
#define MARK_LEN (sizeof(REDIS_VALUE_MARK) - 1)
#define SCAN_COUNT "512"
#define LOG_PAGE 1024

/* Append the name of one of collection's keys: P s:{C}:<suffix>. */
static void key_coll(struct redis_req *req, const struct redis_store *st,
		     const char *collection, const char *suffix)
{
	redis_req_cat(req, st->conf.prefix, "s:{", collection, "}:", suffix,
		      (const char *)NULL);
}

/* Names of one collection's keys already in a request, so that a batch
   of operations on one collection composes them once. */
struct coll_names {
	const char *collection;
	const char *arg[3]; /* h, x, log: pointers into the request */
	size_t len[3];
};

/* Like key_coll for suffix h (0), x (1) or log (2), reusing the name
   when the previous operation was on the same collection. */
static void key_coll_cached(struct redis_req *req, const struct redis_store *st,
			    struct coll_names *cn, const char *collection,
			    int which)
{
	static const char *const suffix[3] = { "h", "x", "log" };

	if (cn->collection == NULL || strcmp(cn->collection, collection) != 0) {
		memset(cn, 0, sizeof(*cn));
		cn->collection = collection;
	}
	if (cn->arg[which] != NULL && !req->oom) {
		redis_req_arg(req, cn->arg[which], cn->len[which]);
		return;
	}
	key_coll(req, st, collection, suffix[which]);
	if (!req->oom) {
		cn->arg[which] = req->argv[req->nargs - 1];
		cn->len[which] = req->lens[req->nargs - 1];
	}
}

/* Append the name of the value string of key: P s:{C}:v:KEY. */
static void key_value(struct redis_req *req, const struct redis_store *st,
		      const char *collection, const char *key)
{
	redis_req_cat(req, st->conf.prefix, "s:{", collection, "}:v:", key,
		      (const char *)NULL);
}

/* Start a call of the set, delete or incr script on key: their keys are
   the hash, the value string, the expiry zset and, with times (set and
   delete, which record the key's write time), the times zset; their
   first argument the key (see redis-script.c); the caller appends the
   rest. */
static void script_on_key(struct redis_req *req, const struct redis_store *st,
			  enum redis_script_id id, const char *collection,
			  const char *key, bool times)
{
	redis_req_script(req, id, times ? 4 : 3);
	key_coll(req, st, collection, "h");
	key_value(req, st, collection, key);
	key_coll(req, st, collection, "x");
	if (times)
		key_coll(req, st, collection, "w");
	redis_req_str(req, key);
}

/* Copy bytes into a host buffer with a NUL after them. */
static int value_copy(const struct persist_host *host, const char *data,
		      size_t len, struct persist_value *value_r,
		      int64_t pttl, const char *what, struct persist_error *err)
{
	char *buf = host->alloc(len + 1);

	if (buf == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM, "%s: out of memory",
				   what);
	memcpy(buf, data, len);
	buf[len] = '\0';
	value_r->data = buf;
	value_r->len = len;
	value_r->etag[0] = '\0';
	value_r->expires_ms = pttl >= 0 ? host->now_ms() + pttl : 0;
	return PERSIST_OK;
}

/* get(): one script call (state-get) reads the field and follows the
   marker. */
int redis_state_get(void *store, const char *collection, const char *key,
		    struct persist_value *value_r, struct persist_error *err)
{
	struct redis_store *st = store;
	const struct persist_host *host = st->host;
	struct redis_req req;
	redisReply **replies = NULL, *r;
	int ret;

	redis_req_init(&req, "get of key \"%s\" in collection \"%s\"", key,
		       collection);
	redis_req_script(&req, RS_STATE_GET, 2);
	key_coll(&req, st, collection, "h");
	key_value(&req, st, collection, key);
	redis_req_str(&req, key);
	ret = redis_exec(&st->pool, &req, 0, &replies, err);
	if (ret != PERSIST_OK)
		goto out;
	r = replies[0];
	if (r->type == REDIS_REPLY_NIL)
		ret = host->error(err, PERSIST_ENOTFOUND, 0,
				  "key \"%s\" not found in collection \"%s\"", key,
				  collection);
	else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		 r->element[0]->type == REDIS_REPLY_INTEGER &&
		 r->element[1]->type == REDIS_REPLY_STRING)
		ret = value_copy(host, r->element[1]->str, r->element[1]->len,
				 value_r, r->element[0]->integer, req.what, err);
	else
		ret = redis_reply_error(host, r, req.what, err);
	redis_replies_free(replies, 1);
out:
	redis_req_free(&req);
	return ret;
}

/* set(): the state-set script writes the string and the marker, records
   the write time (and cleans up a few expired markers and old times of
   the collection). */
int redis_state_set(void *store, const char *collection, const char *key,
		    const void *data, size_t len, int64_t ttl_ms,
		    struct persist_error *err)
{
	struct redis_store *st = store;
	const struct persist_host *host = st->host;
	int64_t now = host->now_ms();
	struct redis_req req;
	int ret;

	redis_req_init(&req, "set of key \"%s\" in collection \"%s\"", key,
		       collection);
	ret = redis_check_ttl(host, ttl_ms, req.what, err);
	if (ret != PERSIST_OK) {
		redis_req_free(&req);
		return ret;
	}
	script_on_key(&req, st, RS_STATE_SET, collection, key, true);
	redis_req_arg(&req, data, len);
	redis_req_i64(&req, ttl_ms);
	redis_req_i64(&req, ttl_ms > 0 ? now + ttl_ms : 0);
	redis_req_i64(&req, now);
	key_coll(&req, st, collection, "v:");
	ret = redis_exec_integer(&st->pool, &req, REDIS_WRITE | REDIS_ATOMIC,
				 NULL, err);
	redis_req_free(&req);
	return ret;
}

/* del(): the state-del script records the write time and removes the
   field and, for a value, its string; ENOTFOUND when neither was
   there. */
int redis_state_del(void *store, const char *collection, const char *key,
		    struct persist_error *err)
{
	struct redis_store *st = store;
	const struct persist_host *host = st->host;
	struct redis_req req;
	long long n;
	int ret;

	redis_req_init(&req, "delete of key \"%s\" in collection \"%s\"", key,
		       collection);
	script_on_key(&req, st, RS_STATE_DEL, collection, key, true);
	redis_req_i64(&req, host->now_ms());
	ret = redis_exec_integer(&st->pool, &req, REDIS_WRITE | REDIS_ATOMIC, &n,
				 err);
	if (ret == PERSIST_OK && n == 0)
		ret = host->error(err, PERSIST_ENOTFOUND, 0,
				  "key \"%s\" not found in collection \"%s\"",
				  key, collection);
	redis_req_free(&req);
	return ret;
}

/* The slow path of incr (the key holds a value, or held one that
   expired): the state-incr script. */
static int incr_slow(struct redis_store *st, const char *collection,
		     const char *key, int64_t delta, int64_t *value_r,
		     struct persist_error *err)
{
	const struct persist_host *host = st->host;
	struct redis_req req;
	redisReply **replies = NULL, *r;
	int64_t v;
	int ret;

	redis_req_init(&req, "incr of key \"%s\" in collection \"%s\"", key,
		       collection);
	script_on_key(&req, st, RS_STATE_INCR, collection, key, false);
	redis_req_i64(&req, delta);
	ret = redis_exec(&st->pool, &req, REDIS_WRITE | REDIS_ATOMIC, &replies,
			 err);
	if (ret != PERSIST_OK)
		goto out;
	r = replies[0];
	if (r->type == REDIS_REPLY_STRING && persist_parse_counter(r->str, r->len, &v) == 0) {
		if (value_r != NULL)
			*value_r = v;
	} else if (r->type == REDIS_REPLY_ERROR &&
		   strncmp(r->str, "PERSIST-NOTINT", 14) == 0) {
		ret = host->error(err, PERSIST_EINVAL, 0,
				  "incr of key \"%s\" in collection \"%s\": the value "
				  "is not a decimal integer, or the result would "
				  "overflow", key, collection);
	} else {
		ret = redis_reply_error(host, r, req.what, err);
	}
	redis_replies_free(replies, 1);
out:
	redis_req_free(&req);
	return ret;
}

/* Is r the error HINCRBY gives for a field that is not an integer? */
static bool reply_not_integer(const redisReply *r)
{
	return r->type == REDIS_REPLY_ERROR &&
	       strstr(r->str, "hash value is not an integer") != NULL;
}

/* incr(): HINCRBY on the collection's hash (one command); a key holding
   a value takes the scripted slow path. */
int redis_state_incr(void *store, const char *collection, const char *key,
		     int64_t delta, int64_t *value_r, struct persist_error *err)
{
	struct redis_store *st = store;
	const struct persist_host *host = st->host;
	struct redis_req req;
	redisReply **replies = NULL, *r;
	int ret;

	redis_req_init(&req, "incr of key \"%s\" in collection \"%s\"", key,
		       collection);
	redis_req_cmd(&req, "HINCRBY");
	key_coll(&req, st, collection, "h");
	redis_req_str(&req, key);
	redis_req_i64(&req, delta);
	ret = redis_exec(&st->pool, &req, REDIS_WRITE | REDIS_ATOMIC, &replies,
			 err);
	if (ret != PERSIST_OK)
		goto out;
	r = replies[0];
	if (r->type == REDIS_REPLY_INTEGER) {
		if (value_r != NULL)
			*value_r = r->integer;
	} else if (reply_not_integer(r)) {
		ret = incr_slow(st, collection, key, delta, value_r, err);
	} else if (r->type == REDIS_REPLY_ERROR && strstr(r->str, "overflow") != NULL) {
		ret = host->error(err, PERSIST_EINVAL, 0,
				  "incr of key \"%s\" in collection \"%s\": the result "
				  "would overflow a 64-bit integer", key, collection);
	} else {
		ret = redis_reply_error(host, r, req.what, err);
	}
	redis_replies_free(replies, 1);
out:
	redis_req_free(&req);
	return ret;
}

/* append(): RPUSH to the collection's log list. */
int redis_state_append(void *store, const char *collection, const void *data,
		       size_t len, struct persist_error *err)
{
	struct redis_store *st = store;
	struct redis_req req;
	int ret;

	redis_req_init(&req, "append to the log of collection \"%s\"", collection);
	redis_req_cmd(&req, "RPUSH");
	key_coll(&req, st, collection, "log");
	redis_req_arg(&req, data, len);
	ret = redis_exec_integer(&st->pool, &req, REDIS_WRITE | REDIS_ATOMIC,
				 NULL, err);
	redis_req_free(&req);
	return ret;
}

/* Start a call of a log script (log-read, log-trim, log-bounds) on the
   collection's log list and its base key. */
static void log_script(struct redis_req *req, const struct redis_store *st,
		       enum redis_script_id id, const char *collection)
{
	redis_req_script(req, id, 2);
	key_coll(req, st, collection, "log");
	key_coll(req, st, collection, "lb");
}

/* Parse a log base (decimal text >= 0) from a script's reply; 0 or -1. */
static int log_base(const redisReply *r, uint64_t *base_r)
{
	int64_t v;

	if (r->type != REDIS_REPLY_STRING || persist_parse_counter(r->str, r->len, &v) != 0 ||
	    v < 0)
		return -1;
	*base_r = (uint64_t)v;
	return 0;
}

/* read_log(): pages of up to LOG_PAGE records from `from` on, each one
   call of the log-read script (LRANGE shifted by the log's base). */
int redis_state_read_log(void *store, const char *collection, uint64_t from,
			 size_t max, persist_emit_fn *emit, void *ctx,
			 struct persist_error *err)
{
	struct redis_store *st = store;
	const struct persist_host *host = st->host;
	uint64_t next = from, base = 0;
	size_t done = 0;

	while (max == 0 || done < max) {
		size_t page = LOG_PAGE;
		struct redis_req req;
		redisReply **replies = NULL, *r;
		bool stop = false;
		int ret;

		if (max != 0 && max - done < page)
			page = max - done;
		if (next > (uint64_t)INT64_MAX - page)
			return PERSIST_OK;
		redis_req_init(&req, "read of the log of collection \"%s\"",
			       collection);
		log_script(&req, st, RS_LOG_READ, collection);
		redis_req_i64(&req, (int64_t)next);
		redis_req_i64(&req, (int64_t)page);
		ret = redis_exec(&st->pool, &req, 0, &replies, err);
		if (ret != PERSIST_OK) {
			redis_req_free(&req);
			return ret;
		}
		r = replies[0];
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    log_base(r->element[0], &base) != 0 ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			ret = redis_reply_error(host, r, req.what, err);
			redis_replies_free(replies, 1);
			redis_req_free(&req);
			return ret;
		}
		if (next < base)
			next = base; /* trimmed away: from the first kept record */
		r = r->element[1];
		for (size_t i = 0; i < r->elements && !stop; i++) {
			struct persist_item item = {
				.size = sizeof(item),
				.value = r->element[i]->str,
				.len = r->element[i]->len,
				.index = next + i,
			};

			if (r->element[i]->type != REDIS_REPLY_STRING) {
				ret = host->error(err, PERSIST_ECORRUPT, 0,
						  "%s: record %" PRIu64 " is not a string",
						  req.what, next + i);
				break;
			}
			stop = emit(ctx, &item) != 0;
		}
		done += r->elements;
		next += r->elements;
		stop = stop || ret != PERSIST_OK || r->elements < page;
		redis_replies_free(replies, 1);
		redis_req_free(&req);
		if (ret != PERSIST_OK)
			return ret;
		if (stop)
			break;
	}
	return PERSIST_OK;
}

/* Fetch and emit the values behind the marked keys of one HSCAN page:
   GET + PTTL per key, one pipeline; expired ones are skipped.  Sets
   *stop when emit asks to stop. */
static int scan_values(struct redis_store *st, const char *collection,
		       const char **keys, size_t n, persist_emit_fn *emit,
		       void *ctx, bool *stop, struct persist_error *err)
{
	const struct persist_host *host = st->host;
	struct redis_req req;
	redisReply **replies = NULL;
	int64_t now = host->now_ms();
	int ret;

	redis_req_init(&req, "scan of collection \"%s\"", collection);
	for (size_t i = 0; i < n; i++) {
		redis_req_cmd(&req, "GET");
		key_value(&req, st, collection, keys[i]);
		redis_req_cmd(&req, "PTTL");
		key_value(&req, st, collection, keys[i]);
	}
	ret = redis_exec(&st->pool, &req, 0, &replies, err);
	if (ret != PERSIST_OK) {
		redis_req_free(&req);
		return ret;
	}
	for (size_t i = 0; i < n && !*stop; i++) {
		redisReply *v = replies[2 * i], *t = replies[2 * i + 1];
		struct persist_item item = { .size = sizeof(item) };

		if (v->type == REDIS_REPLY_NIL)
			continue; /* expired since HSCAN saw its marker */
		if (v->type != REDIS_REPLY_STRING) {
			ret = redis_reply_error(host, v, req.what, err);
			break;
		}
		item.key = keys[i];
		item.value = v->str;
		item.len = v->len;
		item.expires_ms = t->type == REDIS_REPLY_INTEGER && t->integer >= 0 ?
				  now + t->integer : 0;
		*stop = emit(ctx, &item) != 0;
	}
	redis_replies_free(replies, req.ncmds);
	redis_req_free(&req);
	return ret;
}

/* scan(): HSCAN the collection's hash (MATCH on the escaped prefix),
   emit counters directly and fetch the values of marked keys. */
int redis_state_scan(void *store, const char *collection, const char *prefix,
		     persist_emit_fn *emit, void *ctx, struct persist_error *err)
{
	struct redis_store *st = store;
	const struct persist_host *host = st->host;
	struct pc_map seen = { 0 };
	char cursor[32] = "0";
	char *pattern = NULL;
	const char **marked = NULL;
	bool stop = false;
	int ret = PERSIST_OK;

	if (prefix != NULL && prefix[0] != '\0') {
		pattern = redis_glob_prefix(prefix, strlen(prefix));
		if (pattern == NULL)
			return host->error(err, PERSIST_ENOMEM, ENOMEM,
					   "scan of collection \"%s\": out of memory",
					   collection);
	}
	do {
		struct redis_req req;
		redisReply **replies = NULL;
		const redisReply *items;
		size_t nmarked = 0;

		redis_req_init(&req, "scan of collection \"%s\"", collection);
		redis_req_cmd(&req, "HSCAN");
		key_coll(&req, st, collection, "h");
		redis_req_str(&req, cursor);
		if (pattern != NULL) {
			redis_req_str(&req, "MATCH");
			redis_req_str(&req, pattern);
		}
		redis_req_str(&req, "COUNT");
		redis_req_str(&req, SCAN_COUNT);
		ret = redis_exec_scan(&st->pool, &req, cursor, sizeof(cursor),
				      &replies, &items, err);
		if (ret == PERSIST_OK && items->elements % 2 != 0) {
			/* HSCAN answers field, value pairs */
			ret = redis_reply_error(host, replies[0], req.what, err);
			redis_replies_free(replies, 1);
		}
		if (ret != PERSIST_OK) {
			redis_req_free(&req);
			break;
		}
		free(marked);
		marked = malloc((items->elements / 2 + 1) * sizeof(*marked));
		if (marked == NULL) {
			ret = host->error(err, PERSIST_ENOMEM, ENOMEM, "%s: out of memory",
					  req.what);
			redis_replies_free(replies, 1);
			redis_req_free(&req);
			break;
		}
		for (size_t i = 0; i + 1 < items->elements && !stop; i += 2) {
			redisReply *k = items->element[i], *v = items->element[i + 1];
			int added;

			if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
				continue;
			added = pc_map_add(&seen, k->str, k->len, NULL);
			if (added < 0) {
				ret = host->error(err, PERSIST_ENOMEM, ENOMEM,
						  "%s: out of memory", req.what);
				break;
			}
			if (added == 0)
				continue; /* HSCAN may return an element twice */
			if (v->len == MARK_LEN && memcmp(v->str, MARK, MARK_LEN) == 0) {
				marked[nmarked++] = k->str;
			} else {
				struct persist_item item = {
					.size = sizeof(item),
					.key = k->str,
					.value = v->str,
					.len = v->len,
				};

				stop = emit(ctx, &item) != 0;
			}
		}
		if (ret == PERSIST_OK && !stop && nmarked > 0)
			ret = scan_values(st, collection, marked, nmarked, emit, ctx,
					  &stop, err);
		redis_replies_free(replies, 1);
		redis_req_free(&req);
	} while (ret == PERSIST_OK && !stop && strcmp(cursor, "0") != 0);
	free(marked);
	free(pattern);
	pc_map_deinit(&seen);
	return ret;
}

/* Check one batch op before anything is sent. */
static int batch_check(const struct persist_host *host,
		       const struct persist_op *op, size_t i,
		       struct persist_error *err)
{
	if (op->collection == NULL || op->collection[0] == '\0')
		return host->error(err, PERSIST_EINVAL, 0,
				   "batch operation %zu has no collection", i);
	switch (op->type) {
	case PERSIST_OP_SET:
		if (op->ttl_ms < 0 || op->ttl_ms > PERSIST_TTL_MAX_MS)
			return host->error(err, PERSIST_EINVAL, 0,
					   "batch operation %zu (set of key \"%s\"): "
					   "TTL %lld ms is out of range\nA TTL is 0 "
					   "(none) to %lld ms (100 years).", i,
					   op->key != NULL ? op->key : "",
					   (long long)op->ttl_ms,
					   (long long)PERSIST_TTL_MAX_MS);
		/* fall through */
	case PERSIST_OP_INCR:
	case PERSIST_OP_DELETE:
		if (op->key == NULL || op->key[0] == '\0')
			return host->error(err, PERSIST_EINVAL, 0,
					   "batch operation %zu has no key", i);
		if (op->type == PERSIST_OP_SET && op->value == NULL && op->len > 0)
			return host->error(err, PERSIST_EINVAL, 0,
					   "batch operation %zu (set of key \"%s\") "
					   "has no value", i, op->key);
		return PERSIST_OK;
	case PERSIST_OP_APPEND:
		if (op->value == NULL && op->len > 0)
			return host->error(err, PERSIST_EINVAL, 0,
					   "batch operation %zu (append) has no value", i);
		return PERSIST_OK;
	}
	return host->error(err, PERSIST_EINVAL, 0,
			   "batch operation %zu has unknown type %d", i, (int)op->type);
}

/* batch(): every op inside one MULTI/EXEC, one round trip, with the
   write times of its sets and deletes (state-times calls, one per run of
   them in one collection). */
int redis_state_batch(void *store, const struct persist_op *ops, size_t n,
		      size_t op_size, struct persist_error *err)
{
	struct redis_store *st = store;
	const struct persist_host *host = st->host;
	int64_t now = host->now_ms();
	struct redis_req req;
	redisReply **replies = NULL, *exec;
	size_t *incr_at = NULL;  /* EXEC result index of each op's HINCRBY */
	size_t ncmd = 0;         /* commands queued so far inside MULTI */
	size_t times_from;       /* EXEC result index of the first state-times */
	unsigned char *is_incr = NULL; /* per EXEC result: an op's HINCRBY */
	struct pc_map ttl_colls = { 0 };
	struct coll_names cn = { 0 };
	int ret = PERSIST_OK;

	ret = pc_batch_check(host, ops, n, op_size, batch_check, err);
	if (ret != PERSIST_OK || n == 0)
		return ret;
	incr_at = malloc(n * sizeof(*incr_at));
	if (incr_at == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "batch: out of memory");

	redis_req_init(&req, "batch of %zu operations", n);
	redis_req_reserve(&req, 6 * n + 2, 3 * n + 2);
	redis_req_cmd(&req, "MULTI");
	for (size_t i = 0; i < n; i++) {
		const struct persist_op *op = pc_batch_op(ops, i, op_size);
		const char *c = op->collection;

		incr_at[i] = SIZE_MAX;
		switch (op->type) {
		case PERSIST_OP_SET:
			redis_req_cmd(&req, "SET");
			key_value(&req, st, c, op->key);
			redis_req_arg(&req, op->value, op->len);
			if (op->ttl_ms > 0) {
				redis_req_str(&req, "PX");
				redis_req_i64(&req, op->ttl_ms);
			}
			redis_req_cmd(&req, "HSET");
			key_coll_cached(&req, st, &cn, c, 0);
			redis_req_str(&req, op->key);
			redis_req_str(&req, MARK);
			ncmd += 2;
			if (op->ttl_ms > 0) {
				redis_req_cmd(&req, "ZADD");
				key_coll_cached(&req, st, &cn, c, 1);
				redis_req_i64(&req, now + op->ttl_ms);
				redis_req_str(&req, op->key);
				ncmd++;
			}
			break;
		case PERSIST_OP_INCR:
			incr_at[i] = ncmd++;
			redis_req_cmd(&req, "HINCRBY");
			key_coll_cached(&req, st, &cn, c, 0);
			redis_req_str(&req, op->key);
			redis_req_i64(&req, op->delta);
			break;
		case PERSIST_OP_APPEND:
			redis_req_cmd(&req, "RPUSH");
			key_coll_cached(&req, st, &cn, c, 2);
			redis_req_arg(&req, op->value, op->len);
			ncmd++;
			break;
		case PERSIST_OP_DELETE:
			redis_req_cmd(&req, "HDEL");
			key_coll_cached(&req, st, &cn, c, 0);
			redis_req_str(&req, op->key);
			redis_req_cmd(&req, "DEL");
			key_value(&req, st, c, op->key);
			redis_req_cmd(&req, "ZREM");
			key_coll_cached(&req, st, &cn, c, 1);
			redis_req_str(&req, op->key);
			ncmd += 3;
			break;
		}
	}
	/* one marker cleanup per collection that got a TTL'd value */
	for (size_t i = 0; i < n; i++) {
		const struct persist_op *op = pc_batch_op(ops, i, op_size);
		int added;

		if (op->type != PERSIST_OP_SET || op->ttl_ms <= 0)
			continue;
		added = pc_map_add(&ttl_colls, op->collection,
				   strlen(op->collection), NULL);
		if (added < 0)
			req.oom = true;
		if (added <= 0)
			continue;
		redis_req_script(&req, RS_STATE_CLEANUP, 3);
		key_coll(&req, st, op->collection, "h");
		key_coll(&req, st, op->collection, "v:");
		key_coll(&req, st, op->collection, "x");
		redis_req_i64(&req, now);
		key_coll(&req, st, op->collection, "v:");
		ncmd++;
	}
	/* the write times of the sets and deletes, now: one state-times call
	   per run of them in one collection (increments and appends between
	   them do not end a run, they record nothing) */
	times_from = ncmd;
	for (size_t i = 0; i < n;) {
		const struct persist_op *op = pc_batch_op(ops, i, op_size);
		const char *c = op->collection;

		if (op->type != PERSIST_OP_SET && op->type != PERSIST_OP_DELETE) {
			i++;
			continue;
		}
		redis_req_script(&req, RS_STATE_TIMES, 1);
		key_coll(&req, st, c, "w");
		redis_req_i64(&req, now);
		for (; i < n; i++) {
			op = pc_batch_op(ops, i, op_size);
			if (op->type != PERSIST_OP_SET && op->type != PERSIST_OP_DELETE)
				continue;
			if (strcmp(op->collection, c) != 0)
				break;
			redis_req_str(&req, op->key);
		}
		ncmd++;
	}
	redis_req_cmd(&req, "EXEC");
	pc_map_deinit(&ttl_colls);
	is_incr = calloc(ncmd + 1, 1);
	if (is_incr == NULL)
		req.oom = true;
	else
		for (size_t i = 0; i < n; i++)
			if (incr_at[i] != SIZE_MAX)
				is_incr[incr_at[i]] = 1;

	ret = redis_exec(&st->pool, &req, REDIS_WRITE | REDIS_ATOMIC, &replies,
			 err);
	if (ret != PERSIST_OK)
		goto out;
	exec = replies[req.ncmds - 1];
	if (exec->type != REDIS_REPLY_ARRAY || exec->elements != ncmd) {
		/* EXECABORT (a command was refused while queueing): nothing
		   was applied; report the first refusal */
		const redisReply *why = exec;

		for (size_t i = 0; i < req.ncmds - 1; i++)
			if (replies[i]->type == REDIS_REPLY_ERROR) {
				why = replies[i];
				break;
			}
		ret = redis_reply_error(host, why, req.what, err);
		goto out;
	}
	for (size_t i = 0; i < n && ret == PERSIST_OK; i++) {
		const struct persist_op *op = pc_batch_op(ops, i, op_size);
		const redisReply *r;

		if (incr_at[i] == SIZE_MAX)
			continue;
		r = exec->element[incr_at[i]];
		if (r->type == REDIS_REPLY_INTEGER)
			continue;
		if (reply_not_integer(r)) {
			struct persist_error e2;

			ret = incr_slow(st, op->collection, op->key, op->delta, NULL,
					&e2);
			if (ret == PERSIST_OK)
				continue;
			ret = host->error(err, PERSIST_EUNCERTAIN, e2.sys_errno,
					  "batch operation %zu: %s\nThe other operations "
					  "of the batch were applied.", i, e2.msg);
		} else {
			struct persist_error e2;

			redis_reply_error(host, r, "", &e2);
			ret = host->error(err, PERSIST_EUNCERTAIN, 0,
					  "batch operation %zu (incr of key \"%s\" in "
					  "collection \"%s\") failed%s\nThe other "
					  "operations of the batch were applied.",
					  i, op->key, op->collection, e2.msg);
		}
	}
	/* other per-command errors of EXEC (e.g. OOM): partly applied; a
	   marker cleanup the server lost the script of is no loss, a write
	   time is */
	for (size_t i = 0; ret == PERSIST_OK && i < exec->elements; i++) {
		const redisReply *r = exec->element[i];

		if (is_incr[i] || r->type != REDIS_REPLY_ERROR ||
		    (i < times_from && strncmp(r->str, "NOSCRIPT", 8) == 0))
			continue;
		ret = host->error(err, PERSIST_EUNCERTAIN, 0,
				  "%s: partly applied\nRedis refused one command of "
				  "the transaction: %s", req.what, r->str);
	}
out:
	redis_replies_free(replies, req.ncmds);
	redis_req_free(&req);
	free(incr_at);
	free(is_incr);
	return ret;
}

/* An operation of an increment-only batch with its place in the batch,
   for grouping the batch by collection. */
struct incr_ref {
	const char *collection;
	size_t i;
};

/* qsort(): by collection, then by place in the batch. */
static int incr_ref_cmp(const void *a, const void *b)
{
	const struct incr_ref *x = a, *y = b;
	int c = strcmp(x->collection, y->collection);

	if (c != 0)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* The state-batch-once-incr script for a batch of increments only: the
   batch grouped by collection (one hash key each), keys then deltas.
   *answer_r: 0 applied before, 1 applied, 2 nothing done (the batch
   needs the state-batch-once script). */
static int batch_once_incr(struct redis_store *st, const char *id,
			   const struct persist_op *ops, size_t n,
			   size_t op_size, long long *answer_r,
			   struct persist_error *err)
{
	const struct persist_host *host = st->host;
	const char *first = pc_batch_op(ops, 0, op_size)->collection;
	struct incr_ref *refs = NULL;
	struct redis_req req;
	size_t ncoll = 1;
	int ret;

	for (size_t i = 1; i < n && ncoll == 1; i++)
		if (strcmp(pc_batch_op(ops, i, op_size)->collection, first) != 0)
			ncoll = 2;
	if (ncoll > 1) {
		refs = malloc(n * sizeof(*refs));
		if (refs == NULL)
			return host->error(err, PERSIST_ENOMEM, ENOMEM,
					   "exactly-once batch \"%s\": out of memory", id);
		for (size_t i = 0; i < n; i++)
			refs[i] = (struct incr_ref){ pc_batch_op(ops, i, op_size)->collection, i };
		qsort(refs, n, sizeof(*refs), incr_ref_cmp);
		ncoll = 1;
		for (size_t i = 1; i < n; i++)
			ncoll += strcmp(refs[i].collection, refs[i - 1].collection) != 0;
	}
#define REF(x) pc_batch_op(ops, refs != NULL ? refs[x].i : (x), op_size)
	redis_req_init(&req, "exactly-once batch \"%s\" of %zu operations", id, n);
	redis_req_reserve(&req, 2 * n + 2 * ncoll + 5, 1);
	redis_req_script(&req, RS_STATE_BATCH_ONCE_INCR, (int)(1 + ncoll));
	redis_req_cat(&req, st->conf.prefix, "b:", id, (const char *)NULL);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(REF(i)->collection, REF(i - 1)->collection) != 0)
			key_coll(&req, st, REF(i)->collection, "h");
	redis_req_i64(&req, PERSIST_BATCH_ID_KEEP_MS);
	for (size_t s = 0, e; s < n; s = e) {
		for (e = s + 1; e < n && strcmp(REF(e)->collection, REF(s)->collection) == 0; e++)
			;
		redis_req_i64(&req, (int64_t)(e - s));
		for (size_t i = s; i < e; i++)
			redis_req_str(&req, REF(i)->key);
		for (size_t i = s; i < e; i++)
			redis_req_i64(&req, REF(i)->delta);
	}
#undef REF
	ret = redis_exec_integer(&st->pool, &req, REDIS_WRITE | REDIS_ATOMIC, answer_r, err);
	redis_req_free(&req);
	free(refs);
	return ret;
}

/* batch_once() and batch_once_dated(): one script, one round trip: the
   id's key P b:ID is set with a PX of PERSIST_BATCH_ID_KEEP_MS in the
   same atomic step that applies the operations, or found and nothing
   done.  A batch of increments only (which no write time concerns) goes
   to state-batch-once-incr first; when that one leaves it (nothing
   done), to state-batch-once.  written_ms NULL: not dated, every set and
   delete is applied and records now; else written_ms[i] is when ops[i]
   was made, and state-batch-once skips the sets and deletes that lose
   to a later write of their key. */
static int batch_once_any(struct redis_store *st, const char *id,
			  const struct persist_op *ops, const int64_t *written_ms,
			  size_t n, size_t op_size, int *applied_before_r,
			  struct persist_error *err)
{
	const struct persist_host *host = st->host;
	struct redis_req req;
	long long answer = -1;
	size_t i;
	int ret;

	if ((ret = pc_batch_once_check(host, id, applied_before_r, err)) != PERSIST_OK)
		return ret;
	ret = pc_batch_check(host, ops, n, op_size, batch_check, err);
	if (ret != PERSIST_OK || n == 0)
		return ret;
	for (i = 0; written_ms != NULL && i < n; i++) {
		const struct persist_op *op = pc_batch_op(ops, i, op_size);

		if ((op->type == PERSIST_OP_SET || op->type == PERSIST_OP_DELETE) &&
		    written_ms[i] <= 0)
			return host->error(err, PERSIST_EINVAL, 0,
					   "batch operation %zu (key \"%s\"): write time "
					   "%" PRId64 " out of range\nA write time is in "
					   "milliseconds since the epoch.", i, op->key,
					   written_ms[i]);
	}
	for (i = 0; i < n; i++)
		if (pc_batch_op(ops, i, op_size)->type != PERSIST_OP_INCR)
			break;
	if (i == n && n <= (size_t)(INT_MAX - 5) / 2) {
		ret = batch_once_incr(st, id, ops, n, op_size, &answer, err);
		if (ret != PERSIST_OK || answer != 2)
			goto answered;
	}
	if (n > (size_t)(INT_MAX - 2) / 5)
		return host->error(err, PERSIST_EINVAL, 0,
				   "batch of %zu operations is too large\n"
				   "An exactly-once batch holds at most %d operations.",
				   n, (INT_MAX - 2) / 5);
	redis_req_init(&req, "exactly-once batch \"%s\" of %zu operations", id, n);
	redis_req_reserve(&req, 9 * n + 7, 1);
	redis_req_script(&req, RS_STATE_BATCH_ONCE, (int)(1 + 4 * n));
	redis_req_cat(&req, st->conf.prefix, "b:", id, (const char *)NULL);
	for (i = 0; i < n; i++) {
		const struct persist_op *op = pc_batch_op(ops, i, op_size);
		bool dated = op->type == PERSIST_OP_SET || op->type == PERSIST_OP_DELETE;

		key_coll(&req, st, op->collection, "h");
		if (op->type == PERSIST_OP_APPEND)
			key_coll(&req, st, op->collection, "h");
		else
			key_value(&req, st, op->collection, op->key);
		key_coll(&req, st, op->collection, "x");
		key_coll(&req, st, op->collection, dated ? "w" : "log");
	}
	redis_req_i64(&req, PERSIST_BATCH_ID_KEEP_MS);
	redis_req_i64(&req, host->now_ms());
	redis_req_str(&req, written_ms != NULL ? "1" : "0");
	for (i = 0; i < n; i++) {
		const struct persist_op *op = pc_batch_op(ops, i, op_size);

		switch (op->type) {
		case PERSIST_OP_SET:
			redis_req_str(&req, "s");
			redis_req_str(&req, op->key);
			redis_req_arg(&req, op->value, op->len);
			redis_req_i64(&req, op->ttl_ms > 0 ? op->ttl_ms : 0);
			break;
		case PERSIST_OP_INCR:
			redis_req_str(&req, "i");
			redis_req_str(&req, op->key);
			redis_req_i64(&req, op->delta);
			redis_req_str(&req, "0");
			break;
		case PERSIST_OP_APPEND:
			redis_req_str(&req, "a");
			redis_req_str(&req, "");
			redis_req_arg(&req, op->value, op->len);
			redis_req_str(&req, "0");
			break;
		case PERSIST_OP_DELETE:
			redis_req_str(&req, "d");
			redis_req_str(&req, op->key);
			redis_req_str(&req, "");
			redis_req_str(&req, "0");
			break;
		}
	}
	for (i = 0; written_ms != NULL && i < n; i++)
		redis_req_i64(&req, written_ms[i]);
	ret = redis_exec_integer(&st->pool, &req, REDIS_WRITE | REDIS_ATOMIC, &answer, err);
	redis_req_free(&req);
answered:
	if (ret == PERSIST_OK && answer != 0 && answer != 1)
		ret = host->error(err, PERSIST_EIO, 0,
				  "exactly-once batch \"%s\": unexpected answer %lld from redis",
				  id, answer);
	if (ret == PERSIST_OK)
		*applied_before_r = answer == 0;
	return ret;
}

/* batch_once(): see batch_once_any. */
int redis_state_batch_once(void *store, const char *id, const struct persist_op *ops,
			   size_t n, size_t op_size, int *applied_before_r,
			   struct persist_error *err)
{
	return batch_once_any(store, id, ops, NULL, n, op_size, applied_before_r, err);
}

/* batch_once_dated(): see batch_once_any. */
int redis_state_batch_once_dated(void *store, const char *id,
				 const struct persist_op *ops,
				 const int64_t *written_ms, size_t n,
				 size_t op_size, int *applied_before_r,
				 struct persist_error *err)
{
	struct redis_store *st = store;

	if (written_ms == NULL && n > 0)
		return st->host->error(err, PERSIST_EINVAL, 0,
				       "exactly-once batch \"%s\": the write times are NULL",
				       id != NULL ? id : "");
	return batch_once_any(st, id, ops, written_ms, n, op_size, applied_before_r, err);
}

/* flush(): nothing is pending (every call waits for its reply). */
int redis_state_flush(void *store, struct persist_error *err)
{
	(void)store;
	(void)err;
	return PERSIST_OK;
}

/* drop(): the state-drop script removes the hash, every value string,
   the expiry set, the log and its base and the write times in one atomic
   call. */
int redis_state_drop(void *store, const char *collection,
		     struct persist_error *err)
{
	struct redis_store *st = store;
	struct redis_req req;
	int ret;

	redis_req_init(&req, "drop of collection \"%s\"", collection);
	redis_req_script(&req, RS_STATE_DROP, 5);
	key_coll(&req, st, collection, "h");
	key_coll(&req, st, collection, "x");
	key_coll(&req, st, collection, "log");
	key_coll(&req, st, collection, "lb");
	key_coll(&req, st, collection, "w");
	key_coll(&req, st, collection, "v:");
	ret = redis_exec_integer(&st->pool, &req, REDIS_WRITE | REDIS_ATOMIC,
				 NULL, err);
	redis_req_free(&req);
	return ret;
}

/* trim_log(): the log-trim script LTRIMs the list and moves its base in
   one atomic call. */
int redis_state_trim_log(void *store, const char *collection, uint64_t before,
			 struct persist_error *err)
{
	struct redis_store *st = store;
	const struct persist_host *host = st->host;
	struct redis_req req;
	redisReply **replies = NULL, *r;
	uint64_t base = 0;
	int ret;

	if (before > (uint64_t)INT64_MAX)
		return host->error(err, PERSIST_EINVAL, 0,
				   "cannot trim the log of collection \"%s\" before record %llu\n"
				   "Record numbers stay below 2^63.", collection,
				   (unsigned long long)before);
	redis_req_init(&req, "trim of the log of collection \"%s\"", collection);
	log_script(&req, st, RS_LOG_TRIM, collection);
	redis_req_i64(&req, (int64_t)before);
	ret = redis_exec(&st->pool, &req, REDIS_WRITE | REDIS_ATOMIC, &replies, err);
	if (ret != PERSIST_OK)
		goto out;
	r = replies[0];
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    r->element[0]->type == REDIS_REPLY_INTEGER && r->element[0]->integer == 1)
		ret = PERSIST_OK;
	else if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		 log_base(r->element[1], &base) == 0 &&
		 r->element[2]->type == REDIS_REPLY_INTEGER)
		ret = host->error(err, PERSIST_EINVAL, 0,
				  "cannot trim the log of collection \"%s\" before record %llu\n"
				  "The log's next record number is %llu; nothing was trimmed.",
				  collection, (unsigned long long)before,
				  (unsigned long long)(base + (uint64_t)r->element[2]->integer));
	else
		ret = redis_reply_error(host, r, req.what, err);
	redis_replies_free(replies, 1);
out:
	redis_req_free(&req);
	return ret;
}

/* log_bounds(): the base and the list's length, read atomically. */
int redis_state_log_bounds(void *store, const char *collection,
			   uint64_t *first_r, uint64_t *next_r,
			   struct persist_error *err)
{
	struct redis_store *st = store;
	struct redis_req req;
	redisReply **replies = NULL, *r;
	uint64_t base = 0;
	int ret;

	redis_req_init(&req, "bounds of the log of collection \"%s\"", collection);
	log_script(&req, st, RS_LOG_BOUNDS, collection);
	ret = redis_exec(&st->pool, &req, 0, &replies, err);
	if (ret != PERSIST_OK)
		goto out;
	r = replies[0];
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    log_base(r->element[0], &base) == 0 &&
	    r->element[1]->type == REDIS_REPLY_INTEGER && r->element[1]->integer >= 0) {
		*first_r = base;
		*next_r = base + (uint64_t)r->element[1]->integer;
	} else {
		ret = redis_reply_error(st->host, r, req.what, err);
	}
	redis_replies_free(replies, 1);
out:
	redis_req_free(&req);
	return ret;
}
