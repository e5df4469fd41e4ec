/*
 * bindings/node/addon.c - the Node.js addon's module: opening and closing
 * a handle, the thread-safe function that carries persist's callbacks
 * (configuration changes, session events, log messages) to JavaScript, the
 * environment cleanup hook that flushes and closes a handle the program
 * never closed, and the table of exported functions.
 *
 * Lifetime of a handle: a JavaScript external owns it, the thread-safe
 * function holds a second reference; it is freed when both are gone.
 * close() refuses new calls at once (closing), runs after the calls queued
 * before it have completed (job.c), then marks the handle stopped, waits
 * for any call still executing, and persist_close flushes and stops
 * persist's threads; only then are the subscriptions freed and the
 * thread-safe function released.  At exit (closeSync from index.js's exit
 * handler, or the environment cleanup hook) the same happens on the main
 * thread, without waiting for calls not yet started (they answer
 * ECLOSED).  Callbacks from persist's threads check, under the handle's
 * lock, that the thread-safe function still exists (at exit Node may
 * finalize it first).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addon.h"

/* What a persist thread hands to the main thread. */
struct pn_event {
	const char *kind;       /* "config", "session", "log" */
	double token;           /* subscription, or log level */
	char *a, *b, *c, *d;    /* NULL: null */
	size_t b_len;
};

static void event_free(struct pn_event *ev)
{
	free(ev->a);
	free(ev->b);
	free(ev->c);
	free(ev->d);
	free(ev);
}

/* Copy of s (NULL stays NULL); *fail set when memory runs out. */
static char *dup_or_null(const char *s, size_t len, int *fail)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = malloc(len + 1)) == NULL) {
		*fail = 1;
		return NULL;
	}
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

static void handle_unref(struct pn_handle *h)
{
	int last;

	pthread_mutex_lock(&h->lock);
	last = --h->refs == 0;
	pthread_mutex_unlock(&h->lock);
	if (!last)
		return;
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->idle);
	free(h);
}

/* Any thread: pass ev to JavaScript, or drop it when the thread-safe
   function is gone. */
static void post(struct pn_handle *h, struct pn_event *ev)
{
	napi_status st = napi_closing;

	pthread_mutex_lock(&h->lock);
	if (h->tsfn != NULL && !h->released)
		st = napi_call_threadsafe_function(h->tsfn, ev, napi_tsfn_nonblocking);
	pthread_mutex_unlock(&h->lock);
	if (st != napi_ok)
		event_free(ev);
}

/* Main thread: dispatcher(kind, token, a, b, c, d).  The dispatcher
   (index.js) catches what a callback throws; should anything escape, it
   is cleared here so that later events are still delivered. */
static void call_js(napi_env env, napi_value js_cb, void *context, void *data)
{
	struct pn_event *ev = data;
	napi_value argv[6], undef, exc;

	if (env != NULL && js_cb != NULL &&
	    napi_create_string_utf8(env, ev->kind, NAPI_AUTO_LENGTH, &argv[0]) == napi_ok &&
	    napi_create_double(env, ev->token, &argv[1]) == napi_ok) {
		argv[2] = pn_string(env, ev->a, ev->a ? strlen(ev->a) : 0);
		argv[3] = pn_string(env, ev->b, ev->b_len);
		argv[4] = pn_string(env, ev->c, ev->c ? strlen(ev->c) : 0);
		argv[5] = pn_string(env, ev->d, ev->d ? strlen(ev->d) : 0);
		napi_get_undefined(env, &undef);
		/* a string that could not be made (no memory) drops the event */
		if (argv[2] != NULL && argv[3] != NULL && argv[4] != NULL && argv[5] != NULL &&
		    napi_call_function(env, undef, js_cb, 6, argv, NULL) != napi_ok)
			napi_get_and_clear_last_exception(env, &exc);
	}
	event_free(ev);
}

/* Main thread, when Node is done with the thread-safe function. */
static void tsfn_finalize(napi_env env, void *data, void *hint)
{
	struct pn_handle *h = data;

	pthread_mutex_lock(&h->lock);
	h->tsfn = NULL;
	pthread_mutex_unlock(&h->lock);
	handle_unref(h);
}

