/*
 * t/plugins/test-loader-unit.c - direct tests of the loader
 * (core/loader*.c), for what the host API cannot reach or cannot show:
 * the loader's own argument checks (which the settings parser pre-empts
 * with PERSIST_ECONFIG), the whole search order including file_dirs and
 * PERSIST_PLUGIN_PATH parsing, the registry (one object per file, hard
 * links, reference counts, concurrent acquires), check_kind, ownership,
 * and a FIFO named .so.
 *
 * Links the core's convenience library (core/libpersist-core.la) to call
 * the internal persist_loader_* functions.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <dlfcn.h>
#include <CUnit/Basic.h>
#include "cunit-suite.h"
#include "loader-private.h"
#include "fixture-dirs.h"

/* Check msg contains needle; print both when not. */
#define CHECK_MSG(msg, needle)                                                  \
	do {                                                                    \
		int found_ = strstr((msg), (needle)) != NULL;                   \
		if (!found_)                                                    \
			fprintf(stderr, "\n  message \"%s\"\n  lacks \"%s\"\n", \
				(msg), (needle));                               \
		CU_ASSERT(found_);                                              \
	} while (0)

/* A search of one API directory, without PERSIST_PLUGIN_PATH. */
static struct persist_search one_dir(const char *const *dir)
{
	struct persist_search s;

	memset(&s, 0, sizeof(s));
	s.api_dirs = dir;
	s.n_api_dirs = 1;
	s.no_env = 1;
	return s;
}

/* A directory holding badmagic under the name fixture_ok. */
static const char *decoy_dir(void)
{
	const char *dir = fx_make_dir(NULL, 0755, 0644);

	if (dir == NULL || fx_copy("fixture_badmagic", dir, "fixture_ok", 0644) < 0)
		return NULL;
	return dir;
}

/* The name rule, its boundaries, and a message that shows the name
   without letting control characters through. */
