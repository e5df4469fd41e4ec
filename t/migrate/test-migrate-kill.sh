#!/bin/sh
# t/migrate/test-migrate-kill.sh - an interrupted `persistctl migrate`
# (filesystem -> redis) is finished by running it again, exactly: no log
# record doubled, no counter doubled.  Twice: persistctl killed with
# SIGKILL once the target's log holds records but not all of them, and the
# redis server killed half way (the run fails naming redis; after a
# restart the rerun finishes).  With PERSIST_TEST_QUICK=1 the log is
# shorter.
. "$abs_top_srcdir/t/lib/ctl-check.sh"
. "$abs_top_srcdir/t/lib/redis-server.sh"
set -u

if [ "${PERSIST_TEST_QUICK:-0}" = 1 ]; then
	COUNTERS=500 RECORDS=30000
else
	COUNTERS=2000 RECORDS=100000
fi
redis_start main "appendonly yes" || exit 99

data() {
	"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} \
		"$abs_top_builddir/t/migrate/migrate-data" "$@"
}
printf '{"persistence":{"configuration":{"provider":"filesystem","config":{"root":"%s"}},"state":{"provider":"filesystem","config":{"root":"%s"}}}}\n' \
	"$T/src" "$T/src" >"$T/src.json"
r="{\"provider\":\"redis\",\"config\":{\"url\":\"$REDIS_URL\",\"prefix\":\"k:\"}}"
printf '{"persistence":{"configuration":%s,"state":%s}}\n' "$r" "$r" >"$T/redis.json"
data fill "$T/src.json" $COUNTERS $RECORDS 12 || exit 1
data dump "$T/src.json" >"$T/src.dump" || exit 1

# The target's log length (its next record number; the log starts at 0).
target_records() {
	ctl -c "$T/redis.json" state bounds feedback 2>/dev/null | cut -d' ' -f2
}
# The length of the target's log list, read with redis-cli: a quick poll
# (a persistctl per poll is slow under a sanitizer, slower than the copy).
target_list() {
	redis_cli main LLEN "k:s:{feedback}:log" 2>/dev/null
}
# Start a migration in the background and wait until the target's log
# holds some records; MIG is its pid.
start_and_wait() {
	# exec: $! is persistctl itself, not a shell waiting for it
	(exec "$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} \
		"$abs_top_builddir/tools/persistctl" migrate --from "$T/src.json" \
		--to "$T/redis.json" >"$T/$1.out" 2>&1) &
	MIG=$!
	n=0
	while [ $n -lt 3000 ]; do
		held=$(target_list)
		[ -n "$held" ] && [ "$held" -gt 0 ] && return 0
		kill -0 $MIG 2>/dev/null || return 1
		sleep 0.01
		n=$((n + 1))
	done
	return 1
}

# 1. persistctl killed half way (again on an emptied target when the kill
# came after the copy had ended: the poll is a process of its own, slow
# under a sanitizer)
try=0
while :; do
	start_and_wait kill
	started=$?
	kill -KILL $MIG 2>/dev/null
	wait $MIG
	died=$?
	held=$(target_records)
	echo "killed with $held of $RECORDS records copied"
	try=$((try + 1))
	if [ "$held" -gt 0 ] && [ "$held" -lt $RECORDS ]; then
		break
	fi
	[ $try -ge 5 ] && break
	redis_cli main FLUSHALL >/dev/null
done
check "the copy of the log started" 0 $started
check "persistctl died of SIGKILL" 137 $died
[ "$held" -gt 0 ] && [ "$held" -lt $RECORDS ]
check "killed half way" 0 $?
ctl migrate --from "$T/src.json" --to "$T/redis.json" >"$T/rerun.out" 2>&1
check "the rerun: exit" 0 $?
cat "$T/rerun.out"
check "the rerun appended the rest" 1 \
	"$(grep -c "copied [0-9]* keys and $((RECORDS - held)) records" "$T/rerun.out")"
data dump "$T/redis.json" >"$T/redis.dump"
cmp -s "$T/src.dump" "$T/redis.dump"
check "after the rerun: exactly the source's data" 0 $?
check "no record doubled" $RECORDS "$(target_records)"

# 2. the target goes down half way
redis_cli main FLUSHALL >/dev/null
start_and_wait down
check "the second copy started" 0 $?
redis_kill main
wait $MIG
rc=$?
check "a target that went down: exit" 3 $rc
grep -q "redis" "$T/down.out"
check "the error names redis" 0 $?
cat "$T/down.out"
redis_restart main || exit 99
held=$(target_records)
echo "the restarted server holds $held of $RECORDS records"
ctl migrate --from "$T/src.json" --to "$T/redis.json" >"$T/rerun2.out" 2>&1
check "the rerun after the restart: exit" 0 $?
data dump "$T/redis.json" >"$T/redis2.dump"
cmp -s "$T/src.dump" "$T/redis2.dump"
check "after the restart and rerun: exactly the source's data" 0 $?
check "no record doubled after the restart" $RECORDS "$(target_records)"
ctl_check_end
