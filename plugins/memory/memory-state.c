/*
 * plugins/memory/memory-state.c - state of the memory provider: named
 * collections, each a key space of values and counters plus one append
 * log, with TTLs and native all-or-nothing batches.
 *
 * A counter is kept as a number (struct memory_value.data == NULL) and read
 * back as its decimal text.  incr of a value that is not a counter's text
 * as plugin.h defines it (-?(0|[1-9][0-9]*) within int64: no '+', spaces,
 * leading zeros or "-0") answers PERSIST_EINVAL, and so does a result
 * outside int64.  Expired keys are invisible at once; they
 * are freed when next touched, and whenever a key space has doubled since
 * its last sweep.  A collection without keys and log records (and never
 * trimmed) is freed; drop frees it at once.  A trim frees the log's first
 * records and remembers how many are gone (log_first), so record numbers
 * never change.
 *
 * A batch runs under the namespace lock: every operation is checked first,
 * then applied while an undo record of each is kept; if one fails (a
 * non-integer counter, an overflow, no memory) the applied ones are undone
 * in reverse order, so a batch is all or nothing.  batch_once does the
 * same under the same lock and then remembers the batch's id in the
 * namespace for PERSIST_BATCH_ID_KEEP_MS (a table for lookups, a queue in
 * expiry order: each batch_once first forgets the ids that expired, so
 * memory holds only the ids of the last PERSIST_BATCH_ID_KEEP_MS); a
 * known id applies nothing and answers "applied before".
 *
 * Every set and delete records its key's write time (memory-times.c):
 * the clock for set, del, batch and batch_once, the time it was made for
 * batch_once_dated, which skips a set or delete older than its key's
 * time.  The time is changed with the operation and restored with it by
 * an undo.  A batch delete of an absent key records its time too: it is
 * still the key's last write.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "memory-private.h"

#define MEMORY_SWEEP_MIN 64
#define MEMORY_LOG_MIN 16
/* Enough for the decimal text of any int64. */
#define MEMORY_INT64_TEXT 24

/* Free a value. */
static void memory_value_free(struct memory_value *v)
{
	if (v == NULL)
		return;
	free(v->entry.key);
	free(v->data);
	free(v);
}

/* A new value for key holding data (taken over; NULL: the counter). */
static struct memory_value *memory_value_new(const char *key, void *data,
					     size_t len, int64_t counter,
					     int64_t expires_ms)
{
	struct memory_value *v = calloc(1, sizeof(*v));

	if (v == NULL)
		return NULL;
	v->entry.key = pc_strdup(key);
	if (v->entry.key == NULL) {
		free(v);
		return NULL;
	}
	v->data = data;
	v->len = len;
	v->counter = counter;
	v->expires_ms = expires_ms;
	return v;
}

/* Free a collection, its values and its log. */
void memory_collection_free(struct memory_collection *coll)
{
	struct pc_table_iter iter;
	struct pc_table_entry *e;

	if (coll == NULL)
		return;
	pc_table_iter_init(&iter, &coll->keys);
	while ((e = pc_table_iter_next(&iter)) != NULL)
		memory_value_free((struct memory_value *)e);
	pc_table_deinit(&coll->keys);
	memory_times_free(coll);
	for (size_t i = 0; i < coll->log_count; i++)
		free(coll->log[i].data);
	free(coll->log);
	free(coll->entry.key);
	free(coll);
}

/* The collection called name, created when `create` (NULL: absent, or out
   of memory when creating). */
static struct memory_collection *memory_collection_get(struct memory_namespace *ns,
						       const char *name, int create)
{
	struct memory_collection *coll = ns->last_collection;

	if (coll == NULL || strcmp(coll->entry.key, name) != 0)
		coll = (struct memory_collection *)pc_table_find(&ns->collections, name);
	if (coll != NULL) {
		ns->last_collection = coll;
		return coll;
	}
	if (!create)
		return NULL;
	coll = calloc(1, sizeof(*coll));
	if (coll == NULL)
		return NULL;
	coll->sweep_at = MEMORY_SWEEP_MIN;
	coll->entry.key = pc_strdup(name);
	if (coll->entry.key == NULL ||
	    pc_table_insert(&ns->collections, &coll->entry) != 0) {
		free(coll->entry.key);
		free(coll);
		return NULL;
	}
	return coll;
}

