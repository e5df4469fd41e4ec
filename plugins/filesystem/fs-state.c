/*
 * plugins/filesystem/fs-state.c - the state store: counters, key-values
 * with TTL and append-only logs under one root, shared safely by every
 * process that opens the same directory and robust against kill -9 at any
 * instant.
 *
 * On-disk layout (everything is text that jq, tail and grep can read):
 *
 *   ROOT/kv/<collection>.jsonl    the collection's keys, as a journal: one
 *                                 JSON object per line, each giving the
 *                                 new state of one key,
 *                                   {"k":"hits","n":42}            counter
 *                                   {"k":"s1","v":"{\"url\":1}"}   UTF-8 value
 *                                   {"k":"b","b64":"AAEC"}         other bytes
 *                                   {"k":"s1","v":"x","exp":1767225600000}
 *                                   {"k":"s1","del":true}          deleted
 *                                 a set or delete also says when it was
 *                                 written (ms since the epoch), which
 *                                 outlives a deleted key (fs-times.c):
 *                                   {"k":"s1","w":1767225500000,"del":true}
 *                                 or, for a batch, one line holding all of
 *                                 its operations on the collection,
 *                                   {"b":[{"k":...},{"k":...}]}
 *                                 The current state is the last line for
 *                                 each key ("jq -s" and group_by suffice).
 *                                 Counters are written as their new value,
 *                                 not as a delta, so replay is idempotent.
 *   ROOT/logs/<collection>.jsonl  the collection's log: one record a line,
 *                                 exactly the appended bytes when they are
 *                                 one line of strict JSON, otherwise
 *                                 {"persist:b64":"<base64>"} (also used for
 *                                 records that start with that text, so
 *                                 the two never mix up).  Record numbers
 *                                 are line numbers from 0, or, after a
 *                                 trim, from the number in the first line
 *                                 {"persist:b64":null,"persist:first":N}
 *                                 (see fs-log.c).
 *   ROOT/.locks/kv.<collection>    empty lock files, never replaced: flock
 *   ROOT/.locks/log.<collection>   LOCK_EX to write, LOCK_SH to read.
 *   ROOT/kv/.<collection>.jsonl.compact   temporary of a compaction.
 *
 * A configuration store may use the same root: its documents are *.json
 * files, its lock is ROOT/.lock, and it never looks at kv/ or logs/ files.
 *
 * Nothing is created under the root until the first write needs it (the
 * subdirectories, a collection's lock file and journal), so a user who may
 * only read the directory can open the store and read: a reader opens
 * what it may not write read-only (flock() works on it), reads without a
 * lock a collection that has no lock file yet, and sees a collection never
 * written as empty.  A write there answers that the root is read-only.
 *
 * Every process keeps an in-memory replica of each collection it uses and
 * the journal offset it has replayed to.  Under the lock it first replays
 * what others appended since (so a counter read or increment sees every
 * other process's increments), then appends its own line with one write()
 * on an O_APPEND descriptor.  A write is acknowledged once write() returned:
 * the data is then in the kernel and survives the process being killed.
 * With fsync "always" each write is also fdatasync'ed before the call
 * returns; with "batch" (default) batch() and flush() fdatasync what they
 * cover (one fdatasync per file for a whole batch: group commit); "never"
 * never syncs.
 *
 * A writer killed inside write() leaves a last line without its newline.
 * The next writer, holding the exclusive lock (so no write can be in
 * progress), cuts it off and logs a warning; readers ignore it.  It was
 * never acknowledged, so nothing acknowledged is lost.  A line that does
 * not parse in the middle of a journal is skipped with a warning.
 *
 * When a journal has grown past 1 MiB and four times its live data, the
 * writer holding the lock writes the live entries to the .compact file,
 * fsyncs it and renames it over the journal (fsync of the directory);
 * other processes notice the new inode under the lock and replay it.
 * Expired keys are dropped then: invisible at once, reclaimed later.
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

#define FS_COMPACT_MIN (1024 * 1024)

/* True when e exists and has not expired. */
int fs_entry_live(const struct fs_state *st, const struct fs_entry *e)
{
	return e != NULL &&
	       (e->expires_ms == 0 || e->expires_ms > st->host->now_ms());
}

static const char *const fs_subdir_names[FS_DIR_COUNT_] = {
	[FS_DIR_KV] = FS_KV_DIR,
	[FS_DIR_LOG] = FS_LOG_DIR,
	[FS_DIR_LOCK] = FS_LOCK_DIR,
};