static void test_valid_name(void)
{
	static const char *const good[] = {
		"a", "memory", "redis", "s3", "fixture_ok", "_", "0",
		"a2345678901234567890123456789012",
	};
	static const char *const bad[] = {
		"", "a23456789012345678901234567890123", "Memory", "a-b", "a/b",
		"..", ".", "../a", "a.so", "a b", "caf\xc3\xa9", "a\nb",
	};
	struct persist_error err;

	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		CU_ASSERT_EQUAL(persist_loader_valid_name(good[i], &err), PERSIST_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		memset(&err, 0, sizeof(err));
		CU_ASSERT_EQUAL(persist_loader_valid_name(bad[i], &err), PERSIST_EINVAL);
		CU_ASSERT_EQUAL(err.code, PERSIST_EINVAL);
		CHECK_MSG(err.msg, "invalid provider name \"");
	}
	persist_loader_valid_name("a\nb", &err);
	CHECK_MSG(err.msg, "\"a?b\"");
	persist_loader_valid_name("../a", &err);
	CHECK_MSG(err.msg, "\"../a\"");
	CU_ASSERT_EQUAL(persist_loader_valid_name(NULL, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_loader_valid_name("x/y", NULL), PERSIST_EINVAL);
}

/* acquire refuses a bad name before touching any file, a relative or
   empty module, and missing arguments. */
static void test_acquire_arguments(void)
{
	struct persist_loaded_plugin *lp = (void *)&lp;
	struct persist_error err;
	char sub[PATH_MAX], module[PATH_MAX];
	const char *dir = fx_dir_with("fixture_ok");
	const char *subs[1] = { sub };
	struct persist_search s = one_dir(subs);

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	fx_fmt(sub, sizeof(sub), "%s/sub", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0755), 0);
	/* sub/../fixture_ok.so exists and is a good plugin */
	CU_ASSERT_EQUAL(persist_loader_acquire(&s, "../fixture_ok", NULL, &lp, &err),
			PERSIST_EINVAL);
	CHECK_MSG(err.msg, "\"../fixture_ok\"");
	CU_ASSERT_PTR_EQUAL(lp, (void *)&lp); /* untouched */

	CU_ASSERT_EQUAL(persist_loader_acquire(&s, "fixture_ok", "fixture_ok.so", &lp, &err),
			PERSIST_EINVAL);
	CHECK_MSG(err.msg, "module path \"fixture_ok.so\"");
	CU_ASSERT_EQUAL(persist_loader_acquire(&s, "fixture_ok", "", &lp, &err),
			PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_loader_acquire(NULL, "fixture_ok", NULL, &lp, &err),
			PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_loader_acquire(&s, "fixture_ok", NULL, NULL, &err),
			PERSIST_EINVAL);
	CU_ASSERT_PTR_EQUAL(lp, (void *)&lp);

	/* an inconsistent directory list */
	s.api_dirs = NULL;
	CU_ASSERT_EQUAL(persist_loader_acquire(&s, "fixture_ok", NULL, &lp, &err),
			PERSIST_EINVAL);
	subs[0] = NULL;
	s.api_dirs = subs;
	CU_ASSERT_EQUAL(persist_loader_acquire(&s, "fixture_ok", NULL, &lp, &err),
			PERSIST_EINVAL);

	/* an absolute module that is there */
	fx_fmt(module, sizeof(module), "%s/fixture_ok.so", dir);
	s.api_dirs = NULL;
	s.n_api_dirs = 0;
	CU_ASSERT_EQUAL_FATAL(persist_loader_acquire(&s, "fixture_ok", module, &lp, &err),
			      PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(lp->path, module);
	CU_ASSERT_STRING_EQUAL(lp->name, "fixture_ok");
	persist_loader_release(lp);
	persist_loader_release(NULL);
}

/* api_dirs, then PERSIST_PLUGIN_PATH, then file_dirs; no_env skips the
   environment; the first match wins. */
static void test_search_order(void)
{
	struct persist_loaded_plugin *lp;
	struct persist_error err;
	struct persist_search s;
	char want[PATH_MAX];
	const char *good = fx_dir_with("fixture_ok");
	const char *decoy = decoy_dir(), *decoy2 = decoy_dir();
	const char *a[1], *f[1];

	CU_ASSERT_PTR_NOT_NULL_FATAL(good);
	CU_ASSERT_PTR_NOT_NULL_FATAL(decoy);
	CU_ASSERT_PTR_NOT_NULL_FATAL(decoy2);
	memset(&s, 0, sizeof(s));
	s.api_dirs = a;
	s.file_dirs = f;
	fx_fmt(want, sizeof(want), "%s/fixture_ok.so", good);

	/* api beats env and file */
	a[0] = good; s.n_api_dirs = 1;
	f[0] = decoy2; s.n_file_dirs = 1;
	setenv("PERSIST_PLUGIN_PATH", decoy, 1);
	CU_ASSERT_EQUAL_FATAL(persist_loader_acquire(&s, "fixture_ok", NULL, &lp, &err),
			      PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(lp->path, want);
	persist_loader_release(lp);

	/* env beats file */
	s.n_api_dirs = 0;
	setenv("PERSIST_PLUGIN_PATH", good, 1);
	CU_ASSERT_EQUAL_FATAL(persist_loader_acquire(&s, "fixture_ok", NULL, &lp, &err),
			      PERSIST_OK);
	persist_loader_release(lp);
	setenv("PERSIST_PLUGIN_PATH", decoy, 1);
	f[0] = good;
	CU_ASSERT_EQUAL(persist_loader_acquire(&s, "fixture_ok", NULL, &lp, &err),
			PERSIST_EMAGIC);
	CHECK_MSG(err.msg, decoy);

	/* no_env: the file dirs are next */
	s.no_env = 1;
	CU_ASSERT_EQUAL_FATAL(persist_loader_acquire(&s, "fixture_ok", NULL, &lp, &err),
			      PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(lp->path, want);
	persist_loader_release(lp);

	/* api beats file */
	a[0] = decoy; s.n_api_dirs = 1;
	CU_ASSERT_EQUAL(persist_loader_acquire(&s, "fixture_ok", NULL, &lp, &err),
			PERSIST_EMAGIC);
	CHECK_MSG(err.msg, decoy);
	unsetenv("PERSIST_PLUGIN_PATH");
}

/* PERSIST_PLUGIN_PATH: empty and relative parts are skipped, trailing
   slashes are fine, relative parts are named in the not-found message. */
static void test_env_parsing(void)
{
	struct persist_loaded_plugin *lp;
	struct persist_error err;
	struct persist_search s;
	char env[2 * PATH_MAX], want[PATH_MAX];
	const char *good = fx_dir_with("fixture_ok");

	CU_ASSERT_PTR_NOT_NULL_FATAL(good);
	memset(&s, 0, sizeof(s));
	fx_fmt(env, sizeof(env), "::relative/dir:%s//:", good);
	fx_fmt(want, sizeof(want), "%s/fixture_ok.so", good);
	setenv("PERSIST_PLUGIN_PATH", env, 1);
	CU_ASSERT_EQUAL_FATAL(persist_loader_acquire(&s, "fixture_ok", NULL, &lp, &err),
			      PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(lp->path, want);
	persist_loader_release(lp);

	CU_ASSERT_EQUAL(persist_loader_acquire(&s, "nope", NULL, &lp, &err),
			PERSIST_ENOPLUGIN);
	CHECK_MSG(err.msg, "no provider \"nope\" (found: ");
	CHECK_MSG(err.msg, "fixture_ok");
	CHECK_MSG(err.msg, "; searched: ");
	CHECK_MSG(err.msg, good);
	CHECK_MSG(err.msg, "ignored: relative/dir.");
	/* the compiled-in directory is always searched last */
	CHECK_MSG(err.msg, PERSIST_PLUGIN_DIR);
	unsetenv("PERSIST_PLUGIN_PATH");
}

/* Many directories: the not-found message is cut, never overflows. */
static void test_long_not_found(void)
{
	struct persist_loaded_plugin *lp;
	struct persist_error err;
	struct persist_search s;
	const char *dirs[40];

	for (size_t i = 0; i < 40; i++) {
		dirs[i] = fx_dir_with(i % 2 ? "fixture_ok" : "fixture_badmagic");
		CU_ASSERT_PTR_NOT_NULL_FATAL(dirs[i]);
	}
	memset(&s, 0, sizeof(s));
	s.api_dirs = dirs;
	s.n_api_dirs = 40;
	s.no_env = 1;
	CU_ASSERT_EQUAL(persist_loader_acquire(&s, "nope", NULL, &lp, &err),
			PERSIST_ENOPLUGIN);
	CU_ASSERT(strlen(err.msg) < sizeof(err.msg));
	CHECK_MSG(err.msg, "no provider \"nope\" (found: ");
	CHECK_MSG(err.msg, "fixture_badmagic, fixture_ok");
}

/* One registry entry per file: a second acquire, even through a hard
   link elsewhere, shares it; the last release unloads. */
static void test_registry(void)
{
	struct persist_loaded_plugin *lp1, *lp2, *lp3;
	struct persist_error err;
	char path[PATH_MAX], link2[PATH_MAX];
	const char *dir = fx_dir_with("fixture_ok");
	const char *dir2 = fx_make_dir(NULL, 0755, 0644);
	const char *d1[1] = { dir }, *d2[1] = { dir2 };
	struct persist_search s1 = one_dir(d1), s2 = one_dir(d2);

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir2);
	fx_fmt(path, sizeof(path), "%s/fixture_ok.so", dir);
	fx_fmt(link2, sizeof(link2), "%s/fixture_ok.so", dir2);
	CU_ASSERT_EQUAL_FATAL(link(path, link2), 0);

	CU_ASSERT_EQUAL_FATAL(persist_loader_acquire(&s1, "fixture_ok", NULL, &lp1, &err),
			      PERSIST_OK);
	CU_ASSERT_EQUAL(lp1->refcount, 1);
	CU_ASSERT_PTR_NOT_NULL(lp1->dl);
	CU_ASSERT_PTR_NOT_NULL(lp1->desc);
	CU_ASSERT_EQUAL_FATAL(persist_loader_acquire(&s1, "fixture_ok", NULL, &lp2, &err),
			      PERSIST_OK);
	CU_ASSERT_PTR_EQUAL(lp1, lp2);
	CU_ASSERT_EQUAL(lp1->refcount, 2);
	/* the hard link is the same file: the same plugin, not a second init */
	CU_ASSERT_EQUAL_FATAL(persist_loader_acquire(&s2, "fixture_ok", NULL, &lp3, &err),
			      PERSIST_OK);
	CU_ASSERT_PTR_EQUAL(lp1, lp3);
	CU_ASSERT_EQUAL(lp1->refcount, 3);
	/* the loaded plugin under another name: still a name mismatch */
	CU_ASSERT_EQUAL(persist_loader_acquire(&s1, "fixture_xx", path, &lp2, &err),
			PERSIST_ENAME);
	CHECK_MSG(err.msg, "\"fixture_xx\"");
	CU_ASSERT_EQUAL(lp1->refcount, 3);

	persist_loader_release(lp3);
	persist_loader_release(lp2);
	CU_ASSERT(fx_mapped(path));
	persist_loader_release(lp1);
	CU_ASSERT(!fx_mapped(path));
}

#define N_THREADS 8

struct racer {
	struct persist_search *s;
	pthread_barrier_t *start;
	struct persist_loaded_plugin *lp;
	int status;
};

/* Acquire at the same moment as the other threads. */
static void *race(void *arg)
{
	struct racer *r = arg;
	struct persist_error err;

	pthread_barrier_wait(r->start);
	r->status = persist_loader_acquire(r->s, "fixture_ok", NULL, &r->lp, &err);
	return NULL;
}

/* Concurrent acquires of one plugin: one object, every reference
   counted. */
static void test_concurrent_acquire(void)
{
	pthread_barrier_t start;
	pthread_t th[N_THREADS];
	struct racer r[N_THREADS];
	char path[PATH_MAX];
	const char *dir = fx_dir_with("fixture_ok");
	const char *d[1] = { dir };
	struct persist_search s = one_dir(d);

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	fx_fmt(path, sizeof(path), "%s/fixture_ok.so", dir);
	pthread_barrier_init(&start, NULL, N_THREADS);
	for (int i = 0; i < N_THREADS; i++) {
		r[i] = (struct racer){ .s = &s, .start = &start, .status = -1 };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, race, &r[i]), 0);
	}
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	for (int i = 0; i < N_THREADS; i++) {
		CU_ASSERT_EQUAL(r[i].status, PERSIST_OK);
		CU_ASSERT_PTR_EQUAL(r[i].lp, r[0].lp);
	}
	if (r[0].status == PERSIST_OK)
		CU_ASSERT_EQUAL(r[0].lp->refcount, N_THREADS);
	for (int i = 0; i < N_THREADS; i++) {
		if (r[i].status == PERSIST_OK)
			persist_loader_release(r[i].lp);
	}
	CU_ASSERT(!fx_mapped(path));
}

/* check_kind: present and big enough, or which error. */
static void test_check_kind(void)
{
	struct persist_loaded_plugin *lp;
	struct persist_error err;
	const char *dir = fx_dir_with("fixture_ok"), *sdir = fx_dir_with("fixture_shortops");
	const char *d[1] = { dir }, *sd[1] = { sdir };
	struct persist_search s = one_dir(d), ss = one_dir(sd);
	char msg[PATH_MAX + 64];

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sdir);
	CU_ASSERT_EQUAL_FATAL(persist_loader_acquire(&s, "fixture_ok", NULL, &lp, &err),
			      PERSIST_OK);
	CU_ASSERT_EQUAL(persist_loader_check_kind(lp, PERSIST_KIND_CONFIG, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_loader_check_kind(lp, PERSIST_KIND_STATE, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_loader_check_kind(lp, PERSIST_KIND_SESSION, &err),
			PERSIST_ENOIFACE);
	fx_fmt(msg, sizeof(msg), "plugin \"fixture_ok\" (%s/fixture_ok.so) has no session interface",
	       dir);
	CHECK_MSG(err.msg, msg);
	CU_ASSERT_EQUAL(persist_loader_check_kind(lp, PERSIST_KIND_COUNT_, &err),
			PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_loader_check_kind(lp, (enum persist_kind)-1, &err),
			PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_loader_check_kind(NULL, PERSIST_KIND_STATE, &err),
			PERSIST_EINVAL);
	persist_loader_release(lp);

	/* loads (the descriptor is fine) but its state table is too short */
	CU_ASSERT_EQUAL_FATAL(persist_loader_acquire(&ss, "fixture_shortops", NULL, &lp, &err),
			      PERSIST_OK);
	CU_ASSERT_EQUAL(persist_loader_check_kind(lp, PERSIST_KIND_STATE, &err),
			PERSIST_EDESCRIPTOR);
	CHECK_MSG(err.msg, "state table is");
	CHECK_MSG(err.msg, "ABI 1.0 needs at least");
	persist_loader_release(lp);
}

/* Any non-NULL method: only its presence is checked, never called. */
static void any_method(void)
{
}

/* Put any_method in the slot at offset of a table. */
static void set_slot(void *table, size_t offset)
{
	void (*fn)(void) = any_method;

	memcpy((char *)table + offset, &fn, sizeof(fn));
}

/* Clear the slot at offset. */
static void clear_slot(void *table, size_t offset)
{
	void (*fn)(void) = NULL;

	memcpy((char *)table + offset, &fn, sizeof(fn));
}

/* The whole capability map of plugin.h, against tables built here: a
   table with every method passes whatever it claims of its kind's
   capabilities; without one method of a claimed capability it is
   refused naming both; a capability of another kind's table is refused;
   the capabilities that stand for no method pass on every table. */
static void test_cap_map(void)
{
	static const struct {
		enum persist_kind kind;
		uint64_t cap;
		const char *cap_name, *method;
		size_t offset;
	} map[] = {
#define M(k, cap, name, type, method) \
	{ k, cap, name, #method, offsetof(type, method) }
		M(PERSIST_KIND_CONFIG, PERSIST_CAP_TTL, "ttl", struct persist_config_ops, set),
		M(PERSIST_KIND_CONFIG, PERSIST_CAP_CAS, "cas", struct persist_config_ops, set),
		M(PERSIST_KIND_CONFIG, PERSIST_CAP_CAS, "cas", struct persist_config_ops, del),
		M(PERSIST_KIND_STATE, PERSIST_CAP_TTL, "ttl", struct persist_state_ops, set),
		M(PERSIST_KIND_STATE, PERSIST_CAP_ATOMIC_INCR, "atomic_incr", struct persist_state_ops, incr),
		M(PERSIST_KIND_STATE, PERSIST_CAP_APPEND_LOG, "append_log", struct persist_state_ops, append),
		M(PERSIST_KIND_STATE, PERSIST_CAP_APPEND_LOG, "append_log", struct persist_state_ops, read_log),
		M(PERSIST_KIND_STATE, PERSIST_CAP_BATCH, "batch", struct persist_state_ops, batch),
		M(PERSIST_KIND_SESSION, PERSIST_CAP_TTL, "ttl", struct persist_session_ops, put),
		M(PERSIST_KIND_SESSION, PERSIST_CAP_BROADCAST, "broadcast", struct persist_session_ops, broadcast),
#undef M
	};
	static const char *const kind_name[] = { "configuration", "state", "session" };
	const uint64_t free_caps = PERSIST_CAP_NOTIFY | PERSIST_CAP_THREADSAFE |
				   PERSIST_CAP_DURABLE | PERSIST_CAP_SHARED;
	struct persist_config_ops config;
	struct persist_state_ops state;
	struct persist_session_ops session;
	struct persist_plugin desc;
	struct persist_loaded_plugin lp;
	struct persist_error err;
	struct persist_ops_header *table[PERSIST_KIND_COUNT_] = {
		(void *)&config, (void *)&state, (void *)&session
	};
	size_t table_size[PERSIST_KIND_COUNT_] = {
		sizeof(config), sizeof(state), sizeof(session)
	};
	char want[160];

	memset(&desc, 0, sizeof(desc));
	desc.config = &config;
	desc.state = &state;
	desc.session = &session;
	memset(&lp, 0, sizeof(lp));
	lp.name = "capmap";
	lp.path = "/x/capmap.so";
	lp.desc = &desc;
	/* every slot after the header set */
	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		memset(table[k], 0, table_size[k]);
		table[k]->size = (uint32_t)table_size[k];
		for (size_t o = sizeof(struct persist_ops_header); o < table_size[k];
		     o += sizeof(void (*)(void)))
			set_slot(table[k], o);
		set_slot(table[k], offsetof(struct persist_ops_header, open));
		set_slot(table[k], offsetof(struct persist_ops_header, close));
		table[k]->caps = free_caps;
		CU_ASSERT_EQUAL(persist_loader_check_kind(&lp, (enum persist_kind)k, &err),
				PERSIST_OK);
	}

	for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++) {
		int k = map[i].kind;

		/* claimed with every method: fine */
		table[k]->caps = map[i].cap;
		CU_ASSERT_EQUAL(persist_loader_check_kind(&lp, map[i].kind, &err), PERSIST_OK);
		/* not claimed, method missing: fine too */
		clear_slot(table[k], map[i].offset);
		table[k]->caps = free_caps;
		CU_ASSERT_EQUAL(persist_loader_check_kind(&lp, map[i].kind, &err), PERSIST_OK);
		/* claimed, method missing: refused naming both */
		table[k]->caps = map[i].cap | free_caps;
		memset(&err, 0, sizeof(err));
		CU_ASSERT_EQUAL(persist_loader_check_kind(&lp, map[i].kind, &err),
				PERSIST_EDESCRIPTOR);
		fx_fmt(want, sizeof(want),
		       "plugin \"capmap\" (/x/capmap.so): %s table claims \"%s\" but has no %s method",
		       kind_name[k], map[i].cap_name, map[i].method);
		CHECK_MSG(err.msg, want);
		set_slot(table[k], map[i].offset);
		table[k]->caps = free_caps;
	}

	/* a capability only other kinds' tables can have */
	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++) {
			int own = 0;

			for (size_t j = 0; j < sizeof(map) / sizeof(*map); j++)
				own |= (int)map[j].kind == k && map[j].cap == map[i].cap;
			if (own)
				continue;
			table[k]->caps = map[i].cap;
			memset(&err, 0, sizeof(err));
			CU_ASSERT_EQUAL(persist_loader_check_kind(&lp, (enum persist_kind)k, &err),
					PERSIST_EDESCRIPTOR);
			fx_fmt(want, sizeof(want), "%s table claims \"%s\", a capability of ",
			       kind_name[k], map[i].cap_name);
			CHECK_MSG(err.msg, want);
			fx_fmt(want, sizeof(want), "a %s table cannot claim it", kind_name[k]);
			CHECK_MSG(err.msg, want);
		}
		table[k]->caps = free_caps;
	}
}

