/*
 * plugins/filesystem/fs-watch.c - change notification for the configuration
 * store.  One thread per store waits on an inotify descriptor watching the
 * root and every subdirectory, and calls host->config_changed(sink, key,
 * etag) when a document's content changes, whoever changed it: this
 * process, another one, or an administrator's editor.
 *
 *   - The thread keeps the last-known ETag of every document (read at open,
 *     before open returns), so a rewrite with identical content, by rename
 *     or in place, does not notify.
 *   - A finished write (IN_CLOSE_WRITE) or a rename into place
 *     (IN_MOVED_TO, what editors and our own set do) is looked at at once;
 *     an in-place modification or creation is looked at FS_WATCH_SETTLE_US
 *     (50 ms) later, a removal or rename away FS_WATCH_GONE_US (20 ms)
 *     later, so that "rename old away, write new" editors and half-written
 *     files do not cause spurious notifications.
 *     Either way a change is delivered well within 100 ms.
 *   - A document removed, moved away or expired notifies with etag NULL.
 *     The thread also wakes at the nearest known expiry (from the TTL
 *     sidecars), removes the expired document and so notifies.
 *   - New subdirectories are watched (and scanned) as they appear; a
 *     directory removed or moved away notifies every key below it.
 *   - An inotify queue overflow rescans the whole tree and notifies what
 *     differs from the known ETags.
 *   - Opens and closes of documents are counted, so a document modified
 *     in place is looked at when its writer closes it (or after 2 s), not
 *     half-written, however slow the writer.
 *   - Hidden names (temporaries, sidecars, the lock file) are not documents;
 *     a sidecar event re-checks its document (its TTL may have changed).
 *
 * Everything below is touched only by the watcher thread after start,
 * except during fs_watch_start (before the thread exists).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <persist/persist.h>
#include "fs-private.h"

/* How long to let a file settle before looking: an in-place writer gets
   IN_CLOSE_WRITE looked at at once, so this only matters for writers that
   keep the file open, and for "rename away, write new" editors. */
#define FS_WATCH_SETTLE_US 50000
#define FS_WATCH_GONE_US 50000
/* A modified file still open somewhere is looked at when it is closed, or
   after this long at the latest. */
#define FS_WATCH_OPEN_MAX_US 2000000
#define FS_WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | \
		       IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB |   \
		       IN_OPEN | IN_CLOSE_NOWRITE |                      \
		       IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR |      \
		       IN_DONT_FOLLOW)
#define FS_WATCH_DEPTH 64

struct fs_watch {
	struct fs_config *cfg;
	const struct persist_host *host;
	int ifd, stop_fd;
	pthread_t thread;
	int started;
	char *root_path;       /* absolute path of the root, for add_watch */
	char **wd_dirs;        /* wd -> directory relative to root ("" root) */
	size_t n_wd;
	struct fs_table *known;   /* key -> strdup'ed ETag */
	struct fs_table *pending; /* key -> int64_t[2]: due, first event (us) */
	struct fs_table *opens;   /* key -> int*: opens minus closes seen */
	struct fs_table *expiry;  /* key -> int64_t* wall-clock expiry */
};

/* Tell the core that key changed (etag NULL: gone). */
static void fs_watch_notify(struct fs_watch *w, const char *key,
			    const char *etag)
{
	w->host->config_changed(w->cfg->sink, key, etag);
}

/* Remember an int64 for key in table t. */
static void fs_watch_put_time(struct fs_table *t, const char *key, int64_t v)
{
	int64_t *p = fs_table_get(t, key);

	if (p != NULL) {
		*p = v;
		return;
	}
	p = malloc(sizeof(*p));
	if (p == NULL)
		return;
	*p = v;
	if (fs_table_put(t, key, p) < 0)
		free(p);
}

