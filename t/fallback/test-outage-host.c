/*
 * t/fallback/test-outage-host.c - one host process of the outage tests
 * (test-outage-redis.sh, test-outage-postgres.sh, test-slow-backend.sh),
 * and the check that follows them.
 *
 *   test-outage-host run NAME BACKEND DONE-FILE
 *       Open a handle whose state provider is BACKEND ("redis": $REDIS_URL,
 *       "postgres": $PG_CONNINFO) with the filesystem provider as its
 *       fallback, both shared with the other host (fallback root and
 *       spoolDir under $PERSIST_TEST_TMP).  Threads increment the counter
 *       "hits" and append records {"h":NAME,"i":N} (N counts this host's
 *       attempts, so each record is unique) until DONE-FILE exists, then
 *       go on for a moment, wait until the journal was replayed and the
 *       primary serves again, and write NAME.tally in $PERSIST_TEST_TMP:
 *       the answers counted (ok, refused, uncertain), the numbers of the
 *       appends acknowledged and uncertain, the ops replayed.  Prints
 *       "running" once the first write was acknowledged.
 *   test-outage-host check BACKEND NAME...
 *       Read the counter and the log from the primary (no fallback), and
 *       check them against the tallies of the hosts: the counter equals
 *       the acknowledged increments (plus at most the uncertain ones),
 *       every acknowledged record is there exactly once, no record is
 *       there twice, none that was refused is there, and at least 99% of
 *       the calls were acknowledged.  Prints the counts.
 *
 * Set OUTAGE_MIN_OK (percent, default 99) and OUTAGE_COMMAND_TIMEOUT (ms,
 * default 1000) to change the defaults; OUTAGE_MAX_CALL_MS makes a call
 * that took longer a failure.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <persist/persist.h>
#include "outage-open.h"

#define INCR_THREADS 2
#define MAX_RECORDS 4000000
#define MAX_RUN_MS 120000

static persist *p;
static const char *name, *done_file;
static int stop;

struct tally {
	uint64_t ok, refused, uncertain;
	int64_t longest_ms;   /* longest call */
	char refused_msg[PERSIST_ERROR_MSG_MAX];
};

static pthread_mutex_t tally_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tally incr_tally, append_tally;
/* per record number: 0 not tried, 1 acknowledged, 2 uncertain, 3 refused */
static unsigned char *rec_state;
static uint64_t n_records;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void log_cb(void *ctx, enum persist_log_level level, const char *message)
{
	(void)ctx;
	if (level >= PERSIST_LOG_WARNING)
		fprintf(stderr, "[%s] %s\n", name, message);
}

/* Count one answer: 1 acknowledged, 2 uncertain, 3 refused. */
static int count(struct tally *t, int ret, const struct persist_error *err, int64_t took)
{
	int what = ret == PERSIST_OK ? 1 : ret == PERSIST_EUNCERTAIN ||
		   ret == PERSIST_ETIMEDOUT ? 2 : 3;

	pthread_mutex_lock(&tally_lock);
	if (took > t->longest_ms)
		t->longest_ms = took;
	if (what == 1)
		t->ok++;
	else if (what == 2)
		t->uncertain++;
	else {
		if (t->refused == 0)
			snprintf(t->refused_msg, sizeof(t->refused_msg), "%s: %s",
				 persist_strerror(ret), err->msg);
		t->refused++;
	}
	pthread_mutex_unlock(&tally_lock);
	if (what != 1)
		sleep_ms(2);
	return what;
}

static void *incr_worker(void *arg)
{
	struct persist_error err;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		int64_t start = now_ms();
		int ret = persist_state_incr(p, "outage", "hits", 1, NULL, &err);

		count(&incr_tally, ret, &err, now_ms() - start);
		sleep_ms(1);
	}
	return NULL;
}

static void *append_worker(void *arg)
{
	struct persist_error err;
	char rec[96];

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE) && n_records < MAX_RECORDS) {
		uint64_t i = n_records;
		int len = snprintf(rec, sizeof(rec), "{\"h\":\"%s\",\"i\":%" PRIu64 "}", name, i);
		int64_t start = now_ms();
		int ret = persist_state_append(p, "outage", rec, (size_t)len, &err);

		rec_state[i] = (unsigned char)count(&append_tally, ret, &err, now_ms() - start);
		n_records = i + 1;
		sleep_ms(1);
	}
	return NULL;
}

