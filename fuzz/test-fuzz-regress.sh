#!/bin/sh
# fuzz/test-fuzz-regress.sh - replay every fuzz target's seed corpus and
# the inputs that once made it crash (fuzz/regress/NAME/) through
# fuzz/replay-NAME, built by any compiler: a fixed crash stays fixed in
# the normal make check, and under the sanitizer and valgrind passes.
set -u
: "${abs_top_builddir:?run through t/run-test}" "${abs_top_srcdir:?}"
status=0 n=0
for bin in "$abs_top_builddir"/fuzz/replay-*; do
	t=${bin##*/replay-}
	case $t in *.*|'*') continue ;; esac
	n=$((n + 1))
	dirs=$abs_top_srcdir/fuzz/corpus/$t
	[ -d "$abs_top_srcdir/fuzz/regress/$t" ] && dirs="$dirs $abs_top_srcdir/fuzz/regress/$t"
	if [ -n "${PERSIST_TEST_WRAPPER:-}" ]; then
		"$abs_top_builddir/libtool" --mode=execute $PERSIST_TEST_WRAPPER "$bin" $dirs
	else
		"$bin" $dirs
	fi || { echo "FAIL: replay-$t" >&2; status=1; }
done
[ "$n" -gt 0 ] || { echo "no fuzz/replay-* program built" >&2; exit 1; }
exit $status
