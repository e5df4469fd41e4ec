#!/bin/sh
# bench/redis-bench.sh - persist's speed through the redis plugin, side by
# side with redis-benchmark against the same private redis-server, in one run:
#   1. single increments: persist_state_incr (through libpersist and the
#      redis plugin) vs `redis-benchmark -c 1 -P 1 hincrby`;
#   2. batched increments: persist_state_batch of 64 increments vs
#      `redis-benchmark -c 1 -P 64 hincrby`;
#   3. single sets: persist_state_set (a script that writes the value, its
#      marker and the key's write time) vs `redis-benchmark -c 1 -P 1
#      -r 10000 set` (target: at least 0.7: the same round trip, more work
#      on the server);
#   4. how long a configuration change takes to reach another instance's
#      subscriber (target: under 100 ms).
# Each throughput is the median of ROUNDS alternating runs; the ratios are
# persist / redis-benchmark (target: at least 0.8 each), both the ratio of
# the medians and the median of each round's ratio (the two runs of a round
# are back to back, so load from elsewhere on the machine affects them
# alike).  The load average is printed with the figures.
. "$abs_top_srcdir/t/lib/redis-server.sh"
. "$abs_top_srcdir/bench/bench-lib.sh"
set -u
ROUNDS=${ROUNDS:-7}
N_SINGLE=${N_SINGLE:-20000}
N_BATCH=${N_BATCH:-320000}
BATCH=64
if [ -z "${REDIS_BENCHMARK:-}" ] || [ ! -x "$REDIS_BENCHMARK" ]; then
	echo "redis-bench.sh: no redis-benchmark (REDIS_BENCHMARK='${REDIS_BENCHMARK:-}')" >&2
	exit 99
fi
redis_start bench || exit 99
bench="$abs_top_builddir/libtool --mode=execute $abs_top_builddir/bench/redis-bench"

# ops/s of one redis-benchmark run: $1 = pipeline depth, $2 = requests
rb() {
	"$REDIS_BENCHMARK" -h 127.0.0.1 -p "$REDIS_PORT" -c 1 -P "$1" -n "$2" --csv \
		hincrby rb:h f 1 | tail -1 | cut -d'"' -f4
}
# ops/s of one redis-benchmark run of single sets over 10,000 keys: $1 = requests
rbset() {
	"$REDIS_BENCHMARK" -h 127.0.0.1 -p "$REDIS_PORT" -c 1 -P 1 -n "$1" -r 10000 -d 3 --csv \
		-t set | tail -1 | cut -d'"' -f4
}
# ops/s of one persist run
pb() {
	$bench "$@" | awk '$1 == "ops_per_sec" { print $2 }'
}
median() {
	sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

: >"$PERSIST_TEST_TMP/s.rb"; : >"$PERSIST_TEST_TMP/s.pb"
: >"$PERSIST_TEST_TMP/b.rb"; : >"$PERSIST_TEST_TMP/b.pb"
: >"$PERSIST_TEST_TMP/t.rb"; : >"$PERSIST_TEST_TMP/t.pb"
r=0
while [ $r -lt "$ROUNDS" ]; do
	rb 1 "$N_SINGLE" >>"$PERSIST_TEST_TMP/s.rb" || exit 1
	pb single "$N_SINGLE" >>"$PERSIST_TEST_TMP/s.pb" || exit 1
	rb $BATCH "$N_BATCH" >>"$PERSIST_TEST_TMP/b.rb" || exit 1
	pb batch "$N_BATCH" $BATCH >>"$PERSIST_TEST_TMP/b.pb" || exit 1
	rbset "$N_SINGLE" >>"$PERSIST_TEST_TMP/t.rb" || exit 1
	pb set "$N_SINGLE" >>"$PERSIST_TEST_TMP/t.pb" || exit 1
	r=$((r + 1))
done
s_rb=$(median <"$PERSIST_TEST_TMP/s.rb")
s_pb=$(median <"$PERSIST_TEST_TMP/s.pb")
b_rb=$(median <"$PERSIST_TEST_TMP/b.rb")
b_pb=$(median <"$PERSIST_TEST_TMP/b.pb")
t_rb=$(median <"$PERSIST_TEST_TMP/t.rb")
t_pb=$(median <"$PERSIST_TEST_TMP/t.pb")
notify=$($bench notify 200) || { echo "redis-bench.sh: notify failed: $notify"; exit 1; }
# median of the per-round ratios of two files of numbers
round_ratio() {
	paste "$1" "$2" | awk '{ print $1 / $2 }' | median
}
s_rr=$(round_ratio "$PERSIST_TEST_TMP/s.pb" "$PERSIST_TEST_TMP/s.rb")
b_rr=$(round_ratio "$PERSIST_TEST_TMP/b.pb" "$PERSIST_TEST_TMP/b.rb")
t_rr=$(round_ratio "$PERSIST_TEST_TMP/t.pb" "$PERSIST_TEST_TMP/t.rb")

bench_machine
echo "anchor: $("$REDIS_BENCHMARK" --version 2>/dev/null || echo redis-benchmark), server $("$REDIS_SERVER" --version | cut -d' ' -f1-3)"
echo "redis (hiredis plugin) vs redis-benchmark, same server (127.0.0.1:$REDIS_PORT),"
echo "median of $ROUNDS rounds, ops/s (load average: $(cut -d' ' -f1-3 /proc/loadavg)):"
echo "  single increments (-c 1 -P 1, $N_SINGLE each):"
echo "    runs: redis-benchmark $(tr '\n' ' ' <"$PERSIST_TEST_TMP/s.rb")"
echo "          persist         $(tr '\n' ' ' <"$PERSIST_TEST_TMP/s.pb")"
awk -v a="$s_pb" -v b="$s_rb" -v r="$s_rr" 'BEGIN {
	printf "    persist_state_incr %.0f  redis-benchmark hincrby %.0f  ratio %.2f, per round %.2f (target >= 0.8)\n", a, b, a / b, r }'
