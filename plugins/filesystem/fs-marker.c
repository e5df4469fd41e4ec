/*
 * plugins/filesystem/fs-marker.c - batch markers: what makes a batch that
 * writes several files all or nothing, even when its process is killed
 * between two of its writes.
 *
 * Before a batch appends its part to a file (a collection's key journal or
 * log) it writes one line into that file's lock file, ROOT/.locks/kv.<c>
 * or ROOT/.locks/log.<c>, which only the holder of its lock touches:
 *
 *     persist-batch <id> <dev> <inode> <size before> <time ms>
 *
 * (<id> is "-" for a batch without an id).  When every part is written -
 * and, for an exactly-once batch, its id recorded in the key journal
 * .batch-ids, the batch's commit point - the batch truncates the lock files
 * back to nothing.  A batch that fails on the way cuts its parts back
 * itself.  So a marker that anyone finds when taking a lock (fs_kv_lock,
 * fs_log_lock) was left by a writer that died holding it: nobody has
 * touched the file since, and everything after <size before> is that
 * writer's part.  It is settled at once:
 *   - the id is in .batch-ids: the batch committed; the marker goes;
 *   - otherwise the part is cut off (the batch is as if never attempted,
 *     and its retry - by the same id - writes it whole), unless the marker
 *     is older than the ids are kept (PERSIST_BATCH_ID_KEEP_MS, less an
 *     hour), when nothing can tell: the part stays and a warning says so;
 *   - a file that is gone or was replaced (another inode) is left alone.
 * A reader (shared lock) that finds a marker takes the exclusive lock to
 * settle it, then goes back to the shared one; a reader without write
 * access cannot, and says so in the log.  This holds against killed
 * processes: lock files are not fsynced, so after a power failure a batch
 * can still be found partly written (see persist.json(5), "filesystem").
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <persist/persist.h>
#include "fs-private.h"

#define FS_MARKER_TAG "persist-batch "
#define FS_MARKER_MAX (sizeof(FS_MARKER_TAG) + PERSIST_BATCH_ID_MAX + 5 * 24)
/* How long a marker's verdict can be read from .batch-ids: the ids' TTL
   less an hour of slack for clocks. */
#define FS_MARKER_TRUST_MS (PERSIST_BATCH_ID_KEEP_MS - 3600 * 1000LL)

struct fs_marker {
	char id[PERSIST_BATCH_ID_MAX + 1];
	uint64_t dev, ino;
	int64_t size, time_ms;
};

/* What a file is called in messages: "log" or "collection". */
static const char *fs_marker_what(enum fs_state_subdir which)
{
	return which == FS_DIR_LOG ? "log" : "collection";
}

/* The lock file's name in ROOT/.locks: "kv.<c>" or "log.<c>". */
static void fs_marker_lock_name(char *buf, size_t size,
				enum fs_state_subdir which, const char *collection)
{
	snprintf(buf, size, "%s.%s", which == FS_DIR_LOG ? "log" : "kv", collection);
}

/* A descriptor of the lock file open for writing: lock_fd itself when it
   is, else a new one (*opened_r set: the caller closes it); -1 with
   errno. */
static int fs_marker_wfd(struct fs_state *st, enum fs_state_subdir which,
			 const char *collection, int lock_fd, int *opened_r)
{
	char name[PERSIST_COLLECTION_MAX + 8];
	int flags = lock_fd >= 0 ? fcntl(lock_fd, F_GETFL) : -1;
	int dirfd, fd;

	*opened_r = 0;
	if (flags >= 0 && (flags & O_ACCMODE) == O_RDWR)
		return lock_fd;
	if ((dirfd = fs_state_dir(st, FS_DIR_LOCK, 0)) < 0)
		return -1;
	fs_marker_lock_name(name, sizeof(name), which, collection);
	fd = openat(dirfd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd >= 0)
		*opened_r = 1;
	return fd;
}

/* Write the marker of a batch about to append to a file (its lock held
   exclusively).
     which, collection  the file: FS_DIR_KV or FS_DIR_LOG and its name
     lock_fd            the descriptor the lock is held on
     id                 the batch's id, NULL for none
     dev, ino, size     the file's identity and size before the batch */
