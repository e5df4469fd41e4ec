/*
 * core/batch-write.c - the writes of the state API when batching is on:
 * queued sets, deletes, increments, appends and batches, and the
 * synchronous increment that takes the key's queued increments along.
 *
 * A queued write is acknowledged once it is in the queue - with
 * journalQueued, once it is in the queue and its record in the journal is
 * durable (the record is appended with the lock held, so the journal holds
 * the writes in the order of the queue; the fdatasync is waited for after
 * the lock is released, one for every writer waiting).  It is refused,
 * with nothing queued, when the queue is full (PERSIST_EUNAVAIL) or when an
 * increment would make the key's queued sum overflow 64 bits
 * (PERSIST_EINVAL).  A set or delete of a key waits while a synchronous
 * increment of that key is on its way to the provider, so that it is never
 * stored before the increment it follows.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "batch-private.h"

/* The token a queued write journals under, or NULL without a journal. */
#define JOURNAL_TOKEN(b, token) ((b)->journal != NULL ? (token) : NULL)

/* Bytes of one key operation in the queue's accounting. */
static size_t key_bytes(const char *collection, const char *key)
{
	return strlen(collection) + strlen(key);
}

/* Wait (lock held) while a synchronous increment of the key is on its way
   to the provider. */
static void wait_not_busy(struct persist_batcher *b, const char *collection,
			  const char *key)
{
	while (b->busy != NULL && batch_busy_find(b, collection, key) != NULL)
		pthread_cond_wait(&b->done, &b->lock);
}

/* Queue a set (value != NULL or len 0 with set 1) or a delete (set 0),
   lock held. */
static int queue_base(struct persist_batcher *b, const char *collection,
		      const char *key, int set, const void *value, size_t len,
		      int64_t ttl_ms, uint64_t *token, struct persist_error *err)
{
	struct bq_entry *e;
	int was_empty, coalesced;
	size_t grow_ops;
	int ret;

	/* a flush of the same key is no reason to wait: this goes to pending,
	   which is stored after inflight; a synchronous increment is */
	wait_not_busy(b, collection, key);
	e = bq_find(&b->pending, collection, key);
	coalesced = e != NULL && (e->base != BQ_NONE || e->has_incr);
	grow_ops = coalesced ? 0 : 1;
	if ((ret = batch_admit(b, grow_ops, grow_ops * key_bytes(collection, key) +
			       (set ? len : 0), err)) != PERSIST_OK)
		return ret;
	if (token != NULL) {
		struct persist_op op = {
			.type = set ? PERSIST_OP_SET : PERSIST_OP_DELETE,
			.collection = collection, .key = key,
			.value = set ? value : NULL, .len = set ? len : 0,
			.ttl_ms = set ? ttl_ms : 0,
		};

		if ((ret = batch_journal_append(b, &op, 1, token, err)) != PERSIST_OK)
			return ret;
	}
	was_empty = b->pending.ops == 0;
	if (e == NULL && (e = bq_get(&b->pending, collection, key)) == NULL)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	if (set) {
		if (bq_set(&b->pending, e, value, len,
			   ttl_ms > 0 ? persist_now_ms() + ttl_ms : 0) != 0)
			return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	} else {
		bq_del(&b->pending, e);
	}
	batch_queued(b, was_empty, coalesced);
	return PERSIST_OK;
}

/* The total a key's counter would reach by the queued increments plus delta
   (e: the key's pending entry or NULL; the queued set's value, if one is
   queued, counts too): PERSIST_EINVAL
   when that overflows or the queued value is not an integer. */
static int check_sum(struct persist_batcher *b, const struct bq_entry *e,
		     const struct bq_key *bk, int64_t delta,
		     struct persist_error *err)
{
	const char *collection = bk->collection, *key = bk->key;
	const struct bq_entry *ie = bq_find_k(&b->inflight, bk);
	const struct busy_key *k = b->busy == NULL ? NULL :
		batch_busy_find(b, collection, key);
	int64_t total = 0;
	int ok = 1;

