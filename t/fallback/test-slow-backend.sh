#!/bin/sh
# t/fallback/test-slow-backend.sh - a redis server that stops answering:
# it is stopped with SIGSTOP for 3 s while two host processes write
# (commandTimeout 500 ms).  Calls fail within the timeouts (none takes
# longer than OUTAGE_MAX_CALL_MS, 2 s: nothing hangs), the fallback takes
# over, and after SIGCONT the hosts go back to redis and replay their
# journal by themselves; then the checks of test-outage-redis.sh (the
# uncertain calls - sent before the stop, answered by no one - may or
# may not have been applied).
. "$abs_top_srcdir/t/lib/redis-server.sh"
. "$abs_top_srcdir/t/fallback/outage-lib.sh"
redis_start slow "appendonly yes" "appendfsync always" || exit 99
export REDIS_URL
OUTAGE_COMMAND_TIMEOUT=500
OUTAGE_MAX_CALL_MS=2000
export OUTAGE_COMMAND_TIMEOUT OUTAGE_MAX_CALL_MS
outage_start redis
pid=$(cat "$REDIS_DIR/pid")
sleep 1.5
echo "test-slow-backend.sh: stopping the server (SIGSTOP) for 3 s"
kill -STOP "$pid"
sleep 3
kill -CONT "$pid"
echo "test-slow-backend.sh: the server goes on (SIGCONT)"
sleep 2
outage_finish redis
