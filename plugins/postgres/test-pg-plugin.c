/*
 * plugins/postgres/test-pg-plugin.c - the postgres provider through the
 * host API against a private server (test-pg-plugin.sh starts it):
 *   - injection: keys, values, configuration documents, session ids and
 *     events full of quotes, semicolons, backslashes, $$, LIKE wildcards,
 *     SQL text and binary bytes round-trip literally, prefix scans match
 *     literally (also at the top of the code point range), and the
 *     tables are still there afterwards (the script checks them too);
 *   - bad input, each a clear error and never a hang, with the password
 *     in no message and no log line: a wrong password, a database that
 *     does not exist, a schema the user may not create, a conninfo that
 *     does not parse (URI and key=value forms), a server that is not
 *     there (open stays quick, calls answer unavailable quickly), a
 *     statement that runs into commandTimeout, and a server that ends the
 *     session in the middle of a statement.
 */
#include <inttypes.h>
#include <stdint.h>
#include <CUnit/Basic.h>
#include <libpq-fe.h>
#include "test-pg-util.h"
#include "../../t/lib/cunit-suite.h"

static const char *conninfo;
static persist *p;

/* Open the main handle. */
static int suite_init(void)
{
	conninfo = t_env("PG_CONNINFO");
	return t_open_main("", &p);
}

static int suite_clean(void)
{
	persist_close(p, NULL);
	return 0;
}

static const char *const nasty[] = {
	"'; DROP TABLE persist.kv; --",
	"Robert'); DELETE FROM persist.config WHERE ('1'='1",
	"back\\slash\\\\ and \\' quote",
	"$$ dollar $$ $tag$ $1 $2",
	"semi;colon;;",
	"\"double\" 'single' `back`",
	"%_% like wildcards _%",
	"select * from pg_catalog.pg_roles",
	"unicode \xc3\xa9\xe2\x82\xac \xf0\x9f\x99\x82",
	"E'\\x00' U&'\\0000'",
};
#define N_NASTY (sizeof(nasty) / sizeof(nasty[0]))

