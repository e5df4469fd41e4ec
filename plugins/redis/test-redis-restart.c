/*
 * plugins/redis/test-redis-restart.c - the redis server goes away in the
 * middle of a run and comes back; the provider must recover by itself and
 * never answer a wrong plain success or failure.
 *
 * test-redis-restart.sh runs this program in the background against a
 * server with appendonly/appendfsync always (acknowledged writes survive),
 * stops it gracefully, starts it again, kills it (SIGKILL), starts it
 * again, and then creates $PERSIST_TEST_TMP/restart-done.  Meanwhile this
 * program increments one counter from several threads and appends to one
 * log, counting every answer.  When the script is done it goes on for a
 * moment, then checks:
 *   - the provider recovered without the host doing anything (the same
 *     handle works again, increments succeed after the outages);
 *   - counter == acknowledged increments + some of the uncertain ones
 *     (an "unavailable" increment was not applied; an "ok" one was);
 *   - the same for the log's length;
 *   - subscriptions came back: a broadcast and a configuration change
 *     made after the restarts reach this process's subscribers, and the
 *     configuration subscriber was told to re-read everything (key NULL).
 * It prints how many operations answered unavailable or uncertain.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <CUnit/Basic.h>
#include <persist/persist.h>

#define THREADS 4
#define MAX_RUN_MS 60000

static persist *p;
static char done_path[4096];
static atomic_int stop_workers;

struct tally {
	uint64_t ok, unavail, uncertain, timedout, other;
	int64_t longest_gap_ms;
	char other_msg[PERSIST_ERROR_MSG_MAX];
};
static struct tally incr_tally, append_tally;
static pthread_mutex_t tally_lock = PTHREAD_MUTEX_INITIALIZER;

/* Monotonic ms. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep ms. */
static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Add one worker's counts to a tally. */
static void tally_add(struct tally *t, const struct tally *mine)
{
	pthread_mutex_lock(&tally_lock);
	t->ok += mine->ok;
	t->unavail += mine->unavail;
	t->uncertain += mine->uncertain;
	t->timedout += mine->timedout;
	t->other += mine->other;
	if (mine->longest_gap_ms > t->longest_gap_ms)
		t->longest_gap_ms = mine->longest_gap_ms;
	if (mine->other > 0 && t->other_msg[0] == '\0')
		memcpy(t->other_msg, mine->other_msg, sizeof(t->other_msg));
	pthread_mutex_unlock(&tally_lock);
}

/* Count one answer; failures back off for a millisecond. */
static void count(struct tally *t, int ret, const struct persist_error *err,
		  int64_t *last_ok)
{
	int64_t now = now_ms();

	switch (ret) {
	case PERSIST_OK:
		t->ok++;
		if (now - *last_ok > t->longest_gap_ms)
			t->longest_gap_ms = now - *last_ok;
		*last_ok = now;
		return;
	case PERSIST_EUNAVAIL:
		t->unavail++;
		break;
	case PERSIST_EUNCERTAIN:
		t->uncertain++;
		break;
	case PERSIST_ETIMEDOUT:
		t->timedout++;
		break;
	default:
		if (t->other == 0)
			snprintf(t->other_msg, sizeof(t->other_msg), "%s: %s",
				 persist_strerror(ret), err->msg);
		t->other++;
		break;
	}
	sleep_ms(1);
}

/* Worker: increment until told to stop. */
static void *incr_worker(void *arg)
{
	struct tally mine = { 0 };
	int64_t last_ok = now_ms();
	struct persist_error err;

	(void)arg;
	while (!atomic_load(&stop_workers)) {
		int64_t v;
		int ret = persist_state_incr(p, "restart", "n", 1, &v, &err);

		count(&mine, ret, &err, &last_ok);
	}
	tally_add(&incr_tally, &mine);
	return NULL;
}

