#!/bin/sh
# t/migrate/test-migrate-bad.sh - bad input to `persistctl migrate`: a
# target holding different data is refused (exit 3, nothing written, the
# difference printed) and --force overwrites it; a diverging log is
# refused even with --force; a dry run writes nothing; kinds a file does
# not configure, unknown kinds and sessions are refused naming the file
# and the kind; missing, invalid and identical files, missing options; a
# provider that is down on either side.
. "$abs_top_srcdir/t/lib/ctl-check.sh"
. "$abs_top_srcdir/t/lib/redis-server.sh"
set -u

fsjson() {
	printf '{"persistence":{"configuration":{"provider":"filesystem","config":{"root":"%s"}},"state":{"provider":"filesystem","config":{"root":"%s"}}}}\n' \
		"$T/$1" "$T/$1" >"$T/$1.json"
}
fsjson a
fsjson b
# run ARGS...: persistctl migrate; OUT holds stdout and stderr, RC the exit
run() {
	OUT=$(ctl migrate "$@" 2>&1)
	RC=$?
}
has() { printf '%s' "$OUT" | grep -q -- "$1" && echo yes || echo "no: $OUT"; }

ctl -c "$T/a.json" state incr usage u1 5 >/dev/null
ctl -c "$T/a.json" state set links abc '{"url":"x"}' --ttl 3600 || exit 1
ctl -c "$T/a.json" state append feedback '{"n":0}' || exit 1
ctl -c "$T/a.json" state append feedback '{"n":1}' || exit 1
echo '{"a":1}' | ctl -c "$T/a.json" config set apps >/dev/null || exit 1

# a dry run writes nothing and says what it would copy
run --from "$T/a.json" --to "$T/b.json" --dry-run
check "dry run: exit" 0 $RC
check "dry run: what it would copy" yes "$(has 'would copy 2 keys and 2 records')"
check "dry run: nothing written" "0 0" "$(ctl -c "$T/b.json" state bounds feedback)"
check "dry run: no document" "" "$(ctl -c "$T/b.json" config list)"

# a target with different data is refused, the key named
ctl -c "$T/b.json" state set links abc '{"url":"other"}' || exit 1
ctl -c "$T/b.json" state set links zzz '{}' || exit 1
run --from "$T/a.json" --to "$T/b.json"
check "different data: exit" 3 $RC
check "different data: the error" yes "$(has 'the target holds different data')"
check "different data: the key named" yes "$(has 'collection "links", key "abc"')"
check "different data: the extra key named" yes "$(has 'key "zzz": only in the target')"
check "different data: nothing written" "0 0" "$(ctl -c "$T/b.json" state bounds feedback)"
check "different data: value kept" '{"url":"other"}' "$(ctl -c "$T/b.json" state get links abc)"
# --force overwrites it and removes the extra key
run --from "$T/a.json" --to "$T/b.json" --force
check "--force: exit" 0 $RC
check "--force: overwritten" '{"url":"x"}' "$(ctl -c "$T/b.json" state get links abc)"
ctl -c "$T/b.json" state get links zzz >/dev/null 2>&1
check "--force: the extra key removed" 1 $?
check "--force: the counter" 5 "$(ctl -c "$T/b.json" state get usage u1)"
check "--force: the log" "0 2" "$(ctl -c "$T/b.json" state bounds feedback)"

# a log that is not a prefix is refused, even with --force
ctl -c "$T/b.json" state append feedback '{"n":"elsewhere"}' || exit 1
ctl -c "$T/a.json" state append feedback '{"n":2}' || exit 1
run --from "$T/a.json" --to "$T/b.json" --force
check "diverging log: exit" 3 $RC
check "diverging log: why" yes "$(has 'not a prefix')"
check "diverging log: what to do" yes "$(has 'drop that collection')"
ctl -c "$T/b.json" state drop feedback || exit 1
run --from "$T/a.json" --to "$T/b.json"
check "after dropping the log: exit" 0 $RC
check "after dropping the log: copied" "0 3" "$(ctl -c "$T/b.json" state bounds feedback)"

