# t/lib/postgres-server.sh - sourced by the postgres tests and benchmarks:
# start and stop private PostgreSQL 15 servers on 127.0.0.1.
#
#   pg_start NAME [CONFIG-LINE]...
#       initdb a cluster of its own in a directory owned by the postgres
#       user (the server refuses to run as root) and start it on a random
#       free port, listening on 127.0.0.1 only, its unix socket in that
#       directory.  Extra arguments are lines of postgresql.conf.  Local
#       connections are trusted, except for the role "pwuser" (password
#       PG_TEST_PASSWORD, scram-sha-256), which exists to test passwords.
#       fsync is off (tests only).  Waits until it accepts connections and
#       sets PG_PORT, PG_HOST (the socket directory), PG_DIR, PG_CONNINFO
#       (TCP, user postgres, database postgres) and PG_URI.
#   pg_start_replica NAME PRIMARY
#       a streaming replica of server PRIMARY (pg_basebackup -R) on a port
#       of its own; sets the same variables for it
#   pg_start_standby NAME PRIMARY
#       like pg_start_replica, for a synchronous standby: then sets
#       synchronous_standby_names = '*' on PRIMARY (ALTER SYSTEM, reload),
#       so that with synchronous_commit on (start PRIMARY with
#       "synchronous_commit = on") a commit returns once this standby has
#       flushed it.  The standby itself gets no synchronous standby names,
#       so that once promoted (with no standby of its own) it still
#       commits.  Waits until PRIMARY reports it as its synchronous
#       standby.
#   pg_promote NAME     `pg_ctl promote` (a standby becomes a primary), and
#                       wait until it accepts writes
#   pg_stop_immediate NAME  `pg_ctl stop -m immediate` (no checkpoint,
#                       clients cut off: as near a crash as pg_ctl gets)
#   pg_stop NAME        fast shutdown, and wait
#   pg_kill NAME        SIGKILL of the postmaster (a crash)
#   pg_restart NAME     `pg_ctl restart -m fast` (same port, same data)
#   pg_sql NAME SQL     run SQL through psql as postgres; its output
#   pg_port NAME        print its port
# Every server started is stopped when the calling shell exits (trap), and
# its directory removed.  Internal variables start with _p.
#
# $PG_INITDB, $PG_CTL and $PG_PSQL (the absolute paths configure found) are
# required: a missing server is a hard error (exit 99), never a skip.

: "${PERSIST_TEST_TMP:?postgres-server.sh: PERSIST_TEST_TMP is not set (run through t/run-test)}"
for _pv in PG_INITDB PG_CTL PG_PSQL; do
	eval "_pp=\${$_pv:-}"
	if [ -z "$_pp" ] || [ ! -x "$_pp" ]; then
		echo "postgres-server.sh: no $_pv ('$_pp'); install the server" \
		     "(Debian: apt-get install postgresql-15) and re-run configure" >&2
		exit 99
	fi
done
if ! id postgres >/dev/null 2>&1; then
	echo "postgres-server.sh: there is no \"postgres\" user to run the server as" \
	     "(Debian: apt-get install postgresql-15 creates it)" >&2
	exit 99
fi
PG_TEST_PASSWORD=${PG_TEST_PASSWORD:-pw-secret-4711}
export PG_TEST_PASSWORD
# The servers' directories: not under PERSIST_TEST_TMP, which is root's and
# mode 0700, so the postgres user could not reach them.
_pg_base=$(mktemp -d "${TMPDIR:-/tmp}/persist-pg.XXXXXX") || exit 99
chmod 0755 "$_pg_base"
chown postgres "$_pg_base" || exit 99
_pg_names=

# Run a command as the postgres user.
_pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# A random port in 20000-59999.
_pg_random_port() {
	_pn=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	echo $((20000 + _pn % 40000))
}

# Export the variables describing server $1.
_pg_export() {
	PG_DIR=$_pg_base/$1
	PG_PORT=$(cat "$PG_DIR/port")
	PG_HOST=$PG_DIR
	PG_CONNINFO="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres"
	PG_URI="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
	export PG_DIR PG_PORT PG_HOST PG_CONNINFO PG_URI
}