/* Subdirectory which of the root (see fs-private.h).  The descriptor is
   published with an atomic store, so threads that find it open need no
   lock. */
int fs_state_dir(struct fs_state *st, enum fs_state_subdir which, int create)
{
	const char *name = fs_subdir_names[which];
	int fd = __atomic_load_n(&st->dir_fd[which], __ATOMIC_ACQUIRE), e;

	if (fd >= 0)
		return fd;
	pthread_mutex_lock(&st->mu);
	fd = __atomic_load_n(&st->dir_fd[which], __ATOMIC_ACQUIRE);
	if (fd < 0) {
		fd = openat(st->root_fd, name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && create &&
		    (mkdirat(st->root_fd, name, 0777) == 0 || errno == EEXIST)) {
			(void)fs_sync_dir(st->root_fd, st->opts.sync);
			fd = openat(st->root_fd, name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd >= 0)
			__atomic_store_n(&st->dir_fd[which], fd, __ATOMIC_RELEASE);
	}
	e = errno;
	pthread_mutex_unlock(&st->mu);
	errno = e;
	return fd;
}

/* The error of subdirectory which that could not be opened (errno e);
   what names the write it was for, or NULL for a read. */
static int fs_state_dir_error(struct fs_state *st, enum fs_state_subdir which,
			      const char *what, int e, struct persist_error *err)
{
	if (what != NULL && fs_errno_readonly(e))
		return fs_readonly_error(st->host, st->opts.root, what, e, err);
	return st->host->error(err, PERSIST_EIO, e,
			       "cannot use directory \"%s/%s\": %s",
			       st->opts.root, fs_subdir_names[which], strerror(e));
}

/* Lock a collection's file (see fs-private.h). */
int fs_state_flock(struct fs_state *st, const char *prefix,
		   const char *collection, int exclusive, int *lock_fd,
		   struct persist_error *err)
{
	char name[PERSIST_COLLECTION_MAX + 8], what[PERSIST_COLLECTION_MAX + 32];
	int dirfd, e;

	snprintf(name, sizeof(name), "%s.%s", prefix, collection);
	snprintf(what, sizeof(what), "%s \"%s\"",
		 strcmp(prefix, "log") == 0 ? "log" : "collection", collection);
	if (*lock_fd < 0) {
		dirfd = fs_state_dir(st, FS_DIR_LOCK, exclusive);
		if (dirfd < 0) {
			e = errno;
			if (e == ENOENT && !exclusive)
				return PERSIST_OK; /* nothing written yet */
			return fs_state_dir_error(st, FS_DIR_LOCK,
						  exclusive ? what : NULL, e, err);
		}
		e = exclusive ? fs_lockfile_open(dirfd, name, lock_fd) : 0;
		if (!exclusive || fs_errno_readonly(e)) {
			/* a reader, or a writer that may not create it:
			   read-only will do for flock() (a writer that
			   cannot open it keeps the reason it could not
			   create it) */
			int fd = openat(dirfd, name,
					O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
						O_NONBLOCK);
			if (fd >= 0) {
				*lock_fd = fd;
				e = 0;
			} else if (!exclusive) {
				e = errno;
			}
		}
		if (e == ENOENT && !exclusive)
			return PERSIST_OK; /* nothing written yet */
		if (e != 0 && exclusive && fs_errno_readonly(e))
			return fs_readonly_error(st->host, st->opts.root, what, e, err);
		if (e != 0)
			return st->host->error(err, PERSIST_EIO, e,
					       "cannot open lock file \"%s/%s/%s\": %s",
					       st->opts.root, FS_LOCK_DIR, name,
					       strerror(e));
	}
	e = fs_flock(*lock_fd, exclusive ? LOCK_EX : LOCK_SH);
	if (e != 0)
		return st->host->error(err, PERSIST_EIO, e,
				       "cannot lock %s: %s", what, strerror(e));
	return PERSIST_OK;
}

/* Open a collection's journal or log (see fs-private.h). */
int fs_state_open_file(struct fs_state *st, enum fs_state_subdir which,
		       const char *collection, int create, int *fd_r,
		       int *writable_r, struct stat *sb_r,
		       struct persist_error *err)
{
	const int flags = O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK;
	const char *dir = fs_subdir_names[which];
	char name[PERSIST_COLLECTION_MAX + 16], what[PERSIST_COLLECTION_MAX + 32];
	int dirfd, fd, e, writable = 1, created = 0;

	snprintf(name, sizeof(name), "%s%s", collection, FS_JOURNAL_SUFFIX);
	snprintf(what, sizeof(what), "%s \"%s\"",
		 which == FS_DIR_LOG ? "log" : "collection", collection);
	dirfd = fs_state_dir(st, which, create);
	if (dirfd < 0) {
		if (errno == ENOENT && !create)
			return PERSIST_ENOTFOUND;
		return fs_state_dir_error(st, which, create ? what : NULL, errno,
					  err);
	}
	fd = openat(dirfd, name, O_RDWR | flags);
	if (fd < 0 && errno == ENOENT && create) {
		fd = openat(dirfd, name, O_RDWR | O_CREAT | flags, 0666);
		created = fd >= 0;
	}
	if (fd < 0 && !create && fs_errno_readonly(errno)) {
		writable = 0;
		fd = openat(dirfd, name, O_RDONLY | flags);
	}
	if (fd < 0) {
		e = errno;
		if (e == ENOENT && !create)
			return PERSIST_ENOTFOUND;
		if (create && fs_errno_readonly(e))
			return fs_readonly_error(st->host, st->opts.root, what, e, err);
		return st->host->error(err, PERSIST_EIO, e,
				       "cannot open \"%s/%s/%s\": %s", st->opts.root,
				       dir, name, strerror(e));
	}
	if (fstat(fd, sb_r) < 0) {
		e = errno;
		close(fd);
		return st->host->error(err, PERSIST_EIO, e,
				       "cannot open \"%s/%s/%s\": %s", st->opts.root,
				       dir, name, strerror(e));
	}
	if (!S_ISREG(sb_r->st_mode)) {
		close(fd);
		return st->host->error(err, PERSIST_ECORRUPT, 0,
				       "\"%s/%s/%s\" is not a regular file",
				       st->opts.root, dir, name);
	}
	if (created)
		(void)fs_sync_dir(dirfd, st->opts.sync);
	*fd_r = fd;
	*writable_r = writable;
	return PERSIST_OK;
}

/* Open a state store on the configured root: nothing is created in it
   (but the root itself when it is missing) until the first write. */
int fs_state_open(void *plugin, const struct persist_store_args *args,
		  void **store_r, struct persist_error *err)
{
	struct fs_plugin *pl = plugin;
	const struct persist_host *host = pl->host;
	struct fs_state *st;
	int ret;

	if (args == NULL || args->size < sizeof(struct persist_store_args))
		return host->error(err, PERSIST_EINVAL, 0,
				   "store arguments too short");
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	st->plugin = pl;
	st->host = host;
	st->sink = args->sink;
	st->root_fd = -1;
	for (int i = 0; i < FS_DIR_COUNT_; i++)
		st->dir_fd[i] = -1;
	st->compact_min = FS_COMPACT_MIN;
	pthread_mutex_init(&st->mu, NULL);
	st->kvs = pc_map_new(fs_kv_free);
	st->logs = pc_map_new(fs_log_free);
	if (st->kvs == NULL || st->logs == NULL) {
		fs_state_close(st);
		return host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	ret = fs_options_parse(host, PERSIST_KIND_STATE, args->config_json,
			       &st->opts, err);
	if (ret == PERSIST_OK)
		ret = fs_root_open(host, st->opts.root, &st->root_fd, err);
	if (ret != PERSIST_OK) {
		fs_state_close(st);
		return ret;
	}
	*store_r = st;
	return PERSIST_OK;
}

/* Close every descriptor and free the replicas.  Nothing is pending: every
   acknowledged write is already in the files; with fsync "batch" what was
   written since the last batch or flush is fdatasync'ed first, so a clean
   close is as durable as a flush. */
void fs_state_close(void *store)
{
	struct fs_state *st = store;
	struct persist_error err;

	if (st == NULL)
		return;
	if (st->kvs != NULL && st->logs != NULL &&
	    fs_state_flush(st, &err) != PERSIST_OK)
		st->host->log(st->sink, PERSIST_LOG_ERROR,
			      "closing state store \"%s\": %s",
			      st->opts.root, err.msg);
	pc_map_free(st->kvs);
	pc_map_free(st->logs);
	for (int i = 0; i < FS_DIR_COUNT_; i++)
		if (st->dir_fd[i] >= 0)
			close(st->dir_fd[i]);
	if (st->root_fd >= 0)
		close(st->root_fd);
	pthread_mutex_destroy(&st->mu);
	fs_options_free(&st->opts);
	free(st);
}

/* Healthy when the root and the data directories opened so far are still
   there and the root can be read (a read-only store is healthy: writes
   say why they fail). */
int fs_state_health(void *store, int64_t *latency_us_r,
		    struct persist_error *err)
{
	struct fs_state *st = store;
	int64_t start = st->host->monotonic_us();

	for (int i = -1; i < FS_DIR_COUNT_; i++) {
		int fd = i < 0 ? st->root_fd
			       : __atomic_load_n(&st->dir_fd[i], __ATOMIC_ACQUIRE);
		struct stat sb;

		if (fd < 0)
			continue;
		errno = 0;
		if (fstat(fd, &sb) < 0 || sb.st_nlink == 0 ||
		    faccessat(fd, ".", R_OK | X_OK, AT_EACCESS) < 0)
			return st->host->error(err, PERSIST_EUNAVAIL, errno,
					       "state root \"%s\" is not usable: %s",
					       st->opts.root,
					       errno != 0 ? strerror(errno)
							  : "it was removed");
	}
	if (latency_us_r != NULL)
		*latency_us_r = st->host->monotonic_us() - start;
	return PERSIST_OK;
}

/* Make the empty in-memory handle of a collection (its files not yet
   open); NULL when out of memory. */
typedef void *fs_handle_new_fn(const char *collection);

/* Find the handle of collection in table, or make one and add it. */
static int fs_state_handle(struct fs_state *st, struct pc_map *table,
			   const char *collection, fs_handle_new_fn *make,
			   void (*destroy)(void *), void **handle_r,
			   struct persist_error *err)
{
	void *h;

	pthread_mutex_lock(&st->mu);
	h = pc_map_get(table, collection);
	if (h == NULL) {
		h = make(collection);
		if (h != NULL && pc_map_put(table, collection, h) < 0) {
			destroy(h);
			h = NULL;
		}
	}
	pthread_mutex_unlock(&st->mu);
	if (h == NULL)
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	*handle_r = h;
	return PERSIST_OK;
}

/* A collection's empty key space (fs_handle_new_fn). */
void *fs_kv_new(const char *collection)
{
	struct fs_kv *kv = calloc(1, sizeof(*kv));

	if (kv == NULL)
		return NULL;
	kv->fd = kv->lock_fd = -1;
	pthread_mutex_init(&kv->mu, NULL);
	kv->name = strdup(collection);
	kv->table = pc_map_new(fs_entry_free);
	kv->times = pc_map_new(free);
	if (kv->name == NULL || kv->table == NULL || kv->times == NULL) {
		fs_kv_free(kv);
		return NULL;
	}
	return kv;
}

/* A collection's empty log handle (fs_handle_new_fn). */
static void *fs_log_new(const char *collection)
{
	struct fs_log *log = calloc(1, sizeof(*log));

	if (log == NULL)
		return NULL;
	log->fd = log->lock_fd = -1;
	log->end = -1;
	pthread_mutex_init(&log->mu, NULL);
	log->name = strdup(collection);
	if (log->name == NULL) {
		fs_log_free(log);
		return NULL;
	}
	return log;
}

/* Find or create the in-memory key space of a collection. */
int fs_state_kv(struct fs_state *st, const char *collection,
		struct fs_kv **kv_r, struct persist_error *err)
{
	void *h = NULL;
	int ret = fs_state_handle(st, st->kvs, collection, fs_kv_new,
				  fs_kv_free, &h, err);

	if (ret == PERSIST_OK)
		*kv_r = h;
	return ret;
}

/* Find or create the in-memory handle of a collection's log. */
int fs_state_log(struct fs_state *st, const char *collection,
		 struct fs_log **log_r, struct persist_error *err)
{
	void *h = NULL;
	int ret = fs_state_handle(st, st->logs, collection, fs_log_new,
				  fs_log_free, &h, err);

	if (ret == PERSIST_OK)
		*log_r = h;
	return ret;
}

/* Check collection and key, then find the collection. */
static int fs_state_prepare(struct fs_state *st, const char *collection,
			    const char *key, struct fs_kv **kv_r,
			    struct persist_error *err)
{
	int ret = fs_collection_check(st->host, collection, err);

	if (ret == PERSIST_OK && key != NULL)
		ret = fs_state_key_check(st->host, key, err);
	if (ret == PERSIST_OK)
		ret = fs_state_kv(st, collection, kv_r, err);
	return ret;
}

/* Copy an entry's bytes (a counter as decimal text) for the core. */
static int fs_state_copy_value(struct fs_state *st, const struct fs_entry *e,
			       void **data_r, size_t *len_r,
			       struct persist_error *err)
{
	char num[32];
	const char *src = e->data;
	size_t len = e->len;
	char *data;

	if (e->is_counter) {
		len = (size_t)snprintf(num, sizeof(num), "%" PRId64, e->num);
		src = num;
	}
	data = st->host->alloc(len + 1);
	if (data == NULL)
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	if (len > 0)
		memcpy(data, src, len);
	data[len] = '\0';
	*data_r = data;
	*len_r = len;
	return PERSIST_OK;
}

/* Value of a key (counters as decimal text). */
int fs_state_get(void *store, const char *collection, const char *key,
		 struct persist_value *value_r, struct persist_error *err)
{
	struct fs_state *st = store;
	struct fs_kv *kv;
	struct fs_entry *e;
	int ret;

	ret = fs_state_prepare(st, collection, key, &kv, err);
	if (ret != PERSIST_OK)
		return ret;
	pthread_mutex_lock(&kv->mu);
	ret = fs_kv_lock(st, kv, 0, err);
	if (ret == PERSIST_OK) {
		e = pc_map_get(kv->table, key);
		if (!fs_entry_live(st, e)) {
			ret = st->host->error(err, PERSIST_ENOTFOUND, 0,
					      "no key \"%s\" in collection \"%s\"",
					      key, collection);
		} else {
			ret = fs_state_copy_value(st, e, &value_r->data,
						  &value_r->len, err);
			value_r->etag[0] = '\0';
			value_r->expires_ms = e->expires_ms;
		}
		fs_kv_unlock(kv);
	}
	pthread_mutex_unlock(&kv->mu);
	return ret;
}

/* Sync the journal now when the mode says every write is durable. */
static int fs_state_commit(struct fs_state *st, struct fs_kv *kv,
			   struct persist_error *err)
{
	int e;

	if (st->opts.sync != FS_SYNC_ALWAYS)
		return PERSIST_OK;
	e = fs_sync_data(kv->fd, st->opts.sync);
	if (e != 0)
		return st->host->error(err, PERSIST_EUNCERTAIN, e,
				       "cannot fsync journal of collection \"%s\": %s\nThe write was done but may not be on disk.",
				       kv->name, strerror(e));
	kv->dirty = 0;
	return PERSIST_OK;
}

/* Write one key's new state (entry NULL: delete), dated now, and apply
   it. */
static int fs_state_put(struct fs_state *st, struct fs_kv *kv,
			const char *key, struct fs_entry *entry,
			struct persist_error *err)
{
	int64_t now = st->host->now_ms();
	struct fs_buf buf;
	int ret;

	fs_buf_init(&buf);
	fs_kv_encode(&buf, key, entry, now);
	fs_buf_addc(&buf, '\n');
	if (buf.failed) {
		fs_buf_free(&buf);
		fs_entry_free(entry);
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	ret = fs_kv_write(st, kv, buf.data, buf.len, err);
	fs_buf_free(&buf);
	if (ret != PERSIST_OK) {
		fs_entry_free(entry);
		return ret;
	}
	if (fs_kv_apply(kv, key, entry) < 0 || fs_kv_time_set(kv, key, now) < 0) {
		/* memory is short: replay from the journal next time */
		fs_kv_reset(kv);
	}
	ret = fs_state_commit(st, kv, err);
	fs_kv_maybe_compact(st, kv);
	return ret;
}

/* Set a value with an optional TTL. */
int fs_state_set(void *store, const char *collection, const char *key,
		 const void *data, size_t len, int64_t ttl_ms,
		 struct persist_error *err)
{
	struct fs_state *st = store;
	struct fs_entry *entry;
	struct fs_kv *kv;
	int ret;

	ret = fs_state_prepare(st, collection, key, &kv, err);
	if (ret != PERSIST_OK)
		return ret;
	if ((data == NULL && len > 0) || len > PERSIST_VALUE_MAX || ttl_ms < 0)
		return st->host->error(err, PERSIST_EINVAL, 0,
				       "invalid value for key \"%s\" in collection \"%s\"\n%s",
				       key, collection,
				       ttl_ms < 0 ? "The TTL is negative."
						  : "The value is missing or too large.");
	entry = calloc(1, sizeof(*entry));
	if (entry != NULL)
		entry->data = malloc(len + 1);
	if (entry == NULL || entry->data == NULL) {
		fs_entry_free(entry);
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	if (len > 0)
		memcpy(entry->data, data, len);
	entry->data[len] = '\0';
	entry->len = len;
	if (ttl_ms > 0)
		entry->expires_ms = persist_expiry_ms(st->host->now_ms(), ttl_ms);

	pthread_mutex_lock(&kv->mu);
	ret = fs_kv_lock(st, kv, 1, err);
	if (ret == PERSIST_OK) {
		ret = fs_state_put(st, kv, key, entry, err);
		fs_kv_unlock(kv);
	} else {
		fs_entry_free(entry);
	}
	pthread_mutex_unlock(&kv->mu);
	return ret;
}

/* Delete a key; PERSIST_ENOTFOUND when it is absent or expired. */
int fs_state_del(void *store, const char *collection, const char *key,
		 struct persist_error *err)
{
	struct fs_state *st = store;
	struct fs_kv *kv;
	int ret;

	ret = fs_state_prepare(st, collection, key, &kv, err);
	if (ret != PERSIST_OK)
		return ret;
	pthread_mutex_lock(&kv->mu);
	ret = fs_kv_lock(st, kv, 1, err);
	if (ret == PERSIST_OK) {
		if (!fs_entry_live(st, pc_map_get(kv->table, key)))
			ret = st->host->error(err, PERSIST_ENOTFOUND, 0,
					      "no key \"%s\" in collection \"%s\"",
					      key, collection);
		else
			ret = fs_state_put(st, kv, key, NULL, err);
		fs_kv_unlock(kv);
	}
	pthread_mutex_unlock(&kv->mu);
	return ret;
}

struct fs_scan_ctx {
	struct fs_state *st;
	const char *prefix;
	size_t prefix_len;
	persist_emit_fn *emit;
	void *ctx;
	int ret;
	struct persist_error *err;
};

/* Emit one live entry whose key starts with the prefix. */
static int fs_scan_one(void *ctx, const char *key, void *value)
{
	struct fs_scan_ctx *sc = ctx;
	struct fs_entry *e = value;
	struct persist_item item;
	char num[32];

	if (!fs_entry_live(sc->st, e) ||
	    strncmp(key, sc->prefix, sc->prefix_len) != 0)
		return 0;
	memset(&item, 0, sizeof(item));
	item.size = sizeof(item);
	item.key = key;
	if (e->is_counter) {
		item.len = (size_t)snprintf(num, sizeof(num), "%" PRId64, e->num);
		item.value = num;
	} else {
		item.value = e->data;
		item.len = e->len;
	}
	item.expires_ms = e->expires_ms;
	return sc->emit(sc->ctx, &item) != 0 ? 1 : 0;
}

/* Emit every live key of a collection that starts with prefix. */
int fs_state_scan(void *store, const char *collection, const char *prefix,
		  persist_emit_fn *emit, void *ctx, struct persist_error *err)
{
	struct fs_state *st = store;
	struct fs_scan_ctx sc;
	struct fs_kv *kv;
	int ret;

	if (emit == NULL)
		return st->host->error(err, PERSIST_EINVAL, 0,
				       "scan of collection \"%s\" without a callback",
				       collection != NULL ? collection : "");
	ret = fs_state_prepare(st, collection, NULL, &kv, err);
	if (ret != PERSIST_OK)
		return ret;
	memset(&sc, 0, sizeof(sc));
	sc.st = st;
	sc.prefix = prefix != NULL ? prefix : "";
	sc.prefix_len = strlen(sc.prefix);
	sc.emit = emit;
	sc.ctx = ctx;
	pthread_mutex_lock(&kv->mu);
	ret = fs_kv_lock(st, kv, 0, err);
	if (ret == PERSIST_OK) {
		(void)pc_map_each(kv->table, fs_scan_one, &sc);
		fs_kv_unlock(kv);
	}
	pthread_mutex_unlock(&kv->mu);
	return ret;
}
