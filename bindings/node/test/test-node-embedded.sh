#!/bin/sh
# bindings/node/test/test-node-embedded.sh - the Node.js binding on the
# embedded default and on filesystem + memory (embedded.test.js), run
# through t/run-test.
. "$abs_top_srcdir/bindings/node/test/node-env.sh"
node_test "$abs_top_srcdir/bindings/node/test/embedded.test.js"
