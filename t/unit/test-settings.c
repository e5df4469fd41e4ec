/*
 * t/unit/test-settings.c - reading configuration files and text
 * (core/settings.c): defaults, a whole platform.json, ${VAR} expansion,
 * the core's own keys, and one broken input per error message.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "settings.h"
#include "unit.h"

/* Parse text, expecting success. */
static struct persist_settings *parse_ok(const char *text)
{
	struct persist_settings *s = NULL;
	struct persist_error err;
	int ret = persist_settings_parse(text, strlen(text), "test.json", &s, &err);

	CU_ASSERT_EQUAL(ret, PERSIST_OK);
	if (ret != PERSIST_OK)
		fprintf(stderr, "unexpected error: %s\n", err.msg);
	return s;
}

/* Parse text, expecting failure with code and a message containing needle. */
static void parse_fails(const char *text, int code, const char *needle)
{
	struct persist_settings *s = NULL;
	struct persist_error err;
	int ret = persist_settings_parse(text, strlen(text), "test.json", &s, &err);

	CU_ASSERT_EQUAL(ret, code);
	CU_ASSERT_EQUAL(err.code, code);
	CU_ASSERT_PTR_NULL(s);
	if (strstr(err.msg, needle) == NULL)
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err.msg, needle);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, needle));
	persist_settings_free(s);
}

