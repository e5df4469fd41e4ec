/*
 * t/plugins/test-loader.c - tests of the plugin loader (core/loader*.c)
 * through the public API, with the fixture plugins of t/plugins/.
 *
 * Each case builds its own plugin directories: fresh mkdtemp directories
 * (0755 unless the case wants otherwise) holding copies of the fixtures it
 * needs from $abs_top_builddir/t/plugins/.libs/.  The memory plugin, which
 * serves the kinds a case does not care about, comes from
 * $PERSIST_PLUGIN_PATH as t/run-test sets it.  Every failure is checked for
 * its exact status code and for a message that names the file (and the
 * ABI versions, the plugin's own init message, the dynamic loader's text,
 * where those are the point), and for leaving nothing mapped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include "cunit-suite.h"
#include <persist/persist.h>
#include "fixture-dirs.h"

/* PERSIST_PLUGIN_PATH as run-test set it (restored after cases that
   change it). */
static char *env_path;

/* JSON of a configuration: state served by `state`, configuration and
   sessions by memory unless given; extra is spliced into "persistence". */
static void config_json(char *buf, size_t size, const char *config,
			const char *state, const char *session,
			const char *extra)
{
	fx_fmt(buf, size,
		 "{\"persistence\":{%s%s"
		 "\"state\":{\"provider\":\"%s\"},"
		 "\"configuration\":{\"provider\":\"%s\"},"
		 "\"sessions\":{\"provider\":\"%s\"}}}",
		 extra ? extra : "", extra ? "," : "", state,
		 config ? config : "memory", session ? session : "memory");
}

/* persist_open_json with plugin_dirs = {dir} (dir may be NULL) and flags. */
static int open_with(const char *json, const char *dir, uint32_t flags,
		     persist **p_r, struct persist_error *err)
{
	const char *dirs[] = { dir };
	struct persist_options opts;

	memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.plugin_dirs = dir ? dirs : NULL;
	opts.n_plugin_dirs = dir ? 1 : 0;
	opts.flags = flags;
	memset(err, 0, sizeof(*err));
	*p_r = NULL;
	return persist_open_json(json, &opts, p_r, err);
}

/* Open with `state` as the state provider from dir. */
static int open_state(const char *state, const char *dir, uint32_t flags,
		      persist **p_r, struct persist_error *err)
{
	char json[1024];

	config_json(json, sizeof(json), NULL, state, NULL, NULL);
	return open_with(json, dir, flags, p_r, err);
}

/* Check msg contains needle; print both when not. */
#define CHECK_MSG(msg, needle)                                                  \
	do {                                                                    \
		int found_ = strstr((msg), (needle)) != NULL;                   \
		if (!found_)                                                    \
			fprintf(stderr, "\n  message \"%s\"\n  lacks \"%s\"\n", \
				(msg), (needle));                               \
		CU_ASSERT(found_);                                              \
	} while (0)

/* The decimal state value of fixture_ok's counter `key`, or -1. */
static long fixture_counter(persist *p, const char *key)
{
	struct persist_error err;
	char *value = NULL;
	size_t len = 0;
	long n = -1;

	if (persist_state_get(p, "fixture", key, &value, &len, &err) == PERSIST_OK) {
		n = strtol(value, NULL, 10);
		persist_free(value);
	} else {
		fprintf(stderr, "\n  get fixture/%s: %s\n", key, err.msg);
	}
	return n;
}

/* --- the good plugin -------------------------------------------------- */

