/*
 * t/conformance/conformance.c - persist-conformance, the conformance suite
 * every provider runs, unchanged:
 *
 *     persist-conformance [-hv] [-P DIR]... [-c KIND=JSON]... PLUGIN [CONFIG_JSON]
 *
 * PLUGIN is a provider name, searched like persist_open does (-P
 * directories, PERSIST_PLUGIN_PATH, the built-in directory), or the
 * absolute path of a .so (then its name is the file name without ".so").
 * CONFIG_JSON is the provider's "config" object (default {}), given to
 * every kind it serves; -c gives one kind (configuration, state or
 * sessions) its own object instead, e.g. a separate data directory.  The program asks the loader which kinds the
 * plugin serves, opens two handles on a configuration that routes those
 * kinds to it (and the others to "memory"), and runs the CUnit suites of
 * those kinds: the base cases always, and the tests of every capability the
 * provider claims.  A third handle with the configuration cache off
 * (cacheTTL 0) reads what the tests wrote back from the provider itself.
 * The last suite deletes everything the run wrote.  Each failure names the
 * rule that was broken, what was expected and what came back, and the
 * section of the provider contract (persist/plugin.h) that states the rule.
 * The summary lists the capabilities tested and any claimed capability no
 * test covers.  Exit 0 only when every test passed and at least one ran
 * (1: a test failed, 2: usage or set-up error).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include "conformance.h"

struct ct_context ct;

static const char *const ct_kind_keys[PERSIST_KIND_COUNT_] = {
	"configuration", "state", "sessions",
};

/* The text of --help. */
static const char ct_usage_text[] =
	"usage: persist-conformance [-hv] [-P DIR]... [-c KIND=JSON]... PLUGIN [CONFIG_JSON]\n"
	"Run the conformance suite of persist providers against PLUGIN: every rule of\n"
	"the provider contract (the \"Provider contract\" section of persist/plugin.h)\n"
	"for the kinds of data it serves and the capabilities it claims.\n"
	"\n"
	"  PLUGIN       provider name, searched like persist_open does, or the absolute\n"
	"               path of a <name>.so\n"
	"  CONFIG_JSON  the provider's \"config\" object for every kind (default {})\n"
	"  -c KIND=JSON the \"config\" object for one kind: configuration, state\n"
	"               or sessions (repeatable; overrides CONFIG_JSON)\n"
	"  -P DIR       search DIR for plugins first (repeatable)\n"
	"  -v           show the library's log on stderr\n"
	"  -h, --help   show this text\n"
	"\n"
	"Kinds the plugin does not serve are given to the memory provider.  A failure\n"
	"reads [rule] what the rule says: expected ..., got ... (contract: \"section\"\n"
	"in persist/plugin.h).  Every name the run uses starts with a prefix unique to\n"
	"the run; the last suite deletes what the run wrote (append logs stay when\n"
	"the provider cannot drop collections).  Exit status: 0 every test passed,\n"
	"1 a test failed, 2 usage or set-up error.\n";

/* Print usage to stderr and return the usage exit status. */
static int ct_usage(void)
{
	fputs(ct_usage_text, stderr);
	return 2;
}

/* Log callback for -v. */
static void ct_log(void *ctx, enum persist_log_level level, const char *message)
{
	static const char *const names[] = { "debug", "info", "warning", "error" };

	(void)ctx;
	fprintf(stderr, "persist: %s: %s\n",
		(unsigned)level < 4 ? names[level] : "?", message);
}

/* -v: the library's log goes to stderr. */
static int ct_verbose;
/* A child process keeps its stdout for the parent's protocol. */
static int ct_quiet;

/* The options both handles (and children) open with. */
static void ct_options(struct persist_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->size = sizeof(*opts);
	opts->plugin_dirs = ct.dirs;
	opts->n_plugin_dirs = ct.n_dirs;
	if (ct_verbose) {
		opts->log = ct_log;
		opts->log_level = PERSIST_LOG_DEBUG;
	}
}

/* The configuration text of the cacheless handle. */
static char *ct_direct_json;

