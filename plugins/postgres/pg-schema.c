/*
 * plugins/postgres/pg-schema.c - the tables of the provider, created on
 * first use.
 *
 * Everything lives in one schema (setting "schema", default "persist"):
 *   schema_version (version)                 the layout's version (1)
 *   config   (key, doc, etag, updated_at, expires_at)   documents
 *   kv       (coll, key, value, num, expires_at, written_ms)  state: a
 *            value in value, a counter in num (read back as its decimal
 *            text), primary key (coll, key); written_ms is the host's
 *            time (ms since the epoch) of the last set, NULL for a key
 *            only ever incremented
 *   kv_deleted (coll, key, deleted_ms)       the time of the last delete
 *            of a key, or of the set of a key whose TTL ran out, kept
 *            after the row is gone so that an older dated write loses
 *            to it (see pg-state.c); pruned after a day
 *   log_head (coll, next)                    next record number per log
 *   log      (coll, idx, data, appended_at)  log records, key (coll, idx)
 *   sessions (id, instance, data, updated_at, expires_at)
 *   events   (id, created_at, msg)           session events too big for
 *                                            a NOTIFY payload
 *   batch_ids (id, applied_at)               ids of the exactly-once
 *            batches applied (batch_once), removed after a day
 *   batch_claim(id)                          insert an id ... ON CONFLICT
 *            DO NOTHING; one that was there raises PB001, aborting the
 *            batch's transaction
 *   drop_collection(coll)                    a collection's keys, log
 *            and write times, its numbering included, gone in one
 *            transaction
 *   lww_set(coll, key, value, ttl, when), lww_del(coll, key, when)
 *            a set or delete made at `when`, applied (true) only when no
 *            later time is recorded for the key
 *   counter_add(bytea, int8, key)            a stored value plus a delta,
 *            refusing what is not canonical int64 text `0|-?[1-9][0-9]*`
 *            within the int64 range (22P02) and int64 overflow of the
 *            sum (22003), with the key as the error's detail
 * Keys are text COLLATE "C": byte order, which is the order of UTF-8 code
 * points, so listings are sorted like strcmp and prefix scans are ranges
 * of the primary key.
 *
 * The first connection of a store reads schema_version; when it is absent
 * the whole layout is created in one transaction holding an advisory lock
 * (so instances starting at once do not race) with CREATE ... IF NOT
 * EXISTS.  A user without the CREATE privilege can use a schema prepared
 * by an administrator (the version row is read first).  A schema of an
 * older layout (version 1: no batch_ids; version 2: no write times) is
 * upgraded the same way: the statements only add what is missing (kv
 * gets its written_ms column by ALTER TABLE ... ADD COLUMN IF NOT EXISTS,
 * which is instant for a column without default; the old rows have no
 * time, so any dated write may replace them).  A layout of a later
 * version is refused: an older provider on it would not record times.
 */