/* fixture_ok loads from an API directory and serves state. */
static void test_ok_loads(void)
{
	struct persist_error err;
	const char *dir = fx_dir_with("fixture_ok");
	persist *p;
	char *value = NULL;
	size_t len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	CU_ASSERT_EQUAL_FATAL(open_state("fixture_ok", dir, 0, &p, &err), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(persist_provider(p, PERSIST_KIND_STATE), "fixture_ok");
	CU_ASSERT_EQUAL(persist_state_set(p, "c", "k", "\"v\"", 3, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_get(p, "c", "k", &value, &len, &err), PERSIST_OK);
	if (value != NULL) {
		CU_ASSERT_EQUAL(len, 3);
		CU_ASSERT_STRING_EQUAL(value, "\"v\"");
		persist_free(value);
	}
	CU_ASSERT_EQUAL(fixture_counter(p, "init_count"), 1);
	/* a log without log_bounds: the core finds its bounds through
	   read_log; drop and trim_log answer ENOTSUP naming the method */
	{
		uint64_t first = 99, next = 99;
		char rec[16];

		CU_ASSERT_EQUAL(persist_state_log_bounds(p, "lg", &first, &next, &err), PERSIST_OK);
		CU_ASSERT(first == 0 && next == 0);
		for (int i = 0; i < 37; i++) {
			snprintf(rec, sizeof(rec), "{\"i\":%d}", i);
			CU_ASSERT_EQUAL(persist_state_append(p, "lg", rec, strlen(rec), &err), PERSIST_OK);
		}
		CU_ASSERT_EQUAL(persist_state_append(p, "other", "{}", 2, &err), PERSIST_OK);
		CU_ASSERT_EQUAL(persist_state_log_bounds(p, "lg", &first, &next, &err), PERSIST_OK);
		CU_ASSERT(first == 0 && next == 37);
		CU_ASSERT_EQUAL(persist_state_log_bounds(p, "other", NULL, &next, &err), PERSIST_OK);
		CU_ASSERT_EQUAL(next, 1);
		CU_ASSERT_EQUAL(persist_state_drop(p, "lg", &err), PERSIST_ENOTSUP);
		CHECK_MSG(err.msg, "provider \"fixture_ok\" does not support state drop");
		CU_ASSERT_EQUAL(persist_state_trim_log(p, "lg", 1, &err), PERSIST_ENOTSUP);
		CHECK_MSG(err.msg, "does not support state trim_log");
	}
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

/* --- each loading failure ----------------------------------------------- */

/* Load `fixture` as the state provider from its own directory and expect
   `code` with a message naming the file and containing each of needles. */
static void expect_failure(const char *fixture, int code, const char *const *needles)
{
	struct persist_error err;
	char path[PATH_MAX];
	const char *dir = fx_dir_with(fixture);
	persist *p;
	int ret;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	fx_fmt(path, sizeof(path), "%s/%s.so", dir, fixture);
	ret = open_state(fixture, dir, 0, &p, &err);
	if (ret != code)
		fprintf(stderr, "\n  %s: expected %s, got %s: %s\n", fixture,
			persist_strerror(code), persist_strerror(ret), err.msg);
	CU_ASSERT_EQUAL(ret, code);
	CU_ASSERT_EQUAL(err.code, code);
	CU_ASSERT_PTR_NULL(p);
	CHECK_MSG(err.msg, path);
	/* the file is loaded through /proc/<pid>/fd/N, but messages name
	   it by its path */
	CU_ASSERT_PTR_NULL(strstr(err.msg, "/proc/"));
	for (size_t i = 0; needles != NULL && needles[i] != NULL; i++)
		CHECK_MSG(err.msg, needles[i]);
	/* a plugin that failed is unloaded again */
	CU_ASSERT(!fx_mapped(path));
	if (p != NULL)
		persist_close(p, NULL);
}

/* No persist_plugin_entry_v1 (only a near miss). */
static void test_noentry(void)
{
	const char *n[] = { "persist_plugin_entry_v1", NULL };
	expect_failure("fixture_noentry", PERSIST_ENOENTRY, n);
}

/* The entry function returns NULL. */
static void test_nullentry(void)
{
	const char *n[] = { "returned NULL", NULL };
	expect_failure("fixture_nullentry", PERSIST_ENOENTRY, n);
}

/* Byte-swapped magic: both values shown in hex. */
static void test_badmagic(void)
{
	const char *n[] = { "0x54535250", "0x50525354", NULL };
	expect_failure("fixture_badmagic", PERSIST_EMAGIC, n);
}

/* Built for ABI 2.0: both versions in the message. */
static void test_abi2(void)
{
	char core[64];
	const char *n[] = { "built for ABI 2.0", core, NULL };

	fx_fmt(core, sizeof(core), "this core speaks %d.0-%d.%d",
		 PERSIST_ABI_MAJOR, PERSIST_ABI_MAJOR, PERSIST_ABI_MINOR);
	expect_failure("fixture_abi2", PERSIST_EABI, n);
}

/* Built for a newer minor than this core's. */
static void test_newminor(void)
{
	char built[64], core[64];
	const char *n[] = { built, core, NULL };

	fx_fmt(built, sizeof(built), "built for ABI %d.%d",
		 PERSIST_ABI_MAJOR, PERSIST_ABI_MINOR + 1);
	fx_fmt(core, sizeof(core), "this core speaks %d.0-%d.%d",
		 PERSIST_ABI_MAJOR, PERSIST_ABI_MAJOR, PERSIST_ABI_MINOR);
	expect_failure("fixture_newminor", PERSIST_EABINEWER, n);
}

/* Descriptor shorter than the 1.0 layout. */
static void test_short(void)
{
	const char *n[] = { "descriptor", NULL };
	expect_failure("fixture_short", PERSIST_EDESCRIPTOR, n);
}

/* File fixture_wrongname.so declares "other". */
static void test_wrongname(void)
{
	const char *n[] = { "\"other\"", "\"fixture_wrongname\"", NULL };
	expect_failure("fixture_wrongname", PERSIST_ENAME, n);
}

/* No init function. */
/* A descriptor without a name: the message says so (never "(null)"). */
static void test_noname(void)
{
	struct persist_error err;
	const char *dir = fx_dir_with("fixture_noname");
	persist *p = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	CU_ASSERT_EQUAL(open_state("fixture_noname", dir, 0, &p, &err), PERSIST_ENAME);
	CHECK_MSG(err.msg, "declares no name, expected \"fixture_noname\"");
	CU_ASSERT_PTR_NULL(strstr(err.msg, "(null)"));
	CU_ASSERT_PTR_NULL(p);
}

static void test_noinit(void)
{
	const char *n[] = { "init", NULL };
	expect_failure("fixture_noinit", PERSIST_EINIT, n);
}

/* Init fails: its own message reaches the host. */
static void test_initfail(void)
{
	const char *n[] = { "init failed", "fixture_initfail refuses to start", NULL };
	expect_failure("fixture_initfail", PERSIST_EINIT, n);
}

/* An unresolved symbol fails at load time with the loader's text. */
static void test_unresolved(void)
{
	const char *n[] = { "undefined symbol", "fixture_missing_function", NULL };
	expect_failure("fixture_unresolved", PERSIST_ELOAD, n);
}

/* A state table shorter than its 1.0 layout. */
static void test_shortops(void)
{
	const char *n[] = { "state table", NULL };
	expect_failure("fixture_shortops", PERSIST_EDESCRIPTOR, n);
}

/* A capability without the method it stands for is refused at load,
   naming both: one method missing, the second method of a pair missing,
   and a capability of another kind's table. */
static void test_cap_without_method(void)
{
	const char *batch[] = {
		"plugin \"fixture_capbatch\"",
		"state table claims \"batch\" but has no batch method", NULL
	};
	const char *log[] = {
		"state table claims \"append_log\" but has no read_log method", NULL
	};
	const char *cas[] = {
		"state table claims \"cas\", a capability of configuration tables only",
		"a state table cannot claim it", NULL
	};

	expect_failure("fixture_capbatch", PERSIST_EDESCRIPTOR, batch);
	expect_failure("fixture_caplog", PERSIST_EDESCRIPTOR, log);
	expect_failure("fixture_capcas", PERSIST_EDESCRIPTOR, cas);
}

/* A text file named fixture_text.so. */
static void test_text(void)
{
	struct persist_error err;
	char path[PATH_MAX];
	const char *dir = fx_make_dir(NULL, 0755, 0644);
	FILE *f;
	persist *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	fx_fmt(path, sizeof(path), "%s/fixture_text.so", dir);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	for (int i = 0; i < 20; i++)
		fputs("This is a text file that only calls itself a plugin.\n", f);
	fclose(f);
	chmod(path, 0644);
	CU_ASSERT_EQUAL(open_state("fixture_text", dir, 0, &p, &err), PERSIST_ELOAD);
	CU_ASSERT_PTR_NULL(p);
	CHECK_MSG(err.msg, path);
	/* dlerror's reason is kept, naming the file, not /proc/<pid>/fd/N */
	CHECK_MSG(err.msg, "ELF");
	CU_ASSERT_PTR_NULL(strstr(err.msg, "/proc/"));
}

/* A directory named fixture_ok.so is refused with a clear message, even
   with the development switch. */
static void test_directory_named_so(void)
{
	struct persist_error err;
	char path[PATH_MAX];
	const char *dir = fx_make_dir(NULL, 0755, 0644);
	persist *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	fx_fmt(path, sizeof(path), "%s/fixture_ok.so", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(path, 0755), 0);
	CU_ASSERT_EQUAL(open_state("fixture_ok", dir, 0, &p, &err), PERSIST_EINSECURE);
	CHECK_MSG(err.msg, path);
	CHECK_MSG(err.msg, "directory");
	CU_ASSERT_EQUAL(open_state("fixture_ok", dir, PERSIST_OPEN_ALLOW_INSECURE_PLUGINS,
				   &p, &err), PERSIST_EINSECURE);
	CHECK_MSG(err.msg, "not a regular file");
	CU_ASSERT_PTR_NULL(p);
}

/* --- interfaces ------------------------------------------------------- */

/* A plugin without the asked-for interface: ENOIFACE naming it. */
static void test_no_interface(void)
{
	struct persist_error err;
	char json[1024];
	const char *dir = fx_dir_with("fixture_ok");
	persist *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	config_json(json, sizeof(json), NULL, "memory", "fixture_ok", NULL);
	CU_ASSERT_EQUAL(open_with(json, dir, 0, &p, &err), PERSIST_ENOIFACE);
	CU_ASSERT_PTR_NULL(p);
	CHECK_MSG(err.msg, "plugin \"fixture_ok\"");
	CHECK_MSG(err.msg, dir);
	CHECK_MSG(err.msg, "has no session interface");
}

/* --- names ---------------------------------------------------------- */

/* Names outside ^[a-z0-9_]{1,32}$ are refused before any file is touched:
   "../fixture_ok" from dir/sub would reach a real plugin if it were ever
   joined to a directory.  Through the host API the configuration text is
   what is wrong (PERSIST_ECONFIG, from the settings parser); the loader's
   own PERSIST_EINVAL is tested in test-loader-unit.c. */
static void test_bad_names(void)
{
	static const char *const bad[] = {
		"../fixture_ok", "sub/../../fixture_ok", "fixture/ok", "Fixture_ok",
		"fixture-ok", "fixture_ok.so", "",
		"a23456789012345678901234567890123", /* 33 characters */
	};
	struct persist_error err;
	char sub[PATH_MAX];
	const char *dir = fx_dir_with("fixture_ok");
	persist *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	fx_fmt(sub, sizeof(sub), "%s/sub", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0755), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int ret = open_state(bad[i], sub, 0, &p, &err);
		if (ret != PERSIST_ECONFIG)
			fprintf(stderr, "\n  name \"%s\": %s\n", bad[i], err.msg);
		CU_ASSERT_EQUAL(ret, PERSIST_ECONFIG);
		CHECK_MSG(err.msg, "invalid provider name");
		CU_ASSERT_PTR_NULL(p);
		if (bad[i][0] != '\0')
			CHECK_MSG(err.msg, bad[i]);
		if (p != NULL)
			persist_close(p, NULL);
	}
	/* 32 characters is still a name: looked for, not found */
	CU_ASSERT_EQUAL(open_state("a2345678901234567890123456789012", sub, 0, &p, &err),
			PERSIST_ENOPLUGIN);
	CHECK_MSG(err.msg, "no provider \"a2345678901234567890123456789012\"");
}

/* --- search path ------------------------------------------------------ */

/* Set PERSIST_PLUGIN_PATH to first:<run-test's path>. */
static void env_prepend(const char *first)
{
	char buf[2 * PATH_MAX + 2];

	fx_fmt(buf, sizeof(buf), "%s:%s", first, env_path ? env_path : "");
	setenv("PERSIST_PLUGIN_PATH", buf, 1);
}

/* Restore run-test's PERSIST_PLUGIN_PATH. */
static void env_restore(void)
{
	if (env_path != NULL)
		setenv("PERSIST_PLUGIN_PATH", env_path, 1);
	else
		unsetenv("PERSIST_PLUGIN_PATH");
}

/* A directory holding a broken plugin under the name fixture_ok: loading
   from it fails with EMAGIC naming it, so it shows which copy won. */
static const char *decoy_dir(void)
{
	const char *dir = fx_make_dir(NULL, 0755, 0644);

	if (dir == NULL || fx_copy("fixture_badmagic", dir, "fixture_ok", 0644) < 0)
		return NULL;
	return dir;
}

/* API directories come before PERSIST_PLUGIN_PATH, which comes before
   the configuration's pluginPath. */
static void test_search_order(void)
{
	struct persist_error err;
	char json[2048], extra[PATH_MAX + 32];
	const char *good = fx_dir_with("fixture_ok"), *decoy = decoy_dir();
	persist *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(good);
	CU_ASSERT_PTR_NOT_NULL_FATAL(decoy);

	/* API dir (good) beats PERSIST_PLUGIN_PATH (decoy) */
	env_prepend(decoy);
	CU_ASSERT_EQUAL(open_state("fixture_ok", good, 0, &p, &err), PERSIST_OK);
	persist_close(p, NULL);
	/* ...and the other way round the decoy is what is found */
	env_prepend(good);
	CU_ASSERT_EQUAL(open_state("fixture_ok", decoy, 0, &p, &err), PERSIST_EMAGIC);
	CHECK_MSG(err.msg, decoy);

	/* PERSIST_PLUGIN_PATH (decoy) beats pluginPath (good) */
	env_prepend(decoy);
	fx_fmt(extra, sizeof(extra), "\"pluginPath\":[\"%s\"]", good);
	config_json(json, sizeof(json), NULL, "fixture_ok", NULL, extra);
	CU_ASSERT_EQUAL(open_with(json, NULL, 0, &p, &err), PERSIST_EMAGIC);
	CHECK_MSG(err.msg, decoy);
	/* without PERSIST_PLUGIN_PATH, pluginPath is used */
	CU_ASSERT_EQUAL(open_with(json, NULL, PERSIST_OPEN_NO_ENV_PLUGIN_PATH, &p, &err),
			PERSIST_ENOPLUGIN); /* memory is not on pluginPath */
	CHECK_MSG(err.msg, "\"memory\"");
	env_restore();
	CU_ASSERT_EQUAL(open_with(json, NULL, 0, &p, &err), PERSIST_OK);
	if (p != NULL)
		CU_ASSERT_STRING_EQUAL(persist_provider(p, PERSIST_KIND_STATE), "fixture_ok");
	persist_close(p, NULL);
}

/* Relative directories are never searched, and the not-found message says
   so. */
static void test_relative_dirs_ignored(void)
{
	struct persist_error err;
	char cwd[PATH_MAX], rel[PATH_MAX];
	const char *base = fx_make_dir(NULL, 0755, 0644);
	persist *p;
	int ret;

	CU_ASSERT_PTR_NOT_NULL_FATAL(base);
	CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof(cwd)));
	fx_fmt(rel, sizeof(rel), "%s/rel", base);
	CU_ASSERT_EQUAL_FATAL(mkdir(rel, 0755), 0);
	CU_ASSERT_EQUAL_FATAL(fx_copy("fixture_ok", rel, NULL, 0644), 0);
	CU_ASSERT_EQUAL_FATAL(chdir(base), 0);
	ret = open_state("fixture_ok", "rel", 0, &p, &err);
	CU_ASSERT_EQUAL(chdir(cwd), 0);
	CU_ASSERT_EQUAL(ret, PERSIST_ENOPLUGIN);
	CU_ASSERT_PTR_NULL(p);
	CHECK_MSG(err.msg, "no provider \"fixture_ok\"");
	CHECK_MSG(err.msg, "ignored: rel");
	if (p != NULL)
		persist_close(p, NULL);
}

