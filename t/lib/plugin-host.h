/*
 * t/lib/plugin-host.h - the host table of the programs that drive a
 * provider plugin directly through its ops tables, without libpersist:
 * the filesystem and redis providers' own tests and the benchmarks that
 * measure a plugin alone.  One piece of code, so that every such program
 * gives the plugin the same host:
 *
 *   - memory from malloc/free, the core's clocks, and the core's ETag
 *     (core/etag.c is compiled into this library: SHA-256, first 128 bits
 *     as hex), so ETags compare equal to what libpersist would compute;
 *   - log messages recorded for assertions (ph_log_contains), warnings
 *     counted, printed to stderr when PERSIST_TEST_VERBOSE (or the older
 *     T_FS_VERBOSE) is set;
 *   - config_changed and session_event calls recorded per sink: a store
 *     opened with a struct ph_sink records into it, one opened with a NULL
 *     sink into ph_default_sink;
 *   - dlopen + init of <name>.so from $PERSIST_PLUGIN_PATH (set by
 *     t/run-test), and open/close of a store of any kind.
 *
 * Built as the noinst convenience library t/lib/libplugin-host.la.
 */
#ifndef PERSIST_T_PLUGIN_HOST_H
#define PERSIST_T_PLUGIN_HOST_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <persist/plugin.h>

/* One recorded callback. */
struct ph_record {
	int kind;           /* 'c' config_changed, 'e' session_event */
	char *key;          /* config key, or NULL (re-read everything) */
	char *etag;         /* config ETag, or NULL (deleted) */
	char *origin, *session_id, *event; /* session event */
	char *data;         /* session event data, NUL-terminated */
	size_t len;
};

/* What a sink (one opened store, or the default sink) received. */
struct ph_sink {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ph_record *recs;
	size_t n, cap;
};

/* A plugin loaded by ph_load. */
struct ph_plugin {
	void *dl;                        /* dlopen handle */
	const struct persist_plugin *pl; /* its descriptor */
	void *obj;                       /* what its init returned */
};

extern const struct persist_host ph_host;
/* Records the callbacks of stores opened with a NULL sink. */
extern struct ph_sink ph_default_sink;
/* Log lines at WARNING or above, counted (tests check some appear). */
extern unsigned ph_warnings;

/* dlopen <name>.so from $PERSIST_PLUGIN_PATH (one directory) and init it
   with ph_host.  PERSIST_OK, or an error whose err->msg says what failed
   (the caller decides how to exit). */
int ph_load(struct ph_plugin *p, const char *name, struct persist_error *err);
/* fini and dlclose a plugin loaded by ph_load (a no-op when it was not). */
void ph_unload(struct ph_plugin *p);

/* Open a store of kind with config JSON, an instance id and a sink (NULL:
   ph_default_sink records its callbacks); the plugin's status. */
int ph_open(const struct ph_plugin *p, enum persist_kind kind, const char *json,
	    const char *instance, struct ph_sink *sink, void **store_r,
	    struct persist_error *err);
/* Close a store of kind (NULL is ignored). */
void ph_close(const struct ph_plugin *p, enum persist_kind kind, void *store);

/* True when some recorded log message contains needle. */
int ph_log_contains(const char *needle);
/* Forget the recorded log messages. */
void ph_log_clear(void);

/* An empty sink; ph_sink_free releases it, ph_sink_clear only empties it. */
void ph_sink_init(struct ph_sink *s);
void ph_sink_free(struct ph_sink *s);
void ph_sink_clear(struct ph_sink *s);
/* Number of records so far. */
size_t ph_sink_count(struct ph_sink *s);
/* Wait until record i exists (true) or timeout_ms passed (false). */
int ph_sink_wait(struct ph_sink *s, size_t i, int timeout_ms);
/* Index of the first record from *cursor on matching kind and key (for
   'c' a NULL key matches a NULL key; for 'e' key is the event name, NULL
   matching any), waiting up to timeout_ms; -1 if none.  *cursor is left
   after every record examined (after the match, when there is one). */
long ph_sink_next(struct ph_sink *s, size_t *cursor, int kind, const char *key,
		  int timeout_ms);
/* The same from index `from`, without a cursor. */
long ph_sink_find(struct ph_sink *s, size_t from, int kind, const char *key,
		  int timeout_ms);
/* Number of records so far matching kind and key (as ph_sink_next). */
size_t ph_sink_matches(struct ph_sink *s, int kind, const char *key);

/* The host's clocks: wall clock ms, monotonic us. */
int64_t ph_now_ms(void);
int64_t ph_monotonic_us(void);
/* Sleep ms milliseconds (resumed after signals). */
void ph_sleep_ms(int ms);

#endif
