/*
 * plugins/common/test-pc-table.c - the hash table and the map of the
 * plugin support library: insert, find, remove, growth, iteration with
 * removal, many keys, keys that collide in a bucket, byte-string keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pc-table.h"
#include "cunit-suite.h"

struct item {
	struct pc_table_entry entry;
	int n;
	int seen;
};

/* A new item keyed "k<n>". */
static struct item *item_new(int n)
{
	struct item *it = calloc(1, sizeof(*it));
	char key[32];

	CU_ASSERT_FATAL(it != NULL);
	snprintf(key, sizeof(key), "k%d", n);
	it->entry.key = strdup(key);
	CU_ASSERT_FATAL(it->entry.key != NULL);
	it->n = n;
	return it;
}

static void item_free(struct item *it)
{
	free(it->entry.key);
	free(it);
}

/* Free every item of a table and the table. */
static void table_free_all(struct pc_table *t)
{
	struct pc_table_iter iter;
	struct pc_table_entry *e;

	pc_table_iter_init(&iter, t);
	while ((e = pc_table_iter_next(&iter)) != NULL) {
		pc_table_remove(t, e);
		item_free((struct item *)e);
	}
	CU_ASSERT_EQUAL(pc_table_count(t), 0);
	pc_table_deinit(t);
}

static void test_empty(void)
{
	struct pc_table t = { 0 };
	struct pc_table_iter iter;

	CU_ASSERT_PTR_NULL(pc_table_find(&t, "x"));
	CU_ASSERT_PTR_NULL(pc_table_find_n(&t, "x", 1));
	pc_table_iter_init(&iter, &t);
	CU_ASSERT_PTR_NULL(pc_table_iter_next(&iter));
	pc_table_clear(&t);
	pc_table_deinit(&t);
	CU_ASSERT_EQUAL(pc_table_count(&t), 0);
}

static void test_insert_find_remove(void)
{
	struct pc_table t = { 0 };
	struct item *a = item_new(1), *b = item_new(2);

	CU_ASSERT_EQUAL(pc_table_insert(&t, &a->entry), 0);
	CU_ASSERT_EQUAL(pc_table_insert(&t, &b->entry), 0);
	CU_ASSERT_EQUAL(pc_table_count(&t), 2);
	CU_ASSERT_PTR_EQUAL(pc_table_find(&t, "k1"), &a->entry);
	CU_ASSERT_PTR_EQUAL(pc_table_find(&t, "k2"), &b->entry);
	CU_ASSERT_PTR_EQUAL(pc_table_find_n(&t, "k2xyz", 2), &b->entry);
	CU_ASSERT_PTR_NULL(pc_table_find(&t, "k3"));
	CU_ASSERT_PTR_NULL(pc_table_find(&t, "k"));
	CU_ASSERT_PTR_NULL(pc_table_find(&t, "k12"));
	CU_ASSERT_EQUAL(a->entry.key_len, 2);
	pc_table_remove(&t, &a->entry);
	CU_ASSERT_EQUAL(pc_table_count(&t), 1);
	CU_ASSERT_PTR_NULL(pc_table_find(&t, "k1"));
	CU_ASSERT_PTR_EQUAL(pc_table_find(&t, "k2"), &b->entry);
	/* re-inserting a removed element works (the memory provider's
	   batch rollback relies on it) */
	CU_ASSERT_EQUAL(pc_table_insert(&t, &a->entry), 0);
	CU_ASSERT_PTR_EQUAL(pc_table_find(&t, "k1"), &a->entry);
	table_free_all(&t);
}

/* Insert items k0 .. k<n-1> into an empty table. */
static void table_fill(struct pc_table *t, int n)
{
	for (int i = 0; i < n; i++)
		CU_ASSERT_FATAL(pc_table_insert(t, &item_new(i)->entry) == 0);
	CU_ASSERT_EQUAL(pc_table_count(t), (size_t)n);
}

/* 100000 keys: the table grows, every key is still found once. */
static void test_many_keys_grow(void)
{
	enum { N = 100000 };
	struct pc_table t = { 0 };
	struct pc_table_iter iter;
	struct pc_table_entry *e;
	size_t visited = 0;

	table_fill(&t, N);
	CU_ASSERT(t.n_buckets >= N);
	CU_ASSERT_EQUAL(t.n_buckets & (t.n_buckets - 1), 0);
	for (int i = 0; i < N; i += 7) {
		char key[32];

		snprintf(key, sizeof(key), "k%d", i);
		e = pc_table_find(&t, key);
		CU_ASSERT_FATAL(e != NULL);
		CU_ASSERT_EQUAL(((struct item *)e)->n, i);
	}
	pc_table_iter_init(&iter, &t);
	while ((e = pc_table_iter_next(&iter)) != NULL) {
		struct item *it = (struct item *)e;

		CU_ASSERT_EQUAL(it->seen, 0);
		it->seen++;
		visited++;
	}
	CU_ASSERT_EQUAL(visited, N);
	table_free_all(&t);
}

