/*
 * plugins/filesystem/fs-watch.c - change notification for the configuration
 * store.  One thread per store waits on an inotify descriptor watching the
 * root and every subdirectory, and calls host->config_changed(sink, key,
 * etag) when a document's content changes, whoever changed it: this
 * process, another one, or an administrator's editor.
 *
 *   - The thread keeps the last ETag announced for every document (read at
 *     open, before open returns), and announces a state only when its ETag
 *     differs from that one, so a rewrite with identical content, by rename
 *     or in place, does not notify.
 *   - Events never read a document: they only mark its key pending (when
 *     to look, when its last event came, whether that event finished a
 *     write).  The thread looks only after it has handled every queued
 *     event, so a stale event never makes it look at a document that is
 *     being rewritten meanwhile (the rewrite's own events say so).
 *   - A look that raced a change is thrown away and repeated once the
 *     change settles: the document is stat'ed before and after the read
 *     (same inode, size and times, and as many bytes read as the size),
 *     and the events queued meanwhile are handled before deciding.  A
 *     state that could not be read completely is never announced.
 *   - After a finished write (IN_CLOSE_WRITE) or a rename into place
 *     (IN_MOVED_TO, what editors and our own set do) with no event since,
 *     the document is looked at at once, and announced at once when its
 *     content is JSON.  Anything else is announced only once it has
 *     settled: content when no event came for FS_WATCH_SETTLE_US (50 ms)
 *     (and, unless it is JSON, nobody holds the document open), a missing
 *     document when no event came for FS_WATCH_GONE_US (50 ms), so "rename
 *     old away, write new" editors, truncated and half-written files do
 *     not cause notifications, however late the thread runs.  Either way a
 *     change is delivered well within 100 ms of its last write.
 *   - A document removed, moved away or expired notifies with etag NULL.
 *     The thread also wakes at the nearest known expiry (from the TTL
 *     sidecars), removes the expired document and so notifies.
 *   - New subdirectories are watched (and scanned) as they appear; a
 *     directory removed or moved away notifies every key below it.
 *   - An inotify queue overflow rescans the whole tree and notifies what
 *     differs from the known ETags, once settled.
 *   - Opens and closes of documents are counted, so a document modified
 *     in place is looked at when its writer closes it (or after 2 s), not
 *     half-written, however slow the writer; content that is not JSON (or
 *     a file that cannot be read, announced as gone) waits until nobody
 *     holds it open, or 2 s without an event.  The counts are a hint:
 *     inotify merges identical consecutive events, so an open or close can
 *     go uncounted; a count left too high only delays such a state.
 *   - Hidden names (temporaries, sidecars, the lock file) are not documents;
 *     a sidecar event re-checks its document (its TTL may have changed).
 *
 * Everything below is touched only by the watcher thread after start,
 * except during fs_watch_start (before the thread exists).
 */
#define _GNU_SOURCE /* O_PATH */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <persist/persist.h>
#include "fs-private.h"

/* How long a document must stay without events before a state that is not
   a finished write is announced: content (or an unreadable file), and a
   missing document ("rename away, write new" editors). */
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
/* The longest the thread sleeps without a reason to wake (ms); also caps
   how far ahead an expiry is scheduled, so an expiry of any size (a
   sidecar may hold up to INT64_MAX) never overflows the conversion. */
#define FS_WATCH_WAKE_MAX_MS 60000

/* What an event (or a scan) says about a document. */
enum fs_touch {
	FS_TOUCH_DONE,    /* a write finished: closed after writing, renamed in */
	FS_TOUCH_WRITE,   /* modified or created: a write may be under way */
	FS_TOUCH_GONE,    /* removed or moved away */
	FS_TOUCH_ATTR,    /* attributes changed */
	FS_TOUCH_SIDECAR, /* its TTL sidecar changed */
	FS_TOUCH_FOUND,   /* found in a directory that appeared */
	FS_TOUCH_RESCAN   /* events were lost (queue overflow) */
};

