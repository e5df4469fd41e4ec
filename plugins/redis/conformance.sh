#!/bin/sh
# plugins/redis/conformance.sh - the conformance suite (persist-conformance)
# against the redis provider on private redis-servers: over TCP, over a
# unix socket with a password and another prefix; and set-up failures that
# name the offending setting.
. "$abs_top_srcdir/t/lib/redis-server.sh"
. "$abs_top_srcdir/t/conformance/run.sh"
redis_start main || exit 99
tcp_url=$REDIS_URL
sock=$PERSIST_TEST_TMP/redis.sock
redis_start sock "unixsocket $sock" "unixsocketperm 700" "requirepass conf-pass" || exit 99

persist_conformance redis "{\"url\":\"$tcp_url\"}" || status=1
persist_conformance redis \
	"{\"url\":\"unix://$sock\",\"password\":\"conf-pass\",\"prefix\":\"other:\",\"poolSize\":2}" ||
	status=1

# Bad settings are set-up failures (exit 2) naming the setting.
persist_conformance_refuses redis '{"bogus":1}' '{"commandTimeout":"x"}' \
	'{"url":"redis://127.0.0.1:99999"}'
# A wrong password is refused at open; the provider's message does not
# repeat it (persist-conformance itself echoes the configuration it used).
out=$(persist_conformance redis "{\"url\":\"unix://$sock\",\"password\":\"wrong-pass\"}" 2>&1)
rc=$?
if [ $rc -ne 2 ] || ! printf '%s' "$out" | grep -q "authentication failed" ||
   printf '%s\n' "$out" | grep -v "configuration was" | grep -q "wrong-pass"; then
	echo "conformance.sh: a wrong password: expected a set-up failure; got exit $rc:"
	echo "$out"
	status=1
fi
exit $status
