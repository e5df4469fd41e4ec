/*
 * plugins/filesystem/fs-config.c - the configuration store: one plain JSON
 * file per key under the root (key "apps" -> ROOT/apps.json, "a/b" ->
 * ROOT/a/b.json), so the directory is what an administrator would keep by
 * hand and may edit with any editor.
 *
 *   get     reads the file beneath the root (fs-paths.c), answers
 *           PERSIST_ECORRUPT with the key and json-c's message when it is
 *           not JSON, PERSIST_ENOTFOUND when absent or expired;
 *   set     writes a temporary file in the same directory, fsyncs it,
 *           renames it over the document and fsyncs the directory
 *           (fs-fsync.c), so readers see the old or the new document, never
 *           a mix; with if_match the compare and the write happen under an
 *           exclusive flock of ROOT/.lock, a compare-and-swap across
 *           processes;
 *   delete  likewise under the lock;
 *   list    walks the tree to every depth a key can have (fs-walk.c;
 *           hidden names and symlinked directories are skipped).
 *
 * TTLs live in sidecars (fs-sidecar.c); change notification is fs-watch.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include <persist/persist.h>
#include "fs-private.h"

#define FS_LOCK_FILE ".lock"

/* The error of a write (action: "write", "delete", ...) of key's document
   that failed with errno e. */
static int fs_config_write_error(struct fs_config *cfg, const char *key,
				 const char *action, int e,
				 struct persist_error *err)
{
	char what[PERSIST_KEY_MAX + 48];

	if (fs_errno_readonly(e)) {
		snprintf(what, sizeof(what), "configuration document \"%s\"", key);
		return fs_readonly_error(cfg->host, cfg->opts.root, what, e, err);
	}
	return cfg->host->error(err, PERSIST_EIO, e,
				"cannot %s configuration document \"%s\" in \"%s\": %s%s",
				action, key, cfg->opts.root, strerror(e),
				strcmp(action, "delete") != 0
					? "\nThe previous version is unchanged." : "");
}

/* Take the store's write lock (threads, then processes) to write key's
   document.  The lock file is opened (created) at the first write, so a
   store that only reads needs no write access; on a root this process
   may not write, an existing lock file opened read-only will do for
   flock(), and the write itself then says the root is read-only. */
static int fs_config_lock(struct fs_config *cfg, const char *key,
			  struct persist_error *err)
{
	int ret = 0;

	pthread_mutex_lock(&cfg->lock_mu);
	if (cfg->lock_fd < 0) {
		ret = fs_lockfile_open(cfg->root_fd, FS_LOCK_FILE, &cfg->lock_fd);
		if (fs_errno_readonly(ret)) {
			int fd = openat(cfg->root_fd, FS_LOCK_FILE,
					O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
						O_NOCTTY | O_NONBLOCK);
			if (fd >= 0) {
				cfg->lock_fd = fd;
				ret = 0;
			}
		}
		if (ret != 0) {
			pthread_mutex_unlock(&cfg->lock_mu);
			if (fs_errno_readonly(ret))
				return fs_config_write_error(cfg, key, "write",
							     ret, err);
			return cfg->host->error(err, PERSIST_EIO, ret,
						"cannot create lock file \"%s/%s\": %s",
						cfg->opts.root, FS_LOCK_FILE,
						strerror(ret));
		}
	}
	ret = fs_flock(cfg->lock_fd, LOCK_EX);
	if (ret != 0) {
		pthread_mutex_unlock(&cfg->lock_mu);
		return cfg->host->error(err, PERSIST_EIO, ret,
					"cannot lock \"%s/%s\": %s",
					cfg->opts.root, FS_LOCK_FILE,
					strerror(ret));
	}
	return PERSIST_OK;
}

/* Release the write lock. */
static void fs_config_unlock(struct fs_config *cfg)
{
	(void)fs_flock(cfg->lock_fd, LOCK_UN);
	pthread_mutex_unlock(&cfg->lock_mu);
}

/* Turn an errno from opening key's path into a status and message. */
static int fs_config_open_error(struct fs_config *cfg, const char *key,
				int e, struct persist_error *err)
{
	if (e == ENOENT || e == ENOTDIR)
		return cfg->host->error(err, PERSIST_ENOTFOUND, 0,
					"no configuration document \"%s\"", key);
	if (e == EXDEV || e == ELOOP)
		return cfg->host->error(err, PERSIST_EINVAL, e,
					"configuration key \"%s\" leads outside the root\nA symbolic link on its path points outside \"%s\".",
					key, cfg->opts.root);
	return cfg->host->error(err, PERSIST_EIO, e,
				"cannot open configuration document \"%s\" in \"%s\": %s",
				key, cfg->opts.root, strerror(e));
}