/* Remove every other element while iterating: the rest is visited once. */
static void test_remove_while_iterating(void)
{
	enum { N = 1000 };
	struct pc_table t = { 0 };
	struct pc_table_iter iter;
	struct pc_table_entry *e;
	size_t visited = 0;

	table_fill(&t, N);
	pc_table_iter_init(&iter, &t);
	while ((e = pc_table_iter_next(&iter)) != NULL) {
		struct item *it = (struct item *)e;

		visited++;
		if (it->n % 2 == 0) {
			pc_table_remove(&t, e);
			item_free(it);
		}
	}
	CU_ASSERT_EQUAL(visited, N);
	CU_ASSERT_EQUAL(pc_table_count(&t), N / 2);
	CU_ASSERT_PTR_NULL(pc_table_find(&t, "k10"));
	CU_ASSERT_PTR_NOT_NULL(pc_table_find(&t, "k11"));
	table_free_all(&t);
}

/* Elements that share a bucket (forced: same hash) are still told apart
   by their keys, and removing one in the middle of a chain keeps the
   others. */
static void test_collisions(void)
{
	struct pc_table t = { 0 };
	struct item *it[4];

	for (int i = 0; i < 4; i++) {
		it[i] = item_new(i);
		CU_ASSERT_FATAL(pc_table_insert(&t, &it[i]->entry) == 0);
	}
	/* put all four in bucket 0 with one hash: a worst-case chain */
	for (size_t b = 0; b < t.n_buckets; b++)
		t.buckets[b] = NULL;
	for (int i = 0; i < 4; i++) {
		it[i]->entry.hash = 0;
		it[i]->entry.next = t.buckets[0];
		t.buckets[0] = &it[i]->entry;
	}
	/* find hashes the key again, so this forced chain is checked
	   through remove and iteration */
	pc_table_remove(&t, &it[2]->entry);
	CU_ASSERT_EQUAL(pc_table_count(&t), 3);
	{
		struct pc_table_iter iter;
		struct pc_table_entry *e;
		int mask = 0;

		pc_table_iter_init(&iter, &t);
		while ((e = pc_table_iter_next(&iter)) != NULL)
			mask |= 1 << ((struct item *)e)->n;
		CU_ASSERT_EQUAL(mask, 0x1 | 0x2 | 0x8);
	}
	item_free(it[2]);
	table_free_all(&t);
}

/* Real collisions: keys whose hashes agree in the bucket bits land in one
   chain; find still returns the right one. */
static void test_bucket_collisions(void)
{
	struct pc_table t = { 0 };
	struct item *first = item_new(0);
	size_t mask, want;
	int found = 0;

	CU_ASSERT_FATAL(pc_table_insert(&t, &first->entry) == 0);
	mask = t.n_buckets - 1;
	want = first->entry.hash & mask;
	for (int i = 1; i < 100000 && found < 8; i++) {
		char key[32];

		snprintf(key, sizeof(key), "k%d", i);
		if ((pc_hash(key, strlen(key)) & mask) != want)
			continue;
		CU_ASSERT_FATAL(pc_table_insert(&t, &item_new(i)->entry) == 0);
		found++;
	}
	CU_ASSERT_EQUAL(found, 8);
	CU_ASSERT_PTR_EQUAL(pc_table_find(&t, "k0"), &first->entry);
	{
		struct pc_table_iter iter;
		struct pc_table_entry *e;

		pc_table_iter_init(&iter, &t);
		while ((e = pc_table_iter_next(&iter)) != NULL)
			CU_ASSERT_PTR_EQUAL(pc_table_find(&t, e->key), e);
	}
	table_free_all(&t);
}

