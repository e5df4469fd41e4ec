# bench/postgres.mk - the postgres areas of the benchmark (added with
# bench/postgres-bench.sh).
