/*
 * bench/postgres-bench.c - persist's side of the postgres areas (see
 * bench/postgres-bench.sh), through libpersist and the postgres plugin
 * (state only; configuration and sessions in memory, so no listening
 * thread runs):
 *
 *   postgres-bench single N     N persist_state_incr calls, one at a time
 *   postgres-bench batch N B    N increments as persist_state_batch calls
 *                               of B increments (B distinct keys)
 *
 * Prints "ops_per_sec X" (increments per second).  PG_CONNINFO names the
 * server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <persist/persist.h>

/* Monotonic seconds. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Open a handle whose state is the postgres provider. */
static persist *open_handle(const char *conninfo)
{
	char json[2048];
	struct persist_error err;
	persist *p = NULL;

	snprintf(json, sizeof(json),
		 "{\"persistence\":{\"configuration\":{\"provider\":\"memory\"},"
		 "\"state\":{\"provider\":\"postgres\",\"config\":{\"conninfo\":\"%s\"}},"
		 "\"sessions\":{\"provider\":\"memory\"}}}", conninfo);
	if (persist_open_json(json, NULL, &p, &err) != PERSIST_OK) {
		fprintf(stderr, "postgres-bench: cannot open: %s\n", err.msg);
		exit(1);
	}
	return p;
}

/* N single increments. */
static int bench_single(persist *p, long n)
{
	struct persist_error err;
	double t0;

	/* warm up: connect, create the tables, prepare */
	if (persist_state_incr(p, "bench", "single", 1, NULL, &err) != PERSIST_OK) {
		fprintf(stderr, "postgres-bench: %s\n", err.msg);
		return 1;
	}
	t0 = now_s();
	for (long i = 0; i < n; i++) {
		if (persist_state_incr(p, "bench", "single", 1, NULL, &err) != PERSIST_OK) {
			fprintf(stderr, "postgres-bench: %s\n", err.msg);
			return 1;
		}
	}
	printf("ops_per_sec %.0f\n", (double)n / (now_s() - t0));
	return 0;
}

/* N increments in batches of b. */
static int bench_batch(persist *p, long n, int b)
{
	struct persist_op *ops = calloc((size_t)b, sizeof(*ops));
	char (*keys)[16] = calloc((size_t)b, sizeof(*keys));
	struct persist_error err;
	double t0;

	if (ops == NULL || keys == NULL || b <= 0)
		return 1;
	for (int i = 0; i < b; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		ops[i] = (struct persist_op){ .type = PERSIST_OP_INCR, .collection = "bench",
					      .key = keys[i], .delta = 1 };
	}
	if (persist_state_batch(p, ops, (size_t)b, &err) != PERSIST_OK) {
		fprintf(stderr, "postgres-bench: %s\n", err.msg);
		return 1;
	}
	t0 = now_s();
	for (long done = 0; done < n; done += b) {
		if (persist_state_batch(p, ops, (size_t)b, &err) != PERSIST_OK) {
			fprintf(stderr, "postgres-bench: %s\n", err.msg);
			return 1;
		}
	}
	printf("ops_per_sec %.0f\n", (double)((n + b - 1) / b * b) / (now_s() - t0));
	free(ops);
	free(keys);
	return 0;
}

int main(int argc, char **argv)
{
	const char *conninfo = getenv("PG_CONNINFO");
	persist *p;
	int ret = 2;

	if (conninfo == NULL || argc < 3) {
		fprintf(stderr, "usage: PG_CONNINFO=... postgres-bench single N | batch N B\n");
		return 2;
	}
	p = open_handle(conninfo);
	if (strcmp(argv[1], "single") == 0)
		ret = bench_single(p, atol(argv[2]));
	else if (strcmp(argv[1], "batch") == 0 && argc > 3)
		ret = bench_batch(p, atol(argv[2]), atoi(argv[3]));
	persist_close(p, NULL);
	return ret;
}
