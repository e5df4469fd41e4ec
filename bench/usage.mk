# bench/usage.mk - usage tracking as the platform does it, through the
# core's write queue (see bench/usage-bench.c and bench/usage-bench.sh):
# the areas usage-redis, usage-filesystem, memory and scale-redis.  Built
# with every build (noinst) so -Werror checks it; run by `make bench`.
noinst_PROGRAMS += bench/usage-bench
bench_usage_bench_SOURCES = bench/usage-bench.c
bench_usage_bench_LDADD = core/libpersist.la $(PTHREAD_LIBS) -lm
BENCH_RUN += bench/usage-bench.sh
EXTRA_DIST += bench/usage-bench.sh bench/bench-lib.sh bench/bench-summary.h