/* Read key's document once; its inode to ino_r/dev_r. */
static int fs_config_read_once(struct fs_config *cfg, const char *key,
			       int keep_data, struct fs_doc *doc_r,
			       dev_t *dev_r, ino_t *ino_r,
			       struct persist_error *err)
{
	const struct persist_host *host = cfg->host;
	char path[PERSIST_KEY_MAX + 16];
	struct stat sb;
	size_t cap, len = 0;
	char *data;
	int fd, ret;

	memset(doc_r, 0, sizeof(*doc_r));
	ret = fs_config_key_check(host, key, err);
	if (ret != PERSIST_OK)
		return ret;
	snprintf(path, sizeof(path), "%s%s", key, FS_DOC_SUFFIX);
	fd = fs_open_beneath(cfg->root_fd, path,
			     O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
	if (fd < 0)
		return fs_config_open_error(cfg, key, errno, err);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return host->error(err, PERSIST_ECORRUPT, 0,
				   "configuration document \"%s\" is not a regular file",
				   key);
	}
	if ((uint64_t)sb.st_size >= PERSIST_VALUE_MAX) {
		close(fd);
		return host->error(err, PERSIST_ECORRUPT, EFBIG,
				   "configuration document \"%s\" is too large (%lld bytes)",
				   key, (long long)sb.st_size);
	}
	*dev_r = sb.st_dev;
	*ino_r = sb.st_ino;
	cap = (size_t)sb.st_size + 1;
	data = host->alloc(cap + 1);
	if (data == NULL) {
		close(fd);
		return host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	/* Read to the end: an in-place edit may have changed the size. */
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *bigger;
			if (cap >= PERSIST_VALUE_MAX) {
				host->free(data);
				close(fd);
				return host->error(err, PERSIST_ECORRUPT, EFBIG,
						   "configuration document \"%s\" is too large",
						   key);
			}
			bigger = host->alloc(cap * 2 + 1);
			if (bigger == NULL) {
				host->free(data);
				close(fd);
				return host->error(err, PERSIST_ENOMEM, ENOMEM,
						   "out of memory");
			}
			memcpy(bigger, data, len);
			host->free(data);
			data = bigger;
			cap *= 2;
		}
		n = read(fd, data + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = errno;
			host->free(data);
			close(fd);
			return host->error(err, PERSIST_EIO, ret,
					   "cannot read configuration document \"%s\": %s",
					   key, strerror(ret));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	data[len] = '\0';
	host->etag(data, len, doc_r->etag);
	doc_r->expires_ms = fs_sidecar_expiry(cfg->root_fd, key, doc_r->etag);
	doc_r->expired = doc_r->expires_ms != 0 &&
			 doc_r->expires_ms <= host->now_ms();
	doc_r->len = len;
	if (keep_data)
		doc_r->data = data;
	else
		host->free(data);
	return PERSIST_OK;
}

/* Read key's document: bytes, ETag and expiry (see fs-private.h).  When
   no sidecar gave an expiry, make sure the file is still the one read: an
   expired document is unlinked before its sidecar, and a set without TTL
   renames the new document before removing the sidecar, so a reader
   racing with either would otherwise take an expired document for a live
   one. */
int fs_config_read(struct fs_config *cfg, const char *key, int keep_data,
		   struct fs_doc *doc_r, struct persist_error *err)
{
	char path[PERSIST_KEY_MAX + 16];
	struct stat sb;
	dev_t dev = 0;
	ino_t ino = 0;
	int ret;

