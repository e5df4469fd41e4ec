/*
 * core/collect.h - the listing collector (core/collect.c): a plugin's
 * persist_emit_fn calls collected into a struct persist_entry array.
 */
#ifndef PERSIST_CORE_COLLECT_H
#define PERSIST_CORE_COLLECT_H

#include <persist/persist.h>

/* A listing being collected from a plugin's persist_emit_fn calls. */
struct persist_collector {
	struct persist_entry *items;
	size_t n, cap;
	int oom;
	int with_value;   /* copy item->value too */
};
/* persist_emit_fn: append a copy of item to the collector ctx. */
int persist_collect_entry(void *ctx, const struct persist_item *item);
/* Finish a listing: on success sort (when asked) and hand the array over
   (never NULL, even when empty); on failure free it. */
int persist_collect_finish(struct persist_collector *list, int ret, int sorted,
			   struct persist_entry **items_r, size_t *n_r,
			   struct persist_error *err);

#endif