/* persist thread: a configuration document changed. */
void pn_config_event(void *ctx, const char *key, const char *etag)
{
	struct pn_sub *sub = ctx;
	struct pn_event *ev = calloc(1, sizeof *ev);
	int fail = 0;

	if (ev == NULL)
		return;
	ev->kind = "config";
	ev->token = sub->token;
	ev->a = dup_or_null(key, key ? strlen(key) : 0, &fail);
	ev->b = dup_or_null(etag, etag ? strlen(etag) : 0, &fail);
	ev->b_len = ev->b ? strlen(ev->b) : 0;
	if (fail) {
		event_free(ev);
		return;
	}
	post(sub->h, ev);
}

/* persist thread: a session event (session_id NULL for a broadcast). */
void pn_session_event(void *ctx, const char *origin, const char *session_id,
		      const char *event, const void *data, size_t len)
{
	struct pn_sub *sub = ctx;
	struct pn_event *ev = calloc(1, sizeof *ev);
	int fail = 0;

	if (ev == NULL)
		return;
	ev->kind = "session";
	ev->token = sub->token;
	ev->a = dup_or_null(event, event ? strlen(event) : 0, &fail);
	ev->b = dup_or_null(data, len, &fail);
	ev->b_len = len;
	ev->c = dup_or_null(session_id, session_id ? strlen(session_id) : 0, &fail);
	ev->d = dup_or_null(origin, origin ? strlen(origin) : 0, &fail);
	if (fail) {
		event_free(ev);
		return;
	}
	post(sub->h, ev);
}

/* Any thread: one of persist's log messages. */
static void log_event(void *ctx, enum persist_log_level level, const char *message)
{
	struct pn_event *ev = calloc(1, sizeof *ev);
	int fail = 0;

	if (ev == NULL)
		return;
	ev->kind = "log";
	ev->token = (double)level;
	ev->a = dup_or_null(message, strlen(message), &fail);
	if (fail) {
		event_free(ev);
		return;
	}
	post(ctx, ev);
}

struct pn_sub *pn_sub_new(struct pn_handle *h, double token, int session)
{
	struct pn_sub *sub = calloc(1, sizeof *sub);

	if (sub == NULL)
		return NULL;
	sub->h = h;
	sub->token = token;
	sub->session = session;
	return sub;
}

/* Main thread: take sub out of the handle's list. */
void pn_sub_forget(struct pn_handle *h, struct pn_sub *sub)
{
	for (struct pn_sub **pp = &h->subs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == sub) {
			*pp = sub->next;
			sub->linked = 0;
			return;
		}
	}
}

/* Any thread: stop new jobs, wait for the running ones, flush and close
   persist.  Only the first call closes (later ones answer PERSIST_OK). */
static int shutdown_handle(struct pn_handle *h, struct persist_error *err)
{
	persist *p;
	int ret;

	pthread_mutex_lock(&h->lock);
	if (h->stopped) {
		pthread_mutex_unlock(&h->lock);
		return PERSIST_OK;
	}
	h->stopped = 1;
	while (h->running > 0)
		pthread_cond_wait(&h->idle, &h->lock);
	p = h->p;
	pthread_mutex_unlock(&h->lock);
	ret = persist_close(p, err);
	pthread_mutex_lock(&h->lock);
	h->p = NULL;
	pthread_mutex_unlock(&h->lock);
	return ret;
}

static void cleanup_hook(void *arg);

/* Main thread, persist closed: free the subscriptions, release the
   thread-safe function, drop the cleanup hook. */
static void after_close(napi_env env, struct pn_handle *h)
{
	napi_threadsafe_function tsfn = NULL;

	while (h->subs != NULL) {
		struct pn_sub *sub = h->subs;

		h->subs = sub->next;
		free(sub);
	}
	pthread_mutex_lock(&h->lock);
	if (!h->released) {
		h->released = 1;
		tsfn = h->tsfn;
	}
	pthread_mutex_unlock(&h->lock);
	if (tsfn != NULL)
		napi_release_threadsafe_function(tsfn, napi_tsfn_release);
	if (h->hook) {
		h->hook = 0;
		napi_remove_env_cleanup_hook(env, cleanup_hook, h);
	}
}

/* The environment is going away (the process exits) and the handle was
   never closed: flush what is queued and close it. */
