# bench/filesystem.mk - benchmarks of the filesystem provider (`make
# bench`): durable appends with group commit against one fdatasync per
# record, increments through batch(), change-notification latency.  They
# call the plugin's tables directly through the test host table.
FS_BENCH_CPPFLAGS = $(AM_CPPFLAGS) $(JSONC_CFLAGS)
FS_BENCH_LDADD = $(PLUGIN_HOST_LIBS) $(PTHREAD_LIBS)
noinst_PROGRAMS += bench/fs-append bench/fs-incr bench/fs-notify
bench_fs_append_SOURCES = bench/fs-append.c bench/fs-bench.h $(FS_TEST_HOST)
bench_fs_append_CPPFLAGS = $(FS_BENCH_CPPFLAGS)
bench_fs_append_LDADD = $(FS_BENCH_LDADD)
bench_fs_incr_SOURCES = bench/fs-incr.c bench/fs-bench.h $(FS_TEST_HOST)
bench_fs_incr_CPPFLAGS = $(FS_BENCH_CPPFLAGS)
bench_fs_incr_LDADD = $(FS_BENCH_LDADD)
bench_fs_notify_SOURCES = bench/fs-notify.c bench/fs-bench.h $(FS_TEST_HOST)
bench_fs_notify_CPPFLAGS = $(FS_BENCH_CPPFLAGS)
bench_fs_notify_LDADD = $(FS_BENCH_LDADD)
BENCH_RUN += bench/fs-append bench/fs-incr bench/fs-notify
