/*
 * t/batch/test-batch.c - the write queue (batchInterval > 0) through the
 * public API, against the memory and filesystem providers and against
 * fixture_flaky (t/batch/fixture-flaky.c), a test plugin whose batches fail
 * on demand: coalescing, set-then-increment order, read-your-writes for
 * get, scan and read_log, flushes on the interval, on batchMaxOps and on
 * close, retries of failed flushes, uncertain flushes, backpressure, close
 * while flushes fail, an invalid operation among valid ones, overflow, the
 * settings, and many threads adding, incrementing, reading and flushing at
 * once (run again under ThreadSanitizer).
 *
 * What was stored is checked through a second handle without batching on
 * the same memory namespace, filesystem root or redis prefix, which sees
 * only what the provider holds.  The suite runs once per provider; with
 * the argument "redis" only on redis (t/batch/test-batch-redis.sh starts
 * the server).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <persist/persist.h>

#include "cunit-suite.h"
#include "fixture-dirs.h"

#define ASSERT_MSG_HAS(err, needle) \
	CU_ASSERT_PTR_NOT_NULL(strstr((err).msg, (needle)))

static const char *provider;      /* "memory" or "filesystem" */
static const char *fixture_dir;   /* directory holding fixture_flaky.so */
static char last_log[4096];
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned store_serial;
static char store_name[64];

/* Keep the last error logged. */
static void log_cb(void *ctx, enum persist_log_level level, const char *message)
{
	(void)ctx;
	if (level < PERSIST_LOG_WARNING)
		return;
	pthread_mutex_lock(&log_lock);
	snprintf(last_log, sizeof(last_log), "%s", message);
	pthread_mutex_unlock(&log_lock);
}

/* A fresh store name for the next test. */
static void new_store(void)
{
	snprintf(store_name, sizeof(store_name), "batch%u", ++store_serial);
}

/* Open a handle on the current store; state_extra is added to the state
   provider's config (",\"batchInterval\":50"...).  fixture: use
   fixture_flaky.  Returns the status. */
static int open_with(const char *state_extra, int fixture, persist **p_r,
		     struct persist_error *err)
{
	char json[2048], state[1024];
	const char *dirs[1];
	struct persist_options opts;

	if (fixture)
		snprintf(state, sizeof(state),
			 "{\"provider\":\"fixture_flaky\",\"config\":{\"x\":0%s}}", state_extra);
	else if (strcmp(provider, "memory") == 0)
		snprintf(state, sizeof(state),
			 "{\"provider\":\"memory\",\"config\":{\"namespace\":\"%s\"%s}}",
			 store_name, state_extra);
	else if (strcmp(provider, "redis") == 0)
		snprintf(state, sizeof(state),
			 "{\"provider\":\"redis\",\"config\":{\"url\":\"%s\",\"prefix\":\"%s:\"%s}}",
			 getenv("REDIS_URL"), store_name, state_extra);
	else
		snprintf(state, sizeof(state),
			 "{\"provider\":\"filesystem\",\"config\":{\"root\":\"%s/%s\"%s}}",
			 fx_scratch(), store_name, state_extra);
	snprintf(json, sizeof(json),
		 "{\"persistence\":{\"configuration\":{\"provider\":\"memory\"},"
		 "\"state\":%s,\"sessions\":{\"provider\":\"memory\"}}}", state);
	memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.log = log_cb;
	opts.log_level = PERSIST_LOG_WARNING;
	if (fixture) {
		dirs[0] = fixture_dir;
		opts.plugin_dirs = dirs;
		opts.n_plugin_dirs = 1;
	}
	return persist_open_json(json, &opts, p_r, err);
}

/* Open, asserting success. */
static persist *open_ok(const char *state_extra, int fixture)
{
	struct persist_error err;
	persist *p = NULL;
	int ret = open_with(state_extra, fixture, &p, &err);

	if (ret != PERSIST_OK)
		fprintf(stderr, "open failed: %s\n", err.msg);
	CU_ASSERT_EQUAL_FATAL(ret, PERSIST_OK);
	return p;
}

