/*
 * t/conformance/config-tests.c - conformance of a configuration provider:
 * documents and ETags, compare-and-swap, listing, bad input, big and oddly
 * named documents, and per capability: change notification (including
 * changes made through a second handle), TTL expiry, and a real
 * compare-and-swap under contention.
 *
 * Every key starts with the run's unique prefix and every test deletes what
 * it created, so runs against persistent backends do not disturb each other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conformance.h"

/* Set a document; the new ETag to etag_r (may be NULL). */
static int ct_set(persist *p, const char *key, const char *doc,
		  char etag_r[PERSIST_ETAG_MAX], struct persist_error *err)
{
	return persist_config_set(p, key, doc, strlen(doc), NULL, 0, etag_r, err);
}

/* Assert that key holds doc with ETag etag (NULL: don't check) on p. */
static void ct_expect_doc(persist *p, const char *key, const char *doc,
			  const char *etag, int line)
{
	struct persist_error err;
	char *data = NULL;
	size_t len = 0;
	char got_etag[PERSIST_ETAG_MAX] = "";
	int ret = persist_config_get(p, key, &data, &len, got_etag, &err);

	ct_expect_status(ret, PERSIST_OK, &err, "persist_config_get", __FILE__, line);
	if (ret != PERSIST_OK)
		return;
	ct_expect_bytes(data, len, doc, strlen(doc), "document", __FILE__, line);
	CU_assertImplementation(data != NULL && data[len] == '\0', (unsigned)line,
				"data is NUL-terminated", __FILE__, "", CU_FALSE);
	if (etag != NULL) {
		if (strcmp(etag, got_etag) != 0)
			printf("\n    ETag %s, expected %s\n", got_etag, etag);
		CU_assertImplementation(strcmp(etag, got_etag) == 0, (unsigned)line,
					"ETag of get", __FILE__, "", CU_FALSE);
	}
	persist_free(data);
}

/* Assert that key is absent on p. */
static void ct_expect_absent(persist *p, const char *key, int line)
{
	struct persist_error err;
	char *data = NULL;

	ct_expect_status(persist_config_get(p, key, &data, NULL, NULL, &err),
			 PERSIST_ENOTFOUND, &err, "persist_config_get (absent)",
			 __FILE__, line);
	persist_free(data);
}

/* Delete key if present (cleanup; a failure other than not-found counts). */
static void ct_cleanup(persist *p, const char *key)
{
	struct persist_error err;
	int ret = persist_config_delete(p, key, NULL, &err);

	if (ret != PERSIST_ENOTFOUND)
		CT_OK(ret, &err);
}

/* get of a key never set: not found, outputs untouched. */
static void test_get_absent(void)
{
	struct persist_error err;
	char sentinel, *data = &sentinel;
	size_t len = 12345;

	CT_EXPECT(persist_config_get(ct.a, ct_name("cfg-absent"), &data, &len, NULL, &err),
		  PERSIST_ENOTFOUND, &err);
	CU_ASSERT_PTR_EQUAL(data, &sentinel);
	CU_ASSERT_EQUAL(len, 12345);
	CU_ASSERT_EQUAL(err.code, PERSIST_ENOTFOUND);
	CU_ASSERT(strlen(err.msg) > 0);
}

/* set then get: same bytes, ETag of the bytes. */
static void test_set_get(void)
{
	const char *key = ct_name("cfg-setget");
	const char *doc = "{\"name\":\"conformance\",\"n\":[1,2,3],\"nested\":{\"ok\":true}}";
	char etag[PERSIST_ETAG_MAX] = "", want[PERSIST_ETAG_MAX];
	char got_etag[PERSIST_ETAG_MAX] = "";
	struct persist_error err;

	persist_etag(doc, strlen(doc), want);
	CU_ASSERT(strlen(want) > 0 && strlen(want) < PERSIST_ETAG_MAX);
	CT_OK(ct_set(ct.a, key, doc, etag, &err), &err);
	CU_ASSERT_STRING_EQUAL(etag, want);
	ct_expect_doc(ct.a, key, doc, want, __LINE__);
	/* data_r may be NULL: only the ETag */
	CT_OK(persist_config_get(ct.a, key, NULL, NULL, got_etag, &err), &err);
	CU_ASSERT_STRING_EQUAL(got_etag, want);
	/* the other handle sees it too */
	ct_expect_doc(ct.b, key, doc, want, __LINE__);
	ct_cleanup(ct.a, key);
}

