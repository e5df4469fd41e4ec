/*
 * plugins/postgres/test-pg-drop.c - dropping a state collection,
 * trimming its log and listing the collections, against a private PostgreSQL (test-pg-drop.sh starts
 * it and exports PG_CONNINFO).
 *
 * The two operations are not yet in the plugin's ops table, and a plugin
 * exports nothing but its entry point, so this program is built from the
 * plugin's own source files and calls them directly, with the test host
 * of t/lib/plugin-host.c standing in for the core.
 */
#include "pg-private.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin-host.h"
#include "../../t/lib/cunit-suite.h"

static struct pg_plugin plugin = { .host = &ph_host };
static struct pg_store *st;

/* The records read_log gives: numbers and contents. */
struct records {
	size_t n;
	uint64_t index[32];
	char data[32][32];
};

/* read_log callback: keep the record. */
static int keep_record(void *ctx, const struct persist_item *item)
{
	struct records *r = ctx;

	if (r->n < 32) {
		r->index[r->n] = item->index;
		snprintf(r->data[r->n], sizeof(r->data[0]), "%.*s", (int)item->len,
			 (const char *)item->value);
		r->n++;
	}
	return 0;
}

/* Every record of collection c from record `from` on. */
static struct records read_all(const char *c, uint64_t from)
{
	struct persist_error err;
	struct records r = { 0 };

	CU_ASSERT_EQUAL(pg_state_read_log(st, c, from, 0, keep_record, &r, &err), PERSIST_OK);
	return r;
}

/* Append the text s to the log of c. */
static void append(const char *c, const char *s)
{
	struct persist_error err;

	CU_ASSERT_EQUAL_FATAL(pg_state_append(st, c, s, strlen(s), &err), PERSIST_OK);
}

/* scan callback: count the keys. */
static int count_key(void *ctx, const struct persist_item *item)
{
	(void)item;
	(*(size_t *)ctx)++;
	return 0;
}

/* Number of keys of collection c. */
static size_t key_count(const char *c)
{
	struct persist_error err;
	size_t n = 0;

	CU_ASSERT_EQUAL(pg_state_scan(st, c, "", count_key, &n, &err), PERSIST_OK);
	return n;
}

static int suite_init(void)
{
	char json[1024];
	struct persist_error err;
	const char *conninfo = getenv("PG_CONNINFO");
	struct persist_store_args args = {
		.size = sizeof(args), .kind = PERSIST_KIND_STATE,
		.config_json = json, .instance_id = "drop-test",
	};

	if (conninfo == NULL) {
		fprintf(stderr, "PG_CONNINFO is not set: run through test-pg-drop.sh\n");
		return 1;
	}
	/* generous timeouts: the suite runs beside other servers and builds */
	snprintf(json, sizeof(json), "{\"conninfo\":\"%s\",\"schema\":\"droptest\","
		 "\"connectTimeout\":10000,\"commandTimeout\":10000}", conninfo);
	if (pg_store_open(&plugin, &args, &st, &err) != PERSIST_OK) {
		fprintf(stderr, "cannot open a state store: %s\n", err.msg);
		return 1;
	}
	return 0;
}

static int suite_clean(void)
{
	pg_store_close(st);
	return 0;
}

/* drop removes every key and record of one collection, and only those;
   the numbering of its log starts again at 0. */
