/*
 * plugins/memory/memory-private.h - what the files of the memory provider
 * share: the plugin object, namespaces, stores, and the elements of the
 * key spaces (each an intrusive hash table of the plugin support library,
 * struct pc_table: an element embeds a struct pc_table_entry and owns its
 * key).
 *
 * Layout of the data:
 *
 *   struct memory_plugin          one per process (init .. fini)
 *     `- struct memory_namespace  one per "namespace" name, reference-counted
 *          |                      by the stores that use it; one mutex guards
 *          |                      everything inside it
 *          |- config docs         key -> struct memory_doc
 *          |- collections         name -> struct memory_collection
 *          |     |- keys          key -> struct memory_value
 *          |     `- log           array of records, numbered log_first,
 *          |                      log_first + 1, ... (0 until a trim)
 *          |- sessions            id -> struct memory_session
 *          `- open stores         config and session stores, which receive
 *                                 change notifications and session events
 *
 * Two stores opened with the same namespace share their data: to the core
 * they look like two instances talking to one backend.  That is what lets
 * the conformance suite test notifications and broadcasts between two
 * persist handles of one process.
 */
#ifndef MEMORY_PRIVATE_H
#define MEMORY_PRIVATE_H

#include <pthread.h>
#include <stdint.h>
#include <persist/plugin.h>
#include "pc-common.h"

/* ----------------------------------------------------------------------
 * Elements of the key spaces.
 */

/* A configuration document. */
struct memory_doc {
	struct pc_table_entry entry; /* key */
	void *data;                /* len bytes + NUL */
	size_t len;
	int64_t expires_ms;        /* wall clock, 0 = never */
	char etag[PERSIST_ETAG_MAX];
};

/* A configuration change to notify: key and new ETag ("" = deleted). */
struct memory_change {
	struct memory_change *next;
	char etag[PERSIST_ETAG_MAX];
	char key[];
};

/* A state value: bytes, or a counter kept as a number (data == NULL). */
struct memory_value {
	struct pc_table_entry entry; /* key */
	void *data;                /* len bytes + NUL; NULL for a counter */
	size_t len;
	int64_t counter;           /* the value when data == NULL */
	int64_t expires_ms;
};

/* One record of a collection's append log. */
struct memory_record {
	void *data;                /* len bytes + NUL */
	size_t len;
};

/* A state collection: its key space and its log. */
struct memory_collection {
	struct pc_table_entry entry; /* collection name */
	struct pc_table keys;  /* of struct memory_value */
	size_t sweep_at;           /* sweep expired keys when count reaches it */
	struct memory_record *log;
	size_t log_count, log_alloc;
	uint64_t log_first;        /* number of log[0]: records trimmed so far */
	struct pc_table times; /* of struct memory_time (memory-times.c) */
	size_t times_sweep_at;     /* sweep old times when count reaches it */
};

/* When a key was last set or deleted (ms since the epoch; 0: not yet). */
struct memory_time {
	struct pc_table_entry entry; /* key */
	int64_t ms;
};

/* The id of a batch applied by batch_once, remembered for
   PERSIST_BATCH_ID_KEEP_MS; kept in a table for lookups and in a queue
   in the order they were applied, which is also the order they expire
   in. */
struct memory_batch_id {
	struct pc_table_entry entry; /* the id */
	struct memory_batch_id *next; /* in the queue, applied later */
	int64_t expires_ms;
};

/* A registered session. */
struct memory_session {
	struct pc_table_entry entry; /* session id */
	char *instance;            /* instance_id of the store that put it */
	void *data;                /* len bytes + NUL */
	size_t len;
	int64_t expires_ms;
};

/* ----------------------------------------------------------------------
 * Plugin, namespaces, stores (memory-namespace.c).
 */
struct memory_namespace;

/* One open store of any kind. */
struct memory_store {
	struct memory_plugin *plugin;
	struct memory_namespace *ns;
	enum persist_kind kind;
	char *instance_id;
	struct persist_sink *sink;
	/* In ns->stores[kind], guarded by ns->lock: */
	struct memory_store *next;
	unsigned busy;             /* callbacks to this store's sink in progress */
	int closing;               /* close() is waiting for busy == 0 */
};

