/*
 * t/plugins/fixture-ok.c - fixture_ok, a well-formed test plugin for the
 * loader tests: a tiny in-memory configuration and state store.
 *
 * Besides being a plugin that loads, it lets the tests see how often the
 * loader ran its init and open: state keys "init_count" and "open_count"
 * of collection "fixture" read as the decimal counters.  The
 * counters live in this .so's static storage, so they start again at 0
 * whenever the loader really unloads and reloads the file.  Like a path
 * provider it has a key rule of its own: configuration keys starting with
 * "refused/" answer PERSIST_EINVAL.  Its state has an append log but no
 * drop, trim_log or log_bounds (the core answers those, or finds a log's
 * bounds through read_log).
 */
#include <stdio.h>
#include <string.h>
#include <persist/plugin.h>

static const struct persist_host *host;
static int init_count, open_count;

/* One stored value (configuration: collection ""). */
struct entry {
	struct entry *next;
	char *collection, *key;
	char *data;
	size_t len;
	char etag[PERSIST_ETAG_MAX];
};

struct store {
	struct entry *entries;
	struct entry *log, **log_tail; /* append log of every collection, oldest first */
};

/* Counts the init (the loader must call it once per process). */
static int ok_init(const struct persist_host *h, void **plugin_r,
		   struct persist_error *err)
{
	if (h == NULL || h->size < sizeof(*h))
		return PERSIST_EINVAL;
	host = h;
	__atomic_add_fetch(&init_count, 1, __ATOMIC_SEQ_CST);
	*plugin_r = &init_count;
	return PERSIST_OK;
}

/* Nothing to undo: the stores free themselves. */
static void ok_fini(void *plugin)
{
	(void)plugin;
}

/* Copy of a string in host memory. */
static char *dup_str(const char *s)
{
	size_t len = strlen(s);
	char *copy = host->alloc(len + 1);

	if (copy != NULL)
		memcpy(copy, s, len + 1);
	return copy;
}

/* A new empty store for any kind. */
static int ok_open(void *plugin, const struct persist_store_args *args,
		   void **store_r, struct persist_error *err)
{
	struct store *st = host->alloc(sizeof(*st));

	if (st == NULL)
		return host->error(err, PERSIST_ENOMEM, 0, "fixture_ok: out of memory");
	memset(st, 0, sizeof(*st));
	__atomic_add_fetch(&open_count, 1, __ATOMIC_SEQ_CST);
	*store_r = st;
	return PERSIST_OK;
}

/* Free a store and everything in it. */
static void ok_close(void *store)
{
	struct store *st = store;
	struct entry *e, *next;

	for (int pass = 0; pass < 2; pass++) {
		for (e = pass ? st->log : st->entries; e != NULL; e = next) {
			next = e->next;
			host->free(e->collection);
			host->free(e->key);
			host->free(e->data);
			host->free(e);
		}
	}
	host->free(st);
}

/* Always healthy. */
static int ok_health(void *store, int64_t *latency_us_r, struct persist_error *err)
{
	if (latency_us_r != NULL)
		*latency_us_r = 0;
	return PERSIST_OK;
}

/* The entry for (collection, key), or NULL; prev_r gets its link. */
static struct entry *find(struct store *st, const char *collection,
			  const char *key, struct entry ***prev_r)
{
	struct entry **pp;

	for (pp = &st->entries; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->collection, collection) == 0 &&
		    strcmp((*pp)->key, key) == 0) {
			if (prev_r != NULL)
				*prev_r = pp;
			return *pp;
		}
	}
	return NULL;
}

/* Fill value_r with a copy of len bytes at data. */
static int give(const void *data, size_t len, const char *etag,
		struct persist_value *value_r, struct persist_error *err)
{
	char *copy = host->alloc(len + 1);

	if (copy == NULL)
		return host->error(err, PERSIST_ENOMEM, 0, "fixture_ok: out of memory");
	memcpy(copy, data, len);
	copy[len] = '\0';
	value_r->data = copy;
	value_r->len = len;
	snprintf(value_r->etag, sizeof(value_r->etag), "%s", etag);
	value_r->expires_ms = 0;
	return PERSIST_OK;
}

