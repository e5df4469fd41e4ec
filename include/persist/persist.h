/*
 * persist/persist.h - the host API: what an application links libpersist
 * for.  Open a handle from a JSON configuration, then use configuration
 * documents, state and sessions through it; each kind is routed to the
 * provider plugin the configuration names.
 *
 * Conventions:
 *   - every function returns a persist_status (PERSIST_OK == 0) and, when
 *     `err` is not NULL, fills it with the code, errno and a message that
 *     names what was wrong (the key, the file, the plugin);
 *   - outputs go through *_r pointers, which are untouched on failure;
 *   - memory returned to the caller is freed with persist_free() (buffers) or
 *     persist_items_free() (listings); returned data always has a NUL after
 *     its last byte, not counted in the length;
 *   - a persist * may be used from many threads at once;
 *   - the library never prints and never exits; give a log callback in
 *     struct persist_options to see its log;
 *   - subscriber callbacks run on a thread the library owns; they must not
 *     block and may call the persist_* API (except persist_close).
 *
 * Limits (longer or malformed input answers PERSIST_EINVAL): keys, session
 * ids and event names are non-empty valid UTF-8 without control characters,
 * at most PERSIST_KEY_MAX bytes; collection names match
 * [A-Za-z0-9_.:-]{1,PERSIST_COLLECTION_MAX} and do not start with '.';
 * values are at most PERSIST_VALUE_MAX bytes.  A TTL (ttl_ms of
 * persist_config_set, persist_state_set, batch operations and
 * persist_session_put) is 0 (no expiry) or 1 to PERSIST_TTL_MAX_MS (100
 * years, plugin.h); anything else, INT64_MAX included, answers
 * PERSIST_EINVAL and nothing is written.  Where JSON is required it is
 * checked strictly (RFC 8259): any JSON value, null included; NaN,
 * Infinity, "1.", leading zeros, raw control characters in strings and
 * invalid UTF-8 are refused ("\ud800" escapes are accepted, as the RFC's
 * grammar allows); arrays and objects nest at most 128 levels deep.
 */
#ifndef PERSIST_PERSIST_H
#define PERSIST_PERSIST_H

#include <stddef.h>
#include <stdint.h>
#include <persist/status.h>
#include <persist/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is exported from libpersist (which is built with
   -fvisibility=hidden); nothing else is. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* The release (configure.ac's AC_INIT; the persistctl test checks that
   the two agree). */
#define PERSIST_VERSION "1.4.0"
/* PERSIST_KEY_MAX, PERSIST_COLLECTION_MAX, PERSIST_VALUE_MAX and
   PERSIST_TTL_MAX_MS are in plugin.h (included above): plugins need them
   too and include only that header. */

typedef struct persist persist;

/* Log callback: one complete message (no trailing newline). */
typedef void persist_log_cb(void *ctx, enum persist_log_level level,
			    const char *message);

/* Flags of struct persist_options. */
#define PERSIST_OPEN_ALLOW_INSECURE_PLUGINS (1u << 0) /* development only: skip owner/mode checks */
#define PERSIST_OPEN_NO_ENV_PLUGIN_PATH     (1u << 1) /* ignore PERSIST_PLUGIN_PATH */
/* Fail fast: once every opened store is open, run each one's health check
   and fail the open with the first failure (for example PERSIST_EUNAVAIL
   when a server is unreachable).  Without it (the default) an open is
   lazy: it succeeds as long as each store could be set up, and a backend
   that is down answers on the first call that needs it.  A kind with a
   fallback is not asked: its fallback serves while the primary is down. */
#define PERSIST_OPEN_CHECK_HEALTH           (1u << 2)

/* Bit of struct persist_options.kinds for a kind. */
#define PERSIST_KIND_BIT(kind) (1u << (kind))

