/*
 * plugins/filesystem/test-fs-badinput.c - the disk failing under the
 * provider: a full disk (a 64 KiB tmpfs: ENOSPC reported as PERSIST_EIO
 * with the errno, the previous document intact, no temporary left, every
 * acknowledged record and increment still there), a read-only root (clear
 * error at open naming the path), a root whose parent cannot be written,
 * and a root removed while open (health says so).
 *
 * The mounts are made in a private mount namespace, so they vanish with
 * the test.  This needs root, as CI has; without it the test fails (it
 * does not skip).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include <CUnit/Basic.h>
#include "../../t/lib/cunit-suite.h"
#include "t-fs-host.h"

static int mounted_full, mounted_ro;

/* Private mount namespace, then a 64 KiB tmpfs and a read-only one. */
static int suite_init(void)
{
	t_load_plugin();
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0) {
		fprintf(stderr, "cannot make a private mount namespace: %s (this test needs root)\n",
			strerror(errno));
		return 0;
	}
	if (mkdir(t_path("full"), 0755) == 0 &&
	    mount("tmpfs", t_path("full"), "tmpfs", 0, "size=64k,nr_inodes=64") == 0)
		mounted_full = 1;
	else
		fprintf(stderr, "cannot mount a tmpfs: %s\n", strerror(errno));
	if (mkdir(t_path("ro"), 0755) == 0 &&
	    mount("tmpfs", t_path("ro"), "tmpfs", MS_RDONLY, "size=64k") == 0)
		mounted_ro = 1;
	else
		fprintf(stderr, "cannot mount a read-only tmpfs: %s\n", strerror(errno));
	return 0;
}

static int suite_clean(void)
{
	if (mounted_full)
		umount(t_path("full"));
	if (mounted_ro)
		umount(t_path("ro"));
	t_unload_plugin();
	return 0;
}

/* Names in a directory starting with prefix. */
static int count_prefix(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

/* Disk full: configuration documents. */
static void test_enospc_config(void)
{
	struct persist_write_opts o = { sizeof(o), NULL, 0 };
	struct persist_error err;
	char json[4200], etag[PERSIST_ETAG_MAX], *big, *v;
	size_t n = 100 * 1024;
	void *cfg;
	int st;

	CU_ASSERT_FATAL(mounted_full);
	snprintf(json, sizeof(json), "{\"root\":\"%s\"}", t_path("full/cfg"));
	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_CONFIG, json, &cfg, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(t_plugin->config->set(cfg, "doc", "{\"v\":1}", 7, &o, etag, &err), PERSIST_OK);
	big = malloc(n);
	memset(big, ' ', n);
	big[0] = '[';
	big[n - 1] = ']';
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(t_plugin->config->set(cfg, "doc", big, n, &o, etag, &err), PERSIST_EIO);
	CU_ASSERT_EQUAL(err.sys_errno, ENOSPC);
	CU_ASSERT(strstr(err.msg, "\"doc\"") != NULL);
	CU_ASSERT(strstr(err.msg, "No space left") != NULL);
	v = t_config_get(cfg, "doc", NULL, &st);
	CU_ASSERT_EQUAL(st, PERSIST_OK);
	CU_ASSERT(v != NULL && strcmp(v, "{\"v\":1}") == 0);
	free(v);
	CU_ASSERT_EQUAL(count_prefix(t_path("full/cfg"), ".persist-tmp"), 0);
	/* a new document that does not fit is simply absent */
	CU_ASSERT_EQUAL(t_plugin->config->set(cfg, "new", big, n, &o, etag, &err), PERSIST_EIO);
	v = t_config_get(cfg, "new", NULL, &st);
	CU_ASSERT_EQUAL(st, PERSIST_ENOTFOUND);
	free(big);
	t_close(PERSIST_KIND_CONFIG, cfg);
}

/* Disk full: logs and counters keep everything acknowledged. */
static void test_enospc_state(void)
{
	struct persist_error err;
	char json[4200], rec[2048];
	int acked = 0, ret = PERSIST_OK;
	int64_t last = 0, v64;
	void *st;
	char *v;

	CU_ASSERT_FATAL(mounted_full);
	snprintf(json, sizeof(json), "{\"root\":\"%s\"}", t_path("full/st"));
	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_STATE, json, &st, &err), PERSIST_OK);
	/* a counter whose journal page still has room once the disk is full */
	CU_ASSERT_EQUAL(t_plugin->state->incr(st, "c", "n", 1, &last, &err), PERSIST_OK);
	for (int i = 0; i < 1000 && ret == PERSIST_OK; i++) {
		int n = snprintf(rec, 64, "{\"i\":%d,\"pad\":\"", i);
		memset(rec + n, 'p', 1500);
		memcpy(rec + n + 1500, "\"}", 2);
		memset(&err, 0, sizeof(err));
		ret = t_plugin->state->append(st, "log", rec, (size_t)n + 1502, &err);
		if (ret == PERSIST_OK)
			acked++;
	}
	CU_ASSERT_EQUAL(ret, PERSIST_EIO);
	CU_ASSERT_EQUAL(err.sys_errno, ENOSPC);
	CU_ASSERT(strstr(err.msg, "log") != NULL);
	CU_ASSERT(acked > 0);
	{
		size_t len;
		char *data = t_read_file(t_path("full/st/logs/log.jsonl"), &len);
		int lines = 0;
		for (size_t i = 0; data != NULL && i < len; i++)
			lines += data[i] == '\n';
		CU_ASSERT(data != NULL && len > 0 && data[len - 1] == '\n');
		CU_ASSERT_EQUAL(lines, acked);
		free(data);
	}
	ret = PERSIST_OK;
	for (int i = 0; i < 100000 && ret == PERSIST_OK; i++) {
		ret = t_plugin->state->incr(st, "c", "n", 1, &v64, &err);
		if (ret == PERSIST_OK)
			last = v64;
	}
	CU_ASSERT_EQUAL(ret, PERSIST_EIO);
	CU_ASSERT_EQUAL(err.sys_errno, ENOSPC);
	CU_ASSERT(last > 1);
	{
		size_t len;
		char *data = t_read_file(t_path("full/st/kv/c.jsonl"), &len);
		/* a write cut short by ENOSPC was cut back to a whole line */
		CU_ASSERT(data != NULL && len > 0 && data[len - 1] == '\n');
		free(data);
	}
	v = t_state_get(st, "c", "n");
	CU_ASSERT(v != NULL && atoll(v) == last);
	free(v);
	t_close(PERSIST_KIND_STATE, st);
	/* a fresh process-like reopen sees the same */
	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_STATE, json, &st, &err), PERSIST_OK);
	v = t_state_get(st, "c", "n");
	CU_ASSERT(v != NULL && atoll(v) == last);
	free(v);
	t_close(PERSIST_KIND_STATE, st);
}

