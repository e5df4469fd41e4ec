/*
 * bindings/node/config.c - the configuration functions of the addon:
 * documents (get, get several, set, delete, list), change subscriptions and
 * the ETag of arbitrary bytes.  Documents cross as JSON text; index.js
 * parses and serialises them.
 */
#include <stdlib.h>
#include <string.h>
#include "addon.h"

/* Start a job on the handle in argv[0]; NULL with an exception pending. */
static struct pn_job *job_for(napi_env env, napi_value handle)
{
	struct pn_handle *h;

	if (pn_arg_handle(env, handle, &h) != 0)
		return NULL;
	return pn_job_new(env, h);
}

/* --- get ----------------------------------------------------------------- */

static void get_exec(struct pn_job *job)
{
	job->status = persist_config_get(job->h->p, job->s1, &job->out, &job->out_len,
					 job->etag, &job->err);
}

/* [data, etag] */
static napi_value get_done(napi_env env, struct pn_job *job)
{
	napi_value arr;

	if (napi_create_array_with_length(env, 2, &arr) != napi_ok ||
	    napi_set_element(env, arr, 0, pn_string(env, job->out, job->out_len)) != napi_ok ||
	    napi_set_element(env, arr, 1, pn_string(env, job->etag, strlen(job->etag))) != napi_ok)
		return NULL;
	return arr;
}

/* configGet(handle, key) -> Promise<[json, etag]> */
napi_value pn_config_get(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct pn_job *job;

	if (pn_args(env, info, 2, argv, "configGet") != 0 || (job = job_for(env, argv[0])) == NULL)
		return NULL;
	if (pn_arg_string(env, argv[1], "key", &job->s1, NULL) != 0) {
		pn_job_free(job);
		return NULL;
	}
	return pn_job_queue(env, job, get_exec, get_done);
}

/* --- get several --------------------------------------------------------- */

static void get_many_exec(struct pn_job *job)
{
	job->status = persist_config_get_many(job->h->p, (const char *const *)job->strs,
					      job->n, &job->items, &job->err);
	if (job->status == PERSIST_OK)
		job->n_items = job->n;
}

/* [[key, json|null, etag|null, status], ...] */
static napi_value get_many_done(napi_env env, struct pn_job *job)
{
	napi_value arr, row, st;

	if (napi_create_array_with_length(env, job->n_items, &arr) != napi_ok)
		return NULL;
	for (size_t i = 0; i < job->n_items; i++) {
		struct persist_entry *e = &job->items[i];
		int found = e->status == PERSIST_OK;

		if (napi_create_array_with_length(env, 4, &row) != napi_ok ||
		    napi_create_int32(env, e->status, &st) != napi_ok ||
		    napi_set_element(env, row, 0, pn_string(env, job->strs[i], strlen(job->strs[i]))) != napi_ok ||
		    napi_set_element(env, row, 1, pn_string(env, found ? e->value : NULL, e->len)) != napi_ok ||
		    napi_set_element(env, row, 2, pn_string(env, found ? e->etag : NULL, strlen(e->etag))) != napi_ok ||
		    napi_set_element(env, row, 3, st) != napi_ok ||
		    napi_set_element(env, arr, (uint32_t)i, row) != napi_ok)
			return NULL;
	}
	return arr;
}

/* Copy the strings of a JavaScript array into job->strs (job->n of them;
   room for 2n so that pn_job_free frees them the same way as pairs). */
static int copy_strings(napi_env env, struct pn_job *job, napi_value arr,
			const char *what)
{
	uint32_t n;

	if (pn_arg_array(env, arr, what, &n) != 0)
		return -1;
	if ((job->strs = calloc((size_t)n * 2 + 1, sizeof *job->strs)) == NULL) {
		napi_throw_error(env, "ENOMEM", "out of memory");
		return -1;
	}
	job->n = n;
	for (uint32_t i = 0; i < n; i++) {
		napi_value v;

		if (napi_get_element(env, arr, i, &v) != napi_ok ||
		    pn_arg_string(env, v, "every key", &job->strs[i], NULL) != 0)
			return -1;
	}
	return 0;
}

