/*
 * plugins/filesystem/fs-batch.c - batch() and flush(): group commit.
 *
 * A batch takes the exclusive locks of every collection it touches (key
 * journals first, then logs, each in name order, so batches of several
 * processes never deadlock), replays what others wrote, checks every
 * operation (an increment of a non-integer fails the whole batch before
 * anything is written), then writes one line per key journal holding all
 * of the batch's operations on that collection ({"b":[...]}: all or
 * nothing, even if the process is killed in the middle of the write), one
 * write() of all records per log, and finally one fdatasync per file
 * touched.  So N operations cost one disk flush instead of N.
 *
 * Before the first write, each file the batch writes is marked in its lock
 * file, and the marks are removed when the batch is whole (fs-marker.c):
 * a batch that fails on the way cuts back what it wrote, and one whose
 * process is killed between two writes is cut back by the next process
 * that takes one of those locks.  So a batch is all or nothing across its
 * files, and a failed one answers a plain error: nothing was applied.
 * Only an fdatasync failing after every write answers PERSIST_EUNCERTAIN.
 *
 * batch_once does the same and records the batch's id as a key (with a
 * TTL of PERSIST_BATCH_ID_KEEP_MS) of the internal journal .batch-ids,
 * locked with the others and written last, after every file of the batch:
 * that line is the batch's commit point.  An id found there (by any
 * process: the journal is replayed under its lock like any collection,
 * and it survives restarts) applies nothing and answers "applied before";
 * a marker whose id is there is left by a batch that was applied whole.
 * Memory: the replica of .batch-ids holds the ids of the last day (its
 * compaction drops expired ones).
 *
 * Sets and deletes are written with their time ("w", fs-times.c): now,
 * or for batch_once_dated the time they were made, and such a batch skips
 * a set or delete whose key has a later time.
 *
 * flush() fdatasyncs every file this store wrote since its last sync.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include <persist/persist.h>
#include "fs-private.h"

struct fs_batch_kv {
	struct fs_kv *kv;
	struct fs_buf buf;
	size_t n_ops;
	off_t pre;            /* the journal's size before the batch */
	int locked, marked;
};

struct fs_batch_log {
	struct fs_log *log;
	struct fs_buf buf;
	off_t pre;            /* the log's size before the batch */
	int locked, marked;
};

/* Check one op's arguments. */
static int fs_batch_check(const struct persist_host *host,
			  const struct persist_op *op, size_t i,
			  struct persist_error *err)
{
	int ret;

	if (op->type != PERSIST_OP_SET && op->type != PERSIST_OP_INCR &&
	    op->type != PERSIST_OP_APPEND && op->type != PERSIST_OP_DELETE)
		return host->error(err, PERSIST_EINVAL, 0,
				   "batch operation %zu has an unknown type %d",
				   i, (int)op->type);
	ret = fs_collection_check(host, op->collection, err);
	if (ret == PERSIST_OK && op->type != PERSIST_OP_APPEND)
		ret = fs_state_key_check(host, op->key, err);
	if (ret != PERSIST_OK)
		return ret;
	if ((op->type == PERSIST_OP_SET || op->type == PERSIST_OP_APPEND) &&
	    ((op->value == NULL && op->len > 0) || op->len > PERSIST_VALUE_MAX))
		return host->error(err, PERSIST_EINVAL, 0,
				   "batch operation %zu (collection \"%s\") has a missing or too large value",
				   i, op->collection);
	if (op->type == PERSIST_OP_SET && op->ttl_ms < 0)
		return host->error(err, PERSIST_EINVAL, 0,
				   "batch operation %zu (collection \"%s\") has a negative TTL",
				   i, op->collection);
	return PERSIST_OK;
}

/* qsort order of collections by name. */
static int fs_kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fs_batch_kv *)a)->kv->name,
		      ((const struct fs_batch_kv *)b)->kv->name);
}

