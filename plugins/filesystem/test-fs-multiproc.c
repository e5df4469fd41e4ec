/*
 * plugins/filesystem/test-fs-multiproc.c - several processes on one state
 * directory: 2 processes x 100,000 increments of one key end at exactly
 * 200,000; 4 processes appending (records of mixed sizes, some of 200 KB
 * so that a write spans many pages) leave every record exactly once, each
 * on its own line, in each writer's order, and a batch writer and a
 * single-op writer mixing increments on one key lose nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <json-c/json.h>
#include <CUnit/Basic.h>
#include "../../t/lib/cunit-suite.h"
#include "t-fs-host.h"

#define OPS (t_plugin->state)

static char st_json[4200];

static int suite_init(void)
{
	t_load_plugin();
	snprintf(st_json, sizeof(st_json), "{\"root\":\"%s\"}", t_path("mp"));
	return 0;
}

static int suite_clean(void)
{
	t_unload_plugin();
	return 0;
}

/* Wait for every child; true when all exited 0. */
static int wait_all(pid_t *pids, int n)
{
	int ok = 1;

	for (int i = 0; i < n; i++) {
		int status;
		if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr, "child %d failed (status %d)\n", i, status);
			ok = 0;
		}
	}
	return ok;
}

/* 2 x 100,000 increments of one key from two processes. */
static void test_incr_two_processes(void)
{
	enum { PROCS = 2, EACH = 100000 };
	struct persist_error err;
	pid_t pids[PROCS];
	void *st;
	char *v;
	int64_t t0 = ph_monotonic_us();

	for (int p = 0; p < PROCS; p++) {
		pids[p] = fork();
		if (pids[p] == 0) {
			void *mine;
			int64_t last = 0, now;
			if (t_open(PERSIST_KIND_STATE, st_json, &mine, &err) != PERSIST_OK)
				_exit(2);
			for (int i = 0; i < EACH; i++) {
				if (OPS->incr(mine, "usage", "tokens", 1, &now, &err) != PERSIST_OK) {
					fprintf(stderr, "incr: %s\n", err.msg);
					_exit(3);
				}
				if (now <= last)
					_exit(4); /* values a process sees only grow */
				last = now;
			}
			t_close(PERSIST_KIND_STATE, mine);
			_exit(0);
		}
	}
	CU_ASSERT(wait_all(pids, PROCS));
	printf("\n    %d increments in %.2f s ", PROCS * EACH,
	       (double)(ph_monotonic_us() - t0) / 1e6);
	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_STATE, st_json, &st, &err), PERSIST_OK);
	v = t_state_get(st, "usage", "tokens");
	CU_ASSERT_STRING_EQUAL(v, "200000");
	free(v);
	t_close(PERSIST_KIND_STATE, st);
}

/* One batch writer and one single-op writer on the same key. */
static void test_incr_batch_and_single(void)
{
	enum { EACH = 20000, BATCH = 100 };
	struct persist_error err;
	pid_t pids[2];
	void *st;
	char *v;

	for (int p = 0; p < 2; p++) {
		pids[p] = fork();
		if (pids[p] == 0) {
			void *mine;
			struct persist_op ops[BATCH];
			if (t_open(PERSIST_KIND_STATE, st_json, &mine, &err) != PERSIST_OK)
				_exit(2);
			for (int i = 0; i < BATCH; i++)
				ops[i] = (struct persist_op){ PERSIST_OP_INCR, "mixed", "n",
							      NULL, 0, 1, 0 };
			for (int i = 0; i < EACH; i += (p ? BATCH : 1)) {
				int ret = p ? OPS->batch(mine, ops, BATCH, sizeof(ops[0]), &err)
					    : OPS->incr(mine, "mixed", "n", 1, NULL, &err);
				if (ret != PERSIST_OK)
					_exit(3);
			}
			t_close(PERSIST_KIND_STATE, mine);
			_exit(0);
		}
	}
	CU_ASSERT(wait_all(pids, 2));
	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_STATE, st_json, &st, &err), PERSIST_OK);
	v = t_state_get(st, "mixed", "n");
	CU_ASSERT_STRING_EQUAL(v, "40000");
	free(v);
	t_close(PERSIST_KIND_STATE, st);
}

/* 4 processes appending to one log. */
static void test_append_four_processes(void)
{
	enum { PROCS = 4, EACH = 3000, BIG = 200 * 1024 };
	struct persist_error err;
	pid_t pids[PROCS];
	int next[PROCS] = { 0 };
	size_t len;
	char *data, *p, *nl;
	int lines = 0, bad = 0;

	for (int w = 0; w < PROCS; w++) {
		pids[w] = fork();
		if (pids[w] == 0) {
			void *mine;
			char *rec = malloc(BIG + 100);
			if (t_open(PERSIST_KIND_STATE, st_json, &mine, &err) != PERSIST_OK)
				_exit(2);
			for (int i = 0; i < EACH; i++) {
				size_t pad = i % 100 == 0 ? BIG : (size_t)(i % 50);
				int n = snprintf(rec, 100, "{\"w\":%d,\"i\":%d,\"pad\":\"", w, i);
				memset(rec + n, 'a' + w, pad);
				memcpy(rec + n + pad, "\"}", 2);
				if (i % 10 == 0) {
					struct persist_op op = { PERSIST_OP_APPEND, "feedback", NULL,
								 rec, n + pad + 2, 0, 0 };
					if (OPS->batch(mine, &op, 1, sizeof(op), &err) != PERSIST_OK)
						_exit(3);
				} else if (OPS->append(mine, "feedback", rec, n + pad + 2, &err) != PERSIST_OK) {
					_exit(3);
				}
			}
			free(rec);
			t_close(PERSIST_KIND_STATE, mine);
			_exit(0);
		}
	}
	CU_ASSERT(wait_all(pids, PROCS));
	data = t_read_file(t_path("mp/logs/feedback.jsonl"), &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	for (p = data; p < data + len; p = nl + 1) {
		struct json_object *o, *w, *i, *pad;
		nl = memchr(p, '\n', (size_t)(data + len - p));
		if (nl == NULL) {
			bad++;
			break;
		}
		*nl = '\0';
		lines++;
		o = json_tokener_parse(p);
		if (o == NULL || !json_object_object_get_ex(o, "w", &w) ||
		    !json_object_object_get_ex(o, "i", &i) ||
		    !json_object_object_get_ex(o, "pad", &pad)) {
			bad++;
		} else {
			int wi = json_object_get_int(w), ii = json_object_get_int(i);
			const char *s = json_object_get_string(pad);
			/* in order, exactly once, and not mixed with another writer */
			if (wi < 0 || wi >= PROCS || ii != next[wi])
				bad++;
			else
				next[wi]++;
			for (; *s != '\0'; s++)
				if (*s != 'a' + wi)
					bad++;
		}
		json_object_put(o);
	}
	free(data);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(lines, PROCS * EACH);
	for (int w = 0; w < PROCS; w++)
		CU_ASSERT_EQUAL(next[w], EACH);
}

/* The tests, in the order they run. */
static const struct t_case cases[] = {
	{ "2 processes x 100,000 increments", test_incr_two_processes },
	{ "batch and single increments", test_incr_batch_and_single },
	{ "4 processes appending", test_append_four_processes },
	{ NULL, NULL },
};

int main(void)
{
	return t_cunit_run("filesystem multi-process", suite_init, suite_clean, cases);
}
