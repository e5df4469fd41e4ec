#!/bin/sh
# t/import/test-import-readers.sh - the readers of import-platform on
# their own (t/import/import-fill: the platform's files straight into a
# filesystem store, no copy engine): a generated platform of each schema
# generation of usage.json reads back exactly as the generator expects;
# a malformed file of each kind is refused naming the file and the line,
# byte or field; an unknown schema generation is refused; a torn last
# JSONL line is skipped and counted.
# Run through t/run-test.  Ends with "N passed, N failed".
set -u
. "$abs_top_srcdir/t/lib/ctl-check.sh"
. "$abs_top_srcdir/t/import/import-lib.sh"

fill() {
	"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} \
		"$abs_top_builddir/t/import/import-fill" "$@"
}

for g in 1 2 3; do
	NOW=$(imp_now)
	imp_gen "$g" "$T/p$g" "$NOW"
	imp_fs_config "$T/fs$g.json" "$T/store$g"
	fill "$T/p$g" "$T/fs$g.json" >"$T/out" 2>"$T/err"
	check "generation $g: import-fill exit" 0 $?
	grep -q "schema generation $g:" "$T/out"
	check "generation $g: detected" 0 $?
	grep -q "$(cat "$T/p$g/expected/links-expired") expired ones skipped" "$T/out"
	check "generation $g: expired links counted" 0 $?
	[ "$failed" -gt 0 ] && cat "$T/out"
	# documents do not depend on the generation: compared byte for byte once
	IMP_DOCS=$((g / 3))
	imp_check_store "generation $g" "$T/fs$g.json" "$T/p$g"
done

# broken DIR: a copy of generation 3's platform to spoil
broken() {
	rm -rf "$T/b" "$T/bs"
	cp -R "$T/p3" "$T/b"
	imp_fs_config "$T/b.json" "$T/bs"
}
# refused LABEL PATTERN...: import-fill of $T/b exits 2, stderr has each pattern
refused() {
	_label=$1; shift
	fill "$T/b" "$T/b.json" >/dev/null 2>"$T/err"
	check "$_label: exit 2" 2 $?
	for _p in "$@"; do
		grep -q -e "$_p" "$T/err"
		check "$_label: message has \"$_p\"" 0 $?
	done
	[ "$failed" -gt 0 ] && cat "$T/err"
}

broken
sed -i '5s/$/ x/' "$T/b/contents/data/usage.json"
refused "usage.json not JSON" 'contents/data/usage.json' 'at line 5'
broken
printf '{"version": 4, "messages": {}}\n' >"$T/b/contents/data/usage.json"
refused "usage.json version 4" 'unknown schema generation' 'usage.json": version 4'
broken
printf '{"calls": {"alice": 3}}\n' >"$T/b/contents/data/usage.json"
refused "usage.json of no known shape" 'unknown schema generation' 'totalMessages'
broken
printf '{"version": 3, "messages": {"total": 2, "perUser": {"bob": -1}}}\n' >"$T/b/contents/data/usage.json"
refused "negative count" 'invalid count -1 at "messages.perUser.bob"'
broken
printf '{"totalMessages": 3, "totalCost": 2}\n' >"$T/b/contents/data/usage.json"
refused "field of another generation" 'unexpected field "totalCost"' 'generation 1'
broken
sed -i '7s/^{/{,/' "$T/b/contents/data/feedback.jsonl"
refused "feedback.jsonl line 7" 'invalid line 7 of' 'feedback.jsonl' 'at byte 1'
broken
printf '{"type": "chat"}\n{"type": \n{"type": "chat"}\n' >"$T/b/contents/data/usage-events.jsonl"
refused "usage-events.jsonl line 2" 'invalid line 2 of' 'usage-events.jsonl'
broken
sed -i '0,/"code": "L[0-9]*"/s//"code": 17/' "$T/b/contents/data/shortlinks.json"
refused "link without a string code" 'links\[0\].code' 'shortlinks.json'
broken
sed -i '0,/"expiresAt": "[^"]*"/s//"expiresAt": "next tuesday"/' "$T/b/contents/data/shortlinks.json"
refused "unreadable expiresAt" 'links\[0\].expiresAt' 'next tuesday'
broken
printf '{"links": [{"code": "a"}, {"code": "a"}]}' >"$T/b/contents/data/shortlinks.json"
refused "duplicate code" 'duplicate short link code "a"' 'links\[0\] and links\[1\]'
broken
printf '{\n  "id": "chat",\n  "name": {"en": "Chat"\n' >"$T/b/contents/config/apps/chat.json"
refused "truncated app" 'contents/config/apps/chat.json' 'line 4'
broken
printf '{"a": NaN}' >"$T/b/contents/config/ui.json"
refused "NaN in a document" 'contents/config/ui.json'

# a torn last line (no line ending) is skipped and counted
broken
printf '{"id": "torn", "rat' >>"$T/b/contents/data/feedback.jsonl"
fill "$T/b" "$T/b.json" >"$T/out" 2>"$T/err"
check "torn last line: exit" 0 $?
grep -q '1 torn last lines skipped' "$T/out"
check "torn last line: counted" 0 $?
ctl -c "$T/b.json" state log feedback >"$T/got"
cmp -s "$T/p3/expected/feedback.log" "$T/got"
check "torn last line: the complete records all there" 0 $?

# a link's TTL runs from the import on: one 2.5 s away is there, then gone
broken
NOW=$(imp_now)
printf '{"links": [{"code": "soon", "expiresAt": %s}, {"code": "later", "expiresAt": %s}]}' \
	"$((NOW + 2500))" "$((NOW + 86400000))" >"$T/b/contents/data/shortlinks.json"
fill "$T/b" "$T/b.json" >/dev/null 2>"$T/err"
check "short TTL: exit" 0 $?
check "short TTL: there at first" '{"code":"soon","expiresAt":'"$((NOW + 2500))"'}' \
	"$(ctl -c "$T/b.json" state get shortlinks soon)"
sleep 3
ctl -c "$T/b.json" state get shortlinks soon >/dev/null 2>&1
check "short TTL: expired 2.5 s after the import" 1 $?
ctl -c "$T/b.json" state get shortlinks later >/dev/null 2>&1
check "short TTL: the day-long one stays" 0 $?

# absent data files are no error, and said
broken
rm "$T/b/contents/data/shortlinks.json" "$T/b/contents/data/usage-events.jsonl"
fill "$T/b" "$T/b.json" >"$T/out" 2>"$T/err"
check "absent files: exit" 0 $?
grep -q 'absent, nothing imported from them: contents/data/usage-events.jsonl, contents/data/shortlinks.json' "$T/out"
check "absent files: listed" 0 $?
fill "$T/nowhere" "$T/b.json" >/dev/null 2>"$T/err"
check "not a platform root: exit 2" 2 $?
grep -q "is not the platform's root directory" "$T/err"
check "not a platform root: said" 0 $?

ctl_check_end