struct persist_options {
	uint32_t size;                  /* sizeof(struct persist_options) */
	const char *const *plugin_dirs; /* searched first, in order; absolute only */
	size_t n_plugin_dirs;
	persist_log_cb *log;            /* NULL: no logging */
	void *log_ctx;
	enum persist_log_level log_level; /* least level passed to log */
	uint32_t flags;                 /* PERSIST_OPEN_* */
	const char *instance_id;        /* NULL: generated (host:pid:random) */
	/* Fields below were added after 1.0: a caller whose size does not
	   cover them gets their defaults. */
	/* The kinds to open, PERSIST_KIND_BIT(PERSIST_KIND_STATE) | ...; 0:
	   all.  Only these kinds' plugins are loaded and stores opened, so a
	   broken or unreachable store of another kind does not stop the open;
	   a call on a kind that was not opened answers PERSIST_ENOTSUP naming
	   the kind. */
	uint32_t kinds;
};

/* A listing element returned to the host; arrays are freed with
   persist_items_free(). */
struct persist_entry {
	char *key;          /* key, config key or session id; NULL for log records */
	char *value;        /* NUL-terminated bytes, or NULL */
	size_t len;
	uint64_t index;     /* log record number */
	char *instance;     /* session holder */
	int64_t expires_ms; /* wall-clock expiry, 0 = none */
	char etag[PERSIST_ETAG_MAX];
	persist_status status; /* config_get_many: per-key result */
};

/* --- lifecycle ---------------------------------------------------------- */

/* Open from a JSON file (NULL path: $PERSIST_CONFIG if set, else the
   embedded default: filesystem for configuration and state under
   ./persist-data, memory for sessions). */
int persist_open_file(const char *path, const struct persist_options *opts,
		      persist **p_r, struct persist_error *err);
/* Open from JSON text (a whole platform.json is fine: only "persistence" is
   read). */
int persist_open_json(const char *json, const struct persist_options *opts,
		      persist **p_r, struct persist_error *err);
/* Flush what is pending, close every store and free the handle.  Reports
   the first failure but always frees.  NULL is a no-op. */
int persist_close(persist *p, struct persist_error *err);

/* Health of the provider serving a kind (PERSIST_OK: healthy); for a kind
   with a fallback, of its primary (see persist_provider_status). */
int persist_health(persist *p, enum persist_kind kind, int64_t *latency_us_r,
		   struct persist_error *err);
/* Provider name serving a kind, capabilities of its table. */
const char *persist_provider(persist *p, enum persist_kind kind);
uint64_t persist_caps(persist *p, enum persist_kind kind);
const char *persist_instance_id(persist *p);

void persist_free(void *ptr);
void persist_items_free(struct persist_entry *items, size_t n);
const char *persist_strerror(int status);
const char *persist_kind_name(enum persist_kind kind);
/* Names of capability bits, comma-separated into buf ("ttl,atomic_incr"). */
const char *persist_caps_string(uint64_t caps, char *buf, size_t size);

/* Check that data[0..len) is one strict JSON value (RFC 8259, the rule
   every JSON argument of this API follows, see above); PERSIST_EINVAL
   otherwise, the message naming `what`, the reason and the byte offset
   (from 0): `record is not valid JSON: NaN is not a JSON value at byte 0`.
   For hosts and tools that check JSON before handing it over. */
int persist_valid_json(const char *what, const void *data, size_t len,
		       struct persist_error *err);

/* --- configuration ------------------------------------------------------ */

/* ETag of arbitrary bytes (hex, same for the same bytes everywhere). */
void persist_etag(const void *data, size_t len, char etag_r[PERSIST_ETAG_MAX]);

/* Document and ETag; served from the cache within cacheTTL.  data_r and
   etag_r may each be NULL.  PERSIST_ENOTFOUND when absent. */
int persist_config_get(persist *p, const char *key, char **data_r,
		       size_t *len_r, char etag_r[PERSIST_ETAG_MAX],
		       struct persist_error *err);
/* Several documents; one entry per key, in order, with a per-key status
   (PERSIST_ENOTFOUND entries have value NULL) and each document's expiry
   in expires_ms (0: none, or not known to the provider).  Fails only as
   a whole. */
