/*
 * plugins/memory/memory-namespace.c - namespaces and stores of the memory
 * provider.
 *
 * A store's `config` may name a namespace ({"namespace": "x"}, default
 * "default").  Every store opened with the same name in one process shares
 * one struct memory_namespace: the same documents, collections and sessions,
 * and notifications and events go to every store of it.  A namespace is
 * created by the first store that names it and freed with the last one.
 *
 * Callbacks into the core (config_changed, session_event) are made without
 * the namespace lock held: memory_ns_foreach_store() marks the store busy,
 * drops the lock for the call and takes it again, and close() waits until
 * no call to its store is in progress.  So the core may take its own locks
 * in those callbacks in any order, and a closed store is never called.
 */
#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "memory-private.h"

#define MEMORY_DEFAULT_NAMESPACE "default"
#define MEMORY_NAMESPACE_MAX 256

/* Wall-clock expiry time of a TTL in ms (0: no expiry). */
int64_t memory_expiry(const struct persist_host *host, int64_t ttl_ms)
{
	return persist_expiry_ms(host->now_ms(), ttl_ms);
}

/* The settings a store's config may give. */
struct memory_settings {
	char *namespace;
};

static const struct pc_setting memory_settings_table[] = {
	{ .name = "namespace", .type = PC_SETTING_STRING,
	  .offset = offsetof(struct memory_settings, namespace),
	  .min = 1, .max = MEMORY_NAMESPACE_MAX,
	  .def_str = MEMORY_DEFAULT_NAMESPACE },
	{ .name = NULL }
};

/* Read the provider's config JSON: the namespace name (malloc()ed). */
static int memory_parse_config(const struct persist_host *host, const char *json,
			       char **namespace_r, struct persist_error *err)
{
	struct memory_settings settings;
	int ret;

	ret = pc_config_read(host, "memory", json, memory_settings_table,
			     &settings, err);
	if (ret != PERSIST_OK)
		return ret;
	*namespace_r = settings.namespace;
	return PERSIST_OK;
}

/* A new, empty namespace (not linked anywhere). */
static struct memory_namespace *memory_ns_new(struct memory_plugin *plugin,
					      char *name)
{
	struct memory_namespace *ns = calloc(1, sizeof(*ns));
	pthread_condattr_t attr;
	int ok = 0;

	if (ns == NULL)
		return NULL;
	ns->plugin = plugin;
	ns->name = name;
	ns->changes_tail = &ns->changes;
	if (pthread_mutex_init(&ns->lock, NULL) != 0)
		goto fail_ns;
	if (pthread_cond_init(&ns->idle, NULL) != 0)
		goto fail_lock;
	if (pthread_condattr_init(&attr) != 0)
		goto fail_idle;
	if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
	    pthread_cond_init(&ns->reaper_wake, &attr) == 0)
		ok = 1;
	pthread_condattr_destroy(&attr);
	if (ok)
		return ns;
fail_idle:
	pthread_cond_destroy(&ns->idle);
fail_lock:
	pthread_mutex_destroy(&ns->lock);
fail_ns:
	free(ns);
	return NULL;
}

/* Stop the expiry thread and free a namespace and everything in it.  No
   store may use it any more. */
static void memory_ns_free(struct memory_namespace *ns)
{
	struct pc_table_iter iter;
	struct pc_table_entry *e;
	struct memory_change *change;

	pthread_mutex_lock(&ns->lock);
	ns->reaper_stop = 1;
	pthread_cond_signal(&ns->reaper_wake);
	pthread_mutex_unlock(&ns->lock);
	if (ns->reaper_running)
		pthread_join(ns->reaper, NULL);

	while ((change = ns->changes) != NULL) {
		ns->changes = change->next;
		free(change);
	}
	pc_table_iter_init(&iter, &ns->docs);
	while ((e = pc_table_iter_next(&iter)) != NULL)
		memory_doc_free((struct memory_doc *)e);
	pc_table_deinit(&ns->docs);
	ns->last_collection = NULL;
	pc_table_iter_init(&iter, &ns->collections);
	while ((e = pc_table_iter_next(&iter)) != NULL)
		memory_collection_free((struct memory_collection *)e);
	pc_table_deinit(&ns->collections);
	memory_batch_ids_free(ns);
	pc_table_iter_init(&iter, &ns->sessions);
	while ((e = pc_table_iter_next(&iter)) != NULL)
		memory_session_free((struct memory_session *)e);
	pc_table_deinit(&ns->sessions);

	pthread_cond_destroy(&ns->reaper_wake);
	pthread_cond_destroy(&ns->idle);
	pthread_mutex_destroy(&ns->lock);
	free(ns->name);
	free(ns);
}

/* Take a reference to namespace `name`, creating it; consumes name. */
static struct memory_namespace *memory_ns_acquire(struct memory_plugin *plugin,
						  char *name)
{
	struct memory_namespace *ns;

	pthread_mutex_lock(&plugin->lock);
	for (ns = plugin->namespaces; ns != NULL; ns = ns->next) {
		if (strcmp(ns->name, name) == 0)
			break;
	}
	if (ns != NULL) {
		free(name);
	} else {
		ns = memory_ns_new(plugin, name);
		if (ns == NULL) {
			free(name);
		} else {
			ns->next = plugin->namespaces;
			plugin->namespaces = ns;
		}
	}
	if (ns != NULL)
		ns->refcount++;
	pthread_mutex_unlock(&plugin->lock);
	return ns;
}