static void cleanup_hook(void *arg)
{
	struct pn_handle *h = arg;
	struct persist_error err = { 0 };

	h->hook = 0;
	h->closing = 1;
	if (shutdown_handle(h, &err) != PERSIST_OK)
		fprintf(stderr, "persist: closing at exit: %s\n", err.msg);
	after_close(h->env, h);
}

/* The external was collected (or the environment torn down). */
static void external_finalize(napi_env env, void *data, void *hint)
{
	struct pn_handle *h = data;
	struct persist_error err = { 0 };

	shutdown_handle(h, &err);
	after_close(env, h);
	handle_unref(h);
}

/* open(config|null, isPath, instanceId|null, dispatcher) -> handle.
   config is a path when isPath, else JSON text; null opens $PERSIST_CONFIG
   or the embedded default. */
static napi_value pn_open(napi_env env, napi_callback_info info)
{
	napi_value argv[4], name, ext;
	char *config = NULL, *instance = NULL;
	bool is_path = false;
	struct pn_handle *h = NULL;
	struct persist_options opts;
	struct persist_error err = { 0 };
	napi_valuetype t;
	int ret;

	if (pn_args(env, info, 4, argv, "open") != 0 ||
	    pn_arg_string_or_null(env, argv[0], "config", &config) != 0)
		return NULL;
	if (napi_get_value_bool(env, argv[1], &is_path) != napi_ok ||
	    napi_typeof(env, argv[3], &t) != napi_ok || t != napi_function) {
		free(config);
		napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
				      "isPath must be a boolean and dispatcher a function");
		return NULL;
	}
	if (pn_arg_string_or_null(env, argv[2], "instanceId", &instance) != 0) {
		free(config);
		return NULL;
	}
	if ((h = calloc(1, sizeof *h)) == NULL) {
		napi_throw_error(env, "ENOMEM", "out of memory");
		goto out;
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->idle, NULL);
	h->env = env;
	h->refs = 1;
	if (napi_create_string_utf8(env, "persist events", NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_create_threadsafe_function(env, argv[3], NULL, name, 0, 1, h, tsfn_finalize, h,
					    call_js, &h->tsfn) != napi_ok) {
		napi_throw_error(env, "ENOMEM", "cannot create the thread-safe function");
		goto fail;
	}
	h->refs++;
	/* events must not keep the process alive */
	napi_unref_threadsafe_function(env, h->tsfn);

	memset(&opts, 0, sizeof opts);
	opts.size = sizeof opts;
	opts.log = log_event;
	opts.log_ctx = h;
	opts.log_level = PERSIST_LOG_WARNING;
	opts.instance_id = instance;
	ret = is_path || config == NULL ? persist_open_file(config, &opts, &h->p, &err)
					: persist_open_json(config, &opts, &h->p, &err);
	if (ret != PERSIST_OK) {
		napi_throw(env, pn_error(env, ret, err.msg));
		goto fail;
	}
	snprintf(h->instance, sizeof h->instance, "%s", persist_instance_id(h->p));
	{
		struct persist_batch_stats st;

		memset(&st, 0, sizeof st);
		st.size = sizeof st;
		h->batching = persist_state_stats(h->p, &st, &err) == PERSIST_OK && st.enabled;
	}
	if (napi_create_external(env, h, external_finalize, NULL, &ext) != napi_ok) {
		shutdown_handle(h, &err);
		napi_throw_error(env, "ENOMEM", "cannot create the handle");
		goto fail;
	}
	/* registered after the thread-safe function, so it runs before
	   Node tears that down */
	if (napi_add_env_cleanup_hook(env, cleanup_hook, h) == napi_ok)
		h->hook = 1;
	free(config);
	free(instance);
	return ext;
fail:
	if (h->tsfn != NULL) {
		h->released = 1;
		napi_release_threadsafe_function(h->tsfn, napi_tsfn_release);
	}
	handle_unref(h);
out:
	free(config);
	free(instance);
	return NULL;
}

static void close_exec(struct pn_job *job)
{
	job->status = shutdown_handle(job->h, &job->err);
}

static napi_value close_done(napi_env env, struct pn_job *job)
{
	after_close(env, job->h);
	return pn_undefined(env);
}

/* close(handle) -> Promise: flush and close on the pool.  The handle is
   closed even when the Promise rejects (with the first failure). */
