/*
 * core/state-api.c - persist_state_*: key-values with TTL, counters,
 * append-only logs and batches, routed to the state provider.
 *
 * A batch goes to the provider's batch method in one call when it has one;
 * otherwise the core applies it as a loop of single calls (and says so in
 * the error if the loop fails half way: PERSIST_EUNCERTAIN is not used
 * there, the ops before the failing one are applied and the message names
 * the failing op's position).
 *
 * With batching on (core/batch.c), each call is checked here and then
 * handed to the write queue; the persist_state_stored_* functions below
 * are the provider calls themselves, which the queue uses.
 *
 * With a fallback (core/fallback.c), a call made while the primary is down
 * goes to the fallback (writes through the journal first), and a call the
 * primary answers with an outage marks it down: a read is then answered by
 * the fallback, a write that was not applied (unavailable) is journaled.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "persist-handle.h"
#include "batch.h"
#include "pc-utf8.h"
#include "fallback.h"

#define STATE_OPS(sink) ((const struct persist_state_ops *)(sink)->ops)
#define STATE_FO(p) ((p)->failover[PERSIST_KIND_STATE])

/* A checked write while the primary is down: journaled, then applied to
   the fallback.  PERSIST_FAILOVER_USE_PRIMARY: send it to the primary. */
static int write_fallback(persist *p, const struct persist_op *ops, size_t n,
			  int64_t *value_r, struct persist_error *err)
{
	struct persist_failover *fo = STATE_FO(p);

	if (!persist_failover_active(fo))
		return PERSIST_FAILOVER_USE_PRIMARY;
	return persist_failover_write(fo, NULL, ops, n, value_r, err);
}

/* The result of a write the primary answered with ret: an outage marks
   it down, and a write it did not apply (unavailable) goes to the journal
   and the fallback instead; one that may have been applied (a timeout, an
   uncertain outcome) is reported as it is. */
static int write_outcome(persist *p, struct persist_sink *sink, int ret,
			 const struct persist_op *ops, size_t n, int64_t *value_r,
			 struct persist_error *err)
{
	struct persist_failover *fo = STATE_FO(p);
	struct persist_error first;
	int r;

	ret = persist_provider_error(sink, ret, err);
	if (fo == NULL || !persist_failover_outage(ret))
		return ret;
	persist_failover_down(fo, ret, err);
	if (ret != PERSIST_EUNAVAIL)
		return ret;
	if (err != NULL)
		first = *err;
	persist_error_clear(err);
	r = persist_failover_write(fo, NULL, ops, n, value_r, err);
	if (r == PERSIST_FAILOVER_USE_PRIMARY) {
		if (err != NULL)
			*err = first;
		return ret;
	}
	return r;
}

/* After a read the primary answered with ret: true when that was an
   outage (now marked down): read from the fallback instead. */
static int read_outage(persist *p, int ret, struct persist_error *err)
{
	struct persist_failover *fo = STATE_FO(p);

	if (fo == NULL || !persist_failover_outage(ret))
		return 0;
	persist_failover_down(fo, ret, err);
	persist_error_clear(err);
	return 1;
}

/* While the primary is down, the fallback's store; else NULL. */
static struct persist_sink *fallback_sink(persist *p)
{
	struct persist_failover *fo = STATE_FO(p);

	return persist_failover_active(fo) ? &fo->fb : NULL;
}

/* A whole-collection operation (drop, trim) while the primary is down. */
static int down_refused(persist *p, const char *what, const char *collection,
			struct persist_error *err)
{
	struct persist_failover *fo = STATE_FO(p);

	return persist_error_set(err, PERSIST_EUNAVAIL, 0,
		"cannot %s collection \"%s\": provider \"%s\" is down\n"
		"Writes are journaled to fallback \"%s\" until it is back; this "
		"operation is not, and is refused until then.", what, collection,
		fo->primary->provider, fo->fb.provider);
}

/* Common checks of a call on a collection: handle, state store, name. */
static int check_collection(persist *p, const char *collection,
			    struct persist_sink **sink_r, struct persist_error *err)
{
	int ret = persist_sink_get(p, PERSIST_KIND_STATE, sink_r, err);

	return ret != PERSIST_OK ? ret : persist_valid_collection(collection, err);
}

/* Common checks of a call on one key of a collection (NULL key refused). */
static int check_ck(persist *p, const char *collection, const char *key,
		    struct persist_sink **sink_r, struct persist_error *err)
{
	int ret = check_collection(p, collection, sink_r, err);

	return ret != PERSIST_OK ? ret : persist_valid_key("key", key, err);
}

