/*
 * plugins/memory/memory-plugin.c - the entry point of the memory provider:
 * its descriptor, init and fini.  Start here when writing a plugin.
 *
 * The memory provider keeps configuration documents, state and sessions in
 * the memory of the process.  Nothing survives the process, and other
 * processes see nothing of it; within the process, every store opened with
 * the same {"namespace": ...} shares one set of data, so several persist
 * handles behave like several instances on one backend.  It is the default
 * session provider of persist and the reference implementation of the
 * plugin ABI (include/persist/plugin.h):
 *
 *   memory-plugin.c     descriptor, ops tables, init, fini (this file)
 *   memory-namespace.c  config parsing, namespaces, stores, callbacks
 *   memory-config.c     configuration documents (ETag, CAS, TTL, notify)
 *   memory-state.c      collections: values, counters, logs, batches,
 *                       exactly-once batches (the ids applied)
 *   memory-times.c      the keys' write times, for last writer wins
 *   memory-session.c    sessions and events
 *
 * The hash table, string copies and the config reader come from the
 * plugin support library (plugins/common).
 *
 * Its config object has one optional key, "namespace" (a string, default
 * "default").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "memory-private.h"

/* init(): called once per process before any open; the plugin object
   holds the host table and the namespaces. */
static int memory_init(const struct persist_host *host, void **plugin_r,
		       struct persist_error *err)
{
	struct memory_plugin *plugin;

	if (pc_host_check(host, err) != PERSIST_OK)
		return PERSIST_EINIT;
	plugin = calloc(1, sizeof(*plugin));
	if (plugin == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory");
	if (pthread_mutex_init(&plugin->lock, NULL) != 0) {
		free(plugin);
		return host->error(err, PERSIST_EINIT, 0,
				   "cannot create a mutex");
	}
	plugin->host = host;
	*plugin_r = plugin;
	return PERSIST_OK;
}

/* fini(): called once after every store is closed. */
static void memory_fini(void *p)
{
	struct memory_plugin *plugin = p;

	if (plugin == NULL)
		return;
	memory_namespaces_free_all(plugin);
	pthread_mutex_destroy(&plugin->lock);
	free(plugin);
}

/* The configuration interface. */
static const struct persist_config_ops memory_config_ops = {
	.size = sizeof(struct persist_config_ops),
	.caps = PERSIST_CAP_TTL | PERSIST_CAP_NOTIFY | PERSIST_CAP_CAS |
		PERSIST_CAP_THREADSAFE,
	.open = memory_config_open,
	.close = memory_config_close,
	.health = memory_store_health,
	.get = memory_config_get,
	.set = memory_config_set,
	.del = memory_config_del,
	.list = memory_config_list,
};

/* The state interface. */
static const struct persist_state_ops memory_state_ops = {
	.size = sizeof(struct persist_state_ops),
	.caps = PERSIST_CAP_TTL | PERSIST_CAP_ATOMIC_INCR | PERSIST_CAP_APPEND_LOG |
		PERSIST_CAP_BATCH | PERSIST_CAP_THREADSAFE,
	.open = memory_state_open,
	.close = memory_state_close,
	.health = memory_store_health,
	.get = memory_state_get,
	.set = memory_state_set,
	.del = memory_state_del,
	.scan = memory_state_scan,
	.incr = memory_state_incr,
	.append = memory_state_append,
	.read_log = memory_state_read_log,
	.batch = memory_state_batch,
	.flush = memory_state_flush,
	.drop = memory_state_drop,
	.trim_log = memory_state_trim_log,
	.log_bounds = memory_state_log_bounds,
	.batch_once = memory_state_batch_once,
	.collections = memory_state_collections,
	.batch_once_dated = memory_state_batch_once_dated,
};

/* The session interface. */
static const struct persist_session_ops memory_session_ops = {
	.size = sizeof(struct persist_session_ops),
	.caps = PERSIST_CAP_TTL | PERSIST_CAP_THREADSAFE,
	.open = memory_session_open,
	.close = memory_session_close,
	.health = memory_store_health,
	.put = memory_session_put,
	.drop = memory_session_drop,
	.list = memory_session_list,
	.broadcast = memory_session_broadcast,
	.send = memory_session_send,
};

/* The descriptor: static, filled with designated initializers. */
static const struct persist_plugin memory_plugin_descriptor = {
	PERSIST_PLUGIN_HEADER,
	.name = "memory",
	.version = "1.4.0",
	.description = "in-process memory: configuration, state and sessions "
		       "(nothing persists; namespaces share data within a process)",
	.init = memory_init,
	.fini = memory_fini,
	.config = &memory_config_ops,
	.state = &memory_state_ops,
	.session = &memory_session_ops,
};

/* The one exported symbol. */
const struct persist_plugin *persist_plugin_entry_v1(void)
{
	return &memory_plugin_descriptor;
}