/* configGetMany(handle, keys) -> Promise<rows> */
napi_value pn_config_get_many(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct pn_job *job;

	if (pn_args(env, info, 2, argv, "configGetMany") != 0 || (job = job_for(env, argv[0])) == NULL)
		return NULL;
	if (copy_strings(env, job, argv[1], "keys") != 0) {
		pn_job_free(job);
		return NULL;
	}
	return pn_job_queue(env, job, get_many_exec, get_many_done);
}

/* --- set, delete, list --------------------------------------------------- */

static void set_exec(struct pn_job *job)
{
	job->status = persist_config_set(job->h->p, job->s1, job->s2, job->len, job->s3,
					 job->n1, job->etag, &job->err);
}

static napi_value etag_done(napi_env env, struct pn_job *job)
{
	return pn_string(env, job->etag, strlen(job->etag));
}

/* configSet(handle, key, json, ttlMs, ifMatch|null) -> Promise<etag> */
napi_value pn_config_set(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	struct pn_job *job;

	if (pn_args(env, info, 5, argv, "configSet") != 0 || (job = job_for(env, argv[0])) == NULL)
		return NULL;
	if (pn_arg_string(env, argv[1], "key", &job->s1, NULL) != 0 ||
	    pn_arg_string(env, argv[2], "value", &job->s2, &job->len) != 0 ||
	    pn_arg_int64(env, argv[3], "ttl", &job->n1) != 0 ||
	    pn_arg_string_or_null(env, argv[4], "ifMatch", &job->s3) != 0) {
		pn_job_free(job);
		return NULL;
	}
	return pn_job_queue(env, job, set_exec, etag_done);
}

static void delete_exec(struct pn_job *job)
{
	job->status = persist_config_delete(job->h->p, job->s1, job->s3, &job->err);
}

/* configDelete(handle, key, ifMatch|null) -> Promise<undefined> */
napi_value pn_config_delete(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct pn_job *job;

	if (pn_args(env, info, 3, argv, "configDelete") != 0 || (job = job_for(env, argv[0])) == NULL)
		return NULL;
	if (pn_arg_string(env, argv[1], "key", &job->s1, NULL) != 0 ||
	    pn_arg_string_or_null(env, argv[2], "ifMatch", &job->s3) != 0) {
		pn_job_free(job);
		return NULL;
	}
	return pn_job_queue(env, job, delete_exec, NULL);
}

static void list_exec(struct pn_job *job)
{
	job->status = persist_config_list(job->h->p, &job->items, &job->n_items, &job->err);
}

static napi_value list_done(napi_env env, struct pn_job *job)
{
	napi_value arr;

	if (napi_create_array_with_length(env, job->n_items, &arr) != napi_ok)
		return NULL;
	for (size_t i = 0; i < job->n_items; i++) {
		const char *k = job->items[i].key;

		if (napi_set_element(env, arr, (uint32_t)i, pn_string(env, k, k ? strlen(k) : 0)) != napi_ok)
			return NULL;
	}
	return arr;
}

/* configList(handle) -> Promise<keys> */
napi_value pn_config_list(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct pn_job *job;

	if (pn_args(env, info, 1, argv, "configList") != 0 || (job = job_for(env, argv[0])) == NULL)
		return NULL;
	return pn_job_queue(env, job, list_exec, list_done);
}

/* --- subscriptions ------------------------------------------------------- */

static void subscribe_exec(struct pn_job *job)
{
	if (job->sub->session)
		job->status = persist_session_subscribe(job->h->p, pn_session_event, job->sub,
							&job->sub->id, &job->err);
	else
		job->status = persist_config_subscribe(job->h->p, job->s1, pn_config_event,
						       job->sub, &job->sub->id, &job->err);
}

