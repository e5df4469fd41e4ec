# bench/redis.mk - the redis figures (see bench/redis-bench.sh):
# persist's increments, single and batched, beside redis-benchmark against
# the same private redis-server, and the latency of a configuration change
# notice between two instances.  Built with every build (noinst) so -Werror
# checks it; run by `make bench`.
if BUILD_REDIS
noinst_PROGRAMS += bench/redis-bench
bench_redis_bench_SOURCES = bench/redis-bench.c
bench_redis_bench_LDADD = core/libpersist.la $(PTHREAD_LIBS)
# a script in the source tree: $(srcdir), for builds outside it
BENCH_RUN += bench/redis-bench.sh
endif
EXTRA_DIST += bench/redis-bench.sh
