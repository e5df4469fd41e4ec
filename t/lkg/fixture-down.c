/*
 * t/lkg/fixture-down.c - fixture_down, a test plugin whose configuration
 * store cannot be opened because its backend is down: open answers
 * PERSIST_EUNAVAIL, as a provider that connects at open would during an
 * outage.  With a last-known-good copy the core must still open the handle
 * and serve the copy (t/lkg/test-config-lkg.sh).  Its other methods are
 * never reached; they answer unavailable too.
 */
#include <string.h>
#include <persist/plugin.h>

static const struct persist_host *host;

static int down_init(const struct persist_host *h, void **plugin_r,
		     struct persist_error *err)
{
	(void)err;
	host = h;
	*plugin_r = NULL;
	return PERSIST_OK;
}

static void down_fini(void *plugin)
{
	(void)plugin;
}

/* The backend is down: nothing opens. */
static int down_open(void *plugin, const struct persist_store_args *args,
		     void **store_r, struct persist_error *err)
{
	(void)plugin; (void)args;
	*store_r = NULL;
	return host->error(err, PERSIST_EUNAVAIL, 0,
			   "fixture_down: cannot connect to its backend at open");
}

static void down_close(void *store)
{
	(void)store;
}

static int down_health(void *store, int64_t *latency_us_r, struct persist_error *err)
{
	(void)store; (void)latency_us_r;
	return host->error(err, PERSIST_EUNAVAIL, 0, "fixture_down: backend is down");
}

static int down_get(void *store, const char *key, struct persist_value *value_r,
		    struct persist_error *err)
{
	(void)key; (void)value_r;
	return down_health(store, NULL, err);
}

static const struct persist_config_ops down_config = {
	.size = sizeof(struct persist_config_ops),
	.caps = 0,
	.open = down_open,
	.close = down_close,
	.health = down_health,
	.get = down_get,
};

static const struct persist_plugin down_plugin = {
	PERSIST_PLUGIN_HEADER,
	.name = "fixture_down",
	.version = "0.1",
	.description = "test fixture: a configuration store whose backend is down at open",
	.init = down_init,
	.fini = down_fini,
	.config = &down_config,
};

/* The entry point. */
const struct persist_plugin *persist_plugin_entry_v1(void)
{
	return &down_plugin;
}
