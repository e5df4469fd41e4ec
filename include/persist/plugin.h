/*
 * persist/plugin.h - the plugin ABI, version 1.x.  The only header a plugin
 * needs: a plugin never links against libpersist; everything it needs from
 * the core comes through struct persist_host.
 *
 * A plugin is a shared object <name>.so that exports one symbol,
 *
 *     const struct persist_plugin *persist_plugin_entry_v1(void);
 *
 * returning a static descriptor.  The core checks, in order: the symbol, the
 * magic, abi_major == PERSIST_ABI_MAJOR, abi_minor <= the core's minor, size
 * >= the 1.0 descriptor size, name == the requested provider name, init !=
 * NULL; then, for each kind the configuration asks of it, that the matching
 * ops table is present and at least as large as its 1.0 layout.
 *
 * Compatibility rules (what "1.x" promises):
 *   - structs here only ever grow at the end; a slot is never reordered,
 *     retyped or reused;
 *   - every struct that can grow starts with `uint32_t size`, set by whoever
 *     fills it to sizeof() as *they* were built; the reader uses a field only
 *     when size covers it (PERSIST_HAS());
 *   - the core calls a method only when its table's size covers the slot and
 *     the pointer is not NULL; otherwise it emulates it (a batch becomes a loop
 *     of single calls) or answers PERSIST_ENOTSUP;
 *   - a breaking change bumps PERSIST_ABI_MAJOR and the entry symbol (_v2);
 *   - every field added after 1.0 says "since 1.x" beside it; a plugin uses
 *     it only when the struct's size covers it (a 1.1 plugin on a 1.0 core
 *     is refused at load, naming both versions).
 *
 * History: 1.0 first release; 1.1 added host->verror and the state
 * methods drop, trim_log and log_bounds; 1.2 added the state method
 * batch_once (exactly-once batches).
 *
 * Values cross the boundary as bytes (pointer + length), normally JSON text.
 * Values a plugin returns are allocated with host->alloc(len + 1) and carry a
 * NUL after the last byte (not counted in len) so JSON text can be used as a
 * C string; the core frees them with host->free.
 *
 * Threads: if an ops table's caps lack PERSIST_CAP_THREADSAFE, the core
 * serialises every call on a store with a mutex.  Callbacks from the plugin to
 * the core (host->config_changed, host->session_event, host->log) may come
 * from any thread, including plugin-owned threads; they never block for long
 * and never call back into the plugin.  persist_emit_fn callbacks given to
 * list/scan/read_log only copy what they are handed.
 *
 * Minimal plugin: see plugins/memory/memory-plugin.c and the "Writing a
 * plugin" section of the README.
 */
#ifndef PERSIST_PLUGIN_H
#define PERSIST_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <persist/status.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PERSIST_PLUGIN_MAGIC 0x50525354u /* "PRST" */
#define PERSIST_ABI_MAJOR 1              /* breaking change: new entry symbol _v2 */
#define PERSIST_ABI_MINOR 4              /* additive changes only; 1.1: host->verror,
                                            state drop/trim_log/log_bounds;
                                            1.2: state batch_once;
                                            1.3: state collections;
                                            1.4: state batch_once_dated */
#define PERSIST_PLUGIN_ENTRY_SYMBOL "persist_plugin_entry_v1"

/* ETag buffers: at most PERSIST_ETAG_MAX - 1 printable ASCII characters. */
#define PERSIST_ETAG_MAX 64

/* Limits the core enforces on every call before a plugin sees it (longer
   or malformed input answers PERSIST_EINVAL): keys, session ids and event
   names are non-empty valid UTF-8 without control characters, at most
   PERSIST_KEY_MAX bytes; collection names match
   [A-Za-z0-9_.:-]{1,PERSIST_COLLECTION_MAX} and do not start with '.';
   values are at most PERSIST_VALUE_MAX bytes. */
#define PERSIST_KEY_MAX 512
#define PERSIST_COLLECTION_MAX 128
#define PERSIST_VALUE_MAX (256u * 1024 * 1024)

/* The longest TTL (100 years, in ms).  A TTL is 0 (no expiry) or 1 to
   PERSIST_TTL_MAX_MS: the core refuses anything else with PERSIST_EINVAL
   before calling a plugin, so a plugin never gets a larger one.  Plugins
   still compute expiries overflow-safe (persist_expiry_ms). */
#define PERSIST_TTL_MAX_MS INT64_C(3153600000000)

/* The wall-clock expiry of a value written at now_ms with ttl_ms: 0 (none)
   for a TTL of 0, else now_ms + ttl_ms, saturating at INT64_MAX instead of
   overflowing. */
static inline int64_t persist_expiry_ms(int64_t now_ms, int64_t ttl_ms)
{
	if (ttl_ms <= 0)
		return 0;
	if (now_ms > 0 && ttl_ms > INT64_MAX - now_ms)
		return INT64_MAX;
	return now_ms + ttl_ms;
}