int persist_config_get_many(persist *p, const char *const *keys, size_t n,
			    struct persist_entry **entries_r,
			    struct persist_error *err);
/* Store a document (must be valid JSON, see above).  if_match NULL:
   unconditional; else PERSIST_ECONFLICT unless the current ETag equals it.
   ttl_ms 0: no expiry, else at most PERSIST_TTL_MAX_MS.  New ETag to
   etag_r (may be NULL). */
int persist_config_set(persist *p, const char *key, const void *data,
		       size_t len, const char *if_match, int64_t ttl_ms,
		       char etag_r[PERSIST_ETAG_MAX], struct persist_error *err);
int persist_config_delete(persist *p, const char *key, const char *if_match,
			  struct persist_error *err);
/* Every key, sorted. */
int persist_config_list(persist *p, struct persist_entry **keys_r, size_t *n_r,
			struct persist_error *err);

/* Change callback: etag NULL when deleted; key NULL when the provider lost
   track (reconnect) and everything should be re-read. */
typedef void persist_config_cb(void *ctx, const char *key, const char *etag);
/* Subscribe to one key (NULL: every key).  id_r identifies the
   subscription for unsubscribe.  The provider is asked about the key once
   (an uncached read): a key it refuses answers its PERSIST_EINVAL; an
   absent key is fine.  Every change made after it returns reaches the
   callback (a provider that connects lazily is made to listen first). */
int persist_config_subscribe(persist *p, const char *key, persist_config_cb *cb,
			     void *ctx, uint64_t *id_r, struct persist_error *err);
/* Once it returns, the callback is not running and will not run again. */
int persist_config_unsubscribe(persist *p, uint64_t id, struct persist_error *err);

/*
 * Last-known-good copy.  With "spoolDir" in the configuration provider's
 * config, every document read or written successfully is also kept on
 * local disk (SPOOLDIR/config/, written atomically and fsynced).  While
 * the provider answers PERSIST_EUNAVAIL, persist_config_get, _get_many and
 * _list answer from that copy (PERSIST_OK, with the ETag the document had);
 * a key the copy does not hold answers the provider's error.  When the
 * store cannot even be opened because the backend is down and the copy
 * holds documents, the handle opens anyway and serves the copy (for the
 * life of the handle: open a new one to reconnect).  Writes and
 * subscriptions are never served from the copy: they answer
 * PERSIST_EUNAVAIL naming the provider.  A document deleted through the
 * handle, found absent, or missing from a successful list is removed from
 * the copy.  See "Configuration when its backend is down" in the README.
 */
struct persist_config_copy {
	uint32_t size;          /* sizeof(struct persist_config_copy) */
	int enabled;            /* spoolDir is set: documents are kept */
	int serving;            /* the last configuration answer came from the copy */
	int offline;            /* opened while the provider was down: always the copy */
	uint64_t documents;     /* documents in the copy now */
	char dir[1024];         /* SPOOLDIR/config ("" when not enabled) */
	char reason[PERSIST_ERROR_MSG_MAX]; /* while serving: the provider's error */
};
/* Fill *status_r (set status_r->size first; a shorter struct gets a prefix). */
int persist_config_copy_status(persist *p, struct persist_config_copy *status_r,
			       struct persist_error *err);

/* --- state -------------------------------------------------------------- */

int persist_state_get(persist *p, const char *collection, const char *key,
		      char **value_r, size_t *len_r, struct persist_error *err);
/* ttl_ms 0: no expiry, else at most PERSIST_TTL_MAX_MS. */
int persist_state_set(persist *p, const char *collection, const char *key,
		      const void *value, size_t len, int64_t ttl_ms,
		      struct persist_error *err);
int persist_state_delete(persist *p, const char *collection, const char *key,
			 struct persist_error *err);
/* Live keys starting with prefix (NULL or "": all), sorted by key. */
int persist_state_scan(persist *p, const char *collection, const char *prefix,
		       struct persist_entry **entries_r, size_t *n_r,
		       struct persist_error *err);
