/*
 * core/spool.h - the durable journal of state writes made while a kind's
 * primary provider is down (core/spool.c), which core/fallback.c replays
 * to the primary once it is back.
 *
 * One journal per spool directory and kind (<spoolDir>/<kind>.journal),
 * shared by every process that names the same directory.  Records are
 * appended under an exclusive file lock, each with its length, its
 * sequence number (its offset in the file) and a checksum, and made
 * durable (fdatasync, one call for every writer waiting at that moment)
 * before the write is acknowledged.  A header at the start names the
 * journal's generation (a random id, new each time the journal is emptied)
 * and how far it was replayed.
 *
 * The write queue's journals (journalQueued, core/batch-journal.c) are
 * journals of this kind too, <spoolDir>/state.queue.<n>.journal, one per
 * process, each held by its process through the replay lock.
 */
#ifndef PERSIST_CORE_SPOOL_H
#define PERSIST_CORE_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "persist-handle.h"

struct persist_spool;

/* A piece of the journal to replay: its operations in order, the id
   under which the piece is applied once, and the wall time of each
   operation's write. */
struct persist_spool_chunk {
	struct persist_op *ops;
	int64_t *times_ms;   /* when each op was journaled (wall clock) */
	uint64_t *seqs;      /* each op's sequence number */
	size_t n;
	char id[96];         /* "<generation>-<first sequence number>", or
				the id of a group record */
	int group;           /* the piece is one group record */
	int split;           /* the piece is applied one record at a time (it
				was refused as invalid: see the top of spool.c) */
	char *buf;           /* the bytes the ops point into */
	uint64_t end;        /* offset after the piece */
};

/* Open (creating the directory and the file when missing) the journal of
   kind under dir.  Checks the header, and drops a torn record at the end
   (a writer that crashed in the middle of one), saying so in the log. */
int persist_spool_open(persist *p, const char *dir, const char *kind_name,
		       struct persist_spool **spool_r, struct persist_error *err);
void persist_spool_close(struct persist_spool *s);
/* The journal's file name. */
const char *persist_spool_path(const struct persist_spool *s);

/* Serialise appends of this process with the mode switch of fallback.c:
   the mode is checked and changed with this lock held. */
void persist_spool_lock(struct persist_spool *s);
void persist_spool_unlock(struct persist_spool *s);
/* Append ops (checked) as records, lock held; *token_r names the position
   to wait for with persist_spool_sync.  With a group_id (a batch id),
   the ops are one group record, replayed as one piece under that id (see
   the top of spool.c). */
int persist_spool_append_locked(struct persist_spool *s, const char *group_id,
				const struct persist_op *ops, size_t n, int64_t now_ms,
				uint64_t *token_r, struct persist_error *err);
/* Make what was appended up to token durable (lock not held; one
   fdatasync serves every thread waiting). */
int persist_spool_sync(struct persist_spool *s, uint64_t token,
		       struct persist_error *err);

/* Records not yet replayed (by any process), and their bytes. */
int persist_spool_pending(struct persist_spool *s, uint64_t *ops_r,
			  uint64_t *bytes_r, struct persist_error *err);

/* Replay.  Only the process holding the replay lock replays: 1 when it
   was taken (or is already held by this process), 0 when another process
   holds it. */
int persist_spool_replay_lock(struct persist_spool *s);
void persist_spool_replay_unlock(struct persist_spool *s);
/* The next piece to replay (replay lock held): a piece left half done by
   a replayer that stopped is given again as it was; else at most max_ops
   records, recorded in the header as in progress.  n 0: nothing left. */
int persist_spool_next_chunk(struct persist_spool *s, size_t max_ops,
			     struct persist_spool_chunk *chunk_r,
			     struct persist_error *err);
/* The piece is applied: move the replay position past it. */
int persist_spool_chunk_done(struct persist_spool *s,
			     const struct persist_spool_chunk *chunk,
			     struct persist_error *err);
void persist_spool_chunk_free(struct persist_spool_chunk *chunk);
/* Lock held: 1 when everything was replayed, in which case the journal
   is emptied and starts a new generation; 0 when records remain. */
int persist_spool_drained_locked(struct persist_spool *s, struct persist_error *err);

/* Operations per replayed piece. */
#define SPOOL_REPLAY_CHUNK_OPS 2000

/* Replay the journal's sets and deletes with the time each was written
   (persist_state_apply_dated): each is applied only if its key was not
   written later, by any host.  For a fallback's journal.  Not for a write
   queue's journal (journalQueued): its live flushes apply the records at
   flush time, undated, and a replay after a crash must judge the rest the
   same way - dated, a record queued while the flush before it was in
   flight would lose to that flush's later time and be skipped. */
void persist_spool_date_replay(struct persist_spool *s);
/* Apply a piece to sink once (persist_state_apply_once under its id, or
   persist_state_apply_dated when the replay is dated; TTLs shortened by
   the time since each write, an expired set applied as a delete).  A piece refused as invalid (or with c->split set: known to
   be) is applied one operation at a time, each under the piece's id and
   its sequence number, once the journal's header records that it is; the
   invalid ones are logged and counted in *dropped_r.  *before_r: the
   provider had applied the piece already. */
int persist_spool_apply_chunk(struct persist_spool *s, struct persist_sink *sink,
			      struct persist_spool_chunk *c, int *before_r,
			      uint64_t *dropped_r, struct persist_error *err);
/* Replay the whole journal to sink, piece by piece, then empty it - when
   the replay lock can be taken (else nothing is done: its owner is alive
   or another process replays it; a lock this process held already stays
   held).  Adds the operations applied to
   *replayed_r (a piece applied before is not counted). */
int persist_spool_replay_all(struct persist_spool *s, struct persist_sink *sink,
			     uint64_t *replayed_r, uint64_t *dropped_r,
			     struct persist_error *err);

/* A write queue's journal (journalQueued), whose owner holds the replay
   lock for as long as it runs: the end of its records (every record
   appended so far), and the flush of the records up to end - recorded in
   the header as the piece in progress (id_r: its id, the same a replay of
   that piece after a crash uses), then, once the provider acknowledged
   it, marked replayed (the journal is emptied when nothing follows). */
uint64_t persist_spool_end(struct persist_spool *s);
int persist_spool_mark(struct persist_spool *s, uint64_t end, char *id_r,
		       size_t id_size, struct persist_error *err);
int persist_spool_mark_done(struct persist_spool *s, uint64_t end,
			    struct persist_error *err);

#endif
