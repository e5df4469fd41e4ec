#!/bin/sh
# t/migrate/test-migrate-chain.sh - `persistctl migrate` carries a
# realistic data set (thousands of counters, a log of 100,000 records,
# dozens of configuration documents, short links with TTLs, binary
# values) filesystem -> redis -> postgres -> filesystem, and the
# configuration filesystem -> s3 -> filesystem, and gets back exactly what
# it started with: the dumps of the first and last stores are equal, and a
# migrate from the first to the last finds nothing to copy.  A second run
# of each leg copies nothing.  With PERSIST_TEST_QUICK=1 the data set is
# smaller.
. "$abs_top_srcdir/t/lib/ctl-check.sh"
. "$abs_top_srcdir/t/lib/redis-server.sh"
. "$abs_top_srcdir/t/lib/postgres-server.sh"
. "$abs_top_srcdir/t/lib/s3-server.sh"
set -u

if [ "${PERSIST_TEST_QUICK:-0}" = 1 ]; then
	COUNTERS=800 RECORDS=10000 DOCS=24
else
	COUNTERS=4000 RECORDS=100000 DOCS=48
fi
redis_start main || exit 99
pg_start main || exit 99
s3_start main config || exit 99

data() {
	"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} \
		"$abs_top_builddir/t/migrate/migrate-data" "$@"
}
# setup NAME CONFIG-PROVIDER-JSON STATE-PROVIDER-JSON: $T/NAME.json
setup() {
	printf '{"persistence":{"configuration":%s,"state":%s}}\n' "$2" "$3" >"$T/$1.json"
}
fs() { printf '{"provider":"filesystem","config":{"root":"%s"}}' "$T/$1"; }
setup fs1 "$(fs fs1)" "$(fs fs1)"
setup redis "{\"provider\":\"redis\",\"config\":{\"url\":\"$REDIS_URL\",\"prefix\":\"m1:\"}}" \
	"{\"provider\":\"redis\",\"config\":{\"url\":\"$REDIS_URL\",\"prefix\":\"m1:\"}}"
setup pg "{\"provider\":\"postgres\",\"config\":{\"conninfo\":\"$PG_CONNINFO\"}}" \
	"{\"provider\":\"postgres\",\"config\":{\"conninfo\":\"$PG_CONNINFO\"}}"
setup fs2 "$(fs fs2)" "$(fs fs2)"
printf '{"persistence":{"configuration":{"provider":"s3","config":{"endpoint":"%s","bucket":"config","accessKeyId":"%s","secretAccessKey":"%s","conditionalWrites":false}}}}\n' \
	"$S3_ENDPOINT" "$S3_ACCESS_KEY" "$S3_SECRET_KEY" >"$T/s3.json"
printf '{"persistence":{"configuration":%s}}\n' "$(fs fs3)" >"$T/fs3.json"

start=$(date +%s)
data fill "$T/fs1.json" $COUNTERS $RECORDS $DOCS || exit 1
data dump "$T/fs1.json" >"$T/fs1.dump" || exit 1
check "data set: records" $RECORDS "$(grep -c '^record feedback ' "$T/fs1.dump")"
check "data set: counters" $COUNTERS "$(grep -c '^key usage\.' "$T/fs1.dump")"
check "data set: documents" $DOCS "$(grep -c '^document ' "$T/fs1.dump")"
check "data set: keys with a TTL" 200 "$(grep -c ' ttl$' "$T/fs1.dump")"

# leg FROM TO [ARGS]: migrate, expect exit 0 and an equal verification;
# then again: nothing copied
leg() {
	ctl migrate --from "$T/$1.json" --to "$T/$2.json" ${3:-} >"$T/$1-$2.out" 2>&1
	check "migrate $1 -> $2: exit" 0 $?
	grep -q "verification: both sides are equal" "$T/$1-$2.out"
	check "migrate $1 -> $2: verified" 0 $?
	ctl migrate --from "$T/$1.json" --to "$T/$2.json" ${3:-} >"$T/$1-$2.again" 2>&1
	check "migrate $1 -> $2 again: exit" 0 $?
	check "migrate $1 -> $2 again: nothing written" \
		"written: 0 documents, keys and records" \
		"$(grep '^written:' "$T/$1-$2.again")"
}
leg fs1 redis
leg redis pg
leg pg fs2
cat "$T/fs1-redis.out"
data dump "$T/fs2.json" >"$T/fs2.dump" || exit 1
cmp -s "$T/fs1.dump" "$T/fs2.dump"
check "filesystem -> redis -> postgres -> filesystem: the same data" 0 $?
[ "$failed" -eq 0 ] || diff "$T/fs1.dump" "$T/fs2.dump" | head -20
check "a counter goes on counting in the last store" \
	"$(($(ctl -c "$T/fs1.json" state get usage.tokens user000001) + 1))" \
	"$(ctl -c "$T/fs2.json" state incr usage.tokens user000001 1)"
ctl -c "$T/fs2.json" state incr usage.tokens user000001 -- -1 >/dev/null
ctl migrate --from "$T/fs1.json" --to "$T/fs2.json" --dry-run >"$T/final.out" 2>&1
check "first and last store: dry run exit" 0 $?
check "first and last store: nothing to copy" 1 \
	"$(grep -c 'would copy 0 keys and 0 records' "$T/final.out")"

# configuration through s3
leg fs1 s3 "--kinds configuration"
leg s3 fs3 "--kinds configuration"
data dump "$T/fs1.json" configuration >"$T/c1.dump" &&
	data dump "$T/fs3.json" configuration >"$T/c3.dump"
cmp -s "$T/c1.dump" "$T/c3.dump"
check "configuration filesystem -> s3 -> filesystem: the same documents" 0 $?
check "documents in s3" $DOCS "$(data dump "$T/s3.json" configuration | grep -c '^document ')"
echo "time: $(($(date +%s) - start)) s"
ctl_check_end
