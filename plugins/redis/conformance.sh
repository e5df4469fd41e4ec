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
# A wrong password: open does not connect, so it is the first call that
# answers PERSIST_ECONFIG without repeating the password; test-redis-plugin
# (auth, masking of passwords) checks that through the ops tables.
exit $status
