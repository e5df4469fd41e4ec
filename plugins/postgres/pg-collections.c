/*
 * plugins/postgres/pg-collections.c - listing the collections of a state
 * store: the distinct collections of the live rows of kv (an expired row
 * does not count, whether or not the sweep has deleted it yet) and of the
 * records of log, in one statement, so the two tables are read in one
 * snapshot.  The log's head row alone (a log trimmed to nothing, whose
 * numbering is kept) is no record and does not count.  A drop deletes
 * every row of a collection in one transaction, so a dropped collection
 * is never listed, by any instance.
 */
#include "pg-private.h"

/* collections(): one statement, each name once (UNION), in order. */
int pg_state_collections(void *store, persist_emit_fn *emit, void *ctx,
			 struct persist_error *err)
{
	struct pg_store *st = store;
	PGresult *res = NULL;
	int ret;

	if (emit == NULL)
		return st->host->error(err, PERSIST_EINVAL, 0,
				       "state collections without a callback");
	ret = pg_exec(&st->pool, PS_STATE_COLLECTIONS, NULL, 0, &res,
		      "list of state collections", err);
	if (ret != PERSIST_OK)
		return ret;
	for (int i = 0; i < PQntuples(res); i++) {
		struct persist_item item = {
			.size = sizeof(item),
			.key = PQgetvalue(res, i, 0),
		};

		if (emit(ctx, &item) != 0)
			break;
	}
	PQclear(res);
	return PERSIST_OK;
}