/* The ETag changes exactly when the bytes change. */
static void test_etag_changes(void)
{
	const char *key = ct_name("cfg-etag");
	const char *d1 = "{\"a\":1}", *d2 = "{\"a\": 1}", *d3 = "{\"a\":2}";
	char e1[PERSIST_ETAG_MAX] = "", e1b[PERSIST_ETAG_MAX] = "";
	char e2[PERSIST_ETAG_MAX] = "", e3[PERSIST_ETAG_MAX] = "";
	char want[PERSIST_ETAG_MAX];
	struct persist_error err;

	CT_OK(ct_set(ct.a, key, d1, e1, &err), &err);
	CT_OK(ct_set(ct.a, key, d1, e1b, &err), &err);
	CU_ASSERT_STRING_EQUAL(e1, e1b);
	CT_OK(ct_set(ct.a, key, d2, e2, &err), &err);
	CU_ASSERT_STRING_NOT_EQUAL(e1, e2);
	CT_OK(ct_set(ct.a, key, d3, e3, &err), &err);
	CU_ASSERT_STRING_NOT_EQUAL(e2, e3);
	CU_ASSERT_STRING_NOT_EQUAL(e1, e3);
	persist_etag(d3, strlen(d3), want);
	CU_ASSERT_STRING_EQUAL(e3, want);
	ct_expect_doc(ct.a, key, d3, e3, __LINE__);
	/* back to the first content: back to the first ETag */
	CT_OK(ct_set(ct.a, key, d1, e1b, &err), &err);
	CU_ASSERT_STRING_EQUAL(e1, e1b);
	ct_expect_doc(ct.a, key, d1, e1, __LINE__);
	for (const char *c = e1; *c != '\0'; c++)
		CU_ASSERT(*c > ' ' && *c < 0x7f);
	ct_cleanup(ct.a, key);
}

/* if_match: current matches, stale and absent conflict. */
static void test_if_match(void)
{
	const char *key = ct_name("cfg-ifmatch");
	const char *d1 = "{\"v\":1}", *d2 = "{\"v\":2}", *d3 = "{\"v\":3}";
	char e1[PERSIST_ETAG_MAX] = "", e2[PERSIST_ETAG_MAX] = "";
	struct persist_error err;

	/* an absent document never matches, not even its would-be ETag */
	persist_etag(d1, strlen(d1), e1);
	CT_EXPECT(persist_config_set(ct.a, key, d1, strlen(d1), e1, 0, NULL, &err),
		  PERSIST_ECONFLICT, &err);
	CT_EXPECT(persist_config_set(ct.a, key, d1, strlen(d1), "\"nope\"", 0, NULL, &err),
		  PERSIST_ECONFLICT, &err);
	ct_expect_absent(ct.a, key, __LINE__);
	CT_EXPECT(persist_config_delete(ct.a, key, e1, &err), PERSIST_ENOTFOUND, &err);

	CT_OK(ct_set(ct.a, key, d1, e1, &err), &err);
	CT_OK(persist_config_set(ct.a, key, d2, strlen(d2), e1, 0, e2, &err), &err);
	CU_ASSERT_STRING_NOT_EQUAL(e1, e2);
	/* e1 is stale now */
	CT_EXPECT(persist_config_set(ct.a, key, d3, strlen(d3), e1, 0, NULL, &err),
		  PERSIST_ECONFLICT, &err);
	CU_ASSERT_EQUAL(err.code, PERSIST_ECONFLICT);
	ct_expect_doc(ct.a, key, d2, e2, __LINE__);
	CT_EXPECT(persist_config_delete(ct.a, key, e1, &err), PERSIST_ECONFLICT, &err);
	ct_expect_doc(ct.a, key, d2, e2, __LINE__);
	CT_OK(persist_config_delete(ct.a, key, e2, &err), &err);
	ct_expect_absent(ct.a, key, __LINE__);
}

/* delete: gone afterwards; deleting again is not found. */
static void test_delete(void)
{
	const char *key = ct_name("cfg-delete");
	struct persist_error err;

	CT_OK(ct_set(ct.a, key, "{}", NULL, &err), &err);
	ct_expect_doc(ct.a, key, "{}", NULL, __LINE__);
	CT_OK(persist_config_delete(ct.a, key, NULL, &err), &err);
	ct_expect_absent(ct.a, key, __LINE__);
	ct_expect_absent(ct.b, key, __LINE__);
	CT_EXPECT(persist_config_delete(ct.a, key, NULL, &err), PERSIST_ENOTFOUND, &err);
	CT_EXPECT(persist_config_delete(ct.a, ct_name("cfg-never"), NULL, &err),
		  PERSIST_ENOTFOUND, &err);
}

/* Keys of the list starting with prefix, in the order listed. */
static size_t ct_list_prefix(persist *p, const char *prefix, char **keys, size_t max,
			     int *sorted_r)
{
	struct persist_entry *entries = NULL;
	struct persist_error err;
	size_t n = 0, found = 0;

	*sorted_r = 1;
	CT_OK(persist_config_list(p, &entries, &n, &err), &err);
	for (size_t i = 0; i < n; i++) {
		CU_ASSERT_PTR_NOT_NULL(entries[i].key);
		if (entries[i].key == NULL)
			continue;
		if (i > 0 && entries[i - 1].key != NULL &&
		    strcmp(entries[i - 1].key, entries[i].key) >= 0)
			*sorted_r = 0;
		if (strncmp(entries[i].key, prefix, strlen(prefix)) == 0 && found < max)
			keys[found++] = strdup(entries[i].key);
	}
	persist_items_free(entries, n);
	return found;
}

