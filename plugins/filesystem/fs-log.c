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
 *
 * Trimming (trim_log) keeps record numbers: under the exclusive lock the
 * records from number `before` on are copied behind a header line
 *     {"persist:b64":null,"persist:first":<before>}
 * into a temporary file, which is fsynced and renamed over the log (the
 * directory fsynced): a crash leaves the old log or the new one, never
 * half of one.  The header is valid JSON but can never be a record: a
 * record starting with {"persist:b64": is always written in the base64
 * form.  The first line of a file is its header when it has that form;
 * record numbers then count from its number.  Every user of the log notices
 * the new inode under the lock and reads the header; a reader that still
 * has the old file open reads it unchanged (numbers included).
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
/* The header of a trimmed log; the number of its first record follows,
   then "}\n". */
#define FS_LOG_HEAD "{\"persist:b64\":null,\"persist:first\":"
#define FS_LOG_HEAD_LEN (sizeof(FS_LOG_HEAD) - 1)

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
	log->first = 0;
	log->data_start = 0;
}

/* Read the header a trim leaves as the first line of the file it writes
   (see the top of this file): log->first and log->data_start, both 0
   when there is none. */
static void fs_log_read_header(struct fs_log *log)
{
	char buf[FS_LOG_HEAD_LEN + 32];
	ssize_t n = fs_pread_full(log->fd, buf, sizeof(buf) - 1, 0);
	unsigned long long first;
	char *end;

	log->first = 0;
	log->data_start = 0;
	if (n < (ssize_t)FS_LOG_HEAD_LEN ||
	    memcmp(buf, FS_LOG_HEAD, FS_LOG_HEAD_LEN) != 0)
		return;
	buf[n] = '\0';
	errno = 0;
	first = strtoull(buf + FS_LOG_HEAD_LEN, &end, 10);
	if (errno != 0 || end == buf + FS_LOG_HEAD_LEN || strncmp(end, "}\n", 2) != 0)
		return;
	log->first = first;
	log->data_start = (off_t)(end + 2 - buf);
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
	ret = fs_marker_settle(st, FS_DIR_LOG, log->name, log->lock_fd, exclusive, err);
	if (ret != PERSIST_OK)
		goto fail;
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
	fs_log_read_header(log);
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

/* Walk the records of an open log from number `from` on (a number below
   log->first starts at the first record), up to offset limit (the end of
   its whole records): emit at most max of them (0: no limit), or, with
   emit NULL, stop at record `from` without emitting.  *no_r and *pos_r
   get the number and offset of the record where the walk ended (the
   log's next number and limit when it reached the end).  Under log->mu;
   every FS_LOG_INDEX_STEP-th offset is remembered on the way. */
static int fs_log_scan(struct fs_state *st, struct fs_log *log,
		       const char *collection, uint64_t from, size_t max,
		       off_t limit, persist_emit_fn *emit, void *ctx,
		       uint64_t *no_r, off_t *pos_r, struct persist_error *err)
{
	off_t pos;
	uint64_t no;
	size_t emitted = 0, have = 0;
	char *buf = NULL;
	size_t cap = 0;
	int ret = PERSIST_OK, stop = 0;

	if (log->n_index > 0 && log->index[log->n_index - 1] > limit)
		log->n_index = 0; /* the file was cut by hand: rebuild */
	if (log->n_index == 0)
		fs_log_index_note(log, 0, log->data_start);
	if (log->n_index == 0) {
		pos = log->data_start;
		no = log->first;
	} else {
		size_t i = from < log->first ? 0 :
			(size_t)((from - log->first) / FS_LOG_INDEX_STEP);
		if (i >= log->n_index)
			i = log->n_index - 1;
		pos = log->index[i];
		no = log->first + (uint64_t)i * FS_LOG_INDEX_STEP;
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
			fs_log_index_note(log, no - log->first, pos);
			if (no >= from && emit == NULL)
				break;
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
		if (emit == NULL && no >= from)
			break;
		memmove(buf, buf + start, have - start);
		have -= start;
	}
out:
	free(buf);
	*no_r = no;
	*pos_r = pos;
	return ret;
}

/* Lock a log shared and find the end of its whole records (*limit_r),
   reporting a torn last record; the lock is released again.  log->fd
   stays -1 when there is no log yet.  Under log->mu. */
static int fs_log_limit(struct fs_state *st, struct fs_log *log,
			const char *collection, off_t *limit_r,
			struct persist_error *err)
{
	struct stat sb;
	off_t limit;
	int ret;

	ret = fs_log_lock(st, log, 0, err);
	if (ret != PERSIST_OK || log->fd < 0) {
		if (ret == PERSIST_OK)
			fs_log_unlock(log);
		return ret;
	}
	if (fstat(log->fd, &sb) < 0 ||
	    (limit = fs_log_whole_end(log->fd, sb.st_size)) < 0) {
		int e = errno;
		fs_log_unlock(log);
		return st->host->error(err, PERSIST_EIO, e,
				       "cannot read log \"%s\": %s", collection,
				       strerror(e));
	}
	fs_log_unlock(log);
	if (limit < sb.st_size)
		st->host->log(st->sink, PERSIST_LOG_WARNING,
			      "skipped a torn last record (%lld bytes at offset %lld) in \"%s/%s/%s%s\"",
			      (long long)(sb.st_size - limit), (long long)limit,
			      st->opts.root, FS_LOG_DIR, collection,
			      FS_JOURNAL_SUFFIX);
	*limit_r = limit;
	return PERSIST_OK;
}

/* Check the arguments of a log method and find the log's handle. */
static int fs_log_prepare(struct fs_state *st, const char *collection,
			  struct fs_log **log_r, struct persist_error *err)
{
	int ret = fs_collection_check(st->host, collection, err);

	return ret != PERSIST_OK ? ret : fs_state_log(st, collection, log_r, err);
}

/* Emit records from number `from` on, at most max (0: no limit). */
int fs_state_read_log(void *store, const char *collection, uint64_t from,
		      size_t max, persist_emit_fn *emit, void *ctx,
		      struct persist_error *err)
{
	struct fs_state *st = store;
	struct fs_log *log;
	uint64_t no;
	off_t limit = 0, pos;
	int ret;

	if (emit == NULL)
		return st->host->error(err, PERSIST_EINVAL, 0,
				       "read of log \"%s\" without a callback",
				       collection != NULL ? collection : "");
	ret = fs_log_prepare(st, collection, &log, err);
	if (ret != PERSIST_OK)
		return ret;
	pthread_mutex_lock(&log->mu);
	ret = fs_log_limit(st, log, collection, &limit, err);
	if (ret == PERSIST_OK && log->fd >= 0)
		ret = fs_log_scan(st, log, collection, from, max, limit, emit, ctx,
				  &no, &pos, err);
	pthread_mutex_unlock(&log->mu);
	return ret;
}

/* log_bounds(): the header's first number, and the number after the last
   whole record. */
int fs_state_log_bounds(void *store, const char *collection, uint64_t *first_r,
			uint64_t *next_r, struct persist_error *err)
{
	struct fs_state *st = store;
	struct fs_log *log;
	uint64_t no = 0;
	off_t limit = 0, pos;
	int ret;

	ret = fs_log_prepare(st, collection, &log, err);
	if (ret != PERSIST_OK)
		return ret;
	pthread_mutex_lock(&log->mu);
	ret = fs_log_limit(st, log, collection, &limit, err);
	*first_r = *next_r = 0;
	if (ret == PERSIST_OK && log->fd >= 0) {
		ret = fs_log_scan(st, log, collection, UINT64_MAX, 0, limit, NULL,
				  NULL, &no, &pos, err);
		*first_r = log->first;
		*next_r = no;
	}
	pthread_mutex_unlock(&log->mu);
	return ret;
}

/* Copy bytes [from, to) of fd to the end of out; 0 or an errno. */
static int fs_log_copy(int fd, off_t from, off_t to, int out)
{
	char *buf = malloc(FS_LOG_CHUNK);
	int e = 0;

	if (buf == NULL)
		return ENOMEM;
	while (from < to && e == 0) {
		size_t want = (size_t)(to - from) < FS_LOG_CHUNK ?
			(size_t)(to - from) : FS_LOG_CHUNK;
		ssize_t n = fs_pread_full(fd, buf, want, from);

		if (n <= 0)
			e = n < 0 ? errno : EIO;
		else if ((e = fs_write_all(out, buf, (size_t)n)) == 0)
			from += n;
	}
	free(buf);
	return e;
}

/* Replace the log's file with its records from offset pos on (record
   number before) behind a header naming before: a temporary written,
   fsynced and renamed over the log (the directory fsynced), so a crash
   leaves the old file or the new one.  Exclusive lock held. */
static int fs_log_rewrite(struct fs_state *st, struct fs_log *log,
			  uint64_t before, off_t pos, struct persist_error *err)
{
	char name[PERSIST_COLLECTION_MAX + 16], tmp[PERSIST_COLLECTION_MAX + 32];
	char head[FS_LOG_HEAD_LEN + 32];
	int dirfd = fs_state_dir(st, FS_DIR_LOG, 0), fd = -1, e = 0;
	int n = snprintf(head, sizeof(head), "%s%llu}\n", FS_LOG_HEAD,
			 (unsigned long long)before);

	snprintf(name, sizeof(name), "%s%s", log->name, FS_JOURNAL_SUFFIX);
	snprintf(tmp, sizeof(tmp), ".%s%s.trim", log->name, FS_JOURNAL_SUFFIX);
	if (dirfd < 0)
		e = errno;
	if (e == 0 && (fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC |
				   O_CLOEXEC | O_NOFOLLOW, 0666)) < 0)
		e = errno;
	if (e == 0)
		e = fs_write_all(fd, head, (size_t)n);
	if (e == 0)
		e = fs_log_copy(log->fd, pos, log->end, fd);
	if (e == 0 && st->opts.sync != FS_SYNC_NEVER && fsync(fd) < 0)
		e = errno;
	if (fd >= 0 && close(fd) < 0 && e == 0 && errno != EINTR)
		e = errno;
	if (e == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		e = errno;
	if (e != 0) {
		if (dirfd >= 0)
			(void)unlinkat(dirfd, tmp, 0);
		if (fs_errno_readonly(e))
			return fs_readonly_error(st->host, st->opts.root,
						 "the trimmed log", e, err);
		return st->host->error(err, PERSIST_EIO, e,
				       "cannot trim log \"%s/%s/%s\": %s",
				       st->opts.root, FS_LOG_DIR, name, strerror(e));
	}
	(void)fs_sync_dir(dirfd, st->opts.sync);
	return PERSIST_OK;
}

/* trim_log(): under the exclusive lock, find record `before` and rewrite
   the file from it on (fs_log_rewrite); other processes see the new
   inode under the lock and read its header. */
int fs_state_trim_log(void *store, const char *collection, uint64_t before,
		      struct persist_error *err)
{
	struct fs_state *st = store;
	struct fs_log *log;
	uint64_t no = 0;
	off_t pos = 0;
	int ret;

	ret = fs_log_prepare(st, collection, &log, err);
	if (ret != PERSIST_OK)
		return ret;
	pthread_mutex_lock(&log->mu);
	ret = fs_log_lock_append(st, log, err);
	if (ret != PERSIST_OK)
		goto out;
	ret = fs_log_scan(st, log, collection, before, 0, log->end, NULL, NULL,
			  &no, &pos, err);
	if (ret == PERSIST_OK && no < before)
		ret = st->host->error(err, PERSIST_EINVAL, 0,
				      "cannot trim the log of collection \"%s\" before record %llu\n"
				      "The log's next record number is %llu; nothing was trimmed.",
				      collection, (unsigned long long)before,
				      (unsigned long long)no);
	else if (ret == PERSIST_OK && before > log->first) {
		ret = fs_log_rewrite(st, log, before, pos, err);
		fs_log_reset(log); /* the next use opens the new file */
	}
	fs_log_unlock(log);
out:
	pthread_mutex_unlock(&log->mu);
	return ret;
}

/* Remove the log's file for a drop (see fs-private.h). */
int fs_log_remove(struct fs_state *st, struct fs_log *log,
		  struct persist_error *err)
{
	char name[PERSIST_COLLECTION_MAX + 32];
	int ret, dirfd, e = 0;

	ret = fs_state_flock(st, "log", log->name, 1, &log->lock_fd, err);
	if (ret != PERSIST_OK)
		return ret;
	dirfd = fs_state_dir(st, FS_DIR_LOG, 0);
	snprintf(name, sizeof(name), ".%s%s.trim", log->name, FS_JOURNAL_SUFFIX);
	if (dirfd >= 0)
		(void)unlinkat(dirfd, name, 0);
	snprintf(name, sizeof(name), "%s%s", log->name, FS_JOURNAL_SUFFIX);
	if (dirfd < 0 ? errno != ENOENT :
	    unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		e = errno;
	fs_log_reset(log);
	if (e == 0 && dirfd >= 0)
		(void)fs_sync_dir(dirfd, st->opts.sync);
	if (e == 0)   /* a marker must not name a later file of this inode */
		(void)fs_marker_clear(st, FS_DIR_LOG, log->name, log->lock_fd);
	fs_log_unlock(log);
	if (e != 0)
		return st->host->error(err, PERSIST_EIO, e,
				       "cannot remove log \"%s/%s/%s\": %s",
				       st->opts.root, FS_LOG_DIR, name, strerror(e));
	return PERSIST_OK;
}