# Start the cluster of directory $1 on port $2: 0 running, 1 failed.
_pg_launch() {
	_pg_as "$PG_CTL" -D "$1/data" -l "$1/server.log" -w -t 30 \
		-o "-p $2 -k $1 -c listen_addresses=127.0.0.1" start >/dev/null 2>&1
}

pg_start() {
	_pname=$1
	shift
	_pdir=$_pg_base/$_pname
	mkdir -p "$_pdir" && chown postgres "$_pdir" || return 1
	if ! _pg_as "$PG_INITDB" -D "$_pdir/data" -U postgres -E UTF8 \
		--locale=C -A trust --no-sync >"$_pdir/initdb.log" 2>&1; then
		echo "postgres-server.sh: initdb of $_pname failed:" >&2
		tail -20 "$_pdir/initdb.log" >&2
		return 1
	fi
	{
		echo "fsync = off"
		echo "synchronous_commit = off"
		echo "full_page_writes = off"
		echo "max_connections = 200"
		echo "log_min_messages = warning"
		echo "wal_level = replica"
		echo "max_wal_senders = 4"
		for _pline in "$@"; do
			echo "$_pline"
		done
	} >>"$_pdir/data/postgresql.conf"
	# password role first, then everything else trusted
	{
		echo "host all pwuser 127.0.0.1/32 scram-sha-256"
		echo "local all pwuser scram-sha-256"
		echo "local all all trust"
		echo "host all all 127.0.0.1/32 trust"
		echo "local replication all trust"
		echo "host replication all 127.0.0.1/32 trust"
	} >"$_pdir/data/pg_hba.conf"
	_pg_start_free_port "$_pname" || return 1
	pg_sql "$_pname" "CREATE ROLE pwuser LOGIN PASSWORD '$PG_TEST_PASSWORD'" >/dev/null
}

# Start the cluster of server $1 on a random free port (10 tries) and
# export its variables.
_pg_start_free_port() {
	_pdir=$_pg_base/$1
	case $_pg_names in
	*" $1 "*) ;;
	*) _pg_names="$_pg_names $1 " ;;
	esac
	_ptries=0
	while [ $_ptries -lt 10 ]; do
		_pport=$(_pg_random_port)
		echo "$_pport" >"$_pdir/port"
		if _pg_launch "$_pdir" "$_pport"; then
			_pg_export "$1"
			return 0
		fi
		_ptries=$((_ptries + 1))
	done
	echo "postgres-server.sh: could not start server $1 (10 ports tried); last log:" >&2
	tail -20 "$_pdir/server.log" >&2
	return 1
}

pg_start_replica() {
	_pname=$1
	_pprim=$_pg_base/$2
	_pdir=$_pg_base/$_pname
	if [ -z "${PG_BASEBACKUP:-}" ] || [ ! -x "$PG_BASEBACKUP" ]; then
		echo "postgres-server.sh: no pg_basebackup (PG_BASEBACKUP='${PG_BASEBACKUP:-}')" >&2
		exit 99
	fi
	mkdir -p "$_pdir" && chown postgres "$_pdir" || return 1
	if ! _pg_as "$PG_BASEBACKUP" -D "$_pdir/data" -R -X stream -h "$_pprim" \
		-p "$(cat "$_pprim/port")" -U postgres >"$_pdir/basebackup.log" 2>&1; then
		echo "postgres-server.sh: pg_basebackup for $_pname failed:" >&2
		tail -20 "$_pdir/basebackup.log" >&2
		return 1
	fi
	_pg_start_free_port "$_pname"
}

