/*
 * core/batch-read.c - the reads of the state API when batching is on:
 * what the provider answers, with this process's queued writes applied
 * (read-your-writes).  A counter reads as its stored value plus the queued
 * sum, a key with a queued set as the queued value, a queued delete as not
 * found; scan merges; read_log returns the queued records after the
 * stored ones, numbered after them.
 *
 * A get of a key whose queued set or delete decides the answer does not
 * ask the provider (so it is answered while the backend is down).
 *
 * Each read follows the same steps: wait until no flush is storing what
 * it reads, note the flush count, ask the provider with the lock released,
 * then take the lock again and, if no flush ended meanwhile, apply the
 * batch waiting to be sent again (if any) and the pending queue.  Else
 * the provider is asked again.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "batch-private.h"

/* Lock held: wait until nothing touches what is read, then note the
   count that tells whether the provider's answer is still current. */
static uint64_t read_begin(struct persist_batcher *b, const char *collection,
			   const char *key, int log)
{
	batch_wait_quiet(b, collection, key, log);
	return b->done_seq;
}

/* Lock held: true when the provider's answer, asked for after read_begin
   returned seq, can be combined with the queue. */
static int read_current(struct persist_batcher *b, uint64_t seq,
			const char *collection, const char *key, int log)
{
	return b->done_seq == seq &&
	       !batch_sending_touches(b, collection, key, log) &&
	       (log || batch_busy_find(b, collection, key) == NULL);
}

/* Apply the queued entries of a key (inflight waiting for a retry, then
   pending) to a view; -1 as bq_view_apply. */
static int view_queued(const struct persist_batcher *b, const char *collection,
		       const char *key, struct bq_view *v, int64_t now_ms)
{
	const struct bq_entry *e;

	if (!b->sending && (e = bq_find(&b->inflight, collection, key)) != NULL &&
	    bq_view_apply(e, v, now_ms) != 0)
		return -1;
	if ((e = bq_find(&b->pending, collection, key)) != NULL &&
	    bq_view_apply(e, v, now_ms) != 0)
		return -1;
	return 0;
}

/* True when a queued set or delete of the key decides what a read sees,
   whatever is stored (no need to ask the provider). */
static int queue_decides(const struct persist_batcher *b, const char *collection,
			 const char *key)
{
	const struct bq_entry *e = bq_find(&b->pending, collection, key);

	if (e != NULL && e->base != BQ_NONE)
		return 1;
	e = b->sending ? NULL : bq_find(&b->inflight, collection, key);
	return e != NULL && e->base != BQ_NONE;
}

int persist_batch_get(struct persist_batcher *b, const char *collection,
		      const char *key, char **value_r, size_t *len_r,
		      struct persist_error *err)
{
	struct bq_view v;
	char *stored = NULL, *copy;
	size_t len = 0;
	uint64_t seq;
	int ret;

	pthread_mutex_lock(&b->lock);
	for (;;) {
		seq = read_begin(b, collection, key, 0);
		if (queue_decides(b, collection, key)) {
			ret = PERSIST_ENOTFOUND;   /* the stored value does not matter */
			break;
		}
		pthread_mutex_unlock(&b->lock);
		ret = persist_state_stored_get(b->sink, collection, key, &stored, &len, err);
		pthread_mutex_lock(&b->lock);
		if (ret != PERSIST_OK && ret != PERSIST_ENOTFOUND) {
			pthread_mutex_unlock(&b->lock);
			return ret;
		}
		if (read_current(b, seq, collection, key, 0))
			break;
		free(stored);
		stored = NULL;
	}
	memset(&v, 0, sizeof(v));
	v.found = ret == PERSIST_OK;
	v.data = stored;
	v.len = len;
	if (view_queued(b, collection, key, &v, persist_now_ms()) != 0) {
		pthread_mutex_unlock(&b->lock);
		free(stored);
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"key \"%s\" in collection \"%s\" has queued increments but its "
			"value is not a decimal integer (or the sum overflows)\n"
			"The next flush will refuse those increments.", key, collection);
	}
	if (!v.found) {
		pthread_mutex_unlock(&b->lock);
		free(stored);
		return persist_error_set(err, PERSIST_ENOTFOUND, 0,
			"key \"%s\" not found in collection \"%s\"", key, collection);
	}
	persist_error_clear(err);
	copy = v.data == stored ? stored : persist_memdup0(v.data, v.len);
	pthread_mutex_unlock(&b->lock);
	if (copy != stored)
		free(stored);
	if (copy == NULL)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	if (len_r != NULL)
		*len_r = v.len;
	if (value_r != NULL)
		*value_r = copy;
	else
		free(copy);
	return PERSIST_OK;
}

