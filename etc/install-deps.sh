#!/bin/sh
# etc/install-deps.sh - install, on Debian (12), every package needed to
# build persist and run its whole test suite: compiler and autotools,
# json-c, OpenSSL, CUnit, hiredis, libpq, the Redis and PostgreSQL 15
# servers the integration tests start on loopback (pgbench comes with
# postgresql-15), and valgrind.
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
postgresql-15 valgrind"

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
