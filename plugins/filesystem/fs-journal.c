/*
 * plugins/filesystem/fs-journal.c - the key journal of one collection,
 * ROOT/kv/<collection>.jsonl (format: see fs-state.c): taking the lock and
 * replaying what other processes appended, cutting a torn tail, encoding
 * and appending lines, and compaction.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include <persist/persist.h>
#include "fs-private.h"

#define FS_READ_CHUNK (256 * 1024)
#define FS_ENTRY_OVERHEAD 40

/* Free an entry (NULL is a no-op); also the replica table's destructor. */
void fs_entry_free(void *p)
{
	struct fs_entry *e = p;

	if (e == NULL)
		return;
	free(e->data);
	free(e);
}

/* Free a collection (table destructor). */
void fs_kv_free(void *p)
{
	struct fs_kv *kv = p;

	if (kv == NULL)
		return;
	if (kv->fd >= 0)
		close(kv->fd);
	if (kv->lock_fd >= 0)
		close(kv->lock_fd);
	pc_map_free(kv->table);
	pc_map_free(kv->times);
	pthread_mutex_destroy(&kv->mu);
	free(kv->rdbuf);
	free(kv->name);
	free(kv);
}

/* Forget the replica: the next lock replays the journal from the start. */
void fs_kv_reset(struct fs_kv *kv)
{
	if (kv->fd >= 0)
		close(kv->fd);
	kv->fd = -1;
	kv->writable = 0;
	kv->offset = 0;
	kv->live_bytes = 0;
	kv->dirty = 0;
	pc_map_clear(kv->table);
	pc_map_clear(kv->times);
}

/* Rough size of an entry as a journal line. */
static uint64_t fs_entry_size(const char *key, const struct fs_entry *e)
{
	return strlen(key) + (e->is_counter ? 20 : e->len) + FS_ENTRY_OVERHEAD;
}

/* Put entry (NULL: delete) for key in the replica; owns entry. */
int fs_kv_apply(struct fs_kv *kv, const char *key, struct fs_entry *entry)
{
	struct fs_entry *old = pc_map_get(kv->table, key);

	if (old != NULL) {
		uint64_t sz = fs_entry_size(key, old);
		kv->live_bytes = kv->live_bytes > sz ? kv->live_bytes - sz : 0;
	}
	if (entry == NULL) {
		(void)pc_map_del(kv->table, key);
		return 0;
	}
	if (pc_map_put(kv->table, key, entry) < 0) {
		fs_entry_free(entry);
		(void)pc_map_del(kv->table, key);
		return -1;
	}
	kv->live_bytes += fs_entry_size(key, entry);
	return 0;
}

/* Encode key's state as one journal op object, with the time of the
   write when written_ms > 0 (fs-times.c). */
void fs_kv_encode(struct fs_buf *buf, const char *key,
		  const struct fs_entry *e, int64_t written_ms)
{
	fs_buf_adds(buf, "{\"k\":");
	fs_json_add_string(buf, key, strlen(key));
	if (written_ms > 0) {
		fs_buf_adds(buf, ",\"w\":");
		fs_buf_add_i64(buf, written_ms);
	}
	if (e == NULL) {
		fs_buf_adds(buf, ",\"del\":true}");
		return;
	}
	if (e->is_counter) {
		fs_buf_adds(buf, ",\"n\":");
		fs_buf_add_i64(buf, e->num);
	} else if (pc_utf8_valid(e->data, e->len)) {
		fs_buf_adds(buf, ",\"v\":");
		fs_json_add_string(buf, e->data, e->len);
	} else {
		fs_buf_adds(buf, ",\"b64\":\"");
		fs_base64_add(buf, e->data, e->len);
		fs_buf_addc(buf, '"');
	}
	if (e->expires_ms != 0) {
		fs_buf_adds(buf, ",\"exp\":");
		fs_buf_add_i64(buf, e->expires_ms);
	}
	fs_buf_addc(buf, '}');
}

/* One op of a journal line, decoded but not yet applied. */
struct fs_op {
	const char *key;        /* points into the parsed line */
	struct fs_entry *entry; /* new state, NULL: deleted (or expired) */
	int64_t written_ms;     /* "w": when it was written, 0: not dated */
};