/* Drop a reference; the last one unlinks and frees the namespace. */
static void memory_ns_release(struct memory_namespace *ns)
{
	struct memory_plugin *plugin = ns->plugin;
	struct memory_namespace **pp;
	int last;

	pthread_mutex_lock(&plugin->lock);
	last = --ns->refcount == 0;
	if (last) {
		for (pp = &plugin->namespaces; *pp != ns; pp = &(*pp)->next)
			;
		*pp = ns->next;
	}
	pthread_mutex_unlock(&plugin->lock);
	if (last)
		memory_ns_free(ns);
}

/* open() of every kind: a store joined to its namespace. */
int memory_store_open(struct memory_plugin *plugin,
		      const struct persist_store_args *args,
		      struct memory_store **store_r, struct persist_error *err)
{
	const struct persist_host *host = plugin->host;
	struct memory_store *store;
	char *name = NULL;
	int ret;

	if (args == NULL || store_r == NULL || args->instance_id == NULL ||
	    (unsigned)args->kind >= PERSIST_KIND_COUNT_)
		return host->error(err, PERSIST_EINVAL, 0,
				   "invalid open arguments");
	ret = memory_parse_config(host, args->config_json, &name, err);
	if (ret != PERSIST_OK)
		return ret;
	store = calloc(1, sizeof(*store));
	if (store == NULL || (store->instance_id = pc_strdup(args->instance_id)) == NULL) {
		free(store);
		free(name);
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory opening a store");
	}
	store->plugin = plugin;
	store->kind = args->kind;
	store->sink = args->sink;
	store->ns = memory_ns_acquire(plugin, name);
	if (store->ns == NULL) {
		free(store->instance_id);
		free(store);
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory creating a namespace");
	}
	pthread_mutex_lock(&store->ns->lock);
	store->next = store->ns->stores[store->kind];
	store->ns->stores[store->kind] = store;
	pthread_mutex_unlock(&store->ns->lock);
	*store_r = store;
	return PERSIST_OK;
}

/* True when another open session store has this instance id. */
static int memory_instance_has_other_store(struct memory_namespace *ns,
					   const struct memory_store *store)
{
	for (const struct memory_store *s = ns->stores[store->kind]; s != NULL; s = s->next) {
		if (s != store && strcmp(s->instance_id, store->instance_id) == 0)
			return 1;
	}
	return 0;
}

/* close() of every kind. */
void memory_store_close(struct memory_store *store)
{
	struct memory_namespace *ns;
	struct memory_store **pp;

	if (store == NULL)
		return;
	ns = store->ns;
	pthread_mutex_lock(&ns->lock);
	store->closing = 1;
	while (store->busy > 0)
		pthread_cond_wait(&ns->idle, &ns->lock);
	for (pp = &ns->stores[store->kind]; *pp != store; pp = &(*pp)->next)
		;
	*pp = store->next;
	/* The connections an instance registered die with it. */
	if (store->kind == PERSIST_KIND_SESSION &&
	    !memory_instance_has_other_store(ns, store))
		memory_sessions_drop_instance(ns, store->instance_id);
	pthread_mutex_unlock(&ns->lock);
	memory_ns_release(ns);
	free(store->instance_id);
	free(store);
}

/* health() of every kind: the namespace lock is the only thing that could
   be slow. */
int memory_store_health(void *s, int64_t *latency_us_r,
			struct persist_error *err)
{
	struct memory_store *store = s;
	const struct persist_host *host = store->plugin->host;
	int64_t start = host->monotonic_us();

	pthread_mutex_lock(&store->ns->lock);
	pthread_mutex_unlock(&store->ns->lock);
	if (latency_us_r != NULL)
		*latency_us_r = host->monotonic_us() - start;
	return PERSIST_OK;
}

/* Call fn for each matching store of a kind with the lock dropped around
   each call (see the top of this file). */
size_t memory_ns_foreach_store(struct memory_namespace *ns,
			       enum persist_kind kind, const char *instance,
			       memory_store_fn *fn, void *ctx)
{
	struct memory_store *s, *next;
	size_t called = 0;

	for (s = ns->stores[kind]; s != NULL; s = next) {
		if (s->closing ||
		    (instance != NULL && strcmp(instance, s->instance_id) != 0)) {
			next = s->next;
			continue;
		}
		s->busy++;
		pthread_mutex_unlock(&ns->lock);
		fn(s, ctx);
		called++;
		pthread_mutex_lock(&ns->lock);
		/* s is still linked: close() waits for busy == 0 before
		   unlinking it, so s->next is current. */
		next = s->next;
		if (--s->busy == 0 && s->closing)
			pthread_cond_broadcast(&ns->idle);
	}
	return called;
}

/* At fini: free namespaces that stores never released (a core bug; the
   memory is reclaimed anyway so that leak checkers stay quiet). */
void memory_namespaces_free_all(struct memory_plugin *plugin)
{
	struct memory_namespace *ns;

	while ((ns = plugin->namespaces) != NULL) {
		plugin->namespaces = ns->next;
		plugin->host->log(NULL, PERSIST_LOG_WARNING,
				  "namespace \"%s\" still has %u open store(s) at unload",
				  ns->name, ns->refcount);
		for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
			struct memory_store *s, *next;

			for (s = ns->stores[k]; s != NULL; s = next) {
				next = s->next;
				free(s->instance_id);
				free(s);
			}
			ns->stores[k] = NULL;
		}
		memory_ns_free(ns);
	}
}
