#!/bin/sh
# bindings/node/test/test-node-example.sh - examples/node/server.js as two
# instances on one private redis-server, driven over HTTP and SSE
# (example.test.js), run through t/run-test.
. "$abs_top_srcdir/t/lib/redis-server.sh"
. "$abs_top_srcdir/bindings/node/test/node-env.sh"
redis_start example || exit 99
node_test "$abs_top_srcdir/bindings/node/test/example.test.js"
