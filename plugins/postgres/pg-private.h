/*
 * plugins/postgres/pg-private.h - what the files of the postgres provider
 * share: the parsed settings, the connection pool, the statements, the
 * listening thread and the store object.
 *
 * Files (each has one job):
 *   pg-plugin.c    descriptor, init/fini, the three ops tables
 *   pg-options.c   the provider's config object into struct pg_conf
 *   pg-mask.c      conninfo checks and display without the password
 *   pg-conn.c      connect with a deadline, pool, backoff, statement
 *                  execution with an honest answer about what happened
 *   pg-failover.c  conninfo naming several servers (libpq chooses the
 *                  primary; each host gets its own connect timeout)
 *   pg-schema.c    the schema's tables, created on first use
 *   pg-sql.c       the statements, prepared once per connection
 *   pg-listen.c    the listening thread (LISTEN/NOTIFY, dedicated connection)
 *   pg-store.c     open/close/health shared by the three kinds
 *   pg-state.c     state: counters, values with TTL, logs, batches
 *   pg-state-drop.c  state: dropping a collection, trimming its log
 *   pg-collections.c state: listing the collections
 *   pg-config.c    configuration documents, ETags, CAS, notification
 *   pg-session.c   session registry, broadcast, targeted send
 *   pg-msg.c       framing of session events in NOTIFY payloads
 */
#ifndef PERSIST_PG_PRIVATE_H
#define PERSIST_PG_PRIVATE_H

#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>
#include <persist/plugin.h>

#include "pc-common.h"

#define PG_PLUGIN_VERSION "1.4.0"

/* Defaults of the settings (milliseconds unless said otherwise). */
#define PG_DEFAULT_SCHEMA "persist"
#define PG_DEFAULT_CONNECT_TIMEOUT 2000
#define PG_DEFAULT_COMMAND_TIMEOUT 5000
#define PG_DEFAULT_POOL_SIZE 8
#define PG_DEFAULT_SWEEP_INTERVAL 1000
#define PG_RECONNECT_MIN 50
#define PG_RECONNECT_MAX 2000
/* Channel names are identifiers (at most 63 bytes): schema + ".c"/".s". */
#define PG_SCHEMA_MAX 60
/* NOTIFY payloads must stay under 8000 bytes; bigger events go through
   the events table. */
#define PG_NOTIFY_INLINE_MAX 7000
/* Deletion times removed per sweep at most (bounded work), as text for
   the statement too. */
#define PG_PRUNE_MAX 10000
#define PG_PRUNE_MAX_TEXT "10000"
/* Version of the tables this release creates (schema_version). */
/* 2: batch_ids and batch_claim; 3: write times (kv.written_ms,
   kv_deleted, lww_set, lww_del).  Older layouts are upgraded. */
#define PG_SCHEMA_VERSION 3

/* The plugin object (one per process): the host table. */
struct pg_plugin {
	const struct persist_host *host;
};

/* Parsed settings of one store. */
struct pg_conf {
	char *conninfo;          /* as given: may hold a password, never printed */
	char *display;           /* conninfo without the password, for messages */
	char *replica_conninfo;  /* NULL: no replica */
	char *replica_display;
	char *schema;            /* unquoted schema name */
	int connect_timeout_ms;
	int command_timeout_ms;
	unsigned pool_size;
	int sweep_interval_ms;
};

/* pg-options.c */
int pg_conf_parse(const struct persist_host *host, const char *json,
		  struct pg_conf *conf, struct persist_error *err);
void pg_conf_free(struct pg_conf *conf);

/* pg-mask.c: check that conninfo parses (PERSIST_ECONFIG naming setting
   `what`, without echoing anything that might be a password) and make its
   display form (malloc'ed: every option but the password). */
int pg_conninfo_check(const struct persist_host *host, const char *what,
		      const char *conninfo, char **display_r,
		      struct persist_error *err);

/* --- statements (pg-sql.c) -------------------------------------------- */

