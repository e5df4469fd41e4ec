/*
 * plugins/memory/memory-config.c - configuration documents of the memory
 * provider: get/set/del/list with ETags, compare-and-swap, TTL, and change
 * notifications.
 *
 * Notifications.  Every change made through any store of a namespace is
 * notified to every configuration store of that namespace (so a second
 * persist handle in the process sees the first one's writes, as two
 * instances on a shared backend would).  A set that leaves the document's
 * bytes (hence its ETag) unchanged is not a change and is not notified.
 * Changes are queued under the namespace lock in the order they are made
 * and delivered in that order by one thread at a time, with the lock
 * dropped around each callback: a subscriber's last notification always
 * matches the document's current state.
 *
 * Expiry.  A document set with a TTL is invisible once it expires; the
 * namespace's expiry thread (started by the first set with a TTL) removes
 * it then and notifies its deletion.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "memory-private.h"

#define MEMORY_REAPER_RETRY_MS 100

/* Free a document. */
void memory_doc_free(struct memory_doc *doc)
{
	if (doc == NULL)
		return;
	free(doc->entry.key);
	free(doc->data);
	free(doc);
}

/* The document under key unless absent or expired. */
static struct memory_doc *memory_doc_live(struct memory_namespace *ns,
					  const char *key, int64_t now_ms)
{
	struct memory_doc *doc = (struct memory_doc *)pc_table_find(&ns->docs, key);

	if (doc == NULL || memory_expired(doc->expires_ms, now_ms))
		return NULL;
	return doc;
}

/* A change record for key (etag NULL: deleted), or NULL without memory. */
static struct memory_change *memory_change_new(const char *key, const char *etag)
{
	size_t len = strlen(key);
	struct memory_change *change = malloc(sizeof(*change) + len + 1);

	if (change == NULL)
		return NULL;
	change->next = NULL;
	memcpy(change->key, key, len + 1);
	if (etag != NULL)
		memcpy(change->etag, etag, PERSIST_ETAG_MAX);
	else
		change->etag[0] = '\0';
	return change;
}

/* Hand one change to one store's sink (foreach callback). */
static void memory_config_notify_store(struct memory_store *store, void *ctx)
{
	const struct memory_change *change = ctx;

	store->plugin->host->config_changed(store->sink, change->key,
					    change->etag[0] != '\0' ? change->etag : NULL);
}

/* Queue a change (ns->lock held) and deliver the queue unless another
   thread is already delivering it. */
static void memory_config_changed(struct memory_namespace *ns,
				  struct memory_change *change)
{
	*ns->changes_tail = change;
	ns->changes_tail = &change->next;
	memory_config_deliver(ns);
}

/* Deliver queued changes in order (ns->lock held, dropped around each
   callback; another thread may queue meanwhile and leave it to us). */
void memory_config_deliver(struct memory_namespace *ns)
{
	struct memory_change *change;

	if (ns->delivering)
		return;
	ns->delivering = 1;
	while ((change = ns->changes) != NULL) {
		ns->changes = change->next;
		if (ns->changes == NULL)
			ns->changes_tail = &ns->changes;
		memory_ns_foreach_store(ns, PERSIST_KIND_CONFIG, NULL,
					memory_config_notify_store, change);
		free(change);
	}
	ns->delivering = 0;
}

/* The expiry thread: sleep until the earliest expiry, then remove and
   notify what has expired; wakes early when a set brings an earlier one. */
void *memory_config_reaper(void *arg)
{
	struct memory_namespace *ns = arg;
	const struct persist_host *host = ns->plugin->host;

	pthread_mutex_lock(&ns->lock);
	while (!ns->reaper_stop) {
		struct pc_table_iter iter;
		struct pc_table_entry *e;
		int64_t now = host->now_ms(), next = 0, wait_ms;
		struct timespec deadline;
		int queued = 0;

		pc_table_iter_init(&iter, &ns->docs);
		while ((e = pc_table_iter_next(&iter)) != NULL) {
			struct memory_doc *doc = (struct memory_doc *)e;
			struct memory_change *change;

			if (doc->expires_ms == 0)
				continue;
			if (!memory_expired(doc->expires_ms, now)) {
				if (next == 0 || doc->expires_ms < next)
					next = doc->expires_ms;
				continue;
			}
			change = memory_change_new(doc->entry.key, NULL);
			if (change == NULL) {
				/* out of memory: try again a little later */
				next = now + MEMORY_REAPER_RETRY_MS;
				continue;
			}
			pc_table_remove(&ns->docs, e);
			memory_doc_free(doc);
			*ns->changes_tail = change;
			ns->changes_tail = &change->next;
			queued = 1;
		}
		if (queued) {
			/* deliver (dropping the lock; or leave it to the thread
			   already delivering), then look again */
			memory_config_deliver(ns);
			continue;
		}
		if (next == 0) {
			pthread_cond_wait(&ns->reaper_wake, &ns->lock);
			continue;
		}
		wait_ms = next - now;
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += wait_ms / 1000;
		deadline.tv_nsec += (wait_ms % 1000) * 1000000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&ns->reaper_wake, &ns->lock, &deadline);
	}
	pthread_mutex_unlock(&ns->lock);
	return NULL;
}