/* Look at key's document now and notify when its ETag changed. */
static void fs_watch_check(struct fs_watch *w, const char *key, int notify)
{
	struct persist_error err;
	struct fs_doc doc;
	const char *old = fs_table_get(w->known, key);
	int ret;

	(void)fs_table_del(w->pending, key);
	ret = fs_config_read(w->cfg, key, 0, &doc, &err);
	if (ret != PERSIST_OK || doc.expired) {
		(void)fs_table_del(w->expiry, key);
		if (old != NULL) {
			(void)fs_table_del(w->known, key);
			if (notify)
				fs_watch_notify(w, key, NULL);
		}
		if (ret == PERSIST_OK && doc.expired)
			fs_config_reclaim(w->cfg, key);
		return;
	}
	if (doc.expires_ms != 0)
		fs_watch_put_time(w->expiry, key, doc.expires_ms);
	else
		(void)fs_table_del(w->expiry, key);
	if (old != NULL && strcmp(old, doc.etag) == 0)
		return;
	{
		char *copy = strdup(doc.etag);
		if (copy == NULL || fs_table_put(w->known, key, copy) < 0) {
			free(copy);
			return;
		}
	}
	if (notify)
		fs_watch_notify(w, key, doc.etag);
}

/* Remember that directory rel has watch descriptor wd. */
static void fs_watch_set_wd(struct fs_watch *w, int wd, const char *rel)
{
	if ((size_t)wd >= w->n_wd) {
		size_t n = (size_t)wd * 2 + 16;
		char **p = realloc(w->wd_dirs, n * sizeof(*p));
		if (p == NULL)
			return;
		memset(p + w->n_wd, 0, (n - w->n_wd) * sizeof(*p));
		w->wd_dirs = p;
		w->n_wd = n;
	}
	free(w->wd_dirs[wd]);
	w->wd_dirs[wd] = strdup(rel);
}

/* Watch directory rel and look at everything in it (recursively); 0 or
   the errno of inotify_add_watch for rel itself. */
static int fs_watch_add_dir(struct fs_watch *w, const char *rel, int notify,
			    int depth)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;
	int wd, fd;

	if (depth > FS_WATCH_DEPTH)
		return 0;
	snprintf(path, sizeof(path), "%s%s%s", w->root_path,
		 rel[0] != '\0' ? "/" : "", rel);
	wd = inotify_add_watch(w->ifd, path, FS_WATCH_MASK);
	if (wd < 0) {
		int e = errno;
		w->host->log(w->cfg->sink, PERSIST_LOG_WARNING,
			     "filesystem: cannot watch \"%s\": %s", path,
			     strerror(e));
		return e;
	}
	fs_watch_set_wd(w, wd, rel);
	fd = fs_open_beneath(w->cfg->root_fd, rel[0] != '\0' ? rel : ".",
			     O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(dir)) != NULL) {
		char sub[PERSIST_KEY_MAX + 64];
		size_t n = strlen(de->d_name);
		struct stat sb;

		if (de->d_name[0] == '.')
			continue;
		if (rel[0] != '\0')
			snprintf(sub, sizeof(sub), "%s/%s", rel, de->d_name);
		else
			snprintf(sub, sizeof(sub), "%s", de->d_name);
		if (strlen(sub) > PERSIST_KEY_MAX + 8)
			continue;
		if (fstatat(dirfd(dir), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			(void)fs_watch_add_dir(w, sub, notify, depth + 1);
		} else if (n > strlen(FS_DOC_SUFFIX) &&
			   strcmp(de->d_name + n - strlen(FS_DOC_SUFFIX),
				  FS_DOC_SUFFIX) == 0) {
			struct persist_error err;
			sub[strlen(sub) - strlen(FS_DOC_SUFFIX)] = '\0';
			if (fs_config_key_check(w->host, sub, &err) == PERSIST_OK)
				fs_watch_check(w, sub, notify);
		}
	}
	closedir(dir);
	return 0;
}

struct fs_prefix_ctx {
	const char *prefix;
	size_t len;
	char **keys;
	size_t n, cap;
};

/* Collect the keys starting with ctx->prefix. */
static int fs_watch_collect(void *ctx, const char *key, void *value)
{
	struct fs_prefix_ctx *pc = ctx;

	(void)value;
	if (strncmp(key, pc->prefix, pc->len) != 0)
		return 0;
	if (pc->n == pc->cap) {
		size_t cap = pc->cap ? pc->cap * 2 : 16;
		char **p = realloc(pc->keys, cap * sizeof(*p));
		if (p == NULL)
			return 0;
		pc->keys = p;
		pc->cap = cap;
	}
	pc->keys[pc->n] = strdup(key);
	if (pc->keys[pc->n] != NULL)
		pc->n++;
	return 0;
}

/* Directory rel is gone (removed or moved away): forget its watches and
   re-check every known key below it (which then notifies NULL). */
