#!/bin/sh
# plugins/postgres/test-pg-lww.sh - test-pg-lww (last writer wins: the
# write times of the state tables) against a private PostgreSQL.
. "$abs_top_srcdir/t/lib/postgres-server.sh"
set -u
pg_start main || exit 99
"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} \
	"$abs_top_builddir/plugins/postgres/test-pg-lww"
