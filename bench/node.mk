# bench/node.mk - the Node.js binding's figures (bench/node-bench.sh and
# bench/node-bench.js): state.increment from JavaScript, awaited, in
# flight and queued, against a JavaScript Map increment.  Run by
# `make bench` when the binding is built.
if BUILD_NODE
BENCH_RUN += bench/node-bench.sh
endif
EXTRA_DIST += bench/node-bench.sh bench/node-bench.js
