#!/bin/sh
# t/batch/test-host-crash.sh - the host crash test: a host batching
# increments and appends (crash-host, batchInterval 50 ms) is killed with
# SIGKILL at a random moment, many rounds, on the filesystem provider and
# on redis.  After each kill `crash-host check` reads what is stored:
# everything a completed flush covered is there, nothing twice or beyond
# what was acknowledged.  The loss (acknowledged, not stored) is summed
# and reported against the documented bound: the writes queued since the
# last completed flush.  PERSIST_TEST_QUICK=1: a few rounds.
. "$abs_top_srcdir/t/lib/redis-server.sh"
set -u
redis_start crash || exit 99
host="$abs_top_builddir/libtool --mode=execute ${PERSIST_TEST_WRAPPER:-} $abs_top_builddir/t/batch/crash-host"
rounds=8
[ -n "${PERSIST_TEST_QUICK:-}" ] && [ "$PERSIST_TEST_QUICK" != 0 ] && rounds=2
status=0

# A random number from 0 to $1 - 1.
random_below() {
	echo $(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % $1 ))
}

for provider in filesystem redis; do
	case $provider in
	filesystem) state="{\"provider\":\"filesystem\",\"config\":{\"root\":\"$PERSIST_TEST_TMP/crash-fs\"}}" ;;
	redis) state="{\"provider\":\"redis\",\"config\":{\"url\":\"$REDIS_URL\",\"prefix\":\"crash:\"}}" ;;
	esac
	acked=0 flushed=0 stored=0 lost=0 bound=0 r=0
	while [ $r -lt $rounds ]; do
		coll=crash-$$-$r
		ack=$PERSIST_TEST_TMP/ack-$provider-$r
		rm -f "$ack.pid"
		$host run "$state" "$coll" "$ack" &
		pid=$!
		i=0
		while [ ! -s "$ack.pid" ] && [ $i -lt 200 ]; do
			sleep 0.05
			i=$((i + 1))
		done
		sleep "0.$((150 + $(random_below 700)))"
		# the host itself (libtool's wrapper may have started it as a child)
		kill -KILL "$(cat "$ack.pid")" 2>/dev/null || {
			echo "test-host-crash: $provider round $r: the host did not start"
			status=1
		}
		wait $pid 2>/dev/null
		out=$($host check "$state" "$coll" "$ack") || {
			echo "test-host-crash: $provider round $r: the check failed: $out"
			status=1
		}
		set -- $out x x x x x x x x   # acked A flushed F counter N log L
		[ "$1" = acked ] || { r=$((r + 1)); continue; }
		a=$2 f=$4 n=$6 l=$8
		[ "$l" -lt "$n" ] && n=$l   # the smaller of the two is what is surely there
		acked=$((acked + a)) flushed=$((flushed + f)) stored=$((stored + n))
		lost=$((lost + a - n)) bound=$((bound + a - f))
		if [ $((a - n)) -gt $((a - f)) ]; then
			echo "test-host-crash: $provider round $r: lost $((a - n)) > bound $((a - f))"
			status=1
		fi
		r=$((r + 1))
	done
	echo "test-host-crash: $provider: $rounds kills; writes acknowledged $acked," \
	     "covered by a completed flush $flushed, stored $stored; lost $lost" \
	     "(bound: $bound queued since the last completed flush)"
	[ "$flushed" -gt 0 ] || { echo "test-host-crash: $provider: no flush completed"; status=1; }
done
exit $status
