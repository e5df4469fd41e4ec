/*
 * t/unit/unit.h - what the core's unit tests share beyond the common CUnit
 * main (t/lib/cunit-suite.h): an assertion on error messages.
 */
#ifndef PERSIST_T_UNIT_H
#define PERSIST_T_UNIT_H

#include <string.h>
#include "cunit-suite.h"

/* Does the message of a struct persist_error contain needle? */
#define ASSERT_MSG_HAS(err, needle) \
	CU_ASSERT_PTR_NOT_NULL(strstr((err).msg, (needle)))

#endif
