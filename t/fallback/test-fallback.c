/*
 * t/fallback/test-fallback.c - a state provider with a fallback, through
 * the public API: fixture_outage (t/fallback/fixture-outage.c) plays a
 * primary that goes down while a file exists, the memory provider is the
 * fallback.  Routing during an outage, the journal (durable, kept across
 * a close, a torn last record dropped), replay in order with TTLs
 * shortened, replay pieces applied once when a reply is lost, the write
 * queue's flushes moving to the journal, a primary that cannot be opened,
 * two handles sharing one spool directory, the status and events, and
 * many threads writing through outages (run again under ThreadSanitizer).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <persist/persist.h>

#include "cunit-suite.h"
#include "log-capture.h"
#include "fixture-dirs.h"

static const char *fixture_dir;
static char down_file[4096], lost_file[4096], spool_dir[4096];
static unsigned serial;
static char store_name[64];

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Wall clock ms. */
static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_down(int down)
{
	if (down)
		close(open(down_file, O_CREAT | O_WRONLY, 0600));
	else
		unlink(down_file);
}

/* A fresh primary store, spool directory and down file for a test. */
static void new_case(void)
{
	serial++;
	snprintf(store_name, sizeof(store_name), "fb%u", serial);
	fx_fmt(down_file, sizeof(down_file), "%s/down%u", fx_scratch(), serial);
	fx_fmt(lost_file, sizeof(lost_file), "%s/lost%u", fx_scratch(), serial);
	fx_fmt(spool_dir, sizeof(spool_dir), "%s/spool%u/state", fx_scratch(), serial);
	lc_clear();
}

/* Open with the primary fixture_outage and the fallback memory; extra is
   added to the primary's config. */
static int open_with(const char *extra, const char *fb_name, persist **p_r,
		     struct persist_error *err)
{
	char json[4096];
	const char *dirs[1] = { fixture_dir };
	struct persist_options opts;

	fx_fmt(json, sizeof(json),
	       "{\"persistence\":{\"configuration\":{\"provider\":\"memory\"},"
	       "\"state\":{\"provider\":\"fixture_outage\",\"config\":{\"name\":\"%s\","
	       "\"downFile\":\"%s\",\"lostFile\":\"%s\",\"spoolDir\":\"%s\","
	       "\"healthInterval\":30%s},"
	       "\"fallback\":{\"provider\":\"memory\",\"config\":{\"namespace\":\"%s\"}}},"
	       "\"sessions\":{\"provider\":\"memory\"}}}",
	       store_name, down_file, lost_file, spool_dir, extra,
	       fb_name != NULL ? fb_name : store_name);
	memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.log = lc_log;
	opts.log_level = PERSIST_LOG_WARNING;
	opts.plugin_dirs = dirs;
	opts.n_plugin_dirs = 1;
	return persist_open_json(json, &opts, p_r, err);
}

static persist *open_ok(const char *extra)
{
	struct persist_error err;
	persist *p = NULL;
	int ret = open_with(extra, NULL, &p, &err);

	if (ret != PERSIST_OK)
		fprintf(stderr, "open failed: %s\n", err.msg);
	CU_ASSERT_EQUAL_FATAL(ret, PERSIST_OK);
	return p;
}

static struct persist_provider_status status_of(persist *p)
{
	struct persist_provider_status st;
	struct persist_error err;

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	CU_ASSERT_EQUAL(persist_provider_status(p, PERSIST_KIND_STATE, &st, &err), PERSIST_OK);
	return st;
}

/* Wait (up to 10 s) until the state kind is back on its primary. */
static int wait_primary(persist *p)
{
	for (int i = 0; i < 1000; i++) {
		struct persist_provider_status st = status_of(p);

		if (st.mode == PERSIST_MODE_PRIMARY && st.pending == 0)
			return 1;
		sleep_ms(10);
	}
	return 0;
}

static int64_t get_num(persist *p, const char *collection, const char *key)
{
	struct persist_error err;
	char *value = NULL;
	int64_t v = INT64_MIN;

	if (persist_state_get(p, collection, key, &value, NULL, &err) == PERSIST_OK)
		v = strtoll(value, NULL, 10);
	persist_free(value);
	return v;
}