/* qsort order of logs by name. */
static int fs_log_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fs_batch_log *)a)->log->name,
		      ((const struct fs_batch_log *)b)->log->name);
}

/* Index of kv in the batch's list. */
static struct fs_batch_kv *fs_batch_find_kv(struct fs_batch_kv *kvs, size_t n,
					    const struct fs_kv *kv)
{
	for (size_t i = 0; i < n; i++)
		if (kvs[i].kv == kv)
			return &kvs[i];
	return NULL;
}

/* Index of log in the batch's list. */
static struct fs_batch_log *fs_batch_find_log(struct fs_batch_log *logs,
					      size_t n, const struct fs_log *log)
{
	for (size_t i = 0; i < n; i++)
		if (logs[i].log == log)
			return &logs[i];
	return NULL;
}

/* Apply op to its collection's replica and add it to the batch line.
     written_ms  a set's or delete's time, recorded with it (0: none)
     dated       skip a set or delete when its key's time is later; a
                 dated delete of an absent key is written (its time) */
static int fs_batch_kv_op(struct fs_state *st, struct fs_batch_kv *bk,
			  const struct persist_op *op, int64_t written_ms,
			  int dated, struct persist_error *err)
{
	struct fs_entry *cur = pc_map_get(bk->kv->table, op->key);
	struct fs_entry *e = NULL;
	int ret;

	if (op->type == PERSIST_OP_INCR)
		written_ms = 0;
	else if (dated && fs_kv_time(bk->kv, op->key) > written_ms)
		return PERSIST_OK; /* a later write of the key wins */
	if (op->type == PERSIST_OP_DELETE) {
		if (!fs_entry_live(st, cur) && !dated)
			return PERSIST_OK; /* nothing to delete */
	} else {
		e = calloc(1, sizeof(*e));
		if (e == NULL)
			return st->host->error(err, PERSIST_ENOMEM, ENOMEM,
					       "out of memory");
		if (op->type == PERSIST_OP_INCR) {
			ret = fs_counter_add(st, op->collection, op->key, cur,
					     op->delta, &e->num, err);
			if (ret != PERSIST_OK) {
				free(e);
				return ret;
			}
			e->is_counter = 1;
			if (fs_entry_live(st, cur))
				e->expires_ms = cur->expires_ms;
		} else {
			e->data = malloc(op->len + 1);
			if (e->data == NULL) {
				free(e);
				return st->host->error(err, PERSIST_ENOMEM, ENOMEM,
						       "out of memory");
			}
			if (op->len > 0)
				memcpy(e->data, op->value, op->len);
			e->data[op->len] = '\0';
			e->len = op->len;
			if (op->ttl_ms > 0)
				e->expires_ms = persist_expiry_ms(st->host->now_ms(),
							     op->ttl_ms);
		}
	}
	fs_buf_adds(&bk->buf, bk->n_ops == 0 ? "{\"b\":[" : ",");
	fs_kv_encode(&bk->buf, op->key, e, written_ms);
	bk->n_ops++;
	if (fs_kv_apply(bk->kv, op->key, e) < 0 || bk->buf.failed ||
	    (written_ms > 0 && fs_kv_time_set(bk->kv, op->key, written_ms) < 0))
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	return PERSIST_OK;
}

/* Mark every file the batch is about to write (see fs-marker.c). */
static int fs_batch_mark(struct fs_state *st, const char *id,
			 struct fs_batch_kv *kvs, size_t n_kvs, const struct fs_batch_kv *ids,
			 struct fs_batch_log *logs, size_t n_logs,
			 struct persist_error *err)
{
	int ret = PERSIST_OK;