/* Decode one op object read from the journal into op_r; -1 when it is
   malformed (nothing allocated then).  An "exp" must be an integer; a
   negative one (what a wrapped now + TTL left on disk) counts as no expiry,
   as in a TTL sidecar, and one past INT64_MAX is read as INT64_MAX: never,
   in practice.  An entry already expired decodes as a deletion. */
static int fs_kv_decode_op(struct fs_state *st, struct json_object *op,
			   struct fs_op *op_r)
{
	struct json_object *k, *v;
	struct fs_entry *e;

	if (!json_object_is_type(op, json_type_object) ||
	    !json_object_object_get_ex(op, "k", &k) ||
	    !json_object_is_type(k, json_type_string))
		return -1;
	op_r->key = json_object_get_string(k);
	op_r->entry = NULL;
	op_r->written_ms = 0;
	if (json_object_object_get_ex(op, "w", &v)) {
		if (!json_object_is_type(v, json_type_int) ||
		    (op_r->written_ms = json_object_get_int64(v)) <= 0)
			return -1;
	}
	if (json_object_object_get_ex(op, "del", &v))
		return json_object_is_type(v, json_type_boolean) &&
		       json_object_get_boolean(v) ? 0 : -1;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -1;
	if (json_object_object_get_ex(op, "n", &v) &&
	    json_object_is_type(v, json_type_int)) {
		e->is_counter = 1;
		e->num = json_object_get_int64(v);
	} else if (json_object_object_get_ex(op, "v", &v) &&
		   json_object_is_type(v, json_type_string)) {
		e->len = (size_t)json_object_get_string_len(v);
		e->data = malloc(e->len + 1);
		if (e->data == NULL) {
			free(e);
			return -1;
		}
		memcpy(e->data, json_object_get_string(v), e->len + 1);
	} else if (json_object_object_get_ex(op, "b64", &v) &&
		   json_object_is_type(v, json_type_string)) {
		if (fs_base64_decode(json_object_get_string(v),
				     (size_t)json_object_get_string_len(v),
				     &e->data, &e->len) < 0) {
			free(e);
			return -1;
		}
	} else {
		free(e);
		return -1;
	}
	if (json_object_object_get_ex(op, "exp", &v)) {
		if (!json_object_is_type(v, json_type_int)) {
			fs_entry_free(e);
			return -1;
		}
		e->expires_ms = json_object_get_int64(v);
		if (e->expires_ms < 0)
			e->expires_ms = 0;
	}
	if (e->expires_ms != 0 && e->expires_ms <= st->host->now_ms())
		fs_entry_free(e); /* expired: the key is gone */
	else
		op_r->entry = e;
	return 0;
}

/* Apply one whole journal line (without its newline).  A batch line is
   applied whole or not at all: every op is decoded first, and one
   malformed op skips the line. */
static void fs_kv_apply_line(struct fs_state *st, struct fs_kv *kv,
			     struct json_tokener *tok, const char *line,
			     size_t len, off_t at)
{
	struct json_object *obj, *b;
	struct fs_op one, *ops = &one;
	size_t n = 0, done = 0;
	int bad = 0;

	json_tokener_reset(tok);
	obj = len > 0 && len < (size_t)INT32_MAX
		      ? json_tokener_parse_ex(tok, line, (int)len) : NULL;
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success) {
		bad = 1;
	} else if (json_object_object_get_ex(obj, "b", &b)) {
		n = json_object_is_type(b, json_type_array)
			    ? json_object_array_length(b) : 0;
		ops = n > 1 ? calloc(n, sizeof(*ops)) : &one;
		bad = n == 0 || ops == NULL;
		for (; !bad && done < n; done++)
			bad = fs_kv_decode_op(st, json_object_array_get_idx(b, done),
					      &ops[done]) < 0;
		if (bad && done > 0)
			done--; /* the op that failed holds nothing */
	} else {
		n = 1;
		bad = fs_kv_decode_op(st, obj, &one) < 0;
		done = bad ? 0 : 1;
	}
	for (size_t i = 0; i < done; i++) {
		if (bad)
			fs_entry_free(ops[i].entry);
		else if (fs_kv_apply(kv, ops[i].key, ops[i].entry) == 0 &&
			 ops[i].written_ms > 0)
			(void)fs_kv_time_set(kv, ops[i].key, ops[i].written_ms);
	}
	if (ops != &one)
		free(ops);
	json_object_put(obj);
	if (bad)
		st->host->log(st->sink, PERSIST_LOG_WARNING,
			      "skipped a malformed line (%zu bytes at offset %lld) in \"%s/%s/%s%s\"",
			      len, (long long)at, st->opts.root, FS_KV_DIR,
			      kv->name, FS_JOURNAL_SUFFIX);
}

