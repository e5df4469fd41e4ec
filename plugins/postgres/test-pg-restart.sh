#!/bin/sh
# plugins/postgres/test-pg-restart.sh - restart the PostgreSQL server in
# the middle of a run of test-pg-restart: once with `pg_ctl restart -m
# fast`, once by a crash (SIGKILL of the postmaster, then a start;
# synchronous_commit on keeps what was acknowledged).  The program checks
# the counts and prints them.
. "$abs_top_srcdir/t/lib/postgres-server.sh"
set -u
pg_start main "synchronous_commit = on" || exit 99
out=$PERSIST_TEST_TMP/restart.out
"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} \
	"$abs_top_builddir/plugins/postgres/test-pg-restart" >"$out" 2>&1 &
prog=$!
i=0
until grep -q '^running' "$out" 2>/dev/null; do
	if ! kill -0 "$prog" 2>/dev/null || [ $i -gt 1200 ]; then
		cat "$out"
		echo "test-pg-restart.sh: the program did not start"
		kill "$prog" 2>/dev/null
		exit 1
	fi
	sleep 0.05
	i=$((i + 1))
done
fail() {
	echo "test-pg-restart.sh: $1"
	kill "$prog" 2>/dev/null
	wait "$prog" 2>/dev/null
	cat "$out"
	exit 1
}
sleep 1
echo "test-pg-restart.sh: pg_ctl restart -m fast"
pg_restart main || fail "cannot restart the server"
sleep 1.5
echo "test-pg-restart.sh: killing the server (SIGKILL), down for 0.5 s"
pg_kill main
sleep 0.5
pg_restart main || fail "cannot start the server again"
sleep 1
: >"$PERSIST_TEST_TMP/restart-done"
wait "$prog"
rc=$?
cat "$out"
exit $rc