/* Compare a key with an entry's key, for bsearch. */
static int key_cmp(const void *key, const void *entry)
{
	return strcmp(key, ((const struct persist_entry *)entry)->key);
}

/* Emit one merged scan entry into the collector. */
static void emit_view(struct persist_collector *list, const char *key,
		      const struct bq_view *v)
{
	struct persist_item item;

	memset(&item, 0, sizeof(item));
	item.size = sizeof(item);
	item.key = key;
	item.value = v->data;
	item.len = v->len;
	item.expires_ms = v->expires_ms;
	(void)persist_collect_entry(list, &item);
}

/* Emit the keys of the collection queued in table t (skipping those of
   skip, when not NULL, and those stored) with the queue applied. */
static void emit_queued_only(const struct persist_batcher *b, const struct bq_table *t,
			     const struct bq_table *skip, const char *collection,
			     const char *prefix, const struct persist_entry *stored,
			     size_t n, struct persist_collector *list, int64_t now_ms)
{
	size_t plen = strlen(prefix);

	for (const struct bq_entry *e = t->first; e != NULL; e = e->next) {
		struct bq_view v;

		if (e->is_log || strcmp(e->collection, collection) != 0 ||
		    strncmp(e->key, prefix, plen) != 0 ||
		    (skip != NULL && bq_find(skip, collection, e->key) != NULL) ||
		    (n > 0 && bsearch(e->key, stored, n, sizeof(*stored), key_cmp) != NULL))
			continue;
		memset(&v, 0, sizeof(v));
		if (view_queued(b, collection, e->key, &v, now_ms) == 0 && v.found)
			emit_view(list, e->key, &v);
	}
}

int persist_batch_scan(struct persist_batcher *b, const char *collection,
		       const char *prefix, struct persist_entry **entries_r,
		       size_t *n_r, struct persist_error *err)
{
	struct persist_collector list = { .with_value = 1 };
	struct persist_entry *stored = NULL;
	size_t n = 0;
	int64_t now_ms = persist_now_ms();
	uint64_t seq;
	int ret;

	pthread_mutex_lock(&b->lock);
	for (;;) {
		seq = read_begin(b, collection, NULL, 0);
		pthread_mutex_unlock(&b->lock);
		ret = persist_state_stored_scan(b->sink, collection, prefix, &stored, &n, err);
		pthread_mutex_lock(&b->lock);
		if (ret != PERSIST_OK) {
			pthread_mutex_unlock(&b->lock);
			return ret;
		}
		if (read_current(b, seq, collection, NULL, 0))
			break;
		persist_items_free(stored, n);
	}
	/* stored keys, with what is queued for them */
	for (size_t i = 0; i < n; i++) {
		struct bq_view v;

		memset(&v, 0, sizeof(v));
		v.found = 1;
		v.data = stored[i].value != NULL ? stored[i].value : "";
		v.len = stored[i].len;
		v.expires_ms = stored[i].expires_ms;
		if (view_queued(b, collection, stored[i].key, &v, now_ms) == 0 && v.found)
			emit_view(&list, stored[i].key, &v);
	}
	/* then keys only queued */
	if (!b->sending)
		emit_queued_only(b, &b->inflight, NULL, collection, prefix, stored, n,
				 &list, now_ms);
	emit_queued_only(b, &b->pending, b->sending ? NULL : &b->inflight, collection,
			 prefix, stored, n, &list, now_ms);
	pthread_mutex_unlock(&b->lock);
	persist_items_free(stored, n);
	return persist_collect_finish(&list, PERSIST_OK, 1, entries_r, n_r, err);
}

