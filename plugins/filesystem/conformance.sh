#!/bin/sh
# plugins/filesystem/conformance.sh - the conformance suite (persist-
# conformance, from t/conformance) against the filesystem provider: once
# with a root per kind, once with configuration and state sharing one root
# and fsync "always"; and the provider refuses config keys it does not
# know, naming them.
. "$abs_top_srcdir/t/conformance/run.sh"
tmp=$PERSIST_TEST_TMP

persist_conformance \
	-c configuration="{\"root\":\"$tmp/config\"}" \
	-c state="{\"root\":\"$tmp/state\"}" filesystem || status=1
persist_conformance filesystem "{\"root\":\"$tmp/shared\",\"fsync\":\"always\"}" || status=1

# An unknown key and a wrong value are configuration errors naming the key.
persist_conformance_refuses filesystem "{\"bogus\":1,\"root\":\"$tmp/bad\"}" \
	'{"fsync":"sometimes"}' '{"root":7}'
exit $status
