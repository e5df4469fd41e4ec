# t/conformance/run.sh - sourced by t/conformance/<provider>.sh: run the
# freshly built persist-conformance (through libtool, so that it finds the
# uninstalled libpersist; under $PERSIST_TEST_WRAPPER when set, e.g.
# valgrind) with the given arguments.  t/run-test has already pointed
# PERSIST_PLUGIN_PATH at this build's plugins.
persist_conformance() {
	"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} \
		"$abs_top_builddir/t/conformance/persist-conformance" "$@"
}