static int run(const char *backend)
{
	pthread_t ti[INCR_THREADS], ta;
	struct persist_provider_status st;
	struct persist_error err;
	struct stat sb;
	char path[4096];
	int64_t start = now_ms();
	FILE *f;
	int printed = 0, ok = 0;

	rec_state = calloc(MAX_RECORDS, 1);
	if (rec_state == NULL || outage_open(backend, "", log_cb, &p, &err) != PERSIST_OK) {
		fprintf(stderr, "%s: cannot open: %s\n", name, err.msg);
		return 1;
	}
	for (int i = 0; i < INCR_THREADS; i++)
		pthread_create(&ti[i], NULL, incr_worker, NULL);
	pthread_create(&ta, NULL, append_worker, NULL);
	while (stat(done_file, &sb) != 0 && now_ms() - start < MAX_RUN_MS) {
		pthread_mutex_lock(&tally_lock);
		ok = incr_tally.ok > 0 && append_tally.ok > 0;
		pthread_mutex_unlock(&tally_lock);
		if (ok && !printed) {
			printf("running\n");
			fflush(stdout);
			printed = 1;
		}
		sleep_ms(20);
	}
	sleep_ms(1000);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < INCR_THREADS; i++)
		pthread_join(ti[i], NULL);
	pthread_join(ta, NULL);
	/* the journal replayed, the primary serving */
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	for (int i = 0; i < 3000; i++) {
		if (persist_provider_status(p, PERSIST_KIND_STATE, &st, &err) == PERSIST_OK &&
		    st.mode == PERSIST_MODE_PRIMARY && st.pending == 0)
			break;
		sleep_ms(10);
	}
	if (st.mode != PERSIST_MODE_PRIMARY || st.pending != 0)
		fprintf(stderr, "%s: still %s with %" PRIu64 " writes pending after 30 s\n",
			name, persist_provider_mode_name(st.mode), st.pending);
	snprintf(path, sizeof(path), "%s/%s.tally", getenv("PERSIST_TEST_TMP"), name);
	f = fopen(path, "w");
	if (f == NULL)
		return 1;
	fprintf(f, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
		" %" PRIu64 " %" PRIu64 " %" PRIu64 " %lld %lld %d\n",
		incr_tally.ok, incr_tally.refused, incr_tally.uncertain,
		append_tally.ok, append_tally.refused, append_tally.uncertain,
		st.replayed, st.outages, st.journaled,
		(long long)incr_tally.longest_ms, (long long)append_tally.longest_ms,
		st.mode == PERSIST_MODE_PRIMARY && st.pending == 0);
	for (uint64_t i = 0; i < n_records; i++)
		fputc('0' + rec_state[i], f);
	fputc('\n', f);
	fclose(f);
	if (incr_tally.refused + append_tally.refused > 0)
		fprintf(stderr, "%s: first refusal: %s%s\n", name, incr_tally.refused_msg,
			append_tally.refused_msg);
	free(rec_state);
	return persist_close(p, &err) == PERSIST_OK ? 0 : 1;
}

struct host {
	uint64_t v[12];
	char *states;
	size_t n;
	uint64_t *seen;
};

