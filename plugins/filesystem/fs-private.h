/*
 * plugins/filesystem/fs-private.h - what the files of the filesystem
 * provider share: the plugin and store structs, the small helpers (buffers,
 * JSON text, hashing table, locks, durable writes, safe paths) and the
 * prototypes of every ops method.  Nothing here is seen by the core; the
 * only exported symbol of filesystem.so is persist_plugin_entry_v1.
 *
 * Files:
 *   fs-plugin.c    descriptor, init/fini, the two ops tables
 *   fs-options.c   the provider's "config" object (root, fsync) and the root
 *   fs-paths.c     configuration key -> path checks, opening beneath the root
 *   fs-walk.c      the walk over the configuration tree (list, watcher)
 *   fs-buf.c       growable byte buffer
 *   fs-codec.c     JSON string escaping, base64, UTF-8 and integer checks
 *   (plugins/common: the hash table, struct pc_map)
 *   fs-lock.c      flock helpers
 *   fs-fsync.c     full writes, fdatasync by mode, atomic file replacement
 *   fs-config.c    configuration store: get/set/delete/list, CAS
 *   fs-sidecar.c   TTL sidecar files of configuration documents
 *   fs-watch.c     inotify thread: change notification
 *   fs-state.c     state store: layout, open/close, get/set/delete/scan
 *   fs-journal.c   per-collection key journal: replay, append, compaction
 *   fs-counters.c  atomic increments
 *   fs-log.c       append-only logs (JSON Lines)
 *   fs-batch.c     batch (group commit) and flush
 *   fs-times.c     the keys' write times (last writer wins)
 *   fs-drop.c      dropping a collection (journal and log)
 *   fs-collections.c  listing the collections of a root
 */
#ifndef FS_PRIVATE_H
#define FS_PRIVATE_H

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <persist/plugin.h>
#include <persist/persist.h> /* PERSIST_KEY_MAX and the other limits */
#include "pc-common.h"       /* the hash table (struct pc_map) */

/* ---- the plugin -------------------------------------------------------- */

struct fs_plugin {
	const struct persist_host *host;
};

/* Durability setting ("fsync" in the provider config). */
enum fs_sync_mode {
	FS_SYNC_ALWAYS = 0, /* every acknowledged write is on disk */
	FS_SYNC_BATCH = 1,  /* on disk at batch()/flush(); survives kill -9 at once */
	FS_SYNC_NEVER = 2   /* never fsync (survives kill -9, not power loss) */
};

struct fs_options {
	char *root;             /* as configured (may be relative) */
	enum fs_sync_mode sync;
};

/* ---- fs-options.c ------------------------------------------------------ */

/* Parse the provider config JSON text; unknown keys -> PERSIST_ECONFIG. */
int fs_options_parse(const struct persist_host *host, enum persist_kind kind,
		     const char *json, struct fs_options *opts_r,
		     struct persist_error *err);
void fs_options_free(struct fs_options *opts);
const char *fs_sync_name(enum fs_sync_mode mode);
/* mkdir -p the root when it is missing and open it (O_DIRECTORY); only
   read access is needed. */
int fs_root_open(const struct persist_host *host, const char *root,
		 int *fd_r, struct persist_error *err);
/* True when errno e (EACCES, EPERM, EROFS) says this process may not write
   there. */
int fs_errno_readonly(int e);
/* PERSIST_EIO with errno e: "cannot write <what>: root directory <root>
   is read-only". */
int fs_readonly_error(const struct persist_host *host, const char *root,
		      const char *what, int e, struct persist_error *err);

/* ---- fs-buf.c ---------------------------------------------------------- */

struct fs_buf {
	char *data;
	size_t len, cap;
	int failed; /* an allocation failed; contents are incomplete */
};