/* Replay the journal from kv->offset to size.  A last line without its
   newline is torn: cut off when exclusive, else left alone. */
static int fs_kv_replay(struct fs_state *st, struct fs_kv *kv, off_t size,
			int exclusive, struct persist_error *err)
{
	struct json_tokener *tok;
	off_t rd = kv->offset;  /* next byte to read */
	size_t have = 0;        /* bytes in rdbuf, starting at kv->offset */

	if (size <= kv->offset)
		return PERSIST_OK;
	tok = json_tokener_new();
	if (tok == NULL)
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	while (rd < size) {
		size_t want = (size_t)(size - rd) < FS_READ_CHUNK
				      ? (size_t)(size - rd) : FS_READ_CHUNK;
		size_t start = 0;
		ssize_t n;

		if (have + want > kv->rdcap) {
			size_t cap = kv->rdcap ? kv->rdcap : FS_READ_CHUNK;
			char *p;
			while (cap < have + want)
				cap *= 2;
			p = realloc(kv->rdbuf, cap);
			if (p == NULL) {
				json_tokener_free(tok);
				return st->host->error(err, PERSIST_ENOMEM, ENOMEM,
						       "out of memory");
			}
			kv->rdbuf = p;
			kv->rdcap = cap;
		}
		n = fs_pread_full(kv->fd, kv->rdbuf + have, want, rd);
		if (n < 0) {
			int e = errno;
			json_tokener_free(tok);
			return st->host->error(err, PERSIST_EIO, e,
					       "cannot read journal of collection \"%s\": %s",
					       kv->name, strerror(e));
		}
		if (n == 0)
			break;
		have += (size_t)n;
		rd += n;
		for (;;) {
			char *nl = memchr(kv->rdbuf + start, '\n', have - start);
			size_t len;
			if (nl == NULL)
				break;
			len = (size_t)(nl - (kv->rdbuf + start));
			fs_kv_apply_line(st, kv, tok, kv->rdbuf + start, len,
					 kv->offset);
			kv->offset += (off_t)len + 1;
			start += len + 1;
		}
		memmove(kv->rdbuf, kv->rdbuf + start, have - start);
		have -= start;
	}
	json_tokener_free(tok);
	if (have > 0 && exclusive) {
		if (ftruncate(kv->fd, kv->offset) < 0) {
			int e = errno;
			return st->host->error(err, PERSIST_EIO, e,
					       "cannot cut the torn end of journal of collection \"%s\": %s",
					       kv->name, strerror(e));
		}
		st->host->log(st->sink, PERSIST_LOG_WARNING,
			      "removed a torn line (%zu bytes at offset %lld) left by a killed writer in \"%s/%s/%s%s\"",
			      have, (long long)kv->offset, st->opts.root,
			      FS_KV_DIR, kv->name, FS_JOURNAL_SUFFIX);
	}
	if (kv->rdcap > 4 * FS_READ_CHUNK) {
		free(kv->rdbuf);
		kv->rdbuf = NULL;
		kv->rdcap = 0;
	}
	return PERSIST_OK;
}

/* Open the journal and note its identity: for writing (creating it)
   when create, else as this process may (fs_state_open_file). */
static int fs_kv_open_file(struct fs_state *st, struct fs_kv *kv, int create,
			   struct persist_error *err)
{
	struct stat sb;
	int fd, writable, ret;

	ret = fs_state_open_file(st, FS_DIR_KV, kv->name, create, &fd, &writable,
				 &sb, err);
	if (ret != PERSIST_OK)
		return ret;
	fs_kv_reset(kv);
	kv->fd = fd;
	kv->writable = writable;
	kv->dev = sb.st_dev;
	kv->ino = sb.st_ino;
	return PERSIST_OK;
}