int fs_marker_set(struct fs_state *st, enum fs_state_subdir which,
		  const char *collection, int lock_fd, const char *id,
		  dev_t dev, ino_t ino, off_t size, struct persist_error *err)
{
	char line[FS_MARKER_MAX];
	int fd, opened, e = 0, n;

	n = snprintf(line, sizeof(line), FS_MARKER_TAG "%s %" PRIu64 " %" PRIu64 " %lld %lld\n",
		     id != NULL ? id : "-", (uint64_t)dev, (uint64_t)ino,
		     (long long)size, (long long)st->host->now_ms());
	fd = fs_marker_wfd(st, which, collection, lock_fd, &opened);
	if (fd < 0)
		e = errno;
	else if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)n, 0) != n)
		e = errno != 0 ? errno : EIO;
	if (opened)
		close(fd);
	if (e != 0) {
		char name[PERSIST_COLLECTION_MAX + 8];

		fs_marker_lock_name(name, sizeof(name), which, collection);
		return st->host->error(err, PERSIST_EIO, e,
				       "cannot mark %s \"%s\" for a batch: %s\n"
				       "The batch writes nothing without its lock file \"%s/%s/%s\" writable.",
				       fs_marker_what(which), collection, strerror(e),
				       st->opts.root, FS_LOCK_DIR, name);
	}
	return PERSIST_OK;
}

/* Remove a marker (the lock held exclusively); 0 or an errno.  A marker
   that cannot be removed is settled by the next holder of the lock. */
int fs_marker_clear(struct fs_state *st, enum fs_state_subdir which,
		    const char *collection, int lock_fd)
{
	int opened, e = 0;
	int fd = fs_marker_wfd(st, which, collection, lock_fd, &opened);

	if (fd < 0 || ftruncate(fd, 0) < 0)
		e = errno;
	if (opened)
		close(fd);
	return e;
}

/* Parse a marker line; 0 when it is one. */
static int fs_marker_parse(const char *line, struct fs_marker *m)
{
	char id[PERSIST_BATCH_ID_MAX + 1];
	long long size, time_ms;
	uint64_t dev, ino;
	int end = 0;

	if (strncmp(line, FS_MARKER_TAG, sizeof(FS_MARKER_TAG) - 1) != 0 ||
	    sscanf(line + sizeof(FS_MARKER_TAG) - 1, "%96s %" SCNu64 " %" SCNu64 " %lld %lld\n%n",
		   id, &dev, &ino, &size, &time_ms, &end) != 5 ||
	    end == 0 || size < 0 ||
	    (strcmp(id, "-") != 0 && !pc_batch_id_valid(id, PERSIST_BATCH_ID_MAX)))
		return -1;
	memcpy(m->id, id, sizeof(m->id));
	m->dev = dev;
	m->ino = ino;
	m->size = size;
	m->time_ms = time_ms;
	return 0;
}

/* Cut the file back to the marker's size when it is still the file the
   marker names; *cut_r: the bytes removed. */
static int fs_marker_cut(struct fs_state *st, enum fs_state_subdir which,
			 const char *collection, const struct fs_marker *m,
			 off_t *cut_r, struct persist_error *err)
{
	struct stat sb;
	int fd, writable, ret, e = 0;

	*cut_r = 0;
	ret = fs_state_open_file(st, which, collection, 0, &fd, &writable, &sb, err);
	if (ret == PERSIST_ENOTFOUND)
		return PERSIST_OK; /* dropped since: nothing to cut */
	if (ret != PERSIST_OK)
		return ret;
	if ((uint64_t)sb.st_dev == m->dev && (uint64_t)sb.st_ino == m->ino &&
	    sb.st_size > (off_t)m->size) {
		if (!writable || ftruncate(fd, (off_t)m->size) < 0)
			e = writable ? errno : EACCES;
		else if ((e = fs_sync_data(fd, st->opts.sync)) == 0)
			*cut_r = sb.st_size - (off_t)m->size;
	}
	close(fd);
	if (e != 0)
		return st->host->error(err, PERSIST_EIO, e,
				       "cannot cut back the part of batch \"%s\" left in %s \"%s\" by a killed writer: %s",
				       m->id, fs_marker_what(which),
				       collection, strerror(e));
	return PERSIST_OK;
}

/* Settle the marker in the lock file (held exclusively); see the top of
   this file. */
