/*
 * bench/redis-bench.c - the persist side of the redis figures (persist's
 * increments and change notices measured against redis-benchmark);
 * bench/redis-bench.sh runs it beside redis-benchmark against the same
 * private server and prints the ratios.
 *
 *   redis-bench single N      N persist_state_incr calls, one at a time
 *                             (what `redis-benchmark -c 1 -P 1 hincrby`
 *                             does): prints "ops_per_sec <rate>"
 *   redis-bench batch N B     N increments as persist_state_batch calls of
 *                             B operations each (against `-P B`)
 *   redis-bench set N         N persist_state_set calls of a 3-byte value
 *                             over 10,000 keys, one at a time (against
 *                             `redis-benchmark -c 1 -P 1 -r 10000 set`):
 *                             each also records the key's write time
 *   redis-bench notify N      N configuration changes through one handle,
 *                             each timed until a second handle's
 *                             subscriber (its own connection and thread,
 *                             another instance id) hears it: prints the
 *                             median, 99th percentile and maximum in ms
 * REDIS_URL names the server.  Only the loop is timed (the handle is open
 * and warmed up before).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <persist/persist.h>

/* Monotonic nanoseconds. */
static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Open a handle with every kind on the redis server. */
static persist *open_handle(const char *url)
{
	char json[1024];
	struct persist_error err;
	persist *p = NULL;

	snprintf(json, sizeof(json),
		 "{\"persistence\":{"
		 "\"configuration\":{\"provider\":\"redis\",\"config\":{\"url\":\"%s\",\"prefix\":\"bench:\"}},"
		 "\"state\":{\"provider\":\"redis\",\"config\":{\"url\":\"%s\",\"prefix\":\"bench:\"}},"
		 "\"sessions\":{\"provider\":\"redis\",\"config\":{\"url\":\"%s\",\"prefix\":\"bench:\"}}}}",
		 url, url, url);
	if (persist_open_json(json, NULL, &p, &err) != PERSIST_OK) {
		fprintf(stderr, "redis-bench: open: %s\n", err.msg);
		exit(1);
	}
	return p;
}

/* N single increments. */
static int bench_single(persist *p, long n)
{
	struct persist_error err;
	int64_t v, t0;

	for (int i = 0; i < 1000; i++) /* warm-up */
		if (persist_state_incr(p, "bench", "f", 1, &v, &err) != PERSIST_OK)
			goto fail;
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (persist_state_incr(p, "bench", "f", 1, &v, &err) != PERSIST_OK)
			goto fail;
	printf("ops_per_sec %.1f\n", n * 1e9 / (double)(now_ns() - t0));
	return 0;
fail:
	fprintf(stderr, "redis-bench: incr: %s\n", err.msg);
	return 1;
}

/* N increments in batches of b. */
static int bench_batch(persist *p, long n, int b)
{
	struct persist_op *ops = calloc((size_t)b, sizeof(*ops));
	struct persist_error err;
	int64_t t0;
	long done = 0;

	if (ops == NULL)
		return 1;
	for (int i = 0; i < b; i++) {
		ops[i].type = PERSIST_OP_INCR;
		ops[i].collection = "bench";
		ops[i].key = "f";
		ops[i].delta = 1;
	}
	for (int i = 0; i < 20; i++) /* warm-up */
		if (persist_state_batch(p, ops, (size_t)b, &err) != PERSIST_OK)
			goto fail;
	t0 = now_ns();
	while (done < n) {
		if (persist_state_batch(p, ops, (size_t)b, &err) != PERSIST_OK)
			goto fail;
		done += b;
	}
	printf("ops_per_sec %.1f\n", done * 1e9 / (double)(now_ns() - t0));
	free(ops);
	return 0;
fail:
	fprintf(stderr, "redis-bench: batch: %s\n", err.msg);
	free(ops);
	return 1;
}

/* N single sets over 10,000 keys. */
static int bench_set(persist *p, long n)
{
	struct persist_error err;
	char key[32];
	int64_t t0;

	for (int i = 0; i < 1000; i++) { /* warm-up */
		snprintf(key, sizeof(key), "k%d", i % 10000);
		if (persist_state_set(p, "bench-set", key, "xxx", 3, 0, &err) != PERSIST_OK)
			goto fail;
	}
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%ld", i % 10000);
		if (persist_state_set(p, "bench-set", key, "xxx", 3, 0, &err) != PERSIST_OK)
			goto fail;
	}
	printf("ops_per_sec %.1f\n", n * 1e9 / (double)(now_ns() - t0));
	return 0;
