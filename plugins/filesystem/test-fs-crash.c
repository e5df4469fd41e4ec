/*
 * plugins/filesystem/test-fs-crash.c - kill -9 at random moments.  Each of
 * ROUNDS rounds forks a child that appends records (some 2 MB, so that a kill
 * can land inside a write), increments a counter and runs small batches,
 * reporting every acknowledged operation on a pipe only after the call
 * returned PERSIST_OK; the parent SIGKILLs it after a random delay.
 *
 * What must hold after each round (an operation may be applied without
 * being acknowledged, namely the one in flight at the kill; an acknowledged
 * one is never lost):
 *   - every acknowledged record is in the log exactly once, in order, and
 *     at most one record of the round was not acknowledged (the in-flight
 *     one, which then comes last);
 *   - counter growth over the round >= acknowledged increments and
 *     <= acknowledged + the in-flight operation's increment (at most 2);
 *   - once the parent has written again (which cuts a torn tail), every
 *     line of the journal and of the log parses as JSON, and reading never
 *     returned a torn line as a record.
 * Rounds: T_FS_CRASH_ROUNDS (default 50).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include <CUnit/Basic.h>
#include "../../t/lib/cunit-suite.h"
#include "t-fs-host.h"

#define OPS (t_plugin->state)
#define BIG (2 * 1024 * 1024)
#define MAX_I 200000

static char st_json[4200];

static int suite_init(void)
{
	t_load_plugin();
	snprintf(st_json, sizeof(st_json), "{\"root\":\"%s\"}", t_path("crash"));
	return 0;
}

static int suite_clean(void)
{
	t_unload_plugin();
	return 0;
}

/* Write all of a string to the ack pipe. */
static void ack(int fd, const char *s)
{
	size_t len = strlen(s);
	while (len > 0) {
		ssize_t n = write(fd, s, len);
		if (n <= 0)
			_exit(5);
		s += n;
		len -= (size_t)n;
	}
}

/* The child: operate forever, acknowledging on fd. */
static void child(int round, int fd)
{
	struct persist_error err;
	char *rec = malloc(BIG + 128);
	void *st;

	if (t_open(PERSIST_KIND_STATE, st_json, &st, &err) != PERSIST_OK)
		_exit(2);
	for (int i = 0; i < MAX_I; i++) {
		size_t pad = i % 7 == 3 ? BIG : (size_t)(i % 40);
		int n = snprintf(rec, 128, "{\"r\":%d,\"i\":%d,\"pad\":\"", round, i);
		char line[64];

		memset(rec + n, 'x', pad);
		memcpy(rec + n + pad, "\"}", 2);
		switch (i % 4) {
		case 0:
		case 1:
			if (OPS->append(st, "events", rec, n + pad + 2, &err) != PERSIST_OK)
				_exit(3);
			snprintf(line, sizeof(line), "A %d\n", i);
			break;
		case 2:
			if (OPS->incr(st, "counters", "c", 1, NULL, &err) != PERSIST_OK)
				_exit(3);
			snprintf(line, sizeof(line), "C 1\n");
			break;
		default: {
			struct persist_op ops[2] = {
				{ PERSIST_OP_APPEND, "events", NULL, rec, n + pad + 2, 0, 0 },
				{ PERSIST_OP_INCR, "counters", "c", NULL, 0, 2, 0 },
			};
			if (OPS->batch(st, ops, 2, sizeof(ops[0]), &err) != PERSIST_OK)
				_exit(3);
			snprintf(line, sizeof(line), "A %d\nC 2\n", i);
		}
		}
		ack(fd, line);
	}
	_exit(0);
}

struct round_log {
	int round;
	int *seen;      /* count per i */
	int last_i;     /* to check order */
	int order_bad, parse_bad, records;
	int max_i;
};

/* Check one record read back from the log. */
static int log_cb(void *ctx, const struct persist_item *it)
{
	struct round_log *rl = ctx;
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o, *r, *i;

	/* the value is not NUL-terminated: parse exactly len bytes */
	o = json_tokener_parse_ex(tok, it->value, (int)it->len);
	if (o == NULL && json_tokener_get_error(tok) == json_tokener_continue)
		o = json_tokener_parse_ex(tok, "", 1);
	json_tokener_free(tok);

	if (o == NULL || !json_object_object_get_ex(o, "r", &r)) {
		rl->parse_bad++;
	} else if (json_object_get_int(r) == rl->round &&
		   json_object_object_get_ex(o, "i", &i)) {
		int v = json_object_get_int(i);
		if (v < 0 || v >= MAX_I) {
			rl->parse_bad++;
		} else {
			rl->seen[v]++;
			if (v <= rl->last_i)
				rl->order_bad++;
			rl->last_i = v;
			if (v > rl->max_i)
				rl->max_i = v;
			rl->records++;
		}
	}
	json_object_put(o);
	return 0;
}

/* Every line of the file ends with '\n' and parses as JSON. */
static int file_parses(const char *path)
{
	size_t len;
	char *data = t_read_file(path, &len), *p, *nl;
	int ok = data != NULL;

	for (p = data; ok && p < data + len; p = nl + 1) {
		struct json_object *o;
		nl = memchr(p, '\n', (size_t)(data + len - p));
		if (nl == NULL) {
			ok = 0;
			break;
		}
		*nl = '\0';
		o = json_tokener_parse(p);
		ok = o != NULL;
		json_object_put(o);
	}
	free(data);
	return ok;
}