static void fs_watch_drop_dir(struct fs_watch *w, const char *rel)
{
	char prefix[PERSIST_KEY_MAX + 72];
	struct fs_prefix_ctx pc;
	size_t rlen = strlen(rel);

	for (size_t i = 0; i < w->n_wd; i++) {
		const char *d = w->wd_dirs[i];
		if (d != NULL && strncmp(d, rel, rlen) == 0 &&
		    (d[rlen] == '\0' || d[rlen] == '/')) {
			(void)inotify_rm_watch(w->ifd, (int)i);
			free(w->wd_dirs[i]);
			w->wd_dirs[i] = NULL;
		}
	}
	snprintf(prefix, sizeof(prefix), "%s/", rel);
	memset(&pc, 0, sizeof(pc));
	pc.prefix = prefix;
	pc.len = strlen(prefix);
	(void)fs_table_each(w->known, fs_watch_collect, &pc);
	for (size_t i = 0; i < pc.n; i++) {
		fs_watch_check(w, pc.keys[i], 1);
		free(pc.keys[i]);
	}
	free(pc.keys);
}

/* After an overflow: rescan everything and re-check every known key. */
static void fs_watch_rescan(struct fs_watch *w)
{
	struct fs_prefix_ctx pc;

	w->host->log(w->cfg->sink, PERSIST_LOG_INFO,
		     "filesystem: inotify queue overflow on \"%s\", rescanning",
		     w->root_path);
	memset(&pc, 0, sizeof(pc));
	pc.prefix = "";
	(void)fs_table_each(w->known, fs_watch_collect, &pc);
	for (size_t i = 0; i < pc.n; i++) {
		fs_watch_check(w, pc.keys[i], 1);
		free(pc.keys[i]);
	}
	free(pc.keys);
	(void)fs_watch_add_dir(w, "", 1, 0);
}

/* Key of a file event in directory rel, or 0 when the name is not a
   document (a sidecar ".X.json.ttl" maps to X's key). */
static int fs_watch_key(struct fs_watch *w, const char *rel, const char *name,
			char key_r[PERSIST_KEY_MAX + 64])
{
	struct persist_error err;
	size_t n = strlen(name), sl = strlen(FS_DOC_SUFFIX);
	char stem[NAME_MAX + 1];

	if (name[0] == '.') {
		/* ".X.json.ttl" */
		if (n < 1 + sl + 4 + 1 || strcmp(name + n - 4, ".ttl") != 0 ||
		    strncmp(name + n - 4 - sl, FS_DOC_SUFFIX, sl) != 0)
			return 0;
		snprintf(stem, sizeof(stem), "%.*s", (int)(n - 1 - sl - 4),
			 name + 1);
	} else {
		if (n <= sl || strcmp(name + n - sl, FS_DOC_SUFFIX) != 0)
			return 0;
		snprintf(stem, sizeof(stem), "%.*s", (int)(n - sl), name);
	}
	if (rel[0] != '\0')
		snprintf(key_r, PERSIST_KEY_MAX + 64, "%s/%s", rel, stem);
	else
		snprintf(key_r, PERSIST_KEY_MAX + 64, "%s", stem);
	return fs_config_key_check(w->host, key_r, &err) == PERSIST_OK;
}

/* Count an open (+1) or a close (-1) of key's document. */
static void fs_watch_count_open(struct fs_watch *w, const char *key, int d)
{
	int *n = fs_table_get(w->opens, key);

	if (n == NULL) {
		if (d < 0 || (n = malloc(sizeof(*n))) == NULL)
			return;
		*n = 0;
		if (fs_table_put(w->opens, key, n) < 0) {
			free(n);
			return;
		}
	}
	*n += d;
	if (*n <= 0)
		(void)fs_table_del(w->opens, key);
}

