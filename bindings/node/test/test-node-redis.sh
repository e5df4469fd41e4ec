#!/bin/sh
# bindings/node/test/test-node-redis.sh - the Node.js binding on a private
# redis-server (redis.test.js), run through t/run-test.
. "$abs_top_srcdir/t/lib/redis-server.sh"
. "$abs_top_srcdir/bindings/node/test/node-env.sh"
redis_start node || exit 99
node_test "$abs_top_srcdir/bindings/node/test/redis.test.js"
