/*
 * plugins/postgres/test-pg-lww.c - "last writer wins" on the postgres
 * provider, through the public API against a private server
 * (test-pg-lww.sh starts it), with libpq beside it to look at the times
 * the provider keeps and to write an old one:
 *   - a dated set or delete loses to a later direct write and wins over
 *     an earlier one (an equal time applies), also one made through
 *     another handle; a direct delete's time outlives the key, and so
 *     does an expired key's, also once the sweep has removed its row;
 *   - two dated sets of one key in one batch apply in order; a retry of
 *     the id applies nothing; increments are not dated and record nothing;
 *   - set, delete, batch and batch_once stamp the host's time; drop
 *     forgets the times, and a deletion time alone lists no collection;
 *   - deletion times older than a day are pruned by the sweep;
 *   - a schema of the previous layout (kv without written_ms) is upgraded
 *     in place and keeps its rows.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <CUnit/Basic.h>
#include <libpq-fe.h>
#include "test-pg-util.h"
#include "../../t/lib/cunit-suite.h"

#define DAY_MS ((int64_t)24 * 3600 * 1000)

static persist *p;
static PGconn *sql;

/* Open the handle (a quick sweep, so tests need not wait for it) and a
   libpq connection to the same database. */
static int suite_init(void)
{
	sql = PQconnectdb(t_env("PG_CONNINFO"));
	if (PQstatus(sql) != CONNECTION_OK) {
		fprintf(stderr, "libpq: %s", PQerrorMessage(sql));
		return 1;
	}
	PQclear(PQexec(sql, "SET client_min_messages = warning"));
	return t_open_main(",\"sweepInterval\":20", &p);
}

static int suite_clean(void)
{
	persist_close(p, NULL);
	PQfinish(sql);
	return 0;
}

/* Wall-clock milliseconds since the epoch, read as the core reads them
   for host->now_ms() (the coarse clock: a plain one may be a tick
   ahead). */
static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run q (with %s filled by printf-style args) on the libpq connection;
   the first column of the first row as a number, -1 when there is no row
   or it is NULL, -2 when the statement failed. */
static int64_t sql_num(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int64_t sql_num(const char *fmt, ...)
{
	char q[1024];
	va_list ap;
	PGresult *res;
	int64_t v;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	res = PQexec(sql, q);
	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "sql: %s: %s", q, PQerrorMessage(sql));
		PQclear(res);
		return -2;
	}
	v = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 &&
	    !PQgetisnull(res, 0, 0) ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;
	PQclear(res);
	return v;
}

/* The value of coll/key as a string in buf ("" and NOTFOUND when absent). */
static int get_str(const char *coll, const char *key, char *buf, size_t size)
{
	struct persist_error err;
	char *data = NULL;
	size_t len = 0;
	int ret = persist_state_get(p, coll, key, &data, &len, &err);

	buf[0] = '\0';
	if (ret == PERSIST_OK) {
		snprintf(buf, size, "%.*s", (int)len, data);
		persist_free(data);
	}
	return ret;
}

/* One dated set (value non-NULL) or delete of coll/key made at `when`,
   as its own batch named id; *applied_before_r when not NULL. */
static int dated(const char *id, const char *coll, const char *key, const char *value,
		 int64_t when, int *applied_before_r)
{
	struct persist_op op = {
		.type = value != NULL ? PERSIST_OP_SET : PERSIST_OP_DELETE,
		.collection = coll, .key = key, .value = value,
		.len = value != NULL ? strlen(value) : 0,
	};
	struct persist_error err;
	int before = -1, ret;

	ret = persist_state_batch_once_dated(p, id, &op, &when, 1, &before, &err);
	if (ret != PERSIST_OK)
		fprintf(stderr, "batch_once_dated %s: %s\n", id, err.msg);
	if (applied_before_r != NULL)
		*applied_before_r = before;
	return ret;
}

