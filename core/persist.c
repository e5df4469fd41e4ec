/*
 * core/persist.c - the life of a persist handle: open from a file or text
 * (settings -> load each kind's plugin -> open its store), health, close,
 * and the helpers every API file uses to reach a kind's store.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "persist-handle.h"
#include "cache.h"
#include "kind.h"
#include "notify.h"
#include "batch.h"
#include "fallback.h"
#include "config-lkg.h"

/* Default configuration cache lifetime: the platform's production value. */
#define DEFAULT_CACHE_TTL_MS 300000

/* A process-unique instance id: host:pid:random. */
static char *make_instance_id(void)
{
	static unsigned counter;
	char host[256] = "localhost", buf[384];
	unsigned serial = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
	int64_t t = persist_monotonic_us();

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	snprintf(buf, sizeof(buf), "%s:%ld:%08x", host, (long)getpid(),
		 (unsigned)((uint64_t)t * 2654435761u) ^ (serial << 24) ^ serial);
	return strdup(buf);
}

/* Load the plugin of settings ps for kind into sink, without opening a
   store. */
int persist_sink_load(persist *p, struct persist_sink *sink, enum persist_kind kind,
		      const struct persist_provider_settings *ps,
		      const struct persist_search *search, struct persist_error *err)
{
	const struct persist_ops_header *ops;
	int ret;

	sink->handle = p;
	sink->kind = kind;
	sink->provider = ps->provider;
	ret = persist_loader_acquire(search, ps->provider, ps->module, &sink->plugin, err);
	if (ret != PERSIST_OK)
		return ret;
	if ((ret = persist_loader_check_kind(sink->plugin, kind, err)) != PERSIST_OK)
		return ret;
	ops = persist_kind_get(kind)->ops(sink->plugin->desc);
	sink->ops = ops;
	sink->ops_size = ops->size;
	sink->caps = ops->caps;
	sink->serialize = (ops->caps & PERSIST_CAP_THREADSAFE) == 0;
	pthread_mutex_init(&sink->call_lock, NULL);
	return PERSIST_OK;
}

/* Open the store of a loaded sink (published with a release store: the
   health thread opens a primary that was down at open). */
int persist_sink_open_store(struct persist_sink *sink,
			    const struct persist_provider_settings *ps,
			    struct persist_error *err)
{
	struct persist_store_args args;
	void *store = NULL;
	int ret;

	memset(&args, 0, sizeof(args));
	args.size = sizeof(args);
	args.kind = sink->kind;
	args.config_json = ps->config_json;
	args.instance_id = sink->handle->instance_id;
	args.sink = sink;
	ret = sink->ops->open(sink->plugin->plugin, &args, &store, err);
	if (ret != PERSIST_OK) {
		if (err != NULL && err->code == PERSIST_OK)
			persist_error_set(err, ret, 0, "provider \"%s\" failed to open", ps->provider);
		return persist_provider_error(sink, ret, err);
	}
	__atomic_store_n(&sink->store, store, __ATOMIC_RELEASE);
	return PERSIST_OK;
}

/* Load kind's plugin and open its store (and its fallback's). */
static int open_sink(persist *p, enum persist_kind kind,
		     const struct persist_search *search, struct persist_error *err)
{
	struct persist_sink *sink = &p->sinks[kind];
	struct persist_provider_settings *ps = &p->settings->kinds[kind];
	int ret;

	if ((ret = persist_sink_load(p, sink, kind, ps, search, err)) != PERSIST_OK)
		return ret;
	if (ps->fallback != NULL &&
	    (ret = persist_failover_create(p, kind, search, &p->failover[kind], err)) != PERSIST_OK)
		return ret;
	ret = persist_sink_open_store(sink, ps, err);
	if (ret == PERSIST_EUNAVAIL && p->failover[kind] != NULL) {
		persist_failover_opened_down(p->failover[kind], err);
		persist_error_clear(err);
		return PERSIST_OK;
	}
	return ret;
}

