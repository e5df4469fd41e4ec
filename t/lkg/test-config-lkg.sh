#!/bin/sh
# t/lkg/test-config-lkg.sh - the configuration's last-known-good copy,
# against a real redis-server that is killed.
#
# The configuration provider is redis with "spoolDir".  Documents are
# written and read through persistctl (each command its own handle); one
# is deleted through the handle, one behind its back (by a handle without
# spoolDir, then noticed by a list), one by another handle while this one
# is subscribed (its notification removes it).  Then redis is killed (SIGKILL), and
# new handles must still read every kept document with its ETag (get,
# etag, list, and t/lkg/lkg-host for get_many and
# persist_config_copy_status), `persistctl check` must say the
# configuration is served from the copy, and writes must answer
# unavailable naming the provider.  A copy file cut short, one with a
# garbage header, and a stray file are clear errors naming the file, not
# crashes.  A provider whose store cannot be opened while its backend is
# down (fixture_down) still gives a handle serving the copy.  When redis comes back empty, a get finds the document gone
# and removes it from the copy.
#
# Ends with "N passed, N failed".
set -u
: "${abs_top_builddir:?run through t/run-test}" "${abs_top_srcdir:?}" "${PERSIST_TEST_TMP:?}"
. "$abs_top_srcdir/t/lib/redis-server.sh"

T=$PERSIST_TEST_TMP
SPOOL=$T/spool
COPY=$SPOOL/config
pass=0 failed=0