void fs_buf_init(struct fs_buf *buf);
void fs_buf_free(struct fs_buf *buf);
void fs_buf_reset(struct fs_buf *buf);
int fs_buf_reserve(struct fs_buf *buf, size_t extra);
void fs_buf_add(struct fs_buf *buf, const void *data, size_t len);
void fs_buf_adds(struct fs_buf *buf, const char *s);
void fs_buf_addc(struct fs_buf *buf, char c);
void fs_buf_add_i64(struct fs_buf *buf, int64_t value);

/* ---- fs-codec.c -------------------------------------------------------- */

/* Append data as a JSON string literal (quotes included). */
void fs_json_add_string(struct fs_buf *buf, const void *data, size_t len);
/* Append base64 of data (no quotes). */
void fs_base64_add(struct fs_buf *buf, const void *data, size_t len);
/* Decode base64 text into a malloc'ed buffer; -1 when malformed. */
int fs_base64_decode(const char *text, size_t len, char **data_r, size_t *len_r);
/* Parse JSON text with json-c (whole input, trailing whitespace allowed).
   Returns the object (caller puts it; may be NULL for "null") in *obj_r
   when obj_r is not NULL; on failure -1 and a description in why. */
struct json_object;
struct json_tokener;
int fs_json_parse(const void *data, size_t len, int strict,
		  struct json_object **obj_r, char *why, size_t why_size);
/* The same with a reusable tokener (NULL: a new one each time). */
int fs_json_parse_tok(struct json_tokener *tok, const void *data, size_t len,
		      int strict, struct json_object **obj_r, char *why,
		      size_t why_size);
struct json_tokener *fs_json_tokener(void);

/* ---- fs-lock.c --------------------------------------------------------- */

/* flock() retried on EINTR; 0 or an errno. */
int fs_flock(int fd, int op);
/* Open (creating) a lock file name in dirfd; 0 or an errno. */
int fs_lockfile_open(int dirfd, const char *name, int *fd_r);

/* ---- fs-fsync.c -------------------------------------------------------- */

/* write() everything (retrying short writes and EINTR); 0 or an errno. */
int fs_write_all(int fd, const void *data, size_t len);
/* pread() up to len bytes; bytes read or -1 (errno set). */
ssize_t fs_pread_full(int fd, void *data, size_t len, off_t offset);
/* fdatasync/fsync unless mode is never; 0 or an errno. */
int fs_sync_data(int fd, enum fs_sync_mode mode);
int fs_sync_dir(int dirfd, enum fs_sync_mode mode);
/* Replace dirfd/name atomically with data: write a hidden temporary file in
   the same directory, fsync it, rename it over name, fsync the directory
   (fsyncs skipped in mode never).  On failure the old file is untouched
   and the temporary removed; 0 or an errno. */
int fs_replace_file(int dirfd, const char *name, const void *data, size_t len,
		    enum fs_sync_mode mode);

/* ---- fs-paths.c -------------------------------------------------------- */

#define FS_DOC_SUFFIX ".json"
#define FS_SEGMENT_MAX 245 /* NAME_MAX minus room for ".", ".json", ".ttl" */

/* Check a configuration key (PERSIST_EINVAL naming it, with the reason). */
int fs_config_key_check(const struct persist_host *host, const char *key,
			struct persist_error *err);
/* Check a state collection name / key (PERSIST_EINVAL naming it). */
int fs_collection_check(const struct persist_host *host, const char *name,
			struct persist_error *err);
int fs_state_key_check(const struct persist_host *host, const char *key,
		       struct persist_error *err);
/* Open relpath under rootfd without leaving it (symlinks included); fd or
   -1 with errno (EXDEV or ELOOP when it would leave the root). */
int fs_open_beneath(int rootfd, const char *relpath, int flags, mode_t mode);
/* Open the directory part of a key's path (creating it when create), and
   give the file name of the document; 0 or an errno. */
int fs_key_dir_open(int rootfd, const char *key, int create, int *dirfd_r,
		    char name_r[FS_SEGMENT_MAX + 16]);

/* ---- fs-walk.c --------------------------------------------------------- */