/* A key to look at (value of the pending table). */
struct fs_pending {
	int64_t due;      /* look then (monotonic us) */
	int64_t first;    /* first event since the key was last settled */
	int64_t last;     /* last event on the document itself (0: none) */
	uint64_t seq;     /* w->seq at the last event for the key */
	int complete;     /* the last event on the document finished a write */
};

/* What a look at a document found. */
enum fs_look_state {
	FS_LOOK_DOC,      /* read completely: etag, expiry, json */
	FS_LOOK_GONE,     /* absent, before and after the read */
	FS_LOOK_ERROR,    /* cannot be read (code) */
	FS_LOOK_TORN      /* changed while it was read: look again */
};

struct fs_look {
	enum fs_look_state state;
	struct fs_doc doc;
	int json;         /* FS_LOOK_DOC: the content parses as JSON */
	int code;         /* FS_LOOK_ERROR: the status of the read */
};

struct fs_watch {
	struct fs_config *cfg;
	const struct persist_host *host;
	int ifd, stop_fd;
	pthread_t thread;
	int started;
	char *root_path;       /* absolute path of the root, for add_watch */
	char **wd_dirs;        /* wd -> directory relative to root ("" root) */
	size_t n_wd;
	uint64_t seq;          /* events handled so far */
	struct pc_map *known;   /* key -> strdup'ed ETag last announced */
	struct pc_map *pending; /* key -> struct fs_pending */
	struct pc_map *opens;   /* key -> int*: opens minus closes seen */
	struct pc_map *expiry;  /* key -> int64_t* wall-clock expiry */
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
};

/* How a directory scan treats the documents it finds. */
enum fs_scan {
	FS_SCAN_START,    /* at open: record their ETags, announce nothing */
	FS_SCAN_FOUND,    /* a directory appeared: look at them at once */
	FS_SCAN_RESCAN    /* after an overflow: look once they settle */
};

static void fs_watch_drain(struct fs_watch *w);

/* Tell the core that key changed (etag NULL: gone). */
static void fs_watch_notify(struct fs_watch *w, const char *key,
			    const char *etag)
{
	w->host->config_changed(w->cfg->sink, key, etag);
}

/* Remember an int64 for key in table t. */
static void fs_watch_put_time(struct pc_map *t, const char *key, int64_t v)
{
	int64_t *p = pc_map_get(t, key);

	if (p != NULL) {
		*p = v;
		return;
	}
	p = malloc(sizeof(*p));
	if (p == NULL)
		return;
	*p = v;
	if (pc_map_put(t, key, p) < 0)
		free(p);
}

/* key's pending entry, created (nothing seen yet) when absent; NULL only
   when out of memory. */
static struct fs_pending *fs_watch_pending(struct fs_watch *w, const char *key,
					   int64_t now, int *created_r)
{
	struct fs_pending *p = pc_map_get(w->pending, key);

	*created_r = 0;
	if (p != NULL)
		return p;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->due = now;
	p->first = now;
	p->complete = 1;
	if (pc_map_put(w->pending, key, p) < 0) {
		free(p);
		return NULL;
	}
	*created_r = 1;
	return p;
}

/* Record what an event (or scan) says about key's document: when to look
   at it, and whether a write may still be under way. */
static void fs_watch_touch(struct fs_watch *w, const char *key,
			   enum fs_touch what)
{
	int64_t now = w->host->monotonic_us(), at = now;
	struct fs_pending *p;
	int created, later = 0;

	p = fs_watch_pending(w, key, now, &created);
	if (p == NULL)
		return;
	p->seq = ++w->seq;
	switch (what) {
	case FS_TOUCH_DONE:
	case FS_TOUCH_FOUND:
		p->last = now;
		p->complete = 1;
		break;
	case FS_TOUCH_WRITE:
	case FS_TOUCH_RESCAN:
		p->last = now;
		p->complete = 0;
		at = now + FS_WATCH_SETTLE_US;
		later = 1;
		break;
	case FS_TOUCH_GONE:
		p->last = now;
		p->complete = 0;
		at = now + FS_WATCH_GONE_US;
		later = 1;
		break;
	case FS_TOUCH_ATTR:
		p->last = now;
		at = now + FS_WATCH_SETTLE_US;
		later = 1;
		break;
	case FS_TOUCH_SIDECAR:
		break;
	}
	if (created || (later ? at > p->due : at < p->due))
		p->due = at;
}