fail:
	fprintf(stderr, "redis-bench: set: %s\n", err.msg);
	return 1;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static char want_etag[PERSIST_ETAG_MAX];
static int64_t heard_ns;

/* The second handle's subscriber: note when the awaited ETag arrives. */
static void notify_cb(void *ctx, const char *key, const char *etag)
{
	int64_t t = now_ns();

	(void)ctx;
	if (key == NULL || etag == NULL || strcmp(key, "bench-doc") != 0)
		return;
	pthread_mutex_lock(&lock);
	if (strcmp(etag, want_etag) == 0 && heard_ns == 0) {
		heard_ns = t;
		pthread_cond_broadcast(&cond);
	}
	pthread_mutex_unlock(&lock);
}

/* Sort helper. */
static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* N configuration changes, each timed until the other handle hears it. */
static int bench_notify(persist *p, persist *q, int n)
{
	int64_t *lat = calloc((size_t)n, sizeof(*lat));
	struct persist_error err;
	uint64_t id;
	int got = 0;

	if (lat == NULL ||
	    persist_config_subscribe(q, "bench-doc", notify_cb, NULL, &id, &err) != PERSIST_OK)
		return 1;
	for (int i = 0; i < n; i++) {
		char doc[64], etag[PERSIST_ETAG_MAX];
		int len = snprintf(doc, sizeof(doc), "{\"i\":%d,\"t\":%" PRId64 "}", i, now_ns());
		struct timespec dl;
		int64_t t0;

		persist_etag(doc, (size_t)len, etag);
		pthread_mutex_lock(&lock);
		memcpy(want_etag, etag, sizeof(etag));
		heard_ns = 0;
		pthread_mutex_unlock(&lock);
		t0 = now_ns();
		if (persist_config_set(p, "bench-doc", doc, (size_t)len, NULL, 0, NULL, &err) !=
		    PERSIST_OK) {
			fprintf(stderr, "redis-bench: config set: %s\n", err.msg);
			return 1;
		}
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += 2;
		pthread_mutex_lock(&lock);
		while (heard_ns == 0)
			if (pthread_cond_timedwait(&cond, &lock, &dl) != 0)
				break;
		if (heard_ns != 0)
			lat[got++] = heard_ns - t0;
		pthread_mutex_unlock(&lock);
	}
	persist_config_unsubscribe(q, id, &err);
	if (got == 0) {
		fprintf(stderr, "redis-bench: no notification arrived\n");
		return 1;
	}
	qsort(lat, (size_t)got, sizeof(*lat), cmp_i64);
	printf("notify_ms median %.3f p99 %.3f max %.3f heard %d of %d\n",
	       lat[got / 2] / 1e6, lat[(got * 99) / 100] / 1e6, lat[got - 1] / 1e6,
	       got, n);
	persist_config_delete(p, "bench-doc", NULL, &err);
	free(lat);
	return got == n ? 0 : 1;
}

/* Open the handle(s) and run the measurement the arguments name. */
int main(int argc, char **argv)
{
	const char *url = getenv("REDIS_URL");
	persist *p, *q = NULL;
	int ret = 2;

	if (url == NULL || argc < 3) {
		fprintf(stderr, "usage: REDIS_URL=... redis-bench single N | batch N B | "
			"set N | notify N\n");
		return 2;
	}
	p = open_handle(url);
	if (strcmp(argv[1], "single") == 0) {
		ret = bench_single(p, atol(argv[2]));
	} else if (strcmp(argv[1], "batch") == 0 && argc > 3) {
		ret = bench_batch(p, atol(argv[2]), atoi(argv[3]));
	} else if (strcmp(argv[1], "set") == 0) {
		ret = bench_set(p, atol(argv[2]));
	} else if (strcmp(argv[1], "notify") == 0) {
		q = open_handle(url);
		ret = bench_notify(p, q, atoi(argv[2]));
	}
	persist_close(q, NULL);
	persist_close(p, NULL);
	return ret;
}
