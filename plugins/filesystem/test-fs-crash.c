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
#include <sys/resource.h>
#include <sys/stat.h>
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

/* Size of a file under the store's root; -1 when it is missing. */
static off_t root_size(const char *rel)
{
	struct stat sb;

	return stat(t_path("crash/%s", rel), &sb) == 0 ? sb.st_size : -1;
}

/* Count one record (read_log callback). */
static int count_cb(void *ctx, const struct persist_item *it)
{
	(void)it;
	++*(int *)ctx;
	return 0;
}

/* Number of records in a log. */
static int count_records(void *st, const char *collection)
{
	struct persist_error err;
	int n = 0;

	CU_ASSERT_EQUAL(OPS->read_log(st, collection, 0, 0, count_cb, &n, &err), PERSIST_OK);
	return n;
}

/* A process killed between the two files of an exactly-once batch (the
   file size limit's SIGXFSZ kills it when it writes the key journal, after
   its log part was written): the next process to take the log's lock cuts
   that part back, and the retry with the same id applies the batch once. */
static void test_killed_between_files(void)
{
	struct persist_error err;
	struct persist_op ops[2], fill;
	size_t huge = 300 * 1024;
	char *blob = malloc(huge), *v;
	const char *rec = "{\"r\":1,\"i\":0}";
	int before = -1, status;
	off_t log_before;
	void *st;
	pid_t pid;

	CU_ASSERT_FATAL(blob != NULL);
	memset(blob, 'y', huge);
	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_STATE, st_json, &st, &err), PERSIST_OK);
	ops[0] = (struct persist_op){ PERSIST_OP_INCR, "kb", "n", NULL, 0, 1, 0 };
	ops[1] = (struct persist_op){ PERSIST_OP_APPEND, "kb", NULL, rec, strlen(rec), 0, 0 };
	CU_ASSERT_EQUAL(OPS->batch_once(st, "kill:1", ops, 2, sizeof(ops[0]), &before, &err),
			PERSIST_OK);
	fill = (struct persist_op){ PERSIST_OP_SET, "kb", "fill", blob, huge, 0, 0 };
	CU_ASSERT_EQUAL(OPS->batch(st, &fill, 1, sizeof(fill), &err), PERSIST_OK);
	log_before = root_size("logs/kb.jsonl");
	CU_ASSERT(log_before > 0 && root_size("kv/kb.jsonl") > 200 * 1024);

	pid = fork();
	if (pid == 0) {
		struct rlimit fsize = { 200 * 1024, 200 * 1024 }, core = { 0, 0 };
		void *cst;

		signal(SIGXFSZ, SIG_DFL);
		(void)setrlimit(RLIMIT_CORE, &core);
		if (t_open(PERSIST_KIND_STATE, st_json, &cst, &err) != PERSIST_OK)
			_exit(2);
		(void)setrlimit(RLIMIT_FSIZE, &fsize);
		(void)OPS->batch_once(cst, "kill:2", ops, 2, sizeof(ops[0]), &before, &err);
		_exit(3); /* not killed: the test below fails */
	}
	CU_ASSERT_FATAL(pid > 0);
	waitpid(pid, &status, 0);
	CU_ASSERT_FATAL(WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ);
	/* the log's part landed and its marker stayed */
	CU_ASSERT(root_size("logs/kb.jsonl") > log_before);
	CU_ASSERT(root_size(".locks/log.kb") > 0);

	ph_log_clear();
	CU_ASSERT_EQUAL(count_records(st, "kb"), 1);
	CU_ASSERT(ph_log_contains("batch \"kill:2\""));
	CU_ASSERT_EQUAL(root_size("logs/kb.jsonl"), log_before);
	CU_ASSERT_EQUAL(root_size(".locks/log.kb"), 0);
	v = t_state_get(st, "kb", "n");
	CU_ASSERT_STRING_EQUAL(v, "1");
	free(v);

	/* the retry (by this process) applies it once */
	before = -1;
	CU_ASSERT_EQUAL(OPS->batch_once(st, "kill:2", ops, 2, sizeof(ops[0]), &before, &err),
			PERSIST_OK);
	CU_ASSERT_EQUAL(before, 0);
	CU_ASSERT_EQUAL(OPS->batch_once(st, "kill:2", ops, 2, sizeof(ops[0]), &before, &err),
			PERSIST_OK);
	CU_ASSERT_EQUAL(before, 1);
	v = t_state_get(st, "kb", "n");
	CU_ASSERT_STRING_EQUAL(v, "2");
	free(v);
	CU_ASSERT_EQUAL(count_records(st, "kb"), 2);
	t_close(PERSIST_KIND_STATE, st);
	free(blob);
}