/* Free a collection that holds nothing any more. */
static void memory_collection_gc(struct memory_namespace *ns,
				 struct memory_collection *coll)
{
	if (coll != NULL && coll->keys.count == 0 && coll->log_count == 0 &&
	    coll->log_first == 0 && coll->times.count == 0) {
		if (ns->last_collection == coll)
			ns->last_collection = NULL;
		pc_table_remove(&ns->collections, &coll->entry);
		memory_collection_free(coll);
	}
}

/* The live value under key; an expired one is freed on the way. */
static struct memory_value *memory_value_live(struct memory_collection *coll,
					      const char *key, int64_t now_ms)
{
	struct memory_value *v;

	if (coll == NULL)
		return NULL;
	v = (struct memory_value *)pc_table_find(&coll->keys, key);
	if (v != NULL && memory_expired(v->expires_ms, now_ms)) {
		pc_table_remove(&coll->keys, &v->entry);
		memory_value_free(v);
		v = NULL;
	}
	return v;
}

/* Before an insert: free expired keys once the key space has doubled
   since the last sweep, so that keys nobody reads again do not pile up. */
static void memory_collection_sweep(struct memory_collection *coll, int64_t now_ms)
{
	struct pc_table_iter iter;
	struct pc_table_entry *e;

	if (coll->keys.count < coll->sweep_at)
		return;
	pc_table_iter_init(&iter, &coll->keys);
	while ((e = pc_table_iter_next(&iter)) != NULL) {
		struct memory_value *v = (struct memory_value *)e;

		if (memory_expired(v->expires_ms, now_ms)) {
			pc_table_remove(&coll->keys, e);
			memory_value_free(v);
		}
	}
	coll->sweep_at = coll->keys.count * 2 > MEMORY_SWEEP_MIN ?
		coll->keys.count * 2 : MEMORY_SWEEP_MIN;
}

/* The bytes of a value: its data, or a counter's decimal text in buf. */
static const char *memory_value_bytes(const struct memory_value *v,
				      char buf[MEMORY_INT64_TEXT], size_t *len_r)
{
	if (v->data != NULL) {
		*len_r = v->len;
		return v->data;
	}
	*len_r = (size_t)snprintf(buf, MEMORY_INT64_TEXT, "%" PRId64, v->counter);
	return buf;
}

/* The value after adding delta to v (NULL: a new counter at 0). */
static int memory_value_add(const struct persist_host *host,
			    const struct memory_value *v, const char *collection,
			    const char *key, int64_t delta, int64_t *result_r,
			    struct persist_error *err)
{
	int64_t current = 0;

	if (v != NULL && v->data == NULL)
		current = v->counter;
	else if (v != NULL && persist_parse_counter(v->data, v->len, &current) != 0)
		return host->error(err, PERSIST_EINVAL, 0,
				   "value of key \"%s\" in collection \"%s\" is not an integer\n"
				   "Only a key holding a 64-bit decimal integer (no \"+\", spaces, leading zeros or \"-0\") can be incremented.",
				   key, collection);
	if (__builtin_add_overflow(current, delta, result_r))
		return host->error(err, PERSIST_EINVAL, 0,
				   "counter \"%s\" in collection \"%s\" would overflow\n"
				   "%" PRId64 " + %" PRId64 " is outside the range of a 64-bit integer.",
				   key, collection, current, delta);
	return PERSIST_OK;
}

/* Append a record (data taken over) to a collection's log. */
static int memory_log_push(struct memory_collection *coll, void *data, size_t len)
{
	if (coll->log_count == coll->log_alloc) {
		size_t n = coll->log_alloc == 0 ? MEMORY_LOG_MIN : coll->log_alloc * 2;
		struct memory_record *log;

		if (n < coll->log_alloc || n > SIZE_MAX / sizeof(*log))
			return -1;
		log = realloc(coll->log, n * sizeof(*log));
		if (log == NULL)
			return -1;
		coll->log = log;
		coll->log_alloc = n;
	}
	coll->log[coll->log_count].data = data;
	coll->log[coll->log_count].len = len;
	coll->log_count++;
	return 0;
}

/* open() for state. */
int memory_state_open(void *plugin, const struct persist_store_args *args,
		      void **store_r, struct persist_error *err)
{
	return memory_store_open(plugin, args, (struct memory_store **)store_r, err);
}

/* close() for state. */
void memory_state_close(void *store)
{
	memory_store_close(store);
}

/* get(): a value, or a counter as decimal text. */
int memory_state_get(void *s, const char *collection, const char *key,
		     struct persist_value *value_r,
		     struct persist_error *err)
{
	struct memory_store *store = s;
	const struct persist_host *host = store->plugin->host;
	struct memory_collection *coll;
	struct memory_value *v;
	char buf[MEMORY_INT64_TEXT];
	const char *bytes;
	size_t len;
	int ret = PERSIST_OK;

