/*
 * t/conformance/state-tests.c - conformance of a state provider: values,
 * counters and scans, bad names and arguments, binary/empty/big values, and
 * per capability: TTL expiry, increments from many threads and two handles
 * summing exactly, append logs (order, offsets, concurrent appends), native
 * batches (all applied, or none), and concurrent use of one handle.
 *
 * Collections are named after the run, so runs against persistent backends
 * never share one; the cleanup suite drops them afterwards (or deletes their
 * keys, when the provider cannot drop).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "conformance.h"

/* Assert that coll/key holds exactly value. */
static void ct_expect_value(persist *p, const char *coll, const char *key,
			    const void *value, size_t len, int line)
{
	struct persist_error err;
	char *data = NULL;
	size_t got = 0;
	int ret = persist_state_get(p, coll, key, &data, &got, &err);

	if (!ct_check(ret == PERSIST_OK, __FILE__, line,
		      "get of key \"%s\": expected OK, got %s: %s", key,
		      persist_strerror(ret), ret != PERSIST_OK ? err.msg : ""))
		return;
	if (len < 64 && memchr(value, '\0', len) == NULL && got < 64 && data != NULL &&
	    memchr(data, '\0', got) == NULL)
		ct_check(got == len && memcmp(data, value, len) == 0, __FILE__, line,
			 "value of key \"%s\": expected \"%.*s\", got \"%.*s\"", key,
			 (int)len, (const char *)value, (int)got, data);
	else
		ct_expect_bytes(data, got, value, len, "value read back", __FILE__, line);
	ct_check(data != NULL && data[got] == '\0', __FILE__, line,
		 "value of key \"%s\": expected a NUL after the last byte", key);
	persist_free(data);
}
#define EXPECT_VALUE(p, c, k, v) ct_expect_value(p, c, k, v, strlen(v), __LINE__)

/* Assert that coll/key is absent. */
static void ct_expect_no_value(persist *p, const char *coll, const char *key, int line)
{
	struct persist_error err;
	char *data = NULL;
	size_t len = 0;
	int ret = persist_state_get(p, coll, key, &data, &len, &err);

	ct_check(ret == PERSIST_ENOTFOUND, __FILE__, line,
		 "get of key \"%s\": expected NOTFOUND (absent), got %s%s%.*s%s", key,
		 persist_strerror(ret), ret == PERSIST_OK ? " with value \"" : ": ",
		 ret == PERSIST_OK ? (int)(len < 64 ? len : 64) : (int)strlen(err.msg),
		 ret == PERSIST_OK ? (data != NULL ? data : "") : err.msg,
		 ret == PERSIST_OK ? "\"" : "");
	ct_check(ret == PERSIST_OK || data == NULL, __FILE__, line,
		 "get of an absent key: expected the output left untouched");
	persist_free(data);
}
#define EXPECT_NO_VALUE(p, c, k) ct_expect_no_value(p, c, k, __LINE__)

/* The wall clock in ms, as host->now_ms() gives it to providers. */
static int64_t ct_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Set a string value. */
static int ct_sset(persist *p, const char *coll, const char *key, const char *value,
		   int64_t ttl_ms, struct persist_error *err)
{
	return persist_state_set(p, coll, key, value, strlen(value), ttl_ms, err);
}

/* Delete a key (cleanup: absent is fine). */
static void ct_sdel(persist *p, const char *coll, const char *key)
{
	struct persist_error err;
	int ret = persist_state_delete(p, coll, key, &err);

	if (ret != PERSIST_ENOTFOUND)
		CT_OK(ret, &err);
}

/* get, set, overwrite, delete. */
static void test_basic(void)
{
	char *c = ct_name_dup("st-basic");
	struct persist_error err;

	EXPECT_NO_VALUE(ct.a, c, "k");
	EXPECT_NO_VALUE(ct.a, ct_name("st-never"), "k");
	CT_OK(ct_sset(ct.a, c, "k", "v1", 0, &err), &err);
	EXPECT_VALUE(ct.a, c, "k", "v1");
	CT_OK(ct_sset(ct.a, c, "k", "value two", 0, &err), &err);
	EXPECT_VALUE(ct.a, c, "k", "value two");
	EXPECT_VALUE(ct.b, c, "k", "value two");
	EXPECT_NO_VALUE(ct.a, c, "K");
	CT_OK(persist_state_delete(ct.a, c, "k", &err), &err);
	EXPECT_NO_VALUE(ct.a, c, "k");
	CT_EXPECT(persist_state_delete(ct.a, c, "k", &err), PERSIST_ENOTFOUND, &err);
	CT_EXPECT(persist_state_delete(ct.a, ct_name("st-never"), "k", &err),
		  PERSIST_ENOTFOUND, &err);
	free(c);
}

/* scan with a prefix: exactly the matching keys, sorted, with values. */
static void test_scan(void)
{
	static const char *const keys[] = { "b1", "ab", "a2", "a1", "a" };
	static const char *const values[] = { "y", "x", "2", "1", "0" };
	char *c = ct_name_dup("st-scan");
	struct persist_entry *e = NULL;
	struct persist_error err;
	size_t n = 99;

	for (size_t i = 0; i < 5; i++)
		CT_OK(ct_sset(ct.a, c, keys[i], values[i], 0, &err), &err);
	n = 0;	/* untouched when the scan fails */
	CT_OK(persist_state_scan(ct.a, c, "a", &e, &n, &err), &err);
	CT_EQ(n, 4);
	if (n == 4) {
		CT_STREQ(e[0].key, "a");
		CT_STREQ(e[1].key, "a1");
		CT_STREQ(e[2].key, "a2");
		CT_STREQ(e[3].key, "ab");
		CT_EXPECT_BYTES(e[1].value, e[1].len, "1", 1);
		CT_EXPECT_BYTES(e[3].value, e[3].len, "x", 1);
	}
	persist_items_free(e, n);
	e = NULL;
	n = 0;
	CT_OK(persist_state_scan(ct.a, c, "", &e, &n, &err), &err);
	CT_EQ(n, 5);
	for (size_t i = 1; i < n; i++)
		CT_TRUE(strcmp(e[i - 1].key, e[i].key) < 0);
	persist_items_free(e, n);
	e = NULL;
	n = 0;
	CT_OK(persist_state_scan(ct.a, c, NULL, &e, &n, &err), &err);
	CT_EQ(n, 5);
	persist_items_free(e, n);
	e = NULL;
	n = 0;
	CT_OK(persist_state_scan(ct.a, c, "a2", &e, &n, &err), &err);
	CT_EQ(n, 1);
	if (n == 1)
		CT_STREQ(e[0].key, "a2");
	persist_items_free(e, n);
	e = NULL;
	n = 0;
	CT_OK(persist_state_scan(ct.a, c, "zz", &e, &n, &err), &err);
	CT_EQ(n, 0);
	persist_items_free(e, n);
	e = NULL;
	n = 99;
	n = 0;
	CT_OK(persist_state_scan(ct.a, ct_name("st-never"), "", &e, &n, &err), &err);
	CT_EQ(n, 0);
	persist_items_free(e, n);
	for (size_t i = 0; i < 5; i++)
		ct_sdel(ct.a, c, keys[i]);
	e = NULL;
	n = 0;
	CT_OK(persist_state_scan(ct.a, c, "", &e, &n, &err), &err);
	CT_EQ(n, 0);
	persist_items_free(e, n);
	free(c);
}

/* Binary (every byte value), empty and 2 MiB values round-trip. */
static void test_values(void)
{
	char *c = ct_name_dup("st-values");
	unsigned char bin[256];
	size_t big_len = 2u << 20;
	char *big = malloc(big_len);
	struct persist_entry *e = NULL;
	struct persist_error err;
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	for (int i = 0; i < 256; i++)
		bin[i] = (unsigned char)(255 - i);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)(i * 31 % 251);
	CT_OK(persist_state_set(ct.a, c, "bin", bin, sizeof(bin), 0, &err), &err);
	ct_expect_value(ct.a, c, "bin", bin, sizeof(bin), __LINE__);
	n = 0;
	CT_OK(persist_state_scan(ct.a, c, "bin", &e, &n, &err), &err);
	CT_EQ(n, 1);
	if (n == 1)
		CT_EXPECT_BYTES(e[0].value, e[0].len, bin, sizeof(bin));
	persist_items_free(e, n);

	CT_OK(persist_state_set(ct.a, c, "empty", "", 0, 0, &err), &err);
	ct_expect_value(ct.a, c, "empty", "", 0, __LINE__);

	CT_OK(persist_state_set(ct.a, c, "big", big, big_len, 0, &err), &err);
	ct_expect_value(ct.a, c, "big", big, big_len, __LINE__);
	ct_expect_value(ct.b, c, "big", big, big_len, __LINE__);

	ct_sdel(ct.a, c, "bin");
	ct_sdel(ct.a, c, "empty");
	ct_sdel(ct.a, c, "big");
	free(big);
	free(c);
}

/* incr: creates at 0, new values, negative deltas, decimal text, refusals. */
static void test_incr(void)
{
	static const char *const not_int[] = {
		"abc", "1.5", "", "12abc", "0x10", "1e3", "--1",
	};
	char *c = ct_name_dup("st-incr");
	struct persist_error err;
	int64_t v = 0;
	char text[32];

	CT_OK(persist_state_incr(ct.a, c, "n", 5, &v, &err), &err);
	CT_EQ(v, 5);
	CT_OK(persist_state_incr(ct.a, c, "n", -7, &v, &err), &err);
	CT_EQ(v, -2);
	CT_OK(persist_state_incr(ct.a, c, "n", 0, &v, &err), &err);
	CT_EQ(v, -2);
	EXPECT_VALUE(ct.a, c, "n", "-2");
	CT_OK(persist_state_incr(ct.a, c, "n", 1, NULL, &err), &err);
	EXPECT_VALUE(ct.a, c, "n", "-1");
	{
		struct persist_entry *e = NULL;
		size_t n = 0;

		n = 0;
		CT_OK(persist_state_scan(ct.a, c, "n", &e, &n, &err), &err);
		CT_EQ(n, 1);
		if (n == 1)
			CT_EXPECT_BYTES(e[0].value, e[0].len, "-1", 2);
		persist_items_free(e, n);
	}
	/* set replaces a counter; a decimal value can be incremented */
	CT_OK(ct_sset(ct.a, c, "n", "10", 0, &err), &err);
	CT_OK(persist_state_incr(ct.a, c, "n", 1, &v, &err), &err);
	CT_EQ(v, 11);
	CT_OK(ct_sset(ct.a, c, "n", "-40", 0, &err), &err);
	CT_OK(persist_state_incr(ct.a, c, "n", 2, &v, &err), &err);
	CT_EQ(v, -38);
	CT_OK(ct_sset(ct.a, c, "n", "hello", 0, &err), &err);
	EXPECT_VALUE(ct.a, c, "n", "hello");
	/* not an integer: refused, naming the key, value unchanged */
	for (size_t i = 0; i < sizeof(not_int) / sizeof(not_int[0]); i++) {
		v = 12345;
		CT_OK(ct_sset(ct.a, c, "bad", not_int[i], 0, &err), &err);
		CT_EXPECT(persist_state_incr(ct.a, c, "bad", 1, &v, &err), PERSIST_EINVAL, &err);
		CT_EQ(v, 12345);
		CT_TRUE((strstr(err.msg, "bad")) != NULL);
		EXPECT_VALUE(ct.a, c, "bad", not_int[i]);
	}
	/* int64 overflow both ways */
	snprintf(text, sizeof(text), "%" PRId64, INT64_MAX);
	CT_OK(ct_sset(ct.a, c, "max", text, 0, &err), &err);
	CT_EXPECT(persist_state_incr(ct.a, c, "max", 1, &v, &err), PERSIST_EINVAL, &err);
	EXPECT_VALUE(ct.a, c, "max", text);
	CT_OK(persist_state_incr(ct.a, c, "max", -1, &v, &err), &err);
	CT_EQ(v, INT64_MAX - 1);
	snprintf(text, sizeof(text), "%" PRId64, INT64_MIN);
	CT_OK(ct_sset(ct.a, c, "min", text, 0, &err), &err);
	CT_EXPECT(persist_state_incr(ct.a, c, "min", -1, &v, &err), PERSIST_EINVAL, &err);
	EXPECT_VALUE(ct.a, c, "min", text);
	CT_OK(persist_state_incr(ct.a, c, "big", INT64_MAX, &v, &err), &err);
	CT_EQ(v, INT64_MAX);
	CT_EXPECT(persist_state_incr(ct.a, c, "big", INT64_MAX, &v, &err), PERSIST_EINVAL, &err);

	ct_sdel(ct.a, c, "n");
	ct_sdel(ct.a, c, "bad");
	ct_sdel(ct.a, c, "max");
	ct_sdel(ct.a, c, "min");
	ct_sdel(ct.a, c, "big");
	free(c);
}