int persist_state_get(persist *p, const char *collection, const char *key,
		      char **value_r, size_t *len_r, struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if ((ret = check_ck(p, collection, key, &sink, err)) != PERSIST_OK)
		return ret;
	if (fallback_sink(p) != NULL)
		return persist_state_stored_get(fallback_sink(p), collection, key, value_r, len_r, err);
	if (p->batcher != NULL)
		ret = persist_batch_get(p->batcher, collection, key, value_r, len_r, err);
	else
		ret = persist_state_stored_get(sink, collection, key, value_r, len_r, err);
	if (read_outage(p, ret, err))
		return persist_state_stored_get(&STATE_FO(p)->fb, collection, key, value_r,
						len_r, err);
	return ret;
}

/* The provider's get, without the write queue. */
int persist_state_stored_get(struct persist_sink *sink, const char *collection,
			     const char *key, char **value_r, size_t *len_r,
			     struct persist_error *err)
{
	struct persist_value value;
	int ret;

	if (!PERSIST_OPS_HAS(sink, struct persist_state_ops, get))
		return persist_not_supported(sink, "get", err);
	memset(&value, 0, sizeof(value));
	PERSIST_SINK_CALL(sink, ret,
		STATE_OPS(sink)->get(sink->store, collection, key, &value, err));
	if (ret != PERSIST_OK) {
		free(value.data);
		if (ret == PERSIST_ENOTFOUND && err != NULL && err->msg[0] == '\0')
			persist_error_set(err, ret, 0, "key \"%s\" not found in collection \"%s\"",
					  key, collection);
		return persist_provider_error(sink, ret, err);
	}
	if (value.data == NULL && (value.data = persist_memdup0("", 0)) == NULL)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	if (len_r != NULL)
		*len_r = value.len;
	if (value_r != NULL)
		*value_r = value.data;
	else
		free(value.data);
	return PERSIST_OK;
}

int persist_state_set(persist *p, const char *collection, const char *key,
		      const void *value, size_t len, int64_t ttl_ms,
		      struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if ((ret = check_ck(p, collection, key, &sink, err)) != PERSIST_OK ||
	    (ret = persist_valid_value("value", value, len, err)) != PERSIST_OK)
		return ret;
	if ((ret = persist_valid_ttl(ttl_ms, "key", key, err)) != PERSIST_OK)
		return ret;
	if (ttl_ms > 0 && (sink->caps & PERSIST_CAP_TTL) == 0)
		return persist_error_set(err, PERSIST_ENOTSUP, 0,
			"provider \"%s\" does not support TTLs on state keys", sink->provider);
	if (!PERSIST_OPS_HAS(sink, struct persist_state_ops, set))
		return persist_not_supported(sink, "set", err);
	struct persist_op op = { .type = PERSIST_OP_SET, .collection = collection, .key = key,
				 .value = value != NULL ? value : "", .len = len, .ttl_ms = ttl_ms };
	if ((ret = write_fallback(p, &op, 1, NULL, err)) != PERSIST_FAILOVER_USE_PRIMARY)
		return ret;
	if (p->batcher != NULL)
		return persist_batch_set(p->batcher, collection, key, value, len, ttl_ms, err);
	PERSIST_SINK_CALL(sink, ret,
		STATE_OPS(sink)->set(sink->store, collection, key,
				   value != NULL ? value : "", len, ttl_ms, err));
	return write_outcome(p, sink, ret, &op, 1, NULL, err);
}

int persist_state_delete(persist *p, const char *collection, const char *key,
			 struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if ((ret = check_ck(p, collection, key, &sink, err)) != PERSIST_OK)
		return ret;
	if (!PERSIST_OPS_HAS(sink, struct persist_state_ops, del))
		return persist_not_supported(sink, "delete", err);
	struct persist_op op = { .type = PERSIST_OP_DELETE, .collection = collection, .key = key };
	if ((ret = write_fallback(p, &op, 1, NULL, err)) != PERSIST_FAILOVER_USE_PRIMARY)
		return ret;
	if (p->batcher != NULL)
		return persist_batch_delete(p->batcher, collection, key, err);
	PERSIST_SINK_CALL(sink, ret,
		STATE_OPS(sink)->del(sink->store, collection, key, err));
	return write_outcome(p, sink, ret, &op, 1, NULL, err);
}

int persist_state_scan(persist *p, const char *collection, const char *prefix,
		       struct persist_entry **entries_r, size_t *n_r,
		       struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if ((ret = check_collection(p, collection, &sink, err)) != PERSIST_OK)
		return ret;
	if (entries_r == NULL || n_r == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"persist_state_scan: output pointer is NULL");
	if (prefix == NULL)
		prefix = "";
	if (prefix[0] != '\0' && (ret = persist_valid_key("prefix", prefix, err)) != PERSIST_OK)
		return ret;
	if (fallback_sink(p) != NULL)
		return persist_state_stored_scan(fallback_sink(p), collection, prefix,
						 entries_r, n_r, err);
	if (p->batcher != NULL)
		ret = persist_batch_scan(p->batcher, collection, prefix, entries_r, n_r, err);
	else
		ret = persist_state_stored_scan(sink, collection, prefix, entries_r, n_r, err);
	if (read_outage(p, ret, err))
		return persist_state_stored_scan(&STATE_FO(p)->fb, collection, prefix,
						 entries_r, n_r, err);
	return ret;
}

