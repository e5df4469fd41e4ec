/*
 * plugins/filesystem/fs-times.c - when each key of a collection was last
 * set or deleted, for the last-writer-wins rule of batch_once_dated
 * (plugin.h, "Last writer wins").
 *
 * A set or delete line of the key journal carries its time as "w" (ms
 * since the epoch); replaying the journal fills the replica's map of
 * times (struct fs_kv.times) beside its entries.  A delete's line, or an
 * expired entry's, leaves the time in the map after the entry is gone,
 * and compaction writes such a time back as a delete line with its "w",
 * for PERSIST_BATCH_ID_KEEP_MS, so the time outlives the key.  Lines
 * without "w" (counters, and journals written before this) date nothing.
 */
#include <stdlib.h>
#include "fs-private.h"

/* The key's recorded time, 0 when none. */
int64_t fs_kv_time(const struct fs_kv *kv, const char *key)
{
	const int64_t *t = pc_map_get(kv->times, key);

	return t != NULL ? *t : 0;
}

/* Record ms as the key's time; -1 when out of memory. */
int fs_kv_time_set(struct fs_kv *kv, const char *key, int64_t ms)
{
	int64_t *t = pc_map_get(kv->times, key);

	if (t != NULL) {
		*t = ms;
		return 0;
	}
	if ((t = malloc(sizeof(*t))) == NULL)
		return -1;
	*t = ms;
	if (pc_map_put(kv->times, key, t) < 0) {
		free(t);
		return -1;
	}
	return 0;
}

/* Rough size of the delete lines compaction writes for gone keys' times:
   part of what a compacted journal holds. */
uint64_t fs_kv_times_bytes(const struct fs_kv *kv)
{
	return (uint64_t)pc_map_count(kv->times) * 64;
}
