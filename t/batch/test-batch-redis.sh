#!/bin/sh
# t/batch/test-batch-redis.sh - the write queue tests of t/batch/test-batch
# on the redis provider, against a private redis-server on loopback.
. "$abs_top_srcdir/t/lib/redis-server.sh"
redis_start batch || exit 99
export REDIS_URL
"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} \
	"$abs_top_builddir/t/batch/test-batch" redis