/* A name found nowhere: the message lists what was found and where. */
static void test_not_found(void)
{
	const char *list[] = { "fixture_ok", "fixture_badmagic", NULL };
	struct persist_error err;
	const char *dir = fx_make_dir(list, 0755, 0644);
	persist *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	CU_ASSERT_EQUAL(open_state("fixture_nope", dir, 0, &p, &err), PERSIST_ENOPLUGIN);
	CU_ASSERT_PTR_NULL(p);
	CHECK_MSG(err.msg, "no provider \"fixture_nope\" (found: ");
	CHECK_MSG(err.msg, "fixture_badmagic, ");
	CHECK_MSG(err.msg, "fixture_ok");
	CHECK_MSG(err.msg, "memory");
	CHECK_MSG(err.msg, "searched: ");
	CHECK_MSG(err.msg, dir);
	if (env_path != NULL)
		CHECK_MSG(err.msg, env_path);
}

/* `module` (absolute) replaces the search; relative is refused. */
static void test_module(void)
{
	struct persist_error err;
	char json[2048], module[PATH_MAX], state[PATH_MAX + 128];
	const char *dir = fx_dir_with("fixture_ok"), *wrong = fx_dir_with("fixture_wrongname");
	persist *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(wrong);
	fx_fmt(module, sizeof(module), "%s/fixture_ok.so", dir);
	fx_fmt(state, sizeof(state), "fixture_ok\",\"module\":\"%s", module);
	config_json(json, sizeof(json), NULL, state, NULL, NULL);
	CU_ASSERT_EQUAL(open_with(json, NULL, 0, &p, &err), PERSIST_OK);
	if (p != NULL)
		CU_ASSERT_STRING_EQUAL(persist_provider(p, PERSIST_KIND_STATE), "fixture_ok");
	persist_close(p, NULL);

	/* relative module path: a configuration error (the loader's own
	   PERSIST_EINVAL is tested in test-loader-unit.c) */
	config_json(json, sizeof(json), NULL,
		    "fixture_ok\",\"module\":\"plugins/fixture_ok.so", NULL, NULL);
	CU_ASSERT_EQUAL(open_with(json, dir, 0, &p, &err), PERSIST_ECONFIG);
	CHECK_MSG(err.msg, "module");
	CHECK_MSG(err.msg, "absolute");
	CU_ASSERT_PTR_NULL(p);

	/* a module whose declared name is not the provider name */
	fx_fmt(module, sizeof(module), "%s/fixture_wrongname.so", wrong);
	fx_fmt(state, sizeof(state), "fixture_ok\",\"module\":\"%s", module);
	config_json(json, sizeof(json), NULL, state, NULL, NULL);
	CU_ASSERT_EQUAL(open_with(json, NULL, 0, &p, &err), PERSIST_ENAME);
	CHECK_MSG(err.msg, module);
	CU_ASSERT_PTR_NULL(p);

	/* a module that does not exist */
	fx_fmt(module, sizeof(module), "%s/nothing_here.so", dir);
	fx_fmt(state, sizeof(state), "fixture_ok\",\"module\":\"%s", module);
	config_json(json, sizeof(json), NULL, state, NULL, NULL);
	CU_ASSERT_EQUAL(open_with(json, NULL, 0, &p, &err), PERSIST_ENOPLUGIN);
	CHECK_MSG(err.msg, module);
	CU_ASSERT_PTR_NULL(p);
}

