/*
 * t/batch/test-journal.c - journalQueued: the write queue's journal under
 * spoolDir, on the filesystem provider.
 *
 * A "crash" is a child process that queues writes and leaves with _exit
 * (no close, no flush: batchInterval is a minute), so only the journal
 * holds them; the parent then opens a handle, which replays the journal,
 * and reads what is stored.  Cases: the settings (journalQueued without
 * spoolDir, not a boolean, a spoolDir that cannot be written, batching
 * off), replay after a crash, a flushed piece not replayed again, a
 * synchronous increment taking the queued increments of its key, two
 * processes opening at once, a corrupt tail kept aside, a journal left
 * while the provider is down (fixture_flaky: replayed by a later flush),
 * and the counters.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <persist/persist.h>

#include "cunit-suite.h"
#include "log-capture.h"
#include "fixture-dirs.h"

static char base[4096];           /* scratch directory */
static char root[4200], spool[4200];
static unsigned serial;

/* A fresh store and spool directory for the next case. */
static void fresh(void)
{
	serial++;
	snprintf(root, sizeof(root), "%s/root%u", base, serial);
	snprintf(spool, sizeof(spool), "%s/spool%u", base, serial);
	lc_clear();
}

/* Open with state config extra (after the root). */
static int open_extra(const char *extra, persist **p_r, struct persist_error *err)
{
	char json[8192];
	struct persist_options opts;

	snprintf(json, sizeof(json),
		 "{\"persistence\":{\"configuration\":{\"provider\":\"memory\"},"
		 "\"state\":{\"provider\":\"filesystem\",\"config\":{\"root\":\"%s\"%s}},"
		 "\"sessions\":{\"provider\":\"memory\"}}}", root, extra);
	memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.log = lc_log;
	opts.log_level = PERSIST_LOG_WARNING;
	*p_r = NULL;
	return persist_open_json(json, &opts, p_r, err);
}

/* Open with journalQueued on the case's spool directory (a minute's
   interval: nothing is flushed unless asked). */
static persist *open_journal(void)
{
	char extra[4400];
	struct persist_error err;
	persist *p;

	snprintf(extra, sizeof(extra), ",\"batchInterval\":60000,\"journalQueued\":true,"
		 "\"spoolDir\":\"%s\"", spool);
	if (open_extra(extra, &p, &err) != PERSIST_OK) {
		fprintf(stderr, "open failed: %s\n", err.msg);
		return NULL;
	}
	return p;
}

/* The counter coll/key (-1 when missing or not a number). */
static long long counter(persist *p, const char *coll, const char *key)
{
	struct persist_error err;
	char *data = NULL;
	size_t len = 0;
	long long v = -1;

	if (persist_state_get(p, coll, key, &data, &len, &err) == PERSIST_OK)
		v = strtoll(data, NULL, 10);
	persist_free(data);
	return v;
}

/* The number of records in coll's log (-1 on failure). */
static long log_count(persist *p, const char *coll)
{
	struct persist_entry *e = NULL;
	struct persist_error err;
	size_t n = 0;

	if (persist_state_read_log(p, coll, 0, 0, &e, &n, NULL, &err) != PERSIST_OK)
		return -1;
	persist_items_free(e, n);
	return (long)n;
}

/* Run fn in a child that leaves with _exit (a crash: no close); its exit
   status (fn's return), or -1. */
static int crash_child(int (*fn)(void))
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(fn());
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* --- settings ------------------------------------------------------------ */

static void test_needs_spooldir(void)
{
	struct persist_error err;
	persist *p;

	fresh();
	CU_ASSERT_EQUAL(open_extra(",\"batchInterval\":50,\"journalQueued\":true", &p, &err),
			PERSIST_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "journalQueued needs spoolDir"));
	CU_ASSERT_EQUAL(open_extra(",\"batchInterval\":50,\"journalQueued\":\"yes\","
				   "\"spoolDir\":\"/tmp\"", &p, &err), PERSIST_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "journalQueued"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "must be true or false, not a string"));
	CU_ASSERT_EQUAL(open_extra(",\"batchInterval\":50,\"journalQueued\":true,"
				   "\"spoolDir\":\"relative/dir\"", &p, &err), PERSIST_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "absolute path, not \"relative/dir\""));
}