/* Start the expiry thread unless it runs (ns->lock held).  It blocks every
   signal: the host's signal handlers stay on the host's threads. */
static int memory_reaper_start(struct memory_namespace *ns,
			       struct persist_error *err)
{
	sigset_t all, old;
	int ret;

	if (ns->reaper_running)
		return PERSIST_OK;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&ns->reaper, NULL, memory_config_reaper, ns);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret != 0)
		return ns->plugin->host->error(err, PERSIST_EIO, ret,
					       "cannot start the expiry thread of namespace \"%s\"",
					       ns->name);
	ns->reaper_running = 1;
	return PERSIST_OK;
}

/* open() for configuration. */
int memory_config_open(void *plugin, const struct persist_store_args *args,
		       void **store_r, struct persist_error *err)
{
	return memory_store_open(plugin, args, (struct memory_store **)store_r, err);
}

/* close() for configuration. */
void memory_config_close(void *store)
{
	memory_store_close(store);
}

/* get(): the document and its ETag. */
int memory_config_get(void *s, const char *key,
		      struct persist_value *value_r,
		      struct persist_error *err)
{
	struct memory_store *store = s;
	const struct persist_host *host = store->plugin->host;
	struct memory_doc *doc;
	int ret = PERSIST_OK;

	if (key == NULL || value_r == NULL)
		return host->error(err, PERSIST_EINVAL, 0,
				   "config get without a key");
	pthread_mutex_lock(&store->ns->lock);
	doc = memory_doc_live(store->ns, key, host->now_ms());
	if (doc == NULL) {
		ret = host->error(err, PERSIST_ENOTFOUND, 0,
				  "configuration document \"%s\" not found", key);
	} else if ((value_r->data = pc_host_dup0(host, doc->data, doc->len)) == NULL) {
		ret = host->error(err, PERSIST_ENOMEM, ENOMEM,
				  "out of memory reading configuration document \"%s\"", key);
	} else {
		value_r->len = doc->len;
		memcpy(value_r->etag, doc->etag, PERSIST_ETAG_MAX);
		value_r->expires_ms = doc->expires_ms;
	}
	pthread_mutex_unlock(&store->ns->lock);
	return ret;
}

/* set(): store a document, optionally only if its ETag matches. */
int memory_config_set(void *s, const char *key, const void *data,
		      size_t len, const struct persist_write_opts *opts,
		      char etag_r[PERSIST_ETAG_MAX],
		      struct persist_error *err)
{
	struct memory_store *store = s;
	struct memory_namespace *ns = store->ns;
	const struct persist_host *host = store->plugin->host;
	const char *if_match = NULL;
	int64_t ttl_ms = 0, now;
	char etag[PERSIST_ETAG_MAX];
	struct memory_doc *doc;
	struct memory_change *change = NULL;
	void *copy;
	int ret = PERSIST_OK;

	if (key == NULL || (data == NULL && len > 0))
		return host->error(err, PERSIST_EINVAL, 0,
				   "config set without a key or data");
	pc_write_opts(opts, &if_match, &ttl_ms);
	if (ttl_ms < 0)
		return host->error(err, PERSIST_EINVAL, 0,
				   "negative TTL for configuration document \"%s\"", key);
	/* The expensive parts happen before taking the lock. */
	host->etag(data, len, etag);
	copy = pc_memdup0(data, len);
	change = memory_change_new(key, etag);
	if (copy == NULL || change == NULL) {
		ret = host->error(err, PERSIST_ENOMEM, ENOMEM,
				  "out of memory storing configuration document \"%s\"", key);
		goto out;
	}