/* --- ownership and modes ---------------------------------------------- */

/* Open fixture_ok from a directory of mode dmode holding it with mode
   fmode; expect EINSECURE naming `what` (the file or the directory) and
   the reason, and success with the development switch. */
static void expect_insecure(mode_t dmode, mode_t fmode, int file,
			    const char *reason)
{
	const char *list[] = { "fixture_ok", NULL };
	struct persist_error err;
	char path[PATH_MAX];
	const char *dir = fx_make_dir(list, dmode, fmode);
	persist *p, *p2;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	fx_fmt(path, sizeof(path), "%s/fixture_ok.so", dir);
	CU_ASSERT_EQUAL(open_state("fixture_ok", dir, 0, &p, &err), PERSIST_EINSECURE);
	CU_ASSERT_PTR_NULL(p);
	CHECK_MSG(err.msg, file ? "plugin file " : "plugin directory ");
	CHECK_MSG(err.msg, file ? path : dir);
	CHECK_MSG(err.msg, reason);
	CU_ASSERT(!fx_mapped(path));

	CU_ASSERT_EQUAL(open_state("fixture_ok", dir, PERSIST_OPEN_ALLOW_INSECURE_PLUGINS,
				   &p, &err), PERSIST_OK);
	/* the loaded copy does not let a strict open through */
	CU_ASSERT_EQUAL(open_state("fixture_ok", dir, 0, &p2, &err), PERSIST_EINSECURE);
	CU_ASSERT_PTR_NULL(p2);
	persist_close(p, NULL);
	CU_ASSERT(!fx_mapped(path));
}

/* Directory writable by others. */
static void test_dir_world_writable(void)
{
	expect_insecure(0777, 0644, 0, "is writable by group and others\n");
	expect_insecure(0757, 0644, 0, "is writable by others\n");
}

/* Directory writable by its group. */
static void test_dir_group_writable(void)
{
	expect_insecure(0775, 0644, 0, "is writable by group\n");
}

/* File writable by others or group. */
static void test_file_writable(void)
{
	expect_insecure(0755, 0666, 1, "is writable by group and others\n");
	expect_insecure(0755, 0646, 1, "is writable by others\n");
	expect_insecure(0755, 0664, 1, "is writable by group\n");
}

/* A symlink in a safe directory to a plugin in an unsafe one. */
static void test_symlink_to_unsafe_dir(void)
{
	const char *list[] = { "fixture_ok", NULL };
	struct persist_error err;
	char link[PATH_MAX], target[PATH_MAX];
	const char *unsafe = fx_make_dir(list, 0777, 0644);
	const char *safe = fx_make_dir(NULL, 0755, 0644);
	persist *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(unsafe);
	CU_ASSERT_PTR_NOT_NULL_FATAL(safe);
	fx_fmt(target, sizeof(target), "%s/fixture_ok.so", unsafe);
	fx_fmt(link, sizeof(link), "%s/fixture_ok.so", safe);
	CU_ASSERT_EQUAL_FATAL(symlink(target, link), 0);
	CU_ASSERT_EQUAL(open_state("fixture_ok", safe, 0, &p, &err), PERSIST_EINSECURE);
	CHECK_MSG(err.msg, unsafe);
	CU_ASSERT_PTR_NULL(p);
	/* the same link to a safe place is fine */
	CU_ASSERT_EQUAL(chmod(unsafe, 0755), 0);
	CU_ASSERT_EQUAL(open_state("fixture_ok", safe, 0, &p, &err), PERSIST_OK);
	persist_close(p, NULL);
}

/* --- once per process ------------------------------------------------- */

/* Two kinds of one handle and two handles share one load and one init;
   the last close unloads it. */
