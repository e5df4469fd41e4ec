/*
 * plugins/filesystem/test-fs-config.c - the filesystem provider's
 * configuration store, called directly through its ops table: documents
 * and ETags, folders, compare-and-swap (also across processes), TTL
 * sidecars, key checks and symlinks, broken JSON on disk, huge and binary
 * values, config options, and inotify change notification (external
 * rename, in-place write, identical rewrite, subfolders, deletion, expiry).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <persist/persist.h>
#include "../../t/lib/cunit-suite.h"
#include "t-fs-host.h"

#define OPS (t_plugin->config)

static void *cfg;          /* store on root "cfg" */
static char self_exe[4096]; /* this program, to run children */
static char cfg_json[4200];

/* Open the shared store used by most tests. */
static int suite_init(void)
{
	struct persist_error err;

	t_load_plugin();
	snprintf(cfg_json, sizeof(cfg_json), "{\"root\":\"%s\"}", t_path("cfg"));
	if (t_open(PERSIST_KIND_CONFIG, cfg_json, &cfg, &err) != PERSIST_OK) {
		fprintf(stderr, "open: %s\n", err.msg);
		return 1;
	}
	return 0;
}

/* Close it. */
static void suite_clean_close(void)
{
	t_close(PERSIST_KIND_CONFIG, cfg);
}

static int suite_clean(void)
{
	suite_clean_close();
	t_unload_plugin();
	return 0;
}

/* set with optional if_match/ttl; status. */
static int cset(void *store, const char *key, const char *json,
		const char *if_match, int64_t ttl, char etag_r[PERSIST_ETAG_MAX],
		struct persist_error *err)
{
	struct persist_write_opts o = { sizeof(o), if_match, ttl };
	char etag[PERSIST_ETAG_MAX];

	return OPS->set(store, key, json, strlen(json), &o,
			etag_r != NULL ? etag_r : etag, err);
}

struct keys { char *k[64]; int n; };

/* Collect listed keys. */
static int collect(void *ctx, const struct persist_item *it)
{
	struct keys *ks = ctx;
	if (ks->n < 64)
		ks->k[ks->n++] = strdup(it->key);
	return 0;
}

/* True when key is among the listed keys (and frees them). */
static int listed(void *store, const char *key)
{
	struct keys ks = { { 0 }, 0 };
	struct persist_error err;
	int found = 0;

	CU_ASSERT_EQUAL(OPS->list(store, collect, &ks, &err), PERSIST_OK);
	for (int i = 0; i < ks.n; i++) {
		found |= strcmp(ks.k[i], key) == 0;
		free(ks.k[i]);
	}
	return found;
}