struct memory_namespace {
	struct memory_namespace *next; /* in plugin->namespaces */
	struct memory_plugin *plugin;
	char *name;
	unsigned refcount;             /* open stores; guarded by plugin->lock */

	pthread_mutex_t lock;          /* guards everything below */
	pthread_cond_t idle;           /* a store's busy count dropped to 0 */
	struct memory_store *stores[PERSIST_KIND_COUNT_];
	struct pc_table docs;        /* of struct memory_doc */
	struct pc_table collections; /* of struct memory_collection */
	struct memory_collection *last_collection; /* the one used last, or NULL:
						      saves a hash lookup when a
						      caller works one collection */
	struct pc_table batch_ids;   /* of struct memory_batch_id */
	struct memory_batch_id *ids_first, **ids_last; /* their queue */
	struct pc_table sessions;    /* of struct memory_session */
	size_t sessions_sweep_at;

	/* Configuration changes waiting to be notified, in the order they
	   were made; whichever thread finds nobody delivering delivers
	   (see memory-config.c). */
	struct memory_change *changes, **changes_tail;
	int delivering;

	/* The expiry thread of configuration documents (started by the first
	   set with a TTL): it removes them on time and notifies. */
	pthread_t reaper;
	int reaper_running, reaper_stop;
	pthread_cond_t reaper_wake;      /* CLOCK_MONOTONIC */
};

struct memory_plugin {
	const struct persist_host *host;
	pthread_mutex_t lock;            /* guards namespaces and refcounts */
	struct memory_namespace *namespaces;
};

/* Parse the provider's config JSON, find or create the namespace and link a
   new store of args->kind into it. */
int memory_store_open(struct memory_plugin *plugin,
		      const struct persist_store_args *args,
		      struct memory_store **store_r, struct persist_error *err);
/* Unlink the store (waiting for callbacks to it to finish) and free it;
   the last store of a namespace frees the namespace. */
void memory_store_close(struct memory_store *store);
/* Health of any store: takes the namespace lock, reports the time it took. */
int memory_store_health(void *store, int64_t *latency_us_r,
			struct persist_error *err);
/* Free every namespace left over at fini (none when the core closed all). */
void memory_namespaces_free_all(struct memory_plugin *plugin);

/* Called with ns->lock held; returns with it held.  Calls fn(store, ctx)
   for every open store of `kind` (that is not closing and for which
   instance is NULL or equals the store's instance_id), without the lock
   held during the call.  Returns the number of stores called. */
typedef void memory_store_fn(struct memory_store *store, void *ctx);
size_t memory_ns_foreach_store(struct memory_namespace *ns,
			       enum persist_kind kind, const char *instance,
			       memory_store_fn *fn, void *ctx);

/* ----------------------------------------------------------------------
 * Per-kind helpers used by memory-namespace.c.
 */

/* memory-config.c: deliver the queued changes.  ns->lock held. */
void memory_config_deliver(struct memory_namespace *ns);
/* memory-config.c: the expiry thread. */
void *memory_config_reaper(void *ns);
void memory_doc_free(struct memory_doc *doc);

/* memory-state.c */
void memory_collection_free(struct memory_collection *coll);
/* Forget every remembered batch id (the namespace is being freed). */
void memory_batch_ids_free(struct memory_namespace *ns);

/* memory-times.c: the write times of a collection's keys. */
struct memory_time *memory_time_find(struct memory_collection *coll, const char *key);
struct memory_time *memory_time_get(struct memory_collection *coll, const char *key);
void memory_times_sweep(struct memory_collection *coll, int64_t now_ms);
void memory_time_free(struct memory_time *t);
void memory_times_free(struct memory_collection *coll);

/* memory-session.c: drop the sessions held by instance (its last session
   store is closing).  ns->lock held. */
void memory_sessions_drop_instance(struct memory_namespace *ns,
				   const char *instance);
