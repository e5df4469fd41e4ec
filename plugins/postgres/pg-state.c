/*
 * plugins/postgres/pg-state.c - state in the tables kv, log_head and log
 * (see pg-schema.c):
 *   values     one row per (collection, key), bytes as given; a TTL sets
 *              expires_at, and an expired row is invisible at once (every
 *              read says "expires_at > now()") and deleted by a sweep
 *              every sweepInterval ms, run by whichever call comes due;
 *   counters   a bigint column (read back as decimal text), incremented
 *              on the server by one INSERT ... ON CONFLICT DO UPDATE ...
 *              RETURNING, atomic for every instance; a value set as text
 *              is parsed when incremented; one that is not
 *              `-?(0|[1-9][0-9]*)` or
 *              a sum outside int64 is refused (PERSIST_EINVAL naming the
 *              key) and the value stays;
 *   scans      a range of the primary key: key >= prefix AND key < the
 *              prefix's successor (keys sort bytewise, COLLATE "C");
 *   logs       records numbered 0, 1, 2, ... by the collection's row in
 *              log_head, incremented in the appending transaction, so the
 *              numbers have no gaps and follow the commit order;
 *   batches    one transaction (BEGIN, the operations, COMMIT) sent as
 *              one libpq pipeline: one round trip; consecutive increments
 *              go as one statement (arrays of collections, keys and
 *              deltas, summed per key on the server).  An operation that
 *              fails rolls the whole batch back (PERSIST_EINVAL naming
 *              it); a connection lost before COMMIT's answer arrives is
 *              PERSIST_EUNCERTAIN.
 *   exactly-once batches (batch_once)  the same transaction, first
 *              claiming the batch's id in batch_ids (batch_claim: INSERT
 *              ... ON CONFLICT DO NOTHING, raising PB001 when the id was
 *              there): a retry after a lost COMMIT answer finds the id,
 *              the transaction rolls back, and the answer is "applied
 *              before".  Ids older than PERSIST_BATCH_ID_KEEP_MS are
 *              deleted every PG_BATCH_SWEEP_EVERY-th batch_once.
 *   write times  every set records the host's time (host->now_ms(), the
 *              clock the core's journal uses too; never the server's) in
 *              the row's written_ms, in the same statement; every delete
 *              upserts it into kv_deleted in the same statement; the
 *              sweep moves an expired row's time there.  Increments and
 *              appends record nothing.  batch_once_dated sends each set
 *              and delete as lww_set / lww_del with the time it was made:
 *              applied only when neither time recorded for the key is
 *              later, in the batch's one transaction (so a retry of the
 *              id applies nothing).  A key's time is the later of the
 *              two; they disagree only when a host's clock went back.
 *              Deletion times older than PERSIST_BATCH_ID_KEEP_MS are
 *              pruned by the sweep, at most PG_PRUNE_MAX per sweep.
 * flush has nothing to do: every acknowledged write is committed.
 */
#include "pg-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* batch_once calls of a store between two sweeps of old batch ids. */
#define PG_BATCH_SWEEP_EVERY 256

/* Sweep expired values when due, keeping their write times, and prune
   deletion times older than a day (at most one thread at a time). */
void pg_state_maybe_sweep(struct pg_store *st)
{
	static pthread_mutex_t sweeping = PTHREAD_MUTEX_INITIALIZER;
	int64_t now = st->host->monotonic_us();
	struct pg_params p = { 0 };
	struct persist_error err;
	PGresult *res = NULL;
	char before[24];

	if (now < __atomic_load_n(&st->next_sweep_us, __ATOMIC_RELAXED) ||
	    pthread_mutex_trylock(&sweeping) != 0)
		return;
	if (now >= st->next_sweep_us) {
		__atomic_store_n(&st->next_sweep_us,
				 now + (int64_t)st->conf.sweep_interval_ms * 1000,
				 __ATOMIC_RELAXED);
		if (pg_exec(&st->pool, PS_STATE_SWEEP, NULL, PG_WRITE, &res,
			    "sweeping expired values", &err) == PERSIST_OK)
			PQclear(res);
		pg_param_i64(&p, before, st->host->now_ms() - PERSIST_BATCH_ID_KEEP_MS);
		if (pg_exec(&st->pool, PS_STATE_PRUNE_TIMES, &p, PG_WRITE, &res,
			    "pruning old deletion times", &err) == PERSIST_OK)
			PQclear(res);
	}
	pthread_mutex_unlock(&sweeping);
}