	if (collection == NULL || key == NULL || value_r == NULL)
		return host->error(err, PERSIST_EINVAL, 0,
				   "state get without a collection or key");
	pthread_mutex_lock(&store->ns->lock);
	coll = memory_collection_get(store->ns, collection, 0);
	v = memory_value_live(coll, key, host->now_ms());
	if (v == NULL) {
		ret = host->error(err, PERSIST_ENOTFOUND, 0,
				  "key \"%s\" not found in collection \"%s\"", key, collection);
		memory_collection_gc(store->ns, coll);
		goto out;
	}
	bytes = memory_value_bytes(v, buf, &len);
	value_r->data = pc_host_dup0(host, bytes, len);
	if (value_r->data == NULL) {
		ret = host->error(err, PERSIST_ENOMEM, ENOMEM,
				  "out of memory reading key \"%s\" in collection \"%s\"",
				  key, collection);
		goto out;
	}
	value_r->len = len;
	value_r->etag[0] = '\0';
	value_r->expires_ms = v->expires_ms;
out:
	pthread_mutex_unlock(&store->ns->lock);
	return ret;
}

/* set(): store bytes under key, replacing a value or counter. */
int memory_state_set(void *s, const char *collection, const char *key,
		     const void *data, size_t len, int64_t ttl_ms,
		     struct persist_error *err)
{
	struct memory_store *store = s;
	const struct persist_host *host = store->plugin->host;
	struct memory_collection *coll;
	struct memory_value *v;
	struct memory_time *when;
	void *copy;
	int64_t now;
	int ret = PERSIST_OK;

	if (collection == NULL || key == NULL || (data == NULL && len > 0))
		return host->error(err, PERSIST_EINVAL, 0,
				   "state set without a collection, key or data");
	if (ttl_ms < 0)
		return host->error(err, PERSIST_EINVAL, 0,
				   "negative TTL for key \"%s\" in collection \"%s\"",
				   key, collection);
	copy = pc_memdup0(data, len);
	if (copy == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory storing key \"%s\" in collection \"%s\"",
				   key, collection);
	pthread_mutex_lock(&store->ns->lock);
	now = host->now_ms();
	coll = memory_collection_get(store->ns, collection, 1);
	if (coll == NULL)
		goto nomem;
	memory_times_sweep(coll, now);
	if ((when = memory_time_get(coll, key)) == NULL) {
		memory_collection_gc(store->ns, coll);
		goto nomem;
	}
	v = (struct memory_value *)pc_table_find(&coll->keys, key);
	if (v == NULL) {
		memory_collection_sweep(coll, now);
		v = memory_value_new(key, NULL, 0, 0, 0);
		if (v == NULL || pc_table_insert(&coll->keys, &v->entry) != 0) {
			memory_value_free(v);
			memory_collection_gc(store->ns, coll);
			goto nomem;
		}
	}
	free(v->data);
	v->data = copy;
	v->len = len;
	v->counter = 0;
	v->expires_ms = memory_expiry(host, ttl_ms);
	when->ms = now;
	pthread_mutex_unlock(&store->ns->lock);
	return PERSIST_OK;
nomem:
	pthread_mutex_unlock(&store->ns->lock);
	free(copy);
	ret = host->error(err, PERSIST_ENOMEM, ENOMEM,
			  "out of memory storing key \"%s\" in collection \"%s\"",
			  key, collection);
	return ret;
}

/* del(): remove a key. */
int memory_state_del(void *s, const char *collection, const char *key,
		     struct persist_error *err)
{
	struct memory_store *store = s;
	const struct persist_host *host = store->plugin->host;
	struct memory_collection *coll;
	struct memory_value *v;
	struct memory_time *when = NULL;
	int64_t now;
	int ret = PERSIST_OK;

	if (collection == NULL || key == NULL)
		return host->error(err, PERSIST_EINVAL, 0,
				   "state delete without a collection or key");
	pthread_mutex_lock(&store->ns->lock);
	now = host->now_ms();
	coll = memory_collection_get(store->ns, collection, 0);
	v = memory_value_live(coll, key, now);
	if (v != NULL) {
		memory_times_sweep(coll, now);
		when = memory_time_get(coll, key);
	}
	if (v == NULL) {
		ret = host->error(err, PERSIST_ENOTFOUND, 0,
				  "key \"%s\" not found in collection \"%s\"", key, collection);
	} else if (when == NULL) {
		ret = host->error(err, PERSIST_ENOMEM, ENOMEM,
				  "out of memory deleting key \"%s\" in collection \"%s\"",
				  key, collection);
	} else {
		pc_table_remove(&coll->keys, &v->entry);
		memory_value_free(v);
		when->ms = now;
	}
	memory_collection_gc(store->ns, coll);
	pthread_mutex_unlock(&store->ns->lock);
	return ret;
}