/* Open a handle on the run's configuration (direct: the cacheless one). */
persist *ct_open_handle(int direct)
{
	struct persist_options opts;
	struct persist_error err;
	persist *p = NULL;
	int ret;

	ct_options(&opts);
	ret = persist_open_json(direct ? ct_direct_json : ct.open_json, &opts, &p, &err);
	if (ret != PERSIST_OK) {
		fprintf(stderr, "persist-conformance: cannot open the configuration: %s: %s\n",
			persist_strerror(ret), err.msg);
		return NULL;
	}
	return p;
}

/* Growing string buffer for the generated configuration. */
struct ct_buf {
	char *s;
	size_t len, alloc;
};

/* Append bytes; exits on out of memory (set-up only). */
static void ct_buf_add(struct ct_buf *b, const char *s, size_t len)
{
	if (b->len + len + 1 > b->alloc) {
		size_t n = (b->len + len + 1) * 2;
		char *p = realloc(b->s, n);

		if (p == NULL) {
			perror("persist-conformance");
			exit(2);
		}
		b->s = p;
		b->alloc = n;
	}
	memcpy(b->s + b->len, s, len);
	b->len += len;
	b->s[b->len] = '\0';
}

/* Append a C string. */
static void ct_buf_str(struct ct_buf *b, const char *s)
{
	ct_buf_add(b, s, strlen(s));
}

/* Append s as a JSON string literal. */
static void ct_buf_json_string(struct ct_buf *b, const char *s)
{
	ct_buf_str(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		char esc[8];

		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			ct_buf_add(b, esc, 2);
		} else if (*p < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			ct_buf_str(b, esc);
		} else {
			ct_buf_add(b, (const char *)p, 1);
		}
	}
	ct_buf_str(b, "\"");
}

/* Append a provider config object, with "cacheTTL":0 added at its end
   when no_cache (a later duplicate key wins). */
static void ct_buf_config(struct ct_buf *b, const char *json, int no_cache)
{
	const char *end = strrchr(json, '}');
	const char *p = json;

	if (!no_cache || end == NULL) {
		ct_buf_str(b, json);
		return;
	}
	ct_buf_add(b, json, (size_t)(end - json));
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '{')
		p++;
	ct_buf_str(b, p == end ? "\"cacheTTL\":0" : ",\"cacheTTL\":0");
	ct_buf_str(b, end);
}

/* The configuration text: the plugin for the kinds it serves, memory for
   the others; no_cache: with the configuration cache off. */
static char *ct_make_config(int no_cache)
{
	struct ct_buf b = { 0 };

	ct_buf_str(&b, "{\"persistence\":{");
	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		if (k > 0)
			ct_buf_str(&b, ",");
		ct_buf_json_string(&b, ct_kind_keys[k]);
		ct_buf_str(&b, ":{\"provider\":");
		if (ct.has_kind[k]) {
			ct_buf_json_string(&b, ct.plugin);
			if (ct.module != NULL) {
				ct_buf_str(&b, ",\"module\":");
				ct_buf_json_string(&b, ct.module);
			}
			ct_buf_str(&b, ",\"config\":");
			ct_buf_config(&b, ct.kind_config[k] != NULL ? ct.kind_config[k] :
				      ct.config_json, no_cache && k == PERSIST_KIND_CONFIG);
		} else {
			ct_buf_str(&b, "\"memory\",\"config\":");
			ct_buf_config(&b, "{}", no_cache && k == PERSIST_KIND_CONFIG);
		}
		ct_buf_str(&b, "}");
	}
	ct_buf_str(&b, "}}");
	return b.s;
}

