/*
 * core/persist-handle.h - the insides of a persist handle: one open store
 * per kind (struct persist_sink, which is also what plugins get back as
 * their opaque sink), the configuration cache and the notifier.
 *
 * Only the core's own files include this.
 */
#ifndef PERSIST_CORE_HANDLE_H
#define PERSIST_CORE_HANDLE_H

#include <pthread.h>
#include <stddef.h>

#include "collect.h"
#include "core-private.h"
#include "loader.h"
#include "settings.h"

struct persist_cache;
struct persist_notifier;
struct persist_batcher;
struct persist_failover;
struct persist_watch;
struct persist_config_lkg;

/* One kind of one handle, served by one provider store. */
struct persist_sink {
	struct persist *handle;
	enum persist_kind kind;
	struct persist_loaded_plugin *plugin;
	const struct persist_ops_header *ops; /* start of the kind's ops table */
	uint32_t ops_size;     /* ops->size as the plugin was built */
	uint64_t caps;
	void *store;           /* what ops->open returned */
	int serialize;         /* no PERSIST_CAP_THREADSAFE: one call at a time */
	pthread_mutex_t call_lock;
	const char *provider;  /* settings name (owned by settings) */
};

struct persist {
	struct persist_settings *settings;
	struct persist_sink sinks[PERSIST_KIND_COUNT_];
	uint32_t kinds;                     /* PERSIST_KIND_BIT of each opened kind */
	char *instance_id;
	persist_log_cb *log;
	void *log_ctx;
	enum persist_log_level log_level;
	struct persist_cache *cache;        /* NULL when cacheTTL is 0 */
	struct persist_notifier *notifier;
	struct persist_batcher *batcher;    /* NULL: state writes are not queued */
	/* per kind, NULL without a fallback (core/fallback.c) */
	struct persist_failover *failover[PERSIST_KIND_COUNT_];
	struct persist_watch *watch;        /* the health thread, or NULL */
	struct persist_config_lkg *lkg;     /* configuration copy; NULL without spoolDir */
};

/* True when a plugin's ops table (as built, `size` bytes) has a non-NULL
   method `field`: the core never calls past the end of a table. */
#define PERSIST_OPS_HAS(sink, type, field)                                    \
	((sink)->ops != NULL &&                                               \
	 (sink)->ops_size >= offsetof(type, field) + sizeof(((type *)0)->field) && \
	 ((const type *)(sink)->ops)->field != NULL)

/* Take/leave the per-store call lock when the provider is not thread-safe. */
static inline void persist_sink_enter(struct persist_sink *sink)
{
	if (sink->serialize)
		pthread_mutex_lock(&sink->call_lock);
}
static inline void persist_sink_leave(struct persist_sink *sink)
{
	if (sink->serialize)
		pthread_mutex_unlock(&sink->call_lock);
}

/* Run one provider method call under the per-store lock (when the
   provider needs one): PERSIST_SINK_CALL(sink, ret, ops->get(...)). */
#define PERSIST_SINK_CALL(sink, ret, call)                                    \
	do {                                                                  \
		persist_sink_enter(sink);                                     \
		(ret) = (call);                                               \
		persist_sink_leave(sink);                                     \
	} while (0)

/* Log through the handle's callback (handle may be NULL: dropped). */
void persist_log(struct persist *p, enum persist_log_level level,
		 const char *fmt, ...) PERSIST_PRINTF(3, 4);

/* Answer PERSIST_ENOTSUP for a method the provider lacks. */
int persist_not_supported(struct persist_sink *sink, const char *method,
			  struct persist_error *err);

/* The error for persist_sink_get when the handle or store is missing. */
int persist_sink_missing(persist *p, enum persist_kind kind,
			 struct persist_error *err);

/* Common entry checks of every API call: clear err, then the handle must
   be non-NULL and the kind's store open.  Inline: it runs on every call. */
static inline int persist_sink_get(persist *p, enum persist_kind kind,
				   struct persist_sink **sink_r,
				   struct persist_error *err)
{
	if (err != NULL) {
		err->code = PERSIST_OK;
		err->sys_errno = 0;
		err->msg[0] = '\0';
	}
	/* a kind with a fallback may run without its primary's store (it
	   could not be opened yet): the fallback serves */
	if (p == NULL || (unsigned)kind >= PERSIST_KIND_COUNT_ ||
	    (__atomic_load_n(&p->sinks[kind].store, __ATOMIC_ACQUIRE) == NULL &&
	     p->failover[kind] == NULL)) {
		*sink_r = NULL;
		return persist_sink_missing(p, kind, err);
	}
	*sink_r = &p->sinks[kind];
	return PERSIST_OK;
}

/* Load the plugin of provider settings ps for kind into sink (no store
   yet), open its store, close both (persist.c). */
int persist_sink_load(persist *p, struct persist_sink *sink, enum persist_kind kind,
		      const struct persist_provider_settings *ps,
		      const struct persist_search *search, struct persist_error *err);
int persist_sink_open_store(struct persist_sink *sink,
			    const struct persist_provider_settings *ps,
			    struct persist_error *err);
void persist_sink_close(struct persist_sink *sink);

/* The status to return for a provider call's result: PERSIST_OK as it is;
   a failure with a code in range and a message (one naming the provider
   when the plugin gave none). */
int persist_provider_error(struct persist_sink *sink, int ret,
			   struct persist_error *err);
/* One health call of kind's provider whose outcome is ignored, before a
   subscription is registered (see persist.c). */
void persist_provider_settle(persist *p, enum persist_kind kind);

#endif