/* Number of mappings of this process of the file with inode ino on
   device dev, read from /proc/self/maps ("addr perms offset MAJ:MIN
   inode path"): what the dynamic loader really mapped, whatever name
   it was given. */
static int mapped_inode(dev_t dev, ino_t ino)
{
	char line[PATH_MAX + 256];
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned maj, min;
		unsigned long long inode;

		if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &inode) == 3 &&
		    inode == (unsigned long long)ino && maj == major(dev) &&
		    min == minor(dev))
			n++;
	}
	fclose(f);
	return n;
}

/* A plugin file swapped for another between the check and dlopen: what
   is loaded is the file that was checked (through its descriptor), not
   what the path names by then; the loader knows it by /proc/<pid>/fd/N
   but the registry by its path and inode.  The proof is the mapping
   itself: the checked inode is mapped, the swapped-in file's is not. */
static void test_swap_after_check(void)
{
	struct loader_checked c = { .real = NULL, .fd = -1 };
	const struct persist_plugin *desc = NULL;
	struct persist_loaded_plugin *lp, *lp2;
	struct persist_error err;
	const char *dir = fx_dir_with("fixture_ok");
	const char *d[1] = { dir };
	struct persist_search s = one_dir(d);
	char path[PATH_MAX], tmp[PATH_MAX];
	struct stat decoy;
	void *dl = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	fx_fmt(path, sizeof(path), "%s/fixture_ok.so", dir);
	fx_fmt(tmp, sizeof(tmp), "%s/decoy.so", dir);
	CU_ASSERT_EQUAL_FATAL(loader_check_file(path, 0, &c, &err), PERSIST_OK);
	/* the swap: another plugin renamed over the checked name */
	CU_ASSERT_EQUAL_FATAL(fx_copy("fixture_badmagic", dir, "decoy", 0644), 0);
	CU_ASSERT_EQUAL_FATAL(stat(tmp, &decoy), 0);
	CU_ASSERT_EQUAL_FATAL(rename(tmp, path), 0);
	CU_ASSERT_EQUAL(mapped_inode(c.st.st_dev, c.st.st_ino), 0);
	CU_ASSERT_EQUAL(loader_open_descriptor(&c, "fixture_ok", &dl, &desc, &err),
			PERSIST_OK);
	CU_ASSERT_EQUAL(strncmp(c.via, "/proc/", 6), 0);
	if (desc != NULL)
		CU_ASSERT_STRING_EQUAL(desc->name, "fixture_ok");
	CU_ASSERT(mapped_inode(c.st.st_dev, c.st.st_ino) > 0);
	CU_ASSERT_EQUAL(mapped_inode(decoy.st_dev, decoy.st_ino), 0);
	CU_ASSERT(decoy.st_ino != c.st.st_ino);
	if (dl != NULL)
		dlclose(dl);
	if (c.fd >= 0)
		close(c.fd);
	free(c.real);

	/* a normal load goes through the descriptor too, and the registry
	   still finds the same file under another name (a hard link) */
	CU_ASSERT_EQUAL_FATAL(fx_copy("fixture_ok", dir, NULL, 0644), 0);
	fx_fmt(tmp, sizeof(tmp), "%s/fixture_ok.link", dir);
	CU_ASSERT_EQUAL_FATAL(link(path, tmp), 0);
	CU_ASSERT_EQUAL_FATAL(persist_loader_acquire(&s, "fixture_ok", NULL, &lp, &err),
			      PERSIST_OK);
	CU_ASSERT_EQUAL(strncmp(lp->via, "/proc/", 6), 0);
	CU_ASSERT(lp->fd >= 0);
	CU_ASSERT_STRING_EQUAL(lp->path, path);
	CU_ASSERT_EQUAL(persist_loader_acquire(&s, "fixture_ok", tmp, &lp2, &err),
			PERSIST_OK);
	CU_ASSERT_PTR_EQUAL(lp2, lp);
	if (lp2 == lp)
		persist_loader_release(lp2);
	CU_ASSERT(fx_mapped(path));
	persist_loader_release(lp);
	CU_ASSERT(!fx_mapped(path));
	unlink(tmp);
}

