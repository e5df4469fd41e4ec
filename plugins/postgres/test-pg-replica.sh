#!/bin/sh
# plugins/postgres/test-pg-replica.sh - a primary and a streaming replica
# (pg_basebackup -R), then test-pg-replica: configuration reads from the
# replica, read-your-writes, a paused and a missing replica.
. "$abs_top_srcdir/t/lib/postgres-server.sh"
set -u
pg_start main || exit 99
primary=$PG_CONNINFO
pg_start_replica replica main || exit 99
PG_REPLICA_CONNINFO=$PG_CONNINFO
PG_CONNINFO=$primary
export PG_CONNINFO PG_REPLICA_CONNINFO
"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} \
	"$abs_top_builddir/plugins/postgres/test-pg-replica"
