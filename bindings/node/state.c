/*
 * bindings/node/state.c - the state functions of the addon: key-value with
 * TTL, counters (awaited, queued and in batches), the append log, batches,
 * flush and the write queue's counters.  Values cross as JSON text.
 */
#include <stdlib.h>
#include <string.h>
#include "addon.h"

/* A job on handle argv[0] with the collection argv[1] in s1 and, when key
   is not NULL, the key in s2. */
static struct pn_job *job_for(napi_env env, napi_value *argv, int key)
{
	struct pn_handle *h;
	struct pn_job *job;

	if (pn_arg_handle(env, argv[0], &h) != 0 || (job = pn_job_new(env, h)) == NULL)
		return NULL;
	if (pn_arg_string(env, argv[1], "collection", &job->s1, NULL) != 0 ||
	    (key && pn_arg_string(env, argv[2], "key", &job->s2, NULL) != 0)) {
		pn_job_free(job);
		return NULL;
	}
	return job;
}

/* Queue, or free the job when an argument was refused. */
static napi_value queue_if(napi_env env, struct pn_job *job, int args_ok,
			   pn_exec_fn *exec, pn_done_fn *done)
{
	if (!args_ok) {
		pn_job_free(job);
		return NULL;
	}
	return pn_job_queue(env, job, exec, done);
}

static napi_value value_done(napi_env env, struct pn_job *job)
{
	return job->out == NULL ? pn_undefined(env) : pn_string(env, job->out, job->out_len);
}

static napi_value number_done(napi_env env, struct pn_job *job)
{
	return pn_int64(env, job->value);
}

/* --- single keys --------------------------------------------------------- */

/* An absent key is no error here: undefined. */
static void get_exec(struct pn_job *job)
{
	job->status = persist_state_get(job->h->p, job->s1, job->s2, &job->out,
					&job->out_len, &job->err);
	if (job->status == PERSIST_ENOTFOUND)
		job->status = PERSIST_OK;
}

/* stateGet(handle, collection, key) -> Promise<json|undefined> */
napi_value pn_state_get(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct pn_job *job;

	if (pn_args(env, info, 3, argv, "stateGet") != 0 || (job = job_for(env, argv, 1)) == NULL)
		return NULL;
	return pn_job_queue(env, job, get_exec, value_done);
}

static void set_exec(struct pn_job *job)
{
	job->status = persist_state_set(job->h->p, job->s1, job->s2, job->s3, job->len,
					job->n1, &job->err);
}

/* stateSet(handle, collection, key, json, ttlMs) -> Promise<undefined> */
napi_value pn_state_set(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	struct pn_job *job;

	if (pn_args(env, info, 5, argv, "stateSet") != 0 || (job = job_for(env, argv, 1)) == NULL)
		return NULL;
	return queue_if(env, job,
			pn_arg_string(env, argv[3], "value", &job->s3, &job->len) == 0 &&
			pn_arg_int64(env, argv[4], "ttl", &job->n1) == 0,
			set_exec, NULL);
}

static void delete_exec(struct pn_job *job)
{
	job->status = persist_state_delete(job->h->p, job->s1, job->s2, &job->err);
}

/* stateDelete(handle, collection, key) -> Promise<undefined> */
napi_value pn_state_delete(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct pn_job *job;

	if (pn_args(env, info, 3, argv, "stateDelete") != 0 || (job = job_for(env, argv, 1)) == NULL)
		return NULL;
	return pn_job_queue(env, job, delete_exec, NULL);
}

static void scan_exec(struct pn_job *job)
{
	job->status = persist_state_scan(job->h->p, job->s1, job->s2, &job->items,
					 &job->n_items, &job->err);
}

/* [[key, json, expiresMs], ...] (expiresMs 0: none) */
static napi_value scan_done(napi_env env, struct pn_job *job)
{
	napi_value arr, row;

	if (napi_create_array_with_length(env, job->n_items, &arr) != napi_ok)
		return NULL;
	for (size_t i = 0; i < job->n_items; i++) {
		struct persist_entry *e = &job->items[i];

		if (napi_create_array_with_length(env, 3, &row) != napi_ok ||
		    napi_set_element(env, row, 0, pn_string(env, e->key, strlen(e->key))) != napi_ok ||
		    napi_set_element(env, row, 1, pn_string(env, e->value, e->len)) != napi_ok ||
		    napi_set_element(env, row, 2, pn_int64(env, e->expires_ms)) != napi_ok ||
		    napi_set_element(env, arr, (uint32_t)i, row) != napi_ok)
			return NULL;
	}
	return arr;
}