/* A FIFO named .so is refused at once (opening it must not block). */
static void test_fifo(void)
{
	struct persist_loaded_plugin *lp;
	struct persist_error err;
	char path[PATH_MAX];
	const char *dir = fx_make_dir(NULL, 0755, 0644);
	const char *d[1] = { dir };
	struct persist_search s = one_dir(d);

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	fx_fmt(path, sizeof(path), "%s/fixture_ok.so", dir);
	CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0644), 0);
	CU_ASSERT_EQUAL(persist_loader_acquire(&s, "fixture_ok", NULL, &lp, &err),
			PERSIST_EINSECURE);
	CHECK_MSG(err.msg, path);
	CHECK_MSG(err.msg, "FIFO");
	s.allow_insecure = 1;
	CU_ASSERT_EQUAL(persist_loader_acquire(&s, "fixture_ok", NULL, &lp, &err),
			PERSIST_EINSECURE);
}

/* A dangling symlink is found (the first match wins, no fall-through to
   a later directory) and reported as missing. */
static void test_dangling_link(void)
{
	struct persist_loaded_plugin *lp;
	struct persist_error err;
	char path[PATH_MAX], target[PATH_MAX];
	const char *dirs[2];
	struct persist_search s;

	dirs[0] = fx_make_dir(NULL, 0755, 0644);
	dirs[1] = fx_dir_with("fixture_ok");
	CU_ASSERT_PTR_NOT_NULL_FATAL(dirs[0]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dirs[1]);
	fx_fmt(path, sizeof(path), "%s/fixture_ok.so", dirs[0]);
	fx_fmt(target, sizeof(target), "%s/gone.so", dirs[0]);
	CU_ASSERT_EQUAL_FATAL(symlink(target, path), 0);
	memset(&s, 0, sizeof(s));
	s.api_dirs = dirs;
	s.n_api_dirs = 2;
	s.no_env = 1;
	CU_ASSERT_EQUAL(persist_loader_acquire(&s, "fixture_ok", NULL, &lp, &err),
			PERSIST_ENOPLUGIN);
	CHECK_MSG(err.msg, path);
	CHECK_MSG(err.msg, "does not exist");
}

