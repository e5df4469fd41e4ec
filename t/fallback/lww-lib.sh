# t/fallback/lww-lib.sh - sourced by the last-writer-wins outage tests:
# hosts on three machines (their own fallback and journal each: sites A
# and C, and B without a fallback) write the same keys of one backend
# while it is down for A and C; the journals are then replayed, A's last,
# and every key must hold the write made last, not the one replayed last.
#
#   lww_run BACKEND KILL RESTART
#       KILL and RESTART are the commands that stop the server with
#       SIGKILL and start it again on the same port.
#
# The story, and what each key must end with:
#   k1  A sets it in the outage; B sets it after the restart     -> B
#   k2  B0 before; A deletes it in the outage                    -> absent
#   k3  B0 before; A sets it in the outage                       -> A
#   k4  B0 before; A deletes it in the outage; B sets it after   -> B
#   k5  A sets it in the outage, C later; C replays first        -> C
# Replayed in journal order alone (no write times), k1 would end as A, k4
# absent and k5 as A.
set -u
_lww_host="$abs_top_builddir/t/fallback/test-lww-host"

_lww() {
	echo "+ test-lww-host $*"
	"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} "$_lww_host" "$@"
}

lww_run() {
	_lb=$1
	_lww before "$_lb" || return 1
	echo "lww: killing the server (SIGKILL)"
	$2
	_lww journal "$_lb" A A "k1,-k2,k3,-k4,k5" || return 1
	sleep 0.05
	_lww journal "$_lb" C C "k5" || return 1
	echo "lww: starting the server again"
	$3 || { echo "lww: cannot start the server again"; return 1; }
	_lww after "$_lb" || return 1
	_lww replay "$_lb" C || return 1
	_lww replay "$_lb" A || return 1
	_lww check "$_lb" k1=B k2=- k3=A k4=B k5=C
}