/* stateScan(handle, collection, prefix|null) -> Promise<rows> */
napi_value pn_state_scan(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct pn_job *job;

	if (pn_args(env, info, 3, argv, "stateScan") != 0 || (job = job_for(env, argv, 0)) == NULL)
		return NULL;
	return queue_if(env, job, pn_arg_string_or_null(env, argv[2], "prefix", &job->s2) == 0,
			scan_exec, scan_done);
}

/* --- counters ------------------------------------------------------------ */

static void incr_exec(struct pn_job *job)
{
	job->status = persist_state_incr(job->h->p, job->s1, job->s2, job->n1, &job->value,
					 &job->err);
}

/* stateIncr(handle, collection, key, delta) -> Promise<number> */
napi_value pn_state_incr(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	struct pn_job *job;

	if (pn_args(env, info, 4, argv, "stateIncr") != 0 || (job = job_for(env, argv, 1)) == NULL)
		return NULL;
	return queue_if(env, job, pn_arg_int64(env, argv[3], "amount", &job->n1) == 0,
			incr_exec, number_done);
}

static void add_exec(struct pn_job *job)
{
	job->status = persist_state_add(job->h->p, job->s1, job->s2, job->n1, &job->err);
}

/* A string argument into buf when it fits (the common case: no
   allocation), else into a heap copy left in *heap_r (caller frees). */
static const char *short_string(napi_env env, napi_value v, const char *what,
				char *buf, size_t size, char **heap_r)
{
	napi_valuetype t;
	size_t len;

	*heap_r = NULL;
	if (napi_typeof(env, v, &t) == napi_ok && t == napi_string &&
	    napi_get_value_string_utf8(env, v, buf, size, &len) == napi_ok && len + 1 < size)
		return buf;
	return pn_arg_string(env, v, what, heap_r, NULL) == 0 ? *heap_r : NULL;
}

/* stateAdd(handle, collection, key, delta): with the write queue on, the
   increment is queued right here (a short lock, no I/O, no allocation for
   the usual short names) and undefined returned, a refusal thrown;
   without it the increment is a provider call, made on the pool: a
   Promise<undefined>. */
napi_value pn_state_add(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	struct pn_handle *h;
	struct pn_job *job;
	char cbuf[PERSIST_COLLECTION_MAX + 2], kbuf[PERSIST_KEY_MAX + 2];
	char *cheap = NULL, *kheap = NULL;
	const char *collection, *key;
	struct persist_error err;
	int64_t delta;
	int ret;

	if (pn_args(env, info, 4, argv, "stateAdd") != 0 || pn_arg_handle(env, argv[0], &h) != 0)
		return NULL;
	if (!h->batching) {
		if ((job = job_for(env, argv, 1)) == NULL)
			return NULL;
		return queue_if(env, job, pn_arg_int64(env, argv[3], "amount", &job->n1) == 0,
				add_exec, NULL);
	}
	ret = -1;
	if ((collection = short_string(env, argv[1], "collection", cbuf, sizeof cbuf, &cheap)) != NULL &&
	    (key = short_string(env, argv[2], "key", kbuf, sizeof kbuf, &kheap)) != NULL &&
	    pn_arg_int64(env, argv[3], "amount", &delta) == 0) {
		err.code = PERSIST_OK;
		err.msg[0] = '\0';
		if ((ret = pn_enter(h, &err)) == PERSIST_OK) {
			ret = persist_state_add(h->p, collection, key, delta, &err);
			pn_leave(h);
		}
		if (ret != PERSIST_OK)
			napi_throw(env, pn_error(env, ret, err.msg));
	}
	free(cheap);
	free(kheap);
	return ret == PERSIST_OK ? pn_undefined(env) : NULL;
}

/* --- log ----------------------------------------------------------------- */

static void append_exec(struct pn_job *job)
{
	job->status = persist_state_append(job->h->p, job->s1, job->s3, job->len, &job->err);
}

/* stateAppend(handle, collection, json) -> Promise<undefined> */
napi_value pn_state_append(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct pn_job *job;

	if (pn_args(env, info, 3, argv, "stateAppend") != 0 || (job = job_for(env, argv, 0)) == NULL)
		return NULL;
	return queue_if(env, job, pn_arg_string(env, argv[2], "data", &job->s3, &job->len) == 0,
			append_exec, NULL);
}

static void read_log_exec(struct pn_job *job)
{
	job->status = persist_state_read_log(job->h->p, job->s1, (uint64_t)job->n1,
					     (size_t)job->n2, &job->items, &job->n_items,
					     &job->next, &job->err);
}

