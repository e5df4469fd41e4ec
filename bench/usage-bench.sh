#!/bin/sh
# bench/usage-bench.sh - usage tracking as the platform does it, through
# the core's write queue (bench/usage-bench.c), against its anchors in the
# same run, on a private redis-server and a private directory:
#   usage-redis       1,000,000 queued increments (Zipf s=1.1 over 10,000
#                     keys) to redis, start to last flush acknowledged, vs
#                     `redis-benchmark -c 1 -P 64 hincrby` sending as many
#                     increments; target at least 10x;
#   usage-filesystem  the same to the filesystem provider, vs the same
#                     redis-benchmark anchor (the target is defined against
#                     it); without redis-benchmark, vs write()+fdatasync per
#                     64 events to a file (`usage-bench raw`);
#   usage-journal     the filesystem run with journalQueued on (every queued
#                     increment fdatasync'ed before it is acknowledged), vs
#                     64-byte O_DSYNC writes (dd oflag=dsync); target at
#                     least 0.5x; and usage-journal-cost, on vs off (ratio);
#   usage-postgres    the same to the postgres provider on a private
#                     PostgreSQL 15, vs the same redis-benchmark anchor,
#                     measured again beside each postgres round;
#   memory            peak resident memory of the usage-redis runs (the
#                     whole process, event table included); < 64 MiB;
#   scale-redis       8 processes doing the usage run on one redis at once:
#                     aggregate events/s vs `redis-benchmark -c 8 -P 64`
#                     sending 8 x as many, exact totals, and the p99 of
#                     broadcast delivery to all 8 (< 10 ms).
# Every run reads its counters back and fails loudly when one differs from
# the sum of the events.  Figures are medians of ROUNDS (SCALE_ROUNDS)
# interleaved rounds; ratios are of the medians.  Run by `make bench`
# through t/run-test.  Like the other benchmarks it exits 0 when a target
# is missed (the summary line says `below target`), and 1 when something
# could not be measured or a total read back is wrong.
. "$abs_top_srcdir/t/lib/redis-server.sh"
. "$abs_top_srcdir/t/lib/postgres-server.sh"
. "$abs_top_srcdir/bench/bench-lib.sh"
set -u
ROUNDS=${ROUNDS:-5}
SCALE_ROUNDS=${SCALE_ROUNDS:-5}
PROCS=8
N=1000000
T=$PERSIST_TEST_TMP
ub="$abs_top_builddir/libtool --mode=execute $abs_top_builddir/bench/usage-bench"
have_rb=0
[ -n "${REDIS_BENCHMARK:-}" ] && [ -x "$REDIS_BENCHMARK" ] && have_rb=1
redis_start usage || exit 99

# ops/s of one redis-benchmark run: $1 clients, $2 requests
rb() {
	"$REDIS_BENCHMARK" -h 127.0.0.1 -p "$REDIS_PORT" -c "$1" -P 64 -n "$2" --csv \
		hincrby rb:usage f 1 | tail -1 | cut -d'"' -f4
}
# value of field $1 in the output file $2
field() {
	awk -v k="$1" '$1 == k { print $2 }' "$2"
}
# one persist run: $1 state entry, $2 output file; exits on a failed check
run() {
	$ub run "$1" >"$2" 2>"$2.err" || { cat "$2" "$2.err"; echo "usage-bench.sh: usage run failed"; exit 1; }
}

bench_machine
echo "anchor: $([ $have_rb = 1 ] && "$REDIS_BENCHMARK" --version || echo 'no redis-benchmark'),"\
     "server $("$REDIS_SERVER" --version | cut -d' ' -f1-3)"
echo "events: $N queued increments (user, app, model, tokens), 10000 keys, Zipf s=1.1, fixed seed"

: >"$T/ur.p"; : >"$T/ur.a"; : >"$T/uf.p"; : >"$T/uf.a"; : >"$T/rss"; : >"$T/base"
r=0
while [ $r -lt "$ROUNDS" ]; do
	if [ $have_rb = 1 ]; then
		rb 1 $N >>"$T/ur.a" || exit 1
	fi
	run "{\"provider\":\"redis\",\"config\":{\"url\":\"$REDIS_URL\",\"prefix\":\"usage$r:\"}}" "$T/r$r"
	field events_per_sec "$T/r$r" >>"$T/ur.p"
	field maxrss_kb "$T/r$r" >>"$T/rss"
	field base_rss_kb "$T/r$r" >>"$T/base"
	if [ $have_rb = 1 ]; then
		cp "$T/ur.a" "$T/uf.a"
	else
		$ub raw "$T/raw$r.log" $N | awk '$1 == "events_per_sec" { print $2 }' >>"$T/uf.a" || exit 1
		rm -f "$T/raw$r.log"
	fi
	run "{\"provider\":\"filesystem\",\"config\":{\"root\":\"$T/fs$r\"}}" "$T/f$r"
	field events_per_sec "$T/f$r" >>"$T/uf.p"
	rm -rf "$T/fs$r"
	r=$((r + 1))
