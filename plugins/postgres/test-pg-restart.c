/*
 * plugins/postgres/test-pg-restart.c - the server restarts in the middle
 * of a run; the provider must recover by itself and never answer a wrong
 * plain success or failure.
 *
 * test-pg-restart.sh runs this program in the background, restarts the
 * server with `pg_ctl restart -m fast`, later kills it (SIGKILL, a crash;
 * synchronous_commit is on) and starts it again, then creates
 * $PERSIST_TEST_TMP/restart-done.  Meanwhile this program increments one
 * counter from several threads and appends numbered records to one log,
 * counting every answer.  When the script is done it goes on for a
 * moment, then checks:
 *   - the handle works again without the host doing anything;
 *   - acknowledged <= counter <= acknowledged + uncertain (an answer of
 *     "unavailable" or "timed out" means not applied);
 *   - every acknowledged log record is present exactly once, and nothing
 *     is there that was refused;
 *   - the listening connections came back: the configuration subscriber
 *     was told to re-read everything (key NULL), and a change and a
 *     broadcast made afterwards reach this process's subscribers.
 * It prints how many calls answered unavailable, timed out or uncertain.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <CUnit/Basic.h>
#include "test-pg-util.h"
#include "../../t/lib/cunit-suite.h"

#define THREADS 3
#define MAX_RECORDS 200000

static persist *p;
static atomic_int stop_workers;

struct tally {
	atomic_ulong ok, unavail, timedout, uncertain, other;
};
static struct tally incr_t, append_t;
/* per record number: 0 not sent, 1 acknowledged, 2 uncertain, 3 refused */
static unsigned char rec_state[MAX_RECORDS];
static atomic_int rec_next;
static char other_msg[PERSIST_ERROR_MSG_MAX];

/* Count one answer. */
static void count(struct tally *t, int ret, const struct persist_error *err)
{
	switch (ret) {
	case PERSIST_OK: t->ok++; break;
	case PERSIST_EUNAVAIL: t->unavail++; break;
	case PERSIST_ETIMEDOUT: t->timedout++; break;
	case PERSIST_EUNCERTAIN: t->uncertain++; break;
	default:
		if (t->other++ == 0)
			snprintf(other_msg, sizeof(other_msg), "%s: %s", persist_strerror(ret),
				 err->msg);
	}
}

static void *incr_worker(void *arg)
{
	struct persist_error err;

	(void)arg;
	while (!stop_workers) {
		int ret = persist_state_incr(p, "restart", "n", 1, NULL, &err);

		count(&incr_t, ret, &err);
		if (ret != PERSIST_OK)
			t_sleep_ms(5);
	}
	return NULL;
}

static void *append_worker(void *arg)
{
	struct persist_error err;

	(void)arg;
	while (!stop_workers) {
		int i = rec_next++, ret, len;
		char rec[32];

		if (i >= MAX_RECORDS)
			break;
		len = snprintf(rec, sizeof(rec), "{\"r\":%d}", i);
		ret = persist_state_append(p, "restart", rec, (size_t)len, &err);
		count(&append_t, ret, &err);
		rec_state[i] = ret == PERSIST_OK ? 1 : ret == PERSIST_EUNCERTAIN ? 2 : 3;
		if (ret != PERSIST_OK)
			t_sleep_ms(5);
	}
	return NULL;
}

static atomic_int cfg_all, cfg_key, events;

static void config_cb(void *ctx, const char *key, const char *etag)
{
	(void)ctx;
	(void)etag;
	if (key == NULL)
		cfg_all++;
	else if (strcmp(key, "restart-after") == 0)
		cfg_key++;
}

static void event_cb(void *ctx, const char *origin, const char *session_id,
		     const char *event, const void *data, size_t len)
{
	(void)ctx;
	(void)origin;
	(void)session_id;
	(void)data;
	(void)len;
	if (strcmp(event, "after-restart") == 0)
		events++;
}

/* Wait (up to ms) until *v is non-zero. */
static int wait_for(atomic_int *v, int ms)
{
	for (int i = 0; i < ms / 20 && *v == 0; i++)
		t_sleep_ms(20);
	return *v != 0;
}

