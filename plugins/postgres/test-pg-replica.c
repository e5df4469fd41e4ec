/*
 * plugins/postgres/test-pg-replica.c - configuration reads from a
 * streaming replica (test-pg-replica.sh starts a primary and a replica
 * made with pg_basebackup -R, and exports PG_CONNINFO and
 * PG_REPLICA_CONNINFO).  Checked:
 *   - an instance reads its own writes at once, every time, although the
 *     replica replays a moment later;
 *   - reads do go to the replica: with replay paused on the replica, an
 *     instance that wrote nothing and was told of nothing still reads the
 *     replica's (older) document; after replay resumes it reads the new
 *     one;
 *   - an instance that was notified of a change does not read an older
 *     document afterwards;
 *   - a replica that is down: reads fall back to the primary, no error.
 */
#include <CUnit/Basic.h>
#include <libpq-fe.h>
#include "test-pg-util.h"
#include "../../t/lib/cunit-suite.h"

static const char *primary, *replica;

/* Open a handle reading from replica_conninfo. */
static persist *open_with(const char *replica_conninfo, const char *extra)
{
	char buf[1024];
	struct persist_error err;
	persist *h = NULL;

	snprintf(buf, sizeof(buf), "{\"conninfo\":\"%s\",\"replicaConninfo\":\"%s\"%s}",
		 primary, replica_conninfo, extra);
	if (t_open(buf, &h, &err) != PERSIST_OK) {
		printf("\n    cannot open: %s\n", err.msg);
		CU_FAIL_FATAL("open");
	}
	return h;
}

/* The document of key on h, or "" (copy in buf). */
static const char *doc_of(persist *h, const char *key, char *buf, size_t size)
{
	struct persist_error err;
	char *data = NULL;

	buf[0] = '\0';
	if (persist_config_get(h, key, &data, NULL, NULL, &err) == PERSIST_OK)
		snprintf(buf, size, "%s", data);
	persist_free(data);
	return buf;
}

/* Run SQL on the replica. */
static void on_replica(const char *sql)
{
	PGconn *c = PQconnectdb(replica);
	PGresult *r = PQexec(c, sql);

	CU_ASSERT_EQUAL(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	PQfinish(c);
}

/* Wait (up to 20 s) until a query on the replica returns a row: until it
   has replayed a write, however slow the machine is. */
static int replica_has(const char *sql)
{
	for (int i = 0; i < 1000; i++) {
		PGconn *c = PQconnectdb(replica);
		PGresult *r = PQexec(c, sql);
		int rows = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : 0;

		PQclear(r);
		PQfinish(c);
		if (rows > 0)
			return 1;
		t_sleep_ms(20);
	}
	return 0;
}

static void test_read_your_writes(void)
{
	persist *h = open_with(replica, ",\"cacheTTL\":0");
	struct persist_error err;
	int stale = 0;

	for (int i = 0; i < 200; i++) {
		char doc[32], got[64];

		snprintf(doc, sizeof(doc), "{\"i\":%d}", i);
		CU_ASSERT_EQUAL(persist_config_set(h, "ryw", doc, strlen(doc), NULL, 0, NULL, &err),
				PERSIST_OK);
		if (strcmp(doc_of(h, "ryw", got, sizeof(got)), doc) != 0)
			stale++;
	}
	printf("\n    stale reads of own writes: %d of 200\n", stale);
	CU_ASSERT_EQUAL(stale, 0);
	persist_close(h, NULL);
}

static void test_reads_use_replica(void)
{
	persist *w = open_with(replica, ",\"cacheTTL\":0");
	persist *r;
	struct persist_error err;
	char got[64];
	int ok = 0;

	CU_ASSERT_EQUAL(persist_config_set(w, "lag", "{\"v\":1}", 7, NULL, 0, NULL, &err), PERSIST_OK);
	CU_ASSERT_FATAL(replica_has("SELECT 1 FROM persist.config WHERE key = 'lag'"));
	on_replica("SELECT pg_wal_replay_pause()");
	t_sleep_ms(200);
	CU_ASSERT_EQUAL(persist_config_set(w, "lag", "{\"v\":2}", 7, NULL, 0, NULL, &err), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(doc_of(w, "lag", got, sizeof(got)), "{\"v\":2}");
	/* a reader opened now was told of nothing: it reads the paused replica */
	r = open_with(replica, ",\"cacheTTL\":0");
	CU_ASSERT_STRING_EQUAL(doc_of(r, "lag", got, sizeof(got)), "{\"v\":1}");
	/* told of a change, it does not read older than that */
	CU_ASSERT_EQUAL(persist_config_set(w, "lag", "{\"v\":3}", 7, NULL, 0, NULL, &err), PERSIST_OK);
	for (int i = 0; i < 100 && !ok; i++) {
		t_sleep_ms(20);
		ok = strcmp(doc_of(r, "lag", got, sizeof(got)), "{\"v\":3}") == 0;
	}
	CU_ASSERT(ok);
	on_replica("SELECT pg_wal_replay_resume()");
	persist_close(r, NULL);
	persist_close(w, NULL);
}

static void test_replica_down(void)
{
	persist *h = open_with("host=127.0.0.1 port=1 connect_timeout=2", ",\"cacheTTL\":0");
	struct persist_error err;
	char got[64];

	CU_ASSERT_EQUAL(persist_config_set(h, "down", "{\"d\":1}", 7, NULL, 0, NULL, &err), PERSIST_OK);
	for (int i = 0; i < 5; i++) {
		int64_t t0 = t_now_ms();

		CU_ASSERT_STRING_EQUAL(doc_of(h, "down", got, sizeof(got)), "{\"d\":1}");
		CU_ASSERT(t_now_ms() - t0 < 2000);
	}
	persist_close(h, NULL);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "an instance reads its own writes", test_read_your_writes },
		{ "reads go to the replica; notices are not undone", test_reads_use_replica },
		{ "a replica that is down: reads from the primary", test_replica_down },
		{ NULL, NULL }
	};

	primary = t_env("PG_CONNINFO");
	replica = t_env("PG_REPLICA_CONNINFO");
	return t_cunit_run("postgres-replica", NULL, NULL, cases);
}
