/*
 * plugins/postgres/pg-state-drop.c - the two state operations that remove
 * a whole collection or the old part of its log:
 *
 *   drop      every key and every log record of a collection and the log's
 *             numbering, in one transaction: a reader sees all of it or
 *             none of it gone, and the next append is record 0, as on
 *             every provider.  The function doing it (drop_collection,
 *             pg-schema.c) locks the log's head row first, so an append
 *             racing the drop either lands before it (and is dropped) or
 *             after it (as record 0): no stale record is left to collide
 *             with a number given out again.
 *   log_bounds  the first kept record number and the next one.
 *   trim_log  the records numbered below `before`; the kept records keep
 *             their numbers and later appends go on from the log's next
 *             number.  A `before` past the next number is refused (the
 *             caller asked to remove records that do not exist yet), and
 *             nothing is removed.
 */
#include "pg-private.h"

#include <inttypes.h>
#include <stdint.h>

/* Refuse a call without a collection. */
static int no_collection(const struct pg_store *st, const char *op,
			 struct persist_error *err)
{
	return st->host->error(err, PERSIST_EINVAL, 0,
			       "%s: no collection given\n"
			       "The collection argument is NULL or empty.", op);
}

int pg_state_drop(void *store, const char *collection, struct persist_error *err)
{
	struct pg_store *st = store;
	struct pg_params p = { 0 };
	PGresult *res = NULL;
	int ret;

	if (collection == NULL || collection[0] == '\0')
		return no_collection(st, "drop", err);
	pg_param_str(&p, collection);
	ret = pg_exec(&st->pool, PS_STATE_DROP, &p, PG_WRITE, &res, "drop", err);
	if (ret != PERSIST_OK)
		return ret;
	PQclear(res);
	return PERSIST_OK;
}

int pg_state_trim_log(void *store, const char *collection, uint64_t before,
		      struct persist_error *err)
{
	struct pg_store *st = store;
	struct pg_params p = { 0 };
	PGresult *res = NULL;
	char b[24];
	uint64_t next;
	int ret;

	if (collection == NULL || collection[0] == '\0')
		return no_collection(st, "trim_log", err);
	if (before == 0)
		return PERSIST_OK;
	pg_param_str(&p, collection);
	/* past INT64_MAX is past any next number: the statement removes
	   nothing and answers that number for the message */
	pg_param_i64(&p, b, before > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)before);
	ret = pg_exec(&st->pool, PS_STATE_TRIM_LOG, &p, PG_WRITE, &res, "trim_log", err);
	if (ret != PERSIST_OK)
		return ret;
	if (PQntuples(res) != 1 || PQgetlength(res, 0, 0) != 8) {
		PQclear(res);
		return st->host->error(err, PERSIST_ECORRUPT, 0,
				       "trim_log of collection \"%s\": "
				       "the server answered something that is not a number",
				       collection);
	}
	next = (uint64_t)pg_get_i64(res, 0, 0);
	PQclear(res);
	if (before > next)
		return st->host->error(err, PERSIST_EINVAL, 0,
				       "cannot trim the log of collection "
				       "\"%s\" up to record %" PRIu64 "\n"
				       "Its next record number is %" PRIu64 "; nothing was "
				       "trimmed.", collection, before, next);
	return PERSIST_OK;
}

int pg_state_log_bounds(void *store, const char *collection, uint64_t *first_r,
			uint64_t *next_r, struct persist_error *err)
{
	struct pg_store *st = store;
	struct pg_params p = { 0 };
	PGresult *res = NULL;
	int ret;

	if (collection == NULL || collection[0] == '\0')
		return no_collection(st, "log_bounds", err);
	pg_param_str(&p, collection);
	ret = pg_exec(&st->pool, PS_STATE_LOG_BOUNDS, &p, 0, &res, "log_bounds", err);
	if (ret != PERSIST_OK)
		return ret;
	if (PQntuples(res) != 1 || PQgetlength(res, 0, 0) != 8 ||
	    PQgetlength(res, 0, 1) != 8) {
		PQclear(res);
		return st->host->error(err, PERSIST_ECORRUPT, 0,
				       "log_bounds of collection \"%s\": "
				       "the server answered something that is not a number",
				       collection);
	}
	if (first_r != NULL)
		*first_r = (uint64_t)pg_get_i64(res, 0, 0);
	if (next_r != NULL)
		*next_r = (uint64_t)pg_get_i64(res, 0, 1);
	PQclear(res);
	return PERSIST_OK;
}