int pg_state_get(void *store, const char *collection, const char *key,
		 struct persist_value *value_r, struct persist_error *err)
{
	struct pg_store *st = store;
	struct pg_params p = { 0 };
	PGresult *res = NULL;
	int ret;

	pg_param_str(&p, collection);
	pg_param_str(&p, key);
	ret = pg_exec(&st->pool, PS_STATE_GET, &p, 0, &res, "get", err);
	if (ret != PERSIST_OK)
		return ret;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return st->host->error(err, PERSIST_ENOTFOUND, 0,
				       "no key \"%s\" in collection \"%s\"", key, collection);
	}
	value_r->data = pg_get_copy(st->host, res, 0, 0, &value_r->len);
	value_r->etag[0] = '\0';
	value_r->expires_ms = pg_get_i64(res, 0, 1);
	PQclear(res);
	if (value_r->data == NULL)
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM,
				       "out of memory");
	pg_state_maybe_sweep(st);
	return PERSIST_OK;
}

int pg_state_set(void *store, const char *collection, const char *key,
		 const void *data, size_t len, int64_t ttl_ms,
		 struct persist_error *err)
{
	struct pg_store *st = store;
	struct pg_params p = { 0 };
	PGresult *res = NULL;
	char ttl[24], when[24];
	int ret;

	pg_param_str(&p, collection);
	pg_param_str(&p, key);
	pg_param_bin(&p, data, len);
	pg_param_i64(&p, ttl, ttl_ms);
	pg_param_i64(&p, when, st->host->now_ms());
	ret = pg_exec(&st->pool, PS_STATE_SET, &p, PG_WRITE, &res, "set", err);
	if (ret == PERSIST_OK)
		PQclear(res);
	pg_state_maybe_sweep(st);
	return ret;
}

int pg_state_del(void *store, const char *collection, const char *key,
		 struct persist_error *err)
{
	struct pg_store *st = store;
	struct pg_params p = { 0 };
	PGresult *res = NULL;
	char when[24];
	bool live;
	int ret;

	pg_param_str(&p, collection);
	pg_param_str(&p, key);
	pg_param_i64(&p, when, st->host->now_ms());
	ret = pg_exec(&st->pool, PS_STATE_DEL, &p, PG_WRITE, &res, "delete", err);
	if (ret != PERSIST_OK)
		return ret;
	live = PQntuples(res) == 1 && pg_get_bool(res, 0, 0);
	PQclear(res);
	if (!live)
		return st->host->error(err, PERSIST_ENOTFOUND, 0,
				       "no key \"%s\" in collection \"%s\"", key, collection);
	return PERSIST_OK;
}

/* The least string greater than every string starting with prefix
   (malloc), or NULL when there is none (empty prefix, or only U+10FFFF);
   *oom_r on allocation failure. */