	if (e != NULL && e->base == BQ_SET) {
		ok = bq_parse_int(e->value, e->len, &total) == 0;
		if (!ok)
			return persist_error_set(err, PERSIST_EINVAL, 0,
				"cannot increment key \"%s\" in collection \"%s\": the value "
				"queued for it is not a decimal integer", key, collection);
	}
	if (e != NULL && e->has_incr)
		ok = !__builtin_add_overflow(total, e->incr, &total);
	if (ok && (e == NULL || e->base == BQ_NONE)) {
		if (ie != NULL && ie->has_incr)
			ok = !__builtin_add_overflow(total, ie->incr, &total);
		if (ok && k != NULL)
			ok = !__builtin_add_overflow(total, k->sum, &total);
	}
	if (ok)
		ok = !__builtin_add_overflow(total, delta, &total);
	if (!ok)
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"increment %+" PRId64 " of key \"%s\" in collection \"%s\" would "
			"overflow a 64-bit counter\nThe increments queued for the key and "
			"this one add up to more than a 64-bit integer holds; nothing was queued.",
			delta, key, collection);
	return PERSIST_OK;
}

/* Queue an increment, lock held. */
static int queue_add(struct persist_batcher *b, const char *collection,
		     const char *key, int64_t delta, uint64_t *token,
		     struct persist_error *err)
{
	struct bq_entry *e;
	struct bq_key bk;
	int was_empty, coalesced;
	int ret;

	bq_key_init(&bk, collection, key);
	e = bq_find_k(&b->pending, &bk);
	if ((ret = check_sum(b, e, &bk, delta, err)) != PERSIST_OK)
		return ret;
	coalesced = e != NULL && e->has_incr;
	if (!coalesced &&
	    (ret = batch_admit(b, 1, bk.clen + bk.klen, err)) != PERSIST_OK)
		return ret;
	if (token != NULL) {
		struct persist_op op = {
			.type = PERSIST_OP_INCR, .collection = collection, .key = key,
			.delta = delta,
		};

		if ((ret = batch_journal_append(b, &op, 1, token, err)) != PERSIST_OK)
			return ret;
	}
	was_empty = b->pending.ops == 0;
	if (e == NULL && (e = bq_new_k(&b->pending, &bk)) == NULL)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	bq_add(&b->pending, e, delta);
	batch_queued(b, was_empty, coalesced);
	return PERSIST_OK;
}

/* Queue a log record, lock held. */
static int queue_append(struct persist_batcher *b, const char *collection,
			const void *record, size_t len, uint64_t *token,
			struct persist_error *err)
{
	struct bq_entry *e;
	int was_empty, ret;

	if ((ret = batch_admit(b, 1, len, err)) != PERSIST_OK)
		return ret;
	if (token != NULL) {
		struct persist_op op = {
			.type = PERSIST_OP_APPEND, .collection = collection,
			.value = record, .len = len,
		};

		if ((ret = batch_journal_append(b, &op, 1, token, err)) != PERSIST_OK)
			return ret;
	}
	was_empty = b->pending.ops == 0;
	if ((e = bq_get(&b->pending, collection, NULL)) == NULL ||
	    bq_append(&b->pending, e, record, len) != 0)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	batch_queued(b, was_empty, 0);
	return PERSIST_OK;
}

int persist_batch_set(struct persist_batcher *b, const char *collection,
		      const char *key, const void *value, size_t len,
		      int64_t ttl_ms, struct persist_error *err)
{
	int ret;

	uint64_t token = 0;

	pthread_mutex_lock(&b->lock);
	ret = queue_base(b, collection, key, 1, value, len, ttl_ms, JOURNAL_TOKEN(b, &token), err);
	pthread_mutex_unlock(&b->lock);
	return batch_journal_sync(b, ret, token, err);
}

int persist_batch_delete(struct persist_batcher *b, const char *collection,
			 const char *key, struct persist_error *err)
{
	int ret;

	uint64_t token = 0;

	pthread_mutex_lock(&b->lock);
	ret = queue_base(b, collection, key, 0, NULL, 0, 0, JOURNAL_TOKEN(b, &token), err);
	pthread_mutex_unlock(&b->lock);
	return batch_journal_sync(b, ret, token, err);
}

