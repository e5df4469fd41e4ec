/*
 * t/unit/test-api-checks.c - the argument checks every API entry point
 * runs before anything reaches a provider, through a real handle on the
 * memory plugin: a TTL out of range (the one rule: 0 or 1 to
 * PERSIST_TTL_MAX_MS) and a document that is not strict JSON are refused
 * with a message naming the key, and what was stored before is untouched.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <persist/persist.h>
#include "unit.h"

static persist *p;

static int open_memory(void)
{
	struct persist_error err;
	static const char conf[] =
		"{\"persistence\":{"
		"\"configuration\":{\"provider\":\"memory\",\"config\":{\"namespace\":\"api-checks\"}},"
		"\"state\":{\"provider\":\"memory\",\"config\":{\"namespace\":\"api-checks\"}},"
		"\"sessions\":{\"provider\":\"memory\",\"config\":{\"namespace\":\"api-checks\"}}}}";

	if (persist_open_json(conf, NULL, &p, &err) != PERSIST_OK) {
		fprintf(stderr, "cannot open the memory plugin: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int close_memory(void)
{
	return persist_close(p, NULL) == PERSIST_OK ? 0 : -1;
}

/* The value of collection c, key k ("" when absent). */
static char *state_value(const char *key)
{
	char *value = NULL;

	if (persist_state_get(p, "c", key, &value, NULL, NULL) != PERSIST_OK)
		return strdup("");
	return value;
}

static const int64_t bad_ttls[] = {
	INT64_MAX, INT64_C(9223372036854775), PERSIST_TTL_MAX_MS + 1, -1, INT64_MIN,
};

/* persist_state_set: a bad TTL loses nothing; the largest TTL works. */
static void test_state_set_ttl(void)
{
	struct persist_error err;
	char *v;

	CU_ASSERT_EQUAL_FATAL(persist_state_set(p, "c", "k", "old", 3, 0, &err), PERSIST_OK);
	for (size_t i = 0; i < sizeof(bad_ttls) / sizeof(bad_ttls[0]); i++) {
		CU_ASSERT_EQUAL(persist_state_set(p, "c", "k", "new", 3, bad_ttls[i], &err),
				PERSIST_EINVAL);
		ASSERT_MSG_HAS(err, "for key \"k\" is out of range\n"
			       "A TTL is 0 (no expiry) or 1 to 3153600000000 ms (100 years).");
		v = state_value("k");
		CU_ASSERT_STRING_EQUAL(v, "old");
		free(v);
	}
	persist_state_set(p, "c", "k", "new", 3, INT64_MAX, &err);
	CU_ASSERT_STRING_EQUAL(err.msg, "TTL 9223372036854775807 ms for key \"k\" is out of range\n"
			       "A TTL is 0 (no expiry) or 1 to 3153600000000 ms (100 years).");
	CU_ASSERT_EQUAL(persist_state_set(p, "c", "k", "new", 3, PERSIST_TTL_MAX_MS, &err), PERSIST_OK);
	v = state_value("k");
	CU_ASSERT_STRING_EQUAL(v, "new");
	free(v);
}

/* Batches: a bad TTL in any op refuses the whole batch up front. */
static void test_batch_ttl(void)
{
	struct persist_error err;
	struct persist_op ops[2];
	struct persist_kv kv[2] = {
		{ "b1", "x", 1, 0 }, { "b2", "y", 1, INT64_MAX },
	};
	char *v;

	memset(ops, 0, sizeof(ops));
	ops[0].type = PERSIST_OP_SET; ops[0].collection = "c"; ops[0].key = "b1";
	ops[0].value = "x"; ops[0].len = 1;
	ops[1] = ops[0];
	ops[1].key = "b2";
	for (size_t i = 0; i < sizeof(bad_ttls) / sizeof(bad_ttls[0]); i++) {
		ops[1].ttl_ms = bad_ttls[i];
		CU_ASSERT_EQUAL(persist_state_batch(p, ops, 2, &err), PERSIST_EINVAL);
		ASSERT_MSG_HAS(err, "batch operation 1 is invalid (nothing of the batch was applied)");
		ASSERT_MSG_HAS(err, "for key \"b2\" is out of range");
	}
	CU_ASSERT_EQUAL(persist_state_set_batch(p, "c", kv, 2, &err), PERSIST_EINVAL);
	ASSERT_MSG_HAS(err, "TTL 9223372036854775807 ms for key \"b2\" is out of range");
	v = state_value("b1");
	CU_ASSERT_STRING_EQUAL(v, "");
	free(v);
	kv[1].ttl_ms = PERSIST_TTL_MAX_MS;
	CU_ASSERT_EQUAL(persist_state_set_batch(p, "c", kv, 2, &err), PERSIST_OK);
	v = state_value("b2");
	CU_ASSERT_STRING_EQUAL(v, "y");
	free(v);
}