/* The value of a key as text ("" and status on failure). */
static int get_str(persist *p, const char *collection, const char *key,
		   char *buf, size_t size)
{
	struct persist_error err;
	char *value = NULL;
	size_t len = 0;
	int ret = persist_state_get(p, collection, key, &value, &len, &err);

	buf[0] = '\0';
	if (ret == PERSIST_OK) {
		snprintf(buf, size, "%s", value);
		persist_free(value);
	}
	return ret;
}

/* The value of a counter (INT64_MIN when absent or failing). */
static int64_t get_num(persist *p, const char *collection, const char *key)
{
	char buf[64];

	if (get_str(p, collection, key, buf, sizeof(buf)) != PERSIST_OK)
		return INT64_MIN;
	return strtoll(buf, NULL, 10);
}

static struct persist_batch_stats stats_of(persist *p)
{
	struct persist_batch_stats st;
	struct persist_error err;

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	CU_ASSERT_EQUAL(persist_state_stats(p, &st, &err), PERSIST_OK);
	return st;
}

/* Sleep ms milliseconds. */
static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Poll until the counter reads want (up to 5 s); the last value read. */
static int64_t wait_num(persist *p, const char *collection, const char *key, int64_t want)
{
	int64_t v = INT64_MIN;

	for (int i = 0; i < 500 && (v = get_num(p, collection, key)) != want; i++)
		sleep_ms(10);
	return v;
}

/* Increments of one key are summed into one operation; nothing is stored
   before the flush, everything after it. */