/* What a directory callback of a walk answers. */
enum fs_walk_dir_answer {
	FS_WALK_READ = 0, /* read the directory */
	FS_WALK_SKIP = 1, /* leave it (and everything below it) out */
	FS_WALK_STOP = 2  /* end the walk */
};

/* A walk over the documents of a configuration tree, to every depth a key
   can have (see fs-walk.c).  Fill the first fields, then fs_walk_run. */
struct fs_walk {
	const struct persist_host *host;
	int rootfd;
	/* Each directory before it is read, by path relative to the root
	   ("" the root); NULL reads them all. */
	int (*dir)(void *ctx, const char *dir);
	/* Each document: its key, its file name in dirfd, whether it is a
	   symbolic link; non-zero ends the walk. */
	int (*doc)(void *ctx, int dirfd, const char *key, const char *name,
		   int is_link);
	void *ctx;
	/* Results: the errno of the first directory that could not be read
	   (absent ones do not count; ENOMEM ends the walk) and its path;
	   whether the walk was ended early. */
	int error;
	char failed[PERSIST_KEY_MAX + 1];
	int stopped;
};

/* Walk the tree from directory start ("" for the root). */
void fs_walk_run(struct fs_walk *w, const char *start);

/* ---- configuration store (fs-config.c, fs-sidecar.c, fs-watch.c) ------ */

struct fs_watch;

struct fs_config {
	struct fs_plugin *plugin;
	const struct persist_host *host;
	struct persist_sink *sink;
	struct fs_options opts;
	int root_fd;
	int lock_fd;                /* ROOT/.lock: flock for writers (CAS) */
	pthread_mutex_t lock_mu;    /* threads of this store around lock_fd */
	struct fs_watch *watch;
};

/* A document as read from disk. */
struct fs_doc {
	char *data;       /* host->alloc'ed, NUL-terminated (NULL if not read) */
	size_t len;
	char etag[PERSIST_ETAG_MAX];
	int64_t expires_ms;  /* 0: none */
	int expired;
};

/* Read key's document (data kept when keep_data); PERSIST_ENOTFOUND when
   absent.  Expired documents are reported with doc->expired set. */
int fs_config_read(struct fs_config *cfg, const char *key, int keep_data,
		   struct fs_doc *doc_r, struct persist_error *err);
/* Remove key's document if it is (still) expired; used by the watcher. */
void fs_config_reclaim(struct fs_config *cfg, const char *key);

/* Sidecar ".NAME.json.ttl" beside a document NAME.json, holding
   {"<etag>": expires_ms, ...}: an expiry applies only to the document
   content whose ETag it names, so a crash between writing the sidecar and
   the document, or an administrator's edit, never applies a stale TTL. */
/* Root-relative path of key's sidecar; -1 when it does not fit. */
int fs_sidecar_path(const char *key, char *buf, size_t size);
/* Expiry of the document of key with ETag etag: 0 when none. */
int64_t fs_sidecar_expiry(int rootfd, const char *key, const char *etag);
/* Write the sidecar of dirfd/doc_name mapping etag -> expires_ms, plus
   keep_etag -> keep_expires when keep_etag is not NULL; 0 or an errno. */
int fs_sidecar_write(int dirfd, const char *doc_name, const char *etag,
		     int64_t expires_ms, const char *keep_etag,
		     int64_t keep_expires, enum fs_sync_mode mode);
/* Remove the sidecar of dirfd/doc_name (absent is fine); 0 or an errno. */
int fs_sidecar_remove(int dirfd, const char *doc_name, enum fs_sync_mode mode);

int fs_watch_start(struct fs_config *cfg, struct fs_watch **watch_r,
		   struct persist_error *err);
void fs_watch_stop(struct fs_watch *watch);

int fs_config_open(void *plugin, const struct persist_store_args *args,
		   void **store_r, struct persist_error *err);
void fs_config_close(void *store);
int fs_config_health(void *store, int64_t *latency_us_r,
		     struct persist_error *err);
