# t/conformance/run.sh - the common part of every
# plugins/<provider>/conformance.sh, sourced by them: `set -u`, a `status`
# the script exits with (0 until a check fails), a function running the
# freshly built persist-conformance (through libtool, so that it finds the
# uninstalled libpersist; under $PERSIST_TEST_WRAPPER when set, e.g.
# valgrind), and one checking that bad configurations are refused.
# t/run-test has already pointed PERSIST_PLUGIN_PATH at this build's
# plugins.
set -u
status=0

# Run persist-conformance with the given arguments; its exit status.
persist_conformance() {
	"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} \
		"$abs_top_builddir/t/conformance/persist-conformance" "$@"
}

# persist_conformance_refuses PLUGIN CONFIG_JSON...: each configuration
# (whose first key is the offending one) must be a set-up failure (exit 2)
# naming that key; otherwise say so and set status=1.
persist_conformance_refuses() {
	_pcr_plugin=$1
	shift
	for _pcr_bad in "$@"; do
		_pcr_out=$(persist_conformance "$_pcr_plugin" "$_pcr_bad" 2>&1)
		_pcr_rc=$?
		_pcr_key=$(printf '%s' "$_pcr_bad" | sed 's/^{"\([A-Za-z]*\)".*/\1/')
		if [ $_pcr_rc -ne 2 ] || ! printf '%s' "$_pcr_out" | grep -q "\"$_pcr_key\""; then
			echo "${0##*/}: config $_pcr_bad: expected a set-up failure naming \"$_pcr_key\"; got exit $_pcr_rc:"
			echo "$_pcr_out"
			status=1
		fi
	done
}
