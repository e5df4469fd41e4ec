/*
 * plugins/filesystem/fs-plugin.c - the filesystem provider's descriptor:
 * configuration documents and state on a local (or shared) directory,
 * correct when several processes share it and when any of them is killed.
 * No session table: sessions need a broker (memory, redis).
 *
 * Capabilities claimed, and why they hold:
 *   configuration: TTL (sidecars, fs-sidecar.c), NOTIFY (inotify thread,
 *     fs-watch.c), THREADSAFE (writers serialised by a mutex and an flock),
 *     DURABLE (temporary file, fsync, rename, fsync of the directory), CAS
 *     (if_match compared under the flock of ROOT/.lock), SHARED;
 *   state: TTL, ATOMIC_INCR (replay + write under an exclusive flock),
 *     APPEND_LOG, BATCH (one write and one fdatasync per file for a batch),
 *     THREADSAFE (per-collection mutexes around the flocks), DURABLE (every
 *     acknowledged write is in the kernel; see fs-fsync.c for "fsync"),
 *     SHARED.
 */
#include <stdlib.h>
#include "fs-private.h"

/* Called once per process: keep the host table. */
static int fs_init(const struct persist_host *host, void **plugin_r,
		   struct persist_error *err)
{
	struct fs_plugin *pl;

	if (pc_host_check(host, err) != PERSIST_OK)
		return PERSIST_EINIT;
	pl = calloc(1, sizeof(*pl));
	if (pl == NULL)
		return host->error(err, PERSIST_ENOMEM, 0, "out of memory");
	pl->host = host;
	*plugin_r = pl;
	return PERSIST_OK;
}

/* Called once at the end: every store is closed by then. */
static void fs_fini(void *plugin)
{
	free(plugin);
}

static const struct persist_config_ops fs_config_ops = {
	.size = sizeof(struct persist_config_ops),
	.caps = PERSIST_CAP_TTL | PERSIST_CAP_NOTIFY | PERSIST_CAP_THREADSAFE |
		PERSIST_CAP_DURABLE | PERSIST_CAP_CAS | PERSIST_CAP_SHARED,
	.open = fs_config_open,
	.close = fs_config_close,
	.health = fs_config_health,
	.get = fs_config_get,
	.set = fs_config_set,
	.del = fs_config_del,
	.list = fs_config_list,
};

static const struct persist_state_ops fs_state_ops = {
	.size = sizeof(struct persist_state_ops),
	.caps = PERSIST_CAP_TTL | PERSIST_CAP_ATOMIC_INCR |
		PERSIST_CAP_APPEND_LOG | PERSIST_CAP_BATCH |
		PERSIST_CAP_THREADSAFE | PERSIST_CAP_DURABLE |
		PERSIST_CAP_SHARED,
	.open = fs_state_open,
	.close = fs_state_close,
	.health = fs_state_health,
	.get = fs_state_get,
	.set = fs_state_set,
	.del = fs_state_del,
	.scan = fs_state_scan,
	.incr = fs_state_incr,
	.append = fs_state_append,
	.read_log = fs_state_read_log,
	.batch = fs_state_batch,
	.batch_once = fs_state_batch_once,
	.batch_once_dated = fs_state_batch_once_dated,
	.flush = fs_state_flush,
	.drop = fs_state_drop,
	.trim_log = fs_state_trim_log,
	.log_bounds = fs_state_log_bounds,
	.collections = fs_state_collections,
};

static const struct persist_plugin fs_plugin_descriptor = {
	PERSIST_PLUGIN_HEADER,
	.name = "filesystem",
	.version = "1.4.0",
	.description = "configuration and state in plain files (JSON, JSON Lines), safe across processes and crashes",
	.init = fs_init,
	.fini = fs_fini,
	.config = &fs_config_ops,
	.state = &fs_state_ops,
	.session = NULL,
};

/* The one exported symbol. */
const struct persist_plugin *persist_plugin_entry_v1(void)
{
	return &fs_plugin_descriptor;
}
