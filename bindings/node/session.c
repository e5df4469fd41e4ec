/*
 * bindings/node/session.c - the session functions of the addon: the
 * connections this instance holds, the list across instances, broadcast
 * and send, and the subscription to events (delivered through the handle's
 * thread-safe function, addon.c).
 */
#include <stdlib.h>
#include <string.h>
#include "addon.h"

/* A job on handle argv[0]; NULL with an exception pending. */
static struct pn_job *job_for(napi_env env, napi_value handle)
{
	struct pn_handle *h;

	if (pn_arg_handle(env, handle, &h) != 0)
		return NULL;
	return pn_job_new(env, h);
}

static napi_value queue_if(napi_env env, struct pn_job *job, int args_ok,
			   pn_exec_fn *exec, pn_done_fn *done)
{
	if (!args_ok) {
		pn_job_free(job);
		return NULL;
	}
	return pn_job_queue(env, job, exec, done);
}

static void put_exec(struct pn_job *job)
{
	job->status = persist_session_put(job->h->p, job->s1, job->s3, job->len, job->n1,
					  &job->err);
}

/* sessionPut(handle, sessionId, json, ttlMs) -> Promise<undefined> */
napi_value pn_session_put(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	struct pn_job *job;

	if (pn_args(env, info, 4, argv, "sessionPut") != 0 || (job = job_for(env, argv[0])) == NULL)
		return NULL;
	return queue_if(env, job,
			pn_arg_string(env, argv[1], "sessionId", &job->s1, NULL) == 0 &&
			pn_arg_string(env, argv[2], "connectionData", &job->s3, &job->len) == 0 &&
			pn_arg_int64(env, argv[3], "ttl", &job->n1) == 0,
			put_exec, NULL);
}

static void drop_exec(struct pn_job *job)
{
	job->status = persist_session_drop(job->h->p, job->s1, &job->err);
}

/* sessionDrop(handle, sessionId) -> Promise<undefined> */
napi_value pn_session_drop(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct pn_job *job;

	if (pn_args(env, info, 2, argv, "sessionDrop") != 0 || (job = job_for(env, argv[0])) == NULL)
		return NULL;
	return queue_if(env, job, pn_arg_string(env, argv[1], "sessionId", &job->s1, NULL) == 0,
			drop_exec, NULL);
}

static void list_exec(struct pn_job *job)
{
	job->status = persist_session_list(job->h->p, &job->items, &job->n_items, &job->err);
}

/* [[sessionId, json, instance, expiresMs], ...] */
static napi_value list_done(napi_env env, struct pn_job *job)
{
	napi_value arr, row;

	if (napi_create_array_with_length(env, job->n_items, &arr) != napi_ok)
		return NULL;
	for (size_t i = 0; i < job->n_items; i++) {
		struct persist_entry *e = &job->items[i];

		if (napi_create_array_with_length(env, 4, &row) != napi_ok ||
		    napi_set_element(env, row, 0, pn_string(env, e->key, strlen(e->key))) != napi_ok ||
		    napi_set_element(env, row, 1, pn_string(env, e->value, e->len)) != napi_ok ||
		    napi_set_element(env, row, 2, pn_string(env, e->instance,
							    e->instance ? strlen(e->instance) : 0)) != napi_ok ||
		    napi_set_element(env, row, 3, pn_int64(env, e->expires_ms)) != napi_ok ||
		    napi_set_element(env, arr, (uint32_t)i, row) != napi_ok)
			return NULL;
	}
	return arr;
}

/* sessionList(handle) -> Promise<rows> */
napi_value pn_session_list(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct pn_job *job;

	if (pn_args(env, info, 1, argv, "sessionList") != 0 || (job = job_for(env, argv[0])) == NULL)
		return NULL;
	return pn_job_queue(env, job, list_exec, list_done);
}

static void broadcast_exec(struct pn_job *job)
{
	job->status = persist_session_broadcast(job->h->p, job->s2, job->s3, job->len, &job->err);
}

/* sessionBroadcast(handle, event, json) -> Promise<undefined> */
napi_value pn_session_broadcast(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct pn_job *job;

	if (pn_args(env, info, 3, argv, "sessionBroadcast") != 0 || (job = job_for(env, argv[0])) == NULL)
		return NULL;
	return queue_if(env, job,
			pn_arg_string(env, argv[1], "event", &job->s2, NULL) == 0 &&
			pn_arg_string(env, argv[2], "data", &job->s3, &job->len) == 0,
			broadcast_exec, NULL);
}

static void send_exec(struct pn_job *job)
{
	job->status = persist_session_send(job->h->p, job->s1, job->s2, job->s3, job->len,
					   &job->err);
}

/* sessionSend(handle, sessionId, event, json) -> Promise<undefined> */
napi_value pn_session_send(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	struct pn_job *job;

	if (pn_args(env, info, 4, argv, "sessionSend") != 0 || (job = job_for(env, argv[0])) == NULL)
		return NULL;
	return queue_if(env, job,
			pn_arg_string(env, argv[1], "sessionId", &job->s1, NULL) == 0 &&
			pn_arg_string(env, argv[2], "event", &job->s2, NULL) == 0 &&
			pn_arg_string(env, argv[3], "data", &job->s3, &job->len) == 0,
			send_exec, NULL);
}

/* sessionSubscribe(handle, token) -> Promise<undefined>; events reach the
   dispatcher given to open as ('session', token, event, json, sessionId,
   origin). */
napi_value pn_session_subscribe(napi_env env, napi_callback_info info)
{
	napi_value argv[2];

	if (pn_args(env, info, 2, argv, "sessionSubscribe") != 0)
		return NULL;
	return pn_subscribe(env, argv[0], NULL, argv[1], 1);
}