/* Look again at key at (monotonic us; not before the next millisecond). */
static void fs_watch_retry(struct fs_watch *w, const char *key, int64_t at)
{
	int64_t now = w->host->monotonic_us();
	struct fs_pending *p;
	int created;

	p = fs_watch_pending(w, key, now, &created);
	if (p == NULL)
		return;
	p->due = at > now + 1000 ? at : now + 1000;
}

/* Status of key's document file (0 or an errno), without reading it. */
static int fs_watch_stat(struct fs_watch *w, const char *key, struct stat *sb)
{
	char path[PERSIST_KEY_MAX + 16];
	int fd, e = 0;

	snprintf(path, sizeof(path), "%s%s", key, FS_DOC_SUFFIX);
	fd = fs_open_beneath(w->cfg->root_fd, path, O_PATH, 0);
	if (fd < 0)
		return errno != 0 ? errno : EIO;
	if (fstat(fd, sb) < 0)
		e = errno != 0 ? errno : EIO;
	close(fd);
	return e;
}

/* True when two stats show the same, unchanged file. */
static int fs_watch_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Read key's document, telling a complete read from one that raced a
   change (truncate, rewrite, rename) of the file. */
static void fs_watch_read(struct fs_watch *w, const char *key,
			  struct fs_look *look_r)
{
	struct persist_error err;
	struct stat before, after;
	char why[160];
	int eb, ea, ret;

	memset(look_r, 0, sizeof(*look_r));
	eb = fs_watch_stat(w, key, &before);
	ret = fs_config_read(w->cfg, key, 1, &look_r->doc, &err);
	ea = fs_watch_stat(w, key, &after);
	if (ret == PERSIST_OK) {
		if (eb == 0 && ea == 0 && fs_watch_same_file(&before, &after) &&
		    (uint64_t)after.st_size == (uint64_t)look_r->doc.len) {
			look_r->state = FS_LOOK_DOC;
			look_r->json = fs_json_parse(look_r->doc.data,
						     look_r->doc.len, 0, NULL,
						     why, sizeof(why)) == 0;
		} else {
			look_r->state = FS_LOOK_TORN;
		}
		w->host->free(look_r->doc.data);
		look_r->doc.data = NULL;
	} else if (ret == PERSIST_ENOTFOUND) {
		look_r->state = (eb == ENOENT || eb == ENOTDIR) &&
					(ea == ENOENT || ea == ENOTDIR)
				? FS_LOOK_GONE : FS_LOOK_TORN;
	} else if (ret == PERSIST_ENOMEM) {
		look_r->state = FS_LOOK_TORN;
	} else {
		look_r->state = FS_LOOK_ERROR;
		look_r->code = ret;
	}
}

/* Forget key's pending look (settled). */
static void fs_watch_settled(struct fs_watch *w, const char *key)
{
	(void)pc_map_del(w->pending, key);
}

/* Announce that key is gone (it was known). */
static void fs_watch_gone(struct fs_watch *w, const char *key)
{
	(void)pc_map_del(w->known, key);
	(void)pc_map_del(w->expiry, key);
	fs_watch_settled(w, key);
	fs_watch_notify(w, key, NULL);
}

/* Record at open what key's document is (ETag, expiry); nothing is
   announced.  An expired document is removed. */
static void fs_watch_learn(struct fs_watch *w, const char *key)
{
	struct persist_error err;
	struct fs_doc doc;
	char *copy;

	if (fs_config_read(w->cfg, key, 0, &doc, &err) != PERSIST_OK)
		return;
	if (doc.expired) {
		fs_config_reclaim(w->cfg, key);
		return;
	}
	if (doc.expires_ms != 0)
		fs_watch_put_time(w->expiry, key, doc.expires_ms);
	copy = strdup(doc.etag);
	if (copy != NULL && pc_map_put(w->known, key, copy) < 0)
		free(copy);
}

/* Look at key's document and announce its state when it differs from the
   one last announced and it is complete and settled (see the top of the
   file); otherwise keep the key pending and look again later. */
