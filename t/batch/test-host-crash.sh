#!/bin/sh
# t/batch/test-host-crash.sh - the host crash test: a host batching
# increments and appends (crash-host, batchInterval 50 ms) is killed with
# SIGKILL at a random moment, many rounds, on the filesystem provider and
# on redis, without and with journalQueued.  After each kill `crash-host
# check` reads what is stored.  Without the journal: everything a
# completed flush covered is there, nothing twice or beyond what was
# acknowledged, and the loss (acknowledged, not stored) is at most the
# documented bound, the writes queued since the last completed flush.
# With journalQueued (the check's handle replays the journal the host
# left): the loss is 0 - everything acknowledged is there - and nothing
# is doubled (a kill between two files of a batch leaves nothing the
# replay could store again: the filesystem provider cuts such a part
# back).  The measured losses are printed side by side.
# PERSIST_TEST_QUICK=1: a few rounds.
. "$abs_top_srcdir/t/lib/redis-server.sh"
set -u
redis_start crash || exit 99
host="$abs_top_builddir/libtool --mode=execute ${PERSIST_TEST_WRAPPER:-} $abs_top_builddir/t/batch/crash-host"
rounds_off=8 rounds_journal=12
if [ -n "${PERSIST_TEST_QUICK:-}" ] && [ "$PERSIST_TEST_QUICK" != 0 ]; then
	rounds_off=2 rounds_journal=3
fi
status=0

# A random number from 0 to $1 - 1.
random_below() {
	echo $(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % $1 ))
}

# crash_rounds PROVIDER MODE(off|journal) ROUNDS: kill, check, sum up;
# sets lost_<provider>_<mode> and bound_<provider>_<mode>.
crash_rounds() {
	provider=$1 mode=$2 rounds=$3
	extra= arg=
	if [ "$mode" = journal ]; then
		extra=",\"journalQueued\":true,\"spoolDir\":\"$PERSIST_TEST_TMP/spool-$provider\""
		arg=journal
	fi
	case $provider in
	filesystem) state="{\"provider\":\"filesystem\",\"config\":{\"root\":\"$PERSIST_TEST_TMP/crash-fs\"$extra}}" ;;
	redis) state="{\"provider\":\"redis\",\"config\":{\"url\":\"$REDIS_URL\",\"prefix\":\"crash:\"$extra}}" ;;
	esac
	acked=0 flushed=0 stored=0 lost=0 bound=0 r=0 doubled=0
	while [ $r -lt "$rounds" ]; do
		coll=crash-$$-$mode-$r
		ack=$PERSIST_TEST_TMP/ack-$provider-$mode-$r
		rm -f "$ack.pid"
		$host run "$state" "$coll" "$ack" $arg &
		pid=$!
		i=0
		while [ ! -s "$ack.pid" ] && [ $i -lt 200 ]; do
			sleep 0.05
			i=$((i + 1))
		done
		sleep "0.$((150 + $(random_below 700)))"
		# the host itself (libtool's wrapper may have started it as a child)
		kill -KILL "$(cat "$ack.pid")" 2>/dev/null || {
			echo "test-host-crash: $provider $mode round $r: the host did not start"
			status=1
		}
		wait $pid 2>/dev/null
		out=$($host check "$state" "$coll" "$ack" $arg)
		rc=$?
		if [ $rc = 3 ]; then
			echo "test-host-crash: $provider $mode round $r: a batch stored twice: $out"
			doubled=$((doubled + 1))
			status=1
		elif [ $rc != 0 ]; then
			echo "test-host-crash: $provider $mode round $r: the check failed: $out"
			status=1
		fi
		set -- $out x x x x x x x x   # acked A flushed F counter N log L
		[ "$1" = acked ] || { r=$((r + 1)); continue; }
		a=$2 f=$4 n=$6 l=$8
		[ "$l" -lt "$n" ] && n=$l   # the smaller of the two is what is surely there
		# the round under way at the kill may have landed: not a loss
		[ "$n" -gt "$a" ] && n=$a
		acked=$((acked + a)) flushed=$((flushed + f)) stored=$((stored + n))
		lost=$((lost + a - n))
		if [ "$mode" = journal ]; then
			rb=0
		else
			rb=$((a - f))
		fi
		bound=$((bound + rb))
		if [ $((a - n)) -gt $rb ]; then
			echo "test-host-crash: $provider $mode round $r: lost $((a - n)) > bound $rb"
			status=1
		fi
		r=$((r + 1))
	done
	echo "test-host-crash: $provider, journalQueued $([ "$mode" = journal ] && echo on || echo off): $rounds kills; writes" \
	     "acknowledged $acked, covered by a completed flush $flushed, stored $stored;" \
	     "lost $lost (bound: $bound$([ "$mode" = off ] && echo " queued since the last completed flush"));" \
	     "rounds with a batch stored twice: $doubled"
	[ "$flushed" -gt 0 ] || { echo "test-host-crash: $provider $mode: no flush completed"; status=1; }
	[ "$acked" -gt 0 ] || { echo "test-host-crash: $provider $mode: nothing acknowledged"; status=1; }
	eval "lost_${provider}_$mode=\$lost bound_${provider}_$mode=\$bound"
}

for provider in filesystem redis; do
	crash_rounds $provider off $rounds_off
	crash_rounds $provider journal $rounds_journal
	eval "echo \"test-host-crash: $provider: measured loss without journalQueued \$lost_${provider}_off" \
	     "(documented bound \$bound_${provider}_off), with it \$lost_${provider}_journal" \
	     "(documented bound 0)\""
done
exit $status