	for (size_t i = 0; i < n_kvs && ret == PERSIST_OK; i++) {
		struct fs_kv *kv = kvs[i].kv;

		if (&kvs[i] == ids || kvs[i].n_ops == 0)
			continue;
		kvs[i].pre = kv->offset;
		ret = fs_marker_set(st, FS_DIR_KV, kv->name, kv->lock_fd, id,
				    kv->dev, kv->ino, kv->offset, err);
		kvs[i].marked = ret == PERSIST_OK;
	}
	for (size_t i = 0; i < n_logs && ret == PERSIST_OK; i++) {
		struct fs_log *log = logs[i].log;

		if (logs[i].buf.len == 0)
			continue;
		logs[i].pre = log->end;
		ret = fs_marker_set(st, FS_DIR_LOG, log->name, log->lock_fd, id,
				    log->dev, log->ino, log->end, err);
		logs[i].marked = ret == PERSIST_OK;
	}
	return ret;
}

/* Remove the batch's markers: after it was applied whole, or undone.  A
   marker that stays is settled by the next holder of its lock. */
static void fs_batch_unmark(struct fs_state *st, struct fs_batch_kv *kvs, size_t n_kvs,
			    struct fs_batch_log *logs, size_t n_logs)
{
	for (size_t i = 0; i < n_kvs; i++) {
		if (kvs[i].marked &&
		    fs_marker_clear(st, FS_DIR_KV, kvs[i].kv->name, kvs[i].kv->lock_fd) == 0)
			kvs[i].marked = 0;
	}
	for (size_t i = 0; i < n_logs; i++) {
		if (logs[i].marked &&
		    fs_marker_clear(st, FS_DIR_LOG, logs[i].log->name, logs[i].log->lock_fd) == 0)
			logs[i].marked = 0;
	}
}

/* A batch failed before its commit point: cut every file it marked back
   to its size before the batch, forget the replicas' changes, and remove
   the markers of the files cut back (a file that cannot be cut keeps its
   marker, and the next holder of its lock cuts it: see fs-marker.c). */
static void fs_batch_undo(struct fs_state *st, struct fs_batch_kv *kvs, size_t n_kvs,
			  struct fs_batch_log *logs, size_t n_logs)
{
	for (size_t i = 0; i < n_kvs; i++) {
		struct fs_kv *kv = kvs[i].kv;

		if (kvs[i].marked) {
			int e = kv->fd < 0 ? EBADF : ftruncate(kv->fd, kvs[i].pre) < 0 ? errno : 0;

			if (e == 0)
				(void)fs_marker_clear(st, FS_DIR_KV, kv->name, kv->lock_fd);
			else
				st->host->log(st->sink, PERSIST_LOG_ERROR,
					      "cannot cut back collection \"%s\" after a failed batch: %s; "
					      "the next writer will", kv->name, strerror(e));
			kvs[i].marked = 0;
		}
		fs_kv_reset(kv);
	}
	for (size_t i = 0; i < n_logs; i++) {
		struct fs_log *log = logs[i].log;
		int e;

		if (!logs[i].marked)
			continue;
		e = log->fd < 0 ? EBADF : ftruncate(log->fd, logs[i].pre) < 0 ? errno : 0;
		if (e == 0) {
			log->end = logs[i].pre;
			(void)fs_marker_clear(st, FS_DIR_LOG, log->name, log->lock_fd);
		} else {
			log->end = -1;
			st->host->log(st->sink, PERSIST_LOG_ERROR,
				      "cannot cut back log \"%s\" after a failed batch: %s; "
				      "the next writer will", log->name, strerror(e));
		}
		logs[i].marked = 0;
	}
}

/* Apply n operations with one write and one fdatasync per file; with an
   id, exactly once (see the top of this file); with written_ms, each set
   or delete only when no later write of its key was recorded (else they
   are dated now). */
static int fs_batch_run(struct fs_state *st, const char *id,
			const struct persist_op *ops, const int64_t *written_ms,
			size_t n, size_t op_size, int *applied_before_r,
			struct persist_error *err)
{
	int64_t now = st->host->now_ms();
	struct fs_batch_kv *kvs = NULL, *ids = NULL;
	struct fs_batch_log *logs = NULL;
	struct json_tokener *tok = NULL;
	size_t n_kvs = 0, n_logs = 0, i;
	int ret = PERSIST_OK;

