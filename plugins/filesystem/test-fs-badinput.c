/*
 * plugins/filesystem/test-fs-badinput.c - the disk failing under the
 * provider: a full disk (a 64 KiB tmpfs: ENOSPC reported as PERSIST_EIO
 * with the errno, the previous document intact, no temporary left, every
 * acknowledged record and increment still there), a read-only root (a
 * read-only mount, and root's data read by an unprivileged user: opening
 * and reading work, every write is refused naming the root), a root that
 * cannot be created, and a root removed while open (health says so).
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
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <json-c/json.h>
#include <CUnit/Basic.h>
#include "../../t/lib/cunit-suite.h"
#include "t-fs-host.h"

static int mounted_full, mounted_ro, mounted_rodata;

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
	if (mkdir(t_path("rodata"), 0755) == 0 &&
	    mount("tmpfs", t_path("rodata"), "tmpfs", 0, "size=1m") == 0)
		mounted_rodata = 1;
	else
		fprintf(stderr, "cannot mount a tmpfs: %s\n", strerror(errno));
	return 0;
}

static int suite_clean(void)
{
	if (mounted_full)
		umount(t_path("full"));
	if (mounted_ro)
		umount(t_path("ro"));
	if (mounted_rodata)
		umount(t_path("rodata"));
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

/* Fill a configuration root and a state root with a little of
   everything, as a writer would, then close the stores. */