static void test_init_once(void)
{
	struct persist_error err;
	char json[1024], path[PATH_MAX];
	const char *dir = fx_dir_with("fixture_ok");
	persist *p1, *p2;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	fx_fmt(path, sizeof(path), "%s/fixture_ok.so", dir);
	config_json(json, sizeof(json), "fixture_ok", "fixture_ok", NULL, NULL);
	CU_ASSERT_EQUAL_FATAL(open_with(json, dir, 0, &p1, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(open_with(json, dir, 0, &p2, &err), PERSIST_OK);
	CU_ASSERT(fx_mapped(path));
	CU_ASSERT_EQUAL(fixture_counter(p1, "init_count"), 1);
	CU_ASSERT_EQUAL(fixture_counter(p2, "init_count"), 1);
	CU_ASSERT(fixture_counter(p2, "open_count") >= 2);
	persist_close(p1, NULL);
	CU_ASSERT(fx_mapped(path));
	CU_ASSERT_EQUAL(fixture_counter(p2, "init_count"), 1);
	persist_close(p2, NULL);
	CU_ASSERT(!fx_mapped(path));

	/* loaded afresh: a new init of a new copy */
	CU_ASSERT_EQUAL_FATAL(open_with(json, dir, 0, &p1, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(fixture_counter(p1, "init_count"), 1);
	persist_close(p1, NULL);
}

#define N_THREADS 8

struct racer {
	const char *dir;
	pthread_barrier_t *start, *opened;
	int status;
	long inits;
};

/* One thread: open at the same moment as the others, read the init count
   while every handle is open, close. */
static void *race(void *arg)
{
	struct racer *r = arg;
	struct persist_error err;
	persist *p = NULL;

	pthread_barrier_wait(r->start);
	r->status = open_state("fixture_ok", r->dir, 0, &p, &err);
	pthread_barrier_wait(r->opened);
	if (r->status == PERSIST_OK)
		r->inits = fixture_counter(p, "init_count");
	pthread_barrier_wait(r->opened);
	persist_close(p, NULL);
	return NULL;
}

/* Threads that load the same plugin at once get one load, one init. */
static void test_threads_init_once(void)
{
	pthread_barrier_t start, opened;
	pthread_t th[N_THREADS];
	struct racer r[N_THREADS];
	char path[PATH_MAX];
	const char *dir = fx_dir_with("fixture_ok");

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	fx_fmt(path, sizeof(path), "%s/fixture_ok.so", dir);
	pthread_barrier_init(&start, NULL, N_THREADS);
	pthread_barrier_init(&opened, NULL, N_THREADS);
	for (int i = 0; i < N_THREADS; i++) {
		r[i] = (struct racer){ .dir = dir, .start = &start, .opened = &opened,
				       .status = -1, .inits = -1 };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, race, &r[i]), 0);
	}
	for (int i = 0; i < N_THREADS; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(r[i].status, PERSIST_OK);
		CU_ASSERT_EQUAL(r[i].inits, 1);
	}
	pthread_barrier_destroy(&start);
	pthread_barrier_destroy(&opened);
	CU_ASSERT(!fx_mapped(path));
}

/* --- the frozen 1.0 plugin -------------------------------------------- */

/* Built against the frozen 1.0 headers: loads; what it lacks answers
   PERSIST_ENOTSUP, nothing crashes. */
static void test_frozen10(void)
{
	struct persist_error err;
	struct persist_entry *entries = NULL;
	const char *dir = fx_dir_with("fixture_frozen10");
	char json[1024], *value = NULL;
	size_t len = 0, n = 0;
	int64_t v = 0;
	persist *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	CU_ASSERT_EQUAL_FATAL(open_state("fixture_frozen10", dir, 0, &p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_set(p, "c", "k", "42", 2, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_get(p, "c", "k", &value, &len, &err), PERSIST_OK);
	if (value != NULL) {
		CU_ASSERT_STRING_EQUAL(value, "42");
		persist_free(value);
	}
	CU_ASSERT_EQUAL(persist_state_incr(p, "c", "n", 1, &v, &err), PERSIST_ENOTSUP);
	CU_ASSERT_EQUAL(err.code, PERSIST_ENOTSUP);
	CU_ASSERT_EQUAL(persist_state_append(p, "c", "{}", 2, &err), PERSIST_ENOTSUP);
	CU_ASSERT_EQUAL(persist_state_read_log(p, "c", 0, 0, &entries, &n, NULL, &err),
			PERSIST_ENOTSUP);
	CU_ASSERT_EQUAL(persist_state_scan(p, "c", NULL, &entries, &n, &err),
			PERSIST_ENOTSUP);
	CU_ASSERT_EQUAL(persist_state_delete(p, "c", "k", &err), PERSIST_ENOTSUP);
	/* the 1.1 state methods lie beyond its 1.0 table: never called */
	CU_ASSERT_EQUAL(persist_state_drop(p, "c", &err), PERSIST_ENOTSUP);
	CHECK_MSG(err.msg, "does not support state drop");
	CU_ASSERT_EQUAL(persist_state_trim_log(p, "c", 1, &err), PERSIST_ENOTSUP);
	CHECK_MSG(err.msg, "does not support state trim_log");
	CU_ASSERT_EQUAL(persist_state_log_bounds(p, "c", NULL, NULL, &err), PERSIST_ENOTSUP);

	/* no batch method: the core applies a batch as a loop of single calls */
	{
		const struct persist_kv kv[] = {
			{ .key = "b1", .value = "1", .len = 1 },
			{ .key = "b2", .value = "22", .len = 2 },
		};
		const struct persist_op ops[] = {
			{ .type = PERSIST_OP_SET, .collection = "c", .key = "b3", .value = "3", .len = 1 },
			{ .type = PERSIST_OP_INCR, .collection = "c", .key = "n", .delta = 1 },
		};
		CU_ASSERT_EQUAL(persist_state_set_batch(p, "c", kv, 2, &err), PERSIST_OK);
		CU_ASSERT_EQUAL(persist_state_get(p, "c", "b2", &value, &len, &err), PERSIST_OK);
		if (value != NULL) {
			CU_ASSERT_STRING_EQUAL(value, "22");
			persist_free(value);
			value = NULL;
		}
		/* the emulated loop stops at the op it cannot do and says so */
		CU_ASSERT_EQUAL(persist_state_batch(p, ops, 2, &err), PERSIST_ENOTSUP);
		CHECK_MSG(err.msg, "batch operation 1 failed (the 1 before it were applied)");
		CU_ASSERT_EQUAL(persist_state_get(p, "c", "b3", &value, &len, &err), PERSIST_OK);
		persist_free(value);
		value = NULL;
	}
	persist_close(p, NULL);

	/* and it offers no configuration store */
	config_json(json, sizeof(json), "fixture_frozen10", "memory", NULL, NULL);
	CU_ASSERT_EQUAL(open_with(json, dir, 0, &p, &err), PERSIST_ENOIFACE);
	CHECK_MSG(err.msg, "has no configuration interface");
}

/* --- probe ------------------------------------------------------------ */

/* The entry of `name`, or NULL. */
static const struct persist_plugin_info *info_of(const struct persist_plugin_info *infos,
						 size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(infos[i].name, name) == 0)
			return &infos[i];
	}
	return NULL;
}

/* Every fixture is listed with its status; shadowed copies are not; the
   list is sorted; bad names are reported. */
static void test_probe(void)
{
	static const struct { const char *name; int status; } want[] = {
		{ "fixture_ok", PERSIST_OK },
		{ "fixture_frozen10", PERSIST_OK },
		{ "fixture_noentry", PERSIST_ENOENTRY },
		{ "fixture_nullentry", PERSIST_ENOENTRY },
		{ "fixture_badmagic", PERSIST_EMAGIC },
		{ "fixture_abi2", PERSIST_EABI },
		{ "fixture_newminor", PERSIST_EABINEWER },
		{ "fixture_short", PERSIST_EDESCRIPTOR },
		{ "fixture_wrongname", PERSIST_ENAME },
		{ "fixture_noname", PERSIST_ENAME },
		{ "fixture_noinit", PERSIST_EINIT },
		/* listing never runs init: its failure is not the probe's */
		{ "fixture_initfail", PERSIST_OK },
		{ "fixture_unresolved", PERSIST_ELOAD },
		{ "fixture_shortops", PERSIST_EDESCRIPTOR },
		{ "fixture_capbatch", PERSIST_EDESCRIPTOR },
		{ "fixture_caplog", PERSIST_EDESCRIPTOR },
		{ "fixture_capcas", PERSIST_EDESCRIPTOR },
		{ "Bad-Name", PERSIST_EINVAL },
		{ "memory", PERSIST_OK },
	};
	const char *list[sizeof(want) / sizeof(*want)];
	struct persist_plugin_info *infos = NULL;
	const struct persist_plugin_info *ok, *frozen, *bad, *capbatch;
	struct persist_options opts;
	struct persist_error err;
	const char *dirs[2];
	char path[PATH_MAX];
	size_t n = 0, k = 0;

	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
		if (strncmp(want[i].name, "fixture_", 8) == 0)
			list[k++] = want[i].name;
	}
	list[k] = NULL;
	dirs[0] = fx_make_dir(list, 0755, 0644);
	dirs[1] = fx_dir_with("fixture_ok"); /* shadowed by dirs[0] */
	CU_ASSERT_PTR_NOT_NULL_FATAL(dirs[0]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dirs[1]);
	/* a file whose name is no provider name */
	CU_ASSERT_EQUAL_FATAL(fx_copy("fixture_ok", dirs[0], "Bad-Name", 0644), 0);

	memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.plugin_dirs = dirs;
	opts.n_plugin_dirs = 2;
	CU_ASSERT_EQUAL_FATAL(persist_plugins_probe(&opts, NULL, &infos, &n, &err),
			      PERSIST_OK);
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
		const struct persist_plugin_info *in = info_of(infos, n, want[i].name);
		CU_ASSERT_PTR_NOT_NULL(in);
		if (in == NULL) {
			fprintf(stderr, "\n  probe lacks %s\n", want[i].name);
			continue;
		}
		if ((int)in->status != want[i].status)
			fprintf(stderr, "\n  probe %s: %s (%s)\n", want[i].name,
				persist_strerror(in->status), in->error);
		CU_ASSERT_EQUAL(in->status, want[i].status);
		if (want[i].status == PERSIST_OK) {
			CU_ASSERT_PTR_NULL(in->error);
			CU_ASSERT_PTR_NOT_NULL(in->version);
		} else {
			CU_ASSERT_PTR_NOT_NULL(in->error);
			if (in->error != NULL)
				CHECK_MSG(in->error, want[i].name);
		}
	}
	/* sorted, each name once */
	for (size_t i = 1; i < n; i++)
		CU_ASSERT(strcmp(infos[i - 1].name, infos[i].name) < 0);

	ok = info_of(infos, n, "fixture_ok");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ok);
	fx_fmt(path, sizeof(path), "%s/fixture_ok.so", dirs[0]);
	CU_ASSERT_STRING_EQUAL(ok->path, path); /* the first directory wins */
	CU_ASSERT_STRING_EQUAL(ok->version, "0.1");
	CU_ASSERT_STRING_EQUAL(ok->description, "loader test fixture: a well-formed plugin");
	CU_ASSERT_EQUAL(ok->abi_major, PERSIST_ABI_MAJOR);
	CU_ASSERT_EQUAL(ok->abi_minor, PERSIST_ABI_MINOR);
	CU_ASSERT(ok->has_kind[PERSIST_KIND_CONFIG]);
	CU_ASSERT(ok->has_kind[PERSIST_KIND_STATE]);
	CU_ASSERT(!ok->has_kind[PERSIST_KIND_SESSION]);

	frozen = info_of(infos, n, "fixture_frozen10");
	CU_ASSERT_PTR_NOT_NULL_FATAL(frozen);
	CU_ASSERT_EQUAL(frozen->abi_major, 1);
	CU_ASSERT_EQUAL(frozen->abi_minor, 0);
	CU_ASSERT(frozen->has_kind[PERSIST_KIND_STATE]);
	CU_ASSERT(!frozen->has_kind[PERSIST_KIND_CONFIG]);

	/* the probe refuses a claim without its method as a load does */
	capbatch = info_of(infos, n, "fixture_capbatch");
	CU_ASSERT_PTR_NOT_NULL_FATAL(capbatch);
	CU_ASSERT_PTR_NOT_NULL_FATAL(capbatch->error);
	CHECK_MSG(capbatch->error, "state table claims \"batch\" but has no batch method");

	bad = info_of(infos, n, "Bad-Name");
	if (bad != NULL && bad->error != NULL)
		CHECK_MSG(bad->error, "invalid provider name");
	persist_plugins_free(infos, n);

	/* bad arguments */
	CU_ASSERT_EQUAL(persist_plugins_probe(&opts, NULL, NULL, &n, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_plugins_probe(&opts, NULL, &infos, NULL, &err), PERSIST_EINVAL);
	opts.plugin_dirs = NULL;
	CU_ASSERT_EQUAL(persist_plugins_probe(&opts, NULL, &infos, &n, &err), PERSIST_EINVAL);
	CHECK_MSG(err.msg, "plugin_dirs");
	opts.size = 4;
	CU_ASSERT_EQUAL(persist_plugins_probe(&opts, NULL, &infos, &n, &err), PERSIST_EINVAL);
	persist_plugins_free(NULL, 0);
}