	if (id != NULL &&
	    (ret = pc_batch_once_check(st->host, id, applied_before_r, err)) != PERSIST_OK)
		return ret;
	ret = pc_batch_check(st->host, ops, n, op_size, fs_batch_check, err);
	if (ret != PERSIST_OK || n == 0)
		return ret;
	kvs = calloc(n + 1, sizeof(*kvs));
	logs = calloc(n, sizeof(*logs));
	if (kvs == NULL || logs == NULL) {
		ret = st->host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
		goto out;
	}
	/* The distinct collections, in lock order. */
	for (i = 0; i < n; i++) {
		const struct persist_op *op = pc_batch_op(ops, i, op_size);

		if (op->type == PERSIST_OP_APPEND) {
			struct fs_log *log;
			ret = fs_state_log(st, op->collection, &log, err);
			if (ret != PERSIST_OK)
				goto out;
			if (fs_batch_find_log(logs, n_logs, log) == NULL) {
				logs[n_logs].log = log;
				fs_buf_init(&logs[n_logs++].buf);
			}
		} else {
			struct fs_kv *kv;
			ret = fs_state_kv(st, op->collection, &kv, err);
			if (ret != PERSIST_OK)
				goto out;
			if (fs_batch_find_kv(kvs, n_kvs, kv) == NULL) {
				kvs[n_kvs].kv = kv;
				fs_buf_init(&kvs[n_kvs++].buf);
			}
		}
	}
	if (id != NULL) {
		struct fs_kv *kv;

		ret = fs_state_kv(st, FS_BATCH_IDS, &kv, err);
		if (ret != PERSIST_OK)
			goto out;
		kvs[n_kvs].kv = kv;
		fs_buf_init(&kvs[n_kvs++].buf);
	}
	qsort(kvs, n_kvs, sizeof(*kvs), fs_kv_cmp);
	qsort(logs, n_logs, sizeof(*logs), fs_log_cmp);
	for (i = 0; i < n_kvs; i++) {
		pthread_mutex_lock(&kvs[i].kv->mu);
		ret = fs_kv_lock(st, kvs[i].kv, 1, err);
		if (ret != PERSIST_OK) {
			pthread_mutex_unlock(&kvs[i].kv->mu);
			goto out;
		}
		kvs[i].locked = 1;
	}
	for (i = 0; i < n_logs; i++) {
		pthread_mutex_lock(&logs[i].log->mu);
		ret = fs_log_lock_append(st, logs[i].log, err);
		if (ret != PERSIST_OK) {
			pthread_mutex_unlock(&logs[i].log->mu);
			goto out;
		}
		logs[i].locked = 1;
	}

	if (id != NULL) {
		struct fs_kv *kv;

		(void)fs_state_kv(st, FS_BATCH_IDS, &kv, err);
		ids = fs_batch_find_kv(kvs, n_kvs, kv);
		if (fs_entry_live(st, pc_map_get(kv->table, id))) {
			/* applied before: by this store or any other */
			*applied_before_r = 1;
			goto out;
		}
	}

