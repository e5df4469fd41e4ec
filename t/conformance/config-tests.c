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

/* Assert that key holds doc with ETag etag (NULL: don't check) on p, and
   that the ETag is host->etag of the bytes. */
static void ct_expect_doc1(persist *p, const char *key, const char *doc,
			   const char *etag, const char *via, int line)
{
	struct persist_error err;
	char *data = NULL;
	size_t len = 0;
	char got_etag[PERSIST_ETAG_MAX] = "", want[PERSIST_ETAG_MAX];
	int ret = persist_config_get(p, key, &data, &len, got_etag, &err);

	if (!ct_check(ret == PERSIST_OK, __FILE__, line,
		      "get of \"%s\" %s: expected OK, got %s: %s", key, via,
		      persist_strerror(ret), ret != PERSIST_OK ? err.msg : ""))
		return;
	ct_expect_bytes(data, len, doc, strlen(doc), "document read back", __FILE__, line);
	ct_check(data != NULL && data[len] == '\0', __FILE__, line,
		 "document of \"%s\" %s: expected a NUL after the last byte", key, via);
	persist_etag(doc, strlen(doc), want);
	ct_check(strcmp(want, got_etag) == 0, __FILE__, line,
		 "ETag of \"%s\" %s: expected host->etag of the stored bytes \"%s\", got \"%s\"",
		 key, via, want, got_etag);
	if (etag != NULL)
		ct_check(strcmp(etag, got_etag) == 0, __FILE__, line,
			 "ETag of \"%s\" %s: expected \"%s\" (the ETag set returned), got \"%s\"",
			 key, via, etag, got_etag);
	persist_free(data);
}

/* ct_expect_doc1 on p, and on the cacheless handle so that the provider
   itself answers. */
static void ct_expect_doc(persist *p, const char *key, const char *doc,
			  const char *etag, int line)
{
	ct_expect_doc1(p, key, doc, etag, p == ct.b ? "through handle B" :
		       "through handle A", line);
	ct_expect_doc1(ct.direct, key, doc, etag, "from the provider (cache off)", line);
}