/* The text of a counter (plugin.h): -?(0|[1-9][0-9]*) within int64 on
   every provider; anything else is refused naming the key and left as it
   is, and so is a sum outside int64.  Counters read back as canonical
   text. */
static void test_incr_text(void)
{
	static const char *const refused[] = {
		"012", "007", "-0", "+1", " 1", "1 ", "1\n", "9223372036854775808",
		"00", "-012", "-007", "-9223372036854775809",
	};
	static const struct { const char *text; int64_t delta, want; } taken[] = {
		{ "0", 1, 1 },
		{ "-9223372036854775808", 1, INT64_MIN + 1 },
		{ "9223372036854775807", -1, INT64_MAX - 1 },
		{ "-7", 7, 0 },
		{ "10", 0, 10 },
	};
	char *c = ct_name_dup("st-incr-text");
	struct persist_error err;
	int64_t v;
	int ret;

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		CT_OK(ct_sset(ct.a, c, "text", refused[i], 0, &err), &err);
		v = 12345;
		memset(&err, 0, sizeof(err));
		ret = persist_state_incr(ct.a, c, "text", 1, &v, &err);
		CT_CHECK(ret == PERSIST_EINVAL && v == 12345,
			 "incr of a key holding \"%s\": expected EINVAL (not canonical decimal "
			 "int64 text) and no value, got %s (value %" PRId64 ")",
			 refused[i], persist_strerror(ret), v);
		CT_CHECK(strstr(err.msg, "text") != NULL,
			 "the error of incr of \"%s\" names the key \"text\": got \"%s\"",
			 refused[i], err.msg);
		EXPECT_VALUE(ct.a, c, "text", refused[i]);
	}
	for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
		CT_OK(ct_sset(ct.a, c, "text", taken[i].text, 0, &err), &err);
		v = 12345;
		CT_OK(persist_state_incr(ct.a, c, "text", taken[i].delta, &v, &err), &err);
		CT_EQ(v, taken[i].want);
	}
	CT_OK(persist_state_incr(ct.a, c, "text", -10, &v, &err), &err);
	EXPECT_VALUE(ct.a, c, "text", "0");
	/* overflow at INT64_MAX, from a counter and from a value */
	CT_OK(persist_state_incr(ct.a, c, "top", INT64_MAX, &v, &err), &err);
	CT_EQ(v, INT64_MAX);
	v = 12345;
	CT_EXPECT(persist_state_incr(ct.a, c, "top", 1, &v, &err), PERSIST_EINVAL, &err);
	CT_EQ(v, 12345);
	CT_CHECK(strstr(err.msg, "top") != NULL,
		 "the error of an overflowing incr names the key \"top\": got \"%s\"", err.msg);
	EXPECT_VALUE(ct.a, c, "top", "9223372036854775807");
	CT_OK(ct_sset(ct.a, c, "text", "9223372036854775807", 0, &err), &err);
	CT_EXPECT(persist_state_incr(ct.a, c, "text", 1, &v, &err), PERSIST_EINVAL, &err);
	EXPECT_VALUE(ct.a, c, "text", "9223372036854775807");

	ct_sdel(ct.a, c, "text");
	ct_sdel(ct.a, c, "top");
	free(c);
}

