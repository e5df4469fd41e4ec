#!/bin/sh
# plugins/s3/test-s3-plugin.sh - run test-s3-plugin (the s3 provider
# through the host API) against a private s3rver with the bucket "test",
# holding one object put behind the provider's back that is not JSON.
. "$abs_top_srcdir/t/lib/s3-server.sh"
set -u
s3_start main test || exit 99
printf '{"cut": tr' >"$PERSIST_TEST_TMP/notjson"
s3_curl PUT /test/notjson.json --data-binary "@$PERSIST_TEST_TMP/notjson" -o /dev/null ||
	exit 99
"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} \
	"$abs_top_builddir/plugins/s3/test-s3-plugin"
