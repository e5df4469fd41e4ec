/*
 * t/plugins/fixture-frozen10.c - fixture_frozen10, a plugin built against
 * the FROZEN copy of the ABI 1.0 headers in t/plugins/frozen-1.0/ (its
 * Makefile rule puts that directory, not include/, on the include path).
 *
 * It stands for a third-party plugin compiled once against persist 1.0 and
 * never rebuilt: every later 1.x core must keep loading it, and a method it
 * does not provide must answer PERSIST_ENOTSUP through the host API rather
 * than crash.  So its descriptor and state table carry the 1.0 sizes (as
 * built), and it implements only get and set: del, scan, incr, append,
 * read_log, batch and flush are NULL.  When a later core adds methods to
 * the table, they lie beyond this table's size and must be answered
 * without calling in here.
 *
 * Never "fix" this file or the frozen headers to match newer ones.
 */
#include <stdlib.h>
#include <string.h>
#include <persist/plugin.h>

static const struct persist_host *host;

/* One key of the store. */
struct item {
	struct item *next;
	char *collection, *key, *data;
	size_t len;
};

struct store {
	struct item *items;
};

/* Remember the host table. */
static int frozen_init(const struct persist_host *h, void **plugin_r,
		       struct persist_error *err)
{
	host = h;
	*plugin_r = NULL;
	return PERSIST_OK;
}

/* Nothing to undo. */
static void frozen_fini(void *plugin)
{
	(void)plugin;
}

/* A new, empty store. */
static int frozen_open(void *plugin, const struct persist_store_args *args,
		       void **store_r, struct persist_error *err)
{
	struct store *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return host->error(err, PERSIST_ENOMEM, 0,
				   "fixture_frozen10: out of memory");
	*store_r = st;
	return PERSIST_OK;
}

/* Free the store. */
static void frozen_close(void *store)
{
	struct store *st = store;
	struct item *it, *next;

	for (it = st->items; it != NULL; it = next) {
		next = it->next;
		free(it->collection);
		free(it->key);
		free(it->data);
		free(it);
	}
	free(st);
}

/* Always healthy. */
static int frozen_health(void *store, int64_t *latency_us_r,
			 struct persist_error *err)
{
	*latency_us_r = 0;
	return PERSIST_OK;
}

/* The item for (collection, key), or NULL. */
static struct item *lookup(struct store *st, const char *collection,
			   const char *key)
{
	for (struct item *it = st->items; it != NULL; it = it->next) {
		if (strcmp(it->collection, collection) == 0 &&
		    strcmp(it->key, key) == 0)
			return it;
	}
	return NULL;
}

/* Copy of a value in host memory. */
static int frozen_get(void *store, const char *collection, const char *key,
		      struct persist_value *value_r, struct persist_error *err)
{
	struct item *it = lookup(store, collection, key);
	char *copy;

	if (it == NULL)
		return host->error(err, PERSIST_ENOTFOUND, 0,
				   "fixture_frozen10: no key \"%s\"", key);
	copy = host->alloc(it->len + 1);
	if (copy == NULL)
		return host->error(err, PERSIST_ENOMEM, 0,
				   "fixture_frozen10: out of memory");
	memcpy(copy, it->data, it->len + 1);
	memset(value_r, 0, sizeof(*value_r));
	value_r->data = copy;
	value_r->len = it->len;
	return PERSIST_OK;
}

/* Store a copy (no TTL: the table does not claim PERSIST_CAP_TTL). */
static int frozen_set(void *store, const char *collection, const char *key,
		      const void *data, size_t len, int64_t ttl_ms,
		      struct persist_error *err)
{
	struct store *st = store;
	struct item *it = lookup(st, collection, key);
	char *copy = malloc(len + 1);

	if (copy == NULL)
		return host->error(err, PERSIST_ENOMEM, 0,
				   "fixture_frozen10: out of memory");
	memcpy(copy, data, len);
	copy[len] = '\0';
	if (it == NULL) {
		it = calloc(1, sizeof(*it));
		if (it == NULL || (it->collection = strdup(collection)) == NULL ||
		    (it->key = strdup(key)) == NULL) {
			if (it != NULL)
				free(it->collection);
			free(it);
			free(copy);
			return host->error(err, PERSIST_ENOMEM, 0,
					   "fixture_frozen10: out of memory");
		}
		it->next = st->items;
		st->items = it;
	}
	free(it->data);
	it->data = copy;
	it->len = len;
	return PERSIST_OK;
}

static const struct persist_state_ops frozen_state = {
	.size = sizeof(struct persist_state_ops), /* the 1.0 size, frozen */
	.caps = 0,
	.open = frozen_open,
	.close = frozen_close,
	.health = frozen_health,
	.get = frozen_get,
	.set = frozen_set,
	/* del, scan, incr, append, read_log, batch, flush: not provided */
};

static const struct persist_plugin frozen_plugin = {
	PERSIST_PLUGIN_HEADER,
	.name = "fixture_frozen10",
	.version = "1.0",
	.description = "loader test fixture: built against the frozen ABI 1.0 headers",
	.init = frozen_init,
	.fini = frozen_fini,
	.state = &frozen_state,
};

/* The entry point. */
const struct persist_plugin *persist_plugin_entry_v1(void)
{
	return &frozen_plugin;
}
