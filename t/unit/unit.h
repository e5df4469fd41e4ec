/*
 * t/unit/unit.h - the few lines every CUnit test program of the core
 * shares: register an array of tests as one suite, run it, and exit
 * non-zero when anything failed (or when no test ran at all).
 */
#ifndef PERSIST_T_UNIT_H
#define PERSIST_T_UNIT_H

#include <string.h>
#include <CUnit/Basic.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
};

/* Run tests[] (terminated by a NULL name) as suite `suite`. */
static inline int unit_run(const char *suite, const struct unit_test *tests)
{
	CU_pSuite s;
	unsigned failures, ran;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite(suite, NULL, NULL);
	if (s == NULL)
		return 2;
	for (const struct unit_test *t = tests; t->name != NULL; t++) {
		if (CU_add_test(s, t->name, t->fn) == NULL)
			return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	ran = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	return failures > 0 || ran == 0 ? 1 : 0;
}

/* Does the message contain needle? (with the message in the failure text) */
#define ASSERT_MSG_HAS(err, needle) \
	CU_ASSERT_PTR_NOT_NULL(strstr((err).msg, (needle)))

#endif
