/*
 * bindings/node/addon.h - what the files of the Node.js addon share.
 *
 * The addon is a thin, ABI-stable (Node-API, C only) layer over the host
 * API: it passes strings (JSON text) and numbers across and leaves argument
 * defaults, JSON conversion and the interface shapes to index.js.  Every
 * call that may block runs on the libuv thread pool as a job (job.c) and
 * answers through a Promise; persist's own threads (configuration change
 * and session event callbacks) reach JavaScript through one thread-safe
 * function per handle (addon.c).
 */
#ifndef PERSIST_NODE_ADDON_H
#define PERSIST_NODE_ADDON_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <persist/persist.h>

/* One open persist handle, owned by a JavaScript external. */
struct pn_handle {
	persist *p;             /* NULL once closed */
	pthread_mutex_t lock;   /* guards everything below */
	pthread_cond_t idle;    /* signalled when running drops to 0 */
	int running;            /* jobs executing on the pool */
	int stopped;            /* persist closed or closing: no job runs */
	/* main thread only */
	int closing;            /* close() called: no new job is queued */
	long queued;            /* jobs queued and not completed */
	struct pn_job *close_job; /* close(), waiting for them */
	int refs;               /* the external, the thread-safe function */
	int hook;               /* environment cleanup hook registered */
	int released;           /* the thread-safe function was released */
	int batching;           /* state writes are queued (batchInterval) */
	napi_env env;
	napi_threadsafe_function tsfn; /* NULL once released or finalized */
	struct pn_sub *subs;    /* live subscriptions */
	char instance[256];
};

/* A subscription: the context persist hands back to the callbacks. */
struct pn_sub {
	struct pn_handle *h;
	double token;           /* index.js's name for it */
	uint64_t id;            /* persist's */
	int session;            /* 1: session events, 0: configuration changes */
	int linked;             /* in the handle's list (else the job's) */
	int dead;               /* being unsubscribed */
	struct pn_sub *next;
};

struct pn_job;
/* Runs on the pool, the handle entered: fills the job's results. */
typedef void pn_exec_fn(struct pn_job *job);
/* Runs on the main thread after a successful exec: the resolved value. */
typedef napi_value pn_done_fn(napi_env env, struct pn_job *job);

struct pn_job {
	napi_async_work work;
	napi_deferred deferred;
	struct pn_handle *h;
	pn_exec_fn *exec;
	pn_done_fn *done;
	int raw;                /* exec without entering the handle (close) */
	/* arguments (strings owned by the job) */
	char *s1, *s2, *s3;
	size_t len;             /* of the value (s2 or s3) */
	int64_t n1, n2;
	uint64_t id;
	struct persist_op *ops;
	struct persist_kv *kvs;
	char **strs;            /* strings the ops/kvs point into */
	size_t n;
	struct pn_sub *sub;     /* freed with the job unless linked */
	/* results */
	int status;
	struct persist_error err;
	char *out;
	size_t out_len;
	char etag[PERSIST_ETAG_MAX];
	int64_t value;
	uint64_t next;
	struct persist_entry *items;
	size_t n_items;
};

/* job.c */
struct pn_job *pn_job_new(napi_env env, struct pn_handle *h);
napi_value pn_job_queue(napi_env env, struct pn_job *job, pn_exec_fn *exec,
			pn_done_fn *done);
void pn_job_free(struct pn_job *job);
napi_value pn_error(napi_env env, int status, const char *msg);
napi_value pn_undefined(napi_env env);
int pn_enter(struct pn_handle *h, struct persist_error *err);
void pn_leave(struct pn_handle *h);

/* args.c: read arguments; each throws a TypeError naming the argument
   (its `what`) and returns -1 on a wrong type. */
int pn_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv,
	    const char *fn);
int pn_arg_handle(napi_env env, napi_value v, struct pn_handle **h_r);
int pn_arg_string(napi_env env, napi_value v, const char *what, char **s_r,
		  size_t *len_r);
int pn_arg_string_or_null(napi_env env, napi_value v, const char *what,
			  char **s_r);
int pn_arg_int64(napi_env env, napi_value v, const char *what, int64_t *n_r);
int pn_arg_array(napi_env env, napi_value v, const char *what, uint32_t *n_r);
napi_value pn_string(napi_env env, const char *s, size_t len);
napi_value pn_int64(napi_env env, int64_t n);


/* The exported functions, by kind (config.c, state.c, session.c). */
napi_value pn_config_get(napi_env env, napi_callback_info info);
napi_value pn_config_get_many(napi_env env, napi_callback_info info);
napi_value pn_config_set(napi_env env, napi_callback_info info);
napi_value pn_config_delete(napi_env env, napi_callback_info info);
napi_value pn_config_list(napi_env env, napi_callback_info info);
napi_value pn_config_subscribe(napi_env env, napi_callback_info info);
napi_value pn_unsubscribe(napi_env env, napi_callback_info info);
napi_value pn_etag(napi_env env, napi_callback_info info);

napi_value pn_state_get(napi_env env, napi_callback_info info);
napi_value pn_state_set(napi_env env, napi_callback_info info);
napi_value pn_state_delete(napi_env env, napi_callback_info info);
napi_value pn_state_scan(napi_env env, napi_callback_info info);
napi_value pn_state_incr(napi_env env, napi_callback_info info);
napi_value pn_state_add(napi_env env, napi_callback_info info);
napi_value pn_state_append(napi_env env, napi_callback_info info);
napi_value pn_state_read_log(napi_env env, napi_callback_info info);
napi_value pn_state_set_batch(napi_env env, napi_callback_info info);
napi_value pn_state_incr_batch(napi_env env, napi_callback_info info);
napi_value pn_state_flush(napi_env env, napi_callback_info info);
napi_value pn_state_stats(napi_env env, napi_callback_info info);

napi_value pn_session_put(napi_env env, napi_callback_info info);
napi_value pn_session_drop(napi_env env, napi_callback_info info);
napi_value pn_session_list(napi_env env, napi_callback_info info);
napi_value pn_session_broadcast(napi_env env, napi_callback_info info);
napi_value pn_session_send(napi_env env, napi_callback_info info);
napi_value pn_session_subscribe(napi_env env, napi_callback_info info);

/* Subscriptions (addon.c): register with the handle, deliver events. */
struct pn_sub *pn_sub_new(struct pn_handle *h, double token, int session);
void pn_sub_forget(struct pn_handle *h, struct pn_sub *sub);
napi_value pn_subscribe(napi_env env, napi_value handle, napi_value key,
			napi_value token, int session);
void pn_config_event(void *ctx, const char *key, const char *etag);
void pn_session_event(void *ctx, const char *origin, const char *session_id,
		      const char *event, const void *data, size_t len);

#endif
