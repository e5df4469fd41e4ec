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

#include "loader-private.h"

/* Size of a struct as ABI 1.0 laid it out: up to and including its last
   1.0 member.  These name the *1.0* last members on purpose: when later
   1.x headers grow the structs, the minimums a plugin must meet stay the
   1.0 sizes, so a plugin built against 1.0 keeps loading. */
#define SIZE_1_0(type, last) (offsetof(type, last) + sizeof(((type *)0)->last))
#define DESCRIPTOR_SIZE_1_0 SIZE_1_0(struct persist_plugin, session)
#define CONFIG_OPS_SIZE_1_0 SIZE_1_0(struct persist_config_ops, list)
#define STATE_OPS_SIZE_1_0 SIZE_1_0(struct persist_state_ops, flush)
#define SESSION_OPS_SIZE_1_0 SIZE_1_0(struct persist_session_ops, send)

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

/* Check that the plugin offers `kind` with a table at least as large as
   the ABI 1.0 one and the open/close every store needs. */
int persist_loader_check_kind(const struct persist_loaded_plugin *plugin,
			      enum persist_kind kind,
			      struct persist_error *err)
{
	const struct persist_plugin *desc;
	const void *table;
	size_t min;
	uint32_t size;
	int has_open_close;
	const char *what;
	static const char *const kind_word[PERSIST_KIND_COUNT_] = {
		[PERSIST_KIND_CONFIG] = "configuration",
		[PERSIST_KIND_STATE] = "state",
		[PERSIST_KIND_SESSION] = "session",
	};

	if (plugin == NULL || plugin->desc == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
					 "no plugin to check");
	desc = plugin->desc;
	switch (kind) {
	case PERSIST_KIND_CONFIG:
		table = desc->config;
		min = CONFIG_OPS_SIZE_1_0;
		size = table ? desc->config->size : 0;
		has_open_close = table && desc->config->open && desc->config->close;
		break;
	case PERSIST_KIND_STATE:
		table = desc->state;
		min = STATE_OPS_SIZE_1_0;
		size = table ? desc->state->size : 0;
		has_open_close = table && desc->state->open && desc->state->close;
		break;
	case PERSIST_KIND_SESSION:
		table = desc->session;
		min = SESSION_OPS_SIZE_1_0;
		size = table ? desc->session->size : 0;
		has_open_close = table && desc->session->open && desc->session->close;
		break;
	default:
		return persist_error_set(err, PERSIST_EINVAL, 0,
					 "unknown kind %d", (int)kind);
	}
	what = kind_word[kind];
	if (table == NULL)
		return persist_error_set(err, PERSIST_ENOIFACE, 0,
			"plugin \"%s\" (%s) has no %s interface", plugin->name,
			plugin->path, what);
	if (size < min)
		return persist_error_set(err, PERSIST_EDESCRIPTOR, 0,
			"plugin \"%s\" (%s): %s table is %u bytes, ABI 1.0 needs at least %zu",
			plugin->name, plugin->path, what, (unsigned)size, min);
	if (!has_open_close)
		return persist_error_set(err, PERSIST_EDESCRIPTOR, 0,
			"plugin \"%s\" (%s): %s table lacks open or close",
			plugin->name, plugin->path, what);
	return PERSIST_OK;
}
