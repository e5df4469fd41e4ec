/*
 * plugins/postgres/pg-plugin.c - the entry point of the postgres provider:
 * its descriptor, init/fini and the three ops tables.
 *
 * The postgres provider keeps configuration documents, state and sessions
 * in tables of one schema of a PostgreSQL database (libpq), so they are
 * durable, shared by every instance of the host application, queryable
 * and backed up with the rest of the database.  Each store holds a small
 * pool of connections (pg-conn.c) and, for configuration and sessions, a
 * listening connection and thread for LISTEN/NOTIFY (pg-listen.c).  The
 * tables are described in pg-schema.c, the statements in pg-sql.c, the
 * settings in pg-options.c.
 *
 * Capabilities, and why each holds:
 *   all kinds  TTL (expires_at column, hidden at once, swept), THREADSAFE
 *              (connection pool), SHARED (one database for every
 *              instance), DURABLE (an acknowledged write is committed)
 *   state      ATOMIC_INCR (INSERT ... ON CONFLICT DO UPDATE on the
 *              server), APPEND_LOG (log table, numbered in the appending
 *              transaction), BATCH (one transaction in one pipelined round
 *              trip)
 *   config     NOTIFY (pg_notify in the changing transaction), CAS (one
 *              conditional statement)
 *   sessions   BROADCAST (NOTIFY, cross-process)
 * DURABLE holds as far as the server's own settings (fsync,
 * synchronous_commit) make a commit durable.
 */
#include "pg-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* init(): once per process; keep the host table. */
static int pg_init(const struct persist_host *host, void **plugin_r,
		   struct persist_error *err)
{
	struct pg_plugin *plugin;

	if (pc_host_check(host, err) != PERSIST_OK)
		return PERSIST_EINIT;
	if (PQisthreadsafe() == 0)
		return host->error(err, PERSIST_EINIT, 0,
				   "libpq was built without thread safety");
	plugin = calloc(1, sizeof(*plugin));
	if (plugin == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory");
	plugin->host = host;
	*plugin_r = plugin;
	return PERSIST_OK;
}

/* fini(): after every store is closed. */
static void pg_fini(void *plugin)
{
	free(plugin);
}

/* open() of one kind: the common open, checking that the core asked for
   the kind of this table. */
static int open_kind(void *plugin, const struct persist_store_args *args,
		     enum persist_kind kind, void **store_r,
		     struct persist_error *err)
{
	struct pg_plugin *p = plugin;
	struct pg_store *st = NULL;
	int ret;

	if (args != NULL && PERSIST_HAS(args, kind) && args->kind != kind)
		return p->host->error(err, PERSIST_EINVAL, 0,
				      "a store of kind %d was opened "
				      "through the table of kind %d",
				      (int)args->kind, (int)kind);
	ret = pg_store_open(p, args, &st, err);
	if (ret == PERSIST_OK)
		*store_r = st;
	return ret;
}

/* open() of the configuration table. */
static int pg_open_config(void *plugin, const struct persist_store_args *args,
			  void **store_r, struct persist_error *err)
{
	return open_kind(plugin, args, PERSIST_KIND_CONFIG, store_r, err);
}

/* open() of the state table. */
static int pg_open_state(void *plugin, const struct persist_store_args *args,
			 void **store_r, struct persist_error *err)
{
	return open_kind(plugin, args, PERSIST_KIND_STATE, store_r, err);
}

/* open() of the session table. */
static int pg_open_session(void *plugin, const struct persist_store_args *args,
			   void **store_r, struct persist_error *err)
{
	return open_kind(plugin, args, PERSIST_KIND_SESSION, store_r, err);
}

/* close() of every table. */
static void pg_close(void *store)
{
	pg_store_close(store);
}

static const struct persist_config_ops pg_config_ops = {
	.size = sizeof(struct persist_config_ops),
	.caps = PERSIST_CAP_TTL | PERSIST_CAP_NOTIFY | PERSIST_CAP_THREADSAFE |
		PERSIST_CAP_CAS | PERSIST_CAP_SHARED | PERSIST_CAP_DURABLE,
	.open = pg_open_config,
	.close = pg_close,
	.health = pg_store_health,
	.get = pg_config_get,
	.set = pg_config_set,
	.del = pg_config_del,
	.list = pg_config_list,
};

static const struct persist_state_ops pg_state_ops = {
	.size = sizeof(struct persist_state_ops),
	.caps = PERSIST_CAP_TTL | PERSIST_CAP_ATOMIC_INCR |
		PERSIST_CAP_APPEND_LOG | PERSIST_CAP_BATCH |
		PERSIST_CAP_THREADSAFE | PERSIST_CAP_SHARED | PERSIST_CAP_DURABLE,
	.open = pg_open_state,
	.close = pg_close,
	.health = pg_store_health,
	.get = pg_state_get,
	.set = pg_state_set,
	.del = pg_state_del,
	.scan = pg_state_scan,
	.incr = pg_state_incr,
	.append = pg_state_append,
	.read_log = pg_state_read_log,
	.batch = pg_state_batch,
	.batch_once = pg_state_batch_once,
	.flush = pg_state_flush,
	.drop = pg_state_drop,
	.trim_log = pg_state_trim_log,
	.log_bounds = pg_state_log_bounds,
	.collections = pg_state_collections,
	.batch_once_dated = pg_state_batch_once_dated,
};

static const struct persist_session_ops pg_session_ops = {
	.size = sizeof(struct persist_session_ops),
	.caps = PERSIST_CAP_TTL | PERSIST_CAP_BROADCAST | PERSIST_CAP_THREADSAFE |
		PERSIST_CAP_SHARED | PERSIST_CAP_DURABLE,
	.open = pg_open_session,
	.close = pg_close,
	.health = pg_store_health,
	.put = pg_session_put,
	.drop = pg_session_drop,
	.list = pg_session_list,
	.broadcast = pg_session_broadcast,
	.send = pg_session_send,
};

/* The descriptor. */
static const struct persist_plugin pg_plugin_descriptor = {
	PERSIST_PLUGIN_HEADER,
	.name = "postgres",
	.version = PG_PLUGIN_VERSION,
	.description = "PostgreSQL (libpq): durable shared configuration, state "
		       "and sessions",
	.init = pg_init,
	.fini = pg_fini,
	.config = &pg_config_ops,
	.state = &pg_state_ops,
	.session = &pg_session_ops,
};

/* The one exported symbol. */
PERSIST_EXPORT const struct persist_plugin *persist_plugin_entry_v1(void)
{
	return &pg_plugin_descriptor;
}
