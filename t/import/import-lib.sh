# t/import/import-lib.sh - what the import tests share (sourced after
# t/lib/ctl-check.sh): generating a platform directory and comparing a
# store with what the generator expects.
#
#   imp_now                       wall clock in ms
#   imp_gen GEN DIR NOW           a platform of schema generation GEN in DIR
#   imp_fs_config FILE ROOT       a configuration: filesystem config and state under ROOT
#   imp_check_store LABEL CONFIG DIR
#                                 every counter, log record, live link and
#                                 document of DIR's expected/ in the store,
#                                 nothing more, documents byte for byte
#                                 (IMP_DOCS=0: the document keys only)
IMP_GEN=$abs_top_srcdir/t/import/gen-platform.py

imp_now() { date +%s%3N; }

imp_gen() {
	python3 "$IMP_GEN" --seed "$((7 * $1 + 1))" --generation "$1" --now "$3" --out "$2"
}

imp_fs_config() {
	cat >"$1" <<EOJ
{"persistence": {
  "configuration": {"provider": "filesystem", "config": {"root": "$2/config", "fsync": "never"}},
  "state": {"provider": "filesystem", "config": {"root": "$2/state", "fsync": "never"}},
  "sessions": {"provider": "memory"}}}
EOJ
}

imp_check_store() {
	_l=$1 _c=$2 _d=$3
	ctl -c "$_c" state scan usage >"$T/got-counters" 2>"$T/err"
	check "$_l: counters read" 0 $?
	cmp -s "$_d/expected/counters" "$T/got-counters"
	check "$_l: every counter equals the expected total ($(wc -l <"$_d/expected/counters") counters)" 0 $?
	[ "$failed" -gt 0 ] && diff "$_d/expected/counters" "$T/got-counters" | head -5
	ctl -c "$_c" state log feedback >"$T/got-feedback"
	cmp -s "$_d/expected/feedback.log" "$T/got-feedback"
	check "$_l: feedback log, once each, in order ($(wc -l <"$T/got-feedback") records)" 0 $?
	ctl -c "$_c" state log usage-events >"$T/got-events"
	cmp -s "$_d/expected/events.log" "$T/got-events"
	check "$_l: usage-events log, once each, in order ($(wc -l <"$T/got-events") records)" 0 $?
	ctl -c "$_c" state scan shortlinks >"$T/got-links"
	cut -f1 "$T/got-links" >"$T/got-codes"
	cut -f1 "$_d/expected/links" >"$T/want-codes"
	cmp -s "$T/want-codes" "$T/got-codes"
	check "$_l: live links present, expired ones not ($(wc -l <"$T/got-codes") live)" 0 $?
	# each link's value is the file's link object, every field kept
	python3 - "$_d/contents/data/shortlinks.json" "$T/got-links" <<'EOP'
import json, sys
want = {l['code']: l for l in json.load(open(sys.argv[1], encoding='utf-8'))['links']}
bad = 0
for line in open(sys.argv[2], encoding='utf-8'):
    code, value = line.rstrip('\n').split('\t', 1)
    if json.loads(value) != want.get(code):
        bad += 1
        print('link %s differs: %s' % (code, value))
sys.exit(1 if bad else 0)
EOP
	check "$_l: link values are the links' JSON" 0 $?
	ctl -c "$_c" config list >"$T/got-keys"
	cut -f1 "$_d/expected/documents" >"$T/want-keys"
	cmp -s "$T/want-keys" "$T/got-keys"
	check "$_l: document keys ($(wc -l <"$T/got-keys"), ignored files left out)" 0 $?
	[ "${IMP_DOCS:-1}" = 0 ] && return 0
	_bad=0
	while IFS='	' read -r _k _f; do
		ctl -c "$_c" config get "$_k" >"$T/got-doc"
		cmp -s "$_d/$_f" "$T/got-doc" || { _bad=$((_bad + 1)); echo "document $_k differs"; }
	done <"$_d/expected/documents"
	check "$_l: documents byte for byte" 0 "$_bad"
	ctl -c "$_c" config get platform | grep -c -e '\${JWT_SECRET}' -e 'ENC\[AES256_GCM' >"$T/n"
	check "$_l: \${VAR} and ENC[...] left unresolved" 2 "$(cat "$T/n")"
}