	/* Apply in order to the replicas and build the lines. */
	if (n_logs > 0)
		tok = fs_json_tokener();
	for (i = 0; i < n && ret == PERSIST_OK; i++) {
		const struct persist_op *op = pc_batch_op(ops, i, op_size);

		if (op->type == PERSIST_OP_APPEND) {
			struct fs_log *log;
			(void)fs_state_log(st, op->collection, &log, err);
			fs_log_encode(&fs_batch_find_log(logs, n_logs, log)->buf,
				      op->value, op->len, tok);
		} else {
			struct fs_kv *kv;
			(void)fs_state_kv(st, op->collection, &kv, err);
			ret = fs_batch_kv_op(st, fs_batch_find_kv(kvs, n_kvs, kv), op,
					     written_ms != NULL ? written_ms[i] : now,
					     written_ms != NULL, err);
		}
	}
	if (ids != NULL && ret == PERSIST_OK) {
		struct persist_op mark = {
			.type = PERSIST_OP_SET, .collection = FS_BATCH_IDS, .key = id,
			.value = "1", .len = 1, .ttl_ms = PERSIST_BATCH_ID_KEEP_MS,
		};

		ret = fs_batch_kv_op(st, ids, &mark, 0, 0, err);
	}
	for (i = 0; i < n_logs && ret == PERSIST_OK; i++) {
		if (logs[i].buf.failed)
			ret = st->host->error(err, PERSIST_ENOMEM, ENOMEM,
					      "out of memory");
	}
	if (ret != PERSIST_OK) {
		/* Nothing was written: drop the replicas' changes. */
		for (i = 0; i < n_kvs; i++)
			fs_kv_reset(kvs[i].kv);
		goto out;
	}

	/* Mark the files, then one write per file, the batch id's last: the
	   commit point.  A failure before it undoes every part. */
	ret = fs_batch_mark(st, id, kvs, n_kvs, ids, logs, n_logs, err);
	for (i = 0; i < n_logs && ret == PERSIST_OK; i++) {
		if (logs[i].buf.len > 0)
			ret = fs_log_write(st, logs[i].log, logs[i].buf.data,
					   logs[i].buf.len, err);
	}
	for (i = 0; i <= n_kvs && ret == PERSIST_OK; i++) {
		struct fs_batch_kv *bk = i < n_kvs ? &kvs[i] : ids;

		if (bk == NULL || bk->n_ops == 0 || (bk == ids && i < n_kvs))
			continue;
		fs_buf_adds(&bk->buf, "]}\n");
		if (bk->buf.failed)
			ret = st->host->error(err, PERSIST_ENOMEM, ENOMEM,
					      "out of memory");
		else
			ret = fs_kv_write(st, bk->kv, bk->buf.data, bk->buf.len,
					  err);
	}
	if (ret != PERSIST_OK) {
		fs_batch_undo(st, kvs, n_kvs, logs, n_logs);
		goto out;
	}

	/* One fdatasync per file: the group commit. */
	if (st->opts.sync != FS_SYNC_NEVER) {
		for (i = 0; i < n_kvs + n_logs; i++) {
			int fd, *dirty, e;
			const char *name;

			if (i < n_kvs) {
				if (kvs[i].n_ops == 0)
					continue;
				fd = kvs[i].kv->fd;
				dirty = &kvs[i].kv->dirty;
				name = kvs[i].kv->name;
			} else {
				if (logs[i - n_kvs].buf.len == 0)
					continue;
				fd = logs[i - n_kvs].log->fd;
				dirty = &logs[i - n_kvs].log->dirty;
				name = logs[i - n_kvs].log->name;
			}
			e = fs_sync_data(fd, st->opts.sync);
			if (e != 0 && ret == PERSIST_OK)
				ret = st->host->error(err, PERSIST_EUNCERTAIN, e,
						      "cannot fsync collection \"%s\" after a batch: %s",
						      name, strerror(e));
			if (e == 0)
				*dirty = 0;
		}
	}
	fs_batch_unmark(st, kvs, n_kvs, logs, n_logs);
	for (i = 0; i < n_kvs; i++)
		fs_kv_maybe_compact(st, kvs[i].kv);
out:
	if (kvs != NULL) {
		for (i = n_kvs; i-- > 0;) {
			if (kvs[i].locked) {
				fs_kv_unlock(kvs[i].kv);
				pthread_mutex_unlock(&kvs[i].kv->mu);
			}
			fs_buf_free(&kvs[i].buf);
		}
	}
	if (logs != NULL) {
		for (i = n_logs; i-- > 0;) {
			if (logs[i].locked) {
				fs_log_unlock(logs[i].log);
				pthread_mutex_unlock(&logs[i].log->mu);
			}
			fs_buf_free(&logs[i].buf);
		}
	}
	free(kvs);
	free(logs);
	if (tok != NULL)
		json_tokener_free(tok);
	return ret;
}

