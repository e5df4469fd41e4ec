# t/fallback/outage-lib.sh - sourced by the outage tests: run two host
# processes of test-outage-host against a backend while the calling
# script breaks it, then check what the backend holds.
#
#   outage_start BACKEND   start hosts A and B, wait until both work
#   outage_finish BACKEND  tell the hosts to stop, wait for them, print
#                          their logs, run the check; exits with its status
# OUTAGE_CYCLES is 1 with PERSIST_TEST_QUICK=1, else 3 (or as set).
set -u
_outage_host="$abs_top_builddir/t/fallback/test-outage-host"
_outage_done=$PERSIST_TEST_TMP/outage-done
if [ -n "${PERSIST_TEST_QUICK:-}" ] && [ "${PERSIST_TEST_QUICK:-0}" != 0 ]; then
	OUTAGE_CYCLES=${OUTAGE_CYCLES:-1}
else
	OUTAGE_CYCLES=${OUTAGE_CYCLES:-3}
fi
_outage_pids=

# Run test-outage-host with the arguments given (through libtool, under
# $PERSIST_TEST_WRAPPER when set).
_outage_run() {
	"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} "$_outage_host" "$@"
}

outage_start() {
	for _oh in A B; do
		_outage_run run "$_oh" "$1" "$_outage_done" \
			>"$PERSIST_TEST_TMP/host-$_oh.out" 2>"$PERSIST_TEST_TMP/host-$_oh.err" &
		_outage_pids="$_outage_pids $!"
	done
	for _oh in A B; do
		_oi=0
		until grep -q '^running' "$PERSIST_TEST_TMP/host-$_oh.out" 2>/dev/null; do
			if [ $_oi -gt 600 ]; then
				echo "outage: host $_oh did not start"
				cat "$PERSIST_TEST_TMP/host-$_oh.err"
				kill $_outage_pids 2>/dev/null
				exit 1
			fi
			sleep 0.05
			_oi=$((_oi + 1))
		done
	done
}

outage_finish() {
	: >"$_outage_done"
	_orc=0
	for _op in $_outage_pids; do
		wait "$_op" || _orc=1
	done
	for _oh in A B; do
		echo "--- host $_oh (warnings, last 15 lines)"
		tail -15 "$PERSIST_TEST_TMP/host-$_oh.err"
	done
	echo "---"
	_outage_run check "$1" A B || _orc=1
	[ $_orc -eq 0 ] || echo "outage: FAILED"
	exit $_orc
}