pg_start_standby() {
	_pname=$1
	_pprim=$2
	_pdir=$_pg_base/$_pname
	if [ -z "${PG_BASEBACKUP:-}" ] || [ ! -x "$PG_BASEBACKUP" ]; then
		echo "postgres-server.sh: no pg_basebackup (PG_BASEBACKUP='${PG_BASEBACKUP:-}')" >&2
		exit 99
	fi
	mkdir -p "$_pdir" && chown postgres "$_pdir" || return 1
	if ! _pg_as "$PG_BASEBACKUP" -D "$_pdir/data" -R -X stream -h "$_pg_base/$_pprim" \
		-p "$(cat "$_pg_base/$_pprim/port")" -U postgres >"$_pdir/basebackup.log" 2>&1; then
		echo "postgres-server.sh: pg_basebackup for $_pname failed:" >&2
		tail -20 "$_pdir/basebackup.log" >&2
		return 1
	fi
	echo "synchronous_standby_names = ''" >>"$_pdir/data/postgresql.conf"
	_pg_start_free_port "$_pname" || return 1
	pg_sql "$_pprim" "ALTER SYSTEM SET synchronous_standby_names = '*'" >/dev/null &&
	pg_sql "$_pprim" "SELECT pg_reload_conf()" >/dev/null || return 1
	_pi=0
	until [ "$(pg_sql "$_pprim" "SELECT sync_state FROM pg_stat_replication" \
		2>/dev/null)" = sync ]; do
		if [ $_pi -gt 300 ]; then
			echo "postgres-server.sh: $_pname did not become the synchronous" \
			     "standby of $_pprim within 30 s" >&2
			return 1
		fi
		sleep 0.1
		_pi=$((_pi + 1))
	done
	_pg_export "$_pname"
}

pg_promote() {
	_pdir=$_pg_base/$1
	_pg_as "$PG_CTL" -D "$_pdir/data" -w -t 30 promote >/dev/null 2>&1 || return 1
	_pi=0
	until [ "$(pg_sql "$1" "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ]; do
		[ $_pi -gt 300 ] && return 1
		sleep 0.1
		_pi=$((_pi + 1))
	done
	return 0
}

pg_stop_immediate() {
	_pdir=$_pg_base/$1
	[ -f "$_pdir/data/postmaster.pid" ] || return 0
	_pg_as "$PG_CTL" -D "$_pdir/data" -m immediate -w -t 30 stop >/dev/null 2>&1
	return 0
}

pg_sql() {
	_pdir=$_pg_base/$1
	"$PG_PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -h "$_pdir" -p "$(cat "$_pdir/port")" \
		-U postgres -d postgres -c "$2"
}

pg_stop() {
	_pdir=$_pg_base/$1
	[ -f "$_pdir/data/postmaster.pid" ] || return 0
	_pg_as "$PG_CTL" -D "$_pdir/data" -m fast -w -t 30 stop >/dev/null 2>&1
	return 0
}

pg_kill() {
	_pdir=$_pg_base/$1
	[ -f "$_pdir/data/postmaster.pid" ] || return 0
	_ppid=$(head -1 "$_pdir/data/postmaster.pid")
	kill -KILL "$_ppid" 2>/dev/null
	_pi=0
	while kill -0 "$_ppid" 2>/dev/null && [ $_pi -lt 200 ]; do
		sleep 0.05
		_pi=$((_pi + 1))
	done
	# the children notice the postmaster is gone and exit by themselves
	sleep 0.2
	return 0
}

pg_restart() {
	_pdir=$_pg_base/$1
	_pport=$(cat "$_pdir/port")
	if [ -f "$_pdir/data/postmaster.pid" ] &&
	   _pg_as "$PG_CTL" -D "$_pdir/data" -l "$_pdir/server.log" -m fast -w -t 30 \
		-o "-p $_pport -k $_pdir -c listen_addresses=127.0.0.1" restart >/dev/null 2>&1; then
		_pg_export "$1"
		return 0
	fi
	rm -f "$_pdir/data/postmaster.pid"
	_pk=0
	while [ $_pk -lt 20 ]; do
		if _pg_launch "$_pdir" "$_pport"; then
			_pg_export "$1"
			return 0
		fi
		sleep 0.2
		_pk=$((_pk + 1))
	done
	echo "postgres-server.sh: could not restart server $1" >&2
	tail -20 "$_pdir/server.log" >&2
	return 1
}

pg_port() {
	cat "$_pg_base/$1/port"
}

# Stop every server this shell started and remove their directories (the
# EXIT trap).
pg_cleanup() {
	for _pn in $_pg_names; do
		_pdir=$_pg_base/$_pn
		if [ -f "$_pdir/data/postmaster.pid" ]; then
			_pg_as "$PG_CTL" -D "$_pdir/data" -m immediate -w -t 10 stop \
				>/dev/null 2>&1 || kill -KILL "$(head -1 "$_pdir/data/postmaster.pid")" 2>/dev/null
		fi
	done
	rm -rf "$_pg_base"
}
trap 'pg_cleanup' EXIT
trap 'exit 130' INT TERM