static void fs_watch_check(struct fs_watch *w, const char *key)
{
	uint64_t seq0 = w->seq;
	const struct fs_pending *p;
	const char *old;
	struct fs_look look;
	int64_t now, quiet, since_first;
	int open, complete, ok;

	fs_watch_read(w, key, &look);
	/* Handle every event queued meanwhile: one for this key means the
	   read may have raced a change; look again once it settles. */
	fs_watch_drain(w);
	p = pc_map_get(w->pending, key);
	if (p != NULL && p->seq > seq0)
		return;
	now = w->host->monotonic_us();
	quiet = p == NULL || p->last == 0 ? INT64_MAX : now - p->last;
	since_first = p == NULL ? INT64_MAX : now - p->first;
	complete = p == NULL || p->complete;
	open = pc_map_get(w->opens, key) != NULL;
	old = pc_map_get(w->known, key);

	switch (look.state) {
	case FS_LOOK_TORN:
		fs_watch_retry(w, key, now + FS_WATCH_SETTLE_US);
		return;
	case FS_LOOK_GONE:
		if (old == NULL) {
			(void)pc_map_del(w->expiry, key);
			fs_watch_settled(w, key);
		} else if (quiet >= FS_WATCH_GONE_US) {
			fs_watch_gone(w, key);
		} else {
			fs_watch_retry(w, key, p->last + FS_WATCH_GONE_US);
		}
		return;
	case FS_LOOK_ERROR:
		/* not readable (not a regular file, too large, leads
		   outside the root, I/O error): gone for the subscribers,
		   once settled */
		if (old == NULL) {
			(void)pc_map_del(w->expiry, key);
			fs_watch_settled(w, key);
		} else if ((quiet >= FS_WATCH_SETTLE_US && !open) ||
			   quiet >= FS_WATCH_OPEN_MAX_US) {
			fs_watch_gone(w, key);
		} else {
			fs_watch_retry(w, key, open ? now + FS_WATCH_SETTLE_US
						    : p->last + FS_WATCH_SETTLE_US);
		}
		return;
	case FS_LOOK_DOC:
		break;
	}
	if (look.doc.expired) {
		/* read completely, and its sidecar says it has expired */
		if (old != NULL)
			fs_watch_gone(w, key);
		else {
			(void)pc_map_del(w->expiry, key);
			fs_watch_settled(w, key);
		}
		fs_config_reclaim(w->cfg, key);
		return;
	}
	if (look.doc.expires_ms != 0)
		fs_watch_put_time(w->expiry, key, look.doc.expires_ms);
	else
		(void)pc_map_del(w->expiry, key);
	if (old != NULL && strcmp(old, look.doc.etag) == 0) {
		fs_watch_settled(w, key);
		return;
	}
	if (look.json && complete)
		ok = 1;
	else if (look.json)
		ok = quiet >= FS_WATCH_SETTLE_US &&
		     (!open || since_first >= FS_WATCH_OPEN_MAX_US);
	else
		ok = (quiet >= FS_WATCH_SETTLE_US && !open) ||
		     quiet >= FS_WATCH_OPEN_MAX_US;
	if (!ok) {
		fs_watch_retry(w, key, open || p == NULL || p->last == 0
				       ? now + FS_WATCH_SETTLE_US
				       : p->last + FS_WATCH_SETTLE_US);
		return;
	}
	{
		char *copy = strdup(look.doc.etag);
		if (copy == NULL || pc_map_put(w->known, key, copy) < 0) {
			free(copy);
			fs_watch_retry(w, key, now + FS_WATCH_SETTLE_US);
			return;
		}
	}
	fs_watch_settled(w, key);
	fs_watch_notify(w, key, look.doc.etag);
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

struct fs_watch_walk {
	struct fs_watch *w;
	enum fs_scan scan;
	const char *start; /* the directory the walk started from */
	int error;         /* errno of inotify_add_watch for start */
};

/* Watch a directory before the walk reads it (fs_walk dir callback); one
   that cannot be watched is left out, and ends the walk when it is the
   one it started from. */
static int fs_watch_walk_dir(void *ctx, const char *dir)
{
	struct fs_watch_walk *ww = ctx;
	struct fs_watch *w = ww->w;
	char path[PATH_MAX];
	int wd, e = 0, n;

	n = snprintf(path, sizeof(path), "%s%s%s", w->root_path,
		     dir[0] != '\0' ? "/" : "", dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		e = ENAMETOOLONG;
	else if ((wd = inotify_add_watch(w->ifd, path, FS_WATCH_MASK)) < 0)
		e = errno;
	if (e != 0) {
		w->host->log(w->cfg->sink, PERSIST_LOG_WARNING,
			     "cannot watch \"%s%s%s\": %s",
			     w->root_path, dir[0] != '\0' ? "/" : "", dir,
			     strerror(e));
		if (strcmp(dir, ww->start) != 0)
			return FS_WALK_SKIP;
		ww->error = e;
		return FS_WALK_STOP;
	}
	fs_watch_set_wd(w, wd, dir);
	return FS_WALK_READ;
}

/* Note a document the walk found, as the scan says (fs_walk doc
   callback). */
static int fs_watch_walk_doc(void *ctx, int dirfd, const char *key,
			     const char *name, int is_link)
{
	struct fs_watch_walk *ww = ctx;

	(void)dirfd;
	(void)name;
	(void)is_link;
	if (ww->scan == FS_SCAN_START)
		fs_watch_learn(ww->w, key);
	else
		fs_watch_touch(ww->w, key, ww->scan == FS_SCAN_FOUND
						   ? FS_TOUCH_FOUND
						   : FS_TOUCH_RESCAN);
	return 0;
}

/* Watch directory rel and every directory below it (to every depth a key
   can have) and note every document in them as scan says; 0 or the errno
   of inotify_add_watch for rel itself. */
static int fs_watch_add_dir(struct fs_watch *w, const char *rel,
			    enum fs_scan scan)
{
	struct fs_watch_walk ww = { w, scan, rel, 0 };
	struct fs_walk walk;

	memset(&walk, 0, sizeof(walk));
	walk.host = w->host;
	walk.rootfd = w->cfg->root_fd;
	walk.dir = fs_watch_walk_dir;
	walk.doc = fs_watch_walk_doc;
	walk.ctx = &ww;
	fs_walk_run(&walk, rel);
	return ww.error;
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
   mark every known key below it gone (which then notifies NULL). */
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
	(void)pc_map_each(w->known, fs_watch_collect, &pc);
	for (size_t i = 0; i < pc.n; i++) {
		fs_watch_touch(w, pc.keys[i], FS_TOUCH_GONE);
		free(pc.keys[i]);
	}
	free(pc.keys);
}

/* After an overflow: rescan everything and look again at every known key
   once it settles. */
static void fs_watch_rescan(struct fs_watch *w)
{
	struct fs_prefix_ctx pc;

	w->host->log(w->cfg->sink, PERSIST_LOG_INFO,
		     "inotify queue overflow on \"%s\", rescanning",
		     w->root_path);
	memset(&pc, 0, sizeof(pc));
	pc.prefix = "";
	(void)pc_map_each(w->known, fs_watch_collect, &pc);
	for (size_t i = 0; i < pc.n; i++) {
		fs_watch_touch(w, pc.keys[i], FS_TOUCH_RESCAN);
		free(pc.keys[i]);
	}
	free(pc.keys);
	(void)fs_watch_add_dir(w, "", FS_SCAN_RESCAN);
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
	int *n = pc_map_get(w->opens, key);

	if (n == NULL) {
		if (d < 0 || (n = malloc(sizeof(*n))) == NULL)
			return;
		*n = 0;
		if (pc_map_put(w->opens, key, n) < 0) {
			free(n);
			return;
		}
	}
	*n += d;
	if (*n <= 0)
		(void)pc_map_del(w->opens, key);
}

/* Handle one inotify event: note what it says; documents are looked at
   later (fs_watch_timers), never here. */
static void fs_watch_event(struct fs_watch *w, const struct inotify_event *ev)
{
	char key[PERSIST_KEY_MAX + 64];
	const char *rel;

	if (ev->mask & IN_Q_OVERFLOW) {
		pc_map_clear(w->opens); /* counts are lost with the events */
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
				     "configuration root \"%s\" was removed or moved",
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
			(void)fs_watch_add_dir(w, sub, FS_SCAN_FOUND);
		else if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
			fs_watch_drop_dir(w, sub);
		return;
	}
	if (!fs_watch_key(w, rel, ev->name, key))
		return;
	if (ev->name[0] == '.') {
		/* the TTL sidecar; its own opens are not counted */
		if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
				IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB))
			fs_watch_touch(w, key, FS_TOUCH_SIDECAR);
		return;
	}
	if (ev->mask & IN_OPEN)
		fs_watch_count_open(w, key, 1);
	if (ev->mask & (IN_CLOSE_WRITE | IN_CLOSE_NOWRITE))
		fs_watch_count_open(w, key, -1);
	if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO))
		fs_watch_touch(w, key, FS_TOUCH_DONE);
	else if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
		fs_watch_touch(w, key, FS_TOUCH_GONE);
	else if (ev->mask & (IN_CREATE | IN_MODIFY))
		fs_watch_touch(w, key, FS_TOUCH_WRITE);
	else if (ev->mask & IN_ATTRIB)
		fs_watch_touch(w, key, FS_TOUCH_ATTR);
}