int fs_config_get(void *store, const char *key, struct persist_value *value_r,
		  struct persist_error *err);
int fs_config_set(void *store, const char *key, const void *data, size_t len,
		  const struct persist_write_opts *opts,
		  char etag_r[PERSIST_ETAG_MAX], struct persist_error *err);
int fs_config_del(void *store, const char *key, const char *if_match,
		  struct persist_error *err);
int fs_config_list(void *store, persist_emit_fn *emit, void *ctx,
		   struct persist_error *err);

/* ---- state store (fs-state.c, fs-journal.c, fs-counters.c, fs-log.c,
   fs-batch.c) ------------------------------------------------------------ */

/* One key of a collection, in memory. */
struct fs_entry {
	int is_counter;
	int64_t num;       /* counter value */
	char *data;        /* value bytes (malloc, NUL-terminated) */
	size_t len;
	int64_t expires_ms; /* 0: none */
};

/* One collection's key space: ROOT/kv/<c>.jsonl, locked by
   ROOT/.locks/kv.<c>. */
struct fs_kv {
	char *name;
	pthread_mutex_t mu;
	int lock_fd;
	int fd;               /* journal, O_APPEND; -1 when not open */
	int writable;         /* fd is open for writing (else read-only) */
	dev_t dev;
	ino_t ino;
	off_t offset;         /* journal bytes replayed (whole lines) */
	struct pc_map *table;
	struct pc_map *times; /* key -> int64_t: when it was last set or
				 deleted, also once it is gone (fs-times.c) */
	uint64_t live_bytes;  /* rough size of the live entries as lines */
	int dirty;            /* written since the last fdatasync */
	char *rdbuf;          /* replay buffer */
	size_t rdcap;
};

/* One collection's log: ROOT/logs/<c>.jsonl, locked by ROOT/.locks/log.<c>. */
#define FS_LOG_INDEX_STEP 1024
struct fs_log {
	char *name;
	pthread_mutex_t mu;
	int lock_fd;
	int fd;               /* O_APPEND; -1 when not open */
	int writable;         /* fd is open for writing (else read-only) */
	dev_t dev;
	ino_t ino;
	off_t end;            /* known end of whole records, -1: unknown */
	off_t *index;         /* index[i]: offset of record
				 first + i*FS_LOG_INDEX_STEP */
	size_t n_index, cap_index;
	int dirty;
	uint64_t first;       /* number of the file's first record (its
				 header's, after a trim; else 0) */
	off_t data_start;     /* offset of that record: after the header */
};

/* The subdirectories of a state root. */
enum fs_state_subdir {
	FS_DIR_KV = 0,   /* FS_KV_DIR */
	FS_DIR_LOG = 1,  /* FS_LOG_DIR */
	FS_DIR_LOCK = 2, /* FS_LOCK_DIR */
	FS_DIR_COUNT_
};

struct fs_state {
	struct fs_plugin *plugin;
	const struct persist_host *host;
	struct persist_sink *sink;
	struct fs_options opts;
	int root_fd;
	int dir_fd[FS_DIR_COUNT_]; /* opened on first use (fs_state_dir); -1 before */
	pthread_mutex_t mu;       /* guards the two tables (not their values)
				     and the opening of dir_fd */
	struct pc_map *kvs;     /* name -> struct fs_kv */
	struct pc_map *logs;    /* name -> struct fs_log */
	uint64_t compact_min;     /* journal size that may trigger compaction */
};

/* The key journal of the ids of applied exactly-once batches (each a key
   with a TTL of PERSIST_BATCH_ID_KEEP_MS): ROOT/kv/.batch-ids.jsonl, a
   name no collection can have (they never start with '.'). */
#define FS_BATCH_IDS ".batch-ids"
#define FS_KV_DIR "kv"
#define FS_LOG_DIR "logs"
#define FS_LOCK_DIR ".locks" /* not ".lock": a configuration store may share the root */
#define FS_JOURNAL_SUFFIX ".jsonl"