/* The records of a log joined with ",". */
static void log_text(persist *p, const char *collection, char *buf, size_t size)
{
	struct persist_error err;
	struct persist_entry *e = NULL;
	size_t n = 0, used = 0;

	buf[0] = '\0';
	CU_ASSERT_EQUAL(persist_state_read_log(p, collection, 0, 0, &e, &n, NULL, &err), PERSIST_OK);
	for (size_t i = 0; i < n && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? "," : "", e[i].value);
	persist_items_free(e, n);
}

/* The size of the journal file (-1: none). */
static long journal_size(void)
{
	char path[4200];
	struct stat st;

	fx_fmt(path, sizeof(path), "%s/state.journal", spool_dir);
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* --- events -------------------------------------------------------------- */

struct events {
	pthread_mutex_t lock;
	char seen[1024];
	uint64_t replayed;
};

static void event_cb(void *ctx, enum persist_kind kind, enum persist_provider_event event,
		     uint64_t n, const char *detail)
{
	struct events *ev = ctx;
	static const char *names[] = { "down", "replaying", "replayed", "up" };
	size_t used;

	(void)detail;
	if (kind != PERSIST_KIND_STATE)
		return;
	pthread_mutex_lock(&ev->lock);
	used = strlen(ev->seen);
	snprintf(ev->seen + used, sizeof(ev->seen) - used, "%s%s", used ? " " : "",
		 (unsigned)event < 4 ? names[event] : "?");
	if (event == PERSIST_PROVIDER_REPLAYED)
		ev->replayed += n;
	pthread_mutex_unlock(&ev->lock);
}

/* --- tests --------------------------------------------------------------- */

/* spoolDir is required with a fallback, and absolute. */
static void test_settings(void)
{
	struct persist_error err;
	persist *p = NULL;
	char json[1024];

	new_case();
	fx_fmt(json, sizeof(json),
	       "{\"persistence\":{\"state\":{\"provider\":\"memory\","
	       "\"fallback\":{\"provider\":\"filesystem\",\"config\":{\"root\":\"%s/r\"}}}}}",
	       fx_scratch());
	CU_ASSERT_EQUAL(persist_open_json(json, NULL, &p, &err), PERSIST_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "spoolDir"));
	CU_ASSERT_PTR_NULL(p);
	fx_fmt(json, sizeof(json),
	       "{\"persistence\":{\"state\":{\"provider\":\"memory\",\"config\":{\"spoolDir\":\"rel\"},"
	       "\"fallback\":{\"provider\":\"filesystem\",\"config\":{\"root\":\"%s/r\"}}}}}",
	       fx_scratch());
	CU_ASSERT_EQUAL(persist_open_json(json, NULL, &p, &err), PERSIST_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "spoolDir"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "rel"));
}