enum pg_stmt {
	PS_HEALTH,
	PS_STATE_GET,
	PS_STATE_SET,
	PS_STATE_DEL,
	PS_STATE_DEL_ANY,   /* batch delete: absent is fine */
	PS_STATE_SET_DATED, /* batch_once_dated: a set made at a given time */
	PS_STATE_DEL_DATED, /* batch_once_dated: a delete made at a given time */
	PS_STATE_PRUNE_TIMES, /* deletion times older than a day */
	PS_STATE_SCAN,
	PS_STATE_SCAN_ALL,
	PS_STATE_INCR,
	PS_STATE_INCR_MANY,
	PS_STATE_APPEND,
	PS_STATE_READ_LOG,
	PS_STATE_SWEEP,
	PS_STATE_DROP,
	PS_STATE_TRIM_LOG,
	PS_STATE_LOG_BOUNDS,
	PS_STATE_COLLECTIONS,
	PS_CFG_GET,
	PS_CFG_SET,
	PS_CFG_SET_IF,
	PS_CFG_DEL,
	PS_CFG_DEL_IF,
	PS_CFG_LIST,
	PS_CFG_SWEEP,
	PS_CFG_NEXT_EXPIRY,
	PS_SES_PUT,
	PS_SES_DROP,
	PS_SES_LIST,
	PS_SES_NOTIFY,
	PS_SES_SEND,
	PS_SES_NOTIFY_BIG,
	PS_SES_SEND_BIG,
	PS_SES_EVENT,
	PS_SES_HOLD,
	PS_SES_SWEEP,
	PS_BEGIN,
	PS_COMMIT,
	PS_BATCH_CLAIM,     /* batch_once: record the id, or fail PB001 */
	PS_BATCH_SWEEP,     /* batch_once: forget ids older than $1 ms */
	PS_COUNT_
};

/* The statements of a store with its schema filled in (malloc'ed array of
   PS_COUNT_ strings); NULL on ENOMEM. */
char **pg_sql_build(const char *quoted_schema);
/* Template t with every "@" replaced by the quoted schema (malloc). */
char *pg_sql_fill(const char *t, const char *quoted_schema);
void pg_sql_free(char **sql);
/* Number of parameters of a statement. */
int pg_sql_nparams(enum pg_stmt id);

/* --- connections (pg-conn.c) ------------------------------------------ */

struct pg_store;

/* One pooled connection. */
struct pg_conn {
	PGconn *pg;
	uint64_t prepared;       /* bit i: statement i is prepared on it */
	bool broken;             /* failed mid-way: close, never reuse */
	struct pg_conn *next;
};

/* The connection pool of one store (primary or replica), with the
   outage/backoff state. */
struct pg_pool {
	struct pg_store *st;
	const char *conninfo;
	const char *display;
	pthread_mutex_t lock;
	pthread_cond_t freed;
	struct pg_conn *idle;
	unsigned total;
	unsigned size;
	bool down;
	unsigned failures;
	int64_t retry_at_us;
	char last_error[256];
	uint64_t reconnects;
	char server[128];        /* host:port of the last connection */
};

/* Flags of a statement. */
#define PG_WRITE 0x1u  /* changes data: a lost answer is EUNCERTAIN */

/* Parameters of one statement (all text or binary as formats say). */
struct pg_params {
	int n;
	const char *values[8];
	int lengths[8];
	int formats[8];
};
void pg_param_str(struct pg_params *p, const char *s);
void pg_param_bin(struct pg_params *p, const void *data, size_t len);
/* A decimal number (text); buf must outlive the call. */
void pg_param_i64(struct pg_params *p, char buf[24], int64_t v);

/* Connect to conninfo within timeout_ms: PERSIST_OK, PERSIST_EUNAVAIL
   (cannot reach it now) or PERSIST_ECONFIG (it answered and refused us);
   the reason goes to why. */
int pg_connect(const struct pg_store *st, const char *conninfo,
	       int timeout_ms, PGconn **pg_r, char *why, size_t why_size);
/* pg-failover.c: how many servers conninfo names (*has_timeout_r: it
   sets connect_timeout); connect to one that names several, libpq moving
   to the next host after timeout_ms (in whole seconds, at least 2; 0:
   the conninfo's own connect_timeout). */
unsigned pg_conninfo_hosts(const char *conninfo, bool *has_timeout_r);
PGconn *pg_connect_hosts(const char *conninfo, int timeout_ms);
int pg_pool_init(struct pg_pool *pool, struct pg_store *st,
		 const char *conninfo, const char *display);
void pg_pool_destroy(struct pg_pool *pool);
/* One connection attempt now (open): OK, EUNAVAIL or ECONFIG. */
int pg_pool_probe(struct pg_pool *pool, struct persist_error *err);
/* Take a connection (connecting if needed) / give it back (broken ones
   are closed). */
int pg_pool_get(struct pg_pool *pool, struct pg_conn **c_r,
		struct persist_error *err);
void pg_pool_put(struct pg_pool *pool, struct pg_conn *c);
/* Run statement id with params; the result (binary format) to *res_r
   (PQclear it).  `what` names the operation in messages. */
int pg_exec(struct pg_pool *pool, enum pg_stmt id, const struct pg_params *params,
	    unsigned flags, PGresult **res_r, const char *what,
	    struct persist_error *err);