/* State keys and values round-trip literally; scans match literally. */
static void test_state_injection(void)
{
	const char *coll = "inj.coll:x-1";
	unsigned char bin[255];
	struct persist_entry *e = NULL;
	struct persist_error err;
	size_t n = 0;
	char *data = NULL;
	size_t len = 0;
	int64_t v = 0;

	for (int i = 0; i < 255; i++)
		bin[i] = (unsigned char)(i + 1);
	for (size_t i = 0; i < N_NASTY; i++)
		CU_ASSERT_EQUAL_FATAL(persist_state_set(p, coll, nasty[i], nasty[(i + 1) % N_NASTY],
							strlen(nasty[(i + 1) % N_NASTY]), 0, &err),
				      PERSIST_OK);
	for (size_t i = 0; i < N_NASTY; i++) {
		CU_ASSERT_EQUAL(persist_state_get(p, coll, nasty[i], &data, &len, &err), PERSIST_OK);
		CU_ASSERT(data != NULL && len == strlen(nasty[(i + 1) % N_NASTY]) &&
			  memcmp(data, nasty[(i + 1) % N_NASTY], len) == 0);
		persist_free(data);
		data = NULL;
	}
	CU_ASSERT_EQUAL(persist_state_scan(p, coll, "", &e, &n, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(n, N_NASTY);
	persist_items_free(e, n);
	/* LIKE wildcards in a prefix are plain characters */
	CU_ASSERT_EQUAL(persist_state_scan(p, coll, "%", &e, &n, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(n, 1);
	if (n == 1)
		CU_ASSERT_STRING_EQUAL(e[0].key, nasty[6]);
	persist_items_free(e, n);
	CU_ASSERT_EQUAL(persist_state_scan(p, coll, "_", &e, &n, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(n, 0);
	persist_items_free(e, n);
	/* binary values and a counter with an SQL-looking key */
	CU_ASSERT_EQUAL(persist_state_set(p, coll, "bin", bin, sizeof(bin), 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_get(p, coll, "bin", &data, &len, &err), PERSIST_OK);
	CU_ASSERT(data != NULL && len == sizeof(bin) && memcmp(data, bin, len) == 0);
	persist_free(data);
	CU_ASSERT_EQUAL(persist_state_incr(p, coll, "1); DROP TABLE x; --", 7, &v, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(v, 7);
	/* the log keeps records literally */
	for (size_t i = 0; i < N_NASTY; i++)
		CU_ASSERT_EQUAL(persist_state_append(p, coll, nasty[i], strlen(nasty[i]), &err),
				PERSIST_OK);
	{
		uint64_t next = 0;

		CU_ASSERT_EQUAL(persist_state_read_log(p, coll, 0, 0, &e, &n, &next, &err), PERSIST_OK);
		CU_ASSERT_EQUAL(n, N_NASTY);
		for (size_t i = 0; i < n && i < N_NASTY; i++)
			CU_ASSERT(e[i].len == strlen(nasty[i]) &&
				  memcmp(e[i].value, nasty[i], e[i].len) == 0);
		persist_items_free(e, n);
	}
}

/* A prefix ending in the highest code point, and one just below it. */
static void test_scan_edges(void)
{
	const char *coll = "inj.edges";
	static const char *const keys[] = {
		"p\xf4\x8f\xbf\xbf", "p\xf4\x8f\xbf\xbfz", "p\xf4\x8f\xbf\xbe", "q", "p",
		"p\xed\x9f\xbf", "p\xee\x80\x80",
	};
	struct persist_entry *e = NULL;
	struct persist_error err;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		CU_ASSERT_EQUAL(persist_state_set(p, coll, keys[i], "v", 1, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_scan(p, coll, keys[0], &e, &n, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(n, 2);
	persist_items_free(e, n);
	CU_ASSERT_EQUAL(persist_state_scan(p, coll, keys[2], &e, &n, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(n, 1);
	persist_items_free(e, n);
	CU_ASSERT_EQUAL(persist_state_scan(p, coll, keys[5], &e, &n, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(n, 1);
	persist_items_free(e, n);
	CU_ASSERT_EQUAL(persist_state_scan(p, coll, "p", &e, &n, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(n, 6);
	persist_items_free(e, n);
}

/* Configuration keys and documents, session ids and events. */
static void test_config_session_injection(void)
{
	struct persist_error err;
	char etag[PERSIST_ETAG_MAX], want[PERSIST_ETAG_MAX];
	struct persist_entry *e = NULL;
	size_t n = 0;

	for (size_t i = 0; i < N_NASTY; i++) {
		char doc[256], *data = NULL;
		size_t len = 0, o = 0;

		/* the document: a JSON string holding the nasty text */
		o += (size_t)snprintf(doc, sizeof(doc), "{\"s\":\"");
		for (const char *c = nasty[i]; *c != '\0'; c++) {
			if (*c == '"' || *c == '\\')
				doc[o++] = '\\';
			doc[o++] = *c;
		}
		snprintf(doc + o, sizeof(doc) - o, "\"}");
		CU_ASSERT_EQUAL(persist_config_set(p, nasty[i], doc, strlen(doc), NULL, 0, etag, &err),
				PERSIST_OK);
		persist_etag(doc, strlen(doc), want);
		CU_ASSERT_STRING_EQUAL(etag, want);
		CU_ASSERT_EQUAL(persist_config_get(p, nasty[i], &data, &len, etag, &err), PERSIST_OK);
		CU_ASSERT(data != NULL && len == strlen(doc) && memcmp(data, doc, len) == 0);
		persist_free(data);
		/* if-match with an SQL-looking ETag is just a wrong ETag */
		CU_ASSERT_EQUAL(persist_config_set(p, nasty[i], "{}", 2, "' OR '1'='1", 0, NULL, &err),
				PERSIST_ECONFLICT);
		CU_ASSERT_EQUAL(persist_session_put(p, nasty[i], doc, strlen(doc), 0, &err), PERSIST_OK);
		CU_ASSERT_EQUAL(persist_session_send(p, nasty[i], nasty[(i + 3) % N_NASTY], doc,
						     strlen(doc), &err), PERSIST_OK);
		CU_ASSERT_EQUAL(persist_session_broadcast(p, nasty[i], doc, strlen(doc), &err),
				PERSIST_OK);
	}
	CU_ASSERT_EQUAL(persist_config_list(p, &e, &n, &err), PERSIST_OK);
	CU_ASSERT(n >= N_NASTY);
	persist_items_free(e, n);
	CU_ASSERT_EQUAL(persist_session_list(p, &e, &n, &err), PERSIST_OK);
	CU_ASSERT(n >= N_NASTY);
	persist_items_free(e, n);
	for (size_t i = 0; i < N_NASTY; i++) {
		CU_ASSERT_EQUAL(persist_config_delete(p, nasty[i], NULL, &err), PERSIST_OK);
		CU_ASSERT_EQUAL(persist_session_drop(p, nasty[i], &err), PERSIST_OK);
	}
}

/* Batches: a run of increments (repeated keys, quoted keys) is one
   statement; order with sets and deletes holds; a bad counter in a run
   fails the batch naming the key, and nothing is applied. */
static void test_batch_runs(void)
{
	const char *c = "batch.runs";
	struct persist_op ops[] = {
		{ .type = PERSIST_OP_SET, .collection = c, .key = "a", .value = "10", .len = 2 },
		{ .type = PERSIST_OP_INCR, .collection = c, .key = "a", .delta = 5 },
		{ .type = PERSIST_OP_INCR, .collection = c, .key = "a\"b\\c", .delta = 2 },
		{ .type = PERSIST_OP_INCR, .collection = c, .key = "a", .delta = -1 },
		{ .type = PERSIST_OP_INCR, .collection = c, .key = "a\"b\\c", .delta = 2 },
		{ .type = PERSIST_OP_DELETE, .collection = c, .key = "gone" },
		{ .type = PERSIST_OP_INCR, .collection = c, .key = "gone", .delta = 1 },
		{ .type = PERSIST_OP_INCR, .collection = "batch.other", .key = "a", .delta = 3 },
	};
	struct persist_op bad[] = {
		{ .type = PERSIST_OP_INCR, .collection = c, .key = "a", .delta = 1 },
		{ .type = PERSIST_OP_INCR, .collection = c, .key = "text'key", .delta = 1 },
		{ .type = PERSIST_OP_INCR, .collection = c, .key = "fresh", .delta = 1 },
	};
	struct persist_error err;
	char *data = NULL;

	CU_ASSERT_EQUAL(persist_state_set(p, c, "gone", "7", 1, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_batch(p, ops, sizeof(ops) / sizeof(ops[0]), &err),
			PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_get(p, c, "a", &data, NULL, &err), PERSIST_OK);
	CU_ASSERT(data != NULL && strcmp(data, "14") == 0);
	persist_free(data);
	CU_ASSERT_EQUAL(persist_state_get(p, c, "a\"b\\c", &data, NULL, &err), PERSIST_OK);
	CU_ASSERT(data != NULL && strcmp(data, "4") == 0);
	persist_free(data);
	CU_ASSERT_EQUAL(persist_state_get(p, c, "gone", &data, NULL, &err), PERSIST_OK);
	CU_ASSERT(data != NULL && strcmp(data, "1") == 0);
	persist_free(data);
	CU_ASSERT_EQUAL(persist_state_set(p, c, "text'key", "x'y", 3, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_batch(p, bad, 3, &err), PERSIST_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "text'key"));
	CU_ASSERT_EQUAL(persist_state_get(p, c, "a", &data, NULL, &err), PERSIST_OK);
	CU_ASSERT(data != NULL && strcmp(data, "14") == 0);
	persist_free(data);
	CU_ASSERT_EQUAL(persist_state_get(p, c, "fresh", &data, NULL, &err), PERSIST_ENOTFOUND);
}

/* open must fail with code, its message containing want and not secret;
   no log line may contain secret either. */
static void expect_refused(const char *provider_json, int code, const char *want,
			   const char *secret)
{
	struct persist_error err;
	persist *h = NULL;
	int64_t start = t_now_ms();
	int ret = t_open(provider_json, &h, &err);

	CU_ASSERT_EQUAL(ret, code);
	if (ret != code)
		printf("\n    %s: got %s: %s\n", provider_json, persist_strerror(ret),
		       ret != PERSIST_OK ? err.msg : "");
	if (ret == PERSIST_OK) {
		persist_close(h, NULL);
		return;
	}
	CU_ASSERT(t_now_ms() - start < 5000);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
	if (strstr(err.msg, want) == NULL)
		printf("\n    message without \"%s\": %s\n", want, err.msg);
	CU_ASSERT_PTR_NULL(strstr(err.msg, secret));
	CU_ASSERT(!t_log_has(secret));
}

/* Wrong password, missing database, no right to create the schema,
   conninfo that does not parse. */
static void test_refused(void)
{
	const char *port = t_env("PG_PORT"), *pw = t_env("PG_TEST_PASSWORD");
	char buf[1024];

	snprintf(buf, sizeof(buf), "{\"conninfo\":\"host=127.0.0.1 port=%s user=pwuser "
		 "dbname=postgres password=marker-wrong-17\"}", port);
	expect_refused(buf, PERSIST_ECONFIG, "password authentication failed", "marker-wrong-17");
	snprintf(buf, sizeof(buf), "{\"conninfo\":\"postgresql://pwuser:marker-uri-23@127.0.0.1:%s/postgres\"}",
		 port);
	expect_refused(buf, PERSIST_ECONFIG, "password authentication failed", "marker-uri-23");
	snprintf(buf, sizeof(buf), "{\"conninfo\":\"host=127.0.0.1 port=%s user=pwuser "
		 "dbname=no_such_db password=%s\"}", port, pw);
	expect_refused(buf, PERSIST_ECONFIG, "does not exist", pw);
	/* pwuser may not create schemas in the database postgres */
	snprintf(buf, sizeof(buf), "{\"conninfo\":\"host=127.0.0.1 port=%s user=pwuser "
		 "dbname=postgres password=%s\",\"schema\":\"not_allowed\"}", port, pw);
	expect_refused(buf, PERSIST_ECONFIG, "not_allowed", pw);
	expect_refused(buf, PERSIST_ECONFIG, "permission denied", pw);
	expect_refused("{\"conninfo\":\"host=127.0.0.1 password=x marker-parse-5\"}",
		       PERSIST_ECONFIG, "\"conninfo\" does not parse", "marker-parse-5");
	expect_refused("{\"conninfo\":\"postgresql://u:marker-pct-9%zz@127.0.0.1/db\"}",
		       PERSIST_ECONFIG, "\"conninfo\" does not parse", "marker-pct-9");
	expect_refused("{\"conninfo\":\"host=127.0.0.1 bogus_option=marker-opt-3\"}",
		       PERSIST_ECONFIG, "\"conninfo\" does not parse", "marker-opt-3");
	expect_refused("{\"conninfo\":\"\",\"replicaConninfo\":\"port='marker-rep-4\"}",
		       PERSIST_ECONFIG, "\"replicaConninfo\" does not parse", "marker-rep-4");
}

/* A server that is not there: open is quick, calls answer unavailable
   quickly and name the server without the password. */
static void test_no_server(void)
{
	struct persist_error err;
	persist *h = NULL;
	int64_t start = t_now_ms(), v = 0;
	char buf[512];
	int ret;

	/* port 1 on loopback: refused at once */
	snprintf(buf, sizeof(buf), "{\"conninfo\":\"host=127.0.0.1 port=1 user=x "
		 "password=marker-down-8\",\"connectTimeout\":500}");
	ret = t_open(buf, &h, &err);
	CU_ASSERT_EQUAL_FATAL(ret, PERSIST_OK);
	CU_ASSERT(t_now_ms() - start < 2000);
	for (int i = 0; i < 20; i++) {
		int64_t t0 = t_now_ms();

		ret = persist_state_incr(h, "down", "k", 1, &v, &err);
		CU_ASSERT_EQUAL(ret, PERSIST_EUNAVAIL);
		CU_ASSERT(t_now_ms() - t0 < 1000);
		CU_ASSERT_PTR_NULL(strstr(err.msg, "marker-down-8"));
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "port=1"));
	}
	CU_ASSERT_EQUAL(persist_config_set(h, "k", "{}", 2, NULL, 0, NULL, &err), PERSIST_EUNAVAIL);
	CU_ASSERT_EQUAL(persist_session_broadcast(h, "e", "{}", 2, &err), PERSIST_EUNAVAIL);
	CU_ASSERT_PTR_NULL(strstr(err.msg, "marker-down-8"));
	persist_close(h, NULL);
	CU_ASSERT(!t_log_has("marker-down-8"));
}

/* A libpq connection of the test itself, as the superuser. */
static PGconn *side_connection(void)
{
	PGconn *c = PQconnectdb(conninfo);

	CU_ASSERT_EQUAL_FATAL(PQstatus(c), CONNECTION_OK);
	return c;
}

/* Run SQL on the side connection; 1 on success. */
static int side_sql(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		printf("\n    %s: %s\n", sql, PQerrorMessage(c));
	PQclear(r);
	return ok;
}

struct terminator {
	const char *conninfo;
	int delay_ms;
};

/* After a delay, end every persist session waiting for a lock. */
static void *terminate_waiting(void *arg)
{
	struct terminator *t = arg;
	PGconn *c = PQconnectdb(t->conninfo);

	t_sleep_ms(t->delay_ms);
	PQclear(PQexec(c, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
		       "WHERE application_name = 'persist' AND wait_event_type = 'Lock'"));
	PQfinish(c);
	return NULL;
}

/* A statement stuck behind a lock: commandTimeout ends it; a server that
   ends the session mid-statement gives an uncertain answer at once. */
static void test_mid_statement(void)
{
	struct persist_error err;
	struct terminator t = { .conninfo = conninfo, .delay_ms = 300 };
	pthread_t th;
	persist *h = NULL;
	PGconn *c;
	char buf[1024];
	int64_t start, v = 0;
	int ret;

	snprintf(buf, sizeof(buf), "{\"conninfo\":\"%s\",\"commandTimeout\":400}", conninfo);
	CU_ASSERT_EQUAL_FATAL(t_open(buf, &h, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_incr(h, "mid", "locked", 1, &v, &err), PERSIST_OK);
	c = side_connection();
	CU_ASSERT_FATAL(side_sql(c, "BEGIN") &&
			side_sql(c, "SELECT * FROM persist.kv WHERE coll = 'mid' FOR UPDATE"));
	/* the lock outlasts commandTimeout: the server cancels the statement */
	start = t_now_ms();
	ret = persist_state_incr(h, "mid", "locked", 1, &v, &err);
	CU_ASSERT(ret == PERSIST_ETIMEDOUT);
	CU_ASSERT(t_now_ms() - start < 2000);
	printf("\n    stuck behind a lock: %s: %s\n", persist_strerror(ret), err.msg);
	/* the session is ended while the statement waits */
	snprintf(buf, sizeof(buf), "{\"conninfo\":\"%s\",\"commandTimeout\":5000}", conninfo);
	persist_close(h, NULL);
	CU_ASSERT_EQUAL_FATAL(t_open(buf, &h, &err), PERSIST_OK);
	pthread_create(&th, NULL, terminate_waiting, &t);
	start = t_now_ms();
	ret = persist_state_incr(h, "mid", "locked", 1, &v, &err);
	pthread_join(th, NULL);
	CU_ASSERT(ret == PERSIST_EUNCERTAIN);
	CU_ASSERT(t_now_ms() - start < 3000);
	printf("    session ended mid-statement: %s: %s\n", persist_strerror(ret), err.msg);
	CU_ASSERT(side_sql(c, "ROLLBACK"));
	PQfinish(c);
	/* and the handle recovers by itself */
	CU_ASSERT_EQUAL(persist_state_incr(h, "mid", "locked", 1, &v, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(v, 2);
	persist_close(h, NULL);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "state keys, values and logs round-trip literally", test_state_injection },
		{ "prefix scans at the edges of the code point range", test_scan_edges },
		{ "configuration and sessions round-trip literally", test_config_session_injection },
		{ "batches: runs of increments, order, a bad counter", test_batch_runs },
		{ "wrong password, missing database, schema, bad conninfo", test_refused },
		{ "no server: quick open, quick unavailable", test_no_server },
		{ "statement timeout and a session ended mid-statement", test_mid_statement },
		{ NULL, NULL }
	};

	return t_cunit_run("postgres", suite_init, suite_clean, cases);
}
