/*
 * plugins/redis/redis-private.h - what the files of the redis provider
 * share: the parsed configuration, the connection pool, the request
 * builder, the Lua scripts, the pub/sub subscriber and the store object.
 *
 * Files (each has one job):
 *   redis-plugin.c   descriptor, init/fini, the three ops tables
 *   redis-url.c      parsing of the "url" setting
 *   redis-options.c  parsing of the provider's config object (json-c)
 *   redis-conn.c     connect + handshake, pool, backoff, request execution
 *   redis-req.c      building pipelined requests (argv arrays)
 *   redis-script.c   the Lua scripts and their SHA1 digests
 *   redis-msg.c      framing of pub/sub messages (binary safe)
 *   redis-store.c    open/close/health shared by the three kinds
 *   redis-pubsub.c   the subscriber thread (dedicated connection)
 *   redis-sentinel.c the master named by Redis Sentinel: asking the
 *                    sentinels, following +switch-master (watcher thread)
 *   redis-state.c    state: counters, values with TTL, logs, batches,
 *                    write times (last writer wins)
 *   redis-collections.c  state: listing the collections (SCAN)
 *   redis-config.c   configuration documents, ETags, CAS, notification
 *   redis-session.c  session registry, broadcast, targeted send
 *   (plugins/common: the set that drops SCAN duplicates, struct pc_map)
 */
#ifndef PERSIST_REDIS_PRIVATE_H
#define PERSIST_REDIS_PRIVATE_H

#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>
#include <persist/plugin.h>
#include "pc-common.h"      /* the plugin support library (hash table) */

#define REDIS_PLUGIN_VERSION "1.4.0"

/* Defaults of the settings (milliseconds unless said otherwise). */
#define REDIS_DEFAULT_URL "redis://127.0.0.1:6379/0"
#define REDIS_DEFAULT_PREFIX "persist:"
#define REDIS_DEFAULT_CONNECT_TIMEOUT 1000
#define REDIS_DEFAULT_COMMAND_TIMEOUT 3000
#define REDIS_DEFAULT_POOL_SIZE 8
#define REDIS_DEFAULT_RECONNECT_MIN 50
#define REDIS_DEFAULT_RECONNECT_MAX 2000
#define REDIS_PREFIX_MAX 256
#define REDIS_DEFAULT_WAIT_TIMEOUT 1000
#define REDIS_HOST_MAX 256     /* a master's address as a sentinel names it */

/* Redis refuses expiry times it cannot represent only after a script may
   have written, so every TTL is checked against PERSIST_TTL_MAX_MS
   (plugin.h) before anything is sent (and again by the scripts, which
   hold its text, before their first write). */
#define REDIS_TTL_MAX_TEXT "3153600000000"

/* How long the write times of a collection's keys are kept (see
   redis-state.c): PERSIST_BATCH_ID_KEEP_MS, written out for the scripts'
   text (redis-script.c checks that the two agree), and twice that, the
   life of a times set nobody writes any more (a time is at most a day
   ahead of the host's clock, so every entry is due for pruning by
   then). */
#define REDIS_TIMES_KEEP_MS 86400000
#define REDIS_TIMES_LIFE_MS 172800000
#define REDIS_STR_(x) #x
#define REDIS_STR(x) REDIS_STR_(x)

/* The plugin object (one per process): the host table. */
struct redis_plugin {
	const struct persist_host *host;
};

/* Parsed settings of one store. */
struct redis_conf {
	/* where: TCP host/port, or a unix socket path */
	bool unix_socket;
	bool tls;              /* rediss:// */
	char *host;            /* TCP: host name or address (no brackets) */
	int port;
	char *path;            /* unix socket path */
	int db;
	char *username;        /* NULL: AUTH with the password only */
	char *password;        /* NULL: no AUTH */
	char *display;         /* the url without credentials, for messages */
	char *prefix;          /* key prefix, default "persist:" */
	int connect_timeout_ms;
	int command_timeout_ms;
	bool keepalive;
	unsigned pool_size;
	int reconnect_min_ms;
	int reconnect_max_ms;
	char *tls_ca;          /* CA bundle file */
	char *tls_cert;        /* client certificate */
	char *tls_key;         /* client key */
	char *tls_server_name; /* SNI */
	/* Redis Sentinel (redis-sentinel.c): the master is the one the
	   sentinels name; host/port above are then not used */
	struct redis_addr *sentinels;  /* NULL: no sentinels */
	size_t n_sentinels;
	char *master_name;
	char *sentinel_username;
	char *sentinel_password;       /* NULL: no AUTH to the sentinels */
	int replica_acks;              /* WAIT for this many replicas (0: no) */
	int wait_timeout_ms;
};

