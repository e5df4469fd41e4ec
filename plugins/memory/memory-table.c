/*
 * plugins/memory/memory-table.c - the one data structure of the memory
 * provider: an intrusive, chained hash table keyed by NUL-terminated
 * strings.  Elements embed struct memory_entry; the table links and unlinks
 * them and owns only its bucket array, which doubles when the table holds
 * more elements than buckets.  Not thread-safe by itself: the namespace lock
 * guards every table.
 */
#include <stdlib.h>
#include <string.h>
#include "memory-private.h"

#define MEMORY_TABLE_MIN_BUCKETS 16

/* FNV-1a over the key's bytes: simple, and good enough for keys chosen by
   the application (this is not a defence against hash flooding). */
uint32_t memory_table_hash(const char *key)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return h;
}

/* The element with this key, or NULL. */
struct memory_entry *memory_table_find(const struct memory_table *table,
				       const char *key)
{
	uint32_t hash;
	struct memory_entry *e;

	if (table->n_buckets == 0)
		return NULL;
	hash = memory_table_hash(key);
	for (e = table->buckets[hash & (table->n_buckets - 1)]; e != NULL; e = e->next) {
		if (e->hash == hash && strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

/* Double the bucket array; on allocation failure keep the old one (longer
   chains are slower, never wrong). */
static void memory_table_grow(struct memory_table *table)
{
	size_t n = table->n_buckets * 2;
	struct memory_entry **buckets;

	if (n < table->n_buckets)
		return;
	buckets = calloc(n, sizeof(*buckets));
	if (buckets == NULL)
		return;
	for (size_t i = 0; i < table->n_buckets; i++) {
		struct memory_entry *e = table->buckets[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			e->next = buckets[e->hash & (n - 1)];
			buckets[e->hash & (n - 1)] = e;
		}
	}
	free(table->buckets);
	table->buckets = buckets;
	table->n_buckets = n;
}

/* Link an element whose key is not yet in the table. */
int memory_table_insert(struct memory_table *table, struct memory_entry *entry)
{
	size_t b;

	if (table->n_buckets == 0) {
		table->buckets = calloc(MEMORY_TABLE_MIN_BUCKETS, sizeof(*table->buckets));
		if (table->buckets == NULL)
			return -1;
		table->n_buckets = MEMORY_TABLE_MIN_BUCKETS;
	} else if (table->count >= table->n_buckets) {
		memory_table_grow(table);
	}
	entry->hash = memory_table_hash(entry->key);
	b = entry->hash & (table->n_buckets - 1);
	entry->next = table->buckets[b];
	table->buckets[b] = entry;
	table->count++;
	return 0;
}

/* Unlink an element that is in the table. */
void memory_table_remove(struct memory_table *table, struct memory_entry *entry)
{
	struct memory_entry **pp = &table->buckets[entry->hash & (table->n_buckets - 1)];

	while (*pp != entry)
		pp = &(*pp)->next;
	*pp = entry->next;
	entry->next = NULL;
	table->count--;
}

/* Start an iteration over every element, in no particular order. */
void memory_table_iter_init(struct memory_table_iter *iter,
			    const struct memory_table *table)
{
	iter->table = table;
	iter->bucket = 0;
	iter->next = table->n_buckets > 0 ? table->buckets[0] : NULL;
}

/* The next element, or NULL at the end.  The element returned may be
   removed (and freed) before the next call; no other may. */
struct memory_entry *memory_table_iter_next(struct memory_table_iter *iter)
{
	struct memory_entry *e;

	while (iter->next == NULL) {
		if (++iter->bucket >= iter->table->n_buckets)
			return NULL;
		iter->next = iter->table->buckets[iter->bucket];
	}
	e = iter->next;
	iter->next = e->next;
	return e;
}

/* Free the bucket array; the elements are the caller's to free first. */
void memory_table_deinit(struct memory_table *table)
{
	free(table->buckets);
	table->buckets = NULL;
	table->n_buckets = 0;
	table->count = 0;
}