#include "pg-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The DDL, "@" standing for the quoted schema. */
static const char ddl[] =
	"CREATE SCHEMA IF NOT EXISTS @;"
	"CREATE TABLE IF NOT EXISTS @.schema_version (version int PRIMARY KEY, "
	" installed_at timestamptz NOT NULL DEFAULT now());"
	"CREATE TABLE IF NOT EXISTS @.config (key text COLLATE \"C\" PRIMARY KEY, "
	" doc bytea NOT NULL, etag text NOT NULL, "
	" updated_at timestamptz NOT NULL DEFAULT now(), expires_at timestamptz);"
	"CREATE INDEX IF NOT EXISTS config_expiry ON @.config (expires_at) "
	" WHERE expires_at IS NOT NULL;"
	"CREATE TABLE IF NOT EXISTS @.kv (coll text COLLATE \"C\", key text COLLATE \"C\", "
	" value bytea, num bigint, expires_at timestamptz, PRIMARY KEY (coll, key), "
	" CHECK ((value IS NULL) <> (num IS NULL)));"
	"CREATE INDEX IF NOT EXISTS kv_expiry ON @.kv (expires_at) "
	" WHERE expires_at IS NOT NULL;"
	/* version 3: write times (a new kv gets the column here too) */
	"ALTER TABLE @.kv ADD COLUMN IF NOT EXISTS written_ms bigint;"
	"CREATE TABLE IF NOT EXISTS @.kv_deleted (coll text COLLATE \"C\", "
	" key text COLLATE \"C\", deleted_ms bigint NOT NULL, PRIMARY KEY (coll, key));"
	"CREATE INDEX IF NOT EXISTS kv_deleted_age ON @.kv_deleted (deleted_ms);"
	"CREATE TABLE IF NOT EXISTS @.log_head (coll text COLLATE \"C\" PRIMARY KEY, "
	" next bigint NOT NULL);"
	"CREATE TABLE IF NOT EXISTS @.log (coll text COLLATE \"C\", idx bigint, "
	" data bytea NOT NULL, appended_at timestamptz NOT NULL DEFAULT now(), "
	" PRIMARY KEY (coll, idx));"
	"CREATE TABLE IF NOT EXISTS @.sessions (id text COLLATE \"C\" PRIMARY KEY, "
	" instance text NOT NULL, data bytea NOT NULL, "
	" updated_at timestamptz NOT NULL DEFAULT now(), expires_at timestamptz);"
	"CREATE TABLE IF NOT EXISTS @.events (id bigserial PRIMARY KEY, "
	" created_at timestamptz NOT NULL DEFAULT now(), msg bytea NOT NULL);"
	"CREATE OR REPLACE FUNCTION @.counter_add(cur bytea, delta bigint, k text) "
	" RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $f$ "
	" DECLARE t text; s numeric; "
	" BEGIN "
	"  IF cur IS NULL THEN RETURN delta; END IF; "
	"  t := encode(cur, 'escape'); "
	"  IF length(t) > 20 OR t !~ '^(0|-?[1-9][0-9]*)$' THEN "
	"   RAISE EXCEPTION USING ERRCODE = '22P02', MESSAGE = 'not a counter', DETAIL = k; "
	"  END IF; "
	"  s := t::numeric; "
	"  IF s < -9223372036854775808 OR s > 9223372036854775807 THEN "
	"   RAISE EXCEPTION USING ERRCODE = '22P02', MESSAGE = 'not a counter', DETAIL = k; "
	"  END IF; "
	"  s := s + delta; "
	"  IF s < -9223372036854775808 OR s > 9223372036854775807 THEN "
	"   RAISE EXCEPTION USING ERRCODE = '22003', MESSAGE = 'counter out of range', "
	"    DETAIL = k; "
	"  END IF; "
	"  RETURN s::bigint; "
	" END $f$;"
	/* each statement of a plpgsql function sees what committed before it:
	   once the log's head row is locked, no append is half-way, so every
	   record is gone and the numbering starts again at 0 */
	"CREATE OR REPLACE FUNCTION @.drop_collection(c text) "
	" RETURNS void LANGUAGE plpgsql VOLATILE AS $f$ "
	" BEGIN "
	"  PERFORM 1 FROM @.log_head WHERE coll = c FOR UPDATE; "
	"  DELETE FROM @.log WHERE coll = c; "
	"  DELETE FROM @.log_head WHERE coll = c; "
	"  DELETE FROM @.kv WHERE coll = c; "
	"  DELETE FROM @.kv_deleted WHERE coll = c; "
	" END $f$;"
	/* a dated set or delete: the key's row is locked first (a delete of
	   it in flight is waited for), then each statement sees what
	   committed before it; the write is skipped when the row's or the
	   deletion's time is later than w (an equal time does not stop it) */
	"CREATE OR REPLACE FUNCTION @.lww_set(c text, k text, v bytea, ttl bigint, w bigint) "
	" RETURNS boolean LANGUAGE plpgsql VOLATILE AS $f$ "
	" BEGIN "
	"  PERFORM 1 FROM @.kv WHERE coll = c AND key = k FOR UPDATE; "
	"  IF EXISTS (SELECT 1 FROM @.kv_deleted WHERE coll = c AND key = k "
	"   AND deleted_ms > w) THEN RETURN false; END IF; "
	"  INSERT INTO @.kv AS t (coll, key, value, num, expires_at, written_ms) "
	"   VALUES (c, k, v, NULL, CASE WHEN ttl > 0 THEN now() + ttl * interval '1 millisecond' "
	"   END, w) ON CONFLICT (coll, key) DO UPDATE SET value = EXCLUDED.value, num = NULL, "
	"   expires_at = EXCLUDED.expires_at, written_ms = EXCLUDED.written_ms "
	"   WHERE t.written_ms IS NULL OR t.written_ms <= w; "
	"  RETURN FOUND; "
	" END $f$;"
	"CREATE OR REPLACE FUNCTION @.lww_del(c text, k text, w bigint) "
	" RETURNS boolean LANGUAGE plpgsql VOLATILE AS $f$ "
	" BEGIN "
	"  PERFORM 1 FROM @.kv WHERE coll = c AND key = k FOR UPDATE; "
	"  IF EXISTS (SELECT 1 FROM @.kv WHERE coll = c AND key = k AND written_ms > w) "
	"   OR EXISTS (SELECT 1 FROM @.kv_deleted WHERE coll = c AND key = k "
	"   AND deleted_ms > w) THEN RETURN false; END IF; "
	"  DELETE FROM @.kv WHERE coll = c AND key = k; "
	"  INSERT INTO @.kv_deleted AS t (coll, key, deleted_ms) VALUES (c, k, w) "
	"   ON CONFLICT (coll, key) DO UPDATE SET deleted_ms = GREATEST(t.deleted_ms, w); "
	"  RETURN true; "
	" END $f$;"
	"CREATE TABLE IF NOT EXISTS @.batch_ids (id text COLLATE \"C\" PRIMARY KEY, "
	" applied_at timestamptz NOT NULL DEFAULT now());"
	"CREATE INDEX IF NOT EXISTS batch_ids_age ON @.batch_ids (applied_at);"
	"CREATE OR REPLACE FUNCTION @.batch_claim(i text) "
	" RETURNS void LANGUAGE plpgsql VOLATILE AS $f$ "
	" BEGIN "
	"  INSERT INTO @.batch_ids (id) VALUES (i) ON CONFLICT DO NOTHING; "
	"  IF NOT FOUND THEN "
	"   RAISE EXCEPTION USING ERRCODE = 'PB001', MESSAGE = 'batch applied before', "
	"    DETAIL = i; "
	"  END IF; "
	" END $f$;";