static char *prefix_upper(const char *prefix, bool *oom_r)
{
	size_t len = strlen(prefix);
	char *u = malloc(len + 5);

	*oom_r = u == NULL;
	if (u == NULL)
		return NULL;
	memcpy(u, prefix, len + 1);
	while (len > 0) {
		size_t start = len - 1;
		const unsigned char *s;
		uint32_t cp;
		size_t n;

		while (start > 0 && ((unsigned char)u[start] & 0xc0) == 0x80)
			start--;
		s = (const unsigned char *)u + start;
		n = len - start;
		cp = n == 1 ? s[0] : n == 2 ? s[0] & 0x1f : n == 3 ? s[0] & 0x0f : s[0] & 0x07;
		for (size_t k = 1; k < n; k++)
			cp = (cp << 6) | (s[k] & 0x3f);
		if (cp >= 0x10ffff) {
			len = start;
			continue;
		}
		cp = cp == 0xd7ff ? 0xe000 : cp + 1;
		if (cp < 0x80) {
			u[start++] = (char)cp;
		} else if (cp < 0x800) {
			u[start++] = (char)(0xc0 | (cp >> 6));
			u[start++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			u[start++] = (char)(0xe0 | (cp >> 12));
			u[start++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			u[start++] = (char)(0x80 | (cp & 0x3f));
		} else {
			u[start++] = (char)(0xf0 | (cp >> 18));
			u[start++] = (char)(0x80 | ((cp >> 12) & 0x3f));
			u[start++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			u[start++] = (char)(0x80 | (cp & 0x3f));
		}
		u[start] = '\0';
		return u;
	}
	free(u);
	return NULL;
}

int pg_state_scan(void *store, const char *collection, const char *prefix,
		  persist_emit_fn *emit, void *ctx, struct persist_error *err)
{
	struct pg_store *st = store;
	struct pg_params p = { 0 };
	PGresult *res = NULL;
	bool oom;
	char *upper;
	int ret;

	if (prefix == NULL)
		prefix = "";
	upper = prefix_upper(prefix, &oom);
	if (oom)
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM,
				       "out of memory");
	pg_param_str(&p, collection);
	pg_param_str(&p, prefix);
	if (upper != NULL)
		pg_param_str(&p, upper);
	ret = pg_exec(&st->pool, upper != NULL ? PS_STATE_SCAN : PS_STATE_SCAN_ALL, &p, 0,
		      &res, "scan", err);
	free(upper);
	if (ret != PERSIST_OK)
		return ret;
	for (int i = 0; i < PQntuples(res); i++) {
		struct persist_item item = {
			.size = sizeof(item),
			.key = PQgetvalue(res, i, 0),
			.value = PQgetvalue(res, i, 1),
			.len = (size_t)PQgetlength(res, i, 1),
			.expires_ms = pg_get_i64(res, i, 2),
		};

		if (emit(ctx, &item) != 0)
			break;
	}
	PQclear(res);
	return PERSIST_OK;
}

/* The message of an increment the server refused. */
static int incr_refused(struct pg_store *st, const char *collection, const char *key,
			struct persist_error *err)
{
	return st->host->error(err, PERSIST_EINVAL, 0,
			       "cannot increment key \"%s\" in collection \"%s\"\n"
			       "Its value is not a decimal integer, or the sum does not "
			       "fit in 64 bits.", key, collection);
}

int pg_state_incr(void *store, const char *collection, const char *key,
		  int64_t delta, int64_t *value_r, struct persist_error *err)
{
	struct pg_store *st = store;
	struct pg_params p = { 0 };
	PGresult *res = NULL;
	char d[24];
	int64_t v;
	int ret;

	pg_param_str(&p, collection);
	pg_param_str(&p, key);
	pg_param_i64(&p, d, delta);
	ret = pg_exec(&st->pool, PS_STATE_INCR, &p, PG_WRITE, &res, "incr", err);
	if (ret == PERSIST_EINVAL)
		return incr_refused(st, collection, key, err);
	if (ret != PERSIST_OK)
		return ret;
	if (PQntuples(res) != 1 || PQgetlength(res, 0, 0) != 8) {
		PQclear(res);
		return st->host->error(err, PERSIST_ECORRUPT, 0,
				       "incr of key \"%s\": the server "
				       "answered something that is not a number", key);
	}
	v = pg_get_i64(res, 0, 0);
	PQclear(res);
	if (value_r != NULL)
		*value_r = v;
	return PERSIST_OK;
}

int pg_state_append(void *store, const char *collection, const void *data,
		    size_t len, struct persist_error *err)
{
	struct pg_store *st = store;
	struct pg_params p = { 0 };
	PGresult *res = NULL;
	int ret;

	pg_param_str(&p, collection);
	pg_param_bin(&p, data, len);
	ret = pg_exec(&st->pool, PS_STATE_APPEND, &p, PG_WRITE, &res, "append", err);
	if (ret == PERSIST_OK)
		PQclear(res);
	return ret;
}

int pg_state_read_log(void *store, const char *collection, uint64_t from,
		      size_t max, persist_emit_fn *emit, void *ctx,
		      struct persist_error *err)
{
	struct pg_store *st = store;
	struct pg_params p = { 0 };
	PGresult *res = NULL;
	char f[24], m[24];
	int ret;

	if (from > (uint64_t)INT64_MAX)
		return PERSIST_OK;
	pg_param_str(&p, collection);
	pg_param_i64(&p, f, (int64_t)from);
	if (max > 0)
		pg_param_i64(&p, m, max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max);
	else
		pg_param_str(&p, NULL);
	ret = pg_exec(&st->pool, PS_STATE_READ_LOG, &p, 0, &res, "read_log", err);
	if (ret != PERSIST_OK)
		return ret;
	for (int i = 0; i < PQntuples(res); i++) {
		struct persist_item item = {
			.size = sizeof(item),
			.index = (uint64_t)pg_get_i64(res, i, 0),
			.value = PQgetvalue(res, i, 1),
			.len = (size_t)PQgetlength(res, i, 1),
		};

		if (emit(ctx, &item) != 0)
			break;
	}
	PQclear(res);
	return PERSIST_OK;
}

int pg_state_flush(void *store, struct persist_error *err)
{
	(void)store;
	(void)err;
	return PERSIST_OK;
}

/* --- batches ---------------------------------------------------------- */

/* The statement of one operation (dated: of batch_once_dated);
   PS_COUNT_ when the type is unknown. */
static enum pg_stmt op_stmt(enum persist_op_type type, bool dated)
{
	switch (type) {
	case PERSIST_OP_SET: return dated ? PS_STATE_SET_DATED : PS_STATE_SET;
	case PERSIST_OP_INCR: return PS_STATE_INCR;
	case PERSIST_OP_APPEND: return PS_STATE_APPEND;
	case PERSIST_OP_DELETE: return dated ? PS_STATE_DEL_DATED : PS_STATE_DEL_ANY;
	}
	return PS_COUNT_;
}

/* Queue one prepared statement in the pipeline. */
static int send_prepared(PGconn *pg, enum pg_stmt id, const struct pg_params *p)
{
	char name[16];

	snprintf(name, sizeof(name), "p%d", (int)id);
	return PQsendQueryPrepared(pg, name, p != NULL ? p->n : 0,
				   p != NULL ? p->values : NULL,
				   p != NULL ? p->lengths : NULL,
				   p != NULL ? p->formats : NULL, 1);
}

/* A PostgreSQL array literal of the strings get(op) of ops [i, j), each
   element quoted ("..." with \ and " escaped); malloc, NULL on ENOMEM. */
static char *array_literal(const struct persist_op *ops, size_t op_size, size_t i,
			   size_t j, int field)
{
	size_t size = 3, o = 0;
	char *lit;

	for (size_t k = i; k < j; k++) {
		const struct persist_op *op = pc_batch_op(ops, k, op_size);

		size += field == 2 ? 24 : 3 + 2 * strlen(field == 0 ? op->collection : op->key);
	}
	lit = malloc(size);
	if (lit == NULL)
		return NULL;
	lit[o++] = '{';
	for (size_t k = i; k < j; k++) {
		const struct persist_op *op = pc_batch_op(ops, k, op_size);

		if (k > i)
			lit[o++] = ',';
		if (field == 2) {
			o += (size_t)snprintf(lit + o, size - o, "%lld", (long long)op->delta);
			continue;
		}
		lit[o++] = '"';
		for (const char *c = field == 0 ? op->collection : op->key; *c != '\0'; c++) {
			if (*c == '"' || *c == '\\')
				lit[o++] = '\\';
			lit[o++] = *c;
		}
		lit[o++] = '"';
	}
	lit[o++] = '}';
	lit[o] = '\0';
	return lit;
}

/* The status of a failed batch: res is the failed answer of one
   operation (op), of a run of increments (op NULL, the key in the
   error's detail), or of BEGIN/COMMIT (op NULL, not incr_run). */
static int batch_failed(struct pg_store *st, struct pg_conn *c, const struct persist_op *op,
			bool incr_run, PGresult *res, struct persist_error *err)
{
	char what[160];
	int ret;

	if (op == NULL && !incr_run)
		return pg_result_error(&st->pool, c->pg, res, PG_WRITE, false,
				       "batch", err);
	if (op == NULL) {
		const char *key = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);

		ret = pg_result_error(&st->pool, c->pg, res, PG_WRITE, false,
				      "batch (increments; nothing was applied)", err);
		if (ret == PERSIST_EINVAL)
			return st->host->error(err, PERSIST_EINVAL, 0,
					       "cannot increment key \"%s\" in a batch; "
					       "nothing was applied\n"
					       "Its value is not a decimal integer, or the sum "
					       "does not fit in 64 bits.", key != NULL ? key : "?");
		return ret;
	}
	snprintf(what, sizeof(what), "batch (%s of key \"%.60s\" in collection \"%.60s\"; "
		 "nothing was applied)",
		 op->type == PERSIST_OP_SET ? "set" : op->type == PERSIST_OP_INCR ? "incr" :
		 op->type == PERSIST_OP_APPEND ? "append" : "delete",
		 op->key != NULL ? op->key : "", op->collection);
	ret = pg_result_error(&st->pool, c->pg, res, PG_WRITE, false, what, err);
	if (ret == PERSIST_EINVAL && op->type == PERSIST_OP_INCR)
		return st->host->error(err, PERSIST_EINVAL, 0,
				       "cannot increment key \"%s\" in collection \"%s\" "
				       "in a batch; nothing was applied\n"
				       "Its value is not a decimal integer, or the sum does "
				       "not fit in 64 bits.", op->key, op->collection);
	return ret;
}

/* One statement of a batch: ops [first, first + count). */
struct segment {
	size_t first, count;
};

/* Queue the statement of ops [i, j) (one op, or a run of increments).
   A set or delete carries its time: written_ms[i] (batch_once_dated), or
   now (written_ms NULL). */
static int send_segment(PGconn *pg, const struct persist_op *ops, size_t op_size,
			size_t i, size_t j, const int64_t *written_ms, int64_t now,
			char (*nums)[24], char **lits)
{
	const struct persist_op *op = pc_batch_op(ops, i, op_size);
	struct pg_params p = { 0 };
	char when[24]; /* libpq copies the parameters as it queues them */

	if (j - i > 1) {
		for (int f = 0; f < 3; f++) {
			lits[f] = array_literal(ops, op_size, i, j, f);
			if (lits[f] == NULL)
				return 0;
			pg_param_str(&p, lits[f]);
		}
		return send_prepared(pg, PS_STATE_INCR_MANY, &p);
	}
	pg_param_str(&p, op->collection);
	switch (op->type) {
	case PERSIST_OP_SET:
		pg_param_str(&p, op->key);
		pg_param_bin(&p, op->value, op->len);
		pg_param_i64(&p, nums[i], op->ttl_ms);
		pg_param_i64(&p, when, written_ms != NULL ? written_ms[i] : now);
		break;
	case PERSIST_OP_INCR:
		pg_param_str(&p, op->key);
		pg_param_i64(&p, nums[i], op->delta);
		break;
	case PERSIST_OP_APPEND:
		pg_param_bin(&p, op->value, op->len);
		break;
	case PERSIST_OP_DELETE:
		pg_param_str(&p, op->key);
		pg_param_i64(&p, when, written_ms != NULL ? written_ms[i] : now);
		break;
	}
	return send_prepared(pg, op_stmt(op->type, written_ms != NULL), &p);
}

/* Send the batch and read its answers on c.  Consecutive increments go
   as one statement; everything else one statement per operation.  With
   an id (batch_once) the transaction first claims it (batch_claim): an
   id applied before fails that statement with PB001, which rolls the
   whole transaction back and answers OK with *applied_before_r = 1.
   written_ms: the times of batch_once_dated (NULL: stamp now). */
static int batch_run(struct pg_store *st, struct pg_conn *c, const char *id,
		     const struct persist_op *ops, const int64_t *written_ms,
		     size_t n, size_t op_size, char (*nums)[24], struct segment *segs,
		     char **lits, int *applied_before_r, struct persist_error *err)
{
	const long extra = id != NULL ? 1 : 0; /* the claim, before the ops */
	const struct persist_host *host = st->host;
	int64_t deadline = host->monotonic_us() +
			   (int64_t)st->conf.command_timeout_ms * 1000 + 500000;
	bool timed_out = false, committed = false, sent = false;
	const int64_t now = host->now_ms();
	PGresult *failed = NULL;
	long failed_at = -2, got = 0;
	size_t nseg = 0;
	int ret;

	if (PQenterPipelineMode(c->pg) == 0)
		return pg_result_error(&st->pool, c->pg, NULL, 0, false, "batch", err);
	if (send_prepared(c->pg, PS_BEGIN, NULL) == 0)
		goto lost;
	if (id != NULL) {
		struct pg_params p = { 0 };

		pg_param_str(&p, id);
		if (send_prepared(c->pg, PS_BATCH_CLAIM, &p) == 0)
			goto lost;
	}
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;

		if (pc_batch_op(ops, i, op_size)->type == PERSIST_OP_INCR)
			while (j < n && pc_batch_op(ops, j, op_size)->type == PERSIST_OP_INCR)
				j++;
		segs[nseg] = (struct segment){ .first = i, .count = j - i };
		if (send_segment(c->pg, ops, op_size, i, j, written_ms, now, nums,
				 lits + 3 * nseg) == 0)
			goto lost;
		nseg++;
		i = j;
	}
	if (send_prepared(c->pg, PS_COMMIT, NULL) == 0 || PQpipelineSync(c->pg) == 0)
		goto lost;
	sent = true;
	if (pg_flush_out(c->pg, deadline, host, &timed_out) != 0)
		goto lost;
	for (;;) {
		PGresult *res;
		ExecStatusType s;

		if (PQstatus(c->pg) != CONNECTION_OK ||
		    pg_wait_ready(c->pg, deadline, host, &timed_out) != 0)
			goto lost;
		res = PQgetResult(c->pg);
		if (res == NULL)
			continue;
		s = PQresultStatus(res);
		if (s == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		if (s == PGRES_FATAL_ERROR && failed == NULL) {
			failed = res;
			failed_at = got - 1 - extra;
			res = NULL;
		} else if (got == (long)nseg + 1 + extra && s == PGRES_COMMAND_OK) {
			committed = true;
		}
		PQclear(res);
		got++;
	}
	PQexitPipelineMode(c->pg);
	if (committed) {
		PQclear(failed);
		return PERSIST_OK;
	}
	if (id != NULL && failed_at == -1 && strcmp(pg_sqlstate(failed), "PB001") == 0) {
		PQclear(failed);
		*applied_before_r = 1;
		return PERSIST_OK;
	}
	if (failed_at >= 0 && failed_at < (long)nseg)
		ret = batch_failed(st, c, segs[failed_at].count == 1 ?
				   pc_batch_op(ops, segs[failed_at].first, op_size) : NULL,
				   segs[failed_at].count > 1, failed, err);
	else
		ret = batch_failed(st, c, NULL, false, failed, err);
	PQclear(failed);
	return ret;
lost:
	PQclear(failed);
	c->broken = true;
	return pg_result_error(&st->pool, c->pg, NULL, sent ? PG_WRITE : 0, timed_out,
			       "batch", err);
}


/* Forget the batch ids older than PERSIST_BATCH_ID_KEEP_MS: one DELETE
   on the applied_at index, every PG_BATCH_SWEEP_EVERY-th batch_once of a
   store (cheap, and no table of ids grows past a day of batches). */
static void batch_ids_sweep(struct pg_store *st)
{
	struct pg_params p = { 0 };
	struct persist_error err;
	PGresult *res = NULL;
	char keep[24];

	if (__atomic_fetch_add(&st->once_calls, 1, __ATOMIC_RELAXED) % PG_BATCH_SWEEP_EVERY != 0)
		return;
	pg_param_i64(&p, keep, PERSIST_BATCH_ID_KEEP_MS);
	if (pg_exec(&st->pool, PS_BATCH_SWEEP, &p, PG_WRITE, &res,
		    "removing old batch ids", &err) == PERSIST_OK)
		PQclear(res);
	else
		st->host->log(st->sink, PERSIST_LOG_WARNING, "%s", err.msg);
}

/* batch_once_dated() (written_ms NULL: batch_once(); id NULL too:
   batch()): see batch_run. */
static int batch_apply(void *store, const char *id, const struct persist_op *ops,
		       const int64_t *written_ms, size_t n, size_t op_size,
		       int *applied_before_r, struct persist_error *err)
{
	struct pg_store *st = store;
	struct pg_conn *c = NULL;
	char (*nums)[24], **lits;
	struct segment *segs;
	int ret;

	if (id != NULL &&
	    (ret = pc_batch_once_check(st->host, id, applied_before_r, err)) != PERSIST_OK)
		return ret;
	if (n == 0)
		return PERSIST_OK;
	if (!pc_batch_op_size_ok(op_size))
		return st->host->error(err, PERSIST_EINVAL, 0,
				       "batch operations of %zu bytes "
				       "are too small\nThis plugin needs at least %zu bytes "
				       "per operation.", op_size, sizeof(struct persist_op));
	for (size_t i = 0; i < n; i++) {
		const struct persist_op *op = pc_batch_op(ops, i, op_size);

		if (op_stmt(op->type, false) == PS_COUNT_)
			return st->host->error(err, PERSIST_EINVAL, 0,
					       "batch operation %zu has unknown type %d",
					       i, (int)op->type);
	}
	nums = calloc(n, sizeof(*nums));
	segs = calloc(n, sizeof(*segs));
	lits = calloc(3 * n, sizeof(*lits));
	if (nums == NULL || segs == NULL || lits == NULL) {
		free(nums);
		free(segs);
		free(lits);
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM,
				       "out of memory");
	}
	ret = pg_pool_get(&st->pool, &c, err);
	if (ret == PERSIST_OK) {
		static const enum pg_stmt need[] = {
			PS_BEGIN, PS_COMMIT, PS_STATE_INCR, PS_STATE_INCR_MANY,
			PS_STATE_APPEND, PS_STATE_SET, PS_STATE_DEL_ANY,
		};
		const bool dated = written_ms != NULL;

		for (size_t i = 0; ret == PERSIST_OK && i < sizeof(need) / sizeof(need[0]); i++)
			ret = pg_conn_prepare(&st->pool, c, dated && need[i] == PS_STATE_SET ?
					      PS_STATE_SET_DATED : dated &&
					      need[i] == PS_STATE_DEL_ANY ? PS_STATE_DEL_DATED :
					      need[i], err);
		if (ret == PERSIST_OK && id != NULL)
			ret = pg_conn_prepare(&st->pool, c, PS_BATCH_CLAIM, err);
		if (ret == PERSIST_OK)
			ret = batch_run(st, c, id, ops, written_ms, n, op_size, nums, segs,
					lits, applied_before_r, err);
		pg_pool_put(&st->pool, c);
	}
	if (ret == PERSIST_OK && id != NULL)
		batch_ids_sweep(st);
	for (size_t i = 0; i < 3 * n; i++)
		free(lits[i]);
	free(lits);
	free(segs);
	free(nums);
	return ret;
}

