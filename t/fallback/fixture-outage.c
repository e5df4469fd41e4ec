/*
 * t/fallback/fixture-outage.c - fixture_outage, a test plugin that plays a
 * primary state provider which goes down and comes back on command: an
 * in-process store with TTLs, logs, batches and exactly-once batches
 * (batch_once), shared by every handle of the process that names the same
 * "name" (so a handle opened later sees what an earlier one stored, as
 * with a server).  Its "config":
 *   name       the store's name (default "default");
 *   downFile   while this file exists every call answers unavailable;
 *   lostFile   while this file exists a batch_once applies its batch and
 *              then answers uncertain (the reply was lost);
 *   openDown   1: open answers unavailable while downFile exists.
 * Sessions are kept beside the state (put, drop, list; broadcast and send
 * deliver nothing), under the same downFile.
 * Collection "fixture" reads counters: key "once_applied" (batch_once
 * calls that applied), "once_repeated" (batch_once calls for an id
 * already applied), "batches", "dated" (batch_once_dated calls) and
 * "dated_last_ms" (the latest write time they carried for a set or
 * delete).  batch_once_dated only records the times: it applies the batch
 * as batch_once does, without comparing them (the conformance suite
 * checks that rule on the real providers).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include <persist/plugin.h>

static const struct persist_host *host;

struct item {
	struct item *next;
	char *collection, *key, *data;   /* key NULL: a log record */
	size_t len;
	int64_t expires_ms;
	uint64_t index;
};

struct shared {
	struct shared *next;
	char *name;
	int refs;
	pthread_mutex_t lock;
	struct item *items;
	char **ids;            /* batch ids applied */
	size_t n_ids;
	long once_applied, once_repeated, batches;
	long dated;
	int64_t dated_last_ms;
};

/* The collection the sessions are kept in (no state collection can have
   this name: it starts with '.'). */
#define SESSIONS ".sessions"

struct store {
	struct shared *sh;
	char instance[256];
	char down_file[512], lost_file[512];
};

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shared *shared_list;

static int outage_init(const struct persist_host *h, void **plugin_r,
		       struct persist_error *err)
{
	(void)err;
	host = h;
	*plugin_r = NULL;
	return PERSIST_OK;
}

static void outage_fini(void *plugin)
{
	(void)plugin;
}

static char *dup_bytes(const void *data, size_t len)
{
	char *s = malloc(len + 1);

	if (s != NULL) {
		memcpy(s, data, len);
		s[len] = '\0';
	}
	return s;
}

/* The string member `name` of config into buf ("" when absent). */
static void config_str(struct json_object *config, const char *name, char *buf, size_t size)
{
	struct json_object *v;

	buf[0] = '\0';
	if (config != NULL && json_object_object_get_ex(config, name, &v))
		snprintf(buf, size, "%s", json_object_get_string(v));
}

static int is_down(const struct store *st)
{
	return st->down_file[0] != '\0' && access(st->down_file, F_OK) == 0;
}

static int down_error(const struct store *st, struct persist_error *err)
{
	return host->error(err, PERSIST_EUNAVAIL, 0, "backend is down (%s exists)",
			   st->down_file);
}

static void items_free(struct item *it)
{
	while (it != NULL) {
		struct item *next = it->next;

		free(it->collection);
		free(it->key);
		free(it->data);
		free(it);
		it = next;
	}
}

static int outage_open(void *plugin, const struct persist_store_args *args,
		       void **store_r, struct persist_error *err)
{
	struct json_object *config = json_tokener_parse(args->config_json);
	struct store *st = calloc(1, sizeof(*st));
	char name[128], open_down[8];
	struct shared *sh;

	(void)plugin;
	if (st == NULL) {
		json_object_put(config);
		return host->error(err, PERSIST_ENOMEM, 0, "out of memory");
	}
	config_str(config, "name", name, sizeof(name));
	config_str(config, "downFile", st->down_file, sizeof(st->down_file));
	config_str(config, "lostFile", st->lost_file, sizeof(st->lost_file));
	config_str(config, "openDown", open_down, sizeof(open_down));
	json_object_put(config);
	if (name[0] == '\0')
		snprintf(name, sizeof(name), "default");
	if (strcmp(open_down, "1") == 0 && is_down(st)) {
		free(st);
		return host->error(err, PERSIST_EUNAVAIL, 0, "backend is down at open");
	}
	pthread_mutex_lock(&shared_lock);
	for (sh = shared_list; sh != NULL && strcmp(sh->name, name) != 0; sh = sh->next)
		;
	if (sh == NULL && (sh = calloc(1, sizeof(*sh))) != NULL) {
		sh->name = strdup(name);
		pthread_mutex_init(&sh->lock, NULL);
		sh->next = shared_list;
		shared_list = sh;
	}
	if (sh != NULL)
		sh->refs++;
	pthread_mutex_unlock(&shared_lock);
	if (sh == NULL) {
		free(st);
		return host->error(err, PERSIST_ENOMEM, 0, "out of memory");
	}
	st->sh = sh;
	snprintf(st->instance, sizeof(st->instance), "%s",
		 args->instance_id != NULL ? args->instance_id : "");
	*store_r = st;
	return PERSIST_OK;
}