void memory_session_free(struct memory_session *session);

/* Shared helpers (memory-namespace.c). */
/* True when expires_ms is set and not later than now_ms. */
static inline int memory_expired(int64_t expires_ms, int64_t now_ms)
{
	return expires_ms != 0 && expires_ms <= now_ms;
}
/* Wall-clock expiry for a TTL (0: never). */
int64_t memory_expiry(const struct persist_host *host, int64_t ttl_ms);

/* ----------------------------------------------------------------------
 * The methods of the ops tables (memory-plugin.c holds the tables).
 */

/* memory-config.c */
int memory_config_open(void *plugin, const struct persist_store_args *args,
		       void **store_r, struct persist_error *err);
void memory_config_close(void *store);
int memory_config_get(void *s, const char *key,
		      struct persist_value *value_r,
		      struct persist_error *err);
int memory_config_set(void *s, const char *key, const void *data,
		      size_t len, const struct persist_write_opts *opts,
		      char etag_r[PERSIST_ETAG_MAX],
		      struct persist_error *err);
int memory_config_del(void *s, const char *key, const char *if_match,
		      struct persist_error *err);
int memory_config_list(void *s, persist_emit_fn *emit, void *ctx,
		       struct persist_error *err);

/* memory-state.c */
int memory_state_open(void *plugin, const struct persist_store_args *args,
		      void **store_r, struct persist_error *err);
void memory_state_close(void *store);
int memory_state_get(void *s, const char *collection, const char *key,
		     struct persist_value *value_r,
		     struct persist_error *err);
int memory_state_set(void *s, const char *collection, const char *key,
		     const void *data, size_t len, int64_t ttl_ms,
		     struct persist_error *err);
int memory_state_del(void *s, const char *collection, const char *key,
		     struct persist_error *err);
int memory_state_scan(void *s, const char *collection, const char *prefix,
		      persist_emit_fn *emit, void *ctx,
		      struct persist_error *err);
int memory_state_incr(void *s, const char *collection, const char *key,
		      int64_t delta, int64_t *value_r,
		      struct persist_error *err);
int memory_state_append(void *s, const char *collection, const void *data,
			size_t len, struct persist_error *err);
int memory_state_read_log(void *s, const char *collection, uint64_t from,
			  size_t max, persist_emit_fn *emit, void *ctx,
			  struct persist_error *err);
int memory_state_batch(void *s, const struct persist_op *ops, size_t n,
		       size_t op_size, struct persist_error *err);
int memory_state_batch_once(void *s, const char *id, const struct persist_op *ops,
			    size_t n, size_t op_size, int *applied_before_r,
			    struct persist_error *err);
int memory_state_batch_once_dated(void *s, const char *id, const struct persist_op *ops,
				  const int64_t *written_ms, size_t n, size_t op_size,
				  int *applied_before_r, struct persist_error *err);
int memory_state_flush(void *store, struct persist_error *err);
int memory_state_drop(void *store, const char *collection,
		      struct persist_error *err);
int memory_state_trim_log(void *store, const char *collection, uint64_t before,
			  struct persist_error *err);
int memory_state_log_bounds(void *store, const char *collection,
			    uint64_t *first_r, uint64_t *next_r,
			    struct persist_error *err);
int memory_state_collections(void *store, persist_emit_fn *emit, void *ctx,
			     struct persist_error *err);

/* memory-session.c */
int memory_session_open(void *plugin, const struct persist_store_args *args,
			void **store_r, struct persist_error *err);
void memory_session_close(void *store);
int memory_session_put(void *s, const char *id, const void *data,
		       size_t len, int64_t ttl_ms,
		       struct persist_error *err);
int memory_session_drop(void *s, const char *id, struct persist_error *err);
int memory_session_list(void *s, persist_emit_fn *emit, void *ctx,
			struct persist_error *err);
int memory_session_broadcast(void *s, const char *event, const void *data,
			     size_t len, struct persist_error *err);
int memory_session_send(void *s, const char *id, const char *event,
			const void *data, size_t len,
			struct persist_error *err);

#endif