/* Store a copy of the data under (collection, key). */
static int put(struct store *st, const char *collection, const char *key,
	       const void *data, size_t len, struct persist_error *err)
{
	struct entry *e = find(st, collection, key, NULL);
	char *copy = host->alloc(len + 1);

	if (copy == NULL)
		return host->error(err, PERSIST_ENOMEM, 0, "fixture_ok: out of memory");
	memcpy(copy, data, len);
	copy[len] = '\0';
	if (e == NULL) {
		e = host->alloc(sizeof(*e));
		if (e == NULL || (e->collection = dup_str(collection)) == NULL ||
		    (e->key = dup_str(key)) == NULL) {
			if (e != NULL) {
				host->free(e->collection);
				host->free(e);
			}
			host->free(copy);
			return host->error(err, PERSIST_ENOMEM, 0,
					   "fixture_ok: out of memory");
		}
		e->data = NULL;
		e->next = st->entries;
		st->entries = e;
	}
	host->free(e->data);
	e->data = copy;
	e->len = len;
	host->etag(copy, len, e->etag);
	return PERSIST_OK;
}

/* State get; collection "fixture" also shows the loader counters. */
static int ok_state_get(void *store, const char *collection, const char *key,
			struct persist_value *value_r, struct persist_error *err)
{
	struct entry *e;

	if (strcmp(collection, "fixture") == 0) {
		char buf[32];
		int *counter = strcmp(key, "init_count") == 0 ? &init_count :
			       strcmp(key, "open_count") == 0 ? &open_count : NULL;
		if (counter != NULL) {
			int n = snprintf(buf, sizeof(buf), "%d",
					 __atomic_load_n(counter, __ATOMIC_SEQ_CST));
			return give(buf, (size_t)n, "", value_r, err);
		}
	}
	e = find(store, collection, key, NULL);
	if (e == NULL)
		return host->error(err, PERSIST_ENOTFOUND, 0,
				   "fixture_ok: no key \"%s\" in \"%s\"", key, collection);
	return give(e->data, e->len, "", value_r, err);
}

/* State set (the TTL is ignored: the table does not claim PERSIST_CAP_TTL). */
static int ok_state_set(void *store, const char *collection, const char *key,
			const void *data, size_t len, int64_t ttl_ms,
			struct persist_error *err)
{
	return put(store, collection, key, data, len, err);
}

/* Delete (state: any collection; configuration: collection ""). */
static int drop(struct store *st, const char *collection, const char *key,
		struct persist_error *err)
{
	struct entry **pp, *e = find(st, collection, key, &pp);

	if (e == NULL)
		return host->error(err, PERSIST_ENOTFOUND, 0,
				   "fixture_ok: no key \"%s\"", key);
	*pp = e->next;
	host->free(e->collection);
	host->free(e->key);
	host->free(e->data);
	host->free(e);
	return PERSIST_OK;
}

/* State delete. */
static int ok_state_del(void *store, const char *collection, const char *key,
			struct persist_error *err)
{
	return drop(store, collection, key, err);
}

/* Configuration get with ETag. */
static int ok_config_get(void *store, const char *key,
			 struct persist_value *value_r, struct persist_error *err)
{
	struct entry *e = find(store, "", key, NULL);

	/* a key rule of the provider's own, as a path provider has */
	if (strncmp(key, "refused/", 8) == 0)
		return host->error(err, PERSIST_EINVAL, 0,
				   "fixture_ok: key \"%s\" is refused", key);
	if (e == NULL)
		return host->error(err, PERSIST_ENOTFOUND, 0,
				   "fixture_ok: no document \"%s\"", key);
	return give(e->data, e->len, e->etag, value_r, err);
}

/* Configuration set, with if-match. */
static int ok_config_set(void *store, const char *key, const void *data,
			 size_t len, const struct persist_write_opts *opts,
			 char etag_r[PERSIST_ETAG_MAX], struct persist_error *err)
{
	struct entry *e = find(store, "", key, NULL);
	int ret;

	if (opts != NULL && opts->if_match != NULL &&
	    (e == NULL || strcmp(e->etag, opts->if_match) != 0))
		return host->error(err, PERSIST_ECONFLICT, 0,
				   "fixture_ok: document \"%s\" does not match %s",
				   key, opts->if_match);
	ret = put(store, "", key, data, len, err);
	if (ret == PERSIST_OK && etag_r != NULL)
		host->etag(data, len, etag_r);
	return ret;
}

