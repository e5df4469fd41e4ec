#!/bin/sh
# etc/install-deps.sh - install, on Debian (12), every package needed to
# build persist and run its whole test suite: compiler and autotools,
# json-c, OpenSSL, CUnit, hiredis, libpq, libcurl, libxml2, the Redis and
# PostgreSQL 15 servers the integration tests start on loopback (pgbench
# comes with postgresql-15), Node.js (the S3 test server and the Node.js
# binding), valgrind, and clang with its libFuzzer runtime (the fuzz
# targets).
#
# Idempotent and quiet: it asks dpkg what is missing and does nothing (not
# even `apt-get update`) when everything is there.  Runs as root, or through
# sudo when not root.  The README's build/test commands and .ci/run call it.
set -eu

# The manual page test (t/docs/test-man.sh) renders with groff.  With
# --packaging, also what building and checking the Debian packages needs
# (.ci/packages), which the build and the tests do not.
MORE="groff-base"
if [ "${1:-}" = --packaging ]; then
	MORE="$MORE debhelper dh-autoreconf dpkg-dev fakeroot lintian
libcurl4-openssl-dev libxml2-dev"
fi

PACKAGES="build-essential autoconf automake libtool pkg-config libjson-c-dev
libssl-dev libcunit1-dev libhiredis-dev redis-server redis-tools libpq-dev
postgresql-15 valgrind
clang libclang-rt-14-dev"
# the s3 provider: libcurl and libxml2 to build it; curl, Node.js and npm
# for its tests (the S3 server s3rver is an npm package, installed by
# t/lib/s3rver/install.sh).  A Node.js that is already there (e.g. a newer
# one from NodeSource, which brings its own npm) is kept.
PACKAGES="$PACKAGES libcurl4-openssl-dev libxml2-dev curl"
# The import tests' generator of platform directories (t/import) is Python.
PACKAGES="$PACKAGES python3"
command -v node >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs"
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES npm"
# The Node.js binding: node and its Node-API headers (/usr/include/node).
# A Node.js from elsewhere (NodeSource) ships the headers in its nodejs
# package, and Debian's libnode-dev would clash with it: asked for only
# when the headers are missing.
[ -f /usr/include/node/node_api.h ] || PACKAGES="$PACKAGES libnode-dev"

missing=
for pkg in $PACKAGES $MORE; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	case $status in
	*"install ok installed") ;;
	*) missing="$missing $pkg" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	as_root=
elif command -v sudo >/dev/null 2>&1; then
	as_root=sudo
else
	echo "install-deps.sh: not root and no sudo; install as root:$missing" >&2
	exit 1
fi

log=$(mktemp "${TMPDIR:-/tmp}/install-deps.XXXXXX")
trap 'rm -f "$log"' EXIT
echo "install-deps.sh: installing$missing"
if ! $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$log" 2>&1 ||
   ! $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	--no-install-recommends $missing >>"$log" 2>&1; then
	cat "$log" >&2
	echo "install-deps.sh: apt-get failed (output above)" >&2
	exit 1
fi