/* scan(): every live key starting with prefix. */
int memory_state_scan(void *s, const char *collection, const char *prefix,
		      persist_emit_fn *emit, void *ctx,
		      struct persist_error *err)
{
	struct memory_store *store = s;
	const struct persist_host *host = store->plugin->host;
	struct memory_collection *coll;
	struct pc_table_iter iter;
	struct pc_table_entry *e;
	size_t prefix_len;
	int64_t now;

	if (collection == NULL || emit == NULL)
		return host->error(err, PERSIST_EINVAL, 0,
				   "state scan without a collection or callback");
	if (prefix == NULL)
		prefix = "";
	prefix_len = strlen(prefix);
	pthread_mutex_lock(&store->ns->lock);
	now = host->now_ms();
	coll = memory_collection_get(store->ns, collection, 0);
	if (coll == NULL)
		goto out;
	pc_table_iter_init(&iter, &coll->keys);
	while ((e = pc_table_iter_next(&iter)) != NULL) {
		struct memory_value *v = (struct memory_value *)e;
		char buf[MEMORY_INT64_TEXT];
		struct persist_item item = {
			.size = sizeof(item),
			.key = e->key,
			.expires_ms = v->expires_ms,
		};

		if (memory_expired(v->expires_ms, now)) {
			pc_table_remove(&coll->keys, e);
			memory_value_free(v);
			continue;
		}
		if (strncmp(e->key, prefix, prefix_len) != 0)
			continue;
		item.value = memory_value_bytes(v, buf, &item.len);
		if (emit(ctx, &item) != 0)
			break;
	}
	memory_collection_gc(store->ns, coll);
out:
	pthread_mutex_unlock(&store->ns->lock);
	return PERSIST_OK;
}

/* True when coll holds a live key or a log record. */
static int memory_collection_live(const struct memory_collection *coll, int64_t now_ms)
{
	struct pc_table_iter iter;
	struct pc_table_entry *e;

	if (coll->log_count > 0)
		return 1;
	pc_table_iter_init(&iter, &coll->keys);
	while ((e = pc_table_iter_next(&iter)) != NULL) {
		if (!memory_expired(((struct memory_value *)e)->expires_ms, now_ms))
			return 1;
	}
	return 0;
}

/* collections(): the name of every collection holding something. */
int memory_state_collections(void *s, persist_emit_fn *emit, void *ctx,
			     struct persist_error *err)
{
	struct memory_store *store = s;
	const struct persist_host *host = store->plugin->host;
	struct pc_table_iter iter;
	struct pc_table_entry *e;
	int64_t now;

	if (emit == NULL)
		return host->error(err, PERSIST_EINVAL, 0,
				   "state collections without a callback");
	pthread_mutex_lock(&store->ns->lock);
	now = host->now_ms();
	pc_table_iter_init(&iter, &store->ns->collections);
	while ((e = pc_table_iter_next(&iter)) != NULL) {
		struct persist_item item = { .size = sizeof(item), .key = e->key };

		if (!memory_collection_live((struct memory_collection *)e, now))
			continue;
		if (emit(ctx, &item) != 0)
			break;
	}
	pthread_mutex_unlock(&store->ns->lock);
	return PERSIST_OK;
}

/* incr(): add delta to a counter, creating it at 0. */
int memory_state_incr(void *s, const char *collection, const char *key,
		      int64_t delta, int64_t *value_r,
		      struct persist_error *err)
{
	struct memory_store *store = s;
	const struct persist_host *host = store->plugin->host;
	struct memory_collection *coll;
	struct memory_value *v;
	int64_t result;
	int ret;