/* Close one kind's store and drop its plugin reference. */
void persist_sink_close(struct persist_sink *sink)
{
	const struct persist_ops_header *ops = sink->ops;

	if (sink->store != NULL && ops != NULL && ops->close != NULL)
		ops->close(sink->store);
	sink->store = NULL;
	if (sink->ops != NULL)
		pthread_mutex_destroy(&sink->call_lock);
	sink->ops = NULL;
	if (sink->plugin != NULL)
		persist_loader_release(sink->plugin);
	sink->plugin = NULL;
}

/* Build the handle from parsed settings (takes ownership of them). */
static int open_settings(struct persist_settings *settings,
			 const struct persist_options *opts, persist **p_r,
			 struct persist_error *err)
{
	struct persist_search search;
	struct persist_logger logger;
	persist *p;
	int64_t cache_ttl;
	uint32_t flags = 0, all = (1u << PERSIST_KIND_COUNT_) - 1;
	int ret;

	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		persist_settings_free(settings);
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	p->settings = settings;
	p->log_level = PERSIST_LOG_INFO;
	memset(&search, 0, sizeof(search));
	if (opts != NULL) {
		if (PERSIST_HAS(opts, log)) p->log = opts->log;
		if (PERSIST_HAS(opts, log_ctx)) p->log_ctx = opts->log_ctx;
		if (PERSIST_HAS(opts, log_level)) p->log_level = opts->log_level;
		if (PERSIST_HAS(opts, n_plugin_dirs)) {
			search.api_dirs = opts->plugin_dirs;
			search.n_api_dirs = opts->plugin_dirs != NULL ? opts->n_plugin_dirs : 0;
		}
		if (PERSIST_HAS(opts, kinds) && (opts->kinds & ~all) != 0) {
			persist_close(p, NULL);
			return persist_error_set(err, PERSIST_EINVAL, 0,
				"persist_options.kinds 0x%x has unknown bits\n"
				"Combine PERSIST_KIND_BIT() of the kinds to open, or give 0 for all.",
				(unsigned)opts->kinds);
		}
		if (PERSIST_HAS(opts, kinds))
			p->kinds = opts->kinds;
		if (PERSIST_HAS(opts, flags)) {
			flags = opts->flags;
			search.allow_insecure = (opts->flags & PERSIST_OPEN_ALLOW_INSECURE_PLUGINS) != 0;
			search.no_env = (opts->flags & PERSIST_OPEN_NO_ENV_PLUGIN_PATH) != 0;
		}
		if (PERSIST_HAS(opts, instance_id) && opts->instance_id != NULL &&
		    (ret = persist_valid_key("instance id", opts->instance_id, err)) != PERSIST_OK) {
			persist_close(p, NULL);
			return ret;
		}
		if (PERSIST_HAS(opts, instance_id) && opts->instance_id != NULL)
			p->instance_id = strdup(opts->instance_id);
	}
	logger.log = p->log;
	logger.ctx = p->log_ctx;
	logger.level = p->log_level;
	search.logger = &logger;
	if (p->kinds == 0)
		p->kinds = all;
	search.file_dirs = (const char *const *)settings->plugin_path;
	search.n_file_dirs = settings->n_plugin_path;
	if (p->instance_id == NULL)
		p->instance_id = make_instance_id();
	if (p->instance_id == NULL) {
		persist_close(p, NULL);
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	/* cache and notifier exist before any store can report a change */
	cache_ttl = settings->kinds[PERSIST_KIND_CONFIG].cache_ttl_ms;
	if (cache_ttl < 0)
		cache_ttl = DEFAULT_CACHE_TTL_MS;
	if ((p->kinds & PERSIST_KIND_BIT(PERSIST_KIND_CONFIG)) == 0)
		cache_ttl = 0;
	if (cache_ttl > 0 && (p->cache = persist_cache_create(cache_ttl)) == NULL) {
		persist_close(p, NULL);
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	if ((ret = persist_notifier_create(p, &p->notifier, err)) != PERSIST_OK ||
	    (ret = persist_lkg_create(p, err)) != PERSIST_OK) {
		persist_close(p, NULL);
		return ret;
	}
	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		if ((p->kinds & PERSIST_KIND_BIT(k)) == 0)
			continue;
		ret = open_sink(p, (enum persist_kind)k, &search, err);
		/* configuration down at open: its last-known-good copy serves */
		if (ret != PERSIST_OK && k == PERSIST_KIND_CONFIG &&
		    persist_lkg_open_failed(p, ret, err)) {
			persist_sink_close(&p->sinks[k]);
			continue;
		}
		if (ret != PERSIST_OK) {
			persist_close(p, NULL);
			return ret;
		}
	}
	/* fail fast when asked: every opened store must answer its health
	   (one whose fallback serves it is not asked) */
	for (int k = 0; (flags & PERSIST_OPEN_CHECK_HEALTH) && k < PERSIST_KIND_COUNT_; k++) {
		if ((p->kinds & PERSIST_KIND_BIT(k)) == 0 || p->failover[k] != NULL)
			continue;
		ret = persist_health(p, (enum persist_kind)k, NULL, err);
		if (ret != PERSIST_OK) {
			persist_close(p, NULL);
			return ret;
		}
	}
	if (p->sinks[PERSIST_KIND_STATE].store != NULL &&
	    (ret = persist_batcher_start(p, &p->sinks[PERSIST_KIND_STATE],
					 &p->batcher, err)) != PERSIST_OK) {
		persist_close(p, NULL);
		return ret;
	}
	if ((ret = persist_watch_start(p, err)) != PERSIST_OK) {
		persist_close(p, NULL);
		return ret;
	}
	*p_r = p;
	return PERSIST_OK;
}

/* Open from a JSON file; NULL: $PERSIST_CONFIG, else the embedded default. */
int persist_open_file(const char *path, const struct persist_options *opts,
		      persist **p_r, struct persist_error *err)
{
	struct persist_settings *settings;
	int ret;

	persist_error_clear(err);
	if (p_r == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0, "persist_open_file: p_r is NULL");
	if (path == NULL) {
		const char *env = getenv("PERSIST_CONFIG");
		if (env != NULL && env[0] != '\0')
			path = env;
	}
	if (path == NULL)
		ret = persist_settings_default(&settings, err);
	else if (path[0] == '\0')
		return persist_error_set(err, PERSIST_EINVAL, 0, "configuration file name is empty");
	else
		ret = persist_settings_load(path, &settings, err);
	if (ret != PERSIST_OK)
		return ret;
	return open_settings(settings, opts, p_r, err);
}

/* Open from JSON text. */
int persist_open_json(const char *json, const struct persist_options *opts,
		      persist **p_r, struct persist_error *err)
{
	struct persist_settings *settings;
	int ret;

	persist_error_clear(err);
	if (p_r == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0, "persist_open_json: p_r is NULL");
	if (json == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0, "configuration text is NULL");
	ret = persist_settings_parse(json, strlen(json), "configuration text", &settings, err);
	if (ret != PERSIST_OK)
		return ret;
	return open_settings(settings, opts, p_r, err);
}

/* Flush state, close every store, free the handle. */
int persist_close(persist *p, struct persist_error *err)
{
	int ret = PERSIST_OK;

	persist_error_clear(err);
	if (p == NULL)
		return PERSIST_OK;
	/* the health thread first: it may be replaying to a store */
	persist_watch_stop(p);
	/* the queue next: its last flush still needs the state store (or
	   the journal, while the primary is down) */
	if (p->batcher != NULL) {
		ret = persist_batcher_stop(p->batcher, err);
		p->batcher = NULL;
	}
	if (ret == PERSIST_OK && p->sinks[PERSIST_KIND_STATE].store != NULL)
		ret = persist_state_flush(p, err);
	/* stores first: their threads may still report events to us */
	for (int k = PERSIST_KIND_COUNT_ - 1; k >= 0; k--) {
		persist_failover_destroy(p->failover[k]);
		p->failover[k] = NULL;
		persist_sink_close(&p->sinks[k]);
	}
	persist_notifier_destroy(p->notifier);
	persist_cache_destroy(p->cache);
	persist_lkg_destroy(p->lkg);
	persist_settings_free(p->settings);
	free(p->instance_id);
	free(p);
	return ret;
}

/* The error of persist_sink_get (persist-handle.h) for a NULL handle, an
   unknown kind or a store that is not open. */
int persist_sink_missing(persist *p, enum persist_kind kind,
			 struct persist_error *err)
{
	if (p == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0, "persist handle is NULL");
	if ((unsigned)kind >= PERSIST_KIND_COUNT_)
		return persist_error_set(err, PERSIST_EINVAL, 0, "unknown kind %d", (int)kind);
	if ((p->kinds & PERSIST_KIND_BIT(kind)) == 0)
		return persist_error_set(err, PERSIST_ENOTSUP, 0,
			"the %s kind was not opened\n"
			"This handle was opened without it in persist_options.kinds.",
			persist_kind_get(kind)->name);
	return persist_error_set(err, PERSIST_ECLOSED, 0,
		"no %s store is open", persist_kind_name(kind));
}

/* Answer "not supported" for a method the provider's table lacks. */
int persist_not_supported(struct persist_sink *sink, const char *method,
			  struct persist_error *err)
{
	return persist_error_set(err, PERSIST_ENOTSUP, 0,
		"provider \"%s\" does not support %s %s\n"
		"Its plugin (%s, ABI %u.%u) has no such method.",
		sink->provider, persist_kind_get(sink->kind)->name, method, sink->plugin->path,
		sink->plugin->desc->abi_major, sink->plugin->desc->abi_minor);
}

/* Make sure a provider failure carries a code and a message. */
int persist_provider_error(struct persist_sink *sink, int ret,
			   struct persist_error *err)
{
	if (ret == PERSIST_OK)
		return PERSIST_OK;
	if (ret < 0 || ret >= PERSIST_STATUS_COUNT_)
		ret = PERSIST_EIO;
	if (err != NULL) {
		if (err->msg[0] == '\0')
			persist_error_set(err, (persist_status)ret, err->sys_errno,
				"provider \"%s\" failed: %s", sink->provider, persist_strerror(ret));
		else
			persist_error_name_provider(err, sink->provider);
		err->code = (persist_status)ret;
	}
	return ret;
}

/* Health of kind's provider. */
int persist_health(persist *p, enum persist_kind kind, int64_t *latency_us_r,
		   struct persist_error *err)
{
	struct persist_sink *sink;
	int64_t latency = 0, start;
	int ret;