/* Atomic increment by delta; the new value to value_r (may be NULL). */
int persist_state_incr(persist *p, const char *collection, const char *key,
		       int64_t delta, int64_t *value_r, struct persist_error *err);
/* Append one record to the collection's log. */
int persist_state_append(persist *p, const char *collection, const void *record,
			 size_t len, struct persist_error *err);
/* Records from number `from` on, at most max (0: all); next_r (may be
   NULL) gets the number after the last one returned.  A `from` below the
   first record kept by a trim (persist_state_trim_log) starts at that
   record. */
int persist_state_read_log(persist *p, const char *collection, uint64_t from,
			   size_t max, struct persist_entry **records_r,
			   size_t *n_r, uint64_t *next_r,
			   struct persist_error *err);
/* Remove collection: every key and its whole log (the log's numbering
   starts again at 0).  Other collections are untouched; an absent
   collection is no error.  PERSIST_ENOTSUP when the provider has no drop. */
int persist_state_drop(persist *p, const char *collection,
		       struct persist_error *err);
/* Remove the records of the collection's log numbered below `before`,
   e.g. those already processed, so a log need not grow forever.  The
   other records keep their numbers and appends go on from the same next
   number; read_log from a trimmed-away number starts at the first kept
   record (its index says which; when nothing is returned next_r is the
   log's next number or from, whichever is larger).  before 0 or not above
   the first kept record: nothing to do.  before above the log's next
   record number: PERSIST_EINVAL naming that number, nothing removed.
   PERSIST_ENOTSUP when the provider cannot trim. */
int persist_state_trim_log(persist *p, const char *collection, uint64_t before,
			   struct persist_error *err);
/* The number of the first record of the collection's log (0 until a trim)
   and the number the next append will get (first_r, next_r: either may
   be NULL); next - first records are in the log.  Both 0 for a log never
   written.  Works on every provider (one without a native method is
   asked through read_log, a few calls). */
int persist_state_log_bounds(persist *p, const char *collection,
			     uint64_t *first_r, uint64_t *next_r,
			     struct persist_error *err);

/* The name of every collection holding a live key or a log record, sorted
   (in each entry's key), for tools that copy or inspect a whole store.
   What is queued is stored first.  While a primary is down (see
   persist_provider_status) the names come from its fallback.
   PERSIST_ENOTSUP when the provider cannot list collections (a plugin
   built for ABI 1.2 or older). */
int persist_state_collections(persist *p, struct persist_entry **names_r,
			      size_t *n_r, struct persist_error *err);

struct persist_kv {
	const char *key;
	const void *value;
	size_t len;
	int64_t ttl_ms;
};
/* Set several keys of one collection in one provider batch. */
int persist_state_set_batch(persist *p, const char *collection,
			    const struct persist_kv *entries, size_t n,
			    struct persist_error *err);
/* Several mixed operations (struct persist_op from plugin.h). */
int persist_state_batch(persist *p, const struct persist_op *ops, size_t n,
			struct persist_error *err);
/* Apply ops as one batch named id, at most once: the provider records
   id with the batch in one atomic step, and a later call with the same id
   - after a timeout or a lost connection, from this or any process using
   the backend, within a day (PERSIST_BATCH_ID_KEEP_MS) - applies nothing
   and sets *applied_before_r to 1 (else 0).  id: 1 to
   PERSIST_BATCH_ID_MAX - 1 characters of [A-Za-z0-9._:-], unique per
   batch.  Never queued: with batching on, what is queued is stored first.
   PERSIST_ENOTSUP when the provider has no batch_once (plugin ABI 1.2). */
int persist_state_batch_once(persist *p, const char *id,
			     const struct persist_op *ops, size_t n,
			     int *applied_before_r, struct persist_error *err);
