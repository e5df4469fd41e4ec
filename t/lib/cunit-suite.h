/*
 * t/lib/cunit-suite.h - the main() of a CUnit test program with one suite:
 * register the suite and its tests, run them with CUnit's basic interface
 * (verbose), and turn the outcome into the exit status t/run-test expects.
 * Header only (static inline), so that a program that includes it needs
 * nothing but $(CUNIT_CFLAGS) and $(CUNIT_LIBS).
 */
#ifndef PERSIST_T_CUNIT_SUITE_H
#define PERSIST_T_CUNIT_SUITE_H

#include <CUnit/Basic.h>

/* One test of a suite; a table of them ends with { NULL, NULL }. */
struct t_case {
	const char *name;
	CU_TestFunc fn;
};

/* Run the suite `name` (init and clean may be NULL) with the tests of
   cases.  Exit status: 0 when tests ran and none failed, 1 when one
   failed or none ran, 99 when CUnit could not register the suite. */
static inline int t_cunit_run(const char *name, CU_InitializeFunc init,
			      CU_CleanupFunc clean, const struct t_case *cases)
{
	unsigned failed, run;
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	s = CU_add_suite(name, init, clean);
	for (const struct t_case *c = cases; s != NULL && c->name != NULL; c++)
		if (CU_add_test(s, c->name, c->fn) == NULL)
			s = NULL;
	if (s == NULL) {
		CU_cleanup_registry();
		return 99;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	run = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	return failed || run == 0 ? 1 : 0;
}

#endif