static void test_restart(void)
{
	struct persist_error err;
	pthread_t th[THREADS + 1];
	char done[4096], *data = NULL;
	struct persist_entry *e = NULL;
	size_t n = 0;
	uint64_t id, next = 0;
	int64_t start = t_now_ms(), counter = -1;
	unsigned long ok_at_done;
	int missing = 0, dups = 0, refused_present = 0, ret;
	struct stat sb;
	unsigned char *present;

	snprintf(done, sizeof(done), "%s/restart-done", t_env("PERSIST_TEST_TMP"));
	CU_ASSERT_EQUAL_FATAL(persist_config_subscribe(p, NULL, config_cb, NULL, &id, &err),
			      PERSIST_OK);
	CU_ASSERT_EQUAL_FATAL(persist_session_subscribe(p, event_cb, NULL, &id, &err), PERSIST_OK);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, incr_worker, NULL);
	pthread_create(&th[THREADS], NULL, append_worker, NULL);
	printf("\nrunning\n");
	fflush(stdout);
	while (stat(done, &sb) != 0 && t_now_ms() - start < 120000)
		t_sleep_ms(50);
	CU_ASSERT_EQUAL(stat(done, &sb), 0);
	ok_at_done = incr_t.ok;
	t_sleep_ms(1500);
	stop_workers = 1;
	for (int i = 0; i <= THREADS; i++)
		pthread_join(th[i], NULL);
	printf("    increments: %lu ok, %lu unavailable, %lu timed out, %lu uncertain, %lu other\n",
	       (unsigned long)incr_t.ok, (unsigned long)incr_t.unavail,
	       (unsigned long)incr_t.timedout, (unsigned long)incr_t.uncertain,
	       (unsigned long)incr_t.other);
	printf("    appends:    %lu ok, %lu unavailable, %lu timed out, %lu uncertain, %lu other\n",
	       (unsigned long)append_t.ok, (unsigned long)append_t.unavail,
	       (unsigned long)append_t.timedout, (unsigned long)append_t.uncertain,
	       (unsigned long)append_t.other);
	if (incr_t.other + append_t.other > 0)
		printf("    first other answer: %s\n", other_msg);
	CU_ASSERT_EQUAL(incr_t.other + append_t.other, 0);
	/* recovered by itself */
	CU_ASSERT(incr_t.ok > ok_at_done);
	CU_ASSERT(incr_t.unavail + incr_t.uncertain + incr_t.timedout > 0);
	/* the counter */
	ret = persist_state_get(p, "restart", "n", &data, NULL, &err);
	CU_ASSERT_EQUAL(ret, PERSIST_OK);
	if (data != NULL)
		counter = strtoll(data, NULL, 10);
	persist_free(data);
	printf("    counter %" PRId64 " (acknowledged %lu, + uncertain %lu)\n", counter,
	       (unsigned long)incr_t.ok, (unsigned long)incr_t.uncertain);
	CU_ASSERT(counter >= (int64_t)incr_t.ok);
	CU_ASSERT(counter <= (int64_t)(incr_t.ok + incr_t.uncertain));
	/* the log */
	present = calloc(MAX_RECORDS, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(present);
	CU_ASSERT_EQUAL(persist_state_read_log(p, "restart", 0, 0, &e, &n, &next, &err), PERSIST_OK);
	for (size_t i = 0; i < n; i++) {
		int r = -1;

		CU_ASSERT_EQUAL(e[i].index, i);
		if (e[i].value == NULL || sscanf(e[i].value, "{\"r\":%d}", &r) != 1 ||
		    r < 0 || r >= MAX_RECORDS)
			continue;
		if (present[r]++)
			dups++;
		if (rec_state[r] == 3)
			refused_present++;
	}
	for (int i = 0; i < MAX_RECORDS && i < rec_next; i++)
		if (rec_state[i] == 1 && !present[i])
			missing++;
	printf("    log: %zu records, %d acknowledged missing, %d twice, %d refused but present\n",
	       n, missing, dups, refused_present);
	CU_ASSERT_EQUAL(missing, 0);
	CU_ASSERT_EQUAL(dups, 0);
	CU_ASSERT_EQUAL(refused_present, 0);
	persist_items_free(e, n);
	free(present);
	/* the listening connections came back */
	CU_ASSERT(wait_for(&cfg_all, 5000));
	for (int i = 0; i < 50 && cfg_key == 0; i++) {
		char doc[32];

		snprintf(doc, sizeof(doc), "{\"i\":%d}", i);
		persist_config_set(p, "restart-after", doc, strlen(doc), NULL, 0, NULL, &err);
		wait_for(&cfg_key, 200);
	}
	CU_ASSERT(cfg_key > 0);
	for (int i = 0; i < 50 && events == 0; i++) {
		persist_session_broadcast(p, "after-restart", "{}", 2, &err);
		wait_for(&events, 200);
	}
	CU_ASSERT(events > 0);
	printf("    re-read notices %d\n", (int)cfg_all);
}

static int suite_init(void)
{
	return t_open_main(",\"commandTimeout\":2000,\"connectTimeout\":1000", &p);
}

static int suite_clean(void)
{
	persist_close(p, NULL);
	return 0;
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "server restarted and killed during a run", test_restart },
		{ NULL, NULL }
	};

	return t_cunit_run("postgres-restart", suite_init, suite_clean, cases);
}
