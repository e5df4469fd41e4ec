/*
 * bench/fs-incr.c - increments per second through the filesystem
 * provider: batch() of 1000 increments over 20 keys (what the core's
 * write-behind flush sends; one journal line, one fdatasync) against
 * single incr() calls (fsync "batch": no fdatasync per call; and fsync
 * "always").  Medians of FS_BENCH_RUNS runs and the ratios.
 */
#include <string.h>
#include "fs-bench.h"

#define BATCH 1000
#define KEYS 20

static const char *keys[KEYS] = {
	"u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9", "u10",
	"a1", "a2", "a3", "a4", "a5", "m1", "m2", "m3", "m4", "m5",
};

/* Increments per second through batch(). */
static double run_batch(void *st, int rounds)
{
	static struct persist_op ops[BATCH];

	for (int i = 0; i < BATCH; i++)
		ops[i] = (struct persist_op){ PERSIST_OP_INCR, "usage", keys[i % KEYS],
					      NULL, 0, 3, 0 };
	return fs_bench_batch_rate(st, ops, BATCH, rounds);
}

/* Increments per second through incr(). */
static double run_single(void *st, int n)
{
	struct persist_error err;
	int64_t t0 = ph_monotonic_us();

	for (int i = 0; i < n; i++) {
		if (t_plugin->state->incr(st, "usage", keys[i % KEYS], 3, NULL, &err) != PERSIST_OK) {
			fprintf(stderr, "incr: %s\n", err.msg);
			exit(1);
		}
	}
	return (double)n * 1e6 / (double)(ph_monotonic_us() - t0);
}

int main(void)
{
	double b[FS_BENCH_RUNS], s[FS_BENCH_RUNS], a[FS_BENCH_RUNS];
	double mb, ms, ma;
	void *st, *always;

	t_load_plugin();
	st = fs_bench_open(PERSIST_KIND_STATE, "incr", "batch");
	always = fs_bench_open(PERSIST_KIND_STATE, "incr-always", "always");
	for (int r = 0; r < FS_BENCH_RUNS; r++) {
		b[r] = run_batch(st, 100);
		s[r] = run_single(st, 50000);
		a[r] = run_single(always, 300);
	}
	mb = fs_bench_median(b, FS_BENCH_RUNS);
	ms = fs_bench_median(s, FS_BENCH_RUNS);
	ma = fs_bench_median(a, FS_BENCH_RUNS);
	printf("filesystem increments, median of %d runs (%s):\n", FS_BENCH_RUNS, t_tmp());
	printf("  batch() of %d increments on %d keys, one fdatasync: %12.0f incr/s\n",
	       BATCH, KEYS, mb);
	printf("  incr() one by one, fsync \"batch\" (no fdatasync):    %12.0f incr/s\n", ms);
	printf("  incr() one by one, fsync \"always\":                  %12.0f incr/s\n", ma);
	printf("  ratios: batch / single %.1fx, batch / single durable %.0fx\n",
	       mb / ms, mb / ma);
	t_close(PERSIST_KIND_STATE, st);
	t_close(PERSIST_KIND_STATE, always);
	t_unload_plugin();
	return 0;
}
