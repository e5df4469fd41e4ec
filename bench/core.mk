# bench/core.mk - the core's speed targets in one program (see the top of
# bench/core-bench.c): dispatch cost of persist_state_incr, cached
# persist_config_get, opening a configuration that loads three plugins.
# Built with every build (noinst) so -Werror checks it; run by `make bench`.
noinst_PROGRAMS += bench/core-bench
bench_core_bench_SOURCES = bench/core-bench.c
bench_core_bench_LDADD = $(PLUGIN_HOST_LIBS) core/libpersist.la
BENCH_RUN += bench/core-bench
