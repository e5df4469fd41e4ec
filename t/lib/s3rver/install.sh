#!/bin/sh
# t/lib/s3rver/install.sh - install the npm packages of the s3 tests (the
# S3 server s3rver, pinned by package-lock.json) into
# t/lib/s3rver/node_modules with `npm ci`, once: it does nothing when
# that lock file is already installed.  Called by .ci/run before the
# tests and by t/lib/s3-server.sh when the packages are missing; safe to
# run from several tests at once (a lock directory serialises them).
# Never run at build time.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
stamp=$dir/.installed
lock=$dir/.install-lock

installed() {
	[ -f "$stamp" ] && [ -d "$dir/node_modules/@20minutes/s3rver" ] &&
		cmp -s "$stamp" "$dir/package-lock.json"
}

installed && exit 0
if ! command -v npm >/dev/null 2>&1; then
	echo "s3rver/install.sh: npm not found; run etc/install-deps.sh" >&2
	exit 1
fi
# one installer at a time; the others wait for it (at most 5 minutes)
i=0
until mkdir "$lock" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 600 ]; then
		echo "s3rver/install.sh: $lock stays locked; remove it if no install runs" >&2
		exit 1
	fi
	sleep 0.5
done
trap 'rmdir "$lock" 2>/dev/null' EXIT
installed && exit 0
log=$(mktemp "${TMPDIR:-/tmp}/s3rver-install.XXXXXX")
if ! (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund) >"$log" 2>&1; then
	cat "$log" >&2
	rm -f "$log"
	echo "s3rver/install.sh: npm ci failed (output above)" >&2
	exit 1
fi
rm -f "$log"
cp "$dir/package-lock.json" "$stamp"