int pg_state_batch(void *store, const struct persist_op *ops, size_t n,
		   size_t op_size, struct persist_error *err)
{
	return batch_apply(store, NULL, ops, NULL, n, op_size, NULL, err);
}

int pg_state_batch_once(void *store, const char *id, const struct persist_op *ops,
			size_t n, size_t op_size, int *applied_before_r,
			struct persist_error *err)
{
	return batch_apply(store, id, ops, NULL, n, op_size, applied_before_r, err);
}

/* batch_once_dated(): each set or delete is applied only when no later
   time is recorded for its key (lww_set, lww_del). */
int pg_state_batch_once_dated(void *store, const char *id, const struct persist_op *ops,
			      const int64_t *written_ms, size_t n, size_t op_size,
			      int *applied_before_r, struct persist_error *err)
{
	struct pg_store *st = store;
	int ret;

	if ((ret = pc_batch_once_check(st->host, id, applied_before_r, err)) != PERSIST_OK)
		return ret;
	if (written_ms == NULL && n > 0)
		return st->host->error(err, PERSIST_EINVAL, 0,
				       "batch_once_dated \"%s\" without write times\n"
				       "The array of write times is NULL.", id != NULL ? id : "");
	return batch_apply(store, id, ops, written_ms != NULL ? written_ms : &(int64_t){ 0 },
			   n, op_size, applied_before_r, err);
}
