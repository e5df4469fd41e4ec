/*
 * core/kind.c - the table of kinds: for configuration, state and sessions,
 * the words the core uses for them, where a descriptor holds their ops
 * table, how large that table was in ABI 1.0, and which capabilities
 * stand for which of its methods.  Every other file asks here instead of
 * keeping its own switch or array indexed by kind.
 */
#include "config.h"

#include <stddef.h>

#include "core-private.h"
#include "kind.h"

/* Size of a struct as ABI 1.0 laid it out: up to and including its last
   1.0 member.  These name the *1.0* last members on purpose: when later
   1.x headers grow the structs, the minimums a plugin must meet stay the
   1.0 sizes, so a plugin built against 1.0 keeps loading. */
#define SIZE_1_0(type, last) (offsetof(type, last) + sizeof(((type *)0)->last))

/* Every kind's ops table starts with the fields of struct
   persist_ops_header (PERSIST_OPS_HEADER; core/host.c checks the layouts
   agree at build time), so each may be read through it. */
static const struct persist_ops_header *config_ops(const struct persist_plugin *desc)
{
	return (const struct persist_ops_header *)(const void *)desc->config;
}
static const struct persist_ops_header *state_ops(const struct persist_plugin *desc)
{
	return (const struct persist_ops_header *)(const void *)desc->state;
}
static const struct persist_ops_header *session_ops(const struct persist_plugin *desc)
{
	return (const struct persist_ops_header *)(const void *)desc->session;
}

#define CAP_METHOD(cap, type, method) { cap, #method, offsetof(type, method) }

/* The map of include/persist/plugin.h ("Capabilities and their methods"). */
static const struct persist_cap_method config_cap_methods[] = {
	CAP_METHOD(PERSIST_CAP_TTL, struct persist_config_ops, set),
	CAP_METHOD(PERSIST_CAP_CAS, struct persist_config_ops, set),
	CAP_METHOD(PERSIST_CAP_CAS, struct persist_config_ops, del),
	{ 0, NULL, 0 }
};
static const struct persist_cap_method state_cap_methods[] = {
	CAP_METHOD(PERSIST_CAP_TTL, struct persist_state_ops, set),
	CAP_METHOD(PERSIST_CAP_ATOMIC_INCR, struct persist_state_ops, incr),
	CAP_METHOD(PERSIST_CAP_APPEND_LOG, struct persist_state_ops, append),
	CAP_METHOD(PERSIST_CAP_APPEND_LOG, struct persist_state_ops, read_log),
	CAP_METHOD(PERSIST_CAP_BATCH, struct persist_state_ops, batch),
	{ 0, NULL, 0 }
};
static const struct persist_cap_method session_cap_methods[] = {
	CAP_METHOD(PERSIST_CAP_TTL, struct persist_session_ops, put),
	CAP_METHOD(PERSIST_CAP_BROADCAST, struct persist_session_ops, broadcast),
	{ 0, NULL, 0 }
};

static const struct persist_kind_info kinds[PERSIST_KIND_COUNT_] = {
	[PERSIST_KIND_CONFIG] = {
		.kind = PERSIST_KIND_CONFIG,
		.name = "configuration",
		.key = "configuration",
		.default_provider = "filesystem",
		.ops_size_1_0 = SIZE_1_0(struct persist_config_ops, list),
		.ops = config_ops,
		.cap_methods = config_cap_methods,
	},
	[PERSIST_KIND_STATE] = {
		.kind = PERSIST_KIND_STATE,
		.name = "state",
		.key = "state",
		.default_provider = "filesystem",
		.ops_size_1_0 = SIZE_1_0(struct persist_state_ops, flush),
		.ops = state_ops,
		.cap_methods = state_cap_methods,
	},
	[PERSIST_KIND_SESSION] = {
		.kind = PERSIST_KIND_SESSION,
		.name = "session",
		.key = "sessions",
		.default_provider = "memory",
		.ops_size_1_0 = SIZE_1_0(struct persist_session_ops, send),
		.ops = session_ops,
		.cap_methods = session_cap_methods,
	},
};

/* The entry of kind, or NULL for a value outside the enum. */
const struct persist_kind_info *persist_kind_get(enum persist_kind kind)
{
	if ((unsigned)kind >= PERSIST_KIND_COUNT_)
		return NULL;
	return &kinds[kind];
}

/* Every capability some kind's table needs a method for. */
uint64_t persist_kind_method_caps(void)
{
	uint64_t caps = 0;

	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		for (const struct persist_cap_method *cm = kinds[k].cap_methods;
		     cm->cap != 0; cm++)
			caps |= cm->cap;
	}
	return caps;
}

/* Public: "configuration", "state" or "sessions", the key in the file. */
const char *persist_kind_name(enum persist_kind kind)
{
	const struct persist_kind_info *ki = persist_kind_get(kind);

	return ki != NULL ? ki->key : "unknown";
}