/* Byte-string keys with a NUL inside are distinct from their prefix. */
static void test_binary_keys(void)
{
	struct pc_map set = { 0 };

	CU_ASSERT_EQUAL(pc_map_add(&set, "a\0b", 3, NULL), 1);
	CU_ASSERT_EQUAL(pc_map_add(&set, "a", 1, NULL), 1);
	CU_ASSERT_EQUAL(pc_map_add(&set, "a\0b", 3, NULL), 0);
	CU_ASSERT_EQUAL(pc_map_add(&set, "a\0c", 3, NULL), 1);
	CU_ASSERT_EQUAL(pc_map_add(&set, "", 0, NULL), 1);
	CU_ASSERT_EQUAL(pc_map_add(&set, "", 0, NULL), 0);
	CU_ASSERT_EQUAL(pc_map_count(&set), 4);
	pc_map_deinit(&set);
	CU_ASSERT_EQUAL(pc_map_count(&set), 0);
}

static int freed;
static void count_free(void *value)
{
	freed++;
	free(value);
}

/* Remove the entries whose value is odd (pc_map_each visitor). */
static int del_odd(void *ctx, const char *key, void *value)
{
	struct pc_map *map = ctx;

	if (*(int *)value % 2 != 0)
		CU_ASSERT_EQUAL(pc_map_del(map, key), 0);
	return 0;
}

/* Stop at the entry "m5" (pc_map_each visitor). */
static int stop_at_5(void *ctx, const char *key, void *value)
{
	(void)ctx;
	(void)value;
	return strcmp(key, "m5") == 0 ? 42 : 0;
}

static void test_map(void)
{
	struct pc_map *map = pc_map_new(count_free);
	int *v;

	CU_ASSERT_FATAL(map != NULL);
	freed = 0;
	for (int i = 0; i < 50; i++) {
		char key[16];

		snprintf(key, sizeof(key), "m%d", i);
		v = malloc(sizeof(*v));
		CU_ASSERT_FATAL(v != NULL);
		*v = i;
		CU_ASSERT_EQUAL(pc_map_put(map, key, v), 0);
	}
	CU_ASSERT_EQUAL(pc_map_count(map), 50);
	CU_ASSERT_EQUAL(*(int *)pc_map_get(map, "m7"), 7);
	CU_ASSERT_PTR_NULL(pc_map_get(map, "m50"));
	/* replace: the old value is freed */
	v = malloc(sizeof(*v));
	CU_ASSERT_FATAL(v != NULL);
	*v = 701;
	CU_ASSERT_EQUAL(pc_map_put(map, "m7", v), 0);
	CU_ASSERT_EQUAL(freed, 1);
	CU_ASSERT_EQUAL(*(int *)pc_map_get(map, "m7"), 701);
	/* replacing with the same pointer frees nothing */
	CU_ASSERT_EQUAL(pc_map_put(map, "m7", v), 0);
	CU_ASSERT_EQUAL(freed, 1);
	/* add does not replace */
	CU_ASSERT_EQUAL(pc_map_add(map, "m7", 2, NULL), 0);
	CU_ASSERT_PTR_EQUAL(pc_map_get(map, "m7"), v);
	CU_ASSERT_EQUAL(pc_map_each(map, stop_at_5, NULL), 42);
	/* delete during the walk: the 25 odd values (m7 is now 701) */
	CU_ASSERT_EQUAL(pc_map_each(map, del_odd, map), 0);
	CU_ASSERT_EQUAL(pc_map_count(map), 25);
	CU_ASSERT_EQUAL(freed, 26);
	CU_ASSERT_PTR_NULL(pc_map_get(map, "m3"));
	CU_ASSERT_PTR_NOT_NULL(pc_map_get(map, "m4"));
	CU_ASSERT_EQUAL(pc_map_del(map, "m4"), 0);
	CU_ASSERT_EQUAL(pc_map_del(map, "m4"), -1);
	pc_map_clear(map);
	CU_ASSERT_EQUAL(pc_map_count(map), 0);
	CU_ASSERT_EQUAL(freed, 51);
	CU_ASSERT_EQUAL(pc_map_put(map, "again", NULL), 0);
	CU_ASSERT_EQUAL(pc_map_count(map), 1);
	pc_map_free(map);
	pc_map_free(NULL);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "empty table", test_empty },
		{ "insert, find, remove, re-insert", test_insert_find_remove },
		{ "100000 keys: growth and iteration", test_many_keys_grow },
		{ "remove while iterating", test_remove_while_iterating },
		{ "one chain: remove in the middle", test_collisions },
		{ "keys colliding in a bucket", test_bucket_collisions },
		{ "byte-string keys", test_binary_keys },
		{ "map: put, get, add, del, each, clear", test_map },
		{ NULL, NULL }
	};

	return t_cunit_run("pc-table", NULL, NULL, cases);
}
