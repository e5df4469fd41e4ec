#!/bin/sh
# fuzz/run.sh [SECONDS] - run every fuzz target for SECONDS (default 10)
# from the build directory of `./configure --enable-fuzzing CC=clang &&
# make fuzz`.  Each target starts from its seed corpus (fuzz/corpus/NAME,
# copied to a scratch corpus so the tree is not changed) and its regress
# inputs; a crash leaves the input as fuzz/crash-NAME-* and fails the run.
# Prints each target's executions per second.
set -u
seconds=${1:-10}
here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/.." && pwd)
builddir=${FUZZ_BUILDDIR:-$(pwd)}
work=$(mktemp -d "${TMPDIR:-/tmp}/persist-fuzz-run.XXXXXX") || exit 2
# the targets' scratch directories (fuzz/fuzz.h), removed with the rest
# even when libFuzzer ends without their own cleanup
FUZZ_SCRATCH=$(mktemp -d /dev/shm/persist-fuzz-scratch.XXXXXX 2>/dev/null) ||
	FUZZ_SCRATCH=$work
export FUZZ_SCRATCH
trap 'rm -rf "$work" "$FUZZ_SCRATCH"' EXIT
status=0 n=0
for bin in "$builddir"/fuzz/fuzz-*; do
	t=${bin##*/fuzz-}
	case $t in *.*|'*') continue ;; esac
	[ -x "$bin" ] || continue
	n=$((n + 1))
	mkdir -p "$work/$t"
	cp "$srcdir/fuzz/corpus/$t/"* "$work/$t/" 2>/dev/null
	seeds=
	[ -d "$srcdir/fuzz/regress/$t" ] && seeds=$srcdir/fuzz/regress/$t
	"$bin" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=1024 \
		-print_final_stats=1 -artifact_prefix="$builddir/fuzz/crash-$t-" \
		"$work/$t" $seeds >"$work/$t.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
	secs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$t.log")
	cov=$(grep -o 'cov: [0-9]*' "$work/$t.log" | tail -1)
	if [ $rc -ne 0 ]; then
		echo "FAIL fuzz-$t: exit $rc after ${runs:-?} runs"
		tail -60 "$work/$t.log"
		status=1
	else
		echo "ok   fuzz-$t: ${runs:-?} runs in ${seconds}s, ${secs:-?} exec/s, $cov"
	fi
done
[ "$n" -gt 0 ] || { echo "fuzz/run.sh: no fuzz/fuzz-* program in $builddir (make fuzz)" >&2; exit 2; }
exit $status