/* Handle one inotify event. */
static void fs_watch_event(struct fs_watch *w, const struct inotify_event *ev)
{
	char key[PERSIST_KEY_MAX + 64];
	const char *rel;

	if (ev->mask & IN_Q_OVERFLOW) {
		fs_table_clear(w->opens); /* counts are lost with the events */
		fs_watch_rescan(w);
		return;
	}
	if (ev->wd < 0 || (size_t)ev->wd >= w->n_wd ||
	    (rel = w->wd_dirs[ev->wd]) == NULL)
		return;
	if (ev->mask & IN_IGNORED) {
		free(w->wd_dirs[ev->wd]);
		w->wd_dirs[ev->wd] = NULL;
		return;
	}
	if (ev->len == 0 || ev->name[0] == '\0') {
		if (rel[0] == '\0' && (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)))
			w->host->log(w->cfg->sink, PERSIST_LOG_ERROR,
				     "filesystem: configuration root \"%s\" was removed or moved",
				     w->root_path);
		return;
	}
	if (ev->mask & IN_ISDIR) {
		char sub[PERSIST_KEY_MAX + 64];

		if (ev->name[0] == '.')
			return;
		if (rel[0] != '\0')
			snprintf(sub, sizeof(sub), "%s/%s", rel, ev->name);
		else
			snprintf(sub, sizeof(sub), "%s", ev->name);
		if (ev->mask & (IN_CREATE | IN_MOVED_TO))
			(void)fs_watch_add_dir(w, sub, 1, 0);
		else if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
			fs_watch_drop_dir(w, sub);
		return;
	}
	if (!fs_watch_key(w, rel, ev->name, key))
		return;
	if (ev->mask & (IN_OPEN | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE)) {
		if (ev->name[0] != '.')
			fs_watch_count_open(w, key, ev->mask & IN_OPEN ? 1 : -1);
		if (!(ev->mask & IN_CLOSE_WRITE))
			return;
	}
	if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
		fs_watch_check(w, key, 1);
	} else if (fs_table_get(w->pending, key) == NULL) {
		int64_t *p = malloc(2 * sizeof(*p));
		if (p == NULL)
			return;
		p[1] = w->host->monotonic_us();
		p[0] = p[1] + (ev->mask & (IN_DELETE | IN_MOVED_FROM)
				       ? FS_WATCH_GONE_US : FS_WATCH_SETTLE_US);
		if (fs_table_put(w->pending, key, p) < 0)
			free(p);
	}
}

struct fs_due_ctx {
	struct fs_watch *w;
	int64_t now_us, now_ms;
	int64_t next_us;      /* earliest future deadline, monotonic */
	struct fs_prefix_ctx due;
};

/* Collect pending keys whose settle time has come (postponing those still
   open somewhere); track the next one. */
static int fs_watch_due_pending(void *ctx, const char *key, void *value)
{
	struct fs_due_ctx *dc = ctx;
	int64_t *p = value, t = p[0];

	if (t <= dc->now_us && fs_table_get(dc->w->opens, key) != NULL &&
	    dc->now_us - p[1] < FS_WATCH_OPEN_MAX_US) {
		p[0] = t = dc->now_us + FS_WATCH_SETTLE_US;
	}
	if (t <= dc->now_us)
		return fs_watch_collect(&dc->due, key, value);
	if (dc->next_us == 0 || t < dc->next_us)
		dc->next_us = t;
	return 0;
}

/* Collect keys whose expiry has come; track the next one. */
static int fs_watch_due_expiry(void *ctx, const char *key, void *value)
{
	struct fs_due_ctx *dc = ctx;
	int64_t t = *(int64_t *)value;
	int64_t at = dc->now_us + (t - dc->now_ms) * 1000;

	if (t <= dc->now_ms)
		return fs_watch_collect(&dc->due, key, value);
	if (dc->next_us == 0 || at < dc->next_us)
		dc->next_us = at;
	return 0;
}

/* Check every key that is due; the poll timeout (ms, -1: none) until the
   next one. */
static int fs_watch_timers(struct fs_watch *w)
{
	struct fs_due_ctx dc;
	int64_t wait_ms;

	memset(&dc, 0, sizeof(dc));
	dc.w = w;
	dc.now_us = w->host->monotonic_us();
	dc.now_ms = w->host->now_ms();
	dc.due.prefix = "";
	(void)fs_table_each(w->pending, fs_watch_due_pending, &dc);
	(void)fs_table_each(w->expiry, fs_watch_due_expiry, &dc);
	for (size_t i = 0; i < dc.due.n; i++) {
		fs_watch_check(w, dc.due.keys[i], 1);
		free(dc.due.keys[i]);
	}
	free(dc.due.keys);
	if (dc.due.n > 0)
		return 0; /* re-evaluate at once: checks may add timers */
	if (dc.next_us == 0)
		return -1;
	wait_ms = (dc.next_us - dc.now_us + 999) / 1000;
	if (wait_ms < 1)
		wait_ms = 1;
	return wait_ms > 60000 ? 60000 : (int)wait_ms;
}