	if (collection == NULL || key == NULL)
		return host->error(err, PERSIST_EINVAL, 0,
				   "state incr without a collection or key");
	pthread_mutex_lock(&store->ns->lock);
	coll = memory_collection_get(store->ns, collection, 1);
	if (coll == NULL) {
		ret = host->error(err, PERSIST_ENOMEM, ENOMEM,
				  "out of memory incrementing key \"%s\" in collection \"%s\"",
				  key, collection);
		goto out;
	}
	/* counters rarely carry a TTL: read the clock only when this one does */
	v = (struct memory_value *)pc_table_find(&coll->keys, key);
	if (v != NULL && v->expires_ms != 0)
		v = memory_value_live(coll, key, host->now_ms());
	ret = memory_value_add(host, v, collection, key, delta, &result, err);
	if (ret != PERSIST_OK)
		goto out;
	if (v == NULL) {
		memory_collection_sweep(coll, host->now_ms());
		v = memory_value_new(key, NULL, 0, 0, 0);
		if (v == NULL || pc_table_insert(&coll->keys, &v->entry) != 0) {
			memory_value_free(v);
			memory_collection_gc(store->ns, coll);
			ret = host->error(err, PERSIST_ENOMEM, ENOMEM,
					  "out of memory incrementing key \"%s\" in collection \"%s\"",
					  key, collection);
			goto out;
		}
	}
	/* a counter keeps the TTL of the value it replaces */
	free(v->data);
	v->data = NULL;
	v->len = 0;
	v->counter = result;
	if (value_r != NULL)
		*value_r = result;
out:
	pthread_mutex_unlock(&store->ns->lock);
	return ret;
}

/* append(): one record at the end of the collection's log. */
int memory_state_append(void *s, const char *collection, const void *data,
			size_t len, struct persist_error *err)
{
	struct memory_store *store = s;
	const struct persist_host *host = store->plugin->host;
	struct memory_collection *coll;
	void *copy;

	if (collection == NULL || (data == NULL && len > 0))
		return host->error(err, PERSIST_EINVAL, 0,
				   "state append without a collection or data");
	copy = pc_memdup0(data, len);
	if (copy == NULL)
		goto nomem;
	pthread_mutex_lock(&store->ns->lock);
	coll = memory_collection_get(store->ns, collection, 1);
	if (coll == NULL || memory_log_push(coll, copy, len) != 0) {
		memory_collection_gc(store->ns, coll);
		pthread_mutex_unlock(&store->ns->lock);
		free(copy);
		goto nomem;
	}
	pthread_mutex_unlock(&store->ns->lock);
	return PERSIST_OK;
nomem:
	return host->error(err, PERSIST_ENOMEM, ENOMEM,
			   "out of memory appending to the log of collection \"%s\"",
			   collection);
}

/* read_log(): records from number `from` on, at most max (0: all). */
int memory_state_read_log(void *s, const char *collection, uint64_t from,
			  size_t max, persist_emit_fn *emit, void *ctx,
			  struct persist_error *err)
{
	struct memory_store *store = s;
	const struct persist_host *host = store->plugin->host;
	struct memory_collection *coll;

	if (collection == NULL || emit == NULL)
		return host->error(err, PERSIST_EINVAL, 0,
				   "read_log without a collection or callback");
	pthread_mutex_lock(&store->ns->lock);
	coll = memory_collection_get(store->ns, collection, 0);
	/* position i in the array is record number log_first + i */
	from = coll == NULL || from < coll->log_first ? 0 : from - coll->log_first;
	for (uint64_t i = from, n = 0; coll != NULL && i < coll->log_count &&
		     (max == 0 || n < max); i++, n++) {
		struct persist_item item = {
			.size = sizeof(item),
			.value = coll->log[i].data,
			.len = coll->log[i].len,
			.index = coll->log_first + i,
		};

		if (emit(ctx, &item) != 0)
			break;
	}
	pthread_mutex_unlock(&store->ns->lock);
	return PERSIST_OK;
}

/* drop(): remove a collection's keys and log at once. */
int memory_state_drop(void *s, const char *collection,
		      struct persist_error *err)
{
	struct memory_store *store = s;
	struct memory_collection *coll;

	if (collection == NULL)
		return store->plugin->host->error(err, PERSIST_EINVAL, 0,
				   "drop without a collection");
	pthread_mutex_lock(&store->ns->lock);
	coll = memory_collection_get(store->ns, collection, 0);
	if (coll != NULL) {
		if (store->ns->last_collection == coll)
			store->ns->last_collection = NULL;
		pc_table_remove(&store->ns->collections, &coll->entry);
		memory_collection_free(coll);
	}
	pthread_mutex_unlock(&store->ns->lock);
	return PERSIST_OK;
}

/* trim_log(): free the records numbered below `before`; the array then
   starts at record `before`. */
