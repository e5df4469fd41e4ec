/*
 * plugins/filesystem/t-fs-host.c - the test host table (see t-fs-host.h).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "t-fs-host.h"

const struct persist_plugin *t_plugin;
void *t_plugin_data;
static void *t_dl;

static pthread_mutex_t t_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t t_cond = PTHREAD_COND_INITIALIZER;
#define T_MAX_LOG 4096
static char *t_logs[T_MAX_LOG];
static size_t t_n_logs;
#define T_MAX_CHANGES 65536
static struct { char *key; char etag[PERSIST_ETAG_MAX]; int deleted; } t_chg[T_MAX_CHANGES];
static size_t t_n_chg, t_chg_seen;

/* Host: record a log message (and print it when T_FS_VERBOSE is set). */
static void t_log(struct persist_sink *sink, enum persist_log_level level,
		  const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	(void)sink;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (getenv("T_FS_VERBOSE") != NULL)
		fprintf(stderr, "[log %d] %s\n", (int)level, buf);
	pthread_mutex_lock(&t_mu);
	if (t_n_logs < T_MAX_LOG)
		t_logs[t_n_logs++] = strdup(buf);
	pthread_mutex_unlock(&t_mu);
}

/* Host: fill an error. */
static int t_error(struct persist_error *err, persist_status code,
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

/* Host: wall clock ms. */
int64_t t_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Host: monotonic us. */
int64_t t_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Host: an ETag (FNV-1a 64 of the bytes, hex; the core has its own). */
static void t_etag(const void *data, size_t len, char etag_r[PERSIST_ETAG_MAX])
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	snprintf(etag_r, PERSIST_ETAG_MAX, "\"%016llx-%zx\"",
		 (unsigned long long)h, len);
}

/* Host: record a change notification. */
static void t_config_changed(struct persist_sink *sink, const char *key,
			     const char *etag)
{
	(void)sink;
	if (getenv("T_FS_VERBOSE") != NULL)
		fprintf(stderr, "[changed] %s %s\n", key != NULL ? key : "*",
			etag != NULL ? etag : "(deleted)");
	pthread_mutex_lock(&t_mu);
	if (t_n_chg < T_MAX_CHANGES) {
		t_chg[t_n_chg].key = strdup(key != NULL ? key : "*");
		snprintf(t_chg[t_n_chg].etag, PERSIST_ETAG_MAX, "%s",
			 etag != NULL ? etag : "");
		t_chg[t_n_chg].deleted = etag == NULL;
		t_n_chg++;
	}
	pthread_cond_broadcast(&t_cond);
	pthread_mutex_unlock(&t_mu);
}

/* Host: session events are not used by this provider. */
static void t_session_event(struct persist_sink *sink,
			    const struct persist_event *ev)
{
	(void)sink;
	(void)ev;
}

/* Host: status names. */
static const char *t_strerror(int status)
{
	static char buf[32];
	snprintf(buf, sizeof(buf), "status %d", status);
	return buf;
}

const struct persist_host t_host = {
	.size = sizeof(struct persist_host),
	.abi_major = PERSIST_ABI_MAJOR,
	.abi_minor = PERSIST_ABI_MINOR,
	.core_version = "test",
	.log = t_log,
	.error = t_error,
	.alloc = malloc,
	.free = free,
	.now_ms = t_now_ms,
	.monotonic_us = t_mono_us,
	.etag = t_etag,
	.config_changed = t_config_changed,
	.session_event = t_session_event,
	.strerror = t_strerror,
};

/* dlopen filesystem.so from PERSIST_PLUGIN_PATH and init it. */
void t_load_plugin(void)
{
	const char *dir = getenv("PERSIST_PLUGIN_PATH");
	char path[4096];
	persist_plugin_entry_fn *entry;
	struct persist_error err;

	if (dir == NULL || dir[0] == '\0') {
		fprintf(stderr, "PERSIST_PLUGIN_PATH is not set (run through t/run-test)\n");
		exit(99);
	}
	snprintf(path, sizeof(path), "%s/filesystem.so", dir);
	t_dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (t_dl == NULL) {
		fprintf(stderr, "cannot load %s: %s\n", path, dlerror());
		exit(99);
	}
	*(void **)&entry = dlsym(t_dl, PERSIST_PLUGIN_ENTRY_SYMBOL);
	if (entry == NULL || (t_plugin = entry()) == NULL ||
	    t_plugin->magic != PERSIST_PLUGIN_MAGIC) {
		fprintf(stderr, "%s: bad plugin\n", path);
		exit(99);
	}
	if (t_plugin->init(&t_host, &t_plugin_data, &err) != PERSIST_OK) {
		fprintf(stderr, "%s: init failed: %s\n", path, err.msg);
		exit(99);
	}
}

/* fini and dlclose; free what was recorded. */
void t_unload_plugin(void)
{
	if (t_plugin != NULL)
		t_plugin->fini(t_plugin_data);
	if (t_dl != NULL)
		dlclose(t_dl);
	t_plugin = NULL;
	t_dl = NULL;
	t_log_clear();
	t_changes_clear();
}

