#!/bin/sh
# plugins/redis/test-redis-two.sh - two host processes on one private
# redis-server (test-redis-two starts its second process itself).
. "$abs_top_srcdir/t/lib/redis-server.sh"
set -u
redis_start main || exit 99
"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} \
	"$abs_top_builddir/plugins/redis/test-redis-two"
