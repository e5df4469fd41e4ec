/*
 * bench/fs-bench.h - what the filesystem provider's benchmarks share:
 * medians of repeated runs, the rate of batch() calls, and opening a
 * store through plugins/filesystem/t-fs-host.c (the plugin is measured
 * directly, without the core, with the host table of t/lib/plugin-host.c).
 */
#ifndef FS_BENCH_H
#define FS_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include "../plugins/filesystem/t-fs-host.h"

#define FS_BENCH_RUNS 5

/* qsort order of two doubles. */
static inline int fs_bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median of n doubles (sorts them). */
static inline double fs_bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), fs_bench_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Operations per second through batch(): rounds calls of the n ops; exits
   on error. */
static inline double fs_bench_batch_rate(void *st, const struct persist_op *ops,
					 size_t n, int rounds)
{
	struct persist_error err;
	int64_t t0 = ph_monotonic_us();

	for (int r = 0; r < rounds; r++) {
		if (t_plugin->state->batch(st, ops, n, sizeof(ops[0]), &err) != PERSIST_OK) {
			fprintf(stderr, "batch: %s\n", err.msg);
			exit(1);
		}
	}
	return (double)rounds * (double)n * 1e6 / (double)(ph_monotonic_us() - t0);
}

/* Open a store of kind on t_tmp()/dir with an fsync mode; exits on error. */
static inline void *fs_bench_open(enum persist_kind kind, const char *dir,
				  const char *fsync_mode)
{
	struct persist_error err;
	char json[4400];
	void *s;

	snprintf(json, sizeof(json), "{\"root\":\"%s\",\"fsync\":\"%s\"}",
		 t_path("%s", dir), fsync_mode);
	if (t_open(kind, json, &s, &err) != PERSIST_OK) {
		fprintf(stderr, "open %s: %s\n", dir, err.msg);
		exit(1);
	}
	return s;
}

#endif