done
echo "usage-redis, last run:"; sed 's/^/  /' "$T/r$((ROUNDS - 1))"
echo "usage-filesystem, last run:"; sed 's/^/  /' "$T/f$((ROUNDS - 1))"
echo "  runs, events/s: persist->redis $(tr '\n' ' ' <"$T/ur.p")"
echo "                  persist->filesystem $(tr '\n' ' ' <"$T/uf.p")"
echo "                  anchor $(tr '\n' ' ' <"$T/uf.a")"

p=$(bench_median <"$T/ur.p")
if [ $have_rb = 1 ]; then
	a=$(bench_median <"$T/ur.a")
	ok=$(bench_test "$p" "$a" 'a / b >= 10')
	bench_summary usage-redis "$p" events/s "$a" "increments/s (redis-benchmark -c 1 -P 64 hincrby)" \
		"$(awk -v a="$p" -v b="$a" 'BEGIN { print a / b }')" ">= 10x" "$ok"
else
	echo "bench usage-redis: $p events/s, anchor unavailable (no redis-benchmark), ratio - (target >= 10x) below target"
fi
p=$(bench_median <"$T/uf.p")
a=$(bench_median <"$T/uf.a")
if [ $have_rb = 1 ]; then
	unit="increments/s (redis-benchmark -c 1 -P 64 hincrby)"
else
	unit="events/s (write + fdatasync per 64 events)"
fi
ok=$(bench_test "$p" "$a" 'a / b >= 10')
bench_summary usage-filesystem "$p" events/s "$a" "$unit" \
	"$(awk -v a="$p" -v b="$a" 'BEGIN { print a / b }')" ">= 10x" "$ok"
# --- usage-journal --------------------------------------------------------
# journalQueued: the same usage run to the filesystem provider with every
# queued increment journaled and fdatasync'ed before the call returns (one
# thread: no other writer shares its fdatasync), on vs off, JN events.
# Its anchor is what a durable acknowledgement costs at least on this
# disk: 64-byte writes with O_DSYNC (dd oflag=dsync); target: at least
# half of that rate.  The cost line gives the ratio on/off.
JN=${JN:-5000}
: >"$T/uj.on"; : >"$T/uj.off"; : >"$T/uj.a"
r=0
while [ $r -lt "$ROUNDS" ]; do
	secs=$(LC_ALL=C dd if=/dev/zero of="$T/dsync" bs=64 count=$JN oflag=dsync 2>&1 |
		sed -n 's/.* copied, \([0-9.e-]*\) s.*/\1/p')
	rm -f "$T/dsync"
	[ -n "$secs" ] || { echo "usage-bench.sh: dd oflag=dsync could not be timed"; exit 1; }
	awk -v n=$JN -v s="$secs" 'BEGIN { print n / s }' >>"$T/uj.a"
	$ub run "{\"provider\":\"filesystem\",\"config\":{\"root\":\"$T/jon$r\",\"journalQueued\":true,\"spoolDir\":\"$T/spool$r\"}}" $JN >"$T/jon$r.out" 2>"$T/jon$r.err" ||
		{ cat "$T/jon$r.out" "$T/jon$r.err"; echo "usage-bench.sh: journaled usage run failed"; exit 1; }
	field events_per_sec "$T/jon$r.out" >>"$T/uj.on"
	# without the option, the same number of events
	$ub run "{\"provider\":\"filesystem\",\"config\":{\"root\":\"$T/joff$r.n\"}}" $JN >"$T/joff$r.out" 2>"$T/joff$r.err" ||
		{ cat "$T/joff$r.out" "$T/joff$r.err"; echo "usage-bench.sh: usage run failed"; exit 1; }
	field events_per_sec "$T/joff$r.out" >>"$T/uj.off"
	rm -rf "$T/jon$r" "$T/joff$r" "$T/joff$r.n" "$T/spool$r"
	r=$((r + 1))
done
echo "usage-journal ($JN events), runs, events/s: journalQueued on $(tr '\n' ' ' <"$T/uj.on")"
echo "                  off $(tr '\n' ' ' <"$T/uj.off")"
echo "                  anchor dd oflag=dsync $(tr '\n' ' ' <"$T/uj.a")"
on=$(bench_median <"$T/uj.on")
off=$(bench_median <"$T/uj.off")
a=$(bench_median <"$T/uj.a")
ok=$(bench_test "$on" "$a" 'a / b >= 0.5')
bench_summary usage-journal "$on" "events/s (journalQueued on)" "$a" "64-byte O_DSYNC writes/s (dd oflag=dsync)" \
	"$(awk -v a="$on" -v b="$a" 'BEGIN { print a / b }')" ">= 0.5x" "$ok"
