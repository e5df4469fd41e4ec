/*
 * plugins/filesystem/fs-log.c - append-only logs, one JSON Lines file per
 * collection: ROOT/logs/<collection>.jsonl (encoding: see fs-state.c).
 *
 * An append takes the exclusive flock of ROOT/.locks/log.<collection>, makes
 * sure the file ends with a whole record (a writer killed inside write()
 * leaves a last line without its newline: it is cut off and reported in
 * the log), and writes the record and its newline with one write() on an
 * O_APPEND descriptor, so records of several processes never interleave.
 *
 * read_log takes the shared lock just long enough to find the end of the
 * last whole record (a torn last line is skipped and reported, never
 * returned), then reads without it: the bytes before that point never
 * change.  Record numbers are line numbers; every FS_LOG_INDEX_STEP-th
 * record's offset is remembered so reading from a far record number does
 * not rescan the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <persist/persist.h>
#include "fs-private.h"

#define FS_B64_PREFIX "{\"persist:b64\":\""
#define FS_B64_PREFIX_LEN (sizeof(FS_B64_PREFIX) - 1)
#define FS_LOG_CHUNK (256 * 1024)

/* Free a log handle (table destructor). */
void fs_log_free(void *p)
{
	struct fs_log *log = p;

	if (log == NULL)
		return;
	if (log->fd >= 0)
		close(log->fd);
	if (log->lock_fd >= 0)
		close(log->lock_fd);
	pthread_mutex_destroy(&log->mu);
	free(log->index);
	free(log->name);
	free(log);
}

/* Forget the open file and its index. */
static void fs_log_reset(struct fs_log *log)
{
	if (log->fd >= 0)
		close(log->fd);
	log->fd = -1;
	log->writable = 0;
	log->end = -1;
	log->n_index = 0;
	log->dirty = 0;
}

/* Encode one record as a line (see fs-state.c). */
void fs_log_encode(struct fs_buf *buf, const void *data, size_t len,
		   struct json_tokener *tok)
{
	char why[8];

	if (len > 0 && memchr(data, '\n', len) == NULL &&
	    !(len >= FS_B64_PREFIX_LEN - 1 &&
	      memcmp(data, FS_B64_PREFIX, FS_B64_PREFIX_LEN - 1) == 0) &&
	    fs_json_parse_tok(tok, data, len, 1, NULL, why, sizeof(why)) == 0) {
		fs_buf_add(buf, data, len);
	} else {
		fs_buf_adds(buf, FS_B64_PREFIX);
		fs_base64_add(buf, data, len);
		fs_buf_adds(buf, "\"}");
	}
	fs_buf_addc(buf, '\n');
}

/* Lock the log and (re)open its file if it was replaced or removed, or
   (for a writer) if it was opened without write access; fd stays -1 when
   there is no file and !exclusive. */
static int fs_log_lock(struct fs_state *st, struct fs_log *log, int exclusive,
		       struct persist_error *err)
{
	char name[PERSIST_COLLECTION_MAX + 16];
	struct stat sb;
	int e, ret, dirfd, fd, writable;

	ret = fs_state_flock(st, "log", log->name, exclusive, &log->lock_fd, err);
	if (ret != PERSIST_OK)
		return ret;
	snprintf(name, sizeof(name), "%s%s", log->name, FS_JOURNAL_SUFFIX);
	dirfd = fs_state_dir(st, FS_DIR_LOG, 0);
	if (dirfd < 0 || fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
		e = errno;
		if (e != ENOENT) {
			ret = st->host->error(err, PERSIST_EIO, e,
					      "cannot stat log \"%s/%s/%s\": %s",
					      st->opts.root, FS_LOG_DIR, name,
					      strerror(e));
			goto fail;
		}
		if (log->fd >= 0)
			fs_log_reset(log);
		if (!exclusive)
			return PERSIST_OK;
	} else if (log->fd >= 0 && sb.st_ino == log->ino &&
		   sb.st_dev == log->dev && (log->writable || !exclusive)) {
		return PERSIST_OK;
	}
	fs_log_reset(log);
	ret = fs_state_open_file(st, FS_DIR_LOG, log->name, exclusive, &fd,
				 &writable, &sb, err);
	if (ret == PERSIST_ENOTFOUND)
		return PERSIST_OK; /* removed meanwhile: empty */
	if (ret != PERSIST_OK)
		goto fail;
	log->fd = fd;
	log->writable = writable;
	log->dev = sb.st_dev;
	log->ino = sb.st_ino;
	return PERSIST_OK;
fail:
	(void)fs_flock(log->lock_fd, LOCK_UN);
	return ret;
}

/* Release the log's lock. */
void fs_log_unlock(struct fs_log *log)
{
	(void)fs_flock(log->lock_fd, LOCK_UN);
}

/* Offset just after the last newline before size (0 if none); -1 on a
   read error. */