/* The configuration file's pluginPath is part of the probe's search. */
static void test_probe_config_path(void)
{
	struct persist_plugin_info *infos = NULL;
	const struct persist_plugin_info *ok;
	struct persist_error err;
	char cfg[PATH_MAX], path[PATH_MAX];
	const char *dir = fx_dir_with("fixture_ok");
	size_t n = 0;
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	fx_fmt(cfg, sizeof(cfg), "%s/persist.json", fx_scratch());
	f = fopen(cfg, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "{\"persistence\":{\"pluginPath\":[\"%s\"]}}\n", dir);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(persist_plugins_probe(NULL, cfg, &infos, &n, &err), PERSIST_OK);
	ok = info_of(infos, n, "fixture_ok");
	CU_ASSERT_PTR_NOT_NULL(ok);
	fx_fmt(path, sizeof(path), "%s/fixture_ok.so", dir);
	if (ok != NULL)
		CU_ASSERT_STRING_EQUAL(ok->path, path);
	persist_plugins_free(infos, n);

	/* a configuration file that does not exist is an error */
	fx_fmt(cfg, sizeof(cfg), "%s/missing.json", fx_scratch());
	CU_ASSERT_NOT_EQUAL(persist_plugins_probe(NULL, cfg, &infos, &n, &err), PERSIST_OK);
	CHECK_MSG(err.msg, cfg);
}

/* Log callback of the cases below: each message and a newline appended to
   the buffer ctx (a struct logbuf). */
struct logbuf {
	char text[8192];
	size_t len;
	int fd; /* >= 0: write there instead (a child's pipe) */
};
static void log_collect(void *ctx, enum persist_log_level level,
			const char *message)
{
	struct logbuf *lb = ctx;
	size_t n = strlen(message);

	(void)level;
	if (lb->fd >= 0) {
		if (write(lb->fd, message, n) < 0 || write(lb->fd, "\n", 1) < 0)
			_exit(98);
		return;
	}
	if (lb->len + n + 2 > sizeof(lb->text))
		return;
	memcpy(lb->text + lb->len, message, n);
	lb->text[lb->len + n] = '\n';
	lb->len += n + 1;
	lb->text[lb->len] = '\0';
}

/* Probing plugins that exit, crash or hang while they are loaded: each is
   reported as PERSIST_ELOAD with what happened, the others are listed,
   and this process lives on.  Plugins whose init exits or crashes list
   fine: a listing never initialises. */
