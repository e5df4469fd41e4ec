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
 *                                 are line numbers from 0.
 *   ROOT/.locks/kv.<collection>    empty lock files, never replaced: flock
 *   ROOT/.locks/log.<collection>   LOCK_EX to write, LOCK_SH to read.
 *   ROOT/kv/.<collection>.jsonl.compact   temporary of a compaction.
 *
 * A configuration store may use the same root: its documents are *.json
 * files, its lock is ROOT/.lock, and it never looks at kv/ or logs/ files.
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

/* Open (creating) a subdirectory of the root and check it is writable. */
static int fs_state_subdir(struct fs_state *st, const char *name, int *fd_r,
			   struct persist_error *err)
{
	int fd, e;

	if (mkdirat(st->root_fd, name, 0777) < 0 && errno != EEXIST)
		goto fail;
	fd = openat(st->root_fd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	if (faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) < 0) {
		e = errno;
		close(fd);
		errno = e;
		goto fail;
	}
	*fd_r = fd;
	return PERSIST_OK;
fail:
	e = errno;
	return st->host->error(err, PERSIST_EIO, e,
			       "cannot use directory \"%s/%s\": %s",
			       st->opts.root, name, strerror(e));
}

/* Open a state store on the configured root. */
int fs_state_open(void *plugin, const struct persist_store_args *args,
		  void **store_r, struct persist_error *err)
{
	struct fs_plugin *pl = plugin;
	const struct persist_host *host = pl->host;
	struct fs_state *st;
	int ret;

	if (args == NULL || args->size < sizeof(struct persist_store_args))
		return host->error(err, PERSIST_EINVAL, 0,
				   "filesystem provider: store arguments too short");
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	st->plugin = pl;
	st->host = host;
	st->sink = args->sink;
	st->root_fd = st->kv_dir_fd = st->log_dir_fd = st->lock_dir_fd = -1;
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
	if (ret == PERSIST_OK)
		ret = fs_state_subdir(st, FS_KV_DIR, &st->kv_dir_fd, err);
	if (ret == PERSIST_OK)
		ret = fs_state_subdir(st, FS_LOG_DIR, &st->log_dir_fd, err);
	if (ret == PERSIST_OK)
		ret = fs_state_subdir(st, FS_LOCK_DIR, &st->lock_dir_fd, err);
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
			      "filesystem: closing state store \"%s\": %s",
			      st->opts.root, err.msg);
	pc_map_free(st->kvs);
	pc_map_free(st->logs);
	if (st->kv_dir_fd >= 0)
		close(st->kv_dir_fd);
	if (st->log_dir_fd >= 0)
		close(st->log_dir_fd);
	if (st->lock_dir_fd >= 0)
		close(st->lock_dir_fd);
	if (st->root_fd >= 0)
		close(st->root_fd);
	pthread_mutex_destroy(&st->mu);
	fs_options_free(&st->opts);
	free(st);
}

/* Healthy when the data directories are still there and writable. */
int fs_state_health(void *store, int64_t *latency_us_r,
		    struct persist_error *err)
{
	struct fs_state *st = store;
	int64_t start = st->host->monotonic_us();
	const int fds[2] = { st->kv_dir_fd, st->log_dir_fd };

	for (int i = 0; i < 2; i++) {
		struct stat sb;
		if (fstat(fds[i], &sb) < 0 || sb.st_nlink == 0 ||
		    faccessat(fds[i], ".", W_OK | X_OK, AT_EACCESS) < 0)
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

/* Make the empty in-memory handle of a collection (its lock file not yet
   open), pointing *lock_fd_r at its lock descriptor; NULL when out of
   memory. */
typedef void *fs_handle_new_fn(const char *collection, int **lock_fd_r);

/* Find the handle of collection in table, or make one, open its lock file
   ROOT/.locks/<prefix>.<collection> and add it to table. */
static int fs_state_handle(struct fs_state *st, struct pc_map *table,
			   const char *prefix, const char *collection,
			   fs_handle_new_fn *make, void (*destroy)(void *),
			   void **handle_r, struct persist_error *err)
{
	char lock_name[PERSIST_COLLECTION_MAX + 8];
	int *lock_fd;
	void *h;
	int e;

	pthread_mutex_lock(&st->mu);
	h = pc_map_get(table, collection);
	if (h != NULL) {
		pthread_mutex_unlock(&st->mu);
		*handle_r = h;
		return PERSIST_OK;
	}
	h = make(collection, &lock_fd);
	if (h == NULL)
		goto nomem;
	snprintf(lock_name, sizeof(lock_name), "%s.%s", prefix, collection);
	e = fs_lockfile_open(st->lock_dir_fd, lock_name, lock_fd);
	if (e != 0) {
		destroy(h);
		pthread_mutex_unlock(&st->mu);
		return st->host->error(err, PERSIST_EIO, e,
				       "cannot open lock file \"%s/%s/%s\": %s",
				       st->opts.root, FS_LOCK_DIR, lock_name,
				       strerror(e));
	}
	if (pc_map_put(table, collection, h) < 0) {
		destroy(h);
		goto nomem;
	}
	pthread_mutex_unlock(&st->mu);
	*handle_r = h;
	return PERSIST_OK;
nomem:
	pthread_mutex_unlock(&st->mu);
	return st->host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
}

/* A collection's empty key space (fs_handle_new_fn). */
static void *fs_kv_new(const char *collection, int **lock_fd_r)
{
	struct fs_kv *kv = calloc(1, sizeof(*kv));

	if (kv == NULL)
		return NULL;
	kv->fd = kv->lock_fd = -1;
	pthread_mutex_init(&kv->mu, NULL);
	kv->name = strdup(collection);
	kv->table = pc_map_new(fs_entry_free);
	if (kv->name == NULL || kv->table == NULL) {
		fs_kv_free(kv);
		return NULL;
	}
	*lock_fd_r = &kv->lock_fd;
	return kv;
}

/* A collection's empty log handle (fs_handle_new_fn). */
static void *fs_log_new(const char *collection, int **lock_fd_r)
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
	*lock_fd_r = &log->lock_fd;
	return log;
}

/* Find or create the in-memory key space of a collection. */
int fs_state_kv(struct fs_state *st, const char *collection,
		struct fs_kv **kv_r, struct persist_error *err)
{
	void *h;
	int ret = fs_state_handle(st, st->kvs, "kv", collection, fs_kv_new,
				  fs_kv_free, &h, err);

	if (ret == PERSIST_OK)
		*kv_r = h;
	return ret;
}

/* Find or create the in-memory handle of a collection's log. */
int fs_state_log(struct fs_state *st, const char *collection,
		 struct fs_log **log_r, struct persist_error *err)
{
	void *h;
	int ret = fs_state_handle(st, st->logs, "log", collection, fs_log_new,
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

/* Write one key's new state (entry NULL: delete) and apply it. */
static int fs_state_put(struct fs_state *st, struct fs_kv *kv,
			const char *key, struct fs_entry *entry,
			struct persist_error *err)
{
	struct fs_buf buf;
	int ret;

	fs_buf_init(&buf);
	fs_kv_encode(&buf, key, entry);
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
	if (fs_kv_apply(kv, key, entry) < 0) {
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
		entry->expires_ms = st->host->now_ms() + ttl_ms;

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
