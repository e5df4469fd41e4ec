/*
 * plugins/memory/memory-times.c - when each key of a collection was last
 * set or deleted, for the last-writer-wins rule of batch_once_dated
 * (plugin.h, "Last writer wins").
 *
 * The times live beside the key space, in a table of their own, so a
 * key's time outlives the key: a delete, or a TTL that runs out, leaves
 * it behind and an older dated set cannot bring the key back.  A time
 * older than PERSIST_BATCH_ID_KEEP_MS may be forgotten: whenever the
 * table has doubled since its last sweep, such entries are freed, so it
 * holds about the keys written in the last day.  A collection is not
 * freed while it holds times; drop frees them with it.
 */
#include <stdlib.h>
#include "memory-private.h"

#define MEMORY_TIMES_SWEEP_MIN 64

/* The time entry of key, NULL when none. */
struct memory_time *memory_time_find(struct memory_collection *coll, const char *key)
{
	if (coll == NULL)
		return NULL;
	return (struct memory_time *)pc_table_find(&coll->times, key);
}

/* Free the entries older than what must be kept, once the table has
   doubled since the last sweep.  Never while a batch holds entries in
   its undo records: a dated write may be older than that, and its entry
   would be freed under it. */
void memory_times_sweep(struct memory_collection *coll, int64_t now_ms)
{
	struct pc_table_iter iter;
	struct pc_table_entry *e;

	if (coll->times.count < coll->times_sweep_at)
		return;
	pc_table_iter_init(&iter, &coll->times);
	while ((e = pc_table_iter_next(&iter)) != NULL) {
		struct memory_time *t = (struct memory_time *)e;

		if (t->ms < now_ms - PERSIST_BATCH_ID_KEEP_MS) {
			pc_table_remove(&coll->times, e);
			memory_time_free(t);
		}
	}
	coll->times_sweep_at = coll->times.count * 2 > MEMORY_TIMES_SWEEP_MIN ?
		coll->times.count * 2 : MEMORY_TIMES_SWEEP_MIN;
}

/* The time entry of key, made (at 0: no time yet) when there is none;
   NULL when out of memory. */
struct memory_time *memory_time_get(struct memory_collection *coll, const char *key)
{
	struct memory_time *t = memory_time_find(coll, key);

	if (t != NULL)
		return t;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->entry.key = pc_strdup(key)) == NULL ||
	    pc_table_insert(&coll->times, &t->entry) != 0) {
		memory_time_free(t);
		return NULL;
	}
	return t;
}

/* Free one entry (not linked any more). */
void memory_time_free(struct memory_time *t)
{
	if (t == NULL)
		return;
	free(t->entry.key);
	free(t);
}

/* Free every entry of the collection (it is being freed). */
void memory_times_free(struct memory_collection *coll)
{
	struct pc_table_iter iter;
	struct pc_table_entry *e;

	pc_table_iter_init(&iter, &coll->times);
	while ((e = pc_table_iter_next(&iter)) != NULL)
		memory_time_free((struct memory_time *)e);
	pc_table_deinit(&coll->times);
}
