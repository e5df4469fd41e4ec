#!/bin/sh
# plugins/s3/conformance.sh - the conformance suite (persist-conformance)
# against the s3 provider on a private S3 server (s3rver), once at the
# bucket's root and once under a prefix; and set-up failures that name
# the offending setting.  s3rver ignores If-Match on PUT, so the runs turn
# conditionalWrites off.
. "$abs_top_srcdir/t/lib/s3-server.sh"
. "$abs_top_srcdir/t/conformance/run.sh"
s3_start main conformance || exit 99
common="\"endpoint\":\"$S3_ENDPOINT\",\"accessKeyId\":\"$S3_ACCESS_KEY\",\
\"secretAccessKey\":\"$S3_SECRET_KEY\",\"conditionalWrites\":false,\"pollInterval\":200"

persist_conformance s3 "{\"bucket\":\"conformance\",$common}" || status=1
# s3rver removes a folder when its last object goes, racing with a PUT
# into it from another thread: a file that is not a document keeps the
# prefix's folder.
printf x >"$PERSIST_TEST_TMP/keep"
s3_curl PUT /conformance/deep/er/keep --data-binary "@$PERSIST_TEST_TMP/keep" -o /dev/null ||
	exit 99
persist_conformance s3 "{\"bucket\":\"conformance\",\"prefix\":\"deep/er/\",$common}" ||
	status=1

# Bad settings are set-up failures (exit 2) naming the setting.
persist_conformance_refuses s3 '{"bucket":"no/slash"}' \
	"{\"endpoint\":\"ftp://127.0.0.1:$S3_PORT\",\"bucket\":\"b\"}" \
	'{"pollInterval":-1,"bucket":"b"}' '{"region":"eu west","bucket":"b"}' \
	'{"secretAccessKey":"x","bucket":"b"}'
exit $status
