/*
 * plugins/common/test-pc-mask.c - masking of the secrets in a connection
 * string: urls that parse and urls that do not, key=value conninfo
 * strings, and passwords holding the characters that break a parser.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pc-common.h"
#include "cunit-suite.h"

struct mask_case {
	const char *in, *out;
};

/* Check every case; print the ones that differ. */
static void check_cases(const struct mask_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *m = pc_mask_secrets(cases[i].in);

		CU_ASSERT(m != NULL && strcmp(m, cases[i].out) == 0);
		if (m != NULL && strcmp(m, cases[i].out) != 0)
			fprintf(stderr, "mask of \"%s\": \"%s\", expected \"%s\"\n",
				cases[i].in, m, cases[i].out);
		free(m);
	}
}

/* The userinfo is hidden up to the last '@', whether or not it parses. */
static void test_userinfo(void)
{
	static const struct mask_case cases[] = {
		{ "redis://:pw@h:1/0", "redis://***@h:1/0" },
		{ "redis://:a/b@c@h:1/0", "redis://***@h:1/0" },
		{ "redis:/u:pw@h", "redis:/***@h" },
		{ "u:pw@h:1/0", "u:***@h:1/0" },
		{ "//u:pw@h", "***@h" },
		{ "redis://h:1/0", "redis://h:1/0" },
		{ "", "" },
	};

	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* password= and secret= parameters, in urls and conninfo strings. */
static void test_parameters(void)
{
	static const struct mask_case cases[] = {
		{ "unix:///x?password=pw&db=1", "unix:///x?password=***&db=1" },
		{ "host=h secret=pw user=u", "host=h secret=*** user=u" },
	};

	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* A marker password in malformed urls never survives the mask. */
static void test_marker(void)
{
	static const char *const urls[] = {
		"redis://:Zm9vMARKER/YmFy==@127.0.0.1:6379/0",
		"redis:/u:MARKER@127.0.0.1:6379/0",
		"redis//u:MARKER@127.0.0.1:6379/0",
		"u:MARKER@127.0.0.1:6379/0",
		"unix:///x?password=MARKER",
		"unix:///x?db=1&Password=MARKER&y=1",
		"redis://127.0.0.1:6379/0?password=MARKER",
		"redis://:MAR@KER@127.0.0.1:6379/x",
		"rediss://:MARKER@[::1:6379",
		"postgresql://u:MARKER@h/db?sslmode=require",
		"host=h password=MARKER dbname=d",
	};

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		char *m = pc_mask_secrets(urls[i]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		CU_ASSERT_PTR_NULL(strstr(m, "MAR"));
		if (strstr(m, "MAR") != NULL)
			fprintf(stderr, "mask of \"%s\" keeps the secret: \"%s\"\n",
				urls[i], m);
		free(m);
	}
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "userinfo up to the last @", test_userinfo },
		{ "password and secret parameters", test_parameters },
		{ "a marker password never survives", test_marker },
		{ NULL, NULL }
	};

	return t_cunit_run("pc-mask", NULL, NULL, cases);
}
