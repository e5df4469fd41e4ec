/*
 * core/cache.c - the configuration cache: a hash table (pc-table.c) of
 * documents (and of absences, so a missing key does not hit the backend on
 * every request) with the time each was read.
 *
 * An entry is fresh for cacheTTL after it was read and never past the
 * document's own expiry.  Invalidation (a provider's change notification,
 * or a write through this handle) bumps a generation counter; a reader
 * that fetched from the provider before the bump does not store its now
 * possibly stale copy.  One mutex guards the table: lookups are a hash, a
 * compare and a copy, far shorter than any provider call.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "core-private.h"
#include "pc-common.h"

/* Above this many entries the table is emptied rather than grown without
   bound (configuration sets are small; this only guards against a host
   asking for millions of distinct missing keys). */
#define CACHE_MAX_ENTRIES 65536

struct cache_entry {
	struct pc_table_entry entry; /* key, owned */
	char *data;             /* NULL: cached absence */
	size_t len;
	char etag[PERSIST_ETAG_MAX];
	int64_t fetched_us;     /* monotonic */
	int64_t expires_ms;     /* document expiry, wall clock; 0 = none */
};

struct persist_cache {
	pthread_mutex_t lock;
	int64_t ttl_us;
	uint64_t generation;
	struct pc_table table;  /* of struct cache_entry */
};

struct persist_cache *persist_cache_create(int64_t ttl_ms)
{
	struct persist_cache *cache = calloc(1, sizeof(*cache));

	if (cache == NULL)
		return NULL;
	/* in us, saturating: a cacheTTL is checked when the configuration is
	   read, but the cache does not rely on it */
	cache->ttl_us = ttl_ms <= 0 ? 0 : ttl_ms > INT64_MAX / 1000 ? INT64_MAX : ttl_ms * 1000;
	pthread_mutex_init(&cache->lock, NULL);
	return cache;
}

static void entry_free(struct cache_entry *e)
{
	free(e->entry.key);
	free(e->data);
	free(e);
}

/* Remove every entry (lock held). */
static void clear_locked(struct persist_cache *cache)
{
	struct pc_table_iter iter;
	struct pc_table_entry *e;

	pc_table_iter_init(&iter, &cache->table);
	while ((e = pc_table_iter_next(&iter)) != NULL)
		entry_free((struct cache_entry *)e);
	pc_table_clear(&cache->table);
}

void persist_cache_destroy(struct persist_cache *cache)
{
	if (cache == NULL)
		return;
	clear_locked(cache);
	pc_table_deinit(&cache->table);
	pthread_mutex_destroy(&cache->lock);
	free(cache);
}

int persist_cache_lookup(struct persist_cache *cache, const char *key,
			 int *found_r, char **data_r, size_t *len_r,
			 char etag_r[PERSIST_ETAG_MAX], int64_t *expires_ms_r)
{
	struct cache_entry *e;
	int64_t now_us = persist_monotonic_coarse_us();
	int ret = 0;

	pthread_mutex_lock(&cache->lock);
	e = (struct cache_entry *)pc_table_find(&cache->table, key);
	if (e != NULL && now_us - e->fetched_us < cache->ttl_us &&
	    (e->expires_ms == 0 || persist_now_ms() < e->expires_ms)) {
		*found_r = e->data != NULL;
		ret = 1;
		if (e->data != NULL) {
			if (data_r != NULL) {
				*data_r = pc_memdup0(e->data, e->len);
				if (*data_r == NULL)
					ret = -1;
			}
			if (len_r != NULL)
				*len_r = e->len;
			if (etag_r != NULL)
				memcpy(etag_r, e->etag, PERSIST_ETAG_MAX);
			if (expires_ms_r != NULL)
				*expires_ms_r = e->expires_ms;
		}
	}
	pthread_mutex_unlock(&cache->lock);
	return ret;
}

uint64_t persist_cache_generation(struct persist_cache *cache)
{
	uint64_t gen;

	pthread_mutex_lock(&cache->lock);
	gen = cache->generation;
	pthread_mutex_unlock(&cache->lock);
	return gen;
}

void persist_cache_store(struct persist_cache *cache, uint64_t gen,
			 const char *key, const void *data, size_t len,
			 const char *etag, int64_t expires_ms)
{
	struct cache_entry *e;
	char *copy = NULL;

	if (data != NULL && (copy = pc_memdup0(data, len)) == NULL)
		return;   /* not caching is always correct */
	pthread_mutex_lock(&cache->lock);
	if (gen != cache->generation) {
		pthread_mutex_unlock(&cache->lock);
		free(copy);
		return;
	}
	e = (struct cache_entry *)pc_table_find(&cache->table, key);
	if (e == NULL) {
		if (pc_table_count(&cache->table) >= CACHE_MAX_ENTRIES)
			clear_locked(cache);
		e = calloc(1, sizeof(*e));
		if (e == NULL || (e->entry.key = strdup(key)) == NULL ||
		    pc_table_insert(&cache->table, &e->entry) != 0) {
			if (e != NULL)
				free(e->entry.key);
			free(e);
			pthread_mutex_unlock(&cache->lock);
			free(copy);
			return;
		}
	}
	free(e->data);
	e->data = copy;
	e->len = len;
	snprintf(e->etag, sizeof(e->etag), "%s", etag != NULL ? etag : "");
	e->fetched_us = persist_monotonic_coarse_us();
	e->expires_ms = expires_ms;
	pthread_mutex_unlock(&cache->lock);
}

void persist_cache_invalidate(struct persist_cache *cache, const char *key)
{
	pthread_mutex_lock(&cache->lock);
	cache->generation++;
	if (key == NULL) {
		clear_locked(cache);
	} else {
		struct pc_table_entry *e = pc_table_find(&cache->table, key);
		if (e != NULL) {
			pc_table_remove(&cache->table, e);
			entry_free((struct cache_entry *)e);
		}
	}
	pthread_mutex_unlock(&cache->lock);
}