/* Write a marker into a log's lock file by hand: id, the log's own
   identity (or another inode when other_ino), size and time. */
static void put_marker(const char *collection, const char *id, off_t size,
		       long long age_ms, int other_ino, const char *raw)
{
	char line[512];
	struct stat sb;
	struct timespec ts;

	CU_ASSERT_FATAL(stat(t_path("crash/logs/%s.jsonl", collection), &sb) == 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	if (raw != NULL)
		snprintf(line, sizeof(line), "%s", raw);
	else
		snprintf(line, sizeof(line), "persist-batch %s %llu %llu %lld %lld\n", id,
			 (unsigned long long)sb.st_dev,
			 (unsigned long long)sb.st_ino + (other_ino ? 1 : 0),
			 (long long)size,
			 (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - age_ms);
	CU_ASSERT_FATAL(t_write_file(t_path("crash/.locks/log.%s", collection),
				     line, strlen(line)) == 0);
}

/* Markers found by a reader: each is settled once and the data kept or
   cut as the marker's state says. */
static void test_markers_settled(void)
{
	struct persist_error err;
	struct persist_op op;
	const char *rec = "{\"r\":2}";
	int before;
	off_t one;
	void *st;

	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_STATE, st_json, &st, &err), PERSIST_OK);
	op = (struct persist_op){ PERSIST_OP_APPEND, "mk", NULL, rec, strlen(rec), 0, 0 };
	CU_ASSERT_EQUAL(OPS->batch_once(st, "mark:1", &op, 1, sizeof(op), &before, &err),
			PERSIST_OK);
	one = root_size("logs/mk.jsonl");
	CU_ASSERT_EQUAL(OPS->append(st, "mk", rec, strlen(rec), &err), PERSIST_OK);
	CU_ASSERT_EQUAL(count_records(st, "mk"), 2);

	/* an id that was committed: nothing is cut */
	put_marker("mk", "mark:1", one, 0, 0, NULL);
	ph_log_clear();
	CU_ASSERT_EQUAL(count_records(st, "mk"), 2);
	CU_ASSERT_EQUAL(root_size(".locks/log.mk"), 0);
	CU_ASSERT_FALSE(ph_log_contains("removed the"));

	/* the marker names another file (replaced since): nothing is cut */
	put_marker("mk", "mark:9", one, 0, 1, NULL);
	CU_ASSERT_EQUAL(count_records(st, "mk"), 2);
	CU_ASSERT_EQUAL(root_size(".locks/log.mk"), 0);

	/* older than batch ids are kept: kept, with a warning */
	put_marker("mk", "mark:9", one, 25LL * 3600 * 1000, 0, NULL);
	ph_log_clear();
	CU_ASSERT_EQUAL(count_records(st, "mk"), 2);
	CU_ASSERT(ph_log_contains("cannot be told"));
	CU_ASSERT_EQUAL(root_size(".locks/log.mk"), 0);

	/* unreadable: removed, with a warning, nothing cut */
	put_marker("mk", NULL, 0, 0, 0, "persist-batch a b c\n");
	ph_log_clear();
	CU_ASSERT_EQUAL(count_records(st, "mk"), 2);
	CU_ASSERT(ph_log_contains("unreadable batch marker"));
	CU_ASSERT_EQUAL(root_size(".locks/log.mk"), 0);

	/* a batch without an id never commits by a record: cut back */
	put_marker("mk", "-", one, 0, 0, NULL);
	ph_log_clear();
	CU_ASSERT_EQUAL(count_records(st, "mk"), 1);
	CU_ASSERT(ph_log_contains("batch \"-\""));
	CU_ASSERT_EQUAL(root_size("logs/mk.jsonl"), one);

	/* a drop removes a marker with the file (a new file may get the
	   old inode number) */
	put_marker("mk", "mark:9", 0, 0, 0, NULL);
	CU_ASSERT_EQUAL(OPS->drop(st, "mk", &err), PERSIST_OK);
	CU_ASSERT_EQUAL(root_size(".locks/log.mk"), 0);
	t_close(PERSIST_KIND_STATE, st);
}

/* The tests, in the order they run. */
static const struct t_case cases[] = {
	{ "SIGKILL at random moments", test_crash_rounds },
	{ "killed between the files of a batch", test_killed_between_files },
	{ "markers left by killed batches", test_markers_settled },
	{ NULL, NULL },
};

int main(void)
{
	return t_cunit_run("filesystem kill -9", suite_init, suite_clean, cases);
}