static void fill_roots(const char *cfg_root, const char *st_root)
{
	struct persist_write_opts o = { sizeof(o), NULL, 0 };
	struct persist_write_opts ttl = { sizeof(ttl), NULL, 3600 * 1000 };
	struct persist_op op = { PERSIST_OP_INCR, "c", "n", NULL, 0, 1, 0 };
	struct persist_error err;
	char json[4200], etag[PERSIST_ETAG_MAX];
	void *s;

	snprintf(json, sizeof(json), "{\"root\":\"%s\"}", cfg_root);
	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_CONFIG, json, &s, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(t_plugin->config->set(s, "doc", "{\"v\":1}", 7, &o, etag, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(t_plugin->config->set(s, "a/b", "[1]", 3, &o, etag, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(t_plugin->config->set(s, "ttl", "{}", 2, &ttl, etag, &err), PERSIST_OK);
	t_close(PERSIST_KIND_CONFIG, s);
	snprintf(json, sizeof(json), "{\"root\":\"%s\"}", st_root);
	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_STATE, json, &s, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(t_plugin->state->set(s, "c", "k", "v", 1, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(t_plugin->state->incr(s, "c", "n", 41, NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(t_plugin->state->batch(s, &op, 1, sizeof(op), &err), PERSIST_OK);
	CU_ASSERT_EQUAL(t_plugin->state->append(s, "c", "{\"r\":1}", 7, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(t_plugin->state->append(s, "c", "{\"r\":2}", 7, &err), PERSIST_OK);
	t_close(PERSIST_KIND_STATE, s);
}

/* Count a log record (persist_emit_fn). */
static int count_item(void *ctx, const struct persist_item *item)
{
	(void)item;
	(*(int *)ctx)++;
	return 0;
}

/* Checks of a read-only pass over the roots fill_roots made.  They run in
   a forked child too, where CUnit cannot record, so each failure is
   printed and counted. */
static int ro_failures;
#define RO_CHECK(cond) \
	((cond) ? (void)0 : (void)(ro_failures++, \
		fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond)))

/* A write refused on a read-only root: PERSIST_EIO with the errno, naming
   the root and saying it is read-only, naming what was to be written. */
static void ro_refused(int ret, const struct persist_error *err, int want_errno,
		       const char *root, const char *what, int line)
{
	if (ret == PERSIST_EIO && err->sys_errno == want_errno &&
	    strstr(err->msg, root) != NULL && strstr(err->msg, "is read-only") != NULL &&
	    strstr(err->msg, what) != NULL)
		return;
	ro_failures++;
	fprintf(stderr, "%s:%d: write not refused as read-only: status %d, errno %d: %s\n",
		__FILE__, line, ret, err->sys_errno, err->msg);
}

/* Everything a reader does works on the roots fill_roots made, and every
   write is refused with want_errno (EROFS, EACCES), naming the root. */
static void ro_pass(const char *cfg_root, const char *st_root, int want_errno)
{
	struct persist_write_opts o = { sizeof(o), NULL, 0 };
	struct persist_op op = { PERSIST_OP_SET, "c", "k", "w", 1, 0, 0 };
	struct persist_error err;
	struct persist_value v;
	char json[4200], etag[PERSIST_ETAG_MAX];
	const char *root;
	int64_t n = 0, lat;
	int count;
	void *s;

	/* configuration */
	root = cfg_root;
	snprintf(json, sizeof(json), "{\"root\":\"%s\"}", cfg_root);
	RO_CHECK(t_open(PERSIST_KIND_CONFIG, json, &s, &err) == PERSIST_OK);
	if (err.code != PERSIST_OK) {
		fprintf(stderr, "open: %s\n", err.msg);
		return;
	}
	memset(&v, 0, sizeof(v));
	RO_CHECK(t_plugin->config->get(s, "doc", &v, &err) == PERSIST_OK &&
		 v.len == 7 && memcmp(v.data, "{\"v\":1}", 7) == 0);
	free(v.data);
	memset(&v, 0, sizeof(v));
	RO_CHECK(t_plugin->config->get(s, "a/b", &v, &err) == PERSIST_OK);
	free(v.data);
	memset(&v, 0, sizeof(v));
	RO_CHECK(t_plugin->config->get(s, "ttl", &v, &err) == PERSIST_OK && v.expires_ms > 0);
	free(v.data);
	RO_CHECK(t_plugin->config->get(s, "absent", &v, &err) == PERSIST_ENOTFOUND);
	count = 0;
	RO_CHECK(t_plugin->config->list(s, count_item, &count, &err) == PERSIST_OK && count == 3);
	RO_CHECK(t_plugin->config->health(s, &lat, &err) == PERSIST_OK);
	{
		struct persist_error e;
		int ret;

		memset(&e, 0, sizeof(e));
		ret = t_plugin->config->set(s, "doc", "{\"v\":2}", 7, &o, etag, &e);
		ro_refused(ret, &e, want_errno, root, "\"doc\"", __LINE__);
		memset(&e, 0, sizeof(e));
		ret = t_plugin->config->set(s, "new/one", "{}", 2, &o, etag, &e);
		ro_refused(ret, &e, want_errno, root, "\"new/one\"", __LINE__);
		memset(&e, 0, sizeof(e));
		ret = t_plugin->config->del(s, "doc", NULL, &e);
		ro_refused(ret, &e, want_errno, root, "\"doc\"", __LINE__);
	}
	memset(&v, 0, sizeof(v));
	RO_CHECK(t_plugin->config->get(s, "doc", &v, &err) == PERSIST_OK &&
		 v.len == 7 && memcmp(v.data, "{\"v\":1}", 7) == 0);
	free(v.data);
	t_close(PERSIST_KIND_CONFIG, s);

	/* state */
	root = st_root;
	snprintf(json, sizeof(json), "{\"root\":\"%s\"}", st_root);
	RO_CHECK(t_open(PERSIST_KIND_STATE, json, &s, &err) == PERSIST_OK);
	if (err.code != PERSIST_OK) {
		fprintf(stderr, "open: %s\n", err.msg);
		return;
	}
	memset(&v, 0, sizeof(v));
	RO_CHECK(t_plugin->state->get(s, "c", "k", &v, &err) == PERSIST_OK &&
		 v.len == 1 && memcmp(v.data, "v", 1) == 0);
	free(v.data);
	memset(&v, 0, sizeof(v));
	RO_CHECK(t_plugin->state->get(s, "c", "n", &v, &err) == PERSIST_OK &&
		 v.len == 2 && memcmp(v.data, "42", 2) == 0);
	free(v.data);
	RO_CHECK(t_plugin->state->get(s, "never", "k", &v, &err) == PERSIST_ENOTFOUND);
	count = 0;
	RO_CHECK(t_plugin->state->scan(s, "c", "", count_item, &count, &err) == PERSIST_OK && count == 2);
	count = 0;
	RO_CHECK(t_plugin->state->read_log(s, "c", 0, 0, count_item, &count, &err) == PERSIST_OK && count == 2);
	count = 0;
	RO_CHECK(t_plugin->state->read_log(s, "never", 0, 0, count_item, &count, &err) == PERSIST_OK && count == 0);
	RO_CHECK(t_plugin->state->health(s, &lat, &err) == PERSIST_OK);
	{
		struct persist_error e;
		int ret;

		memset(&e, 0, sizeof(e));
		ret = t_plugin->state->set(s, "c", "k", "w", 1, 0, &e);
		ro_refused(ret, &e, want_errno, root, "\"c\"", __LINE__);
		memset(&e, 0, sizeof(e));
		ret = t_plugin->state->incr(s, "c", "n", 1, &n, &e);
		ro_refused(ret, &e, want_errno, root, "\"c\"", __LINE__);
		memset(&e, 0, sizeof(e));
		ret = t_plugin->state->del(s, "c", "k", &e);
		ro_refused(ret, &e, want_errno, root, "\"c\"", __LINE__);
		memset(&e, 0, sizeof(e));
		ret = t_plugin->state->append(s, "c", "{}", 2, &e);
		ro_refused(ret, &e, want_errno, root, "\"c\"", __LINE__);
		memset(&e, 0, sizeof(e));
		ret = t_plugin->state->batch(s, &op, 1, sizeof(op), &e);
		ro_refused(ret, &e, want_errno, root, "\"c\"", __LINE__);
		memset(&e, 0, sizeof(e));
		ret = t_plugin->state->set(s, "never", "k", "w", 1, 0, &e);
		ro_refused(ret, &e, want_errno, root, "\"never\"", __LINE__);
		memset(&e, 0, sizeof(e));
		ret = t_plugin->state->append(s, "never", "{}", 2, &e);
		ro_refused(ret, &e, want_errno, root, "\"never\"", __LINE__);
	}
	memset(&v, 0, sizeof(v));
	RO_CHECK(t_plugin->state->get(s, "c", "n", &v, &err) == PERSIST_OK &&
		 v.len == 2 && memcmp(v.data, "42", 2) == 0);
	free(v.data);
	RO_CHECK(t_plugin->state->flush(s, &err) == PERSIST_OK);
	t_close(PERSIST_KIND_STATE, s);
}

/* A read-only filesystem (a tmpfs remounted read-only after it was
   filled): opening needs only read access, reads work, writes are refused
   with EROFS naming the root; an empty read-only root opens and is empty;
   a root that would have to be created there cannot be. */
static void test_readonly_root(void)
{
	struct persist_error err;
	struct persist_value v;
	char json[4200];
	void *s;

	CU_ASSERT_FATAL(mounted_rodata);
	fill_roots(t_path("rodata/cfg"), t_path("rodata/st"));
	CU_ASSERT_EQUAL_FATAL(mount(NULL, t_path("rodata"), NULL,
				    MS_REMOUNT | MS_RDONLY, NULL), 0);
	ro_failures = 0;
	ro_pass(t_path("rodata/cfg"), t_path("rodata/st"), EROFS);
	CU_ASSERT_EQUAL(ro_failures, 0);

	CU_ASSERT_FATAL(mounted_ro);
	snprintf(json, sizeof(json), "{\"root\":\"%s\"}", t_path("ro"));
	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_CONFIG, json, &s, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(t_plugin->config->get(s, "x", &v, &err), PERSIST_ENOTFOUND);
	t_close(PERSIST_KIND_CONFIG, s);
	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_STATE, json, &s, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(t_plugin->state->get(s, "c", "k", &v, &err), PERSIST_ENOTFOUND);
	CU_ASSERT_EQUAL(t_plugin->state->incr(s, "c", "k", 1, NULL, &err), PERSIST_EIO);
	CU_ASSERT_EQUAL(err.sys_errno, EROFS);
	CU_ASSERT(strstr(err.msg, t_path("ro")) != NULL);
	CU_ASSERT(strstr(err.msg, "read-only") != NULL);
	t_close(PERSIST_KIND_STATE, s);
	snprintf(json, sizeof(json), "{\"root\":\"%s\"}", t_path("ro/missing/root"));
	CU_ASSERT_EQUAL(t_open(PERSIST_KIND_CONFIG, json, &s, &err), PERSIST_EIO);
	CU_ASSERT(strstr(err.msg, "cannot create root directory") != NULL);
	CU_ASSERT(strstr(err.msg, t_path("ro/missing/root")) != NULL);
	CU_ASSERT_EQUAL(t_open(PERSIST_KIND_STATE, json, &s, &err), PERSIST_EIO);
	CU_ASSERT_EQUAL(err.sys_errno, EROFS);
}

/* An unprivileged user reading root's data (a forked child that drops to
   uid/gid 65534, "nobody"): everything it may read it reads, every write
   is refused with EACCES naming the root.  The data lives in a directory
   of its own under /tmp, which every user can reach. */
static void test_unprivileged_reader(void)
{
	char dir[] = "/tmp/persist-ro.XXXXXX", cfg_root[64], st_root[64];
	char cmd[128];
	int status = -1;
	pid_t pid;

	CU_ASSERT_FATAL(geteuid() == 0);
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	CU_ASSERT_EQUAL(chmod(dir, 0755), 0);
	snprintf(cfg_root, sizeof(cfg_root), "%s/cfg", dir);
	snprintf(st_root, sizeof(st_root), "%s/st", dir);
	umask(022);
	fill_roots(cfg_root, st_root);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0 || geteuid() != 65534) {
			fprintf(stderr, "cannot become uid 65534: %s\n", strerror(errno));
			_exit(98);
		}
		ro_failures = 0;
		ro_pass(cfg_root, st_root, EACCES);
		_exit(ro_failures > 90 ? 90 : ro_failures);
	}
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
	/* and root still writes there */
	{
		struct persist_error err;
		char json[128];
		void *s;

		snprintf(json, sizeof(json), "{\"root\":\"%s\"}", st_root);
		CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_STATE, json, &s, &err), PERSIST_OK);
		CU_ASSERT_EQUAL(t_plugin->state->incr(s, "c", "n", 1, NULL, &err), PERSIST_OK);
		t_close(PERSIST_KIND_STATE, s);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
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
	{ "read-only root: reads work, writes refused", test_readonly_root },
	{ "unprivileged reader of root's data", test_unprivileged_reader },
	{ "root removed while open", test_root_removed },
	{ NULL, NULL },
};

int main(void)
{
	return t_cunit_run("filesystem bad disks", suite_init, suite_clean, cases);
}