/* [[[index, json], ...], next] */
static napi_value read_log_done(napi_env env, struct pn_job *job)
{
	napi_value res, arr, row;

	if (napi_create_array_with_length(env, 2, &res) != napi_ok ||
	    napi_create_array_with_length(env, job->n_items, &arr) != napi_ok)
		return NULL;
	for (size_t i = 0; i < job->n_items; i++) {
		struct persist_entry *e = &job->items[i];

		if (napi_create_array_with_length(env, 2, &row) != napi_ok ||
		    napi_set_element(env, row, 0, pn_int64(env, (int64_t)e->index)) != napi_ok ||
		    napi_set_element(env, row, 1, pn_string(env, e->value, e->len)) != napi_ok ||
		    napi_set_element(env, arr, (uint32_t)i, row) != napi_ok)
			return NULL;
	}
	if (napi_set_element(env, res, 0, arr) != napi_ok ||
	    napi_set_element(env, res, 1, pn_int64(env, (int64_t)job->next)) != napi_ok)
		return NULL;
	return res;
}

/* stateReadLog(handle, collection, from, max) -> Promise<[records, next]> */
napi_value pn_state_read_log(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	struct pn_job *job;
	int ok;

	if (pn_args(env, info, 4, argv, "stateReadLog") != 0 || (job = job_for(env, argv, 0)) == NULL)
		return NULL;
	ok = pn_arg_int64(env, argv[2], "from", &job->n1) == 0 &&
	     pn_arg_int64(env, argv[3], "max", &job->n2) == 0;
	if (ok && (job->n1 < 0 || job->n2 < 0)) {
		napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "from and max must not be negative");
		ok = 0;
	}
	return queue_if(env, job, ok, read_log_exec, read_log_done);
}

/* --- batches ------------------------------------------------------------- */

/* Element i of array arr, itself an array of want elements, into row. */
static int row_of(napi_env env, napi_value arr, uint32_t i, uint32_t want,
		  const char *what, napi_value *row)
{
	uint32_t n;

	if (napi_get_element(env, arr, i, &row[0]) != napi_ok ||
	    pn_arg_array(env, row[0], what, &n) != 0)
		return -1;
	if (n != want) {
		napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "a batch entry has the wrong shape");
		return -1;
	}
	for (uint32_t j = 0; j < want; j++)
		if (napi_get_element(env, row[0], j, &row[j + 1]) != napi_ok)
			return -1;
	return 0;
}

/* Room for n entries: two owned strings each (key, value). */
static int alloc_rows(napi_env env, struct pn_job *job, uint32_t n, int kv)
{
	job->n = n;
	job->strs = calloc((size_t)n * 2 + 1, sizeof *job->strs);
	if (kv)
		job->kvs = calloc((size_t)n + 1, sizeof *job->kvs);
	else
		job->ops = calloc((size_t)n + 1, sizeof *job->ops);
	if (job->strs == NULL || (kv ? (void *)job->kvs : (void *)job->ops) == NULL) {
		napi_throw_error(env, "ENOMEM", "out of memory");
		return -1;
	}
	return 0;
}

static void set_batch_exec(struct pn_job *job)
{
	job->status = persist_state_set_batch(job->h->p, job->s1, job->kvs, job->n, &job->err);
}

/* stateSetBatch(handle, collection, [[key, json, ttlMs], ...]) */
napi_value pn_state_set_batch(napi_env env, napi_callback_info info)
{
	napi_value argv[3], row[4];
	struct pn_job *job;
	uint32_t n;

	if (pn_args(env, info, 3, argv, "stateSetBatch") != 0 || (job = job_for(env, argv, 0)) == NULL)
		return NULL;
	if (pn_arg_array(env, argv[2], "entries", &n) != 0 || alloc_rows(env, job, n, 1) != 0)
		goto fail;
	for (uint32_t i = 0; i < n; i++) {
		struct persist_kv *kv = &job->kvs[i];

		if (row_of(env, argv[2], i, 3, "every entry", row) != 0 ||
		    pn_arg_string(env, row[1], "entry key", &job->strs[2 * i], NULL) != 0 ||
		    pn_arg_string(env, row[2], "entry value", &job->strs[2 * i + 1], &kv->len) != 0 ||
		    pn_arg_int64(env, row[3], "entry ttl", &kv->ttl_ms) != 0)
			goto fail;
		kv->key = job->strs[2 * i];
		kv->value = job->strs[2 * i + 1];
	}
	return pn_job_queue(env, job, set_batch_exec, NULL);
fail:
	pn_job_free(job);
	return NULL;
}

