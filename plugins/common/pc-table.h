/*
 * plugins/common/pc-table.h - the one hash table of persist: byte-string
 * keys, separate chaining, FNV-1a, a power-of-two bucket array that
 * doubles when the table holds more elements than buckets.
 *
 * Two layers:
 *
 *   struct pc_table  intrusive: an element embeds a struct pc_table_entry
 *                    and owns its key; the table links and unlinks
 *                    elements and allocates nothing but its buckets.  The
 *                    memory provider's key spaces and the core's
 *                    configuration cache are built on it.
 *   struct pc_map    key -> void * value: the map copies each key, frees
 *                    values with the function it was created with, and
 *                    answers "added or already there" for a set.
 *
 * Neither locks: the owner does.  Both allow the element (or key) just
 * returned by an iteration to be removed before the next step.  The core
 * compiles this file too (it needs nothing outside libc).
 */
#ifndef PERSIST_PC_TABLE_H
#define PERSIST_PC_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* What an element embeds.  key and key_len are the element's (key stays
   valid while the element is in a table); next and hash are the table's. */
struct pc_table_entry {
	struct pc_table_entry *next;
	size_t hash;
	char *key;
	size_t key_len;
};

/* A table; all zeroes is an empty table (no buckets yet). */
struct pc_table {
	struct pc_table_entry **buckets;
	size_t n_buckets;       /* power of two, 0 before the first insert */
	size_t count;
};

/* A position in an iteration over a table. */
struct pc_table_iter {
	const struct pc_table *table;
	size_t bucket;
	struct pc_table_entry *next;
};

#if SIZE_MAX > 0xffffffffu
#define PC_FNV_BASIS ((size_t)0xcbf29ce484222325ull)
#define PC_FNV_PRIME ((size_t)0x100000001b3ull)
#else
#define PC_FNV_BASIS ((size_t)2166136261u)
#define PC_FNV_PRIME ((size_t)16777619u)
#endif

/* FNV-1a of len bytes. */
size_t pc_hash(const void *data, size_t len);

/* FNV-1a of a NUL-terminated key, and its length, in one pass. */
static inline size_t pc_hash_str(const char *key, size_t *len_r)
{
	const unsigned char *p = (const unsigned char *)key;
	size_t h = PC_FNV_BASIS;

	for (; *p != '\0'; p++) {
		h ^= *p;
		h *= PC_FNV_PRIME;
	}
	*len_r = (size_t)(p - (const unsigned char *)key);
	return h;
}

/* The element with this hash and key[0..len), or NULL. */
static inline struct pc_table_entry *pc_table_lookup(const struct pc_table *table,
						     const void *key, size_t len,
						     size_t hash)
{
	struct pc_table_entry *e;

	if (table->n_buckets == 0)
		return NULL;
	for (e = table->buckets[hash & (table->n_buckets - 1)]; e != NULL; e = e->next) {
		if (e->hash == hash && e->key_len == len &&
		    memcmp(e->key, key, len) == 0)
			return e;
	}
	return NULL;
}

/* The element whose key is the NUL-terminated key, or NULL.  Inline: the
   configuration cache looks a key up on every cached read. */
static inline struct pc_table_entry *pc_table_find(const struct pc_table *table,
						   const char *key)
{
	size_t len, hash = pc_hash_str(key, &len);

	return pc_table_lookup(table, key, len, hash);
}

/* The element whose key is key[0..len), or NULL. */
struct pc_table_entry *pc_table_find_n(const struct pc_table *table,
				       const void *key, size_t len);
/* Link entry, whose key (entry->key, NUL-terminated; or len bytes for the
   _n form) must not be in the table yet.  -1 only when the table has no
   buckets yet and they cannot be allocated: re-inserting an element that
   was removed from the same table never fails.  A failed growth keeps the
   old buckets (longer chains, never a wrong answer). */
int pc_table_insert(struct pc_table *table, struct pc_table_entry *entry);
int pc_table_insert_n(struct pc_table *table, struct pc_table_entry *entry,
		      size_t len);
/* Unlink an element that is in the table. */
void pc_table_remove(struct pc_table *table, struct pc_table_entry *entry);
/* Iterate over every element in no particular order; the element last
   returned may be removed (and freed) before the next call, no other. */
void pc_table_iter_init(struct pc_table_iter *iter, const struct pc_table *table);
struct pc_table_entry *pc_table_iter_next(struct pc_table_iter *iter);
/* Unlink every element at once (the caller has freed them or still
   holds them elsewhere); keeps the buckets. */
void pc_table_clear(struct pc_table *table);
/* Free the buckets; the table is empty and zero again. */
void pc_table_deinit(struct pc_table *table);
/* Number of elements. */
static inline size_t pc_table_count(const struct pc_table *table)
{
	return table->count;
}

/* ---------------------------------------------------------------------- */

typedef void pc_map_free_fn(void *value);

/* A map; all zeroes is an empty map whose values are not freed (a set of
   strings on the stack: `struct pc_map seen = { 0 };` ... pc_map_deinit). */
struct pc_map {
	struct pc_table table;  /* of the map's nodes */
	pc_map_free_fn *free_value;
};
/* Called for each entry; non-zero stops the walk and is returned. */
typedef int pc_map_visit_fn(void *ctx, const char *key, void *value);

/* An empty map whose values are released with free_value (may be NULL);
   NULL when out of memory. */
struct pc_map *pc_map_new(pc_map_free_fn *free_value);
/* Free the map, its keys and (with free_value) its values; NULL: no-op. */
void pc_map_free(struct pc_map *map);
/* Free what a map not made by pc_map_new holds; it is empty again. */
void pc_map_deinit(struct pc_map *map);
/* The value of key, or NULL (also for a key whose value is NULL). */
void *pc_map_get(const struct pc_map *map, const char *key);
/* Insert key or replace its value (the old one is freed unless it is the
   same pointer).  0, or -1 when out of memory (the map is unchanged and
   value is not freed). */
int pc_map_put(struct pc_map *map, const char *key, void *value);
/* Insert key[0..len) with value unless the key is there: 1 added, 0
   already present (value not stored), -1 out of memory.  A map used as a
   set of byte strings passes value NULL. */
int pc_map_add(struct pc_map *map, const void *key, size_t len, void *value);
/* Remove key (freeing its value): 0 when it was there, -1 when not. */
int pc_map_del(struct pc_map *map, const char *key);
/* Remove every entry, keeping the map. */
void pc_map_clear(struct pc_map *map);
size_t pc_map_count(const struct pc_map *map);
/* Call fn for each entry until it returns non-zero (returned); fn may
   pc_map_del the key it was given, nothing else. */
int pc_map_each(const struct pc_map *map, pc_map_visit_fn *fn, void *ctx);

#endif
