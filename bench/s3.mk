# bench/s3.mk - the s3-revalidate figures (see bench/s3-bench.sh): reading
# an unchanged document through the s3 provider (a 304 revalidation) beside
# a full GET of the same object by curl, against the same private s3rver.
# Built with every build (noinst) so -Werror checks it; run by `make bench`.
if BUILD_S3
noinst_PROGRAMS += bench/s3-bench
bench_s3_bench_SOURCES = bench/s3-bench.c
bench_s3_bench_LDADD = core/libpersist.la $(PTHREAD_LIBS)
BENCH_RUN += bench/s3-bench.sh
endif
EXTRA_DIST += bench/s3-bench.sh