/* Set coll/key to value directly. */
static int put(const char *coll, const char *key, const char *value, int64_t ttl_ms)
{
	struct persist_error err;

	return persist_state_set(p, coll, key, value, strlen(value), ttl_ms, &err);
}

/* The recorded row time of coll/key (-1: none). */
static int64_t row_ms(const char *coll, const char *key)
{
	return sql_num("SELECT written_ms FROM persist.kv WHERE coll = '%s' AND key = '%s'",
		       coll, key);
}

/* The recorded deletion time of coll/key (-1: none). */
static int64_t deleted_ms(const char *coll, const char *key)
{
	return sql_num("SELECT deleted_ms FROM persist.kv_deleted WHERE coll = '%s' "
		       "AND key = '%s'", coll, key);
}

/* Set coll/key, then delete it directly: the deletion time recorded. */
static int64_t set_then_delete(const char *coll, const char *key)
{
	struct persist_error err;

	CU_ASSERT_EQUAL(put(coll, key, "v", 0), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_delete(p, coll, key, &err), PERSIST_OK);
	return deleted_ms(coll, key);
}

/* A dated set older than a direct set is skipped, a newer one applies, an
   equal one applies; a dated delete older than the set is skipped. */
static void test_dated_vs_direct(void)
{
	const char *c = "lww.direct";
	char v[64];
	int64_t t0 = wall_ms(), t;

	CU_ASSERT_EQUAL_FATAL(put(c, "k", "direct", 0), PERSIST_OK);
	t = row_ms(c, "k");
	CU_ASSERT(t >= t0 && t <= wall_ms());
	CU_ASSERT_EQUAL(dated("direct-1", c, "k", "old", t - 60000, NULL), PERSIST_OK);
	CU_ASSERT_EQUAL(get_str(c, "k", v, sizeof(v)), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(v, "direct");
	CU_ASSERT_EQUAL(dated("direct-2", c, "k", NULL, t - 1, NULL), PERSIST_OK);
	CU_ASSERT_EQUAL(get_str(c, "k", v, sizeof(v)), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(v, "direct");
	CU_ASSERT_EQUAL(deleted_ms(c, "k"), -1);
	/* the same time as the direct set: applied */
	CU_ASSERT_EQUAL(dated("direct-3", c, "k", "same", t, NULL), PERSIST_OK);
	CU_ASSERT_EQUAL(get_str(c, "k", v, sizeof(v)), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(v, "same");
	CU_ASSERT_EQUAL(dated("direct-4", c, "k", "newer", t + 5, NULL), PERSIST_OK);
	CU_ASSERT_EQUAL(get_str(c, "k", v, sizeof(v)), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(v, "newer");
	CU_ASSERT_EQUAL(row_ms(c, "k"), t + 5);
	/* a dated delete at the key's time applies */
	CU_ASSERT_EQUAL(dated("direct-5", c, "k", NULL, t + 5, NULL), PERSIST_OK);
	CU_ASSERT_EQUAL(get_str(c, "k", v, sizeof(v)), PERSIST_ENOTFOUND);
	CU_ASSERT_EQUAL(deleted_ms(c, "k"), t + 5);
	/* and a dated write to a key never written applies */
	CU_ASSERT_EQUAL(dated("direct-6", c, "fresh", "x", 1000, NULL), PERSIST_OK);
	CU_ASSERT_EQUAL(get_str(c, "fresh", v, sizeof(v)), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(v, "x");
}

/* After a direct delete, a dated set made before it does not bring the key
   back; one made after it does. */
static void test_delete_outlives_key(void)
{
	const char *c = "lww.delete";
	struct persist_error err;
	char v[64];
	int64_t t;

	t = set_then_delete(c, "k");
	CU_ASSERT_FATAL(t > 0 && t <= wall_ms());
	CU_ASSERT_EQUAL(dated("delete-1", c, "k", "resurrected", t - 1, NULL), PERSIST_OK);
	CU_ASSERT_EQUAL(get_str(c, "k", v, sizeof(v)), PERSIST_ENOTFOUND);
	CU_ASSERT_EQUAL(dated("delete-2", c, "k", "after", t + 1, NULL), PERSIST_OK);
	CU_ASSERT_EQUAL(get_str(c, "k", v, sizeof(v)), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(v, "after");
	CU_ASSERT_EQUAL(row_ms(c, "k"), t + 1);
	/* a delete of an absent key records its time too */
	CU_ASSERT_EQUAL(persist_state_delete(p, c, "never", &err), PERSIST_ENOTFOUND);
	t = deleted_ms(c, "never");
	CU_ASSERT(t > 0);
	CU_ASSERT_EQUAL(dated("delete-3", c, "never", "x", t - 1, NULL), PERSIST_OK);
	CU_ASSERT_EQUAL(get_str(c, "never", v, sizeof(v)), PERSIST_ENOTFOUND);
}

/* The times are in the database: what another handle (its own
   connections) wrote counts the same. */
static void test_shared(void)
{
	const char *c = "lww.shared";
	struct persist_error err;
	persist *h = NULL;
	char v[64];
	int64_t t;

	CU_ASSERT_EQUAL_FATAL(t_open_main("", &h), 0);
	CU_ASSERT_EQUAL(persist_state_set(h, c, "k", "theirs", 6, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_set(h, c, "d", "theirs", 6, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_delete(h, c, "d", &err), PERSIST_OK);
	persist_close(h, NULL);
	t = row_ms(c, "k");
	CU_ASSERT(t > 0);
	CU_ASSERT_EQUAL(dated("shared-1", c, "k", "mine", t - 1, NULL), PERSIST_OK);
	CU_ASSERT_EQUAL(get_str(c, "k", v, sizeof(v)), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(v, "theirs");
	CU_ASSERT_EQUAL(dated("shared-2", c, "d", "mine", t - 1, NULL), PERSIST_OK);
	CU_ASSERT_EQUAL(get_str(c, "d", v, sizeof(v)), PERSIST_ENOTFOUND);
}

/* Two dated sets of one key in one batch apply in order; a later-made one
   first and an earlier-made one second: the second is skipped.  A retry
   of an id applies nothing, though its writes would now win. */
static void test_batch_order_and_retry(void)
{
	const char *c = "lww.batch";
	const int64_t t = wall_ms() - 3600000;
	struct persist_op ops[3] = {
		{ .type = PERSIST_OP_SET, .collection = c, .key = "a", .value = "1", .len = 1 },
		{ .type = PERSIST_OP_SET, .collection = c, .key = "a", .value = "2", .len = 1 },
		{ .type = PERSIST_OP_SET, .collection = c, .key = "b", .value = "1", .len = 1 },
	};
	int64_t when[3] = { t, t + 1, t + 1 };
	struct persist_error err;
	int before = -1;
	char v[64];

	CU_ASSERT_EQUAL_FATAL(persist_state_batch_once_dated(p, "order-1", ops, when, 3,
							     &before, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(before, 0);
	CU_ASSERT_EQUAL(get_str(c, "a", v, sizeof(v)), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(v, "2");
	CU_ASSERT_EQUAL(row_ms(c, "a"), t + 1);
	/* b: first "1" made at t + 3, then "2" made at t + 2 */
	ops[0].key = "b";
	ops[1].key = "b";
	when[0] = t + 3;
	when[1] = t + 2;
	CU_ASSERT_EQUAL(persist_state_batch_once_dated(p, "order-2", ops, when, 2,
						       &before, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(before, 0);
	CU_ASSERT_EQUAL(get_str(c, "b", v, sizeof(v)), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(v, "1");
	CU_ASSERT_EQUAL(row_ms(c, "b"), t + 3);
	/* a delete of b at t + 4, then a retry of order-1 whose set of b at
	   t + 5 would bring it back: nothing is applied */
	CU_ASSERT_EQUAL(dated("order-3", c, "b", NULL, t + 4, NULL), PERSIST_OK);
	ops[0].key = ops[1].key = "a";
	when[0] = t + 5;
	when[1] = t + 6;
	when[2] = t + 5;
	ops[0].value = ops[1].value = "9";
	CU_ASSERT_EQUAL(persist_state_batch_once_dated(p, "order-1", ops, when, 3,
						       &before, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(before, 1);
	CU_ASSERT_EQUAL(get_str(c, "a", v, sizeof(v)), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(v, "2");
	CU_ASSERT_EQUAL(get_str(c, "b", v, sizeof(v)), PERSIST_ENOTFOUND);
	/* a retry that is refused changes no time either */
	CU_ASSERT_EQUAL(row_ms(c, "a"), t + 1);
}

/* Increments and appends are not dated: applied whatever the time given,
   and an increment records no time (neither directly nor in a batch of
   increments). */
static void test_increments(void)
{
	const char *c = "lww.incr";
	const int64_t t = wall_ms() - 3600000;
	struct persist_op ops[3] = {
		{ .type = PERSIST_OP_INCR, .collection = c, .key = "n", .delta = 5 },
		{ .type = PERSIST_OP_INCR, .collection = c, .key = "m", .delta = 2 },
		{ .type = PERSIST_OP_APPEND, .collection = c, .value = "rec", .len = 3 },
	};
	int64_t when[3] = { 1, 1, 1 };
	struct persist_entry *recs = NULL;
	struct persist_error err;
	int before = -1;
	size_t n = 0;
	int64_t val = 0;
	char v[64];

	CU_ASSERT_EQUAL_FATAL(put(c, "n", "10", 0), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_batch_once_dated(p, "incr-1", ops, when, 3,
						       &before, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(get_str(c, "n", v, sizeof(v)), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(v, "15");
	CU_ASSERT_EQUAL(get_str(c, "m", v, sizeof(v)), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(v, "2");
	CU_ASSERT_EQUAL(persist_state_read_log(p, c, 0, 0, &recs, &n, NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(n, 1);
	persist_items_free(recs, n);
	/* a key only incremented (in a batch or singly) has no time */
	CU_ASSERT_EQUAL(row_ms(c, "m"), -1);
	CU_ASSERT_EQUAL(persist_state_incr(p, c, "single", 3, &val, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(row_ms(c, "single"), -1);
	/* a dated set at t, an increment now, a dated set at t + 1: the
	   increment did not move the key's time to now */
	CU_ASSERT_EQUAL(dated("incr-2", c, "x", "1", t, NULL), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_incr(p, c, "x", 1, &val, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(val, 2);
	CU_ASSERT_EQUAL(row_ms(c, "x"), t);
	CU_ASSERT_EQUAL(dated("incr-3", c, "x", "7", t + 1, NULL), PERSIST_OK);
	CU_ASSERT_EQUAL(get_str(c, "x", v, sizeof(v)), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(v, "7");
	CU_ASSERT_EQUAL(deleted_ms(c, "m"), -1);
	CU_ASSERT_EQUAL(deleted_ms(c, "single"), -1);
}

/* A key whose TTL ran out keeps its set's time: before the sweep (its row
   is still there) and after (its time moved to kv_deleted). */
static void test_expired_keeps_time(void)
{
	const char *c = "lww.ttl";
	char v[64];
	int64_t t, deadline;

	CU_ASSERT_EQUAL_FATAL(put(c, "k", "short", 30), PERSIST_OK);
	t = row_ms(c, "k");
	CU_ASSERT(t > 0);
	t_sleep_ms(60);
	CU_ASSERT_EQUAL(get_str(c, "k", v, sizeof(v)), PERSIST_ENOTFOUND);
	/* the sweep runs on later calls; wait until it removed the row */
	deadline = t_now_ms() + 10000;
	while (row_ms(c, "k") != -1 && t_now_ms() < deadline) {
		t_sleep_ms(30);
		put(c, "tick", "", 0); /* a set runs the sweep when it is due */
	}
	CU_ASSERT_EQUAL_FATAL(row_ms(c, "k"), -1);
	CU_ASSERT_EQUAL(deleted_ms(c, "k"), t);
	CU_ASSERT_EQUAL(dated("ttl-1", c, "k", "older", t - 1, NULL), PERSIST_OK);
	CU_ASSERT_EQUAL(get_str(c, "k", v, sizeof(v)), PERSIST_ENOTFOUND);
	CU_ASSERT_EQUAL(dated("ttl-2", c, "k", "same", t, NULL), PERSIST_OK);
	CU_ASSERT_EQUAL(get_str(c, "k", v, sizeof(v)), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(v, "same");
	/* expired but not yet swept: the row's time still counts */
	CU_ASSERT_EQUAL(sql_num("UPDATE persist.kv SET expires_at = now() - interval '1 s', "
				"written_ms = %" PRId64 " WHERE coll = '%s' AND key = 'k'",
				t + 10, c), -1);
	CU_ASSERT_EQUAL(dated("ttl-3", c, "k", "older2", t + 9, NULL), PERSIST_OK);
	CU_ASSERT_EQUAL(sql_num("SELECT count(*) FROM persist.kv WHERE coll = '%s' AND "
				"key = 'k' AND value = 'older2'", c), 0);
}

/* Set, delete, batch and batch_once stamp the host's time. */
static void test_stamps(void)
{
	const char *c = "lww.stamp";
	struct persist_op ops[2] = {
		{ .type = PERSIST_OP_SET, .collection = c, .key = "s", .value = "v", .len = 1 },
		{ .type = PERSIST_OP_DELETE, .collection = c, .key = "d" },
	};
	struct persist_error err;
	int before = -1;
	int64_t t0, t1;

	t0 = wall_ms();
	CU_ASSERT_EQUAL_FATAL(persist_state_batch(p, ops, 2, &err), PERSIST_OK);
	t1 = wall_ms();
	CU_ASSERT(row_ms(c, "s") >= t0 && row_ms(c, "s") <= t1);
	CU_ASSERT(deleted_ms(c, "d") >= t0 && deleted_ms(c, "d") <= t1);
	/* what the batch recorded beats an older dated write */
	CU_ASSERT_EQUAL(dated("stamp-1", c, "d", "back", t0 - 1, NULL), PERSIST_OK);
	CU_ASSERT_EQUAL(sql_num("SELECT count(*) FROM persist.kv WHERE coll = '%s' AND "
				"key = 'd'", c), 0);
	ops[0].key = "s2";
	ops[1].key = "d2";
	t_sleep_ms(5);
	t0 = wall_ms();
	CU_ASSERT_EQUAL_FATAL(persist_state_batch_once(p, "stamp-2", ops, 2, &before, &err),
			      PERSIST_OK);
	t1 = wall_ms();
	CU_ASSERT(row_ms(c, "s2") >= t0 && row_ms(c, "s2") <= t1);
	CU_ASSERT(deleted_ms(c, "d2") >= t0 && deleted_ms(c, "d2") <= t1);
	t0 = wall_ms();
	CU_ASSERT_EQUAL(put(c, "s3", "v", 0), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_delete(p, c, "s2", &err), PERSIST_OK);
	t1 = wall_ms();
	CU_ASSERT(row_ms(c, "s3") >= t0 && row_ms(c, "s3") <= t1);
	CU_ASSERT(deleted_ms(c, "s2") >= t0 && deleted_ms(c, "s2") <= t1);
	/* a second delete of a key renews its deletion time */
	t_sleep_ms(20);
	t0 = wall_ms();
	CU_ASSERT_EQUAL(put(c, "s2", "again", 0), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_delete(p, c, "s2", &err), PERSIST_OK);
	t1 = wall_ms();
	CU_ASSERT(deleted_ms(c, "s2") >= t0 && deleted_ms(c, "s2") <= t1);
	ops[0].key = "s3";
	ops[1].key = "s2";
	t_sleep_ms(20);
	t0 = wall_ms();
	CU_ASSERT_EQUAL(persist_state_batch(p, ops, 2, &err), PERSIST_OK);
	t1 = wall_ms();
	CU_ASSERT(row_ms(c, "s3") >= t0 && row_ms(c, "s3") <= t1);
	CU_ASSERT(deleted_ms(c, "s2") >= t0 && deleted_ms(c, "s2") <= t1);
}

/* Collect the names of persist_state_collections: whether name is one. */
static int listed(const char *name)
{
	struct persist_entry *e = NULL;
	struct persist_error err;
	size_t n = 0;
	int found = 0;

	CU_ASSERT_EQUAL_FATAL(persist_state_collections(p, &e, &n, &err), PERSIST_OK);
	for (size_t i = 0; i < n; i++)
		found |= strcmp(e[i].key, name) == 0;
	persist_items_free(e, n);
	return found;
}

/* drop forgets the collection's times (rows and deletions); a collection
   whose keys are all deleted is not listed for its deletion times. */
static void test_drop(void)
{
	const char *c = "lww.drop";
	struct persist_error err;
	char v[64];
	int64_t t;

	t = set_then_delete(c, "gone");
	CU_ASSERT(t > 0);
	CU_ASSERT_EQUAL(put(c, "kept", "v", 0), PERSIST_OK);
	CU_ASSERT(set_then_delete("lww.drop-other", "gone") > 0);
	CU_ASSERT(listed(c));
	CU_ASSERT(!listed("lww.drop-other"));
	CU_ASSERT_EQUAL(persist_state_drop(p, c, &err), PERSIST_OK);
	CU_ASSERT(!listed(c));
	CU_ASSERT_EQUAL(deleted_ms(c, "gone"), -1);
	/* another collection's deletion time stays */
	CU_ASSERT(deleted_ms("lww.drop-other", "gone") > 0);
	CU_ASSERT_EQUAL(dated("drop-1", c, "gone", "again", t - 1000, NULL), PERSIST_OK);
	CU_ASSERT_EQUAL(get_str(c, "gone", v, sizeof(v)), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(v, "again");
	CU_ASSERT_EQUAL(dated("drop-2", "lww.drop-other", "gone", "again", t - 1000, NULL),
			PERSIST_OK);
	CU_ASSERT_EQUAL(get_str("lww.drop-other", "gone", v, sizeof(v)), PERSIST_ENOTFOUND);
	CU_ASSERT(listed(c));
}

/* Deletion times older than a day are pruned by the sweep; younger ones
   stay. */
static void test_prune(void)
{
	const char *c = "lww.prune";
	const int64_t now = wall_ms();
	char v[64];
	int64_t deadline;

	CU_ASSERT_EQUAL_FATAL(sql_num("INSERT INTO persist.kv_deleted (coll, key, deleted_ms) "
				      "VALUES ('%s', 'old', %" PRId64 "), ('%s', 'young', %" PRId64 ")",
				      c, now - DAY_MS - 60000, c, now - DAY_MS + 3600000), -1);
	deadline = t_now_ms() + 10000;
	while (deleted_ms(c, "old") != -1 && t_now_ms() < deadline) {
		t_sleep_ms(30);
		put(c, "tick", "", 0); /* a set runs the sweep when it is due */
	}
	CU_ASSERT_EQUAL(deleted_ms(c, "old"), -1);
	CU_ASSERT_EQUAL(deleted_ms(c, "young"), now - DAY_MS + 3600000);
	/* the old time is forgotten, the young one still wins */
	CU_ASSERT_EQUAL(dated("prune-1", c, "old", "v", now - DAY_MS - 120000, NULL), PERSIST_OK);
	CU_ASSERT_EQUAL(get_str(c, "old", v, sizeof(v)), PERSIST_OK);
	CU_ASSERT_EQUAL(dated("prune-2", c, "young", "v", now - DAY_MS, NULL), PERSIST_OK);
	CU_ASSERT_EQUAL(get_str(c, "young", v, sizeof(v)), PERSIST_ENOTFOUND);
}

/* A schema of the previous layout (version 2: kv without written_ms, no
   kv_deleted) with a row in it is upgraded in place by the first open. */
static void test_upgrade(void)
{
	static const char *const old_ddl[] = {
		"DROP SCHEMA IF EXISTS lwwold CASCADE",
		"CREATE SCHEMA lwwold",
		"CREATE TABLE lwwold.schema_version (version int PRIMARY KEY, "
		"installed_at timestamptz NOT NULL DEFAULT now())",
		"INSERT INTO lwwold.schema_version (version) VALUES (2)",
		"CREATE TABLE lwwold.kv (coll text COLLATE \"C\", key text COLLATE \"C\", "
		"value bytea, num bigint, expires_at timestamptz, PRIMARY KEY (coll, key), "
		"CHECK ((value IS NULL) <> (num IS NULL)))",
		"INSERT INTO lwwold.kv (coll, key, value) VALUES ('c', 'k', 'old row'), "
		"('c', 'k2', 'old row 2')",
	};
	struct persist_error err;
	struct persist_op op = {
		.type = PERSIST_OP_SET, .collection = "c", .key = "k", .value = "dated",
		.len = 5,
	};
	const int64_t t = wall_ms() - 60000;
	persist *h = NULL;
	char *data = NULL;
	size_t len = 0;
	int before = -1;

	for (size_t i = 0; i < sizeof(old_ddl) / sizeof(old_ddl[0]); i++)
		CU_ASSERT_EQUAL_FATAL(sql_num("%s", old_ddl[i]), -1);
	CU_ASSERT_EQUAL(sql_num("SELECT count(*) FROM information_schema.columns WHERE "
				"table_schema = 'lwwold' AND column_name = 'written_ms'"), 0);
	CU_ASSERT_EQUAL_FATAL(t_open_main(",\"schema\":\"lwwold\"", &h), 0);
	CU_ASSERT_EQUAL(persist_state_get(h, "c", "k2", &data, &len, &err), PERSIST_OK);
	CU_ASSERT(data != NULL && len == 9 && memcmp(data, "old row 2", 9) == 0);
	persist_free(data);
	CU_ASSERT_EQUAL(sql_num("SELECT max(version) FROM lwwold.schema_version"), 3);
	/* an old row has no time: a dated write replaces it */
	CU_ASSERT_EQUAL(persist_state_batch_once_dated(h, "up-1", &op, &t, 1, &before, &err),
			PERSIST_OK);
	CU_ASSERT_EQUAL(sql_num("SELECT written_ms FROM lwwold.kv WHERE coll = 'c' AND "
				"key = 'k' AND value = 'dated'"), t);
	/* and the new layout works: a delete's time beats an older dated set */
	CU_ASSERT_EQUAL(persist_state_delete(h, "c", "k2", &err), PERSIST_OK);
	CU_ASSERT(sql_num("SELECT deleted_ms FROM lwwold.kv_deleted WHERE key = 'k2'") > t);
	op.key = "k2";
	CU_ASSERT_EQUAL(persist_state_batch_once_dated(h, "up-2", &op, &t, 1, &before, &err),
			PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_get(h, "c", "k2", &data, &len, &err), PERSIST_ENOTFOUND);
	persist_close(h, NULL);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "dated writes against a direct set", test_dated_vs_direct },
		{ "a delete's time outlives the key", test_delete_outlives_key },
		{ "order within a batch, retry of an id", test_batch_order_and_retry },
		{ "times are shared by every handle", test_shared },
		{ "increments and appends are not dated", test_increments },
		{ "an expired key keeps its time", test_expired_keeps_time },
		{ "set, delete, batch and batch_once stamp times", test_stamps },
		{ "drop forgets the times", test_drop },
		{ "deletion times older than a day are pruned", test_prune },
		{ "a store of the previous layout is upgraded", test_upgrade },
		{ NULL, NULL }
	};

	return t_cunit_run("postgres-lww", suite_init, suite_clean, cases);
}