	pthread_mutex_lock(&ns->lock);
	now = host->now_ms();
	doc = (struct memory_doc *)pc_table_find(&ns->docs, key);
	if (if_match != NULL &&
	    (doc == NULL || memory_expired(doc->expires_ms, now) ||
	     strcmp(doc->etag, if_match) != 0)) {
		ret = host->error(err, PERSIST_ECONFLICT, 0,
				  "configuration document \"%s\" does not match ETag %s",
				  key, if_match);
		goto out_unlock;
	}
	if (ttl_ms > 0 && (ret = memory_reaper_start(ns, err)) != PERSIST_OK)
		goto out_unlock;
	if (doc == NULL) {
		doc = calloc(1, sizeof(*doc));
		if (doc == NULL || (doc->entry.key = pc_strdup(key)) == NULL ||
		    pc_table_insert(&ns->docs, &doc->entry) != 0) {
			memory_doc_free(doc);
			ret = host->error(err, PERSIST_ENOMEM, ENOMEM,
					  "out of memory storing configuration document \"%s\"", key);
			goto out_unlock;
		}
	} else if (strcmp(doc->etag, etag) == 0) {
		/* same bytes: not a change, nothing to notify */
		free(change);
		change = NULL;
	}
	free(doc->data);
	doc->data = copy;
	copy = NULL;
	doc->len = len;
	memcpy(doc->etag, etag, PERSIST_ETAG_MAX);
	doc->expires_ms = memory_expiry(host, ttl_ms);
	if (doc->expires_ms != 0)
		pthread_cond_signal(&ns->reaper_wake);
	if (etag_r != NULL)
		memcpy(etag_r, etag, PERSIST_ETAG_MAX);
	if (change != NULL) {
		memory_config_changed(ns, change);
		change = NULL;
	}
out_unlock:
	pthread_mutex_unlock(&ns->lock);
out:
	free(copy);
	free(change);
	return ret;
}

/* del(): remove a document, optionally only if its ETag matches. */
int memory_config_del(void *s, const char *key, const char *if_match,
		      struct persist_error *err)
{
	struct memory_store *store = s;
	struct memory_namespace *ns = store->ns;
	const struct persist_host *host = store->plugin->host;
	struct memory_doc *doc;
	struct memory_change *change;
	int ret = PERSIST_OK;

	if (key == NULL)
		return host->error(err, PERSIST_EINVAL, 0,
				   "config delete without a key");
	change = memory_change_new(key, NULL);
	if (change == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory deleting configuration document \"%s\"", key);
	pthread_mutex_lock(&ns->lock);
	doc = memory_doc_live(ns, key, host->now_ms());
	if (doc == NULL) {
		ret = host->error(err, PERSIST_ENOTFOUND, 0,
				  "configuration document \"%s\" not found", key);
	} else if (if_match != NULL && strcmp(doc->etag, if_match) != 0) {
		ret = host->error(err, PERSIST_ECONFLICT, 0,
				  "configuration document \"%s\" does not match ETag %s",
				  key, if_match);
	} else {
		pc_table_remove(&ns->docs, &doc->entry);
		memory_doc_free(doc);
		memory_config_changed(ns, change);
		change = NULL;
	}
	pthread_mutex_unlock(&ns->lock);
	free(change);
	return ret;
}

/* list(): every live key with its ETag. */
int memory_config_list(void *s, persist_emit_fn *emit, void *ctx,
		       struct persist_error *err)
{
	struct memory_store *store = s;
	const struct persist_host *host = store->plugin->host;
	struct pc_table_iter iter;
	struct pc_table_entry *e;
	int64_t now;

	if (emit == NULL)
		return host->error(err, PERSIST_EINVAL, 0,
				   "config list without a callback");
	pthread_mutex_lock(&store->ns->lock);
	now = host->now_ms();
	pc_table_iter_init(&iter, &store->ns->docs);
	while ((e = pc_table_iter_next(&iter)) != NULL) {
		const struct memory_doc *doc = (const struct memory_doc *)e;
		struct persist_item item = {
			.size = sizeof(item),
			.key = doc->entry.key,
			.expires_ms = doc->expires_ms,
			.etag = doc->etag,
		};

		if (memory_expired(doc->expires_ms, now))
			continue;
		if (emit(ctx, &item) != 0)
			break;
	}
	pthread_mutex_unlock(&store->ns->lock);
	return PERSIST_OK;
}
