/*
 * core/cache.c - the configuration cache: a chained hash table of
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

/* Above this many entries the table is emptied rather than grown without
   bound (configuration sets are small; this only guards against a host
   asking for millions of distinct missing keys). */
#define CACHE_MAX_ENTRIES 65536

struct cache_entry {
	struct cache_entry *next;
	uint64_t hash;
	char *key;
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
	struct cache_entry **buckets;
	size_t n_buckets, n_entries;
};

/* FNV-1a, 64 bit. */
static uint64_t hash_key(const char *key)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const unsigned char *s = (const unsigned char *)key; *s != '\0'; s++) {
		h ^= *s;
		h *= 0x100000001b3ull;
	}
	return h;
}

struct persist_cache *persist_cache_create(int64_t ttl_ms)
{
	struct persist_cache *cache = calloc(1, sizeof(*cache));

	if (cache == NULL)
		return NULL;
	cache->n_buckets = 256;
	cache->buckets = calloc(cache->n_buckets, sizeof(*cache->buckets));
	if (cache->buckets == NULL) {
		free(cache);
		return NULL;
	}
	/* in us, saturating: a cacheTTL is checked when the configuration is
	   read, but the cache does not rely on it */
	cache->ttl_us = ttl_ms <= 0 ? 0 : ttl_ms > INT64_MAX / 1000 ? INT64_MAX : ttl_ms * 1000;
	pthread_mutex_init(&cache->lock, NULL);
	return cache;
}

static void entry_free(struct cache_entry *e)
{
	free(e->key);
	free(e->data);
	free(e);
}

/* Remove every entry (lock held). */
static void clear_locked(struct persist_cache *cache)
{
	for (size_t i = 0; i < cache->n_buckets; i++) {
		struct cache_entry *e = cache->buckets[i], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			entry_free(e);
		}
		cache->buckets[i] = NULL;
	}
	cache->n_entries = 0;
}

void persist_cache_destroy(struct persist_cache *cache)
{
	if (cache == NULL)
		return;
	clear_locked(cache);
	free(cache->buckets);
	pthread_mutex_destroy(&cache->lock);
	free(cache);
}

/* Find key's entry (lock held); *link_r gets the pointer that points to it. */
static struct cache_entry *find_locked(struct persist_cache *cache, const char *key,
				       uint64_t hash, struct cache_entry ***link_r)
{
	struct cache_entry **link = &cache->buckets[hash & (cache->n_buckets - 1)];

	for (; *link != NULL; link = &(*link)->next) {
		if ((*link)->hash == hash && strcmp((*link)->key, key) == 0)
			break;
	}
	if (link_r != NULL)
		*link_r = link;
	return *link;
}

/* Double the bucket array when the table gets dense (lock held). */
static void grow_locked(struct persist_cache *cache)
{
	size_t n = cache->n_buckets * 2;
	struct cache_entry **buckets = calloc(n, sizeof(*buckets));

	if (buckets == NULL)
		return;   /* stay at the old size: slower, still correct */
	for (size_t i = 0; i < cache->n_buckets; i++) {
		struct cache_entry *e = cache->buckets[i], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			e->next = buckets[e->hash & (n - 1)];
			buckets[e->hash & (n - 1)] = e;
		}
	}
	free(cache->buckets);
	cache->buckets = buckets;
	cache->n_buckets = n;
}

int persist_cache_lookup(struct persist_cache *cache, const char *key,
			 int *found_r, char **data_r, size_t *len_r,
			 char etag_r[PERSIST_ETAG_MAX])
{
	uint64_t hash = hash_key(key);
	struct cache_entry *e;
	int64_t now_us = persist_monotonic_coarse_us();
	int ret = 0;

	pthread_mutex_lock(&cache->lock);
	e = find_locked(cache, key, hash, NULL);
	if (e != NULL && now_us - e->fetched_us < cache->ttl_us &&
	    (e->expires_ms == 0 || persist_now_ms() < e->expires_ms)) {
		*found_r = e->data != NULL;
		ret = 1;
		if (e->data != NULL) {
			if (data_r != NULL) {
				*data_r = persist_memdup0(e->data, e->len);
				if (*data_r == NULL)
					ret = -1;
			}
			if (len_r != NULL)
				*len_r = e->len;
			if (etag_r != NULL)
				memcpy(etag_r, e->etag, PERSIST_ETAG_MAX);
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
	uint64_t hash = hash_key(key);
	struct cache_entry *e, **link;
	char *copy = NULL;

	if (data != NULL && (copy = persist_memdup0(data, len)) == NULL)
		return;   /* not caching is always correct */
	pthread_mutex_lock(&cache->lock);
	if (gen != cache->generation) {
		pthread_mutex_unlock(&cache->lock);
		free(copy);
		return;
	}
	e = find_locked(cache, key, hash, &link);
	if (e == NULL) {
		if (cache->n_entries >= CACHE_MAX_ENTRIES)
			clear_locked(cache);
		else if (cache->n_entries >= cache->n_buckets)
			grow_locked(cache);
		e = calloc(1, sizeof(*e));
		if (e == NULL || (e->key = strdup(key)) == NULL) {
			free(e);
			pthread_mutex_unlock(&cache->lock);
			free(copy);
			return;
		}
		e->hash = hash;
		e->next = cache->buckets[hash & (cache->n_buckets - 1)];
		cache->buckets[hash & (cache->n_buckets - 1)] = e;
		cache->n_entries++;
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
		struct cache_entry **link;
		struct cache_entry *e = find_locked(cache, key, hash_key(key), &link);
		if (e != NULL) {
			*link = e->next;
			entry_free(e);
			cache->n_entries--;
		}
	}
	pthread_mutex_unlock(&cache->lock);
}
