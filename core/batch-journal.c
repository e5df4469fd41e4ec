/*
 * core/batch-journal.c - journalQueued: the write queue's own journal, so
 * that a host crash loses no write the queue acknowledged.
 *
 * Every write the queue takes is first appended to a journal under
 * spoolDir (core/spool.c: its record format, file lock and group
 * fdatasync) and made durable before the call returns.  A flush records
 * in the journal's header where it ends (the piece in progress) and sends
 * its batch under the id of that piece, "<generation>-<offset>", through
 * the exactly-once path; once the provider acknowledged it, the piece is
 * marked replayed and the journal emptied when nothing follows.  A process
 * that crashed leaves its journal behind: the next one replays it piece by
 * piece under the same ids, so a batch that had landed is skipped.
 *
 * Each batcher owns one journal, <spoolDir>/state.queue.<n>.journal with
 * the smallest n it can take: it holds the journal's replay lock (an
 * flock, released by the kernel when the process dies) for as long as it
 * runs.  A journal whose lock can be taken belongs to no live process; at
 * start every such journal is replayed (two processes starting at once
 * cannot both take one).  One that cannot be replayed then (the provider
 * is down) is kept locked and replayed before the next flush.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch-private.h"
#include "spool.h"

/* The kind name of journal slot n (the file is <dir>/<name>.journal). */
static void slot_name(unsigned n, char *buf, size_t size)
{
	snprintf(buf, size, "state.queue.%u", n);
}