echo "  batched increments ($BATCH per batch / pipeline, $N_BATCH each):"
echo "    runs: redis-benchmark $(tr '\n' ' ' <"$PERSIST_TEST_TMP/b.rb")"
echo "          persist         $(tr '\n' ' ' <"$PERSIST_TEST_TMP/b.pb")"
awk -v a="$b_pb" -v b="$b_rb" -v r="$b_rr" 'BEGIN {
	printf "    persist_state_batch %.0f  redis-benchmark -P 64 hincrby %.0f  ratio %.2f, per round %.2f (target >= 0.8)\n", a, b, a / b, r }'
echo "  single sets over 10,000 keys (-c 1 -P 1, $N_SINGLE each):"
echo "    runs: redis-benchmark $(tr '\n' ' ' <"$PERSIST_TEST_TMP/t.rb")"
echo "          persist         $(tr '\n' ' ' <"$PERSIST_TEST_TMP/t.pb")"
awk -v a="$t_pb" -v b="$t_rb" -v r="$t_rr" 'BEGIN {
	printf "    persist_state_set %.0f  redis-benchmark set %.0f  ratio %.2f, per round %.2f (target >= 0.7)\n", a, b, a / b, r }'
echo "  configuration change -> another instance's subscriber (200 changes):"
echo "    $notify" | awk '{ printf "    median %s ms, p99 %s ms, max %s ms (target < 100 ms)\n", $3, $5, $7 }'
bench_summary redis-single "$s_pb" ops/s "$s_rb" "ops/s (redis-benchmark -c 1 -P 1 hincrby)" \
	"$(awk -v a="$s_pb" -v b="$s_rb" 'BEGIN { print a / b }')" ">= 0.8x" \
	"$(bench_test "$s_pb" "$s_rb" 'a / b >= 0.8')"
bench_summary redis-batch "$b_pb" ops/s "$b_rb" "ops/s (redis-benchmark -c 1 -P 64 hincrby)" \
	"$(awk -v a="$b_pb" -v b="$b_rb" 'BEGIN { print a / b }')" ">= 0.8x" \
	"$(bench_test "$b_pb" "$b_rb" 'a / b >= 0.8')"
bench_summary redis-set "$t_pb" ops/s "$t_rb" "ops/s (redis-benchmark -c 1 -P 1 -r 10000 set)" \
	"$(awk -v a="$t_pb" -v b="$t_rb" 'BEGIN { print a / b }')" ">= 0.7x" \
	"$(bench_test "$t_pb" "$t_rb" 'a / b >= 0.7')"