static void test_probe_survives(void)
{
	static const struct { const char *name; int status; const char *msg; } want[] = {
		{ "fixture_ok", PERSIST_OK, NULL },
		{ "fixture_initexit", PERSIST_OK, NULL },
		{ "fixture_initcrash", PERSIST_OK, NULL },
		{ "fixture_ctorexit", PERSIST_ELOAD, "exited with status 7 while loading" },
		{ "fixture_ctorcrash", PERSIST_ELOAD, "crashed while loading (signal 11)" },
		{ "fixture_ctorhang", PERSIST_ELOAD, "did not finish loading within" },
	};
	const char *list[sizeof(want) / sizeof(*want) + 1];
	struct persist_plugin_info *infos = NULL;
	struct persist_options opts;
	struct persist_error err;
	const char *dirs[1];
	char path[PATH_MAX];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++)
		list[i] = want[i].name;
	list[sizeof(want) / sizeof(*want)] = NULL;
	dirs[0] = fx_make_dir(list, 0755, 0644);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dirs[0]);
	memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.plugin_dirs = dirs;
	opts.n_plugin_dirs = 1;
	opts.flags = PERSIST_OPEN_NO_ENV_PLUGIN_PATH;
	CU_ASSERT_EQUAL_FATAL(persist_plugins_probe(&opts, NULL, &infos, &n, &err),
			      PERSIST_OK);
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
		const struct persist_plugin_info *in = info_of(infos, n, want[i].name);
		CU_ASSERT_PTR_NOT_NULL(in);
		if (in == NULL) {
			fprintf(stderr, "\n  probe lacks %s\n", want[i].name);
			continue;
		}
		if ((int)in->status != want[i].status)
			fprintf(stderr, "\n  probe %s: %s (%s)\n", want[i].name,
				persist_strerror(in->status), in->error);
		CU_ASSERT_EQUAL(in->status, want[i].status);
		if (want[i].msg == NULL) {
			CU_ASSERT_PTR_NULL(in->error);
			CU_ASSERT(in->has_kind[PERSIST_KIND_STATE]);
			continue;
		}
		CU_ASSERT_PTR_NOT_NULL(in->error);
		if (in->error == NULL)
			continue;
		fx_fmt(path, sizeof(path), "plugin %s/%s.so: ", dirs[0], want[i].name);
		CHECK_MSG(in->error, path);
		CHECK_MSG(in->error, want[i].msg);
	}
	/* nothing the children loaded is mapped here */
	fx_fmt(path, sizeof(path), "%s/fixture_initexit.so", dirs[0]);
	CU_ASSERT(!fx_mapped(path));
	persist_plugins_free(infos, n);
}

/* Opening a plugin whose init exits or crashes takes the process down
   (it cannot be saved in-process), but the log's last line names the
   plugin being initialised.  Run in a child; the log comes back through a
   pipe. */
static void open_dies(const char *fixture, int want_exit, int want_signal)
{
	const char *dir = fx_dir_with(fixture);
	struct logbuf lb;
	char need[PATH_MAX + 64], got[4096];
	size_t len = 0;
	int fds[2], status = 0;
	pid_t pid;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct persist_options opts;
		struct persist_error err;
		const char *dirs[] = { dir };
		char json[1024];
		persist *p = NULL;

		close(fds[0]);
		signal(SIGSEGV, SIG_DFL);
		lb.fd = fds[1];
		config_json(json, sizeof(json), NULL, fixture, NULL, NULL);
		memset(&opts, 0, sizeof(opts));
		opts.size = sizeof(opts);
		opts.plugin_dirs = dirs;
		opts.n_plugin_dirs = 1;
		opts.log = log_collect;
		opts.log_ctx = &lb;
		opts.log_level = PERSIST_LOG_INFO;
		persist_open_json(json, &opts, &p, &err);
		_exit(0); /* the fixture should not let us get here */
	}
	close(fds[1]);
	for (;;) {
		ssize_t r = read(fds[0], got + len, sizeof(got) - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	got[len] = '\0';
	close(fds[0]);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	if (want_exit >= 0) {
		CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == want_exit);
	} else {
		CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == want_signal);
	}
	fx_fmt(need, sizeof(need), "initialising plugin %s (%s/%s.so)\n", fixture,
	       dir, fixture);
	CHECK_MSG(got, need);
	/* and it is the last thing said */
	if (len >= strlen(need))
		CU_ASSERT_STRING_EQUAL(got + len - strlen(need), need);
}

static void test_open_init_exits(void)
{
	open_dies("fixture_initexit", 7, 0);
}

static void test_open_init_crashes(void)
{
	open_dies("fixture_initcrash", -1, SIGSEGV);
}

/* The probe says which search directories it ignores and why. */
static void test_probe_notes(void)
{
	struct persist_plugin_info *infos = NULL;
	struct persist_options opts;
	struct persist_error err;
	struct logbuf lb;
	char env[PATH_MAX * 2], need[PATH_MAX + 128];
	const char *unsafe = fx_make_dir(NULL, 0777, 0644);
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(unsafe);
	chmod(unsafe, 0777); /* whatever the umask */
	memset(&lb, 0, sizeof(lb));
	lb.fd = -1;
	fx_fmt(env, sizeof(env), "relative/dir::%s/missing:%s:%s", fx_scratch(),
	       unsafe, env_path != NULL ? env_path : "/nonexistent");
	setenv("PERSIST_PLUGIN_PATH", env, 1);
	memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.log = log_collect;
	opts.log_ctx = &lb;
	opts.log_level = PERSIST_LOG_WARNING;
	CU_ASSERT_EQUAL(persist_plugins_probe(&opts, NULL, &infos, &n, &err), PERSIST_OK);
	persist_plugins_free(infos, n);
	env_restore();
	CHECK_MSG(lb.text, "PERSIST_PLUGIN_PATH entry \"relative/dir\" is ignored: it is not an absolute path");
	CHECK_MSG(lb.text, "empty PERSIST_PLUGIN_PATH entry is ignored");
	fx_fmt(need, sizeof(need), "PERSIST_PLUGIN_PATH entry \"%s/missing\" is ignored: %s",
	       fx_scratch(), strerror(ENOENT));
	CHECK_MSG(lb.text, need);
	fx_fmt(need, sizeof(need), "PERSIST_PLUGIN_PATH entry \"%s\" is ignored: it is writable by group and others",
	       unsafe);
	CHECK_MSG(lb.text, need);
	/* the directory of this build's plugins is fine: not mentioned */
	if (env_path != NULL) {
		fx_fmt(need, sizeof(need), "\"%s\"", env_path);
		CU_ASSERT_PTR_NULL(strstr(lb.text, need));
	}
}

/* persist_options.kinds: only the kinds asked for are loaded and opened;
   the others answer PERSIST_ENOTSUP naming the kind; an options struct of
   the 1.0 size opens every kind. */
