#!/bin/sh
# plugins/memory/conformance.sh - the conformance suite (persist-
# conformance, from t/conformance) against the memory provider: once with the default namespace, once with a named one; and the
# memory provider refuses config keys it does not know, naming them.
. "$abs_top_srcdir/t/conformance/run.sh"
persist_conformance memory '{}' || status=1
persist_conformance memory '{"namespace":"conformance"}' || status=1

# An unknown key and a wrong type are configuration errors naming the key.
persist_conformance_refuses memory '{"bogus":1}' '{"namespace":42}'
exit $status