/* The last handle of a store frees it. */
static void outage_close(void *store)
{
	struct store *st = store;
	struct shared *sh = st->sh, **pp;

	pthread_mutex_lock(&shared_lock);
	if (--sh->refs == 0) {
		for (pp = &shared_list; *pp != sh; pp = &(*pp)->next)
			;
		*pp = sh->next;
		items_free(sh->items);
		for (size_t i = 0; i < sh->n_ids; i++)
			free(sh->ids[i]);
		free(sh->ids);
		free(sh->name);
		pthread_mutex_destroy(&sh->lock);
		free(sh);
	}
	pthread_mutex_unlock(&shared_lock);
	free(st);
}

static int outage_health(void *store, int64_t *latency_us_r, struct persist_error *err)
{
	*latency_us_r = 1;
	return is_down(store) ? down_error(store, err) : PERSIST_OK;
}

/* The live key (lock held), dropping it when expired. */
static struct item *find_key(struct shared *sh, const char *collection, const char *key)
{
	for (struct item **pp = &sh->items; *pp != NULL; pp = &(*pp)->next) {
		struct item *it = *pp;

		if (it->key == NULL || strcmp(it->key, key) != 0 ||
		    strcmp(it->collection, collection) != 0)
			continue;
		if (it->expires_ms != 0 && it->expires_ms <= host->now_ms()) {
			*pp = it->next;
			it->next = NULL;
			items_free(it);
			return NULL;
		}
		return it;
	}
	return NULL;
}

static int do_set(struct shared *sh, const char *collection, const char *key,
		  const void *data, size_t len, int64_t ttl_ms, struct persist_error *err)
{
	struct item *it = find_key(sh, collection, key);
	char *copy = dup_bytes(data, len);

	if (copy == NULL)
		return host->error(err, PERSIST_ENOMEM, 0, "out of memory");
	if (it == NULL) {
		if ((it = calloc(1, sizeof(*it))) == NULL ||
		    (it->collection = strdup(collection)) == NULL ||
		    (it->key = strdup(key)) == NULL) {
			if (it != NULL)
				free(it->collection);
			free(it);
			free(copy);
			return host->error(err, PERSIST_ENOMEM, 0, "out of memory");
		}
		it->next = sh->items;
		sh->items = it;
	}
	free(it->data);
	it->data = copy;
	it->len = len;
	it->expires_ms = persist_expiry_ms(host->now_ms(), ttl_ms);
	return PERSIST_OK;
}

static int do_del(struct shared *sh, const char *collection, const char *key)
{
	struct item *it = find_key(sh, collection, key);

	if (it == NULL)
		return PERSIST_ENOTFOUND;
	for (struct item **pp = &sh->items; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == it) {
			*pp = it->next;
			it->next = NULL;
			items_free(it);
			break;
		}
	}
	return PERSIST_OK;
}

static int do_incr(struct shared *sh, const char *collection, const char *key,
		   int64_t delta, int64_t *value_r, struct persist_error *err)
{
	struct item *it = find_key(sh, collection, key);
	int64_t v = 0;
	char buf[32];

	if (it != NULL && persist_parse_counter(it->data, it->len, &v) != 0)
		return host->error(err, PERSIST_EINVAL, 0, "key \"%s\" is not a counter", key);
	if ((delta > 0 && v > INT64_MAX - delta) || (delta < 0 && v < INT64_MIN - delta))
		return host->error(err, PERSIST_EINVAL, 0, "key \"%s\" would overflow", key);
	v += delta;
	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	if (value_r != NULL)
		*value_r = v;
	return do_set(sh, collection, key, buf, strlen(buf),
		      it != NULL && it->expires_ms != 0 ? it->expires_ms - host->now_ms() : 0, err);
}

