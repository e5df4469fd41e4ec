/*
 * plugins/common/test-pc-config.c - the config reader of the plugin
 * support library: each type with its default and range, unknown keys,
 * wrong types, NUL bytes, numbers json-c would saturate, required keys,
 * and secrets that no message may quote; the batch and init checks and
 * plugin.h's counter text and expiry helpers.  Errors go through the test
 * host table (t/lib/plugin-host.c), as they would through the core's.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "pc-common.h"
#include "plugin-host.h"
#include "cunit-suite.h"

enum { MODE_FAST, MODE_SAFE, MODE_PARANOID };
static const char *const modes[] = { "fast", "safe", "paranoid", NULL };

struct opts {
	char *name;
	int64_t pool;
	bool verbose;
	int mode;
	char **hosts;
	char *password;
	int64_t offset;
};

static const struct pc_setting table[] = {
	{ .name = "name", .type = PC_SETTING_STRING,
	  .offset = offsetof(struct opts, name), .min = 1, .max = 16,
	  .def_str = "default" },
	{ .name = "poolSize", .type = PC_SETTING_INT64,
	  .offset = offsetof(struct opts, pool), .min = 1, .max = 64, .def_int = 4 },
	{ .name = "verbose", .type = PC_SETTING_BOOL,
	  .offset = offsetof(struct opts, verbose), .def_int = 0 },
	{ .name = "mode", .type = PC_SETTING_ENUM,
	  .offset = offsetof(struct opts, mode), .choices = modes,
	  .def_int = MODE_SAFE },
	{ .name = "hosts", .type = PC_SETTING_STRINGS,
	  .offset = offsetof(struct opts, hosts), .min = 1 },
	{ .name = "password", .type = PC_SETTING_STRING,
	  .offset = offsetof(struct opts, password), .flags = PC_SETTING_SECRET },
	{ .name = "offset", .type = PC_SETTING_INT64,
	  .offset = offsetof(struct opts, offset),
	  .min = INT64_MIN + 1, .max = INT64_MAX - 1 },
	{ .name = NULL }
};

static struct persist_error err;

/* Read json with the test table; the status. */
static int read_opts(const char *json, struct opts *o)
{
	memset(&err, 0, sizeof(err));
	memset(o, 0x5a, sizeof(*o));
	return pc_config_read(&ph_host, "test", json, table, o, &err);
}

/* Expect json to be refused with a message containing first and second
   (each may be NULL), and nothing left allocated in the struct. */
static void refused(const char *json, const char *first, const char *second)
{
	struct opts o;
	int ret = read_opts(json, &o);

	CU_ASSERT_EQUAL(ret, PERSIST_ECONFIG);
	CU_ASSERT_EQUAL(err.code, PERSIST_ECONFIG);
	if (first != NULL && strstr(err.msg, first) == NULL) {
		fprintf(stderr, "config %s: message \"%s\" lacks \"%s\"\n", json, err.msg, first);
		CU_FAIL("message lacks the primary text");
	}
	if (second != NULL && strstr(err.msg, second) == NULL) {
		fprintf(stderr, "config %s: message \"%s\" lacks \"%s\"\n", json, err.msg, second);
		CU_FAIL("message lacks the detail");
	}
	CU_ASSERT_PTR_NULL(o.name);
	CU_ASSERT_PTR_NULL(o.hosts);
	CU_ASSERT_PTR_NULL(o.password);
	if (ret == PERSIST_OK)
		pc_config_free(table, &o);
}

