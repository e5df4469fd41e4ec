/*
 * t/lib/plugin-host.c - the host table of the programs that call a
 * provider plugin directly (see plugin-host.h): recording of log messages
 * and of change notifications and session events per sink, the core's
 * clocks and ETag, loading <name>.so and opening its stores.
 */
#define _GNU_SOURCE
#include "plugin-host.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <persist/persist.h>

/* At most this many log messages are kept (later ones are only counted). */
#define PH_MAX_LOG 4096

struct ph_sink ph_default_sink = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};
unsigned ph_warnings;

static pthread_mutex_t ph_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *ph_logs[PH_MAX_LOG];
static size_t ph_n_logs;

/* True when the program was asked to print what the plugin reports. */
static int ph_verbose(void)
{
	return getenv("PERSIST_TEST_VERBOSE") != NULL ||
	       getenv("T_FS_VERBOSE") != NULL;
}

/* host->log: record the message, count warnings, print when verbose. */
static void ph_log(struct persist_sink *sink, enum persist_log_level level,
		   const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	(void)sink;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (ph_verbose())
		fprintf(stderr, "[log %d] %s\n", (int)level, buf);
	pthread_mutex_lock(&ph_log_lock);
	if (level >= PERSIST_LOG_WARNING)
		ph_warnings++;
	if (ph_n_logs < PH_MAX_LOG)
		ph_logs[ph_n_logs++] = strdup(buf);
	pthread_mutex_unlock(&ph_log_lock);
}

/* host->error: fill err (may be NULL) and return code. */
static int ph_error(struct persist_error *err, persist_status code,
		    int sys_errno, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		err->code = code;
		err->sys_errno = sys_errno;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

/* host->now_ms: wall clock ms since the epoch. */
int64_t ph_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* host->monotonic_us. */
int64_t ph_monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Sleep ms milliseconds, resuming after a signal. */
void ph_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* strdup that keeps NULL; aborts when out of memory. */
static char *ph_dup0(const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		abort();
	return d;
}

/* Append a record to a sink (the default sink for NULL) and wake waiters. */
static void ph_sink_add(struct persist_sink *sink, const struct ph_record *r)
{
	struct ph_sink *s = sink != NULL ? (struct ph_sink *)sink : &ph_default_sink;

	pthread_mutex_lock(&s->lock);
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->recs = realloc(s->recs, s->cap * sizeof(*s->recs));
		if (s->recs == NULL)
			abort();
	}
	s->recs[s->n++] = *r;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* host->config_changed: record it (key NULL: re-read everything). */
static void ph_config_changed(struct persist_sink *sink, const char *key,
			      const char *etag)
{
	struct ph_record r = { .kind = 'c', .key = ph_dup0(key), .etag = ph_dup0(etag) };

	if (ph_verbose())
		fprintf(stderr, "[changed] %s %s\n", key != NULL ? key : "*",
			etag != NULL ? etag : "(deleted)");
	ph_sink_add(sink, &r);
}

/* host->session_event: record it, with a copy of its data. */
static void ph_session_event(struct persist_sink *sink,
			     const struct persist_event *ev)
{
	struct ph_record r = {
		.kind = 'e', .origin = ph_dup0(ev->origin),
		.session_id = ph_dup0(ev->session_id), .event = ph_dup0(ev->event),
		.len = ev->len,
	};

	r.data = malloc(ev->len + 1);
	if (r.data == NULL)
		abort();
	if (ev->len > 0)
		memcpy(r.data, ev->data, ev->len);
	r.data[ev->len] = '\0';
	ph_sink_add(sink, &r);
}

/* host->strerror: the status number (the core's names are not linked). */
static const char *ph_strerror(int status)
{
	static char buf[32];

	snprintf(buf, sizeof(buf), "status %d", status);
	return buf;
}

const struct persist_host ph_host = {
	.size = sizeof(struct persist_host),
	.abi_major = PERSIST_ABI_MAJOR,
	.abi_minor = PERSIST_ABI_MINOR,
	.core_version = "test",
	.log = ph_log,
	.error = ph_error,
	.alloc = malloc,
	.free = free,
	.now_ms = ph_now_ms,
	.monotonic_us = ph_monotonic_us,
	.etag = persist_etag,
	.config_changed = ph_config_changed,
	.session_event = ph_session_event,
	.strerror = ph_strerror,
};

/* Load and init <name>.so from $PERSIST_PLUGIN_PATH. */
int ph_load(struct ph_plugin *p, const char *name, struct persist_error *err)
{
	const char *dir = getenv("PERSIST_PLUGIN_PATH");
	char path[4096];
	persist_plugin_entry_fn *entry;
	int ret;

	memset(p, 0, sizeof(*p));
	memset(err, 0, sizeof(*err));
	if (dir == NULL || dir[0] == '\0')
		return ph_error(err, PERSIST_ECONFIG, 0,
				"PERSIST_PLUGIN_PATH is not set (run through t/run-test)");
	if (strchr(dir, ':') != NULL)
		return ph_error(err, PERSIST_ECONFIG, 0,
				"PERSIST_PLUGIN_PATH must name one directory (run through t/run-test)");
	snprintf(path, sizeof(path), "%s/%s.so", dir, name);
	p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (p->dl == NULL)
		return ph_error(err, PERSIST_ELOAD, 0, "cannot load %s: %s",
				path, dlerror());
	*(void **)&entry = dlsym(p->dl, PERSIST_PLUGIN_ENTRY_SYMBOL);
	if (entry == NULL || (p->pl = entry()) == NULL) {
		ph_unload(p);
		return ph_error(err, PERSIST_ENOENTRY, 0, "%s: no entry", path);
	}
	if (p->pl->magic != PERSIST_PLUGIN_MAGIC) {
		p->pl = NULL; /* not initialised: no fini */
		ph_unload(p);
		return ph_error(err, PERSIST_EMAGIC, 0, "%s: bad plugin", path);
	}
	ret = p->pl->init(&ph_host, &p->obj, err);
	if (ret != PERSIST_OK) {
		char why[sizeof(err->msg)];

		snprintf(why, sizeof(why), "%s", err->msg);
		p->pl = NULL; /* not initialised: no fini */
		ph_unload(p);
		return ph_error(err, ret, err->sys_errno, "%s: init failed: %s",
				path, why);
	}
	return PERSIST_OK;
}

/* fini and dlclose. */
void ph_unload(struct ph_plugin *p)
{
	if (p->pl != NULL && p->pl->fini != NULL)
		p->pl->fini(p->obj);
	if (p->dl != NULL)
		dlclose(p->dl);
	memset(p, 0, sizeof(*p));
}

/* Open a store of one kind through the plugin's table. */
int ph_open(const struct ph_plugin *p, enum persist_kind kind, const char *json,
	    const char *instance, struct ph_sink *sink, void **store_r,
	    struct persist_error *err)
{
	struct persist_store_args args = {
		.size = sizeof(args), .kind = kind, .config_json = json,
		.instance_id = instance, .sink = (struct persist_sink *)sink,
	};

	memset(err, 0, sizeof(*err));
	switch (kind) {
	case PERSIST_KIND_CONFIG:
		return p->pl->config->open(p->obj, &args, store_r, err);
	case PERSIST_KIND_STATE:
		return p->pl->state->open(p->obj, &args, store_r, err);
	default:
		return p->pl->session->open(p->obj, &args, store_r, err);
	}
}

/* Close a store of one kind. */
void ph_close(const struct ph_plugin *p, enum persist_kind kind, void *store)
{
	if (store == NULL)
		return;
	if (kind == PERSIST_KIND_CONFIG)
		p->pl->config->close(store);
	else if (kind == PERSIST_KIND_STATE)
		p->pl->state->close(store);
	else
		p->pl->session->close(store);
}

/* True when some recorded log message contains needle. */
int ph_log_contains(const char *needle)
{
	int found = 0;

	pthread_mutex_lock(&ph_log_lock);
	for (size_t i = 0; i < ph_n_logs && !found; i++)
		found = ph_logs[i] != NULL && strstr(ph_logs[i], needle) != NULL;
	pthread_mutex_unlock(&ph_log_lock);
	return found;
}

/* Forget the recorded log messages. */
void ph_log_clear(void)
{
	pthread_mutex_lock(&ph_log_lock);
	for (size_t i = 0; i < ph_n_logs; i++)
		free(ph_logs[i]);
	ph_n_logs = 0;
	pthread_mutex_unlock(&ph_log_lock);
}

/* An empty sink. */
void ph_sink_init(struct ph_sink *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
}

/* Free a sink's records; the sink stays usable. */
void ph_sink_clear(struct ph_sink *s)
{
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++) {
		free(s->recs[i].key);
		free(s->recs[i].etag);
		free(s->recs[i].origin);
		free(s->recs[i].session_id);
		free(s->recs[i].event);
		free(s->recs[i].data);
	}
	free(s->recs);
	s->recs = NULL;
	s->n = s->cap = 0;
	pthread_mutex_unlock(&s->lock);
}