static void test_open_kinds(void)
{
	struct persist_options opts;
	struct persist_error err;
	const char *dirs[1];
	char json[1024], *value = NULL;
	size_t len = 0;
	uint64_t id;
	persist *p = NULL;

	dirs[0] = fx_dir_with("fixture_ok");
	CU_ASSERT_PTR_NOT_NULL_FATAL(dirs[0]);
	/* configuration and sessions name providers that do not exist */
	config_json(json, sizeof(json), "nosuch_config", "fixture_ok",
		    "nosuch_session", NULL);
	memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.plugin_dirs = dirs;
	opts.n_plugin_dirs = 1;
	opts.kinds = PERSIST_KIND_BIT(PERSIST_KIND_STATE);
	CU_ASSERT_EQUAL_FATAL(persist_open_json(json, &opts, &p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_set(p, "c", "k", "1", 1, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_get(p, "c", "k", &value, &len, &err), PERSIST_OK);
	persist_free(value);
	CU_ASSERT_EQUAL(persist_config_get(p, "k", NULL, NULL, NULL, &err), PERSIST_ENOTSUP);
	CHECK_MSG(err.msg, "the configuration kind was not opened");
	CU_ASSERT_EQUAL(persist_config_subscribe(p, NULL, NULL, NULL, &id, &err), PERSIST_ENOTSUP);
	CU_ASSERT_EQUAL(persist_session_drop(p, "s", &err), PERSIST_ENOTSUP);
	CHECK_MSG(err.msg, "the session kind was not opened");
	CU_ASSERT_EQUAL(persist_health(p, PERSIST_KIND_SESSION, NULL, &err), PERSIST_ENOTSUP);
	CU_ASSERT_EQUAL(persist_caps(p, PERSIST_KIND_CONFIG), 0);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);

	/* unknown bits */
	opts.kinds = 1u << 7;
	p = NULL;
	CU_ASSERT_EQUAL(persist_open_json(json, &opts, &p, &err), PERSIST_EINVAL);
	CHECK_MSG(err.msg, "persist_options.kinds 0x80");
	CU_ASSERT_PTR_NULL(p);

	/* a caller built before kinds existed: every kind, so the missing
	   configuration provider fails the open */
	opts.kinds = PERSIST_KIND_BIT(PERSIST_KIND_STATE); /* beyond size: ignored */
	opts.size = (uint32_t)offsetof(struct persist_options, kinds);
	CU_ASSERT_EQUAL(persist_open_json(json, &opts, &p, &err), PERSIST_ENOPLUGIN);
	CHECK_MSG(err.msg, "nosuch_");
}

/* PERSIST_OPEN_CHECK_HEALTH fails the open when a store is unhealthy; the
   default open is lazy and succeeds. */
static void test_open_check_health(void)
{
	struct persist_error err;
	const char *dir = fx_dir_with("fixture_sick");
	persist *p = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	CU_ASSERT_EQUAL(open_state("fixture_sick", dir, 0, &p, &err), PERSIST_OK);
	CU_ASSERT_PTR_NOT_NULL(p);
	CU_ASSERT_EQUAL(persist_health(p, PERSIST_KIND_STATE, NULL, &err), PERSIST_EUNAVAIL);
	persist_close(p, NULL);
	p = NULL;
	CU_ASSERT_EQUAL(open_state("fixture_sick", dir, PERSIST_OPEN_CHECK_HEALTH, &p, &err),
			PERSIST_EUNAVAIL);
	CU_ASSERT_PTR_NULL(p);
	CHECK_MSG(err.msg, "fixture_sick backend is unreachable");
	/* healthy stores pass the check */
	dir = fx_dir_with("fixture_ok");
	CU_ASSERT_EQUAL(open_state("fixture_ok", dir, PERSIST_OPEN_CHECK_HEALTH, &p, &err),
			PERSIST_OK);
	persist_close(p, NULL);
}

static void watch_cb(void *ctx, const char *key, const char *etag)
{
	(void)ctx; (void)key; (void)etag;
}

/* Subscribing to a key the provider refuses answers its PERSIST_EINVAL
   (instead of waiting for a change that can never come); an absent key
   is fine. */
static void test_subscribe_checks_key(void)
{
	struct persist_error err;
	char json[1024];
	const char *dir = fx_dir_with("fixture_ok");
	uint64_t id = 0;
	persist *p = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	config_json(json, sizeof(json), "fixture_ok", "memory", NULL, NULL);
	CU_ASSERT_EQUAL_FATAL(open_with(json, dir, 0, &p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_config_subscribe(p, "refused/x", watch_cb, NULL, &id, &err),
			PERSIST_EINVAL);
	CHECK_MSG(err.msg, "key \"refused/x\" is refused");
	CU_ASSERT_EQUAL(persist_config_subscribe(p, "absent", watch_cb, NULL, &id, &err),
			PERSIST_OK);
	CU_ASSERT_EQUAL(err.code, PERSIST_OK);
	CU_ASSERT_EQUAL(persist_config_unsubscribe(p, id, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_config_subscribe(p, NULL, watch_cb, NULL, &id, &err),
			PERSIST_OK);
	CU_ASSERT_EQUAL(persist_config_unsubscribe(p, id, &err), PERSIST_OK);
	persist_close(p, NULL);
}

int main(void)
{
	static const struct t_case tests[] = {
		{ "fixture_ok loads", test_ok_loads },
		{ "no entry symbol", test_noentry },
		{ "entry returns NULL", test_nullentry },
		{ "bad magic", test_badmagic },
		{ "ABI major 2", test_abi2 },
		{ "newer ABI minor", test_newminor },
		{ "short descriptor", test_short },
		{ "declared name differs", test_wrongname },
		{ "no name", test_noname },
		{ "no init", test_noinit },
		{ "init fails with a message", test_initfail },
		{ "unresolved symbol", test_unresolved },
		{ "ops table too short", test_shortops },
		{ "capability without its method", test_cap_without_method },
		{ "text file named .so", test_text },
		{ "directory named .so", test_directory_named_so },
		{ "interface missing", test_no_interface },
		{ "bad provider names", test_bad_names },
		{ "search order", test_search_order },
		{ "relative dirs ignored", test_relative_dirs_ignored },
		{ "not found lists found and searched", test_not_found },
		{ "module path", test_module },
		{ "directory writable by others", test_dir_world_writable },
		{ "directory writable by group", test_dir_group_writable },
		{ "file writable by group/others", test_file_writable },
		{ "symlink into an unsafe directory", test_symlink_to_unsafe_dir },
		{ "init once per process", test_init_once },
		{ "init once across threads", test_threads_init_once },
		{ "frozen 1.0 plugin", test_frozen10 },
		{ "probe", test_probe },
		{ "probe with pluginPath", test_probe_config_path },
		{ "probe survives exit, crash, hang", test_probe_survives },
		{ "open logs the plugin before init (exit)", test_open_init_exits },
		{ "open logs the plugin before init (crash)", test_open_init_crashes },
		{ "probe notes ignored directories", test_probe_notes },
		{ "open only some kinds", test_open_kinds },
		{ "open with a health check", test_open_check_health },
		{ "subscribe checks the key with the provider", test_subscribe_checks_key },
		{ NULL, NULL }
	};
	int ret;

	if (fx_setup("test-loader") < 0)
		return 99;
	if (getenv("PERSIST_PLUGIN_PATH") != NULL)
		env_path = strdup(getenv("PERSIST_PLUGIN_PATH"));
	ret = t_cunit_run("loader", NULL, NULL, tests);
	fx_cleanup();
	free(env_path);
	return ret;
}