int persist_batch_add(struct persist_batcher *b, const char *collection,
		      const char *key, int64_t delta, struct persist_error *err)
{
	int ret;

	uint64_t token = 0;

	pthread_mutex_lock(&b->lock);
	ret = queue_add(b, collection, key, delta, JOURNAL_TOKEN(b, &token), err);
	pthread_mutex_unlock(&b->lock);
	return batch_journal_sync(b, ret, token, err);
}

int persist_batch_append(struct persist_batcher *b, const char *collection,
			 const void *record, size_t len, struct persist_error *err)
{
	int ret;

	uint64_t token = 0;

	pthread_mutex_lock(&b->lock);
	ret = queue_append(b, collection, record, len, JOURNAL_TOKEN(b, &token), err);
	pthread_mutex_unlock(&b->lock);
	return batch_journal_sync(b, ret, token, err);
}

/* Check before queueing a batch that its increments cannot overflow any
   key's queued sum: conservatively, with the sum of their absolute
   values. */
static int check_batch_sums(struct persist_batcher *b, const struct persist_op *ops,
			    size_t n, struct persist_error *err)
{
	uint64_t abs_sum = 0;
	int64_t bound;

	for (size_t i = 0; i < n; i++) {
		uint64_t a;

		if (ops[i].type != PERSIST_OP_INCR)
			continue;
		a = ops[i].delta < 0 ? (uint64_t)0 - (uint64_t)ops[i].delta : (uint64_t)ops[i].delta;
		if (__builtin_add_overflow(abs_sum, a, &abs_sum) || abs_sum > (uint64_t)INT64_MAX)
			return persist_error_set(err, PERSIST_EINVAL, 0,
				"the increments of the batch add up to more than a 64-bit "
				"counter holds (nothing of the batch was queued)");
	}
	bound = (int64_t)abs_sum;
	for (size_t i = 0; i < n; i++) {
		int ret;

		if (ops[i].type != PERSIST_OP_INCR)
			continue;
		struct bq_key bk;

		bq_key_init(&bk, ops[i].collection, ops[i].key);
		const struct bq_entry *e = bq_find_k(&b->pending, &bk);

		if ((ret = check_sum(b, e, &bk, bound, err)) != PERSIST_OK ||
		    (ret = check_sum(b, e, &bk, -bound, err)) != PERSIST_OK)
			return persist_error_prefix(err, (persist_status)ret,
				"batch operation %zu (nothing of the batch was queued)", i);
	}
	return PERSIST_OK;
}

int persist_batch_ops(struct persist_batcher *b, const struct persist_op *ops,
		      size_t n, struct persist_error *err)
{
	size_t bytes = 0;
	uint64_t token = 0;
	int ret = PERSIST_OK, waited;

	for (size_t i = 0; i < n; i++)
		bytes += ops[i].len + strlen(ops[i].collection) +
			 (ops[i].key != NULL && ops[i].type != PERSIST_OP_APPEND ? strlen(ops[i].key) : 0);
	pthread_mutex_lock(&b->lock);
	/* until no key of a set or delete is busy at one moment, so that the
	   lock is not released between the journal and the queue */
	do {
		waited = 0;
		for (size_t i = 0; i < n && !waited; i++)
			if ((ops[i].type == PERSIST_OP_SET || ops[i].type == PERSIST_OP_DELETE) &&
			    b->busy != NULL && batch_busy_find(b, ops[i].collection, ops[i].key) != NULL) {
				wait_not_busy(b, ops[i].collection, ops[i].key);
				waited = 1;
			}
	} while (waited);
	/* all or nothing: the whole batch must fit, and add up */
	if ((ret = batch_admit(b, n, bytes, err)) == PERSIST_OK &&
	    (ret = check_batch_sums(b, ops, n, err)) == PERSIST_OK &&
	    (b->journal == NULL ||
	     (ret = batch_journal_append(b, ops, n, &token, err)) == PERSIST_OK)) {
		for (size_t i = 0; i < n && ret == PERSIST_OK; i++) {
			const struct persist_op *op = &ops[i];

			switch (op->type) {
			case PERSIST_OP_SET:
				ret = queue_base(b, op->collection, op->key, 1,
						 op->value != NULL ? op->value : "", op->len,
						 op->ttl_ms, NULL, err);
				break;
			case PERSIST_OP_DELETE:
				ret = queue_base(b, op->collection, op->key, 0, NULL, 0, 0, NULL, err);
				break;
			case PERSIST_OP_INCR:
				ret = queue_add(b, op->collection, op->key, op->delta, NULL, err);
				break;
			default:
				ret = queue_append(b, op->collection, op->value, op->len, NULL, err);
				break;
			}
		}
	}
	pthread_mutex_unlock(&b->lock);
	return batch_journal_sync(b, ret, token, err);
}