/* The provider's scan (sorted), without the write queue. */
int persist_state_stored_scan(struct persist_sink *sink, const char *collection,
			      const char *prefix, struct persist_entry **entries_r,
			      size_t *n_r, struct persist_error *err)
{
	struct persist_collector list = { .with_value = 1 };
	int ret;

	if (!PERSIST_OPS_HAS(sink, struct persist_state_ops, scan))
		return persist_not_supported(sink, "scan", err);
	PERSIST_SINK_CALL(sink, ret,
		STATE_OPS(sink)->scan(sink->store, collection, prefix,
				    persist_collect_entry, &list, err));
	ret = persist_provider_error(sink, ret, err);
	return persist_collect_finish(&list, ret, 1, entries_r, n_r, err);
}

int persist_state_incr(persist *p, const char *collection, const char *key,
		       int64_t delta, int64_t *value_r, struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if ((ret = check_ck(p, collection, key, &sink, err)) != PERSIST_OK)
		return ret;
	struct persist_op op = { .type = PERSIST_OP_INCR, .collection = collection, .key = key,
				 .delta = delta };
	if ((ret = write_fallback(p, &op, 1, value_r, err)) != PERSIST_FAILOVER_USE_PRIMARY)
		return ret;
	if (p->batcher != NULL)
		ret = persist_batch_incr(p->batcher, collection, key, delta, value_r, err);
	else
		ret = persist_state_stored_incr(sink, collection, key, delta, value_r, err);
	return write_outcome(p, sink, ret, &op, 1, value_r, err);
}

/* Add to a counter without the new value: queued with batching on. */
int persist_state_add(persist *p, const char *collection, const char *key,
		      int64_t delta, struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if ((ret = check_ck(p, collection, key, &sink, err)) != PERSIST_OK)
		return ret;
	if (!PERSIST_OPS_HAS(sink, struct persist_state_ops, incr))
		return persist_not_supported(sink, "incr", err);
	struct persist_op op = { .type = PERSIST_OP_INCR, .collection = collection, .key = key,
				 .delta = delta };
	if ((ret = write_fallback(p, &op, 1, NULL, err)) != PERSIST_FAILOVER_USE_PRIMARY)
		return ret;
	if (p->batcher != NULL)
		return persist_batch_add(p->batcher, collection, key, delta, err);
	ret = persist_state_stored_incr(sink, collection, key, delta, NULL, err);
	return write_outcome(p, sink, ret, &op, 1, NULL, err);
}

/* The provider's incr, without the write queue. */
int persist_state_stored_incr(struct persist_sink *sink, const char *collection,
			      const char *key, int64_t delta, int64_t *value_r,
			      struct persist_error *err)
{
	int64_t value = 0;
	int ret;

	if (!PERSIST_OPS_HAS(sink, struct persist_state_ops, incr))
		return persist_not_supported(sink, "incr", err);
	PERSIST_SINK_CALL(sink, ret,
		STATE_OPS(sink)->incr(sink->store, collection, key, delta, &value, err));
	if (ret != PERSIST_OK)
		return persist_provider_error(sink, ret, err);
	if (value_r != NULL)
		*value_r = value;
	return PERSIST_OK;
}

int persist_state_append(persist *p, const char *collection, const void *record,
			 size_t len, struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if ((ret = check_collection(p, collection, &sink, err)) != PERSIST_OK ||
	    (ret = persist_valid_value("record", record, len, err)) != PERSIST_OK)
		return ret;
	if (record == NULL || len == 0)
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"empty record for the log of collection \"%s\"", collection);
	if (!PERSIST_OPS_HAS(sink, struct persist_state_ops, append))
		return persist_not_supported(sink, "append", err);
	struct persist_op op = { .type = PERSIST_OP_APPEND, .collection = collection,
				 .value = record, .len = len };
	if ((ret = write_fallback(p, &op, 1, NULL, err)) != PERSIST_FAILOVER_USE_PRIMARY)
		return ret;
	if (p->batcher != NULL)
		return persist_batch_append(p->batcher, collection, record, len, err);
	PERSIST_SINK_CALL(sink, ret,
		STATE_OPS(sink)->append(sink->store, collection, record, len, err));
	return write_outcome(p, sink, ret, &op, 1, NULL, err);
}

static int can_trim(struct persist_sink *sink);

/* next_r of a read that returned nothing: from, or the log's next number
   when from is below it (everything from `from` on was trimmed away).
   Only a log that can be trimmed is asked; on a failure, from. */