/* True when slot n's journal file exists under dir. */
static int slot_exists(const char *dir, unsigned n)
{
	char name[64], path[4096];

	slot_name(n, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s.journal", dir, name);
	return access(path, F_OK) == 0;
}

/* Keep a journal that could not be replayed yet (lock still held). */
static int keep_orphan(struct persist_batcher *b, struct persist_spool *s,
		       struct persist_error *err)
{
	struct persist_spool **n = realloc(b->orphans, (b->n_orphans + 1) * sizeof(*n));

	if (n == NULL) {
		persist_spool_close(s);
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	b->orphans = n;
	b->orphans[b->n_orphans++] = s;
	return PERSIST_OK;
}

/* Replay one journal this process holds; logs what was done. */
static int replay_one(struct persist_batcher *b, struct persist_spool *s,
		      struct persist_error *err)
{
	uint64_t replayed = 0, dropped = 0;
	int ret = persist_spool_replay_all(s, b->sink, &replayed, &dropped, err);

	pthread_mutex_lock(&b->lock);
	b->st.journal_replayed += replayed;
	pthread_mutex_unlock(&b->lock);
	if (replayed > 0 || dropped > 0)
		persist_log(b->p, PERSIST_LOG_WARNING,
			"state: journal \"%s\" was left by a process that stopped with "
			"writes queued; %" PRIu64 " of them replayed to \"%s\"%s",
			persist_spool_path(s), replayed, b->sink->provider,
			dropped > 0 ? " (some refused as invalid and dropped, logged)" : "");
	return ret;
}

int batch_journal_open(struct persist_batcher *b, const char *dir,
		       struct persist_error *err)
{
	char name[64];
	int ret;

	for (unsigned n = 0; b->journal == NULL || slot_exists(dir, n); n++) {
		struct persist_spool *s;
		struct persist_error one;

		slot_name(n, name, sizeof(name));
		if ((ret = persist_spool_open(b->p, dir, name, &s, err)) != PERSIST_OK)
			return persist_error_prefix(err, (persist_status)ret,
				"cannot open the journal of queued writes (journalQueued)");
		if (!persist_spool_replay_lock(s)) {
			persist_spool_close(s);   /* a live process's queue */
			continue;
		}
		persist_error_clear(&one);
		if ((ret = replay_one(b, s, &one)) != PERSIST_OK) {
			persist_log(b->p, PERSIST_LOG_WARNING,
				"state: %s; kept, replayed before the next flush", one.msg);
			if ((ret = keep_orphan(b, s, err)) != PERSIST_OK)
				return ret;
		} else if (b->journal == NULL) {
			b->journal = s;   /* empty now: this queue's own */
		} else {
			persist_spool_close(s);
		}
	}
	persist_log(b->p, PERSIST_LOG_DEBUG, "state: queued writes are journaled in \"%s\"",
		    persist_spool_path(b->journal));
	return PERSIST_OK;
}

int batch_journal_replay_orphans(struct persist_batcher *b, struct persist_error *err)
{
	while (b->n_orphans > 0) {
		struct persist_spool *s = b->orphans[0];
		int ret;

		if ((ret = replay_one(b, s, err)) != PERSIST_OK)
			return ret;
		persist_spool_close(s);
		/* the list is only changed here, by the one flush running;
		   the counters read its length under the lock */
		pthread_mutex_lock(&b->lock);
		memmove(b->orphans, b->orphans + 1, (b->n_orphans - 1) * sizeof(*b->orphans));
		b->n_orphans--;
		pthread_mutex_unlock(&b->lock);
	}
	return PERSIST_OK;
}

int batch_journal_apply_split(struct persist_batcher *b, struct persist_error *err)
{
	struct persist_spool_chunk c;
	uint64_t dropped = 0;
	int before = 0, ret;

	if ((ret = persist_spool_next_chunk(b->journal, SIZE_MAX, &c, err)) != PERSIST_OK)
		return ret;
	if (c.n == 0 || c.end != b->j_end || strcmp(c.id, b->once_id) != 0) {
		ret = persist_error_set(err, PERSIST_ECORRUPT, 0,
			"journal \"%s\": the piece in progress (%s, up to %" PRIu64 ") is not "
			"the batch being flushed (%s, up to %" PRIu64 ")\nNothing more was sent.",
			persist_spool_path(b->journal), c.n > 0 ? c.id : "none", c.end,
			b->once_id, b->j_end);
		persist_spool_chunk_free(&c);
		return ret;
	}
	c.split = 1;   /* the provider refused the batch as invalid */
	ret = persist_spool_apply_chunk(b->journal, b->sink, &c, &before, &dropped, err);
	pthread_mutex_lock(&b->lock);
	b->st.ops_rejected += dropped;
	pthread_mutex_unlock(&b->lock);
	persist_spool_chunk_free(&c);
	return ret;
}

void batch_journal_close(struct persist_batcher *b)
{
	for (size_t i = 0; i < b->n_orphans; i++)
		persist_spool_close(b->orphans[i]);
	free(b->orphans);
	b->orphans = NULL;
	b->n_orphans = 0;
	persist_spool_close(b->journal);
	b->journal = NULL;
}

int batch_journal_append(struct persist_batcher *b, const struct persist_op *ops,
			 size_t n, uint64_t *token_r, struct persist_error *err)
{
	int ret;

	persist_spool_lock(b->journal);
	ret = persist_spool_append_locked(b->journal, NULL, ops, n, persist_now_ms(), token_r, err);
	persist_spool_unlock(b->journal);
	if (ret != PERSIST_OK)
		return persist_error_prefix(err, (persist_status)ret,
			"write not queued: it could not be journaled (journalQueued)");
	return PERSIST_OK;
}

int batch_journal_sync(struct persist_batcher *b, int ret, uint64_t token,
		       struct persist_error *err)
{
	if (ret != PERSIST_OK || token == 0)
		return ret;
	if ((ret = persist_spool_sync(b->journal, token, err)) != PERSIST_OK)
		/* queued and written, not known to be durable */
		return persist_error_prefix(err, PERSIST_EUNCERTAIN,
			"write queued, but its journal record could not be made durable; "
			"it is stored by the next flush unless this process stops first");
	return PERSIST_OK;
}

void batch_journal_stats(struct persist_batcher *b, struct persist_batch_stats *st)
{
	const char *dir = b->p->settings->kinds[PERSIST_KIND_STATE].spool_dir;
	char name[64];

	snprintf(st->journal_path, sizeof(st->journal_path), "%s",
		 persist_spool_path(b->journal));
	/* every queue's journal in the directory: this one, those of other
	   processes, those left by stopped ones */
	for (unsigned n = 0; slot_exists(dir, n); n++) {
		struct persist_spool *s;
		struct persist_error err;
		uint64_t ops = 0, bytes = 0;
		int ret;

		persist_error_clear(&err);
		slot_name(n, name, sizeof(name));
		ret = persist_spool_open(b->p, dir, name, &s, &err);
		if (ret == PERSIST_OK) {
			ret = persist_spool_pending(s, &ops, &bytes, &err);
			persist_spool_close(s);
		}
		if (ret != PERSIST_OK) {
			snprintf(st->journal_error, sizeof(st->journal_error), "%s", err.msg);
			continue;
		}
		st->journal_records += ops;
		st->journal_bytes += bytes;
		st->journal_files += ops > 0;
	}
}