	for (int tries = 0;; tries++) {
		int fd, same;

		ret = fs_config_read_once(cfg, key, keep_data, doc_r, &dev, &ino, err);
		if (ret != PERSIST_OK || doc_r->expires_ms != 0 || tries == 4)
			return ret;
		snprintf(path, sizeof(path), "%s%s", key, FS_DOC_SUFFIX);
		fd = fs_open_beneath(cfg->root_fd, path,
				     O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
		same = fd >= 0 && fstat(fd, &sb) == 0 && sb.st_dev == dev &&
		       sb.st_ino == ino;
		if (fd >= 0)
			close(fd);
		if (same)
			return PERSIST_OK;
		cfg->host->free(doc_r->data);
		doc_r->data = NULL;
	}
}

/* Unlink key's document and sidecar if it is expired (under the lock). */
static void fs_config_reclaim_locked(struct fs_config *cfg, const char *key)
{
	struct persist_error err;
	struct fs_doc doc;
	char name[FS_SEGMENT_MAX + 16];
	int dirfd;

	if (fs_config_read(cfg, key, 0, &doc, &err) != PERSIST_OK || !doc.expired)
		return;
	if (fs_key_dir_open(cfg->root_fd, key, 0, &dirfd, name) != 0)
		return;
	if (unlinkat(dirfd, name, 0) == 0) {
		(void)fs_sidecar_remove(dirfd, name, cfg->opts.sync);
		(void)fs_sync_dir(dirfd, cfg->opts.sync);
		cfg->host->log(cfg->sink, PERSIST_LOG_DEBUG,
			       "expired configuration document \"%s\" removed",
			       key);
	}
	close(dirfd);
}

/* Remove key's document if it is expired (takes the lock). */
void fs_config_reclaim(struct fs_config *cfg, const char *key)
{
	struct persist_error err;

	if (fs_config_lock(cfg, key, &err) != PERSIST_OK)
		return;
	fs_config_reclaim_locked(cfg, key);
	fs_config_unlock(cfg);
}

/* ---- ops --------------------------------------------------------------- */

/* Open a configuration store on the configured root (read access is
   enough: the lock file is made at the first write). */
int fs_config_open(void *plugin, const struct persist_store_args *args,
		   void **store_r, struct persist_error *err)
{
	struct fs_plugin *pl = plugin;
	const struct persist_host *host = pl->host;
	struct fs_config *cfg;
	int ret;

	if (args == NULL || args->size < sizeof(struct persist_store_args))
		return host->error(err, PERSIST_EINVAL, 0,
				   "store arguments too short");
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	cfg->plugin = pl;
	cfg->host = host;
	cfg->sink = args->sink;
	cfg->root_fd = cfg->lock_fd = -1;
	pthread_mutex_init(&cfg->lock_mu, NULL);
	ret = fs_options_parse(host, PERSIST_KIND_CONFIG, args->config_json,
			       &cfg->opts, err);
	if (ret == PERSIST_OK)
		ret = fs_root_open(host, cfg->opts.root, &cfg->root_fd, err);
	if (ret == PERSIST_OK)
		ret = fs_watch_start(cfg, &cfg->watch, err);
	if (ret != PERSIST_OK) {
		fs_config_close(cfg);
		return ret;
	}
	*store_r = cfg;
	return PERSIST_OK;
}

/* Stop the watcher and release the store. */
void fs_config_close(void *store)
{
	struct fs_config *cfg = store;

	if (cfg == NULL)
		return;
	if (cfg->watch != NULL)
		fs_watch_stop(cfg->watch);
	if (cfg->lock_fd >= 0)
		close(cfg->lock_fd);
	if (cfg->root_fd >= 0)
		close(cfg->root_fd);
	pthread_mutex_destroy(&cfg->lock_mu);
	fs_options_free(&cfg->opts);
	free(cfg);
}

/* Healthy when the root is still a directory this process can read (a
   read-only store is healthy: writes say why they fail). */
int fs_config_health(void *store, int64_t *latency_us_r,
		     struct persist_error *err)
{
	struct fs_config *cfg = store;
	int64_t start = cfg->host->monotonic_us();
	struct stat sb;

	memset(&sb, 0, sizeof(sb));
	sb.st_nlink = 1;
	errno = 0;
	if (fstatat(cfg->root_fd, ".", &sb, 0) < 0 || sb.st_nlink == 0 ||
	    faccessat(cfg->root_fd, ".", R_OK | X_OK, AT_EACCESS) < 0) {
		int e = errno != 0 ? errno : ENOENT;
		return cfg->host->error(err, PERSIST_EUNAVAIL, e,
					"configuration root \"%s\" is not usable: %s",
					cfg->opts.root,
					sb.st_nlink == 0 ? "it was removed" : strerror(e));
	}
	if (latency_us_r != NULL)
		*latency_us_r = cfg->host->monotonic_us() - start;
	return PERSIST_OK;
}

/* The document of key and its ETag. */
int fs_config_get(void *store, const char *key, struct persist_value *value_r,
		  struct persist_error *err)
{
	struct fs_config *cfg = store;
	struct fs_doc doc;
	char why[200];
	int ret;

