#!/bin/sh
# t/docs/test-man.sh - the manual pages of doc/man: each one renders with
# groff without a single warning, and the pages of the two programs cannot
# silently fall behind them: every command and option that
# `persistctl --help` lists must appear in persistctl.1, every option of
# `persist-conformance --help` in persist-conformance.1, and
# persist-plugin.7 must state the plugin ABI version of plugin.h.  The checker
# is run once on a copy of persistctl.1 with a command removed, which it
# must catch (so this test can fail).
#
# Run through t/run-test (make check).  Ends with "N passed, N failed";
# exit 1 on failure.
set -u

: "${abs_top_builddir:?run through t/run-test}"
: "${abs_top_srcdir:?run through t/run-test}"
: "${PERSIST_TEST_TMP:?run through t/run-test}"

MAN=$abs_top_srcdir/doc/man
T=$PERSIST_TEST_TMP
PAGES="persistctl.1 persist.json.5 persist-plugin.7 persist-conformance.1"
pass=0
failed=0

ok() { pass=$((pass + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

command -v groff >/dev/null 2>&1 || {
	echo "FAIL: groff is not installed (etc/install-deps.sh installs groff-base)"
	exit 1
}

# Render a page as plain text on one line, words separated by one space.
render() {
	LC_ALL=C groff -man -Tascii -P-cbou -rLL=200n "$1" 2>/dev/null | tr -s ' \n\t' '   '
}

# The commands of a --help text: the lines indented by exactly two spaces
# under "Commands:", up to the first argument (a word in capitals, [ or -).
help_commands() {
	awk '/^Commands:/ { on = 1; next }
	     on && /^$/ { exit }
	     on && /^  [^ ]/ {
		cmd = ""
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^[A-Z[-]/) break
			cmd = cmd (cmd == "" ? "" : " ") $i
		}
		print cmd
	     }'
}

# The options of a --help or usage text (-x and --long).
help_options() {
	grep -o -- '\(^\|[ [,]\)--*[a-zA-Z][a-zA-Z-]*' | sed 's/^[ [,]//' | sort -u
}

# Check that every line of $2 (commands or options) appears in the rendered
# page $1; print the ones missing; false when any is.
covers() {
	text=" $(render "$1") "
	missing=
	while IFS= read -r item; do
		[ -n "$item" ] || continue
		case $text in
		*" $item "* | *" $item,"* | *" $item."* | *"[$item "* | *"[$item]"* | *" $item="*) ;;
		*) missing="$missing \"$item\"" ;;
		esac
	done < "$2"
	[ -z "$missing" ] && return 0
	echo "  missing from $(basename "$1"):$missing"
	return 1
}

# 1. every page renders without warnings
for page in $PAGES; do
	if [ ! -f "$MAN/$page" ]; then
		fail "$page: no such page"
		continue
	fi
	warnings=$(LC_ALL=C groff -man -ww -z "$MAN/$page" 2>&1)
	if [ -n "$warnings" ]; then
		fail "$page: groff warnings:"
		printf '%s\n' "$warnings" | sed 's/^/  /'
	elif [ -z "$(render "$MAN/$page")" ]; then
		fail "$page: renders empty"
	else
		ok "$page renders without warnings"
	fi
done

# 2. persistctl.1 names every command and option of persistctl --help
"$abs_top_builddir/tools/persistctl" --help > "$T/ctl-help" 2>&1
help_commands < "$T/ctl-help" > "$T/ctl-commands"
n=$(wc -l < "$T/ctl-commands")
if [ "$n" -lt 20 ]; then
	fail "persistctl --help lists only $n commands; the parser lost track"
	cat "$T/ctl-help"
elif covers "$MAN/persistctl.1" "$T/ctl-commands"; then
	ok "persistctl.1 names all $n commands of persistctl --help"
else
	fail "persistctl.1 lacks commands of persistctl --help"
fi
help_options < "$T/ctl-help" > "$T/ctl-options"
if [ "$(wc -l < "$T/ctl-options")" -lt 8 ]; then
	fail "persistctl --help: only $(wc -l < "$T/ctl-options") options found"
elif covers "$MAN/persistctl.1" "$T/ctl-options"; then
	ok "persistctl.1 names every option of persistctl --help ($(tr '\n' ' ' < "$T/ctl-options"))"
else
	fail "persistctl.1 lacks options of persistctl --help"
fi

# 3. the checker catches a page that fell behind
sed '/^\.BI "state bounds " C$/d' "$MAN/persistctl.1" > "$T/behind.1"
if cmp -s "$MAN/persistctl.1" "$T/behind.1"; then
	fail "could not remove \"state bounds\" from a copy of persistctl.1"
elif covers "$T/behind.1" "$T/ctl-commands" > "$T/behind.out"; then
	fail "a persistctl.1 without \"state bounds\" passed the check"
elif grep -q '"state bounds"' "$T/behind.out"; then
	ok "a page without \"state bounds\" is caught: $(cat "$T/behind.out")"
else
	fail "the check of a page without \"state bounds\" named: $(cat "$T/behind.out")"
fi

# 4. persist-conformance.1 names every option of its usage
"$abs_top_builddir/t/conformance/persist-conformance" --help > "$T/conf-help" 2>&1
help_options < "$T/conf-help" > "$T/conf-options"
if [ "$(wc -l < "$T/conf-options")" -lt 4 ]; then
	fail "persist-conformance --help: only $(wc -l < "$T/conf-options") options found"
	cat "$T/conf-help"
elif covers "$MAN/persist-conformance.1" "$T/conf-options"; then
	ok "persist-conformance.1 names every option of its usage ($(tr '\n' ' ' < "$T/conf-options"))"
else
	fail "persist-conformance.1 lacks options of persist-conformance --help"
fi

# 5. persist-plugin.7 states the plugin ABI of plugin.h and its history
major=$(sed -n 's/^#define PERSIST_ABI_MAJOR  *\([0-9][0-9]*\).*/\1/p' \
	"$abs_top_srcdir/include/persist/plugin.h")
minor=$(sed -n 's/^#define PERSIST_ABI_MINOR  *\([0-9][0-9]*\).*/\1/p' \
	"$abs_top_srcdir/include/persist/plugin.h")
text=$(render "$MAN/persist-plugin.7")
case $text in
"") fail "persist-plugin.7 renders empty" ;;
*"now $major.$minor."*"History:"*" $major.$minor added"*)
	ok "persist-plugin.7 states ABI $major.$minor, as plugin.h does, and what it added" ;;
*) fail "persist-plugin.7 does not say \"now $major.$minor\" and what $major.$minor added (plugin.h: ABI $major.$minor)" ;;
esac

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
