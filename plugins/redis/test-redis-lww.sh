#!/bin/sh
# plugins/redis/test-redis-lww.sh - run test-redis-lww (last writer wins
# through libpersist) against a private redis-server of its own: the test
# empties the database to count its keys.
. "$abs_top_srcdir/t/lib/redis-server.sh"
set -u
redis_start main || exit 99
"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} \
	"$abs_top_builddir/plugins/redis/test-redis-lww"