/* fs-state.c: the descriptor of a subdirectory of the root, opened on
   first use and, when create, created first (a store creates nothing
   until it writes); -1 with errno (ENOENT: not there yet, an empty
   store). */
int fs_state_dir(struct fs_state *st, enum fs_state_subdir which, int create);
/* Take the flock (shared or exclusive) of ROOT/.locks/<prefix>.<collection>,
   opening its lock file into *lock_fd on first use: a writer creates it, a
   reader only opens an existing one (read-only will do for flock) and
   reads without a lock while there is none (then *lock_fd stays -1). */
int fs_state_flock(struct fs_state *st, const char *prefix,
		   const char *collection, int exclusive, int *lock_fd,
		   struct persist_error *err);
/* Open the journal (FS_DIR_KV) or log (FS_DIR_LOG) of a collection,
   O_APPEND: for writing when create (creating the file and the directory;
   a read-only root is fs_readonly_error), else for writing if this process
   may, read-only if not (*writable_r says which); PERSIST_ENOTFOUND
   quietly when it does not exist and !create, PERSIST_ECORRUPT when it is
   not a regular file. */
int fs_state_open_file(struct fs_state *st, enum fs_state_subdir which,
		       const char *collection, int create, int *fd_r,
		       int *writable_r, struct stat *sb_r,
		       struct persist_error *err);
/* fs-state.c: find or create the in-memory object of a collection. */
int fs_state_kv(struct fs_state *st, const char *collection,
		struct fs_kv **kv_r, struct persist_error *err);
int fs_state_log(struct fs_state *st, const char *collection,
		 struct fs_log **log_r, struct persist_error *err);
int fs_entry_live(const struct fs_state *st, const struct fs_entry *e);

/* fs-journal.c: under kv->mu.  Lock (LOCK_SH/LOCK_EX) and bring the
   in-memory table up to date with the journal. */
int fs_kv_lock(struct fs_state *st, struct fs_kv *kv, int exclusive,
	       struct persist_error *err);
void fs_kv_unlock(struct fs_kv *kv);
/* Forget the in-memory table so the next lock replays the journal. */
void fs_kv_reset(struct fs_kv *kv);
/* fs-times.c: the keys' write times. */
int64_t fs_kv_time(const struct fs_kv *kv, const char *key);
int fs_kv_time_set(struct fs_kv *kv, const char *key, int64_t ms);
uint64_t fs_kv_times_bytes(const struct fs_kv *kv);
/* Encode the current state of key (entry NULL: deleted) as one journal op
   object (no newline). */
void fs_kv_encode(struct fs_buf *buf, const char *key,
		  const struct fs_entry *entry, int64_t written_ms);
/* Apply an entry to the table (NULL: delete); takes ownership of entry. */
int fs_kv_apply(struct fs_kv *kv, const char *key, struct fs_entry *entry);
/* Append one journal line (ends with '\n') while holding the lock;
   on failure the journal is cut back and PERSIST_EIO returned. */
int fs_kv_write(struct fs_state *st, struct fs_kv *kv, const char *line,
		size_t len, struct persist_error *err);
/* Compact the journal when it has grown well past the live data. */
void fs_kv_maybe_compact(struct fs_state *st, struct fs_kv *kv);
void fs_kv_free(void *kv);
void fs_entry_free(void *entry);
/* fs-state.c: a new, empty struct fs_kv for collection (not in any table;
   free with fs_kv_free); NULL when out of memory. */
void *fs_kv_new(const char *collection);
/* Whether key is in collection's journal (live or expired), read without
   a lock and without touching the store's replica: for a process that
   holds other locks and may not wait for that one (fs-marker.c). */
int fs_kv_peek(struct fs_state *st, const char *collection, const char *key,
	       int *found_r, struct persist_error *err);

/* fs-marker.c: batch markers, which make a batch over several files all or
   nothing when its process is killed (see the top of fs-marker.c). */
