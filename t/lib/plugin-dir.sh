# t/lib/plugin-dir.sh - sourced by t/run-test: collect the plugins built in
# this tree into one private directory that passes the loader's ownership
# and permission checks (0755, files 0644, owned by us), whatever the umask
# or the checkout's permissions, and point PERSIST_PLUGIN_PATH at it.
persist_make_plugin_dir() {
	PERSIST_TEST_PLUGIN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/persist-plugins.XXXXXX") || return 1
	chmod 0755 "$PERSIST_TEST_PLUGIN_DIR"
	for so in "$abs_top_builddir"/plugins/*/.libs/*.so; do
		[ -f "$so" ] || continue
		cp "$so" "$PERSIST_TEST_PLUGIN_DIR/" && chmod 0644 "$PERSIST_TEST_PLUGIN_DIR/${so##*/}"
	done
	PERSIST_PLUGIN_PATH=$PERSIST_TEST_PLUGIN_DIR
	export PERSIST_TEST_PLUGIN_DIR PERSIST_PLUGIN_PATH
}