	ret = fs_config_read(cfg, key, 1, &doc, err);
	if (ret != PERSIST_OK)
		return ret;
	if (doc.expired) {
		cfg->host->free(doc.data);
		return cfg->host->error(err, PERSIST_ENOTFOUND, 0,
					"no configuration document \"%s\" (expired)",
					key);
	}
	if (fs_json_parse(doc.data, doc.len, 0, NULL, why, sizeof(why)) < 0) {
		cfg->host->free(doc.data);
		return cfg->host->error(err, PERSIST_ECORRUPT, 0,
					"configuration document \"%s\" is not valid JSON\n%s/%s%s: %s.",
					key, cfg->opts.root, key, FS_DOC_SUFFIX,
					why);
	}
	value_r->data = doc.data;
	value_r->len = doc.len;
	memcpy(value_r->etag, doc.etag, sizeof(value_r->etag));
	value_r->expires_ms = doc.expires_ms;
	return PERSIST_OK;
}

/* Write key's document atomically; with if_match only over that ETag. */
int fs_config_set(void *store, const char *key, const void *data, size_t len,
		  const struct persist_write_opts *opts,
		  char etag_r[PERSIST_ETAG_MAX], struct persist_error *err)
{
	struct fs_config *cfg = store;
	const struct persist_host *host = cfg->host;
	const char *if_match = NULL;
	int64_t ttl_ms = 0, expires = 0;
	char etag[PERSIST_ETAG_MAX], why[200], name[FS_SEGMENT_MAX + 16];
	struct persist_error rerr;
	struct fs_doc cur;
	int ret, have_cur, dirfd, e;

	ret = fs_config_key_check(host, key, err);
	if (ret != PERSIST_OK)
		return ret;
	if (data == NULL && len > 0)
		return host->error(err, PERSIST_EINVAL, 0,
				   "no data for configuration document \"%s\"", key);
	pc_write_opts(opts, &if_match, &ttl_ms);
	if (ttl_ms < 0)
		return host->error(err, PERSIST_EINVAL, 0,
				   "negative TTL for configuration document \"%s\"",
				   key);
	if (len >= PERSIST_VALUE_MAX)
		return host->error(err, PERSIST_EINVAL, 0,
				   "configuration document \"%s\" is too large (%zu bytes)",
				   key, len);
	if (fs_json_parse(data, len, 0, NULL, why, sizeof(why)) < 0)
		return host->error(err, PERSIST_EINVAL, 0,
				   "configuration document \"%s\" is not valid JSON\n%s.",
				   key, why);
	host->etag(data, len, etag);
	if (ttl_ms > 0)
		expires = persist_expiry_ms(host->now_ms(), ttl_ms);

	ret = fs_config_lock(cfg, key, err);
	if (ret != PERSIST_OK)
		return ret;
	ret = fs_config_read(cfg, key, 0, &cur, &rerr);
	have_cur = ret == PERSIST_OK && !cur.expired;
	if (ret != PERSIST_OK && ret != PERSIST_ENOTFOUND &&
	    ret != PERSIST_ECORRUPT) {
		if (err != NULL)
			*err = rerr;
		goto out;
	}
	ret = PERSIST_OK;
	if (if_match != NULL && !have_cur) {
		ret = host->error(err, PERSIST_ECONFLICT, 0,
				  "configuration document \"%s\" does not exist\nIt was expected with ETag %s.",
				  key, if_match);
		goto out;
	}
	if (if_match != NULL && strcmp(if_match, cur.etag) != 0) {
		ret = host->error(err, PERSIST_ECONFLICT, 0,
				  "configuration document \"%s\" was changed by another writer\nIts ETag is %s, not %s.",
				  key, cur.etag, if_match);
		goto out;
	}
	e = fs_key_dir_open(cfg->root_fd, key, 1, &dirfd, name);
	if (e != 0) {
		if (e == EXDEV || e == ELOOP || e == ENOTDIR)
			ret = host->error(err, PERSIST_EINVAL, e,
					  "cannot store configuration key \"%s\"\nA path component is a file or a symbolic link leading outside \"%s\".",
					  key, cfg->opts.root);
		else
			ret = fs_config_write_error(cfg, key, "create the directory of",
						    e, err);
		goto out;
	}
	e = 0;
	if (ttl_ms > 0)
		e = fs_sidecar_write(dirfd, name, etag, expires,
				     have_cur && cur.expires_ms ? cur.etag : NULL,
				     cur.expires_ms, cfg->opts.sync);
	if (e == 0)
		e = fs_replace_file(dirfd, name, data, len, cfg->opts.sync);
	if (e == 0 && ttl_ms == 0)
		e = fs_sidecar_remove(dirfd, name, cfg->opts.sync);
	close(dirfd);
	if (e != 0) {
		ret = fs_config_write_error(cfg, key, "write", e, err);
		goto out;
	}
	if (etag_r != NULL)
		memcpy(etag_r, etag, PERSIST_ETAG_MAX);
out:
	fs_config_unlock(cfg);
	return ret;
}

/* Delete key's document; with if_match only when it has that ETag. */
int fs_config_del(void *store, const char *key, const char *if_match,
		  struct persist_error *err)
{
	struct fs_config *cfg = store;
	const struct persist_host *host = cfg->host;
	char name[FS_SEGMENT_MAX + 16];
	struct fs_doc cur;
	int ret, dirfd, e;