/* Assert that key is absent on p and on the cacheless handle. */
static void ct_expect_absent(persist *p, const char *key, int line)
{
	persist *handles[2] = { p, ct.direct };
	struct persist_error err;

	for (int i = 0; i < 2; i++) {
		char *data = NULL;
		int ret = persist_config_get(handles[i], key, &data, NULL, NULL, &err);

		ct_check(ret == PERSIST_ENOTFOUND, __FILE__, line,
			 "get of \"%s\" %s: expected NOTFOUND (absent), got %s%s%s", key,
			 i == 1 ? "from the provider (cache off)" : "through the handle",
			 persist_strerror(ret), ret != PERSIST_OK ? ": " : "",
			 ret != PERSIST_OK ? err.msg : "");
		persist_free(data);
	}
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
	CT_TRUE(data == &sentinel);
	CT_EQ(len, 12345);
	CT_EQ(err.code, PERSIST_ENOTFOUND);
	CT_TRUE(strlen(err.msg) > 0);
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
	CT_TRUE(strlen(want) > 0 && strlen(want) < PERSIST_ETAG_MAX);
	CT_OK(ct_set(ct.a, key, doc, etag, &err), &err);
	CT_STREQ(etag, want);
	ct_expect_doc(ct.a, key, doc, want, __LINE__);
	/* data_r may be NULL: only the ETag */
	CT_OK(persist_config_get(ct.a, key, NULL, NULL, got_etag, &err), &err);
	CT_STREQ(got_etag, want);
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
	CT_STREQ(e1, e1b);
	CT_OK(ct_set(ct.a, key, d2, e2, &err), &err);
	CT_STRNE(e1, e2);
	CT_OK(ct_set(ct.a, key, d3, e3, &err), &err);
	CT_STRNE(e2, e3);
	CT_STRNE(e1, e3);
	persist_etag(d3, strlen(d3), want);
	CT_STREQ(e3, want);
	ct_expect_doc(ct.a, key, d3, e3, __LINE__);
	/* back to the first content: back to the first ETag */
	CT_OK(ct_set(ct.a, key, d1, e1b, &err), &err);
	CT_STREQ(e1, e1b);
	ct_expect_doc(ct.a, key, d1, e1, __LINE__);
	for (const char *c = e1; *c != '\0'; c++)
		CT_TRUE(*c > ' ' && *c < 0x7f);
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
	CT_STRNE(e1, e2);
	/* e1 is stale now */
	CT_EXPECT(persist_config_set(ct.a, key, d3, strlen(d3), e1, 0, NULL, &err),
		  PERSIST_ECONFLICT, &err);
	CT_EQ(err.code, PERSIST_ECONFLICT);
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
		CT_TRUE((entries[i].key) != NULL);
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
	CT_TRUE(sorted);
	CT_EQ(n, 3);
	if (n == 3) {
		/* k[] was set in the order b, c, a */
		CT_STREQ(got[0], k[2]);
		CT_STREQ(got[1], k[0]);
		CT_STREQ(got[2], k[1]);
	}
	for (size_t i = 0; i < n; i++)
		free(got[i]);
	CT_OK(persist_config_delete(ct.a, k[1], NULL, &err), &err);
	n = ct_list_prefix(ct.a, prefix, got, 8, &sorted);
	CT_EQ(n, 2);
	if (n == 2) {
		CT_STREQ(got[0], k[2]);
		CT_STREQ(got[1], k[0]);
	}
	for (size_t i = 0; i < n; i++)
		free(got[i]);
	for (int i = 0; i < 3; i++) {
		ct_cleanup(ct.a, k[i]);
		free(k[i]);
	}
	n = ct_list_prefix(ct.a, prefix, got, 8, &sorted);
	CT_EQ(n, 0);
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
		CT_EQ(entries[0].status, PERSIST_OK);
		CT_EXPECT_BYTES(entries[0].value, entries[0].len, d1, strlen(d1));
		CT_STREQ(entries[0].etag, e1);
		CT_EQ(entries[1].status, PERSIST_ENOTFOUND);
		CT_TRUE((entries[1].value) == NULL);
		CT_EQ(entries[2].status, PERSIST_OK);
		CT_EXPECT_BYTES(entries[2].value, entries[2].len, d3, strlen(d3));
		CT_STREQ(entries[2].etag, e3);
		for (int i = 0; i < 3; i++) {
			CT_TRUE(entries[i].key != NULL &&
				  strcmp(entries[i].key, keys[i]) == 0);
		}
		persist_items_free(entries, 3);
	}
	/* one bad key fails the whole call */
	entries = NULL;
	CT_EXPECT(persist_config_get_many(ct.a, bad, 2, &entries, &err),
		  PERSIST_EINVAL, &err);
	CT_TRUE((entries) == NULL);
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
	CT_TRUE((data) == NULL);
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
	CT_EQ(persist_config_get(ct.a, NULL, &data, NULL, NULL, NULL), PERSIST_EINVAL);
	CT_TRUE((data) == NULL);
	CT_TRUE((entries) == NULL);
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
	CT_STREQ(etag, want);
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
		CT_EQ(ours, N);
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
	CT_NE(id_key, id_all);

	CT_OK(ct_set(ct.a, o, "{\"other\":1}", NULL, &err), &err);
	CT_OK(ct_set(ct.a, k, "{\"n\":1}", e1, &err), &err);
	CT_TRUE(ct_wait_config(&rec_key, 0, k, e1, 0, CT_WAIT_MS) >= 0);
	CT_TRUE(ct_wait_config(&rec_all, 0, k, e1, 0, CT_WAIT_MS) >= 0);
	CT_TRUE(ct_wait_config(&rec_all, 0, o, NULL, 0, CT_WAIT_MS) >= 0);

	CT_OK(persist_config_delete(ct.a, k, NULL, &err), &err);
	CT_TRUE(ct_wait_config(&rec_key, 0, k, NULL, 1, CT_WAIT_MS) >= 0);
	CT_TRUE(ct_wait_config(&rec_all, 0, k, NULL, 1, CT_WAIT_MS) >= 0);

	CT_OK(persist_config_unsubscribe(ct.a, id_key, &err), &err);
	mark = ct_recorder_count(&rec_key);
	CT_OK(ct_set(ct.a, k, "{\"n\":2}", e2, &err), &err);
	CT_TRUE(ct_wait_config(&rec_all, 0, k, e2, 0, CT_WAIT_MS) >= 0);
	ct_sleep_ms(CT_GRACE_MS);
	CT_EQ(ct_recorder_count(&rec_key), mark);
	CT_EQ(ct_count_config(&rec_key, 0, o), 0);
	/* unsubscribing twice: the id is unknown now */
	CT_NE(persist_config_unsubscribe(ct.a, id_key, &err), PERSIST_OK);
	CT_OK(persist_config_unsubscribe(ct.a, id_all, &err), &err);
	CT_EQ(rec_all.oom + rec_key.oom, 0);

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
	CT_TRUE(i1 >= 0);
	CT_OK(ct_set(ct.a, k, "{\"same\":true}", NULL, &err), &err);
	CT_OK(ct_set(ct.a, k, "{\"same\":false}", e2, &err), &err);
	i2 = ct_wait_config(&rec, (size_t)(i1 + 1), k, e2, 0, CT_WAIT_MS);
	CT_TRUE(i2 >= 0);
	ct_sleep_ms(CT_GRACE_MS);
	/* exactly one notification after the first: the real change */
	if (i1 >= 0)
		CT_EQ(ct_count_config(&rec, (size_t)i1 + 1, k), 1);
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
	CT_TRUE(ct_wait_config(&rec, 0, k, e1, 0, CT_WAIT_MS) >= 0);
	ct_expect_doc(ct.a, k, "{\"by\":\"a\"}", e1, __LINE__); /* now cached */

	CT_OK(ct_set(ct.b, k, "{\"by\":\"b\"}", e2, &err), &err);
	CT_TRUE(ct_wait_config(&rec, 0, k, e2, 0, CT_WAIT_MS) >= 0);
	ct_expect_doc(ct.a, k, "{\"by\":\"b\"}", e2, __LINE__);

	CT_OK(persist_config_delete(ct.b, k, NULL, &err), &err);
	CT_TRUE(ct_wait_config(&rec, 0, k, NULL, 1, CT_WAIT_MS) >= 0);
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
	CT_TRUE(ct_wait_gone(ct.a, k, CT_WAIT_MS));
	CT_TRUE(ct_now_ms() - start >= 250);
	n = ct_list_prefix(ct.a, k, got, 4, &sorted);
	for (size_t i = 0; i < n; i++) {
		CT_STRNE(got[i], k);
		free(got[i]);
	}
	if (notify) {
		CT_TRUE(ct_wait_config(&rec, 0, k, NULL, 1, CT_WAIT_MS) >= 0);
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
	CT_EQ(bad_rounds, 0);
	CT_EQ(other_errors, 0);
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
	CT_WORKERS_OK(failures);
}