/* Owned by someone else (needs root to chown; as another user the
   plugin's own files are the euid's and pass). */
static void test_owner(void)
{
	struct persist_loaded_plugin *lp;
	struct persist_error err;
	char path[PATH_MAX];
	const char *dir = fx_dir_with("fixture_ok");
	const char *d[1] = { dir };
	struct persist_search s = one_dir(d);

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	fx_fmt(path, sizeof(path), "%s/fixture_ok.so", dir);
	/* the euid's own file and directory pass */
	CU_ASSERT_EQUAL_FATAL(persist_loader_acquire(&s, "fixture_ok", NULL, &lp, &err),
			      PERSIST_OK);
	persist_loader_release(lp);
	if (geteuid() != 0)
		return;
	CU_ASSERT_EQUAL_FATAL(chown(path, 65534, 65534), 0);
	CU_ASSERT_EQUAL(persist_loader_acquire(&s, "fixture_ok", NULL, &lp, &err),
			PERSIST_EINSECURE);
	CHECK_MSG(err.msg, "plugin file ");
	CHECK_MSG(err.msg, "is owned by uid 65534");
	CU_ASSERT_EQUAL_FATAL(chown(path, 0, 0), 0);
	CU_ASSERT_EQUAL_FATAL(chown(dir, 65534, 65534), 0);
	CU_ASSERT_EQUAL(persist_loader_acquire(&s, "fixture_ok", NULL, &lp, &err),
			PERSIST_EINSECURE);
	CHECK_MSG(err.msg, "plugin directory ");
	CHECK_MSG(err.msg, "is owned by uid 65534");
	s.allow_insecure = 1;
	CU_ASSERT_EQUAL_FATAL(persist_loader_acquire(&s, "fixture_ok", NULL, &lp, &err),
			      PERSIST_OK);
	persist_loader_release(lp);
	CU_ASSERT_EQUAL(chown(dir, 0, 0), 0);
}

