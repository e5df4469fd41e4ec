/*
 * plugins/filesystem/test-fs-state.c - the filesystem provider's state
 * store, called directly through its ops table: values, counters, TTL,
 * scan, logs (JSON Lines, binary records, torn tails), the key journal
 * (torn tail, corrupt line, compaction seen by a second store), batches
 * (group commit, all or nothing), flush, threads through one and two
 * stores, argument checks, and the listing of collections.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include <CUnit/Basic.h>
#include "../../t/lib/cunit-suite.h"
#include "t-fs-host.h"

#define OPS (t_plugin->state)

static void *st;
static char st_json[4200];

/* Open the store used by most tests. */
static int suite_init(void)
{
	struct persist_error err;

	t_load_plugin();
	snprintf(st_json, sizeof(st_json), "{\"root\":\"%s\"}", t_path("st"));
	if (t_open(PERSIST_KIND_STATE, st_json, &st, &err) != PERSIST_OK) {
		fprintf(stderr, "open: %s\n", err.msg);
		return 1;
	}
	return 0;
}

static int suite_clean(void)
{
	t_close(PERSIST_KIND_STATE, st);
	t_unload_plugin();
	return 0;
}

/* set a string value. */
static int sset(void *s, const char *c, const char *k, const char *v, int64_t ttl)
{
	struct persist_error err;
	return OPS->set(s, c, k, v, strlen(v), ttl, &err);
}

/* incr; returns the new value or INT64_MIN on failure. */
static int64_t incr(void *s, const char *c, const char *k, int64_t d)
{
	struct persist_error err;
	int64_t v;
	if (OPS->incr(s, c, k, d, &v, &err) != PERSIST_OK)
		return INT64_MIN;
	return v;
}

/* True when the file at path holds text. */
static int file_contains(const char *path, const char *text)
{
	size_t len;
	char *data = t_read_file(path, &len);
	int found = data != NULL && strstr(data, text) != NULL;

	free(data);
	return found;
}

/* Every line of a file parses as JSON (what jq needs). */
static int all_lines_json(const char *path, int *lines_r)
{
	size_t len;
	char *data = t_read_file(path, &len), *p, *nl;
	int ok = data != NULL, n = 0;

	for (p = data; ok && p < data + len; p = nl + 1) {
		struct json_object *o;
		nl = memchr(p, '\n', (size_t)(data + len - p));
		if (nl == NULL) {
			ok = 0; /* every line ends with a newline */
			break;
		}
		*nl = '\0';
		o = json_tokener_parse(p);
		if (o == NULL)
			ok = 0;
		json_object_put(o);
		n++;
	}
	free(data);
	if (lines_r != NULL)
		*lines_r = n;
	return ok;
}

/* Values, counters, delete, persistence across reopen. */
static void test_values(void)
{
	struct persist_error err;
	char *v;
	void *again;

	CU_ASSERT_EQUAL(sset(st, "links", "abc", "{\"url\":\"https://x\"}", 0), PERSIST_OK);
	v = t_state_get(st, "links", "abc");
	CU_ASSERT_STRING_EQUAL(v, "{\"url\":\"https://x\"}");
	free(v);
	CU_ASSERT_EQUAL(incr(st, "usage", "u1", 5), 5);
	CU_ASSERT_EQUAL(incr(st, "usage", "u1", -2), 3);
	v = t_state_get(st, "usage", "u1");
	CU_ASSERT_STRING_EQUAL(v, "3");
	free(v);
	CU_ASSERT_EQUAL(sset(st, "usage", "s", "41", 0), PERSIST_OK);
	CU_ASSERT_EQUAL(incr(st, "usage", "s", 1), 42);
	CU_ASSERT_EQUAL(sset(st, "usage", "word", "abc", 0), PERSIST_OK);
	CU_ASSERT_EQUAL(OPS->incr(st, "usage", "word", 1, NULL, &err), PERSIST_EINVAL);
	CU_ASSERT(strstr(err.msg, "word") != NULL);
	CU_ASSERT_EQUAL(incr(st, "usage", "big", INT64_MAX), INT64_MAX);
	CU_ASSERT_EQUAL(OPS->incr(st, "usage", "big", 1, NULL, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(OPS->del(st, "links", "abc", &err), PERSIST_OK);
	CU_ASSERT_EQUAL(OPS->del(st, "links", "abc", &err), PERSIST_ENOTFOUND);
	CU_ASSERT_PTR_NULL(t_state_get(st, "links", "abc"));
	CU_ASSERT_PTR_NULL(t_state_get(st, "nocollection", "abc"));
	/* set replaces a counter */
	CU_ASSERT_EQUAL(sset(st, "usage", "u1", "x", 0), PERSIST_OK);
	v = t_state_get(st, "usage", "u1");
	CU_ASSERT_STRING_EQUAL(v, "x");
	free(v);

	/* another store (a restart) sees the same data */
	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_STATE, st_json, &again, &err), PERSIST_OK);
	v = t_state_get(again, "usage", "s");
	CU_ASSERT_STRING_EQUAL(v, "42");
	free(v);
	CU_ASSERT_PTR_NULL(t_state_get(again, "links", "abc"));
	t_close(PERSIST_KIND_STATE, again);
	CU_ASSERT(all_lines_json(t_path("st/kv/usage.jsonl"), NULL));

	/* health */
	{
		int64_t lat = -1;
		CU_ASSERT_EQUAL(OPS->health(st, &lat, &err), PERSIST_OK);
		CU_ASSERT(lat >= 0);
	}
}