/* ETags from every path (get through the provider, list, get_many) are
   host->etag of the stored bytes; list may leave an ETag out. */
static void test_etag_everywhere(void)
{
	char *k = ct_name_dup("cfg-etag-all");
	const char *doc = "{\"etag\":\"everywhere\",\"n\":[1,2]}";
	const char *keys[1] = { k };
	char want[PERSIST_ETAG_MAX], got[PERSIST_ETAG_MAX] = "";
	struct persist_entry *e = NULL;
	struct persist_error err;
	size_t n = 0;
	int listed = 0;

	persist_etag(doc, strlen(doc), want);
	CT_OK(ct_set(ct.b, k, doc, got, &err), &err);
	CT_CHECK(strcmp(got, want) == 0, "ETag returned by set: expected host->etag of the "
		 "bytes \"%s\", got \"%s\"", want, got);
	ct_expect_doc(ct.a, k, doc, want, __LINE__);
	CT_OK(persist_config_list(ct.direct, &e, &n, &err), &err);
	for (size_t i = 0; i < n; i++) {
		if (e[i].key == NULL || strcmp(e[i].key, k) != 0)
			continue;
		listed = 1;
		CT_CHECK(e[i].etag[0] == '\0' || strcmp(e[i].etag, want) == 0,
			 "ETag of \"%s\" in list: expected none or \"%s\", got \"%s\"", k, want,
			 e[i].etag);
	}
	persist_items_free(e, n);
	CT_CHECK(listed, "list: expected \"%s\" among the %zu keys listed, it is not", k, n);
	e = NULL;
	CT_OK(persist_config_get_many(ct.direct, keys, 1, &e, &err), &err);
	if (e != NULL) {
		CT_STREQ(e[0].etag, want);
		CT_EXPECT_BYTES(e[0].value, e[0].len, doc, strlen(doc));
		persist_items_free(e, 1);
	}
	ct_cleanup(ct.a, k);
	free(k);
}

