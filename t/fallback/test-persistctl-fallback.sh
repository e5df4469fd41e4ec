#!/bin/sh
# t/fallback/test-persistctl-fallback.sh - persistctl with a state
# provider that has a fallback: `check` and `stats` show the mode and the
# journal.  The primary is redis on a loopback port where nothing
# listens, so every write finds it down: `state incr` is answered by the
# filesystem fallback and journaled; the next `check` opens with the
# journal pending (mode replaying), says the primary is unavailable
# (exit 3) and shows the pending write, and both say how the journal is
# replayed (by write time when the primary has batch_once_dated).  Ends
# with "N passed, N failed".
set -u
. "$abs_top_srcdir/t/lib/ctl-check.sh"
cat >"$T/down.json" <<EOJ
{"persistence": {
  "configuration": {"provider": "memory"},
  "state": {"provider": "redis",
            "config": {"url": "redis://127.0.0.1:1/0", "connectTimeout": 200,
                       "spoolDir": "$T/spool", "healthInterval": 60000},
            "fallback": {"provider": "filesystem", "config": {"root": "$T/fb"}}},
  "sessions": {"provider": "memory"}}}
EOJ
cat >"$T/nospool.json" <<EOJ
{"persistence": {"state": {"provider": "memory",
  "fallback": {"provider": "filesystem", "config": {"root": "$T/fb"}}}}}
EOJ
# the health thread may find redis down while stats runs: either line is right
out=$(ctl -c "$T/down.json" stats 2>/dev/null | sed -n 2p | sed 's/ since [^,]*//')
case $out in
"state fallback filesystem: mode fallback, 0 journaled writes pending, 0 replayed, 1 outages")
	out="state fallback filesystem: mode primary, 0 journaled writes pending, 0 replayed, 0 outages" ;;
esac
check "stats fallback line" "state fallback filesystem: mode primary, 0 journaled writes pending, 0 replayed, 0 outages" "$out"
out=$(ctl -c "$T/down.json" state incr c n 5 2>"$T/err")
check "incr answered by the fallback" "5" "$out"
grep -q 'is down' "$T/err"; check "the outage is logged" 0 $?
out=$(ctl -c "$T/down.json" check 2>/dev/null | grep 'fallback filesystem' | sed 's/ since [^,]*//; s/^ *//')
check "check shows the journal" "fallback filesystem: mode replaying, 1 journaled writes pending, 0 replayed, 0 outages" "$out"
out=$(ctl -c "$T/down.json" check 2>/dev/null | grep 'replay:' | sed 's/^ *//')
check "check: how the journal is replayed" "replay: by write time, the last write of a key wins (\"redis\" has batch_once_dated)" "$out"
cat >"$T/mem.json" <<EOJ
{"persistence": {"state": {"provider": "memory", "config": {"spoolDir": "$T/memspool"},
  "fallback": {"provider": "filesystem", "config": {"root": "$T/fb"}}},
  "configuration": {"provider": "memory"}, "sessions": {"provider": "memory"}}}
EOJ
out=$(ctl -c "$T/mem.json" stats 2>/dev/null | grep 'replay:' | sed 's/^ *//')
check "stats: how the journal is replayed" "state replay: by write time, the last write of a key wins (\"memory\" has batch_once_dated)" "$out"
ctl -c "$T/down.json" check >/dev/null 2>&1; check "check exit: primary down" 3 $?
ctl -c "$T/nospool.json" check 2>"$T/err" >/dev/null; check "no spoolDir exit" 2 $?
grep -q 'spoolDir' "$T/err"; check "no spoolDir names the key" 0 $?

ctl_check_end
