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
 * History: 1.0 first release; 1.1 added host->verror.
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
#define PERSIST_ABI_MINOR 1              /* additive changes only; 1.1: host->verror */
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
	   does a sum outside int64; either way the key is left unchanged. */
	int (*incr)(void *store, const char *collection, const char *key,
		    int64_t delta, int64_t *value_r, struct persist_error *err);
	/* Append one record (normally one JSON document without newlines). */
	int (*append)(void *store, const char *collection, const void *data,
		      size_t len, struct persist_error *err);
	/* Emit records from number `from` on (item.index, item.value), at most
	   `max` of them (0 = no limit), in order. */
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
};

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