/* persist_session_put: refused before the provider sees it. */
static void test_session_ttl(void)
{
	struct persist_error err;
	struct persist_entry *list = NULL;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(bad_ttls) / sizeof(bad_ttls[0]); i++) {
		CU_ASSERT_EQUAL(persist_session_put(p, "s1", "{}", 2, bad_ttls[i], &err),
				PERSIST_EINVAL);
		ASSERT_MSG_HAS(err, "for session \"s1\" is out of range");
	}
	CU_ASSERT_EQUAL(persist_session_list(p, &list, &n, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(n, 0);
	persist_items_free(list, n);
	CU_ASSERT_EQUAL(persist_session_put(p, "s1", "{}", 2, PERSIST_TTL_MAX_MS, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_session_drop(p, "s1", &err), PERSIST_OK);
}

/* persist_config_set: TTL and strict JSON, the old document kept. */
static void test_config_set_checks(void)
{
	static const char *const not_json[] = {
		"NaN", "Infinity", "-Infinity", "1.", ".5", "01", "\"a\nb\"", "\"a\tb\"",
		"{\"a\":NaN}", "[1,]", "\"\xff\"", "{} x",
	};
	struct persist_error err;
	char *doc = NULL;

	CU_ASSERT_EQUAL_FATAL(persist_config_set(p, "apps", "{\"v\":1}", 7, NULL, 0, NULL, &err), PERSIST_OK);
	for (size_t i = 0; i < sizeof(bad_ttls) / sizeof(bad_ttls[0]); i++) {
		CU_ASSERT_EQUAL(persist_config_set(p, "apps", "{\"v\":2}", 7, NULL, bad_ttls[i],
						   NULL, &err), PERSIST_EINVAL);
		ASSERT_MSG_HAS(err, "for configuration key \"apps\" is out of range");
	}
	for (size_t i = 0; i < sizeof(not_json) / sizeof(not_json[0]); i++) {
		CU_ASSERT_EQUAL(persist_config_set(p, "apps", not_json[i], strlen(not_json[i]),
						   NULL, 0, NULL, &err), PERSIST_EINVAL);
		ASSERT_MSG_HAS(err, "document for key \"apps\" is not valid JSON: ");
		CU_ASSERT_PTR_NULL(strstr(err.msg, "success"));
	}
	CU_ASSERT_EQUAL(persist_config_set(p, "apps", "{\"a\":NaN}", 9, NULL, 0, NULL, &err), PERSIST_EINVAL);
	CU_ASSERT_STRING_EQUAL(err.msg, "document for key \"apps\" is not valid JSON: "
			       "NaN is not a JSON value at byte 5");
	CU_ASSERT_EQUAL(persist_config_get(p, "apps", &doc, NULL, NULL, &err), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(doc, "{\"v\":1}");
	persist_free(doc);
	/* every JSON value is a document, null included */
	CU_ASSERT_EQUAL(persist_config_set(p, "n", "null", 4, NULL, 0, NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_config_set(p, "n", " 1 ", 3, NULL, 0, NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_config_set(p, "n", "\"s\"", 3, NULL, 0, NULL, &err), PERSIST_OK);
	/* nesting: 128 levels are a document (json-c alone stops at 32) */
	{
		char deep[2 * 129 + 1];
		memset(deep, '[', 128);
		memset(deep + 128, ']', 128);
		CU_ASSERT_EQUAL(persist_config_set(p, "deep", deep, 256, NULL, 0, NULL, &err), PERSIST_OK);
		memset(deep, '[', 129);
		memset(deep + 129, ']', 129);
		CU_ASSERT_EQUAL(persist_config_set(p, "deep", deep, 258, NULL, 0, NULL, &err), PERSIST_EINVAL);
		ASSERT_MSG_HAS(err, "nested deeper than 128 levels at byte 128");
	}
	/* the largest TTL: stored, and served from the cache */
	CU_ASSERT_EQUAL(persist_config_set(p, "apps", "{\"v\":3}", 7, NULL, PERSIST_TTL_MAX_MS,
					   NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_config_get(p, "apps", &doc, NULL, NULL, &err), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(doc, "{\"v\":3}");
	persist_free(doc);
}

int main(void)
{
	static const struct t_case tests[] = {
		{ "state set TTL", test_state_set_ttl },
		{ "batch TTL", test_batch_ttl },
		{ "session put TTL", test_session_ttl },
		{ "config set TTL and JSON", test_config_set_checks },
		{ NULL, NULL }
	};
	return t_cunit_run("api checks", open_memory, close_memory, tests);
}
