/*
 * plugins/postgres/pg-sql.c - every statement the provider runs, with its
 * parameters as $n: no key, value or name is ever spliced into SQL text.
 * The only thing filled in is the schema, as a quoted identifier (written
 * "@" in the templates below), once per store.  Each connection prepares a
 * statement the first time it runs it (pg-conn.c).
 *
 * Conventions: a row is live when expires_at IS NULL OR expires_at >
 * now(); TTLs are given in ms ($n::int8, 0 = none) and turned into
 * expires_at on the server's clock, so every instance agrees; expiry goes
 * back to the caller as ms since the epoch (0 = none).  Results are read
 * in binary format.  Notification payloads (configuration: "S<etag>\n<key>"
 * for a set, "D\n<key>" for a delete or expiry; sessions: see
 * pg-session.c) are built by the caller, except where the server knows a
 * part (the holder of a session, the key of an expired document).
 */
#include "pg-private.h"

#include <stdlib.h>
#include <string.h>

#define LIVE "(expires_at IS NULL OR expires_at > now())"
#define EXPIRY_MS "COALESCE((extract(epoch FROM expires_at) * 1000)::int8, 0)"
/* The holder of a session is live while its listening connection holds
   the advisory lock (HOLDER_CLASS, hashtext(schema || "\n" || instance)). */
#define HOLDER_CLASS "1886548853"
#define HOLDER_LIVE(key) \
	"EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted " \
	"AND classid = " HOLDER_CLASS " AND objsubid = 2 " \
	"AND objid = hashtext(" key ")::oid)"
/* The registration of session $2 when it is stale: expired, or its holder
   is gone (a data-modifying WITH item: it runs whether read or not). */
#define SES_GONE \
	"gone AS (DELETE FROM @.sessions WHERE id = $2::text AND NOT (" LIVE " AND " \
	HOLDER_LIVE("$4::text || instance") ") RETURNING 1)"
/* A state value as stored bytes: a counter as its decimal text. */
#define VALUE "COALESCE(value, convert_to(num::text, 'UTF8'))"
/* An increment by EXCLUDED.num of row t: an expired row starts again, a
   counter adds (counter_add reports an overflow, naming the key), any
   other value is parsed by counter_add. */
#define COUNTER_UPDATE \
	"num = CASE WHEN t.expires_at <= now() THEN EXCLUDED.num " \
	"WHEN t.num IS NULL OR (t.num > 0 AND EXCLUDED.num > 9223372036854775807 - t.num) " \
	"OR (t.num < 0 AND EXCLUDED.num < -9223372036854775808 - t.num) " \
	"THEN @.counter_add(COALESCE(t.value, convert_to(t.num::text, 'UTF8')), " \
	"EXCLUDED.num, t.key) " \
	"ELSE t.num + EXCLUDED.num END, value = NULL, " \
	"expires_at = CASE WHEN t.expires_at <= now() THEN NULL ELSE t.expires_at END"
/* A delete's time n recorded for key ($1, $2) (a WITH item). */
#define DELETED_AT(n) \
	"t AS (INSERT INTO @.kv_deleted AS t (coll, key, deleted_ms) " \
	"VALUES ($1::text, $2::text, " n "::int8) ON CONFLICT (coll, key) " \
	"DO UPDATE SET deleted_ms = EXCLUDED.deleted_ms)"
#define TTL(n) "CASE WHEN " n "::int8 > 0 THEN now() + " n "::int8 * interval '1 millisecond' END"