/* The scratch directory. */
const char *t_tmp(void)
{
	static char dir[4096];

	if (dir[0] == '\0') {
		const char *env = getenv("PERSIST_TEST_TMP");
		if (env != NULL && env[0] != '\0') {
			snprintf(dir, sizeof(dir), "%s", env);
		} else {
			snprintf(dir, sizeof(dir), "/tmp/t-fs.XXXXXX");
			if (mkdtemp(dir) == NULL) {
				perror("mkdtemp");
				exit(99);
			}
		}
	}
	return dir;
}

/* t_tmp()/formatted name. */
const char *t_path(const char *fmt, ...)
{
	static char bufs[8][4096];
	static int slot;
	char rel[2048];
	va_list ap;
	char *b;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&t_mu);
	b = bufs[slot];
	slot = (slot + 1) % 8;
	pthread_mutex_unlock(&t_mu);
	snprintf(b, 4096, "%s/%s", t_tmp(), rel);
	return b;
}

/* Open a store through the plugin's table. */
int t_open(enum persist_kind kind, const char *config_json, void **store_r,
	   struct persist_error *err)
{
	struct persist_store_args args;

	memset(&args, 0, sizeof(args));
	args.size = sizeof(args);
	args.kind = kind;
	args.config_json = config_json;
	args.instance_id = "test";
	args.sink = NULL;
	memset(err, 0, sizeof(*err));
	if (kind == PERSIST_KIND_CONFIG)
		return t_plugin->config->open(t_plugin_data, &args, store_r, err);
	return t_plugin->state->open(t_plugin_data, &args, store_r, err);
}

/* Close a store. */
void t_close(enum persist_kind kind, void *store)
{
	if (kind == PERSIST_KIND_CONFIG)
		t_plugin->config->close(store);
	else
		t_plugin->state->close(store);
}

/* True when some recorded log message contains needle. */
int t_log_contains(const char *needle)
{
	int found = 0;

	pthread_mutex_lock(&t_mu);
	for (size_t i = 0; i < t_n_logs && !found; i++)
		found = strstr(t_logs[i], needle) != NULL;
	pthread_mutex_unlock(&t_mu);
	return found;
}

/* Forget recorded log messages. */
void t_log_clear(void)
{
	pthread_mutex_lock(&t_mu);
	for (size_t i = 0; i < t_n_logs; i++)
		free(t_logs[i]);
	t_n_logs = 0;
	pthread_mutex_unlock(&t_mu);
}

/* Wait for a notification for key newer than the last one consumed. */
int t_wait_change(const char *key, int timeout_ms, char etag_r[PERSIST_ETAG_MAX],
		  int *deleted_r)
{
	struct timespec deadline;
	int found = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&t_mu);
	for (;;) {
		for (; t_chg_seen < t_n_chg; t_chg_seen++) {
			if (strcmp(t_chg[t_chg_seen].key, key) == 0) {
				if (etag_r != NULL)
					memcpy(etag_r, t_chg[t_chg_seen].etag,
					       PERSIST_ETAG_MAX);
				if (deleted_r != NULL)
					*deleted_r = t_chg[t_chg_seen].deleted;
				t_chg_seen++;
				found = 1;
				break;
			}
		}
		if (found)
			break;
		if (pthread_cond_timedwait(&t_cond, &t_mu, &deadline) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&t_mu);
	return found;
}

/* Count notifications for key so far. */
int t_changes(const char *key)
{
	int n = 0;

	pthread_mutex_lock(&t_mu);
	for (size_t i = 0; i < t_n_chg; i++)
		n += strcmp(t_chg[i].key, key) == 0;
	pthread_mutex_unlock(&t_mu);
	return n;
}

/* Forget notifications. */
void t_changes_clear(void)
{
	pthread_mutex_lock(&t_mu);
	for (size_t i = 0; i < t_n_chg; i++)
		free(t_chg[i].key);
	t_n_chg = 0;
	t_chg_seen = 0;
	pthread_mutex_unlock(&t_mu);
}

/* Sleep for ms milliseconds. */
void t_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Write a whole file. */
int t_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	const char *p = data;

	if (fd < 0)
		return -1;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n <= 0) {
			close(fd);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return close(fd);
}

/* Read a whole file. */
char *t_read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		size_t n;
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	if (len_r != NULL)
		*len_r = len;
	return buf;
}

/* State value as a malloc'ed string, or NULL. */
char *t_state_get(void *st, const char *c, const char *k)
{
	struct persist_value v;
	struct persist_error err;

	memset(&v, 0, sizeof(v));
	if (t_plugin->state->get(st, c, k, &v, &err) != PERSIST_OK)
		return NULL;
	return v.data;
}

/* Config document as a malloc'ed string, or NULL (status to status_r). */
char *t_config_get(void *cfg, const char *key, char etag_r[PERSIST_ETAG_MAX],
		   int *status_r)
{
	struct persist_value v;
	struct persist_error err;
	int ret;

	memset(&v, 0, sizeof(v));
	ret = t_plugin->config->get(cfg, key, &v, &err);
	if (status_r != NULL)
		*status_r = ret;
	if (ret != PERSIST_OK)
		return NULL;
	if (etag_r != NULL)
		memcpy(etag_r, v.etag, PERSIST_ETAG_MAX);
	return v.data;
}
