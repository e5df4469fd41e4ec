/*
 * core/batch.c - write-behind batching of one handle's state writes.
 *
 * Writes go into `pending` (a struct bq_table, which coalesces them).  A
 * flush moves the whole of pending into `inflight`, turns it into one array
 * of provider operations with an identity (a random 64-bit batch id and a
 * sequence number) and hands it to the provider as one batch with the lock
 * released.  On success inflight is emptied; on failure it stays as it is,
 * ahead of pending, and the same batch (same id, same sequence number) is
 * sent again after an exponential backoff, before anything queued later.
 * The provider gets the batch through its batch_once method when it has
 * one, named "<instance>:<batch id>:<sequence>", so that a retry of a
 * batch whose first attempt did land (the answer was lost: a timeout, a
 * dropped connection, PERSIST_EUNCERTAIN) applies nothing and says so
 * (applied before): each flush is stored exactly once.
 * A batch the provider refuses as invalid is applied one operation at a
 * time so that one bad operation (an increment of a key holding text) is
 * reported and dropped without holding back the others; with journalQueued
 * it is the journal's piece that is applied record by record, as a replay
 * after a crash would go on (core/spool.c).
 *
 * With a fallback (core/fallback.c), a batch is not kept when the primary
 * is down: one it answered unavailable for (nothing applied), or any batch
 * while it is marked down, goes to the journal and the fallback, so the
 * queue never refuses writes because of an outage.  A batch whose outcome
 * is uncertain stays, and is sent to the primary again under its id.
 *
 * With journalQueued (core/batch-journal.c) every queued write is in the
 * queue's journal, durably, before it is acknowledged; a flush records in
 * the journal where its batch ends, is sent under the id of that piece of
 * the journal instead of a random one, and moves the journal past it once
 * the provider acknowledged it.
 *
 * Only one flush runs at a time (`sending`); it runs on the batcher's own
 * thread (interval, thresholds, backoff) or in the thread of a caller of
 * persist_state_flush.  Writers never wait for it; they are refused with
 * PERSIST_EUNAVAIL when queue and inflight together reach the backpressure
 * limit.
 *
 * Reads combine the provider's answer with the queue.  So that no queued
 * write is counted twice or missed, a read of a key that the running flush
 * is storing waits for that flush, and a read during which any flush (or a
 * synchronous increment of the key) finished is done again.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "batch-private.h"
#include "fallback.h"
#include "spool.h"

static void *flusher_main(void *arg);

struct busy_key *batch_busy_find(const struct persist_batcher *b,
				 const char *collection, const char *key)
{
	for (struct busy_key *k = b->busy; k != NULL; k = k->next)
		if ((key == NULL || strcmp(k->key, key) == 0) &&
		    strcmp(k->collection, collection) == 0)
			return k;
	return NULL;
}

int batch_sending_touches(const struct persist_batcher *b,
			  const char *collection, const char *key, int log)
{
	if (!b->sending)
		return 0;
	if (key != NULL || log)
		return bq_find(&b->inflight, collection, key) != NULL;
	for (const struct bq_entry *e = b->inflight.first; e != NULL; e = e->next)
		if (strcmp(e->collection, collection) == 0)
			return 1;
	return 0;
}

void batch_wait_quiet(struct persist_batcher *b, const char *collection,
		      const char *key, int log)
{
	while (batch_sending_touches(b, collection, key, log) ||
	       (!log && batch_busy_find(b, collection, key) != NULL))
		pthread_cond_wait(&b->done, &b->lock);
}

void batch_queued(struct persist_batcher *b, int was_empty, int coalesced)
{
	b->st.ops_queued++;
	if (coalesced)
		b->st.ops_coalesced++;
	if (was_empty && b->due_ms == 0)
		b->due_ms = batch_now_ms() + b->interval_ms;
	if (!b->kicked && (b->pending.ops >= b->max_ops || b->pending.bytes >= b->max_bytes)) {
		b->kicked = 1;
		pthread_cond_signal(&b->wake);
	}
}

int batch_admit(struct persist_batcher *b, size_t add_ops, size_t add_bytes,
		struct persist_error *err)
{
	size_t ops = b->pending.ops + b->inflight.ops;
	size_t bytes = b->pending.bytes + b->inflight.bytes;
	const char *limit;
	size_t have, max;

	if (add_ops == 0 && add_bytes == 0)
		return PERSIST_OK;
	if (ops + add_ops <= b->limit_ops && bytes + add_bytes <= b->limit_bytes)
		return PERSIST_OK;
	if (ops + add_ops > b->limit_ops) {
		limit = "operations (16 x batchMaxOps)";
		have = ops;
		max = b->limit_ops;
	} else {
		limit = "bytes (16 x batchMaxBytes)";
		have = bytes;
		max = b->limit_bytes;
	}
	if (b->fails > 0)
		return persist_error_set(err, PERSIST_EUNAVAIL, 0,
			"state write queue is full: %zu of %zu %s\n"
			"Provider \"%s\" is unavailable: the last %u flushes failed (%s); "
			"writes are refused until it recovers.",
			have, max, limit, b->sink->provider, b->fails, b->st.last_error_msg);
	return persist_error_set(err, PERSIST_EUNAVAIL, 0,
		"state write queue is full: %zu of %zu %s\n"
		"Provider \"%s\" stores the flushes more slowly than writes arrive.",
		have, max, limit, b->sink->provider);
}

/* A new random batch id (never 0). */
static uint64_t new_batch_id(const struct persist_batcher *b)
{
	uint64_t id = 0;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id))
		id = (uint64_t)persist_monotonic_us() * 0x9e3779b97f4a7c15ull ^
		     (uint64_t)(uintptr_t)b ^ b->batch_seq;
	return id != 0 ? id : 1;
}

