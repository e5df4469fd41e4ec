# t/lib/redis-server.sh - sourced by the redis tests and benchmarks: start
# and stop private redis-server instances on 127.0.0.1.
#
#   redis_start NAME [CONFIG-LINE]...
#       Start server NAME with its own directory $PERSIST_TEST_TMP/redis-NAME
#       (data, log, redis.conf) on a random free port; extra arguments are
#       lines of redis.conf ("requirepass secret", "appendonly yes", ...).
#       Defaults: no RDB snapshots, no AOF.  Waits until it answers PING and
#       sets REDIS_PORT, REDIS_URL (redis://127.0.0.1:PORT/0) and REDIS_DIR.
#   redis_stop NAME     shut it down (SIGTERM, SIGKILL after 10 s) and wait
#   redis_kill NAME     kill it at once (SIGKILL: a crash)
#   redis_restart NAME  start it again on the same port with the same config
#   redis_port NAME     print its port
#   redis_start_sentinel NAME MASTER-NAME MASTER-PORT [CONFIG-LINE]...
#       Start a Redis Sentinel NAME (redis-server in sentinel mode) that
#       monitors MASTER-NAME at 127.0.0.1:MASTER-PORT with quorum 2,
#       down-after-milliseconds 1000 and failover-timeout 3000 (extra
#       lines are more sentinel.conf lines); sets REDIS_PORT like
#       redis_start.  redis_stop, redis_kill and redis_port work on it.
#   redis_sentinel_ready NAME MASTER-NAME REPLICAS SENTINELS
#       Wait (at most 20 s) until sentinel NAME knows REPLICAS replicas
#       and SENTINELS other sentinels of MASTER-NAME; 1 when it does not.
#   redis_sentinel_master NAME MASTER-NAME
#       print the port of the master sentinel NAME names
#   redis_cli NAME ARG...   redis-cli on server or sentinel NAME, with the
#       password $REDIS_CLI_PASSWORD when set
# Every server started is stopped when the calling shell exits (trap).
# Internal variables start with _r (POSIX sh has no local variables).
#
# $REDIS_SERVER (the absolute path configure found) is required: a missing
# server is a hard error (exit 99), never a skipped test.

: "${PERSIST_TEST_TMP:?redis-server.sh: PERSIST_TEST_TMP is not set (run through t/run-test)}"
if [ -z "${REDIS_SERVER:-}" ] || [ ! -x "$REDIS_SERVER" ]; then
	echo "redis-server.sh: no redis-server (REDIS_SERVER='${REDIS_SERVER:-}');" \
	     "install it (Debian: apt-get install redis-server) and re-run configure" >&2
	exit 99
fi
REDIS_CLI=${REDIS_CLI:-$(dirname "$REDIS_SERVER")/redis-cli}
[ -x "$REDIS_CLI" ] || REDIS_CLI=$(command -v redis-cli 2>/dev/null || true)
_redis_names=

# A random port in 20000-59999.
_redis_random_port() {
	_rn=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	echo $((20000 + _rn % 40000))
}

# Launch the server of directory $1 in the background (a sentinel when
# the directory says so); record its pid.
_redis_launch() {
	if [ -f "$1/sentinel" ]; then
		"$REDIS_SERVER" "$1/redis.conf" --sentinel >>"$1/stdout.log" 2>&1 &
	else
		"$REDIS_SERVER" "$1/redis.conf" >>"$1/stdout.log" 2>&1 &
	fi
	echo $! >"$1/pid"
}

# Wait until the server of $1 answers PING: 0 ready, 1 it died (e.g. the
# port was taken), 2 no answer within 10 s.
_redis_wait_ready() {
	_rdir=$1
	_rport=$(cat "$_rdir/port")
	_rpid=$(cat "$_rdir/pid")
	_ri=0
	while [ $_ri -lt 200 ]; do
		if ! kill -0 "$_rpid" 2>/dev/null; then
			return 1
		fi
		if grep -q -e "Ready to accept connections" -e "Sentinel ID is" \
			"$_rdir/redis.log" 2>/dev/null; then
			if [ -z "$REDIS_CLI" ]; then
				return 0
			fi
			_rout=$("$REDIS_CLI" -h 127.0.0.1 -p "$_rport" ping 2>&1)
			case $_rout in
			*PONG*|*NOAUTH*) return 0 ;;
			esac
		fi
		sleep 0.05
		_ri=$((_ri + 1))
	done
	return 2
}

# Export the variables describing server $1.
_redis_export() {
	REDIS_DIR=$PERSIST_TEST_TMP/redis-$1
	REDIS_PORT=$(cat "$REDIS_DIR/port")
	REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
	export REDIS_DIR REDIS_PORT REDIS_URL
}

redis_start() {
	_rname=$1
	shift
	_rdir=$PERSIST_TEST_TMP/redis-$_rname
	mkdir -p "$_rdir" || return 1
	rm -f "$_rdir/sentinel"
	_redis_start_in "$_rname" "$@"
}