/* persist_state_batch_once for writes made earlier, with the time each
   was made: the set or delete ops[i] was made at written_ms[i] (ms since
   the epoch, from 1 to a day ahead of this machine's clock; the entries
   of other operations are not read) and is applied only if no set or
   delete of its key made later has been applied - the last writer wins by
   time, whichever arrives last.  A write that loses is skipped, which is
   no error.  This is what the replay of a fallback's journal sends; a tool
   that copies writes with their times can send it too.  Never queued.
   PERSIST_ENOTSUP when the provider has no batch_once_dated (plugin ABI
   1.4; see "Last writer wins" in plugin.h). */
int persist_state_batch_once_dated(persist *p, const char *id,
				   const struct persist_op *ops,
				   const int64_t *written_ms, size_t n,
				   int *applied_before_r, struct persist_error *err);
/* Make everything acknowledged so far durable: with batching on, first
   store every write queued before the call (waiting for a flush already
   in progress), then ask the provider to sync. */
int persist_state_flush(persist *p, struct persist_error *err);

/*
 * Write-behind batching.  With "batchInterval" > 0 in the state provider's
 * config, state writes are queued in this process and handed to the
 * provider as one batch per flush: every batchInterval ms, as soon as the
 * queue holds batchMaxOps operations or batchMaxBytes bytes, on
 * persist_state_flush and on persist_close.  Then:
 *   - persist_state_set, _delete, _append, _batch, _set_batch and
 *     persist_state_add return once the write is queued (a delete of an
 *     absent key is not reported); increments of one key are summed, a set
 *     or delete replaces what was queued for its key before, appends keep
 *     their order;
 *   - persist_state_incr stays synchronous: it sends this process's queued
 *     increments of the key along with delta and returns the new value;
 *   - get, scan and read_log see this process's queued writes;
 *   - a failed flush keeps its operations (in order, as one batch with the
 *     same id) and is retried with exponential backoff; when the queue is
 *     full (16 x batchMaxOps operations or 16 x batchMaxBytes bytes) writes
 *     answer PERSIST_EUNAVAIL;
 *   - persist_close reports the writes it could not store.
 * Each flush is sent with an id made of the handle's instance, the batch's
 * random id and its sequence number; with a provider that has batch_once
 * (plugin ABI 1.2) a retry after an uncertain answer (a timeout, a lost
 * connection) never applies a batch twice: the provider says it had
 * applied it, and the stats count it as settled.
 * A crash loses the writes queued since the last flush that returned
 * (at most those: everything a completed flush stored stays, once).
 * Without batchInterval every write is stored before the call returns.
 */

/* Add delta to a counter without waiting for the new value: the call for
   usage tracking.  Queued with batching on (PERSIST_EINVAL when the sum
   queued for the key would overflow 64 bits; nothing is queued then),
   a plain increment otherwise. */
int persist_state_add(persist *p, const char *collection, const char *key,
		      int64_t delta, struct persist_error *err);

