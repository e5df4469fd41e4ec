/*
 * bench/fs-notify.c - change notification latency of the filesystem
 * provider's configuration store: the time from an editor-style write
 * (new file, then the clock starts, rename over the document) or an
 * in-place write (open, write, close) to the provider's
 * host->config_changed call.  Median and maximum of SAMPLES
 * writes each, over FS_BENCH_RUNS runs; the target is 100 ms.
 */
#include <stdio.h>
#include <string.h>
#include "fs-bench.h"

#define SAMPLES 40

/* One latency sample in microseconds (-1 when nothing arrived). */
static double sample(int i, int by_rename)
{
	char text[64], etag[PERSIST_ETAG_MAX];
	const char *doc = t_path("notify/watched.json");
	int64_t t0;

	snprintf(text, sizeof(text), "{\"n\":%d,\"by\":%d}", i, by_rename);
	/* the clock starts just before the change: the rename of the new
	   file, or the in-place write (open, write, close) */
	if (by_rename) {
		const char *tmp = t_path("notify/.watched.json.swp");
		if (t_write_file(tmp, text, strlen(text)) < 0)
			return -1;
		t0 = ph_monotonic_us();
		if (rename(tmp, doc) < 0)
			return -1;
	} else {
		t0 = ph_monotonic_us();
		if (t_write_file(doc, text, strlen(text)) < 0)
			return -1;
	}
	if (!t_wait_change("watched", 2000, etag, NULL))
		return -1;
	return (double)(ph_monotonic_us() - t0);
}

int main(void)
{
	double ren[FS_BENCH_RUNS], inp[FS_BENCH_RUNS], worst = 0;
	double mr, mi;
	void *cfg;

	t_load_plugin();
	cfg = fs_bench_open(PERSIST_KIND_CONFIG, "notify", "batch");
	for (int r = 0; r < FS_BENCH_RUNS; r++) {
		double a[SAMPLES], b[SAMPLES];
		for (int i = 0; i < SAMPLES; i++) {
			a[i] = sample(r * 1000 + i, 1);
			b[i] = sample(r * 1000 + i, 0);
			if (a[i] < 0 || b[i] < 0) {
				fprintf(stderr, "no notification within 2 s\n");
				return 1;
			}
			if (a[i] > worst)
				worst = a[i];
			if (b[i] > worst)
				worst = b[i];
			ph_sleep_ms(2);
		}
		ren[r] = fs_bench_median(a, SAMPLES);
		inp[r] = fs_bench_median(b, SAMPLES);
	}
	mr = fs_bench_median(ren, FS_BENCH_RUNS);
	mi = fs_bench_median(inp, FS_BENCH_RUNS);
	printf("filesystem change notification, median of %d runs x %d writes:\n",
	       FS_BENCH_RUNS, SAMPLES);
	printf("  editor-style (write new file, rename): %8.0f us\n", mr);
	printf("  in-place write:                        %8.0f us\n", mi);
	printf("  slowest single notification:           %8.0f us (target 100 ms: %s)\n",
	       worst, worst <= 100000 ? "met" : "NOT MET");
	t_close(PERSIST_KIND_CONFIG, cfg);
	t_unload_plugin();
	return 0;
}