/* The number of records stored in the collection's log, given a read from
   `from` that returned n records (at most max). */
static int stored_log_count(struct persist_batcher *b, const char *collection,
			    uint64_t from, const struct persist_entry *recs, size_t n,
			    uint64_t *count_r, struct persist_error *err)
{
	struct persist_entry *probe = NULL;
	size_t m = 0;
	int ret;

	if (n > 0) {
		*count_r = recs[n - 1].index + 1;
		return PERSIST_OK;
	}
	if (from == 0) {
		*count_r = 0;
		return PERSIST_OK;
	}
	/* nothing from `from` on: is the log exactly `from` long, or shorter? */
	ret = persist_state_stored_read_log(b->sink, collection, from - 1, 1, &probe, &m, err);
	if (ret == PERSIST_OK && m == 1 && probe[0].index == from - 1) {
		*count_r = from;
	} else if (ret == PERSIST_OK) {
		persist_items_free(probe, m);
		probe = NULL;
		ret = persist_state_stored_read_log(b->sink, collection, 0, 0, &probe, &m, err);
		if (ret == PERSIST_OK)
			*count_r = m > 0 ? probe[m - 1].index + 1 : 0;
	}
	persist_items_free(probe, m);
	return ret;
}

/* Emit the queued records of one log entry numbered from *index on. */
static void emit_records(const struct bq_entry *e, uint64_t from, size_t max,
			 uint64_t *index, struct persist_collector *list)
{
	for (const struct bq_rec *r = e->recs; r != NULL; r = r->next, (*index)++) {
		struct persist_item item;

		if (*index < from)
			continue;
		if (max > 0 && list->n >= max)
			return;
		memset(&item, 0, sizeof(item));
		item.size = sizeof(item);
		item.value = r->data;
		item.len = r->len;
		item.index = *index;
		(void)persist_collect_entry(list, &item);
	}
}

int persist_batch_read_log(struct persist_batcher *b, const char *collection,
			   uint64_t from, size_t max,
			   struct persist_entry **records_r, size_t *n_r,
			   struct persist_error *err)
{
	struct persist_collector list = { .with_value = 1 };
	struct persist_entry *stored = NULL;
	const struct bq_entry *e;
	uint64_t seq, count = 0;
	size_t n = 0;
	int ret;

	pthread_mutex_lock(&b->lock);
	for (;;) {
		seq = read_begin(b, collection, NULL, 1);
		pthread_mutex_unlock(&b->lock);
		ret = persist_state_stored_read_log(b->sink, collection, from, max,
						    &stored, &n, err);
		if (ret == PERSIST_OK && (max == 0 || n < max))
			ret = stored_log_count(b, collection, from, stored, n, &count, err);
		pthread_mutex_lock(&b->lock);
		if (ret != PERSIST_OK) {
			pthread_mutex_unlock(&b->lock);
			persist_items_free(stored, n);
			return ret;
		}
		if (read_current(b, seq, collection, NULL, 1))
			break;
		persist_items_free(stored, n);
		stored = NULL;
		n = 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct persist_item item;

		memset(&item, 0, sizeof(item));
		item.size = sizeof(item);
		item.value = stored[i].value;
		item.len = stored[i].len;
		item.index = stored[i].index;
		(void)persist_collect_entry(&list, &item);
	}
	if (max == 0 || n < max) {
		if (!b->sending && (e = bq_find(&b->inflight, collection, NULL)) != NULL)
			emit_records(e, from, max, &count, &list);
		if ((e = bq_find(&b->pending, collection, NULL)) != NULL)
			emit_records(e, from, max, &count, &list);
	}
	pthread_mutex_unlock(&b->lock);
	persist_items_free(stored, n);
	return persist_collect_finish(&list, PERSIST_OK, 0, records_r, n_r, err);
}