static uint64_t read_log_empty_next(struct persist_sink *sink,
				    const char *collection, uint64_t from)
{
	struct persist_error err;
	uint64_t first = 0, next = 0;
	int ret;

	if (!can_trim(sink) ||
	    !PERSIST_OPS_HAS(sink, struct persist_state_ops, log_bounds))
		return from;
	PERSIST_SINK_CALL(sink, ret,
		STATE_OPS(sink)->log_bounds(sink->store, collection, &first,
					  &next, &err));
	return ret == PERSIST_OK && next > from ? next : from;
}

int persist_state_read_log(persist *p, const char *collection, uint64_t from,
			   size_t max, struct persist_entry **records_r,
			   size_t *n_r, uint64_t *next_r,
			   struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if ((ret = check_collection(p, collection, &sink, err)) != PERSIST_OK)
		return ret;
	if (records_r == NULL || n_r == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"persist_state_read_log: output pointer is NULL");
	if (fallback_sink(p) != NULL) {
		sink = fallback_sink(p);
		ret = persist_state_stored_read_log(sink, collection, from, max,
						    records_r, n_r, err);
	} else {
		if (p->batcher != NULL)
			ret = persist_batch_read_log(p->batcher, collection, from, max,
						     records_r, n_r, err);
		else
			ret = persist_state_stored_read_log(sink, collection, from, max,
							    records_r, n_r, err);
		if (read_outage(p, ret, err)) {
			sink = &STATE_FO(p)->fb;
			ret = persist_state_stored_read_log(sink, collection, from, max,
							    records_r, n_r, err);
		}
	}
	if (ret == PERSIST_OK && next_r != NULL)
		*next_r = *n_r > 0 ? (*records_r)[*n_r - 1].index + 1 :
			  read_log_empty_next(sink, collection, from);
	return ret;
}

/* The provider's read_log, without the write queue. */
int persist_state_stored_read_log(struct persist_sink *sink, const char *collection,
				  uint64_t from, size_t max,
				  struct persist_entry **records_r, size_t *n_r,
				  struct persist_error *err)
{
	struct persist_collector list = { .with_value = 1 };
	int ret;

	if (!PERSIST_OPS_HAS(sink, struct persist_state_ops, read_log))
		return persist_not_supported(sink, "read_log", err);
	PERSIST_SINK_CALL(sink, ret,
		STATE_OPS(sink)->read_log(sink->store, collection, from, max,
					persist_collect_entry, &list, err));
	ret = persist_provider_error(sink, ret, err);
	return persist_collect_finish(&list, ret, 0, records_r, n_r, err);
}

/* Check one batch op. */
static int check_op(const struct persist_op *op, size_t i, uint64_t caps,
		    struct persist_error *err)
{
	int ret;

	if ((ret = persist_valid_collection(op->collection, err)) != PERSIST_OK)
		goto bad;
	switch (op->type) {
	case PERSIST_OP_SET:
	case PERSIST_OP_INCR:
	case PERSIST_OP_DELETE:
		if ((ret = persist_valid_key("key", op->key, err)) != PERSIST_OK)
			goto bad;
		if (op->type == PERSIST_OP_SET &&
		    (ret = persist_valid_ttl(op->ttl_ms, "key", op->key, err)) != PERSIST_OK)
			goto bad;
		if (op->type == PERSIST_OP_SET && op->ttl_ms > 0 && (caps & PERSIST_CAP_TTL) == 0) {
			ret = persist_error_set(err, PERSIST_EINVAL, 0,
				"a TTL for key \"%s\" but the provider does not support TTLs",
				op->key);
			goto bad;
		}
		if (op->type == PERSIST_OP_SET &&
		    (ret = persist_valid_value("value", op->value, op->len, err)) != PERSIST_OK)
			goto bad;
		return PERSIST_OK;
	case PERSIST_OP_APPEND:
		if ((ret = persist_valid_value("record", op->value, op->len, err)) != PERSIST_OK)
			goto bad;
		if (op->value == NULL || op->len == 0) {
			ret = persist_error_set(err, PERSIST_EINVAL, 0, "empty record");
			goto bad;
		}
		return PERSIST_OK;
	default:
		ret = persist_error_set(err, PERSIST_EINVAL, 0, "unknown op type %d", (int)op->type);
		goto bad;
	}
bad:
	return persist_error_prefix(err, PERSIST_EINVAL,
		"batch operation %zu is invalid (nothing of the batch was applied)", i);
}

/* Apply one checked op with the provider's single-op method (no queue). */
int persist_state_apply_one(struct persist_sink *sink, const struct persist_op *op,
			    struct persist_error *err)
{
	const struct persist_state_ops *ops = STATE_OPS(sink);
	int64_t value;
	int ret;

