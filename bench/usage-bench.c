/*
 * bench/usage-bench.c - usage tracking as the platform does it, through
 * persist with batching on: N events (user, app, model, tokens), each a
 * queued increment of the tokens of its (user, app, model) key, over K
 * distinct keys with a Zipf-like skew (s = 1.1; a precomputed table and a
 * fixed seed, so every run sends the same events).  Timed from the first
 * event to the last flush acknowledged (persist_state_flush).  Then the
 * counters are read back through a second handle without batching and
 * compared with the sums of the events: any difference fails the run.
 *
 *   usage-bench run STATE_JSON [N [K]]
 *       one run; prints "events_per_sec R", "elapsed_ms T", "maxrss_kb M"
 *       (peak resident memory of the process), "base_rss_kb B" (after the
 *       event table was built, before persist was opened), "flushes F" and
 *       "verified K keys"
 *   usage-bench scale STATE_JSON SESSION_JSON PROCS [N [K]]
 *       PROCS processes run the same events on the same store at once (so
 *       every counter ends at PROCS times its sum); the aggregate rate is
 *       PROCS*N over the time from the common start to the last flush.
 *       Then 200 broadcasts are timed from the sender to every process's
 *       subscriber (one monotonic clock for the machine): prints
 *       "events_per_sec", "verified", and "broadcast_p50_ms",
 *       "broadcast_p99_ms", "broadcast_max_ms" over every delivery.
 *   usage-bench raw FILE [N]
 *       the file anchor used when redis-benchmark is missing: each event
 *       write()n as one line, fdatasync every 64 events
 * STATE_JSON is the state provider's entry ({"provider":...,"config":{...}})
 * without batchInterval: the program adds batchInterval 10000 for the run
 * and leaves it out for the read-back.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <persist/persist.h>

#define ZIPF_S 1.1
#define SEED 0x5eed2026u
#define COLLECTION "usage"
#define N_BROADCASTS 200

struct events {
	uint16_t *key;      /* key index of each event */
	uint16_t *tokens;   /* tokens of each event */
	long n;
	int n_keys;
	char (*names)[40];  /* key names */
	int64_t *sum;       /* expected total per key */
};

/* Monotonic nanoseconds (one clock for every process of the machine). */
static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what, const struct persist_error *err)
{
	fprintf(stderr, "usage-bench: %s: %s\n", what, err != NULL ? err->msg : strerror(errno));
	exit(1);
}