static int check(const char *backend, int n_hosts, char **names)
{
	struct host *h = calloc((size_t)n_hosts, sizeof(*h));
	struct persist_error err;
	struct persist_entry *e = NULL;
	size_t n = 0;
	char *value = NULL;
	int64_t counter = -1;
	uint64_t ok = 0, refused = 0, uncertain = 0, aok = 0, aref = 0, aunc = 0, replayed = 0;
	uint64_t outages = 0, missing = 0, doubled = 0, ghost = 0, unc_present = 0;
	long long longest = 0;
	int failed = 0;
	const char *min_env = getenv("OUTAGE_MIN_OK");
	const char *max_call_env = getenv("OUTAGE_MAX_CALL_MS");
	double min_ok = min_env != NULL ? atof(min_env) : 99.0, pct;

	for (int k = 0; k < n_hosts; k++) {
		char path[4096];
		FILE *f;
		long long l1, l2;
		int done;

		snprintf(path, sizeof(path), "%s/%s.tally", getenv("PERSIST_TEST_TMP"), names[k]);
		if ((f = fopen(path, "r")) == NULL) {
			printf("no tally from host %s\n", names[k]);
			return 1;
		}
		h[k].states = malloc(MAX_RECORDS + 2);
		if (fscanf(f, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
			   " %" SCNu64 " %" SCNu64 " %" SCNu64 " %lld %lld %d\n",
			   &h[k].v[0], &h[k].v[1], &h[k].v[2], &h[k].v[3], &h[k].v[4], &h[k].v[5],
			   &h[k].v[6], &h[k].v[7], &h[k].v[8], &l1, &l2, &done) != 12 ||
		    fgets(h[k].states, MAX_RECORDS + 2, f) == NULL) {
			printf("bad tally from host %s\n", names[k]);
			fclose(f);
			return 1;
		}
		fclose(f);
		h[k].n = strcspn(h[k].states, "\n");
		h[k].seen = calloc(h[k].n + 1, sizeof(uint64_t));
		ok += h[k].v[0]; refused += h[k].v[1]; uncertain += h[k].v[2];
		aok += h[k].v[3]; aref += h[k].v[4]; aunc += h[k].v[5];
		replayed += h[k].v[6]; outages += h[k].v[7];
		longest = l1 > longest ? l1 : longest;
		longest = l2 > longest ? l2 : longest;
		if (!done) {
			printf("host %s ended before its journal was replayed\n", names[k]);
			failed = 1;
		}
	}
	if (outage_open(backend, NULL, log_cb, &p, &err) != PERSIST_OK) {
		printf("cannot open the primary: %s\n", err.msg);
		return 1;
	}
	if (persist_state_get(p, "outage", "hits", &value, NULL, &err) == PERSIST_OK)
		counter = strtoll(value, NULL, 10);
	else
		printf("cannot read the counter: %s\n", err.msg);
	persist_free(value);
	if (persist_state_read_log(p, "outage", 0, 0, &e, &n, NULL, &err) != PERSIST_OK) {
		printf("cannot read the log: %s\n", err.msg);
		failed = 1;
	}
	for (size_t i = 0; i < n; i++) {
		char hn[64];
		uint64_t idx;
		int k;

		if (sscanf(e[i].value, "{\"h\":\"%63[^\"]\",\"i\":%" SCNu64 "}", hn, &idx) != 2) {
			ghost++;
			continue;
		}
		for (k = 0; k < n_hosts && strcmp(names[k], hn) != 0; k++)
			;
		if (k == n_hosts || idx >= h[k].n) {
			ghost++;
			continue;
		}
		h[k].seen[idx]++;
	}
	for (int k = 0; k < n_hosts; k++) {
		for (size_t i = 0; i < h[k].n; i++) {
			char s = h[k].states[i];

			if (h[k].seen[i] > 1)
				doubled++;
			if (s == '1' && h[k].seen[i] == 0)
				missing++;
			if (s == '3' && h[k].seen[i] > 0)
				ghost++;
			if (s == '2' && h[k].seen[i] > 0)
				unc_present++;
		}
	}
	persist_items_free(e, n);
	pct = 100.0 * (double)(ok + aok) / (double)(ok + refused + uncertain + aok + aref + aunc);
	printf("increments: %" PRIu64 " acknowledged, %" PRIu64 " refused, %" PRIu64
	       " uncertain; counter %lld\n", ok, refused, uncertain, (long long)counter);
	printf("appends: %" PRIu64 " acknowledged, %" PRIu64 " refused, %" PRIu64
	       " uncertain (%" PRIu64 " of them stored); %zu records, %" PRIu64
	       " missing, %" PRIu64 " twice, %" PRIu64 " not acknowledged yet stored\n",
	       aok, aref, aunc, unc_present, n, missing, doubled, ghost);
	printf("ops acknowledged %" PRIu64 ", refused %" PRIu64 ", uncertain %" PRIu64
	       ", replayed %" PRIu64 " (outages seen %" PRIu64 "); %.3f%% acknowledged; "
	       "longest call %lld ms\n", ok + aok, refused + aref, uncertain + aunc, replayed,
	       outages, pct, longest);
	if (counter < (int64_t)ok || counter > (int64_t)(ok + uncertain)) {
		printf("FAIL: the counter is not the acknowledged increments\n");
		failed = 1;
	}
	if (missing > 0 || doubled > 0 || ghost > 0) {
		printf("FAIL: the log does not hold each acknowledged record exactly once\n");
		failed = 1;
	}
	if (pct < min_ok) {
		printf("FAIL: fewer than %.1f%% of the calls were acknowledged\n", min_ok);
		failed = 1;
	}
	if (max_call_env != NULL && longest > atoll(max_call_env)) {
		printf("FAIL: a call took %lld ms, more than %s ms\n", longest, max_call_env);
		failed = 1;
	}
	if (outages == 0 || replayed == 0) {
		printf("FAIL: no outage was seen, or nothing was replayed\n");
		failed = 1;
	}
	persist_close(p, &err);
	for (int k = 0; k < n_hosts; k++) {
		free(h[k].states);
		free(h[k].seen);
	}
	free(h);
	return failed;
}

int main(int argc, char **argv)
{
	if (getenv("PERSIST_TEST_TMP") == NULL) {
		fprintf(stderr, "test-outage-host: PERSIST_TEST_TMP is not set\n");
		return 99;
	}
	if (argc == 5 && strcmp(argv[1], "run") == 0) {
		name = argv[2];
		done_file = argv[4];
		return run(argv[3]);
	}
	if (argc >= 4 && strcmp(argv[1], "check") == 0)
		return check(argv[2], argc - 3, argv + 3);
	fprintf(stderr, "usage: test-outage-host run NAME BACKEND DONE-FILE | "
		"check BACKEND NAME...\n");
	return 99;
}