static void test_coalesce(void)
{
	struct persist_error err;
	struct persist_batch_stats st;
	persist *p, *v;

	new_store();
	p = open_ok(",\"batchInterval\":600000", 0);
	v = open_ok("", 0);
	for (int i = 0; i < 1000; i++)
		CU_ASSERT_EQUAL(persist_state_add(p, "usage", "k1", 1, &err), PERSIST_OK);
	for (int i = 0; i < 10; i++)
		CU_ASSERT_EQUAL(persist_state_add(p, "usage", "k2", 2, &err), PERSIST_OK);
	st = stats_of(p);
	CU_ASSERT_EQUAL(st.enabled, 1);
	CU_ASSERT_EQUAL(st.ops_queued, 1010);
	CU_ASSERT_EQUAL(st.ops_coalesced, 1008);
	CU_ASSERT_EQUAL(st.queue_depth, 2);
	CU_ASSERT_EQUAL(get_num(p, "usage", "k1"), 1000);
	CU_ASSERT_EQUAL(get_num(v, "usage", "k1"), INT64_MIN);   /* not stored yet */
	CU_ASSERT_EQUAL(persist_state_flush(p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(get_num(v, "usage", "k1"), 1000);
	CU_ASSERT_EQUAL(get_num(v, "usage", "k2"), 20);
	st = stats_of(p);
	CU_ASSERT_EQUAL(st.ops_flushed, 2);
	CU_ASSERT_EQUAL(st.flushes, 1);
	CU_ASSERT_EQUAL(st.queue_depth, 0);
	CU_ASSERT_NOT_EQUAL(st.last_batch_id, 0);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_close(v, &err), PERSIST_OK);
}

/* A set followed by increments is applied in that order; a later set or
   delete replaces what was queued for the key. */
static void test_order(void)
{
	struct persist_error err;
	char buf[64];
	persist *p, *v;

	new_store();
	p = open_ok(",\"batchInterval\":600000", 0);
	v = open_ok("", 0);
	CU_ASSERT_EQUAL(persist_state_set(v, "c", "gone", "1", 1, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_set(p, "c", "a", "10", 2, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_add(p, "c", "a", 5, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_add(p, "c", "a", 1, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(get_num(p, "c", "a"), 16);
	CU_ASSERT_EQUAL(persist_state_add(p, "c", "b", 7, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_set(p, "c", "b", "100", 3, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(get_num(p, "c", "b"), 100);
	CU_ASSERT_EQUAL(persist_state_delete(p, "c", "gone", &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_add(p, "c", "gone", 3, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(get_num(p, "c", "gone"), 3);
	CU_ASSERT_EQUAL(persist_state_set(p, "c", "t", "text", 4, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_add(p, "c", "t", 1, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_state_flush(p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(get_num(v, "c", "a"), 16);
	CU_ASSERT_EQUAL(get_num(v, "c", "b"), 100);
	CU_ASSERT_EQUAL(get_num(v, "c", "gone"), 3);
	CU_ASSERT_EQUAL(get_str(v, "c", "t", buf, sizeof(buf)), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(buf, "text");
	persist_close(p, NULL);
	persist_close(v, NULL);
}

/* Every read sees the queued writes. */
static void test_read_your_writes(void)
{
	struct persist_error err;
	struct persist_entry *items = NULL;
	size_t n = 0;
	uint64_t next = 0;
	char buf[64];
	persist *p, *v;

	new_store();
	p = open_ok(",\"batchInterval\":600000", 0);
	v = open_ok("", 0);
	CU_ASSERT_EQUAL(persist_state_set(v, "r", "b", "stored-b", 8, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_set(v, "r", "c", "10", 2, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_set(v, "r", "d", "stored-d", 8, 0, &err), PERSIST_OK);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(persist_state_append(v, "r", "old", 3, &err), PERSIST_OK);

	CU_ASSERT_EQUAL(persist_state_set(p, "r", "a", "queued-a", 8, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_delete(p, "r", "b", &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_add(p, "r", "c", 4, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_append(p, "r", "new1", 4, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_append(p, "r", "new2", 4, &err), PERSIST_OK);

	CU_ASSERT_EQUAL(get_str(p, "r", "a", buf, sizeof(buf)), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(buf, "queued-a");
	CU_ASSERT_EQUAL(get_str(p, "r", "b", buf, sizeof(buf)), PERSIST_ENOTFOUND);
	CU_ASSERT_EQUAL(get_num(p, "r", "c"), 14);
	CU_ASSERT_EQUAL(get_str(p, "r", "d", buf, sizeof(buf)), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(buf, "stored-d");

	CU_ASSERT_EQUAL_FATAL(persist_state_scan(p, "r", "", &items, &n, &err), PERSIST_OK);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_STRING_EQUAL(items[0].key, "a");
	CU_ASSERT_STRING_EQUAL(items[0].value, "queued-a");
	CU_ASSERT_STRING_EQUAL(items[1].key, "c");
	CU_ASSERT_STRING_EQUAL(items[1].value, "14");
	CU_ASSERT_STRING_EQUAL(items[2].key, "d");
	persist_items_free(items, n);

	CU_ASSERT_EQUAL_FATAL(persist_state_read_log(p, "r", 0, 0, &items, &n, &next, &err), PERSIST_OK);
	CU_ASSERT_EQUAL_FATAL(n, 5);
	for (size_t i = 0; i < n; i++)
		CU_ASSERT_EQUAL(items[i].index, i);
	CU_ASSERT_STRING_EQUAL(items[2].value, "old");
	CU_ASSERT_STRING_EQUAL(items[3].value, "new1");
	CU_ASSERT_STRING_EQUAL(items[4].value, "new2");
	CU_ASSERT_EQUAL(next, 5);
	persist_items_free(items, n);
	CU_ASSERT_EQUAL_FATAL(persist_state_read_log(p, "r", 4, 0, &items, &n, &next, &err), PERSIST_OK);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(items[0].index, 4);
	CU_ASSERT_STRING_EQUAL(items[0].value, "new2");
	persist_items_free(items, n);
	/* from the first queued record: nothing stored from there on */
	CU_ASSERT_EQUAL_FATAL(persist_state_read_log(p, "r", 3, 0, &items, &n, &next, &err), PERSIST_OK);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(items[0].index, 3);
	CU_ASSERT_STRING_EQUAL(items[0].value, "new1");
	persist_items_free(items, n);
	CU_ASSERT_EQUAL_FATAL(persist_state_read_log(p, "r", 10, 0, &items, &n, &next, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(next, 10);
	persist_items_free(items, n);
	CU_ASSERT_EQUAL_FATAL(persist_state_read_log(p, "r", 2, 2, &items, &n, &next, &err), PERSIST_OK);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(items[1].value, "new1");
	CU_ASSERT_EQUAL(next, 4);
	persist_items_free(items, n);
	/* the same reads give the same answers once everything is stored */
	CU_ASSERT_EQUAL(persist_state_flush(p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(get_num(v, "r", "c"), 14);
	CU_ASSERT_EQUAL(get_str(v, "r", "b", buf, sizeof(buf)), PERSIST_ENOTFOUND);
	CU_ASSERT_EQUAL_FATAL(persist_state_read_log(v, "r", 0, 0, &items, &n, &next, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(n, 5);
	persist_items_free(items, n);
	persist_close(p, NULL);
	persist_close(v, NULL);
}

/* persist_state_incr sends the queued increments with its own. */
static void test_incr_sync(void)
{
	struct persist_error err;
	int64_t value = 0;
	persist *p, *v;

	new_store();
	p = open_ok(",\"batchInterval\":600000", 0);
	v = open_ok("", 0);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(persist_state_add(p, "u", "k", 5, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_incr(p, "u", "k", 1, &value, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(value, 16);
	CU_ASSERT_EQUAL(get_num(v, "u", "k"), 16);
	CU_ASSERT_EQUAL(stats_of(p).queue_depth, 0);
	/* after a queued set, the set is stored first */
	CU_ASSERT_EQUAL(persist_state_set(p, "u", "k", "100", 3, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_incr(p, "u", "k", 1, &value, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(value, 101);
	CU_ASSERT_EQUAL(get_num(v, "u", "k"), 101);
	persist_close(p, NULL);
	persist_close(v, NULL);
}

/* The flusher thread stores the queue every batchInterval ms. */
static void test_flush_interval(void)
{
	struct persist_error err;
	persist *p, *v;

	new_store();
	p = open_ok(",\"batchInterval\":50", 0);
	v = open_ok("", 0);
	CU_ASSERT_EQUAL(persist_state_add(p, "u", "k", 42, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(wait_num(v, "u", "k", 42), 42);
	for (int i = 0; i < 100 && stats_of(p).flushes == 0; i++)
		sleep_ms(10);   /* counted just after the provider answers */
	CU_ASSERT(stats_of(p).flushes >= 1);
	persist_close(p, NULL);
	persist_close(v, NULL);
}

/* ... and as soon as batchMaxOps operations are queued. */
static void test_flush_max_ops(void)
{
	struct persist_error err;
	char key[16];
	persist *p, *v;

	new_store();
	p = open_ok(",\"batchInterval\":600000,\"batchMaxOps\":10", 0);
	v = open_ok("", 0);
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		CU_ASSERT_EQUAL(persist_state_add(p, "u", key, i + 1, &err), PERSIST_OK);
	}
	CU_ASSERT_EQUAL(wait_num(v, "u", "k9", 10), 10);
	CU_ASSERT_EQUAL(get_num(v, "u", "k0"), 1);
	persist_close(p, NULL);
	persist_close(v, NULL);
}

/* Close stores what is queued. */
static void test_flush_on_close(void)
{
	struct persist_error err;
	struct persist_entry *items = NULL;
	size_t n = 0;
	persist *p, *v;

	new_store();
	v = open_ok("", 0);   /* first: a memory namespace lives with its stores */
	p = open_ok(",\"batchInterval\":600000", 0);
	CU_ASSERT_EQUAL(persist_state_add(p, "u", "k", 9, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_append(p, "u", "rec", 3, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(get_num(v, "u", "k"), INT64_MIN);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(get_num(v, "u", "k"), 9);
	CU_ASSERT_EQUAL(persist_state_read_log(v, "u", 0, 0, &items, &n, NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(n, 1);
	persist_items_free(items, n);
	persist_close(v, NULL);
}

/* A queued increment that would overflow is refused, nothing queued. */
static void test_overflow(void)
{
	struct persist_error err;
	persist *p;

	new_store();
	p = open_ok(",\"batchInterval\":600000", 0);
	CU_ASSERT_EQUAL(persist_state_add(p, "u", "big", INT64_MAX, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_add(p, "u", "big", 1, &err), PERSIST_EINVAL);
	ASSERT_MSG_HAS(err, "overflow");
	ASSERT_MSG_HAS(err, "big");
	CU_ASSERT_EQUAL(get_num(p, "u", "big"), INT64_MAX);
	CU_ASSERT_EQUAL(persist_state_add(p, "u", "big", -1, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(get_num(p, "u", "big"), INT64_MAX - 1);
	CU_ASSERT_EQUAL(persist_state_add(p, "u", "small", INT64_MIN, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_add(p, "u", "small", -1, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_state_flush(p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

/* batchInterval 0 is off; out-of-range settings are configuration errors
   naming the key. */
static void test_settings(void)
{
	struct persist_error err;
	persist *p = NULL, *v;

	new_store();
	p = open_ok(",\"batchInterval\":0,\"batchMaxOps\":5", 0);
	v = open_ok("", 0);
	CU_ASSERT_EQUAL(stats_of(p).enabled, 0);
	CU_ASSERT_EQUAL(persist_state_add(p, "u", "k", 3, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(get_num(v, "u", "k"), 3);   /* stored at once */
	persist_close(p, NULL);
	persist_close(v, NULL);
	p = NULL;
	CU_ASSERT_EQUAL(open_with(",\"batchInterval\":-5", 0, &p, &err), PERSIST_ECONFIG);
	ASSERT_MSG_HAS(err, "batchInterval");
	CU_ASSERT_EQUAL(open_with(",\"batchInterval\":99999999999", 0, &p, &err), PERSIST_ECONFIG);
	ASSERT_MSG_HAS(err, "batchInterval");
	CU_ASSERT_EQUAL(open_with(",\"batchInterval\":10,\"batchMaxOps\":0", 0, &p, &err), PERSIST_ECONFIG);
	ASSERT_MSG_HAS(err, "batchMaxOps");
	CU_ASSERT_EQUAL(open_with(",\"batchInterval\":10,\"batchMaxBytes\":10", 0, &p, &err), PERSIST_ECONFIG);
	ASSERT_MSG_HAS(err, "batchMaxBytes");
	CU_ASSERT_EQUAL(open_with(",\"batchInterval\":\"10\"", 0, &p, &err), PERSIST_ECONFIG);
	ASSERT_MSG_HAS(err, "batchInterval");
	CU_ASSERT_PTR_NULL(p);
}

#define T_THREADS 6
#define T_KEYS 20
#define T_ROUNDS 3000

struct worker {
	persist *p;
	int id;
	int64_t added[T_KEYS];
	int bad;    /* reads that went backwards or failed calls */
};

/* Add to every key, now and then increment synchronously, read, flush;
   with only positive increments a key's value never goes backwards. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int64_t seen[T_KEYS] = { 0 };
	struct persist_error err;
	char key[16];

	for (int r = 0; r < T_ROUNDS; r++) {
		int k = (r * 7 + w->id) % T_KEYS;
		int64_t v = 0;

		snprintf(key, sizeof(key), "k%d", k);
		if (r % 50 == 0) {
			if (persist_state_incr(w->p, "t", key, 2, &v, &err) != PERSIST_OK)
				w->bad++;
			else
				w->added[k] += 2;
		} else if (persist_state_add(w->p, "t", key, 1, &err) == PERSIST_OK) {
			w->added[k]++;
		} else {
			w->bad++;
		}
		if (r % 10 == 0) {
			v = get_num(w->p, "t", key);
			if (v < seen[k])
				w->bad++;
			seen[k] = v;
		}
		if (r % 500 == 0 && persist_state_flush(w->p, &err) != PERSIST_OK)
			w->bad++;
	}
	return NULL;
}

/* Many threads adding, incrementing, reading and flushing while the
   flusher runs: the totals are exact and no read goes backwards. */
static void test_threads(void)
{
	struct persist_error err;
	struct worker w[T_THREADS];
	pthread_t th[T_THREADS];
	char key[16];
	persist *p, *v;

	new_store();
	p = open_ok(",\"batchInterval\":5,\"batchMaxOps\":8", 0);
	v = open_ok("", 0);
	memset(w, 0, sizeof(w));
	for (int i = 0; i < T_THREADS; i++) {
		w[i].p = p;
		w[i].id = i;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < T_THREADS; i++)
		pthread_join(th[i], NULL);
	CU_ASSERT_EQUAL(persist_state_flush(p, &err), PERSIST_OK);
	for (int k = 0; k < T_KEYS; k++) {
		int64_t want = 0;

		for (int i = 0; i < T_THREADS; i++)
			want += w[i].added[k];
		snprintf(key, sizeof(key), "k%d", k);
		CU_ASSERT_EQUAL(get_num(v, "t", key), want);
		CU_ASSERT_EQUAL(get_num(p, "t", key), want);
	}
	for (int i = 0; i < T_THREADS; i++)
		CU_ASSERT_EQUAL(w[i].bad, 0);
	CU_ASSERT(stats_of(p).flushes > 1);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
	persist_close(v, NULL);
}

/* A failed flush keeps its batch and sends the same batch again. */
static void test_retry(void)
{
	struct persist_error err;
	struct persist_batch_stats st;
	persist *p;
	int i;

	p = open_ok(",\"failBatches\":3,\"batchInterval\":20", 1);
	CU_ASSERT_EQUAL(persist_state_add(p, "u", "k", 7, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_append(p, "u", "r", 1, &err), PERSIST_OK);
	for (i = 0; i < 500 && stats_of(p).flushes == 0; i++)
		sleep_ms(10);
	st = stats_of(p);
	CU_ASSERT_EQUAL(st.flushes, 1);
	CU_ASSERT_EQUAL(st.flush_failures, 3);
	CU_ASSERT_EQUAL(st.last_batch_seq, 1);   /* the same batch, retried */
	CU_ASSERT_EQUAL(st.ops_flushed, 2);
	CU_ASSERT_EQUAL(st.last_error, PERSIST_OK);
	CU_ASSERT_EQUAL(get_num(p, "fixture", "batches"), 1);
	CU_ASSERT_EQUAL(get_num(p, "fixture", "failed"), 3);
	CU_ASSERT_EQUAL(get_num(p, "u", "k"), 7);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

/* An uncertain flush keeps its operations and says so. */
static void test_uncertain(void)
{
	struct persist_error err;
	struct persist_batch_stats st;
	persist *p;

	p = open_ok(",\"failBatches\":1,\"failCode\":\"uncertain\",\"batchInterval\":600000", 1);
	CU_ASSERT_EQUAL(persist_state_add(p, "u", "k", 7, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_flush(p, &err), PERSIST_EUNCERTAIN);
	st = stats_of(p);
	CU_ASSERT_EQUAL(st.flush_uncertain, 1);
	CU_ASSERT_EQUAL(st.queue_depth, 1);
	CU_ASSERT_EQUAL(st.last_error, PERSIST_EUNCERTAIN);
	CU_ASSERT_EQUAL(get_num(p, "u", "k"), 7);
	CU_ASSERT_EQUAL(persist_state_flush(p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(get_num(p, "fixture", "batches"), 1);
	CU_ASSERT_EQUAL(get_num(p, "u", "k"), 7);
	/* the fixture has no batch_once: the retry could not settle it */
	st = stats_of(p);
	CU_ASSERT_EQUAL(st.exactly_once, 0);
	CU_ASSERT_EQUAL(st.batches_uncertain, 1);
	CU_ASSERT_EQUAL(st.uncertain_settled, 0);
	CU_ASSERT_EQUAL(st.uncertain_left, 1);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

/* A full queue refuses new operations while the backend is down, and
   takes them again once it is back. */
static void test_backpressure(void)
{
	struct persist_error err;
	char extra[512], down[512], key[16], buf[64];
	FILE *f;
	persist *p;
	int i;

	fx_fmt(down, sizeof(down), "%s/down-%u", fx_scratch(), ++store_serial);
	fx_fmt(extra, sizeof(extra), ",\"downFile\":\"%s\",\"batchInterval\":10,\"batchMaxOps\":10", down);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(down, "w"));
	fclose(f);
	p = open_ok(extra, 1);
	/* a queued set answers a get while the backend is down */
	CU_ASSERT_EQUAL(persist_state_set(p, "u", "q", "queued", 6, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(get_str(p, "u", "q", buf, sizeof(buf)), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(buf, "queued");
	CU_ASSERT_EQUAL(get_str(p, "u", "other", buf, sizeof(buf)), PERSIST_EUNAVAIL);
	for (i = 0; i < 159; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		CU_ASSERT_EQUAL(persist_state_add(p, "u", key, 1, &err), PERSIST_OK);
	}
	CU_ASSERT_EQUAL(persist_state_add(p, "u", "one-more", 1, &err), PERSIST_EUNAVAIL);
	ASSERT_MSG_HAS(err, "queue is full");
	ASSERT_MSG_HAS(err, "batchMaxOps");
	CU_ASSERT_EQUAL(persist_state_append(p, "u", "rec", 3, &err), PERSIST_EUNAVAIL);
	for (i = 0; i < 500 && stats_of(p).flush_failures < 2; i++)
		sleep_ms(10);
	CU_ASSERT(stats_of(p).flush_failures >= 2);
	CU_ASSERT_EQUAL(persist_state_add(p, "u", "one-more", 1, &err), PERSIST_EUNAVAIL);
	ASSERT_MSG_HAS(err, "failed");
	CU_ASSERT_EQUAL(stats_of(p).queue_depth, 160);
	unlink(down);
	CU_ASSERT_EQUAL(persist_state_flush(p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_add(p, "u", "one-more", 1, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_flush(p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(get_num(p, "u", "k0"), 1);
	CU_ASSERT_EQUAL(get_num(p, "u", "k158"), 1);
	CU_ASSERT_EQUAL(get_str(p, "u", "q", buf, sizeof(buf)), PERSIST_OK);
	CU_ASSERT_EQUAL(get_num(p, "u", "one-more"), 1);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

/* Close while every flush fails: it says what could not be stored. */
static void test_close_failing(void)
{
	struct persist_error err;
	char key[16];
	persist *p;

	p = open_ok(",\"failBatches\":-1,\"batchInterval\":10", 1);
	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		CU_ASSERT_EQUAL(persist_state_add(p, "u", key, i + 1, &err), PERSIST_OK);
	}
	CU_ASSERT_EQUAL(persist_state_append(p, "u", "rec", 3, &err), PERSIST_OK);
	sleep_ms(50);
	CU_ASSERT_EQUAL(persist_state_flush(p, &err), PERSIST_EUNAVAIL);
	last_log[0] = '\0';
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_EUNAVAIL);
	ASSERT_MSG_HAS(err, "6 queued state writes could not be stored");
	ASSERT_MSG_HAS(err, "incr u/k0 +1");
	CU_ASSERT_PTR_NOT_NULL(strstr(last_log, "append u (3 bytes)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(last_log, "6 queued writes"));
}

/* An operation the provider refuses as invalid is dropped, loudly, and
   the others of its batch are stored. */
static void test_invalid_op(void)
{
	struct persist_error err;
	persist *p;

	p = open_ok(",\"batchInterval\":600000", 1);
	CU_ASSERT_EQUAL(persist_state_set(p, "u", "text", "abc", 3, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_flush(p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_add(p, "u", "text", 1, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_add(p, "u", "n", 1, &err), PERSIST_OK);
	last_log[0] = '\0';
	CU_ASSERT_EQUAL(persist_state_flush(p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(stats_of(p).ops_rejected, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(last_log, "incr u/text +1"));
	CU_ASSERT_EQUAL(get_num(p, "u", "n"), 1);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

struct flusher {
	persist *p;
	int id;
	int64_t added;
};

/* Add and flush in a loop; flush failures are expected at first. */
static void *flusher_main(void *arg)
{
	struct flusher *f = arg;
	struct persist_error err;

	for (int i = 0; i < 200; i++) {
		if (persist_state_add(f->p, "u", i % 2 ? "a" : "b", 1, &err) == PERSIST_OK)
			f->added++;
		(void)persist_state_flush(f->p, &err);
	}
	return NULL;
}

/* Flushes from many threads at once, some failing: nothing lost or
   doubled. */
static void test_concurrent_flush(void)
{
	struct persist_error err;
	struct flusher f[8];
	pthread_t th[8];
	int64_t want = 0;
	persist *p;

	p = open_ok(",\"failBatches\":25,\"batchInterval\":5", 1);
	memset(f, 0, sizeof(f));
	for (int i = 0; i < 8; i++) {
		f[i].p = p;
		f[i].id = i;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, flusher_main, &f[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		want += f[i].added;
	}
	CU_ASSERT_EQUAL(want, 1600);
	CU_ASSERT_EQUAL(persist_state_flush(p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(get_num(p, "u", "a") + get_num(p, "u", "b"), want);
	CU_ASSERT_EQUAL(get_num(p, "fixture", "failed"), 25);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

/* Monotonic milliseconds. */
static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Flush in a thread (for test_slow_flush). */
static void *flush_thread(void *arg)
{
	struct persist_error err;

	return (void *)(intptr_t)persist_state_flush(arg, &err);
}

/* A slow flush holds back nobody who writes: adds, sets and appends of the
   keys being flushed return at once; a read of such a key waits for the
   flush and then sees both. */
static void test_slow_flush(void)
{
	struct persist_error err;
	pthread_t th;
	void *ret;
	int64_t t0, writes_ms, read_ms;
	persist *p;

	p = open_ok(",\"batchDelayMs\":400,\"batchInterval\":600000", 1);
	CU_ASSERT_EQUAL(persist_state_add(p, "u", "k", 1, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_set(p, "u", "s", "old", 3, 0, &err), PERSIST_OK);
	t0 = mono_ms();
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, flush_thread, p), 0);
	sleep_ms(100);     /* the flush is in the provider now */
	CU_ASSERT_EQUAL(persist_state_add(p, "u", "k", 2, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_set(p, "u", "s", "new", 3, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_append(p, "u", "rec", 3, &err), PERSIST_OK);
	writes_ms = mono_ms() - t0;
	CU_ASSERT(writes_ms < 300);
	CU_ASSERT_EQUAL(get_num(p, "u", "k"), 3);
	read_ms = mono_ms() - t0;
	CU_ASSERT(read_ms >= 350);   /* waited for the flush storing k */
	pthread_join(th, &ret);
	CU_ASSERT_EQUAL((intptr_t)ret, PERSIST_OK);
	CU_ASSERT_EQUAL(persist_close(p, &err), PERSIST_OK);
}

static const struct t_case provider_cases[] = {
	{ "increments are coalesced", test_coalesce },
	{ "set then increments, in order", test_order },
	{ "reads see the queued writes", test_read_your_writes },
	{ "incr carries the queued increments", test_incr_sync },
	{ "flush on the interval", test_flush_interval },
	{ "flush on batchMaxOps", test_flush_max_ops },
	{ "flush on close", test_flush_on_close },
	{ "overflow is refused", test_overflow },
	{ "settings", test_settings },
	{ "many threads", test_threads },
	{ NULL, NULL }
};

static const struct t_case fixture_cases[] = {
	{ "failed flush is retried", test_retry },
	{ "uncertain flush is kept", test_uncertain },
	{ "backpressure", test_backpressure },
	{ "close while flushes fail", test_close_failing },
	{ "invalid operation dropped loudly", test_invalid_op },
	{ "concurrent flushes", test_concurrent_flush },
	{ "a slow flush blocks no writer", test_slow_flush },
	{ NULL, NULL }
};

int main(int argc, char **argv)
{
	int status = 0, ret;

	if (argc == 2 && strcmp(argv[1], "redis") == 0) {
		/* t/batch/test-batch-redis.sh: a private server in REDIS_URL */
		if (getenv("REDIS_URL") == NULL || fx_setup("test-batch") != 0)
			return 99;
		provider = "redis";
		ret = t_cunit_run("write queue on redis", NULL, NULL, provider_cases);
		fx_cleanup();
		return ret;
	}

	if (fx_setup("test-batch") != 0)
		return 99;
	fixture_dir = fx_dir_with("fixture_flaky");
	if (fixture_dir == NULL) {
		fx_cleanup();
		return 99;
	}
	provider = "memory";
	ret = t_cunit_run("write queue on memory", NULL, NULL, provider_cases);
	status = ret > status ? ret : status;
	provider = "filesystem";
	ret = t_cunit_run("write queue on filesystem", NULL, NULL, provider_cases);
	status = ret > status ? ret : status;
	ret = t_cunit_run("write queue failures (fixture_flaky)", NULL, NULL, fixture_cases);
	status = ret > status ? ret : status;
	fx_cleanup();
	return status;
}