int memory_state_trim_log(void *s, const char *collection,
			  uint64_t before, struct persist_error *err)
{
	struct memory_store *store = s;
	const struct persist_host *host = store->plugin->host;
	struct memory_collection *coll;
	uint64_t next, cut;
	int ret = PERSIST_OK;

	if (collection == NULL)
		return host->error(err, PERSIST_EINVAL, 0,
				   "trim_log without a collection");
	pthread_mutex_lock(&store->ns->lock);
	coll = memory_collection_get(store->ns, collection, 0);
	next = coll == NULL ? 0 : coll->log_first + coll->log_count;
	if (before > next) {
		ret = host->error(err, PERSIST_EINVAL, 0,
				  "cannot trim the log of collection \"%s\" before record %llu\n"
				  "The log's next record number is %llu; nothing was trimmed.",
				  collection, (unsigned long long)before,
				  (unsigned long long)next);
	} else if (coll != NULL && before > coll->log_first) {
		cut = before - coll->log_first;
		for (uint64_t i = 0; i < cut; i++)
			free(coll->log[i].data);
		memmove(coll->log, coll->log + cut,
			(size_t)(coll->log_count - cut) * sizeof(*coll->log));
		coll->log_count -= (size_t)cut;
		coll->log_first = before;
	}
	pthread_mutex_unlock(&store->ns->lock);
	return ret;
}

/* log_bounds(): first kept and next record numbers. */
int memory_state_log_bounds(void *s, const char *collection,
			    uint64_t *first_r, uint64_t *next_r,
			    struct persist_error *err)
{
	struct memory_store *store = s;
	struct memory_collection *coll;

	if (collection == NULL || first_r == NULL || next_r == NULL)
		return store->plugin->host->error(err, PERSIST_EINVAL, 0,
				   "log_bounds without a collection or output");
	pthread_mutex_lock(&store->ns->lock);
	coll = memory_collection_get(store->ns, collection, 0);
	*first_r = coll == NULL ? 0 : coll->log_first;
	*next_r = coll == NULL ? 0 : coll->log_first + coll->log_count;
	pthread_mutex_unlock(&store->ns->lock);
	return PERSIST_OK;
}

/* What undoing one applied batch operation takes. */
struct memory_undo {
	struct memory_collection *coll;
	struct memory_value *old;     /* detached previous value, or NULL */
	struct memory_value *inserted; /* value the operation linked, or NULL */
	size_t log_count;             /* APPEND: log length before */
	int appended;
	struct memory_time *time;     /* SET, DELETE: the key's time, */
	int64_t time_before;          /* and what it was before */
};

/* Check one batch operation before anything is applied. */
static int memory_batch_check(const struct persist_host *host,
			      const struct persist_op *op, size_t i,
			      struct persist_error *err)
{
	switch (op->type) {
	case PERSIST_OP_SET:
	case PERSIST_OP_INCR:
	case PERSIST_OP_DELETE:
		if (op->key == NULL)
			return host->error(err, PERSIST_EINVAL, 0,
					   "batch operation %zu has no key", i);
		break;
	case PERSIST_OP_APPEND:
		break;
	default:
		return host->error(err, PERSIST_EINVAL, 0,
				   "batch operation %zu has unknown type %d", i, (int)op->type);
	}
	if (op->collection == NULL)
		return host->error(err, PERSIST_EINVAL, 0,
				   "batch operation %zu has no collection", i);
	if ((op->type == PERSIST_OP_SET || op->type == PERSIST_OP_APPEND) &&
	    op->value == NULL && op->len > 0)
		return host->error(err, PERSIST_EINVAL, 0,
				   "batch operation %zu has a length but no value", i);
	if (op->type == PERSIST_OP_SET && op->ttl_ms < 0)
		return host->error(err, PERSIST_EINVAL, 0,
				   "batch operation %zu has a negative TTL", i);
	return PERSIST_OK;
}

/* Apply one checked operation, recording how to undo it.
     now         the clock, for expiry
     written_ms  when a set or delete was made: recorded as its key's time
     dated       1: skip a set or delete when its key's time is later */
static int memory_batch_apply(struct memory_namespace *ns,
			      const struct persist_host *host,
			      const struct persist_op *op, int64_t now,
			      int64_t written_ms, int dated,
			      struct memory_undo *undo, struct persist_error *err)
{
	struct memory_collection *coll;
	struct memory_value *old;
	int64_t result;
	void *copy = NULL;
	int ret;

