#!/bin/sh
# plugins/redis/test-redis-restart.sh - restart the redis-server twice in
# the middle of a run of test-redis-restart: once gracefully (SIGTERM),
# once by a crash (SIGKILL); appendfsync always keeps what was
# acknowledged.  The program checks the counts and prints them.
. "$abs_top_srcdir/t/lib/redis-server.sh"
set -u
redis_start main "appendonly yes" "appendfsync always" || exit 99
out=$PERSIST_TEST_TMP/restart.out
"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} \
	"$abs_top_builddir/plugins/redis/test-redis-restart" >"$out" 2>&1 &
prog=$!
i=0
until grep -q '^running' "$out" 2>/dev/null; do
	if ! kill -0 "$prog" 2>/dev/null || [ $i -gt 1200 ]; then
		cat "$out"
		echo "test-redis-restart.sh: the program did not start"
		kill "$prog" 2>/dev/null
		exit 1
	fi
	sleep 0.05
	i=$((i + 1))
done
fail() {
	echo "test-redis-restart.sh: $1"
	kill "$prog" 2>/dev/null
	wait "$prog" 2>/dev/null
	cat "$out"
	exit 1
}
sleep 1
echo "test-redis-restart.sh: stopping the server (SIGTERM), down for 1 s"
redis_stop main
sleep 1
redis_restart main || fail "cannot restart the server"
sleep 1.5
echo "test-redis-restart.sh: killing the server (SIGKILL), down for 0.5 s"
redis_kill main
sleep 0.5
redis_restart main || fail "cannot restart the server"
: >"$PERSIST_TEST_TMP/restart-done"
wait "$prog"
rc=$?
cat "$out"
exit $rc