/* Read-only or uncreatable roots: clear errors naming the path. */
static void test_unwritable_root(void)
{
	struct persist_error err;
	char json[4200];
	void *s;

	CU_ASSERT_FATAL(mounted_ro);
	snprintf(json, sizeof(json), "{\"root\":\"%s\"}", t_path("ro"));
	CU_ASSERT_EQUAL(t_open(PERSIST_KIND_CONFIG, json, &s, &err), PERSIST_EIO);
	CU_ASSERT(strstr(err.msg, t_path("ro")) != NULL);
	CU_ASSERT(strstr(err.msg, "not writable") != NULL);
	CU_ASSERT_EQUAL(t_open(PERSIST_KIND_STATE, json, &s, &err), PERSIST_EIO);
	CU_ASSERT(strstr(err.msg, t_path("ro")) != NULL);
	snprintf(json, sizeof(json), "{\"root\":\"%s\"}", t_path("ro/missing/root"));
	CU_ASSERT_EQUAL(t_open(PERSIST_KIND_CONFIG, json, &s, &err), PERSIST_EIO);
	CU_ASSERT(strstr(err.msg, "cannot create root directory") != NULL);
	CU_ASSERT(strstr(err.msg, t_path("ro/missing/root")) != NULL);
	CU_ASSERT_EQUAL(t_open(PERSIST_KIND_STATE, json, &s, &err), PERSIST_EIO);
	CU_ASSERT_EQUAL(err.sys_errno, EROFS);
}

/* A root removed while open: health reports it. */
static void test_root_removed(void)
{
	struct persist_error err;
	char json[4200], cmd[4300];
	int64_t lat;
	void *st, *cfg;

	snprintf(json, sizeof(json), "{\"root\":\"%s\"}", t_path("gone"));
	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_STATE, json, &st, &err), PERSIST_OK);
	snprintf(json, sizeof(json), "{\"root\":\"%s\"}", t_path("gonecfg"));
	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_CONFIG, json, &cfg, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(t_plugin->state->health(st, &lat, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(t_plugin->config->health(cfg, &lat, &err), PERSIST_OK);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", t_path("gone"), t_path("gonecfg"));
	CU_ASSERT_EQUAL(system(cmd), 0);
	CU_ASSERT_EQUAL(t_plugin->state->health(st, &lat, &err), PERSIST_EUNAVAIL);
	CU_ASSERT(strstr(err.msg, t_path("gone")) != NULL);
	CU_ASSERT_EQUAL(t_plugin->config->health(cfg, &lat, &err), PERSIST_EUNAVAIL);
	CU_ASSERT(strstr(err.msg, t_path("gonecfg")) != NULL);
	CU_ASSERT_NOT_EQUAL(t_plugin->state->incr(st, "c", "k", 1, NULL, &err), PERSIST_OK);
	t_close(PERSIST_KIND_STATE, st);
	t_close(PERSIST_KIND_CONFIG, cfg);
}

/* The tests, in the order they run. */
static const struct t_case cases[] = {
	{ "ENOSPC: configuration", test_enospc_config },
	{ "ENOSPC: logs and counters", test_enospc_state },
	{ "read-only and uncreatable root", test_unwritable_root },
	{ "root removed while open", test_root_removed },
	{ NULL, NULL },
};

int main(void)
{
	return t_cunit_run("filesystem bad disks", suite_init, suite_clean, cases);
}