	coll = memory_collection_get(ns, op->collection, 1);
	if (coll == NULL)
		goto nomem;
	undo->coll = coll;
	if (op->type == PERSIST_OP_APPEND) {
		copy = pc_memdup0(op->value, op->len);
		undo->log_count = coll->log_count;
		if (copy == NULL || memory_log_push(coll, copy, op->len) != 0)
			goto nomem;
		undo->appended = 1;
		return PERSIST_OK;
	}
	if (op->type != PERSIST_OP_INCR) {
		struct memory_time *t = memory_time_get(coll, op->key);

		if (t == NULL)
			goto nomem;
		if (dated && t->ms > written_ms)
			return PERSIST_OK;   /* a later write of the key wins */
		undo->time = t;
		undo->time_before = t->ms;
		t->ms = written_ms;
	}
	old = (struct memory_value *)pc_table_find(&coll->keys, op->key);
	if (old != NULL) {
		pc_table_remove(&coll->keys, &old->entry);
		undo->old = old;
		if (memory_expired(old->expires_ms, now))
			old = NULL; /* as if absent */
	}
	switch (op->type) {
	case PERSIST_OP_SET:
		copy = pc_memdup0(op->value, op->len);
		if (copy == NULL)
			goto nomem;
		undo->inserted = memory_value_new(op->key, copy, op->len, 0,
						  memory_expiry(host, op->ttl_ms));
		if (undo->inserted == NULL)
			goto nomem;
		break;
	case PERSIST_OP_INCR:
		ret = memory_value_add(host, old, op->collection, op->key,
				       op->delta, &result, err);
		if (ret != PERSIST_OK)
			return ret;
		undo->inserted = memory_value_new(op->key, NULL, 0, result,
						  old != NULL ? old->expires_ms : 0);
		if (undo->inserted == NULL)
			goto nomem;
		break;
	default: /* PERSIST_OP_DELETE: absent keys are no error in a batch */
		return PERSIST_OK;
	}
	/* fails only for a brand-new collection whose buckets cannot be
	   allocated */
	if (pc_table_insert(&coll->keys, &undo->inserted->entry) != 0) {
		memory_value_free(undo->inserted);
		undo->inserted = NULL;
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory applying a batch to collection \"%s\"",
				   op->collection);
	}
	return PERSIST_OK;
nomem:
	free(copy);
	return host->error(err, PERSIST_ENOMEM, ENOMEM,
			   "out of memory applying a batch to collection \"%s\"",
			   op->collection);
}

/* Undo applied operations, last first. */
static void memory_batch_rollback(struct memory_undo *undo, size_t n)
{
	while (n-- > 0) {
		struct memory_undo *u = &undo[n];

		if (u->inserted != NULL) {
			pc_table_remove(&u->coll->keys, &u->inserted->entry);
			memory_value_free(u->inserted);
		}
		if (u->old != NULL)
			(void)pc_table_insert(&u->coll->keys, &u->old->entry);
		if (u->time != NULL)
			u->time->ms = u->time_before;
		if (u->appended) {
			while (u->coll->log_count > u->log_count)
				free(u->coll->log[--u->coll->log_count].data);
		}
	}
}

/* Free every remembered batch id. */
void memory_batch_ids_free(struct memory_namespace *ns)
{
	while (ns->ids_first != NULL) {
		struct memory_batch_id *b = ns->ids_first;

		ns->ids_first = b->next;
		free(b->entry.key);
		free(b);
	}
	ns->ids_last = &ns->ids_first;
	pc_table_deinit(&ns->batch_ids);
}

/* Forget the batch ids that expired (ns->lock held). */
static void memory_batch_ids_expire(struct memory_namespace *ns, int64_t now)
{
	while (ns->ids_first != NULL && memory_expired(ns->ids_first->expires_ms, now)) {
		struct memory_batch_id *b = ns->ids_first;

		ns->ids_first = b->next;
		pc_table_remove(&ns->batch_ids, &b->entry);
		free(b->entry.key);
		free(b);
	}
	if (ns->ids_first == NULL)
		ns->ids_last = &ns->ids_first;
}

/* A new batch id entry, not linked yet; NULL when out of memory. */
static struct memory_batch_id *memory_batch_id_new(const char *id, int64_t now)
{
	struct memory_batch_id *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->entry.key = pc_strdup(id);
	if (b->entry.key == NULL) {
		free(b);
		return NULL;
	}
	b->expires_ms = persist_expiry_ms(now, PERSIST_BATCH_ID_KEEP_MS);
	return b;
}

/* The batch methods: the ops, all or none, and the id remembered, under
   one lock; a remembered id applies nothing.
     id          the batch's id; NULL: batch(), nothing remembered
     written_ms  when each op was made (batch_once_dated); NULL: now, and
                 no set or delete is skipped */