/* CAS counter: threads (on both handles) each add 1 to a number in a
   document CAS_COUNT_EACH times by read, then set with if-match, retrying
   on a conflict; the total must be exact. */
#define CAS_COUNT_THREADS 8
#define CAS_COUNT_EACH 200
/* Conflicts in a row that mean the ETag of get never matches. */
#define CAS_NO_PROGRESS 5000

struct cas_counter {
	struct ct_worker report;
	persist *p;
	const char *key;
	long conflicts;
};

/* Read the number through the cacheless handle (the provider's current
   document), write n + 1 if unchanged. */
static void *cas_counter(void *arg)
{
	struct cas_counter *w = arg;
	struct persist_error err;
	long in_a_row = 0;

	for (int done = 0; done < CAS_COUNT_EACH && w->report.failures < 5;) {
		char etag[PERSIST_ETAG_MAX] = "", doc[64], *data = NULL;
		long n = -1;
		int len, ret = persist_config_get(ct.direct, w->key, &data, NULL, etag, &err);

		if (ret != PERSIST_OK || sscanf(data, "{\"n\":%ld}", &n) != 1) {
			ct_worker_fail(&w->report, "get: %s: %s", persist_strerror(ret),
				       ret != PERSIST_OK ? err.msg : "not the document written");
			persist_free(data);
			continue;
		}
		persist_free(data);
		len = snprintf(doc, sizeof(doc), "{\"n\":%ld}", n + 1);
		ret = persist_config_set(w->p, w->key, doc, (size_t)len, etag, 0, NULL, &err);
		if (ret == PERSIST_OK) {
			done++;
			in_a_row = 0;
		} else if (ret == PERSIST_ECONFLICT) {
			w->conflicts++;
			if (++in_a_row == CAS_NO_PROGRESS) {
				ct_worker_fail(&w->report, "%d conflicts in a row with the ETag "
					       "get had just returned (\"%s\"): no progress",
					       CAS_NO_PROGRESS, etag);
				break;
			}
		} else
			ct_worker_fail(&w->report, "set with if-match: %s: %s",
				       persist_strerror(ret), err.msg);
	}
	return NULL;
}

/* CAS: CAS_COUNT_THREADS x CAS_COUNT_EACH read-modify-writes, none lost. */
static void test_cas_counter(void)
{
	char *k = ct_name_dup("cfg-cas-counter");
	struct cas_counter w[CAS_COUNT_THREADS];
	struct persist_error err;
	char want[64];
	long conflicts = 0;
	int failures;

	CT_OK(ct_set(ct.a, k, "{\"n\":0}", NULL, &err), &err);
	for (int i = 0; i < CAS_COUNT_THREADS; i++)
		w[i] = (struct cas_counter){ .p = i % 2 ? ct.b : ct.a, .key = k };
	failures = ct_run_workers(cas_counter, w, sizeof(w[0]), CAS_COUNT_THREADS, "thread", 1);
	CT_WORKERS_OK(failures);
	for (int i = 0; i < CAS_COUNT_THREADS; i++)
		conflicts += w[i].conflicts;
	snprintf(want, sizeof(want), "{\"n\":%d}", CAS_COUNT_THREADS * CAS_COUNT_EACH);
	{
		char *data = NULL;

		if (persist_config_get(ct.direct, k, &data, NULL, NULL, &err) == PERSIST_OK)
			CT_CHECK(strcmp(data, want) == 0, "after %d successful compare-and-swaps "
				 "(and %ld conflicts): expected %s, got %s (an update was lost)",
				 CAS_COUNT_THREADS * CAS_COUNT_EACH, conflicts, want, data);
		else
			CT_CHECK(0, "get of the counter document: %s", err.msg);
		persist_free(data);
	}
	ct_cleanup(ct.a, k);
	free(k);
}