/* Lock the collection and catch up with the journal (see fs-private.h).
   A writer needs the journal open for writing; a reader reads it however
   it may, and a collection never written (no directory, no journal) is
   empty. */
int fs_kv_lock(struct fs_state *st, struct fs_kv *kv, int exclusive,
	       struct persist_error *err)
{
	char name[PERSIST_COLLECTION_MAX + 16];
	struct stat sb;
	int e, ret, dirfd;

	ret = fs_state_flock(st, "kv", kv->name, exclusive, &kv->lock_fd, err);
	if (ret != PERSIST_OK)
		return ret;
	ret = fs_marker_settle(st, FS_DIR_KV, kv->name, kv->lock_fd, exclusive, err);
	if (ret != PERSIST_OK)
		goto fail;
	snprintf(name, sizeof(name), "%s%s", kv->name, FS_JOURNAL_SUFFIX);
	dirfd = fs_state_dir(st, FS_DIR_KV, 0);
	if (dirfd < 0 || fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
		e = errno;
		if (e != ENOENT) {
			ret = st->host->error(err, PERSIST_EIO, e,
					      "cannot stat journal \"%s/%s/%s\": %s",
					      st->opts.root, FS_KV_DIR, name,
					      strerror(e));
			goto fail;
		}
		/* No journal (yet, or removed by hand): empty collection. */
		if (kv->fd >= 0)
			fs_kv_reset(kv);
		if (!exclusive)
			return PERSIST_OK;
		ret = fs_kv_open_file(st, kv, 1, err);
		if (ret != PERSIST_OK)
			goto fail;
		return PERSIST_OK;
	}
	if (kv->fd < 0 || sb.st_ino != kv->ino || sb.st_dev != kv->dev ||
	    sb.st_size < kv->offset || (exclusive && !kv->writable)) {
		/* first use, compacted by another process, truncated, or
		   read so far without write access */
		ret = fs_kv_open_file(st, kv, exclusive, err);
		if (ret == PERSIST_ENOTFOUND) {
			fs_kv_reset(kv); /* removed meanwhile: empty */
			return PERSIST_OK;
		}
		if (ret != PERSIST_OK)
			goto fail;
	}
	ret = fs_kv_replay(st, kv, sb.st_size, exclusive, err);
	if (ret != PERSIST_OK) {
		fs_kv_reset(kv);
		goto fail;
	}
	return PERSIST_OK;
fail:
	(void)fs_flock(kv->lock_fd, LOCK_UN);
	return ret;
}

/* See fs-private.h: replay the journal into a replica of its own. */
int fs_kv_peek(struct fs_state *st, const char *collection, const char *key,
	       int *found_r, struct persist_error *err)
{
	struct fs_kv *kv = fs_kv_new(collection);
	struct stat sb;
	int fd, writable, ret;

	*found_r = 0;
	if (kv == NULL)
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	ret = fs_state_open_file(st, FS_DIR_KV, collection, 0, &fd, &writable,
				 &sb, err);
	if (ret == PERSIST_ENOTFOUND)
		ret = PERSIST_OK; /* no journal: not there */
	else if (ret == PERSIST_OK) {
		kv->fd = fd;
		ret = fs_kv_replay(st, kv, sb.st_size, 0, err);
		if (ret == PERSIST_OK)
			*found_r = pc_map_get(kv->table, key) != NULL;
	}
	fs_kv_free(kv);
	return ret;
}

/* Release the collection's lock. */
void fs_kv_unlock(struct fs_kv *kv)
{
	(void)fs_flock(kv->lock_fd, LOCK_UN);
}

/* Append lines (ending with '\n') under the exclusive lock. */
int fs_kv_write(struct fs_state *st, struct fs_kv *kv, const char *line,
		size_t len, struct persist_error *err)
{
	int e = fs_write_all(kv->fd, line, len);

	if (e != 0) {
		/* cut back what a partial write left, keep the old state */
		if (ftruncate(kv->fd, kv->offset) < 0)
			fs_kv_reset(kv);
		return st->host->error(err, PERSIST_EIO, e,
				       "cannot write to journal \"%s/%s/%s%s\": %s",
				       st->opts.root, FS_KV_DIR, kv->name,
				       FS_JOURNAL_SUFFIX, strerror(e));
	}
	kv->offset += (off_t)len;
	kv->dirty = 1;
	return PERSIST_OK;
}