/* Ask the loader which kinds the plugin serves (and that it loads). */
static int ct_probe(void)
{
	struct persist_options opts;
	struct persist_plugin_info *infos = NULL;
	struct persist_error err;
	const char **dirs = NULL;
	char dir[PATH_MAX], real_module[PATH_MAX];
	size_t n = 0;
	int ret, found = 0;

	ct_options(&opts);
	if (ct.module != NULL) {
		/* search the module's own directory first */
		const char *slash = strrchr(ct.module, '/');
		size_t len = (size_t)(slash - ct.module);

		if (realpath(ct.module, real_module) == NULL) {
			fprintf(stderr, "persist-conformance: %s: %s\n", ct.module, strerror(errno));
			return 2;
		}
		snprintf(dir, sizeof(dir), "%.*s", (int)(len == 0 ? 1 : len), ct.module);
		dirs = calloc(ct.n_dirs + 1, sizeof(*dirs));
		if (dirs == NULL)
			return 2;
		dirs[0] = dir;
		for (size_t i = 0; i < ct.n_dirs; i++)
			dirs[i + 1] = ct.dirs[i];
		opts.plugin_dirs = dirs;
		opts.n_plugin_dirs = ct.n_dirs + 1;
	}
	ret = persist_plugins_probe(&opts, NULL, &infos, &n, &err);
	free(dirs);
	if (ret != PERSIST_OK) {
		fprintf(stderr, "persist-conformance: cannot probe plugins: %s: %s\n",
			persist_strerror(ret), err.msg);
		return 2;
	}
	for (size_t i = 0; i < n && !found; i++) {
		char real_path[PATH_MAX];

		if (infos[i].name == NULL || strcmp(infos[i].name, ct.plugin) != 0)
			continue;
		if (ct.module != NULL &&
		    (infos[i].path == NULL || realpath(infos[i].path, real_path) == NULL ||
		     strcmp(real_path, real_module) != 0))
			continue;
		found = 1;
		if (infos[i].status != PERSIST_OK) {
			fprintf(stderr, "persist-conformance: plugin %s cannot be loaded: %s: %s\n",
				infos[i].path != NULL ? infos[i].path : ct.plugin,
				persist_strerror(infos[i].status),
				infos[i].error != NULL ? infos[i].error : "");
			persist_plugins_free(infos, n);
			return 2;
		}
		if (!ct_quiet)
			printf("persist-conformance: %s %s (%s), ABI %u.%u\n", infos[i].name,
			       infos[i].version != NULL ? infos[i].version : "?",
			       infos[i].path != NULL ? infos[i].path : "?",
			       infos[i].abi_major, infos[i].abi_minor);
		for (int k = 0; k < PERSIST_KIND_COUNT_; k++)
			ct.has_kind[k] = infos[i].has_kind[k];
	}
	persist_plugins_free(infos, n);
	if (!found) {
		fprintf(stderr, "persist-conformance: no provider \"%s\" on the plugin search path\n",
			ct.module != NULL ? ct.module : ct.plugin);
		return 2;
	}
	if (!ct.has_kind[0] && !ct.has_kind[1] && !ct.has_kind[2]) {
		fprintf(stderr, "persist-conformance: plugin %s serves no kind of data\n", ct.plugin);
		return 2;
	}
	return 0;
}

/* Health of every kind through both handles. */
static void test_health(void)
{
	struct persist_error err;

	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		int64_t latency = -1;
		const char *provider = persist_provider(ct.a, (enum persist_kind)k);

		CT_OK(persist_health(ct.a, (enum persist_kind)k, &latency, &err), &err);
		CT_CHECK(latency >= 0, "latency of %s: expected >= 0, got %lld",
			 persist_kind_name((enum persist_kind)k), (long long)latency);
		latency = -1;
		CT_OK(persist_health(ct.b, (enum persist_kind)k, &latency, &err), &err);
		CT_CHECK(latency >= 0, "latency of %s: expected >= 0, got %lld",
			 persist_kind_name((enum persist_kind)k), (long long)latency);
		CT_STREQ(provider, ct.has_kind[k] ? ct.plugin : "memory");
	}
	CT_EXPECT(persist_health(NULL, PERSIST_KIND_STATE, NULL, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_health(ct.a, PERSIST_KIND_COUNT_, NULL, &err), PERSIST_EINVAL, &err);
}

/* Register the health suite. */
int ct_register_health(char *tested, size_t size)
{
	static const struct ct_test t = {
		0, "every kind, both handles", test_health, "store.health", "Stores",
		"health answers OK with a latency on every open store",
	};
	CU_pSuite s = CU_add_suite("health", NULL, NULL);

	(void)tested;
	(void)size;
	return s != NULL ? ct_add_test(s, &t) : -1;
}

