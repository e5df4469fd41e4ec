/*
 * core/cache.h - the configuration cache: documents (and absences) served
 * from memory within cacheTTL, dropped at once on a change notification.
 */
#ifndef PERSIST_CORE_CACHE_H
#define PERSIST_CORE_CACHE_H

#include <stdint.h>
#include <persist/persist.h>

struct persist_cache;

struct persist_cache *persist_cache_create(int64_t ttl_ms);
void persist_cache_destroy(struct persist_cache *cache);

/* Look key up.  Returns 1 on a fresh hit: *found_r is 1 with a copy of the
   document (data_r, may be NULL to skip the copy) and its ETag, or 0 for a
   cached absence.  Returns 0 on a miss, -1 when out of memory. */
int persist_cache_lookup(struct persist_cache *cache, const char *key,
			 int *found_r, char **data_r, size_t *len_r,
			 char etag_r[PERSIST_ETAG_MAX], int64_t *expires_ms_r);

/* The generation to pass to persist_cache_store after reading the
   provider: a store is ignored when an invalidation happened in between,
   so a slow reader never puts back a document a notification replaced. */
uint64_t persist_cache_generation(struct persist_cache *cache);

/* Remember key's document (data NULL: absent) read at generation gen;
   expires_ms is the document's own expiry (0: none). */
void persist_cache_store(struct persist_cache *cache, uint64_t gen,
			 const char *key, const void *data, size_t len,
			 const char *etag, int64_t expires_ms);

/* Forget key (NULL: everything). */
void persist_cache_invalidate(struct persist_cache *cache, const char *key);

#endif