	ret = fs_config_key_check(host, key, err);
	if (ret != PERSIST_OK)
		return ret;
	ret = fs_config_lock(cfg, key, err);
	if (ret != PERSIST_OK)
		return ret;
	ret = fs_config_read(cfg, key, 0, &cur, err);
	if (ret == PERSIST_ECORRUPT)
		ret = PERSIST_OK; /* not a regular file: still refuse below */
	if (ret != PERSIST_OK)
		goto out;
	if (cur.expired) {
		fs_config_reclaim_locked(cfg, key);
		ret = host->error(err, PERSIST_ENOTFOUND, 0,
				  "no configuration document \"%s\" (expired)", key);
		goto out;
	}
	if (if_match != NULL && strcmp(if_match, cur.etag) != 0) {
		ret = host->error(err, PERSIST_ECONFLICT, 0,
				  "configuration document \"%s\" was changed by another writer\nIts ETag is %s, not %s.",
				  key, cur.etag, if_match);
		goto out;
	}
	e = fs_key_dir_open(cfg->root_fd, key, 0, &dirfd, name);
	if (e == 0) {
		if (unlinkat(dirfd, name, 0) < 0)
			e = errno;
		if (e == 0)
			e = fs_sidecar_remove(dirfd, name, cfg->opts.sync);
		if (e == 0)
			e = fs_sync_dir(dirfd, cfg->opts.sync);
		close(dirfd);
	}
	if (e == ENOENT)
		ret = host->error(err, PERSIST_ENOTFOUND, 0,
				  "no configuration document \"%s\"", key);
	else if (e != 0)
		ret = fs_config_write_error(cfg, key, "delete", e, err);
out:
	fs_config_unlock(cfg);
	return ret;
}

struct fs_list_ctx {
	struct fs_config *cfg;
	persist_emit_fn *emit;
	void *ctx;
	int stopped;     /* the callback asked to stop */
};

/* Emit one document found by the walk (fs_walk doc callback): symlinks
   must resolve beneath the root, documents with a sidecar must not be
   expired.  Without a sidecar, check that the document is still there:
   an expired one is removed before its sidecar, so "no sidecar, document
   present" means it was not reclaimed under our feet. */
static int fs_list_doc(void *ctx, int dirfd, const char *key,
		       const char *name, int is_link)
{
	struct fs_list_ctx *lc = ctx;
	char side[FS_SEGMENT_MAX + 32];
	struct persist_error err;
	struct persist_item item;
	struct fs_doc doc;
	struct stat sb;

	snprintf(side, sizeof(side), ".%s.ttl", name);
	if (is_link || faccessat(dirfd, side, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		if (fs_config_read(lc->cfg, key, 0, &doc, &err) != PERSIST_OK ||
		    doc.expired)
			return 0;
	} else if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
		return 0;
	}
	memset(&item, 0, sizeof(item));
	item.size = sizeof(item);
	item.key = key;
	lc->stopped = lc->emit(lc->ctx, &item) != 0;
	return lc->stopped;
}

/* Emit every document's key, at every depth a key can have. */
int fs_config_list(void *store, persist_emit_fn *emit, void *ctx,
		   struct persist_error *err)
{
	struct fs_config *cfg = store;
	struct fs_list_ctx lc;
	struct fs_walk walk;

	memset(&lc, 0, sizeof(lc));
	lc.cfg = cfg;
	lc.emit = emit;
	lc.ctx = ctx;
	memset(&walk, 0, sizeof(walk));
	walk.host = cfg->host;
	walk.rootfd = cfg->root_fd;
	walk.doc = fs_list_doc;
	walk.ctx = &lc;
	fs_walk_run(&walk, "");
	if (walk.error != 0 && !lc.stopped)
		return cfg->host->error(err, walk.error == ENOMEM ? PERSIST_ENOMEM
								   : PERSIST_EIO,
					walk.error,
					"cannot list configuration directory \"%s/%s\": %s",
					cfg->opts.root, walk.failed,
					strerror(walk.error));
	return PERSIST_OK;
}