/* Read a counter's text: data[0..len) must be exactly
   -?(0|[1-9][0-9]*) within [INT64_MIN, INT64_MAX] (the rule of incr, see
   struct persist_state_ops and "Counters" in the provider contract).
   0 with the value in *value_r, or -1 (nothing set) for any other text. */
static inline int persist_parse_counter(const char *text, size_t len,
					int64_t *value_r)
{
	size_t i = 0;
	int neg = 0;
	uint64_t limit, v = 0;

	if (text == NULL || len == 0)
		return -1;
	if (text[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == len || text[i] < '0' || text[i] > '9' ||
	    (text[i] == '0' && (len - i > 1 || neg)))
		return -1;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		unsigned d;

		if (text[i] < '0' || text[i] > '9')
			return -1;
		d = (unsigned)(text[i] - '0');
		if (v > (limit - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (neg)
		*value_r = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		*value_r = (int64_t)v;
	return 0;
}

/* True when a size-prefixed struct `s` (pointer) is large enough to hold
   `field`, i.e. its producer was built with a header that has the field. */
#define PERSIST_HAS(s, field) \
	((s)->size >= offsetof(__typeof__(*(s)), field) + sizeof((s)->field))

#if defined(__GNUC__)
#  define PERSIST_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#  define PERSIST_EXPORT __attribute__((visibility("default")))
#else
#  define PERSIST_PRINTF(fmt, args)
#  define PERSIST_EXPORT
#endif

/* The three kinds of data; also indexes the core's per-kind tables. */
enum persist_kind {
	PERSIST_KIND_CONFIG = 0,
	PERSIST_KIND_STATE = 1,
	PERSIST_KIND_SESSION = 2,
	PERSIST_KIND_COUNT_
};

/* Capability bits in each ops table's `caps`.  Claim only what the provider
   really does: the conformance suite tests every bit claimed. */
#define PERSIST_CAP_TTL        (1ull << 0)  /* expiry of values/documents/sessions */
#define PERSIST_CAP_ATOMIC_INCR (1ull << 1) /* incr is atomic across every user of the backend */
#define PERSIST_CAP_APPEND_LOG (1ull << 2)  /* append + read_log */
#define PERSIST_CAP_BATCH      (1ull << 3)  /* batch is native (one round trip / one fsync) */
#define PERSIST_CAP_NOTIFY     (1ull << 4)  /* calls host->config_changed on changes, incl. other processes' */
#define PERSIST_CAP_BROADCAST  (1ull << 5)  /* session events reach other processes/machines */
#define PERSIST_CAP_THREADSAFE (1ull << 6)  /* store methods may be called concurrently */
#define PERSIST_CAP_DURABLE    (1ull << 7)  /* acknowledged writes survive a process crash */
#define PERSIST_CAP_CAS        (1ull << 8)  /* config set/delete with if_match is a real compare-and-swap */
#define PERSIST_CAP_SHARED     (1ull << 9)  /* data is visible to other processes using the same backend */

/* Capabilities and their methods.  A capability that stands for methods
   may be claimed only by a table that has them (non-NULL, inside its
   size); the core refuses any other table at load time with
   PERSIST_EDESCRIPTOR, naming the capability and the missing method
   ("state table claims "batch" but has no batch method"), and
   persist_plugins_probe reports the same:

       capability      configuration   state              sessions
       TTL             set             set                put
       CAS             set, del        -                  -
       ATOMIC_INCR     -               incr               -
       APPEND_LOG      -               append, read_log   -
       BATCH           -               batch              -
       BROADCAST       -               -                  broadcast

   "-": that kind's table has no such method and cannot claim the
   capability.  NOTIFY (meaningful on a configuration table), THREADSAFE,
   DURABLE and SHARED describe the backend rather than a method: any table
   may claim them. */

enum persist_log_level {
	PERSIST_LOG_DEBUG = 0,
	PERSIST_LOG_INFO = 1,
	PERSIST_LOG_WARNING = 2,
	PERSIST_LOG_ERROR = 3
};

/* Opaque core object standing for one open store; the plugin keeps the
   pointer it got in persist_store_args and passes it back to the host
   callbacks below. */
struct persist_sink;

/* One session event, as a plugin hands it to host->session_event. */
struct persist_event {
	uint32_t size;          /* sizeof(struct persist_event) */
	const char *origin;     /* instance_id of the sender */
	const char *session_id; /* target session for a send; NULL for a broadcast */
	const char *event;      /* event name */
	const void *data;       /* payload (normally JSON) */
	size_t len;
};

/* The core's side of the ABI, given to init and valid until fini. */
struct persist_host {
	uint32_t size;                 /* sizeof(struct persist_host) in the core */
	uint16_t abi_major, abi_minor; /* the core's ABI version */
	const char *core_version;      /* e.g. "1.0.0" */

	/* Log through the handle's log callback (sink may be NULL: process log). */
	void (*log)(struct persist_sink *sink, enum persist_log_level level,
		    const char *fmt, ...) PERSIST_PRINTF(3, 4);
	/* Fill *err (may be NULL) with code, errno and a printf-style message.
	   Returns code, so `return host->error(err, PERSIST_EINVAL, 0, ...)`. */
	int (*error)(struct persist_error *err, persist_status code, int sys_errno,
		     const char *fmt, ...) PERSIST_PRINTF(4, 5);
	/* Memory for every buffer handed to the core. */
	void *(*alloc)(size_t size);
	void (*free)(void *ptr);
	/* Wall clock in milliseconds since the epoch (use for TTLs that other
	   processes or machines must agree on).  Resolution is one scheduler
	   tick (a few ms): cheap enough to call on every operation. */
	int64_t (*now_ms)(void);
	/* Monotonic clock in microseconds (use for timeouts and latency). */
	int64_t (*monotonic_us)(void);
	/* The ETag of bytes: every provider uses this, so the same document has
	   the same ETag whichever provider stores it. */
	void (*etag)(const void *data, size_t len, char etag_r[PERSIST_ETAG_MAX]);
	/* A configuration document changed: etag is the new ETag, or NULL when
	   the key was deleted or expired; key NULL means "anything may have
	   changed, re-read everything" (e.g. after a reconnect). */
	void (*config_changed)(struct persist_sink *sink, const char *key,
			       const char *etag);
	/* A session event arrived for this instance (a broadcast, or a send to a
	   session it holds).  Deliver events from this instance too. */
	void (*session_event)(struct persist_sink *sink,
			      const struct persist_event *event);
	/* Name of a status code, for messages. */
	const char *(*strerror)(int status);

	/* --- since 1.1: use only when PERSIST_HAS(host, field) --- */

	/* host->error with a va_list, for a plugin's own printf-style error
	   helper (since 1.1). */
	int (*verror)(struct persist_error *err, persist_status code, int sys_errno,
		      const char *fmt, va_list args) PERSIST_PRINTF(4, 0);
};

/* What open() is given. */
struct persist_store_args {
	uint32_t size;               /* sizeof(struct persist_store_args) in the core */
	enum persist_kind kind;      /* which kind this store serves */
	const char *config_json;     /* the provider's "config" object as JSON text ("{}" if none) */
	const char *instance_id;     /* unique per persist handle; origin of its events */
	struct persist_sink *sink;   /* pass back to host->log/config_changed/session_event */
};

/* A value returned by get: data from host->alloc, NUL-terminated. */
struct persist_value {
	void *data;
	size_t len;
	char etag[PERSIST_ETAG_MAX]; /* configuration only; "" elsewhere */
	int64_t expires_ms;          /* wall-clock expiry, 0 = none (informational) */
};

/* One element of a listing, handed to a persist_emit_fn.  Pointers are only
   valid during the call; the callee copies.  Which fields are set depends on
   the listing (see each method). */
struct persist_item {
	uint32_t size;         /* sizeof(struct persist_item) as the plugin was built */
	const char *key;       /* key, config key or session id */
	const void *value;     /* value bytes, or NULL for key-only listings */
	size_t len;
	uint64_t index;        /* log record number (read_log) */
	const char *instance;  /* instance holding the session (session list) */
	int64_t expires_ms;    /* wall-clock expiry, 0 = none */
	const char *etag;      /* config list: the document's ETag if cheap, else NULL */
};

/* Returns 0 to go on, non-zero to stop the listing early (the method then
   returns PERSIST_OK).  A listing that must fail does so via its own return. */
typedef int persist_emit_fn(void *ctx, const struct persist_item *item);

/* Options of a configuration write. */
struct persist_write_opts {
	uint32_t size;
	const char *if_match;  /* NULL: unconditional; else current ETag must equal
				  it (an absent document never matches) */
	int64_t ttl_ms;        /* 0: no expiry */
};

/* One operation of a state batch.  The array's element size is passed to
   batch() so the struct may grow. */
enum persist_op_type {
	PERSIST_OP_SET = 1,    /* collection, key, value/len, ttl_ms */
	PERSIST_OP_INCR = 2,   /* collection, key, delta */
	PERSIST_OP_APPEND = 3, /* collection, value/len */
	PERSIST_OP_DELETE = 4  /* collection, key */
};
struct persist_op {
	enum persist_op_type type;
	const char *collection;
	const char *key;
	const void *value;
	size_t len;
	int64_t delta;
	int64_t ttl_ms;
};

/*
 * Every ops table starts with size and caps, then open/close/health, then
 * the kind's methods.  `store` is what open returned.  Every method returns
 * a persist_status and fills err on failure; err is never NULL when the
 * core calls.  Arguments have been validated by the core (non-NULL, keys
 * non-empty valid UTF-8 without control characters and within the limits
 * above; TTLs within 0..PERSIST_TTL_MAX_MS); a provider with stricter rules (e.g. file names) checks them
 * itself and answers PERSIST_EINVAL naming the key.
 */
#define PERSIST_OPS_HEADER                                             \
	uint32_t size;                                                          \
	uint64_t caps;                                                          \
	int (*open)(void *plugin, const struct persist_store_args *args,        \
		    void **store_r, struct persist_error *err);                 \
	void (*close)(void *store);                                             \
	/* Cheap liveness check (PING); latency of the round trip in us. */     \
	int (*health)(void *store, int64_t *latency_us_r, struct persist_error *err)

/* The common start of every ops table: what the core reads from a table
   before it knows (or without caring) which kind it serves - its size, its
   capabilities, open, close and health.  Each kind's table begins with
   exactly these fields (PERSIST_OPS_HEADER), so a pointer to any of them
   may be read as a pointer to this; the core checks the layouts agree at
   build time. */
struct persist_ops_header {
	PERSIST_OPS_HEADER;
};

struct persist_config_ops {
	PERSIST_OPS_HEADER;
	/* Document and its ETag; PERSIST_ENOTFOUND when absent or expired. */
	int (*get)(void *store, const char *key, struct persist_value *value_r,
		   struct persist_error *err);
	/* Store a document (JSON text); new ETag to etag_r.  With if_match: CAS,
	   PERSIST_ECONFLICT when the current ETag differs or the key is absent. */
	int (*set)(void *store, const char *key, const void *data, size_t len,
		   const struct persist_write_opts *opts,
		   char etag_r[PERSIST_ETAG_MAX], struct persist_error *err);
	/* Delete; PERSIST_ENOTFOUND when absent; if_match as for set (NULL: none). */
	int (*del)(void *store, const char *key, const char *if_match,
		   struct persist_error *err);
	/* Emit every key (item.key; item.etag optional), any order. */
	int (*list)(void *store, persist_emit_fn *emit, void *ctx,
		    struct persist_error *err);
};

/*
 * State: named collections, each one key space.  A key holds a value (set)
 * or a counter (incr); get and scan return a counter as its decimal text;
 * set replaces a counter; incr of a key whose value is not a decimal
 * integer answers PERSIST_EINVAL.  Each collection also has one append-only
 * log, separate from its keys, whose records are numbered 0, 1, 2, ... in
 * append order.
 */
struct persist_state_ops {
	PERSIST_OPS_HEADER;
	int (*get)(void *store, const char *collection, const char *key,
		   struct persist_value *value_r, struct persist_error *err);
	/* ttl_ms 0: no expiry.  Expired keys are invisible at once. */
	int (*set)(void *store, const char *collection, const char *key,
		   const void *data, size_t len, int64_t ttl_ms,
		   struct persist_error *err);
	/* PERSIST_ENOTFOUND when absent. */
	int (*del)(void *store, const char *collection, const char *key,
		   struct persist_error *err);
	/* Emit key + value of every live key starting with prefix ("" = all),
	   any order.  An unknown collection is empty, not an error. */
	int (*scan)(void *store, const char *collection, const char *prefix,
		    persist_emit_fn *emit, void *ctx, struct persist_error *err);
	/* Add delta (may be negative) to the counter, creating it at 0; the new
	   value to *value_r.  The text of a counter is the same on every
	   provider, a decimal int64 as Redis accepts it:
	       -?(0|[1-9][0-9]*)   within [INT64_MIN, INT64_MAX]
	   so "-9223372036854775808" is one, while "+1", " 1", "1 ", "012",
	   "-0" and "9223372036854775808" are not.  incr of a key whose value
	   is not a counter's text answers PERSIST_EINVAL naming the key, and so
	   does a sum outside int64; either way the key is left unchanged.
	   persist_parse_counter() (above) reads a counter's text. */
	int (*incr)(void *store, const char *collection, const char *key,
		    int64_t delta, int64_t *value_r, struct persist_error *err);
	/* Append one record (normally one JSON document without newlines). */
	int (*append)(void *store, const char *collection, const void *data,
		      size_t len, struct persist_error *err);
	/* Emit records from number `from` on (item.index, item.value), at most
	   `max` of them (0 = no limit), in order; from below the first record
	   kept by a trim starts at that record. */
	int (*read_log)(void *store, const char *collection, uint64_t from,
			size_t max, persist_emit_fn *emit, void *ctx,
			struct persist_error *err);
	/* Apply n operations, op_size = sizeof(struct persist_op) of the core.
	   All or nothing where the backend allows; on a failure after some ops
	   may have been applied answer PERSIST_EUNCERTAIN.  Durability of the
	   whole batch costs one flush/round trip (that is why it exists). */
	int (*batch)(void *store, const struct persist_op *ops, size_t n,
		     size_t op_size, struct persist_error *err);
	/* Make everything acknowledged so far durable (fsync, pipeline drain). */
	int (*flush)(void *store, struct persist_error *err);

	/* --- since 1.1: the core calls these only when the table's size
	   covers them and they are not NULL (else PERSIST_ENOTSUP naming the
	   provider and the method); see "Dropping and trimming" below. --- */

	/* Remove the collection: every key and the whole log, atomically for
	   other users of the backend (a write racing the drop lands before
	   it and is removed, or after it in a fresh collection).  The log's
	   numbering starts again at 0.  An absent collection is no error
	   (since 1.1). */
	int (*drop)(void *store, const char *collection, struct persist_error *err);
	/* Remove the log's records numbered below `before`; the numbers of the
	   records kept do not change, and later appends go on from the same
	   next number.  before 0, or not above the first kept record: nothing
	   to do, PERSIST_OK.  before above the log's next record number:
	   PERSIST_EINVAL naming that number, nothing removed.  A provider
	   with trim_log also has log_bounds (since 1.1). */
	int (*trim_log)(void *store, const char *collection, uint64_t before,
			struct persist_error *err);
	/* The number of the first record kept (0 until a trim) and the number
	   the next append gets; both 0 for a log never written (or dropped),
	   equal for an empty one (since 1.1). */
	int (*log_bounds)(void *store, const char *collection, uint64_t *first_r,
			  uint64_t *next_r, struct persist_error *err);

	/* --- since 1.2 --- */

	/* Apply a batch exactly once.  `id` names the batch: 1 to
	   PERSIST_BATCH_ID_MAX - 1 characters of [A-Za-z0-9._:-], unique per
	   batch across every user of the backend (the core sends the same id
	   again only when it retries that very batch).  Recording the id and
	   applying the operations are one atomic step: if a batch with this
	   id was applied within the last PERSIST_BATCH_ID_KEEP_MS, nothing is
	   applied, *applied_before_r is set to 1 and the answer is PERSIST_OK;
	   otherwise the batch is applied as by batch() and *applied_before_r
	   is 0.  So a retry after PERSIST_EUNCERTAIN, a timeout or a lost
	   connection never applies a batch twice (see "Exactly-once batches"
	   below) (since 1.2). */
	int (*batch_once)(void *store, const char *id, const struct persist_op *ops,
			  size_t n, size_t op_size, int *applied_before_r,
			  struct persist_error *err);

	/* --- since 1.3 --- */

	/* Emit the name of every collection that holds a live key or a log
	   record (item.key), each once, any order; a collection whose keys
	   have all expired or been deleted and whose log is empty may be
	   emitted or not.  With scan, read_log and log_bounds this lets a
	   tool copy a whole store (see "Enumeration" below) (since 1.3). */
	int (*collections)(void *store, persist_emit_fn *emit, void *ctx,
			   struct persist_error *err);

	/* --- since 1.4 --- */

	/* batch_once for writes made earlier - what a journal replays after
	   an outage: as batch_once, except that the set or delete ops[i] was
	   made at written_ms[i] (wall clock, ms since the epoch; the entries
	   of other operations are ignored) and is applied only if no set or
	   delete of the same key made later has been applied: the last
	   writer wins by when each write was made, not by when it arrives.
	   A write that loses is skipped, which is no error.  A provider with
	   this method records the time of every set and delete it applies,
	   through any method (here the time given, elsewhere host->now_ms()),
	   also of a key deleted or expired since (see "Last writer wins"
	   below) (since 1.4). */
	int (*batch_once_dated)(void *store, const char *id, const struct persist_op *ops,
				const int64_t *written_ms, size_t n, size_t op_size,
				int *applied_before_r, struct persist_error *err);
};

/* Batch ids of batch_once: buffer size, and how long a provider must
   remember an applied id at least (a day: longer than any retry or any
   outage a journal replays after) (since 1.2). */
#define PERSIST_BATCH_ID_MAX 96
#define PERSIST_BATCH_ID_KEEP_MS (24 * 3600 * 1000LL)

/*
 * Sessions: a registry of live connections shared by every instance, and
 * events.  Events for this instance reach the core via host->session_event.
 */
struct persist_session_ops {
	PERSIST_OPS_HEADER;
	/* Register or refresh session id, held by this instance (args'
	   instance_id); ttl_ms 0: until dropped. */
	int (*put)(void *store, const char *id, const void *data, size_t len,
		   int64_t ttl_ms, struct persist_error *err);
	/* PERSIST_ENOTFOUND when unknown. */
	int (*drop)(void *store, const char *id, struct persist_error *err);
	/* Emit every live session of every instance: item.key = id,
	   item.instance, item.value = data, item.expires_ms. */
	int (*list)(void *store, persist_emit_fn *emit, void *ctx,
		    struct persist_error *err);
	/* Deliver an event to every instance (including this one). */
	int (*broadcast)(void *store, const char *event, const void *data,
			 size_t len, struct persist_error *err);
	/* Deliver an event to the instance holding session id;
	   PERSIST_ENOTFOUND when no live session has that id. */
	int (*send)(void *store, const char *id, const char *event,
		    const void *data, size_t len, struct persist_error *err);
};

/*
 * ------------------------------------------------------------------------
 * Provider contract
 * ------------------------------------------------------------------------
 * What every provider must do beyond the signatures above.  Each rule names
 * the persist-conformance test that checks it, as [rule-id]; a failure of
 * the suite quotes the id and the section title below.  Where a rule was a
 * choice, the memory plugin is the reference and the suite agrees with it.
 *
 * Stores
 *   - open returns a store for one kind; health is cheap and answers OK
 *     with the round-trip latency in microseconds [store.health].
 *   - A provider claims in caps only what it really does; the suite runs
 *     the tests of every bit claimed and lists the bits it could not test.
 *
 * Arguments and errors
 *   - The core validates every argument before calling (non-NULL, keys and
 *     collection names within the limits of persist.h, valid UTF-8, no
 *     control characters, JSON for documents) [config.args, config.keys.bad,
 *     config.json, state.args, sessions.args].  A provider with stricter
 *     rules answers PERSIST_EINVAL naming the key [config.keys.longest].
 *   - Every failure returns a status and fills err through host->error with
 *     a message naming the key, collection or session.  PERSIST_ENOTFOUND
 *     means absent (or expired); on any failure outputs are left untouched
 *     [config.get.absent].
 *   - Errors: a plugin does not name itself.  The core puts "NAME: " (the
 *     provider's name as configured) before the primary message of every
 *     error a provider returns - from open, health and every method - and
 *     before every line it logs through host->log, so a message reads
 *     'redis: cannot connect to 127.0.0.1:6379' and never
 *     'redis: redis provider: ...'.  Messages are PostgreSQL-style: a short
 *     lower-case primary message without a full stop, then "\n" and a
 *     detail sentence.  (Messages from init have no store: the core puts
 *     the plugin's file before them.)
 *
 * Configuration documents
 *   - set stores the bytes; get returns them unchanged, NUL-terminated,
 *     through every handle and store on the same backend [config.set.get,
 *     config.big, config.keys.odd]; delete removes, a second delete answers
 *     PERSIST_ENOTFOUND [config.delete]; list emits every key once
 *     [config.list, config.get-many].
 *
 * ETags
 *   - The ETag of a document is host->etag() of its exact bytes, whichever
 *     provider stores it: equal bytes, equal ETag [config.etag.content].
 *   - The core trusts a non-empty ETag a provider returns (from get, set
 *     and list) and does not recompute it; it is what if_match is compared
 *     with.  An empty ETag ("" from get or set, NULL in a list item) means
 *     "not known": the core then computes host->etag() of the bytes
 *     itself.  So a provider either returns host->etag() of the stored
 *     bytes or nothing, never another value [config.etag.paths].
 *
 * Compare-and-swap
 *   - set/del with if_match apply only when the stored document's ETag
 *     equals it; an absent document never matches (PERSIST_ECONFLICT for
 *     set, PERSIST_ENOTFOUND for del) [config.if-match].  With
 *     PERSIST_CAP_CAS this is atomic against every writer of the backend:
 *     one winner among racers [config.cas.one-winner], no lost update in
 *     read-modify-write loops under contention [config.cas.counter].
 *
 * Change notification (PERSIST_CAP_NOTIFY)
 *   - Every set, delete and expiry, by this process or another, calls
 *     host->config_changed(sink, key, new ETag or NULL) on every store of
 *     the backend [config.notify.subscribers, config.notify.other-handle,
 *     config.ttl].  key NULL means "re-read everything" (after a reconnect).
 *   - Rewriting a document with identical bytes is not a change and does
 *     not notify [config.notify.identical].
 *   - Without the capability the core notifies its own handle's writes.
 *
 * Values and keys (state)
 *   - Values are bytes: any byte including NUL, empty, megabytes; they read
 *     back unchanged and NUL-terminated [state.kv.basic, state.kv.bytes].
 *   - An unknown collection is empty, not an error.  scan emits exactly the
 *     live keys starting with the prefix, with their values [state.scan.prefix].
 *   - A delete removes a key from get, scan and incr at once; what a run
 *     wrote can be deleted and is gone from every listing [cleanup.delete].
 *
 * Counters
 *   - incr treats an absent (or expired) key as 0, stores the sum and
 *     returns it; get and scan return a counter as its decimal text; set
 *     replaces a counter [state.incr.basic].
 *   - Counter text is canonical decimal int64, -?(0|[1-9][0-9]*): no
 *     leading zeros, no "-0", no sign or blanks around it.  incr of a key
 *     holding anything else, and an increment whose result leaves int64,
 *     answer PERSIST_EINVAL naming the key and change nothing
 *     [state.incr.basic, state.incr.text].  persist_parse_counter() reads
 *     that text; use it rather than strtoll.
 *   - incr keeps the TTL of the key it increments (the counter expires
 *     when the value it replaced would have); a counter incr creates has
 *     no TTL; a later set decides the TTL anew [state.ttl.untouched].
 *   - With PERSIST_CAP_ATOMIC_INCR increments from any number of threads,
 *     handles and processes add up exactly, each returning its own new
 *     value [state.incr.atomic, state.incr.atomic-handles].
 *
 * Expiry (TTL)
 *   - ttl_ms is 0 (no expiry) or 1..PERSIST_TTL_MAX_MS (100 years); the
 *     core refuses anything else and never passes it.  Expiry is measured
 *     on host->now_ms(), the wall clock every process agrees on.
 *   - An expired document, key or session is absent at once for every
 *     method - get, list, scan, incr, delete, send - whether or not
 *     anything read it since it expired [config.ttl, state.ttl.expiry,
 *     state.ttl.untouched, sessions.ttl]; a set without TTL clears one; a
 *     TTL given in a batch works as in a single set [state.ttl.batch].
 *
 * Append logs (PERSIST_CAP_APPEND_LOG)
 *   - Records of a collection are numbered 0, 1, 2, ... in append order and
 *     keep their numbers (also across a trim, see below); read_log(from,
 *     max) emits exactly from ..
 *     from + max - 1 that exist, in order; the log is not a key space
 *     [state.log.read]; concurrent appends each land exactly once, every
 *     writer's records in its order [state.log.concurrent].
 *
 * Dropping and trimming (drop, trim_log, log_bounds: optional, since 1.1)
 *   - drop removes every key and the whole log of one collection; other
 *     collections are untouched; dropping an absent collection answers
 *     PERSIST_OK; afterwards the collection reads as never written: get
 *     NOTFOUND, scan empty, log empty and numbered from 0 again, bounds
 *     0/0 [state.drop].  With PERSIST_CAP_SHARED this holds for every
 *     process: one that had the collection open and writes to it after
 *     the drop writes to a fresh collection [process.drop].
 *   - trim_log(before) removes records first..before-1.  Record numbers
 *     never change: the records kept and those appended later keep the
 *     numbers they would have had; read_log from a number below the first
 *     kept record starts at the first kept record (item.index says which
 *     it is); log_bounds gives first and next.  before 0, or not above
 *     first, changes nothing; before above next answers PERSIST_EINVAL
 *     naming next and removes nothing; before == next empties the log but
 *     keeps its numbering [state.log.trim].  Trimming is atomic for
 *     concurrent readers and appenders of every process: a reader sees the
 *     log before or after the trim, never a renumbered one.
 *   - A provider without drop answers PERSIST_ENOTSUP through the core
 *     (the core does not emulate it: keys could be deleted one by one but
 *     a log cannot be emptied through the other methods).  Without
 *     log_bounds the core finds the bounds with read_log calls (a log that
 *     is never trimmed starts at 0).
 *
 * Batches
 *   - A batch DELETE of an absent key is no error: the batch goes on and
 *     applies (a single del still answers PERSIST_ENOTFOUND)
 *     [state.batch.delete-absent].
 *   - With PERSIST_CAP_BATCH a batch is applied whole [state.batch.set,
 *     state.batch.mixed] or not at all; when some operations may have been
 *     applied before a failure it answers PERSIST_EUNCERTAIN
 *     [state.batch.atomic].  Without it the core loops over single calls.
 *
 * Exactly-once batches (batch_once: optional, since 1.2)
 *   - batch_once(id, ops) applies ops as batch() does and records id in
 *     the same atomic step; a second call with the same id within
 *     PERSIST_BATCH_ID_KEEP_MS applies nothing and reports
 *     *applied_before_r = 1, from this or any other process of the backend
 *     [state.batch.once, process.batch-once].  A provider whose batch_once cannot tell whether
 *     an earlier attempt landed answers PERSIST_EUNCERTAIN; the core then
 *     retries with the same id, which settles it.
 *
 * Last writer wins (batch_once_dated: optional, since 1.4)
 *   - Every set and delete the provider applies records the key's write
 *     time: the time given to batch_once_dated, host->now_ms() for set,
 *     del, batch and batch_once.  A dated set or delete is skipped when
 *     the key's recorded time is later than its own (an equal time does
 *     not stop it), applied otherwise - also when nothing is recorded
 *     [state.lww.order, state.lww.direct].  A delete's time outlives the
 *     key, so an older set does not bring a deleted key back
 *     [state.lww.delete]; the same holds for a key whose TTL ran out.
 *   - Times are kept at least PERSIST_BATCH_ID_KEEP_MS; after that a
 *     provider may forget them, and a dated write older than that is then
 *     applied.  A drop forgets the collection's times [state.lww.drop].
 *   - Increments and appends are not dated: they are applied as they
 *     come, and an increment records no time [state.lww.incr].
 *   - Skipping is part of the batch's one atomic step: a retry with the
 *     same id applies nothing, as with batch_once [state.lww.once].  With
 *     PERSIST_CAP_SHARED the times are shared with every process of the
 *     backend.
 *
 * Enumeration (collections: optional, since 1.3)
 *   - collections emits every collection holding a live key or a log
 *     record, each exactly once; a dropped collection is not emitted;
 *     the names are those the collections were written with
 *     [state.collections].  With PERSIST_CAP_SHARED the collections other
 *     processes wrote are listed too.
 *   - scan gives each key's wall-clock expiry in item.expires_ms (0: no
 *     TTL), so a copy keeps what remains of it [state.scan.expiry].
 *   - A counter is its decimal text (see "Counters"): a copy that sets
 *     that text makes a counter that incr goes on from.  There is no
 *     separate flag, because a backend such as Redis cannot tell a
 *     counter from a value holding the same text.
 *   - Without collections the core answers PERSIST_ENOTSUP naming the
 *     provider and the method; nothing can enumerate such a store.
 *
 * Sessions and session events
 *   - put registers or refreshes a session held by the store's instance;
 *     every instance lists it with its holder; drop removes it
 *     [sessions.registry].  A put of the same id by another instance moves
 *     the session to that instance: the list names the new holder and
 *     sends reach only it [sessions.reregister].
 *   - broadcast reaches every instance once, the sender too; send reaches
 *     only the holder's instance, PERSIST_ENOTFOUND for an unknown or
 *     expired session; each event carries the sender's instance id as
 *     origin [sessions.broadcast, sessions.send, sessions.unsubscribe].
 *
 * Processes (PERSIST_CAP_SHARED, _DURABLE, _BROADCAST)
 *   - SHARED: what another process wrote is visible [process.shared,
 *     process.sessions]; DURABLE: an acknowledged write survives the
 *     process being killed [process.durable]; BROADCAST: events cross
 *     processes [process.broadcast].
 *
 * Threads
 *   - Without PERSIST_CAP_THREADSAFE the core serialises the calls on each
 *     store; with it, methods of one store run concurrently and each
 *     thread sees its own writes [config.threads.mixed, state.threads.mixed,
 *     sessions.threads], and readers of a key being rewritten see only
 *     whole values that were written, never an older one after a newer
 *     one [state.threads.one-key].
 *   - host->error, alloc, free, now_ms, monotonic_us, etag and strerror
 *     may be called from any thread at any time between init and fini.
 *   - host->log, config_changed and session_event take a store's sink and
 *     may be called from any thread, plugin-owned ones included, from the
 *     moment open has stored the sink until close returns.  config_changed
 *     only with a configuration store's sink, session_event only with a
 *     session store's.  They return quickly (they queue), never call back
 *     into the plugin, and may be called with the plugin's locks held.
 *   - A persist_emit_fn is called only on the thread that called the
 *     listing method, before the method returns.
 *
 * Lifetime of a sink and close
 *   - The sink is valid from open until close returns, and not a moment
 *     longer: the core frees it after close.  close must therefore stop
 *     (and join) every plugin thread that may use the sink and wait for
 *     callbacks already in flight to return before it returns.  Writes a
 *     store acknowledged must not be lost by close.
 *
 * Memory ownership
 *   - Everything the core passes (keys, values, args and its strings,
 *     write options, batch operations) is valid only during the call:
 *     copy what you keep.
 *   - Everything a provider hands back to keep (persist_value.data) is
 *     allocated with host->alloc(len + 1), NUL after the last byte, and
 *     freed by the core with host->free; on a failure set nothing (the
 *     core frees what was set).
 *   - What a provider hands to a persist_emit_fn or a host callback stays
 *     the provider's: valid during the call, copied by the core.
 */

/* The descriptor a plugin's entry function returns (static storage). */
struct persist_plugin {
	uint32_t magic;                 /* PERSIST_PLUGIN_MAGIC */
	uint16_t abi_major, abi_minor;  /* PERSIST_ABI_MAJOR, PERSIST_ABI_MINOR */
	uint32_t size;                  /* sizeof(struct persist_plugin) as built */
	const char *name, *version, *description;
	/* Called once per process, before any open.  *plugin_r is handed to
	   every open; host stays valid until fini. */
	int (*init)(const struct persist_host *host, void **plugin_r,
		    struct persist_error *err);
	void (*fini)(void *plugin);
	const struct persist_config_ops *config;   /* NULL: no configuration store */
	const struct persist_state_ops *state;     /* NULL: no state store */
	const struct persist_session_ops *session; /* NULL: no session store */
};

/* Fill the fixed header of a descriptor. */
#define PERSIST_PLUGIN_HEADER                                                   \
	.magic = PERSIST_PLUGIN_MAGIC, .abi_major = PERSIST_ABI_MAJOR,          \
	.abi_minor = PERSIST_ABI_MINOR, .size = sizeof(struct persist_plugin)

typedef const struct persist_plugin *persist_plugin_entry_fn(void);

/* The one symbol a plugin exports. */
PERSIST_EXPORT const struct persist_plugin *persist_plugin_entry_v1(void);

#ifdef __cplusplus
}
#endif
#endif