# a progress line on a terminal (script(1) gives persistctl one), none
# otherwise
fsjson p
script -qec "$abs_top_builddir/libtool --mode=execute $abs_top_builddir/tools/persistctl migrate --from $T/a.json --to $T/p.json" \
	/dev/null >"$T/tty.out" 2>&1
check "on a terminal: exit" 0 $?
grep -q "migrate: copying: 3/3 collections, 2 keys, 3 records" "$T/tty.out"
check "on a terminal: the progress line" 0 $?
check "elsewhere: no progress line" no \
	"$(printf '%s' "$OUT" | grep -q 'migrate: copying' && echo yes || echo no)"

# kinds
printf '{"persistence":{"configuration":{"provider":"filesystem","config":{"root":"%s"}}}}\n' \
	"$T/c" >"$T/c.json"
run --from "$T/a.json" --to "$T/c.json"
check "a kind the target does not configure: exit" 2 $RC
check "a kind the target does not configure: named" yes \
	"$(has "configuration file \"$T/c.json\" (--to) does not configure state")"
run --from "$T/c.json" --to "$T/a.json" --kinds state
check "a kind the source does not configure: exit" 2 $RC
check "a kind the source does not configure: named" yes "$(has '(--from) does not configure state')"
[ ! -e persist-data ] && [ ! -e "$T/c" ] || [ -z "$(ls "$T/c" 2>/dev/null)" ]
check "nothing written for a kind left out" 0 $?
run --from "$T/a.json" --to "$T/c.json" --kinds configuration
check "--kinds configuration: exit" 0 $RC
check "--kinds configuration: the document" '{"a":1}' "$(ctl -c "$T/c.json" config get apps)"
run --from "$T/a.json" --to "$T/b.json" --kinds sessions
check "--kinds sessions: exit" 2 $RC
check "--kinds sessions: why" yes "$(has 'sessions cannot be migrated')"
run --from "$T/a.json" --to "$T/b.json" --kinds state,bogus
check "--kinds bogus: exit" 2 $RC
check "--kinds bogus: named" yes "$(has 'unknown kind "bogus"')"

# files and options
run --from "$T/a.json" --to "$T/missing.json"
check "a missing file: exit" 2 $RC
check "a missing file: named" yes "$(has 'missing.json')"
printf '{"persistence": {' >"$T/bad.json"
run --from "$T/bad.json" --to "$T/a.json"
check "an invalid file: exit" 2 $RC
check "an invalid file: named" yes "$(has 'bad.json')"
run --from "$T/a.json" --to "$T/a.json"
check "the same file: exit" 2 $RC
run --from "$T/a.json"
check "no --to: exit" 2 $RC
check "no --to: said" yes "$(has 'missing --to FILE')"
run --from "$T/a.json" --to "$T/b.json" --ttl 5
check "an option of another command: exit" 2 $RC
run --from "$T/a.json" --to "$T/b.json" extra
check "an argument too many: exit" 2 $RC

# a provider that is down, on either side
redis_start down || exit 99
r="{\"provider\":\"redis\",\"config\":{\"url\":\"$REDIS_URL\",\"connectTimeout\":500}}"
printf '{"persistence":{"configuration":%s,"state":%s}}\n' "$r" "$r" >"$T/redis.json"
redis_stop down
run --from "$T/a.json" --to "$T/redis.json"
check "a target that is down: exit" 3 $RC
check "a target that is down: named" yes "$(has 'redis')"
run --from "$T/redis.json" --to "$T/b.json"
check "a source that is down: exit" 3 $RC
# a primary that is down while its fallback serves
printf '{"persistence":{"configuration":%s,"state":{"provider":"redis","config":{"url":"%s","connectTimeout":500,"spoolDir":"%s"},"fallback":{"provider":"filesystem","config":{"root":"%s"}}}}}\n' \
	"$r" "$REDIS_URL" "$T/spool" "$T/fb" >"$T/fallback.json"
run --from "$T/a.json" --to "$T/fallback.json" --kinds state
check "a target in fallback: exit" 3 $RC
check "a target in fallback: refused" yes "$(has 'state provider of')"
ctl_check_end