static void test_drop(void)
{
	struct persist_error err;
	struct persist_value v;
	struct records r;
	int64_t n;
	int ret = pg_state_set(st, "d.a", "k1", "x", 1, 0, &err);

	if (ret != PERSIST_OK)
		fprintf(stderr, "first write: %s\n", err.msg);
	CU_ASSERT_EQUAL_FATAL(ret, PERSIST_OK);
	CU_ASSERT_EQUAL(pg_state_set(st, "d.a", "k2", "y", 1, 60000, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(pg_state_incr(st, "d.a", "n", 5, &n, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(pg_state_set(st, "d.b", "k1", "z", 1, 0, &err), PERSIST_OK);
	append("d.a", "a0");
	append("d.a", "a1");
	append("d.a", "a2");
	append("d.b", "b0");
	CU_ASSERT_EQUAL(key_count("d.a"), 3);

	CU_ASSERT_EQUAL(pg_state_drop(st, "d.a", &err), PERSIST_OK);
	CU_ASSERT_EQUAL(key_count("d.a"), 0);
	CU_ASSERT_EQUAL(pg_state_get(st, "d.a", "k1", &v, &err), PERSIST_ENOTFOUND);
	CU_ASSERT_EQUAL(read_all("d.a", 0).n, 0);
	/* the other collection is untouched */
	CU_ASSERT_EQUAL(key_count("d.b"), 1);
	r = read_all("d.b", 0);
	CU_ASSERT_EQUAL(r.n, 1);
	CU_ASSERT_STRING_EQUAL(r.data[0], "b0");
	/* a counter starts again, and so does the log's numbering */
	CU_ASSERT_EQUAL(pg_state_incr(st, "d.a", "n", 1, &n, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(n, 1);
	append("d.a", "a3");
	r = read_all("d.a", 0);
	CU_ASSERT_EQUAL_FATAL(r.n, 1);
	CU_ASSERT_EQUAL(r.index[0], 0);
	CU_ASSERT_STRING_EQUAL(r.data[0], "a3");

	/* an absent collection drops fine, twice */
	CU_ASSERT_EQUAL(pg_state_drop(st, "d.never", &err), PERSIST_OK);
	CU_ASSERT_EQUAL(pg_state_drop(st, "d.never", &err), PERSIST_OK);
	CU_ASSERT_EQUAL(pg_state_drop(st, NULL, &err), PERSIST_EINVAL);
}

/* trim_log removes the records below `before`; the kept ones keep their
   numbers, appends go on, read_log from an older number starts at the
   first kept record. */
static void test_trim(void)
{
	struct persist_error err;
	struct records r;
	char s[8];

	for (int i = 0; i < 5; i++) {
		snprintf(s, sizeof(s), "t%d", i);
		append("t.log", s);
	}
	/* 0 is a no-op */
	CU_ASSERT_EQUAL(pg_state_trim_log(st, "t.log", 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(read_all("t.log", 0).n, 5);

	CU_ASSERT_EQUAL(pg_state_trim_log(st, "t.log", 2, &err), PERSIST_OK);
	r = read_all("t.log", 0);
	CU_ASSERT_EQUAL_FATAL(r.n, 3);
	CU_ASSERT_EQUAL(r.index[0], 2);
	CU_ASSERT_STRING_EQUAL(r.data[0], "t2");
	CU_ASSERT_EQUAL(r.index[2], 4);
	CU_ASSERT_STRING_EQUAL(r.data[2], "t4");
	r = read_all("t.log", 1);
	CU_ASSERT_EQUAL(r.n, 3);
	CU_ASSERT_EQUAL(r.index[0], 2);
	r = read_all("t.log", 3);
	CU_ASSERT_EQUAL(r.n, 2);
	CU_ASSERT_EQUAL(r.index[0], 3);
	/* trimming less than what is gone changes nothing */
	CU_ASSERT_EQUAL(pg_state_trim_log(st, "t.log", 1, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(read_all("t.log", 0).n, 3);

	append("t.log", "t5");
	r = read_all("t.log", 0);
	CU_ASSERT_EQUAL_FATAL(r.n, 4);
	CU_ASSERT_EQUAL(r.index[3], 5);
	CU_ASSERT_STRING_EQUAL(r.data[3], "t5");

	/* beyond the next record number (6): refused, nothing trimmed */
	CU_ASSERT_EQUAL(pg_state_trim_log(st, "t.log", 7, &err), PERSIST_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "\"t.log\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "next record number is 6"));
	CU_ASSERT_EQUAL(pg_state_trim_log(st, "t.log", UINT64_MAX, &err), PERSIST_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "next record number is 6"));
	CU_ASSERT_EQUAL(read_all("t.log", 0).n, 4);

	/* up to the next number: everything goes, the numbering stays */
	CU_ASSERT_EQUAL(pg_state_trim_log(st, "t.log", 6, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(read_all("t.log", 0).n, 0);
	append("t.log", "t6");
	r = read_all("t.log", 0);
	CU_ASSERT_EQUAL_FATAL(r.n, 1);
	CU_ASSERT_EQUAL(r.index[0], 6);

	/* a log never written to: its next number is 0 */
	CU_ASSERT_EQUAL(pg_state_trim_log(st, "t.none", 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(pg_state_trim_log(st, "t.none", 1, &err), PERSIST_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "\"t.none\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "next record number is 0"));
	CU_ASSERT_EQUAL(pg_state_trim_log(st, NULL, 1, &err), PERSIST_EINVAL);
}

/* The names collections() gives. */
struct names {
	size_t n;
	char name[64][PERSIST_COLLECTION_MAX + 1];
};

/* collections callback: keep the name. */
static int keep_name(void *ctx, const struct persist_item *item)
{
	struct names *r = ctx;

	if (r->n < 64)
		snprintf(r->name[r->n++], sizeof(r->name[0]), "%s", item->key);
	return 0;
}

/* How many times the listing holds name c. */
static int listed(const struct names *r, const char *c)
{
	int k = 0;

	for (size_t i = 0; i < r->n; i++)
		k += strcmp(r->name[i], c) == 0;
	return k;
}

/* collections lists each collection with a live key or a log record once:
   not one whose keys expired or were deleted, nor a log trimmed to
   nothing, nor a dropped one. */
static void test_collections(void)
{
	struct persist_error err;
	struct names r = { 0 };
	int64_t n;

	CU_ASSERT_EQUAL(pg_state_set(st, "c.kv", "k", "v", 1, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(pg_state_incr(st, "c.kv", "n", 1, &n, &err), PERSIST_OK);
	append("c.kv", "r0");
	append("c.log", "r0");
	CU_ASSERT_EQUAL(pg_state_set(st, "c.expired", "k", "v", 1, 1, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(pg_state_set(st, "c.deleted", "k", "v", 1, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(pg_state_del(st, "c.deleted", "k", &err), PERSIST_OK);
	append("c.trimmed", "r0");
	CU_ASSERT_EQUAL(pg_state_trim_log(st, "c.trimmed", 1, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(pg_state_set(st, "c.dropped", "k", "v", 1, 0, &err), PERSIST_OK);
	append("c.dropped", "r0");
	CU_ASSERT_EQUAL(pg_state_drop(st, "c.dropped", &err), PERSIST_OK);
	ph_sleep_ms(20);
	CU_ASSERT_EQUAL(pg_state_collections(st, keep_name, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(listed(&r, "c.kv"), 1);
	CU_ASSERT_EQUAL(listed(&r, "c.log"), 1);
	CU_ASSERT_EQUAL(listed(&r, "d.b"), 1);
	CU_ASSERT_EQUAL(listed(&r, "c.expired"), 0);
	CU_ASSERT_EQUAL(listed(&r, "c.deleted"), 0);
	CU_ASSERT_EQUAL(listed(&r, "c.trimmed"), 0);
	CU_ASSERT_EQUAL(listed(&r, "c.dropped"), 0);
	CU_ASSERT_EQUAL(pg_state_collections(st, NULL, NULL, &err), PERSIST_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "without a callback"));
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "drop a collection", test_drop },
		{ "trim a log", test_trim },
		{ "list the collections", test_collections },
		{ NULL, NULL },
	};

	return t_cunit_run("postgres drop and trim", suite_init, suite_clean, cases);
}