	switch (op->type) {
	case PERSIST_OP_SET:
		if (!PERSIST_OPS_HAS(sink, struct persist_state_ops, set))
			return persist_not_supported(sink, "set", err);
		PERSIST_SINK_CALL(sink, ret, ops->set(sink->store, op->collection, op->key,
			op->value != NULL ? op->value : "", op->len, op->ttl_ms, err));
		break;
	case PERSIST_OP_INCR:
		return persist_state_stored_incr(sink, op->collection, op->key,
						 op->delta, &value, err);
	case PERSIST_OP_APPEND:
		if (!PERSIST_OPS_HAS(sink, struct persist_state_ops, append))
			return persist_not_supported(sink, "append", err);
		PERSIST_SINK_CALL(sink, ret, ops->append(sink->store, op->collection,
							 op->value, op->len, err));
		break;
	default:
		if (!PERSIST_OPS_HAS(sink, struct persist_state_ops, del))
			return persist_not_supported(sink, "delete", err);
		PERSIST_SINK_CALL(sink, ret, ops->del(sink->store, op->collection, op->key, err));
		if (ret == PERSIST_ENOTFOUND) {
			persist_error_clear(err);
			ret = PERSIST_OK;   /* deleting an absent key in a batch is fine */
		}
		break;
	}
	return persist_provider_error(sink, ret, err);
}

/* Apply ops one by one (provider without a batch method). */
static int batch_loop(struct persist_sink *sink, const struct persist_op *ops,
		      size_t n, struct persist_error *err)
{
	for (size_t i = 0; i < n; i++) {
		int ret = persist_state_apply_one(sink, &ops[i], err);

		if (ret != PERSIST_OK)
			return persist_error_prefix(err, (persist_status)ret,
				"batch operation %zu failed (the %zu before it were applied)", i, i);
	}
	return PERSIST_OK;
}

int persist_state_batch(persist *p, const struct persist_op *ops, size_t n,
			struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if ((ret = persist_sink_get(p, PERSIST_KIND_STATE, &sink, err)) != PERSIST_OK)
		return ret;
	if (ops == NULL && n > 0)
		return persist_error_set(err, PERSIST_EINVAL, 0, "batch operations are NULL");
	for (size_t i = 0; i < n; i++) {
		if ((ret = check_op(&ops[i], i, sink->caps, err)) != PERSIST_OK)
			return ret;
	}
	if (n == 0)
		return PERSIST_OK;
	if ((ret = write_fallback(p, ops, n, NULL, err)) != PERSIST_FAILOVER_USE_PRIMARY)
		return ret;
	if (p->batcher != NULL)
		return persist_batch_ops(p->batcher, ops, n, err);
	ret = persist_state_apply(sink, ops, n, err);
	/* a loop of single calls may have applied some: only a batch the
	   provider takes as one goes to the journal */
	if (ret == PERSIST_EUNAVAIL && n > 1 &&
	    !PERSIST_OPS_HAS(sink, struct persist_state_ops, batch)) {
		if (STATE_FO(p) != NULL)
			persist_failover_down(STATE_FO(p), ret, err);
		return ret;
	}
	return write_outcome(p, sink, ret, ops, n, NULL, err);
}

/* What persist_state_batch_once and _dated check before they send
   anything: the id, the output, the operations (and, dated, their write
   times); then the write queue is flushed, so what was queued before is
   stored first.  *sink_r: the state sink. */
static int once_begin(persist *p, const char *id, const struct persist_op *ops,
		      int dated, const int64_t *written_ms, size_t n,
		      int *applied_before_r, struct persist_sink **sink_r,
		      struct persist_error *err)
{
	const char *method = dated ? "batch_once_dated" : "batch_once";
	int64_t latest = persist_now_ms() + PERSIST_BATCH_ID_KEEP_MS;
	int ret;

	if ((ret = persist_sink_get(p, PERSIST_KIND_STATE, sink_r, err)) != PERSIST_OK)
		return ret;
	if (applied_before_r == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0, "applied_before_r is NULL");
	*applied_before_r = 0;
	if (!pc_batch_id_valid(id, PERSIST_BATCH_ID_MAX))
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"invalid batch id \"%.*s\"\n"
			"A batch id is 1 to %d characters of [A-Za-z0-9._:-].",
			id != NULL ? PERSIST_BATCH_ID_MAX : 0, id != NULL ? id : "",
			PERSIST_BATCH_ID_MAX - 1);
	if ((ops == NULL || (dated && written_ms == NULL)) && n > 0)
		return persist_error_set(err, PERSIST_EINVAL, 0, "batch %s NULL",
			ops == NULL ? "operations are" : "write times are");
	for (size_t i = 0; i < n; i++) {
		if ((ret = check_op(&ops[i], i, (*sink_r)->caps, err)) != PERSIST_OK)
			return ret;
		if (!dated ||
		    (ops[i].type != PERSIST_OP_SET && ops[i].type != PERSIST_OP_DELETE))
			continue;
		if (written_ms[i] <= 0 || written_ms[i] > latest)
			return persist_error_set(err, PERSIST_EINVAL, 0,
				"batch operation %zu (key \"%s\"): write time %" PRId64 " out of range\n"
				"A write time is in milliseconds since the epoch, at most a day "
				"ahead of this machine's clock.", i, ops[i].key, written_ms[i]);
	}
	if (dated ? !PERSIST_OPS_HAS(*sink_r, struct persist_state_ops, batch_once_dated)
		  : !PERSIST_OPS_HAS(*sink_r, struct persist_state_ops, batch_once))
		return persist_not_supported(*sink_r, method, err);
	if (n > 0 && p->batcher != NULL)
		return persist_batch_flush(p->batcher, err);
	return PERSIST_OK;
}