	if (kind == PERSIST_KIND_CONFIG && persist_lkg_offline(p))
		return persist_lkg_offline_error(p, err);
	if ((ret = persist_sink_get(p, kind, &sink, err)) != PERSIST_OK)
		return ret;
	if (__atomic_load_n(&sink->store, __ATOMIC_ACQUIRE) == NULL)
		return persist_error_set(err, PERSIST_EUNAVAIL, 0,
			"provider \"%s\" is not open yet\n"
			"It was unavailable when the handle was opened; its fallback "
			"serves the %s kind until it answers.", sink->provider,
			persist_kind_name(kind));
	start = persist_monotonic_us();
	if (PERSIST_OPS_HAS(sink, struct persist_ops_header, health)) {
		PERSIST_SINK_CALL(sink, ret,
			sink->ops->health(sink->store, &latency, err));
		if (ret != PERSIST_OK)
			return persist_provider_error(sink, ret, err);
	}
	if (latency <= 0)
		latency = persist_monotonic_us() - start;
	if (latency_us_r != NULL)
		*latency_us_r = latency;
	return PERSIST_OK;
}

/* Before a subscription is registered: one health call, so that a
   provider that connects lazily has set up its change listener by the time
   the subscription exists, and every change made after subscribe returns
   reaches it.  Its outcome does not matter (a backend that is down now
   announces "re-read everything" once it is back). */
void persist_provider_settle(persist *p, enum persist_kind kind)
{
	struct persist_error ignored;

	(void)persist_health(p, kind, NULL, &ignored);
}

const char *persist_provider(persist *p, enum persist_kind kind)
{
	if (p == NULL || (unsigned)kind >= PERSIST_KIND_COUNT_)
		return NULL;
	return p->settings->kinds[kind].provider;
}

uint64_t persist_caps(persist *p, enum persist_kind kind)
{
	if (p == NULL || (unsigned)kind >= PERSIST_KIND_COUNT_)
		return 0;
	return p->sinks[kind].caps;
}

const char *persist_instance_id(persist *p)
{
	return p == NULL ? NULL : p->instance_id;
}