/* A sentinel's address. */
struct redis_addr {
	char *host;
	int port;
};

/* redis-url.c */
int redis_url_parse(const struct persist_host *host, const char *url,
		    struct redis_conf *conf, struct persist_error *err);
/* redis-options.c */
int redis_conf_parse(const struct persist_host *host, const char *json,
		     struct redis_conf *conf, struct persist_error *err);
void redis_conf_free(struct redis_conf *conf);

/* --- requests (redis-req.c) ------------------------------------------- */

#define REDIS_REQ_INLINE_ARGS 16
#define REDIS_REQ_INLINE_CMDS 4
#define REDIS_REQ_ARENA 512

/* A pipeline of commands being built: argv pointers either borrow the
   caller's memory (values) or point into the request's own arena (keys
   and numbers it composed). */
struct redis_req {
	const char **argv;
	size_t *lens;
	size_t nargs, cap_args;
	size_t *cmd_first;      /* index of each command's first argument */
	size_t ncmds, cap_cmds;
	bool oom;               /* an allocation failed: exec answers ENOMEM */
	char what[192];         /* what this request does, for messages */
	/* storage */
	const char *argv_inline[REDIS_REQ_INLINE_ARGS];
	size_t lens_inline[REDIS_REQ_INLINE_ARGS];
	size_t cmd_inline[REDIS_REQ_INLINE_CMDS];
	char arena[REDIS_REQ_ARENA];
	size_t arena_used;
	struct redis_req_block *blocks; /* arena overflow */
};

void redis_req_init(struct redis_req *req, const char *what_fmt, ...)
	PERSIST_PRINTF(2, 3);
void redis_req_free(struct redis_req *req);
/* Room for nargs arguments and ncmds commands in all. */
void redis_req_reserve(struct redis_req *req, size_t nargs, size_t ncmds);
/* Start a new command (its name is the next argument). */
void redis_req_cmd(struct redis_req *req, const char *name);
/* Borrowed argument: must stay valid until the request is executed. */
void redis_req_arg(struct redis_req *req, const void *data, size_t len);
void redis_req_str(struct redis_req *req, const char *s);
/* Copied arguments. */
void redis_req_fmt(struct redis_req *req, const char *fmt, ...)
	PERSIST_PRINTF(2, 3);
void redis_req_i64(struct redis_req *req, int64_t v);
/* Copy of the concatenation of parts (NULL-terminated list of strings). */
void redis_req_cat(struct redis_req *req, ...);
/* Copy of a key made of a C-string head and binary tail. */
void redis_req_key(struct redis_req *req, const char *head, const char *tail);
/* argc of command i. */
size_t redis_req_argc(const struct redis_req *req, size_t i);

/* --- Lua scripts (redis-script.c) ------------------------------------- */

enum redis_script_id {
	RS_STATE_GET,
	RS_STATE_SET,
	RS_STATE_DEL,
	RS_STATE_INCR,
	RS_STATE_CLEANUP,
	RS_CONFIG_SET,
	RS_CONFIG_DEL,
	RS_SESSION_PUT,
	RS_SESSION_DROP,
	RS_SESSION_SEND,
	RS_STATE_DROP,
	RS_LOG_READ,
	RS_LOG_TRIM,
	RS_LOG_BOUNDS,
	RS_STATE_BATCH_ONCE,
	RS_STATE_BATCH_ONCE_INCR,
	RS_STATE_TIMES,
	RS_COUNT_
};
struct redis_script {
	const char *name;
	const char *body;
	char sha[41];
};
/* Compute the SHA1 digests (idempotent, thread-safe). */
int redis_scripts_init(void);
const struct redis_script *redis_script(enum redis_script_id id);
/* Add "EVALSHA sha nkeys" to req; keys and arguments follow. */
void redis_req_script(struct redis_req *req, enum redis_script_id id,
		      int nkeys);

/* The marker a state hash holds for a key whose value lives in its own
   string key (see redis-state.c). */
#define REDIS_VALUE_MARK "@v"

/* --- connections (redis-conn.c) --------------------------------------- */

/* One pooled connection. */
struct redis_conn {
	redisContext *ctx;
	uint64_t gen;              /* the pool's master_gen it was made for */
	struct redis_conn *next;
};