/* The same on a connection already taken. */
int pg_conn_exec(struct pg_pool *pool, struct pg_conn *c, enum pg_stmt id,
		 const struct pg_params *params, unsigned flags,
		 PGresult **res_r, const char *what, struct persist_error *err);
/* Prepare statement id on c if it is not yet. */
int pg_conn_prepare(struct pg_pool *pool, struct pg_conn *c, enum pg_stmt id,
		    struct persist_error *err);
/* Wait (poll) until PQisBusy is false or the deadline (monotonic us):
   0, or -1 when the connection failed or the time is up (*timed_out). */
int pg_wait_ready(PGconn *pg, int64_t deadline_us, const struct persist_host *host,
		  bool *timed_out);
/* Send what libpq buffered (non-blocking mode), reading meanwhile. */
int pg_flush_out(PGconn *pg, int64_t deadline_us, const struct persist_host *host,
		 bool *timed_out);
/* Map a failed result (or a lost connection: res NULL or conn bad) to a
   status and message naming what. */
int pg_result_error(struct pg_pool *pool, PGconn *pg, const PGresult *res,
		    unsigned flags, bool timed_out, const char *what,
		    struct persist_error *err);
/* SQLSTATE of a result ("" when none). */
const char *pg_sqlstate(const PGresult *res);

/* Decoding of binary result columns. */
int64_t pg_get_i64(const PGresult *res, int row, int col);
bool pg_get_bool(const PGresult *res, int row, int col);
/* A copy (host->alloc, NUL-terminated) of a bytea/text column. */
void *pg_get_copy(const struct persist_host *host, const PGresult *res,
		  int row, int col, size_t *len_r);

/* --- schema (pg-schema.c) --------------------------------------------- */

/* Make sure the tables exist on this connection's database (once per
   store): PERSIST_OK, or ECONFIG (e.g. no CREATE permission) /
   EUNAVAIL. */
int pg_schema_ensure(struct pg_store *st, PGconn *pg, char *why,
		     size_t why_size);

/* --- listening thread (pg-listen.c) ----------------------------------- */

struct pg_listener;
/* A notification arrived. */
typedef void pg_listen_msg_fn(struct pg_store *st, PGconn *pg,
			      const char *channel, const char *payload);
/* The listening connection was (re)established after a gap: notices may
   have been lost. */
typedef void pg_listen_gap_fn(struct pg_store *st);
/* Called after every (re)connection, before anything else: 0 or -1
   (the connection is then dropped and tried again later). */
typedef int pg_listen_connect_fn(struct pg_store *st, PGconn *pg);
/* Called on every turn with the listening connection: do what is due
   (sweeps) and return the ms until the next thing is due. */
typedef int64_t pg_listen_tick_fn(struct pg_store *st, PGconn *pg);

int pg_listen_start(struct pg_store *st, const char *const *channels, size_t n,
		    pg_listen_msg_fn *on_msg, pg_listen_gap_fn *on_gap,
		    pg_listen_tick_fn *on_tick, pg_listen_connect_fn *on_connect,
		    struct pg_listener **l_r, struct persist_error *err);
void pg_listen_stop(struct pg_listener *l);
/* Make the thread call on_tick soon. */
void pg_listen_wake(struct pg_listener *l);
/* Times the listener (re)connected, for tests. */
uint64_t pg_listen_generation(struct pg_listener *l);
/* Run statement id on the listener's own connection (in on_tick). */
int pg_listen_exec(struct pg_store *st, PGconn *pg, enum pg_stmt id,
		   const struct pg_params *params, PGresult **res_r);

/* --- event framing (pg-msg.c) ----------------------------------------- */

/* Encode an event as bytes: "origin\nsession\nevent\n" + data (malloc). */
char *pg_msg_encode(const char *origin, const char *session_id,
		    const char *event, const void *data, size_t len,
		    size_t *len_r);
/* Split an encoded event; pointers into a copy (*buf_r, free it). */
int pg_msg_decode(const char *msg, size_t len, char **buf_r,
		  struct persist_event *ev);
/* True when the bytes can travel inline in a NOTIFY payload (valid UTF-8
   without NUL, short enough). */
bool pg_msg_inline_ok(const char *msg, size_t len);

/* --- stores (pg-store.c) ---------------------------------------------- */

