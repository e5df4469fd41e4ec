#!/bin/sh
# t/fallback/test-outage-redis.sh - two host processes increment a
# counter and append to a log on redis, with the filesystem provider as
# fallback and a shared spool directory, while the server is killed
# (SIGKILL), kept down 2 s and started again on the same port, several
# times (once with PERSIST_TEST_QUICK=1).  appendfsync always keeps what
# the server acknowledged.  Afterwards the counter equals the acknowledged
# increments, every acknowledged record is in the log exactly once, and
# at least 99% of the calls were acknowledged (test-outage-host check).
. "$abs_top_srcdir/t/lib/redis-server.sh"
. "$abs_top_srcdir/t/fallback/outage-lib.sh"
redis_start outage "appendonly yes" "appendfsync always" || exit 99
export REDIS_URL
outage_start redis
i=0
while [ $i -lt "$OUTAGE_CYCLES" ]; do
	sleep 1.5
	echo "test-outage-redis.sh: killing the server (SIGKILL), down for 2 s"
	redis_kill outage
	sleep 2
	redis_restart outage || { echo "cannot restart the server"; exit 1; }
	i=$((i + 1))
done
sleep 1.5
outage_finish redis