/* The watcher thread: poll inotify and the stop eventfd. */
static void *fs_watch_thread(void *arg)
{
	struct fs_watch *w = arg;
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		struct pollfd pfd[2];
		int timeout = fs_watch_timers(w);

		pfd[0].fd = w->stop_fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = w->ifd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, timeout) < 0) {
			if (errno == EINTR)
				continue;
			w->host->log(w->cfg->sink, PERSIST_LOG_ERROR,
				     "filesystem: watcher poll failed: %s",
				     strerror(errno));
			break;
		}
		if (pfd[0].revents != 0)
			break;
		if (pfd[1].revents == 0)
			continue;
		for (;;) {
			ssize_t n = read(w->ifd, buf, sizeof(buf));
			char *p;

			if (n <= 0)
				break;
			for (p = buf; p < buf + n;) {
				const struct inotify_event *ev = (const void *)p;
				fs_watch_event(w, ev);
				p += sizeof(*ev) + ev->len;
			}
		}
	}
	return NULL;
}

/* Release the watcher's memory and descriptors (thread not running). */
static void fs_watch_free(struct fs_watch *w)
{
	if (w->ifd >= 0)
		close(w->ifd);
	if (w->stop_fd >= 0)
		close(w->stop_fd);
	for (size_t i = 0; i < w->n_wd; i++)
		free(w->wd_dirs[i]);
	free(w->wd_dirs);
	fs_table_free(w->known);
	fs_table_free(w->pending);
	fs_table_free(w->opens);
	fs_table_free(w->expiry);
	free(w->root_path);
	free(w);
}

/* Watch the store's root: scan it (recording ETags), start the thread. */
int fs_watch_start(struct fs_config *cfg, struct fs_watch **watch_r,
		   struct persist_error *err)
{
	const struct persist_host *host = cfg->host;
	struct fs_watch *w;
	int e;

	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	w->cfg = cfg;
	w->host = host;
	w->ifd = w->stop_fd = -1;
	w->known = fs_table_new(free);
	w->pending = fs_table_new(free);
	w->opens = fs_table_new(free);
	w->expiry = fs_table_new(free);
	w->root_path = realpath(cfg->opts.root, NULL);
	if (w->known == NULL || w->pending == NULL || w->expiry == NULL ||
	    w->opens == NULL ||
	    w->root_path == NULL) {
		e = w->root_path == NULL ? errno : ENOMEM;
		fs_watch_free(w);
		return host->error(err, e == ENOMEM ? PERSIST_ENOMEM : PERSIST_EIO,
				   e, "cannot resolve root \"%s\": %s",
				   cfg->opts.root, strerror(e));
	}
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	w->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->ifd < 0 || w->stop_fd < 0) {
		e = errno;
		fs_watch_free(w);
		return host->error(err, PERSIST_EIO, e,
				   "cannot watch \"%s\" for changes: %s\nRaise fs.inotify.max_user_instances if it is exhausted.",
				   cfg->opts.root, strerror(e));
	}
	e = fs_watch_add_dir(w, "", 0, 0);
	if (e != 0) {
		fs_watch_free(w);
		return host->error(err, PERSIST_EIO, e,
				   "cannot watch \"%s\" for changes: %s\nRaise fs.inotify.max_user_watches if it is exhausted.",
				   cfg->opts.root, strerror(e));
	}
	e = pthread_create(&w->thread, NULL, fs_watch_thread, w);
	if (e != 0) {
		fs_watch_free(w);
		return host->error(err, PERSIST_EIO, e,
				   "cannot start the watcher thread: %s",
				   strerror(e));
	}
	w->started = 1;
	*watch_r = w;
	return PERSIST_OK;
}

/* Stop the thread (waiting for it) and free the watcher. */
void fs_watch_stop(struct fs_watch *w)
{
	uint64_t one = 1;

	if (w == NULL)
		return;
	if (w->started) {
		while (write(w->stop_fd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
		pthread_join(w->thread, NULL);
	}
	fs_watch_free(w);
}
