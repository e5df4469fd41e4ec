#!/bin/sh
# plugins/postgres/test-pg-plugin.sh - test-pg-plugin against a private
# PostgreSQL, then a check that every table of the schema is still there
# and holds what the program wrote.
. "$abs_top_srcdir/t/lib/postgres-server.sh"
set -u
pg_start main || exit 99
"$abs_top_builddir/libtool" --mode=execute ${PERSIST_TEST_WRAPPER:-} \
	"$abs_top_builddir/plugins/postgres/test-pg-plugin" || exit 1
tables=$(pg_sql main "SELECT string_agg(table_name, ',' ORDER BY table_name)
	FROM information_schema.tables WHERE table_schema = 'persist'") || exit 1
if [ "$tables" != "batch_ids,config,events,kv,kv_deleted,log,log_head,schema_version,sessions" ]; then
	echo "test-pg-plugin.sh: tables of schema persist: $tables"
	exit 1
fi
n=$(pg_sql main "SELECT count(*) FROM persist.kv WHERE coll = 'inj.coll:x-1'") || exit 1
if [ "$n" -ne 12 ]; then
	echo "test-pg-plugin.sh: expected 12 keys in inj.coll:x-1, found $n"
	exit 1
fi
echo "test-pg-plugin.sh: tables intact: $tables"
