#!/bin/sh
# t/fallback/test-lww-redis.sh - last writer wins across hosts with their
# own journals, on redis (the story is in lww-lib.sh).  appendfsync
# always keeps what the server acknowledged across the SIGKILL.
. "$abs_top_srcdir/t/lib/redis-server.sh"
. "$abs_top_srcdir/t/fallback/lww-lib.sh"
redis_start lww "appendonly yes" "appendfsync always" || exit 99
export REDIS_URL
lww_run redis "redis_kill lww" "redis_restart lww"