/* The connection pool of one store, with the outage/backoff state. */
struct redis_pool {
	const struct redis_conf *conf;
	const struct persist_host *host;
	struct persist_sink *sink;
	pthread_mutex_t lock;
	pthread_cond_t freed;       /* a connection came back or a slot freed */
	struct redis_conn *idle;
	unsigned total;             /* connections in use + idle + connecting */
	/* outage state */
	bool down;                  /* last connection attempt failed */
	bool probing;               /* a thread is trying to reconnect */
	unsigned failures;          /* consecutive failed attempts */
	int64_t retry_at_us;        /* no attempt before this (monotonic) */
	int64_t down_since_us;
	char last_error[256];
	/* the store's hook run after its first request (the wait for its
	   subscriber), guarded by lock */
	void (*after_first)(void *ctx);
	void *after_first_ctx;
	bool first_done;
	/* with sentinels: the master's address as last named, guarded by
	   lock; master_gen grows whenever it changes or is in doubt, and
	   connections made for an older one are not reused */
	bool master_known;
	char master_host[REDIS_HOST_MAX];
	int master_port;
	uint64_t master_gen;
	/* run (without lock) when the sentinels announce a new master */
	void (*on_master_change)(void *ctx);
	void *on_master_change_ctx;
	/* statistics (for tests and logs) */
	uint64_t reconnects;
#ifdef HAVE_HIREDIS_SSL
	void *ssl_ctx;              /* redisSSLContext * */
#endif
};

/* Request flags. */
#define REDIS_WRITE  0x1u /* changes data: a lost reply is EUNCERTAIN */
#define REDIS_ATOMIC 0x2u /* applies all or nothing (one command, MULTI/EXEC) */

/* Connect and run the handshake (AUTH, SELECT, PING, script loading when
   load_scripts).  PERSIST_OK, PERSIST_EUNAVAIL (cannot reach it now) or
   PERSIST_ECONFIG (it answered, but refuses us or is not Redis); the
   reason goes to why. */
int redis_connect(struct redis_pool *pool, bool load_scripts,
		  redisContext **ctx_r, uint64_t *gen_r, char *why,
		  size_t why_size);
/* The generation of the master's address (see struct redis_pool). */
uint64_t redis_pool_master_gen(struct redis_pool *pool);
int redis_pool_init(struct redis_pool *pool, const struct redis_conf *conf,
		    const struct persist_host *host, struct persist_sink *sink,
		    struct persist_error *err);
void redis_pool_destroy(struct redis_pool *pool);
/* Run every command of req on one connection; replies_r gets req->ncmds
   replies (free with redis_replies_free).  Errors replies of Redis are
   returned as replies, not as failures. */
int redis_exec(struct redis_pool *pool, struct redis_req *req, unsigned flags,
	       redisReply ***replies_r, struct persist_error *err);
void redis_replies_free(redisReply **replies, size_t n);
/* Run req, a single command whose answer is an integer, and store that
   in *value_r (may be NULL); any other reply is reported with
   redis_reply_error naming req->what. */
int redis_exec_integer(struct redis_pool *pool, struct redis_req *req,
		       unsigned flags, long long *value_r,
		       struct persist_error *err);
/* Run req, one page of SCAN, HSCAN or ZSCAN, and check the answer: the
   next cursor goes to cursor (cursor_size bytes with the NUL), the page's
   items to *items_r, the reply (free with redis_replies_free(.., 1)) to
   *replies_r; any other answer is reported with redis_reply_error naming
   req->what. */
int redis_exec_scan(struct redis_pool *pool, struct redis_req *req,
		    char *cursor, size_t cursor_size, redisReply ***replies_r,
		    const redisReply **items_r, struct persist_error *err);
/* Send bytes on a context with MSG_NOSIGNAL (no SIGPIPE); -1 on error. */
int redis_send_all(redisContext *ctx, const char *buf, size_t len,
		   size_t *sent_r);
/* Send req on a context outside the pool and read nreplies replies. */
int redis_ctx_run(const struct redis_pool *pool, redisContext *ctx,
		  struct redis_req *req, size_t nreplies, redisReply **replies,
		  char *why, size_t why_size);

/* Map an error reply to a status (EINVAL for wrong values, EUNAVAIL for
   LOADING/BUSY/..., EIO otherwise) with a message naming what. */
int redis_reply_error(const struct persist_host *host, const redisReply *r,
		      const char *what, struct persist_error *err);
/* Map the error reply of a write script: an error the script raised
   before its first write (PERSIST-...), or one Redis gave before running
   it, as redis_reply_error; any other error may have come after a write:
   PERSIST_EUNCERTAIN. */
int redis_script_error(const struct persist_host *host, const redisReply *r,
		       const char *what, struct persist_error *err);
