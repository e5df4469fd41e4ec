#!/bin/sh
# plugins/redis/test-redis-plugin.sh - run test-redis-plugin (the redis
# provider through its ops tables) against two private redis-servers: a
# plain one and one that requires a password (and has two ACL users, one
# whose password holds '/', '@', ':' and '%'), and one that a test stops
# with SIGSTOP.
. "$abs_top_srcdir/t/lib/redis-server.sh"
set -u
redis_start auth "requirepass s3cret" "user app on >app-pass ~* &* +@all" \
	"user b64 on >Zm9v/Y@m:F%y== ~* &* +@all" || exit 99
REDIS_AUTH_PORT=$REDIS_PORT
export REDIS_AUTH_PORT
redis_start stopped || exit 99
REDIS_STOP_PORT=$REDIS_PORT
export REDIS_STOP_PORT
redis_start main || exit 99
"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} \
	"$abs_top_builddir/plugins/redis/test-redis-plugin"
