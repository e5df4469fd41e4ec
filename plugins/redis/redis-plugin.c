/*
 * plugins/redis/redis-plugin.c - the entry point of the redis provider:
 * its descriptor, init/fini and the three ops tables.
 *
 * The redis provider keeps configuration documents, state and sessions in
 * a Redis server shared by every instance of the host application, which
 * is what lets the platform run on several machines at once.  It speaks
 * to Redis through hiredis (a small pool of blocking connections per
 * store, plus one subscriber connection and thread for pub/sub) and
 * survives server restarts by itself: see redis-conn.c for what a call
 * answers during an outage and when a reply is lost.  The file list is in
 * redis-private.h; the key layout of each kind is at the top of
 * redis-state.c, redis-config.c and redis-session.c; the settings are in
 * redis-options.c.
 *
 * Capabilities, and why each holds:
 *   all kinds  TTL (PX/PEXPIRE on the server), THREADSAFE (connection
 *              pool), SHARED (one server for every instance)
 *   state      ATOMIC_INCR (HINCRBY/INCRBY on the server), APPEND_LOG
 *              (lists), BATCH (one MULTI/EXEC round trip)
 *   config     NOTIFY (pub/sub notices, cross-process), CAS (Lua script)
 *   sessions   BROADCAST (pub/sub, cross-process)
 * Not DURABLE: an acknowledged write is in the server's memory; whether it
 * survives a crash depends on the server's appendonly/appendfsync
 * settings, which the provider does not control.
 */
#include "redis-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* init(): once per process; keep the host table. */
static int redis_init(const struct persist_host *host, void **plugin_r,
		      struct persist_error *err)
{
	struct redis_plugin *plugin;

	if (pc_host_check(host, err) != PERSIST_OK)
		return PERSIST_EINIT;
	if (redis_scripts_init() != 0)
		return host->error(err, PERSIST_EINIT, 0,
				   "cannot compute the digests of its "
				   "Lua scripts (OpenSSL SHA1)");
	plugin = calloc(1, sizeof(*plugin));
	if (plugin == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory");
	plugin->host = host;
	*plugin_r = plugin;
	return PERSIST_OK;
}

/* fini(): after every store is closed. */
static void redis_fini(void *plugin)
{
	free(plugin);
}

/* open() of one kind: the common open, checking that the core asked for
   the kind of this table. */
static int open_kind(void *plugin, const struct persist_store_args *args,
		     enum persist_kind kind, void **store_r,
		     struct persist_error *err)
{
	struct redis_plugin *p = plugin;
	struct redis_store *st = NULL;
	int ret;

	if (args != NULL && PERSIST_HAS(args, kind) && args->kind != kind)
		return p->host->error(err, PERSIST_EINVAL, 0,
				      "a store of kind %d was opened "
				      "through the table of kind %d",
				      (int)args->kind, (int)kind);
	ret = redis_store_open(p, args, &st, err);
	if (ret == PERSIST_OK)
		*store_r = st;
	return ret;
}

/* open() of the configuration table. */
static int redis_open_config(void *plugin, const struct persist_store_args *args,
			     void **store_r, struct persist_error *err)
{
	return open_kind(plugin, args, PERSIST_KIND_CONFIG, store_r, err);
}

/* open() of the state table. */
static int redis_open_state(void *plugin, const struct persist_store_args *args,
			    void **store_r, struct persist_error *err)
{
	return open_kind(plugin, args, PERSIST_KIND_STATE, store_r, err);
}

/* open() of the session table. */
static int redis_open_session(void *plugin, const struct persist_store_args *args,
			      void **store_r, struct persist_error *err)
{
	return open_kind(plugin, args, PERSIST_KIND_SESSION, store_r, err);
}

/* close() of every table. */
static void redis_close(void *store)
{
	redis_store_close(store);
}

static const struct persist_config_ops redis_config_ops = {
	.size = sizeof(struct persist_config_ops),
	.caps = PERSIST_CAP_TTL | PERSIST_CAP_NOTIFY | PERSIST_CAP_THREADSAFE |
		PERSIST_CAP_CAS | PERSIST_CAP_SHARED,
	.open = redis_open_config,
	.close = redis_close,
	.health = redis_store_health,
	.get = redis_config_get,
	.set = redis_config_set,
	.del = redis_config_del,
	.list = redis_config_list,
};

static const struct persist_state_ops redis_state_ops = {
	.size = sizeof(struct persist_state_ops),
	.caps = PERSIST_CAP_TTL | PERSIST_CAP_ATOMIC_INCR |
		PERSIST_CAP_APPEND_LOG | PERSIST_CAP_BATCH |
		PERSIST_CAP_THREADSAFE | PERSIST_CAP_SHARED,
	.open = redis_open_state,
	.close = redis_close,
	.health = redis_store_health,
	.get = redis_state_get,
	.set = redis_state_set,
	.del = redis_state_del,
	.scan = redis_state_scan,
	.incr = redis_state_incr,
	.append = redis_state_append,
	.read_log = redis_state_read_log,
	.batch = redis_state_batch,
	.batch_once = redis_state_batch_once,
	.flush = redis_state_flush,
	.drop = redis_state_drop,
	.trim_log = redis_state_trim_log,
	.log_bounds = redis_state_log_bounds,
	.collections = redis_state_collections,
	.batch_once_dated = redis_state_batch_once_dated,
};

static const struct persist_session_ops redis_session_ops = {
	.size = sizeof(struct persist_session_ops),
	.caps = PERSIST_CAP_TTL | PERSIST_CAP_BROADCAST | PERSIST_CAP_THREADSAFE |
		PERSIST_CAP_SHARED,
	.open = redis_open_session,
	.close = redis_close,
	.health = redis_store_health,
	.put = redis_session_put,
	.drop = redis_session_drop,
	.list = redis_session_list,
	.broadcast = redis_session_broadcast,
	.send = redis_session_send,
};

/* The descriptor. */
static const struct persist_plugin redis_plugin_descriptor = {
	PERSIST_PLUGIN_HEADER,
	.name = "redis",
	.version = REDIS_PLUGIN_VERSION,
	.description = "Redis (hiredis): shared configuration, state and "
		       "sessions for several instances",
	.init = redis_init,
	.fini = redis_fini,
	.config = &redis_config_ops,
	.state = &redis_state_ops,
	.session = &redis_session_ops,
};

/* The one exported symbol. */
PERSIST_EXPORT const struct persist_plugin *persist_plugin_entry_v1(void)
{
	return &redis_plugin_descriptor;
}