/* Check a TTL (0: none) against 0..PERSIST_TTL_MAX_MS; EINVAL naming what. */
int redis_check_ttl(const struct persist_host *host, int64_t ttl_ms,
		    const char *what, struct persist_error *err);

/* --- Redis Sentinel (redis-sentinel.c) ------------------------------- */

/* Parse the "sentinels" list ("host:port" each) into conf. */
int redis_sentinel_conf(const struct persist_host *host, char **list,
			struct redis_conf *conf, struct persist_error *err);
/* The master's address: the one last named, or asked of the sentinels
   now.  PERSIST_OK, PERSIST_EUNAVAIL (no sentinel answered) or
   PERSIST_ECONFIG (they do not know masterName, or refuse us); the
   reason to why. */
int redis_sentinel_master(struct redis_pool *pool, char *host, size_t size,
			  int *port_r, uint64_t *gen_r, char *why,
			  size_t why_size);
/* The master of generation gen failed or is no master: ask the
   sentinels again before the next connection. */
void redis_sentinel_forget(struct redis_pool *pool, uint64_t gen);
struct redis_watch;
/* Start / stop the thread that follows +switch-master for the pool. */
int redis_watch_start(struct redis_pool *pool, struct redis_watch **w_r,
		      struct persist_error *err);
void redis_watch_stop(struct redis_watch *w);

/* --- pub/sub messages (redis-msg.c) ----------------------------------- */

/* Encode n byte fields as one message (malloc); NULL on ENOMEM. */
char *redis_msg_encode(size_t n, const void *const *fields,
		       const size_t *lens, size_t *len_r);
/* Split a message into exactly n fields (pointers into msg); 0 on
   success, -1 when malformed. */
int redis_msg_decode(const char *msg, size_t len, size_t n,
		     const char **fields_r, size_t *lens_r);

/* --- subscriber (redis-pubsub.c) -------------------------------------- */

struct redis_store;
struct redis_sub;
/* A message arrived on channel. */
typedef void redis_sub_msg_fn(struct redis_store *st, const char *channel,
			      size_t chlen, const char *data, size_t len);
/* The subscription was re-established after a gap (messages may have been
   lost). */
typedef void redis_sub_gap_fn(struct redis_store *st);

/* Called by the subscriber thread on every turn: do what is due and
   return the ms until the next thing is due (-1: nothing). */
typedef int64_t redis_sub_tick_fn(struct redis_store *st);

int redis_sub_start(struct redis_store *st, const char *const *channels,
		    size_t n, redis_sub_msg_fn *on_msg, redis_sub_gap_fn *on_gap,
		    redis_sub_tick_fn *on_tick, struct redis_sub **sub_r,
		    struct persist_error *err);
void redis_sub_stop(struct redis_sub *sub);
/* Make the thread call on_tick soon (something new is due). */
void redis_sub_wake(struct redis_sub *sub);
/* Wait up to timeout_ms for the subscriber's first attempt; true when it
   is (or has been) subscribed, else false with the reason in why. */
bool redis_sub_wait_first(struct redis_sub *sub, int64_t timeout_ms,
			  char *why, size_t why_size);
/* Times the subscriber (re)subscribed, for tests. */
uint64_t redis_sub_generation(struct redis_sub *sub);

/* --- stores (redis-store.c) ------------------------------------------- */

struct redis_store {
	struct redis_plugin *plugin;
	const struct persist_host *host;
	enum persist_kind kind;
	struct redis_conf conf;
	struct redis_pool pool;
	char *instance_id;
	struct persist_sink *sink;
	struct redis_sub *sub;
	struct redis_watch *watch;   /* with sentinels */
	size_t prefix_len;
	/* names built once (prefix + fixed part) */
	char *chan_config;   /* configuration change notices */
	char *chan_expired;  /* __keyevent@<db>__:expired */
	char *chan_bcast;    /* session broadcasts */
	char *chan_self;     /* events for sessions held by this instance */
	char *chan_inst;     /* prefix of every instance channel */
	char *cfg_key_prefix;   /* prefix + "c:d:" */
	char *sess_key_prefix;  /* prefix + "n:s:" */
	char *sess_index;       /* prefix + "n:idx" */
	/* configuration: documents with a TTL whose expiry is to be
	   notified (redis-config.c) */
	pthread_mutex_t timer_lock;
	bool timer_lock_ready;
	struct redis_expiry *expiries;
	size_t n_expiries, cap_expiries;
};

int redis_store_open(struct redis_plugin *plugin,
		     const struct persist_store_args *args,
		     struct redis_store **st_r, struct persist_error *err);
