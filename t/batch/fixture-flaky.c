/*
 * t/batch/fixture-flaky.c - fixture_flaky, a test plugin for the write
 * queue: a small in-memory state store whose batch method fails on demand.
 * Its "config":
 *   failBatches  the first N batch calls fail (-1: every one), default 0;
 *   failCode     "unavailable" (default), "uncertain" or "invalid";
 *   downFile     while this file exists, every call answers unavailable
 *                (a backend that is down, and comes back);
 *   batchDelayMs each batch call first sleeps this long (a slow backend).
 * A failing batch applies nothing.  Collection "fixture" reads the
 * counters of the store: keys "batches" (batch calls that stored),
 * "batch_ops" (operations they held), "failed" (batch calls refused),
 * "singles" (single-op writes) and "dated" (batch_once_dated calls: such a
 * call is only counted, then applied as a batch; the store has no
 * batch_once).  No TTLs, one lock for the whole store.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <persist/plugin.h>

static const struct persist_host *host;

struct kv {
	struct kv *next;
	char *collection, *key, *data;
	size_t len;
};

struct rec {
	struct rec *next;
	char *collection, *data;
	size_t len;
	uint64_t index;
};

struct store {
	pthread_mutex_t lock;
	struct kv *kvs;
	struct rec *recs, **recs_tail;
	long fail_batches;
	long batch_delay_ms;
	int fail_code;
	char down_file[512];
	long batches, batch_ops, failed, singles, dated;
};

/* Remember the host table. */
static int flaky_init(const struct persist_host *h, void **plugin_r,
		      struct persist_error *err)
{
	(void)err;
	host = h;
	*plugin_r = NULL;
	return PERSIST_OK;
}

static void flaky_fini(void *plugin)
{
	(void)plugin;
}

/* The value of "name": N in json, or dflt. */
static long json_long(const char *json, const char *name, long dflt)
{
	char pat[64];
	const char *s;

	snprintf(pat, sizeof(pat), "\"%s\":", name);
	s = strstr(json, pat);
	return s != NULL ? strtol(s + strlen(pat), NULL, 10) : dflt;
}

/* The string value of "name" into buf ("" when absent). */
static void json_str(const char *json, const char *name, char *buf, size_t size)
{
	char pat[64];
	const char *s, *e;

	buf[0] = '\0';
	snprintf(pat, sizeof(pat), "\"%s\":\"", name);
	if ((s = strstr(json, pat)) == NULL)
		return;
	s += strlen(pat);
	if ((e = strchr(s, '"')) == NULL || (size_t)(e - s) >= size)
		return;
	memcpy(buf, s, (size_t)(e - s));
	buf[e - s] = '\0';
}

/* A store configured from the config object. */
static int flaky_open(void *plugin, const struct persist_store_args *args,
		      void **store_r, struct persist_error *err)
{
	struct store *st = calloc(1, sizeof(*st));
	char code[32];

	(void)plugin;
	if (st == NULL)
		return host->error(err, PERSIST_ENOMEM, 0, "fixture_flaky: out of memory");
	pthread_mutex_init(&st->lock, NULL);
	st->recs_tail = &st->recs;
	st->fail_batches = json_long(args->config_json, "failBatches", 0);
	st->batch_delay_ms = json_long(args->config_json, "batchDelayMs", 0);
	json_str(args->config_json, "failCode", code, sizeof(code));
	st->fail_code = strcmp(code, "uncertain") == 0 ? PERSIST_EUNCERTAIN :
			strcmp(code, "invalid") == 0 ? PERSIST_EINVAL : PERSIST_EUNAVAIL;
	json_str(args->config_json, "downFile", st->down_file, sizeof(st->down_file));
	*store_r = st;
	return PERSIST_OK;
}

