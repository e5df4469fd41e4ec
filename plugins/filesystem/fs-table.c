/*
 * plugins/filesystem/fs-table.c - a string-keyed hash table with separate
 * chaining (FNV-1a hash, doubling at load 1).  It holds the keys of a
 * collection in memory, the open collections of a store, and the watcher's
 * last-known ETags.  Not thread-safe: its owner locks.
 */
#include <stdlib.h>
#include <string.h>
#include "fs-private.h"

struct fs_node {
	struct fs_node *next;
	uint64_t hash;
	void *value;
	char key[];
};

struct fs_table {
	struct fs_node **buckets;
	size_t n_buckets, count;
	fs_table_free_fn *free_value;
};

/* FNV-1a over the key. */
static uint64_t fs_hash(const char *key)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* An empty table; values are released with free_value (may be NULL). */
struct fs_table *fs_table_new(fs_table_free_fn *free_value)
{
	struct fs_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->n_buckets = 16;
	t->buckets = calloc(t->n_buckets, sizeof(*t->buckets));
	if (t->buckets == NULL) {
		free(t);
		return NULL;
	}
	t->free_value = free_value;
	return t;
}

/* Drop every entry, keeping the table. */
void fs_table_clear(struct fs_table *t)
{
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct fs_node *n = t->buckets[i], *next;

		for (; n != NULL; n = next) {
			next = n->next;
			if (t->free_value != NULL)
				t->free_value(n->value);
			free(n);
		}
		t->buckets[i] = NULL;
	}
	t->count = 0;
}

/* Free the table and its entries (NULL is a no-op). */
void fs_table_free(struct fs_table *t)
{
	if (t == NULL)
		return;
	fs_table_clear(t);
	free(t->buckets);
	free(t);
}

/* Find the node of key, or NULL. */
static struct fs_node *fs_table_find(const struct fs_table *t, const char *key,
				     uint64_t h)
{
	struct fs_node *n = t->buckets[h & (t->n_buckets - 1)];

	for (; n != NULL; n = n->next) {
		if (n->hash == h && strcmp(n->key, key) == 0)
			return n;
	}
	return NULL;
}

/* Value of key, or NULL. */
void *fs_table_get(const struct fs_table *t, const char *key)
{
	struct fs_node *n = fs_table_find(t, key, fs_hash(key));

	return n == NULL ? NULL : n->value;
}

/* Double the bucket array (best effort: a failure keeps the old one). */
static void fs_table_grow(struct fs_table *t)
{
	size_t nb = t->n_buckets * 2;
	struct fs_node **b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return;
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct fs_node *n = t->buckets[i], *next;

		for (; n != NULL; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->n_buckets = nb;
}

/* Insert or replace key's value. */
int fs_table_put(struct fs_table *t, const char *key, void *value)
{
	uint64_t h = fs_hash(key);
	struct fs_node *n = fs_table_find(t, key, h);
	size_t klen;

	if (n != NULL) {
		if (t->free_value != NULL && n->value != value)
			t->free_value(n->value);
		n->value = value;
		return 0;
	}
	klen = strlen(key);
	n = malloc(sizeof(*n) + klen + 1);
	if (n == NULL)
		return -1;
	memcpy(n->key, key, klen + 1);
	n->hash = h;
	n->value = value;
	n->next = t->buckets[h & (t->n_buckets - 1)];
	t->buckets[h & (t->n_buckets - 1)] = n;
	if (++t->count > t->n_buckets)
		fs_table_grow(t);
	return 0;
}

/* Remove key; 0 when it was there, -1 when not. */
int fs_table_del(struct fs_table *t, const char *key)
{
	uint64_t h = fs_hash(key);
	struct fs_node **pp = &t->buckets[h & (t->n_buckets - 1)];

	for (; *pp != NULL; pp = &(*pp)->next) {
		struct fs_node *n = *pp;

		if (n->hash == h && strcmp(n->key, key) == 0) {
			*pp = n->next;
			if (t->free_value != NULL)
				t->free_value(n->value);
			free(n);
			t->count--;
			return 0;
		}
	}
	return -1;
}

/* Number of entries. */
size_t fs_table_count(const struct fs_table *t)
{
	return t->count;
}

/* Call fn for each entry until it returns non-zero. */
int fs_table_each(const struct fs_table *t, fs_table_visit_fn *fn, void *ctx)
{
	for (size_t i = 0; i < t->n_buckets; i++) {
		for (struct fs_node *n = t->buckets[i]; n != NULL; n = n->next) {
			int ret = fn(ctx, n->key, n->value);
			if (ret != 0)
				return ret;
		}
	}
	return 0;
}
