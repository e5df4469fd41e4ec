/*
 * bindings/node/job.c - running a persist call on the libuv thread pool
 * and settling its Promise.
 *
 * A job holds the call's arguments (copied out of JavaScript on the main
 * thread), runs its exec function on a pool thread with the handle
 * "entered" (so close waits for it and refuses new ones), and on the main
 * thread either resolves its Promise with what its done function builds or
 * rejects it with an Error carrying persist's code and message.
 */
#include <stdlib.h>
#include <string.h>
#include "addon.h"

/* The `code` of the Error for a persist status: the status's name without
   its prefix ("ENOTFOUND"), except EUNAVAIL which JavaScript code knows as
   EUNAVAILABLE. */
static const char *code_name(int status)
{
	const char *name = persist_strerror(status);

	if (status == PERSIST_EUNAVAIL)
		return "EUNAVAILABLE";
	return strncmp(name, "PERSIST_", 8) == 0 ? name + 8 : name;
}

/* An Error with message msg, `code` the status's name and `status` its
   number. */
napi_value pn_error(napi_env env, int status, const char *msg)
{
	napi_value code, text, error, num;

	if (napi_create_string_utf8(env, code_name(status), NAPI_AUTO_LENGTH, &code) != napi_ok ||
	    napi_create_string_utf8(env, msg != NULL && *msg ? msg : code_name(status),
				    NAPI_AUTO_LENGTH, &text) != napi_ok ||
	    napi_create_error(env, code, text, &error) != napi_ok)
		return NULL;
	if (napi_create_int32(env, status, &num) == napi_ok)
		napi_set_named_property(env, error, "status", num);
	return error;
}

/* Start a call on the handle: PERSIST_ECLOSED once persist is closed or
   closing (the jobs queued before close() run before it closes). */
int pn_enter(struct pn_handle *h, struct persist_error *err)
{
	pthread_mutex_lock(&h->lock);
	if (h->stopped || h->p == NULL) {
		pthread_mutex_unlock(&h->lock);
		err->code = PERSIST_ECLOSED;
		strcpy(err->msg, "persist handle is closed\nThe handle was closed; open a new one.");
		return PERSIST_ECLOSED;
	}
	h->running++;
	pthread_mutex_unlock(&h->lock);
	return PERSIST_OK;
}

void pn_leave(struct pn_handle *h)
{
	pthread_mutex_lock(&h->lock);
	if (--h->running == 0)
		pthread_cond_broadcast(&h->idle);
	pthread_mutex_unlock(&h->lock);
}

struct pn_job *pn_job_new(napi_env env, struct pn_handle *h)
{
	struct pn_job *job = calloc(1, sizeof *job);

	if (job == NULL) {
		napi_throw_error(env, "ENOMEM", "out of memory");
		return NULL;
	}
	job->h = h;
	return job;
}

void pn_job_free(struct pn_job *job)
{
	if (job == NULL)
		return;
	free(job->s1);
	free(job->s2);
	free(job->s3);
	if (job->strs != NULL) {
		for (size_t i = 0; i < job->n * 2; i++)
			free(job->strs[i]);
		free(job->strs);
	}
	if (job->sub != NULL && !job->sub->linked)
		free(job->sub);
	free(job->ops);
	free(job->kvs);
	persist_free(job->out);
	persist_items_free(job->items, job->n_items);
	free(job);
}

/* Pool thread: the call itself. */
static void execute(napi_env env, void *data)
{
	struct pn_job *job = data;

	if (job->raw) {
		job->exec(job);
		return;
	}
	if ((job->status = pn_enter(job->h, &job->err)) != PERSIST_OK)
		return;
	job->exec(job);
	pn_leave(job->h);
}

/* Main thread: settle the Promise and free the job. */
static void complete(napi_env env, napi_status st, void *data)
{
	struct pn_job *job = data;
	struct pn_handle *h;
	napi_value v = NULL;
	int raw;

	if (st != napi_ok) {
		job->status = PERSIST_ECLOSED;
		strcpy(job->err.msg, "persist call cancelled\nThe environment is shutting down.");
	}
	if (job->status == PERSIST_OK) {
		v = job->done != NULL ? job->done(env, job) : pn_undefined(env);
		if (v != NULL) {
			napi_resolve_deferred(env, job->deferred, v);
		} else {
			napi_value exc;

			/* building the value failed: reject with why */
			if (napi_get_and_clear_last_exception(env, &exc) != napi_ok || exc == NULL)
				exc = pn_error(env, PERSIST_ENOMEM, "cannot build the result");
			napi_reject_deferred(env, job->deferred, exc);
		}
	} else {
		napi_reject_deferred(env, job->deferred,
				     pn_error(env, job->status, job->err.msg));
	}
	napi_delete_async_work(env, job->work);
	h = job->h;
	raw = job->raw;
	pn_job_free(job);
	/* the last call queued before close(): now close may run */
	if (!raw && --h->queued == 0 && h->close_job != NULL) {
		struct pn_job *close_job = h->close_job;

		h->close_job = NULL;
		if (napi_queue_async_work(env, close_job->work) != napi_ok) {
			napi_reject_deferred(env, close_job->deferred,
					     pn_error(env, PERSIST_ENOMEM, "cannot queue the close"));
			napi_delete_async_work(env, close_job->work);
			pn_job_free(close_job);
		}
	}
}

/* Queue job: returns its Promise (rejected when the work cannot be
   queued or close() was called; NULL when not even the Promise could be
   made).  The job is the queue's from here on.  A close job (raw) waits,
   parked in the handle, until every call queued before it completed. */
napi_value pn_job_queue(napi_env env, struct pn_job *job, pn_exec_fn *exec,
			pn_done_fn *done)
{
	struct pn_handle *h = job->h;
	napi_value promise, name;

	job->exec = exec;
	job->done = done;
	if (napi_create_string_utf8(env, "persist", NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_create_promise(env, &job->deferred, &promise) != napi_ok) {
		pn_job_free(job);
		return NULL;
	}
	if (!job->raw && h->closing) {
		napi_reject_deferred(env, job->deferred, pn_error(env, PERSIST_ECLOSED,
			"persist handle is closed\nThe handle was closed; open a new one."));
		pn_job_free(job);
		return promise;
	}
	if (job->raw && h->closing) {
		napi_reject_deferred(env, job->deferred, pn_error(env, PERSIST_ECLOSED,
			"persist handle is already closing\nclose() was called before."));
		pn_job_free(job);
		return promise;
	}
	if (napi_create_async_work(env, NULL, name, execute, complete, job, &job->work) != napi_ok) {
		napi_reject_deferred(env, job->deferred,
				     pn_error(env, PERSIST_ENOMEM, "cannot create the async work"));
		pn_job_free(job);
		return promise;
	}
	if (job->raw) {
		h->closing = 1;
		if (h->queued > 0) {
			h->close_job = job;
			return promise;
		}
	}
	if (napi_queue_async_work(env, job->work) != napi_ok) {
		napi_delete_async_work(env, job->work);
		napi_reject_deferred(env, job->deferred,
				     pn_error(env, PERSIST_ENOMEM, "cannot queue the async work"));
		pn_job_free(job);
		return promise;
	}
	if (!job->raw)
		h->queued++;
	return promise;
}