static const char *const templates[PS_COUNT_] = {
	[PS_HEALTH] = "SELECT 1",

	/* a counter lives in num, any other value in value (see pg-schema.c) */
	[PS_STATE_GET] =
	"SELECT " VALUE ", " EXPIRY_MS " FROM @.kv "
	"WHERE coll = $1::text AND key = $2::text AND " LIVE,
	/* $5: the host's time of the write (see "write times" in pg-state.c) */
	[PS_STATE_SET] =
	"INSERT INTO @.kv (coll, key, value, num, expires_at, written_ms) "
	"VALUES ($1::text, $2::text, $3::bytea, NULL, " TTL("$4") ", $5::int8) "
	"ON CONFLICT (coll, key) DO UPDATE "
	"SET value = EXCLUDED.value, num = NULL, expires_at = EXCLUDED.expires_at, "
	"written_ms = EXCLUDED.written_ms",
	/* a delete records its time $3 in kv_deleted, in the same statement */
	[PS_STATE_DEL] =
	"WITH d AS (DELETE FROM @.kv WHERE coll = $1::text AND key = $2::text "
	"RETURNING " LIVE " AS live), " DELETED_AT("$3") " SELECT live FROM d",
	[PS_STATE_DEL_ANY] =
	"WITH d AS (DELETE FROM @.kv WHERE coll = $1::text AND key = $2::text), "
	DELETED_AT("$3") " SELECT 1",
	/* batch_once_dated: a set or delete made at $5 / $3 (see lww_set and
	   lww_del in pg-schema.c) */
	[PS_STATE_SET_DATED] =
	"SELECT @.lww_set($1::text, $2::text, $3::bytea, $4::int8, $5::int8)",
	[PS_STATE_DEL_DATED] =
	"SELECT @.lww_del($1::text, $2::text, $3::int8)",
	/* prefix scans: a range of the primary key (coll, key) */
	[PS_STATE_SCAN] =
	"SELECT key, " VALUE ", " EXPIRY_MS " FROM @.kv "
	"WHERE coll = $1::text AND key >= $2::text AND key < $3::text AND " LIVE
	" ORDER BY key",
	[PS_STATE_SCAN_ALL] =
	"SELECT key, " VALUE ", " EXPIRY_MS " FROM @.kv "
	"WHERE coll = $1::text AND key >= $2::text AND " LIVE " ORDER BY key",
	/* an expired value counts as absent: the counter starts again */
	[PS_STATE_INCR] =
	"INSERT INTO @.kv AS t (coll, key, num) VALUES ($1::text, $2::text, $3::int8) "
	"ON CONFLICT (coll, key) DO UPDATE SET " COUNTER_UPDATE " RETURNING num",
	/* a run of increments of a batch in one statement: arrays of
	   collections, keys and deltas, summed per key first (one statement
	   may not change a row twice), then written in key order: every
	   writer takes its row locks in the same order (two instances
	   flushing overlapping keys cannot deadlock) and the primary key's
	   index is filled in order (about a fifth faster for 10,000 keys) */
	[PS_STATE_INCR_MANY] =
	"INSERT INTO @.kv AS t (coll, key, num) "
	"SELECT c, k, sum(d)::int8 FROM unnest($1::text[], $2::text[], $3::int8[]) "
	"AS u(c, k, d) GROUP BY c, k ORDER BY c COLLATE \"C\", k COLLATE \"C\" "
	"ON CONFLICT (coll, key) DO UPDATE SET " COUNTER_UPDATE,
	/* the head row numbers the records; its row lock, held until commit,
	   keeps the numbers gap-free and in commit order */
	[PS_STATE_APPEND] =
	"WITH h AS (INSERT INTO @.log_head AS h (coll, next) VALUES ($1::text, 1) "
	"ON CONFLICT (coll) DO UPDATE SET next = h.next + 1 RETURNING h.next - 1 AS idx) "
	"INSERT INTO @.log (coll, idx, data) SELECT $1::text, idx, $2::bytea FROM h "
	"RETURNING idx",
	[PS_STATE_READ_LOG] =
	"SELECT idx, data FROM @.log WHERE coll = $1::text AND idx >= $2::int8 "
	"ORDER BY idx LIMIT $3::int8",
	/* an expired key's time outlives its row: it moves to kv_deleted */
	[PS_STATE_SWEEP] =
	"WITH d AS (DELETE FROM @.kv WHERE expires_at <= now() RETURNING coll, key, written_ms) "
	"INSERT INTO @.kv_deleted AS t (coll, key, deleted_ms) "
	"SELECT coll, key, written_ms FROM d WHERE written_ms IS NOT NULL "
	"ON CONFLICT (coll, key) DO UPDATE SET deleted_ms = GREATEST(t.deleted_ms, "
	"EXCLUDED.deleted_ms)",
	/* deletion times older than $1 (ms since the epoch), at most
	   PG_PRUNE_MAX rows per call, oldest first; the outer condition is
	   checked again on a row a concurrent delete just renewed */
	[PS_STATE_PRUNE_TIMES] =
	"DELETE FROM @.kv_deleted WHERE (coll, key) IN (SELECT coll, key FROM @.kv_deleted "
	"WHERE deleted_ms < $1::int8 ORDER BY deleted_ms LIMIT " PG_PRUNE_MAX_TEXT ") "
	"AND deleted_ms < $1::int8",
	/* keys, log and numbering in one transaction (see drop_collection in
	   pg-schema.c) */
	[PS_STATE_DROP] =
	"SELECT @.drop_collection($1::text)",
	/* the log's next record number, and the records below $2 removed only
	   when $2 does not pass it (numbers only grow, so the check holds for
	   the whole statement) */
	[PS_STATE_TRIM_LOG] =
	"WITH h AS (SELECT COALESCE((SELECT next FROM @.log_head WHERE coll = $1::text), "
	"0) AS next), "
	"d AS (DELETE FROM @.log WHERE coll = $1::text AND idx < $2::int8 "
	"AND $2::int8 <= (SELECT next FROM h) RETURNING 1) "
	"SELECT (SELECT next FROM h), (SELECT count(*) FROM d)",

	/* the log's first kept record (the next one when none is kept) and
	   its next record number */
	[PS_STATE_LOG_BOUNDS] =
	"WITH h AS (SELECT COALESCE((SELECT next FROM @.log_head WHERE coll = $1::text), "
	"0) AS next) "
	"SELECT COALESCE((SELECT min(idx) FROM @.log WHERE coll = $1::text), "
	"(SELECT next FROM h)), (SELECT next FROM h)",
	/* collections with a live key or a log record, each once */
	[PS_STATE_COLLECTIONS] =
	"SELECT coll FROM @.kv WHERE " LIVE " UNION SELECT coll FROM @.log ORDER BY 1",

	[PS_CFG_GET] =
	"SELECT doc, etag, " EXPIRY_MS " FROM @.config WHERE key = $1::text AND " LIVE,
	/* notify unless the live document already had this ETag */
	[PS_CFG_SET] =
	"WITH prev AS (SELECT etag FROM @.config WHERE key = $1::text AND " LIVE "), "
	"up AS (INSERT INTO @.config (key, doc, etag, updated_at, expires_at) "
	"VALUES ($1::text, $2::bytea, $3::text, now(), " TTL("$4") ") "
	"ON CONFLICT (key) DO UPDATE SET doc = EXCLUDED.doc, etag = EXCLUDED.etag, "
	"updated_at = EXCLUDED.updated_at, expires_at = EXCLUDED.expires_at RETURNING 1), "
	"n AS (SELECT pg_notify($5::text, $6::text) FROM up "
	"WHERE NOT EXISTS (SELECT 1 FROM prev WHERE prev.etag = $3::text)) "
	"SELECT (SELECT count(*) FROM up), (SELECT count(*) FROM n)",
	/* compare-and-swap: the row lock makes a concurrent writer re-check
	   the ETag of the version it waited for */
	[PS_CFG_SET_IF] =
	"WITH up AS (UPDATE @.config SET doc = $2::bytea, etag = $3::text, "
	"updated_at = now(), expires_at = " TTL("$4") " "
	"WHERE key = $1::text AND etag = $7::text AND " LIVE " RETURNING 1), "
	"n AS (SELECT pg_notify($5::text, $6::text) FROM up WHERE $3::text <> $7::text) "
	"SELECT (SELECT count(*) FROM up), (SELECT count(*) FROM n)",
	[PS_CFG_DEL] =
	"WITH d AS (DELETE FROM @.config WHERE key = $1::text RETURNING " LIVE " AS live), "
	"n AS (SELECT pg_notify($2::text, $3::text) FROM d) "
	"SELECT (SELECT count(*) FROM d WHERE live), (SELECT count(*) FROM n)",
	[PS_CFG_DEL_IF] =
	"WITH d AS (DELETE FROM @.config WHERE key = $1::text AND etag = $4::text AND "
	LIVE " RETURNING 1), "
	"n AS (SELECT pg_notify($2::text, $3::text) FROM d), "
	"cur AS (SELECT 1 FROM @.config WHERE key = $1::text AND " LIVE ") "
	"SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM cur), (SELECT count(*) FROM n)",
	[PS_CFG_LIST] =
	"SELECT key, etag FROM @.config WHERE " LIVE " ORDER BY key",
	[PS_CFG_SWEEP] =
	"WITH d AS (DELETE FROM @.config WHERE expires_at <= now() RETURNING key) "
	"SELECT pg_notify($1::text, 'D' || chr(10) || key) FROM d",
	[PS_CFG_NEXT_EXPIRY] =
	"SELECT COALESCE(GREATEST(0, (extract(epoch FROM min(expires_at) - now()) "
	"* 1000)::int8), -1) FROM @.config WHERE expires_at IS NOT NULL",

	[PS_SES_PUT] =
	"INSERT INTO @.sessions (id, instance, data, updated_at, expires_at) "
	"VALUES ($1::text, $2::text, $3::bytea, now(), " TTL("$4") ") "
	"ON CONFLICT (id) DO UPDATE SET instance = EXCLUDED.instance, "
	"data = EXCLUDED.data, updated_at = EXCLUDED.updated_at, "
	"expires_at = EXCLUDED.expires_at",
	[PS_SES_DROP] =
	"DELETE FROM @.sessions WHERE id = $1::text RETURNING " LIVE,
	[PS_SES_LIST] =
	"SELECT id, instance, data, " EXPIRY_MS " FROM @.sessions WHERE " LIVE
	" ORDER BY id",
	[PS_SES_NOTIFY] =
	"SELECT pg_notify($1::text, $2::text)",
	/* a send finds the session only while its holder is live; a stale
	   registration (expired, or its holder gone) is removed on the way */
	[PS_SES_SEND] =
	"WITH " SES_GONE " "
	"SELECT instance, pg_notify($1::text, 'T' || instance || chr(10) || $3::text) "
	"FROM @.sessions WHERE id = $2::text AND " LIVE " AND "
	HOLDER_LIVE("$4::text || instance"),
	[PS_SES_NOTIFY_BIG] =
	"WITH e AS (INSERT INTO @.events (msg) VALUES ($2::bytea) RETURNING id) "
	"SELECT pg_notify($1::text, 'b' || id) FROM e",
	[PS_SES_SEND_BIG] =
	"WITH " SES_GONE ", s AS (SELECT instance FROM @.sessions WHERE id = $2::text AND " LIVE " AND "
	HOLDER_LIVE("$4::text || instance") "), "
	"e AS (INSERT INTO @.events (msg) SELECT $3::bytea FROM s RETURNING id) "
	"SELECT s.instance, pg_notify($1::text, 't' || s.instance || chr(10) || e.id) "
	"FROM s, e",
	[PS_SES_EVENT] =
	"SELECT msg FROM @.events WHERE id = $1::int8",
	[PS_SES_HOLD] =
	"SELECT pg_try_advisory_lock(" HOLDER_CLASS ", hashtext($1::text))",
	[PS_SES_SWEEP] =
	"WITH a AS (DELETE FROM @.sessions WHERE expires_at <= now() RETURNING 1), "
	"b AS (DELETE FROM @.events WHERE created_at < now() - interval '5 minutes' "
	"RETURNING 1) SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b)",

	[PS_BEGIN] = "BEGIN",
	[PS_COMMIT] = "COMMIT",
	/* inside the batch's transaction: an id already there raises PB001,
	   which aborts the transaction (see batch_claim in pg-schema.c) */
	[PS_BATCH_CLAIM] =
	"SELECT @.batch_claim($1::text)",
	[PS_BATCH_SWEEP] =
	"DELETE FROM @.batch_ids WHERE applied_at < now() - $1::int8 * interval '1 millisecond'",
};