/* Documents are plain files; ETags follow content. */
static void test_basic(void)
{
	struct persist_error err;
	char e1[PERSIST_ETAG_MAX], e2[PERSIST_ETAG_MAX], eg[PERSIST_ETAG_MAX];
	char *data, *file;
	int st;

	CU_ASSERT_EQUAL(cset(cfg, "apps", "{\"a\":1}", NULL, 0, e1, &err), PERSIST_OK);
	file = t_read_file(t_path("cfg/apps.json"), NULL);
	CU_ASSERT_STRING_EQUAL(file, "{\"a\":1}");
	free(file);
	data = t_config_get(cfg, "apps", eg, &st);
	CU_ASSERT_EQUAL(st, PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(data, "{\"a\":1}");
	CU_ASSERT_STRING_EQUAL(eg, e1);
	free(data);
	CU_ASSERT_EQUAL(cset(cfg, "apps", "{\"a\":2}", NULL, 0, e2, &err), PERSIST_OK);
	CU_ASSERT_STRING_NOT_EQUAL(e1, e2);
	CU_ASSERT_EQUAL(cset(cfg, "apps", "{\"a\":1}", NULL, 0, e2, &err), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(e1, e2); /* same bytes, same ETag */

	/* folders */
	CU_ASSERT_EQUAL(cset(cfg, "groups/admins/x", "[1,2]", NULL, 0, NULL, &err), PERSIST_OK);
	file = t_read_file(t_path("cfg/groups/admins/x.json"), NULL);
	CU_ASSERT_PTR_NOT_NULL(file);
	free(file);
	CU_ASSERT(listed(cfg, "groups/admins/x"));
	CU_ASSERT(listed(cfg, "apps"));
	CU_ASSERT(!listed(cfg, ".lock"));

	/* delete */
	CU_ASSERT_EQUAL(OPS->del(cfg, "groups/admins/x", NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(OPS->del(cfg, "groups/admins/x", NULL, &err), PERSIST_ENOTFOUND);
	data = t_config_get(cfg, "groups/admins/x", NULL, &st);
	CU_ASSERT_PTR_NULL(data);
	CU_ASSERT_EQUAL(st, PERSIST_ENOTFOUND);
	CU_ASSERT(strstr(err.msg, "groups/admins/x") != NULL);

	/* health */
	{
		int64_t lat = -1;
		CU_ASSERT_EQUAL(OPS->health(cfg, &lat, &err), PERSIST_OK);
		CU_ASSERT(lat >= 0);
	}
}

/* if_match: compare-and-swap. */
static void test_cas(void)
{
	struct persist_error err;
	char e1[PERSIST_ETAG_MAX], e2[PERSIST_ETAG_MAX];

	CU_ASSERT_EQUAL(cset(cfg, "cas", "{\"v\":1}", NULL, 0, e1, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(cset(cfg, "cas", "{\"v\":2}", e1, 0, e2, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(cset(cfg, "cas", "{\"v\":3}", e1, 0, NULL, &err), PERSIST_ECONFLICT);
	CU_ASSERT(strstr(err.msg, "cas") != NULL);
	CU_ASSERT_EQUAL(cset(cfg, "cas-absent", "{}", e1, 0, NULL, &err), PERSIST_ECONFLICT);
	CU_ASSERT_EQUAL(OPS->del(cfg, "cas", e1, &err), PERSIST_ECONFLICT);
	CU_ASSERT_EQUAL(OPS->del(cfg, "cas", e2, &err), PERSIST_OK);
}

/* Child role "cas": each CAS increments of casmp, retrying conflicts. */
static int child_cas(int each)
{
	struct persist_error err;
	void *mine;
	int done = 0, st;

	if (t_open(PERSIST_KIND_CONFIG, cfg_json, &mine, &err) != PERSIST_OK)
		return 2;
	while (done < each) {
		char etag[PERSIST_ETAG_MAX], next[64];
		char *cur = t_config_get(mine, "casmp", etag, &st);
		int v;
		if (cur == NULL || sscanf(cur, "{\"n\":%d}", &v) != 1)
			return 3;
		free(cur);
		snprintf(next, sizeof(next), "{\"n\":%d}", v + 1);
		st = cset(mine, "casmp", next, etag, 0, NULL, &err);
		if (st == PERSIST_OK)
			done++;
		else if (st != PERSIST_ECONFLICT)
			return 4;
	}
	t_close(PERSIST_KIND_CONFIG, mine);
	return 0;
}

/* Child role "set": write the document "fromchild". */
static int child_set(void)
{
	struct persist_error err;
	void *other;

	if (t_open(PERSIST_KIND_CONFIG, cfg_json, &other, &err) != PERSIST_OK)
		return 2;
	if (cset(other, "fromchild", "{\"c\":1}", NULL, 0, NULL, &err) != PERSIST_OK)
		return 3;
	t_close(PERSIST_KIND_CONFIG, other);
	return 0;
}

/* Run this program again as a child with a role: a fresh process (a
   forked copy of a process with threads is not what users run, and TSan
   refuses to start threads in one). */
static pid_t spawn_child(const char *role, int n)
{
	pid_t pid = fork();

	if (pid == 0) {
		char num[16];
		snprintf(num, sizeof(num), "%d", n);
		execl(self_exe, "test-fs-config", "--child", role,
		      cfg_json, num, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Several processes doing CAS read-modify-write loops lose no update. */
static void test_cas_processes(void)
{
	struct persist_error err;
	enum { PROCS = 4, EACH = 40 };
	pid_t pids[PROCS];
	char *data;
	int st, n = -1;

	CU_ASSERT_EQUAL(cset(cfg, "casmp", "{\"n\":0}", NULL, 0, NULL, &err), PERSIST_OK);
	for (int p = 0; p < PROCS; p++)
		pids[p] = spawn_child("cas", EACH);
	for (int p = 0; p < PROCS; p++) {
		int status;
		CU_ASSERT_EQUAL(waitpid(pids[p], &status, 0), pids[p]);
		CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	data = t_config_get(cfg, "casmp", NULL, &st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_EQUAL(sscanf(data, "{\"n\":%d}", &n), 1);
	CU_ASSERT_EQUAL(n, PROCS * EACH);
	free(data);
}

/* TTL: invisible once expired, file stays plain JSON, edits drop it. */
static void test_ttl(void)
{
	struct persist_error err;
	char *data;
	int st, deleted = 0;

	t_changes_clear();
	CU_ASSERT_EQUAL(cset(cfg, "short", "{\"t\":1}", NULL, 300, NULL, &err), PERSIST_OK);
	data = t_read_file(t_path("cfg/short.json"), NULL);
	CU_ASSERT_STRING_EQUAL(data, "{\"t\":1}");
	free(data);
	data = t_config_get(cfg, "short", NULL, &st);
	CU_ASSERT_EQUAL(st, PERSIST_OK);
	free(data);
	CU_ASSERT(listed(cfg, "short"));
	ph_sleep_ms(400);
	data = t_config_get(cfg, "short", NULL, &st);
	CU_ASSERT_PTR_NULL(data);
	CU_ASSERT_EQUAL(st, PERSIST_ENOTFOUND);
	CU_ASSERT(!listed(cfg, "short"));
	/* the watcher reclaims it and notifies the deletion */
	CU_ASSERT(t_wait_change("short", 3000, NULL, &deleted));
	while (!deleted && t_wait_change("short", 3000, NULL, &deleted))
		;
	CU_ASSERT(deleted);
	ph_sleep_ms(100);
	CU_ASSERT_NOT_EQUAL(access(t_path("cfg/short.json"), F_OK), 0);

	/* an edit by hand makes a new document without the TTL */
	CU_ASSERT_EQUAL(cset(cfg, "edited", "{\"t\":1}", NULL, 300, NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(t_write_file(t_path("cfg/edited.json"), "{\"t\":2}", 7), 0);
	ph_sleep_ms(400);
	data = t_config_get(cfg, "edited", NULL, &st);
	CU_ASSERT_EQUAL(st, PERSIST_OK);
	free(data);
	/* a set without TTL clears it */
	CU_ASSERT_EQUAL(cset(cfg, "cleared", "{}", NULL, 200, NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(cset(cfg, "cleared", "{}", NULL, 0, NULL, &err), PERSIST_OK);
	ph_sleep_ms(300);
	data = t_config_get(cfg, "cleared", NULL, &st);
	CU_ASSERT_EQUAL(st, PERSIST_OK);
	free(data);
	CU_ASSERT_NOT_EQUAL(access(t_path("cfg/.cleared.json.ttl"), F_OK), 0);
	CU_ASSERT_EQUAL(cset(cfg, "neg", "{}", NULL, -5, NULL, &err), PERSIST_EINVAL);
}

/* Expiry of key through get (-1 when get fails). */
static int64_t doc_expiry(void *store, const char *key)
{
	struct persist_error err;
	struct persist_value v;

	memset(&v, 0, sizeof(v));
	if (OPS->get(store, key, &v, &err) != PERSIST_OK)
		return -1;
	free(v.data);
	return v.expires_ms;
}

/* A TTL of INT64_MAX (or INT64_MAX - 1) keeps the document for good (the
   expiry saturates at INT64_MAX); expiries in a sidecar of any size, even
   9e18 ms or past INT64_MAX, are read without overflow, by get and by the
   watcher (which schedules them), in this store and in one opened on
   them. */
static void test_huge_ttl(void)
{
	static const struct { const char *num; int64_t want; } side[] = {
		{ "9000000000000000000", 9000000000000000000 },
		{ "99999999999999999999", INT64_MAX },
		{ "9223372036854775807", INT64_MAX },
		{ "-9000000000000000000", 0 },
		{ "9e18", 0 },
	};
	struct persist_error err;
	char etag[PERSIST_ETAG_MAX], text[256];
	void *other;
	char *data;
	int st;

	CU_ASSERT_EQUAL(cset(cfg, "forever", "{\"v\":\"old\"}", NULL, 0, NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(cset(cfg, "forever", "{\"v\":\"new\"}", NULL, INT64_MAX, etag, &err), PERSIST_OK);
	data = t_config_get(cfg, "forever", NULL, &st);
	CU_ASSERT_EQUAL(st, PERSIST_OK);
	CU_ASSERT(data != NULL && strcmp(data, "{\"v\":\"new\"}") == 0);
	free(data);
	CU_ASSERT_EQUAL(doc_expiry(cfg, "forever"), INT64_MAX);
	CU_ASSERT_EQUAL(cset(cfg, "forever", "{\"v\":\"newer\"}", NULL, INT64_MAX - 1, etag, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(doc_expiry(cfg, "forever"), INT64_MAX);
	CU_ASSERT(listed(cfg, "forever"));

	/* sidecars written by hand; the watcher of this store sees each one */
	for (size_t i = 0; i < sizeof(side) / sizeof(side[0]); i++) {
		int n = snprintf(text, sizeof(text), "{\"%s\":%s}\n", etag, side[i].num);
		CU_ASSERT_EQUAL(t_write_file(t_path("cfg/.forever.json.ttl"), text, (size_t)n), 0);
		ph_sleep_ms(150);
		CU_ASSERT_EQUAL(doc_expiry(cfg, "forever"), side[i].want);
		CU_ASSERT(listed(cfg, "forever"));
	}
	/* a store opened on such a sidecar schedules it at once */
	{
		int n = snprintf(text, sizeof(text), "{\"%s\":9000000000000000000}\n", etag);
		CU_ASSERT_EQUAL(t_write_file(t_path("cfg/.forever.json.ttl"), text, (size_t)n), 0);
	}
	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_CONFIG, cfg_json, &other, &err), PERSIST_OK);
	ph_sleep_ms(150);
	CU_ASSERT_EQUAL(doc_expiry(other, "forever"), 9000000000000000000);
	t_close(PERSIST_KIND_CONFIG, other);
	CU_ASSERT_EQUAL(OPS->del(cfg, "forever", NULL, &err), PERSIST_OK);
}

/* A key of `depth` folders: "d0/d1/.../<last>" (malloc'ed). */
static char *deep_key(int depth, const char *fmt, const char *last)
{
	char *key = malloc(8 * (size_t)depth + strlen(last) + 1);
	size_t n = 0;

	for (int i = 0; i < depth; i++)
		n += (size_t)sprintf(key + n, fmt, i % 10);
	strcpy(key + n, last);
	return key;
}

/* Deep keys: whatever set accepts, get reads, list lists and the watcher
   announces, down to the deepest key (a key of PERSIST_KEY_MAX bytes,
   PERSIST_KEY_MAX / 2 - 1 folders deep); one byte more is refused by set;
   a document deeper than any key, made by hand, is neither listed nor an
   error. */
static void test_deep_keys(void)
{
	const int max_depth = PERSIST_KEY_MAX / 2 - 1;
	struct persist_error err;
	char json[4400], etag[PERSIST_ETAG_MAX], got[PERSIST_ETAG_MAX];
	char *k100, *kmax, *ktoo, *data;
	void *s;
	int st, deleted;

	snprintf(json, sizeof(json), "{\"root\":\"%s\"}", t_path("deep"));
	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_CONFIG, json, &s, &err), PERSIST_OK);
	t_changes_clear();
	k100 = deep_key(100, "f%d/", "doc");
	kmax = deep_key(max_depth, "%d/", "xy");
	ktoo = deep_key(max_depth + 1, "%d/", "x");
	CU_ASSERT_EQUAL(strlen(kmax), PERSIST_KEY_MAX);
	CU_ASSERT_EQUAL(strlen(ktoo), PERSIST_KEY_MAX + 1);

	CU_ASSERT_EQUAL(cset(s, k100, "{\"d\":100}", NULL, 0, etag, &err), PERSIST_OK);
	CU_ASSERT(t_wait_change(k100, 3000, got, &deleted));
	CU_ASSERT_STRING_EQUAL(got, etag);
	data = t_config_get(s, k100, NULL, &st);
	CU_ASSERT_EQUAL(st, PERSIST_OK);
	free(data);
	CU_ASSERT(listed(s, k100));

	CU_ASSERT_EQUAL(cset(s, kmax, "{\"d\":255}", NULL, 0, etag, &err), PERSIST_OK);
	CU_ASSERT(t_wait_change(kmax, 3000, got, &deleted));
	CU_ASSERT_STRING_EQUAL(got, etag);
	data = t_config_get(s, kmax, NULL, &st);
	CU_ASSERT_EQUAL(st, PERSIST_OK);
	free(data);
	CU_ASSERT(listed(s, kmax));
	/* a document written there by hand is announced too */
	{
		char *file = malloc(strlen(t_path("deep")) + strlen(kmax) + 16);
		sprintf(file, "%s/%s.json", t_path("deep"), kmax);
		CU_ASSERT_EQUAL(t_write_file(file, "{\"by\":\"hand\"}", 13), 0);
		ph_host.etag("{\"by\":\"hand\"}", 13, etag);
		CU_ASSERT(t_wait_change(kmax, 3000, got, &deleted));
		CU_ASSERT_STRING_EQUAL(got, etag);
		free(file);
	}

	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(cset(s, ktoo, "{}", NULL, 0, NULL, &err), PERSIST_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "at most"));
	data = t_config_get(s, ktoo, NULL, &st);
	CU_ASSERT_EQUAL(st, PERSIST_EINVAL);
	/* deeper than any key, by hand: not listed, and the listing works */
	{
		char *file = malloc(strlen(t_path("deep")) + strlen(ktoo) + 16);
		char *slash;
		sprintf(file, "%s/%s.json", t_path("deep"), ktoo);
		for (slash = file + strlen(t_path("deep")) + 1;
		     (slash = strchr(slash, '/')) != NULL; slash++) {
			*slash = '\0';
			(void)mkdir(file, 0755);
			*slash = '/';
		}
		CU_ASSERT_EQUAL(t_write_file(file, "{}", 2), 0);
		free(file);
		CU_ASSERT(!listed(s, ktoo));
		CU_ASSERT(listed(s, kmax));
	}
	CU_ASSERT_EQUAL(OPS->del(s, k100, NULL, &err), PERSIST_OK);
	CU_ASSERT(!listed(s, k100));
	t_close(PERSIST_KIND_CONFIG, s);
	free(k100);
	free(kmax);
	free(ktoo);
}

/* Keys that could leave the root are refused, naming the key. */
static void test_bad_keys(void)
{
	static const char *bad[] = {
		"../x", "/abs", "a\\b", "a//b", "a/", ".hidden", "a/../b",
		"..", ".", "a/./b", "x/.y", "", "bad\x01key", "bad\xff",
	};
	struct persist_error err;
	char big[1024];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct persist_value v;
		memset(&err, 0, sizeof(err));
		CU_ASSERT_EQUAL(OPS->get(cfg, bad[i], &v, &err), PERSIST_EINVAL);
		CU_ASSERT(strstr(err.msg, "invalid configuration key") != NULL);
		CU_ASSERT_EQUAL(cset(cfg, bad[i], "{}", NULL, 0, NULL, &err), PERSIST_EINVAL);
		CU_ASSERT_EQUAL(OPS->del(cfg, bad[i], NULL, &err), PERSIST_EINVAL);
	}
	CU_ASSERT_EQUAL(cset(cfg, "../x", "{}", NULL, 0, NULL, &err), PERSIST_EINVAL);
	CU_ASSERT(strstr(err.msg, "\"../x\"") != NULL);
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(cset(cfg, big, "{}", NULL, 0, NULL, &err), PERSIST_EINVAL);
	memset(big, 'k', 300);
	big[300] = '\0';
	CU_ASSERT_EQUAL(cset(cfg, big, "{}", NULL, 0, NULL, &err), PERSIST_EINVAL);
}

/* True when the kernel (or valgrind) knows openat2(). */
static int have_openat2(void)
{
	return !(syscall(SYS_openat2, AT_FDCWD, ".", NULL, 0) < 0 && errno == ENOSYS);
}

/* Symlinks leading outside the root are refused; inside ones work. */
static void test_symlinks(void)
{
	struct persist_error err;
	char *data;
	int st;

	CU_ASSERT_EQUAL(t_write_file(t_path("outside.json"), "{\"secret\":1}", 12), 0);
	CU_ASSERT_EQUAL(mkdir(t_path("outdir"), 0755), 0);
	CU_ASSERT_EQUAL(t_write_file(t_path("outdir/x.json"), "{}", 2), 0);
	CU_ASSERT_EQUAL(symlink(t_path("outside.json"), t_path("cfg/evil.json")), 0);
	CU_ASSERT_EQUAL(symlink("../outdir", t_path("cfg/evildir")), 0);

	data = t_config_get(cfg, "evil", NULL, &st);
	CU_ASSERT_PTR_NULL(data);
	CU_ASSERT_EQUAL(st, PERSIST_EINVAL);
	data = t_config_get(cfg, "evildir/x", NULL, &st);
	CU_ASSERT_PTR_NULL(data);
	CU_ASSERT_EQUAL(st, PERSIST_EINVAL);
	CU_ASSERT_EQUAL(cset(cfg, "evildir/y", "{}", NULL, 0, NULL, &err), PERSIST_EINVAL);
	CU_ASSERT(strstr(err.msg, "evildir/y") != NULL);
	CU_ASSERT_NOT_EQUAL(access(t_path("outdir/y.json"), F_OK), 0);
	CU_ASSERT(!listed(cfg, "evil"));
	/* a set through the symlink is refused too, the target untouched */
	CU_ASSERT_EQUAL(cset(cfg, "evil", "{\"mine\":1}", NULL, 0, NULL, &err), PERSIST_EINVAL);
	CU_ASSERT(strstr(err.msg, "\"evil\"") != NULL);
	CU_ASSERT_EQUAL(OPS->del(cfg, "evil", NULL, &err), PERSIST_EINVAL);
	data = t_read_file(t_path("outside.json"), NULL);
	CU_ASSERT_STRING_EQUAL(data, "{\"secret\":1}");
	free(data);
	/* a symlink that stays inside the root is followed where openat2()
	   exists; without it (old kernels, valgrind) every symlink is refused */
	CU_ASSERT_EQUAL(cset(cfg, "target", "{\"t\":1}", NULL, 0, NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(symlink("target.json", t_path("cfg/alias.json")), 0);
	data = t_config_get(cfg, "alias", NULL, &st);
	if (have_openat2()) {
		CU_ASSERT_EQUAL(st, PERSIST_OK);
		CU_ASSERT(data != NULL && strcmp(data, "{\"t\":1}") == 0);
	} else {
		CU_ASSERT_EQUAL(st, PERSIST_EINVAL);
	}
	free(data);
	OPS->del(cfg, "alias", NULL, &err);
}

/* Broken JSON on disk: PERSIST_ECORRUPT with key and parser message. */
static void test_broken_json(void)
{
	struct persist_error err;
	struct persist_value v;
	char etag[PERSIST_ETAG_MAX];

	CU_ASSERT_EQUAL(t_write_file(t_path("cfg/broken.json"), "{\"a\": [1, 2", 11), 0);
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(OPS->get(cfg, "broken", &v, &err), PERSIST_ECORRUPT);
	CU_ASSERT(strstr(err.msg, "\"broken\"") != NULL);
	CU_ASSERT(strstr(err.msg, "not valid JSON") != NULL);
	CU_ASSERT(strstr(err.msg, "at byte") != NULL);
	CU_ASSERT_EQUAL(t_write_file(t_path("cfg/broken.json"), "{} trailing", 11), 0);
	CU_ASSERT_EQUAL(OPS->get(cfg, "broken", &v, &err), PERSIST_ECORRUPT);
	CU_ASSERT_EQUAL(t_write_file(t_path("cfg/broken.json"), "", 0), 0);
	CU_ASSERT_EQUAL(OPS->get(cfg, "broken", &v, &err), PERSIST_ECORRUPT);
	CU_ASSERT(listed(cfg, "broken"));
	/* an administrator (or the API) can repair it */
	CU_ASSERT_EQUAL(cset(cfg, "broken", "{\"ok\":true}", NULL, 0, etag, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(OPS->get(cfg, "broken", &v, &err), PERSIST_OK);
	free(v.data);
	/* a directory where a document should be */
	CU_ASSERT_EQUAL(mkdir(t_path("cfg/isdir.json"), 0755), 0);
	CU_ASSERT_EQUAL(OPS->get(cfg, "isdir", &v, &err), PERSIST_ECORRUPT);
	CU_ASSERT(strstr(err.msg, "isdir") != NULL);
	/* a FIFO must not hang the reader */
	CU_ASSERT_EQUAL(mkfifo(t_path("cfg/fifo.json"), 0644), 0);
	CU_ASSERT_EQUAL(OPS->get(cfg, "fifo", &v, &err), PERSIST_ECORRUPT);
	unlink(t_path("cfg/fifo.json"));
}

/* Huge documents round-trip; binary and invalid JSON are refused. */
static void test_huge_binary(void)
{
	struct persist_error err;
	struct persist_write_opts o = { sizeof(o), NULL, 0 };
	char etag[PERSIST_ETAG_MAX];
	struct persist_value v;
	size_t n = 8 * 1024 * 1024, i;
	char *big = malloc(n + 1);
	static const char bin[] = { '{', 0, 1, (char)0xff, '}' };

	big[0] = '[';
	for (i = 1; i + 2 < n; i += 2)
		memcpy(big + i, "1,", 2);
	big[i - 1] = '1';
	big[i] = ']';
	n = i + 1;
	big[n] = '\0';
	CU_ASSERT_EQUAL(OPS->set(cfg, "huge", big, n, &o, etag, &err), PERSIST_OK);
	memset(&v, 0, sizeof(v));
	CU_ASSERT_EQUAL(OPS->get(cfg, "huge", &v, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(v.len, n);
	CU_ASSERT(v.data != NULL && memcmp(v.data, big, n) == 0 && ((char *)v.data)[n] == '\0');
	CU_ASSERT_STRING_EQUAL(v.etag, etag);
	free(v.data);
	free(big);

	CU_ASSERT_EQUAL(OPS->set(cfg, "bin", bin, sizeof(bin), &o, etag, &err), PERSIST_EINVAL);
	CU_ASSERT(strstr(err.msg, "\"bin\"") != NULL);
	CU_ASSERT_EQUAL(OPS->set(cfg, "bin", "not json", 8, &o, etag, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(OPS->set(cfg, "bin", "", 0, &o, etag, &err), PERSIST_EINVAL);
	/* deep nesting is valid JSON */
	{
		char deep[2 * 300 + 1];
		memset(deep, '[', 300);
		memset(deep + 300, ']', 300);
		deep[600] = '\0';
		CU_ASSERT_EQUAL(OPS->set(cfg, "deep", deep, 600, &o, etag, &err), PERSIST_OK);
		memset(&v, 0, sizeof(v));
		CU_ASSERT_EQUAL(OPS->get(cfg, "deep", &v, &err), PERSIST_OK);
		free(v.data);
	}
	/* UTF-8 and scalars */
	CU_ASSERT_EQUAL(cset(cfg, "unicode", "{\"name\":\"Zürich ✓\"}", NULL, 0, NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(cset(cfg, "scalar", "42", NULL, 0, NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(OPS->get(cfg, "scalar", &v, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(v.len, 2);
	free(v.data);
}

/* Config options: unknown keys and wrong values are refused. */
static void test_options(void)
{
	struct persist_error err;
	void *s;
	char json[4400];

	CU_ASSERT_EQUAL(t_open(PERSIST_KIND_CONFIG, "{\"rot\":\"x\"}", &s, &err), PERSIST_ECONFIG);
	CU_ASSERT(strstr(err.msg, "\"rot\"") != NULL);
	snprintf(json, sizeof(json), "{\"root\":\"%s\",\"fsync\":\"sometimes\"}", t_path("o1"));
	CU_ASSERT_EQUAL(t_open(PERSIST_KIND_CONFIG, json, &s, &err), PERSIST_ECONFIG);
	CU_ASSERT(strstr(err.msg, "fsync") != NULL);
	CU_ASSERT_EQUAL(t_open(PERSIST_KIND_CONFIG, "{\"root\":5}", &s, &err), PERSIST_ECONFIG);
	CU_ASSERT(strstr(err.msg, "root") != NULL);
	CU_ASSERT_EQUAL(t_open(PERSIST_KIND_CONFIG, "{\"root\":\"\"}", &s, &err), PERSIST_ECONFIG);
	CU_ASSERT_EQUAL(t_open(PERSIST_KIND_CONFIG, "{\"root\":", &s, &err), PERSIST_ECONFIG);
	CU_ASSERT_EQUAL(t_open(PERSIST_KIND_CONFIG, "[1]", &s, &err), PERSIST_ECONFIG);
	/* values of the wrong type or out of any range name their key */
	{
		static const struct { const char *json, *key; } wrong[] = {
			{ "{\"fsync\":1}", "\"fsync\"" },
			{ "{\"fsync\":1e400}", "\"fsync\"" },
			{ "{\"fsync\":null}", "\"fsync\"" },
			{ "{\"root\":9223372036854775808}", "\"root\"" },
			{ "{\"root\":-1e23}", "\"root\"" },
			{ "{\"root\":true}", "\"root\"" },
			{ "{\"root\":[\"a\"]}", "\"root\"" },
			{ "{\"root\":\"a\\u0000b\"}", "\"root\"" },
		};
		for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
			memset(&err, 0, sizeof(err));
			CU_ASSERT_EQUAL(t_open(PERSIST_KIND_CONFIG, wrong[i].json, &s, &err), PERSIST_ECONFIG);
			CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, wrong[i].key));
			CU_ASSERT_EQUAL(t_open(PERSIST_KIND_STATE, wrong[i].json, &s, &err), PERSIST_ECONFIG);
			CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, wrong[i].key));
		}
	}

	/* a missing root is created with its parents */
	snprintf(json, sizeof(json), "{\"root\":\"%s\",\"fsync\":\"always\"}", t_path("new/deep/root"));
	CU_ASSERT_EQUAL(t_open(PERSIST_KIND_CONFIG, json, &s, &err), PERSIST_OK);
	if (err.code == PERSIST_OK) {
		struct stat sb;
		CU_ASSERT_EQUAL(stat(t_path("new/deep/root"), &sb), 0);
		CU_ASSERT_EQUAL(cset(s, "x", "{}", NULL, 0, NULL, &err), PERSIST_OK);
		t_close(PERSIST_KIND_CONFIG, s);
	}
	snprintf(json, sizeof(json), "{\"root\":\"%s\",\"fsync\":\"never\"}", t_path("never"));
	CU_ASSERT_EQUAL(t_open(PERSIST_KIND_CONFIG, json, &s, &err), PERSIST_OK);
	if (err.code == PERSIST_OK)
		t_close(PERSIST_KIND_CONFIG, s);
	/* the parent is a file: clear error naming the path */
	CU_ASSERT_EQUAL(t_write_file(t_path("afile"), "x", 1), 0);
	snprintf(json, sizeof(json), "{\"root\":\"%s\"}", t_path("afile/sub"));
	CU_ASSERT_EQUAL(t_open(PERSIST_KIND_CONFIG, json, &s, &err), PERSIST_EIO);
	CU_ASSERT(strstr(err.msg, t_path("afile/sub")) != NULL);
	snprintf(json, sizeof(json), "{\"root\":\"%s\"}", t_path("afile"));
	CU_ASSERT_EQUAL(t_open(PERSIST_KIND_CONFIG, json, &s, &err), PERSIST_EIO);
	CU_ASSERT(strstr(err.msg, t_path("afile")) != NULL);
}

/* Write path via a temporary file + rename, like an editor. */
static void editor_write(const char *path, const char *text)
{
	char tmp[4200];

	snprintf(tmp, sizeof(tmp), "%s.swp~", path);
	CU_ASSERT_EQUAL(t_write_file(tmp, text, strlen(text)), 0);
	CU_ASSERT_EQUAL(rename(tmp, path), 0);
}

/* inotify: other writers' changes reach config_changed. */
static void test_notify(void)
{
	struct persist_error err;
	char etag[PERSIST_ETAG_MAX], want[PERSIST_ETAG_MAX];
	int deleted = -1;
	int64_t t0;

	CU_ASSERT_EQUAL(cset(cfg, "watched", "{\"v\":0}", NULL, 0, NULL, &err), PERSIST_OK);
	CU_ASSERT(t_wait_change("watched", 2000, NULL, NULL)); /* our own set */
	ph_sleep_ms(100);
	t_changes_clear();

	/* editor style: new file renamed over the old one */
	t0 = ph_monotonic_us();
	editor_write(t_path("cfg/watched.json"), "{\"v\":1}");
	ph_host.etag("{\"v\":1}", 7, want);
	CU_ASSERT(t_wait_change("watched", 2000, etag, &deleted));
	CU_ASSERT_STRING_EQUAL(etag, want);
	CU_ASSERT_EQUAL(deleted, 0);
	printf("\n    rename notified after %lld us ", (long long)(ph_monotonic_us() - t0));

	/* in-place write */
	t0 = ph_monotonic_us();
	CU_ASSERT_EQUAL(t_write_file(t_path("cfg/watched.json"), "{\"v\":2}", 7), 0);
	ph_host.etag("{\"v\":2}", 7, want);
	CU_ASSERT(t_wait_change("watched", 2000, etag, &deleted));
	CU_ASSERT_STRING_EQUAL(etag, want);
	printf("in-place notified after %lld us ", (long long)(ph_monotonic_us() - t0));

	/* a slow in-place writer: nothing half-written is announced */
	{
		int fd = open(t_path("cfg/watched.json"), O_WRONLY | O_TRUNC);
		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_EQUAL(write(fd, "{\"v\":", 5), 5);
		ph_sleep_ms(300);
		CU_ASSERT_EQUAL(write(fd, "3}", 2), 2);
		close(fd);
		ph_host.etag("{\"v\":3}", 7, want);
		CU_ASSERT(t_wait_change("watched", 2000, etag, &deleted));
		CU_ASSERT_STRING_EQUAL(etag, want);
		CU_ASSERT_EQUAL(t_write_file(t_path("cfg/watched.json"), "{\"v\":2}", 7), 0);
		ph_host.etag("{\"v\":2}", 7, want);
		CU_ASSERT(t_wait_change("watched", 2000, etag, &deleted));
		CU_ASSERT_STRING_EQUAL(etag, want);
	}

	/* identical rewrites, both ways, do not notify */
	editor_write(t_path("cfg/watched.json"), "{\"v\":2}");
	CU_ASSERT_EQUAL(t_write_file(t_path("cfg/watched.json"), "{\"v\":2}", 7), 0);
	CU_ASSERT_EQUAL(cset(cfg, "watched", "{\"v\":2}", NULL, 0, NULL, &err), PERSIST_OK);
	CU_ASSERT(!t_wait_change("watched", 400, NULL, NULL));

	/* vim-style: move the old file away, write a new one */
	CU_ASSERT_EQUAL(rename(t_path("cfg/watched.json"), t_path("cfg/watched.json~")), 0);
	CU_ASSERT_EQUAL(t_write_file(t_path("cfg/watched.json"), "{\"v\":2}", 7), 0);
	unlink(t_path("cfg/watched.json~"));
	CU_ASSERT(!t_wait_change("watched", 400, NULL, NULL));

	/* the same, back to back and many times: a watcher that reads a
	   document while the next rewrite is under way would announce the
	   truncated file in between (any notification for the key
	   since the last one consumed makes t_wait_change succeed) */
	for (int i = 0; i < 20; i++) {
		editor_write(t_path("cfg/watched.json"), "{\"v\":2}");
		CU_ASSERT_EQUAL(t_write_file(t_path("cfg/watched.json"), "{\"v\":2}", 7), 0);
	}
	CU_ASSERT(!t_wait_change("watched", 400, NULL, NULL));

	/* new subfolders are watched */
	CU_ASSERT_EQUAL(mkdir(t_path("cfg/sub"), 0755), 0);
	CU_ASSERT_EQUAL(mkdir(t_path("cfg/sub/deeper"), 0755), 0);
	ph_sleep_ms(50);
	CU_ASSERT_EQUAL(t_write_file(t_path("cfg/sub/deeper/doc.json"), "{}", 2), 0);
	CU_ASSERT(t_wait_change("sub/deeper/doc", 2000, etag, &deleted));
	CU_ASSERT_EQUAL(deleted, 0);
	editor_write(t_path("cfg/sub/deeper/doc.json"), "{\"x\":1}");
	CU_ASSERT(t_wait_change("sub/deeper/doc", 2000, etag, &deleted));

	/* deletion notifies with a NULL etag */
	CU_ASSERT_EQUAL(unlink(t_path("cfg/watched.json")), 0);
	CU_ASSERT(t_wait_change("watched", 2000, etag, &deleted));
	CU_ASSERT_EQUAL(deleted, 1);
	/* a whole folder moved away */
	CU_ASSERT_EQUAL(rename(t_path("cfg/sub"), t_path("sub-moved")), 0);
	CU_ASSERT(t_wait_change("sub/deeper/doc", 2000, etag, &deleted));
	CU_ASSERT_EQUAL(deleted, 1);
	/* and moved back in */
	CU_ASSERT_EQUAL(rename(t_path("sub-moved"), t_path("cfg/sub")), 0);
	CU_ASSERT(t_wait_change("sub/deeper/doc", 2000, etag, &deleted));
	CU_ASSERT_EQUAL(deleted, 0);

	/* a change made by another process */
	{
		pid_t pid = spawn_child("set", 0);
		CU_ASSERT(t_wait_change("fromchild", 3000, etag, &deleted));
		CU_ASSERT_EQUAL(deleted, 0);
		waitpid(pid, NULL, 0);
	}
	/* hidden files are not documents */
	CU_ASSERT_EQUAL(t_write_file(t_path("cfg/.hidden.json"), "{}", 2), 0);
	CU_ASSERT(!t_wait_change("hidden", 200, NULL, NULL));
	CU_ASSERT(!t_wait_change(".hidden", 1, NULL, NULL));
}

/* The tests, in the order they run. */
static const struct t_case cases[] = {
	{ "documents, folders, ETags", test_basic },
	{ "compare-and-swap", test_cas },
	{ "compare-and-swap across processes", test_cas_processes },
	{ "TTL sidecars", test_ttl },
	{ "TTL of INT64_MAX, huge expiries on disk", test_huge_ttl },
	{ "keys that leave the root", test_bad_keys },
	{ "deep keys: set, get, list and notify agree", test_deep_keys },
	{ "symlinks", test_symlinks },
	{ "broken JSON on disk", test_broken_json },
	{ "huge and binary values", test_huge_binary },
	{ "config options and root", test_options },
	{ "change notification", test_notify },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	/* readlink (not exec) of /proc/self/exe: valgrind reports the client */
	if (readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1) < 0)
		snprintf(self_exe, sizeof(self_exe), "%s", argv[0]);
	if (argc == 5 && strcmp(argv[1], "--child") == 0) {
		int ret;
		t_load_plugin();
		snprintf(cfg_json, sizeof(cfg_json), "%s", argv[3]);
		ret = strcmp(argv[2], "cas") == 0 ? child_cas(atoi(argv[4]))
						   : child_set();
		t_unload_plugin();
		return ret;
	}
	return t_cunit_run("filesystem config", suite_init, suite_clean, cases);
}