struct pg_store {
	struct pg_plugin *plugin;
	const struct persist_host *host;
	enum persist_kind kind;
	struct pg_conf conf;
	char *quoted_schema;      /* "schema" as an SQL identifier */
	char **sql;               /* statements (pg-sql.c) */
	struct pg_pool pool;      /* the primary */
	struct pg_pool replica;   /* configuration reads, when configured */
	bool has_replica;
	char *instance_id;
	struct persist_sink *sink;
	struct pg_listener *listener;
	char *chan_config;        /* schema + ".c" */
	char *chan_session;       /* schema + ".s" */
	char *holder_key;         /* schema + "\n" + instance (sessions) */
	char *schema_nl;          /* schema + "\n" (sessions) */
	pthread_mutex_t schema_lock;
	bool schema_ready;
	/* configuration: read-your-writes with a replica */
	pthread_mutex_t rw_lock;
	uint64_t seen_lsn;        /* WAL position to read at least; 0: none */
	/* periodic sweep (state stores without a listener) */
	int64_t next_sweep_us;
	unsigned long once_calls;  /* batch_once calls: old ids are swept
				      every PG_BATCH_SWEEP_EVERY-th */
};

int pg_store_open(struct pg_plugin *plugin, const struct persist_store_args *args,
		  struct pg_store **st_r, struct persist_error *err);
void pg_store_close(struct pg_store *st);
int pg_store_health(void *store, int64_t *latency_us_r,
		    struct persist_error *err);

/* Kind-specific parts of open. */
int pg_config_start(struct pg_store *st, struct persist_error *err);
int pg_session_start(struct pg_store *st, struct persist_error *err);
/* State: sweep expired keys when due (called by state calls). */
void pg_state_maybe_sweep(struct pg_store *st);

/* Ops of each kind. */
int pg_state_get(void *store, const char *collection, const char *key,
		 struct persist_value *value_r, struct persist_error *err);
int pg_state_set(void *store, const char *collection, const char *key,
		 const void *data, size_t len, int64_t ttl_ms,
		 struct persist_error *err);
int pg_state_del(void *store, const char *collection, const char *key,
		 struct persist_error *err);
int pg_state_scan(void *store, const char *collection, const char *prefix,
		  persist_emit_fn *emit, void *ctx, struct persist_error *err);
int pg_state_incr(void *store, const char *collection, const char *key,
		  int64_t delta, int64_t *value_r, struct persist_error *err);
int pg_state_append(void *store, const char *collection, const void *data,
		    size_t len, struct persist_error *err);
int pg_state_read_log(void *store, const char *collection, uint64_t from,
		      size_t max, persist_emit_fn *emit, void *ctx,
		      struct persist_error *err);
int pg_state_batch_once(void *store, const char *id, const struct persist_op *ops,
			size_t n, size_t op_size, int *applied_before_r,
			struct persist_error *err);
int pg_state_batch_once_dated(void *store, const char *id, const struct persist_op *ops,
			      const int64_t *written_ms, size_t n, size_t op_size,
			      int *applied_before_r, struct persist_error *err);
int pg_state_batch(void *store, const struct persist_op *ops, size_t n,
		   size_t op_size, struct persist_error *err);
int pg_state_flush(void *store, struct persist_error *err);
/* pg-state-drop.c: every key and log record of a collection and its numbering removed
   in one transaction (an absent collection is fine); the log records numbered
   below `before` removed (0: nothing; beyond the log's next record
   number: PERSIST_EINVAL, nothing removed). */
int pg_state_drop(void *store, const char *collection, struct persist_error *err);
int pg_state_trim_log(void *store, const char *collection, uint64_t before,
		      struct persist_error *err);
/* The first kept record number of a collection's log and the next one
   (both 0 for a log never written). */
int pg_state_log_bounds(void *store, const char *collection, uint64_t *first_r,
			uint64_t *next_r, struct persist_error *err);
/* pg-collections.c: every collection with a live key or a log record. */
int pg_state_collections(void *store, persist_emit_fn *emit, void *ctx,
			 struct persist_error *err);

int pg_config_get(void *store, const char *key, struct persist_value *value_r,
		  struct persist_error *err);
int pg_config_set(void *store, const char *key, const void *data, size_t len,
		  const struct persist_write_opts *opts,
		  char etag_r[PERSIST_ETAG_MAX], struct persist_error *err);
int pg_config_del(void *store, const char *key, const char *if_match,
		  struct persist_error *err);
int pg_config_list(void *store, persist_emit_fn *emit, void *ctx,
		   struct persist_error *err);

int pg_session_put(void *store, const char *id, const void *data, size_t len,
		   int64_t ttl_ms, struct persist_error *err);
int pg_session_drop(void *store, const char *id, struct persist_error *err);
int pg_session_list(void *store, persist_emit_fn *emit, void *ctx,
		    struct persist_error *err);
int pg_session_broadcast(void *store, const char *event, const void *data,
			 size_t len, struct persist_error *err);
int pg_session_send(void *store, const char *id, const char *event,
		    const void *data, size_t len, struct persist_error *err);

#endif