redis_start_sentinel() {
	_rname=$1
	_rmaster=$2
	_rmport=$3
	shift 3
	_rdir=$PERSIST_TEST_TMP/redis-$_rname
	mkdir -p "$_rdir" || return 1
	: >"$_rdir/sentinel"
	_redis_start_in "$_rname" "sentinel monitor $_rmaster 127.0.0.1 $_rmport 2" \
		"sentinel down-after-milliseconds $_rmaster 1000" \
		"sentinel failover-timeout $_rmaster 3000" "$@"
}

redis_sentinel_ready() {
	_ri=0
	while [ $_ri -lt 200 ]; do
		_rinfo=$(redis_cli "$1" sentinel master "$2" 2>/dev/null | tr '\n' ' ')
		case $_rinfo in
		*"num-slaves $3 "*"num-other-sentinels $4 "*) return 0 ;;
		esac
		sleep 0.1
		_ri=$((_ri + 1))
	done
	echo "redis-server.sh: sentinel $1 does not see $3 replicas and $4 sentinels:" \
		"$_rinfo" >&2
	return 1
}

redis_sentinel_master() {
	redis_cli "$1" sentinel get-master-addr-by-name "$2" 2>/dev/null | sed -n 2p
}

redis_cli() {
	_rcp=$(redis_port "$1")
	shift
	if [ -n "${REDIS_CLI_PASSWORD:-}" ]; then
		REDISCLI_AUTH=$REDIS_CLI_PASSWORD "$REDIS_CLI" -h 127.0.0.1 -p "$_rcp" "$@"
	else
		"$REDIS_CLI" -h 127.0.0.1 -p "$_rcp" "$@"
	fi
}

# Start server or sentinel $1 (its directory made) with config lines $2...
_redis_start_in() {
	_rname=$1
	shift
	_rdir=$PERSIST_TEST_TMP/redis-$_rname
	_rtries=0
	while [ $_rtries -lt 20 ]; do
		_rport=$(_redis_random_port)
		{
			echo "port $_rport"
			echo "bind 127.0.0.1"
			echo "daemonize no"
			echo "dir $_rdir"
			echo "logfile $_rdir/redis.log"
			echo "save \"\""
			echo "appendonly no"
			echo "protected-mode yes"
			for _rline in "$@"; do
				echo "$_rline"
			done
		} >"$_rdir/redis.conf"
		echo "$_rport" >"$_rdir/port"
		: >"$_rdir/redis.log"
		_redis_launch "$_rdir"
		case $_redis_names in
		*" $_rname "*) ;;
		*) _redis_names="$_redis_names $_rname " ;;
		esac
		_redis_wait_ready "$_rdir"
		case $? in
		0) _redis_export "$_rname"; return 0 ;;
		1) _rtries=$((_rtries + 1)) ;; # port taken (or another start failure): next port
		*) echo "redis-server.sh: server $_rname did not answer on port $_rport" >&2
		   tail -20 "$_rdir/redis.log" >&2
		   redis_kill "$_rname"
		   return 1 ;;
		esac
	done
	echo "redis-server.sh: could not start server $_rname (20 ports tried); last log:" >&2
	tail -20 "$_rdir/redis.log" >&2
	return 1
}

redis_stop() {
	_rdir=$PERSIST_TEST_TMP/redis-$1
	[ -f "$_rdir/pid" ] || return 0
	_rpid=$(cat "$_rdir/pid")
	kill -TERM "$_rpid" 2>/dev/null
	_ri=0
	while kill -0 "$_rpid" 2>/dev/null; do
		_ri=$((_ri + 1))
		if [ $_ri -gt 200 ]; then
			kill -KILL "$_rpid" 2>/dev/null
		fi
		sleep 0.05
	done
	wait "$_rpid" 2>/dev/null
	rm -f "$_rdir/pid"
	return 0
}

redis_kill() {
	_rdir=$PERSIST_TEST_TMP/redis-$1
	[ -f "$_rdir/pid" ] || return 0
	_rpid=$(cat "$_rdir/pid")
	kill -KILL "$_rpid" 2>/dev/null
	wait "$_rpid" 2>/dev/null
	rm -f "$_rdir/pid"
	return 0
}

redis_restart() {
	_rdir=$PERSIST_TEST_TMP/redis-$1
	redis_stop "$1"
	_rk=0
	while [ $_rk -lt 20 ]; do
		# keep the old log aside: readiness is read from a fresh one
		cat "$_rdir/redis.log" >>"$_rdir/redis.log.old" 2>/dev/null
		: >"$_rdir/redis.log"
		_redis_launch "$_rdir"
		_redis_wait_ready "$_rdir"
		case $? in
		0) _redis_export "$1"; return 0 ;;
		1) sleep 0.2; _rk=$((_rk + 1)) ;; # port still held: try again
		*) break ;;
		esac
		_rdir=$PERSIST_TEST_TMP/redis-$1
	done
	echo "redis-server.sh: could not restart server $1" >&2
	tail -20 "$_rdir/redis.log" >&2
	return 1
}

redis_port() {
	cat "$PERSIST_TEST_TMP/redis-$1/port"
}

# Stop every server this shell started (the EXIT trap).
redis_cleanup() {
	for _rn in $_redis_names; do
		redis_kill "$_rn"
	done
}
trap 'redis_cleanup' EXIT
trap 'exit 130' INT TERM