/* Counters of the write queue (all 0, enabled 0, with batching off). */
struct persist_batch_stats {
	uint32_t size;              /* sizeof(struct persist_batch_stats) */
	int enabled;                /* batching on for the state store */
	int64_t interval_ms, max_ops, max_bytes; /* the settings in force */
	uint64_t ops_queued;        /* write calls queued */
	uint64_t ops_coalesced;     /* of those, merged into a queued op */
	uint64_t ops_flushed;       /* provider operations stored by flushes */
	uint64_t ops_rejected;      /* refused as invalid when applied alone
				       (each one logged as an error) */
	uint64_t flushes;           /* flushes that stored their batch */
	uint64_t flush_failures;    /* flush attempts that failed */
	uint64_t flush_uncertain;   /* of those, PERSIST_EUNCERTAIN */
	uint64_t queue_depth;       /* provider operations waiting */
	uint64_t queue_bytes;       /* their bytes (keys, values, records) */
	uint64_t queue_limit_ops, queue_limit_bytes; /* backpressure limits */
	int64_t last_flush_us;      /* duration of the last successful flush */
	int64_t median_flush_us;    /* median of the last 64 */
	int64_t max_flush_us;
	uint64_t last_batch_id;     /* identity of the last batch sent */
	uint64_t last_batch_seq;
	persist_status last_error;  /* of the last attempt (PERSIST_OK: it worked) */
	char last_error_msg[PERSIST_ERROR_MSG_MAX];
	/* --- exactly-once flushes (read when size covers them) --- */
	int exactly_once;           /* the provider has batch_once: every flush
				       is sent with its batch id, and a retry
				       never applies a batch twice */
	uint64_t batches_uncertain; /* batches a flush attempt left uncertain
				       (PERSIST_EUNCERTAIN: it may have landed) */
	uint64_t uncertain_settled; /* of those, settled by a retry with the
				       same id (exactly_once only) */
	uint64_t uncertain_landed;  /* of the settled, those the retry found
				       applied already (applied before) */
	uint64_t uncertain_left;    /* of the uncertain, not settled: still
				       waiting, lost at close, or retried
				       without batch_once (may be doubled) */
	/* --- journalQueued (read when size covers them) --- */
	int journal_queued;         /* queued writes are journaled before the
				       call returns */
	uint64_t journal_records;   /* records not yet acknowledged by the
				       provider, in every queue's journal
				       under spoolDir (this process's, other
				       processes', stopped processes') */
	uint64_t journal_bytes;     /* their bytes in the files */
	uint64_t journal_files;     /* journals holding such records */
	uint64_t journal_orphans;   /* journals left by stopped processes that
				       could not be replayed yet */
	uint64_t journal_replayed;  /* writes of such journals replayed */
	char journal_path[512];     /* this queue's journal file */
	char journal_error[PERSIST_ERROR_MSG_MAX]; /* reading it failed: why */
};
/* Fill *stats_r (set stats_r->size first; a shorter struct gets a
   prefix). */
int persist_state_stats(persist *p, struct persist_batch_stats *stats_r,
			struct persist_error *err);

/* --- sessions ----------------------------------------------------------- */

/* Register or refresh a connection held by this instance (ttl_ms 0: until
   dropped, else at most PERSIST_TTL_MAX_MS). */
int persist_session_put(persist *p, const char *id, const void *data,
			size_t len, int64_t ttl_ms, struct persist_error *err);
int persist_session_drop(persist *p, const char *id, struct persist_error *err);
/* Live sessions of every instance, sorted by id. */
int persist_session_list(persist *p, struct persist_entry **sessions_r,
			 size_t *n_r, struct persist_error *err);
int persist_session_broadcast(persist *p, const char *event, const void *data,
			      size_t len, struct persist_error *err);
int persist_session_send(persist *p, const char *id, const char *event,
			 const void *data, size_t len, struct persist_error *err);

/* Event callback: session_id NULL for broadcasts; origin is the sender's
   instance id (compare with persist_instance_id() to spot your own). */
typedef void persist_event_cb(void *ctx, const char *origin,
			      const char *session_id, const char *event,
			      const void *data, size_t len);
/* Every event sent after it returns reaches cb. */
int persist_session_subscribe(persist *p, persist_event_cb *cb, void *ctx,
			      uint64_t *id_r, struct persist_error *err);
int persist_session_unsubscribe(persist *p, uint64_t id,
				struct persist_error *err);

/* --- fallback ------------------------------------------------------------ */

/*
 * A state or sessions provider may name a "fallback" provider (and, for
 * state, a "spoolDir" in its config, where the journal of writes made
 * during an outage is kept).  While the primary is down its calls go to
 * the fallback; state writes are first journaled durably, and replayed to
 * the primary once it answers again.  See "When a backend goes down" in
 * the README.
 */
enum persist_provider_mode {
	PERSIST_MODE_PRIMARY = 0,   /* calls go to the primary provider */
	PERSIST_MODE_FALLBACK = 1,  /* the primary is down: the fallback serves */
	PERSIST_MODE_REPLAYING = 2  /* the primary is back: the journal is replayed
				       (reads from the fallback, writes journaled) */
};

