#!/bin/sh
# t/fallback/test-outage-postgres.sh - the outage test of
# test-outage-redis.sh on PostgreSQL: two host processes with a
# filesystem fallback and a shared spool directory; the postmaster is
# killed (SIGKILL), kept down 2 s and started again on the same port,
# several times (once with PERSIST_TEST_QUICK=1); synchronous_commit on
# keeps what was acknowledged.  Then the same checks.
. "$abs_top_srcdir/t/lib/postgres-server.sh"
. "$abs_top_srcdir/t/fallback/outage-lib.sh"
pg_start outage "synchronous_commit = on" || exit 99
export PG_CONNINFO
outage_start postgres
i=0
while [ $i -lt "$OUTAGE_CYCLES" ]; do
	sleep 1.5
	echo "test-outage-postgres.sh: killing the server (SIGKILL), down for 2 s"
	pg_kill outage
	sleep 2
	pg_restart outage || { echo "cannot start the server again"; exit 1; }
	i=$((i + 1))
done
sleep 1.5
outage_finish postgres