/* Arguments of the status and event functions. */
static void test_status_args(void)
{
	struct persist_provider_status st;
	struct persist_error err;
	uint64_t id = 0;
	persist *p, *plain;

	new_case();
	p = open_ok("");
	CU_ASSERT_EQUAL(persist_provider_status(NULL, PERSIST_KIND_STATE, &st, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_provider_status(p, PERSIST_KIND_STATE, NULL, &err), PERSIST_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "status_r"));
	st.size = 2;
	CU_ASSERT_EQUAL(persist_provider_status(p, PERSIST_KIND_STATE, &st, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_provider_status(p, (enum persist_kind)7, &st, &err), PERSIST_EINVAL);
	st = status_of(p);
	CU_ASSERT_EQUAL(st.has_fallback, 1);
	CU_ASSERT_EQUAL(st.mode, PERSIST_MODE_PRIMARY);
	CU_ASSERT_STRING_EQUAL(st.provider, "fixture_outage");
	CU_ASSERT_STRING_EQUAL(st.fallback, "memory");
	CU_ASSERT_STRING_EQUAL(st.active, "fixture_outage");
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	CU_ASSERT_EQUAL(persist_provider_status(p, PERSIST_KIND_SESSION, &st, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(st.has_fallback, 0);
	CU_ASSERT_STRING_EQUAL(st.active, "memory");
	CU_ASSERT_EQUAL(persist_provider_subscribe(NULL, event_cb, NULL, &id, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_provider_subscribe(p, NULL, NULL, &id, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_provider_subscribe(p, event_cb, NULL, NULL, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_provider_unsubscribe(p, 12345, &err), PERSIST_ENOTFOUND);
	CU_ASSERT_STRING_EQUAL(persist_provider_mode_name(PERSIST_MODE_REPLAYING), "replaying");
	CU_ASSERT_PTR_NULL(persist_provider_mode_name((enum persist_provider_mode)9));
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_open_json("{\"persistence\":{\"state\":{\"provider\":\"memory\"}}}",
					  NULL, &plain, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_provider_subscribe(plain, event_cb, NULL, &id, &err), PERSIST_ENOTSUP);
	CU_ASSERT_EQUAL(persist_close(plain, &err), PERSIST_OK);
}

/* Down: the call that finds out is journaled and answered by the
   fallback, and so is everything after it; up: replayed in order, and
   the events say so. */
static void test_outage_and_replay(void)
{
	struct events ev = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct persist_provider_status st;
	struct persist_error err;
	struct persist_op ops[2];
	char *value = NULL, text[512];
	int64_t v = 0;
	uint64_t id = 0;
	persist *p;

	new_case();
	p = open_ok("");
	CU_ASSERT_EQUAL(persist_provider_subscribe(p, event_cb, &ev, &id, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_incr(p, "c", "n", 5, &v, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(v, 5);
	CU_ASSERT_EQUAL(persist_state_append(p, "c", "\"a0\"", 4, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_set(p, "c", "gone", "1", 1, 0, &err), PERSIST_OK);

	set_down(1);
	CU_ASSERT_EQUAL(persist_state_incr(p, "c", "n", 1, &v, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(v, 1);   /* what the fallback holds */
	st = status_of(p);
	CU_ASSERT_EQUAL(st.mode, PERSIST_MODE_FALLBACK);
	CU_ASSERT_STRING_EQUAL(st.active, "memory");
	CU_ASSERT_EQUAL(st.outages, 1);
	CU_ASSERT_EQUAL(st.pending, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(st.last_error, "down"));
	CU_ASSERT(st.since_ms > 0);
	CU_ASSERT_EQUAL(persist_state_set(p, "c", "k", "\"v1\"", 4, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_append(p, "c", "\"a1\"", 4, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_append(p, "c", "\"a2\"", 4, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_delete(p, "c", "gone", &err), PERSIST_OK);
	memset(ops, 0, sizeof(ops));
	ops[0].type = PERSIST_OP_INCR;
	ops[0].collection = "c";
	ops[0].key = "n";
	ops[0].delta = 2;
	ops[1].type = PERSIST_OP_APPEND;
	ops[1].collection = "c";
	ops[1].value = "\"a3\"";
	ops[1].len = 4;
	CU_ASSERT_EQUAL(persist_state_batch(p, ops, 2, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_add(p, "c", "n", 10, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_get(p, "c", "k", &value, NULL, &err), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(value, "\"v1\"");
	persist_free(value);
	CU_ASSERT_EQUAL(get_num(p, "c", "n"), 13);
	log_text(p, "c", text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "\"a1\",\"a2\",\"a3\"");
	CU_ASSERT_EQUAL(persist_state_drop(p, "c", &err), PERSIST_EUNAVAIL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "fixture_outage"));
	st = status_of(p);
	CU_ASSERT_EQUAL(st.pending, 8);
	CU_ASSERT_EQUAL(st.journaled, 8);
	CU_ASSERT(journal_size() > 64);
	CU_ASSERT_EQUAL(persist_health(p, PERSIST_KIND_STATE, NULL, &err), PERSIST_EUNAVAIL);

	set_down(0);
	CU_ASSERT_FATAL(wait_primary(p));
	st = status_of(p);
	CU_ASSERT_EQUAL(st.replayed, 8);
	CU_ASSERT_EQUAL(st.pending, 0);
	CU_ASSERT_STRING_EQUAL(st.active, "fixture_outage");
	CU_ASSERT_EQUAL(journal_size(), 64);   /* emptied */
	CU_ASSERT_EQUAL(get_num(p, "c", "n"), 5 + 1 + 2 + 10);
	log_text(p, "c", text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "\"a0\",\"a1\",\"a2\",\"a3\"");
	CU_ASSERT_EQUAL(persist_state_get(p, "c", "gone", NULL, NULL, &err), PERSIST_ENOTFOUND);
	CU_ASSERT_EQUAL(persist_state_get(p, "c", "k", &value, NULL, &err), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(value, "\"v1\"");
	persist_free(value);
	/* the events come from the health thread: wait for the last one */
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&ev.lock);
		int done = strstr(ev.seen, "up") != NULL;
		pthread_mutex_unlock(&ev.lock);
		if (done)
			break;
		sleep_ms(10);
	}
	pthread_mutex_lock(&ev.lock);
	CU_ASSERT_STRING_EQUAL(ev.seen, "down replaying replayed up");
	CU_ASSERT_EQUAL(ev.replayed, 8);
	pthread_mutex_unlock(&ev.lock);
	CU_ASSERT_EQUAL(persist_provider_unsubscribe(p, id, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_provider_unsubscribe(p, id, &err), PERSIST_ENOTFOUND);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

/* A set whose TTL ran out during the outage is not replayed as live; a
   longer one keeps only what was left of its TTL. */
static void test_ttl_shortened(void)
{
	struct persist_error err;
	struct persist_entry *e = NULL;
	size_t n = 0;
	int64_t written, after;
	persist *p;

	new_case();
	p = open_ok("");
	set_down(1);
	CU_ASSERT_EQUAL(persist_state_set(p, "t", "live", "1", 1, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_set(p, "t", "short", "1", 1, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_set(p, "t", "short", "2", 1, 300, &err), PERSIST_OK);
	written = wall_ms();
	CU_ASSERT_EQUAL(persist_state_set(p, "t", "long", "3", 1, 60000, &err), PERSIST_OK);
	after = wall_ms();
	sleep_ms(1500);
	set_down(0);
	CU_ASSERT_FATAL(wait_primary(p));
	CU_ASSERT_EQUAL(persist_state_get(p, "t", "short", NULL, NULL, &err), PERSIST_ENOTFOUND);
	CU_ASSERT_EQUAL(get_num(p, "t", "long"), 3);
	CU_ASSERT_EQUAL(get_num(p, "t", "live"), 1);
	CU_ASSERT_EQUAL(persist_state_scan(p, "t", "long", &e, &n, &err), PERSIST_OK);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	/* expires 60 s after the write (give or take a clock tick), not 60 s
	   after the replay 1.5 s later */
	CU_ASSERT(e[0].expires_ms >= written + 60000 - 50);
	CU_ASSERT(e[0].expires_ms <= after + 60000 + 50);
	persist_items_free(e, n);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

/* The replay sends each set and delete with the time it was journaled
   (batch_once_dated), not the time of the replay; status says so. */
static void test_replay_dated(void)
{
	struct persist_error err;
	int64_t written, after;
	persist *p;

	new_case();
	p = open_ok("");
	CU_ASSERT_EQUAL(status_of(p).replay_dated, 1);
	set_down(1);
	written = wall_ms();
	CU_ASSERT_EQUAL(persist_state_set(p, "d", "k", "1", 1, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_delete(p, "d", "k", &err), PERSIST_OK);
	after = wall_ms();
	sleep_ms(1000);
	set_down(0);
	CU_ASSERT_FATAL(wait_primary(p));
	CU_ASSERT(get_num(p, "fixture", "dated") >= 1);
	/* the journal's clock is the core's coarse one: a tick behind */
	CU_ASSERT(get_num(p, "fixture", "dated_last_ms") >= written - 30);
	CU_ASSERT(get_num(p, "fixture", "dated_last_ms") <= after);
	CU_ASSERT_EQUAL(persist_state_get(p, "d", "k", NULL, NULL, &err), PERSIST_ENOTFOUND);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

/* A handle closed during the outage leaves its journal; the next open
   replays it - and drops a torn last record, saying so. */
static void test_journal_after_close(void)
{
	struct persist_error err;
	char path[4200];
	int fd;
	persist *p;

	new_case();
	p = open_ok("");
	set_down(1);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(persist_state_incr(p, "j", "x", 1, NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_append(p, "j", "\"r\"", 3, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
	CU_ASSERT(journal_size() > 64);
	/* a writer that died in the middle of a record */
	fx_fmt(path, sizeof(path), "%s/state.journal", spool_dir);
	fd = open(path, O_WRONLY | O_APPEND);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "PJR1\x60\0\0\0\0\0", 10), 10);
	close(fd);

	set_down(0);
	p = open_ok("");
	CU_ASSERT(lc_logged("cut short"));
	CU_ASSERT_FATAL(wait_primary(p));
	CU_ASSERT_EQUAL(get_num(p, "j", "x"), 3);   /* the fixture's store is new: all replayed */
	CU_ASSERT_EQUAL(status_of(p).replayed, 4);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

/* A journal whose header was damaged is refused, naming the file. */
static void test_bad_header(void)
{
	struct persist_error err;
	char path[4200];
	int fd;
	persist *p = NULL;

	new_case();
	p = open_ok("");
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
	fx_fmt(path, sizeof(path), "%s/state.journal", spool_dir);
	fd = open(path, O_WRONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, "XX", 2, 30), 2);
	close(fd);
	p = NULL;
	CU_ASSERT_EQUAL(open_with("", NULL, &p, &err), PERSIST_ECORRUPT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "state.journal"));
	CU_ASSERT_PTR_NULL(p);
}

/* A record damaged in the middle of the journal (records follow it) is
   not taken for a torn end: nothing is cut, nothing applied, the open
   fails naming the file and the offset. */
static void test_damaged_record(void)
{
	struct persist_error err;
	char path[4200];
	struct stat before, after;
	int fd;
	persist *p = NULL;

	new_case();
	p = open_ok("");
	set_down(1);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(persist_state_set(p, "m", "k", "\"x\"", 3, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
	fx_fmt(path, sizeof(path), "%s/state.journal", spool_dir);
	fd = open(path, O_WRONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, "!", 1, 64 + 60), 1);   /* inside the first record */
	close(fd);
	CU_ASSERT_EQUAL(stat(path, &before), 0);
	set_down(0);
	p = NULL;
	CU_ASSERT_EQUAL(open_with("", NULL, &p, &err), PERSIST_ECORRUPT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "offset 64"));
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_EQUAL(stat(path, &after), 0);
	CU_ASSERT_EQUAL(after.st_size, before.st_size);
}

/* A replay piece whose reply is lost is sent again under the same id and
   not applied twice. */
static void test_replay_once(void)
{
	struct persist_error err;
	struct persist_provider_status st;
	persist *p;

	new_case();
	p = open_ok("");
	set_down(1);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(persist_state_incr(p, "o", "z", 1, NULL, &err), PERSIST_OK);
	close(open(lost_file, O_CREAT | O_WRONLY, 0600));
	set_down(0);
	CU_ASSERT_FATAL(wait_primary(p));
	unlink(lost_file);
	st = status_of(p);
	CU_ASSERT(st.replay_uncertain >= 1);
	CU_ASSERT_EQUAL(get_num(p, "o", "z"), 5);
	CU_ASSERT(get_num(p, "fixture", "once_repeated") >= 1);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

/* With batching on, queued writes whose flush finds the primary down go
   to the journal: no backpressure, nothing lost. */
static void test_queue_to_journal(void)
{
	struct persist_error err;
	char key[32];
	int failures = 0;
	persist *p;

	new_case();
	p = open_ok(",\"batchInterval\":20,\"batchMaxOps\":10");
	CU_ASSERT_EQUAL(persist_state_add(p, "q", "before", 1, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_flush(p, &err), PERSIST_OK);
	set_down(1);
	/* far more than the queue's limit (16 x 10 operations) */
	for (int i = 0; i < 400; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		if (persist_state_add(p, "q", key, 1, &err) != PERSIST_OK)
			failures++;
		if (i % 50 == 0)
			sleep_ms(30);
	}
	CU_ASSERT_EQUAL(failures, 0);
	CU_ASSERT_EQUAL(persist_state_flush(p, &err), PERSIST_OK);
	set_down(0);
	CU_ASSERT_FATAL(wait_primary(p));
	for (int i = 0; i < 400; i += 37) {
		snprintf(key, sizeof(key), "k%d", i);
		CU_ASSERT_EQUAL(get_num(p, "q", key), 1);
	}
	CU_ASSERT_EQUAL(get_num(p, "q", "before"), 1);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

/* Copy a file; 0 on success. */
static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t n;
	int ret = in >= 0 && out >= 0 ? 0 : -1;

	while (ret == 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			ret = -1;
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) != 0)
		ret = -1;
	return ret;
}

/* With journalQueued, a flush moved to the outage journal keeps the id it
   was sent under.  The crash this guards against - after the batch was
   journaled for the outage, before the queue's own journal recorded it
   done - is rebuilt by putting back a copy of the queue's journal taken
   before the flush: both journals then hold the batch, under one id, and
   the primary applies it once. */
static void test_moved_batch_keeps_id(void)
{
	struct persist_error err;
	char queue[4200], saved[4200], text[256];
	persist *p;

	new_case();
	p = open_ok(",\"batchInterval\":600000,\"journalQueued\":true");
	fx_fmt(queue, sizeof(queue), "%s/state.queue.0.journal", spool_dir);
	fx_fmt(saved, sizeof(saved), "%s/saved%u.journal", fx_scratch(), serial);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(persist_state_add(p, "mv", "n", 10, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_append(p, "mv", "{\"r\":1}", 7, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(status_of(p).pending, 0);     /* queued, not journaled */
	CU_ASSERT_EQUAL_FATAL(copy_file(queue, saved), 0);
	set_down(1);
	CU_ASSERT_EQUAL(persist_state_flush(p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(status_of(p).pending, 2);     /* one group of 2 operations */
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);

	/* the crash: the queue's journal as it was before the flush */
	CU_ASSERT_EQUAL_FATAL(copy_file(saved, queue), 0);
	set_down(0);
	p = open_ok(",\"batchInterval\":600000,\"journalQueued\":true");
	CU_ASSERT_FATAL(wait_primary(p));
	CU_ASSERT_EQUAL(get_num(p, "mv", "n"), 50);
	log_text(p, "mv", text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "{\"r\":1}");
	CU_ASSERT(get_num(p, "fixture", "once_repeated") >= 1);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

/* A primary that cannot be opened: the handle opens on the fallback and
   the health thread opens the primary once it answers. */
static void test_open_down(void)
{
	struct persist_error err;
	persist *p;

	new_case();
	set_down(1);
	p = open_ok(",\"openDown\":\"1\"");
	CU_ASSERT_EQUAL(status_of(p).mode, PERSIST_MODE_FALLBACK);
	CU_ASSERT(lc_logged("could not be opened"));
	CU_ASSERT_EQUAL(persist_state_incr(p, "d", "n", 4, NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_health(p, PERSIST_KIND_STATE, NULL, &err), PERSIST_EUNAVAIL);
	set_down(0);
	CU_ASSERT_FATAL(wait_primary(p));
	CU_ASSERT_EQUAL(get_num(p, "d", "n"), 4);
	CU_ASSERT_EQUAL(persist_health(p, PERSIST_KIND_STATE, NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

/* Two handles (as two processes would) on one spool directory and one
   primary: both journal, one replays, nothing is doubled. */
static void test_two_handles(void)
{
	struct persist_error err;
	persist *a, *b = NULL;

	new_case();
	a = open_ok("");
	CU_ASSERT_EQUAL_FATAL(open_with("", "other", &b, &err), PERSIST_OK);
	set_down(1);
	for (int i = 0; i < 20; i++) {
		CU_ASSERT_EQUAL(persist_state_incr(a, "s", "n", 1, NULL, &err), PERSIST_OK);
		CU_ASSERT_EQUAL(persist_state_incr(b, "s", "n", 10, NULL, &err), PERSIST_OK);
	}
	CU_ASSERT_EQUAL(status_of(a).pending, 40);
	set_down(0);
	CU_ASSERT_FATAL(wait_primary(a));
	CU_ASSERT_FATAL(wait_primary(b));
	CU_ASSERT_EQUAL(get_num(a, "s", "n"), 20 * 11);
	CU_ASSERT_EQUAL(status_of(a).replayed + status_of(b).replayed, 40);
	CU_ASSERT_EQUAL(persist_close(a, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_close(b, &err), PERSIST_OK);
}

/* Sessions: served by the fallback while the primary is down; the live
   ones put meanwhile are put on the primary again when it is back. */
static void test_sessions(void)
{
	struct persist_provider_status st;
	struct persist_error err;
	struct persist_entry *e = NULL;
	const char *dirs[1] = { fixture_dir };
	struct persist_options opts;
	char json[4096], ids[256];
	size_t n = 0, used = 0;
	persist *p = NULL;
	int i;

	new_case();
	fx_fmt(json, sizeof(json),
	       "{\"persistence\":{\"configuration\":{\"provider\":\"memory\"},"
	       "\"state\":{\"provider\":\"memory\"},"
	       "\"sessions\":{\"provider\":\"fixture_outage\",\"config\":{\"name\":\"%s\","
	       "\"downFile\":\"%s\",\"healthInterval\":30},"
	       "\"fallback\":{\"provider\":\"memory\",\"config\":{\"namespace\":\"%s-s\"}}}}}",
	       store_name, down_file, store_name);
	memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.log = lc_log;
	opts.log_level = PERSIST_LOG_WARNING;
	opts.plugin_dirs = dirs;
	opts.n_plugin_dirs = 1;
	CU_ASSERT_EQUAL_FATAL(persist_open_json(json, &opts, &p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_session_put(p, "before", "{}", 2, 0, &err), PERSIST_OK);
	set_down(1);
	CU_ASSERT_EQUAL(persist_session_put(p, "s1", "{\"a\":1}", 7, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_session_put(p, "s2", "{}", 2, 200, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_session_put(p, "s3", "{}", 2, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_session_drop(p, "s3", &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_session_send(p, "s1", "ev", "{}", 2, &err), PERSIST_OK);
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	CU_ASSERT_EQUAL(persist_provider_status(p, PERSIST_KIND_SESSION, &st, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(st.mode, PERSIST_MODE_FALLBACK);
	CU_ASSERT_EQUAL(persist_session_list(p, &e, &n, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(n, 2);   /* s1, s2: the fallback's */
	persist_items_free(e, n);
	sleep_ms(300);
	set_down(0);
	for (i = 0; i < 1000; i++) {
		CU_ASSERT_EQUAL(persist_provider_status(p, PERSIST_KIND_SESSION, &st, &err), PERSIST_OK);
		if (st.mode == PERSIST_MODE_PRIMARY)
			break;
		sleep_ms(10);
	}
	CU_ASSERT_EQUAL_FATAL(st.mode, PERSIST_MODE_PRIMARY);
	CU_ASSERT_EQUAL(persist_session_list(p, &e, &n, &err), PERSIST_OK);
	ids[0] = '\0';
	for (size_t k = 0; k < n; k++)
		used += (size_t)snprintf(ids + used, sizeof(ids) - used, "%s%s", k ? "," : "", e[k].key);
	CU_ASSERT_STRING_EQUAL(ids, "before,s1");   /* s2 expired, s3 dropped */
	persist_items_free(e, n);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

/* --- threads ------------------------------------------------------------- */

#define WORKERS 4

static persist *tp;
static int stop_workers;
static long worker_ok[WORKERS], worker_failures[WORKERS];

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct persist_error err;
	char rec[64];

	for (long i = 0; !__atomic_load_n(&stop_workers, __ATOMIC_ACQUIRE); i++) {
		int len = snprintf(rec, sizeof(rec), "{\"w\":%d,\"i\":%ld}", id, worker_ok[id]);

		if (persist_state_incr(tp, "th", "n", 1, NULL, &err) != PERSIST_OK ||
		    persist_state_append(tp, "th", rec, (size_t)len, &err) != PERSIST_OK)
			worker_failures[id]++;
		else
			worker_ok[id]++;
		if (i % 4 == 0)
			(void)get_num(tp, "th", "n");
		if (i % 16 == 0)
			sleep_ms(1);
	}
	return NULL;
}

/* Threads write while the primary goes down and up: every write is
   acknowledged, and the primary ends with all of them, each log record
   once, each worker's records in its order. */
static void test_threads(void)
{
	pthread_t t[WORKERS];
	struct persist_error err;
	struct persist_entry *e = NULL;
	struct persist_provider_status st;
	size_t n = 0;
	long last[WORKERS], total = 0;

	new_case();
	tp = open_ok("");
	for (int i = 0; i < WORKERS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
	for (int round = 0; round < 3; round++) {
		sleep_ms(80);
		set_down(1);
		sleep_ms(120);
		set_down(0);
	}
	sleep_ms(80);
	__atomic_store_n(&stop_workers, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(t[i], NULL);
	CU_ASSERT_FATAL(wait_primary(tp));
	for (int i = 0; i < WORKERS; i++) {
		CU_ASSERT_EQUAL(worker_failures[i], 0);
		total += worker_ok[i];
	}
	CU_ASSERT_EQUAL(get_num(tp, "th", "n"), total);
	CU_ASSERT_EQUAL(persist_state_read_log(tp, "th", 0, 0, &e, &n, NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(n, (size_t)total);
	for (int i = 0; i < WORKERS; i++)
		last[i] = -1;
	for (size_t i = 0; i < n; i++) {
		int w = -1;
		long k = -1;

		if (sscanf(e[i].value, "{\"w\":%d,\"i\":%ld}", &w, &k) != 2 || w < 0 || w >= WORKERS) {
			CU_FAIL("unexpected record");
			continue;
		}
		CU_ASSERT_EQUAL(k, last[w] + 1);   /* each once, in the worker's order */
		last[w] = k;
	}
	persist_items_free(e, n);
	st = status_of(tp);
	printf("\n    %ld writes acknowledged, outages %" PRIu64 ", journaled %" PRIu64
	       ", replayed %" PRIu64 "\n", total * 2, st.outages, st.journaled, st.replayed);
	CU_ASSERT(st.outages >= 1);
	CU_ASSERT(st.replayed > 0);
	CU_ASSERT_EQUAL(st.replayed, st.journaled);
	CU_ASSERT_EQUAL(persist_close(tp, &err), PERSIST_OK);
}

static const struct t_case cases[] = {
	{ "spoolDir is required", test_settings },
	{ "status and event arguments", test_status_args },
	{ "outage, journal, replay, events", test_outage_and_replay },
	{ "TTLs shortened by the outage", test_ttl_shortened },
	{ "the replay sends the times of sets and deletes", test_replay_dated },
	{ "journal kept across close, torn record", test_journal_after_close },
	{ "damaged journal header", test_bad_header },
	{ "damaged record in the middle", test_damaged_record },
	{ "replay piece applied once", test_replay_once },
	{ "write queue flushes to the journal", test_queue_to_journal },
	{ "a flush moved to the journal keeps its id", test_moved_batch_keeps_id },
	{ "primary down at open", test_open_down },
	{ "two handles, one spool directory", test_two_handles },
	{ "sessions through an outage", test_sessions },
	{ "threads through outages", test_threads },
	{ NULL, NULL }
};

int main(void)
{
	int ret;

	if (fx_setup("test-fallback") != 0)
		return 99;
	fixture_dir = fx_dir_with("fixture_outage");
	if (fixture_dir == NULL) {
		fx_cleanup();
		return 99;
	}
	ret = t_cunit_run("fallback and replay", NULL, NULL, cases);
	fx_cleanup();
	return ret;
}
