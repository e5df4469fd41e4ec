/*
 * bench/fs-append.c - durable appends per second on the same disk, in the
 * same run: the filesystem provider's batch() (group commit: N records,
 * one write, one fdatasync) against one write+fdatasync per record
 * (append with fsync "always", and a bare write()+fdatasync() loop for
 * reference).  Prints the medians of FS_BENCH_RUNS runs and the ratio;
 * the target is at least 50x.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "fs-bench.h"
#include "bench-summary.h"

#define BATCH 1000
#define RECORD "{\"user\":\"alice\",\"app\":\"chat\",\"rating\":5,\"comment\":\"helpful answer\"}"

/* Records per second through batch(): rounds batches of BATCH appends. */
static double run_batch(void *st, int rounds)
{
	static struct persist_op ops[BATCH];

	for (int i = 0; i < BATCH; i++)
		ops[i] = (struct persist_op){ PERSIST_OP_APPEND, "feedback", NULL,
					      RECORD, strlen(RECORD), 0, 0 };
	return fs_bench_batch_rate(st, ops, BATCH, rounds);
}

/* Records per second through append() with fsync "always". */
static double run_single(void *st, int n)
{
	struct persist_error err;
	int64_t t0 = ph_monotonic_us();

	for (int i = 0; i < n; i++) {
		if (t_plugin->state->append(st, "feedback", RECORD, strlen(RECORD), &err) != PERSIST_OK) {
			fprintf(stderr, "append: %s\n", err.msg);
			exit(1);
		}
	}
	return (double)n * 1e6 / (double)(ph_monotonic_us() - t0);
}

/* Records per second with a bare write()+fdatasync() per record. */
static double run_raw(int n)
{
	int fd = open(t_path("raw.jsonl"), O_WRONLY | O_CREAT | O_APPEND, 0644);
	int64_t t0 = ph_monotonic_us();

	if (fd < 0)
		exit(1);
	for (int i = 0; i < n; i++) {
		if (write(fd, RECORD "\n", sizeof(RECORD)) != (ssize_t)sizeof(RECORD) ||
		    fdatasync(fd) < 0)
			exit(1);
	}
	close(fd);
	return (double)n * 1e6 / (double)(ph_monotonic_us() - t0);
}

int main(void)
{
	double grp[FS_BENCH_RUNS], one[FS_BENCH_RUNS], raw[FS_BENCH_RUNS];
	double mg, mo, mr;
	void *batch_st, *always_st;

	t_load_plugin();
	batch_st = fs_bench_open(PERSIST_KIND_STATE, "batch", "batch");
	always_st = fs_bench_open(PERSIST_KIND_STATE, "always", "always");
	/* interleave the runs so both see the same disk conditions */
	for (int r = 0; r < FS_BENCH_RUNS; r++) {
		grp[r] = run_batch(batch_st, 50);
		one[r] = run_single(always_st, 500);
		raw[r] = run_raw(500);
	}
	mg = fs_bench_median(grp, FS_BENCH_RUNS);
	mo = fs_bench_median(one, FS_BENCH_RUNS);
	mr = fs_bench_median(raw, FS_BENCH_RUNS);
	bench_machine();
	printf("filesystem durable appends, median of %d runs (%s):\n",
	       FS_BENCH_RUNS, t_tmp());
	printf("  group commit, batch() of %d records, one fdatasync: %12.0f records/s\n",
	       BATCH, mg);
	printf("  append() with fsync \"always\" (write+fdatasync each): %12.0f records/s\n", mo);
	printf("  bare write()+fdatasync() per record (reference):     %12.0f records/s\n", mr);
	printf("  ratio group commit / per-record fdatasync: %.0fx (target >= 50x: %s)\n",
	       mg / mo, mg / mo >= 50 ? "met" : "NOT MET");
	bench_summary("filesystem", mg, "records/s", mo, "records/s (write+fdatasync each)",
		      mg / mo, ">= 50x", mg / mo >= 50);
	t_close(PERSIST_KIND_STATE, batch_st);
	t_close(PERSIST_KIND_STATE, always_st);
	t_unload_plugin();
	return 0;
}
