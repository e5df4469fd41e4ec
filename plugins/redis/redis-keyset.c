/*
 * plugins/redis/redis-keyset.c - a set of byte strings, used to drop the
 * duplicates that SCAN, HSCAN and ZSCAN may return (Redis guarantees
 * every element present for the whole iteration at least once, not
 * exactly once).  Open addressing with linear probing, FNV-1a hashing;
 * it only grows, and lives for one listing.
 */
#include "redis-private.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a of the bytes. */
static size_t keyset_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return (size_t)h;
}

/* Double the table (or create it); false on ENOMEM. */
static bool keyset_grow(struct redis_keyset *set)
{
	size_t cap = set->cap != 0 ? set->cap * 2 : 64;
	char **slots = calloc(cap, sizeof(*slots));
	size_t *lens = calloc(cap, sizeof(*lens));

	if (slots == NULL || lens == NULL) {
		free(slots);
		free(lens);
		return false;
	}
	for (size_t i = 0; i < set->cap; i++) {
		size_t j;

		if (set->slots[i] == NULL)
			continue;
		j = keyset_hash(set->slots[i], set->lens[i]) & (cap - 1);
		while (slots[j] != NULL)
			j = (j + 1) & (cap - 1);
		slots[j] = set->slots[i];
		lens[j] = set->lens[i];
	}
	free(set->slots);
	free(set->lens);
	set->slots = slots;
	set->lens = lens;
	set->cap = cap;
	return true;
}

/* Add a copy of key: 1 added, 0 already there, -1 out of memory. */
int redis_keyset_add(struct redis_keyset *set, const char *key, size_t len)
{
	size_t j;
	char *copy;

	if ((set->count + 1) * 2 > set->cap && !keyset_grow(set))
		return -1;
	j = keyset_hash(key, len) & (set->cap - 1);
	while (set->slots[j] != NULL) {
		if (set->lens[j] == len && memcmp(set->slots[j], key, len) == 0)
			return 0;
		j = (j + 1) & (set->cap - 1);
	}
	copy = malloc(len + 1);
	if (copy == NULL)
		return -1;
	memcpy(copy, key, len);
	copy[len] = '\0';
	set->slots[j] = copy;
	set->lens[j] = len;
	set->count++;
	return 1;
}

/* Free every key and the table. */
void redis_keyset_free(struct redis_keyset *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->slots[i]);
	free(set->slots);
	free(set->lens);
	memset(set, 0, sizeof(*set));
}