ok=$(bench_test "$on" "$off" 'a / b > 0')
bench_summary usage-journal-cost "$on" "events/s (journalQueued on)" "$off" "events/s (journalQueued off)" \
	"$(awk -v a="$on" -v b="$off" 'BEGIN { print a / b }')" "> 0: reported, one fdatasync per call" "$ok"

# --- usage-postgres -------------------------------------------------------
pg_start usage || exit 99
: >"$T/up.p"; : >"$T/up.a"
r=0
while [ $r -lt "$ROUNDS" ]; do
	# the anchor again, beside each postgres round, so that both see the
	# same load on a shared machine
	if [ $have_rb = 1 ]; then
		rb 1 $N >>"$T/up.a" || exit 1
	fi
	run "{\"provider\":\"postgres\",\"config\":{\"conninfo\":\"$PG_CONNINFO\",\"schema\":\"usage$r\"}}" "$T/p$r"
	field events_per_sec "$T/p$r" >>"$T/up.p"
	r=$((r + 1))
done
echo "usage-postgres, last run:"; sed 's/^/  /' "$T/p$((ROUNDS - 1))"
echo "  runs, events/s: persist->postgres $(tr '\n' ' ' <"$T/up.p")"
echo "                  anchor $(tr '\n' ' ' <"$T/up.a")"
p=$(bench_median <"$T/up.p")
if [ $have_rb = 1 ]; then
	a=$(bench_median <"$T/up.a")
	ok=$(bench_test "$p" "$a" 'a / b >= 10')
	bench_summary usage-postgres "$p" events/s "$a" "increments/s (redis-benchmark -c 1 -P 64 hincrby)" \
		"$(awk -v a="$p" -v b="$a" 'BEGIN { print a / b }')" ">= 10x" "$ok"
else
	echo "bench usage-postgres: $p events/s, anchor unavailable (no redis-benchmark), ratio - (target >= 10x) below target"
fi
rss=$(bench_median <"$T/rss")
base=$(bench_median <"$T/base")
ok=$(bench_test "$rss" 65536 'a < b')
bench_summary memory "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "MiB peak RSS" \
	"$(awk -v k="$base" 'BEGIN { print k / 1024 }')" "MiB (the process before opening persist)" \
	"$(awk -v a="$rss" -v b="$base" 'BEGIN { print a / b }')" "< 64 MiB" "$ok"

# --- scale-redis ---------------------------------------------------------
: >"$T/s.p"; : >"$T/s.a"; : >"$T/s.b"
r=0
while [ $r -lt "$SCALE_ROUNDS" ]; do
	[ $have_rb = 1 ] && { rb $PROCS $((N * PROCS)) >>"$T/s.a" || exit 1; }
	$ub scale "{\"provider\":\"redis\",\"config\":{\"url\":\"$REDIS_URL\",\"prefix\":\"scale$r:\"}}" \
		"{\"provider\":\"redis\",\"config\":{\"url\":\"$REDIS_URL\",\"prefix\":\"scale$r:\"}}" \
		$PROCS $N >"$T/sc$r" 2>"$T/sc$r.err" ||
		{ cat "$T/sc$r" "$T/sc$r.err"; echo "usage-bench.sh: scale run failed"; exit 1; }
	field events_per_sec "$T/sc$r" >>"$T/s.p"
	field broadcast_p99_ms "$T/sc$r" >>"$T/s.b"
	r=$((r + 1))
done
echo "scale-redis ($PROCS processes), last run:"; sed 's/^/  /' "$T/sc$((SCALE_ROUNDS - 1))"
echo "  runs, events/s: persist $(tr '\n' ' ' <"$T/s.p"), anchor $(tr '\n' ' ' <"$T/s.a")"
[ $have_rb = 1 ] && echo "  ratio per round: $(paste -d' ' "$T/s.p" "$T/s.a" | awk '{ printf "%.1f ", $1 / $2 }')"
echo "  broadcast p99 per run, ms: $(tr '\n' ' ' <"$T/s.b")"
p=$(bench_median <"$T/s.p")
b=$(bench_median <"$T/s.b")
if [ $have_rb = 1 ]; then
	a=$(bench_median <"$T/s.a")
	ok=$(bench_test "$p" "$a" 'a / b >= 10')
	bench_summary scale-redis "$p" events/s "$a" "increments/s (redis-benchmark -c $PROCS -P 64 hincrby)" \
		"$(awk -v a="$p" -v b="$a" 'BEGIN { print a / b }')" ">= 10x" "$ok"
	fi
ok=$(bench_test "$b" 10 'a < b')
bench_summary scale-redis-broadcast "$b" "ms p99 to all $PROCS" 10 "ms" \
	"$(awk -v a="$b" 'BEGIN { print a / 10 }')" "< 10 ms" "$ok"
# the postgres areas (usage-postgres) come with the postgres plugin's
# bench script; this one measures what is built here.
exit 0
