/*
 * core/collect.c - the listing collector every API's listings share: it
 * turns the persist_emit_fn calls of a plugin's list, scan or read_log
 * into the struct persist_entry array the host gets, copying everything it
 * is handed (the plugin's pointers are valid only during each call), and
 * sorts the result by key when the listing promises an order.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "core-private.h"

/* persist_emit_fn collecting into a struct persist_collector (copies
   everything it is handed). */
int persist_collect_entry(void *ctx, const struct persist_item *item)
{
	struct persist_collector *list = ctx;
	struct persist_entry *e;

	if (item == NULL || (item->key == NULL && item->value == NULL))
		return 0;   /* nothing to list */
	if (list->n == list->cap) {
		size_t cap = list->cap == 0 ? 16 : list->cap * 2;
		struct persist_entry *bigger = realloc(list->items, cap * sizeof(*bigger));
		if (bigger == NULL) {
			list->oom = 1;
			return 1;
		}
		list->items = bigger;
		list->cap = cap;
	}
	e = &list->items[list->n];
	memset(e, 0, sizeof(*e));
	list->n++;
	if (item->key != NULL && (e->key = strdup(item->key)) == NULL) {
		list->oom = 1;
		return 1;
	}
	if (list->with_value && item->value != NULL) {
		e->value = persist_memdup0(item->value, item->len);
		e->len = item->len;
		if (e->value == NULL) {
			list->oom = 1;
			return 1;
		}
	}
	if (PERSIST_HAS(item, index))
		e->index = item->index;
	if (PERSIST_HAS(item, instance) && item->instance != NULL &&
	    (e->instance = strdup(item->instance)) == NULL) {
		list->oom = 1;
		return 1;
	}
	if (PERSIST_HAS(item, expires_ms))
		e->expires_ms = item->expires_ms;
	if (PERSIST_HAS(item, etag) && item->etag != NULL)
		snprintf(e->etag, sizeof(e->etag), "%s", item->etag);
	return 0;
}

/* Order entries by key (byte order). */
static int entry_cmp(const void *a, const void *b)
{
	const char *ka = ((const struct persist_entry *)a)->key;
	const char *kb = ((const struct persist_entry *)b)->key;

	return strcmp(ka != NULL ? ka : "", kb != NULL ? kb : "");
}

/* Finish a listing: sort, hand over, or free on failure. */
int persist_collect_finish(struct persist_collector *list, int ret, int sorted,
			   struct persist_entry **items_r, size_t *n_r,
			   struct persist_error *err)
{

	if (ret == PERSIST_OK && list->oom)
		ret = persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	if (ret != PERSIST_OK) {
		persist_items_free(list->items, list->n);
		return ret;
	}
	if (sorted && list->n > 1)
		qsort(list->items, list->n, sizeof(*list->items), entry_cmp);
	if (list->items == NULL)
		list->items = calloc(1, sizeof(*list->items));
	if (list->items == NULL)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	*items_r = list->items;
	*n_r = list->n;
	return PERSIST_OK;
}