/* Number of parameters of a statement: its highest $n. */
int pg_sql_nparams(enum pg_stmt id)
{
	int max = 0;

	for (const char *p = templates[id]; (p = strchr(p, '$')) != NULL; p++) {
		int n = atoi(p + 1);

		if (n > max)
			max = n;
	}
	return max;
}

/* A copy of template t with every "@" replaced by quoted_schema (malloc);
   NULL on ENOMEM. */
char *pg_sql_fill(const char *t, const char *quoted_schema)
{
	size_t n = 0, qlen = strlen(quoted_schema);
	char *out, *o;

	for (const char *p = t; *p != '\0'; p++)
		n += *p == '@';
	out = o = malloc(strlen(t) + n * qlen + 1);
	if (out == NULL)
		return NULL;
	for (const char *p = t; *p != '\0'; p++) {
		if (*p == '@') {
			memcpy(o, quoted_schema, qlen);
			o += qlen;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

/* Fill the schema into every template. */
char **pg_sql_build(const char *quoted_schema)
{
	char **sql = calloc(PS_COUNT_, sizeof(*sql));

	if (sql == NULL)
		return NULL;
	for (int i = 0; i < PS_COUNT_; i++) {
		sql[i] = pg_sql_fill(templates[i], quoted_schema);
		if (sql[i] == NULL) {
			pg_sql_free(sql);
			return NULL;
		}
	}
	return sql;
}

/* Free what pg_sql_build made. */
void pg_sql_free(char **sql)
{
	if (sql == NULL)
		return;
	for (int i = 0; i < PS_COUNT_; i++)
		free(sql[i]);
	free(sql);
}
