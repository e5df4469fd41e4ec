# bindings/node/test/node-env.sh - sourced by the Node.js binding's test
# wrappers (run through t/run-test): point node at the addon and module of
# this build and run `node --test` files.
#   NODE                 the node configure found (from make)
#   PERSIST_NODE_ADDON   bindings/node/.libs/persist.node of this build
#   PERSIST_NODE_MODULE  bindings/node (index.js) of the source tree
# In a sanitizer build the addon needs the sanitizer runtime loaded before
# node itself: it is preloaded, with leak checks off (node's own
# allocations at exit are not ours to report).
if [ -z "${NODE:-}" ] || [ ! -x "$NODE" ]; then
	echo "node-env.sh: no node (NODE='${NODE:-}'); install nodejs and re-run configure" >&2
	exit 99
fi
PERSIST_NODE_ADDON=$abs_top_builddir/bindings/node/.libs/persist.node
PERSIST_NODE_MODULE=$abs_top_srcdir/bindings/node
if [ ! -f "$PERSIST_NODE_ADDON" ]; then
	echo "node-env.sh: $PERSIST_NODE_ADDON was not built" >&2
	exit 99
fi
LD_LIBRARY_PATH=$abs_top_builddir/core/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PERSIST_NODE_ADDON PERSIST_NODE_MODULE LD_LIBRARY_PATH
_pn_rt=$(ldd "$PERSIST_NODE_ADDON" "$abs_top_builddir/core/.libs/libpersist.so" 2>/dev/null |
	awk '$1 ~ /^lib(asan|tsan|ubsan)\.so/ { print $3 }' | sort -u | tr '\n' ' ')
if [ -n "$_pn_rt" ]; then
	LD_PRELOAD="$_pn_rt${LD_PRELOAD:+ $LD_PRELOAD}"
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=0
	TSAN_OPTIONS="suppressions=$abs_top_srcdir/bindings/node/test/tsan.supp${TSAN_OPTIONS:+ $TSAN_OPTIONS}"
	export LD_PRELOAD ASAN_OPTIONS TSAN_OPTIONS
fi

# node_test FILE...: run node's test runner on the files (TAP on stdout).
node_test() {
	"$NODE" --test --test-reporter=tap "$@"
}
