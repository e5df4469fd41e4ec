/*
 * plugins/common/pc-table.c - the hash table (intrusive struct pc_table)
 * and the key -> value map built on it (struct pc_map); see pc-table.h.
 *
 * FNV-1a is simple and good enough for keys chosen by an application; it
 * is not a defence against hash flooding, which no caller needs (keys come
 * from the host, whose own input checks come first).
 */
#include <stdlib.h>
#include <string.h>
#include "pc-table.h"

#define PC_TABLE_MIN_BUCKETS 16

/* FNV-1a of len bytes. */
size_t pc_hash(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t h = PC_FNV_BASIS;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= PC_FNV_PRIME;
	}
	return h;
}

/* The element whose key is key[0..len), or NULL. */
struct pc_table_entry *pc_table_find_n(const struct pc_table *table,
				       const void *key, size_t len)
{
	return pc_table_lookup(table, key, len, pc_hash(key, len));
}

/* Double the bucket array; on allocation failure keep the old one. */
static void pc_table_grow(struct pc_table *table)
{
	size_t n = table->n_buckets * 2;
	struct pc_table_entry **buckets;

	if (n < table->n_buckets)
		return;
	buckets = calloc(n, sizeof(*buckets));
	if (buckets == NULL)
		return;
	for (size_t i = 0; i < table->n_buckets; i++) {
		struct pc_table_entry *e = table->buckets[i], *next;

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

/* Link an element whose hash and key_len are set. */
static int pc_table_link(struct pc_table *table, struct pc_table_entry *entry)
{
	size_t b;

	if (table->n_buckets == 0) {
		table->buckets = calloc(PC_TABLE_MIN_BUCKETS, sizeof(*table->buckets));
		if (table->buckets == NULL)
			return -1;
		table->n_buckets = PC_TABLE_MIN_BUCKETS;
	} else if (table->count >= table->n_buckets) {
		pc_table_grow(table);
	}
	b = entry->hash & (table->n_buckets - 1);
	entry->next = table->buckets[b];
	table->buckets[b] = entry;
	table->count++;
	return 0;
}

/* Link an element keyed by its NUL-terminated entry->key. */
int pc_table_insert(struct pc_table *table, struct pc_table_entry *entry)
{
	entry->hash = pc_hash_str(entry->key, &entry->key_len);
	return pc_table_link(table, entry);
}

/* Link an element keyed by entry->key[0..len). */
int pc_table_insert_n(struct pc_table *table, struct pc_table_entry *entry,
		      size_t len)
{
	entry->key_len = len;
	entry->hash = pc_hash(entry->key, len);
	return pc_table_link(table, entry);
}

/* Unlink an element that is in the table. */
void pc_table_remove(struct pc_table *table, struct pc_table_entry *entry)
{
	struct pc_table_entry **pp = &table->buckets[entry->hash & (table->n_buckets - 1)];

	while (*pp != entry)
		pp = &(*pp)->next;
	*pp = entry->next;
	entry->next = NULL;
	table->count--;
}

/* Start an iteration over every element. */
void pc_table_iter_init(struct pc_table_iter *iter, const struct pc_table *table)
{
	iter->table = table;
	iter->bucket = 0;
	iter->next = table->n_buckets > 0 ? table->buckets[0] : NULL;
}

/* The next element, or NULL at the end.  The next one is read before the
   current one is returned, so the caller may remove that. */
struct pc_table_entry *pc_table_iter_next(struct pc_table_iter *iter)
{
	struct pc_table_entry *e;

	while (iter->next == NULL) {
		if (iter->table->n_buckets == 0 ||
		    ++iter->bucket >= iter->table->n_buckets)
			return NULL;
		iter->next = iter->table->buckets[iter->bucket];
	}
	e = iter->next;
	iter->next = e->next;
	return e;
}

/* Unlink every element, keeping the buckets. */
void pc_table_clear(struct pc_table *table)
{
	if (table->n_buckets > 0)
		memset(table->buckets, 0, table->n_buckets * sizeof(*table->buckets));
	table->count = 0;
}

/* Free the buckets. */
void pc_table_deinit(struct pc_table *table)
{
	free(table->buckets);
	table->buckets = NULL;
	table->n_buckets = 0;
	table->count = 0;
}

/* ----------------------------------------------------------------------
 * The map: a node holds the entry, the value and a copy of the key.
 */
struct pc_map_node {
	struct pc_table_entry entry;
	void *value;
	char key[];
};

/* An empty map. */
struct pc_map *pc_map_new(pc_map_free_fn *free_value)
{
	struct pc_map *map = calloc(1, sizeof(*map));

	if (map != NULL)
		map->free_value = free_value;
	return map;
}

/* Free one node and its value. */
static void pc_map_node_free(struct pc_map *map, struct pc_map_node *node)
{
	if (map->free_value != NULL)
		map->free_value(node->value);
	free(node);
}

/* Remove every entry. */
void pc_map_clear(struct pc_map *map)
{
	struct pc_table_iter iter;
	struct pc_table_entry *e;

	pc_table_iter_init(&iter, &map->table);
	while ((e = pc_table_iter_next(&iter)) != NULL)
		pc_map_node_free(map, (struct pc_map_node *)e);
	pc_table_clear(&map->table);
}

/* Free everything in the map and its buckets. */
void pc_map_deinit(struct pc_map *map)
{
	pc_map_clear(map);
	pc_table_deinit(&map->table);
}

/* Free the map and everything in it. */
void pc_map_free(struct pc_map *map)
{
	if (map == NULL)
		return;
	pc_map_deinit(map);
	free(map);
}

/* The value of key, or NULL. */
void *pc_map_get(const struct pc_map *map, const char *key)
{
	struct pc_table_entry *e = pc_table_find(&map->table, key);

	return e == NULL ? NULL : ((struct pc_map_node *)e)->value;
}

/* A new node for key[0..len) linked into the map, or NULL. */
static struct pc_map_node *pc_map_link_new(struct pc_map *map, const void *key,
					   size_t len, void *value)
{
	struct pc_map_node *node;

	if (len > SIZE_MAX - sizeof(*node) - 1)
		return NULL;
	node = malloc(sizeof(*node) + len + 1);
	if (node == NULL)
		return NULL;
	memcpy(node->key, key, len);
	node->key[len] = '\0';
	node->entry.key = node->key;
	node->value = value;
	if (pc_table_insert_n(&map->table, &node->entry, len) != 0) {
		free(node);
		return NULL;
	}
	return node;
}

/* Insert or replace key's value. */
int pc_map_put(struct pc_map *map, const char *key, void *value)
{
	struct pc_map_node *node = (struct pc_map_node *)pc_table_find(&map->table, key);

	if (node != NULL) {
		if (map->free_value != NULL && node->value != value)
			map->free_value(node->value);
		node->value = value;
		return 0;
	}
	return pc_map_link_new(map, key, strlen(key), value) != NULL ? 0 : -1;
}

/* Insert key[0..len) unless present. */
int pc_map_add(struct pc_map *map, const void *key, size_t len, void *value)
{
	if (pc_table_find_n(&map->table, key, len) != NULL)
		return 0;
	return pc_map_link_new(map, key, len, value) != NULL ? 1 : -1;
}

/* Remove key. */
int pc_map_del(struct pc_map *map, const char *key)
{
	struct pc_table_entry *e = pc_table_find(&map->table, key);

	if (e == NULL)
		return -1;
	pc_table_remove(&map->table, e);
	pc_map_node_free(map, (struct pc_map_node *)e);
	return 0;
}

/* Number of entries. */
size_t pc_map_count(const struct pc_map *map)
{
	return map->table.count;
}

/* Visit every entry. */
int pc_map_each(const struct pc_map *map, pc_map_visit_fn *fn, void *ctx)
{
	struct pc_table_iter iter;
	struct pc_table_entry *e;

	pc_table_iter_init(&iter, &map->table);
	while ((e = pc_table_iter_next(&iter)) != NULL) {
		struct pc_map_node *node = (struct pc_map_node *)e;
		int ret = fn(ctx, node->key, node->value);

		if (ret != 0)
			return ret;
	}
	return 0;
}
