#!/bin/sh
# t/batch/test-once-pg.sh - exactly-once flushes on PostgreSQL when the
# answer to a COMMIT is lost (test-once-pg.c), against a private server
# whose commits wait for a synchronous standby that never comes (for the
# sessions that ask for synchronous_commit = on).
. "$abs_top_srcdir/t/lib/postgres-server.sh"
pg_start once "synchronous_standby_names = 'ghost'" || exit 99
export PG_CONNINFO
"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} \
	"$abs_top_builddir/t/batch/test-once-pg"