int persist_state_batch_once(persist *p, const char *id,
			     const struct persist_op *ops, size_t n,
			     int *applied_before_r, struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if ((ret = once_begin(p, id, ops, 0, NULL, n, applied_before_r, &sink, err)) != PERSIST_OK)
		return ret;
	if (n == 0)
		return PERSIST_OK;
	return persist_state_apply_once(sink, id, ops, n, applied_before_r, err);
}

int persist_state_batch_once_dated(persist *p, const char *id,
				   const struct persist_op *ops,
				   const int64_t *written_ms, size_t n,
				   int *applied_before_r, struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if ((ret = once_begin(p, id, ops, 1, written_ms, n, applied_before_r, &sink,
			      err)) != PERSIST_OK)
		return ret;
	if (n == 0)
		return PERSIST_OK;
	return persist_state_apply_dated(sink, id, ops, written_ms, n, applied_before_r, err);
}

/* Hand checked ops to the provider as one batch (its batch method, or a
   loop of single calls), without the write queue. */
int persist_state_apply(struct persist_sink *sink, const struct persist_op *ops,
			size_t n, struct persist_error *err)
{
	int ret;

	if (!PERSIST_OPS_HAS(sink, struct persist_state_ops, batch))
		return batch_loop(sink, ops, n, err);
	PERSIST_SINK_CALL(sink, ret,
		STATE_OPS(sink)->batch(sink->store, ops, n, sizeof(struct persist_op), err));
	return persist_provider_error(sink, ret, err);
}

/* Hand checked ops to the provider as one batch named id, applied at most
   once (its batch_once method); a provider without batch_once gets the
   batch as persist_state_apply gives it, and a retry of the same id may
   then apply it again (*applied_before_r is 0).
     id                the batch's name, [A-Za-z0-9._:-]{1,95}
     applied_before_r  1: the provider had applied this id before; nothing
                       was applied now */
int persist_state_apply_once(struct persist_sink *sink, const char *id,
			     const struct persist_op *ops, size_t n,
			     int *applied_before_r, struct persist_error *err)
{
	int ret;

	*applied_before_r = 0;
	if (!PERSIST_OPS_HAS(sink, struct persist_state_ops, batch_once))
		return persist_state_apply(sink, ops, n, err);
	PERSIST_SINK_CALL(sink, ret,
		STATE_OPS(sink)->batch_once(sink->store, id, ops, n, sizeof(struct persist_op),
					    applied_before_r, err));
	if (ret != PERSIST_OK)
		*applied_before_r = 0;
	return persist_provider_error(sink, ret, err);
}

/* Hand checked ops, made at written_ms, to the provider as one batch
   named id, applied at most once and each set or delete only if no later
   write of its key was applied (its batch_once_dated method); a provider
   without it gets the batch as persist_state_apply_once gives it, in
   order, the times unused.
     written_ms  when each op was made (ms since the epoch); read for sets
                 and deletes only; NULL: undated, as persist_state_apply_once */
int persist_state_apply_dated(struct persist_sink *sink, const char *id,
			      const struct persist_op *ops, const int64_t *written_ms,
			      size_t n, int *applied_before_r, struct persist_error *err)
{
	int ret;

	*applied_before_r = 0;
	if (written_ms == NULL ||
	    !PERSIST_OPS_HAS(sink, struct persist_state_ops, batch_once_dated))
		return persist_state_apply_once(sink, id, ops, n, applied_before_r, err);
	PERSIST_SINK_CALL(sink, ret,
		STATE_OPS(sink)->batch_once_dated(sink->store, id, ops, written_ms, n,
						  sizeof(struct persist_op), applied_before_r, err));
	if (ret != PERSIST_OK)
		*applied_before_r = 0;
	return persist_provider_error(sink, ret, err);
}

int persist_state_set_batch(persist *p, const char *collection,
			    const struct persist_kv *entries, size_t n,
			    struct persist_error *err)
{
	struct persist_sink *sink;
	struct persist_op *ops;
	int ret;

