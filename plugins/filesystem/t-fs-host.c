/*
 * plugins/filesystem/t-fs-host.c - the filesystem side of the test host
 * (see t-fs-host.h): loading filesystem.so and opening its stores through
 * t/lib/plugin-host.c, waiting for its notifications, scratch files.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "t-fs-host.h"

struct ph_plugin t_fs;
/* Guards the rotation of t_path's buffers. */
static pthread_mutex_t t_mu = PTHREAD_MUTEX_INITIALIZER;
/* Notifications of ph_default_sink consumed by t_wait_change. */
static size_t t_chg_seen;

/* dlopen filesystem.so from PERSIST_PLUGIN_PATH and init it. */
void t_load_plugin(void)
{
	struct persist_error err;

	if (ph_load(&t_fs, "filesystem", &err) != PERSIST_OK) {
		fprintf(stderr, "%s\n", err.msg);
		exit(99);
	}
}

/* fini and dlclose; free what was recorded. */
void t_unload_plugin(void)
{
	ph_unload(&t_fs);
	ph_log_clear();
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
	return ph_open(&t_fs, kind, config_json, "test", NULL, store_r, err);
}

/* Close a store. */
void t_close(enum persist_kind kind, void *store)
{
	ph_close(&t_fs, kind, store);
}

/* Wait for a notification for key newer than the last one consumed. */
int t_wait_change(const char *key, int timeout_ms, char etag_r[PERSIST_ETAG_MAX],
		  int *deleted_r)
{
	struct ph_sink *s = &ph_default_sink;
	long i = ph_sink_next(s, &t_chg_seen, 'c', key, timeout_ms);

	if (i < 0)
		return 0;
	pthread_mutex_lock(&s->lock);
	if (etag_r != NULL)
		snprintf(etag_r, PERSIST_ETAG_MAX, "%s",
			 s->recs[i].etag != NULL ? s->recs[i].etag : "");
	if (deleted_r != NULL)
		*deleted_r = s->recs[i].etag == NULL;
	pthread_mutex_unlock(&s->lock);
	return 1;
}

/* Forget notifications. */
void t_changes_clear(void)
{
	ph_sink_clear(&ph_default_sink);
	t_chg_seen = 0;
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
