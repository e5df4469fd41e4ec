/*
 * core/kind.h - everything the core knows about each kind of data, in one
 * table (core/kind.c): its words, its ops table in a descriptor, that
 * table's ABI 1.0 size and the methods its capabilities stand for.
 */
#ifndef PERSIST_CORE_KIND_H
#define PERSIST_CORE_KIND_H

#include <stddef.h>
#include <persist/plugin.h>

/* A capability that stands for a method: a table claiming `cap` must have
   `method` (a non-NULL slot at `offset` inside its size). */
struct persist_cap_method {
	uint64_t cap;        /* one PERSIST_CAP_* bit */
	const char *method;  /* the slot's name in the ops table, for messages */
	size_t offset;       /* offsetof() the slot in the kind's ops table */
};

/* One kind. */
struct persist_kind_info {
	enum persist_kind kind;
	/* The word in messages: "configuration", "state", "session". */
	const char *name;
	/* Its key in the configuration's "persistence" object (and what
	   persist_kind_name() answers): "configuration", "state", "sessions". */
	const char *key;
	/* Provider used when the configuration does not name one. */
	const char *default_provider;
	/* The least size of its ops table: the ABI 1.0 layout. */
	size_t ops_size_1_0;
	/* Its ops table in a descriptor (NULL when the plugin has none), read
	   through the header every kind's table starts with. */
	const struct persist_ops_header *(*ops)(const struct persist_plugin *desc);
	/* The capabilities that need a method of this kind's table, each
	   method once per capability; ends with { 0 }. */
	const struct persist_cap_method *cap_methods;
};

/* The entry of kind, or NULL when kind is not one of PERSIST_KIND_*. */
const struct persist_kind_info *persist_kind_get(enum persist_kind kind);

/* Every capability that needs a method of some kind's table (the union of
   all kinds' cap_methods). */
uint64_t persist_kind_method_caps(void);

#endif