	if ((ret = check_collection(p, collection, &sink, err)) != PERSIST_OK)
		return ret;
	if (entries == NULL && n > 0)
		return persist_error_set(err, PERSIST_EINVAL, 0, "batch entries are NULL");
	if (n == 0)
		return PERSIST_OK;
	ops = calloc(n, sizeof(*ops));
	if (ops == NULL)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		ops[i].type = PERSIST_OP_SET;
		ops[i].collection = collection;
		ops[i].key = entries[i].key;
		ops[i].value = entries[i].value != NULL ? entries[i].value : (entries[i].len == 0 ? "" : NULL);
		ops[i].len = entries[i].len;
		ops[i].ttl_ms = entries[i].ttl_ms;
	}
	ret = persist_state_batch(p, ops, n, err);
	free(ops);
	return ret;
}

int persist_state_flush(persist *p, struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if ((ret = persist_sink_get(p, PERSIST_KIND_STATE, &sink, err)) != PERSIST_OK)
		return ret;
	if (p->batcher != NULL &&
	    (ret = persist_batch_flush(p->batcher, err)) != PERSIST_OK)
		return ret;
	/* while the primary is down, the journal is durable already */
	if (fallback_sink(p) != NULL)
		sink = fallback_sink(p);
	if (!PERSIST_OPS_HAS(sink, struct persist_state_ops, flush))
		return PERSIST_OK;   /* nothing pending that the core could flush */
	PERSIST_SINK_CALL(sink, ret, STATE_OPS(sink)->flush(sink->store, err));
	return persist_provider_error(sink, ret, err);
}

/* Counters of the write queue. */
int persist_state_stats(persist *p, struct persist_batch_stats *stats_r,
			struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if ((ret = persist_sink_get(p, PERSIST_KIND_STATE, &sink, err)) != PERSIST_OK)
		return ret;
	if (stats_r == NULL || stats_r->size < sizeof(stats_r->size) + sizeof(int))
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"persist_state_stats: stats_r is NULL or its size is too small");
	persist_batch_stats_get(p->batcher, stats_r);
	return PERSIST_OK;
}

/* Whether a provider's log can be trimmed (so it may not start at 0). */
static int can_trim(struct persist_sink *sink)
{
	return PERSIST_OPS_HAS(sink, struct persist_state_ops, trim_log);
}

/* Store what the write queue holds before an operation that works on
   the stored collection as a whole (drop, trim, bounds), so that no
   queued write lands after it or is missed by it. */
static int flush_queued(persist *p, struct persist_error *err)
{
	return p->batcher != NULL ? persist_batch_flush(p->batcher, err) : PERSIST_OK;
}

int persist_state_drop(persist *p, const char *collection,
		       struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if ((ret = check_collection(p, collection, &sink, err)) != PERSIST_OK)
		return ret;
	if ((ret = flush_queued(p, err)) != PERSIST_OK)
		return ret;
	if (fallback_sink(p) != NULL)
		return down_refused(p, "drop", collection, err);
	if (!PERSIST_OPS_HAS(sink, struct persist_state_ops, drop))
		return persist_not_supported(sink, "drop", err);
	PERSIST_SINK_CALL(sink, ret,
		STATE_OPS(sink)->drop(sink->store, collection, err));
	ret = persist_provider_error(sink, ret, err);
	if (STATE_FO(p) != NULL && persist_failover_outage(ret))
		persist_failover_down(STATE_FO(p), ret, err);
	return ret;
}

int persist_state_trim_log(persist *p, const char *collection, uint64_t before,
			   struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if ((ret = check_collection(p, collection, &sink, err)) != PERSIST_OK)
		return ret;
	if ((ret = flush_queued(p, err)) != PERSIST_OK)
		return ret;
	if (!can_trim(sink))
		return persist_not_supported(sink, "trim_log", err);
	if (before == 0)
		return PERSIST_OK;   /* nothing below record 0 */
	if (fallback_sink(p) != NULL)
		return down_refused(p, "trim the log of", collection, err);
	PERSIST_SINK_CALL(sink, ret,
		STATE_OPS(sink)->trim_log(sink->store, collection, before, err));
	ret = persist_provider_error(sink, ret, err);
	if (STATE_FO(p) != NULL && persist_failover_outage(ret))
		persist_failover_down(STATE_FO(p), ret, err);
	return ret;
}

/* emit for log_bounds_scan: the index of the one record asked for. */
static int note_index(void *ctx, const struct persist_item *item)
{
	uint64_t *index = ctx;

	*index = item->index;
	return 1;
}

/* Whether a record numbered `from` or later exists (*index_r: its
   number); through read_log(from, 1). */
static int log_probe(struct persist_sink *sink, const char *collection,
		     uint64_t from, int *found_r, uint64_t *index_r,
		     struct persist_error *err)
{
	uint64_t index = UINT64_MAX;
	int ret;

	PERSIST_SINK_CALL(sink, ret,
		STATE_OPS(sink)->read_log(sink->store, collection, from, 1,
					note_index, &index, err));
	if (ret != PERSIST_OK)
		return persist_provider_error(sink, ret, err);
	*found_r = index != UINT64_MAX;
	*index_r = index;
	return PERSIST_OK;
}