/* Configuration delete, with if-match. */
static int ok_config_del(void *store, const char *key, const char *if_match,
			 struct persist_error *err)
{
	struct entry *e = find(store, "", key, NULL);

	if (e != NULL && if_match != NULL && strcmp(e->etag, if_match) != 0)
		return host->error(err, PERSIST_ECONFLICT, 0,
				   "fixture_ok: document \"%s\" does not match %s",
				   key, if_match);
	return drop(store, "", key, err);
}

/* Every configuration key. */
static int ok_config_list(void *store, persist_emit_fn *emit, void *ctx,
			  struct persist_error *err)
{
	struct store *st = store;

	for (struct entry *e = st->entries; e != NULL; e = e->next) {
		struct persist_item item;
		if (e->collection[0] != '\0')
			continue;
		memset(&item, 0, sizeof(item));
		item.size = sizeof(item);
		item.key = e->key;
		item.etag = e->etag;
		if (emit(ctx, &item) != 0)
			break;
	}
	return PERSIST_OK;
}

/* Append a record (a log without trim_log and log_bounds: the core finds
   a log's bounds through read_log alone). */
static int ok_state_append(void *store, const char *collection,
			   const void *data, size_t len, struct persist_error *err)
{
	struct store *st = store;
	struct entry *e = host->alloc(sizeof(*e));
	size_t clen = strlen(collection) + 1;

	if (e == NULL)
		return host->error(err, PERSIST_ENOMEM, 0, "fixture_ok: out of memory");
	memset(e, 0, sizeof(*e));
	e->collection = host->alloc(clen);
	e->data = host->alloc(len + 1);
	e->key = NULL;
	if (e->collection == NULL || e->data == NULL) {
		host->free(e->collection);
		host->free(e->data);
		host->free(e);
		return host->error(err, PERSIST_ENOMEM, 0, "fixture_ok: out of memory");
	}
	memcpy(e->collection, collection, clen);
	memcpy(e->data, data, len);
	e->data[len] = '\0';
	e->len = len;
	if (st->log_tail == NULL)
		st->log_tail = &st->log;
	*st->log_tail = e;
	st->log_tail = &e->next;
	return PERSIST_OK;
}

/* Records of a collection from number `from` on, at most max. */
static int ok_state_read_log(void *store, const char *collection,
			     uint64_t from, size_t max, persist_emit_fn *emit,
			     void *ctx, struct persist_error *err)
{
	struct store *st = store;
	uint64_t no = 0;
	size_t n = 0;

	(void)err;
	for (struct entry *e = st->log; e != NULL && (max == 0 || n < max); e = e->next) {
		struct persist_item item;

		if (strcmp(e->collection, collection) != 0)
			continue;
		if (no++ < from)
			continue;
		memset(&item, 0, sizeof(item));
		item.size = sizeof(item);
		item.value = e->data;
		item.len = e->len;
		item.index = no - 1;
		n++;
		if (emit(ctx, &item) != 0)
			break;
	}
	return PERSIST_OK;
}

static const struct persist_config_ops ok_config = {
	.size = sizeof(struct persist_config_ops),
	.caps = 0,
	.open = ok_open,
	.close = ok_close,
	.health = ok_health,
	.get = ok_config_get,
	.set = ok_config_set,
	.del = ok_config_del,
	.list = ok_config_list,
};

static const struct persist_state_ops ok_state = {
	.size = sizeof(struct persist_state_ops),
	.caps = 0,
	.open = ok_open,
	.close = ok_close,
	.health = ok_health,
	.get = ok_state_get,
	.set = ok_state_set,
	.del = ok_state_del,
	.append = ok_state_append,
	.read_log = ok_state_read_log,
};

static const struct persist_plugin ok_plugin = {
	PERSIST_PLUGIN_HEADER,
	.name = "fixture_ok",
	.version = "0.1",
	.description = "loader test fixture: a well-formed plugin",
	.init = ok_init,
	.fini = ok_fini,
	.config = &ok_config,
	.state = &ok_state,
	.session = NULL,
};

/* The entry point. */
const struct persist_plugin *persist_plugin_entry_v1(void)
{
	return &ok_plugin;
}
