/*
 * plugins/memory/test-memory-errors.c - the core names the provider before
 * every message the memory provider returns, exactly once: a plugin's
 * message never names the plugin itself.  Driven through the public API
 * (libpersist), as a host sees it.
 */
#include <stdio.h>
#include <string.h>
#include <persist/persist.h>
#include "cunit-suite.h"

/* How many times needle occurs in hay. */
static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* The message begins with "memory: " and names the provider once. */
static void check_named_once(const struct persist_error *err, const char *what)
{
	CU_ASSERT(strncmp(err->msg, "memory: ", 8) == 0);
	CU_ASSERT_EQUAL(count(err->msg, "memory"), 1);
	if (strncmp(err->msg, "memory: ", 8) != 0 || count(err->msg, "memory") != 1)
		fprintf(stderr, "%s: \"%s\"\n", what, err->msg);
}

/* A config the provider refuses at open: the reader's message, named. */
static void test_open_error(void)
{
	struct persist_error err;
	persist *p = NULL;

	CU_ASSERT_EQUAL(persist_open_json(
		"{\"persistence\":{\"state\":{\"provider\":\"memory\","
		"\"config\":{\"namespace\":42}}}}", NULL, &p, &err), PERSIST_ECONFIG);
	CU_ASSERT_PTR_NULL(p);
	check_named_once(&err, "open");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "setting \"namespace\""));
}

/* A method's failure: incr of a key that holds no counter. */
static void test_method_error(void)
{
	struct persist_error err;
	persist *p = NULL;
	int64_t v = 0;

	CU_ASSERT_EQUAL_FATAL(persist_open_json(
		"{\"persistence\":{\"state\":{\"provider\":\"memory\","
		"\"config\":{\"namespace\":\"errors\"}}}}", NULL, &p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_set(p, "c", "k", "012", 3, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_incr(p, "c", "k", 1, &v, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(err.code, PERSIST_EINVAL);
	check_named_once(&err, "incr");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "\"k\""));
	/* a second failure on the same handle is named once too */
	CU_ASSERT_EQUAL(persist_state_incr(p, "c", "k", 1, &v, &err), PERSIST_EINVAL);
	check_named_once(&err, "incr again");
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "an open error names the provider once", test_open_error },
		{ "a method error names the provider once", test_method_error },
		{ NULL, NULL }
	};

	return t_cunit_run("memory-errors", NULL, NULL, cases);
}
