/*
 * core/batch.h - write-behind batching of state writes: the queue of one
 * handle's state store and the thread that flushes it (core/batch.c), and
 * the provider calls of core/state-api.c it uses, which bypass the queue.
 *
 * The state API checks its arguments, then hands a call to the batcher
 * when the handle has one (batchInterval > 0); every function here expects
 * checked arguments.
 */
#ifndef PERSIST_CORE_BATCH_H
#define PERSIST_CORE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "persist-handle.h"

struct persist_batcher;

/* Start batching for the state store when its settings ask for it
   (*b_r stays NULL otherwise); PERSIST_ECONFIG naming the key for a
   setting out of range. */
int persist_batcher_start(persist *p, struct persist_sink *sink,
			  struct persist_batcher **b_r, struct persist_error *err);
/* Stop the thread, flush what is queued, report what could not be stored
   (count and the first operations, in err and the log), free. */
int persist_batcher_stop(struct persist_batcher *b, struct persist_error *err);

/* Queued writes. */
int persist_batch_set(struct persist_batcher *b, const char *collection,
		      const char *key, const void *value, size_t len,
		      int64_t ttl_ms, struct persist_error *err);
int persist_batch_delete(struct persist_batcher *b, const char *collection,
			 const char *key, struct persist_error *err);
int persist_batch_add(struct persist_batcher *b, const char *collection,
		      const char *key, int64_t delta, struct persist_error *err);
int persist_batch_append(struct persist_batcher *b, const char *collection,
			 const void *record, size_t len, struct persist_error *err);
int persist_batch_ops(struct persist_batcher *b, const struct persist_op *ops,
		      size_t n, struct persist_error *err);
/* Synchronous increment carrying the key's queued increments. */
int persist_batch_incr(struct persist_batcher *b, const char *collection,
		       const char *key, int64_t delta, int64_t *value_r,
		       struct persist_error *err);
/* Reads: what is stored, with this process's queued writes applied. */
int persist_batch_get(struct persist_batcher *b, const char *collection,
		      const char *key, char **value_r, size_t *len_r,
		      struct persist_error *err);
int persist_batch_scan(struct persist_batcher *b, const char *collection,
		       const char *prefix, struct persist_entry **entries_r,
		       size_t *n_r, struct persist_error *err);
int persist_batch_read_log(struct persist_batcher *b, const char *collection,
			   uint64_t from, size_t max,
			   struct persist_entry **records_r, size_t *n_r,
			   struct persist_error *err);
/* Store everything queued before the call. */
int persist_batch_flush(struct persist_batcher *b, struct persist_error *err);
/* Counters (b NULL: batching off, all zero). */
void persist_batch_stats_get(struct persist_batcher *b,
			     struct persist_batch_stats *stats_r);

/* core/state-api.c: the provider's methods without the queue. */
int persist_state_stored_get(struct persist_sink *sink, const char *collection,
			     const char *key, char **value_r, size_t *len_r,
			     struct persist_error *err);
int persist_state_stored_scan(struct persist_sink *sink, const char *collection,
			      const char *prefix, struct persist_entry **entries_r,
			      size_t *n_r, struct persist_error *err);
int persist_state_stored_read_log(struct persist_sink *sink, const char *collection,
				  uint64_t from, size_t max,
				  struct persist_entry **records_r, size_t *n_r,
				  struct persist_error *err);
int persist_state_stored_incr(struct persist_sink *sink, const char *collection,
			      const char *key, int64_t delta, int64_t *value_r,
			      struct persist_error *err);
int persist_state_apply_one(struct persist_sink *sink, const struct persist_op *op,
			    struct persist_error *err);
int persist_state_apply(struct persist_sink *sink, const struct persist_op *ops,
			size_t n, struct persist_error *err);
int persist_state_apply_once(struct persist_sink *sink, const char *id,
			     const struct persist_op *ops, size_t n,
			     int *applied_before_r, struct persist_error *err);
int persist_state_apply_dated(struct persist_sink *sink, const char *id,
			      const struct persist_op *ops, const int64_t *written_ms,
			      size_t n, int *applied_before_r, struct persist_error *err);

#endif