static void test_spooldir_not_writable(void)
{
	struct persist_error err;
	char extra[9000], file[4300], dir[4400];
	persist *p;
	FILE *f;

	fresh();
	/* a regular file where a directory must be */
	snprintf(file, sizeof(file), "%s/afile", spool);
	CU_ASSERT_EQUAL_FATAL(mkdir(spool, 0700), 0);
	f = fopen(file, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	snprintf(extra, sizeof(extra), ",\"batchInterval\":50,\"journalQueued\":true,"
		 "\"spoolDir\":\"%s/spool\"", file);
	CU_ASSERT_EQUAL(open_extra(extra, &p, &err), PERSIST_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cannot create spool directory"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, file));
	/* the journal's name taken by a directory */
	snprintf(dir, sizeof(dir), "%s/state.queue.0.journal", spool);
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
	snprintf(extra, sizeof(extra), ",\"batchInterval\":50,\"journalQueued\":true,"
		 "\"spoolDir\":\"%s\"", spool);
	CU_ASSERT_EQUAL(open_extra(extra, &p, &err), PERSIST_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cannot open journal"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, dir));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "journalQueued"));
}

static void test_batching_off_warns(void)
{
	struct persist_error err;
	char extra[4400];
	persist *p;

	fresh();
	snprintf(extra, sizeof(extra), ",\"journalQueued\":true,\"spoolDir\":\"%s\"", spool);
	CU_ASSERT_EQUAL_FATAL(open_extra(extra, &p, &err), PERSIST_OK);
	CU_ASSERT(lc_logged("journalQueued has no effect without a batchInterval"));
	CU_ASSERT_EQUAL(persist_state_add(p, "c", "n", 2, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(counter(p, "c", "n"), 2);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

/* --- crashes ------------------------------------------------------------- */

static int child_queue(void)
{
	struct persist_error err;
	persist *p = open_journal();
	int bad = p == NULL;

	for (int i = 0; !bad && i < 7; i++)
		bad = persist_state_add(p, "c", "n", 1, &err) != PERSIST_OK;
	for (int i = 0; !bad && i < 3; i++)
		bad = persist_state_append(p, "c", "rec", 3, &err) != PERSIST_OK;
	if (!bad)
		bad = persist_state_set(p, "c", "k", "v1", 2, 0, &err) != PERSIST_OK ||
		      persist_state_set(p, "c", "k", "v2", 2, 0, &err) != PERSIST_OK ||
		      persist_state_set(p, "c", "gone", "x", 1, 0, &err) != PERSIST_OK ||
		      persist_state_delete(p, "c", "gone", &err) != PERSIST_OK;
	return bad;
}

static void test_crash_replay(void)
{
	struct persist_error err;
	char buf[8];
	size_t len = 0;
	char *v = NULL;
	persist *p;

	fresh();
	CU_ASSERT_EQUAL_FATAL(crash_child(child_queue), 0);
	p = open_journal();
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT(lc_logged("was left by a process that stopped"));
	CU_ASSERT_EQUAL(counter(p, "c", "n"), 7);
	CU_ASSERT_EQUAL(log_count(p, "c"), 3);
	CU_ASSERT_EQUAL(persist_state_get(p, "c", "k", &v, &len, &err), PERSIST_OK);
	snprintf(buf, sizeof(buf), "%.*s", (int)len, v != NULL ? v : "");
	CU_ASSERT_STRING_EQUAL(buf, "v2");
	persist_free(v);
	CU_ASSERT_EQUAL(persist_state_get(p, "c", "gone", &v, &len, &err), PERSIST_ENOTFOUND);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
	/* nothing is replayed twice */
	p = open_journal();
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(counter(p, "c", "n"), 7);
	CU_ASSERT_EQUAL(log_count(p, "c"), 3);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

static int child_flush_then_queue(void)
{
	struct persist_error err;
	persist *p = open_journal();
	int bad = p == NULL;

	for (int i = 0; !bad && i < 4; i++)
		bad = persist_state_add(p, "c", "n", 1, &err) != PERSIST_OK;
	if (!bad)
		bad = persist_state_flush(p, &err) != PERSIST_OK;
	for (int i = 0; !bad && i < 2; i++)
		bad = persist_state_add(p, "c", "n", 1, &err) != PERSIST_OK;
	return bad;
}

static void test_flushed_not_replayed(void)
{
	struct persist_error err;
	persist *p;

	fresh();
	CU_ASSERT_EQUAL_FATAL(crash_child(child_flush_then_queue), 0);
	p = open_journal();
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(counter(p, "c", "n"), 6);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

/* Queued increments, then a synchronous one that answers their sum. */
static int child_incr(void)
{
	struct persist_error err;
	persist *p = open_journal();
	int64_t v = 0;
	int bad = p == NULL;

	for (int i = 0; !bad && i < 5; i++)
		bad = persist_state_add(p, "c", "n", 1, &err) != PERSIST_OK;
	if (!bad)
		bad = persist_state_incr(p, "c", "n", 1, &v, &err) != PERSIST_OK;
	if (!bad && v != 6) {
		fprintf(stderr, "incr answered %" PRId64 ", not 6\n", v);
		bad = 2;
	}
	/* and more queued after it, also lost with the process but journaled */
	if (!bad)
		bad = persist_state_add(p, "c", "n", 10, &err) != PERSIST_OK;
	return bad;
}

static void test_incr_takes_queued(void)
{
	struct persist_error err;
	persist *p;

	fresh();
	CU_ASSERT_EQUAL_FATAL(crash_child(child_incr), 0);
	p = open_journal();
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	/* 5 queued + 1 synchronous + 10 queued: the 5 not sent twice */
	CU_ASSERT_EQUAL(counter(p, "c", "n"), 16);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

static int child_many(void)
{
	struct persist_error err;
	persist *p = open_journal();
	int bad = p == NULL;

	for (int i = 0; !bad && i < 50; i++)
		bad = persist_state_add(p, "c", "n", 1, &err) != PERSIST_OK ||
		      persist_state_append(p, "c", "r", 1, &err) != PERSIST_OK;
	return bad;
}

/* Open and close (the replay happens at open). */
static int child_open_close(void)
{
	struct persist_error err;
	persist *p = open_journal();

	return p == NULL || persist_close(p, &err) != PERSIST_OK;
}

static void test_two_opens(void)
{
	struct persist_error err;
	pid_t a, b;
	int sa = -1, sb = -1;
	persist *p;

	fresh();
	CU_ASSERT_EQUAL_FATAL(crash_child(child_many), 0);
	a = fork();
	if (a == 0)
		_exit(child_open_close());
	b = fork();
	if (b == 0)
		_exit(child_open_close());
	CU_ASSERT(a > 0 && waitpid(a, &sa, 0) == a && WIFEXITED(sa) && WEXITSTATUS(sa) == 0);
	CU_ASSERT(b > 0 && waitpid(b, &sb, 0) == b && WIFEXITED(sb) && WEXITSTATUS(sb) == 0);
	p = open_journal();
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(counter(p, "c", "n"), 50);
	CU_ASSERT_EQUAL(log_count(p, "c"), 50);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

static int child_three(void)
{
	struct persist_error err;
	persist *p = open_journal();
	int bad = p == NULL;

	for (int i = 0; !bad && i < 3; i++)
		bad = persist_state_append(p, "c", "rec", 3, &err) != PERSIST_OK;
	return bad;
}

/* The name of the first file in spool starting with prefix ("" if none). */
static void find_file(const char *prefix, char *out, size_t size)
{
	DIR *d = opendir(spool);
	struct dirent *de;

	out[0] = '\0';
	while (d != NULL && (de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
			snprintf(out, size, "%s/%s", spool, de->d_name);
			break;
		}
	if (d != NULL)
		closedir(d);
}

static void test_corrupt_tail(void)
{
	static const unsigned char torn[] = {
		'P', 'J', 'R', '1', 0xe8, 0x03, 0, 0, 1, 2, 3, 4, 5
	};
	struct persist_error err;
	char path[4400], aside[4400];
	unsigned char back[sizeof(torn)];
	persist *p;
	int fd;

	fresh();
	CU_ASSERT_EQUAL_FATAL(crash_child(child_three), 0);
	/* a record cut short at the end, as a writer stopped in the middle
	   of its write would leave it */
	snprintf(path, sizeof(path), "%s/state.queue.0.journal", spool);
	fd = open(path, O_WRONLY | O_APPEND);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, torn, sizeof(torn)), (ssize_t)sizeof(torn));
	close(fd);
	p = open_journal();
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(log_count(p, "c"), 3);
	CU_ASSERT(lc_logged("cut short"));
	CU_ASSERT(lc_logged(path));
	CU_ASSERT(lc_logged("kept in"));
	find_file("state.queue.0.journal.tail-", aside, sizeof(aside));
	CU_ASSERT_FATAL(aside[0] != '\0');
	CU_ASSERT(lc_logged(aside));
	fd = open(aside, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(read(fd, back, sizeof(back)), (ssize_t)sizeof(back));
	CU_ASSERT_EQUAL(memcmp(back, torn, sizeof(torn)), 0);
	close(fd);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

static void test_damaged_middle(void)
{
	struct persist_error err;
	char path[4400];
	persist *p;
	int fd;

	fresh();
	CU_ASSERT_EQUAL_FATAL(crash_child(child_three), 0);
	/* damage the first record's payload: records follow it */
	snprintf(path, sizeof(path), "%s/state.queue.0.journal", spool);
	fd = open(path, O_WRONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, "XX", 2, 64 + 20), 2);
	close(fd);
	{
		char extra[4400];

		snprintf(extra, sizeof(extra), ",\"batchInterval\":60000,\"journalQueued\":true,"
			 "\"spoolDir\":\"%s\"", spool);
		CU_ASSERT_EQUAL(open_extra(extra, &p, &err), PERSIST_ECORRUPT);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "damaged at offset 64"));
	}
}

/* --- a provider down at open (fixture_flaky) ----------------------------- */

static const char *fixture_dir;

/* Open on fixture_flaky (an in-memory store) with the case's spool and
   downFile. */
static int open_flaky(persist **p_r, struct persist_error *err)
{
	char json[12288];
	const char *dirs[1] = { fixture_dir };
	struct persist_options opts;

	snprintf(json, sizeof(json),
		 "{\"persistence\":{\"configuration\":{\"provider\":\"memory\"},"
		 "\"state\":{\"provider\":\"fixture_flaky\",\"config\":{\"downFile\":\"%s/down\","
		 "\"batchInterval\":60000,\"journalQueued\":true,\"spoolDir\":\"%s\"}},"
		 "\"sessions\":{\"provider\":\"memory\"}}}", spool, spool);
	memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.log = lc_log;
	opts.log_level = PERSIST_LOG_WARNING;
	opts.plugin_dirs = dirs;
	opts.n_plugin_dirs = 1;
	return persist_open_json(json, &opts, p_r, err);
}

static int child_flaky(void)
{
	struct persist_error err;
	persist *p;
	int bad = open_flaky(&p, &err) != PERSIST_OK;

	for (int i = 0; !bad && i < 5; i++)
		bad = persist_state_add(p, "c", "n", 1, &err) != PERSIST_OK;
	return bad;
}

static void test_replay_later(void)
{
	struct persist_batch_stats st;
	struct persist_error err;
	char down[4400];
	persist *p;
	FILE *f;

	fresh();
	CU_ASSERT_PTR_NOT_NULL_FATAL(fixture_dir);
	CU_ASSERT_EQUAL_FATAL(crash_child(child_flaky), 0);
	/* the provider is down when the next process opens */
	snprintf(down, sizeof(down), "%s/down", spool);
	f = fopen(down, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(open_flaky(&p, &err), PERSIST_OK);
	CU_ASSERT(lc_logged("kept, replayed before the next flush"));
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	CU_ASSERT_EQUAL(persist_state_stats(p, &st, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(st.journal_orphans, 1);
	CU_ASSERT_EQUAL(st.journal_records, 5);   /* the one left, waiting */
	CU_ASSERT_EQUAL(st.journal_files, 1);
	CU_ASSERT_EQUAL(persist_state_add(p, "c", "n", 1, &err), PERSIST_OK);
	CU_ASSERT_NOT_EQUAL(persist_state_flush(p, &err), PERSIST_OK);
	/* back: the flush replays the journal left, then sends its own */
	CU_ASSERT_EQUAL(unlink(down), 0);
	CU_ASSERT_EQUAL(persist_state_flush(p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_stats(p, &st, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(st.journal_orphans, 0);
	CU_ASSERT_EQUAL(st.journal_replayed, 5);
	CU_ASSERT_EQUAL(st.journal_records, 0);
	CU_ASSERT_EQUAL(counter(p, "c", "n"), 6);
	/* a queue's journal is replayed as its flushes apply it: undated */
	CU_ASSERT_EQUAL(counter(p, "fixture", "dated"), 0);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

/* --- a batch refused as invalid, killed half way through ------------------ */

#define SPLIT_KEYS 3000

/* The split end in the header of the case's queue journal (0: none, or
   no journal yet). */
static uint64_t split_end(void)
{
	char path[4400];
	uint8_t b[48];
	uint64_t v = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/state.queue.0.journal", spool);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	if (pread(fd, b, sizeof(b), 0) == (ssize_t)sizeof(b))
		for (int i = 7; i >= 0; i--)
			v = v << 8 | b[40 + i];
	close(fd);
	return v;
}

/* The size of a file under the case's root (-1: none). */
static long file_size_of(const char *rel)
{
	char path[4400];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Queue SPLIT_KEYS increments and one of a key holding text, then flush:
   the provider refuses the batch, which goes record by record. */
static int child_split(void)
{
	static struct persist_op ops[SPLIT_KEYS + 1];
	static char keys[SPLIT_KEYS][16];
	struct persist_error err;
	char extra[4400];
	persist *p;

	snprintf(extra, sizeof(extra), ",\"fsync\":\"never\",\"batchInterval\":60000,"
		 "\"journalQueued\":true,\"spoolDir\":\"%s\"", spool);
	if (open_extra(extra, &p, &err) != PERSIST_OK)
		return 2;
	for (int i = 0; i <= SPLIT_KEYS; i++) {
		int k = i < SPLIT_KEYS / 2 ? i : i - 1;

		if (i == SPLIT_KEYS / 2) {
			ops[i] = (struct persist_op){ .type = PERSIST_OP_INCR, .collection = "sp",
						      .key = "text", .delta = 1 };
			continue;
		}
		snprintf(keys[k], sizeof(keys[k]), "k%d", k);
		ops[i] = (struct persist_op){ .type = PERSIST_OP_INCR, .collection = "sp",
					      .key = keys[k], .delta = 1 };
	}
	if (persist_state_batch(p, ops, SPLIT_KEYS + 1, &err) != PERSIST_OK)
		return 3;
	(void)persist_state_flush(p, &err);
	return 4;   /* finished before the kill: the case proves nothing */
}

/* A batch the provider refused as invalid goes record by record; the
   process is killed half way, and the key holding text is given a number
   before the replay.  The journal's header recorded the split, so the
   replay goes on record by record under the same ids instead of sending
   the (now valid) whole piece again: every key ends at exactly 1. */
static void test_split_killed(void)
{
	struct persist_error err;
	int status, applied = 0, tries;
	long sp_size;
	persist *p;
	pid_t pid;

	fresh();
	CU_ASSERT_EQUAL_FATAL(open_extra("", &p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_set(p, "sp", "text", "abc", 3, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
	sp_size = file_size_of("kv/sp.jsonl");
	CU_ASSERT_FATAL(sp_size > 0);

	pid = fork();
	if (pid == 0)
		_exit(child_split());
	CU_ASSERT_FATAL(pid > 0);
	for (tries = 0; tries < 20000 && split_end() == 0; tries++)
		usleep(500);
	/* let some records land: the journal of "sp" grows by each */
	for (tries = 0; tries < 20000 && file_size_of("kv/sp.jsonl") < sp_size + 2000; tries++)
		usleep(500);
	kill(pid, SIGKILL);
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	CU_ASSERT_FATAL(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CU_ASSERT_FATAL(split_end() != 0);

	/* half way: some keys are there, not all */
	CU_ASSERT_EQUAL_FATAL(open_extra("", &p, &err), PERSIST_OK);
	for (int k = 0; k < SPLIT_KEYS; k++) {
		char key[16];

		snprintf(key, sizeof(key), "k%d", k);
		applied += counter(p, "sp", key) == 1;
	}
	printf("\n    killed after %d of %d records ", applied, SPLIT_KEYS);
	CU_ASSERT(applied > 0 && applied < SPLIT_KEYS);
	/* the invalid write becomes valid before the replay */
	CU_ASSERT_EQUAL(persist_state_set(p, "sp", "text", "5", 1, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);

	p = open_journal();
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (int k = 0; k < SPLIT_KEYS; k++) {
		char key[16];
		long long v;

		snprintf(key, sizeof(key), "k%d", k);
		if ((v = counter(p, "sp", key)) != 1) {
			fprintf(stderr, "key %s: %lld after the replay\n", key, v);
			CU_FAIL("a key not at exactly 1");
			break;
		}
	}
	CU_ASSERT(counter(p, "sp", "text") == 5 || counter(p, "sp", "text") == 6);
	CU_ASSERT_EQUAL(split_end(), 0);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

/* --- counters ------------------------------------------------------------ */

static void test_stats(void)
{
	struct persist_batch_stats st;
	struct persist_error err;
	persist *p;

	fresh();
	p = open_journal();
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(persist_state_add(p, "c", "n", 1, &err), PERSIST_OK);
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	CU_ASSERT_EQUAL(persist_state_stats(p, &st, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(st.journal_queued, 1);
	CU_ASSERT_EQUAL(st.queue_depth, 1);       /* coalesced in the queue */
	CU_ASSERT_EQUAL(st.journal_records, 3);   /* each in the journal */
	CU_ASSERT(st.journal_bytes > 0);
	CU_ASSERT_EQUAL(st.journal_files, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(st.journal_path, "state.queue.0.journal"));
	CU_ASSERT_EQUAL(persist_state_flush(p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_stats(p, &st, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(st.journal_records, 0);
	CU_ASSERT_EQUAL(st.journal_bytes, 0);
	CU_ASSERT_EQUAL(counter(p, "c", "n"), 3);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

/* Writers in several threads share the journal's fdatasync. */
static void *writer(void *arg)
{
	persist *p = arg;
	struct persist_error err;
	intptr_t bad = 0;

	for (int i = 0; i < 200 && !bad; i++)
		bad = persist_state_add(p, "c", "n", 1, &err) != PERSIST_OK ||
		      persist_state_append(p, "c", "r", 1, &err) != PERSIST_OK;
	return (void *)bad;
}

static void test_threads(void)
{
	struct persist_error err;
	pthread_t th[4];
	void *ret;
	persist *p;

	fresh();
	p = open_journal();
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, writer, p), 0);
	for (int i = 0; i < 20; i++) {
		int64_t v = 0;

		CU_ASSERT_EQUAL(persist_state_incr(p, "c", "m", 1, &v, &err), PERSIST_OK);
		if (i % 5 == 0)
			CU_ASSERT_EQUAL(persist_state_flush(p, &err), PERSIST_OK);
	}
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(pthread_join(th[i], &ret), 0);
		CU_ASSERT_PTR_NULL(ret);
	}
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
	p = open_journal();
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(counter(p, "c", "n"), 800);
	CU_ASSERT_EQUAL(counter(p, "c", "m"), 20);
	CU_ASSERT_EQUAL(log_count(p, "c"), 800);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

static const struct t_case cases[] = {
	{ "journalQueued needs spoolDir, a boolean", test_needs_spooldir },
	{ "spoolDir that cannot be written", test_spooldir_not_writable },
	{ "batching off: a warning", test_batching_off_warns },
	{ "replay after a crash", test_crash_replay },
	{ "a flushed piece is not replayed", test_flushed_not_replayed },
	{ "incr with queued increments, then a crash", test_incr_takes_queued },
	{ "two processes open at once", test_two_opens },
	{ "corrupt tail kept aside", test_corrupt_tail },
	{ "damaged record in the middle", test_damaged_middle },
	{ "provider down at open: replayed later", test_replay_later },
	{ "a split batch killed half way", test_split_killed },
	{ "counters", test_stats },
	{ "threads share the fdatasync", test_threads },
	{ NULL, NULL }
};

int main(void)
{
	const char *tmp = getenv("PERSIST_TEST_TMP");
	int ret;

	snprintf(base, sizeof(base), "%s/test-journal.XXXXXX",
		 tmp != NULL ? tmp : getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(base) == NULL) {
		perror(base);
		return 99;
	}
	if (fx_setup("test-journal") != 0)
		return 99;
	fixture_dir = fx_dir_with("fixture_flaky");
	ret = t_cunit_run("queued-write journal (journalQueued)", NULL, NULL, cases);
	fx_cleanup();
	if (ret == 0) {
		char cmd[4200];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", base);
	}
	return ret;
}
