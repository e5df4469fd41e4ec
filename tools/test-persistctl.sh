#!/bin/sh
# tools/test-persistctl.sh - persistctl as scripts use it: every command and
# every exit code, on the embedded default (filesystem configuration and
# state in ./persist-data, memory sessions), on a memory-only configuration
# file (etc/persist-memory.json), on etc/persist.json and etc/platform.json,
# and on Redis (etc/persist-redis.json against a redis-server started here
# on loopback) for what only crosses processes there (session listen).
# Plus bad input: missing/unreadable/directory/malformed configuration
# files, empty, over-long and non-UTF-8 arguments, unknown commands and
# options, missing arguments, invalid numbers and JSON.
#
# Each check compares the exit code and stdout exactly (stdout is filtered
# only where it holds a latency or a temporary path) and, for failures, that
# stderr carries the expected "persistctl: ..." message.  `config watch` and
# `session listen` run in the background; a change is made from another
# persistctl and the line it must print is awaited with a timeout.
#
# Run through t/run-test (make check): it sets PERSIST_PLUGIN_PATH to the
# plugins of this build, PERSIST_TEST_TMP to a scratch directory and, for
# the Redis part, REDIS_SERVER.  PERSIST_TEST_WRAPPER (e.g. valgrind) wraps
# every persistctl run.  Ends with "N passed, N failed"; exit 1 on failure.
set -u

: "${abs_top_builddir:?run through t/run-test}"
: "${abs_top_srcdir:?run through t/run-test}"
: "${PERSIST_TEST_TMP:?run through t/run-test}"
: "${PERSIST_PLUGIN_PATH:?run through t/run-test}"

CTL=$abs_top_builddir/tools/persistctl
ETC=$abs_top_srcdir/etc
T=$PERSIST_TEST_TMP
pass=0
failed=0
bg_pids=

# Run persistctl (under $PERSIST_TEST_WRAPPER when set).
ctl() {
	if [ -n "${PERSIST_TEST_WRAPPER:-}" ]; then
		"$abs_top_builddir/libtool" --mode=execute $PERSIST_TEST_WRAPPER "$CTL" "$@"
	else
		"$CTL" "$@"
	fi
}

# The same, replacing the (sub)shell: for `ctl_bg ... &`, so that $! is
# persistctl itself and signals reach it.
ctl_bg() {
	if [ -n "${PERSIST_TEST_WRAPPER:-}" ]; then
		exec "$abs_top_builddir/libtool" --mode=execute $PERSIST_TEST_WRAPPER "$CTL" "$@"
	else
		exec "$CTL" "$@"
	fi
}

ok() { pass=$((pass + 1)); }
not_ok() {
	failed=$((failed + 1))
	echo "FAIL: $*"
}

# check NAME CODE FORMAT ARGS...: run persistctl ARGS (stdin from $IN, or
# /dev/null), expect exit CODE and stdout equal to printf FORMAT (after
# $FILTER, a sed script, when set); for CODE != 0 stderr must hold $ERR
# (when set); with $LIMIT, persistctl is killed after LIMIT seconds (for
# commands that must answer, not wait).  IN, FILTER, ERR and LIMIT apply
# to one check and are then reset.
check() {
	name=$1 code=$2 fmt=$3
	shift 3
	if [ -n "${LIMIT:-}" ]; then
		# a command that must not wait: killed (exit 124) after LIMIT s
		timeout "$LIMIT" "$CTL" "$@" <"${IN:-/dev/null}" >"$T/out.raw" 2>"$T/err"
	else
		ctl "$@" <"${IN:-/dev/null}" >"$T/out.raw" 2>"$T/err"
	fi
	rc=$?
	if [ -n "${FILTER:-}" ]; then
		sed -e "$FILTER" "$T/out.raw" >"$T/out"
	else
		cp "$T/out.raw" "$T/out"
	fi
	printf -- "$fmt" >"$T/want"
	bad=
	[ "$rc" = "$code" ] || bad="exit $rc, expected $code"
	cmp -s "$T/out" "$T/want" || bad="$bad${bad:+; }stdout differs"
	if [ -n "${ERR:-}" ] && ! grep -qF -- "$ERR" "$T/err"; then
		bad="$bad${bad:+; }stderr lacks \"$ERR\""
	fi
	if [ "$code" != 0 ] && ! grep -q '^persistctl: ' "$T/err"; then
		bad="$bad${bad:+; }no \"persistctl: \" message on stderr"
	fi
	if [ -n "$bad" ]; then
		not_ok "$name: $bad"
		echo "  command: persistctl $*"
		echo "  stdout:"; sed 's/^/    | /' "$T/out"
		echo "  expected:"; sed 's/^/    | /' "$T/want"
		echo "  stderr:"; sed 's/^/    | /' "$T/err"
	else
		ok
	fi
	IN= FILTER= ERR= LIMIT=
}

# ETag of a file's bytes: the first 128 bits of its SHA-256, in hex.
etag_of() { sha256sum <"$1" | cut -c1-32; }

