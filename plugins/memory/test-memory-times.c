/*
 * plugins/memory/test-memory-times.c - the memory provider's write times
 * (memory-times.c) around a batch that fails: the times it changed are
 * restored with its writes, also when the batch carries dated writes older
 * than the times kept and makes the table grow past its sweep point (old
 * times are never swept while a batch holds them).  Driven through the
 * public API; run under valgrind and AddressSanitizer by CI, which see a
 * time freed under the batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <persist/persist.h>
#include "cunit-suite.h"

#define KEYS 100   /* more than the table's first sweep point (64) */

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static persist *open_memory(void)
{
	struct persist_error err;
	persist *p = NULL;

	CU_ASSERT_EQUAL_FATAL(persist_open_json(
		"{\"persistence\":{\"state\":{\"provider\":\"memory\","
		"\"config\":{\"namespace\":\"times\"}}}}", NULL, &p, &err), PERSIST_OK);
	return p;
}

/* A dated batch of writes two days old over KEYS keys, ending in an
   increment that fails: nothing applied, no time changed, and a dated
   write as old as the batch's still applies after it. */
static void test_failed_batch_restores_times(void)
{
	struct persist_op ops[KEYS + 1];
	int64_t times[KEYS + 1], old = wall_ms() - 2 * 24 * 3600 * 1000LL;
	char keys[KEYS][16], *value = NULL;
	struct persist_error err;
	persist *p = open_memory();
	int before = 0;

	CU_ASSERT_EQUAL(persist_state_set(p, "t", "text", "not a number", 12, 0, &err), PERSIST_OK);
	memset(ops, 0, sizeof(ops));
	for (int i = 0; i < KEYS; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		ops[i] = (struct persist_op){ .type = PERSIST_OP_SET, .collection = "t",
					      .key = keys[i], .value = "old", .len = 3 };
		times[i] = old + i;
	}
	ops[KEYS] = (struct persist_op){ .type = PERSIST_OP_INCR, .collection = "t",
					 .key = "text", .delta = 1 };
	times[KEYS] = 0;
	CU_ASSERT_EQUAL(persist_state_batch_once_dated(p, "times-1", ops, times, KEYS + 1,
						       &before, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_state_get(p, "t", "k0", &value, NULL, &err), PERSIST_ENOTFOUND);
	/* the times went back with the writes: the same writes apply now */
	CU_ASSERT_EQUAL(persist_state_batch_once_dated(p, "times-2", ops, times, KEYS,
						       &before, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_get(p, "t", "k0", &value, NULL, &err), PERSIST_OK);
	CU_ASSERT(value != NULL && strcmp(value, "old") == 0);
	persist_free(value);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "a failed dated batch restores the times it changed",
		  test_failed_batch_restores_times },
		{ NULL, NULL }
	};

	return t_cunit_run("memory-times", NULL, NULL, cases);
}