static void test_defaults(void)
{
	struct persist_settings *s = NULL;
	struct persist_error err;

	CU_ASSERT_EQUAL(persist_settings_default(&s, &err), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(s->kinds[PERSIST_KIND_CONFIG].provider, "filesystem");
	CU_ASSERT_STRING_EQUAL(s->kinds[PERSIST_KIND_STATE].provider, "filesystem");
	CU_ASSERT_STRING_EQUAL(s->kinds[PERSIST_KIND_SESSION].provider, "memory");
	CU_ASSERT_STRING_EQUAL(s->kinds[PERSIST_KIND_SESSION].config_json, "{}");
	CU_ASSERT_EQUAL(s->kinds[PERSIST_KIND_CONFIG].cache_ttl_ms, -1);
	CU_ASSERT_EQUAL(s->n_plugin_path, 0);
	persist_settings_free(s);
}

static void test_platform_json(void)
{
	struct persist_settings *s = parse_ok(
		"{ \"title\": \"AI Hub\", \"auth\": {\"mode\": \"proxy\"},\n"
		"  \"persistence\": {\n"
		"    \"pluginPath\": [\"/opt/persist/plugins\", \"/usr/lib/p\"],\n"
		"    \"configuration\": { \"provider\": \"filesystem\",\n"
		"       \"config\": { \"root\": \"contents/config\", \"cacheTTL\": 60000 } },\n"
		"    \"state\": { \"provider\": \"redis\", \"config\": { \"url\": \"redis://127.0.0.1:6379/0\",\n"
		"       \"batchInterval\": 10000, \"batchMaxOps\": 500, \"spoolDir\": \"/var/spool/p\" },\n"
		"       \"fallback\": { \"provider\": \"filesystem\", \"config\": { \"root\": \"d\" } } }\n"
		"  } }");

	if (s == NULL)
		return;
	CU_ASSERT_EQUAL(s->n_plugin_path, 2);
	CU_ASSERT_STRING_EQUAL(s->plugin_path[1], "/usr/lib/p");
	CU_ASSERT_EQUAL(s->kinds[PERSIST_KIND_CONFIG].cache_ttl_ms, 60000);
	/* the core's keys are removed from what the provider gets */
	CU_ASSERT_STRING_EQUAL(s->kinds[PERSIST_KIND_CONFIG].config_json, "{\"root\":\"contents/config\"}");
	CU_ASSERT_STRING_EQUAL(s->kinds[PERSIST_KIND_STATE].config_json, "{\"url\":\"redis://127.0.0.1:6379/0\"}");
	CU_ASSERT_EQUAL(s->kinds[PERSIST_KIND_STATE].batch_interval_ms, 10000);
	CU_ASSERT_EQUAL(s->kinds[PERSIST_KIND_STATE].batch_max_ops, 500);
	CU_ASSERT_STRING_EQUAL(s->kinds[PERSIST_KIND_STATE].spool_dir, "/var/spool/p");
	CU_ASSERT_PTR_NOT_NULL_FATAL(s->kinds[PERSIST_KIND_STATE].fallback);
	CU_ASSERT_STRING_EQUAL(s->kinds[PERSIST_KIND_STATE].fallback->provider, "filesystem");
	/* sessions not given: the default */
	CU_ASSERT_STRING_EQUAL(s->kinds[PERSIST_KIND_SESSION].provider, "memory");
	persist_settings_free(s);
}

static void test_env_expansion(void)
{
	struct persist_settings *s;

	setenv("PERSIST_T_PASS", "s3cr\"et", 1);
	s = parse_ok("{\"persistence\":{\"state\":{\"provider\":\"redis\",\"config\":"
		     "{\"password\":\"${PERSIST_T_PASS}\",\"list\":[\"a${PERSIST_T_PASS}b\"],"
		     "\"literal\":\"$${NOT_EXPANDED}\"}}}}");
	if (s != NULL) {
		CU_ASSERT_PTR_NOT_NULL(strstr(s->kinds[PERSIST_KIND_STATE].config_json,
					      "\"password\":\"s3cr\\\"et\""));
		CU_ASSERT_PTR_NOT_NULL(strstr(s->kinds[PERSIST_KIND_STATE].config_json,
					      "\"as3cr\\\"etb\""));
		CU_ASSERT_PTR_NOT_NULL(strstr(s->kinds[PERSIST_KIND_STATE].config_json,
					      "\"${NOT_EXPANDED}\""));
		persist_settings_free(s);
	}
	unsetenv("PERSIST_T_MISSING");
	parse_fails("{\"persistence\":{\"state\":{\"provider\":\"redis\",\"config\":"
		    "{\"password\":\"${PERSIST_T_MISSING}\"}}}}", PERSIST_ECONFIG,
		    "environment variable \"PERSIST_T_MISSING\" is not set\n"
		    "It is used in persistence.state.config.password of test.json.");
	parse_fails("{\"persistence\":{\"state\":{\"provider\":\"x\",\"config\":{\"a\":\"${OOPS\"}}}}",
		    PERSIST_ECONFIG, "unterminated ${ in persistence.state.config.a");
	/* strings outside "persistence" are never expanded */
	s = parse_ok("{\"other\":\"${PERSIST_T_MISSING}\"}");
	persist_settings_free(s);
}

static void test_syntax_errors(void)
{
	parse_fails("{\n  \"persistence\": {\n    \"state\": { \"provider\": \"redis\" \n  }\n",
		    PERSIST_ECONFIG, "syntax error in test.json at line 5");
	parse_fails("{\"a\": 1,,}", PERSIST_ECONFIG, "line 1, column 9");
	parse_fails("[1, 2]", PERSIST_ECONFIG, "test.json is not a JSON object");
	parse_fails("{} trailing", PERSIST_ECONFIG, "syntax error");
	parse_fails("{\"persistence\": 3}", PERSIST_ECONFIG, "\"persistence\" in test.json must be an object");
	parse_fails("\xff{}", PERSIST_ECONFIG, "not valid UTF-8");
}

static void test_bad_entries(void)
{
	parse_fails("{\"persistence\":{\"session\":{\"provider\":\"memory\"}}}",
		    PERSIST_ECONFIG, "unknown key \"session\" in persistence of test.json");
	parse_fails("{\"persistence\":{\"state\":{\"provider\":\"memory\",\"cfg\":{}}}}",
		    PERSIST_ECONFIG, "unknown key \"cfg\" in persistence.state");
	parse_fails("{\"persistence\":{\"state\":{}}}",
		    PERSIST_ECONFIG, "persistence.state.provider in test.json is missing");
	parse_fails("{\"persistence\":{\"state\":{\"provider\":\"../evil\"}}}",
		    PERSIST_ECONFIG, "invalid provider name \"../evil\"");
	parse_fails("{\"persistence\":{\"state\":{\"provider\":\"a/b\"}}}",
		    PERSIST_ECONFIG, "invalid provider name");
	parse_fails("{\"persistence\":{\"state\":{\"provider\":\"Redis\"}}}",
		    PERSIST_ECONFIG, "invalid provider name");
	parse_fails("{\"persistence\":{\"state\":{\"provider\":\"x\",\"module\":\"rel/x.so\"}}}",
		    PERSIST_ECONFIG, "module in test.json must be an absolute path");
	parse_fails("{\"persistence\":{\"state\":{\"provider\":\"x\",\"config\":[]}}}",
		    PERSIST_ECONFIG, "persistence.state.config in test.json must be an object");
	parse_fails("{\"persistence\":{\"configuration\":{\"provider\":\"x\",\"config\":{\"cacheTTL\":-5}}}}",
		    PERSIST_ECONFIG, "cacheTTL in test.json must be an integer from 0 to 3153600000000, not -5");
	parse_fails("{\"persistence\":{\"configuration\":{\"provider\":\"x\",\"config\":{\"cacheTTL\":\"5\"}}}}",
		    PERSIST_ECONFIG, "cacheTTL");
	parse_fails("{\"persistence\":{\"pluginPath\":[\"/a\", 3]}}",
		    PERSIST_ECONFIG, "persistence.pluginPath[1] in test.json is not a string");
	parse_fails("{\"persistence\":{\"state\":{\"provider\":\"x\",\"fallback\":{\"provider\":\"-\"}}}}",
		    PERSIST_ECONFIG, "persistence.state.fallback.provider");
}

static void test_files(void)
{
	struct persist_settings *s = NULL;
	struct persist_error err;
	char dir[] = "/tmp/persist-settings.XXXXXX", path[256];
	FILE *f;
	char **dirs = NULL;
	size_t n = 0;

	CU_ASSERT_EQUAL(persist_settings_load("/nonexistent/persist.json", &s, &err), PERSIST_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cannot open configuration file /nonexistent/persist.json"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	CU_ASSERT_EQUAL(persist_settings_load(dir, &s, &err), PERSIST_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "is not a regular file"));
	CU_ASSERT_EQUAL(persist_settings_load("", &s, &err), PERSIST_EINVAL);
	snprintf(path, sizeof(path), "%s/p.json", dir);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("{\"persistence\":{\"pluginPath\":[\"/x/y\"],\"sessions\":{\"provider\":\"memory\"}}}\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(persist_settings_load(path, &s, &err), PERSIST_OK);
	if (s != NULL)
		CU_ASSERT_STRING_EQUAL(s->source, path);
	persist_settings_free(s);
	CU_ASSERT_EQUAL(persist_settings_plugin_path(path, &dirs, &n, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(n, 1);
	if (n == 1)
		CU_ASSERT_STRING_EQUAL(dirs[0], "/x/y");
	for (size_t i = 0; i < n; i++)
		free(dirs[i]);
	free(dirs);
	/* unreadable (only meaningful when not root) and broken file */
	f = fopen(path, "w");
	fputs("{\"persistence\":\n{\"state\": nope}}", f);
	fclose(f);
	CU_ASSERT_EQUAL(persist_settings_load(path, &s, &err), PERSIST_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "at line 2"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
	unlink(path);
	rmdir(dir);
}

/* Parse {"persistence":{KIND:{"provider":"x","config":{KEY:VALUE}}}}. */
static void core_key(const char *kind, const char *key, const char *value,
		     int ok, const char *needle)
{
	char text[512];

	snprintf(text, sizeof(text),
		 "{\"persistence\":{\"%s\":{\"provider\":\"x\",\"config\":{\"%s\":%s}}}}",
		 kind, key, value);
	if (ok) {
		struct persist_settings *s = parse_ok(text);
		if (s == NULL)
			fprintf(stderr, "  (text: %s)\n", text);
		persist_settings_free(s);
	} else {
		parse_fails(text, PERSIST_ECONFIG, needle);
	}
}

/* The core's own keys are integers within a range each: a fraction, an
   exponent, a number json-c saturates, a negative or a string is an error
   naming the key and the file. */
static void test_core_key_ranges(void)
{
	static const char *const bad[] = {
		"-1", "1.5", "1e3", "1e23", "9223372036854775807",
		"9223372036854775808", "99999999999999999999999", "-9223372036854775809",
		"\"5\"", "null", "true", "[]",
	};
	static const struct { const char *key, *max, *over; } keys[] = {
		{ "cacheTTL", "3153600000000", "3153600000001" },
		{ "batchInterval", "3600000", "3600001" },
		{ "batchMaxOps", "1000000", "1000001" },
		{ "batchMaxBytes", "268435456", "268435457" },
		{ "healthInterval", "3600000", "3600001" },
	};
	struct persist_settings *s;
	char needle[128];

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		snprintf(needle, sizeof(needle), "persistence.state.config.%s in test.json must be an integer from",
			 keys[k].key);
		core_key("state", keys[k].key, keys[k].max, 1, NULL);
		core_key("state", keys[k].key, keys[k].over, 0, needle);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			core_key("state", keys[k].key, bad[i], 0, needle);
	}
	core_key("state", "batchMaxOps", "0", 0, "batchMaxOps in test.json must be an integer from 1 to 1000000, not 0");
	core_key("state", "cacheTTL", "1e23", 0, "not 1e23");
	core_key("state", "cacheTTL", "null", 0, "not null");
	core_key("configuration", "cacheTTL", "0", 1, NULL);
	s = parse_ok("{\"persistence\":{\"configuration\":{\"provider\":\"x\",\"config\":"
		     "{\"cacheTTL\":3153600000000}}}}");
	if (s != NULL)
		CU_ASSERT_EQUAL(s->kinds[PERSIST_KIND_CONFIG].cache_ttl_ms, INT64_C(3153600000000));
	persist_settings_free(s);
}

/* A string holding NUL anywhere under "persistence" is an error naming
   its path (C code would see it cut at the NUL). */
static void test_nul_in_strings(void)
{
	struct persist_settings *s;

	parse_fails("{\"persistence\":{\"state\":{\"provider\":\"redis\\u0000x\"}}}",
		    PERSIST_ECONFIG, "persistence.state.provider in test.json contains a NUL character");
	parse_fails("{\"persistence\":{\"state\":{\"provider\":\"redis\",\"config\":"
		    "{\"password\":\"pa\\u0000ss\"}}}}",
		    PERSIST_ECONFIG, "persistence.state.config.password in test.json contains a NUL");
	parse_fails("{\"persistence\":{\"pluginPath\":[\"/a\",\"/b\\u0000c\"]}}",
		    PERSIST_ECONFIG, "persistence.pluginPath[1] in test.json contains a NUL");
	parse_fails("{\"persistence\":{\"state\":{\"provider\":\"x\",\"fallback\":"
		    "{\"provider\":\"y\",\"config\":{\"l\":[{\"k\":\"\\u0000\"}]}}}}}",
		    PERSIST_ECONFIG, "persistence.state.fallback.config.l[0].k in test.json contains a NUL");
	parse_fails("{\"persistence\":{\"state\":{\"provider\":\"redis\",\"config\":"
		    "{\"pass\\u0000word\":\"x\"}}}}",
		    PERSIST_ECONFIG, "key \"pass\\u0000word\" holds a NUL character (\\u0000) "
		    "in persistence.state.config of test.json at line 1");
	parse_fails("{\"persistence\":{\"st\\u0000ate\":{\"provider\":\"x\"}}}",
		    PERSIST_ECONFIG, "holds a NUL character");
	/* outside "persistence" nothing is looked at */
	s = parse_ok("{\"title\":\"a\\u0000b\"}");
	persist_settings_free(s);
}

/* A key given twice in one object under "persistence" is refused with its
   name and where (json-c would silently keep the last one). */
static void test_duplicate_keys(void)
{
	struct persist_settings *s;

	parse_fails("{\"persistence\":{\"state\":{\"provider\":\"memory\"},\n"
		    "  \"state\":{\"provider\":\"redis\"}}}",
		    PERSIST_ECONFIG, "key \"state\" is given twice in persistence of test.json at line 2, column 3");
	parse_fails("{\"persistence\":{\"state\":{\"provider\":\"memory\",\"provider\":\"redis\"}}}",
		    PERSIST_ECONFIG, "key \"provider\" is given twice in persistence.state of test.json");
	parse_fails("{\"persistence\":{\"state\":{\"provider\":\"redis\",\"config\":"
		    "{\"url\":\"a\",\"db\":1,\"url\":\"b\"}}}}",
		    PERSIST_ECONFIG, "key \"url\" is given twice in persistence.state.config of test.json");
	parse_fails("{\"persistence\":{\"pluginPath\":[{\"a\":1,\"a\":2}]}}",
		    PERSIST_ECONFIG, "key \"a\" is given twice in persistence.pluginPath[0]");
	/* the same name written differently is the same key */
	parse_fails("{\"persistence\":{\"state\":{\"provider\":\"x\"},\"st\\u0061te\":{\"provider\":\"y\"}}}",
		    PERSIST_ECONFIG, "is given twice in persistence of test.json");
	/* "persistence" itself twice */
	parse_fails("{\"persistence\":{},\"title\":1,\"persistence\":{}}",
		    PERSIST_ECONFIG, "key \"persistence\" is given twice in the top level of test.json");
	/* the rest of a platform.json is not ours to judge */
	s = parse_ok("{\"title\":1,\"title\":2,\"auth\":{\"m\":1,\"m\":2},\"persistence\":{}}");
	persist_settings_free(s);
}

/* A value of the wrong type is named with its type, never as "(null)";
   an empty pluginPath entry is an error like other non-directories. */
static void test_wrong_types(void)
{
	parse_fails("{\"persistence\":{\"state\":{\"provider\":\"x\",\"module\":null}}}",
		    PERSIST_ECONFIG, "persistence.state.module in test.json must be a string (an absolute path), not null");
	parse_fails("{\"persistence\":{\"state\":{\"provider\":\"x\",\"module\":7}}}",
		    PERSIST_ECONFIG, "module in test.json must be a string (an absolute path), not a number");
	parse_fails("{\"persistence\":{\"state\":{\"provider\":null}}}",
		    PERSIST_ECONFIG, "persistence.state.provider in test.json must be a string, not null");
	parse_fails("{\"persistence\":{\"state\":{\"provider\":[\"x\"]}}}",
		    PERSIST_ECONFIG, "provider in test.json must be a string, not an array");
	parse_fails("{\"persistence\":{\"pluginPath\":[\"/a\", \"\"]}}",
		    PERSIST_ECONFIG, "persistence.pluginPath[1] in test.json is empty");
	parse_fails("{\"persistence\":{\"pluginPath\":\"\"}}",
		    PERSIST_ECONFIG, "persistence.pluginPath in test.json is empty");
}

/* The file is checked strictly: what json-c alone would accept (NaN, "1.",
   raw control characters) is a syntax error with line and column. */
static void test_strict_syntax(void)
{
	parse_fails("{\"persistence\":{\"configuration\":{\"provider\":\"x\",\"config\":\n"
		    "{\"cacheTTL\":NaN}}}}", PERSIST_ECONFIG,
		    "syntax error in test.json at line 2, column 13: NaN is not a JSON value");
	parse_fails("{\"a\":1.}", PERSIST_ECONFIG, "a number needs a digit after the decimal point");
	parse_fails("{\"a\":\"x\ty\"}", PERSIST_ECONFIG, "raw control character 0x09");
	parse_fails("{\"a\":Infinity}", PERSIST_ECONFIG, "Infinity is not a JSON value");
	parse_fails("null", PERSIST_ECONFIG, "test.json is not a JSON object");
}

/* A FIFO, a device or a directory is refused before anything is read
   (a FIFO with no writer would otherwise block forever). */
static void test_not_regular_files(void)
{
	struct persist_settings *s = NULL;
	struct persist_error err;
	char dir[] = "/tmp/persist-settings.XXXXXX", fifo[256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/f.json", dir);
	CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
	alarm(20);   /* a hang fails the test instead of the whole run waiting */
	CU_ASSERT_EQUAL(persist_settings_load(fifo, &s, &err), PERSIST_ECONFIG);
	ASSERT_MSG_HAS(err, "configuration file ");
	ASSERT_MSG_HAS(err, "/f.json is not a regular file (a FIFO)");
	CU_ASSERT_EQUAL(persist_settings_load("/dev/null", &s, &err), PERSIST_ECONFIG);
	ASSERT_MSG_HAS(err, "configuration file /dev/null is not a regular file (a character device)");
	CU_ASSERT_EQUAL(persist_settings_load(dir, &s, &err), PERSIST_ECONFIG);
	ASSERT_MSG_HAS(err, "is not a regular file (a directory)");
	alarm(0);
	CU_ASSERT_PTR_NULL(s);
	unlink(fifo);
	rmdir(dir);
}

int main(void)
{
	static const struct t_case tests[] = {
		{ "embedded defaults", test_defaults },
		{ "whole platform.json", test_platform_json },
		{ "${VAR} expansion", test_env_expansion },
		{ "syntax errors with line and column", test_syntax_errors },
		{ "bad entries named", test_bad_entries },
		{ "files", test_files },
		{ "core keys are integers within a range", test_core_key_ranges },
		{ "NUL in a string", test_nul_in_strings },
		{ "duplicate keys", test_duplicate_keys },
		{ "wrong types named", test_wrong_types },
		{ "strict JSON syntax", test_strict_syntax },
		{ "FIFO, device, directory", test_not_regular_files },
		{ NULL, NULL }
	};
	return t_cunit_run("settings", NULL, NULL, tests);
}