/* The bounds of a log through read_log alone (a provider without
   log_bounds): the first record's number, then a doubling and bisecting
   search for the first number with no record at or after it. */
static int log_bounds_scan(struct persist_sink *sink, const char *collection,
			   uint64_t *first_r, uint64_t *next_r,
			   struct persist_error *err)
{
	uint64_t lo, hi, index;
	int found, ret;

	if ((ret = log_probe(sink, collection, 0, &found, &index, err)) != PERSIST_OK)
		return ret;
	if (!found) {
		*first_r = *next_r = 0;
		return PERSIST_OK;
	}
	*first_r = index;
	/* records exist at lo; none at hi or later */
	lo = index;
	hi = index + 1;
	for (;;) {
		if ((ret = log_probe(sink, collection, hi, &found, &index, err)) != PERSIST_OK)
			return ret;
		if (!found)
			break;
		lo = index;
		if (index > UINT64_MAX / 2)
			return persist_error_set(err, PERSIST_EIO, 0,
				"log of collection \"%s\" has a record numbered %llu",
				collection, (unsigned long long)index);
		hi = index * 2 + 1;
	}
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		if ((ret = log_probe(sink, collection, mid, &found, &index, err)) != PERSIST_OK)
			return ret;
		if (found)
			lo = index >= mid ? index : mid;
		else
			hi = mid;
	}
	*next_r = hi;
	return PERSIST_OK;
}

int persist_state_log_bounds(persist *p, const char *collection,
			     uint64_t *first_r, uint64_t *next_r,
			     struct persist_error *err)
{
	struct persist_sink *sink;
	uint64_t first = 0, next = 0;
	int ret;

	if ((ret = check_collection(p, collection, &sink, err)) != PERSIST_OK)
		return ret;
	if ((ret = flush_queued(p, err)) != PERSIST_OK)
		return ret;
	if (fallback_sink(p) != NULL)
		sink = fallback_sink(p);   /* the fallback's log while the primary is down */
	if (PERSIST_OPS_HAS(sink, struct persist_state_ops, log_bounds)) {
		PERSIST_SINK_CALL(sink, ret,
			STATE_OPS(sink)->log_bounds(sink->store, collection,
						  &first, &next, err));
		if (ret != PERSIST_OK)
			return persist_provider_error(sink, ret, err);
		if (first > next)
			return persist_error_set(err, PERSIST_EIO, 0,
				"provider \"%s\" gave the log of collection \"%s\" "
				"bounds %llu..%llu\nThe first record cannot come "
				"after the next one.", sink->provider, collection,
				(unsigned long long)first, (unsigned long long)next);
	} else if (!PERSIST_OPS_HAS(sink, struct persist_state_ops, read_log)) {
		return persist_not_supported(sink, "read_log", err);
	} else if ((ret = log_bounds_scan(sink, collection, &first, &next, err)) != PERSIST_OK) {
		return ret;
	}
	if (first_r != NULL)
		*first_r = first;
	if (next_r != NULL)
		*next_r = next;
	return PERSIST_OK;
}

/* Each collection name once, whatever the provider emitted: the names are
   sorted, so drop each one equal to the one before. */
static void unique_names(struct persist_entry *names, size_t *n)
{
	size_t i, out = 0;

	for (i = 0; i < *n; i++) {
		if (out > 0 && strcmp(names[out - 1].key, names[i].key) == 0) {
			free(names[i].key);
			names[i].key = NULL;
			continue;
		}
		if (out != i) {
			names[out] = names[i];
			memset(&names[i], 0, sizeof(names[i]));
		}
		out++;
	}
	*n = out;
}

int persist_state_collections(persist *p, struct persist_entry **names_r,
			      size_t *n_r, struct persist_error *err)
{
	struct persist_collector list = { .with_value = 0 };
	struct persist_sink *sink;
	int ret;

	if ((ret = persist_sink_get(p, PERSIST_KIND_STATE, &sink, err)) != PERSIST_OK)
		return ret;
	if (names_r == NULL || n_r == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"persist_state_collections: output pointer is NULL");
	if ((ret = flush_queued(p, err)) != PERSIST_OK)
		return ret;
	if (fallback_sink(p) != NULL)
		sink = fallback_sink(p);
	if (!PERSIST_OPS_HAS(sink, struct persist_state_ops, collections))
		return persist_not_supported(sink, "collections", err);
	PERSIST_SINK_CALL(sink, ret,
		STATE_OPS(sink)->collections(sink->store, persist_collect_entry,
					     &list, err));
	ret = persist_provider_error(sink, ret, err);
	if ((ret = persist_collect_finish(&list, ret, 1, names_r, n_r, err)) != PERSIST_OK)
		return ret;
	unique_names(*names_r, n_r);
	return PERSIST_OK;
}