static int do_append(struct shared *sh, const char *collection, const void *data,
		     size_t len, struct persist_error *err)
{
	struct item *it = calloc(1, sizeof(*it)), **pp;
	uint64_t next = 0;

	if (it == NULL || (it->collection = strdup(collection)) == NULL ||
	    (it->data = dup_bytes(data, len)) == NULL) {
		if (it != NULL)
			free(it->collection);
		free(it);
		return host->error(err, PERSIST_ENOMEM, 0, "out of memory");
	}
	it->len = len;
	for (pp = &sh->items; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->key == NULL && strcmp((*pp)->collection, collection) == 0)
			next = (*pp)->index + 1;
	it->index = next;
	*pp = it;   /* at the end: records stay in order */
	return PERSIST_OK;
}

static int outage_get(void *store, const char *collection, const char *key,
		      struct persist_value *value_r, struct persist_error *err)
{
	struct store *st = store;
	struct item *it;
	int ret = PERSIST_OK;

	if (is_down(st))
		return down_error(st, err);
	pthread_mutex_lock(&st->sh->lock);
	if (strcmp(collection, "fixture") == 0) {
		char buf[32];
		long long v = strcmp(key, "once_applied") == 0 ? st->sh->once_applied :
			 strcmp(key, "once_repeated") == 0 ? st->sh->once_repeated :
			 strcmp(key, "dated") == 0 ? st->sh->dated :
			 strcmp(key, "dated_last_ms") == 0 ? st->sh->dated_last_ms : st->sh->batches;

		snprintf(buf, sizeof(buf), "%lld", v);
		value_r->data = host->alloc(strlen(buf) + 1);
		if (value_r->data != NULL)
			memcpy(value_r->data, buf, strlen(buf) + 1);
		value_r->len = strlen(buf);
	} else if ((it = find_key(st->sh, collection, key)) == NULL) {
		ret = host->error(err, PERSIST_ENOTFOUND, 0, "no key \"%s\"", key);
	} else if ((value_r->data = host->alloc(it->len + 1)) != NULL) {
		memcpy(value_r->data, it->data, it->len + 1);
		value_r->len = it->len;
	}
	pthread_mutex_unlock(&st->sh->lock);
	if (ret == PERSIST_OK && value_r->data == NULL)
		ret = host->error(err, PERSIST_ENOMEM, 0, "out of memory");
	return ret;
}

static int outage_set(void *store, const char *collection, const char *key,
		      const void *data, size_t len, int64_t ttl_ms, struct persist_error *err)
{
	struct store *st = store;
	int ret;

	if (is_down(st))
		return down_error(st, err);
	pthread_mutex_lock(&st->sh->lock);
	ret = do_set(st->sh, collection, key, data, len, ttl_ms, err);
	pthread_mutex_unlock(&st->sh->lock);
	return ret;
}

static int outage_del(void *store, const char *collection, const char *key,
		      struct persist_error *err)
{
	struct store *st = store;
	int ret;

	if (is_down(st))
		return down_error(st, err);
	pthread_mutex_lock(&st->sh->lock);
	ret = do_del(st->sh, collection, key);
	pthread_mutex_unlock(&st->sh->lock);
	return ret == PERSIST_OK ? ret : host->error(err, ret, 0, "no key \"%s\"", key);
}

static int outage_incr(void *store, const char *collection, const char *key,
		       int64_t delta, int64_t *value_r, struct persist_error *err)
{
	struct store *st = store;
	int ret;

	if (is_down(st))
		return down_error(st, err);
	pthread_mutex_lock(&st->sh->lock);
	ret = do_incr(st->sh, collection, key, delta, value_r, err);
	pthread_mutex_unlock(&st->sh->lock);
	return ret;
}

static int outage_append(void *store, const char *collection, const void *data,
			 size_t len, struct persist_error *err)
{
	struct store *st = store;
	int ret;

	if (is_down(st))
		return down_error(st, err);
	pthread_mutex_lock(&st->sh->lock);
	ret = do_append(st->sh, collection, data, len, err);
	pthread_mutex_unlock(&st->sh->lock);
	return ret;
}