/* Worker: append numbered records until told to stop. */
static void *append_worker(void *arg)
{
	struct tally mine = { 0 };
	int64_t last_ok = now_ms();
	struct persist_error err;
	unsigned long seq = 0;

	(void)arg;
	while (!atomic_load(&stop_workers)) {
		char rec[64];
		int len = snprintf(rec, sizeof(rec), "{\"seq\":%lu}", seq++);
		int ret = persist_state_append(p, "restart", rec, (size_t)len, &err);

		count(&mine, ret, &err, &last_ok);
	}
	tally_add(&append_tally, &mine);
	return NULL;
}

static pthread_mutex_t cb_lock = PTHREAD_MUTEX_INITIALIZER;
static int reread_notices, after_change_seen, after_event_seen;

/* Configuration subscriber: count "re-read everything" and the change
   made after the restarts. */
static void config_cb(void *ctx, const char *key, const char *etag)
{
	(void)ctx;
	(void)etag;
	pthread_mutex_lock(&cb_lock);
	if (key == NULL)
		reread_notices++;
	else if (strcmp(key, "after-restart") == 0)
		after_change_seen++;
	pthread_mutex_unlock(&cb_lock);
}

/* Session subscriber: the broadcast made after the restarts. */
static void event_cb(void *ctx, const char *origin, const char *session_id,
		     const char *event, const void *data, size_t len)
{
	(void)ctx;
	(void)origin;
	(void)session_id;
	(void)data;
	(void)len;
	pthread_mutex_lock(&cb_lock);
	if (strcmp(event, "after-restart") == 0)
		after_event_seen++;
	pthread_mutex_unlock(&cb_lock);
}

/* Wait until the handle answers again (health OK) within ms; true if so. */
static int wait_healthy(int ms)
{
	int64_t deadline = now_ms() + ms;
	struct persist_error err;

	while (now_ms() < deadline) {
		if (persist_health(p, PERSIST_KIND_STATE, NULL, &err) == PERSIST_OK &&
		    persist_health(p, PERSIST_KIND_CONFIG, NULL, &err) == PERSIST_OK &&
		    persist_health(p, PERSIST_KIND_SESSION, NULL, &err) == PERSIST_OK)
			return 1;
		sleep_ms(20);
	}
	return 0;
}

/* Print and check one tally against the number the server holds. */
static void check_tally(const char *what, const struct tally *t, int64_t held)
{
	uint64_t total = t->ok + t->unavail + t->uncertain + t->timedout + t->other;

	printf("\n    %s: %" PRIu64 " calls: %" PRIu64 " ok, %" PRIu64 " unavailable, %"
	       PRIu64 " uncertain, %" PRIu64 " timed out, %" PRIu64 " other; "
	       "longest stretch without success %" PRId64 " ms\n", what, total, t->ok,
	       t->unavail, t->uncertain, t->timedout, t->other, t->longest_gap_ms);
	printf("    %s: the server holds %" PRId64 " = %" PRIu64 " acknowledged + %"
	       PRId64 " of the %" PRIu64 " uncertain\n", what, held, t->ok,
	       held - (int64_t)t->ok, t->uncertain);
	if (t->other > 0)
		printf("    %s: first unexpected answer: %s\n", what, t->other_msg);
	CU_ASSERT_EQUAL(t->other, 0);
	CU_ASSERT(held >= (int64_t)t->ok);
	CU_ASSERT(held <= (int64_t)(t->ok + t->uncertain));
	CU_ASSERT(t->unavail + t->uncertain + t->timedout > 0); /* there was an outage */
}