static void batch_exec(struct pn_job *job)
{
	job->status = persist_state_batch(job->h->p, job->ops, job->n, &job->err);
}

/* stateIncrBatch(handle, collection, [[key, delta], ...]): one batch of
   increments (queued as one with the write queue on). */
napi_value pn_state_incr_batch(napi_env env, napi_callback_info info)
{
	napi_value argv[3], row[3];
	struct pn_job *job;
	uint32_t n;

	if (pn_args(env, info, 3, argv, "stateIncrBatch") != 0 || (job = job_for(env, argv, 0)) == NULL)
		return NULL;
	if (pn_arg_array(env, argv[2], "entries", &n) != 0 || alloc_rows(env, job, n, 0) != 0)
		goto fail;
	for (uint32_t i = 0; i < n; i++) {
		struct persist_op *op = &job->ops[i];

		if (row_of(env, argv[2], i, 2, "every entry", row) != 0 ||
		    pn_arg_string(env, row[1], "entry key", &job->strs[2 * i], NULL) != 0 ||
		    pn_arg_int64(env, row[2], "entry amount", &op->delta) != 0)
			goto fail;
		op->type = PERSIST_OP_INCR;
		op->collection = job->s1;
		op->key = job->strs[2 * i];
	}
	return pn_job_queue(env, job, batch_exec, NULL);
fail:
	pn_job_free(job);
	return NULL;
}

/* --- flush and counters -------------------------------------------------- */

static void flush_exec(struct pn_job *job)
{
	job->status = persist_state_flush(job->h->p, &job->err);
}

/* stateFlush(handle) -> Promise<undefined> */
napi_value pn_state_flush(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct pn_handle *h;
	struct pn_job *job;

	if (pn_args(env, info, 1, argv, "stateFlush") != 0 || pn_arg_handle(env, argv[0], &h) != 0 ||
	    (job = pn_job_new(env, h)) == NULL)
		return NULL;
	return pn_job_queue(env, job, flush_exec, NULL);
}

/* Set obj.name to the number v. */
static void set_number(napi_env env, napi_value obj, const char *name, double v)
{
	napi_value n;

	if (napi_create_double(env, v, &n) == napi_ok)
		napi_set_named_property(env, obj, name, n);
}

/* stateStats(handle) -> the write queue's counters (a copy under a lock:
   answered at once). */
napi_value pn_state_stats(napi_env env, napi_callback_info info)
{
	napi_value argv[1], obj, b;
	struct pn_handle *h;
	struct persist_batch_stats st;
	struct persist_error err = { 0 };
	int ret;

	if (pn_args(env, info, 1, argv, "stateStats") != 0 || pn_arg_handle(env, argv[0], &h) != 0)
		return NULL;
	memset(&st, 0, sizeof st);
	st.size = sizeof st;
	if ((ret = pn_enter(h, &err)) == PERSIST_OK) {
		ret = persist_state_stats(h->p, &st, &err);
		pn_leave(h);
	}
	if (ret != PERSIST_OK) {
		napi_throw(env, pn_error(env, ret, err.msg));
		return NULL;
	}
	if (napi_create_object(env, &obj) != napi_ok)
		return NULL;
	napi_get_boolean(env, st.enabled != 0, &b);
	napi_set_named_property(env, obj, "enabled", b);
	set_number(env, obj, "intervalMs", (double)st.interval_ms);
	set_number(env, obj, "maxOps", (double)st.max_ops);
	set_number(env, obj, "maxBytes", (double)st.max_bytes);
	set_number(env, obj, "opsQueued", (double)st.ops_queued);
	set_number(env, obj, "opsCoalesced", (double)st.ops_coalesced);
	set_number(env, obj, "opsFlushed", (double)st.ops_flushed);
	set_number(env, obj, "opsRejected", (double)st.ops_rejected);
	set_number(env, obj, "flushes", (double)st.flushes);
	set_number(env, obj, "flushFailures", (double)st.flush_failures);
	set_number(env, obj, "queueDepth", (double)st.queue_depth);
	set_number(env, obj, "queueBytes", (double)st.queue_bytes);
	set_number(env, obj, "medianFlushUs", (double)st.median_flush_us);
	if (st.last_error != PERSIST_OK)
		napi_set_named_property(env, obj, "lastError",
					pn_error(env, st.last_error, st.last_error_msg));
	return obj;
}