/* Emit the live keys (prefix) or the log records (from, max) of a
   collection. */
static int emit_items(struct store *st, const char *collection, const char *prefix,
		      int log, uint64_t from, size_t max, persist_emit_fn *emit, void *ctx,
		      struct persist_error *err)
{
	size_t n = 0;

	if (is_down(st))
		return down_error(st, err);
	pthread_mutex_lock(&st->sh->lock);
	for (struct item *it = st->sh->items; it != NULL; it = it->next) {
		struct persist_item item;

		if (strcmp(it->collection, collection) != 0 || (it->key == NULL) != log)
			continue;
		if (log && (it->index < from || (max > 0 && n >= max)))
			continue;
		if (!log && (strncmp(it->key, prefix, strlen(prefix)) != 0 ||
			     (it->expires_ms != 0 && it->expires_ms <= host->now_ms())))
			continue;
		memset(&item, 0, sizeof(item));
		item.size = sizeof(item);
		item.key = it->key;
		item.value = it->data;
		item.len = it->len;
		item.index = it->index;
		item.expires_ms = it->expires_ms;
		item.instance = st->instance;
		n++;
		if (emit(ctx, &item) != 0)
			break;
	}
	pthread_mutex_unlock(&st->sh->lock);
	return PERSIST_OK;
}

static int outage_scan(void *store, const char *collection, const char *prefix,
		       persist_emit_fn *emit, void *ctx, struct persist_error *err)
{
	return emit_items(store, collection, prefix, 0, 0, 0, emit, ctx, err);
}

static int outage_read_log(void *store, const char *collection, uint64_t from,
			   size_t max, persist_emit_fn *emit, void *ctx,
			   struct persist_error *err)
{
	return emit_items(store, collection, "", 1, from, max, emit, ctx, err);
}

/* Apply ops in order (lock held); stops at the first failure (no undo:
   the core refuses invalid ops before a test would reach one). */
static int apply_ops(struct shared *sh, const struct persist_op *ops, size_t n,
		     size_t op_size, struct persist_error *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct persist_op *op = (const void *)((const char *)ops + i * op_size);
		int ret = PERSIST_OK;

		switch (op->type) {
		case PERSIST_OP_SET:
			ret = do_set(sh, op->collection, op->key, op->value, op->len, op->ttl_ms, err);
			break;
		case PERSIST_OP_INCR:
			ret = do_incr(sh, op->collection, op->key, op->delta, NULL, err);
			break;
		case PERSIST_OP_APPEND:
			ret = do_append(sh, op->collection, op->value, op->len, err);
			break;
		default:
			(void)do_del(sh, op->collection, op->key);
			break;
		}
		if (ret != PERSIST_OK)
			return ret;
	}
	sh->batches++;
	return PERSIST_OK;
}

static int outage_batch(void *store, const struct persist_op *ops, size_t n,
			size_t op_size, struct persist_error *err)
{
	struct store *st = store;
	int ret;

	if (is_down(st))
		return down_error(st, err);
	pthread_mutex_lock(&st->sh->lock);
	ret = apply_ops(st->sh, ops, n, op_size, err);
	pthread_mutex_unlock(&st->sh->lock);
	return ret;
}

static int outage_batch_once(void *store, const char *id, const struct persist_op *ops,
			     size_t n, size_t op_size, int *applied_before_r,
			     struct persist_error *err)
{
	struct store *st = store;
	struct shared *sh = st->sh;
	char **ids;
	int ret = PERSIST_OK;

	*applied_before_r = 0;
	if (is_down(st))
		return down_error(st, err);
	pthread_mutex_lock(&sh->lock);
	for (size_t i = 0; i < sh->n_ids; i++) {
		if (strcmp(sh->ids[i], id) == 0) {
			*applied_before_r = 1;
			sh->once_repeated++;
			pthread_mutex_unlock(&sh->lock);
			return PERSIST_OK;
		}
	}
	ids = realloc(sh->ids, (sh->n_ids + 1) * sizeof(*ids));
	if (ids == NULL || (ids[sh->n_ids] = strdup(id)) == NULL) {
		if (ids != NULL)
			sh->ids = ids;
		pthread_mutex_unlock(&sh->lock);
		return host->error(err, PERSIST_ENOMEM, 0, "out of memory");
	}
	sh->ids = ids;
	sh->n_ids++;
	ret = apply_ops(sh, ops, n, op_size, err);
	if (ret == PERSIST_OK)
		sh->once_applied++;
	pthread_mutex_unlock(&sh->lock);
	if (ret == PERSIST_OK && st->lost_file[0] != '\0' && access(st->lost_file, F_OK) == 0)
		return host->error(err, PERSIST_EUNCERTAIN, 0, "reply lost (%s exists)",
				   st->lost_file);
	return ret;
}