void redis_store_close(struct redis_store *st);
/* Wait for the subscriber's first attempt; true when subscribed. */
bool redis_store_wait_sub(struct redis_store *st, char *why, size_t why_size);
int redis_store_health(void *store, int64_t *latency_us_r,
		       struct persist_error *err);
/* Escape glob characters (* ? [ ] \) of s for a MATCH pattern and append
   "*" (malloc); NULL on ENOMEM. */
char *redis_glob_prefix(const char *s, size_t len);
/* What the function of a key walk answers: PERSIST_OK to go on,
   REDIS_WALK_STOP to end the walk (redis_walk_keys then answers
   PERSIST_OK), or a failure it has put in err. */
#define REDIS_WALK_STOP (-1)
typedef int redis_walk_fn(void *ctx, const char *key, size_t len,
			  struct persist_error *err);
/* Walk the keys matching pattern with SCAN (never KEYS), calling fn once
   per key (the keys SCAN repeats are dropped); `what` names the walk in
   messages ("list of configuration documents"). */
int redis_walk_keys(struct redis_store *st, const char *what,
		    const char *pattern, redis_walk_fn *fn, void *ctx,
		    struct persist_error *err);

/* Kind-specific parts of open/close. */
int redis_config_start(struct redis_store *st, struct persist_error *err);
void redis_config_stop(struct redis_store *st);
int redis_session_start(struct redis_store *st, struct persist_error *err);

/* Ops of each kind (redis-state.c, redis-config.c, redis-session.c). */
int redis_state_get(void *store, const char *collection, const char *key,
		    struct persist_value *value_r, struct persist_error *err);
int redis_state_set(void *store, const char *collection, const char *key,
		    const void *data, size_t len, int64_t ttl_ms,
		    struct persist_error *err);
int redis_state_del(void *store, const char *collection, const char *key,
		    struct persist_error *err);
int redis_state_scan(void *store, const char *collection, const char *prefix,
		     persist_emit_fn *emit, void *ctx,
		     struct persist_error *err);
int redis_state_incr(void *store, const char *collection, const char *key,
		     int64_t delta, int64_t *value_r,
		     struct persist_error *err);
int redis_state_append(void *store, const char *collection, const void *data,
		       size_t len, struct persist_error *err);
int redis_state_read_log(void *store, const char *collection, uint64_t from,
			 size_t max, persist_emit_fn *emit, void *ctx,
			 struct persist_error *err);
int redis_state_batch_once(void *store, const char *id, const struct persist_op *ops,
			   size_t n, size_t op_size, int *applied_before_r,
			   struct persist_error *err);
int redis_state_batch_once_dated(void *store, const char *id,
				 const struct persist_op *ops,
				 const int64_t *written_ms, size_t n,
				 size_t op_size, int *applied_before_r,
				 struct persist_error *err);
int redis_state_batch(void *store, const struct persist_op *ops, size_t n,
		      size_t op_size, struct persist_error *err);
int redis_state_flush(void *store, struct persist_error *err);
int redis_state_drop(void *store, const char *collection,
		     struct persist_error *err);
int redis_state_trim_log(void *store, const char *collection, uint64_t before,
			 struct persist_error *err);
int redis_state_log_bounds(void *store, const char *collection,
			   uint64_t *first_r, uint64_t *next_r,
			   struct persist_error *err);
int redis_state_collections(void *store, persist_emit_fn *emit, void *ctx,
			    struct persist_error *err);

int redis_config_get(void *store, const char *key,
		     struct persist_value *value_r, struct persist_error *err);
int redis_config_set(void *store, const char *key, const void *data,
		     size_t len, const struct persist_write_opts *opts,
		     char etag_r[PERSIST_ETAG_MAX], struct persist_error *err);
int redis_config_del(void *store, const char *key, const char *if_match,
		     struct persist_error *err);
int redis_config_list(void *store, persist_emit_fn *emit, void *ctx,
		      struct persist_error *err);

int redis_session_put(void *store, const char *id, const void *data,
		      size_t len, int64_t ttl_ms, struct persist_error *err);
int redis_session_drop(void *store, const char *id,
		       struct persist_error *err);
int redis_session_list(void *store, persist_emit_fn *emit, void *ctx,
		       struct persist_error *err);
int redis_session_broadcast(void *store, const char *event, const void *data,
			    size_t len, struct persist_error *err);
int redis_session_send(void *store, const char *id, const char *event,
		       const void *data, size_t len,
		       struct persist_error *err);

#endif
