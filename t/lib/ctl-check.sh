# t/lib/ctl-check.sh - what the small persistctl scripts share (sourced,
# through t/run-test): `ctl ARGS` runs the built persistctl (under
# $PERSIST_TEST_WRAPPER when set), `check NAME EXPECTED ACTUAL` counts a
# pass or prints the difference, and `ctl_check_end` prints
# "N passed, N failed" and fails when any check did.  T is the test's
# private directory.
: "${abs_top_builddir:?run through t/run-test}"
: "${PERSIST_TEST_TMP:?run through t/run-test}"

T=$PERSIST_TEST_TMP
pass=0
failed=0

ctl() {
	"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} \
		"$abs_top_builddir/tools/persistctl" "$@"
}
# check NAME EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then
		pass=$((pass + 1))
	else
		failed=$((failed + 1))
		printf 'FAIL %s\n  expected: %s\n  got:      %s\n' "$1" "$2" "$3"
	fi
}
ctl_check_end() {
	echo "$pass passed, $failed failed"
	[ "$failed" -eq 0 ]
}
