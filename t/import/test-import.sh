#!/bin/sh
# t/import/test-import.sh - `persistctl import-platform` end to end:
# generated platforms of every usage.json schema generation imported into
# the filesystem provider and into a private redis-server, read back with
# persistctl (every counter equal to the generator's total, every log
# record once and in order, live links with their expiry as TTL, documents
# byte for byte with ${VAR} and ENC[...] unresolved); a second import adds
# nothing, and one after the platform appended feedback adds only that;
# --dry-run writes nothing; different data is refused without --force;
# a malformed file of each kind and an unknown schema generation are
# refused naming the file, and nothing is written.
# Run through t/run-test.  Ends with "N passed, N failed".
set -u
. "$abs_top_srcdir/t/lib/ctl-check.sh"
. "$abs_top_srcdir/t/import/import-lib.sh"
. "$abs_top_srcdir/t/lib/redis-server.sh"

# empty_store LABEL CONFIG: nothing at all in the store
empty_store() {
	check "$1: no document written" "" "$(ctl -c "$2" config list 2>&1)"
	for _coll in usage feedback usage-events shortlinks; do
		check "$1: nothing in $_coll" "" \
			"$(ctl -c "$2" state scan "$_coll" 2>&1)$(ctl -c "$2" state log "$_coll" 2>&1)"
	done
}

# --- filesystem, generation 3 ---------------------------------------------
NOW=$(imp_now)
imp_gen 3 "$T/p3" "$NOW"
imp_fs_config "$T/fs.json" "$T/fs"
ctl import-platform "$T/p3" --to "$T/fs.json" >"$T/out" 2>"$T/err"
check "fs: import exit" 0 $?
[ "$failed" -gt 0 ] && cat "$T/out" "$T/err"
grep -q "schema generation 3" "$T/out"
check "fs: generation told" 0 $?
imp_check_store "fs" "$T/fs.json" "$T/p3"

ctl import-platform "$T/p3" --to "$T/fs.json" >"$T/out2" 2>"$T/err"
check "fs: second import exit" 0 $?
IMP_DOCS=0
imp_check_store "fs, imported twice" "$T/fs.json" "$T/p3"
IMP_DOCS=1

# the platform went on appending feedback: only the new records are added
printf '{"id":"new-1","rating":5}\n{"id":"new-2","rating":1}\n' >>"$T/p3/contents/data/feedback.jsonl"
printf '{"id":"new-1","rating":5}\n{"id":"new-2","rating":1}\n' >>"$T/p3/expected/feedback.log"
ctl import-platform "$T/p3" --to "$T/fs.json" >/dev/null 2>"$T/err"
check "fs: import after appends exit" 0 $?
ctl -c "$T/fs.json" state log feedback >"$T/got"
cmp -s "$T/p3/expected/feedback.log" "$T/got"
check "fs: only the appended feedback added" 0 $?

# different data: refused without --force, taken with it
cp -R "$T/p3" "$T/p3b"
python3 - "$T/p3b/contents/data/usage.json" <<'EOP'
import json, sys
d = json.load(open(sys.argv[1]))
d['messages']['total'] += 1000
json.dump(d, open(sys.argv[1], 'w'))
EOP
want=$(grep '^messages.total	' "$T/p3/expected/counters" | cut -f2)
ctl import-platform "$T/p3b" --to "$T/fs.json" >"$T/out" 2>"$T/err"
check "fs: different data refused, exit 3" 3 $?
check "fs: refused, nothing changed" "$want" "$(ctl -c "$T/fs.json" state get usage messages.total)"
ctl import-platform "$T/p3b" --to "$T/fs.json" --force >"$T/out" 2>"$T/err"
check "fs: --force exit" 0 $?
check "fs: --force sets the file's total" "$((want + 1000))" \
	"$(ctl -c "$T/fs.json" state get usage messages.total)"

# --dry-run writes nothing
imp_fs_config "$T/dry.json" "$T/dry"
ctl import-platform "$T/p3" --to "$T/dry.json" --dry-run >"$T/out" 2>"$T/err"
check "dry run: exit" 0 $?
empty_store "dry run" "$T/dry.json"