static int fs_marker_recover(struct fs_state *st, enum fs_state_subdir which,
			     const char *collection, int lock_fd,
			     struct persist_error *err)
{
	const char *what = fs_marker_what(which);
	char line[FS_MARKER_MAX + 1];
	struct fs_marker m;
	ssize_t n = fs_pread_full(lock_fd, line, sizeof(line) - 1, 0);
	int committed = 0, ret, e;
	off_t cut = 0;

	if (n < 0)
		return st->host->error(err, PERSIST_EIO, errno,
				       "cannot read the lock file of %s \"%s\": %s",
				       what, collection, strerror(errno));
	line[n] = '\0';
	if (n == 0)
		return PERSIST_OK; /* settled by another process meanwhile */
	if (fs_marker_parse(line, &m) < 0) {
		st->host->log(st->sink, PERSIST_LOG_WARNING,
			      "removed an unreadable batch marker (%zd bytes) from the lock file of %s \"%s\"",
			      n, what, collection);
	} else {
		if (strcmp(m.id, "-") != 0) {
			ret = fs_kv_peek(st, FS_BATCH_IDS, m.id, &committed, err);
			if (ret != PERSIST_OK)
				return ret;
		}
		if (committed) {
			/* the batch was applied whole: only the marker is left */
		} else if (st->host->now_ms() - m.time_ms > FS_MARKER_TRUST_MS) {
			st->host->log(st->sink, PERSIST_LOG_WARNING,
				      "kept what batch \"%s\" wrote to %s \"%s\" before its writer was killed\n"
				      "Its marker is older than batch ids are kept, so whether the batch was applied whole cannot be told.",
				      m.id, what, collection);
		} else {
			ret = fs_marker_cut(st, which, collection, &m, &cut, err);
			if (ret != PERSIST_OK)
				return ret;
			if (cut > 0)
				st->host->log(st->sink, PERSIST_LOG_WARNING,
					      "removed the %lld bytes that batch \"%s\" wrote to %s \"%s\" before its writer was killed\n"
					      "The batch was not applied whole; its retry writes it again.",
					      (long long)cut, m.id, what, collection);
		}
	}
	e = fs_marker_clear(st, which, collection, lock_fd);
	if (e != 0)
		return st->host->error(err, PERSIST_EIO, e,
				       "cannot remove the batch marker from the lock file of %s \"%s\": %s",
				       what, collection, strerror(e));
	return PERSIST_OK;
}

/* Right after a collection's lock is taken: settle a marker a killed
   batch left in its lock file (see the top of this file).  A shared lock
   is turned exclusive for that and back.
     which, collection  the file: FS_DIR_KV or FS_DIR_LOG and its name
     lock_fd            the descriptor the lock is held on (-1: no lock
                        file yet, nothing to do)
     exclusive          whether the lock held is exclusive */
int fs_marker_settle(struct fs_state *st, enum fs_state_subdir which,
		     const char *collection, int lock_fd, int exclusive,
		     struct persist_error *err)
{
	struct stat sb;
	int ret = PERSIST_OK, e;

	if (lock_fd < 0)
		return PERSIST_OK;
	for (int tries = 0; tries < 3; tries++) {
		if (fstat(lock_fd, &sb) < 0)
			return st->host->error(err, PERSIST_EIO, errno,
					       "cannot stat the lock file of %s \"%s\": %s",
					       fs_marker_what(which),
					       collection, strerror(errno));
		if (sb.st_size == 0)
			return PERSIST_OK;
		if (!exclusive && (e = fs_flock(lock_fd, LOCK_EX)) != 0)
			return st->host->error(err, PERSIST_EIO, e, "cannot lock %s \"%s\": %s",
					       fs_marker_what(which),
					       collection, strerror(e));
		ret = fs_marker_recover(st, which, collection, lock_fd, err);
		if (exclusive)
			return ret;
		if ((e = fs_flock(lock_fd, LOCK_SH)) != 0)
			return st->host->error(err, PERSIST_EIO, e, "cannot lock %s \"%s\": %s",
					       fs_marker_what(which),
					       collection, strerror(e));
		if (ret != PERSIST_OK) {
			if (err == NULL || err->sys_errno == 0 ||
			    !fs_errno_readonly(err->sys_errno))
				return ret;
			st->host->log(st->sink, PERSIST_LOG_WARNING,
				      "%s\nA reader without write access reads on; it may see the part of a batch that a writer will remove.",
				      err->msg);
			return PERSIST_OK;
		}
	}
	return PERSIST_OK;
}