/* list: exactly the keys set, sorted. */
static void test_list(void)
{
	char *prefix = ct_name_dup("cfg-list-");
	char *k[3], *got[8];
	int sorted;
	size_t n;
	struct persist_error err;

	for (int i = 0; i < 3; i++) {
		char what[32];

		snprintf(what, sizeof(what), "cfg-list-%c", "bca"[i]);
		k[i] = ct_name_dup(what);
		CT_OK(ct_set(ct.a, k[i], "{\"listed\":true}", NULL, &err), &err);
	}
	n = ct_list_prefix(ct.a, prefix, got, 8, &sorted);
	CU_ASSERT(sorted);
	CU_ASSERT_EQUAL(n, 3);
	if (n == 3) {
		/* k[] was set in the order b, c, a */
		CU_ASSERT_STRING_EQUAL(got[0], k[2]);
		CU_ASSERT_STRING_EQUAL(got[1], k[0]);
		CU_ASSERT_STRING_EQUAL(got[2], k[1]);
	}
	for (size_t i = 0; i < n; i++)
		free(got[i]);
	CT_OK(persist_config_delete(ct.a, k[1], NULL, &err), &err);
	n = ct_list_prefix(ct.a, prefix, got, 8, &sorted);
	CU_ASSERT_EQUAL(n, 2);
	if (n == 2) {
		CU_ASSERT_STRING_EQUAL(got[0], k[2]);
		CU_ASSERT_STRING_EQUAL(got[1], k[0]);
	}
	for (size_t i = 0; i < n; i++)
		free(got[i]);
	for (int i = 0; i < 3; i++) {
		ct_cleanup(ct.a, k[i]);
		free(k[i]);
	}
	n = ct_list_prefix(ct.a, prefix, got, 8, &sorted);
	CU_ASSERT_EQUAL(n, 0);
	for (size_t i = 0; i < n; i++)
		free(got[i]);
	free(prefix);
}

/* get_many: one entry per key, in order, with per-key status. */
static void test_get_many(void)
{
	char *k1 = ct_name_dup("cfg-many-1"), *k2 = ct_name_dup("cfg-many-2");
	char *k3 = ct_name_dup("cfg-many-3");
	const char *keys[3] = { k1, k2, k3 };
	const char *bad[2] = { k1, "" };
	const char *d1 = "{\"k\":1}", *d3 = "[3]";
	char e1[PERSIST_ETAG_MAX] = "", e3[PERSIST_ETAG_MAX] = "";
	struct persist_entry *entries = NULL;
	struct persist_error err;

	CT_OK(ct_set(ct.a, k1, d1, e1, &err), &err);
	CT_OK(ct_set(ct.a, k3, d3, e3, &err), &err);
	CT_OK(persist_config_get_many(ct.a, keys, 3, &entries, &err), &err);
	if (entries != NULL) {
		CU_ASSERT_EQUAL(entries[0].status, PERSIST_OK);
		CT_EXPECT_BYTES(entries[0].value, entries[0].len, d1, strlen(d1));
		CU_ASSERT_STRING_EQUAL(entries[0].etag, e1);
		CU_ASSERT_EQUAL(entries[1].status, PERSIST_ENOTFOUND);
		CU_ASSERT_PTR_NULL(entries[1].value);
		CU_ASSERT_EQUAL(entries[2].status, PERSIST_OK);
		CT_EXPECT_BYTES(entries[2].value, entries[2].len, d3, strlen(d3));
		CU_ASSERT_STRING_EQUAL(entries[2].etag, e3);
		for (int i = 0; i < 3; i++) {
			CU_ASSERT(entries[i].key != NULL &&
				  strcmp(entries[i].key, keys[i]) == 0);
		}
		persist_items_free(entries, 3);
	}
	/* one bad key fails the whole call */
	entries = NULL;
	CT_EXPECT(persist_config_get_many(ct.a, bad, 2, &entries, &err),
		  PERSIST_EINVAL, &err);
	CU_ASSERT_PTR_NULL(entries);
	ct_cleanup(ct.a, k1);
	ct_cleanup(ct.a, k3);
	free(k1);
	free(k2);
	free(k3);
}