# --- malformed files and an unknown generation: nothing written -----------
# refused LABEL FILE PATTERN: import of $T/b into a fresh store exits 2,
# names FILE and PATTERN, and leaves the store empty
refused() {
	rm -rf "$T/bs"
	imp_fs_config "$T/b.json" "$T/bs"
	ctl import-platform "$T/b" --to "$T/b.json" >/dev/null 2>"$T/err"
	check "$1: exit 2" 2 $?
	grep -q -e "$2" "$T/err" && grep -q -e "$3" "$T/err"
	check "$1: names $2 and $3" 0 $?
	[ "$failed" -gt 0 ] && cat "$T/err"
	empty_store "$1" "$T/b.json"
}
broken() { rm -rf "$T/b"; cp -R "$T/p3" "$T/b"; }
broken; printf '{"version": 2, "messages": {}}' >"$T/b/contents/data/usage.json"
refused "unknown generation" "usage.json" "unknown schema generation"
broken; sed -i '3s/.$/!/' "$T/b/contents/data/usage.json"
refused "usage.json" "usage.json" "line 3"
broken; sed -i '100s/^/x/' "$T/b/contents/data/feedback.jsonl"
refused "feedback.jsonl" "feedback.jsonl" "invalid line 100"
broken; sed -i '2000s/}$//' "$T/b/contents/data/usage-events.jsonl"
refused "usage-events.jsonl" "usage-events.jsonl" "invalid line 2000"
broken; printf '{"links": [{"url": "https://example.com/"}]}' >"$T/b/contents/data/shortlinks.json"
refused "shortlinks.json" "shortlinks.json" "links\[0\].code"
broken; printf '{"theme": "dark",}' >"$T/b/contents/config/models/gpt-4o.json"
refused "config item" "contents/config/models/gpt-4o.json" "line 1"

# --- redis, generations 1 and 2 ----------------------------------------------
redis_start main
for g in 1 2; do
	cat >"$T/redis$g.json" <<EOJ
{"persistence": {
  "configuration": {"provider": "redis", "config": {"url": "$REDIS_URL", "prefix": "g$g:"}},
  "state": {"provider": "redis", "config": {"url": "$REDIS_URL", "prefix": "g$g:"}},
  "sessions": {"provider": "memory"}}}
EOJ
	NOW=$(imp_now)
	imp_gen "$g" "$T/p$g" "$NOW"
	ctl import-platform "$T/p$g" --to "$T/redis$g.json" >"$T/out" 2>"$T/err"
	check "redis generation $g: import exit" 0 $?
	[ "$failed" -gt 0 ] && cat "$T/out" "$T/err"
	# documents byte for byte once (generation 1); keys for both
	IMP_DOCS=$((2 - g))
	imp_check_store "redis generation $g" "$T/redis$g.json" "$T/p$g"
	# each live link expires when its expiresAt says (the provider's
	# expiry index holds the wall-clock time), within 5 s
	redis_cli main ZRANGE "g$g:s:{shortlinks}:x" 0 -1 WITHSCORES | paste - - >"$T/ttl"
	python3 - "$T/p$g/expected/links" "$T/ttl" <<'EOP'
import sys
want = {c: int(e) for c, e in (l.split('\t') for l in open(sys.argv[1]))}
got = {c: int(float(e)) for c, e in (l.rstrip('\n').split('\t') for l in open(sys.argv[2]))}
timed = {c: e for c, e in want.items() if e}
bad = [c for c in timed if c not in got or abs(got[c] - timed[c]) > 5000]
bad += [c for c in got if c not in timed]
print('%d links with a TTL, %d wrong: %s' % (len(timed), len(bad), bad[:5]))
sys.exit(1 if bad or not timed else 0)
EOP
	check "redis generation $g: links expire at their expiresAt" 0 $?
	ctl import-platform "$T/p$g" --to "$T/redis$g.json" >/dev/null 2>"$T/err"
	check "redis generation $g: second import exit" 0 $?
	ctl -c "$T/redis$g.json" state scan usage >"$T/got"
	cmp -s "$T/p$g/expected/counters" "$T/got"
	check "redis generation $g: counters not doubled" 0 $?
	ctl -c "$T/redis$g.json" state log feedback >"$T/got"
	cmp -s "$T/p$g/expected/feedback.log" "$T/got"
	check "redis generation $g: feedback not doubled" 0 $?
done

ctl_check_end