static void flaky_close(void *store)
{
	struct store *st = store;

	while (st->kvs != NULL) {
		struct kv *k = st->kvs;
		st->kvs = k->next;
		free(k->collection);
		free(k->key);
		free(k->data);
		free(k);
	}
	while (st->recs != NULL) {
		struct rec *r = st->recs;
		st->recs = r->next;
		free(r->collection);
		free(r->data);
		free(r);
	}
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* True (with err filled) while the down file exists. */
static int down(struct store *st, struct persist_error *err)
{
	if (st->down_file[0] == '\0' || access(st->down_file, F_OK) != 0)
		return 0;
	host->error(err, PERSIST_EUNAVAIL, 0, "fixture_flaky: backend is down (%s exists)",
		    st->down_file);
	return 1;
}

static int flaky_health(void *store, int64_t *latency_us_r, struct persist_error *err)
{
	*latency_us_r = 1;
	return down(store, err) ? PERSIST_EUNAVAIL : PERSIST_OK;
}

static struct kv *find(struct store *st, const char *collection, const char *key)
{
	for (struct kv *k = st->kvs; k != NULL; k = k->next)
		if (strcmp(k->collection, collection) == 0 && strcmp(k->key, key) == 0)
			return k;
	return NULL;
}

static char *dup0(const void *data, size_t len)
{
	char *s = malloc(len + 1);

	if (s != NULL) {
		memcpy(s, data, len);
		s[len] = '\0';
	}
	return s;
}

/* Hand a copy to the core. */
static int give(const char *data, size_t len, struct persist_value *value_r,
		struct persist_error *err)
{
	char *copy = host->alloc(len + 1);

	if (copy == NULL)
		return host->error(err, PERSIST_ENOMEM, 0, "fixture_flaky: out of memory");
	memcpy(copy, data, len);
	copy[len] = '\0';
	value_r->data = copy;
	value_r->len = len;
	return PERSIST_OK;
}

static int flaky_get(void *store, const char *collection, const char *key,
		     struct persist_value *value_r, struct persist_error *err)
{
	struct store *st = store;
	struct kv *k;
	char buf[32];
	int ret;

	if (down(st, err))
		return PERSIST_EUNAVAIL;
	pthread_mutex_lock(&st->lock);
	if (strcmp(collection, "fixture") == 0) {
		long v = strcmp(key, "batches") == 0 ? st->batches :
			 strcmp(key, "batch_ops") == 0 ? st->batch_ops :
			 strcmp(key, "failed") == 0 ? st->failed :
			 strcmp(key, "dated") == 0 ? st->dated : st->singles;
		int n = snprintf(buf, sizeof(buf), "%ld", v);
		ret = give(buf, (size_t)n, value_r, err);
	} else if ((k = find(st, collection, key)) == NULL) {
		ret = host->error(err, PERSIST_ENOTFOUND, 0, "fixture_flaky: no key \"%s\"", key);
	} else {
		ret = give(k->data, k->len, value_r, err);
	}
	pthread_mutex_unlock(&st->lock);
	return ret;
}

/* The operations, lock held. */
static int do_set(struct store *st, const char *collection, const char *key,
		  const void *data, size_t len, struct persist_error *err)
{
	struct kv *k = find(st, collection, key);
	char *copy = dup0(data, len);

	if (copy == NULL)
		return host->error(err, PERSIST_ENOMEM, 0, "fixture_flaky: out of memory");
	if (k == NULL) {
		k = calloc(1, sizeof(*k));
		k->collection = dup0(collection, strlen(collection));
		k->key = dup0(key, strlen(key));
		k->next = st->kvs;
		st->kvs = k;
	}
	free(k->data);
	k->data = copy;
	k->len = len;
	return PERSIST_OK;
}

static int do_del(struct store *st, const char *collection, const char *key,
		  struct persist_error *err)
{
	for (struct kv **kp = &st->kvs; *kp != NULL; kp = &(*kp)->next) {
		struct kv *k = *kp;
		if (strcmp(k->collection, collection) == 0 && strcmp(k->key, key) == 0) {
			*kp = k->next;
			free(k->collection);
			free(k->key);
			free(k->data);
			free(k);
			return PERSIST_OK;
		}
	}
	return host->error(err, PERSIST_ENOTFOUND, 0, "fixture_flaky: no key \"%s\"", key);
}

/* Check an increment (a non-integer value is invalid); new value to *v. */
static int check_incr(struct store *st, const char *collection, const char *key,
		      int64_t delta, long long *v, struct persist_error *err)
{
	struct kv *k = find(st, collection, key);
	char *end;

	*v = 0;
	if (k != NULL) {
		*v = strtoll(k->data, &end, 10);
		if (k->len == 0 || *end != '\0')
			return host->error(err, PERSIST_EINVAL, 0,
					   "fixture_flaky: key \"%s\" is not an integer", key);
	}
	*v += delta;
	return PERSIST_OK;
}

static int do_incr(struct store *st, const char *collection, const char *key,
		   int64_t delta, int64_t *value_r, struct persist_error *err)
{
	long long v;
	char buf[32];
	int ret = check_incr(st, collection, key, delta, &v, err);

	if (ret != PERSIST_OK)
		return ret;
	if (value_r != NULL)
		*value_r = v;
	return do_set(st, collection, key, buf, (size_t)snprintf(buf, sizeof(buf), "%lld", v), err);
}

static int do_append(struct store *st, const char *collection, const void *data,
		     size_t len, struct persist_error *err)
{
	struct rec *r = calloc(1, sizeof(*r));
	uint64_t n = 0;

	if (r == NULL)
		return host->error(err, PERSIST_ENOMEM, 0, "fixture_flaky: out of memory");
	for (struct rec *o = st->recs; o != NULL; o = o->next)
		n += strcmp(o->collection, collection) == 0;
	r->collection = dup0(collection, strlen(collection));
	r->data = dup0(data, len);
	r->len = len;
	r->index = n;
	*st->recs_tail = r;
	st->recs_tail = &r->next;
	return PERSIST_OK;
}

/* Single-op methods: lock, check down, run, count. */
#define SINGLE(call)                                                     \
	do {                                                             \
		int ret_;                                                \
		if (down(st, err))                                       \
			return PERSIST_EUNAVAIL;                         \
		pthread_mutex_lock(&st->lock);                           \
		ret_ = (call);                                           \
		st->singles++;                                           \
		pthread_mutex_unlock(&st->lock);                         \
		return ret_;                                             \
	} while (0)

static int flaky_set(void *store, const char *collection, const char *key,
		     const void *data, size_t len, int64_t ttl_ms, struct persist_error *err)
{
	struct store *st = store;

	(void)ttl_ms;
	SINGLE(do_set(st, collection, key, data, len, err));
}

static int flaky_del(void *store, const char *collection, const char *key,
		     struct persist_error *err)
{
	struct store *st = store;

	SINGLE(do_del(st, collection, key, err));
}

static int flaky_incr(void *store, const char *collection, const char *key,
		      int64_t delta, int64_t *value_r, struct persist_error *err)
{
	struct store *st = store;

	SINGLE(do_incr(st, collection, key, delta, value_r, err));
}

static int flaky_append(void *store, const char *collection, const void *data,
			size_t len, struct persist_error *err)
{
	struct store *st = store;

	SINGLE(do_append(st, collection, data, len, err));
}

static int flaky_scan(void *store, const char *collection, const char *prefix,
		      persist_emit_fn *emit, void *ctx, struct persist_error *err)
{
	struct store *st = store;

	if (down(st, err))
		return PERSIST_EUNAVAIL;
	pthread_mutex_lock(&st->lock);
	for (struct kv *k = st->kvs; k != NULL; k = k->next) {
		struct persist_item item;

		if (strcmp(k->collection, collection) != 0 ||
		    strncmp(k->key, prefix, strlen(prefix)) != 0)
			continue;
		memset(&item, 0, sizeof(item));
		item.size = sizeof(item);
		item.key = k->key;
		item.value = k->data;
		item.len = k->len;
		if (emit(ctx, &item) != 0)
			break;
	}
	pthread_mutex_unlock(&st->lock);
	return PERSIST_OK;
}

static int flaky_read_log(void *store, const char *collection, uint64_t from,
			  size_t max, persist_emit_fn *emit, void *ctx,
			  struct persist_error *err)
{
	struct store *st = store;
	size_t n = 0;

	if (down(st, err))
		return PERSIST_EUNAVAIL;
	pthread_mutex_lock(&st->lock);
	for (struct rec *r = st->recs; r != NULL && (max == 0 || n < max); r = r->next) {
		struct persist_item item;

		if (strcmp(r->collection, collection) != 0 || r->index < from)
			continue;
		memset(&item, 0, sizeof(item));
		item.size = sizeof(item);
		item.value = r->data;
		item.len = r->len;
		item.index = r->index;
		n++;
		if (emit(ctx, &item) != 0)
			break;
	}
	pthread_mutex_unlock(&st->lock);
	return PERSIST_OK;
}

/* All or nothing: fail on demand, check every increment, then apply. */
static int flaky_batch(void *store, const struct persist_op *ops, size_t n,
		       size_t op_size, struct persist_error *err)
{
	struct store *st = store;
	int ret = PERSIST_OK;

	if (st->batch_delay_ms > 0) {
		struct timespec ts = { st->batch_delay_ms / 1000,
				       (st->batch_delay_ms % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
	if (down(st, err)) {
		__atomic_add_fetch(&st->failed, 1, __ATOMIC_SEQ_CST);
		return PERSIST_EUNAVAIL;
	}
	pthread_mutex_lock(&st->lock);
	if (st->fail_batches != 0) {
		if (st->fail_batches > 0)
			st->fail_batches--;
		st->failed++;
		pthread_mutex_unlock(&st->lock);
		return host->error(err, st->fail_code, 0,
				   "fixture_flaky: batch of %zu operations refused on purpose (%s)",
				   n, host->strerror(st->fail_code));
	}
	for (size_t i = 0; i < n && ret == PERSIST_OK; i++) {
		const struct persist_op *op = (const void *)((const char *)ops + i * op_size);
		long long v;

		if (op->type == PERSIST_OP_INCR)
			ret = check_incr(st, op->collection, op->key, 0, &v, err);
	}
	for (size_t i = 0; i < n && ret == PERSIST_OK; i++) {
		const struct persist_op *op = (const void *)((const char *)ops + i * op_size);

		switch (op->type) {
		case PERSIST_OP_SET:
			ret = do_set(st, op->collection, op->key, op->value, op->len, err);
			break;
		case PERSIST_OP_INCR:
			ret = do_incr(st, op->collection, op->key, op->delta, NULL, err);
			break;
		case PERSIST_OP_APPEND:
			ret = do_append(st, op->collection, op->value, op->len, err);
			break;
		default: {
			struct persist_error absent;   /* deleting an absent key is fine */
			(void)do_del(st, op->collection, op->key, &absent);
			break;
		}
		}
	}
	if (ret == PERSIST_OK) {
		st->batches++;
		st->batch_ops += (long)n;
	} else {
		st->failed++;
	}
	pthread_mutex_unlock(&st->lock);
	return ret;
}

/* batch_once_dated: counted, then applied as a batch (no id kept). */
static int flaky_batch_once_dated(void *store, const char *id, const struct persist_op *ops,
				  const int64_t *written_ms, size_t n, size_t op_size,
				  int *applied_before_r, struct persist_error *err)
{
	struct store *st = store;

	(void)id;
	(void)written_ms;
	*applied_before_r = 0;
	pthread_mutex_lock(&st->lock);
	st->dated++;
	pthread_mutex_unlock(&st->lock);
	return flaky_batch(store, ops, n, op_size, err);
}

static const struct persist_state_ops flaky_state = {
	.size = sizeof(struct persist_state_ops),
	.caps = PERSIST_CAP_BATCH,
	.open = flaky_open,
	.close = flaky_close,
	.health = flaky_health,
	.get = flaky_get,
	.set = flaky_set,
	.del = flaky_del,
	.scan = flaky_scan,
	.incr = flaky_incr,
	.append = flaky_append,
	.read_log = flaky_read_log,
	.batch = flaky_batch,
	.batch_once_dated = flaky_batch_once_dated,
};

static const struct persist_plugin flaky_plugin = {
	PERSIST_PLUGIN_HEADER,
	.name = "fixture_flaky",
	.version = "0.1",
	.description = "write queue test fixture: a state store whose batches fail on demand",
	.init = flaky_init,
	.fini = flaky_fini,
	.state = &flaky_state,
};

/* The entry point. */
const struct persist_plugin *persist_plugin_entry_v1(void)
{
	return &flaky_plugin;
}