/* Documents that are not JSON are refused and nothing is stored. */
static void test_invalid_json(void)
{
	static const char *const bad[] = {
		"{\"a\":", "not json", "", "{\"a\":1} trailing", "{'a':1}",
		"{\"a\":1,}", "[1,2", "\"unterminated",
	};
	const char *key = ct_name("cfg-badjson");
	struct persist_error err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = persist_config_set(ct.a, key, bad[i], strlen(bad[i]), NULL, 0,
					     NULL, &err);

		if (ret != PERSIST_EINVAL)
			printf("\n    document '%s' was not refused as invalid JSON\n", bad[i]);
		CT_EXPECT(ret, PERSIST_EINVAL, &err);
		if (ret == PERSIST_OK)
			ct_cleanup(ct.a, key);
	}
	/* JSON with a NUL byte inside is not valid either */
	CT_EXPECT(persist_config_set(ct.a, key, "{\"a\":\0}", 7, NULL, 0, NULL, &err),
		  PERSIST_EINVAL, &err);
	ct_expect_absent(ct.a, key, __LINE__);
	/* any JSON value is a document, not only objects */
	CT_OK(ct_set(ct.a, key, "[1,2,3]", NULL, &err), &err);
	ct_expect_doc(ct.a, key, "[1,2,3]", NULL, __LINE__);
	ct_cleanup(ct.a, key);
}

/* Keys that are empty, too long, not UTF-8 or with control characters. */
static void test_bad_keys(void)
{
	char long_key[PERSIST_KEY_MAX + 2];
	const char *bad[] = {
		"", long_key, "\xff\xfe", "bad-\xc0\xaf-overlong", "bad-\xe2\x82",
		"bad-\xed\xa0\x80-surrogate", "a\nb", "a\tb", "a\x01", "a\x7f" "b",
	};
	struct persist_error err;
	uint64_t id = 0;
	char *data = NULL;
	struct ct_recorder rec;
	int ret;

	ct_recorder_init(&rec);
	memset(long_key, 'k', PERSIST_KEY_MAX + 1);
	long_key[PERSIST_KEY_MAX + 1] = '\0';
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CT_EXPECT(persist_config_set(ct.a, bad[i], "{}", 2, NULL, 0, NULL, &err),
			  PERSIST_EINVAL, &err);
		CT_EXPECT(persist_config_get(ct.a, bad[i], &data, NULL, NULL, &err),
			  PERSIST_EINVAL, &err);
		CT_EXPECT(persist_config_delete(ct.a, bad[i], NULL, &err),
			  PERSIST_EINVAL, &err);
		ret = persist_config_subscribe(ct.a, bad[i], ct_config_cb, &rec, &id, &err);
		CT_EXPECT(ret, PERSIST_EINVAL, &err);
		if (ret == PERSIST_OK)
			persist_config_unsubscribe(ct.a, id, &err);
	}
	ct_recorder_free(&rec);
	CU_ASSERT_PTR_NULL(data);
}

/* A key of exactly PERSIST_KEY_MAX bytes is valid for the core; a provider
   with stricter rules may refuse it with PERSIST_EINVAL, else it must
   round-trip. */
static void test_longest_key(void)
{
	char key[PERSIST_KEY_MAX + 1];
	size_t prefix = strlen(ct.run);
	struct persist_error err;
	int ret;

	memset(key, 'm', PERSIST_KEY_MAX);
	memcpy(key, ct.run, prefix);
	key[PERSIST_KEY_MAX] = '\0';
	ret = persist_config_set(ct.a, key, "{\"long\":1}", 10, NULL, 0, NULL, &err);
	if (ret == PERSIST_EINVAL) {
		printf("\n    note: provider refuses %d-byte keys: %s\n", PERSIST_KEY_MAX, err.msg);
		return;
	}
	CT_OK(ret, &err);
	ct_expect_doc(ct.a, key, "{\"long\":1}", NULL, __LINE__);
	ct_cleanup(ct.a, key);
}

