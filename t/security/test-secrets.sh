#!/bin/sh
# t/security/test-secrets.sh - no secret from a configuration file ever
# reaches a message, a log line or any output.
#
# Marker passwords and keys (each unique, all containing SeKrEtMaRk) are
# put in every place a secret can be: a redis url (redis://:MARK@...),
# the redis "password" setting, a postgres conninfo (key=value and URI)
# and a "password" key given to postgres, "secretAccessKey" and
# "sessionToken" of a provider named s3 (the plugin may not exist: its
# error must still not print them), sentinel passwords
# ("sentinelPassword", "sentinelUrl" with credentials) and the same under a
# fallback provider.  Then every error that can be provoked is: a wrong
# password against this test's own redis-server and PostgreSQL, a port
# where nothing listens, malformed urls and conninfos, unknown keys, values
# of the wrong type, a missing plugin, a syntax error in the file.  Each
# configuration goes through `persistctl check`, `plugins`, `stats`,
# `config get/list`, `state get/incr/append/scan`, `session list` and
# t/security/secret-host (every kind, with the library's log at debug
# level).  Everything printed to stdout and stderr, and the servers' logs,
# is grepped for the marker; any hit fails the test, naming the case.
#
# Ends with "N passed, N failed".
set -u
: "${abs_top_builddir:?run through t/run-test}" "${abs_top_srcdir:?}" "${PERSIST_TEST_TMP:?}"
. "$abs_top_srcdir/t/lib/redis-server.sh"
. "$abs_top_srcdir/t/lib/postgres-server.sh"

T=$PERSIST_TEST_TMP
MARK=SeKrEtMaRk
OUT=$T/out
mkdir -p "$OUT"
cd "$T" || exit 99   # the default filesystem provider writes ./persist-data
printf '{"doc":1}' >"$T/doc.json"
pass=0 failed=0 cases=0

# Run a program of this build (under $PERSIST_TEST_WRAPPER when set).
run() {
	if [ -n "${PERSIST_TEST_WRAPPER:-}" ]; then
		"$abs_top_builddir/libtool" --mode=execute $PERSIST_TEST_WRAPPER "$@"
	else
		"$@"
	fi
}

redis_start sec "requirepass right-redis-pw-1" || exit 99
pg_start sec || exit 99
RPORT=$REDIS_PORT
# A port where nothing listens: one a server had a moment ago.
redis_start gone || exit 99
DEAD=$REDIS_PORT
redis_stop gone
PGP=$PG_PORT

# Provoke everything on one configuration: name, then the "persistence"
# object's JSON.  Every command's output goes to $OUT/NAME.
try() {
	name=$1 json=$2
	cases=$((cases + 1))
	f=$T/$name.json
	printf '{"persistence":%s}\n' "$json" >"$f"
	o=$OUT/$name
	{
		for cmd in "check" "plugins" "stats" "config get apps" "config list" \
			   "config set apps $T/doc.json" "state get c k" "state incr c n" \
			   "state append c {}" "state scan c" "state bounds c" \
			   "session list" "session put s1 {}"; do
			echo "== persistctl $cmd"
			# shellcheck disable=SC2086
			run "$abs_top_builddir/tools/persistctl" -c "$f" $cmd </dev/null 2>&1
			echo "== exit $?"
		done
		echo "== secret-host"
		run "$abs_top_builddir/t/security/secret-host" "$f" 2>&1
	} >"$o" 2>&1
	if grep -n "$MARK" "$o" >"$o.hits"; then
		echo "FAIL $name: a secret was printed:"
		sed 's/^/    /' "$o.hits" | head -20
		failed=$((failed + 1))
	elif ! grep -q '== secret-host' "$o"; then
		echo "FAIL $name: no output recorded"
		failed=$((failed + 1))
	else
		echo "ok   $name"
		pass=$((pass + 1))
	fi
}

# Each case must at least fail somewhere: a case where everything worked
# provoked no error and proves nothing.  NAME PATTERN: the output must
# hold PATTERN (the error that case is about).
expect() {
	if grep -q -- "$2" "$OUT/$1"; then
		pass=$((pass + 1))
	else
		echo "FAIL $1: expected an error matching \"$2\" in its output:"
		sed 's/^/    /' "$OUT/$1" | head -30
		failed=$((failed + 1))
	fi
}

R=127.0.0.1:$RPORT
mem='"sessions":{"provider":"memory","config":{}}'

