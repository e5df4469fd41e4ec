#!/bin/sh
# plugins/postgres/test-pg-drop.sh - test-pg-drop (dropping a collection,
# trimming a log) against a private PostgreSQL.
. "$abs_top_srcdir/t/lib/postgres-server.sh"
set -u
pg_start drop || exit 99
# not exec: this shell's exit trap stops the server afterwards
"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} \
	"$abs_top_builddir/plugins/postgres/test-pg-drop"