/* NULL arguments are refused, never a crash. */
static void test_null_args(void)
{
	const char *key = ct_name("cfg-null");
	const char *keys[1] = { key };
	struct persist_entry *entries = NULL;
	struct persist_error err;
	size_t n = 0;
	uint64_t id = 0;
	char *data = NULL;

	CT_EXPECT(persist_config_get(NULL, key, &data, NULL, NULL, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_config_get(ct.a, NULL, &data, NULL, NULL, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_config_set(NULL, key, "{}", 2, NULL, 0, NULL, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_config_set(ct.a, NULL, "{}", 2, NULL, 0, NULL, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_config_set(ct.a, key, NULL, 2, NULL, 0, NULL, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_config_set(ct.a, key, "{}", 2, NULL, -5, NULL, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_config_delete(NULL, key, NULL, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_config_delete(ct.a, NULL, NULL, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_config_list(NULL, &entries, &n, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_config_list(ct.a, NULL, &n, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_config_list(ct.a, &entries, NULL, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_config_get_many(NULL, keys, 1, &entries, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_config_get_many(ct.a, NULL, 1, &entries, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_config_get_many(ct.a, keys, 1, NULL, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_config_subscribe(ct.a, key, NULL, NULL, &id, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_config_subscribe(NULL, key, ct_config_cb, NULL, &id, &err),
		  PERSIST_EINVAL, &err);
	CT_EXPECT(persist_config_unsubscribe(NULL, 1, &err), PERSIST_EINVAL, &err);
	/* err itself may be NULL */
	CU_ASSERT_EQUAL(persist_config_get(ct.a, NULL, &data, NULL, NULL, NULL), PERSIST_EINVAL);
	CU_ASSERT_PTR_NULL(data);
	CU_ASSERT_PTR_NULL(entries);
	ct_expect_absent(ct.a, key, __LINE__);
}

/* A 4 MiB document round-trips. */
static void test_huge(void)
{
	const char *key = ct_name("cfg-huge");
	size_t size = 4u << 20, len;
	char *doc = malloc(size + 1);
	char etag[PERSIST_ETAG_MAX] = "", want[PERSIST_ETAG_MAX];
	struct persist_error err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	len = (size_t)snprintf(doc, size, "{\"blob\":\"");
	while (len < size - 2) {
		doc[len] = (char)('a' + (len * 7) % 26);
		len++;
	}
	doc[len++] = '"';
	doc[len++] = '}';
	doc[len] = '\0';
	persist_etag(doc, len, want);
	CT_OK(persist_config_set(ct.a, key, doc, len, NULL, 0, etag, &err), &err);
	CU_ASSERT_STRING_EQUAL(etag, want);
	ct_expect_doc(ct.a, key, doc, want, __LINE__);
	ct_cleanup(ct.a, key);
	free(doc);
}

/* Keys with spaces, wildcards and UTF-8 round-trip and are listed. */
static void test_odd_keys(void)
{
	static const char *const whats[] = {
		"cfg with spaces", "cfg*star", "cfg?what", "cfg-ünïcödé-日本語-🙂",
		"cfg.dots_and-dashes", "cfg[brackets]{braces}", "cfg%41%",
	};
	enum { N = sizeof(whats) / sizeof(whats[0]) };
	char *keys[N], *got[N + 1];
	int sorted;
	size_t n;
	struct persist_error err;

	for (size_t i = 0; i < N; i++) {
		char doc[64];

		keys[i] = ct_name_dup(whats[i]);
		snprintf(doc, sizeof(doc), "{\"i\":%zu}", i);
		CT_OK(ct_set(ct.a, keys[i], doc, NULL, &err), &err);
	}
	for (size_t i = 0; i < N; i++) {
		char doc[64];

		snprintf(doc, sizeof(doc), "{\"i\":%zu}", i);
		ct_expect_doc(ct.a, keys[i], doc, NULL, __LINE__);
	}
	n = ct_list_prefix(ct.a, ct_name("cfg"), got, N + 1, &sorted);
	/* other tests' keys start with "cfg-" too; count ours */
	{
		size_t ours = 0;

		for (size_t i = 0; i < n; i++) {
			for (size_t j = 0; j < N; j++) {
				if (strcmp(got[i], keys[j]) == 0)
					ours++;
			}
			free(got[i]);
		}
		CU_ASSERT_EQUAL(ours, N);
	}
	for (size_t i = 0; i < N; i++) {
		CT_OK(persist_config_delete(ct.a, keys[i], NULL, &err), &err);
		free(keys[i]);
	}
}

/* NOTIFY: a key subscriber and an all-keys subscriber see set and delete;
   unsubscribe stops delivery; other keys do not reach a key subscriber. */
static void test_notify_subscribers(void)
{
	const char *key = ct_name("cfg-notify"), *other = ct_name("cfg-notify-other");
	char *k = strdup(key), *o = strdup(other);
	struct ct_recorder rec_key, rec_all;
	uint64_t id_key = 0, id_all = 0;
	char e1[PERSIST_ETAG_MAX] = "", e2[PERSIST_ETAG_MAX] = "";
	struct persist_error err;
	size_t mark;

	ct_recorder_init(&rec_key);
	ct_recorder_init(&rec_all);
	CT_OK(persist_config_subscribe(ct.a, k, ct_config_cb, &rec_key, &id_key, &err), &err);
	CT_OK(persist_config_subscribe(ct.a, NULL, ct_config_cb, &rec_all, &id_all, &err), &err);
	CU_ASSERT_NOT_EQUAL(id_key, id_all);

	CT_OK(ct_set(ct.a, o, "{\"other\":1}", NULL, &err), &err);
	CT_OK(ct_set(ct.a, k, "{\"n\":1}", e1, &err), &err);
	CU_ASSERT(ct_wait_config(&rec_key, 0, k, e1, 0, CT_WAIT_MS) >= 0);
	CU_ASSERT(ct_wait_config(&rec_all, 0, k, e1, 0, CT_WAIT_MS) >= 0);
	CU_ASSERT(ct_wait_config(&rec_all, 0, o, NULL, 0, CT_WAIT_MS) >= 0);

	CT_OK(persist_config_delete(ct.a, k, NULL, &err), &err);
	CU_ASSERT(ct_wait_config(&rec_key, 0, k, NULL, 1, CT_WAIT_MS) >= 0);
	CU_ASSERT(ct_wait_config(&rec_all, 0, k, NULL, 1, CT_WAIT_MS) >= 0);

	CT_OK(persist_config_unsubscribe(ct.a, id_key, &err), &err);
	mark = ct_recorder_count(&rec_key);
	CT_OK(ct_set(ct.a, k, "{\"n\":2}", e2, &err), &err);
	CU_ASSERT(ct_wait_config(&rec_all, 0, k, e2, 0, CT_WAIT_MS) >= 0);
	ct_sleep_ms(CT_GRACE_MS);
	CU_ASSERT_EQUAL(ct_recorder_count(&rec_key), mark);
	CU_ASSERT_EQUAL(ct_count_config(&rec_key, 0, o), 0);
	/* unsubscribing twice: the id is unknown now */
	CU_ASSERT_NOT_EQUAL(persist_config_unsubscribe(ct.a, id_key, &err), PERSIST_OK);
	CT_OK(persist_config_unsubscribe(ct.a, id_all, &err), &err);
	CU_ASSERT_EQUAL(rec_all.oom + rec_key.oom, 0);

	ct_cleanup(ct.a, k);
	ct_cleanup(ct.a, o);
	ct_recorder_free(&rec_key);
	ct_recorder_free(&rec_all);
	free(k);
	free(o);
}

/* NOTIFY: rewriting identical bytes is not a change. */
static void test_notify_identical(void)
{
	char *k = ct_name_dup("cfg-notify-same");
	struct ct_recorder rec;
	uint64_t id = 0;
	char e1[PERSIST_ETAG_MAX] = "", e2[PERSIST_ETAG_MAX] = "";
	struct persist_error err;
	long i1, i2;

	ct_recorder_init(&rec);
	CT_OK(persist_config_subscribe(ct.a, k, ct_config_cb, &rec, &id, &err), &err);
	CT_OK(ct_set(ct.a, k, "{\"same\":true}", e1, &err), &err);
	i1 = ct_wait_config(&rec, 0, k, e1, 0, CT_WAIT_MS);
	CU_ASSERT(i1 >= 0);
	CT_OK(ct_set(ct.a, k, "{\"same\":true}", NULL, &err), &err);
	CT_OK(ct_set(ct.a, k, "{\"same\":false}", e2, &err), &err);
	i2 = ct_wait_config(&rec, (size_t)(i1 + 1), k, e2, 0, CT_WAIT_MS);
	CU_ASSERT(i2 >= 0);
	ct_sleep_ms(CT_GRACE_MS);
	/* exactly one notification after the first: the real change */
	if (i1 >= 0)
		CU_ASSERT_EQUAL(ct_count_config(&rec, (size_t)i1 + 1, k), 1);
	CT_OK(persist_config_unsubscribe(ct.a, id, &err), &err);
	ct_cleanup(ct.a, k);
	ct_recorder_free(&rec);
	free(k);
}

/* NOTIFY: a change through handle B reaches a subscriber of handle A, and
   A's (cached) get sees it afterwards. */
static void test_notify_second_handle(void)
{
	char *k = ct_name_dup("cfg-notify-b");
	struct ct_recorder rec;
	uint64_t id = 0;
	char e1[PERSIST_ETAG_MAX] = "", e2[PERSIST_ETAG_MAX] = "";
	struct persist_error err;

	ct_recorder_init(&rec);
	CT_OK(persist_config_subscribe(ct.a, k, ct_config_cb, &rec, &id, &err), &err);
	CT_OK(ct_set(ct.a, k, "{\"by\":\"a\"}", e1, &err), &err);
	CU_ASSERT(ct_wait_config(&rec, 0, k, e1, 0, CT_WAIT_MS) >= 0);
	ct_expect_doc(ct.a, k, "{\"by\":\"a\"}", e1, __LINE__); /* now cached */

	CT_OK(ct_set(ct.b, k, "{\"by\":\"b\"}", e2, &err), &err);
	CU_ASSERT(ct_wait_config(&rec, 0, k, e2, 0, CT_WAIT_MS) >= 0);
	ct_expect_doc(ct.a, k, "{\"by\":\"b\"}", e2, __LINE__);

	CT_OK(persist_config_delete(ct.b, k, NULL, &err), &err);
	CU_ASSERT(ct_wait_config(&rec, 0, k, NULL, 1, CT_WAIT_MS) >= 0);
	ct_expect_absent(ct.a, k, __LINE__);
	CT_OK(persist_config_unsubscribe(ct.a, id, &err), &err);
	ct_recorder_free(&rec);
	free(k);
}

/* Poll until key is gone from p (or the deadline); 1 when gone. */
static int ct_wait_gone(persist *p, const char *key, int64_t timeout_ms)
{
	int64_t deadline = ct_now_ms() + timeout_ms;
	struct persist_error err;

	for (;;) {
		int ret = persist_config_get(p, key, NULL, NULL, NULL, &err);

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

/* TTL: a document with a TTL disappears (and, with NOTIFY, its expiry is
   notified); one without stays; a later set without TTL clears it. */
static void test_ttl(void)
{
	char *k = ct_name_dup("cfg-ttl"), *keep = ct_name_dup("cfg-ttl-keep");
	char *reset = ct_name_dup("cfg-ttl-reset");
	int notify = (ct.caps[PERSIST_KIND_CONFIG] & PERSIST_CAP_NOTIFY) != 0;
	struct ct_recorder rec;
	uint64_t id = 0;
	struct persist_error err;
	int64_t start;
	char *got[4];
	int sorted;
	size_t n;

	ct_recorder_init(&rec);
	if (notify)
		CT_OK(persist_config_subscribe(ct.a, k, ct_config_cb, &rec, &id, &err), &err);
	start = ct_now_ms();
	CT_OK(persist_config_set(ct.a, k, "{\"ttl\":300}", 11, NULL, 300, NULL, &err), &err);
	CT_OK(persist_config_set(ct.a, keep, "{}", 2, NULL, 0, NULL, &err), &err);
	CT_OK(persist_config_set(ct.a, reset, "{\"r\":1}", 7, NULL, 300, NULL, &err), &err);
	CT_OK(persist_config_set(ct.a, reset, "{\"r\":2}", 7, NULL, 0, NULL, &err), &err);
	if (ct_now_ms() - start < 200)
		ct_expect_doc(ct.a, k, "{\"ttl\":300}", NULL, __LINE__);
	CU_ASSERT(ct_wait_gone(ct.a, k, CT_WAIT_MS));
	CU_ASSERT(ct_now_ms() - start >= 250);
	n = ct_list_prefix(ct.a, k, got, 4, &sorted);
	for (size_t i = 0; i < n; i++) {
		CU_ASSERT_STRING_NOT_EQUAL(got[i], k);
		free(got[i]);
	}
	if (notify) {
		CU_ASSERT(ct_wait_config(&rec, 0, k, NULL, 1, CT_WAIT_MS) >= 0);
		CT_OK(persist_config_unsubscribe(ct.a, id, &err), &err);
	}
	ct_sleep_ms(400);
	ct_expect_doc(ct.a, keep, "{}", NULL, __LINE__);
	ct_expect_doc(ct.a, reset, "{\"r\":2}", NULL, __LINE__);
	ct_cleanup(ct.a, keep);
	ct_cleanup(ct.a, reset);
	ct_recorder_free(&rec);
	free(k);
	free(keep);
	free(reset);
}

/* CAS contention: threads (half on each handle) race to replace the same
   version; exactly one wins each round. */
#define CAS_THREADS 8
#define CAS_ROUNDS 20

struct cas_race {
	pthread_barrier_t *barrier;
	persist *p;
	const char *key;
	char if_match[PERSIST_ETAG_MAX];
	int thread, round;
	int status;
	char err[PERSIST_ERROR_MSG_MAX];
};

/* One racer: wait for the others, then set with if_match. */
static void *cas_racer(void *arg)
{
	struct cas_race *r = arg;
	struct persist_error err;
	char doc[64];
	int len = snprintf(doc, sizeof(doc), "{\"round\":%d,\"thread\":%d}", r->round, r->thread);

	pthread_barrier_wait(r->barrier);
	r->status = persist_config_set(r->p, r->key, doc, (size_t)len, r->if_match, 0,
				       NULL, &err);
	if (r->status != PERSIST_OK)
		memcpy(r->err, err.msg, sizeof(r->err));
	return NULL;
}

/* CAS: CAS_ROUNDS rounds of CAS_THREADS racers on one version. */
static void test_cas_race(void)
{
	char *k = ct_name_dup("cfg-cas");
	pthread_barrier_t barrier;
	struct cas_race races[CAS_THREADS];
	pthread_t threads[CAS_THREADS];
	char etag[PERSIST_ETAG_MAX] = "";
	struct persist_error err;
	int bad_rounds = 0, other_errors = 0;

	CT_OK(ct_set(ct.a, k, "{\"round\":-1}", etag, &err), &err);
	pthread_barrier_init(&barrier, NULL, CAS_THREADS);
	for (int round = 0; round < CAS_ROUNDS; round++) {
		int winners = 0, winner = -1;

		for (int t = 0; t < CAS_THREADS; t++) {
			races[t] = (struct cas_race){
				.barrier = &barrier, .p = t % 2 ? ct.b : ct.a, .key = k,
				.thread = t, .round = round,
			};
			memcpy(races[t].if_match, etag, PERSIST_ETAG_MAX);
			pthread_create(&threads[t], NULL, cas_racer, &races[t]);
		}
		for (int t = 0; t < CAS_THREADS; t++) {
			pthread_join(threads[t], NULL);
			if (races[t].status == PERSIST_OK) {
				winners++;
				winner = t;
			} else if (races[t].status != PERSIST_ECONFLICT) {
				if (other_errors++ == 0)
					printf("\n    CAS racer: %s: %s\n",
					       persist_strerror(races[t].status), races[t].err);
			}
		}
		if (winners != 1) {
			if (bad_rounds++ == 0)
				printf("\n    round %d: %d winners\n", round, winners);
			break;
		}
		{
			char doc[64];

			snprintf(doc, sizeof(doc), "{\"round\":%d,\"thread\":%d}", round, winner);
			persist_etag(doc, strlen(doc), etag);
			ct_expect_doc(ct.a, k, doc, etag, __LINE__);
		}
	}
	pthread_barrier_destroy(&barrier);
	CU_ASSERT_EQUAL(bad_rounds, 0);
	CU_ASSERT_EQUAL(other_errors, 0);
	ct_cleanup(ct.a, k);
	free(k);
}

/* THREADSAFE: threads using one handle on their own documents. */
#define MIX_THREADS 8
#define MIX_EACH 100

struct mix_worker {
	struct ct_worker report;
	char key[PERSIST_KEY_MAX + 1];
};

/* set, get (bytes and ETag) and delete of the worker's own key. */
static void *mix_worker(void *arg)
{
	struct mix_worker *w = arg;
	struct persist_error err;

	for (int i = 0; i < MIX_EACH; i++) {
		char doc[64], etag[PERSIST_ETAG_MAX] = "", got_etag[PERSIST_ETAG_MAX] = "";
		char *data = NULL;
		size_t len = 0;
		int n = snprintf(doc, sizeof(doc), "{\"i\":%d}", i), ret;

		ret = persist_config_set(ct.a, w->key, doc, (size_t)n, NULL, 0, etag, &err);
		if (ret == PERSIST_OK)
			ret = persist_config_get(ct.a, w->key, &data, &len, got_etag, &err);
		if (ret == PERSIST_OK && (len != (size_t)n || memcmp(data, doc, len) != 0 ||
					  strcmp(etag, got_etag) != 0))
			ret = -1;
		persist_free(data);
		if (ret == PERSIST_OK)
			ret = persist_config_delete(ct.a, w->key, NULL, &err);
		if (ret != PERSIST_OK)
			ct_worker_fail(&w->report, "%s: %s", persist_strerror(ret),
				       ret > 0 ? err.msg : "wrong document or ETag");
	}
	return NULL;
}

/* THREADSAFE: MIX_THREADS workers at once on handle A. */
static void test_threads_mixed(void)
{
	struct mix_worker w[MIX_THREADS];
	int failures;

	for (int i = 0; i < MIX_THREADS; i++) {
		char what[32];

		snprintf(what, sizeof(what), "cfg-thread-%d", i);
		memset(&w[i], 0, sizeof(w[i]));
		snprintf(w[i].key, sizeof(w[i].key), "%s", ct_name(what));
	}
	failures = ct_run_workers(mix_worker, w, sizeof(w[0]), MIX_THREADS, "worker", 1);
	CU_ASSERT_EQUAL(failures, 0);
}

/* Register the configuration suites for what the provider claims. */
int ct_register_config(char *tested, size_t size)
{
	static const struct ct_test tests[] = {
		{ 0, "get of an absent key", test_get_absent },
		{ 0, "set then get", test_set_get },
		{ 0, "ETag changes exactly with content", test_etag_changes },
		{ 0, "if-match", test_if_match },
		{ 0, "delete", test_delete },
		{ 0, "list", test_list },
		{ 0, "get_many", test_get_many },
		{ 0, "invalid JSON", test_invalid_json },
		{ 0, "bad keys", test_bad_keys },
		{ 0, "longest key", test_longest_key },
		{ 0, "NULL arguments", test_null_args },
		{ 0, "4 MiB document", test_huge },
		{ 0, "keys with spaces, wildcards, UTF-8", test_odd_keys },
		{ PERSIST_CAP_NOTIFY, "key and all-keys subscribers", test_notify_subscribers },
		{ PERSIST_CAP_NOTIFY, "identical rewrite is silent", test_notify_identical },
		{ PERSIST_CAP_NOTIFY, "change through a second handle", test_notify_second_handle },
		{ PERSIST_CAP_TTL, "expiry", test_ttl },
		{ PERSIST_CAP_CAS, "one winner per round", test_cas_race },
		{ PERSIST_CAP_THREADSAFE, "concurrent use of one handle", test_threads_mixed },
		{ 0, NULL, NULL }
	};

	return ct_add_kind_suites(tested, size, PERSIST_KIND_CONFIG, "config", tests);
}