# --- redis: wrong password in the url, in "password", with a user
try redis-url-wrongpw "{\"configuration\":{\"provider\":\"redis\",\"config\":{\"url\":\"redis://:${MARK}01@$R/0\"}},\"state\":{\"provider\":\"redis\",\"config\":{\"url\":\"redis://:${MARK}01@$R/0\"}},\"sessions\":{\"provider\":\"redis\",\"config\":{\"url\":\"redis://:${MARK}01@$R/0\"}}}"
expect redis-url-wrongpw 'WRONGPASS\|invalid password\|auth'
try redis-password-wrongpw "{\"configuration\":{\"provider\":\"redis\",\"config\":{\"url\":\"redis://$R/0\",\"password\":\"${MARK}02\"}},\"state\":{\"provider\":\"redis\",\"config\":{\"url\":\"redis://$R/0\",\"password\":\"${MARK}02\"}},$mem}"
expect redis-password-wrongpw 'WRONGPASS\|invalid password\|auth'
try redis-user-wrongpw "{\"state\":{\"provider\":\"redis\",\"config\":{\"url\":\"redis://app:${MARK}03@$R/0\"}},$mem}"
expect redis-user-wrongpw 'WRONGPASS\|invalid\|auth'
try redis-user-password "{\"state\":{\"provider\":\"redis\",\"config\":{\"url\":\"redis://$R/0\",\"username\":\"app\",\"password\":\"${MARK}04\"}},$mem}"
expect redis-user-password 'WRONGPASS\|invalid\|auth'
# --- redis: nothing listening (the url and password both hold markers)
try redis-deadport "{\"state\":{\"provider\":\"redis\",\"config\":{\"url\":\"redis://:${MARK}05@127.0.0.1:$DEAD/0\",\"connectTimeout\":200}},\"sessions\":{\"provider\":\"redis\",\"config\":{\"url\":\"redis://:${MARK}05@127.0.0.1:$DEAD/0\",\"connectTimeout\":200}}}"
expect redis-deadport 'unavailable\|refused\|connect'
# --- redis: malformed urls (the parser cannot find the password)
try redis-badport "{\"state\":{\"provider\":\"redis\",\"config\":{\"url\":\"redis://:${MARK}06@$R:99999/0\"}},$mem}"
expect redis-badport 'does not parse'
try redis-badurl "{\"state\":{\"provider\":\"redis\",\"config\":{\"url\":\"redis://:${MARK}07/x@@host:6379/zz\"}},$mem}"
expect redis-badurl 'does not parse'
try redis-noscheme "{\"state\":{\"provider\":\"redis\",\"config\":{\"url\":\"//u:${MARK}08@host\"}},$mem}"
expect redis-noscheme 'does not parse'
try redis-query "{\"state\":{\"provider\":\"redis\",\"config\":{\"url\":\"redis://:${MARK}09@host/0?password=${MARK}09\"}},$mem}"
expect redis-query 'does not parse'
try redis-badescape "{\"state\":{\"provider\":\"redis\",\"config\":{\"url\":\"redis://:${MARK}10%zz@host/0\"}},$mem}"
expect redis-badescape 'does not parse'
# --- redis: wrong types and unknown keys holding secrets
try redis-url-array "{\"state\":{\"provider\":\"redis\",\"config\":{\"url\":[\"redis://:${MARK}11@h\"]}},$mem}"
expect redis-url-array '"url"'
try redis-password-number "{\"state\":{\"provider\":\"redis\",\"config\":{\"password\":{\"p\":\"${MARK}12\"}}},$mem}"
expect redis-password-number '"password"'
try redis-sentinel "{\"state\":{\"provider\":\"redis\",\"config\":{\"url\":\"redis://$R/0\",\"sentinelPassword\":\"${MARK}13\",\"sentinelUrl\":\"redis://:${MARK}13@127.0.0.1:$DEAD\"}},$mem}"
expect redis-sentinel 'sentinel'
try redis-unknown-key-name "{\"state\":{\"provider\":\"redis\",\"config\":{\"url\":\"redis://$R/0\",\"paswword\":\"${MARK}14\"}},$mem}"
expect redis-unknown-key-name 'paswword'
# a secret in a fallback provider's config
try redis-fallback "{\"state\":{\"provider\":\"redis\",\"config\":{\"url\":\"redis://:${MARK}15@127.0.0.1:$DEAD/0\",\"connectTimeout\":200},\"fallback\":{\"provider\":\"redis\",\"config\":{\"url\":\"redis://:${MARK}15@$R:0/0\"}}},$mem}"
expect redis-fallback 'unavailable\|does not parse\|refused\|fallback'

