/*
 * core/loader-descriptor.c - the checks of what a loaded plugin declares:
 * its descriptor (magic, ABI version, size, name, init) and each ops table
 * the configuration asks of it (present, at least its 1.0 size, open and
 * close).  Each failure has its own status code and a message naming the
 * file.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "kind.h"
#include "loader-private.h"

/* The size of the descriptor as ABI 1.0 laid it out, up to and including
   its last 1.0 member (session): later 1.x headers may grow the struct,
   but a plugin built against 1.0 keeps loading.  The ops tables' 1.0 sizes
   are in the kind table (core/kind.c). */
#define DESCRIPTOR_SIZE_1_0 \
	(offsetof(struct persist_plugin, session) + sizeof(((struct persist_plugin *)0)->session))

/* Check a descriptor against this core (after dlopen and dlsym), in order:
   NULL, magic, ABI major, ABI minor, size, name, init. */
int loader_check_descriptor(const struct persist_plugin *desc,
			    const char *path, const char *name,
			    struct persist_error *err)
{
	char show[80];

	if (desc == NULL)
		return persist_error_set(err, PERSIST_ENOENTRY, 0,
			"plugin %s: " PERSIST_PLUGIN_ENTRY_SYMBOL "() returned NULL",
			path);
	if (desc->magic != PERSIST_PLUGIN_MAGIC)
		return persist_error_set(err, PERSIST_EMAGIC, 0,
			"plugin %s: bad descriptor magic 0x%08x, expected 0x%08x\n"
			"The file is not a persist plugin, or it is damaged.",
			path, (unsigned)desc->magic, (unsigned)PERSIST_PLUGIN_MAGIC);
	if (desc->abi_major != PERSIST_ABI_MAJOR)
		return persist_error_set(err, PERSIST_EABI, 0,
			"plugin %s: built for ABI %u.%u, this core speaks %d.0-%d.%d\n"
			"Rebuild the plugin against persist %d.x headers.",
			path, (unsigned)desc->abi_major, (unsigned)desc->abi_minor,
			PERSIST_ABI_MAJOR, PERSIST_ABI_MAJOR, PERSIST_ABI_MINOR,
			PERSIST_ABI_MAJOR);
	if (desc->abi_minor > PERSIST_ABI_MINOR)
		return persist_error_set(err, PERSIST_EABINEWER, 0,
			"plugin %s: built for ABI %u.%u, this core speaks %d.0-%d.%d\n"
			"The plugin needs a newer libpersist.",
			path, (unsigned)desc->abi_major, (unsigned)desc->abi_minor,
			PERSIST_ABI_MAJOR, PERSIST_ABI_MAJOR, PERSIST_ABI_MINOR);
	if (desc->size < DESCRIPTOR_SIZE_1_0)
		return persist_error_set(err, PERSIST_EDESCRIPTOR, 0,
			"plugin %s: descriptor is %u bytes, ABI %u.%u needs at least %zu",
			path, (unsigned)desc->size, (unsigned)desc->abi_major,
			(unsigned)desc->abi_minor, (size_t)DESCRIPTOR_SIZE_1_0);
	if (desc->name == NULL)
		return persist_error_set(err, PERSIST_ENAME, 0,
			"plugin %s: declares no name, expected \"%s\"\n"
			"A plugin's file name must be its declared name plus .so.",
			path, name);
	if (strcmp(desc->name, name) != 0)
		return persist_error_set(err, PERSIST_ENAME, 0,
			"plugin %s: declares name \"%s\", expected \"%s\"\n"
			"A plugin's file name must be its declared name plus .so.",
			path, loader_printable(desc->name, show, sizeof(show)), name);
	if (desc->init == NULL)
		return persist_error_set(err, PERSIST_EINIT, 0,
			"plugin %s: has no init function", path);
	return PERSIST_OK;
}

/* True when the ops table (size bytes as built) has a non-NULL method in
   the slot at offset.  Every slot is a function pointer, all of one size
   and representation, so the slot is read as a generic one. */
static int has_method(const struct persist_ops_header *table, size_t offset)
{
	void (*fn)(void);

	if (table->size < offset + sizeof(fn))
		return 0;
	memcpy(&fn, (const char *)table + offset, sizeof(fn));
	return fn != NULL;
}

/* Every capability the table claims that stands for a method must come
   with that method (the map is in plugin.h and core/kind.c): a claim
   without it is refused naming the capability and the method. */
static int check_caps(const struct persist_loaded_plugin *plugin,
		      const struct persist_kind_info *ki,
		      const struct persist_ops_header *table,
		      struct persist_error *err)
{
	uint64_t own = 0, foreign;
	char cap[32];

	for (const struct persist_cap_method *cm = ki->cap_methods; cm->cap != 0; cm++) {
		own |= cm->cap;
		if ((table->caps & cm->cap) == 0 || has_method(table, cm->offset))
			continue;
		return persist_error_set(err, PERSIST_EDESCRIPTOR, 0,
			"plugin \"%s\" (%s): %s table claims \"%s\" but has no %s method\n"
			"A table claims a capability only with the methods it stands for.",
			plugin->name, plugin->path, ki->name,
			persist_caps_string(cm->cap, cap, sizeof(cap)), cm->method);
	}
	/* capabilities of other kinds' methods (batch on a configuration
	   table): this kind has no method that could honour them */
	foreign = table->caps & persist_kind_method_caps() & ~own;
	for (int k = 0; foreign != 0 && k < PERSIST_KIND_COUNT_; k++) {
		const struct persist_kind_info *other = persist_kind_get((enum persist_kind)k);

		for (const struct persist_cap_method *cm = other->cap_methods;
		     cm->cap != 0; cm++) {
			if ((foreign & cm->cap) == 0)
				continue;
			return persist_error_set(err, PERSIST_EDESCRIPTOR, 0,
				"plugin \"%s\" (%s): %s table claims \"%s\", a capability of %s tables only\n"
				"It stands for the %s method of a %s table; a %s table cannot claim it.",
				plugin->name, plugin->path, ki->name,
				persist_caps_string(cm->cap, cap, sizeof(cap)), other->name,
				cm->method, other->name, ki->name);
		}
	}
	return PERSIST_OK;
}

/* Check that the plugin offers `kind` with a table at least as large as
   the ABI 1.0 one, the open/close every store needs, and the method of
   every capability it claims. */
int persist_loader_check_kind(const struct persist_loaded_plugin *plugin,
			      enum persist_kind kind,
			      struct persist_error *err)
{
	const struct persist_kind_info *ki = persist_kind_get(kind);
	const struct persist_ops_header *table;

	if (plugin == NULL || plugin->desc == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
					 "no plugin to check");
	if (ki == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
					 "unknown kind %d", (int)kind);
	table = ki->ops(plugin->desc);
	if (table == NULL)
		return persist_error_set(err, PERSIST_ENOIFACE, 0,
			"plugin \"%s\" (%s) has no %s interface", plugin->name,
			plugin->path, ki->name);
	if (table->size < ki->ops_size_1_0)
		return persist_error_set(err, PERSIST_EDESCRIPTOR, 0,
			"plugin \"%s\" (%s): %s table is %u bytes, ABI 1.0 needs at least %zu",
			plugin->name, plugin->path, ki->name, (unsigned)table->size,
			ki->ops_size_1_0);
	if (table->open == NULL || table->close == NULL)
		return persist_error_set(err, PERSIST_EDESCRIPTOR, 0,
			"plugin \"%s\" (%s): %s table lacks open or close",
			plugin->name, plugin->path, ki->name);
	return check_caps(plugin, ki, table, err);
}