/* The batch_once id of the inflight batch: the handle's instance id
   (characters outside the id alphabet become '_', at most 48 of them),
   the batch's random id and its sequence number. */
static void make_once_id(struct persist_batcher *b)
{
	const char *inst = b->p->instance_id != NULL ? b->p->instance_id : "";
	char part[49];
	size_t i;

	for (i = 0; inst[i] != '\0' && i < sizeof(part) - 1; i++) {
		char c = inst[i];

		part[i] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ?
			  c : '_';
	}
	part[i] = '\0';
	snprintf(b->once_id, sizeof(b->once_id), "%s%s%016" PRIx64 ":%" PRIu64,
		 part, i > 0 ? ":" : "", b->batch_id, b->batch_seq);
}

/* Make inflight (empty) a batch of everything pending. */
static int take_pending(struct persist_batcher *b, struct persist_error *err)
{
	size_t n = b->pending.ops;
	struct persist_op *ops = malloc(n * sizeof(*ops));
	struct bq_entry **owners = malloc(n * sizeof(*owners));

	if (ops == NULL || owners == NULL) {
		free(ops);
		free(owners);
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	bq_clear(&b->inflight);
	b->inflight = b->pending;
	if (b->inflight.first == NULL)
		b->inflight.last = &b->inflight.first;
	bq_init(&b->pending);
	free(b->ops);
	free(b->owners);
	b->ops = ops;
	b->owners = owners;
	b->n_ops = bq_build_ops(&b->inflight, ops, owners, persist_now_ms());
	b->first_op = 0;
	b->split = 0;
	b->uncertain = 0;
	b->batch_seq++;
	b->batch_id = new_batch_id(b);
	make_once_id(b);
	if (b->journal != NULL) {
		/* every record so far is of a write now in inflight */
		b->j_end = persist_spool_end(b->journal);
		b->j_marked = 0;
	}
	b->due_ms = 0;
	b->kicked = 0;
	return PERSIST_OK;
}

/* Forget the stored inflight batch. */
static void drop_inflight(struct persist_batcher *b)
{
	bq_clear(&b->inflight);
	free(b->ops);
	free(b->owners);
	b->ops = NULL;
	b->owners = NULL;
	b->n_ops = b->first_op = 0;
	b->uncertain = 0;
}

/* Describe one operation for a message: "incr usage/k +3". */
static void describe_op(const struct persist_op *op, char *buf, size_t size)
{
	switch (op->type) {
	case PERSIST_OP_SET:
		snprintf(buf, size, "set %s/%s (%zu bytes)", op->collection, op->key, op->len);
		break;
	case PERSIST_OP_INCR:
		snprintf(buf, size, "incr %s/%s %+" PRId64, op->collection, op->key, op->delta);
		break;
	case PERSIST_OP_APPEND:
		snprintf(buf, size, "append %s (%zu bytes)", op->collection, op->len);
		break;
	default:
		snprintf(buf, size, "delete %s/%s", op->collection, op->key);
		break;
	}
}

/* Apply the inflight batch one operation at a time (lock not held): an
   operation refused as invalid is logged and dropped.  Stops at the first
   other failure. */
static int apply_split(struct persist_batcher *b, struct persist_error *err)
{
	while (b->first_op < b->n_ops) {
		const struct persist_op *op = &b->ops[b->first_op];
		struct persist_error one;
		int ret;

		char id[PERSIST_BATCH_ID_MAX + 24];
		int before = 0;

		persist_error_clear(&one);
		/* each operation is a batch of its own, named after the batch
		   and its position, so its retries are exactly-once too */
		snprintf(id, sizeof(id), "%s.%zu", b->once_id, b->first_op);
		if (strlen(id) < PERSIST_BATCH_ID_MAX)
			ret = persist_state_apply_once(b->sink, id, op, 1, &before, &one);
		else
			ret = persist_state_apply_one(b->sink, op, &one);
		if (ret != PERSIST_OK && ret != PERSIST_EINVAL) {
			if (err != NULL)
				*err = one;
			return ret;
		}
		if (ret == PERSIST_EINVAL) {
			char what[PERSIST_KEY_MAX + PERSIST_COLLECTION_MAX + 64];

			describe_op(op, what, sizeof(what));
			persist_log(b->p, PERSIST_LOG_ERROR,
				"state: queued write dropped: %s was refused by provider \"%s\": %s",
				what, b->sink->provider, one.msg);
		}
		pthread_mutex_lock(&b->lock);
		if (ret == PERSIST_EINVAL)
			b->st.ops_rejected++;
		bq_consume(&b->inflight, b->owners[b->first_op], op->type);
		b->first_op++;
		pthread_mutex_unlock(&b->lock);
	}
	return PERSIST_OK;
}

/* Before the inflight batch is sent (lock not held): replay what stopped
   processes left, then record in the journal where the batch ends and
   take the id of that piece, under which a replay after a crash would
   send the same writes. */
static int journal_flush_begin(struct persist_batcher *b, struct persist_error *err)
{
	char id[PERSIST_BATCH_ID_MAX];
	int ret;

	if (b->n_orphans > 0 && (ret = batch_journal_replay_orphans(b, err)) != PERSIST_OK)
		return ret;
	if (b->j_marked)
		return PERSIST_OK;
	if ((ret = persist_spool_mark(b->journal, b->j_end, id, sizeof(id), err)) != PERSIST_OK)
		return ret;
	pthread_mutex_lock(&b->lock);
	memcpy(b->once_id, id, sizeof(b->once_id));
	b->j_marked = 1;
	pthread_mutex_unlock(&b->lock);
	return PERSIST_OK;
}

/* The provider acknowledged the inflight batch (lock not held): its
   records are done; the journal is emptied when nothing follows them. */
static void journal_flush_done(struct persist_batcher *b)
{
	struct persist_error err;

	persist_error_clear(&err);
	if (persist_spool_mark_done(b->journal, b->j_end, &err) != PERSIST_OK)
		/* a replay after a crash sends the piece again under its id,
		   which the provider skips: nothing is doubled */
		persist_log(b->p, PERSIST_LOG_ERROR,
			"state: flush stored, but journal \"%s\" could not be told so: %s",
			persist_spool_path(b->journal), err.msg);
}

/* Record a successful flush's duration. */
static void note_latency(struct persist_batcher *b, int64_t us)
{
	b->lat[b->n_lat++ % BATCH_LATENCIES] = us;
	b->st.last_flush_us = us;
	if (us > b->st.max_flush_us)
		b->st.max_flush_us = us;
}

/* Whether the inflight batch may move to the fallback's journal: not when
   part of it may have landed - after an uncertain answer, or (journalQueued)
   once its piece is applied record by record, whose records carry ids of
   their own.  Such a batch waits for the primary. */
static int movable(const struct persist_batcher *b)
{
	return !b->uncertain && !(b->split && b->journal != NULL);
}

int batch_flush_once(struct persist_batcher *b, struct persist_error *err)
{
	struct persist_failover *fo = b->p->failover[PERSIST_KIND_STATE];
	char logmsg[PERSIST_ERROR_MSG_MAX + 256] = "";
	struct persist_error one;
	int64_t start;
	size_t n;
	int ret, before = 0;

	if (batch_inflight_left(b) == 0) {
		if (b->pending.ops == 0)
			return PERSIST_OK;
		if ((ret = take_pending(b, err)) != PERSIST_OK)
			return ret;
	}
	b->sending = 1;
	b->st.last_batch_id = b->batch_id;
	b->st.last_batch_seq = b->batch_seq;
	n = batch_inflight_left(b);
	pthread_mutex_unlock(&b->lock);

	persist_error_clear(&one);
	start = persist_monotonic_us();
	if (b->journal != NULL && (ret = journal_flush_begin(b, &one)) != PERSIST_OK)
		goto sent;
	ret = PERSIST_FAILOVER_USE_PRIMARY;
	if (fo != NULL && movable(b) && persist_failover_active(fo))
		ret = persist_failover_write(fo, b->once_id, b->ops + b->first_op, n, NULL, &one);
	if (ret != PERSIST_FAILOVER_USE_PRIMARY)
		goto sent;
	if (!b->split) {
		ret = persist_state_apply_once(b->sink, b->once_id, b->ops + b->first_op, n,
					       &before, &one);
		if (ret == PERSIST_EINVAL && n > 1) {
			persist_log(b->p, PERSIST_LOG_WARNING,
				"state: provider \"%s\" refused batch %016" PRIx64 " (%zu operations) "
				"as invalid (%s); applying its operations one at a time",
				b->sink->provider, b->batch_id, n, one.msg);
			b->split = 1;
		}
		if (ret == PERSIST_EINVAL && b->journal != NULL)
			b->split = 1;   /* the journal's piece goes record by record */
	}
	if (b->split || ret == PERSIST_EINVAL)   /* EINVAL: one op, dropped and logged */
		ret = b->journal != NULL ? batch_journal_apply_split(b, &one) :
			apply_split(b, &one);
	if (fo != NULL && persist_failover_outage(ret))
		persist_failover_down(fo, ret, &one);
	if (fo != NULL && ret == PERSIST_EUNAVAIL && movable(b)) {
		/* nothing of it applied: to the journal */
		struct persist_error jerr;
		int r;

		persist_error_clear(&jerr);
		r = persist_failover_write(fo, b->once_id, b->ops + b->first_op, b->n_ops - b->first_op,
					   NULL, &jerr);
		if (r != PERSIST_FAILOVER_USE_PRIMARY) {
			ret = r;
			one = jerr;
		}
	}
	if (b->journal != NULL && ret == PERSIST_OK)
		journal_flush_done(b);
sent:
	pthread_mutex_lock(&b->lock);
	b->sending = 0;
	if (ret == PERSIST_OK) {
		note_latency(b, persist_monotonic_us() - start);
		b->st.ops_flushed += n;
		b->st.flushes++;
		b->st.last_error = PERSIST_OK;
		b->st.last_error_msg[0] = '\0';
		b->fails = 0;
		if (b->uncertain && b->st.exactly_once) {
			b->st.uncertain_settled++;
			if (before)
				b->st.uncertain_landed++;
		}
		b->uncertain = 0;
		drop_inflight(b);
	} else {
		int64_t delay = BATCH_RETRY_FIRST_MS;
		int64_t cap = b->interval_ms > 1000 ? b->interval_ms : 1000;

		if (cap > BATCH_RETRY_CAP_MS)
			cap = BATCH_RETRY_CAP_MS;
		for (unsigned i = 0; i < b->fails && delay < cap; i++)
			delay *= 2;
		if (delay > cap)
			delay = cap;
		b->fails++;
		b->retry_at_ms = batch_now_ms() + delay;
		b->st.flush_failures++;
		if (ret == PERSIST_EUNCERTAIN)
			b->st.flush_uncertain++;
		if (ret == PERSIST_EUNCERTAIN || ret == PERSIST_ETIMEDOUT) {
			if (!b->uncertain)
				b->st.batches_uncertain++;
			b->uncertain = 1;
		}
		b->st.last_error = (persist_status)ret;
		snprintf(b->st.last_error_msg, sizeof(b->st.last_error_msg), "%s", one.msg);
		snprintf(logmsg, sizeof(logmsg),
			"state: flush of batch %016" PRIx64 " (sequence %" PRIu64 ", %zu operations) "
			"to provider \"%s\" failed (%s%s): %s; kept, retrying in %lld ms",
			b->batch_id, b->batch_seq, batch_inflight_left(b), b->sink->provider,
			persist_strerror(ret),
			ret == PERSIST_EUNCERTAIN ? ", it may have been applied" : "",
			one.msg, (long long)delay);
		if (err != NULL)
			*err = one;
	}
	b->done_seq++;
	pthread_cond_broadcast(&b->done);
	if (logmsg[0] != '\0') {
		/* not under the lock: the log callback may call the API */
		pthread_mutex_unlock(&b->lock);
		persist_log(b->p, PERSIST_LOG_WARNING, "%s", logmsg);
		pthread_mutex_lock(&b->lock);
	}
	return ret;
}

int batch_flush_all(struct persist_batcher *b, struct persist_error *err)
{
	int ret = PERSIST_OK;

	/* an inflight batch to send again, then what is pending */
	for (int round = 0; round < 2 && ret == PERSIST_OK; round++) {
		while (b->sending)
			pthread_cond_wait(&b->done, &b->lock);
		if (batch_queue_empty(b))
			break;
		ret = batch_flush_once(b, err);
	}
	return ret;
}

int persist_batch_flush(struct persist_batcher *b, struct persist_error *err)
{
	int ret;

	pthread_mutex_lock(&b->lock);
	ret = batch_flush_all(b, err);
	pthread_mutex_unlock(&b->lock);
	return ret;
}

/* The flusher thread: flush on the interval, on the thresholds, and retry
   failed batches after their backoff. */
static void *flusher_main(void *arg)
{
	struct persist_batcher *b = arg;

	pthread_mutex_lock(&b->lock);
	while (!b->stop) {
		int64_t now = batch_now_ms(), deadline = now + b->interval_ms;
		struct timespec ts;

		if (!b->sending) {
			if (batch_inflight_left(b) > 0) {
				if (now >= b->retry_at_ms) {
					(void)batch_flush_once(b, NULL);
					continue;
				}
				deadline = b->retry_at_ms;
			} else if (b->pending.ops > 0) {
				if (now >= b->due_ms || b->pending.ops >= b->max_ops ||
				    b->pending.bytes >= b->max_bytes) {
					(void)batch_flush_once(b, NULL);
					continue;
				}
				deadline = b->due_ms;
			}
		}
		/* the coarse clock may lag the precise one by a tick */
		deadline += 1;
		ts.tv_sec = deadline / 1000;
		ts.tv_nsec = (deadline % 1000) * 1000000;
		pthread_cond_timedwait(&b->wake, &b->lock, &ts);
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

/* The report of what close could not store: err, and the message for
   the log to logmsg. */
static int report_unstored(struct persist_batcher *b, int ret, struct persist_error *err,
			   char *logmsg, size_t logsize)
{
	size_t n_pending = b->pending.ops, n = batch_inflight_left(b) + n_pending;
	struct persist_op *ops = malloc((n_pending > 0 ? n_pending : 1) * sizeof(*ops));
	char list[PERSIST_ERROR_MSG_MAX], logbuf[4096], what[PERSIST_KEY_MAX + 192];
	size_t used = 0, logused = 0, shown = 0;
	const char *last = b->st.last_error_msg[0] != '\0' ? b->st.last_error_msg : persist_strerror(ret);

	if (ops != NULL)
		n_pending = bq_build_ops(&b->pending, ops, NULL, persist_now_ms());
	else
		n_pending = 0;
	list[0] = logbuf[0] = '\0';
	for (size_t i = 0; i < batch_inflight_left(b) + n_pending && shown < BATCH_LOG_OPS; i++, shown++) {
		const struct persist_op *op = i < batch_inflight_left(b) ?
			&b->ops[b->first_op + i] : &ops[i - batch_inflight_left(b)];

		describe_op(op, what, sizeof(what));
		if (shown < BATCH_REPORT_OPS && used < sizeof(list))
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
						 shown > 0 ? "; " : "", what);
		if (logused < sizeof(logbuf))
			logused += (size_t)snprintf(logbuf + logused, sizeof(logbuf) - logused,
						    "%s%s", shown > 0 ? "; " : "", what);
	}
	free(ops);
	if (b->journal != NULL) {
		snprintf(logmsg, logsize,
			"state: closing with %zu queued writes not stored in provider \"%s\" "
			"(last error: %s); they stay in journal \"%s\" and are replayed by "
			"the next open: %s%s", n, b->sink->provider, last,
			persist_spool_path(b->journal), logbuf, n > shown ? "; ..." : "");
		return persist_error_set(err, ret != PERSIST_OK ? (persist_status)ret : PERSIST_EIO, 0,
			"%zu queued state writes could not be stored in provider \"%s\"\n"
			"They stay in journal \"%s\" and are replayed by the next open.  "
			"The first: %s%s.  Last error: %s", n, b->sink->provider,
			persist_spool_path(b->journal), list, n > BATCH_REPORT_OPS ? "; ..." : "", last);
	}
	snprintf(logmsg, logsize,
		"state: closing with %zu queued writes not stored in provider \"%s\" "
		"(last error: %s); they are lost: %s%s",
		n, b->sink->provider, last, logbuf, n > shown ? "; ..." : "");
	return persist_error_set(err, ret != PERSIST_OK ? (persist_status)ret : PERSIST_EIO, 0,
		"%zu queued state writes could not be stored in provider \"%s\"\n"
		"The first: %s%s.  Last error: %s",
		n, b->sink->provider, list, n > BATCH_REPORT_OPS ? "; ..." : "", last);
}

int persist_batcher_stop(struct persist_batcher *b, struct persist_error *err)
{
	char logmsg[4608] = "";
	int ret = PERSIST_OK;

	if (b == NULL)
		return PERSIST_OK;
	pthread_mutex_lock(&b->lock);
	b->stop = 1;
	pthread_cond_signal(&b->wake);
	pthread_mutex_unlock(&b->lock);
	if (b->thread_started)
		pthread_join(b->thread, NULL);
	pthread_mutex_lock(&b->lock);
	ret = batch_flush_all(b, err);
	if (ret == PERSIST_OK && !batch_queue_empty(b))
		ret = batch_flush_all(b, err);
	if (!batch_queue_empty(b))
		ret = report_unstored(b, ret, err, logmsg, sizeof(logmsg));
	pthread_mutex_unlock(&b->lock);
	if (logmsg[0] != '\0')
		persist_log(b->p, PERSIST_LOG_ERROR, "%s", logmsg);
	drop_inflight(b);
	bq_clear(&b->pending);
	batch_journal_close(b);
	while (b->busy != NULL) {   /* none: every caller returned before close */
		struct busy_key *k = b->busy;
		b->busy = k->next;
		free(k);
	}
	pthread_cond_destroy(&b->wake);
	pthread_cond_destroy(&b->done);
	pthread_mutex_destroy(&b->lock);
	free(b);
	return ret;
}

/* Compare two int64_t for qsort. */
static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

void persist_batch_stats_get(struct persist_batcher *b,
			     struct persist_batch_stats *stats_r)
{
	struct persist_batch_stats st;
	int64_t lat[BATCH_LATENCIES];
	size_t size = stats_r->size < sizeof(st) ? stats_r->size : sizeof(st);
	unsigned n;

	memset(&st, 0, sizeof(st));
	if (b != NULL) {
		pthread_mutex_lock(&b->lock);
		st = b->st;
		st.queue_depth = b->pending.ops + batch_inflight_left(b);
		st.queue_bytes = b->pending.bytes + b->inflight.bytes;
		st.uncertain_left = st.batches_uncertain - st.uncertain_settled;
		n = b->n_lat < BATCH_LATENCIES ? b->n_lat : BATCH_LATENCIES;
		memcpy(lat, b->lat, n * sizeof(*lat));
		pthread_mutex_unlock(&b->lock);
		if (n > 0) {
			qsort(lat, n, sizeof(*lat), cmp_i64);
			st.median_flush_us = lat[n / 2];
		}
		if (b->journal != NULL) {
			pthread_mutex_lock(&b->lock);
			st.journal_orphans = b->n_orphans;
			pthread_mutex_unlock(&b->lock);
			batch_journal_stats(b, &st);
		}
	}
	st.size = stats_r->size;
	memcpy(stats_r, &st, size);
}

/* --- settings ------------------------------------------------------------ */

int persist_batcher_start(persist *p, struct persist_sink *sink,
			  struct persist_batcher **b_r, struct persist_error *err)
{
	const struct persist_provider_settings *ps = &p->settings->kinds[PERSIST_KIND_STATE];
	struct persist_batcher *b;
	pthread_condattr_t attr;
	int64_t max_ops = ps->batch_max_ops < 0 ? BATCH_DEFAULT_MAX_OPS : ps->batch_max_ops;
	int64_t max_bytes = ps->batch_max_bytes < 0 ? BATCH_DEFAULT_MAX_BYTES : ps->batch_max_bytes;
	int ret;

	*b_r = NULL;
	if (ps->journal_queued && ps->spool_dir == NULL)
		return persist_error_set(err, PERSIST_ECONFIG, 0,
			"persistence.state.config.journalQueued needs spoolDir\n"
			"The queued writes are journaled in a directory on local disk; "
			"name it with spoolDir (an absolute path).");
	if (ps->journal_queued && ps->spool_dir[0] != '/')
		return persist_error_set(err, PERSIST_ECONFIG, 0,
			"persistence.state.config.spoolDir must be an absolute path, not \"%s\"",
			ps->spool_dir);
	if (ps->batch_interval_ms <= 0) {
		if (ps->batch_max_ops >= 0 || ps->batch_max_bytes >= 0)
			persist_log(p, PERSIST_LOG_INFO,
				"state: batchMaxOps and batchMaxBytes have no effect without "
				"a batchInterval above 0; state writes are not queued");
		if (ps->journal_queued)
			persist_log(p, PERSIST_LOG_WARNING,
				"state: journalQueued has no effect without a batchInterval "
				"above 0: writes are not queued, each is stored before its "
				"call returns");
		return PERSIST_OK;
	}
	/* the ranges were checked when the settings were read (settings.c) */
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	b->p = p;
	b->sink = sink;
	b->interval_ms = ps->batch_interval_ms;
	b->max_ops = (size_t)max_ops;
	b->max_bytes = (size_t)max_bytes;
	b->limit_ops = b->max_ops * BATCH_LIMIT_FACTOR;
	b->limit_bytes = b->max_bytes * BATCH_LIMIT_FACTOR;
	bq_init(&b->pending);
	bq_init(&b->inflight);
	pthread_mutex_init(&b->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&b->wake, &attr);
	pthread_cond_init(&b->done, &attr);
	pthread_condattr_destroy(&attr);
	b->st.enabled = 1;
	b->st.interval_ms = b->interval_ms;
	b->st.max_ops = max_ops;
	b->st.max_bytes = max_bytes;
	b->st.queue_limit_ops = b->limit_ops;
	b->st.queue_limit_bytes = b->limit_bytes;
	b->st.exactly_once = PERSIST_OPS_HAS(sink, struct persist_state_ops, batch_once);
	b->st.journal_queued = ps->journal_queued;
	if (ps->journal_queued &&
	    (ret = batch_journal_open(b, ps->spool_dir, err)) != PERSIST_OK) {
		persist_batcher_stop(b, NULL);
		return ret;
	}
	if ((ret = pthread_create(&b->thread, NULL, flusher_main, b)) != 0) {
		persist_batcher_stop(b, NULL);
		return persist_error_set(err, PERSIST_ENOMEM, ret,
			"cannot start the state write queue's flusher thread: %s", strerror(ret));
	}
	b->thread_started = 1;
	persist_log(p, PERSIST_LOG_DEBUG,
		"state: writes are queued and flushed every %lld ms or at %zu "
		"operations or %zu bytes", (long long)b->interval_ms, b->max_ops, b->max_bytes);
	*b_r = b;
	return PERSIST_OK;
}
