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
		    PERSIST_ECONFIG, "cacheTTL in test.json must be a non-negative integer");
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

int main(void)
{
	static const struct t_case tests[] = {
		{ "embedded defaults", test_defaults },
		{ "whole platform.json", test_platform_json },
		{ "${VAR} expansion", test_env_expansion },
		{ "syntax errors with line and column", test_syntax_errors },
		{ "bad entries named", test_bad_entries },
		{ "files", test_files },
		{ NULL, NULL }
	};
	return t_cunit_run("settings", NULL, NULL, tests);
}