int fs_state_batch(void *store, const struct persist_op *ops, size_t n,
		   size_t op_size, struct persist_error *err)
{
	return fs_batch_run(store, NULL, ops, NULL, n, op_size, NULL, err);
}

int fs_state_batch_once(void *store, const char *id, const struct persist_op *ops,
			size_t n, size_t op_size, int *applied_before_r,
			struct persist_error *err)
{
	return fs_batch_run(store, id, ops, NULL, n, op_size, applied_before_r, err);
}

int fs_state_batch_once_dated(void *store, const char *id, const struct persist_op *ops,
			      const int64_t *written_ms, size_t n, size_t op_size,
			      int *applied_before_r, struct persist_error *err)
{
	struct fs_state *st = store;

	if (written_ms == NULL && n > 0)
		return st->host->error(err, PERSIST_EINVAL, 0, "batch without its write times");
	return fs_batch_run(store, id, ops, written_ms, n, op_size, applied_before_r, err);
}

struct fs_flush_ctx {
	void **items;
	size_t n, cap;
};

/* Collect a table value. */
static int fs_flush_collect(void *ctx, const char *key, void *value)
{
	struct fs_flush_ctx *fc = ctx;

	(void)key;
	if (fc->n == fc->cap) {
		size_t cap = fc->cap ? fc->cap * 2 : 16;
		void **p = realloc(fc->items, cap * sizeof(*p));
		if (p == NULL)
			return 1;
		fc->items = p;
		fc->cap = cap;
	}
	fc->items[fc->n++] = value;
	return 0;
}

/* fdatasync every file written since its last sync. */
int fs_state_flush(void *store, struct persist_error *err)
{
	struct fs_state *st = store;
	struct fs_flush_ctx kvs, logs;
	int ret = PERSIST_OK, failed;

	memset(&kvs, 0, sizeof(kvs));
	memset(&logs, 0, sizeof(logs));
	pthread_mutex_lock(&st->mu);
	failed = pc_map_each(st->kvs, fs_flush_collect, &kvs) != 0 ||
		 pc_map_each(st->logs, fs_flush_collect, &logs) != 0;
	pthread_mutex_unlock(&st->mu);
	if (failed) {
		free(kvs.items);
		free(logs.items);
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < kvs.n; i++) {
		struct fs_kv *kv = kvs.items[i];
		pthread_mutex_lock(&kv->mu);
		if (kv->dirty && kv->fd >= 0) {
			int e = fs_sync_data(kv->fd, st->opts.sync);
			if (e != 0 && ret == PERSIST_OK)
				ret = st->host->error(err, PERSIST_EIO, e,
						      "cannot fsync journal of collection \"%s\": %s",
						      kv->name, strerror(e));
			if (e == 0)
				kv->dirty = 0;
		}
		pthread_mutex_unlock(&kv->mu);
	}
	for (size_t i = 0; i < logs.n; i++) {
		struct fs_log *log = logs.items[i];
		pthread_mutex_lock(&log->mu);
		if (log->dirty && log->fd >= 0) {
			int e = fs_sync_data(log->fd, st->opts.sync);
			if (e != 0 && ret == PERSIST_OK)
				ret = st->host->error(err, PERSIST_EIO, e,
						      "cannot fsync log \"%s\": %s",
						      log->name, strerror(e));
			if (e == 0)
				log->dirty = 0;
		}
		pthread_mutex_unlock(&log->mu);
	}
	free(kvs.items);
	free(logs.items);
	return ret;
}