int fs_marker_set(struct fs_state *st, enum fs_state_subdir which,
		  const char *collection, int lock_fd, const char *id,
		  dev_t dev, ino_t ino, off_t size, struct persist_error *err);
int fs_marker_clear(struct fs_state *st, enum fs_state_subdir which,
		    const char *collection, int lock_fd);
int fs_marker_settle(struct fs_state *st, enum fs_state_subdir which,
		     const char *collection, int lock_fd, int exclusive,
		     struct persist_error *err);

/* fs-log.c */
void fs_log_free(void *log);
/* Lock the log (exclusive) and make its end a whole record, cutting a torn
   tail left by a killed writer; under log->mu. */
int fs_log_lock_append(struct fs_state *st, struct fs_log *log,
		       struct persist_error *err);
void fs_log_unlock(struct fs_log *log);
/* Encode one record as a line (with '\n'); tok: a reusable tokener for
   the JSON check, or NULL. */
void fs_log_encode(struct fs_buf *buf, const void *data, size_t len,
		   struct json_tokener *tok);
/* Append encoded lines while locked; on failure cut back, PERSIST_EIO. */
int fs_log_write(struct fs_state *st, struct fs_log *log, const char *lines,
		 size_t len, struct persist_error *err);
/* drop: remove the log's file (and a trim's leftover temporary) under
   its exclusive lock; absent is fine. */
int fs_log_remove(struct fs_state *st, struct fs_log *log,
		  struct persist_error *err);

int fs_state_open(void *plugin, const struct persist_store_args *args,
		  void **store_r, struct persist_error *err);
void fs_state_close(void *store);
int fs_state_health(void *store, int64_t *latency_us_r,
		    struct persist_error *err);
int fs_state_get(void *store, const char *collection, const char *key,
		 struct persist_value *value_r, struct persist_error *err);
int fs_state_set(void *store, const char *collection, const char *key,
		 const void *data, size_t len, int64_t ttl_ms,
		 struct persist_error *err);
int fs_state_del(void *store, const char *collection, const char *key,
		 struct persist_error *err);
int fs_state_scan(void *store, const char *collection, const char *prefix,
		  persist_emit_fn *emit, void *ctx, struct persist_error *err);
int fs_state_incr(void *store, const char *collection, const char *key,
		  int64_t delta, int64_t *value_r, struct persist_error *err);
int fs_state_append(void *store, const char *collection, const void *data,
		    size_t len, struct persist_error *err);
int fs_state_read_log(void *store, const char *collection, uint64_t from,
		      size_t max, persist_emit_fn *emit, void *ctx,
		      struct persist_error *err);
int fs_state_batch(void *store, const struct persist_op *ops, size_t n,
		   size_t op_size, struct persist_error *err);
int fs_state_batch_once(void *store, const char *id, const struct persist_op *ops,
			size_t n, size_t op_size, int *applied_before_r,
			struct persist_error *err);
int fs_state_batch_once_dated(void *store, const char *id, const struct persist_op *ops,
			      const int64_t *written_ms, size_t n, size_t op_size,
			      int *applied_before_r, struct persist_error *err);
int fs_state_flush(void *store, struct persist_error *err);
int fs_state_drop(void *store, const char *collection,
		  struct persist_error *err);
int fs_state_trim_log(void *store, const char *collection, uint64_t before,
		      struct persist_error *err);
int fs_state_log_bounds(void *store, const char *collection, uint64_t *first_r,
			uint64_t *next_r, struct persist_error *err);
int fs_state_collections(void *store, persist_emit_fn *emit, void *ctx,
			 struct persist_error *err);

/* Shared increment rule: new value of entry (may be NULL/expired) plus
   delta, PERSIST_EINVAL when not a counter or on overflow. */
int fs_counter_add(struct fs_state *st, const char *collection,
		   const char *key, const struct fs_entry *cur, int64_t delta,
		   int64_t *value_r, struct persist_error *err);

#endif