struct persist_provider_status {
	uint32_t size;              /* sizeof(struct persist_provider_status) */
	enum persist_provider_mode mode;
	int has_fallback;           /* 0: the rest is about the primary alone */
	char provider[64];          /* the primary's name */
	char fallback[64];          /* the fallback's name, "" when none */
	char active[64];            /* the provider serving reads now */
	int64_t since_ms;           /* wall clock of the last change of mode (0: never) */
	uint64_t pending;           /* journaled operations not yet replayed
				       (by any process sharing the spoolDir) */
	uint64_t journaled;         /* operations this handle journaled */
	uint64_t replayed;          /* operations this handle replayed */
	uint64_t replay_dropped;    /* replayed operations the primary refused as invalid */
	uint64_t replay_uncertain;  /* replay pieces whose outcome was unknown */
	uint64_t outages;           /* times the primary was marked down */
	char last_error[PERSIST_ERROR_MSG_MAX]; /* what marked it down last */
	int replay_dated;           /* 1: the replay sends each set and delete
				       with the time it was made, and the
				       primary keeps whichever write of a key
				       was made last (its provider has
				       batch_once_dated); 0: the journal is
				       replayed in its order, over writes other
				       hosts made meanwhile (since 1.4) */
};
/* Fill *status_r (set status_r->size first; a shorter struct gets a
   prefix) for a kind. */
int persist_provider_status(persist *p, enum persist_kind kind,
			    struct persist_provider_status *status_r,
			    struct persist_error *err);
/* "primary", "fallback", "replaying" (NULL for an unknown mode). */
const char *persist_provider_mode_name(enum persist_provider_mode mode);

enum persist_provider_event {
	PERSIST_PROVIDER_DOWN = 0,      /* the primary was marked down */
	PERSIST_PROVIDER_REPLAYING = 1, /* it answers again; replay starts */
	PERSIST_PROVIDER_REPLAYED = 2,  /* n operations were replayed */
	PERSIST_PROVIDER_UP = 3         /* calls go to the primary again */
};
/* Provider event callback (on a thread the core owns, never under a lock
   of the core); detail: the error that marked the provider down, or "". */
typedef void persist_provider_cb(void *ctx, enum persist_kind kind,
				 enum persist_provider_event event, uint64_t n,
				 const char *detail);
/* Every event after it returns reaches cb. */
int persist_provider_subscribe(persist *p, persist_provider_cb *cb, void *ctx,
			       uint64_t *id_r, struct persist_error *err);
/* Once it returns, the callback is not running and will not run again
   (unless called from the callback itself). */
int persist_provider_unsubscribe(persist *p, uint64_t id,
				 struct persist_error *err);

/* --- plugins ------------------------------------------------------------ */

/* What persistctl plugins shows: every <name>.so on the search path. */
struct persist_plugin_info {
	char *name;
	char *path;
	char *version;       /* NULL when the plugin failed to load */
	char *description;
	unsigned abi_major, abi_minor;
	int has_kind[PERSIST_KIND_COUNT_];
	uint64_t caps[PERSIST_KIND_COUNT_];
	persist_status status; /* PERSIST_OK or why it cannot be loaded */
	char *error;           /* message when status != PERSIST_OK */
};
/* Probe every plugin on the search path (opts dirs, PERSIST_PLUGIN_PATH,
   config_path's pluginPath if not NULL, built-in dir); sorted by name.
   Listing needs only each plugin's descriptor: init is never called.
   Each plugin is loaded in a child process of its own (fork), which sends
   its description back through a pipe, so a plugin whose constructor
   exits, crashes or hangs (killed after a few seconds) is listed with
   status PERSIST_ELOAD and a message saying what happened, and the
   listing goes on.  Call it from a process where fork is safe (no other
   thread holding a lock the child needs); stdio buffers are flushed
   first so a child's exit cannot write them twice.  Search directories
   that are ignored (relative, empty, missing) or unsafe are reported as
   warnings through opts->log. */
int persist_plugins_probe(const struct persist_options *opts,
			  const char *config_path,
			  struct persist_plugin_info **infos_r, size_t *n_r,
			  struct persist_error *err);
void persist_plugins_free(struct persist_plugin_info *infos, size_t n);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