static int outage_batch_once_dated(void *store, const char *id, const struct persist_op *ops,
				   const int64_t *written_ms, size_t n, size_t op_size,
				   int *applied_before_r, struct persist_error *err)
{
	struct store *st = store;

	if (!is_down(st)) {
		pthread_mutex_lock(&st->sh->lock);
		st->sh->dated++;
		for (size_t i = 0; i < n; i++) {
			const struct persist_op *op = (const void *)((const char *)ops + i * op_size);

			if ((op->type == PERSIST_OP_SET || op->type == PERSIST_OP_DELETE) &&
			    written_ms[i] > st->sh->dated_last_ms)
				st->sh->dated_last_ms = written_ms[i];
		}
		pthread_mutex_unlock(&st->sh->lock);
	}
	return outage_batch_once(store, id, ops, n, op_size, applied_before_r, err);
}

static int outage_put(void *store, const char *id, const void *data, size_t len,
		      int64_t ttl_ms, struct persist_error *err)
{
	return outage_set(store, SESSIONS, id, data, len, ttl_ms, err);
}

static int outage_drop(void *store, const char *id, struct persist_error *err)
{
	return outage_del(store, SESSIONS, id, err);
}

static int outage_list(void *store, persist_emit_fn *emit, void *ctx,
		       struct persist_error *err)
{
	return emit_items(store, SESSIONS, "", 0, 0, 0, emit, ctx, err);
}

static int outage_broadcast(void *store, const char *event, const void *data,
			    size_t len, struct persist_error *err)
{
	(void)event;
	(void)data;
	(void)len;
	return is_down(store) ? down_error(store, err) : PERSIST_OK;
}

static int outage_send(void *store, const char *id, const char *event,
		       const void *data, size_t len, struct persist_error *err)
{
	struct store *st = store;
	int found;

	(void)event;
	(void)data;
	(void)len;
	if (is_down(st))
		return down_error(st, err);
	pthread_mutex_lock(&st->sh->lock);
	found = find_key(st->sh, SESSIONS, id) != NULL;
	pthread_mutex_unlock(&st->sh->lock);
	return found ? PERSIST_OK : host->error(err, PERSIST_ENOTFOUND, 0, "no session \"%s\"", id);
}

static const struct persist_session_ops outage_session = {
	.size = sizeof(struct persist_session_ops),
	.caps = PERSIST_CAP_TTL | PERSIST_CAP_THREADSAFE,
	.open = outage_open,
	.close = outage_close,
	.health = outage_health,
	.put = outage_put,
	.drop = outage_drop,
	.list = outage_list,
	.broadcast = outage_broadcast,
	.send = outage_send,
};

static const struct persist_state_ops outage_state = {
	.size = sizeof(struct persist_state_ops),
	.caps = PERSIST_CAP_BATCH | PERSIST_CAP_TTL | PERSIST_CAP_THREADSAFE,
	.open = outage_open,
	.close = outage_close,
	.health = outage_health,
	.get = outage_get,
	.set = outage_set,
	.del = outage_del,
	.scan = outage_scan,
	.incr = outage_incr,
	.append = outage_append,
	.read_log = outage_read_log,
	.batch = outage_batch,
	.batch_once = outage_batch_once,
	.batch_once_dated = outage_batch_once_dated,
};

static const struct persist_plugin outage_plugin = {
	PERSIST_PLUGIN_HEADER,
	.name = "fixture_outage",
	.version = "0.1",
	.description = "fallback test fixture: a state store that goes down on command",
	.init = outage_init,
	.fini = outage_fini,
	.state = &outage_state,
	.session = &outage_session,
};

/* The entry point. */
const struct persist_plugin *persist_plugin_entry_v1(void)
{
	return &outage_plugin;
}