/* xorshift64*: the deterministic generator of the events. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* Build the event table: Zipf ranks over the keys, tokens 1..4000. */
static void make_events(struct events *ev, long n, int n_keys)
{
	double *cdf = malloc((size_t)n_keys * sizeof(*cdf)), total = 0;
	uint64_t s = SEED;

	ev->n = n;
	ev->n_keys = n_keys;
	ev->key = malloc((size_t)n * sizeof(*ev->key));
	ev->tokens = malloc((size_t)n * sizeof(*ev->tokens));
	ev->names = calloc((size_t)n_keys, sizeof(*ev->names));
	ev->sum = calloc((size_t)n_keys, sizeof(*ev->sum));
	if (cdf == NULL || ev->key == NULL || ev->tokens == NULL || ev->names == NULL ||
	    ev->sum == NULL || n_keys > 65536)
		die("out of memory (or more than 65536 keys)", NULL);
	for (int k = 0; k < n_keys; k++) {
		total += 1.0 / pow(k + 1, ZIPF_S);
		cdf[k] = total;
		/* users x 4 apps x 2 models */
		snprintf(ev->names[k], sizeof(ev->names[k]), "user%05d:app%d:model%d",
			 k / 8, k % 4, (k / 4) % 2);
	}
	for (long i = 0; i < n; i++) {
		double u = (double)(rng_next(&s) >> 11) / 9007199254740992.0 * total;
		int lo = 0, hi = n_keys - 1;

		while (lo < hi) {
			int mid = (lo + hi) / 2;
			if (cdf[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		ev->key[i] = (uint16_t)lo;
		ev->tokens[i] = (uint16_t)(1 + rng_next(&s) % 4000);
		ev->sum[lo] += ev->tokens[i];
	}
	free(cdf);
}

/* Open a handle whose state is the given entry, with batching when
   interval > 0; sessions on session_json when not NULL. */
static persist *open_state(const char *state_json, long interval,
			   const char *session_json)
{
	char json[8192], state[4096];
	struct persist_error err;
	const char *cfg = strstr(state_json, "\"config\"");
	persist *p = NULL;

	/* put batchInterval first in the state's config object */
	if (interval > 0 && cfg != NULL && strchr(cfg, '{') != NULL) {
		const char *brace = strchr(cfg, '{');
		int head = (int)(brace - state_json) + 1;

		snprintf(state, sizeof(state), "%.*s\"batchInterval\":%ld%s%s", head,
			 state_json, interval, brace[1] == '}' ? "" : ",", brace + 1);
	} else {
		snprintf(state, sizeof(state), "%s", state_json);
	}
	snprintf(json, sizeof(json),
		 "{\"persistence\":{\"configuration\":{\"provider\":\"memory\"},"
		 "\"state\":%s,\"sessions\":%s}}", state,
		 session_json != NULL ? session_json : "{\"provider\":\"memory\"}");
	if (persist_open_json(json, NULL, &p, &err) != PERSIST_OK)
		die("open", &err);
	return p;
}

/* Time of the last run_events() spent queueing (the rest is the flush). */
static int64_t queue_ns;

/* Send every event as a queued increment, then flush; elapsed ns. */
static int64_t run_events(persist *p, const struct events *ev)
{
	struct persist_error err;
	int64_t t0 = now_ns();

	for (long i = 0; i < ev->n; i++)
		if (persist_state_add(p, COLLECTION, ev->names[ev->key[i]],
				      ev->tokens[i], &err) != PERSIST_OK)
			die("persist_state_add", &err);
	queue_ns = now_ns() - t0;
	if (persist_state_flush(p, &err) != PERSIST_OK)
		die("persist_state_flush", &err);
	return now_ns() - t0;
}

/* Read every counter back without batching and compare with times x the
   sums of the events; exits on any difference.  Returns keys checked. */
static int verify(const char *state_json, const struct events *ev, int times)
{
	persist *v = open_state(state_json, 0, NULL);
	struct persist_error err;
	int bad = 0;

	for (int k = 0; k < ev->n_keys; k++) {
		char *value = NULL;
		int ret = persist_state_get(v, COLLECTION, ev->names[k], &value, NULL, &err);
		int64_t want = ev->sum[k] * times, got = 0;

		if (ret == PERSIST_OK)
			got = strtoll(value, NULL, 10);
		else if (ret != PERSIST_ENOTFOUND)
			die("read back", &err);
		persist_free(value);
		if ((ret == PERSIST_ENOTFOUND) != (want == 0) || got != want) {
			if (bad++ < 5)
				fprintf(stderr, "usage-bench: key %s holds %" PRId64
					" (%s), the events sum to %" PRId64 "\n", ev->names[k], got,
					ret == PERSIST_OK ? "stored" : "absent", want);
		}
	}
	persist_close(v, NULL);
	if (bad > 0) {
		fprintf(stderr, "usage-bench: FAILED: %d of %d counters differ from the events\n",
			bad, ev->n_keys);
		exit(1);
	}
	return ev->n_keys;
}

static long maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* One run in this process. */
static int cmd_run(const char *state_json, long n, int n_keys)
{
	struct events ev;
	struct persist_batch_stats st;
	struct persist_error err;
	long base;
	int64_t ns;
	persist *p;

	make_events(&ev, n, n_keys);
	base = maxrss_kb();
	p = open_state(state_json, 10000, NULL);
	ns = run_events(p, &ev);
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	if (persist_state_stats(p, &st, &err) != PERSIST_OK)
		die("stats", &err);
	if (persist_close(p, &err) != PERSIST_OK)
		die("close", &err);
	printf("events_per_sec %.0f\n", (double)n * 1e9 / (double)ns);
	printf("elapsed_ms %.1f (queueing %.1f, last flush %.1f)\n", (double)ns / 1e6,
	       (double)queue_ns / 1e6, (double)(ns - queue_ns) / 1e6);
	printf("maxrss_kb %ld\n", maxrss_kb());
	printf("base_rss_kb %ld\n", base);
	printf("flushes %" PRIu64 " (%" PRIu64 " ops, %" PRIu64 " coalesced)\n",
	       st.flushes, st.ops_flushed, st.ops_coalesced);
	fflush(stdout);
	printf("verified %d keys\n", verify(state_json, &ev, 1));
	return 0;
}

/* --- scale: several processes at once ------------------------------------ */

struct listener {
	pthread_mutex_t lock;
	int64_t *lat;     /* ns per broadcast index */
	int got;
};

/* Session event callback: note the delivery time of broadcast i. */
static void on_event(void *ctx, const char *origin, const char *session_id,
		     const char *event, const void *data, size_t len)
{
	struct listener *l = ctx;
	int64_t sent = 0;
	int i = -1;
	char buf[64];

	(void)origin;
	(void)session_id;
	if (strcmp(event, "tick") != 0 || len >= sizeof(buf))
		return;
	memcpy(buf, data, len);
	buf[len] = '\0';
	if (sscanf(buf, "[%d,%" SCNd64 "]", &i, &sent) != 2 || i < 0 || i >= N_BROADCASTS)
		return;
	pthread_mutex_lock(&l->lock);
	if (l->lat[i] == 0) {
		l->lat[i] = now_ns() - sent;
		l->got++;
	}
	pthread_mutex_unlock(&l->lock);
}

/* One child of a scale run: wait for the start byte, run, report. */
static void scale_child(const char *state_json, const char *session_json,
			const struct events *ev, int start_fd, int report_fd)
{
	struct listener l = { PTHREAD_MUTEX_INITIALIZER, NULL, 0 };
	struct persist_error err;
	uint64_t id;
	int64_t ns;
	char c;
	persist *p = open_state(state_json, 10000, session_json);

	l.lat = calloc(N_BROADCASTS, sizeof(*l.lat));
	if (persist_session_subscribe(p, on_event, &l, &id, &err) != PERSIST_OK)
		die("subscribe", &err);
	if (write(report_fd, "r", 1) != 1 || read(start_fd, &c, 1) != 1)
		die("start pipe", NULL);
	ns = run_events(p, ev);
	if (write(report_fd, &ns, sizeof(ns)) != (ssize_t)sizeof(ns))
		die("report pipe", NULL);
	/* the broadcasts; the parent ends them with a byte on start_fd */
	if (read(start_fd, &c, 1) != 1)
		die("start pipe", NULL);
	pthread_mutex_lock(&l.lock);
	if (write(report_fd, l.lat, N_BROADCASTS * sizeof(*l.lat)) !=
	    (ssize_t)(N_BROADCASTS * sizeof(*l.lat)))
		die("report pipe", NULL);
	pthread_mutex_unlock(&l.lock);
	persist_session_unsubscribe(p, id, NULL);
	if (persist_close(p, &err) != PERSIST_OK)
		die("close", &err);
	_exit(0);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* read() exactly len bytes; exits on failure. */
static void read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, (char *)buf + got, len - got);
		if (r <= 0)
			die("child report", NULL);
		got += (size_t)r;
	}
}

static int cmd_scale(const char *state_json, const char *session_json, int procs,
		     long n, int n_keys)
{
	struct events ev;
	struct persist_error err;
	int start[2], report[2], missing = 0;
	int64_t t0, slowest = 0, *lat;
	size_t n_lat = 0;
	persist *sender;
	pid_t *pids = calloc((size_t)procs, sizeof(*pids));
	char c;

	make_events(&ev, n, n_keys);
	lat = calloc((size_t)procs * N_BROADCASTS, sizeof(*lat));
	if (pids == NULL || lat == NULL || pipe(start) != 0 || pipe(report) != 0)
		die("setup", NULL);
	for (int i = 0; i < procs; i++) {
		if ((pids[i] = fork()) < 0)
			die("fork", NULL);
		if (pids[i] == 0)
			scale_child(state_json, session_json, &ev, start[0], report[1]);
	}
	for (int i = 0; i < procs; i++)
		read_all(report[0], &c, 1);          /* every child is ready */
	t0 = now_ns();
	for (int i = 0; i < procs; i++)
		if (write(start[1], "g", 1) != 1)
			die("start pipe", NULL);
	for (int i = 0; i < procs; i++) {
		int64_t ns;

		read_all(report[0], &ns, sizeof(ns));
		(void)ns;
	}
	slowest = now_ns() - t0;
	/* broadcasts to every child's subscriber */
	sender = open_state(state_json, 0, session_json);
	for (int i = 0; i < N_BROADCASTS; i++) {
		char buf[64];
		int len = snprintf(buf, sizeof(buf), "[%d,%" PRId64 "]", i, now_ns());
		struct timespec ts = { 0, 2000000 };

		if (persist_session_broadcast(sender, "tick", buf, (size_t)len, &err) != PERSIST_OK)
			die("broadcast", &err);
		nanosleep(&ts, NULL);
	}
	{
		struct timespec ts = { 0, 200000000 };
		nanosleep(&ts, NULL);     /* the last ones arrive */
	}
	persist_close(sender, NULL);
	for (int i = 0; i < procs; i++)
		if (write(start[1], "e", 1) != 1)
			die("start pipe", NULL);
	for (int i = 0; i < procs; i++) {
		int64_t one[N_BROADCASTS];

		read_all(report[0], one, sizeof(one));
		for (int b = 0; b < N_BROADCASTS; b++) {
			if (one[b] == 0)
				missing++;
			else
				lat[n_lat++] = one[b];
		}
	}
	for (int i = 0; i < procs; i++) {
		int status;
		waitpid(pids[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "usage-bench: child %d failed\n", i);
			exit(1);
		}
	}
	printf("events_per_sec %.0f\n", (double)n * procs * 1e9 / (double)slowest);
	printf("elapsed_ms %.1f\n", (double)slowest / 1e6);
	fflush(stdout);
	printf("verified %d keys\n", verify(state_json, &ev, procs));
	if (missing > 0 || n_lat == 0) {
		fprintf(stderr, "usage-bench: FAILED: %d broadcast deliveries of %d never arrived\n",
			missing, procs * N_BROADCASTS);
		exit(1);
	}
	qsort(lat, n_lat, sizeof(*lat), cmp_i64);
	printf("broadcast_p50_ms %.3f\n", (double)lat[n_lat / 2] / 1e6);
	printf("broadcast_p99_ms %.3f\n", (double)lat[(n_lat * 99) / 100] / 1e6);
	printf("broadcast_max_ms %.3f\n", (double)lat[n_lat - 1] / 1e6);
	return 0;
}

/* The file anchor when there is no redis-benchmark: one line per event
   written to a file with write(), and an fdatasync per 64 events (what a
   pipeline of 64 is to a server). */
static int cmd_raw(const char *path, long n)
{
	struct events ev;
	FILE *f;
	int64_t t0;
	int fd;

	make_events(&ev, n, 10000);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (fd < 0 || (f = fdopen(fd, "a")) == NULL)
		die(path, NULL);
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		char line[96];
		int len = snprintf(line, sizeof(line), "%s %u\n", ev.names[ev.key[i]],
				   (unsigned)ev.tokens[i]);

		if (write(fd, line, (size_t)len) != len ||
		    (i % 64 == 63 && fdatasync(fd) != 0))
			die(path, NULL);
	}
	if (fdatasync(fd) != 0)
		die(path, NULL);
	printf("events_per_sec %.0f\n", (double)n * 1e9 / (double)(now_ns() - t0));
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "raw") == 0)
		return cmd_raw(argv[2], argc > 3 ? atol(argv[3]) : 1000000);
	if (argc >= 3 && strcmp(argv[1], "run") == 0)
		return cmd_run(argv[2], argc > 3 ? atol(argv[3]) : 1000000,
			       argc > 4 ? atoi(argv[4]) : 10000);
	if (argc >= 5 && strcmp(argv[1], "scale") == 0)
		return cmd_scale(argv[2], argv[3], atoi(argv[4]),
				 argc > 5 ? atol(argv[5]) : 1000000,
				 argc > 6 ? atoi(argv[6]) : 10000);
	fprintf(stderr, "usage: usage-bench run STATE_JSON [N [KEYS]]\n"
		"       usage-bench scale STATE_JSON SESSION_JSON PROCS [N [KEYS]]\n");
	return 2;
}