# --- postgres: wrong password (key=value and URI), bad conninfo, "password"
P="host=127.0.0.1 port=$PGP dbname=postgres"
try pg-conninfo-wrongpw "{\"configuration\":{\"provider\":\"postgres\",\"config\":{\"conninfo\":\"$P user=pwuser password=${MARK}20\"}},\"state\":{\"provider\":\"postgres\",\"config\":{\"conninfo\":\"$P user=pwuser password=${MARK}20\"}},\"sessions\":{\"provider\":\"postgres\",\"config\":{\"conninfo\":\"$P user=pwuser password=${MARK}20\"}}}"
expect pg-conninfo-wrongpw 'password authentication failed\|authentication'
try pg-uri-wrongpw "{\"state\":{\"provider\":\"postgres\",\"config\":{\"conninfo\":\"postgresql://pwuser:${MARK}21@127.0.0.1:$PGP/postgres\"}},$mem}"
expect pg-uri-wrongpw 'authentication'
try pg-quoted-wrongpw "{\"state\":{\"provider\":\"postgres\",\"config\":{\"conninfo\":\"$P user=pwuser password='${MARK}22 x'\"}},$mem}"
expect pg-quoted-wrongpw 'authentication'
try pg-deadport "{\"state\":{\"provider\":\"postgres\",\"config\":{\"conninfo\":\"host=127.0.0.1 port=$DEAD user=pwuser password=${MARK}23\",\"connectTimeout\":500}},$mem}"
expect pg-deadport 'unavailable\|refused\|connect'
try pg-badconninfo "{\"state\":{\"provider\":\"postgres\",\"config\":{\"conninfo\":\"$P password=${MARK}24 bogus=1\"}},$mem}"
expect pg-badconninfo 'bogus\|conninfo'
try pg-unterminated "{\"state\":{\"provider\":\"postgres\",\"config\":{\"conninfo\":\"$P password='${MARK}25\"}},$mem}"
expect pg-unterminated 'conninfo'
try pg-baduri "{\"state\":{\"provider\":\"postgres\",\"config\":{\"conninfo\":\"postgresql://u:${MARK}26@127.0.0.1:notaport/db\"}},$mem}"
expect pg-baduri 'conninfo\|port'
try pg-password-key "{\"state\":{\"provider\":\"postgres\",\"config\":{\"conninfo\":\"$P\",\"password\":\"${MARK}27\"}},$mem}"
expect pg-password-key '"password"'
try pg-replica-wrongpw "{\"configuration\":{\"provider\":\"postgres\",\"config\":{\"conninfo\":\"$P user=postgres\",\"replicaConninfo\":\"host=127.0.0.1 port=$DEAD user=pwuser password=${MARK}28\"}},\"state\":{\"provider\":\"memory\",\"config\":{}},$mem}"
expect pg-replica-wrongpw 'ok\|replica'

# --- s3: a plugin that may not exist (and unknown keys anywhere)
try s3-missing "{\"state\":{\"provider\":\"s3\",\"config\":{\"bucket\":\"b\",\"accessKeyId\":\"AKIA\",\"secretAccessKey\":\"${MARK}30\",\"sessionToken\":\"${MARK}31\",\"endpoint\":\"http://127.0.0.1:$DEAD\"}},\"configuration\":{\"provider\":\"s3\",\"config\":{\"secretAccessKey\":\"${MARK}30\"}},$mem}"
expect s3-missing 's3'
try memory-unknown-secret "{\"state\":{\"provider\":\"memory\",\"config\":{\"secretAccessKey\":\"${MARK}32\",\"sessionToken\":\"${MARK}33\"}},$mem}"
expect memory-unknown-secret 'secretAccessKey'
try filesystem-unknown-secret "{\"state\":{\"provider\":\"filesystem\",\"config\":{\"root\":\"$T/fsroot\",\"password\":\"${MARK}34\"}},$mem}"
expect filesystem-unknown-secret '"password"'

# --- the file itself: a syntax error next to a secret, a secret through
# ${VAR}, a wrong type of a core key
try syntax-error "{\"state\":{\"provider\":\"redis\",\"config\":{\"password\":\"${MARK}40\" , }}}"
expect syntax-error 'syntax error'
SECRET_FROM_ENV=${MARK}41 
export SECRET_FROM_ENV
try env-secret "{\"state\":{\"provider\":\"redis\",\"config\":{\"url\":\"redis://:\${SECRET_FROM_ENV}@$R:0/0\"}},$mem}"
expect env-secret 'does not parse'
try core-key-type "{\"state\":{\"provider\":\"redis\",\"config\":{\"url\":\"redis://:${MARK}42@$R/0\",\"batchInterval\":\"${MARK}42\"}},$mem}"
expect core-key-type 'batchInterval'

# The servers' own logs must not hold the markers either.
for log in "$T"/redis-*/stdout.log "$T"/redis-*/*.log "$PG_DIR"/*.log "$PG_DIR"/log/*; do
	[ -f "$log" ] || continue
	if grep -q "$MARK" "$log"; then
		echo "FAIL server log $log holds a secret:"
		grep -n "$MARK" "$log" | head -5 | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done

echo "$cases configurations tried"
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