static off_t fs_log_whole_end(int fd, off_t size)
{
	char buf[4096];
	off_t pos = size;

	while (pos > 0) {
		size_t n = pos < (off_t)sizeof(buf) ? (size_t)pos : sizeof(buf);
		ssize_t got = fs_pread_full(fd, buf, n, pos - (off_t)n);

		if (got != (ssize_t)n)
			return -1;
		for (size_t i = n; i > 0; i--) {
			if (buf[i - 1] == '\n')
				return pos - (off_t)n + (off_t)i;
		}
		pos -= (off_t)n;
	}
	return 0;
}

/* Lock for appending and cut a torn tail (see the top of this file). */
int fs_log_lock_append(struct fs_state *st, struct fs_log *log,
		       struct persist_error *err)
{
	struct stat sb;
	off_t whole;
	int ret, e;

	ret = fs_log_lock(st, log, 1, err);
	if (ret != PERSIST_OK)
		return ret;
	if (fstat(log->fd, &sb) < 0) {
		e = errno;
		goto fail;
	}
	if (sb.st_size == log->end)
		return PERSIST_OK;
	whole = fs_log_whole_end(log->fd, sb.st_size);
	if (whole < 0) {
		e = errno;
		goto fail;
	}
	if (whole < sb.st_size) {
		if (ftruncate(log->fd, whole) < 0) {
			e = errno;
			goto fail;
		}
		st->host->log(st->sink, PERSIST_LOG_WARNING,
			      "removed a torn record (%lld bytes at offset %lld) left by a killed writer in \"%s/%s/%s%s\"",
			      (long long)(sb.st_size - whole), (long long)whole,
			      st->opts.root, FS_LOG_DIR, log->name,
			      FS_JOURNAL_SUFFIX);
	}
	log->end = whole;
	return PERSIST_OK;
fail:
	fs_log_unlock(log);
	return st->host->error(err, PERSIST_EIO, e,
			       "cannot prepare log \"%s\" for appending: %s",
			       log->name, strerror(e));
}

/* Append encoded lines (exclusive lock held). */
int fs_log_write(struct fs_state *st, struct fs_log *log, const char *lines,
		 size_t len, struct persist_error *err)
{
	int e = fs_write_all(log->fd, lines, len);

	if (e != 0) {
		if (ftruncate(log->fd, log->end) < 0)
			log->end = -1;
		return st->host->error(err, PERSIST_EIO, e,
				       "cannot append to log \"%s/%s/%s%s\": %s",
				       st->opts.root, FS_LOG_DIR, log->name,
				       FS_JOURNAL_SUFFIX, strerror(e));
	}
	log->end += (off_t)len;
	log->dirty = 1;
	return PERSIST_OK;
}