/* The rounds. */
static void test_crash_rounds(void)
{
	struct persist_error err;
	const char *env = getenv("T_FS_CRASH_ROUNDS");
	int rounds = env != NULL ? atoi(env) : 50;
	int64_t counter = 0;
	int *acked = calloc(MAX_I, sizeof(int));
	struct round_log rl;
	int torn_seen = 0, unacked_applied = 0, total_acked = 0;
	void *st;

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_STATE, st_json, &st, &err), PERSIST_OK);
	memset(&rl, 0, sizeof(rl));
	rl.seen = calloc(MAX_I, sizeof(int));
	for (int round = 0; round < rounds; round++) {
		int pfd[2], status, max_acked = -1, unacked = 0;
		int64_t acked_c = 0, value = 0;
		char buf[65536], *p, *end;
		size_t have = 0;
		pid_t pid;
		char *v;

		CU_ASSERT_FATAL(pipe(pfd) == 0);
		pid = fork();
		if (pid == 0) {
			close(pfd[0]);
			child(round, pfd[1]);
		}
		close(pfd[1]);
		ph_sleep_ms(2 + rand() % 60);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		memset(acked, 0, MAX_I * sizeof(int));
		for (;;) {
			ssize_t n = read(pfd[0], buf + have, sizeof(buf) - 1 - have);
			if (n <= 0)
				break;
			have += (size_t)n;
			buf[have] = '\0';
			for (p = buf; (end = strchr(p, '\n')) != NULL; p = end + 1) {
				int x;
				if (sscanf(p, "A %d", &x) == 1 && x >= 0 && x < MAX_I) {
					acked[x] = 1;
					if (x > max_acked)
						max_acked = x;
					total_acked++;
				} else if (sscanf(p, "C %d", &x) == 1) {
					acked_c += x;
					total_acked++;
				}
			}
			memmove(buf, p, have - (size_t)(p - buf));
			have -= (size_t)(p - buf);
		}
		close(pfd[0]);

		/* counter: acknowledged <= growth <= acknowledged + in flight */
		v = t_state_get(st, "counters", "c");
		if (v != NULL)
			value = atoll(v);
		free(v);
		if (value - counter < acked_c || value - counter > acked_c + 2) {
			fprintf(stderr, "round %d: counter grew by %lld, acknowledged %lld\n",
				round, (long long)(value - counter), (long long)acked_c);
			CU_FAIL("counter out of bounds");
		}
		unacked_applied += value - counter > acked_c;
		counter = value;

		/* log: every acknowledged record exactly once, in order */
		memset(rl.seen, 0, MAX_I * sizeof(int));
		rl.round = round;
		rl.last_i = -1;
		rl.max_i = -1;
		ph_log_clear();
		CU_ASSERT_EQUAL(OPS->read_log(st, "events", 0, 0, log_cb, &rl, &err), PERSIST_OK);
		torn_seen += ph_log_contains("torn");
		for (int i = 0; i < MAX_I; i++) {
			if (acked[i] && rl.seen[i] != 1) {
				fprintf(stderr, "round %d: acknowledged record %d seen %d times\n",
					round, i, rl.seen[i]);
				CU_FAIL("acknowledged record lost or duplicated");
			}
			if (!acked[i] && rl.seen[i] != 0) {
				unacked++;
				if (rl.seen[i] != 1 || i <= max_acked)
					CU_FAIL("unacknowledged record not the last one");
			}
		}
		CU_ASSERT(unacked <= 1);
		unacked_applied += unacked;

		/* after a write by the survivor, every file parses */
		CU_ASSERT_EQUAL(OPS->incr(st, "counters", "c", 0, &value, &err), PERSIST_OK);
		CU_ASSERT_EQUAL(value, counter);
		{
			char marker[64];
			snprintf(marker, sizeof(marker), "{\"r\":-1,\"after\":%d}", round);
			CU_ASSERT_EQUAL(OPS->append(st, "events", marker, strlen(marker), &err), PERSIST_OK);
		}
		CU_ASSERT(file_parses(t_path("crash/kv/counters.jsonl")));
		CU_ASSERT(file_parses(t_path("crash/logs/events.jsonl")));
	}
	CU_ASSERT_EQUAL(rl.order_bad, 0);
	CU_ASSERT_EQUAL(rl.parse_bad, 0);
	printf("\n    %d rounds, %d acknowledged operations, %d applied but unacknowledged, %d torn tails seen ",
	       rounds, total_acked, unacked_applied, torn_seen);
	CU_ASSERT(total_acked > rounds); /* the children did work */
	t_close(PERSIST_KIND_STATE, st);
	free(rl.seen);
	free(acked);
}

/* The tests, in the order they run. */
static const struct t_case cases[] = {
	{ "SIGKILL at random moments", test_crash_rounds },
	{ NULL, NULL },
};

int main(void)
{
	return t_cunit_run("filesystem kill -9", suite_init, suite_clean, cases);
}