/* Register the configuration suites for what the provider claims. */
int ct_register_config(char *tested, size_t size)
{
#define C_DOCS "Configuration documents"
#define C_ETAG "ETags"
#define C_CAS "Compare-and-swap"
#define C_NOTIFY "Change notification"
#define C_TTL "Expiry (TTL)"
#define C_THREADS "Threads"
#define C_ARGS "Arguments and errors"
	static const struct ct_test tests[] = {
		{ 0, "get of an absent key", test_get_absent, "config.get.absent", C_DOCS,
		  "get of an absent key answers NOTFOUND with a message and leaves the "
		  "outputs untouched" },
		{ 0, "set then get", test_set_get, "config.set.get", C_DOCS,
		  "a document set is read back byte for byte, with the ETag set returned, "
		  "through both handles and from the provider" },
		{ 0, "ETag changes exactly with content", test_etag_changes, "config.etag.content",
		  C_ETAG, "the ETag is host->etag of the bytes: equal bytes, equal ETag; "
		  "other bytes, another ETag" },
		{ 0, "ETags of get, list and get_many", test_etag_everywhere, "config.etag.paths",
		  C_ETAG, "get, list and get_many give host->etag of the stored bytes (list may "
		  "give none)" },
		{ 0, "if-match", test_if_match, "config.if-match", C_CAS,
		  "set and delete with if-match apply only when the current ETag is that one; "
		  "an absent document never matches" },
		{ 0, "delete", test_delete, "config.delete", C_DOCS,
		  "delete removes a document for every handle; deleting it again answers "
		  "NOTFOUND" },
		{ 0, "list", test_list, "config.list", C_DOCS,
		  "list gives exactly the keys stored" },
		{ 0, "get_many", test_get_many, "config.get-many", C_DOCS,
		  "get_many gives one entry per key, in order, with its own status" },
		{ 0, "invalid JSON", test_invalid_json, "config.json", C_ARGS,
		  "a document that is not JSON is refused with EINVAL and nothing is stored" },
		{ 0, "bad keys", test_bad_keys, "config.keys.bad", C_ARGS,
		  "empty, too long, non-UTF-8 keys and keys with control characters answer "
		  "EINVAL" },
		{ 0, "longest key", test_longest_key, "config.keys.longest", C_DOCS,
		  "a key of PERSIST_KEY_MAX bytes round-trips, or is refused with EINVAL" },
		{ 0, "NULL arguments", test_null_args, "config.args", C_ARGS,
		  "NULL arguments answer EINVAL, never a crash" },
		{ 0, "4 MiB document", test_huge, "config.big", C_DOCS,
		  "a 4 MiB document round-trips" },
		{ 0, "keys with spaces, wildcards, UTF-8", test_odd_keys, "config.keys.odd", C_DOCS,
		  "keys with spaces, glob characters and UTF-8 round-trip and are listed" },
		{ PERSIST_CAP_NOTIFY, "key and all-keys subscribers", test_notify_subscribers,
		  "config.notify.subscribers", C_NOTIFY,
		  "set and delete notify key and all-keys subscribers with the new ETag" },
		{ PERSIST_CAP_NOTIFY, "identical rewrite is silent", test_notify_identical,
		  "config.notify.identical", C_NOTIFY,
		  "rewriting identical bytes is not a change and does not notify" },
		{ PERSIST_CAP_NOTIFY, "change through a second handle", test_notify_second_handle,
		  "config.notify.other-handle", C_NOTIFY,
		  "a change through another handle (instance) is notified and read afterwards" },
		{ PERSIST_CAP_TTL, "expiry", test_ttl, "config.ttl", C_TTL,
		  "a document with a TTL disappears after it (notified as a deletion); one "
		  "without stays; a set without TTL clears one" },
		{ PERSIST_CAP_CAS, "one winner per round", test_cas_race, "config.cas.one-winner",
		  C_CAS, "of racers replacing the same version with if-match exactly one wins" },
		{ PERSIST_CAP_CAS, "8 threads x 200 read-modify-writes", test_cas_counter,
		  "config.cas.counter", C_CAS,
		  "read-modify-write cycles with if-match under contention lose no update" },
		{ PERSIST_CAP_THREADSAFE, "concurrent use of one handle", test_threads_mixed,
		  "config.threads.mixed", C_THREADS,
		  "threads using one handle on their own documents each see their own writes" },
		{ 0, NULL, NULL, NULL, NULL, NULL }
	};

	return ct_add_kind_suites(tested, size, PERSIST_KIND_CONFIG, "config", tests);
}
