#!/bin/sh
# bench/s3-bench.sh - the s3-revalidate area of the benchmark, against a
# private S3 server (s3rver) on loopback, in one run: reading an
# unchanged document through the s3 provider, which revalidates its copy
# with If-None-Match (a 304, no body), vs a full GET of the same object by
# `curl` (one curl process, one kept-alive connection, each request signed
# by curl's --aws-sigv4).  Each round runs both, N requests each; the
# figure and the anchor are the medians of all requests, the ratio (full
# GET time / revalidation time) the median of the rounds' ratios, so the
# load of a shared machine weighs on both sides alike.  Target: the
# revalidation at least 1.5 times faster than a full GET of a 1 MiB
# document.
. "$abs_top_srcdir/t/lib/s3-server.sh"
. "$abs_top_srcdir/bench/bench-lib.sh"
set -u
ROUNDS=${ROUNDS:-5}
N=${N:-100}
SIZE=${SIZE:-1048576}
TARGET=1.5
s3_start bench bench || exit 99
bench="$abs_top_builddir/libtool --mode=execute $abs_top_builddir/bench/s3-bench"
T=$PERSIST_TEST_TMP

# A curl config doing N signed GETs of the object.
i=0
: >"$T/curl.cfg"
while [ $i -lt "$N" ]; do
	printf 'url = "%s/bench/doc.json"\noutput = "/dev/null"\n' "$S3_ENDPOINT" >>"$T/curl.cfg"
	i=$((i + 1))
done

: >"$T/all.p"; : >"$T/all.c"; : >"$T/ratios"
r=0
while [ $r -lt "$ROUNDS" ]; do
	$bench "$SIZE" "$N" | awk '$1 == "us" { print $2 }' >"$T/p" || exit 1
	# the object exists now; the full GETs, their times in microseconds
	curl -sS --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
		-H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
		-K "$T/curl.cfg" -w '%{http_code} %{size_download} %{time_total}\n' >"$T/c.raw" || exit 1
	awk -v size="$SIZE" '$1 != 200 || $2 != size { bad = 1 } { printf "%.0f\n", $3 * 1e6 }
		END { exit bad }' "$T/c.raw" >"$T/c" || {
		echo "s3-bench.sh: a curl GET failed: $(sort "$T/c.raw" | uniq -c | head -3)"; exit 1; }
	[ "$(wc -l <"$T/p")" -eq "$N" ] || { echo "s3-bench.sh: a persist run failed"; exit 1; }
	pm=$(bench_median <"$T/p")
	cm=$(bench_median <"$T/c")
	awk -v c="$cm" -v p="$pm" 'BEGIN { printf "%.3f\n", c / p }' >>"$T/ratios"
	cat "$T/p" >>"$T/all.p"
	cat "$T/c" >>"$T/all.c"
	echo "  round $((r + 1)): revalidation median ${pm} us, full GET (curl) median ${cm} us"
	r=$((r + 1))
done
p_med=$(bench_median <"$T/all.p")
c_med=$(bench_median <"$T/all.c")
ratio=$(bench_median <"$T/ratios")
echo "s3 provider vs $(curl --version | head -1 | cut -d' ' -f1-2), s3rver on 127.0.0.1:$S3_PORT,"
echo "$ROUNDS rounds of $N requests, a $SIZE-byte document; $(bench_machine)"
echo "  ratios $(tr '\n' ' ' <"$T/ratios")"
bench_summary s3-revalidate "$p_med" "us per revalidation (304)" "$c_med" \
	"us per full GET (curl)" "$ratio" ">= $TARGET" "$(bench_test "$ratio" "$TARGET" 'a >= b')"