/* Free a sink's records and its lock. */
void ph_sink_free(struct ph_sink *s)
{
	ph_sink_clear(s);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
}

/* Number of records so far. */
size_t ph_sink_count(struct ph_sink *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Absolute CLOCK_REALTIME time timeout_ms from now (for timedwait). */
static struct timespec ph_deadline(int timeout_ms)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	return dl;
}

/* Wait for record i. */
int ph_sink_wait(struct ph_sink *s, size_t i, int timeout_ms)
{
	struct timespec dl = ph_deadline(timeout_ms);
	int ok;

	pthread_mutex_lock(&s->lock);
	while (s->n <= i)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &dl) != 0)
			break;
	ok = s->n > i;
	pthread_mutex_unlock(&s->lock);
	return ok;
}

/* Does record r match kind and key (see ph_sink_next)? */
static int ph_record_matches(const struct ph_record *r, int kind, const char *key)
{
	if (r->kind != kind)
		return 0;
	if (kind == 'e')
		return key == NULL || (r->event != NULL && strcmp(r->event, key) == 0);
	if (key == NULL)
		return r->key == NULL;
	return r->key != NULL && strcmp(r->key, key) == 0;
}

/* Find a matching record from *cursor on, waiting; advance *cursor. */
long ph_sink_next(struct ph_sink *s, size_t *cursor, int kind, const char *key,
		  int timeout_ms)
{
	struct timespec dl = ph_deadline(timeout_ms);
	long found = -1;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		for (; *cursor < s->n; (*cursor)++) {
			if (ph_record_matches(&s->recs[*cursor], kind, key)) {
				found = (long)(*cursor)++;
				break;
			}
		}
		if (found >= 0)
			break;
		if (pthread_cond_timedwait(&s->cond, &s->lock, &dl) != 0)
			break;
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}

/* Find a matching record from `from` on, waiting. */
long ph_sink_find(struct ph_sink *s, size_t from, int kind, const char *key,
		  int timeout_ms)
{
	return ph_sink_next(s, &from, kind, key, timeout_ms);
}

/* Count the matching records so far. */
size_t ph_sink_matches(struct ph_sink *s, int kind, const char *key)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++)
		n += ph_record_matches(&s->recs[i], kind, key);
	pthread_mutex_unlock(&s->lock);
	return n;
}
