#!/bin/sh
# t/batch/test-once-redis.sh - exactly-once flushes on redis when the
# server stalls under a flush (test-once-redis.c), against a private
# redis-server on loopback with the DEBUG command enabled.
. "$abs_top_srcdir/t/lib/redis-server.sh"
redis_start once "enable-debug-command yes" || exit 99
export REDIS_URL REDIS_PORT
"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} \
	"$abs_top_builddir/t/batch/test-once-redis"