static void test_defaults(void)
{
	struct opts o;

	CU_ASSERT_EQUAL_FATAL(read_opts(NULL, &o), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(o.name, "default");
	CU_ASSERT_EQUAL(o.pool, 4);
	CU_ASSERT_FALSE(o.verbose);
	CU_ASSERT_EQUAL(o.mode, MODE_SAFE);
	CU_ASSERT_PTR_NULL(o.hosts);
	CU_ASSERT_PTR_NULL(o.password);
	CU_ASSERT_EQUAL(o.offset, 0);
	pc_config_free(table, &o);
	CU_ASSERT_PTR_NULL(o.name);
	CU_ASSERT_EQUAL_FATAL(read_opts("", &o), PERSIST_OK);
	pc_config_free(table, &o);
	CU_ASSERT_EQUAL_FATAL(read_opts(" { } ", &o), PERSIST_OK);
	CU_ASSERT_EQUAL(o.pool, 4);
	pc_config_free(table, &o);
}

static void test_each_type(void)
{
	struct opts o;

	CU_ASSERT_EQUAL_FATAL(read_opts("{\"name\": \"n1\", \"poolSize\": 64, \"verbose\": true,"
				   " \"mode\": \"paranoid\", \"hosts\": [\"a\", \"b\"],"
				   " \"password\": \"hunter2\", \"offset\": -9000000000000000000}",
				   &o), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(o.name, "n1");
	CU_ASSERT_EQUAL(o.pool, 64);
	CU_ASSERT_TRUE(o.verbose);
	CU_ASSERT_EQUAL(o.mode, MODE_PARANOID);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o.hosts);
	CU_ASSERT_STRING_EQUAL(o.hosts[0], "a");
	CU_ASSERT_STRING_EQUAL(o.hosts[1], "b");
	CU_ASSERT_PTR_NULL(o.hosts[2]);
	CU_ASSERT_STRING_EQUAL(o.password, "hunter2");
	CU_ASSERT_EQUAL(o.offset, -9000000000000000000LL);
	pc_config_free(table, &o);
	CU_ASSERT_PTR_NULL(o.hosts);
	/* the lower bound and an empty list */
	CU_ASSERT_EQUAL_FATAL(read_opts("{\"poolSize\": 1, \"hosts\": [], \"verbose\": false}", &o),
			      PERSIST_OK);
	CU_ASSERT_EQUAL(o.pool, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o.hosts);
	CU_ASSERT_PTR_NULL(o.hosts[0]);
	pc_config_free(table, &o);
}

static void test_range(void)
{
	refused("{\"poolSize\": 65}",
		"setting \"poolSize\" must be an integer from 1 to 64",
		"\nThe config gives 65.");
	refused("{\"poolSize\": 0}", "must be an integer from 1 to 64", "gives 0.");
	refused("{\"poolSize\": -1}", "must be an integer from 1 to 64", "gives -1.");
	refused("{\"name\": \"\"}", "setting \"name\" must be a string of 1 to 16 bytes",
		"is 0 bytes long");
	refused("{\"name\": \"abcdefghijklmnopq\"}", "of 1 to 16 bytes", "17 bytes");
	refused("{\"hosts\": [\"a\", \"\"]}", "setting \"hosts\" must be a list of strings of at least 1 bytes",
		NULL);
}

static void test_wrong_type(void)
{
	refused("{\"poolSize\": \"8\"}", "setting \"poolSize\" must be an integer", "gives \"8\".");
	refused("{\"poolSize\": 8.0}", "must be an integer", "gives 8.0.");
	refused("{\"poolSize\": 1e1}", "must be an integer", "gives 1e1.");
	refused("{\"poolSize\": null}", "must be an integer", "gives null.");
	refused("{\"verbose\": 1}", "setting \"verbose\" must be true or false", "gives 1.");
	refused("{\"verbose\": \"true\"}", "must be true or false", NULL);
	refused("{\"mode\": \"turbo\"}",
		"setting \"mode\" must be one of \"fast\", \"safe\", \"paranoid\"",
		"gives \"turbo\".");
	refused("{\"mode\": 1}", "must be one of", NULL);
	refused("{\"name\": 5}", "setting \"name\" must be a string", "gives 5.");
	refused("{\"name\": [\"x\"]}", "must be a string", NULL);
	refused("{\"hosts\": \"a\"}", "setting \"hosts\" must be a list of strings", "gives \"a\".");
	refused("{\"hosts\": [\"a\", 2]}", "must be a list of strings", "gives 2.");
	refused("{\"name\": {\"a\": 1}}", "must be a string", NULL);
}

static void test_unknown_and_syntax(void)
{
	refused("{\"poolsize\": 4}", "unknown setting \"poolsize\"",
		"\"name\", \"poolSize\", \"verbose\"");
	refused("{\"name\": \"a\", \"extra\": true}", "unknown setting \"extra\"", NULL);
	refused("{", "config is not valid JSON", NULL);
	refused("[1]", "config is not a JSON object", "It is a list.");
	refused("\"x\"", "config is not a JSON object", NULL);
}

static void test_nul(void)
{
	refused("{\"name\": \"a\\u0000b\"}", "setting \"name\" must not contain a NUL byte", NULL);
	refused("{\"hosts\": [\"ok\", \"a\\u0000\"]}", "setting \"hosts\" must not contain a NUL byte",
		NULL);
	refused("{\"mode\": \"fast\\u0000x\"}", "must be one of", NULL);
}

/* json-c saturates integers that do not fit 64 bits without a word. */
static void test_saturation(void)
{
	refused("{\"poolSize\": 1e23}", "must be an integer from 1 to 64", "gives 1e23.");
	refused("{\"offset\": 9223372036854775808}", "setting \"offset\" must be an integer",
		"too large for a 64-bit integer");
	refused("{\"offset\": 99999999999999999999999}", "must be an integer",
		"too large for a 64-bit integer");
	refused("{\"offset\": -9223372036854775809}", "must be an integer",
		"too large for a 64-bit integer");
	refused("{\"offset\": 18446744073709551616}", "must be an integer",
		"too large for a 64-bit integer");
	refused("{\"poolSize\": 9223372036854775807}", "must be an integer from 1 to 64",
		"too large for a 64-bit integer");
	refused("{\"poolSize\": 18446744073709551615}", "must be an integer from 1 to 64", NULL);
}

/* No message quotes a secret's value, whatever is wrong with it. */
static void test_secret(void)
{
	static const char *const bad[] = {
		"{\"password\": 12345678}",
		"{\"password\": [\"hunter2\"]}",
		"{\"password\": \"hunter2\\u0000x\"}",
		"{\"password\": {\"hunter2\": 1}}",
		"{\"password\": 1234.5678}",
		NULL
	};

	for (size_t i = 0; bad[i] != NULL; i++) {
		refused(bad[i], "setting \"password\" must", "not shown");
		CU_ASSERT_PTR_NULL(strstr(err.msg, "hunter2"));
		CU_ASSERT_PTR_NULL(strstr(err.msg, "1234"));
	}
	/* a secret beside a bad setting is not quoted either */
	refused("{\"password\": \"hunter2\", \"poolSize\": 99}", "poolSize", NULL);
	CU_ASSERT_PTR_NULL(strstr(err.msg, "hunter2"));
}

static const struct pc_setting required_table[] = {
	{ .name = "root", .type = PC_SETTING_STRING, .offset = 0,
	  .flags = PC_SETTING_REQUIRED, .min = 1 },
	{ .name = NULL }
};

static void test_required(void)
{
	char *root = NULL;

	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(pc_config_read(&ph_host, "fs", "{}", required_table, &root, &err),
			PERSIST_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "setting \"root\" is missing"));
	CU_ASSERT_PTR_NULL(root);
	CU_ASSERT_EQUAL(pc_config_read(&ph_host, "fs", "{\"root\": \"/x\"}", required_table,
				       &root, &err), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(root, "/x");
	pc_config_free(required_table, &root);
	CU_ASSERT_PTR_NULL(root);
}

static const struct pc_setting empty_table[] = { { .name = NULL } };

static void test_no_settings(void)
{
	char dummy;

	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(pc_config_read(&ph_host, "none", "{}", empty_table, &dummy, &err),
			PERSIST_OK);
	CU_ASSERT_EQUAL(pc_config_read(&ph_host, "none", "{\"a\": 1}", empty_table, &dummy, &err),
			PERSIST_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "unknown setting \"a\"\n"
				      "The none provider has no settings."));
}

