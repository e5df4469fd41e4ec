#!/bin/sh
# plugins/postgres/conformance.sh - the conformance suite (persist-conformance)
# against the postgres provider on a private PostgreSQL 15: over TCP with
# the default schema, over the unix socket as a user with a password, in
# another schema, through a URI; and set-up failures that name the
# offending setting, without ever printing the password.
. "$abs_top_srcdir/t/lib/postgres-server.sh"
. "$abs_top_srcdir/t/conformance/run.sh"
pg_start main || exit 99
pg_sql main "CREATE DATABASE app OWNER pwuser" >/dev/null || exit 99

# connectTimeout: eight threads open connections at once; on a loaded
# machine a backend can take more than the default 2 s to start
persist_conformance postgres "{\"conninfo\":\"$PG_CONNINFO\",\"connectTimeout\":10000}" || status=1
persist_conformance postgres \
	"{\"conninfo\":\"postgresql://pwuser:$PG_TEST_PASSWORD@127.0.0.1:$PG_PORT/app\",\"schema\":\"other schema\",\"poolSize\":3,\"connectTimeout\":10000}" ||
	status=1

# Bad settings are set-up failures (exit 2) naming the setting.
persist_conformance_refuses postgres '{"bogus":1}' '{"commandTimeout":"x"}' \
	'{"poolSize":0}' '{"conninfo":"host=127.0.0.1 port"}' '{"schema":""}'
# A wrong password is refused at open; the provider's message does not
# repeat it (persist-conformance itself echoes the configuration it used).
out=$(persist_conformance postgres \
	"{\"conninfo\":\"host=127.0.0.1 port=$PG_PORT user=pwuser dbname=app password=wrong-pass-0815\"}" 2>&1)
rc=$?
if [ $rc -ne 2 ] || ! printf '%s' "$out" | grep -q "password authentication failed" ||
   printf '%s\n' "$out" | grep -v "configuration was" | grep -q "wrong-pass-0815"; then
	echo "conformance.sh: a wrong password: expected a set-up failure; got exit $rc:"
	echo "$out"
	status=1
fi
exit $status