/* The subscription is the handle's from now on. */
static napi_value subscribe_done(napi_env env, struct pn_job *job)
{
	struct pn_sub *sub = job->sub;

	job->sub = NULL;
	sub->next = job->h->subs;
	sub->linked = 1;
	job->h->subs = sub;
	return pn_undefined(env);
}

/* Subscribe (configuration key, or session events when session). */
napi_value pn_subscribe(napi_env env, napi_value handle, napi_value key,
			napi_value token, int session)
{
	struct pn_job *job;
	double t;

	if ((job = job_for(env, handle)) == NULL)
		return NULL;
	if (key != NULL && pn_arg_string_or_null(env, key, "key", &job->s1) != 0) {
		pn_job_free(job);
		return NULL;
	}
	if (napi_get_value_double(env, token, &t) != napi_ok) {
		pn_job_free(job);
		napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "token must be a number");
		return NULL;
	}
	if ((job->sub = pn_sub_new(job->h, t, session)) == NULL) {
		pn_job_free(job);
		napi_throw_error(env, "ENOMEM", "out of memory");
		return NULL;
	}
	return pn_job_queue(env, job, subscribe_exec, subscribe_done);
}

/* configSubscribe(handle, key|null, token) -> Promise<undefined>; changes
   reach the dispatcher given to open as ('config', token, key, etag). */
napi_value pn_config_subscribe(napi_env env, napi_callback_info info)
{
	napi_value argv[3];

	if (pn_args(env, info, 3, argv, "configSubscribe") != 0)
		return NULL;
	return pn_subscribe(env, argv[0], argv[1], argv[2], 0);
}

static void unsubscribe_exec(struct pn_job *job)
{
	if (job->sub->session)
		job->status = persist_session_unsubscribe(job->h->p, job->sub->id, &job->err);
	else
		job->status = persist_config_unsubscribe(job->h->p, job->sub->id, &job->err);
}

/* persist will not call it again: unlinked here, freed with the job.  (A
   failed unsubscribe leaves it linked, freed when the handle closes.) */
static napi_value unsubscribe_done(napi_env env, struct pn_job *job)
{
	napi_value v;

	pn_sub_forget(job->h, job->sub);
	napi_get_boolean(env, true, &v);
	return v;
}

/* unsubscribe(handle, token) -> Promise<boolean>: false when the token
   names no live subscription. */
napi_value pn_unsubscribe(napi_env env, napi_callback_info info)
{
	napi_value argv[2], v;
	struct pn_job *job;
	struct pn_sub *sub;
	double t;

	if (pn_args(env, info, 2, argv, "unsubscribe") != 0 || (job = job_for(env, argv[0])) == NULL)
		return NULL;
	if (napi_get_value_double(env, argv[1], &t) != napi_ok) {
		pn_job_free(job);
		napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "token must be a number");
		return NULL;
	}
	for (sub = job->h->subs; sub != NULL && (sub->dead || sub->token != t); sub = sub->next)
		;
	if (sub == NULL) {
		napi_value promise;
		napi_deferred d;

		pn_job_free(job);
		if (napi_create_promise(env, &d, &promise) != napi_ok)
			return NULL;
		napi_get_boolean(env, false, &v);
		napi_resolve_deferred(env, d, v);
		return promise;
	}
	/* a second call finds nothing */
	sub->dead = 1;
	job->sub = sub;
	return pn_job_queue(env, job, unsubscribe_exec, unsubscribe_done);
}

/* etag(stringOrBuffer) -> the ETag of its bytes (UTF-8 for a string). */
napi_value pn_etag(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	char *s, etag[PERSIST_ETAG_MAX];
	size_t len;

	if (pn_args(env, info, 1, argv, "etag") != 0 ||
	    pn_arg_string(env, argv[0], "data", &s, &len) != 0)
		return NULL;
	persist_etag(s, len, etag);
	free(s);
	return pn_string(env, etag, strlen(etag));
}