# wait_line FILE LINE [SECONDS]: wait until FILE has the exact line LINE.
wait_line() {
	i=0 limit=$(( ${3:-15} * 10 ))
	while [ $i -lt $limit ]; do
		grep -qxF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# wait_started PID: wait (up to 60 s: valgrind is slow to start) until
# persistctl has opened its handle.  watch and listen block SIGINT/SIGTERM
# before the open, and the open starts the library's notification thread,
# so a second thread in /proc means a signal sent now is handled.
wait_started() {
	i=0
	while [ $i -lt 600 ]; do
		n=$(ls "/proc/$1/task" 2>/dev/null | wc -l)
		[ "$n" -ge 2 ] && return 0
		[ "$n" -eq 0 ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# Stop background processes left by a failed check.
cleanup() {
	for p in $bg_pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
}
trap cleanup EXIT

# the ABI this build speaks (and its plugins are built for), from plugin.h
ABI=1.$(sed -n 's/^#define PERSIST_ABI_MINOR \([0-9]*\).*/\1/p' \
	"$abs_top_srcdir/include/persist/plugin.h")
# the release (AC_INIT), which the plugins of the tree carry too
VERSION=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$abs_top_builddir/config.h")
[ -n "$VERSION" ] || { echo "no PACKAGE_VERSION in $abs_top_builddir/config.h"; exit 99; }
VERSION_LINE="persistctl (persist) $VERSION, plugin ABI $ABI\\n"
USAGE='usage: persistctl [-c FILE] [-P DIR]... COMMAND [ARGS]'

# --- no backend needed -------------------------------------------------------
cd "$T" || exit 99
check "--version" 0 "$VERSION_LINE" --version
check "-V" 0 "$VERSION_LINE" -V
FILTER='1!d' check "--help" 0 'Usage: persistctl [-c FILE] [-P DIR]... COMMAND [ARGS]\n' --help
FILTER='/^Exit status:/,/^  3/!d' check "--help documents exit codes" 0 \
'Exit status:\n  0  success\n  1  not found: the key, document or session asked for is absent\n  2  usage error or invalid input (bad arguments, a value the library\n     refuses, a missing, unreadable or malformed configuration file)\n  3  any other failure: ETag conflict (--if-match), unhealthy or\n' -h
FILTER='1!d' check "config set --help" 0 \
	'Usage: persistctl [-c FILE] [-P DIR]... config set KEY [FILE] [--if-match ETAG] [--ttl SECONDS]\n' \
	config set --help
FILTER='1!d' check "state log -h (after args)" 0 \
	'Usage: persistctl [-c FILE] [-P DIR]... state log C [--from N]\n' state log c -h
FILTER='/^  session/!d' check "session --help lists the group" 0 \
'  session put ID JSON [--ttl SECONDS]\n  session drop ID\n  session list\n  session broadcast EVENT JSON\n  session send ID EVENT JSON\n  session listen\n' \
	session --help
ERR='no command given' check "no command" 2 '' 
ERR="$USAGE" check "no command: usage line" 2 ''
ERR='unknown command "bogus"' check "unknown command" 2 '' bogus
ERR='unknown command "config bogus"' check "unknown subcommand" 2 '' config bogus
ERR='config needs a command' check "group without command" 2 '' config
ERR='missing arguments' check "missing argument" 2 '' config get
ERR='usage: persistctl [-c FILE] [-P DIR]... state set C K VALUE [--ttl SECONDS]' \
	check "missing arguments: command usage" 2 '' state set c k
ERR='too many arguments ("b")' check "too many arguments" 2 '' config get a b
ERR='unknown option "-x"' check "unknown global option" 2 '' -x check
ERR='option -c needs a value' check "-c without a value" 2 '' -c
ERR='empty configuration file name' check "-c ''" 2 '' -c '' check
ERR='unknown option "--frm"' check "unknown command option" 2 '' state log c --frm 3
ERR='option --ttl does not apply here' check "option of another command" 2 '' config get k --ttl 5
ERR='option --if-match needs a value' check "--if-match without a value" 2 '' config delete k --if-match
ERR='empty --if-match ETag' check "--if-match ''" 2 '' config delete k --if-match ''
ERR='invalid --ttl "-1"' check "negative --ttl" 2 '' state set c k v --ttl -1
ERR='invalid --ttl "1.2345"' check "--ttl below milliseconds" 2 '' state set c k v --ttl=1.2345
ERR='invalid --ttl "soon"' check "--ttl not a number" 2 '' session put s '{}' --ttl soon
ERR='invalid --from "-3"' check "negative --from" 2 '' state log c --from -3
ERR='invalid increment "x"' check "increment not a number" 2 '' state incr c k x
ERR='invalid increment "9223372036854775808"' check "increment overflow" 2 '' \
	state incr c k 9223372036854775808
ERR='record is not valid JSON' check "append: bad JSON" 2 '' state append c '{"a":'
ERR='record is empty' check "append: empty record" 2 '' state append c ''
ERR='session data is not valid JSON' check "session put: bad JSON" 2 '' session put s 'nope'
ERR='event data is not valid JSON' check "broadcast: bad JSON" 2 '' session broadcast ev '{1}'
ERR='event data is not valid JSON' check "send: non-UTF-8 JSON" 2 '' \
	session send s ev "$(printf '"\377"')"
ERR='plugin directory "/nonexistent-dir"' check "-P missing dir" 2 '' -P /nonexistent-dir plugins
: >"$T/plainfile"
ERR='Not a directory' check "-P a file" 2 '' -P "$T/plainfile" plugins

# --- configuration files that are wrong ---------------------------------------
ERR='cannot open configuration file /nonexistent.json' check "missing config file" 2 '' \
	-c /nonexistent.json check
ERR="configuration file $T is not a regular file" check "config file is a directory" 2 '' \
	-c "$T" check
printf '{"persistence": {"state": {"provider": "memory",}}}' >"$T/syntax.json"
ERR='line 1' check "config file with a syntax error" 2 '' -c "$T/syntax.json" check
printf '{"persistence": {"configuration": {"provider": "memory"}, "state": {"provider": "nosuch"}, "sessions": {"provider": "memory"}}}' >"$T/nosuch.json"
ERR='no provider "nosuch"' check "provider not found is not 1" 3 '' -c "$T/nosuch.json" check
printf '{"persistence": {"state": {"provider": "../memory"}}}' >"$T/badname.json"
ERR='../memory' check "provider name with ../" 2 '' -c "$T/badname.json" check
printf '{"persistence": {"state": {"provider": "memory", "config": {"password": "${PERSISTCTL_TEST_UNSET}"}}}}' >"$T/unset.json"
ERR='PERSISTCTL_TEST_UNSET' check "missing \${VAR}" 2 '' -c "$T/unset.json" check
if [ "$(id -u)" != 0 ]; then
	cp "$ETC/persist-memory.json" "$T/unreadable.json"
	chmod 000 "$T/unreadable.json"
	ERR='unreadable.json' check "unreadable config file" 2 '' -c "$T/unreadable.json" check
fi

# --- plugins ---------------------------------------------------------------------
# expected NAME VERSION ABI columns: every plugin of this build, sorted
{
	echo "NAME VERSION ABI"
	for so in "$PERSIST_PLUGIN_PATH"/*.so; do
		n=${so##*/}
		echo "${n%.so} $VERSION $ABI"
	done | sort
} >"$T/plugins.want"
FILTER='s/^\([^ ]*\)  *\([^ ]*\)  *\([^ ]*\) .*/\1 \2 \3/' \
	check "plugins" 0 "$(cat "$T/plugins.want")\n" plugins
FILTER='/^memory /!d; s/  */ /g; s/ \/.*//' check "plugins: memory's row" 0 \
'memory '$VERSION' '$ABI' configuration,state,sessions configuration=ttl,notify,threadsafe,cas;state=ttl,atomic_incr,append_log,batch,threadsafe;sessions=ttl,threadsafe\n' \
	plugins
mkdir -m 0755 "$T/broken-plugins"
echo "not a shared object" >"$T/broken-plugins/broken.so"
chmod 0644 "$T/broken-plugins/broken.so"
FILTER='/^broken /!d; s/  */ /g; s/error: .*/error:/' ERR='1 of' \
	check "plugins: a broken one shows its error, exit 3" 3 'broken - - - - error:\n' \
	-P "$T/broken-plugins" plugins
# no plugin anywhere: 1 (unless an installed build fills the built-in dir)
mkdir -m 0755 "$T/empty-plugins"
saved_path=$PERSIST_PLUGIN_PATH
PERSIST_PLUGIN_PATH=$T/empty-plugins
if ctl plugins >/dev/null 2>&1; then
	echo "note: plugins are installed in the built-in directory; \"none found\" not tested"
else
	ERR='no plugins found' check "plugins: none found" 1 '' plugins
fi
PERSIST_PLUGIN_PATH=$saved_path
ERR='cannot open configuration file /nonexistent.json' check "plugins: missing -c file" 2 '' \
	-c /nonexistent.json plugins
# plugins that exit or crash when loaded or initialised: each is listed
# (listing never initialises; loading is tried in a child process) and the
# exit code stays 3
FIX=$abs_top_builddir/t/plugins/.libs
mkdir -m 0755 "$T/deadly-plugins"
for f in fixture_ok fixture_initexit fixture_initcrash fixture_ctorexit fixture_ctorcrash; do
	cp "$FIX/$f.so" "$T/deadly-plugins/" && chmod 0644 "$T/deadly-plugins/$f.so"
done
FILTER='/^fixture_/!d; s/  */ /g; s/ \/[^ ]*$//; s/ - - - - error: plugin [^ ]*: / - - - - /; s/ - It was probed.*//' \
ERR='2 of ' check "plugins: exit and crash while loading are listed, exit 3" 3 \
'fixture_ctorcrash - - - - crashed while loading (signal 11)
fixture_ctorexit - - - - exited with status 7 while loading
fixture_initcrash 0.1 '$ABI' state state=-
fixture_initexit 0.1 '$ABI' state state=-
fixture_ok 0.1 '$ABI' configuration,state configuration=-;state=-
' -P "$T/deadly-plugins" plugins
# opening a plugin whose init exits or crashes cannot be saved, but the
# exit code stays 3 and stderr names the plugin being initialised
for f in initexit initcrash; do
	printf '{"persistence": {"state": {"provider": "fixture_%s"}, "configuration": {"provider": "memory"}, "sessions": {"provider": "memory"}}}' \
		$f >"$T/$f.json"
done
ERR="initialising plugin fixture_initexit ($T/deadly-plugins/fixture_initexit.so)" \
	check "init calling exit: exit 3, plugin named" 3 '' -P "$T/deadly-plugins" -c "$T/initexit.json" state get c k
if grep -qF 'ended the process (exit called)' "$T/err"; then ok; else
	not_ok "init calling exit: says exit was called"; cat "$T/err"
fi
if [ -z "${PERSIST_TEST_WRAPPER:-}" ]; then # valgrind reports the crash itself
	ERR="initialising plugin fixture_initcrash ($T/deadly-plugins/fixture_initcrash.so)" \
		check "init crashing: exit 3, plugin named" 3 '' -P "$T/deadly-plugins" -c "$T/initcrash.json" state get c k
	if grep -qF 'crashed (signal 11)' "$T/err"; then ok; else
		not_ok "init crashing: says it crashed"; cat "$T/err"
	fi
fi
# ignored PERSIST_PLUGIN_PATH entries are named with the reason
saved_path=$PERSIST_PLUGIN_PATH
PERSIST_PLUGIN_PATH="relative/dir:$T/no-such-dir:$saved_path"
FILTER='s/ .*//' ERR='PERSIST_PLUGIN_PATH entry "relative/dir" is ignored: it is not an absolute path' \
	check "plugins: a relative PERSIST_PLUGIN_PATH entry is reported" 0 "$(cut -d' ' -f1 "$T/plugins.want")\n" plugins
if grep -qF "PERSIST_PLUGIN_PATH entry \"$T/no-such-dir\" is ignored: No such file or directory" "$T/err"; then ok; else
	not_ok "plugins: a missing PERSIST_PLUGIN_PATH entry is reported"; cat "$T/err"
fi
mkdir -m 0777 "$T/open-plugins" && chmod 0777 "$T/open-plugins"
PERSIST_PLUGIN_PATH="$T/open-plugins:$saved_path"
ERR="PERSIST_PLUGIN_PATH entry \"$T/open-plugins\" is ignored: it is writable by group and others" \
	FILTER='s/ .*//' check "plugins: an insecure PERSIST_PLUGIN_PATH entry is reported" 0 \
	"$(cut -d' ' -f1 "$T/plugins.want")\n" plugins
PERSIST_PLUGIN_PATH=$saved_path
# relative -P: made absolute (the broken plugin is listed)
FILTER='/^broken /!d; s/ .*//' ERR='cannot be loaded' check "plugins: relative -P" 3 'broken\n' \
	-P broken-plugins plugins

# --- memory-only configuration file --------------------------------------------
MEM="$ETC/persist-memory.json"
CHECK_FILTER='s/ok  [0-9]* us$/ok  N us/'
FILTER=$CHECK_FILTER check "memory: check" 0 \
'configuration memory       ok  N us\nstate         memory       ok  N us\nsessions      memory       ok  N us\n' \
	-c "$MEM" check
PERSIST_CONFIG=$MEM
export PERSIST_CONFIG
FILTER=$CHECK_FILTER check "memory: check via PERSIST_CONFIG" 0 \
'configuration memory       ok  N us\nstate         memory       ok  N us\nsessions      memory       ok  N us\n' \
	check
PERSIST_CONFIG=/nonexistent.json
ERR='cannot open configuration file /nonexistent.json' check "PERSIST_CONFIG names a missing file" 2 '' \
	config get k
FILTER='s/ .*//' check "-c wins over PERSIST_CONFIG" 0 'configuration\nstate\nsessions\n' -c "$MEM" check
unset PERSIST_CONFIG
printf '{"name":"platform"}\n' >"$T/doc1.json"
E1=$(etag_of "$T/doc1.json")
check "memory: config set FILE prints the ETag" 0 "$E1\n" -c "$MEM" config set platform "$T/doc1.json"
IN=$T/doc1.json check "memory: config set from stdin" 0 "$E1\n" -c "$MEM" config set platform
IN=$T/doc1.json check "memory: config set -" 0 "$E1\n" -c "$MEM" config set platform -
ERR='configuration document "platform" not found' \
	check "memory: nothing survives the process" 1 '' -c "$MEM" config get platform
ERR='not found' check "memory: config etag absent" 1 '' -c "$MEM" config etag platform
ERR='not found' check "memory: config delete absent" 1 '' -c "$MEM" config delete platform
ERR='does not match ETag' check "memory: --if-match on absent document is 3" 3 '' \
	-c "$MEM" config set platform "$T/doc1.json" --if-match "$E1"
check "memory: config list empty" 0 '' -c "$MEM" config list
printf '{"name": broken\n' >"$T/bad.json"
ERR='not valid JSON' check "memory: config set invalid JSON" 2 '' -c "$MEM" config set k "$T/bad.json"
ERR='cannot open "/nonexistent.json"' check "memory: config set missing FILE" 2 '' \
	-c "$MEM" config set k /nonexistent.json
ERR='Is a directory' check "memory: config set FILE is a directory" 2 '' -c "$MEM" config set k "$T"
ERR='is empty' check "memory: config set empty document" 2 '' -c "$MEM" config set k /dev/null
# an endless input is refused once it passes the limit, not read whole:
# the producer finds what persistctl left unread
left=$( { yes | head -c 400000000 | { ctl -c "$MEM" config set k >/dev/null 2>"$T/err"; echo "rc=$?" >"$T/rc"; wc -c; }; } 2>/dev/null)
if [ "$(cat "$T/rc")" = rc=2 ] && grep -qF 'standard input is too large' "$T/err" &&
   grep -qF 'at most 268435456 bytes' "$T/err" && [ "${left:-0}" -gt 100000000 ]; then ok; else
	not_ok "memory: config set stops reading at the limit ($(cat "$T/rc"), $left bytes left unread)"
	cat "$T/err"
fi
ERR='key is empty' check "memory: empty key" 2 '' -c "$MEM" config get ''
ERR='not valid UTF-8' check "memory: non-UTF-8 key" 2 '' -c "$MEM" config get "$(printf 'a\377b')"
LONG=$(printf '%0600d' 0)
ERR='is too long' check "memory: over-long key" 2 '' -c "$MEM" config get "$LONG"
ERR='is too long' check "memory: over-long state key" 2 '' -c "$MEM" state set c "$LONG" v
ERR='collection name "bad/c"' check "memory: bad collection" 2 '' -c "$MEM" state set bad/c k v
ERR='collection name' check "memory: empty collection" 2 '' -c "$MEM" state get '' k
ERR='control character' check "memory: key with a tab" 2 '' -c "$MEM" state get c "$(printf 'a\tb')"
check "memory: state incr" 0 '1\n' -c "$MEM" state incr c k
check "memory: state incr N" 0 '5\n' -c "$MEM" state incr c k 5
check "memory: state incr negative" 0 '-7\n' -c "$MEM" state incr c k -7
check "memory: state incr -- N" 0 '-3\n' -c "$MEM" state incr -- c k -3
ERR='key "k" not found in collection "c"' check "memory: state get absent" 1 '' -c "$MEM" state get c k
ERR='not found' check "memory: state delete absent" 1 '' -c "$MEM" state delete c k
check "memory: state set" 0 '' -c "$MEM" state set c k v --ttl 10
check "memory: state append" 0 '' -c "$MEM" state append feedback '{"rating":5}'
check "memory: state log empty" 0 '' -c "$MEM" state log feedback
check "memory: state scan empty" 0 '' -c "$MEM" state scan c
check "memory: session put" 0 '' -c "$MEM" session put s1 '{"user":"alice"}' --ttl 60
check "memory: session list empty" 0 '' -c "$MEM" session list
ERR='session "s1" not found' check "memory: session drop absent" 1 '' -c "$MEM" session drop s1
ERR='session "s1" not found' check "memory: session send absent" 1 '' -c "$MEM" session send s1 ev '{}'
check "memory: session broadcast" 0 '' -c "$MEM" session broadcast ev '{"a":1}'
ERR='configuration key is empty' check "memory: config watch ''" 2 '' -c "$MEM" config watch ''
ERR='does not deliver events of other processes' \
	check "memory: session listen refused" 3 '' -c "$MEM" session listen
FILTER='$!d' check "memory: demo" 0 'demo: ok\n' -c "$MEM" demo

# config watch on memory (notify within the process): starts, prints
# nothing, and stops cleanly on SIGTERM and on SIGINT
for sig in TERM INT; do
	ctl_bg -c "$MEM" config watch >"$T/watch-mem.out" 2>"$T/watch-mem.err" &
	pid=$!
	bg_pids="$bg_pids $pid"
	wait_started $pid
	kill -$sig $pid
	wait $pid
	rc=$?
	if [ $rc = 0 ] && [ ! -s "$T/watch-mem.out" ]; then ok; else
		not_ok "memory: config watch stops on SIG$sig with 0 (exit $rc)"
		cat "$T/watch-mem.err"
	fi
done

# --- the embedded default (no file): filesystem + memory in ./persist-data ------
mkdir "$T/default" && cd "$T/default" || exit 99
FILTER=$CHECK_FILTER check "default: check" 0 \
'configuration filesystem   ok  N us\nstate         filesystem   ok  N us\nsessions      memory       ok  N us\n' check
ERR='no configuration document "platform"' check "default: config get absent" 1 '' config get platform
check "default: config set" 0 "$E1\n" config set platform "$T/doc1.json"
if [ -d persist-data/config ]; then ok; else not_ok "default: data not under ./persist-data/config"; fi
check "default: config get is the bytes stored" 0 "$(cat "$T/doc1.json")\n" config get platform
check "default: config etag" 0 "$E1\n" config etag platform
printf '{"name":"platform","v":2}' >"$T/doc2.json"
E2=$(etag_of "$T/doc2.json")
ERR='configuration document "platform" was changed by another writer' check "default: stale --if-match is 3" 3 '' \
	config set platform "$T/doc2.json" --if-match 0123456789abcdef0123456789abcdef
check "default: document unchanged after a conflict" 0 "$E1\n" config etag platform
check "default: --if-match current" 0 "$E2\n" config set --if-match "$E1" platform "$T/doc2.json"
check "default: config get without trailing newline" 0 '{"name":"platform","v":2}' config get platform
printf '[1,2,3]\n' >"$T/doc3.json"
E3=$(etag_of "$T/doc3.json")
ERR='configuration document "apps" does not exist' IN=$T/doc3.json check "default: --if-match on absent" 3 '' \
	config set apps --if-match="$E3"
IN=$T/doc3.json check "default: config set apps" 0 "$E3\n" config set apps
check "default: config list sorted" 0 'apps\nplatform\n' config list
ERR='was changed by another writer' check "default: delete with stale --if-match" 3 '' \
	config delete apps --if-match "$E1"
check "default: delete with --if-match" 0 '' config delete apps --if-match "$E3"
ERR='no configuration document "apps"' check "default: deleted" 1 '' config get apps
check "default: config list after delete" 0 'platform\n' config list
# 4 s: long enough for the list below even under valgrind
check "default: config set --ttl" 0 "$E3\n" config set --ttl 4 expiring "$T/doc3.json"
check "default: config list with the expiring document" 0 'expiring\nplatform\n' config list
sleep 4.5
ERR='no configuration document "expiring"' check "default: config TTL expired" 1 '' config get expiring
check "default: config list after expiry" 0 'platform\n' config list
check "default: state incr" 0 '1\n' state incr usage messages.user.alice
check "default: state incr N" 0 '42\n' state incr usage messages.user.alice 41
check "default: state get counter" 0 '42' state get usage messages.user.alice
check "default: state incr negative" 0 '40\n' state incr usage messages.user.alice -2
check "default: state set" 0 '' state set shortlinks abc '{"url":"https://example.org/x"}'
check "default: state set --ttl before args" 0 '' state set --ttl 3600 shortlinks abd '{"url":"y"}'
check "default: state get" 0 '{"url":"https://example.org/x"}' state get shortlinks abc
check "default: state scan" 0 'abc\t{"url":"https://example.org/x"}\nabd\t{"url":"y"}\n' state scan shortlinks
check "default: state scan PREFIX" 0 'abd\t{"url":"y"}\n' state scan shortlinks abd
check "default: state scan unknown collection" 0 '' state scan nothing-here
check "default: state delete" 0 '' state delete shortlinks abc
ERR='no key "abc" in collection "shortlinks"' check "default: state delete again" 1 '' state delete shortlinks abc
check "default: state set short TTL" 0 '' state set shortlinks gone '{}' --ttl 0.2
sleep 0.5
ERR='no key "gone" in collection "shortlinks"' check "default: state TTL expired" 1 '' state get shortlinks gone
check "default: state append 1" 0 '' state append feedback '{"n":0,"rating":5}'
check "default: state append 2" 0 '' state append feedback '{"n":1,
 "rating":4}'
check "default: state append 3" 0 '' state append feedback '{"n":2,"rating":3}'
check "default: state log (one record a line)" 0 \
	'{"n":0,"rating":5}\n{"n":1,  "rating":4}\n{"n":2,"rating":3}\n' state log feedback
check "default: state log --from" 0 '{"n":1,  "rating":4}\n{"n":2,"rating":3}\n' state log --from 1 feedback
check "default: state log --from past the end" 0 '' state log feedback --from 7
check "default: state bounds" 0 '0 3\n' state bounds feedback
ERR='next record number is 3' check "default: state trim beyond the end" 2 '' state trim feedback 4
check "default: nothing trimmed by a refused trim" 0 '0 3\n' state bounds feedback
ERR='invalid record number "-1"' check "default: state trim negative" 2 '' state trim feedback -1
ERR='invalid record number "x"' check "default: state trim not a number" 2 '' state trim feedback x
check "default: state trim" 0 '' state trim feedback 2
check "default: state bounds after trim" 0 '2 3\n' state bounds feedback
check "default: state log after trim (numbers kept)" 0 '{"n":2,"rating":3}\n' state log feedback
check "default: state log --from below the trim" 0 '{"n":2,"rating":3}\n' state log feedback --from 1
check "default: state trim 0 (no-op)" 0 '' state trim feedback 0
check "default: append after trim" 0 '' state append feedback '{"n":3}'
check "default: state log --from 3 after trim" 0 '{"n":3}\n' state log feedback --from 3
check "default: state set in a collection to drop" 0 '' state set dropme k v
check "default: state append to it" 0 '' state append dropme '{"x":1}'
check "default: state drop" 0 '' state drop dropme
ERR='no key "k" in collection "dropme"' check "default: dropped key gone" 1 '' state get dropme k
check "default: dropped log gone" 0 '0 0\n' state bounds dropme
check "default: drop of an absent collection" 0 '' state drop never-written
ERR='collection name' check "default: drop of a bad collection" 2 '' state drop bad/c
check "default: other collections kept by drop" 0 '2 4\n' state bounds feedback
check "default: state collections (sorted, the dropped one gone)" 0 \
	'feedback\nshortlinks\nusage\n' state collections
ERR='usage' check "default: state collections takes no argument" 2 '' state collections x
check "default: session list (memory: per process)" 0 '' session list
ERR='not found' check "default: session drop (memory: per process)" 1 '' session drop s1
check "default: the same data through etc/persist.json" 0 "$E2\n" -c "$ETC/persist.json" config etag platform
check "default: and its counters" 0 '40' -c "$ETC/persist.json" state get usage messages.user.alice
FILTER='$!d' check "default: demo" 0 'demo: ok\n' demo
# a second run starts from the first one's counters: alice's totals grow
alice1=$(grep '^  user   alice ' "$T/out.raw" | sed 's/  */ /g')
FILTER='$!d' check "default: demo again" 0 'demo: ok\n' demo
alice2=$(grep '^  user   alice ' "$T/out.raw" | sed 's/  */ /g')
m1=$(echo "$alice1" | cut -d' ' -f5) m2=$(echo "$alice2" | cut -d' ' -f5)
# (alice's counter was 40 before the first run)
if [ -n "$m1" ] && [ "$m2" = $((m1 * 2 - 40)) ]; then ok; else
	not_ok "default: demo totals accumulate (\"$alice1\" then \"$alice2\")"
fi
check "default: demo documents readable" 0 'apps\ngroups\nmodels\nplatform\nui\n' config list

# a key config get refuses is refused by config watch too, at once
LIMIT=20 ERR='invalid configuration key "../x"' check "default: config watch ../x is 2, no wait" 2 '' \
	config watch ../x
LIMIT=20 ERR='invalid configuration key "/dev/null"' check "default: config watch /dev/null is 2, no wait" 2 '' \
	config watch /dev/null
# on a terminal get ends with a newline (piped, the bytes stay exact: above)
if [ -z "${PERSIST_TEST_WRAPPER:-}" ] && command -v script >/dev/null 2>&1; then
	for cmd in "state get usage messages.user.alice" "config get platform"; do
		script -qec "$CTL $cmd" /dev/null </dev/null >"$T/tty.out" 2>&1
		if [ "$(tail -c 2 "$T/tty.out" | od -An -c | tr -d ' ')" = '\r\n' ] &&
		   [ "$(grep -c . "$T/tty.out")" = 1 ]; then ok; else
			not_ok "default: $cmd on a terminal ends with a newline"
			od -c "$T/tty.out" | head -5
		fi
	done
fi

# commands open only the kinds they use: a configuration store that
# cannot be opened (its root is a file) does not stop state commands
: >"$T/not-a-dir"
printf '{"persistence": {"configuration": {"provider": "filesystem", "config": {"root": "%s"}}, "state": {"provider": "filesystem", "config": {"root": "%s"}}, "sessions": {"provider": "memory"}}}' \
	"$T/not-a-dir/config" "$T/default/persist-data/state" >"$T/broken-config.json"
check "default: state incr with a broken configuration store" 0 '5\n' \
	-c "$T/broken-config.json" state incr kinds k 5
check "default: state get with a broken configuration store" 0 '5' \
	-c "$T/broken-config.json" state get kinds k
check "default: session list with a broken configuration store" 0 '' \
	-c "$T/broken-config.json" session list
ERR='not-a-dir' check "default: config get with a broken configuration store fails" 2 '' \
	-c "$T/broken-config.json" config get platform

# config watch: a change made by another process shows as one line
ctl_bg config watch >"$T/watch.out" 2>"$T/watch.err" &
pid=$!
bg_pids="$bg_pids $pid"
wait_started $pid
{
	bg_pids="$bg_pids $pid"
	# until the watcher is subscribed, changes may be missed: repeat
	i=0
	while [ $i -lt 50 ] && [ ! -s "$T/watch.out" ]; do
		printf '{"i":%d}' $i >"$T/w.json"
		ctl config set watched "$T/w.json" >/dev/null 2>&1
		sleep 0.2
		i=$((i + 1))
	done
	printf '{"final":true}' >"$T/w.json"
	EW=$(etag_of "$T/w.json")
	ctl config set watched "$T/w.json" >/dev/null 2>&1
	if wait_line "$T/watch.out" "watched $EW"; then ok; else
		not_ok "default: config watch shows \"watched $EW\""
		cat "$T/watch.out" "$T/watch.err"
	fi
	ctl config delete watched >/dev/null 2>&1
	if wait_line "$T/watch.out" "watched -"; then ok; else
		not_ok "default: config watch shows a delete as \"watched -\""
		cat "$T/watch.out" "$T/watch.err"
	fi
	kill -TERM $pid
	wait $pid
	rc=$?
	if [ $rc = 0 ]; then ok; else not_ok "default: config watch exit $rc after SIGTERM"; cat "$T/watch.err"; fi
	if grep -qv '^[^ ][^ ]* \([0-9a-f]\{32\}\|-\)$' "$T/watch.out"; then
		not_ok "default: config watch printed a line not \"KEY ETAG\""
		cat "$T/watch.out"
	else
		ok
	fi
}

# --- a whole platform.json: other keys ignored -----------------------------------
mkdir "$T/platform" && cd "$T/platform" || exit 99
FILTER=$CHECK_FILTER check "platform.json: check" 0 \
'configuration filesystem   ok  N us\nstate         filesystem   ok  N us\nsessions      memory       ok  N us\n' \
	-c "$ETC/platform.json" check
check "platform.json: state incr" 0 '3\n' -c "$ETC/platform.json" state incr usage k 3
check "platform.json: flushed at exit" 0 '3' -c "$ETC/platform.json" state get usage k
cd "$T" || exit 99

# --- Redis: events and changes across processes ----------------------------------
if [ ! -f "$PERSIST_PLUGIN_PATH/redis.so" ]; then
	not_ok "redis: redis.so was not built (configure found no hiredis): session listen untested"
elif [ -z "${REDIS_SERVER:-}" ] || [ ! -x "$REDIS_SERVER" ]; then
	not_ok "redis: no redis-server (REDIS_SERVER): session listen untested"
else
	REDIS_PASSWORD=persistctl-test-$$
	export REDIS_PASSWORD
	. "$abs_top_srcdir/t/lib/redis-server.sh"
	trap 'cleanup; redis_cleanup' EXIT
	port=
	redis_start persistctl "requirepass $REDIS_PASSWORD" && port=$REDIS_PORT
	if [ -z "$port" ]; then
		not_ok "redis: redis-server did not start"
	else
		sed "s/127.0.0.1:6379/127.0.0.1:$port/" "$ETC/persist-redis.json" >"$T/redis.json"
		R="-c $T/redis.json"
		FILTER=$CHECK_FILTER check "redis: check" 0 \
'configuration redis        ok  N us\nstate         redis        ok  N us\nsessions      redis        ok  N us\n' $R check
		check "redis: config set" 0 "$E1\n" $R config set platform "$T/doc1.json"
		check "redis: shared between processes" 0 "$E1\n" $R config etag platform
		check "redis: state incr" 0 '7\n' $R state incr usage k 7
		check "redis: state get" 0 '7' $R state get usage k
		check "redis: session put" 0 '' $R session put s1 '{"user":"alice"}' --ttl 60
		FILTER='s/\t[^\t]*\t/\tI\t/' check "redis: session list" 0 's1\tI\t{"user":"alice"}\n' $R session list
		check "redis: session drop" 0 '' $R session drop s1
		ERR='not found' check "redis: session drop again" 1 '' $R session drop s1
		ctl_bg $R session listen >"$T/listen.out" 2>"$T/listen.err" &
		pid=$!
		bg_pids="$bg_pids $pid"
		wait_started $pid
		i=0
		while [ $i -lt 50 ] && [ ! -s "$T/listen.out" ]; do
			ctl $R session broadcast ping "{\"i\":$i}" >/dev/null 2>&1
			sleep 0.2
			i=$((i + 1))
		done
		ctl $R session broadcast exact '{"a": [1,  2] ,"b":"x\ty"}' >/dev/null 2>&1
		if wait_line "$T/listen.out" "$(printf 'exact\t{"a": [1,  2] ,"b":"x\\ty"}')"; then ok; else
			not_ok "redis: session listen prints the data byte for byte"
			cat "$T/listen.out" "$T/listen.err"
		fi
		ctl $R session broadcast config-updated '{"key":"apps",
"final":true}' >/dev/null 2>&1
		if wait_line "$T/listen.out" "$(printf 'config-updated\t="{\\"key\\":\\"apps\\",\\n\\"final\\":true}"')"; then ok; else
			not_ok "redis: session listen prints data with a line break as =\"JSON string\" on one line"
			cat "$T/listen.out" "$T/listen.err"
		fi
		kill -INT $pid
		wait $pid
		rc=$?
		if [ $rc = 0 ]; then ok; else not_ok "redis: session listen exit $rc after SIGINT"; cat "$T/listen.err"; fi
		FILTER='$!d' check "redis: demo" 0 'demo: ok\n' $R demo
		redis_stop persistctl
		FILTER='s/ PERSIST_EUNAVAIL: .*/ PERSIST_EUNAVAIL/' ERR='3 of 3 providers are unhealthy' \
			check "redis: server gone: check is 3" 3 \
'configuration redis        PERSIST_EUNAVAIL\nstate         redis        PERSIST_EUNAVAIL\nsessions      redis        PERSIST_EUNAVAIL\n' \
			$R check
	fi
fi

echo "$pass passed, $failed failed"
[ $failed = 0 ]
