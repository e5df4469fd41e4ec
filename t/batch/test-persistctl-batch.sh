#!/bin/sh
# t/batch/test-persistctl-batch.sh - persistctl with the state write queue:
# `stats` shows the settings in force (on and off), `state flush` works,
# writes of a one-shot persistctl are stored by its close (a later run reads
# them), `state incr` returns the stored value, and an out-of-range
# batchInterval is a configuration error (exit 2) naming the key; with
# journalQueued, stats and check print the queue journals' line, and
# journalQueued without spoolDir is a configuration error.
# Run through t/run-test.  Ends with "N passed, N failed".
set -u
. "$abs_top_srcdir/t/lib/ctl-check.sh"
# conf FILE STATE_EXTRA: a configuration with filesystem state under $T/s
conf() {
	cat >"$1" <<EOJ
{"persistence": {
  "configuration": {"provider": "memory"},
  "state": {"provider": "filesystem", "config": {"root": "$T/s"$2}},
  "sessions": {"provider": "memory"}}}
EOJ
}
conf "$T/on.json" ', "batchInterval": 60000, "batchMaxOps": 500'
conf "$T/off.json" ''
conf "$T/bad.json" ', "batchInterval": 99999999999'

out=$(ctl -c "$T/on.json" stats | sed -n 2p)
check "stats on" "batching: on, every 60000 ms or at 500 operations or 4194304 bytes" "$out"
out=$(ctl -c "$T/on.json" stats | grep '^queue limit')
check "stats limit" "queue limit: 8000 operations, 67108864 bytes" "$out"
out=$(ctl -c "$T/off.json" stats | sed -n 2p)
check "stats off" "batching: off (writes are stored before each call returns)" "$out"
ctl -c "$T/on.json" state set u k hello; check "set exit" 0 $?
out=$(ctl -c "$T/off.json" state get u k)
check "set stored by close" "hello" "$out"
out=$(ctl -c "$T/on.json" state incr u n 5)
check "incr" "5" "$out"
out=$(ctl -c "$T/on.json" state incr u n 2)
check "incr again" "7" "$out"
ctl -c "$T/on.json" state flush; check "flush exit" 0 $?
ctl -c "$T/bad.json" stats 2>"$T/err"; check "bad interval exit" 2 $?
grep -q 'batchInterval' "$T/err"; check "bad interval names the key" 0 $?

# journalQueued: stats and check show the queue's journals
conf "$T/jq.json" ", \"batchInterval\": 60000, \"journalQueued\": true, \"spoolDir\": \"$T/spool\""
conf "$T/jq-bad.json" ', "batchInterval": 60000, "journalQueued": true'
out=$(ctl -c "$T/jq.json" stats | grep '^queued-write journal')
check "stats journal" "queued-write journal: 0 records waiting, 0 bytes in 0 files (this process: $T/spool/state.queue.0.journal)" "$out"
out=$(ctl -c "$T/on.json" stats | grep '^queued-write journal')
check "stats journal off" "queued-write journal: off (a crash loses what was queued since the last flush)" "$out"
out=$(ctl -c "$T/jq.json" check | grep 'queued-write journal' | sed 's/^ *//')
check "check journal" "queued-write journal: 0 records waiting, 0 bytes in 0 files (this process: $T/spool/state.queue.0.journal)" "$out"
ctl -c "$T/jq.json" state incr u j 3 >/dev/null; check "journaled incr exit" 0 $?
ctl -c "$T/jq-bad.json" stats 2>"$T/err"; check "journalQueued without spoolDir exit" 2 $?
grep -q 'journalQueued needs spoolDir' "$T/err"; check "journalQueued without spoolDir says so" 0 $?

ctl_check_end