/* The whole run (one test: the phases depend on each other). */
static void test_restart(void)
{
	pthread_t t[THREADS + 1];
	struct persist_error err;
	uint64_t cid = 0, sid = 0;
	int64_t start = now_ms(), counter = -1;
	struct stat sb;
	struct persist_entry *e = NULL;
	size_t n = 0;
	uint64_t next = 0;

	CU_ASSERT_EQUAL_FATAL(persist_config_subscribe(p, NULL, config_cb, NULL, &cid, &err),
			      PERSIST_OK);
	CU_ASSERT_EQUAL_FATAL(persist_session_subscribe(p, event_cb, NULL, &sid, &err),
			      PERSIST_OK);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, incr_worker, NULL);
	pthread_create(&t[THREADS], NULL, append_worker, NULL);
	while (stat(done_path, &sb) != 0 && now_ms() - start < MAX_RUN_MS)
		sleep_ms(20);
	CU_ASSERT(stat(done_path, &sb) == 0);
	/* keep going for a while after the last restart: the provider must
	   come back on its own */
	sleep_ms(1500);
	atomic_store(&stop_workers, 1);
	for (int i = 0; i <= THREADS; i++)
		pthread_join(t[i], NULL);
	CU_ASSERT(wait_healthy(10000));

	CU_ASSERT_EQUAL(persist_state_incr(p, "restart", "n", 0, &counter, &err), PERSIST_OK);
	check_tally("increments", &incr_tally, counter);
	CU_ASSERT_EQUAL(persist_state_read_log(p, "restart", 0, 0, &e, &n, &next, &err),
			PERSIST_OK);
	persist_items_free(e, n);
	check_tally("appends", &append_tally, (int64_t)n);

	/* subscriptions are back */
	CU_ASSERT_EQUAL(persist_config_set(p, "after-restart", "{}", 2, NULL, 0, NULL, &err),
			PERSIST_OK);
	CU_ASSERT_EQUAL(persist_session_broadcast(p, "after-restart", "{}", 2, &err),
			PERSIST_OK);
	for (int i = 0; i < 500; i++) {
		int done;

		pthread_mutex_lock(&cb_lock);
		done = after_change_seen > 0 && after_event_seen > 0;
		pthread_mutex_unlock(&cb_lock);
		if (done)
			break;
		sleep_ms(10);
	}
	pthread_mutex_lock(&cb_lock);
	printf("    subscribers: %d \"re-read everything\" notices; change after the "
	       "restarts seen %d time(s), broadcast seen %d time(s)\n", reread_notices,
	       after_change_seen, after_event_seen);
	CU_ASSERT(reread_notices >= 1);
	CU_ASSERT_EQUAL(after_change_seen, 1);
	CU_ASSERT_EQUAL(after_event_seen, 1);
	pthread_mutex_unlock(&cb_lock);
	CU_ASSERT_EQUAL(persist_config_unsubscribe(p, cid, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_session_unsubscribe(p, sid, &err), PERSIST_OK);
	persist_config_delete(p, "after-restart", NULL, &err);
}

/* Open the handle, say "running" to the script, run the test. */
int main(void)
{
	const char *url = getenv("REDIS_URL"), *tmp = getenv("PERSIST_TEST_TMP");
	char json[1024];
	struct persist_error err;
	unsigned fails;
	CU_pSuite s;

	if (url == NULL || tmp == NULL) {
		fprintf(stderr, "REDIS_URL / PERSIST_TEST_TMP not set (run test-redis-restart.sh)\n");
		return 99;
	}
	snprintf(done_path, sizeof(done_path), "%s/restart-done", tmp);
#define REDIS_CFG "{\"url\":\"%s\",\"commandTimeout\":500,\"connectTimeout\":500," \
		  "\"reconnectMin\":20,\"reconnectMax\":200}"
	snprintf(json, sizeof(json),
		 "{\"persistence\":{"
		 "\"configuration\":{\"provider\":\"redis\",\"config\":" REDIS_CFG "},"
		 "\"state\":{\"provider\":\"redis\",\"config\":" REDIS_CFG "},"
		 "\"sessions\":{\"provider\":\"redis\",\"config\":" REDIS_CFG "}}}",
		 url, url, url);
	if (persist_open_json(json, NULL, &p, &err) != PERSIST_OK) {
		fprintf(stderr, "test-redis-restart: open: %s\n", err.msg);
		return 99;
	}
	/* tell the script we are running */
	printf("running\n");
	fflush(stdout);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	s = CU_add_suite("redis: server restarts", NULL, NULL);
	CU_add_test(s, "stop/start and kill/start during a run", test_restart);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	if (persist_close(p, &err) != PERSIST_OK) {
		fprintf(stderr, "test-redis-restart: close: %s\n", err.msg);
		fails++;
	}
	return fails ? 1 : 0;
}
