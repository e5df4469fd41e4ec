#!/bin/sh
# plugins/postgres/test-pg-two.sh - two host processes on one private
# PostgreSQL (test-pg-two starts its second process itself).
. "$abs_top_srcdir/t/lib/postgres-server.sh"
set -u
pg_start main || exit 99
"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} \
	"$abs_top_builddir/plugins/postgres/test-pg-two"
