/*
 * plugins/filesystem/fs-counters.c - atomic increments.  Under the
 * collection's exclusive flock the replica first replays every line other
 * processes appended, so the increment starts from the true current value;
 * the journal line records the new value (not the delta).  Two processes
 * incrementing one key N times each therefore end at exactly 2N, and a
 * process killed after its write() but before returning has applied its
 * increment without acknowledging it (never the reverse).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <persist/persist.h>
#include "fs-private.h"

/* New counter value of cur (absent, expired, a counter or a decimal
   value) plus delta. */
int fs_counter_add(struct fs_state *st, const char *collection,
		   const char *key, const struct fs_entry *cur, int64_t delta,
		   int64_t *value_r, struct persist_error *err)
{
	int64_t base = 0;

	if (fs_entry_live(st, cur)) {
		if (cur->is_counter)
			base = cur->num;
		else if (persist_parse_counter(cur->data, cur->len, &base) < 0)
			return st->host->error(err, PERSIST_EINVAL, 0,
					       "cannot increment key \"%s\" in collection \"%s\"\nIts value is not a 64-bit decimal integer (no \"+\", spaces, leading zeros or \"-0\").",
					       key, collection);
	}
	if (__builtin_add_overflow(base, delta, value_r))
		return st->host->error(err, PERSIST_EINVAL, ERANGE,
				       "cannot increment key \"%s\" in collection \"%s\"\nThe counter would overflow.",
				       key, collection);
	return PERSIST_OK;
}

/* Add delta to a counter (created at 0); the new value to *value_r. */
int fs_state_incr(void *store, const char *collection, const char *key,
		  int64_t delta, int64_t *value_r, struct persist_error *err)
{
	struct fs_state *st = store;
	struct fs_entry *cur, *entry;
	struct fs_buf buf;
	struct fs_kv *kv;
	int64_t value;
	int ret, e;

	ret = fs_collection_check(st->host, collection, err);
	if (ret == PERSIST_OK)
		ret = fs_state_key_check(st->host, key, err);
	if (ret == PERSIST_OK)
		ret = fs_state_kv(st, collection, &kv, err);
	if (ret != PERSIST_OK)
		return ret;
	entry = calloc(1, sizeof(*entry));
	if (entry == NULL)
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	fs_buf_init(&buf);

	pthread_mutex_lock(&kv->mu);
	ret = fs_kv_lock(st, kv, 1, err);
	if (ret != PERSIST_OK)
		goto out;
	cur = pc_map_get(kv->table, key);
	ret = fs_counter_add(st, collection, key, cur, delta, &value, err);
	if (ret != PERSIST_OK)
		goto unlock;
	entry->is_counter = 1;
	entry->num = value;
	if (fs_entry_live(st, cur))
		entry->expires_ms = cur->expires_ms; /* an increment keeps the TTL */
	fs_kv_encode(&buf, key, entry, 0);
	fs_buf_addc(&buf, '\n');
	if (buf.failed) {
		ret = st->host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
		goto unlock;
	}
	ret = fs_kv_write(st, kv, buf.data, buf.len, err);
	if (ret != PERSIST_OK)
		goto unlock;
	if (fs_kv_apply(kv, key, entry) < 0)
		fs_kv_reset(kv);
	entry = NULL;
	if (st->opts.sync == FS_SYNC_ALWAYS) {
		e = fs_sync_data(kv->fd, st->opts.sync);
		if (e != 0)
			ret = st->host->error(err, PERSIST_EUNCERTAIN, e,
					      "cannot fsync journal of collection \"%s\": %s\nThe increment was done but may not be on disk.",
					      collection, strerror(e));
		else
			kv->dirty = 0;
	}
	fs_kv_maybe_compact(st, kv);
	if (ret == PERSIST_OK && value_r != NULL)
		*value_r = value;
unlock:
	fs_kv_unlock(kv);
out:
	pthread_mutex_unlock(&kv->mu);
	fs_entry_free(entry);
	fs_buf_free(&buf);
	return ret;
}
