/*
 * core/batch-private.h - what the files of the write queue share: the
 * batcher itself and the helpers of core/batch.c that the writes
 * (core/batch-write.c) and reads (core/batch-read.c) use.  See core/batch.c
 * for how it works.
 */
#ifndef PERSIST_CORE_BATCH_PRIVATE_H
#define PERSIST_CORE_BATCH_PRIVATE_H

#include "batch.h"
#include "batch-queue.h"

/* Defaults of the settings (their ranges are checked in settings.c). */
#define BATCH_DEFAULT_MAX_OPS 10000
#define BATCH_DEFAULT_MAX_BYTES (4 * 1024 * 1024)
/* Backpressure: the queue holds at most this many times the thresholds. */
#define BATCH_LIMIT_FACTOR 16
/* Retry backoff: first delay, doubled per failure up to the cap. */
#define BATCH_RETRY_FIRST_MS 50
#define BATCH_RETRY_CAP_MS 30000
/* Operations named in the report of a close that could not store all. */
#define BATCH_REPORT_OPS 3
#define BATCH_LOG_OPS 10
#define BATCH_LATENCIES 64

/* A synchronous increment in progress: its key and the queued sum it took. */
struct busy_key {
	struct busy_key *next;
	const char *collection, *key;
	int64_t sum;
};

struct persist_batcher {
	persist *p;
	struct persist_sink *sink;
	int64_t interval_ms;
	size_t max_ops, max_bytes, limit_ops, limit_bytes;

	pthread_mutex_t lock;
	pthread_cond_t wake;      /* the flusher thread: work or stop */
	pthread_cond_t done;      /* a flush or synchronous increment ended */
	pthread_t thread;
	int thread_started, stop, kicked;

	struct bq_table pending, inflight;
	/* the batch made of inflight, kept across retries */
	struct persist_op *ops;
	struct bq_entry **owners;
	size_t n_ops, first_op;   /* ops before first_op are stored */
	uint64_t batch_id, batch_seq;
	char once_id[PERSIST_BATCH_ID_MAX]; /* the inflight batch's batch_once id */
	int split;                /* refused as invalid: one op at a time */
	int uncertain;            /* an attempt may have applied it (uncertain or
	                             timed out): retried under its id, never
	                             journaled */
	int sending;              /* a flush is calling the provider */
	unsigned fails;           /* consecutive failed attempts */
	int64_t retry_at_ms, due_ms; /* monotonic; due 0: nothing pending */
	uint64_t done_seq;        /* bumped whenever stored data changed under us */
	struct busy_key *busy;

	/* journalQueued (core/batch-journal.c): NULL when off */
	struct persist_spool *journal;
	struct persist_spool **orphans;  /* left by stopped processes, locked,
	                                    replayed before the next flush */
	size_t n_orphans;
	uint64_t j_end;           /* the inflight batch ends there in the journal */
	int j_marked;             /* ... and the journal's header says so */

	struct persist_batch_stats st;
	int64_t lat[BATCH_LATENCIES];
	unsigned n_lat;
};

/* Monotonic milliseconds, at tick resolution (cheap). */
static inline int64_t batch_now_ms(void)
{
	return persist_monotonic_coarse_us() / 1000;
}

/* The number of operations of the inflight batch still to store. */
static inline size_t batch_inflight_left(const struct persist_batcher *b)
{
	return b->n_ops - b->first_op;
}

/* True when nothing is queued or waiting to be stored again. */
static inline int batch_queue_empty(const struct persist_batcher *b)
{
	return b->pending.ops == 0 && batch_inflight_left(b) == 0;
}

/* core/batch.c, all with the lock held: */
/* The synchronous increment in progress on a key (key NULL: any of the
   collection), or NULL. */
struct busy_key *batch_busy_find(const struct persist_batcher *b,
				 const char *collection, const char *key);
/* True when the running flush stores something of the collection (and of
   key, unless key is NULL; log 1: of the collection's log). */
int batch_sending_touches(const struct persist_batcher *b,
			  const char *collection, const char *key, int log);
/* Wait until neither the running flush nor a synchronous increment
   touches the key (key NULL: the collection; log 1: its log). */
void batch_wait_quiet(struct persist_batcher *b, const char *collection,
		      const char *key, int log);
/* Run one flush attempt (nothing running): the inflight batch again, or
   else a new batch of everything pending.  Releases the lock while the
   provider works. */
int batch_flush_once(struct persist_batcher *b, struct persist_error *err);
/* Flush until everything queued so far is stored or an attempt fails. */
int batch_flush_all(struct persist_batcher *b, struct persist_error *err);
/* After a write was queued: count it, arm the interval timer when the
   queue was empty, wake the flusher when a threshold is passed. */
void batch_queued(struct persist_batcher *b, int was_empty, int coalesced);
/* PERSIST_EUNAVAIL when the queue cannot take add_ops more operations
   and add_bytes more bytes (backpressure). */
int batch_admit(struct persist_batcher *b, size_t add_ops, size_t add_bytes,
		struct persist_error *err);

/* core/batch-journal.c (journalQueued; b->journal set): */
/* Take this queue's journal under dir and replay those left by stopped
   processes. */
int batch_journal_open(struct persist_batcher *b, const char *dir,
		       struct persist_error *err);
/* Replay the journals left by stopped processes that could not be
   replayed at start (lock not held, a flush running). */
int batch_journal_replay_orphans(struct persist_batcher *b, struct persist_error *err);
void batch_journal_close(struct persist_batcher *b);
/* The inflight batch (this journal's piece in progress) was refused as
   invalid: apply the piece's records one at a time as a replay would,
   under the same ids, after the journal's header records that it does so;
   the invalid ones are logged and counted as rejected (lock not held). */
int batch_journal_apply_split(struct persist_batcher *b, struct persist_error *err);
/* Append the records of ops (lock held, before they are queued); the
   token to make them durable with batch_journal_sync. */
int batch_journal_append(struct persist_batcher *b, const struct persist_op *ops,
			 size_t n, uint64_t *token_r, struct persist_error *err);
/* After the lock is released: when ret is PERSIST_OK and token not 0,
   wait until the records are durable (one fdatasync for every caller
   waiting). */
int batch_journal_sync(struct persist_batcher *b, int ret, uint64_t token,
		       struct persist_error *err);
/* The journals' part of the counters (lock not held). */
void batch_journal_stats(struct persist_batcher *b, struct persist_batch_stats *st);

#endif
