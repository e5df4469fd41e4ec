#!/bin/sh
# plugins/filesystem/conformance.sh - the conformance suite (persist-
# conformance, from t/conformance) against the filesystem provider: once
# with a root per kind, once with configuration and state sharing one root
# and fsync "always"; and the provider refuses config keys it does not
# know, naming them.
. "$abs_top_srcdir/t/conformance/run.sh"
set -u
status=0
tmp=$PERSIST_TEST_TMP

persist_conformance \
	-c configuration="{\"root\":\"$tmp/config\"}" \
	-c state="{\"root\":\"$tmp/state\"}" filesystem || status=1
persist_conformance filesystem "{\"root\":\"$tmp/shared\",\"fsync\":\"always\"}" || status=1

# An unknown key and a wrong value are configuration errors naming the key.
for bad in "{\"bogus\":1,\"root\":\"$tmp/bad\"}" '{"fsync":"sometimes"}' '{"root":7}'; do
	out=$(persist_conformance filesystem "$bad" 2>&1)
	rc=$?
	key=$(printf '%s' "$bad" | sed 's/^{"\([a-z]*\)".*/\1/')
	if [ $rc -ne 2 ] || ! printf '%s' "$out" | grep -q "\"$key\""; then
		echo "conformance.sh: config $bad: expected a set-up failure naming \"$key\"; got exit $rc:"
		echo "$out"
		status=1
	fi
done
exit $status