/* Run sql (simple protocol, no parameters) and check its status. */
static int run(PGconn *pg, const char *sql, char *why, size_t why_size,
	       char *sqlstate, size_t sqlstate_size)
{
	PGresult *res = PQexec(pg, sql);
	ExecStatusType s = PQresultStatus(res);
	int ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;

	if (!ok) {
		const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

		snprintf(why, why_size, "%s", msg != NULL ? msg : PQerrorMessage(pg));
		why[strcspn(why, "\n")] = '\0';
		snprintf(sqlstate, sqlstate_size, "%s", pg_sqlstate(res));
	}
	PQclear(res);
	return ok ? 0 : -1;
}

/* Status for a failed DDL or check statement. */
static int ddl_status(PGconn *pg, const char *sqlstate)
{
	if (PQstatus(pg) != CONNECTION_OK || strncmp(sqlstate, "08", 2) == 0 ||
	    strncmp(sqlstate, "57", 2) == 0 || strncmp(sqlstate, "53", 2) == 0)
		return PERSIST_EUNAVAIL;
	return PERSIST_ECONFIG;
}

/* Make sure the tables exist (once per store). */
int pg_schema_ensure(struct pg_store *st, PGconn *pg, char *why, size_t why_size)
{
	char check[256], sqlstate[8] = "", *sql, *full;
	uint32_t hash;
	PGresult *res;
	int ret = PERSIST_OK;

	pthread_mutex_lock(&st->schema_lock);
	if (st->schema_ready) {
		pthread_mutex_unlock(&st->schema_lock);
		return PERSIST_OK;
	}
	snprintf(check, sizeof(check), "SELECT max(version) FROM %s.schema_version",
		 st->quoted_schema);
	res = PQexecParams(pg, check, 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    !PQgetisnull(res, 0, 0)) {
		int v = atoi(PQgetvalue(res, 0, 0));

		PQclear(res);
		if (v > PG_SCHEMA_VERSION) {
			snprintf(why, why_size, "schema \"%s\" has layout version %d; "
				 "this provider uses version %d", st->conf.schema, v,
				 PG_SCHEMA_VERSION);
			pthread_mutex_unlock(&st->schema_lock);
			return PERSIST_ECONFIG;
		}
		if (v == PG_SCHEMA_VERSION) {
			st->schema_ready = true;
			pthread_mutex_unlock(&st->schema_lock);
			return PERSIST_OK;
		}
		/* an older layout: add what it lacks below */
		res = NULL;
	}
	snprintf(sqlstate, sizeof(sqlstate), "%s", pg_sqlstate(res));
	PQclear(res);
	if (PQstatus(pg) != CONNECTION_OK) {
		snprintf(why, why_size, "connection lost while checking the schema");
		pthread_mutex_unlock(&st->schema_lock);
		return PERSIST_EUNAVAIL;
	}
	/* absent (or half made): create under an advisory lock */
	hash = (uint32_t)pc_hash(st->conf.schema, strlen(st->conf.schema));
	sql = pg_sql_fill(ddl, st->quoted_schema);
	full = sql != NULL ? malloc(strlen(sql) + 256) : NULL;
	if (full == NULL) {
		free(sql);
		snprintf(why, why_size, "out of memory");
		pthread_mutex_unlock(&st->schema_lock);
		return PERSIST_ENOMEM;
	}
	sprintf(full, "BEGIN; SELECT pg_advisory_xact_lock(%d, %d); %s "
		"INSERT INTO %s.schema_version (version) VALUES (%d) "
		"ON CONFLICT DO NOTHING; COMMIT;",
		0x70727374, (int)hash, sql, st->quoted_schema, PG_SCHEMA_VERSION);
	free(sql);
	if (run(pg, full, why, why_size, sqlstate, sizeof(sqlstate)) != 0) {
		ret = ddl_status(pg, sqlstate);
		if (PQstatus(pg) == CONNECTION_OK) {
			PGresult *r = PQexec(pg, "ROLLBACK");
			PQclear(r);
		}
	} else {
		st->schema_ready = true;
	}
	free(full);
	pthread_mutex_unlock(&st->schema_lock);
	return ret;
}