static void test_batch_stride(void)
{
	/* a newer core's ops are larger: the plugin steps by op_size */
	struct bigger_op {
		struct persist_op op;
		char extra[24];
	} ops[3];

	memset(ops, 0, sizeof(ops));
	ops[0].op.key = "a";
	ops[1].op.key = "b";
	ops[2].op.key = "c";
	CU_ASSERT_TRUE(pc_batch_op_size_ok(sizeof(ops[0])));
	CU_ASSERT_TRUE(pc_batch_op_size_ok(sizeof(struct persist_op)));
	CU_ASSERT_FALSE(pc_batch_op_size_ok(sizeof(struct persist_op) - 1));
	CU_ASSERT_STRING_EQUAL(pc_batch_op(&ops[0].op, 2, sizeof(ops[0]))->key, "c");
	CU_ASSERT_STRING_EQUAL(pc_batch_op(&ops[0].op, 1, sizeof(ops[0]))->key, "b");
}

/* A check that refuses operations whose key is "bad". */
static int refuse_bad(const struct persist_host *host, const struct persist_op *op,
		      size_t i, struct persist_error *err_r)
{
	if (strcmp(op->key, "bad") == 0)
		return host->error(err_r, PERSIST_EINVAL, 0, "batch operation %zu is bad", i);
	return PERSIST_OK;
}

