#!/bin/sh
# bench/node-bench.sh - the Node.js binding's speed (bench/node-bench.js):
# state.increment calls per second from JavaScript, awaited one at a time
# and 1000 in flight, and the queued state.add path, on the memory and
# filesystem providers, beside a plain JavaScript Map increment in the
# same process and run.  Medians of ROUNDS rounds; ratios to the Map.  The
# summary line's figure is the queued path on the memory provider (what
# the usage tracker calls on every request), target at least 1/20 of a
# Map increment.  Run by `make bench` through t/run-test; exits 0 when the
# target is missed (`below target`), 1 when something could not be
# measured or a counter read back is wrong.
. "$abs_top_srcdir/bench/bench-lib.sh"
. "$abs_top_srcdir/bindings/node/test/node-env.sh"
set -u
ROUNDS=${ROUNDS:-5}
export ROUNDS
bench_machine
echo "node: $("$NODE" --version); every figure in calls/s"
out=$PERSIST_TEST_TMP/node-bench.out
"$NODE" "$abs_top_srcdir/bench/node-bench.js" >"$out" || { cat "$out"; exit 1; }
cat "$out"
json=$(tail -1 "$out")
eval "$(echo "$json" | "$NODE" -e '
	const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
	console.log(`map=${r.map} queued=${r.memory.queued} inflight=${r.memory.inflight} awaited=${r.memory.awaited}`);')"
ratio=$(awk -v a="$queued" -v b="$map" 'BEGIN { print a / b }')
echo "ratios to the Map (memory provider): awaited $(awk -v a="$awaited" -v b="$map" 'BEGIN { printf "%.2g", a / b }')," \
     "in flight $(awk -v a="$inflight" -v b="$map" 'BEGIN { printf "%.2g", a / b }'), queued $(awk -v r="$ratio" 'BEGIN { printf "%.2g", r }')"
bench_summary node "$queued" "state.add calls/s" "$map" "Map increments/s" "$ratio" ">= 0.05" \
	"$(bench_test "$queued" "$map" 'a / b >= 0.05')"
