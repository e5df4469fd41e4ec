#!/bin/sh
# bench/postgres-bench.sh - the postgres areas of the benchmark, side by
# side with pgbench against the same private PostgreSQL 15, in one run:
#   postgres-single  persist_state_incr, one at a time, vs `pgbench -n -c 1
#                    -M prepared -f postgres-upsert.sql` running the same
#                    upsert (target: ratio >= 0.7);
#   postgres-batch   persist_state_batch of 256 increments (one
#                    transaction, one pipelined round trip) vs the single
#                    increments above (target: >= 20x).
# Each round runs pgbench, persist's single increments and persist's
# batches back to back; a ratio is the median of the rounds' ratios, so
# that the load of a shared machine, which changes from one second to the
# next, weighs on both sides of each ratio alike (a ratio of medians taken
# over different moments swung from 0.5 to 1.5 on a loaded machine).
# pgbench runs as many transactions as persist runs increments.  The
# server runs with fsync and synchronous_commit off (the test setup), for
# both sides.
. "$abs_top_srcdir/t/lib/postgres-server.sh"
set -u
ROUNDS=${ROUNDS:-5}
N_SINGLE=${N_SINGLE:-5000}
N_BATCH=${N_BATCH:-128000}
BATCH=${BATCH:-256}
if [ -z "${PG_PGBENCH:-}" ] || [ ! -x "$PG_PGBENCH" ]; then
	echo "postgres-bench.sh: no pgbench (PG_PGBENCH='${PG_PGBENCH:-}')" >&2
	exit 99
fi
pg_start bench || exit 99
bench="$abs_top_builddir/libtool --mode=execute $abs_top_builddir/bench/postgres-bench"
# the tables exist once persist has run
$bench single 1 >/dev/null || exit 1

# tps of one pgbench run
pgb() {
	"$PG_PGBENCH" -n -c 1 -M prepared -t "$N_SINGLE" -h 127.0.0.1 -p "$PG_PORT" \
		-U postgres -f "$abs_top_srcdir/bench/postgres-upsert.sql" postgres 2>&1 |
		awk '/^tps = / { print $3 }'
}
# ops/s of one persist run
pb() {
	$bench "$@" | awk '$1 == "ops_per_sec" { print $2 }'
}
median() {
	sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

T=$PERSIST_TEST_TMP
: >"$T/s.pgb"; : >"$T/s.pb"; : >"$T/b.pb"
r=0
while [ $r -lt "$ROUNDS" ]; do
	pgb >>"$T/s.pgb" || exit 1
	pb single "$N_SINGLE" >>"$T/s.pb" || exit 1
	pb batch "$N_BATCH" $BATCH >>"$T/b.pb" || exit 1
	r=$((r + 1))
done
for f in s.pgb s.pb b.pb; do
	[ "$(wc -l <"$T/$f")" -eq "$ROUNDS" ] && ! grep -qv '^[0-9.]*$' "$T/$f" || {
		echo "postgres-bench.sh: a run failed ($f: $(tr '\n' ' ' <"$T/$f"))"; exit 1; }
done
s_pgb=$(median <"$T/s.pgb")
s_pb=$(median <"$T/s.pb")
b_pb=$(median <"$T/b.pb")
# the ratio of each round, then their median
ratios() {
	paste "$1" "$2" | awk '{ printf "%.3f\n", $1 / $2 }'
}
r_single=$(ratios "$T/s.pb" "$T/s.pgb" | median)
r_batch=$(ratios "$T/b.pb" "$T/s.pb" | median)

echo "postgres (libpq plugin) vs pgbench $("$PG_PGBENCH" --version | awk '{ print $3 }'), same server (127.0.0.1:$PG_PORT),"
echo "$ROUNDS rounds, increments/s (machine: $(nproc) cpus, load average: $(cut -d' ' -f1-3 /proc/loadavg)):"
echo "  single: pgbench $(tr '\n' ' ' <"$T/s.pgb")"
echo "          persist $(tr '\n' ' ' <"$T/s.pb")"
echo "          ratios  $(ratios "$T/s.pb" "$T/s.pgb" | tr '\n' ' ')"
echo "  batch of $BATCH: persist $(tr '\n' ' ' <"$T/b.pb")"
echo "          ratios  $(ratios "$T/b.pb" "$T/s.pb" | tr '\n' ' ')"
summary() {
	awk -v area="$1" -v a="$2" -v b="$3" -v r="$4" -v t="$5" 'BEGIN {
		printf "bench %s: %.0f ops/s, anchor %.0f ops/s (medians), ratio %.2f (median of the rounds; target %s) %s\n",
			area, a, b, r, t, (r >= t ? "ok" : "below target") }'
}
summary postgres-single "$s_pb" "$s_pgb" "$r_single" 0.7
summary postgres-batch "$b_pb" "$s_pb" "$r_batch" 20
