# bench/postgres.mk - the postgres areas (see bench/postgres-bench.sh):
# persist's single increments beside pgbench running the same upsert, and
# batched increments beside single ones, against one private PostgreSQL.
if BUILD_POSTGRES
noinst_PROGRAMS += bench/postgres-bench
bench_postgres_bench_SOURCES = bench/postgres-bench.c
bench_postgres_bench_LDADD = core/libpersist.la $(PTHREAD_LIBS)
BENCH_RUN += bench/postgres-bench.sh
endif
EXTRA_DIST += bench/postgres-bench.sh bench/postgres-upsert.sql