# Run a program of this build (under $PERSIST_TEST_WRAPPER when set).
run() {
	if [ -n "${PERSIST_TEST_WRAPPER:-}" ]; then
		"$abs_top_builddir/libtool" --mode=execute $PERSIST_TEST_WRAPPER "$@"
	else
		"$@"
	fi
}
ctl() { run "$abs_top_builddir/tools/persistctl" -c "$CFG" "$@"; }
# persistctl on another configuration file: ctlf FILE ARGS...
ctlf() { _f=$1; shift; run "$abs_top_builddir/tools/persistctl" -c "$_f" "$@"; }
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; [ -f "$T/err" ] && sed 's/^/    /' "$T/err"; }
# expect WHAT WANTED-EXIT COMMAND...: run it (stdout to $T/out, stderr to
# $T/err) and check its exit code
expect() {
	what=$1 want=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$what"; else bad "$what (exit $rc, wanted $want)"; fi
}
# The number of documents in the copy.
copies() { ls "$COPY" 2>/dev/null | grep -c '\.doc$'; }
# The copy file of a key (its header names it).
copy_of() { grep -l "^{\"key\":\"$1\"" "$COPY"/*.doc 2>/dev/null | head -1; }

redis_start lkg || exit 99
CFG=$T/lkg.json
cat >"$CFG" <<JSON
{"persistence":{
  "configuration":{"provider":"redis","config":{"url":"$REDIS_URL","spoolDir":"$SPOOL",
                   "connectTimeout":300,"commandTimeout":1000}},
  "state":{"provider":"memory","config":{}},
  "sessions":{"provider":"memory","config":{}}}}
JSON
NOSPOOL=$T/nospool.json
sed 's|,"spoolDir":"[^"]*"||' "$CFG" >"$NOSPOOL"

# --- while redis is up: writes and reads are kept
printf '{"apps":[1,2,3]}' >"$T/apps.json"
printf '{"plans":{"pro":20}}' >"$T/plans.json"
expect "set apps" 0 ctl config set apps "$T/apps.json"; E_APPS=$(cat "$T/out")
expect "set plans" 0 ctl config set plans "$T/plans.json"; E_PLANS=$(cat "$T/out")
expect "set gone" 0 ctl config set gone "$T/apps.json"
expect "set gone2" 0 ctl config set gone2 "$T/apps.json"
[ "$(copies)" -eq 4 ] && ok "four documents kept" || bad "four documents kept (have $(copies))"
rm -f "$(copy_of plans)"
expect "get plans (kept again by a read)" 0 ctl config get plans
[ -n "$(copy_of plans)" ] && ok "a read keeps the document" || bad "a read keeps the document"
expect "delete gone" 0 ctl config delete gone
[ -z "$(copy_of gone)" ] && ok "a delete removes the copy" || bad "a delete removes the copy"
expect "delete gone2 without spoolDir" 0 ctlf "$NOSPOOL" config delete gone2
[ -n "$(copy_of gone2)" ] && ok "copy of gone2 still there" || bad "copy of gone2 still there"
expect "list" 0 ctl config list
[ -z "$(copy_of gone2)" ] && ok "a list removes what the provider no longer has" ||
	bad "a list removes what the provider no longer has"
[ "$(copies)" -eq 2 ] && ok "two documents kept" || bad "two documents kept (have $(copies))"
expect "set gone3" 0 ctl config set gone3 "$T/apps.json"
run "$abs_top_builddir/t/lkg/lkg-host" "$CFG" notify gone3 "$NOSPOOL" >"$T/host" 2>&1
rc=$?
sed 's/^/  host: /' "$T/host"
[ $rc -eq 0 ] && ok "lkg-host: a deletion notified by the provider removes the copy" ||
	bad "lkg-host: a deletion notified by the provider removes the copy (exit $rc)"
[ -z "$(copy_of gone3)" ] && ok "gone3 not in the copy" || bad "gone3 not in the copy"
ls -a "$COPY" | grep -q '^\.tmp' && bad "temporary files left in the copy" || ok "no temporary files left"

# --- redis killed: new handles are served from the copy
redis_kill lkg
expect "get apps while redis is down" 0 ctl config get apps
cmp -s "$T/out" "$T/apps.json" && ok "same bytes" || bad "same bytes (got $(cat "$T/out"))"
expect "etag apps while redis is down" 0 ctl config etag apps
[ "$(cat "$T/out")" = "$E_APPS" ] && ok "same ETag" || bad "same ETag ($(cat "$T/out") != $E_APPS)"
expect "list while redis is down" 0 ctl config list
[ "$(tr '\n' ' ' <"$T/out")" = "apps plans " ] && ok "list of the copy" ||
	bad "list of the copy: $(tr '\n' ' ' <"$T/out")"
sed "s|$SPOOL|$T/spool-empty|" "$CFG" >"$T/empty.json"
expect "list of an empty copy answers unavailable" 3 ctlf "$T/empty.json" config list
grep -q 'unavailable' "$T/err" && ok "an empty copy gives the provider's error" ||
	bad "an empty copy gives the provider's error"
expect "set while redis is down" 3 ctl config set apps "$T/plans.json"
grep -q 'redis' "$T/err" && ok "the write's error names the provider" || bad "the write's error names the provider"
expect "check while redis is down" 3 ctl check
if grep -q "^configuration served from last-known-good copy in $COPY (provider redis unavailable: " "$T/out"; then
	ok "check says the configuration is served from the copy"
else
	bad "check says the configuration is served from the copy"; cat "$T/out"
fi
run "$abs_top_builddir/t/lkg/lkg-host" "$CFG" down "apps=$E_APPS" "plans=$E_PLANS" >"$T/host" 2>&1
rc=$?
sed 's/^/  host: /' "$T/host"
[ $rc -eq 0 ] && ok "lkg-host: the API serves the copy" || bad "lkg-host: the API serves the copy (exit $rc)"

# --- a damaged copy is a clear error naming the file
f=$(copy_of plans)
cp "$f" "$T/plans.doc"
printf 'x' >>"$f"
expect "get of a copy with a byte too many" 3 ctl config get plans
grep -q "damaged" "$T/err" && grep -q "$f" "$T/err" && ok "error names the damaged file" ||
	bad "error names the damaged file"
printf 'not a header\n{}' >"$f"
expect "get of a copy with a garbage header" 3 ctl config get plans
grep -q "damaged" "$T/err" && ok "garbage header: damaged" || bad "garbage header: damaged"
: >"$f"
expect "get of an empty copy file" 3 ctl config get plans
expect "list with a damaged file" 3 ctl config list
grep -q "damaged" "$T/err" && ok "list names the damaged file" || bad "list names the damaged file"
expect "get apps despite another damaged file" 0 ctl config get apps
cp "$T/plans.doc" "$f"
expect "get plans after the repair" 0 ctl config get plans

# --- a provider whose store cannot even be opened (its backend is down at
# open): the handle opens on the copy, reads are served, writes refused
mkdir -m 0755 "$T/plugins"
cp "$abs_top_builddir/t/lkg/.libs/fixture_down.so" "$T/plugins/" &&
	chmod 0644 "$T/plugins/fixture_down.so" || exit 99
DOWN=$T/down.json
cat >"$DOWN" <<JSON
{"persistence":{
  "configuration":{"provider":"fixture_down","module":"$T/plugins/fixture_down.so",
                   "config":{"spoolDir":"$SPOOL"}},
  "state":{"provider":"memory","config":{}},
  "sessions":{"provider":"memory","config":{}}}}
JSON
expect "get apps, store not opened" 0 ctlf "$DOWN" config get apps
cmp -s "$T/out" "$T/apps.json" && ok "same bytes, store not opened" || bad "same bytes, store not opened"
expect "list, store not opened" 0 ctlf "$DOWN" config list
expect "set, store not opened" 3 ctlf "$DOWN" config set apps "$T/plans.json"
grep -q 'fixture_down' "$T/err" && ok "the write's error names the provider (not opened)" ||
	bad "the write's error names the provider (not opened)"
expect "check, store not opened" 3 ctlf "$DOWN" check
grep -q "^configuration served from last-known-good copy in $COPY (provider fixture_down unavailable: fixture_down: cannot connect" "$T/out" &&
	ok "check says so (not opened)" || { bad "check says so (not opened)"; cat "$T/out"; }
run "$abs_top_builddir/t/lkg/lkg-host" "$DOWN" offline "apps=$E_APPS" "plans=$E_PLANS" >"$T/host" 2>&1
rc=$?
sed 's/^/  host: /' "$T/host"
[ $rc -eq 0 ] && ok "lkg-host: a handle opened on the copy" || bad "lkg-host: a handle opened on the copy (exit $rc)"
mkdir "$T/emptyspool"
sed "s|$SPOOL|$T/emptyspool|" "$DOWN" >"$T/down-empty.json"
expect "no copy: the open fails as before" 3 ctlf "$T/down-empty.json" config get apps

# --- redis back (empty: it kept nothing): a get finds apps gone
redis_restart lkg || exit 99
expect "get apps once redis is back (it lost everything)" 1 ctl config get apps
[ -z "$(copy_of apps)" ] && ok "a document found absent leaves the copy" ||
	bad "a document found absent leaves the copy"
run "$abs_top_builddir/t/lkg/lkg-host" "$CFG" up plans >"$T/host" 2>&1
rc=$?
sed 's/^/  host: /' "$T/host"
[ $rc -eq 0 ] && ok "lkg-host: provider serves again" || bad "lkg-host: provider serves again (exit $rc)"

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
