#!/bin/sh
# plugins/postgres/test-pg-failover.sh - a PostgreSQL standby promotion
# under load.  A primary and a synchronous streaming standby (pg_basebackup
# -R, synchronous_standby_names '*', synchronous_commit on) on loopback; a
# host process (t/lib/ha-host) increments and appends continuously
# through the postgres provider, with a conninfo naming both servers and
# target_session_attrs=read-write, as a role with a password.  The primary
# is stopped with `pg_ctl stop -m immediate`, the standby promoted with
# `pg_ctl promote`; the host follows by itself.  It then checks that every
# write it was told was stored is there exactly once and prints the
# failover time it saw and the calls that answered unavailable or
# uncertain.  Last, test-pg-failover checks the bad set-ups (a standby
# that never comes up, one that is never promoted, a host that does not
# answer at all before a good one) against the same servers.
# PERSIST_TEST_QUICK shortens the phases of writing before and after.
. "$abs_top_srcdir/t/lib/postgres-server.sh"
set -u
if [ -n "${PERSIST_TEST_QUICK:-}" ]; then run=1; else run=3; fi
run_prog() {
	"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} "$@"
}
now() { date +%T.%3N; }

pg_start primary "synchronous_commit = on" || exit 99
pg_sql primary "GRANT CREATE ON DATABASE postgres TO pwuser" >/dev/null || exit 99
pport=$PG_PORT
pg_start_standby standby primary || exit 99
sport=$PG_PORT
conninfo="host=127.0.0.1,127.0.0.1 port=$pport,$sport user=pwuser"
conninfo="$conninfo password=$PG_TEST_PASSWORD dbname=postgres target_session_attrs=read-write"
config="{\"conninfo\":\"$conninfo\",\"connectTimeout\":1000,\"commandTimeout\":2000}"
HA_SECRET=$PG_TEST_PASSWORD
export HA_SECRET

out=$PERSIST_TEST_TMP/host-a.out
run_prog "$abs_top_builddir/t/lib/ha-host" a postgres "$config" >"$out" 2>&1 &
prog=$!
fail() {
	echo "test-pg-failover.sh: $1"
	: >"$PERSIST_TEST_TMP/ha-stop"
	kill "$prog" 2>/dev/null
	wait "$prog" 2>/dev/null
	cat "$out"
	exit 1
}
i=0
until grep -q '^running' "$out" 2>/dev/null; do
	[ $i -gt 600 ] && fail "the host did not start writing"
	sleep 0.05
	i=$((i + 1))
done
sleep $run
echo "$(now) test-pg-failover.sh: pg_ctl stop -m immediate of the primary (port $pport)"
t0=$(date +%s%N)
pg_stop_immediate primary
echo "$(now) test-pg-failover.sh: pg_ctl promote of the standby (port $sport)"
pg_promote standby || fail "cannot promote the standby"
t1=$(date +%s%N)
echo "$(now) test-pg-failover.sh: the standby accepts writes" \
	"$(( (t1 - t0) / 1000000 )) ms after the primary stopped"
sleep $run
: >"$PERSIST_TEST_TMP/ha-stop"
wait "$prog"
rc=$?
cat "$out"
[ $rc -eq 0 ] || exit 1

echo "$(now) test-pg-failover.sh: bad set-ups"
# a standby of the new primary that is never promoted
pg_start_replica never standby || exit 99
PG_DEAD_PORT=$pport PG_PRIMARY_PORT=$sport PG_READONLY_PORT=$PG_PORT \
	run_prog "$abs_top_builddir/plugins/postgres/test-pg-failover"