/* probe: first directory wins, a directory named x.so and a bad name are
   reported, arguments are checked. */
static void test_probe(void)
{
	struct persist_plugin_info *infos = NULL;
	struct persist_error err;
	struct persist_search s;
	char path[PATH_MAX];
	const char *dirs[2];
	size_t n = 0;

	dirs[0] = fx_dir_with("fixture_ok");
	dirs[1] = fx_dir_with("fixture_ok");
	CU_ASSERT_PTR_NOT_NULL_FATAL(dirs[0]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dirs[1]);
	fx_fmt(path, sizeof(path), "%s/adir.so", dirs[1]);
	CU_ASSERT_EQUAL_FATAL(mkdir(path, 0755), 0);
	CU_ASSERT_EQUAL_FATAL(fx_copy("fixture_ok", dirs[1], "x.y", 0644), 0);
	memset(&s, 0, sizeof(s));
	s.api_dirs = dirs;
	s.n_api_dirs = 2;
	s.no_env = 1;
	CU_ASSERT_EQUAL_FATAL(persist_loader_probe(&s, &infos, &n, &err), PERSIST_OK);
	/* adir, fixture_ok, x.y and whatever is installed in PERSIST_PLUGIN_DIR */
	CU_ASSERT(n >= 3);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(infos[i].name, "fixture_ok") == 0) {
			fx_fmt(path, sizeof(path), "%s/fixture_ok.so", dirs[0]);
			CU_ASSERT_STRING_EQUAL(infos[i].path, path);
			CU_ASSERT_EQUAL(infos[i].status, PERSIST_OK);
			CU_ASSERT_EQUAL(infos[i].caps[PERSIST_KIND_STATE], 0);
		} else if (strcmp(infos[i].name, "adir") == 0) {
			CU_ASSERT_EQUAL(infos[i].status, PERSIST_EINSECURE);
			CHECK_MSG(infos[i].error, "is a directory");
		} else if (strcmp(infos[i].name, "x.y") == 0) {
			CU_ASSERT_EQUAL(infos[i].status, PERSIST_EINVAL);
			CHECK_MSG(infos[i].error, "invalid provider name \"x.y\"");
		}
	}
	persist_plugins_free(infos, n);
	CU_ASSERT_EQUAL(persist_loader_probe(&s, NULL, &n, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_loader_probe(NULL, &infos, &n, &err), PERSIST_EINVAL);
}

int main(void)
{
	static const struct t_case tests[] = {
		{ "provider name rule", test_valid_name },
		{ "acquire arguments", test_acquire_arguments },
		{ "search order", test_search_order },
		{ "PERSIST_PLUGIN_PATH parsing", test_env_parsing },
		{ "long not-found message", test_long_not_found },
		{ "registry", test_registry },
		{ "concurrent acquire", test_concurrent_acquire },
		{ "check_kind", test_check_kind },
		{ "capabilities and their methods", test_cap_map },
		{ "file swapped after the check", test_swap_after_check },
		{ "FIFO named .so", test_fifo },
		{ "dangling symlink", test_dangling_link },
		{ "owner", test_owner },
		{ "probe", test_probe },
		{ NULL, NULL }
	};
	int ret;

	if (fx_setup("test-loader-unit") < 0)
		return 99;
	ret = t_cunit_run("loader-unit", NULL, NULL, tests);
	fx_cleanup();
	return ret;
}
