/*
 * plugins/redis/test-host.c - the host table of the direct plugin tests
 * (see test-host.h): malloc for memory, SHA-256 ETags, stderr logging when
 * PERSIST_TEST_VERBOSE is set, and recording of config_changed and
 * session_event calls per sink.
 */
#include "test-host.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>

const struct persist_plugin *th_plugin;
void *th_plugin_obj;
unsigned th_warnings;
static void *th_dl;
static pthread_mutex_t th_log_lock = PTHREAD_MUTEX_INITIALIZER;

/* Wall clock ms. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic us. */
static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Monotonic ms, for tests. */
int64_t th_now_ms(void)
{
	return mono_us() / 1000;
}

/* Sleep ms milliseconds. */
void th_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* host->log: count warnings; print when verbose. */
static void th_log(struct persist_sink *sink, enum persist_log_level level,
		   const char *fmt, ...)
{
	va_list ap;

	(void)sink;
	pthread_mutex_lock(&th_log_lock);
	if (level >= PERSIST_LOG_WARNING)
		th_warnings++;
	if (getenv("PERSIST_TEST_VERBOSE") != NULL) {
		va_start(ap, fmt);
		fprintf(stderr, "[log %d] ", (int)level);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	pthread_mutex_unlock(&th_log_lock);
}

/* host->error. */
static int th_error(struct persist_error *err, persist_status code,
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

/* host->etag: hex SHA-256, 32 characters. */
static void th_etag(const void *data, size_t len, char etag_r[PERSIST_ETAG_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 16; i++)
		snprintf(etag_r + 2 * i, 3, "%02x", md[i]);
}

/* Append a record to a sink. */
static void sink_add(struct th_sink *s, const struct th_record *r)
{
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

/* strdup that keeps NULL. */
static char *dup0(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* host->config_changed. */
static void th_config_changed(struct persist_sink *sink, const char *key,
			      const char *etag)
{
	struct th_record r = { .kind = 'c', .key = dup0(key), .etag = dup0(etag) };

	sink_add((struct th_sink *)sink, &r);
}

/* host->session_event. */
static void th_session_event(struct persist_sink *sink,
			     const struct persist_event *ev)
{
	struct th_record r = {
		.kind = 'e', .origin = dup0(ev->origin),
		.session_id = dup0(ev->session_id), .event = dup0(ev->event),
		.len = ev->len,
	};

	r.data = malloc(ev->len + 1);
	if (r.data == NULL)
		abort();
	memcpy(r.data, ev->data, ev->len);
	r.data[ev->len] = '\0';
	sink_add((struct th_sink *)sink, &r);
}

/* host->strerror. */
static const char *th_strerror(int status)
{
	static char buf[32];

	snprintf(buf, sizeof(buf), "status %d", status);
	return buf;
}

const struct persist_host th_host = {
	.size = sizeof(struct persist_host),
	.abi_major = PERSIST_ABI_MAJOR,
	.abi_minor = PERSIST_ABI_MINOR,
	.core_version = "test",
	.log = th_log,
	.error = th_error,
	.alloc = malloc,
	.free = free,
	.now_ms = now_ms,
	.monotonic_us = mono_us,
	.etag = th_etag,
	.config_changed = th_config_changed,
	.session_event = th_session_event,
	.strerror = th_strerror,
};

/* Load and init redis.so from $PERSIST_PLUGIN_PATH. */
void th_load(void)
{
	const char *dir = getenv("PERSIST_PLUGIN_PATH");
	char path[4096];
	persist_plugin_entry_fn *entry;
	struct persist_error err;

	if (dir == NULL) {
		fprintf(stderr, "PERSIST_PLUGIN_PATH is not set (run through t/run-test)\n");
		exit(99);
	}
	snprintf(path, sizeof(path), "%s/redis.so", dir);
	th_dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (th_dl == NULL) {
		fprintf(stderr, "cannot load %s: %s\n", path, dlerror());
		exit(99);
	}
	entry = (persist_plugin_entry_fn *)dlsym(th_dl, PERSIST_PLUGIN_ENTRY_SYMBOL);
	if (entry == NULL || (th_plugin = entry()) == NULL) {
		fprintf(stderr, "%s: no entry\n", path);
		exit(99);
	}
	if (th_plugin->init(&th_host, &th_plugin_obj, &err) != PERSIST_OK) {
		fprintf(stderr, "%s: init failed: %s\n", path, err.msg);
		exit(99);
	}
}

/* fini and dlclose. */
void th_unload(void)
{
	if (th_plugin != NULL)
		th_plugin->fini(th_plugin_obj);
	th_plugin = NULL;
	if (th_dl != NULL)
		dlclose(th_dl);
	th_dl = NULL;
}

/* An empty sink. */
void th_sink_init(struct th_sink *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
}

/* Free a sink's records. */
void th_sink_free(struct th_sink *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->recs[i].key);
		free(s->recs[i].etag);
		free(s->recs[i].origin);
		free(s->recs[i].session_id);
		free(s->recs[i].event);
		free(s->recs[i].data);
	}
	free(s->recs);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
}

/* Number of records so far. */
size_t th_sink_count(struct th_sink *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Wait for record i. */
int th_sink_wait(struct th_sink *s, size_t i, int timeout_ms)
{
	struct timespec dl;
	int ok;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&s->lock);
	while (s->n <= i)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &dl) != 0)
			break;
	ok = s->n > i;
	pthread_mutex_unlock(&s->lock);
	return ok;
}

/* Find a matching record from `from` on, waiting. */
long th_sink_find(struct th_sink *s, size_t from, int kind, const char *key,
		  int timeout_ms)
{
	int64_t deadline = th_now_ms() + timeout_ms;

	for (size_t i = from;; i++) {
		int64_t left = deadline - th_now_ms();
		const struct th_record *r;

		if (!th_sink_wait(s, i, left > 0 ? (int)left : 0))
			return -1;
		pthread_mutex_lock(&s->lock);
		r = &s->recs[i];
		if (r->kind == kind &&
		    (kind == 'e' ? (key == NULL || (r->event != NULL && strcmp(r->event, key) == 0)) :
		     (key == NULL ? r->key == NULL :
		      (r->key != NULL && strcmp(r->key, key) == 0)))) {
			pthread_mutex_unlock(&s->lock);
			return (long)i;
		}
		pthread_mutex_unlock(&s->lock);
	}
}

/* Open a store of one kind. */
int th_open(enum persist_kind kind, const char *json, const char *instance,
	    struct th_sink *sink, void **store_r, struct persist_error *err)
{
	struct persist_store_args args = {
		.size = sizeof(args), .kind = kind, .config_json = json,
		.instance_id = instance, .sink = (struct persist_sink *)sink,
	};

	memset(err, 0, sizeof(*err));
	switch (kind) {
	case PERSIST_KIND_CONFIG:
		return th_plugin->config->open(th_plugin_obj, &args, store_r, err);
	case PERSIST_KIND_STATE:
		return th_plugin->state->open(th_plugin_obj, &args, store_r, err);
	default:
		return th_plugin->session->open(th_plugin_obj, &args, store_r, err);
	}
}

/* Close a store of one kind. */
void th_close(enum persist_kind kind, void *store)
{
	if (store == NULL)
		return;
	if (kind == PERSIST_KIND_CONFIG)
		th_plugin->config->close(store);
	else if (kind == PERSIST_KIND_STATE)
		th_plugin->state->close(store);
	else
		th_plugin->session->close(store);
}