int persist_batch_incr(struct persist_batcher *b, const char *collection,
		       const char *key, int64_t delta, int64_t *value_r,
		       struct persist_error *err)
{
	struct busy_key *k, **kp;
	struct bq_entry *e;
	struct bq_key bk;
	int64_t sum = 0, value = 0;
	int ret;

	pthread_mutex_lock(&b->lock);
	for (;;) {
		const struct bq_entry *ie;

		batch_wait_quiet(b, collection, key, 0);
		e = bq_find(&b->pending, collection, key);
		ie = bq_find(&b->inflight, collection, key);
		/* a queued set or delete, or a batch waiting to be sent again,
		   must be stored before this increment; with a journal, the
		   queued increments too: they leave the journal only with an
		   acknowledged flush, so they are not taken along (a replay
		   after a crash would send them a second time) */
		if ((e == NULL || (e->base == BQ_NONE &&
				   (b->journal == NULL || !e->has_incr))) &&
		    (ie == NULL || (ie->base == BQ_NONE && !ie->has_incr)))
			break;
		if ((ret = batch_flush_all(b, err)) != PERSIST_OK) {
			pthread_mutex_unlock(&b->lock);
			return persist_error_prefix(err, (persist_status)ret,
				"cannot increment key \"%s\" in collection \"%s\": the writes "
				"queued before it could not be stored", key, collection);
		}
	}
	bq_key_init(&bk, collection, key);
	if ((ret = check_sum(b, e, &bk, delta, err)) != PERSIST_OK) {
		pthread_mutex_unlock(&b->lock);
		return ret;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		pthread_mutex_unlock(&b->lock);
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	if (e != NULL && e->has_incr)
		sum = bq_take_incr(&b->pending, e);
	k->collection = collection;
	k->key = key;
	k->sum = sum;
	k->next = b->busy;
	b->busy = k;
	pthread_mutex_unlock(&b->lock);

	ret = persist_state_stored_incr(b->sink, collection, key, sum + delta, &value, err);

	pthread_mutex_lock(&b->lock);
	for (kp = &b->busy; *kp != k; kp = &(*kp)->next)
		;
	*kp = k->next;
	free(k);
	if (ret != PERSIST_OK && sum != 0) {
		/* the queued increments go back where they were */
		e = bq_get(&b->pending, collection, key);
		if (e != NULL) {
			int was_empty = b->pending.ops == 0;

			bq_add(&b->pending, e, sum);
			if (was_empty && b->due_ms == 0)
				b->due_ms = batch_now_ms() + b->interval_ms;
		} else {
			persist_log(b->p, PERSIST_LOG_ERROR,
				"state: out of memory: queued increments %+" PRId64 " of key "
				"\"%s\" in collection \"%s\" are lost", sum, key, collection);
		}
	}
	b->done_seq++;
	pthread_cond_broadcast(&b->done);
	pthread_mutex_unlock(&b->lock);
	if (ret == PERSIST_OK && value_r != NULL)
		*value_r = value;
	return ret;
}
