/*
 * plugins/redis/test-host.h - what the redis tests that drive the plugin
 * directly (through its ops tables, without libpersist) share: a host
 * table that records notifications and events, and loading redis.so from
 * $PERSIST_PLUGIN_PATH.  These tests check what only the plugin can show
 * (outcome of a lost reply, the gap notice after a reconnect, the key
 * layout); everything a host sees is tested through the host API too.
 */
#ifndef PERSIST_REDIS_TEST_HOST_H
#define PERSIST_REDIS_TEST_HOST_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <persist/plugin.h>

/* One recorded callback. */
struct th_record {
	int kind;           /* 'c' config_changed, 'e' session_event */
	char *key;          /* config key, or NULL (re-read everything) */
	char *etag;         /* config ETag or NULL */
	char *origin, *session_id, *event; /* session event */
	char *data;
	size_t len;
};

/* What a sink (one opened store) received. */
struct th_sink {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct th_record *recs;
	size_t n, cap;
};

extern const struct persist_host th_host;
extern const struct persist_plugin *th_plugin; /* after th_load() */
extern void *th_plugin_obj;
/* Log lines at WARNING or above, counted (tests check some appear). */
extern unsigned th_warnings;

/* dlopen redis.so from $PERSIST_PLUGIN_PATH and init it; exits on failure. */
void th_load(void);
void th_unload(void);

void th_sink_init(struct th_sink *s);
void th_sink_free(struct th_sink *s);
size_t th_sink_count(struct th_sink *s);
/* Wait until record i exists (true) or timeout_ms passed (false). */
int th_sink_wait(struct th_sink *s, size_t i, int timeout_ms);
/* Index of the first record from `from` on matching kind/key (key NULL
   matches a NULL key), waiting up to timeout_ms; -1 if none. */
long th_sink_find(struct th_sink *s, size_t from, int kind, const char *key,
		  int timeout_ms);

/* Open a store of kind with config JSON (instance id, sink). */
int th_open(enum persist_kind kind, const char *json, const char *instance,
	    struct th_sink *sink, void **store_r, struct persist_error *err);
void th_close(enum persist_kind kind, void *store);

int64_t th_now_ms(void);
void th_sleep_ms(int ms);

#endif