struct fs_due_ctx {
	struct fs_watch *w;
	int64_t now_us, now_ms;
	int64_t next_us;      /* earliest future deadline, monotonic */
	struct fs_prefix_ctx due;
};

/* Collect pending keys whose time has come (postponing those modified and
   still open somewhere); track the next one. */
static int fs_watch_due_pending(void *ctx, const char *key, void *value)
{
	struct fs_due_ctx *dc = ctx;
	struct fs_pending *p = value;
	int64_t t = p->due;

	if (t <= dc->now_us && !p->complete &&
	    pc_map_get(dc->w->opens, key) != NULL &&
	    dc->now_us - p->first < FS_WATCH_OPEN_MAX_US) {
		p->due = t = dc->now_us + FS_WATCH_SETTLE_US;
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
	int64_t left, at;

	if (t <= dc->now_ms)
		return fs_watch_collect(&dc->due, key, value);
	if (__builtin_sub_overflow(t, dc->now_ms, &left) ||
	    left > FS_WATCH_WAKE_MAX_MS)
		left = FS_WATCH_WAKE_MAX_MS;
	at = dc->now_us + left * 1000;
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
	(void)pc_map_each(w->pending, fs_watch_due_pending, &dc);
	(void)pc_map_each(w->expiry, fs_watch_due_expiry, &dc);
	for (size_t i = 0; i < dc.due.n; i++) {
		fs_watch_check(w, dc.due.keys[i]);
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
	return wait_ms > FS_WATCH_WAKE_MAX_MS ? FS_WATCH_WAKE_MAX_MS
					      : (int)wait_ms;
}

/* Read and handle every queued inotify event; never blocks. */
static void fs_watch_drain(struct fs_watch *w)
{
	for (;;) {
		ssize_t n = read(w->ifd, w->buf, sizeof(w->buf));
		char *p;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (p = w->buf; p < w->buf + n;) {
			const struct inotify_event *ev = (const void *)p;
			fs_watch_event(w, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
}

/* The watcher thread: poll inotify and the stop eventfd; look at
   documents only once every queued event has been handled. */
static void *fs_watch_thread(void *arg)
{
	struct fs_watch *w = arg;

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
				     "watcher poll failed: %s",
				     strerror(errno));
			break;
		}
		if (pfd[0].revents != 0)
			break;
		if (pfd[1].revents != 0)
			fs_watch_drain(w);
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
	pc_map_free(w->known);
	pc_map_free(w->pending);
	pc_map_free(w->opens);
	pc_map_free(w->expiry);
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
	w->known = pc_map_new(free);
	w->pending = pc_map_new(free);
	w->opens = pc_map_new(free);
	w->expiry = pc_map_new(free);
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
	e = fs_watch_add_dir(w, "", FS_SCAN_START);
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