/* -c KIND=JSON: a kind's own config object; 0, or -1 when malformed. */
static int ct_kind_option(const char *arg)
{
	const char *eq = strchr(arg, '=');

	if (eq == NULL)
		return -1;
	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		if (strlen(ct_kind_keys[k]) == (size_t)(eq - arg) &&
		    strncmp(arg, ct_kind_keys[k], (size_t)(eq - arg)) == 0) {
			ct.kind_config[k] = eq + 1;
			ct.kind_arg[k] = arg;
			return 0;
		}
	}
	return -1;
}

/* Set the run's unique prefix: pid, time and a little randomness, using
   only characters valid in collection names. */
static void ct_make_run(void)
{
	struct timespec ts;
	unsigned r;

	clock_gettime(CLOCK_REALTIME, &ts);
	r = (unsigned)ts.tv_nsec ^ ((unsigned)getpid() << 16);
	snprintf(ct.run, sizeof(ct.run), "ct%ld-%lld-%04x", (long)getpid(),
		 (long long)ts.tv_sec, r & 0xffff);
}

/* The capabilities the plugin claims for the kinds it serves that no test
   covers (not in `tested`), as "kind:cap" words into untested. */
static void ct_untested(const char *tested, char *untested, size_t size)
{
	static const char *const kinds[PERSIST_KIND_COUNT_] = { "config", "state", "sessions" };

	untested[0] = '\0';
	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		if (!ct.has_kind[k])
			continue;
		for (int bit = 0; bit < 64; bit++) {
			char cap[32], word[64];
			const char *at;
			size_t len, used = strlen(untested);

			if ((ct.caps[k] & (1ull << bit)) == 0)
				continue;
			persist_caps_string(1ull << bit, cap, sizeof(cap));
			len = (size_t)snprintf(word, sizeof(word), "%s:%s", kinds[k], cap);
			for (at = strstr(tested, word); at != NULL; at = strstr(at + 1, word)) {
				if ((at == tested || at[-1] == ' ') &&
				    (at[len] == ' ' || at[len] == '\0'))
					break;
			}
			if (at == NULL)
				snprintf(untested + used, size - used, "%s%s", used ? " " : "", word);
		}
	}
}