/* Binary, empty, huge values and odd keys round-trip. */
static void test_binary(void)
{
	struct persist_error err;
	struct persist_value val;
	char bin[256];
	size_t big_n = 4 * 1024 * 1024;
	char *big = malloc(big_n);
	void *again;

	for (int i = 0; i < 256; i++)
		bin[i] = (char)i;
	for (size_t i = 0; i < big_n; i++)
		big[i] = (char)(i * 7 + 3);
	CU_ASSERT_EQUAL(OPS->set(st, "bin", "all", bin, 256, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(OPS->set(st, "bin", "empty", "", 0, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(OPS->set(st, "bin", "big", big, big_n, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(OPS->set(st, "bin", "k \"quoted\" \\ ✓", "v", 1, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(OPS->set(st, "bin", "nl", "a\nb\r\t\"", 7, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_STATE, st_json, &again, &err), PERSIST_OK);
	memset(&val, 0, sizeof(val));
	CU_ASSERT_EQUAL(OPS->get(again, "bin", "all", &val, &err), PERSIST_OK);
	CU_ASSERT(val.len == 256 && memcmp(val.data, bin, 256) == 0);
	free(val.data);
	CU_ASSERT_EQUAL(OPS->get(again, "bin", "empty", &val, &err), PERSIST_OK);
	CU_ASSERT(val.len == 0 && ((char *)val.data)[0] == '\0');
	free(val.data);
	CU_ASSERT_EQUAL(OPS->get(again, "bin", "big", &val, &err), PERSIST_OK);
	CU_ASSERT(val.len == big_n && memcmp(val.data, big, big_n) == 0);
	free(val.data);
	CU_ASSERT_EQUAL(OPS->get(again, "bin", "k \"quoted\" \\ ✓", &val, &err), PERSIST_OK);
	free(val.data);
	CU_ASSERT_EQUAL(OPS->get(again, "bin", "nl", &val, &err), PERSIST_OK);
	CU_ASSERT(val.len == 7 && memcmp(val.data, "a\nb\r\t\"", 7) == 0);
	free(val.data);
	t_close(PERSIST_KIND_STATE, again);
	CU_ASSERT(all_lines_json(t_path("st/kv/bin.jsonl"), NULL));
	free(big);
}

struct scan_res { int n; char keys[16][64]; };

/* Collect scanned keys. */
static int scan_cb(void *ctx, const struct persist_item *it)
{
	struct scan_res *r = ctx;
	if (r->n < 16)
		snprintf(r->keys[r->n++], 64, "%s=%.*s", it->key, (int)it->len,
			 (const char *)it->value);
	return 0;
}

/* TTL: expired keys vanish at once; scan by prefix. */
static void test_ttl_scan(void)
{
	struct persist_error err;
	struct scan_res r;
	char *v;

	CU_ASSERT_EQUAL(sset(st, "sess", "user:1", "a", 0), PERSIST_OK);
	CU_ASSERT_EQUAL(sset(st, "sess", "user:2", "b", 200), PERSIST_OK);
	CU_ASSERT_EQUAL(sset(st, "sess", "other", "c", 0), PERSIST_OK);
	CU_ASSERT_EQUAL(incr(st, "sess", "user:3", 7), 7);
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(OPS->scan(st, "sess", "user:", scan_cb, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.n, 3);
	v = t_state_get(st, "sess", "user:2");
	CU_ASSERT_STRING_EQUAL(v, "b");
	free(v);
	ph_sleep_ms(300);
	CU_ASSERT_PTR_NULL(t_state_get(st, "sess", "user:2"));
	CU_ASSERT_EQUAL(OPS->del(st, "sess", "user:2", &err), PERSIST_ENOTFOUND);
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(OPS->scan(st, "sess", "user:", scan_cb, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.n, 2);
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(OPS->scan(st, "sess", "", scan_cb, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.n, 3);
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(OPS->scan(st, "unknown-coll", "", scan_cb, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.n, 0);
	/* an expired value incremented starts from 0 */
	CU_ASSERT_EQUAL(sset(st, "sess", "exp", "10", 100), PERSIST_OK);
	ph_sleep_ms(200);
	CU_ASSERT_EQUAL(incr(st, "sess", "exp", 1), 1);
	CU_ASSERT_EQUAL(OPS->set(st, "sess", "neg", "x", 1, -1, &err), PERSIST_EINVAL);
}

struct log_res { int n; uint64_t first; char rec[64][80]; size_t len[64]; };

/* Collect log records. */
static int log_cb(void *ctx, const struct persist_item *it)
{
	struct log_res *r = ctx;
	if (r->n == 0)
		r->first = it->index;
	if (r->n < 64) {
		size_t n = it->len < 79 ? it->len : 79;
		memcpy(r->rec[r->n], it->value, n);
		r->rec[r->n][n] = '\0';
		r->len[r->n] = it->len;
		r->n++;
	}
	return 0;
}

/* Logs: JSON Lines, numbering, from/max, odd records. */
static void test_logs(void)
{
	struct persist_error err;
	struct log_res r;
	static const char bin[] = { 0, 1, 2, '\n', (char)0xfe };
	char *file;
	int lines;

	for (int i = 0; i < 10; i++) {
		char rec[32];
		snprintf(rec, sizeof(rec), "{\"i\":%d}", i);
		CU_ASSERT_EQUAL(OPS->append(st, "feedback", rec, strlen(rec), &err), PERSIST_OK);
	}
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(OPS->read_log(st, "feedback", 0, 0, log_cb, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.n, 10);
	CU_ASSERT_STRING_EQUAL(r.rec[0], "{\"i\":0}");
	CU_ASSERT_STRING_EQUAL(r.rec[9], "{\"i\":9}");
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(OPS->read_log(st, "feedback", 4, 3, log_cb, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.n, 3);
	CU_ASSERT_EQUAL(r.first, 4);
	CU_ASSERT_STRING_EQUAL(r.rec[0], "{\"i\":4}");
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(OPS->read_log(st, "feedback", 100, 0, log_cb, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.n, 0);
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(OPS->read_log(st, "nolog", 0, 0, log_cb, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.n, 0);
	file = t_read_file(t_path("st/logs/feedback.jsonl"), NULL);
	CU_ASSERT(file != NULL && strncmp(file, "{\"i\":0}\n{\"i\":1}\n", 16) == 0);
	free(file);

	/* records that are not one line of JSON are wrapped, and come back */
	CU_ASSERT_EQUAL(OPS->append(st, "odd", bin, sizeof(bin), &err), PERSIST_OK);
	CU_ASSERT_EQUAL(OPS->append(st, "odd", "", 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(OPS->append(st, "odd", "plain text", 10, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(OPS->append(st, "odd", "{\n\"pretty\": 1\n}", 15, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(OPS->append(st, "odd", "{\"persist:b64\":\"aGk=\"}", 22, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(OPS->append(st, "odd", "[1,2]", 5, &err), PERSIST_OK);
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(OPS->read_log(st, "odd", 0, 0, log_cb, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL_FATAL(r.n, 6);
	CU_ASSERT(r.len[0] == sizeof(bin) && memcmp(r.rec[0], bin, sizeof(bin)) == 0);
	CU_ASSERT_EQUAL(r.len[1], 0);
	CU_ASSERT_STRING_EQUAL(r.rec[2], "plain text");
	CU_ASSERT_STRING_EQUAL(r.rec[3], "{\n\"pretty\": 1\n}");
	CU_ASSERT_STRING_EQUAL(r.rec[4], "{\"persist:b64\":\"aGk=\"}");
	CU_ASSERT_STRING_EQUAL(r.rec[5], "[1,2]");
	CU_ASSERT(all_lines_json(t_path("st/logs/odd.jsonl"), &lines));
	CU_ASSERT_EQUAL(lines, 6);

	/* many records: the sparse index serves far offsets */
	for (int i = 0; i < 3000; i++)
		CU_ASSERT_EQUAL_FATAL(OPS->append(st, "many", "{}", 2, &err), PERSIST_OK);
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(OPS->read_log(st, "many", 2998, 0, log_cb, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.n, 2);
	CU_ASSERT_EQUAL(r.first, 2998);
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(OPS->read_log(st, "many", 1, 1, log_cb, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.first, 1);
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(OPS->read_log(st, "many", 2048, 1, log_cb, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.first, 2048);
}

/* A torn last record is skipped (logged), then cut by the next append. */
static void test_torn_log(void)
{
	struct persist_error err;
	struct log_res r;
	int fd, lines;

	CU_ASSERT_EQUAL(OPS->append(st, "torn", "{\"a\":1}", 7, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(OPS->append(st, "torn", "{\"a\":2}", 7, &err), PERSIST_OK);
	fd = open(t_path("st/logs/torn.jsonl"), O_WRONLY | O_APPEND);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "{\"a\":3,\"half", 12), 12);
	close(fd);
	ph_log_clear();
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(OPS->read_log(st, "torn", 0, 0, log_cb, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.n, 2);
	CU_ASSERT(ph_log_contains("torn last record"));
	CU_ASSERT_EQUAL(OPS->append(st, "torn", "{\"a\":4}", 7, &err), PERSIST_OK);
	CU_ASSERT(ph_log_contains("removed a torn record"));
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(OPS->read_log(st, "torn", 0, 0, log_cb, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.n, 3);
	CU_ASSERT_STRING_EQUAL(r.rec[2], "{\"a\":4}");
	CU_ASSERT(all_lines_json(t_path("st/logs/torn.jsonl"), &lines));
	CU_ASSERT_EQUAL(lines, 3);
}

/* The key journal: torn tail and a corrupt middle line. */
static void test_torn_journal(void)
{
	struct persist_error err;
	void *other;
	char *v;
	int fd;

	CU_ASSERT_EQUAL(incr(st, "tj", "c", 5), 5);
	fd = open(t_path("st/kv/tj.jsonl"), O_WRONLY | O_APPEND);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "garbage line\n", 13), 13);
	CU_ASSERT_EQUAL(write(fd, "{\"k\":\"c\",\"n\":6}\n", 16), 16);
	CU_ASSERT_EQUAL(write(fd, "{\"k\":\"c\",\"n\":99", 15), 15);
	close(fd);
	ph_log_clear();
	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_STATE, st_json, &other, &err), PERSIST_OK);
	v = t_state_get(other, "tj", "c");
	CU_ASSERT_STRING_EQUAL(v, "6"); /* torn 99 never counts */
	free(v);
	CU_ASSERT(ph_log_contains("malformed line"));
	CU_ASSERT_EQUAL(incr(other, "tj", "c", 1), 7);
	CU_ASSERT(ph_log_contains("removed a torn line"));
	CU_ASSERT_EQUAL(incr(st, "tj", "c", 1), 8);
	t_close(PERSIST_KIND_STATE, other);
}

/* Compaction keeps values and other stores follow the new file. */
static void test_compaction(void)
{
	struct persist_error err;
	void *other;
	char *v;
	int64_t written;
	int lines = 0;

	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_STATE, st_json, &other, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(sset(other, "cmp", "keep", "kept", 0), PERSIST_OK);
	CU_ASSERT_EQUAL(sset(other, "cmp", "gone", "soon", 1), PERSIST_OK);
	CU_ASSERT_EQUAL(sset(other, "cmp", "deleted", "x", 0), PERSIST_OK);
	CU_ASSERT_EQUAL(OPS->del(other, "cmp", "deleted", &err), PERSIST_OK);
	written = ph_now_ms() - 1;
	for (int i = 1; i <= 60000; i++) {
		if (incr(st, "cmp", "n", 1) != i) {
			CU_FAIL("increment");
			break;
		}
		if (i % 20000 == 0) {
			v = t_state_get(other, "cmp", "n");
			CU_ASSERT(v != NULL && atoi(v) == i);
			free(v);
		}
	}
	CU_ASSERT(all_lines_json(t_path("st/kv/cmp.jsonl"), &lines));
	CU_ASSERT(lines < 60000); /* it was compacted */
	v = t_state_get(other, "cmp", "keep");
	CU_ASSERT_STRING_EQUAL(v, "kept");
	free(v);
	CU_ASSERT_PTR_NULL(t_state_get(other, "cmp", "gone"));
	CU_ASSERT_EQUAL(incr(other, "cmp", "n", 1), 60001);
	/* the times outlive compaction, a deleted key's too: older dated
	   writes stay skipped, in a store that reads the compacted file */
	CU_ASSERT(file_contains(t_path("st/kv/cmp.jsonl"), "{\"k\":\"deleted\",\"w\":"));
	{
		struct persist_op old[] = {
			{ .type = PERSIST_OP_SET, .collection = "cmp", .key = "deleted", .value = "back", .len = 4 },
			{ .type = PERSIST_OP_SET, .collection = "cmp", .key = "keep", .value = "old", .len = 3 },
		};
		int64_t times[] = { written - 1000, written - 1000 };
		void *third;
		int before = -1;

		CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_STATE, st_json, &third, &err), PERSIST_OK);
		CU_ASSERT_EQUAL(OPS->batch_once_dated(third, "fs:cmp.old", old, times, 2,
						      sizeof(old[0]), &before, &err), PERSIST_OK);
		CU_ASSERT_PTR_NULL(t_state_get(third, "cmp", "deleted"));
		v = t_state_get(third, "cmp", "keep");
		CU_ASSERT_STRING_EQUAL(v, "kept");
		free(v);
		t_close(PERSIST_KIND_STATE, third);
	}
	t_close(PERSIST_KIND_STATE, other);
}

/* Batches: mixed ops, all or nothing on a bad increment. */
static void test_batch(void)
{
	struct persist_error err;
	struct persist_op ops[6];
	struct log_res r;
	char *v, *before, *after;

	memset(ops, 0, sizeof(ops));
	ops[0] = (struct persist_op){ PERSIST_OP_SET, "b1", "k", "v1", 2, 0, 0 };
	ops[1] = (struct persist_op){ PERSIST_OP_INCR, "b1", "n", NULL, 0, 5, 0 };
	ops[2] = (struct persist_op){ PERSIST_OP_INCR, "b1", "n", NULL, 0, 6, 0 };
	ops[3] = (struct persist_op){ PERSIST_OP_APPEND, "b1", NULL, "{\"r\":1}", 7, 0, 0 };
	ops[4] = (struct persist_op){ PERSIST_OP_APPEND, "b2", NULL, "{\"r\":2}", 7, 0, 0 };
	ops[5] = (struct persist_op){ PERSIST_OP_DELETE, "b2", "absent", NULL, 0, 0, 0 };
	CU_ASSERT_EQUAL(OPS->batch(st, ops, 6, sizeof(ops[0]), &err), PERSIST_OK);
	v = t_state_get(st, "b1", "n");
	CU_ASSERT_STRING_EQUAL(v, "11");
	free(v);
	v = t_state_get(st, "b1", "k");
	CU_ASSERT_STRING_EQUAL(v, "v1");
	free(v);
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(OPS->read_log(st, "b2", 0, 0, log_cb, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.n, 1);
	CU_ASSERT(all_lines_json(t_path("st/kv/b1.jsonl"), NULL));

	/* a failing increment leaves everything untouched */
	before = t_read_file(t_path("st/kv/b1.jsonl"), NULL);
	ops[0] = (struct persist_op){ PERSIST_OP_INCR, "b1", "n", NULL, 0, 1, 0 };
	ops[1] = (struct persist_op){ PERSIST_OP_INCR, "b1", "k", NULL, 0, 1, 0 };
	CU_ASSERT_EQUAL(OPS->batch(st, ops, 2, sizeof(ops[0]), &err), PERSIST_EINVAL);
	after = t_read_file(t_path("st/kv/b1.jsonl"), NULL);
	CU_ASSERT_STRING_EQUAL(before, after);
	free(before);
	free(after);
	v = t_state_get(st, "b1", "n");
	CU_ASSERT_STRING_EQUAL(v, "11");
	free(v);
	/* invalid arguments */
	ops[0] = (struct persist_op){ PERSIST_OP_SET, "../x", "k", "v", 1, 0, 0 };
	CU_ASSERT_EQUAL(OPS->batch(st, ops, 1, sizeof(ops[0]), &err), PERSIST_EINVAL);
	ops[0] = (struct persist_op){ 99, "b1", "k", "v", 1, 0, 0 };
	CU_ASSERT_EQUAL(OPS->batch(st, ops, 1, sizeof(ops[0]), &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(OPS->batch(st, ops, 1, 8, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(OPS->batch(st, ops, 0, sizeof(ops[0]), &err), PERSIST_OK);
	/* a larger element size (a newer core) is honoured */
	{
		struct { struct persist_op op; char more[24]; } wide[2];
		memset(wide, 0, sizeof(wide));
		wide[0].op = (struct persist_op){ PERSIST_OP_INCR, "b1", "n", NULL, 0, 1, 0 };
		wide[1].op = (struct persist_op){ PERSIST_OP_INCR, "b1", "n", NULL, 0, 1, 0 };
		CU_ASSERT_EQUAL(OPS->batch(st, &wide[0].op, 2, sizeof(wide[0]), &err), PERSIST_OK);
		CU_ASSERT_EQUAL(incr(st, "b1", "n", 0), 13);
	}
	CU_ASSERT_EQUAL(OPS->flush(st, &err), PERSIST_OK);
}

/* Size of a file under the store's root; -1 when it is missing. */
static off_t st_file_size(const char *rel)
{
	struct stat sb;

	return stat(t_path("st/%s", rel), &sb) == 0 ? sb.st_size : -1;
}

/* A batch is all or nothing across its files: an attempt whose log write
   fails (the file size limit, EFBIG) writes nothing, and one whose journal
   write fails after its log part was written cuts that part back (a plain
   error, not PERSIST_EUNCERTAIN); the retry with the same id applies the
   whole batch once, and a third call applies nothing. */
static void test_batch_once_partial(void)
{
	struct persist_error err;
	struct persist_op ops[2], fill;
	struct rlimit old, low;
	struct log_res r;
	size_t big = 64 * 1024, huge = 200 * 1024;
	char *rec = malloc(big), *blob = malloc(huge), *v;
	int before = -1;

	CU_ASSERT_FATAL(rec != NULL && blob != NULL);
	memset(rec, 'x', big);
	rec[0] = '"';
	rec[big - 1] = '"';
	memset(blob, 'y', huge);
	ops[0] = (struct persist_op){ PERSIST_OP_INCR, "once1", "n", NULL, 0, 1, 0 };
	ops[1] = (struct persist_op){ PERSIST_OP_APPEND, "once1", NULL, rec, big, 0, 0 };
	CU_ASSERT_EQUAL(OPS->batch_once(st, "fs:partial.1", ops, 2, sizeof(ops[0]),
					&before, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(before, 0);
	CU_ASSERT_FATAL(getrlimit(RLIMIT_FSIZE, &old) == 0);
	low = old;
	signal(SIGXFSZ, SIG_IGN);

	/* 1: the log (64 KiB) cannot grow past 100 KiB: nothing is written */
	low.rlim_cur = 100 * 1024;
	CU_ASSERT_FATAL(setrlimit(RLIMIT_FSIZE, &low) == 0);
	CU_ASSERT_EQUAL(OPS->batch_once(st, "fs:partial.2", ops, 2, sizeof(ops[0]),
					&before, &err), PERSIST_EIO);
	CU_ASSERT_FATAL(setrlimit(RLIMIT_FSIZE, &old) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "once1"));
	v = t_state_get(st, "once1", "n");
	CU_ASSERT_STRING_EQUAL(v, "1");
	free(v);

	/* 2: the journal holds 200 KiB and cannot grow past 150 KiB, the log
	   can: its part is written, then cut back when the journal fails */
	fill = (struct persist_op){ PERSIST_OP_SET, "once1", "fill", blob, huge, 0, 0 };
	CU_ASSERT_EQUAL(OPS->batch(st, &fill, 1, sizeof(fill), &err), PERSIST_OK);
	low.rlim_cur = 150 * 1024;
	CU_ASSERT_FATAL(setrlimit(RLIMIT_FSIZE, &low) == 0);
	CU_ASSERT_EQUAL(OPS->batch_once(st, "fs:partial.2", ops, 2, sizeof(ops[0]),
					&before, &err), PERSIST_EIO);
	CU_ASSERT_FATAL(setrlimit(RLIMIT_FSIZE, &old) == 0);
	v = t_state_get(st, "once1", "n");
	CU_ASSERT_STRING_EQUAL(v, "1");
	free(v);
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(OPS->read_log(st, "once1", 0, 0, log_cb, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.n, 1);        /* the log's part was cut back */
	CU_ASSERT_EQUAL(st_file_size("kv/once1.jsonl") > 0 &&
			st_file_size("logs/once1.jsonl") == (off_t)big + 1, 1);
	CU_ASSERT_EQUAL(st_file_size(".locks/log.once1"), 0);   /* marker removed */

	/* the retry applies the whole batch once */
	before = -1;
	CU_ASSERT_EQUAL(OPS->batch_once(st, "fs:partial.2", ops, 2, sizeof(ops[0]),
					&before, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(before, 0);
	v = t_state_get(st, "once1", "n");
	CU_ASSERT_STRING_EQUAL(v, "2");
	free(v);
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(OPS->read_log(st, "once1", 0, 0, log_cb, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.n, 2);
	before = -1;
	CU_ASSERT_EQUAL(OPS->batch_once(st, "fs:partial.2", ops, 2, sizeof(ops[0]),
					&before, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(before, 1);
	v = t_state_get(st, "once1", "n");
	CU_ASSERT_STRING_EQUAL(v, "2");
	free(v);
	free(blob);
	/* a bad id is refused */
	CU_ASSERT_EQUAL(OPS->batch_once(st, "a b", ops, 1, sizeof(ops[0]), &before, &err),
			PERSIST_EINVAL);
	free(rec);
}

/* Value and expiry of c/k through get (value NULL when absent). */
static char *get_exp(void *s, const char *c, const char *k, int64_t *exp_r)
{
	struct persist_error err;
	struct persist_value v;

	memset(&v, 0, sizeof(v));
	*exp_r = -1;
	if (OPS->get(s, c, k, &v, &err) != PERSIST_OK)
		return NULL;
	*exp_r = v.expires_ms;
	return v.data;
}

/* A TTL of INT64_MAX or INT64_MAX - 1 (a natural "never") keeps the new
   value and replaces the old one: the expiry saturates instead of wrapping
   into the past, through set, batch and increments, and after a replay. */
static void test_huge_ttl(void)
{
	static const int64_t ttls[] = { INT64_MAX, INT64_MAX - 1,
					INT64_MAX - 1000 };
	struct persist_error err;
	struct persist_op op;
	int64_t exp;
	void *again;
	char *v;

	for (size_t i = 0; i < sizeof(ttls) / sizeof(ttls[0]); i++) {
		CU_ASSERT_EQUAL(sset(st, "huge", "k", "old", 0), PERSIST_OK);
		CU_ASSERT_EQUAL(sset(st, "huge", "k", "new", ttls[i]), PERSIST_OK);
		v = get_exp(st, "huge", "k", &exp);
		CU_ASSERT(v != NULL && strcmp(v, "new") == 0);
		CU_ASSERT_EQUAL(exp, INT64_MAX);
		free(v);
	}
	/* a batch set, and an increment keeping the TTL */
	op = (struct persist_op){ PERSIST_OP_SET, "huge", "b", "7", 1, 0, INT64_MAX };
	CU_ASSERT_EQUAL(OPS->batch(st, &op, 1, sizeof(op), &err), PERSIST_OK);
	CU_ASSERT_EQUAL(incr(st, "huge", "b", 1), 8);
	v = get_exp(st, "huge", "b", &exp);
	CU_ASSERT(v != NULL && strcmp(v, "8") == 0);
	CU_ASSERT_EQUAL(exp, INT64_MAX);
	free(v);
	/* the journal says so too: another store replays it */
	CU_ASSERT(all_lines_json(t_path("st/kv/huge.jsonl"), NULL));
	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_STATE, st_json, &again, &err), PERSIST_OK);
	v = get_exp(again, "huge", "k", &exp);
	CU_ASSERT(v != NULL && strcmp(v, "new") == 0);
	CU_ASSERT_EQUAL(exp, INT64_MAX);
	free(v);
	v = get_exp(again, "huge", "b", &exp);
	CU_ASSERT(v != NULL && strcmp(v, "8") == 0);
	free(v);
	t_close(PERSIST_KIND_STATE, again);
}

/* Expiries on disk that this provider does not write: one past INT64_MAX
   reads as INT64_MAX, a negative one (what a wrapped sum left) as none,
   one that is not an integer makes the line malformed. */
static void test_odd_expiry_on_disk(void)
{
	static const char journal[] =
		"{\"k\":\"big\",\"v\":\"b\",\"exp\":99999999999999999999}\n"
		"{\"k\":\"neg\",\"v\":\"n\",\"exp\":-9223372036854775807}\n"
		"{\"k\":\"dbl\",\"v\":\"d\",\"exp\":9e18}\n"
		"{\"k\":\"max\",\"n\":5,\"exp\":9223372036854775807}\n";
	struct persist_error err;
	int64_t exp;
	void *other;
	char *v;

	CU_ASSERT_EQUAL_FATAL(t_write_file(t_path("st/kv/oddexp.jsonl"), journal,
					   sizeof(journal) - 1), 0);
	ph_log_clear();
	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_STATE, st_json, &other, &err), PERSIST_OK);
	v = get_exp(other, "oddexp", "big", &exp);
	CU_ASSERT(v != NULL && strcmp(v, "b") == 0);
	CU_ASSERT_EQUAL(exp, INT64_MAX);
	free(v);
	v = get_exp(other, "oddexp", "neg", &exp);
	CU_ASSERT(v != NULL && strcmp(v, "n") == 0);
	CU_ASSERT_EQUAL(exp, 0);
	free(v);
	CU_ASSERT_PTR_NULL(get_exp(other, "oddexp", "dbl", &exp));
	CU_ASSERT(ph_log_contains("malformed line"));
	CU_ASSERT_EQUAL(incr(other, "oddexp", "max", 1), 6);
	v = get_exp(other, "oddexp", "max", &exp);
	CU_ASSERT_EQUAL(exp, INT64_MAX);
	free(v);
	t_close(PERSIST_KIND_STATE, other);
}

/* A batch line of the journal is applied whole or not at all: one
   malformed op skips the line (with a warning), the ops before it
   included; the valid lines around it count. */
static void test_corrupt_batch_line(void)
{
	static const char journal[] =
		"{\"k\":\"a\",\"v\":\"old\"}\n"
		/* second op has no value */
		"{\"b\":[{\"k\":\"a\",\"v\":\"new\"},{\"k\":\"x\"}]}\n"
		/* second op is not an object */
		"{\"b\":[{\"k\":\"a\",\"del\":true},7]}\n"
		/* last op's counter is not a number, its expiry a string */
		"{\"b\":[{\"k\":\"c\",\"n\":1},{\"k\":\"d\",\"n\":\"2\"}]}\n"
		"{\"b\":[{\"k\":\"c\",\"n\":1},{\"k\":\"e\",\"v\":\"y\",\"exp\":\"soon\"}]}\n"
		/* a key that is not a string, a "del" that is not true */
		"{\"b\":[{\"k\":\"c\",\"n\":1},{\"k\":3,\"v\":\"z\"}]}\n"
		"{\"b\":[{\"k\":\"c\",\"n\":1},{\"k\":\"a\",\"del\":false}]}\n"
		/* an empty batch, a batch that is not an array */
		"{\"b\":[]}\n"
		"{\"b\":{\"k\":\"a\",\"v\":\"obj\"}}\n"
		/* a whole batch */
		"{\"b\":[{\"k\":\"f\",\"v\":\"1\"},{\"k\":\"g\",\"n\":2}]}\n";
	struct persist_error err;
	void *other;
	char *v;
	unsigned warnings;

	CU_ASSERT_EQUAL_FATAL(t_write_file(t_path("st/kv/badbatch.jsonl"), journal,
					   sizeof(journal) - 1), 0);
	ph_log_clear();
	warnings = ph_warnings;
	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_STATE, st_json, &other, &err), PERSIST_OK);
	v = t_state_get(other, "badbatch", "a");
	CU_ASSERT(v != NULL && strcmp(v, "old") == 0);
	free(v);
	CU_ASSERT_PTR_NULL(t_state_get(other, "badbatch", "c"));
	CU_ASSERT_PTR_NULL(t_state_get(other, "badbatch", "x"));
	CU_ASSERT_PTR_NULL(t_state_get(other, "badbatch", "d"));
	CU_ASSERT_PTR_NULL(t_state_get(other, "badbatch", "e"));
	v = t_state_get(other, "badbatch", "f");
	CU_ASSERT(v != NULL && strcmp(v, "1") == 0);
	free(v);
	v = t_state_get(other, "badbatch", "g");
	CU_ASSERT(v != NULL && strcmp(v, "2") == 0);
	free(v);
	CU_ASSERT(ph_log_contains("skipped a malformed line"));
	CU_ASSERT_EQUAL(ph_warnings - warnings, 8);
	/* the store goes on from there: a write and its replay elsewhere */
	CU_ASSERT_EQUAL(incr(other, "badbatch", "g", 1), 3);
	CU_ASSERT_EQUAL(incr(st, "badbatch", "g", 1), 4);
	t_close(PERSIST_KIND_STATE, other);
}

/* Bad collection names and keys. */
static void test_bad_args(void)
{
	struct persist_error err;
	struct persist_value v;
	static const char *bad_coll[] = { "", ".hidden", "a/b", "../x", "a b", "ü" };
	char longc[200];

	for (size_t i = 0; i < sizeof(bad_coll) / sizeof(bad_coll[0]); i++) {
		CU_ASSERT_EQUAL(OPS->set(st, bad_coll[i], "k", "v", 1, 0, &err), PERSIST_EINVAL);
		CU_ASSERT_EQUAL(OPS->append(st, bad_coll[i], "{}", 2, &err), PERSIST_EINVAL);
		CU_ASSERT_EQUAL(OPS->get(st, bad_coll[i], "k", &v, &err), PERSIST_EINVAL);
	}
	memset(longc, 'c', sizeof(longc) - 1);
	longc[sizeof(longc) - 1] = '\0';
	CU_ASSERT_EQUAL(OPS->incr(st, longc, "k", 1, NULL, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(OPS->set(st, "ok", "", "v", 1, 0, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(OPS->set(st, "ok", "bad\x01", "v", 1, 0, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(OPS->set(st, "ok", "bad\xff", "v", 1, 0, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(OPS->set(st, "ok", "k", NULL, 5, 0, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(OPS->append(st, "ok", NULL, 5, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(OPS->scan(st, "ok", "", NULL, NULL, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(OPS->read_log(st, "ok", 0, 0, NULL, NULL, &err), PERSIST_EINVAL);
	{
		char json[4400];
		void *s;
		snprintf(json, sizeof(json), "{\"root\":\"%s\",\"cacheTTL\":5}", t_path("st2"));
		CU_ASSERT_EQUAL(t_open(PERSIST_KIND_STATE, json, &s, &err), PERSIST_ECONFIG);
		CU_ASSERT(strstr(err.msg, "cacheTTL") != NULL);
	}
}

enum { THREADS = 8, PER_THREAD = 10000 };
struct thr { void *store; const char *key; int failures; };

/* Increment one key PER_THREAD times. */
static void *thr_incr(void *arg)
{
	struct thr *t = arg;
	for (int i = 0; i < PER_THREAD; i++)
		if (incr(t->store, "threads", t->key, 1) == INT64_MIN)
			t->failures++;
	return NULL;
}

/* 8 threads x 10,000 through one store, then through two stores. */
static void test_threads(void)
{
	struct persist_error err;
	pthread_t th[THREADS];
	struct thr t[THREADS];
	void *second;
	char *v;

	for (int i = 0; i < THREADS; i++) {
		t[i] = (struct thr){ st, "one", 0 };
		pthread_create(&th[i], NULL, thr_incr, &t[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(t[i].failures, 0);
	}
	v = t_state_get(st, "threads", "one");
	CU_ASSERT_STRING_EQUAL(v, "80000");
	free(v);

	CU_ASSERT_EQUAL_FATAL(t_open(PERSIST_KIND_STATE, st_json, &second, &err), PERSIST_OK);
	for (int i = 0; i < THREADS; i++) {
		t[i] = (struct thr){ i % 2 ? st : second, "two", 0 };
		pthread_create(&th[i], NULL, thr_incr, &t[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(t[i].failures, 0);
	}
	v = t_state_get(second, "threads", "two");
	CU_ASSERT_STRING_EQUAL(v, "80000");
	free(v);
	t_close(PERSIST_KIND_STATE, second);
}

/* The names collections() emits, sorted and joined by ',' (or the
   failure's code when the call fails). */
struct names_res {
	char *names[32];
	size_t n;
	size_t stop_after; /* 0: never stop */
};

static int names_cb(void *ctx, const struct persist_item *item)
{
	struct names_res *r = ctx;

	if (r->n < 32)
		r->names[r->n++] = strdup(item->key);
	return r->stop_after != 0 && r->n >= r->stop_after;
}

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *names_of(void *s, struct persist_error *err)
{
	struct names_res r = { .n = 0 };
	static char out[1024];
	int ret = OPS->collections(s, names_cb, &r, err);

	out[0] = '\0';
	if (ret != PERSIST_OK)
		snprintf(out, sizeof(out), "error %d", ret);
	qsort(r.names, r.n, sizeof(r.names[0]), names_cmp);
	for (size_t i = 0; i < r.n; i++) {
		if (ret == PERSIST_OK)
			snprintf(out + strlen(out), sizeof(out) - strlen(out),
				 "%s%s", i ? "," : "", r.names[i]);
		free(r.names[i]);
	}
	return out;
}

/* collections(): every collection with keys or log records, once, seen
   by a second store on the same root; dropped and emptied ones, the
   batch-id journal, temporaries and stray files are not listed; emit can
   stop the listing; an unreadable directory is an error naming it. */
static void test_collections(void)
{
	struct persist_error err;
	struct persist_op ops[2];
	struct names_res r = { .stop_after = 1 };
	void *a, *b;
	char json[4200];
	int before;

	snprintf(json, sizeof(json), "{\"root\":\"%s\"}", t_path("enum"));
	CU_ASSERT_FATAL(t_open(PERSIST_KIND_STATE, json, &a, &err) == PERSIST_OK);
	CU_ASSERT_FATAL(t_open(PERSIST_KIND_STATE, json, &b, &err) == PERSIST_OK);
	/* a store never written: nothing, no error */
	CU_ASSERT_STRING_EQUAL(names_of(a, &err), "");
	CU_ASSERT_EQUAL(sset(a, "kv", "k", "v", 0), PERSIST_OK);
	CU_ASSERT_EQUAL(incr(a, "count:er", "n", 2), 2);
	CU_ASSERT_EQUAL(OPS->append(a, "log.only", "{}", 2, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(OPS->append(a, "kv", "{}", 2, &err), PERSIST_OK);
	memset(ops, 0, sizeof(ops));
	ops[0] = (struct persist_op){ PERSIST_OP_SET, "once", "k", "v", 1, 0, 0 };
	CU_ASSERT_EQUAL(OPS->batch_once(a, "enum-1", ops, 1, sizeof(ops[0]),
					&before, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(sset(a, "gone", "k", "v", 0), PERSIST_OK);
	CU_ASSERT_EQUAL(OPS->append(a, "gone", "{}", 2, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(OPS->drop(a, "gone", &err), PERSIST_OK);
	/* the provider's own files and strays are not collections */
	CU_ASSERT_EQUAL(t_write_file(t_path("enum/kv/.kv.jsonl.compact"), "{}\n", 3), 0);
	CU_ASSERT_EQUAL(t_write_file(t_path("enum/logs/.kv.jsonl.trim"), "{}\n", 3), 0);
	CU_ASSERT_EQUAL(t_write_file(t_path("enum/kv/notes.txt"), "x\n", 2), 0);
	CU_ASSERT_EQUAL(t_write_file(t_path("enum/kv/bad name.jsonl"), "{}\n", 3), 0);
	CU_ASSERT_EQUAL(t_write_file(t_path("enum/kv/empty.jsonl"), "", 0), 0);
	CU_ASSERT_STRING_EQUAL(names_of(a, &err), "count:er,kv,log.only,once");
	CU_ASSERT_STRING_EQUAL(names_of(b, &err), "count:er,kv,log.only,once");
	/* the other store drops one: gone for both */
	CU_ASSERT_EQUAL(OPS->drop(b, "log.only", &err), PERSIST_OK);
	CU_ASSERT_STRING_EQUAL(names_of(a, &err), "count:er,kv,once");
	/* emit stops the listing */
	CU_ASSERT_EQUAL(OPS->collections(a, names_cb, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.n, 1);
	free(r.names[0]);
	CU_ASSERT_EQUAL(OPS->collections(a, NULL, NULL, &err), PERSIST_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "without a callback"));
	/* a directory that cannot be read (root reads everything) */
	if (geteuid() != 0) {
		CU_ASSERT_EQUAL(chmod(t_path("enum/kv"), 0), 0);
		CU_ASSERT_STRING_EQUAL(names_of(a, &err), "error 8");
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cannot list the collections in"));
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "enum/kv"));
		CU_ASSERT_EQUAL(chmod(t_path("enum/kv"), 0755), 0);
	}
	t_close(PERSIST_KIND_STATE, b);
	t_close(PERSIST_KIND_STATE, a);
}

/* The tests, in the order they run. */
static const struct t_case cases[] = {
	{ "values and counters", test_values },
	{ "binary, empty, huge values", test_binary },
	{ "TTL and scan", test_ttl_scan },
	{ "logs", test_logs },
	{ "torn log record", test_torn_log },
	{ "torn and corrupt journal lines", test_torn_journal },
	{ "compaction", test_compaction },
	{ "batch", test_batch },
	{ "exactly-once batch retried after a partial write", test_batch_once_partial },
	{ "TTL of INT64_MAX: kept, never expires", test_huge_ttl },
	{ "odd expiries in the journal", test_odd_expiry_on_disk },
	{ "a corrupt batch line is skipped whole", test_corrupt_batch_line },
	{ "bad arguments", test_bad_args },
	{ "collections", test_collections },
	{ "threads through one and two stores", test_threads },
	{ NULL, NULL },
};

int main(void)
{
	return t_cunit_run("filesystem state", suite_init, suite_clean, cases);
}
