# t/lib/s3-server.sh - sourced by the s3 tests and benchmarks: start and
# stop private S3 servers (s3rver under Node.js, which checks SigV4
# signatures) on 127.0.0.1.
#
#   s3_start NAME BUCKET...
#       Start server NAME keeping its objects in $PERSIST_TEST_TMP/s3-NAME
#       on a free port the system picks, with the buckets given.  Waits
#       until it listens and sets S3_PORT, S3_ENDPOINT (http://127.0.0.1:PORT)
#       and S3_DIR.  Its access key id and secret are both "S3RVER"
#       (S3_ACCESS_KEY, S3_SECRET_KEY).
#   s3_stop NAME    stop it (SIGTERM, SIGKILL after 10 s) and wait
#   s3_curl METHOD /BUCKET/OBJECT [CURL-ARG]...
#       A request to the last server started, signed by curl itself
#       (--aws-sigv4), for what the tests do behind the provider's back.
#       A body is given as a file with --data-binary @FILE.
# Every server started is stopped when the calling shell exits (trap).
# The packages are installed by t/lib/s3rver/install.sh on first use.
# Internal variables start with _s (POSIX sh has no local variables).
#
# Node.js is required: a missing one is a hard error (exit 99), never a
# skipped test.  s3rver's continuation tokens use a cipher OpenSSL 3 keeps
# in its legacy provider, so Node 17 and later run it with
# --openssl-legacy-provider.

: "${PERSIST_TEST_TMP:?s3-server.sh: PERSIST_TEST_TMP is not set (run through t/run-test)}"
S3_NODE=${S3_NODE:-$(command -v node 2>/dev/null || command -v nodejs 2>/dev/null || true)}
if [ -z "$S3_NODE" ]; then
	echo "s3-server.sh: no node; install Node.js (etc/install-deps.sh)" >&2
	exit 99
fi
_s3_lib=$abs_top_srcdir/t/lib/s3rver
sh "$_s3_lib/install.sh" || { echo "s3-server.sh: cannot install s3rver" >&2; exit 99; }
if "$S3_NODE" --openssl-legacy-provider -e '' >/dev/null 2>&1; then
	_s3_node_opts=--openssl-legacy-provider
else
	_s3_node_opts=
fi
S3_ACCESS_KEY=S3RVER
S3_SECRET_KEY=S3RVER
export S3_ACCESS_KEY S3_SECRET_KEY
_s3_names=

s3_start() {
	_sname=$1
	shift
	_sdir=$PERSIST_TEST_TMP/s3-$_sname
	mkdir -p "$_sdir/data" || return 1
	: >"$_sdir/stdout.log"
	NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }$_s3_node_opts" \
		"$S3_NODE" "$_s3_lib/s3rver-run.js" "$_sdir/data" "$@" \
		>"$_sdir/stdout.log" 2>"$_sdir/stderr.log" &
	echo $! >"$_sdir/pid"
	_s3_names="$_s3_names $_sname"
	_si=0
	while [ $_si -lt 400 ]; do
		_sport=$(sed -n 's/^ready \([0-9][0-9]*\)$/\1/p' "$_sdir/stdout.log")
		if [ -n "$_sport" ]; then
			echo "$_sport" >"$_sdir/port"
			S3_DIR=$_sdir
			S3_PORT=$_sport
			S3_ENDPOINT=http://127.0.0.1:$_sport
			export S3_DIR S3_PORT S3_ENDPOINT
			return 0
		fi
		if ! kill -0 "$(cat "$_sdir/pid")" 2>/dev/null; then
			break
		fi
		sleep 0.05
		_si=$((_si + 1))
	done
	echo "s3-server.sh: server $_sname did not start; its log:" >&2
	tail -20 "$_sdir/stderr.log" >&2
	s3_stop "$_sname"
	return 1
}

s3_stop() {
	_sdir=$PERSIST_TEST_TMP/s3-$1
	[ -f "$_sdir/pid" ] || return 0
	_spid=$(cat "$_sdir/pid")
	kill -TERM "$_spid" 2>/dev/null
	_si=0
	while kill -0 "$_spid" 2>/dev/null; do
		_si=$((_si + 1))
		if [ $_si -gt 200 ]; then
			kill -KILL "$_spid" 2>/dev/null
		fi
		sleep 0.05
	done
	wait "$_spid" 2>/dev/null
	rm -f "$_sdir/pid"
	return 0
}

s3_curl() {
	_smethod=$1
	_spath=$2
	shift 2
	_shash=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
	for _sarg in "$@"; do
		case $_sarg in
		@*) _shash=$(sha256sum "${_sarg#@}" | cut -d' ' -f1) ;;
		esac
	done
	curl -sS --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
		-H "x-amz-content-sha256: $_shash" -X "$_smethod" "$@" "$S3_ENDPOINT$_spath"
}

# Stop every server this shell started (the EXIT trap).
s3_cleanup() {
	for _sn in $_s3_names; do
		s3_stop "$_sn"
	done
}
trap 's3_cleanup' EXIT
trap 'exit 130' INT TERM