/* Parse the arguments, probe, open, register, run, report. */
int main(int argc, char **argv)
{
	const char **dirs = NULL;
	const char *role = NULL, *run = NULL;
	char tested[1024] = "", untested[512] = "", claimed[256];
	unsigned failures, tests_run, suites_failed;
	struct persist_error err;
	int opt, status;

	ct.self = argv[0];
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			fputs(ct_usage_text, stdout);
			return 0;
		}
	}
	dirs = calloc((size_t)argc, sizeof(*dirs));
	if (dirs == NULL)
		return 2;
	while ((opt = getopt(argc, argv, "+hvc:P:X:R:")) != -1) {
		switch (opt) {
		case 'c':
			if (ct_kind_option(optarg) != 0) {
				fprintf(stderr, "persist-conformance: -c %s: expected "
					"configuration=JSON, state=JSON or sessions=JSON\n", optarg);
				free(dirs);
				return 2;
			}
			break;
		case 'P':
			if (optarg[0] != '/') {
				fprintf(stderr, "persist-conformance: -P %s: not an absolute directory\n",
					optarg);
				free(dirs);
				return 2;
			}
			dirs[ct.n_dirs++] = optarg;
			break;
		case 'h':
			fputs(ct_usage_text, stdout);
			free(dirs);
			return 0;
		case 'v':
			ct_verbose = 1;
			break;
		case 'X': /* hidden: child process role */
			role = optarg;
			ct_quiet = 1;
			break;
		case 'R': /* hidden: the parent's run prefix */
			run = optarg;
			break;
		default:
			free(dirs);
			return ct_usage();
		}
	}
	if (optind >= argc || argc - optind > 2) {
		free(dirs);
		return ct_usage();
	}
	ct.dirs = dirs;
	ct.plugin = argv[optind];
	ct.config_json = optind + 1 < argc ? argv[optind + 1] : "{}";
	if (ct.plugin[0] == '/') {
		const char *base = strrchr(ct.plugin, '/') + 1;
		size_t len = strlen(base);
		char *name;

		if (len <= 3 || strcmp(base + len - 3, ".so") != 0) {
			fprintf(stderr, "persist-conformance: %s: a module path must end in .so\n",
				ct.plugin);
			free(dirs);
			return 2;
		}
		ct.module = ct.plugin;
		name = strndup(base, len - 3);
		if (name == NULL) {
			free(dirs);
			return 2;
		}
		ct.plugin = name;
	}
	if (run != NULL)
		snprintf(ct.run, sizeof(ct.run), "%s", run);
	else
		ct_make_run();

	status = ct_probe();
	if (status != 0)
		goto out;
	ct.open_json = ct_make_config(0);
	ct_direct_json = ct_make_config(1);
	if (role != NULL) {
		status = ct_child_main(role, ct.run);
		goto out;
	}
	ct.a = ct_open_handle(0);
	ct.b = ct.a != NULL ? ct_open_handle(0) : NULL;
	ct.direct = ct.b != NULL ? ct_open_handle(1) : NULL;
	if (ct.a == NULL || ct.b == NULL || ct.direct == NULL) {
		fprintf(stderr, "persist-conformance: configuration was: %s\n", ct.open_json);
		status = 2;
		goto out;
	}
	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		ct.caps[k] = persist_caps(ct.a, (enum persist_kind)k);
		printf("persist-conformance: %-13s %s [%s]\n", ct_kind_keys[k],
		       persist_provider(ct.a, (enum persist_kind)k),
		       persist_caps_string(ct.caps[k], claimed, sizeof(claimed)));
	}
	printf("persist-conformance: run prefix %s\n", ct.run);

	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "persist-conformance: %s\n", CU_get_error_msg());
		status = 2;
		goto out;
	}
	if ((ct.has_kind[PERSIST_KIND_CONFIG] && ct_register_config(tested, sizeof(tested)) != 0) ||
	    (ct.has_kind[PERSIST_KIND_STATE] && ct_register_state(tested, sizeof(tested)) != 0) ||
	    (ct.has_kind[PERSIST_KIND_SESSION] && ct_register_session(tested, sizeof(tested)) != 0) ||
	    ct_register_health(tested, sizeof(tested)) != 0 ||
	    ct_register_process(tested, sizeof(tested)) != 0 ||
	    ct_register_cleanup() != 0) {
		fprintf(stderr, "persist-conformance: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
		ct_forget_tests();
		status = 2;
		goto out;
	}
	ct_untested(tested, untested, sizeof(untested));
	printf("persist-conformance: capabilities tested: %s\n", tested[0] ? tested : "(none)");
	if (untested[0] != '\0')
		printf("persist-conformance: claimed but not tested: %s\n", untested);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	tests_run = CU_get_number_of_tests_run();
	suites_failed = CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	ct_forget_tests();

	status = failures == 0 && suites_failed == 0 && tests_run > 0 ? 0 : 1;
	if (persist_close(ct.direct, &err) != PERSIST_OK) {
		fprintf(stderr, "persist-conformance: close: %s\n", err.msg);
		status = 1;
	}
	ct.direct = NULL;
	if (persist_close(ct.b, &err) != PERSIST_OK) {
		fprintf(stderr, "persist-conformance: close: %s\n", err.msg);
		status = 1;
	}
	ct.b = NULL;
	if (persist_close(ct.a, &err) != PERSIST_OK) {
		fprintf(stderr, "persist-conformance: close: %s\n", err.msg);
		status = 1;
	}
	ct.a = NULL;
	printf("\npersist-conformance: %s: %u tests run, %u failed assertions; "
	       "capabilities tested: %s%s%s\n", ct.plugin, tests_run, failures,
	       tested[0] ? tested : "(none)",
	       untested[0] ? "; claimed but not tested: " : "", untested);
	printf("persist-conformance: %s\n", status == 0 ? "PASS" : "FAIL");
out:
	if (ct.direct != NULL)
		persist_close(ct.direct, NULL);
	if (ct.b != NULL)
		persist_close(ct.b, NULL);
	if (ct.a != NULL)
		persist_close(ct.a, NULL);
	free(ct.open_json);
	free(ct_direct_json);
	if (ct.module != NULL)
		free((char *)ct.plugin);
	free(dirs);
	return status;
}
