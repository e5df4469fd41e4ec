#!/bin/sh
# t/fallback/test-lww-postgres.sh - last writer wins across hosts with
# their own journals, on PostgreSQL (the story is in lww-lib.sh).
. "$abs_top_srcdir/t/lib/postgres-server.sh"
. "$abs_top_srcdir/t/fallback/lww-lib.sh"
pg_start lww "synchronous_commit = on" || exit 99
export PG_CONNINFO
lww_run postgres "pg_kill lww" "pg_restart lww"