/* Bad collection names, bad keys and NULL arguments: PERSIST_EINVAL. */
static void test_bad_input(void)
{
	char long_coll[201], max_coll[PERSIST_COLLECTION_MAX + 1], long_key[PERSIST_KEY_MAX + 2];
	const char *bad_colls[] = {
		"", "../x", "a/b", ".hidden", long_coll, "a b", "c\xc3\xbc", "a\nb", "..",
	};
	const char *bad_keys[] = { "", long_key, "\xff", "a\nb", "bad-\xc0\xaf" };
	char *c = ct_name_dup("st-badinput");
	struct persist_entry *e = NULL;
	struct persist_error err;
	struct persist_kv kv = { .key = "k", .value = "v", .len = 1 };
	struct persist_op op = { .type = PERSIST_OP_SET, .key = "k", .value = "v", .len = 1 };
	size_t n = 0;
	uint64_t next = 0;
	int64_t v = 0;
	char *data = NULL;

	memset(long_coll, 'c', 200);
	long_coll[200] = '\0';
	memset(long_key, 'k', PERSIST_KEY_MAX + 1);
	long_key[PERSIST_KEY_MAX + 1] = '\0';
	for (size_t i = 0; i < sizeof(bad_colls) / sizeof(bad_colls[0]); i++) {
		const char *bc = bad_colls[i];

		CT_EXPECT(ct_sset(ct.a, bc, "k", "v", 0, &err), PERSIST_EINVAL, &err);
		CT_EXPECT(persist_state_get(ct.a, bc, "k", &data, NULL, &err), PERSIST_EINVAL, &err);
		CT_EXPECT(persist_state_delete(ct.a, bc, "k", &err), PERSIST_EINVAL, &err);
		CT_EXPECT(persist_state_scan(ct.a, bc, "", &e, &n, &err), PERSIST_EINVAL, &err);
		CT_EXPECT(persist_state_incr(ct.a, bc, "k", 1, &v, &err), PERSIST_EINVAL, &err);
		CT_EXPECT(persist_state_append(ct.a, bc, "{}", 2, &err), PERSIST_EINVAL, &err);
		CT_EXPECT(persist_state_read_log(ct.a, bc, 0, 0, &e, &n, &next, &err),
			  PERSIST_EINVAL, &err);
		CT_EXPECT(persist_state_set_batch(ct.a, bc, &kv, 1, &err), PERSIST_EINVAL, &err);
		op.collection = bc;
		CT_EXPECT(persist_state_batch(ct.a, &op, 1, &err), PERSIST_EINVAL, &err);
	}
	for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		CT_EXPECT(ct_sset(ct.a, c, bad_keys[i], "v", 0, &err), PERSIST_EINVAL, &err);
		CT_EXPECT(persist_state_get(ct.a, c, bad_keys[i], &data, NULL, &err),
			  PERSIST_EINVAL, &err);
		CT_EXPECT(persist_state_incr(ct.a, c, bad_keys[i], 1, &v, &err), PERSIST_EINVAL, &err);
		CT_EXPECT(persist_state_delete(ct.a, c, bad_keys[i], &err), PERSIST_EINVAL, &err);
	}
	/* NULL arguments */
	CT_EXPECT(ct_sset(NULL, c, "k", "v", 0, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(ct_sset(ct.a, c, "k", "v", -1, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_set(ct.a, NULL, "k", "v", 1, 0, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_set(ct.a, c, NULL, "v", 1, 0, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_set(ct.a, c, "k", NULL, 1, 0, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_get(NULL, c, "k", &data, NULL, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_get(ct.a, NULL, "k", &data, NULL, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_get(ct.a, c, NULL, &data, NULL, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_delete(ct.a, c, NULL, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_scan(ct.a, NULL, "", &e, &n, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_scan(ct.a, c, "", NULL, &n, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_scan(ct.a, c, "", &e, NULL, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_incr(ct.a, c, NULL, 1, &v, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_append(ct.a, c, NULL, 2, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_read_log(ct.a, c, 0, 0, NULL, &n, &next, &err),
		  PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_set_batch(ct.a, c, NULL, 1, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_batch(ct.a, NULL, 1, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_flush(NULL, &err), PERSIST_EINVAL, &err);
	op.collection = c;
	op.type = (enum persist_op_type)99;
	CT_EXPECT(persist_state_batch(ct.a, &op, 1, &err), PERSIST_EINVAL, &err);
	CT_TRUE((data) == NULL);
	CT_TRUE((e) == NULL);
	EXPECT_NO_VALUE(ct.a, c, "k");
	/* the longest valid collection name works */
	memcpy(max_coll, ct.run, strlen(ct.run));
	memset(max_coll + strlen(ct.run), 'x', PERSIST_COLLECTION_MAX - strlen(ct.run));
	max_coll[PERSIST_COLLECTION_MAX] = '\0';
	ct_remember(max_coll);
	CT_OK(ct_sset(ct.a, max_coll, "k", "v", 0, &err), &err);
	EXPECT_VALUE(ct.a, max_coll, "k", "v");
	ct_sdel(ct.a, max_coll, "k");
	free(c);
}

/* flush answers OK. */
static void test_flush(void)
{
	struct persist_error err;

	CT_OK(persist_state_flush(ct.a, &err), &err);
	CT_OK(persist_state_flush(ct.b, &err), &err);
}

/* Poll until coll/key is gone (1) or the deadline passes (0). */
static int ct_wait_value_gone(const char *coll, const char *key, int64_t timeout_ms)
{
	int64_t deadline = ct_now_ms() + timeout_ms;
	struct persist_error err;

	for (;;) {
		char *data = NULL;
		int ret = persist_state_get(ct.a, coll, key, &data, NULL, &err);

		persist_free(data);
		if (ret == PERSIST_ENOTFOUND)
			return 1;
		if (ret != PERSIST_OK) {
			CT_OK(ret, &err);
			return 0;
		}
		if (ct_now_ms() > deadline)
			return 0;
		ct_sleep_ms(50);
	}
}

/* TTL: keys vanish from get and scan; others stay; set without TTL clears. */
static void test_ttl(void)
{
	char *c = ct_name_dup("st-ttl");
	struct persist_entry *e = NULL;
	struct persist_error err;
	int64_t start = ct_now_ms(), v = 0;
	size_t n = 0;

	CT_OK(ct_sset(ct.a, c, "short", "s", 300, &err), &err);
	CT_OK(ct_sset(ct.a, c, "keep", "k", 0, &err), &err);
	CT_OK(ct_sset(ct.a, c, "long", "l", 600000, &err), &err);
	CT_OK(ct_sset(ct.a, c, "reset", "r", 300, &err), &err);
	CT_OK(ct_sset(ct.a, c, "reset", "r2", 0, &err), &err);
	if (ct_now_ms() - start < 200)
		EXPECT_VALUE(ct.a, c, "short", "s");
	CT_TRUE(ct_wait_value_gone(c, "short", CT_WAIT_MS));
	CT_TRUE(ct_now_ms() - start >= 250);
	n = 0;
	CT_OK(persist_state_scan(ct.a, c, "", &e, &n, &err), &err);
	CT_EQ(n, 3);
	for (size_t i = 0; i < n; i++)
		CT_STRNE(e[i].key, "short");
	persist_items_free(e, n);
	ct_sleep_ms(300);
	EXPECT_VALUE(ct.a, c, "keep", "k");
	EXPECT_VALUE(ct.a, c, "long", "l");
	EXPECT_VALUE(ct.a, c, "reset", "r2");
	/* an expired key is absent for incr too: it starts again at 0 */
	CT_EXPECT(persist_state_delete(ct.a, c, "short", &err), PERSIST_ENOTFOUND, &err);
	CT_OK(persist_state_incr(ct.a, c, "short", 1, &v, &err), &err);
	CT_EQ(v, 1);
	ct_sdel(ct.a, c, "short");
	ct_sdel(ct.a, c, "keep");
	ct_sdel(ct.a, c, "long");
	ct_sdel(ct.a, c, "reset");
	free(c);
}

/* ATOMIC_INCR: threads incrementing one key. */
#define INCR_THREADS 8
#define INCR_EACH 10000

struct incr_worker {
	struct ct_worker report;
	persist *p;
	const char *coll;
	int n;
	int64_t *seen;     /* returned values */
};

/* n increments by 1, keeping every value returned. */
static void *incr_worker(void *arg)
{
	struct incr_worker *w = arg;
	struct persist_error err;

	for (int i = 0; i < w->n; i++) {
		if (persist_state_incr(w->p, w->coll, "counter", 1, &w->seen[i], &err) != PERSIST_OK) {
			w->seen[i] = 0;
			ct_worker_fail(&w->report, "%s", err.msg);
		}
	}
	return NULL;
}

/* Run `threads` workers (alternating between handles when two_handles)
   and check that the increments add up and every value was returned
   exactly once. */
static void ct_incr_race(int threads, int each, int two_handles, const char *what)
{
	char *c = ct_name_dup(what);
	struct incr_worker w[INCR_THREADS];
	int64_t total = (int64_t)threads * each;
	unsigned char *hit = calloc((size_t)total + 1, 1);
	int failures, dups = 0, out_of_range = 0;
	char want[32];

	CU_ASSERT_PTR_NOT_NULL_FATAL(hit);
	for (int i = 0; i < threads; i++) {
		w[i] = (struct incr_worker){
			.p = two_handles && i % 2 ? ct.b : ct.a, .coll = c, .n = each,
			.seen = calloc((size_t)each, sizeof(int64_t)),
		};
		CU_ASSERT_PTR_NOT_NULL_FATAL(w[i].seen);
	}
	failures = ct_run_workers(incr_worker, w, sizeof(w[0]), threads, "incr failed", 0);
	for (int i = 0; i < threads; i++) {
		for (int j = 0; j < each; j++) {
			int64_t s = w[i].seen[j];

			if (s < 1 || s > total)
				out_of_range++;
			else if (hit[s]++)
				dups++;
		}
		free(w[i].seen);
	}
	CT_WORKERS_OK(failures);
	CT_CHECK(dups == 0, "%d of the %" PRId64 " values incr returned were returned twice "
		 "(each increment must return its own new value)", dups, total);
	CT_CHECK(out_of_range == 0, "%d values incr returned were outside 1..%" PRId64,
		 out_of_range, total);
	snprintf(want, sizeof(want), "%" PRId64, total);
	EXPECT_VALUE(ct.a, c, "counter", want);
	if (two_handles)
		EXPECT_VALUE(ct.b, c, "counter", want);
	ct_sdel(ct.a, c, "counter");
	free(hit);
	free(c);
}

/* ATOMIC_INCR: 8 threads x 10000 on handle A. */
static void test_incr_threads(void)
{
	ct_incr_race(INCR_THREADS, INCR_EACH, 0, "st-incr-threads");
}

/* ATOMIC_INCR: 4 threads x 5000, alternating between handles A and B. */
static void test_incr_two_handles(void)
{
	ct_incr_race(4, INCR_EACH / 2, 1, "st-incr-handles");
}

/* Read a log; asserts success. */
static size_t ct_read_log(persist *p, const char *coll, uint64_t from, size_t max,
			  struct persist_entry **e, uint64_t *next)
{
	struct persist_error err;
	size_t n = 0;

	*e = NULL;
	CT_OK(persist_state_read_log(p, coll, from, max, e, &n, next, &err), &err);
	return n;
}

/* APPEND_LOG: order, indexes, offsets, limits, next; separate from keys. */
static void test_log(void)
{
	char *c = ct_name_dup("st-log");
	struct persist_entry *e;
	struct persist_error err;
	uint64_t next = 0;
	size_t n;
	char rec[32];

	n = ct_read_log(ct.a, c, 0, 0, &e, &next);
	CT_EQ(n, 0);
	persist_items_free(e, n);
	for (int i = 0; i < 5; i++) {
		snprintf(rec, sizeof(rec), "{\"i\":%d}", i);
		CT_OK(persist_state_append(i % 2 ? ct.b : ct.a, c, rec, strlen(rec), &err), &err);
	}
	n = ct_read_log(ct.a, c, 0, 0, &e, &next);
	CT_EQ(n, 5);
	CT_EQ(next, 5);
	for (size_t i = 0; i < n; i++) {
		snprintf(rec, sizeof(rec), "{\"i\":%zu}", i);
		CT_EQ(e[i].index, i);
		CT_EXPECT_BYTES(e[i].value, e[i].len, rec, strlen(rec));
	}
	persist_items_free(e, n);
	n = ct_read_log(ct.a, c, 2, 2, &e, &next);
	CT_EQ(n, 2);
	CT_EQ(next, 4);
	if (n == 2) {
		CT_EQ(e[0].index, 2);
		CT_EQ(e[1].index, 3);
		CT_EXPECT_BYTES(e[1].value, e[1].len, "{\"i\":3}", 7);
	}
	persist_items_free(e, n);
	n = ct_read_log(ct.a, c, 4, 10, &e, &next);
	CT_EQ(n, 1);
	CT_EQ(next, 5);
	persist_items_free(e, n);
	n = ct_read_log(ct.a, c, 5, 0, &e, NULL);
	CT_EQ(n, 0);
	persist_items_free(e, n);
	n = ct_read_log(ct.a, c, 1000, 0, &e, NULL);
	CT_EQ(n, 0);
	persist_items_free(e, n);
	n = ct_read_log(ct.b, c, 0, 0, &e, NULL);
	CT_EQ(n, 5);
	persist_items_free(e, n);
	/* the log is not a key space */
	e = NULL;
	n = 0;
	CT_OK(persist_state_scan(ct.a, c, "", &e, &n, &err), &err);
	CT_EQ(n, 0);
	persist_items_free(e, n);
	CT_OK(ct_sset(ct.a, c, "key", "v", 0, &err), &err);
	n = ct_read_log(ct.a, c, 0, 0, &e, NULL);
	CT_EQ(n, 5);
	persist_items_free(e, n);
	ct_sdel(ct.a, c, "key");
	free(c);
}

/* True (and a note printed) when a call answered ENOTSUP because the
   provider lacks an optional method (since ABI 1.1, or since
   ABI 1.2 for batch_once); the answer must then name the provider and
   the method. */
static int ct_optional_missing(int ret, const struct persist_error *err,
			       const char *method)
{
	const char *since = strcmp(method, "batch_once") == 0 ? "1.2" :
		strcmp(method, "collections") == 0 ? "1.3" :
		strcmp(method, "batch_once_dated") == 0 ? "1.4" : "1.1";

	if (ret != PERSIST_ENOTSUP)
		return 0;
	CT_CHECK(strstr(err->msg, method) != NULL && strstr(err->msg, ct.plugin) != NULL,
		 "ENOTSUP of %s: expected a message naming the provider \"%s\" and "
		 "the method, got \"%s\"", method, ct.plugin, err->msg);
	printf("\n    the provider has no %s (optional since ABI %s)\n", method, since);
	return 1;
}

/* Assert the bounds of a log. */
static void ct_expect_bounds(persist *p, const char *coll, uint64_t first,
			     uint64_t next, int line)
{
	struct persist_error err;
	uint64_t f = UINT64_MAX, n = UINT64_MAX;
	int ret = persist_state_log_bounds(p, coll, &f, &n, &err);

	if (!ct_check(ret == PERSIST_OK, __FILE__, line,
		      "log_bounds of \"%s\": expected OK, got %s: %s", coll,
		      persist_strerror(ret), err.msg))
		return;
	ct_check(f == first && n == next, __FILE__, line,
		 "log_bounds of \"%s\": expected first %llu next %llu, got %llu %llu",
		 coll, (unsigned long long)first, (unsigned long long)next,
		 (unsigned long long)f, (unsigned long long)n);
}
#define EXPECT_BOUNDS(p, c, f, n) ct_expect_bounds(p, c, f, n, __LINE__)

/* Append records {"i":from} .. {"i":to-1}. */
static void ct_append_range(persist *p, const char *coll, int from, int to)
{
	struct persist_error err;
	char rec[32];

	for (int i = from; i < to; i++) {
		snprintf(rec, sizeof(rec), "{\"i\":%d}", i);
		CT_OK(persist_state_append(p, coll, rec, strlen(rec), &err), &err);
	}
}

/* drop: keys and log gone, other collections untouched, absent is OK. */
static void test_drop(void)
{
	char *c = ct_name_dup("st-drop"), *other = ct_name_dup("st-drop-other");
	int log = (ct.caps[PERSIST_KIND_STATE] & PERSIST_CAP_APPEND_LOG) != 0;
	struct persist_entry *e = NULL;
	struct persist_error err;
	size_t n = 0;
	int64_t v = 0;
	int ret;

	ret = persist_state_drop(ct.a, ct_name("st-drop-never"), &err);
	if (ct_optional_missing(ret, &err, "drop"))
		goto out;
	CT_OK(ret, &err);
	CT_OK(ct_sset(ct.a, c, "k1", "v1", 0, &err), &err);
	CT_OK(ct_sset(ct.a, c, "k2", "v2", 0, &err), &err);
	CT_OK(persist_state_incr(ct.a, c, "n", 5, &v, &err), &err);
	CT_OK(ct_sset(ct.a, other, "k1", "keep", 0, &err), &err);
	if (log) {
		ct_append_range(ct.a, c, 0, 3);
		ct_append_range(ct.a, other, 0, 2);
		/* a trimmed log's numbering goes with the drop too */
		ret = persist_state_trim_log(ct.a, c, 2, &err);
		if (ret != PERSIST_ENOTSUP)
			CT_OK(ret, &err);
	}
	CT_OK(persist_state_drop(ct.b, c, &err), &err);
	EXPECT_NO_VALUE(ct.a, c, "k1");
	EXPECT_NO_VALUE(ct.b, c, "k2");
	EXPECT_NO_VALUE(ct.a, c, "n");
	CT_OK(persist_state_scan(ct.a, c, "", &e, &n, &err), &err);
	CT_EQ(n, 0);
	persist_items_free(e, n);
	EXPECT_VALUE(ct.a, other, "k1", "keep");
	if (log) {
		n = ct_read_log(ct.a, c, 0, 0, &e, NULL);
		CT_EQ(n, 0);
		persist_items_free(e, n);
		EXPECT_BOUNDS(ct.a, c, 0, 0);
		n = ct_read_log(ct.a, other, 0, 0, &e, NULL);
		CT_EQ(n, 2);
		persist_items_free(e, n);
		/* a fresh log is numbered from 0 again */
		ct_append_range(ct.b, c, 7, 8);
		n = ct_read_log(ct.a, c, 0, 0, &e, NULL);
		CT_EQ(n, 1);
		if (n == 1) {
			CT_EQ(e[0].index, 0);
			CT_EXPECT_BYTES(e[0].value, e[0].len, "{\"i\":7}", 7);
		}
		persist_items_free(e, n);
	}
	/* the collection works as new; a second drop is fine */
	CT_OK(persist_state_incr(ct.a, c, "n", 1, &v, &err), &err);
	CT_EQ(v, 1);
	CT_OK(persist_state_drop(ct.a, c, &err), &err);
	CT_OK(persist_state_drop(ct.a, c, &err), &err);
	EXPECT_NO_VALUE(ct.a, c, "n");
	CT_OK(persist_state_drop(ct.a, other, &err), &err);
	EXPECT_NO_VALUE(ct.a, other, "k1");
	CT_EXPECT(persist_state_drop(ct.a, "../x", &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_drop(ct.a, NULL, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_drop(NULL, c, &err), PERSIST_EINVAL, &err);
out:
	free(c);
	free(other);
}

/* A longer log (appended in one batch) trimmed in its middle: reads far
   into it, and from below the trim point, find the right records (a
   provider indexing record offsets must shift its index by the trim). */
#define LONG_LOG 2500
#define LONG_TRIM 1030
static void ct_log_trim_long(void)
{
	char *c = ct_name_dup("st-trim-long"), (*recs)[16] = calloc(LONG_LOG, 16);
	struct persist_op *ops = calloc(LONG_LOG, sizeof(*ops));
	struct persist_entry *e = NULL;
	struct persist_error err;
	uint64_t next = 0;
	size_t n;

	CU_ASSERT_FATAL(recs != NULL && ops != NULL);
	for (int i = 0; i < LONG_LOG; i++) {
		snprintf(recs[i], sizeof(recs[i]), "{\"i\":%d}", i);
		ops[i] = (struct persist_op){ .type = PERSIST_OP_APPEND, .collection = c,
					      .value = recs[i], .len = strlen(recs[i]) };
	}
	CT_OK(persist_state_batch(ct.a, ops, LONG_LOG, &err), &err);
	n = ct_read_log(ct.b, c, 2100, 2, &e, &next);
	CT_EQ(n, 2);
	persist_items_free(e, n);
	CT_OK(persist_state_trim_log(ct.a, c, LONG_TRIM, &err), &err);
	EXPECT_BOUNDS(ct.b, c, LONG_TRIM, LONG_LOG);
	for (int k = 0; k < 2; k++) {
		persist *p = k ? ct.b : ct.a;
		static const uint64_t at[] = { 0, LONG_TRIM, 2047, 2048, 2100, LONG_LOG - 1 };

		for (size_t j = 0; j < sizeof(at) / sizeof(at[0]); j++) {
			uint64_t want = at[j] < LONG_TRIM ? LONG_TRIM : at[j];

			n = ct_read_log(p, c, at[j], 1, &e, &next);
			CT_EQ(n, 1);
			CT_EQ(next, want + 1);
			if (n == 1) {
				CT_EQ(e[0].index, want);
				CT_EXPECT_BYTES(e[0].value, e[0].len, recs[want], strlen(recs[want]));
			}
			persist_items_free(e, n);
		}
	}
	n = ct_read_log(ct.a, c, 0, 0, &e, &next);
	CT_EQ(n, LONG_LOG - LONG_TRIM);
	CT_EQ(next, LONG_LOG);
	persist_items_free(e, n);
	free(ops);
	free(recs);
	free(c);
}

/* trim_log: numbers stable, reads below the trim point, bad bounds. */
static void test_log_trim(void)
{
	char *c = ct_name_dup("st-trim");
	struct persist_entry *e = NULL;
	struct persist_error err;
	uint64_t next = 0;
	size_t n;
	int ret;

	ret = persist_state_trim_log(ct.a, c, 1, &err);
	if (ct_optional_missing(ret, &err, "trim_log"))
		goto out;
	/* an empty log: next is 0, so trimming before 1 is beyond its end */
	CT_EXPECT(ret, PERSIST_EINVAL, &err);
	CT_CHECK(strstr(err.msg, "0") != NULL, "trim beyond the end: expected the "
		 "message to name the next record number 0, got \"%s\"", err.msg);
	CT_OK(persist_state_trim_log(ct.a, c, 0, &err), &err);
	EXPECT_BOUNDS(ct.a, c, 0, 0);
	ct_append_range(ct.a, c, 0, 10);
	EXPECT_BOUNDS(ct.b, c, 0, 10);
	CT_OK(persist_state_trim_log(ct.a, c, 0, &err), &err);
	EXPECT_BOUNDS(ct.a, c, 0, 10);
	/* beyond the end: refused naming next (10), nothing trimmed */
	CT_EXPECT(persist_state_trim_log(ct.a, c, 11, &err), PERSIST_EINVAL, &err);
	CT_CHECK(strstr(err.msg, "10") != NULL, "trim beyond the end: expected the "
		 "message to name the next record number 10, got \"%s\"", err.msg);
	EXPECT_BOUNDS(ct.a, c, 0, 10);
	CT_OK(persist_state_trim_log(ct.b, c, 4, &err), &err);
	EXPECT_BOUNDS(ct.a, c, 4, 10);
	/* numbers stay: from 0 starts at 4; from 6 is record 6 */
	n = ct_read_log(ct.a, c, 0, 0, &e, &next);
	CT_EQ(n, 6);
	CT_EQ(next, 10);
	for (size_t i = 0; i < n; i++) {
		char rec[32];

		snprintf(rec, sizeof(rec), "{\"i\":%zu}", i + 4);
		CT_EQ(e[i].index, i + 4);
		CT_EXPECT_BYTES(e[i].value, e[i].len, rec, strlen(rec));
	}
	persist_items_free(e, n);
	n = ct_read_log(ct.b, c, 2, 3, &e, &next);
	CT_EQ(n, 3);
	CT_EQ(next, 7);
	if (n == 3)
		CT_EQ(e[0].index, 4);
	persist_items_free(e, n);
	n = ct_read_log(ct.a, c, 6, 1, &e, &next);
	CT_EQ(n, 1);
	if (n == 1) {
		CT_EQ(e[0].index, 6);
		CT_EXPECT_BYTES(e[0].value, e[0].len, "{\"i\":6}", 7);
	}
	persist_items_free(e, n);
	/* trimming again below the first kept record changes nothing */
	CT_OK(persist_state_trim_log(ct.a, c, 3, &err), &err);
	EXPECT_BOUNDS(ct.a, c, 4, 10);
	/* appends go on from the same number */
	ct_append_range(ct.b, c, 10, 12);
	EXPECT_BOUNDS(ct.a, c, 4, 12);
	n = ct_read_log(ct.a, c, 11, 0, &e, NULL);
	CT_EQ(n, 1);
	if (n == 1) {
		CT_EQ(e[0].index, 11);
		CT_EXPECT_BYTES(e[0].value, e[0].len, "{\"i\":11}", 8);
	}
	persist_items_free(e, n);
	/* trimming everything empties the log but keeps its numbering */
	CT_OK(persist_state_trim_log(ct.a, c, 12, &err), &err);
	EXPECT_BOUNDS(ct.b, c, 12, 12);
	n = ct_read_log(ct.a, c, 0, 0, &e, &next);
	CT_EQ(n, 0);
	CT_EQ(next, 12);
	persist_items_free(e, n);
	ct_append_range(ct.a, c, 12, 13);
	n = ct_read_log(ct.b, c, 0, 0, &e, &next);
	CT_EQ(n, 1);
	CT_EQ(next, 13);
	if (n == 1)
		CT_EQ(e[0].index, 12);
	persist_items_free(e, n);
	/* the keys of the collection are not touched by a trim */
	CT_OK(ct_sset(ct.a, c, "key", "v", 0, &err), &err);
	CT_OK(persist_state_trim_log(ct.a, c, 13, &err), &err);
	EXPECT_VALUE(ct.b, c, "key", "v");
	ct_sdel(ct.a, c, "key");
	ct_log_trim_long();
	CT_EXPECT(persist_state_trim_log(ct.a, ".x", 1, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_trim_log(NULL, c, 1, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_log_bounds(ct.a, NULL, NULL, NULL, &err), PERSIST_EINVAL, &err);
out:
	free(c);
}

/* APPEND_LOG: concurrent appends, every record exactly once. */
#define LOG_THREADS 4
#define LOG_EACH 250

struct log_worker {
	struct ct_worker report;
	persist *p;
	const char *coll;
	int id;
};

/* Append LOG_EACH numbered records. */
static void *log_worker(void *arg)
{
	struct log_worker *w = arg;
	struct persist_error err;
	char rec[64];

	for (int i = 0; i < LOG_EACH; i++) {
		int len = snprintf(rec, sizeof(rec), "{\"t\":%d,\"i\":%d}", w->id, i);

		if (persist_state_append(w->p, w->coll, rec, (size_t)len, &err) != PERSIST_OK)
			ct_worker_fail(&w->report, "%s", err.msg);
	}
	return NULL;
}

/* APPEND_LOG: LOG_THREADS threads (on both handles) appending at once. */
static void test_log_threads(void)
{
	char *c = ct_name_dup("st-log-threads");
	struct log_worker w[LOG_THREADS];
	int seen[LOG_THREADS][LOG_EACH] = { { 0 } }, last[LOG_THREADS];
	int failures, bad = 0, dups = 0, disorder = 0;
	struct persist_entry *e;
	uint64_t next = 0;
	size_t n;

	for (int i = 0; i < LOG_THREADS; i++) {
		w[i] = (struct log_worker){ .p = i % 2 ? ct.b : ct.a, .coll = c, .id = i };
		last[i] = -1;
	}
	failures = ct_run_workers(log_worker, w, sizeof(w[0]), LOG_THREADS, "append failed", 0);
	CT_WORKERS_OK(failures);
	CT_OK(persist_state_flush(ct.a, NULL), NULL);
	CT_OK(persist_state_flush(ct.b, NULL), NULL);
	n = ct_read_log(ct.a, c, 0, 0, &e, &next);
	CT_EQ(n, LOG_THREADS * LOG_EACH);
	CT_EQ(next, n);
	for (size_t i = 0; i < n; i++) {
		int th = -1, idx = -1;

		if (e[i].index != i)
			bad++;
		if (e[i].value == NULL ||
		    sscanf(e[i].value, "{\"t\":%d,\"i\":%d}", &th, &idx) != 2 ||
		    th < 0 || th >= LOG_THREADS || idx < 0 || idx >= LOG_EACH) {
			bad++;
			continue;
		}
		if (seen[th][idx]++)
			dups++;
		if (idx <= last[th])
			disorder++;
		last[th] = idx;
	}
	CT_EQ(bad, 0);
	CT_EQ(dups, 0);
	CT_EQ(disorder, 0);
	for (int i = 0; i < LOG_THREADS; i++)
		CT_EQ(last[i], LOG_EACH - 1);
	persist_items_free(e, n);
	free(c);
}

/* BATCH: set_batch sets every key. */
static void test_set_batch(void)
{
	char *c = ct_name_dup("st-setbatch");
	struct persist_kv kv[3] = {
		{ .key = "one", .value = "1", .len = 1 },
		{ .key = "two", .value = "2\0two", .len = 5 },
		{ .key = "three", .value = "{\"n\":3}", .len = 7, .ttl_ms = 600000 },
	};
	struct persist_entry *e = NULL;
	struct persist_error err;
	size_t n = 0;

	CT_OK(persist_state_set_batch(ct.a, c, kv, 3, &err), &err);
	for (int i = 0; i < 3; i++)
		ct_expect_value(ct.a, c, kv[i].key, kv[i].value, kv[i].len, __LINE__);
	n = 0;
	CT_OK(persist_state_scan(ct.a, c, "", &e, &n, &err), &err);
	CT_EQ(n, 3);
	persist_items_free(e, n);
	CT_OK(persist_state_set_batch(ct.a, c, kv, 0, &err), &err);
	for (int i = 0; i < 3; i++)
		ct_sdel(ct.a, c, kv[i].key);
	free(c);
}

/* BATCH: mixed operations over two collections are all applied. */
static void test_batch_mixed(void)
{
	char *c = ct_name_dup("st-batch"), *c2 = ct_name_dup("st-batch2");
	int log = (ct.caps[PERSIST_KIND_STATE] & PERSIST_CAP_APPEND_LOG) != 0;
	struct persist_op ops[] = {
		{ .type = PERSIST_OP_SET, .collection = c, .key = "k1", .value = "one", .len = 3 },
		{ .type = PERSIST_OP_INCR, .collection = c, .key = "k2", .delta = 5 },
		{ .type = PERSIST_OP_INCR, .collection = c, .key = "k2", .delta = 5 },
		{ .type = PERSIST_OP_DELETE, .collection = c, .key = "k0" },
		{ .type = PERSIST_OP_SET, .collection = c2, .key = "x", .value = "X", .len = 1 },
		{ .type = PERSIST_OP_APPEND, .collection = c, .value = "{\"b\":1}", .len = 7 },
	};
	size_t n_ops = log ? 6 : 5, n;
	struct persist_entry *e;
	struct persist_error err;

	CT_OK(ct_sset(ct.a, c, "k0", "gone", 0, &err), &err);
	CT_OK(persist_state_batch(ct.a, ops, n_ops, &err), &err);
	EXPECT_VALUE(ct.a, c, "k1", "one");
	EXPECT_VALUE(ct.a, c, "k2", "10");
	EXPECT_NO_VALUE(ct.a, c, "k0");
	EXPECT_VALUE(ct.a, c2, "x", "X");
	if (log) {
		n = ct_read_log(ct.a, c, 0, 0, &e, NULL);
		CT_EQ(n, 1);
		if (n == 1)
			CT_EXPECT_BYTES(e[0].value, e[0].len, "{\"b\":1}", 7);
		persist_items_free(e, n);
	}
	CT_OK(persist_state_batch(ct.a, ops, 0, &err), &err);
	ct_sdel(ct.a, c, "k1");
	ct_sdel(ct.a, c, "k2");
	ct_sdel(ct.a, c2, "x");
	free(c);
	free(c2);
}

/* BATCH: a batch that fails applies nothing (or says it is uncertain). */
static void test_batch_all_or_nothing(void)
{
	char *c = ct_name_dup("st-batch-none");
	struct persist_op ops[] = {
		{ .type = PERSIST_OP_SET, .collection = c, .key = "x", .value = "1", .len = 1 },
		{ .type = PERSIST_OP_INCR, .collection = c, .key = "n", .delta = 1 },
		{ .type = PERSIST_OP_INCR, .collection = c, .key = "bad", .delta = 1 },
		{ .type = PERSIST_OP_DELETE, .collection = c, .key = "keep" },
	};
	struct persist_op invalid[] = {
		{ .type = PERSIST_OP_SET, .collection = c, .key = "y", .value = "1", .len = 1 },
		{ .type = PERSIST_OP_SET, .collection = "a/b", .key = "y", .value = "1", .len = 1 },
	};
	struct persist_error err;
	int ret;

	CT_OK(ct_sset(ct.a, c, "bad", "not a number", 0, &err), &err);
	CT_OK(ct_sset(ct.a, c, "keep", "kept", 0, &err), &err);
	ret = persist_state_batch(ct.a, ops, 4, &err);
	CT_NE(ret, PERSIST_OK);
	if (ret != PERSIST_EUNCERTAIN) {
		CT_EXPECT(ret, PERSIST_EINVAL, &err);
		EXPECT_NO_VALUE(ct.a, c, "x");
		EXPECT_NO_VALUE(ct.a, c, "n");
		EXPECT_VALUE(ct.a, c, "bad", "not a number");
		EXPECT_VALUE(ct.a, c, "keep", "kept");
	}
	/* invalid input is refused before anything is done */
	CT_EXPECT(persist_state_batch(ct.a, invalid, 2, &err), PERSIST_EINVAL, &err);
	EXPECT_NO_VALUE(ct.a, c, "y");
	ct_sdel(ct.a, c, "x");
	ct_sdel(ct.a, c, "n");
	ct_sdel(ct.a, c, "bad");
	ct_sdel(ct.a, c, "keep");
	free(c);
}

/* Assert the number of records of a collection's log. */
static void ct_expect_log_count(persist *p, const char *coll, size_t want, int line)
{
	struct persist_entry *e = NULL;
	size_t n = ct_read_log(p, coll, 0, 0, &e, NULL);

	ct_check(n == want, __FILE__, line, "records in the log of \"%s\": expected "
		 "%zu, got %zu", coll, want, n);
	persist_items_free(e, n);
}

/* Exactly-once batches: an id applies once, through any handle; another
   id applies again; a batch that failed left its id unused; bad ids are
   refused. */
static void test_batch_once(void)
{
	char *c = ct_name_dup("st-once");
	char id1[96], id2[96], id3[96], longid[PERSIST_BATCH_ID_MAX + 8];
	int log = (ct.caps[PERSIST_KIND_STATE] & PERSIST_CAP_APPEND_LOG) != 0;
	struct persist_op ops[] = {
		{ .type = PERSIST_OP_INCR, .collection = c, .key = "n", .delta = 5 },
		{ .type = PERSIST_OP_SET, .collection = c, .key = "k", .value = "v", .len = 1 },
		{ .type = PERSIST_OP_APPEND, .collection = c, .value = "{\"once\":1}", .len = 10 },
	};
	struct persist_op bad[] = {
		{ .type = PERSIST_OP_INCR, .collection = c, .key = "n", .delta = 1 },
		{ .type = PERSIST_OP_INCR, .collection = c, .key = "text", .delta = 1 },
	};
	size_t n_ops = log ? 3 : 2;
	struct persist_error err;
	int before = -1, ret;

	snprintf(id1, sizeof(id1), "%s:once.1", ct.run);
	snprintf(id2, sizeof(id2), "%s:once.2", ct.run);
	snprintf(id3, sizeof(id3), "%s:once.3", ct.run);
	ret = persist_state_batch_once(ct.a, id1, ops, n_ops, &before, &err);
	if (ct_optional_missing(ret, &err, "batch_once"))
		goto out;
	CT_OK(ret, &err);
	CT_EQ(before, 0);
	EXPECT_VALUE(ct.a, c, "n", "5");
	EXPECT_VALUE(ct.a, c, "k", "v");
	/* the same id again, through the other handle (another instance):
	   nothing applied, and it says so */
	CT_OK(ct_sset(ct.a, c, "k", "changed", 0, &err), &err);
	before = -1;
	CT_OK(persist_state_batch_once(ct.b, id1, ops, n_ops, &before, &err), &err);
	CT_CHECK(before == 1, "batch_once of an id applied before: expected "
		 "applied_before 1, got %d", before);
	EXPECT_VALUE(ct.a, c, "n", "5");
	EXPECT_VALUE(ct.b, c, "k", "changed");
	before = -1;
	CT_OK(persist_state_batch_once(ct.a, id1, ops, n_ops, &before, &err), &err);
	CT_EQ(before, 1);
	EXPECT_VALUE(ct.a, c, "n", "5");
	if (log)
		ct_expect_log_count(ct.a, c, 1, __LINE__);
	/* another id applies again */
	before = -1;
	CT_OK(persist_state_batch_once(ct.b, id2, ops, n_ops, &before, &err), &err);
	CT_EQ(before, 0);
	EXPECT_VALUE(ct.a, c, "n", "10");
	EXPECT_VALUE(ct.a, c, "k", "v");
	if (log)
		ct_expect_log_count(ct.a, c, 2, __LINE__);
	/* a batch that fails applies nothing and leaves its id unused */
	CT_OK(ct_sset(ct.a, c, "text", "not a number", 0, &err), &err);
	ret = persist_state_batch_once(ct.a, id3, bad, 2, &before, &err);
	CT_NE(ret, PERSIST_OK);
	if (ret != PERSIST_EUNCERTAIN) {
		CT_EXPECT(ret, PERSIST_EINVAL, &err);
		EXPECT_VALUE(ct.a, c, "n", "10");
		before = -1;
		CT_OK(persist_state_batch_once(ct.a, id3, bad, 1, &before, &err), &err);
		CT_CHECK(before == 0, "batch_once of an id whose batch failed: expected it "
			 "applied now (applied_before 0), got %d", before);
		EXPECT_VALUE(ct.a, c, "n", "11");
	}
	/* a sum leaving int64, either way, fails the batch: nothing applied */
	{
		struct persist_op edge[] = {
			{ .type = PERSIST_OP_INCR, .collection = c, .key = "n", .delta = 1 },
			{ .type = PERSIST_OP_INCR, .collection = c, .key = "big", .delta = 2 },
			{ .type = PERSIST_OP_INCR, .collection = c, .key = "neg", .delta = -2 },
		};
		char id4[96], id5[96];
		int64_t v;

		snprintf(id4, sizeof(id4), "%s:once.4", ct.run);
		snprintf(id5, sizeof(id5), "%s:once.5", ct.run);
		CT_OK(persist_state_incr(ct.a, c, "big", INT64_MAX - 1, &v, &err), &err);
		CT_OK(persist_state_incr(ct.a, c, "neg", INT64_MIN + 1, &v, &err), &err);
		CT_EXPECT(persist_state_batch_once(ct.a, id4, edge, 2, &before, &err),
			  PERSIST_EINVAL, &err);
		CT_EXPECT(persist_state_batch_once(ct.a, id5, edge + 2, 1, &before, &err),
			  PERSIST_EINVAL, &err);
		edge[1].delta = 1;
		edge[2].delta = -1;
		before = -1;
		CT_OK(persist_state_batch_once(ct.a, id4, edge + 1, 2, &before, &err), &err);
		CT_EQ(before, 0);
		EXPECT_VALUE(ct.a, c, "big", "9223372036854775807");
		EXPECT_VALUE(ct.a, c, "neg", "-9223372036854775808");
		ct_sdel(ct.a, c, "big");
		ct_sdel(ct.a, c, "neg");
	}
	/* ids outside the alphabet or too long are refused, nothing applied */
	memset(longid, 'a', sizeof(longid) - 1);
	longid[PERSIST_BATCH_ID_MAX] = '\0';   /* one character too many */
	CT_EXPECT(persist_state_batch_once(ct.a, "a/b", ops, 1, &before, &err),
		  PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_batch_once(ct.a, "", ops, 1, &before, &err),
		  PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_batch_once(ct.a, NULL, ops, 1, &before, &err),
		  PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_batch_once(ct.a, longid, ops, 1, &before, &err),
		  PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_batch_once(ct.a, id2, ops, 1, NULL, &err),
		  PERSIST_EINVAL, &err);
	if (ret == PERSIST_EINVAL)
		EXPECT_VALUE(ct.a, c, "n", "11");
	longid[PERSIST_BATCH_ID_MAX - 1] = '\0';   /* the longest id */
	before = -1;
	CT_OK(persist_state_batch_once(ct.a, longid, ops, 1, &before, &err), &err);
	CT_EQ(before, 0);
	ct_sdel(ct.a, c, "text");
out:
	ct_sdel(ct.a, c, "n");
	ct_sdel(ct.a, c, "k");
	free(c);
}

/* --- last writer wins (batch_once_dated) --------------------------------- */

/* One dated operation on key of coll, sent as its own batch under a fresh
   id: value NULL is a delete.  Returns the status, *before_r the
   applied_before answer. */
static int ct_dated(persist *p, const char *coll, const char *key, const char *value,
		    int64_t written_ms, int *before_r, struct persist_error *err)
{
	static unsigned seq;
	struct persist_op op = {
		.type = value != NULL ? PERSIST_OP_SET : PERSIST_OP_DELETE,
		.collection = coll, .key = key, .value = value,
		.len = value != NULL ? strlen(value) : 0,
	};
	char id[96];
	int before = -1;

	snprintf(id, sizeof(id), "%s:lww.%u", ct.run, __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
	return persist_state_batch_once_dated(p, id, &op, &written_ms, 1,
					      before_r != NULL ? before_r : &before, err);
}

/* Dated writes among themselves: a later one wins whatever the order they
   come in, a delete's time too, an equal time applies; two of one key in
   one batch are taken in turn; bad times are refused. */
static void test_lww_order(void)
{
	char *c = ct_name_dup("st-lww");
	int64_t t = ct_wall_ms() - 60000;
	struct persist_error err;
	int before = -1, ret;

	ret = ct_dated(ct.a, c, "k", "v5", t + 5000, &before, &err);
	if (ct_optional_missing(ret, &err, "batch_once_dated"))
		goto out;
	CT_OK(ret, &err);
	CT_EQ(before, 0);
	EXPECT_VALUE(ct.a, c, "k", "v5");
	CT_OK(ct_dated(ct.a, c, "k", "v7", t + 7000, NULL, &err), &err);
	EXPECT_VALUE(ct.a, c, "k", "v7");
	/* older than the key's last write: skipped, no error */
	CT_OK(ct_dated(ct.b, c, "k", "v6", t + 6000, NULL, &err), &err);
	EXPECT_VALUE(ct.a, c, "k", "v7");
	CT_OK(ct_dated(ct.a, c, "k", NULL, t + 6500, NULL, &err), &err);
	EXPECT_VALUE(ct.a, c, "k", "v7");
	/* the same time applies */
	CT_OK(ct_dated(ct.a, c, "k", "v7b", t + 7000, NULL, &err), &err);
	EXPECT_VALUE(ct.a, c, "k", "v7b");
	/* a later delete applies, and an older set does not undo it */
	CT_OK(ct_dated(ct.a, c, "k", NULL, t + 9000, NULL, &err), &err);
	EXPECT_NO_VALUE(ct.a, c, "k");
	CT_OK(ct_dated(ct.b, c, "k", "v8", t + 8000, NULL, &err), &err);
	EXPECT_NO_VALUE(ct.a, c, "k");
	CT_OK(ct_dated(ct.b, c, "k", "v10", t + 10000, NULL, &err), &err);
	EXPECT_VALUE(ct.a, c, "k", "v10");
	/* a delete of a key never written still dates it */
	CT_OK(ct_dated(ct.a, c, "gone", NULL, t + 4000, NULL, &err), &err);
	CT_OK(ct_dated(ct.a, c, "gone", "old", t + 3000, NULL, &err), &err);
	EXPECT_NO_VALUE(ct.a, c, "gone");
	/* two writes of one key in one batch: in turn, each judged by the
	   key's time left by the one before */
	{
		struct persist_op two[] = {
			{ .type = PERSIST_OP_SET, .collection = c, .key = "b", .value = "first", .len = 5 },
			{ .type = PERSIST_OP_SET, .collection = c, .key = "b", .value = "second", .len = 6 },
			{ .type = PERSIST_OP_SET, .collection = c, .key = "d", .value = "newer", .len = 5 },
			{ .type = PERSIST_OP_SET, .collection = c, .key = "d", .value = "older", .len = 5 },
		};
		int64_t times[] = { t + 1000, t + 2000, t + 2000, t + 1000 };
		char id[96];

		snprintf(id, sizeof(id), "%s:lww.two", ct.run);
		CT_OK(persist_state_batch_once_dated(ct.a, id, two, times, 4, &before, &err), &err);
		EXPECT_VALUE(ct.a, c, "b", "second");
		EXPECT_VALUE(ct.a, c, "d", "newer");
	}
	/* bad times and arguments: refused, nothing applied */
	{
		struct persist_op op = { .type = PERSIST_OP_SET, .collection = c, .key = "k",
					 .value = "bad", .len = 3 };
		int64_t zero = 0, far = ct_wall_ms() + 2 * 24 * 3600 * 1000LL;

		CT_EXPECT(persist_state_batch_once_dated(ct.a, "lww-bad", &op, NULL, 1, &before, &err),
			  PERSIST_EINVAL, &err);
		CT_EXPECT(persist_state_batch_once_dated(ct.a, "lww-bad", &op, &zero, 1, &before, &err),
			  PERSIST_EINVAL, &err);
		CT_EXPECT(persist_state_batch_once_dated(ct.a, "lww-bad", &op, &far, 1, &before, &err),
			  PERSIST_EINVAL, &err);
		CT_CHECK(strstr(err.msg, "\"k\"") != NULL,
			 "a write time out of range: expected the message to name the key, got \"%s\"",
			 err.msg);
		CT_EXPECT(persist_state_batch_once_dated(ct.a, "lww-bad", &op, &far, 1, NULL, &err),
			  PERSIST_EINVAL, &err);
		EXPECT_VALUE(ct.a, c, "k", "v10");
	}
out:
	ct_sdel(ct.a, c, "k");
	ct_sdel(ct.a, c, "b");
	ct_sdel(ct.a, c, "d");
	free(c);
}

/* Undated writes (set, delete, batch, batch_once) record the clock: a
   dated write older than them is skipped, a later one applies, through
   either handle. */
static void test_lww_direct(void)
{
	char *c = ct_name_dup("st-lww-direct");
	struct persist_error err;
	int64_t before_writes = ct_wall_ms();
	int before = -1, ret;

	CT_OK(ct_sset(ct.a, c, "set", "direct", 0, &err), &err);
	ret = ct_dated(ct.b, c, "set", "older", before_writes - 1000, NULL, &err);
	if (ct_optional_missing(ret, &err, "batch_once_dated"))
		goto out;
	CT_OK(ret, &err);
	EXPECT_VALUE(ct.a, c, "set", "direct");
	CT_OK(ct_dated(ct.b, c, "set", NULL, before_writes - 1000, NULL, &err), &err);
	EXPECT_VALUE(ct.a, c, "set", "direct");
	CT_OK(ct_dated(ct.b, c, "set", "later", ct_wall_ms() + 60000, NULL, &err), &err);
	EXPECT_VALUE(ct.a, c, "set", "later");
	/* batch and batch_once date their sets and deletes too */
	{
		struct persist_op ops[] = {
			{ .type = PERSIST_OP_SET, .collection = c, .key = "batch", .value = "b", .len = 1 },
			{ .type = PERSIST_OP_SET, .collection = c, .key = "once", .value = "o", .len = 1 },
		};
		char id[96];

		snprintf(id, sizeof(id), "%s:lww.direct", ct.run);
		CT_OK(persist_state_batch(ct.a, ops, 1, &err), &err);
		CT_OK(persist_state_batch_once(ct.a, id, ops + 1, 1, &before, &err), &err);
		CT_OK(ct_dated(ct.b, c, "batch", "older", before_writes - 1000, NULL, &err), &err);
		CT_OK(ct_dated(ct.b, c, "once", NULL, before_writes - 1000, NULL, &err), &err);
		EXPECT_VALUE(ct.a, c, "batch", "b");
		EXPECT_VALUE(ct.a, c, "once", "o");
	}
out:
	ct_sdel(ct.a, c, "set");
	ct_sdel(ct.a, c, "batch");
	ct_sdel(ct.a, c, "once");
	free(c);
}

/* How long the tests wait between reading the clock and a write they
   compare with it: a provider may date writes by a coarse clock (the
   core's host->now_ms reads CLOCK_REALTIME_COARSE, a tick behind). */
#define CT_CLOCK_TICK_MS 30

/* A key's time outlives it: after a delete, or once its TTL ran out, a
   dated set made before does not bring it back; one made after does. */
static void test_lww_delete(void)
{
	char *c = ct_name_dup("st-lww-del");
	struct persist_error err;
	int64_t before_delete;
	int ret;

	CT_OK(ct_sset(ct.a, c, "k", "v", 0, &err), &err);
	before_delete = ct_wall_ms();
	ct_sleep_ms(CT_CLOCK_TICK_MS);
	CT_OK(persist_state_delete(ct.b, c, "k", &err), &err);
	ret = ct_dated(ct.a, c, "k", "resurrected", before_delete, NULL, &err);
	if (ct_optional_missing(ret, &err, "batch_once_dated"))
		goto out;
	CT_OK(ret, &err);
	EXPECT_NO_VALUE(ct.a, c, "k");
	CT_OK(ct_dated(ct.a, c, "k", "after", ct_wall_ms() + 1000, NULL, &err), &err);
	EXPECT_VALUE(ct.a, c, "k", "after");
	if (ct.caps[PERSIST_KIND_STATE] & PERSIST_CAP_TTL) {
		int64_t before_set = ct_wall_ms();

		ct_sleep_ms(CT_CLOCK_TICK_MS);
		CT_OK(ct_sset(ct.a, c, "ttl", "short", 50, &err), &err);
		ct_sleep_ms(200);
		EXPECT_NO_VALUE(ct.a, c, "ttl");
		CT_OK(ct_dated(ct.b, c, "ttl", "older", before_set, NULL, &err), &err);
		EXPECT_NO_VALUE(ct.a, c, "ttl");
		CT_OK(ct_dated(ct.b, c, "ttl", "newer", ct_wall_ms(), NULL, &err), &err);
		EXPECT_VALUE(ct.a, c, "ttl", "newer");
	}
out:
	ct_sdel(ct.a, c, "k");
	ct_sdel(ct.a, c, "ttl");
	free(c);
}

/* A drop forgets the collection's times. */
static void test_lww_drop(void)
{
	char *c = ct_name_dup("st-lww-drop");
	struct persist_error err;
	int64_t before_writes = ct_wall_ms();
	int ret;

	CT_OK(ct_sset(ct.a, c, "k", "v", 0, &err), &err);
	CT_OK(ct_sset(ct.a, c, "d", "v", 0, &err), &err);
	CT_OK(persist_state_delete(ct.a, c, "d", &err), &err);
	ret = persist_state_drop(ct.a, c, &err);
	if (ct_optional_missing(ret, &err, "drop"))
		goto out;
	CT_OK(ret, &err);
	ret = ct_dated(ct.b, c, "k", "older", before_writes - 1000, NULL, &err);
	if (ct_optional_missing(ret, &err, "batch_once_dated"))
		goto out;
	CT_OK(ret, &err);
	EXPECT_VALUE(ct.a, c, "k", "older");
	CT_OK(ct_dated(ct.b, c, "d", "older", before_writes - 1000, NULL, &err), &err);
	EXPECT_VALUE(ct.a, c, "d", "older");
out:
	ct_sdel(ct.a, c, "k");
	ct_sdel(ct.a, c, "d");
	free(c);
}

/* Increments are not dated: one in a dated batch applies whatever its
   time, and an increment leaves no time that would stop an older set. */
static void test_lww_incr(void)
{
	char *c = ct_name_dup("st-lww-incr");
	struct persist_op ops[] = {
		{ .type = PERSIST_OP_INCR, .collection = c, .key = "n", .delta = 5 },
		{ .type = PERSIST_OP_SET, .collection = c, .key = "s", .value = "1", .len = 1 },
	};
	int64_t times[] = { 1, ct_wall_ms() - 1000 };
	struct persist_error err;
	char id[96];
	int64_t v;
	int before = -1, ret;

	CT_OK(persist_state_incr(ct.a, c, "n", 10, &v, &err), &err);
	CT_OK(persist_state_incr(ct.a, c, "s", 10, &v, &err), &err);
	snprintf(id, sizeof(id), "%s:lww.incr", ct.run);
	ret = persist_state_batch_once_dated(ct.b, id, ops, times, 2, &before, &err);
	if (ct_optional_missing(ret, &err, "batch_once_dated"))
		goto out;
	CT_OK(ret, &err);
	EXPECT_VALUE(ct.a, c, "n", "15");
	EXPECT_VALUE(ct.a, c, "s", "1");
out:
	ct_sdel(ct.a, c, "n");
	ct_sdel(ct.a, c, "s");
	free(c);
}

/* A dated batch applies once: its id again, through either handle,
   applies nothing - not even the writes that would win now. */
static void test_lww_once(void)
{
	char *c = ct_name_dup("st-lww-once");
	struct persist_op ops[] = {
		{ .type = PERSIST_OP_SET, .collection = c, .key = "k", .value = "dated", .len = 5 },
		{ .type = PERSIST_OP_INCR, .collection = c, .key = "n", .delta = 1 },
	};
	int64_t times[] = { ct_wall_ms() - 1000, 0 };
	struct persist_error err;
	char id[96];
	int before = -1, ret;

	snprintf(id, sizeof(id), "%s:lww.once", ct.run);
	ret = persist_state_batch_once_dated(ct.a, id, ops, times, 2, &before, &err);
	if (ct_optional_missing(ret, &err, "batch_once_dated"))
		goto out;
	CT_OK(ret, &err);
	CT_EQ(before, 0);
	CT_OK(persist_state_delete(ct.a, c, "k", &err), &err);
	times[0] = ct_wall_ms() + 1000;
	before = -1;
	CT_OK(persist_state_batch_once_dated(ct.b, id, ops, times, 2, &before, &err), &err);
	CT_CHECK(before == 1, "batch_once_dated of an id applied before: expected "
		 "applied_before 1, got %d", before);
	EXPECT_NO_VALUE(ct.a, c, "k");
	EXPECT_VALUE(ct.a, c, "n", "1");
out:
	ct_sdel(ct.a, c, "k");
	ct_sdel(ct.a, c, "n");
	free(c);
}

/* How many times the listing e[0..n) names coll. */
static size_t ct_listed(const struct persist_entry *e, size_t n, const char *coll)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += e[i].key != NULL && strcmp(e[i].key, coll) == 0;
	return k;
}

/* Assert that the listing through p names coll `want` times (1 or 0). */
static void ct_expect_listed(persist *p, const char *coll, size_t want,
			     const char *how, int line)
{
	struct persist_entry *e = NULL;
	struct persist_error err;
	size_t n = 0, k;
	int ret = persist_state_collections(p, &e, &n, &err);

	if (!ct_check(ret == PERSIST_OK, __FILE__, line,
		      "collections: expected OK, got %s: %s", persist_strerror(ret),
		      err.msg))
		return;
	k = ct_listed(e, n, coll);
	ct_check(k == want, __FILE__, line, "collections: \"%s\" (%s) listed %zu "
		 "times, expected %zu", coll, how, k, want);
	persist_items_free(e, n);
}
#define EXPECT_LISTED(p, c, want, how) ct_expect_listed(p, c, want, how, __LINE__)

/* collections: a collection written by set, incr, append or a batch is
   listed once, through both handles; a dropped one is not; one whose only
   key was deleted may be; the list is sorted without duplicates. */
static void test_collections(void)
{
	char *c_set = ct_name_dup("st-coll-set"), *c_incr = ct_name_dup("st-coll-incr");
	char *c_log = ct_name_dup("st-coll-log"), *c_batch = ct_name_dup("st-coll-batch");
	char *c_del = ct_name_dup("st-coll-del"), *c_drop = ct_name_dup("st-coll-drop");
	int log = (ct.caps[PERSIST_KIND_STATE] & PERSIST_CAP_APPEND_LOG) != 0;
	struct persist_op ops[] = {
		{ .type = PERSIST_OP_SET, .collection = c_batch, .key = "k", .value = "v", .len = 1 },
		{ .type = PERSIST_OP_INCR, .collection = c_batch, .key = "n", .delta = 2 },
	};
	struct persist_entry *e = NULL;
	struct persist_error err;
	size_t n = 0;
	int64_t v;
	int ret, can_drop;

	ret = persist_state_collections(ct.a, &e, &n, &err);
	if (ct_optional_missing(ret, &err, "collections"))
		goto out;
	CT_OK(ret, &err);
	persist_items_free(e, n);
	CT_OK(ct_sset(ct.a, c_set, "k", "v", 0, &err), &err);
	CT_OK(persist_state_incr(ct.a, c_incr, "n", 1, &v, &err), &err);
	if (log)
		CT_OK(persist_state_append(ct.a, c_log, "{\"r\":1}", 7, &err), &err);
	CT_OK(persist_state_batch(ct.a, ops, 2, &err), &err);
	CT_OK(ct_sset(ct.a, c_del, "k", "v", 0, &err), &err);
	CT_OK(persist_state_delete(ct.a, c_del, "k", &err), &err);
	CT_OK(ct_sset(ct.a, c_drop, "k", "v", 0, &err), &err);
	if (log)
		CT_OK(persist_state_append(ct.a, c_drop, "{\"r\":1}", 7, &err), &err);
	ret = persist_state_drop(ct.b, c_drop, &err);
	can_drop = ret != PERSIST_ENOTSUP;
	if (can_drop)
		CT_OK(ret, &err);
	for (int h = 0; h < 2; h++) {
		persist *p = h == 0 ? ct.a : ct.b;

		EXPECT_LISTED(p, c_set, 1, "written by set");
		EXPECT_LISTED(p, c_incr, 1, "written by incr");
		if (log)
			EXPECT_LISTED(p, c_log, 1, "written by append");
		EXPECT_LISTED(p, c_batch, 1, "written by a batch");
		if (can_drop)
			EXPECT_LISTED(p, c_drop, 0, "dropped");
	}
	/* sorted, unique, every name a real one; the deleted may be there */
	e = NULL;
	n = 0;
	CT_OK(persist_state_collections(ct.a, &e, &n, &err), &err);
	for (size_t i = 0; i < n; i++) {
		if (!CT_CHECK(e[i].key != NULL && e[i].key[0] != '\0',
			      "collections: entry %zu has no name", i))
			break;
		if (i > 0 && !CT_CHECK(strcmp(e[i - 1].key, e[i].key) < 0,
				       "collections: not sorted and unique: \"%s\" before \"%s\"",
				       e[i - 1].key, e[i].key))
			break;
	}
	CT_CHECK(ct_listed(e, n, c_del) <= 1, "collections: \"%s\" (its only key "
		 "deleted) listed %zu times, expected at most once", c_del,
		 ct_listed(e, n, c_del));
	persist_items_free(e, n);
	/* a write after the drop makes a fresh collection, listed again */
	if (can_drop) {
		CT_OK(ct_sset(ct.b, c_drop, "k", "again", 0, &err), &err);
		EXPECT_LISTED(ct.a, c_drop, 1, "written again after its drop");
	}
	CT_EXPECT(persist_state_collections(ct.a, NULL, &n, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_collections(ct.a, &e, NULL, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_state_collections(NULL, &e, &n, &err), PERSIST_EINVAL, &err);
	ct_sdel(ct.a, c_set, "k");
	ct_sdel(ct.a, c_incr, "n");
	ct_sdel(ct.a, c_batch, "k");
	ct_sdel(ct.a, c_batch, "n");
	ct_sdel(ct.a, c_drop, "k");
out:
	free(c_set);
	free(c_incr);
	free(c_log);
	free(c_batch);
	free(c_del);
	free(c_drop);
}

/* scan gives the wall-clock expiry of each key: now + TTL for a key set
   with one, 0 for a key without. */
static void test_scan_expiry(void)
{
	char *c = ct_name_dup("st-scan-exp");
	struct persist_entry *e = NULL;
	struct persist_error err;
	size_t n = 0;
	int64_t before, after, v;

	before = ct_wall_ms();
	CT_OK(ct_sset(ct.a, c, "ttl", "v", 600000, &err), &err);
	after = ct_wall_ms();
	CT_OK(ct_sset(ct.a, c, "plain", "v", 0, &err), &err);
	CT_OK(persist_state_incr(ct.a, c, "count", 1, &v, &err), &err);
	CT_OK(persist_state_scan(ct.b, c, "", &e, &n, &err), &err);
	CT_EQ(n, 3);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(e[i].key, "ttl") == 0)
			/* a second of slack each way: clocks of a remote server */
			CT_CHECK(e[i].expires_ms >= before + 600000 - 1000 &&
				 e[i].expires_ms <= after + 600000 + 1000,
				 "scan: expires_ms of a key set with a TTL of 600000 ms "
				 "at %" PRId64 ": expected about %" PRId64 ", got %" PRId64,
				 before, before + 600000, e[i].expires_ms);
		else
			CT_CHECK(e[i].expires_ms == 0, "scan: expires_ms of key \"%s\" "
				 "set without a TTL: expected 0, got %" PRId64, e[i].key,
				 e[i].expires_ms);
	}
	persist_items_free(e, n);
	ct_sdel(ct.a, c, "ttl");
	ct_sdel(ct.a, c, "plain");
	ct_sdel(ct.a, c, "count");
	free(c);
}

/* THREADSAFE: threads using one handle on their own keys. */
#define MIX_THREADS 8
#define MIX_EACH 200

struct mix_worker {
	struct ct_worker report;
	const char *coll;
	int id;
};

/* Note a failure of a worker. */
static void mix_fail(struct mix_worker *w, const char *what, int ret,
		     const struct persist_error *err)
{
	ct_worker_fail(&w->report, "%s: %s: %s", what, persist_strerror(ret),
		       ret != PERSIST_OK ? err->msg : "wrong result");
}

/* set, get, scan, incr and delete of the worker's own keys. */
static void *mix_worker(void *arg)
{
	struct mix_worker *w = arg;
	struct persist_error err;
	char key[32], value[32], prefix[32];

	snprintf(prefix, sizeof(prefix), "w%d-", w->id);
	for (int i = 0; i < MIX_EACH; i++) {
		struct persist_entry *e = NULL;
		char *data = NULL;
		size_t len = 0, n = 0;
		int64_t v = 0;
		int ret;

		snprintf(key, sizeof(key), "w%d-k", w->id);
		snprintf(value, sizeof(value), "w%d-%d", w->id, i);
		if ((ret = persist_state_set(ct.a, w->coll, key, value, strlen(value), 0, &err)) != 0)
			mix_fail(w, "set", ret, &err);
		ret = persist_state_get(ct.a, w->coll, key, &data, &len, &err);
		if (ret != 0 || len != strlen(value) || memcmp(data, value, len) != 0)
			mix_fail(w, "get", ret, &err);
		persist_free(data);
		ret = persist_state_incr(ct.a, w->coll, prefix, 1, &v, &err);
		if (ret != 0 || v != i + 1)
			mix_fail(w, "incr", ret, &err);
		ret = persist_state_scan(ct.a, w->coll, prefix, &e, &n, &err);
		if (ret != 0 || n != 2)
			mix_fail(w, "scan", ret, &err);
		persist_items_free(e, n);
		if ((ret = persist_state_delete(ct.a, w->coll, key, &err)) != 0)
			mix_fail(w, "delete", ret, &err);
	}
	persist_state_delete(ct.a, w->coll, prefix, &err);
	return NULL;
}

/* THREADSAFE: MIX_THREADS workers at once on handle A. */
static void test_threads_mixed(void)
{
	char *c = ct_name_dup("st-threads");
	struct mix_worker w[MIX_THREADS];
	int failures;

	for (int i = 0; i < MIX_THREADS; i++)
		w[i] = (struct mix_worker){ .coll = c, .id = i };
	failures = ct_run_workers(mix_worker, w, sizeof(w[0]), MIX_THREADS, "worker", 1);
	CT_WORKERS_OK(failures);
	free(c);
}

/* TTL: an expired key is absent for scan, incr and delete even when no get
   touched it first (each probed in its own collection, so that no other
   call clears it on the way); incr keeps the TTL of the key it
   increments, and a counter incr creates has none. */
static void test_ttl_untouched(void)
{
	char *cs = ct_name_dup("st-ttl-scan"), *ci = ct_name_dup("st-ttl-incr");
	char *cd = ct_name_dup("st-ttl-del"), *cc = ct_name_dup("st-ttl-counter");
	struct persist_entry *e = NULL;
	struct persist_error err;
	int64_t v = 0;
	size_t n = 0;

	CT_OK(ct_sset(ct.a, cs, "scan", "s", 200, &err), &err);
	CT_OK(ct_sset(ct.a, cs, "stays", "t", 0, &err), &err);
	CT_OK(ct_sset(ct.a, ci, "incr", "41", 200, &err), &err);
	CT_OK(ct_sset(ct.a, cd, "del", "d", 200, &err), &err);
	CT_OK(ct_sset(ct.a, cc, "counter", "5", 400, &err), &err);
	CT_OK(persist_state_incr(ct.a, cc, "counter", 1, &v, &err), &err);
	CT_EQ(v, 6);
	CT_OK(persist_state_incr(ct.a, cc, "fresh", 1, &v, &err), &err);
	ct_sleep_ms(700);
	/* nothing has read these keys since they expired */
	n = 0;
	CT_OK(persist_state_scan(ct.b, cs, "", &e, &n, &err), &err);
	CT_CHECK(n == 1 && e != NULL && strcmp(e[0].key, "stays") == 0,
		 "scan after a key expired (no get before): expected only \"stays\" (no TTL), "
		 "got %zu keys, the first \"%s\"", n, n > 0 && e != NULL ? e[0].key : "");
	persist_items_free(e, n);
	CT_OK(persist_state_incr(ct.a, ci, "incr", 1, &v, &err), &err);
	CT_CHECK(v == 1, "incr of an expired key that held \"41\" (no get before): expected 1 "
		 "(it starts again at 0), got %" PRId64, v);
	CT_EXPECT(persist_state_delete(ct.a, cd, "del", &err), PERSIST_ENOTFOUND, &err);
	/* the counter kept the TTL of the value it was incremented from */
	n = 0;
	CT_OK(persist_state_scan(ct.a, cc, "", &e, &n, &err), &err);
	CT_CHECK(n == 1 && e != NULL && strcmp(e[0].key, "fresh") == 0,
		 "counter incremented from a value with a TTL: expected it expired with that "
		 "TTL (only \"fresh\" left), got %zu keys, the first \"%s\"", n,
		 n > 0 && e != NULL ? e[0].key : "");
	persist_items_free(e, n);
	EXPECT_NO_VALUE(ct.a, cc, "counter");
	EXPECT_VALUE(ct.a, cc, "fresh", "1");
	ct_sdel(ct.a, cs, "stays");
	ct_sdel(ct.a, ci, "incr");
	ct_sdel(ct.a, cc, "fresh");
	free(cs);
	free(ci);
	free(cd);
	free(cc);
}

/* TTL: a batch SET with a TTL expires; a batch INCR keeps the TTL. */
static void test_ttl_batch(void)
{
	char *c = ct_name_dup("st-ttl-batch");
	struct persist_op ops[] = {
		{ .type = PERSIST_OP_SET, .collection = c, .key = "t", .value = "1", .len = 1,
		  .ttl_ms = 200 },
		{ .type = PERSIST_OP_SET, .collection = c, .key = "keep", .value = "k", .len = 1 },
	};
	struct persist_error err;

	CT_OK(persist_state_batch(ct.a, ops, 2, &err), &err);
	EXPECT_VALUE(ct.a, c, "keep", "k");
	ct_sleep_ms(500);
	EXPECT_NO_VALUE(ct.a, c, "t");
	EXPECT_VALUE(ct.a, c, "keep", "k");
	ct_sdel(ct.a, c, "keep");
	free(c);
}

/* Batch: deleting an absent key is not an error; the batch applies. */
static void test_batch_delete_absent(void)
{
	char *c = ct_name_dup("st-batch-del");
	struct persist_op ops[] = {
		{ .type = PERSIST_OP_DELETE, .collection = c, .key = "never" },
		{ .type = PERSIST_OP_SET, .collection = c, .key = "k", .value = "v", .len = 1 },
		{ .type = PERSIST_OP_DELETE, .collection = c, .key = "gone" },
		{ .type = PERSIST_OP_DELETE, .collection = ct_name("st-batch-del-never"),
		  .key = "x" },
	};
	struct persist_error err;
	int ret;

	CT_OK(ct_sset(ct.a, c, "gone", "g", 0, &err), &err);
	ret = persist_state_batch(ct.a, ops, 4, &err);
	CT_CHECK(ret == PERSIST_OK, "batch deleting absent keys: expected OK (a batch delete "
		 "of an absent key is no error), got %s: %s", persist_strerror(ret),
		 ret != PERSIST_OK ? err.msg : "");
	EXPECT_VALUE(ct.a, c, "k", "v");
	EXPECT_NO_VALUE(ct.a, c, "gone");
	EXPECT_NO_VALUE(ct.a, c, "never");
	ct_sdel(ct.a, c, "k");
	free(c);
}

/* Readers racing one writer on ONE key. */
#define RACE_READERS 4
#define RACE_WRITES 2000

struct race_reader {
	struct ct_worker report;
	persist *p;
	const char *coll;
	volatile int *done;
	long reads;
};

/* The value of write i: "i:" then i % 97 + 1 copies of the letter of i. */
static size_t race_value(int i, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%d:", i);

	for (int j = 0; j < i % 97 + 1 && (size_t)n + 1 < size; j++)
		buf[n++] = (char)('a' + i % 26);
	buf[n] = '\0';
	return (size_t)n;
}

/* Read the key until the writer is done: every value read must be one
   the writer wrote, whole, and never older than one read before. */
static void *race_reader(void *arg)
{
	struct race_reader *r = arg;
	struct persist_error err;
	int last = -1;

	while (!__atomic_load_n(r->done, __ATOMIC_ACQUIRE)) {
		char *data = NULL, want[160];
		size_t len = 0;
		int i = -1, ret = persist_state_get(r->p, r->coll, "one", &data, &len, &err);

		r->reads++;
		if (ret != PERSIST_OK) {
			ct_worker_fail(&r->report, "get while a writer rewrites the key: %s: %s",
				       persist_strerror(ret), err.msg);
			continue;
		}
		if (data == NULL || sscanf(data, "%d:", &i) != 1 || i < 0 || i >= RACE_WRITES ||
		    race_value(i, want, sizeof(want)) != len || memcmp(want, data, len) != 0)
			ct_worker_fail(&r->report, "read \"%.40s\" (%zu bytes): not a value the "
				       "writer wrote (a torn or mixed value)", data ? data : "", len);
		else if (i < last)
			ct_worker_fail(&r->report, "read write %d after write %d: a reader saw "
				       "an older value after a newer one", i, last);
		else
			last = i;
		persist_free(data);
	}
	return NULL;
}

/* THREADSAFE: RACE_READERS readers (both handles) while one writer
   rewrites the same key RACE_WRITES times with values of varying length. */
static void test_race_one_key(void)
{
	char *c = ct_name_dup("st-race");
	struct race_reader r[RACE_READERS];
	pthread_t t[RACE_READERS];
	volatile int done = 0;
	struct persist_error err;
	int failures = 0, write_failures = 0;
	char value[160];

	CT_OK(persist_state_set(ct.a, c, "one", value, race_value(0, value, sizeof(value)),
				0, &err), &err);
	for (int i = 0; i < RACE_READERS; i++) {
		r[i] = (struct race_reader){ .p = i % 2 ? ct.b : ct.a, .coll = c, .done = &done };
		pthread_create(&t[i], NULL, race_reader, &r[i]);
	}
	for (int i = 1; i < RACE_WRITES; i++) {
		size_t len = race_value(i, value, sizeof(value));

		if (persist_state_set(ct.a, c, "one", value, len, 0, &err) != PERSIST_OK &&
		    write_failures++ == 0)
			CT_CHECK(0, "set %d while readers read the key: %s", i, err.msg);
	}
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < RACE_READERS; i++) {
		pthread_join(t[i], NULL);
		if (r[i].report.failures > 0 && failures == 0)
			CT_CHECK(0, "reader %d: %d bad reads of %ld; the first: %s", i,
				 r[i].report.failures, r[i].reads, r[i].report.err);
		failures += r[i].report.failures;
	}
	race_value(RACE_WRITES - 1, value, sizeof(value));
	EXPECT_VALUE(ct.b, c, "one", value);
	ct_sdel(ct.a, c, "one");
	free(c);
}

/* Register the state suites for what the provider claims. */
int ct_register_state(char *tested, size_t size)
{
#define S_KEYS "Values and keys"
#define S_COUNT "Counters"
#define S_TTL "Expiry (TTL)"
#define S_LOG "Append logs"
#define S_BATCH "Batches"
#define S_THREADS "Threads"
#define S_ARGS "Arguments and errors"
#define S_DROP "Dropping and trimming (drop, trim_log, log_bounds: optional, since 1.1)"
#define S_ONCE "Exactly-once batches (batch_once: optional, since 1.2)"
#define S_ENUM "Enumeration (collections: optional, since 1.3)"
#define S_LWW "Last writer wins (batch_once_dated: optional, since 1.4)"
	static const struct ct_test tests[] = {
		{ 0, "get, set, delete", test_basic, "state.kv.basic", S_KEYS,
		  "a value set is read back byte for byte on both handles; delete removes it; "
		  "get and delete of an absent key answer NOTFOUND" },
		{ 0, "scan with prefix", test_scan, "state.scan.prefix", S_KEYS,
		  "scan returns exactly the live keys starting with the prefix, with their values" },
		{ 0, "binary, empty and 2 MiB values", test_values, "state.kv.bytes", S_KEYS,
		  "values are bytes: every byte value, empty and 2 MiB values round-trip "
		  "unchanged and NUL-terminated" },
		{ 0, "incr", test_incr, "state.incr.basic", S_COUNT,
		  "incr creates a counter at 0, returns the new value, reads back as decimal "
		  "text, and refuses non-integers and int64 overflow with EINVAL naming the key" },
		{ 0, "counter text", test_incr_text, "state.incr.text", S_COUNT,
		  "only canonical decimal text -?(0|[1-9][0-9]*) can be incremented (no "
		  "leading zeros, no \"-0\", no sign or spaces around it)" },
		{ 0, "bad names, keys and arguments", test_bad_input, "state.args", S_ARGS,
		  "bad collection names, bad keys and NULL arguments answer EINVAL and change "
		  "nothing" },
		{ 0, "flush", test_flush, "state.flush", S_KEYS, "flush answers OK" },
		{ 0, "drop a collection", test_drop, "state.drop", S_DROP,
		  "drop removes every key and the log of one collection and nothing else; "
		  "the log is numbered from 0 again; dropping an absent collection is OK" },
		{ 0, "batch delete of an absent key", test_batch_delete_absent,
		  "state.batch.delete-absent", S_BATCH,
		  "deleting an absent key inside a batch is no error: the batch applies" },
		{ 0, "exactly-once batches", test_batch_once, "state.batch.once", S_ONCE,
		  "batch_once applies a batch once: the same id again, through any handle, "
		  "applies nothing and answers applied_before 1; another id applies again; "
		  "a batch that failed leaves its id unused; bad ids are refused "
		  "(batch_once is optional: a provider without it is reported)" },
		{ 0, "dated writes: the later wins", test_lww_order, "state.lww.order", S_LWW,
		  "a dated set or delete is skipped when its key was set or deleted later, "
		  "applied otherwise (an equal time applies), in whatever order they come; "
		  "two of one key in one batch are judged in turn; bad times are refused "
		  "(batch_once_dated is optional: a provider without it is reported)" },
		{ 0, "undated writes are dated now", test_lww_direct, "state.lww.direct", S_LWW,
		  "set, batch and batch_once record the clock: a dated write made before "
		  "them is skipped, one made after applies, through either handle" },
		{ 0, "a key's time outlives it", test_lww_delete, "state.lww.delete", S_LWW,
		  "after a delete, or once a TTL ran out, a dated set made before does not "
		  "bring the key back; one made after does" },
		{ 0, "drop forgets the times", test_lww_drop, "state.lww.drop", S_LWW,
		  "after a drop, a dated write older than the dropped keys' writes applies" },
		{ 0, "increments are not dated", test_lww_incr, "state.lww.incr", S_LWW,
		  "an increment in a dated batch applies whatever its time, and leaves no "
		  "time that would stop an older set" },
		{ 0, "a dated batch applies once", test_lww_once, "state.lww.once", S_LWW,
		  "the id of a dated batch again, through either handle, applies nothing and "
		  "answers applied_before 1" },
		{ 0, "list the collections", test_collections, "state.collections", S_ENUM,
		  "collections lists each collection written by set, incr, append or a batch "
		  "once, through every handle, sorted; a dropped collection is not listed "
		  "(collections is optional: a provider without it is reported)" },
		{ PERSIST_CAP_TTL, "expiry", test_ttl, "state.ttl.expiry", S_TTL,
		  "a key with a TTL vanishes from get and scan after it; keys without stay; "
		  "a set without TTL clears one" },
		{ PERSIST_CAP_TTL, "expired keys not read first", test_ttl_untouched,
		  "state.ttl.untouched", S_TTL,
		  "an expired key is absent for scan, incr and delete even when no get touched "
		  "it; incr keeps the TTL of the key it increments" },
		{ PERSIST_CAP_TTL, "TTL in a batch", test_ttl_batch, "state.ttl.batch", S_TTL,
		  "a SET with a TTL inside a batch expires like a single set" },
		{ PERSIST_CAP_TTL, "expiry in scan", test_scan_expiry, "state.scan.expiry", S_ENUM,
		  "scan gives each key's wall-clock expiry: about now + TTL for a key set "
		  "with one, 0 for a key without" },
		{ PERSIST_CAP_ATOMIC_INCR, "8 threads x 10000", test_incr_threads,
		  "state.incr.atomic", S_COUNT,
		  "increments from many threads add up exactly, each returning its own value" },
		{ PERSIST_CAP_ATOMIC_INCR, "two handles", test_incr_two_handles,
		  "state.incr.atomic-handles", S_COUNT,
		  "increments through two handles (two instances) add up exactly" },
		{ PERSIST_CAP_APPEND_LOG, "order, offsets, limits", test_log, "state.log.read",
		  S_LOG, "records are numbered 0, 1, 2, ... in append order; read_log(from, max) "
		  "returns exactly records from..from+max-1; the log is not a key space" },
		{ PERSIST_CAP_APPEND_LOG, "trim", test_log_trim, "state.log.trim", S_DROP,
		  "trim_log(before) removes the records below before and keeps every "
		  "number: reads from below start at the first kept record, appends go on "
		  "from the same next number; 0 or a number not above the first changes "
		  "nothing; beyond the end answers EINVAL naming the next number" },
		{ PERSIST_CAP_APPEND_LOG, "concurrent appends", test_log_threads,
		  "state.log.concurrent", S_LOG,
		  "concurrent appends each land exactly once, in each writer's order" },
		{ PERSIST_CAP_BATCH, "set_batch", test_set_batch, "state.batch.set", S_BATCH,
		  "set_batch sets every key" },
		{ PERSIST_CAP_BATCH, "mixed operations", test_batch_mixed, "state.batch.mixed",
		  S_BATCH, "a batch of SET, INCR, DELETE and APPEND over two collections is "
		  "applied whole" },
		{ PERSIST_CAP_BATCH, "all or nothing", test_batch_all_or_nothing,
		  "state.batch.atomic", S_BATCH,
		  "a batch that fails applies nothing (or answers UNCERTAIN)" },
		{ PERSIST_CAP_THREADSAFE, "concurrent use of one handle", test_threads_mixed,
		  "state.threads.mixed", S_THREADS,
		  "threads using one handle on their own keys each see their own writes" },
		{ PERSIST_CAP_THREADSAFE, "readers racing a writer on one key", test_race_one_key,
		  "state.threads.one-key", S_THREADS,
		  "readers of a key being rewritten see only whole values that were written, "
		  "never an older one after a newer one" },
		{ 0, NULL, NULL, NULL, NULL, NULL }
	};

	return ct_add_kind_suites(tested, size, PERSIST_KIND_STATE, "state", tests);
}
