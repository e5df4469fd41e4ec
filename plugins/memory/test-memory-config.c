/*
 * plugins/memory/test-memory-config.c - the memory provider's config
 * object, read by the plugin support library's config reader: a wrong
 * type, an unknown key, a bad length or a NUL byte is refused with a
 * message naming the setting, and a valid namespace really selects the
 * data a store sees.  The plugin is loaded from PERSIST_PLUGIN_PATH (set
 * by t/run-test) and driven through its ops tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "plugin-host.h"
#include "cunit-suite.h"

static struct ph_plugin memory;

/* Open a configuration store with json; the status, *err filled. */
static int open_config(const char *json, void **store_r, struct persist_error *err)
{
	memset(err, 0, sizeof(*err));
	*store_r = NULL;
	return ph_open(&memory, PERSIST_KIND_CONFIG, json, "t1", NULL, store_r, err);
}

/* Expect json refused with PERSIST_ECONFIG and a message holding both texts. */
static void refused(const char *json, const char *primary, const char *detail)
{
	struct persist_error err;
	void *store;
	int ret = open_config(json, &store, &err);

	CU_ASSERT_EQUAL(ret, PERSIST_ECONFIG);
	CU_ASSERT_PTR_NULL(store);
	if (strstr(err.msg, primary) == NULL || (detail != NULL && strstr(err.msg, detail) == NULL)) {
		fprintf(stderr, "config %s: got \"%s\"\n", json, err.msg);
		CU_FAIL("message does not name what is wrong");
	}
	if (ret == PERSIST_OK)
		ph_close(&memory, PERSIST_KIND_CONFIG, store);
}

static void test_refused(void)
{
	refused("{\"namespace\": 5}",
		"setting \"namespace\" must be a string of 1 to 256 bytes",
		"\nThe config gives 5.");
	refused("{\"nmespace\": \"x\"}", "unknown setting \"nmespace\"",
		"The settings it knows are \"namespace\".");
	refused("{\"namespace\": \"\"}", "setting \"namespace\" must be a string of 1 to 256 bytes",
		"0 bytes long");
	refused("{\"namespace\": \"a\\u0000b\"}",
		"setting \"namespace\" must not contain a NUL byte", NULL);
	refused("[]", "config is not a JSON object", NULL);
	refused("{\"namespace\":", "config is not valid JSON", NULL);
}

/* Stores of one namespace share documents; another namespace does not
   see them. */
static void test_namespace_used(void)
{
	struct persist_error err;
	struct persist_value value;
	char etag[PERSIST_ETAG_MAX];
	void *a, *b, *other;

	CU_ASSERT_EQUAL_FATAL(open_config("{\"namespace\": \"ns-one\"}", &a, &err), PERSIST_OK);
	CU_ASSERT_EQUAL_FATAL(open_config("{\"namespace\": \"ns-one\"}", &b, &err), PERSIST_OK);
	CU_ASSERT_EQUAL_FATAL(open_config(NULL, &other, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(memory.pl->config->set(a, "doc", "{}", 2, NULL, etag, &err), PERSIST_OK);
	memset(&value, 0, sizeof(value));
	CU_ASSERT_EQUAL(memory.pl->config->get(b, "doc", &value, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(value.len, 2);
	CU_ASSERT_STRING_EQUAL(value.etag, etag);
	free(value.data);
	CU_ASSERT_EQUAL(memory.pl->config->get(other, "doc", &value, &err), PERSIST_ENOTFOUND);
	ph_close(&memory, PERSIST_KIND_CONFIG, a);
	ph_close(&memory, PERSIST_KIND_CONFIG, b);
	ph_close(&memory, PERSIST_KIND_CONFIG, other);
}

static int suite_init(void)
{
	struct persist_error err;

	if (ph_load(&memory, "memory", &err) != PERSIST_OK) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

static int suite_clean(void)
{
	ph_unload(&memory);
	return 0;
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "bad config refused, naming the setting", test_refused },
		{ "the namespace selects the data", test_namespace_used },
		{ NULL, NULL }
	};

	return t_cunit_run("memory-config", suite_init, suite_clean, cases);
}
