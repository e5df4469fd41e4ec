#!/bin/sh
# t/conformance/memory.sh - the conformance suite against the memory
# provider: once with the default namespace, once with a named one; and the
# memory provider refuses config keys it does not know, naming them.
. "$abs_top_srcdir/t/conformance/run.sh"
set -u
status=0
persist_conformance memory '{}' || status=1
persist_conformance memory '{"namespace":"conformance"}' || status=1

# An unknown key and a wrong type are configuration errors naming the key.
for bad in '{"bogus":1}' '{"namespace":42}'; do
	out=$(persist_conformance memory "$bad" 2>&1)
	rc=$?
	key=$(printf '%s' "$bad" | sed 's/^{"\([a-z]*\)".*/\1/')
	if [ $rc -ne 2 ] || ! printf '%s' "$out" | grep -q "\"$key\""; then
		echo "memory.sh: config $bad: expected a set-up failure naming \"$key\"; got exit $rc:"
		echo "$out"
		status=1
	fi
done
exit $status