static int memory_batch_run(void *s, const char *id, const struct persist_op *ops,
			    const int64_t *written_ms, size_t n, size_t op_size,
			    int *applied_before_r, struct persist_error *err)
{
	struct memory_store *store = s;
	const struct persist_host *host = store->plugin->host;
	struct memory_namespace *ns = store->ns;
	struct memory_batch_id *seen = NULL;
	struct memory_undo *undo;
	size_t applied = 0;
	int64_t now;
	int ret = PERSIST_OK;

	if (id != NULL &&
	    (ret = pc_batch_once_check(host, id, applied_before_r, err)) != PERSIST_OK)
		return ret;
	ret = pc_batch_check(host, ops, n, op_size, memory_batch_check, err);
	if (ret != PERSIST_OK || (n == 0 && id == NULL))
		return ret;
	undo = calloc(n > 0 ? n : 1, sizeof(*undo));
	if (id != NULL)
		seen = memory_batch_id_new(id, host->now_ms());
	if (undo == NULL || (id != NULL && seen == NULL)) {
		free(undo);
		if (seen != NULL)
			free(seen->entry.key);
		free(seen);
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory for a batch of %zu operations", n);
	}
	pthread_mutex_lock(&store->ns->lock);
	now = host->now_ms();
	if (id != NULL) {
		memory_batch_ids_expire(ns, now);
		if (pc_table_find(&ns->batch_ids, id) != NULL) {
			*applied_before_r = 1;
			applied = n;   /* nothing to do */
			n = 0;
		}
	}
	/* old times go before any is held in an undo record */
	for (size_t i = applied; i < n; i++) {
		struct memory_collection *coll =
			memory_collection_get(ns, pc_batch_op(ops, i, op_size)->collection, 0);

		if (coll != NULL)
			memory_times_sweep(coll, now);
	}
	for (; applied < n; applied++) {
		const struct persist_op *op = pc_batch_op(ops, applied, op_size);

		ret = memory_batch_apply(store->ns, host, op, now,
					 written_ms != NULL ? written_ms[applied] : now,
					 written_ms != NULL, &undo[applied], err);
		if (ret != PERSIST_OK)
			break;
	}
	if (ret == PERSIST_OK && seen != NULL && n > 0 &&
	    pc_table_insert(&ns->batch_ids, &seen->entry) != 0) {
		ret = host->error(err, PERSIST_ENOMEM, ENOMEM,
				  "out of memory recording batch id \"%s\"", id);
		applied = n - 1; /* undo every operation */
	}
	if (ret != PERSIST_OK) {
		/* the failed operation may have detached a value too */
		memory_batch_rollback(undo, applied + 1);
	} else {
		for (size_t i = 0; i < n; i++)
			memory_value_free(undo[i].old);
		if (seen != NULL && n > 0) {
			if (ns->ids_last == NULL)
				ns->ids_last = &ns->ids_first;
			*ns->ids_last = seen;
			ns->ids_last = &seen->next;
			seen = NULL;
		}
	}
	pthread_mutex_unlock(&store->ns->lock);
	if (seen != NULL) {
		free(seen->entry.key);
		free(seen);
	}
	free(undo);
	return ret;
}

/* batch(): all operations or none, under one lock. */
int memory_state_batch(void *s, const struct persist_op *ops, size_t n,
		       size_t op_size, struct persist_error *err)
{
	return memory_batch_run(s, NULL, ops, NULL, n, op_size, NULL, err);
}

/* batch_once(): batch() and the id remembered. */
int memory_state_batch_once(void *s, const char *id, const struct persist_op *ops,
			    size_t n, size_t op_size, int *applied_before_r,
			    struct persist_error *err)
{
	return memory_batch_run(s, id, ops, NULL, n, op_size, applied_before_r, err);
}

/* batch_once_dated(): batch_once() where a set or delete made before its
   key's last write is skipped. */
int memory_state_batch_once_dated(void *s, const char *id, const struct persist_op *ops,
				  const int64_t *written_ms, size_t n, size_t op_size,
				  int *applied_before_r, struct persist_error *err)
{
	struct memory_store *store = s;

	if (written_ms == NULL && n > 0)
		return store->plugin->host->error(err, PERSIST_EINVAL, 0,
						  "batch without its write times");
	return memory_batch_run(s, id, ops, written_ms, n, op_size, applied_before_r, err);
}

/* flush(): nothing is pending in memory. */
int memory_state_flush(void *store, struct persist_error *err)
{
	return PERSIST_OK;
}