struct fs_compact_ctx {
	struct fs_state *st;
	struct fs_kv *kv;
	struct fs_buf buf;
	int64_t now;
};

/* Add one live entry to the compacted journal. */
static int fs_compact_one(void *ctx, const char *key, void *value)
{
	struct fs_compact_ctx *cc = ctx;
	struct fs_entry *e = value;

	if (e->expires_ms != 0 && e->expires_ms <= cc->now)
		return 0;
	fs_kv_encode(&cc->buf, key, e, fs_kv_time(cc->kv, key));
	fs_buf_addc(&cc->buf, '\n');
	return cc->buf.failed ? 1 : 0;
}

/* Add the time of a key that is gone (deleted or expired) as a delete
   line, while it must be kept. */
static int fs_compact_gone(void *ctx, const char *key, void *value)
{
	struct fs_compact_ctx *cc = ctx;
	int64_t ms = *(const int64_t *)value;

	if (fs_entry_live(cc->st, pc_map_get(cc->kv->table, key)) ||
	    ms < cc->now - PERSIST_BATCH_ID_KEEP_MS)
		return 0;
	fs_kv_encode(&cc->buf, key, NULL, ms);
	fs_buf_addc(&cc->buf, '\n');
	return cc->buf.failed ? 1 : 0;
}

/* Rewrite the journal with only the live entries when it has grown well
   past them (exclusive lock held).  Failures leave the journal as it was. */
void fs_kv_maybe_compact(struct fs_state *st, struct fs_kv *kv)
{
	char name[PERSIST_COLLECTION_MAX + 16], tmp[PERSIST_COLLECTION_MAX + 32];
	struct fs_compact_ctx cc;
	int fd, e = 0, dirfd;

	if ((uint64_t)kv->offset < st->compact_min ||
	    (uint64_t)kv->offset < 4 * (kv->live_bytes + fs_kv_times_bytes(kv)) + 65536 ||
	    (dirfd = fs_state_dir(st, FS_DIR_KV, 0)) < 0)
		return;
	snprintf(name, sizeof(name), "%s%s", kv->name, FS_JOURNAL_SUFFIX);
	snprintf(tmp, sizeof(tmp), ".%s%s.compact", kv->name, FS_JOURNAL_SUFFIX);
	memset(&cc, 0, sizeof(cc));
	cc.st = st;
	cc.kv = kv;
	cc.now = st->host->now_ms();
	fs_buf_init(&cc.buf);
	if (pc_map_each(kv->table, fs_compact_one, &cc) == 0)
		(void)pc_map_each(kv->times, fs_compact_gone, &cc);
	if (cc.buf.failed) {
		fs_buf_free(&cc.buf);
		return;
	}
	fd = openat(dirfd, tmp,
		    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666);
	if (fd < 0)
		e = errno;
	if (e == 0)
		e = fs_write_all(fd, cc.buf.data, cc.buf.len);
	if (e == 0 && st->opts.sync != FS_SYNC_NEVER && fsync(fd) < 0)
		e = errno;
	if (fd >= 0)
		close(fd);
	if (e == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		e = errno;
	if (e != 0) {
		(void)unlinkat(dirfd, tmp, 0);
		st->host->log(st->sink, PERSIST_LOG_WARNING,
			      "cannot compact journal of collection \"%s\": %s",
			      kv->name, strerror(e));
		fs_buf_free(&cc.buf);
		return;
	}
	(void)fs_sync_dir(dirfd, st->opts.sync);
	st->host->log(st->sink, PERSIST_LOG_DEBUG,
		      "compacted journal of collection \"%s\" from %lld to %zu bytes",
		      kv->name, (long long)kv->offset, cc.buf.len);
	fs_buf_free(&cc.buf);
	/* Re-read the compacted file: the replica then matches it exactly. */
	{
		struct persist_error err;
		struct stat sb;

		if (fs_kv_open_file(st, kv, 0, &err) != PERSIST_OK ||
		    fstat(kv->fd, &sb) < 0 ||
		    fs_kv_replay(st, kv, sb.st_size, 1, &err) != PERSIST_OK)
			fs_kv_reset(kv);
	}
}
