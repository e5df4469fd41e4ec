#!/bin/sh
# examples/plugin-skeleton/test-skeleton.sh - the plugin author's path,
# tested: install persist into a temporary root (make install DESTDIR=),
# build the skeleton provider out of tree against that installation only
# (its own Makefile, pkg-config with PKG_CONFIG_SYSROOT_DIR pointing into
# the root), install it into the installation's plugin directory, load it
# by name through the installed persistctl, and run the installed
# persist-conformance on it.
set -u
tmp=$PERSIST_TEST_TMP
root=$tmp/root
fail() { echo "test-skeleton.sh: $*"; exit 1; }

# 1. persist, installed
make -C "$abs_top_builddir" install DESTDIR="$root" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; fail "make install DESTDIR=$root failed"; }
pc=$(find "$root" -name persist-plugin.pc | head -1)
[ -n "$pc" ] || fail "no persist-plugin.pc installed under $root"
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR=$root
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
plugindir=$(pkg-config --variable=plugindir persist-plugin)
prefix=$(pkg-config --variable=prefix persist-plugin)
libdir=$(pkg-config --variable=libdir persist-plugin)
case $plugindir in "$root"/*) ;; *) fail "plugindir $plugindir is outside $root" ;; esac

# 2. the example, built out of tree from a copy of its two files
mkdir "$tmp/skel" &&
	cp "$abs_top_srcdir/examples/plugin-skeleton/Makefile" \
	   "$abs_top_srcdir/examples/plugin-skeleton/skeleton.c" "$tmp/skel/" ||
	fail "cannot copy the example"
make -C "$tmp/skel" CFLAGS="-O2 -Wall -Wextra -Werror" install >"$tmp/skel.log" 2>&1 ||
	{ cat "$tmp/skel.log"; fail "building the example against the installation failed"; }
grep -q -- "-I$root" "$tmp/skel.log" || fail "the example was not compiled against $root"
[ -f "$plugindir/skeleton.so" ] || fail "skeleton.so is not in $plugindir"

# 3. the installed tools, and nothing of the build tree
unset PERSIST_PLUGIN_PATH PERSIST_CONFIG
LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
persistctl=$prefix/bin/persistctl
conformance=$prefix/bin/persist-conformance

out=$("$persistctl" -P "$plugindir" plugins 2>&1) || fail "persistctl plugins: $out"
printf '%s\n' "$out" | grep -q skeleton || fail "persistctl plugins does not list skeleton: $out"

cat >"$tmp/platform.json" <<JSON
{ "persistence": {
    "pluginPath": ["$plugindir"],
    "configuration": { "provider": "memory" },
    "state": { "provider": "skeleton", "config": { "path": "$tmp/state.tsv" } },
    "sessions": { "provider": "memory" } } }
JSON
ctl() { "$persistctl" -c "$tmp/platform.json" "$@"; }
ctl state set usage visits hello || fail "persistctl state set through skeleton failed"
[ "$(ctl state get usage visits)" = hello ] || fail "persistctl state get: not what was set"
ctl state incr usage n 5 >/dev/null && [ "$(ctl state incr usage n 2)" = 7 ] ||
	fail "persistctl state incr through skeleton: not 7"
grep -q "^usage	visits	68656c6c6f$" "$tmp/state.tsv" || fail "the value is not in $tmp/state.tsv"

# 4. the conformance suite, as the author would run it
"$conformance" -P "$plugindir" skeleton "{\"path\":\"$tmp/conformance.tsv\"}" ||
	fail "persist-conformance failed on the skeleton"