static void test_batch_check(void)
{
	struct persist_op ops[3];

	memset(ops, 0, sizeof(ops));
	ops[0].key = "a";
	ops[1].key = "b";
	ops[2].key = "bad";
	CU_ASSERT_EQUAL(pc_batch_check(&ph_host, ops, 2, sizeof(ops[0]), refuse_bad, &err),
			PERSIST_OK);
	CU_ASSERT_EQUAL(pc_batch_check(&ph_host, ops, 3, sizeof(ops[0]), refuse_bad, &err),
			PERSIST_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "operation 2 is bad"));
	CU_ASSERT_EQUAL(pc_batch_check(&ph_host, NULL, 1, sizeof(ops[0]), refuse_bad, &err),
			PERSIST_EINVAL);
	CU_ASSERT_EQUAL(pc_batch_check(&ph_host, ops, 1, sizeof(ops[0]) - 1, refuse_bad, &err),
			PERSIST_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "short operation size"));
	CU_ASSERT_EQUAL(pc_batch_check(&ph_host, NULL, 0, 0, refuse_bad, &err), PERSIST_OK);
}

static void test_host_check(void)
{
	struct persist_host old = ph_host;

	CU_ASSERT_EQUAL(pc_host_check(&ph_host, &err), PERSIST_OK);
	old.size = offsetof(struct persist_host, strerror);
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(pc_host_check(&old, &err), PERSIST_EINIT);
	CU_ASSERT_EQUAL(err.code, PERSIST_EINIT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "host table is too old"));
	CU_ASSERT_EQUAL(pc_host_check(NULL, NULL), PERSIST_EINIT);
}

/* The counter text of plugin.h: -?(0|[1-9][0-9]*) within int64. */
static void test_counter_text(void)
{
	static const struct { const char *text; int64_t value; } good[] = {
		{ "0", 0 }, { "7", 7 }, { "-7", -7 }, { "10", 10 },
		{ "9223372036854775807", INT64_MAX },
		{ "-9223372036854775808", INT64_MIN },
	};
	static const char *const bad[] = {
		"", "-", "+1", " 1", "1 ", "012", "-0", "00", "1a", "0x1",
		"9223372036854775808", "-9223372036854775809",
		"99999999999999999999",
	};
	int64_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 42;
		CU_ASSERT_EQUAL(persist_parse_counter(good[i].text, strlen(good[i].text), &v), 0);
		CU_ASSERT_EQUAL(v, good[i].value);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 42;
		CU_ASSERT_EQUAL(persist_parse_counter(bad[i], strlen(bad[i]), &v), -1);
		CU_ASSERT_EQUAL(v, 42);   /* nothing set */
		if (persist_parse_counter(bad[i], strlen(bad[i]), &v) != -1)
			fprintf(stderr, "counter text \"%s\" accepted\n", bad[i]);
	}
	/* the length bounds the text: "12" within "123" */
	CU_ASSERT_EQUAL(persist_parse_counter("123", 2, &v), 0);
	CU_ASSERT_EQUAL(v, 12);
	CU_ASSERT_EQUAL(persist_parse_counter(NULL, 0, &v), -1);
}

/* Expiries saturate instead of overflowing. */
static void test_expiry(void)
{
	CU_ASSERT_EQUAL(persist_expiry_ms(1000, 0), 0);
	CU_ASSERT_EQUAL(persist_expiry_ms(1000, 5), 1005);
	CU_ASSERT_EQUAL(persist_expiry_ms(INT64_MAX - 1, PERSIST_TTL_MAX_MS), INT64_MAX);
	CU_ASSERT_EQUAL(persist_expiry_ms(1000, INT64_MAX), INT64_MAX);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "defaults", test_defaults },
		{ "each type", test_each_type },
		{ "out of range", test_range },
		{ "wrong type", test_wrong_type },
		{ "unknown key, bad JSON", test_unknown_and_syntax },
		{ "NUL in a string", test_nul },
		{ "1e23, 2^63 and other saturation", test_saturation },
		{ "secrets never quoted", test_secret },
		{ "required setting", test_required },
		{ "a provider without settings", test_no_settings },
		{ "batch stride", test_batch_stride },
		{ "batch check", test_batch_check },
		{ "host check at init", test_host_check },
		{ "counter text (plugin.h)", test_counter_text },
		{ "expiry saturates (plugin.h)", test_expiry },
		{ NULL, NULL }
	};

	return t_cunit_run("pc-config", NULL, NULL, cases);
}