static napi_value pn_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct pn_handle *h;
	struct pn_job *job;

	if (pn_args(env, info, 1, argv, "close") != 0 || pn_arg_handle(env, argv[0], &h) != 0 ||
	    (job = pn_job_new(env, h)) == NULL)
		return NULL;
	job->raw = 1;
	return pn_job_queue(env, job, close_exec, close_done);
}

/* closeSync(handle): the same on the main thread (for process 'exit'). */
static napi_value pn_close_sync(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct pn_handle *h;
	struct persist_error err = { 0 };
	int ret;

	if (pn_args(env, info, 1, argv, "closeSync") != 0 || pn_arg_handle(env, argv[0], &h) != 0)
		return NULL;
	h->closing = 1;
	ret = shutdown_handle(h, &err);
	after_close(env, h);
	if (ret != PERSIST_OK) {
		napi_throw(env, pn_error(env, ret, err.msg));
		return NULL;
	}
	return pn_undefined(env);
}

/* info(handle) -> {instanceId, batching, providers: {configuration, state, sessions}} */
static napi_value pn_info(napi_env env, napi_callback_info info)
{
	napi_value argv[1], obj, prov, b;
	struct pn_handle *h;
	static const char *const names[] = { "configuration", "state", "sessions" };
	static const enum persist_kind kinds[] = { PERSIST_KIND_CONFIG, PERSIST_KIND_STATE,
						   PERSIST_KIND_SESSION };

	if (pn_args(env, info, 1, argv, "info") != 0 || pn_arg_handle(env, argv[0], &h) != 0)
		return NULL;
	if (napi_create_object(env, &obj) != napi_ok || napi_create_object(env, &prov) != napi_ok)
		return NULL;
	napi_set_named_property(env, obj, "instanceId", pn_string(env, h->instance, strlen(h->instance)));
	napi_get_boolean(env, h->batching != 0, &b);
	napi_set_named_property(env, obj, "batching", b);
	pthread_mutex_lock(&h->lock);
	for (int i = 0; i < 3; i++) {
		const char *n = h->p != NULL && !h->stopped ? persist_provider(h->p, kinds[i]) : NULL;

		napi_set_named_property(env, prov, names[i], pn_string(env, n, n ? strlen(n) : 0));
	}
	pthread_mutex_unlock(&h->lock);
	napi_set_named_property(env, obj, "providers", prov);
	return obj;
}

/* Node's module macros define exported functions without a prototype. */
#pragma GCC diagnostic ignored "-Wmissing-prototypes"

#define FN(name, fn) { name, NULL, fn, NULL, NULL, NULL, napi_default, NULL }

NAPI_MODULE_INIT()
{
	static const napi_property_descriptor fns[] = {
		FN("open", pn_open),
		FN("close", pn_close),
		FN("closeSync", pn_close_sync),
		FN("info", pn_info),
		FN("etag", pn_etag),
		FN("unsubscribe", pn_unsubscribe),
		FN("configGet", pn_config_get),
		FN("configGetMany", pn_config_get_many),
		FN("configSet", pn_config_set),
		FN("configDelete", pn_config_delete),
		FN("configList", pn_config_list),
		FN("configSubscribe", pn_config_subscribe),
		FN("stateGet", pn_state_get),
		FN("stateSet", pn_state_set),
		FN("stateDelete", pn_state_delete),
		FN("stateScan", pn_state_scan),
		FN("stateIncr", pn_state_incr),
		FN("stateAdd", pn_state_add),
		FN("stateAppend", pn_state_append),
		FN("stateReadLog", pn_state_read_log),
		FN("stateSetBatch", pn_state_set_batch),
		FN("stateIncrBatch", pn_state_incr_batch),
		FN("stateFlush", pn_state_flush),
		FN("stateStats", pn_state_stats),
		FN("sessionPut", pn_session_put),
		FN("sessionDrop", pn_session_drop),
		FN("sessionList", pn_session_list),
		FN("sessionBroadcast", pn_session_broadcast),
		FN("sessionSend", pn_session_send),
		FN("sessionSubscribe", pn_session_subscribe),
	};
	napi_value max;

	if (napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns) != napi_ok)
		return NULL;
	if (napi_create_double(env, (double)PERSIST_VALUE_MAX, &max) == napi_ok)
		napi_set_named_property(env, exports, "VALUE_MAX", max);
	return exports;
}