/* Append one record. */
int fs_state_append(void *store, const char *collection, const void *data,
		    size_t len, struct persist_error *err)
{
	struct fs_state *st = store;
	struct fs_log *log;
	struct fs_buf buf;
	int ret, e;

	ret = fs_collection_check(st->host, collection, err);
	if (ret != PERSIST_OK)
		return ret;
	if ((data == NULL && len > 0) || len > PERSIST_VALUE_MAX)
		return st->host->error(err, PERSIST_EINVAL, 0,
				       "invalid record for log \"%s\"\nThe record is missing or too large.",
				       collection);
	ret = fs_state_log(st, collection, &log, err);
	if (ret != PERSIST_OK)
		return ret;
	fs_buf_init(&buf);
	fs_log_encode(&buf, data, len, NULL);
	if (buf.failed) {
		fs_buf_free(&buf);
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	pthread_mutex_lock(&log->mu);
	ret = fs_log_lock_append(st, log, err);
	if (ret == PERSIST_OK) {
		ret = fs_log_write(st, log, buf.data, buf.len, err);
		if (ret == PERSIST_OK && st->opts.sync == FS_SYNC_ALWAYS) {
			e = fs_sync_data(log->fd, st->opts.sync);
			if (e != 0)
				ret = st->host->error(err, PERSIST_EUNCERTAIN, e,
						      "cannot fsync log \"%s\": %s\nThe record was written but may not be on disk.",
						      collection, strerror(e));
			else
				log->dirty = 0;
		}
		fs_log_unlock(log);
	}
	pthread_mutex_unlock(&log->mu);
	fs_buf_free(&buf);
	return ret;
}

/* Emit one line as a record, decoding the base64 form. */
static int fs_log_emit(const char *line, size_t len, uint64_t no,
		       persist_emit_fn *emit, void *ctx, int *stop_r)
{
	struct persist_item item;
	char *dec = NULL;
	size_t dlen;

	memset(&item, 0, sizeof(item));
	item.size = sizeof(item);
	item.index = no;
	item.value = line;
	item.len = len;
	if (len >= FS_B64_PREFIX_LEN + 2 &&
	    memcmp(line, FS_B64_PREFIX, FS_B64_PREFIX_LEN) == 0 &&
	    memcmp(line + len - 2, "\"}", 2) == 0) {
		if (fs_base64_decode(line + FS_B64_PREFIX_LEN,
				     len - FS_B64_PREFIX_LEN - 2, &dec, &dlen) < 0)
			return -1;
		item.value = dec;
		item.len = dlen;
	}
	*stop_r = emit(ctx, &item) != 0;
	free(dec);
	return 0;
}

/* Remember the offset of record no when it starts an index step. */
static void fs_log_index_note(struct fs_log *log, uint64_t no, off_t off)
{
	if (no % FS_LOG_INDEX_STEP != 0 || no / FS_LOG_INDEX_STEP != log->n_index)
		return;
	if (log->n_index == log->cap_index) {
		size_t cap = log->cap_index ? log->cap_index * 2 : 64;
		off_t *p = realloc(log->index, cap * sizeof(*p));
		if (p == NULL)
			return;
		log->index = p;
		log->cap_index = cap;
	}
	log->index[log->n_index++] = off;
}

/* Emit records from number `from` on, at most max (0: no limit). */
int fs_state_read_log(void *store, const char *collection, uint64_t from,
		      size_t max, persist_emit_fn *emit, void *ctx,
		      struct persist_error *err)
{
	struct fs_state *st = store;
	struct fs_log *log;
	struct stat sb;
	off_t limit, pos;
	uint64_t no;
	size_t emitted = 0, have = 0;
	char *buf = NULL;
	size_t cap = 0;
	int ret, stop = 0;

	ret = fs_collection_check(st->host, collection, err);
	if (ret != PERSIST_OK)
		return ret;
	if (emit == NULL)
		return st->host->error(err, PERSIST_EINVAL, 0,
				       "read of log \"%s\" without a callback",
				       collection);
	ret = fs_state_log(st, collection, &log, err);
	if (ret != PERSIST_OK)
		return ret;
	pthread_mutex_lock(&log->mu);
	ret = fs_log_lock(st, log, 0, err);
	if (ret != PERSIST_OK)
		goto out;
	if (log->fd < 0) {
		fs_log_unlock(log);
		goto out; /* no log yet: empty */
	}
	if (fstat(log->fd, &sb) < 0 ||
	    (limit = fs_log_whole_end(log->fd, sb.st_size)) < 0) {
		int e = errno;
		fs_log_unlock(log);
		ret = st->host->error(err, PERSIST_EIO, e,
				      "cannot read log \"%s\": %s", collection,
				      strerror(e));
		goto out;
	}
	fs_log_unlock(log);
	if (limit < sb.st_size)
		st->host->log(st->sink, PERSIST_LOG_WARNING,
			      "skipped a torn last record (%lld bytes at offset %lld) in \"%s/%s/%s%s\"",
			      (long long)(sb.st_size - limit), (long long)limit,
			      st->opts.root, FS_LOG_DIR, collection,
			      FS_JOURNAL_SUFFIX);
	if (log->n_index > 0 && log->index[log->n_index - 1] > limit)
		log->n_index = 0; /* the file was cut by hand: rebuild */
	if (log->n_index == 0)
		fs_log_index_note(log, 0, 0);
	if (log->n_index == 0) {
		pos = 0;
		no = 0;
	} else {
		size_t i = (size_t)(from / FS_LOG_INDEX_STEP);
		if (i >= log->n_index)
			i = log->n_index - 1;
		pos = log->index[i];
		no = (uint64_t)i * FS_LOG_INDEX_STEP;
	}
	/* Read whole lines from pos to limit. */
	while (pos < limit && !stop) {
		size_t want = (size_t)(limit - pos) - have;
		size_t start = 0;
		ssize_t n;

		if (want > FS_LOG_CHUNK)
			want = FS_LOG_CHUNK;
		if (have + want > cap) {
			size_t ncap = cap ? cap : FS_LOG_CHUNK;
			char *p;
			while (ncap < have + want)
				ncap *= 2;
			p = realloc(buf, ncap);
			if (p == NULL) {
				ret = st->host->error(err, PERSIST_ENOMEM, ENOMEM,
						      "out of memory");
				goto out;
			}
			buf = p;
			cap = ncap;
		}
		n = fs_pread_full(log->fd, buf + have, want, pos + (off_t)have);
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			ret = st->host->error(err, PERSIST_EIO, e,
					      "cannot read log \"%s\": %s",
					      collection, strerror(e));
			goto out;
		}
		have += (size_t)n;
		while (!stop) {
			char *nl = memchr(buf + start, '\n', have - start);
			size_t len;

			if (nl == NULL)
				break;
			len = (size_t)(nl - (buf + start));
			fs_log_index_note(log, no, pos);
			if (no >= from) {
				if (fs_log_emit(buf + start, len, no, emit, ctx,
						&stop) < 0) {
					ret = st->host->error(err, PERSIST_ECORRUPT, 0,
							      "record %llu of log \"%s\" has a malformed base64 body",
							      (unsigned long long)no,
							      collection);
					goto out;
				}
				if (max != 0 && ++emitted >= max)
					stop = 1;
			}
			no++;
			pos += (off_t)len + 1;
			start += len + 1;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
	}
out:
	pthread_mutex_unlock(&log->mu);
	free(buf);
	return ret;
}
