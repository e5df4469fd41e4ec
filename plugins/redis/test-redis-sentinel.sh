#!/bin/sh
# plugins/redis/test-redis-sentinel.sh - a Redis Sentinel failover under
# load.  A master, one replica and three sentinels (quorum 2, all with
# passwords) on loopback; two host processes (t/lib/ha-host) increment and
# append continuously through the redis provider with "sentinels",
# "masterName" and "replicaAcks": 1.  The master is killed (SIGKILL); the
# sentinels promote the replica and the hosts follow by themselves.  Once
# the sentinels name the new master the old one is started again (a
# crashed machine coming back), and the sentinels make it a replica of the
# new master, so that writes can be confirmed by a replica again.  Each
# host then checks that every write it was told was stored is there
# exactly once and prints the failover time it saw and the calls that
# answered unavailable or uncertain.  Last, test-redis-sentinel checks the
# bad set-ups (sentinels down, unknown masterName, a sentinel naming a
# replica, wrong sentinel password) against the same servers.
# PERSIST_TEST_QUICK shortens the phases of writing before and after.
. "$abs_top_srcdir/t/lib/redis-server.sh"
set -u
pw=ha-master-pw-8841
spw=ha-sentinel-pw-3317
if [ -n "${PERSIST_TEST_QUICK:-}" ]; then run=1; else run=3; fi
run_prog() {
	"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} "$@"
}

redis_start master "requirepass $pw" "masterauth $pw" \
	"repl-diskless-sync-delay 0" || exit 99
mport=$REDIS_PORT
redis_start replica "requirepass $pw" "masterauth $pw" \
	"repl-diskless-sync-delay 0" "replicaof 127.0.0.1 $mport" || exit 99
rport=$REDIS_PORT
sports=
for s in s1 s2 s3; do
	redis_start_sentinel $s ha "$mport" "sentinel auth-pass ha $pw" \
		"requirepass $spw" "sentinel sentinel-pass $spw" || exit 99
	sports="$sports $REDIS_PORT"
done
REDIS_CLI_PASSWORD=$spw
for s in s1 s2 s3; do
	redis_sentinel_ready $s ha 1 2 || exit 1
done
list=
for p in $sports; do
	list="$list${list:+,}\"127.0.0.1:$p\""
done
config="{\"password\":\"$pw\",\"sentinels\":[$list],\"masterName\":\"ha\",
\"sentinelPassword\":\"$spw\",\"replicaAcks\":1,\"waitTimeout\":500,
\"connectTimeout\":500,\"commandTimeout\":1500,\"reconnectMax\":500}"
HA_SECRET=$pw
export HA_SECRET

pids=
for h in a b; do
	run_prog "$abs_top_builddir/t/lib/ha-host" "$h" redis "$config" \
		>"$PERSIST_TEST_TMP/host-$h.out" 2>&1 &
	pids="$pids $!"
done
fail() {
	echo "$(date +%T.%3N) test-redis-sentinel.sh: $1"
	: >"$PERSIST_TEST_TMP/ha-stop"
	for pid in $pids; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	cat "$PERSIST_TEST_TMP"/host-*.out
	exit 1
}
for h in a b; do
	i=0
	until grep -q '^running' "$PERSIST_TEST_TMP/host-$h.out" 2>/dev/null; do
		[ $i -gt 600 ] && fail "host $h did not start writing"
		sleep 0.05
		i=$((i + 1))
	done
done

sleep $run
echo "$(date +%T.%3N) test-redis-sentinel.sh: killing the master (SIGKILL, port $mport)"
t0=$(date +%s%N)
redis_kill master
i=0
until [ "$(redis_sentinel_master s1 ha)" = "$rport" ]; do
	[ $i -gt 300 ] && fail "the sentinels did not promote the replica within 30 s"
	sleep 0.1
	i=$((i + 1))
done
t1=$(date +%s%N)
echo "$(date +%T.%3N) test-redis-sentinel.sh: the sentinels named the replica (port $rport)" \
	"master after $(( (t1 - t0) / 1000000 )) ms; starting the old master again"
redis_restart master || fail "cannot start the old master again"
i=0
REDIS_CLI_PASSWORD=$pw
until redis_cli replica info replication 2>/dev/null | grep -q "state=online"; do
	[ $i -gt 300 ] && fail "the old master did not become a replica within 30 s"
	sleep 0.1
	i=$((i + 1))
done
t2=$(date +%s%N)
echo "$(date +%T.%3N) test-redis-sentinel.sh: the old master is a replica again after" \
	"$(( (t2 - t0) / 1000000 )) ms"
sleep $run
: >"$PERSIST_TEST_TMP/ha-stop"
rc=0
for pid in $pids; do
	wait "$pid" || rc=1
done
cat "$PERSIST_TEST_TMP"/host-*.out
[ $rc -eq 0 ] || exit 1

echo "$(date +%T.%3N) test-redis-sentinel.sh: bad set-ups"
# sentinel s1 also monitors "fake": the old master, now a replica
REDIS_CLI_PASSWORD=$spw
redis_cli s1 sentinel monitor fake 127.0.0.1 "$mport" 2 >/dev/null &&
redis_cli s1 sentinel set fake auth-pass "$pw" >/dev/null ||
	fail "cannot make sentinel s1 monitor the replica"
SENTINEL_PORTS=$sports REPLICA_PORT=$mport REDIS_PASSWORD=$pw \
SENTINEL_PASSWORD=$spw REDIS_CLI_PASSWORD=$spw \
	run_prog "$abs_top_builddir/plugins/redis/test-redis-sentinel"
