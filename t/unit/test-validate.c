/*
 * t/unit/test-validate.c - the argument checks of core/validate.c and the
 * ETag of core/etag.c, each rule provoked with a purpose-built bad input.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core-private.h"
#include "unit.h"

static void test_utf8(void)
{
	CU_ASSERT_TRUE(persist_valid_utf8("plain ascii", 11));
	CU_ASSERT_TRUE(persist_valid_utf8("gr\xc3\xbc\xc3\x9f", 6));
	CU_ASSERT_TRUE(persist_valid_utf8("\xf0\x9f\x98\x80", 4));     /* U+1F600 */
	CU_ASSERT_FALSE(persist_valid_utf8("\xc3", 1));                /* truncated */
	CU_ASSERT_FALSE(persist_valid_utf8("\xe2\x82", 2));            /* truncated */
	CU_ASSERT_FALSE(persist_valid_utf8("\xc0\xaf", 2));            /* overlong '/' */
	CU_ASSERT_FALSE(persist_valid_utf8("\xed\xa0\x80", 3));        /* surrogate */
	CU_ASSERT_FALSE(persist_valid_utf8("\xf4\x90\x80\x80", 4));    /* > U+10FFFF */
	CU_ASSERT_FALSE(persist_valid_utf8("\xff", 1));
	CU_ASSERT_FALSE(persist_valid_utf8("a\x80", 2));               /* lone continuation */
}

static void test_keys(void)
{
	struct persist_error err;
	char long_key[PERSIST_KEY_MAX + 2];

	CU_ASSERT_EQUAL(persist_valid_key("key", "apps", &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_valid_key("key", "with space * and ?", &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_valid_key("key", NULL, &err), PERSIST_EINVAL);
	ASSERT_MSG_HAS(err, "key is NULL");
	CU_ASSERT_EQUAL(persist_valid_key("key", "", &err), PERSIST_EINVAL);
	ASSERT_MSG_HAS(err, "empty");
	CU_ASSERT_EQUAL(persist_valid_key("session id", "a\nb", &err), PERSIST_EINVAL);
	ASSERT_MSG_HAS(err, "session id \"a\" contains control character 0x0a");
	CU_ASSERT_EQUAL(persist_valid_key("key", "bad\xff", &err), PERSIST_EINVAL);
	ASSERT_MSG_HAS(err, "not valid UTF-8");
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	CU_ASSERT_EQUAL(persist_valid_key("key", long_key, &err), PERSIST_EINVAL);
	ASSERT_MSG_HAS(err, "too long");
	long_key[PERSIST_KEY_MAX] = '\0';
	CU_ASSERT_EQUAL(persist_valid_key("key", long_key, &err), PERSIST_OK);
}

static void test_collections(void)
{
	struct persist_error err;

	CU_ASSERT_EQUAL(persist_valid_collection("usage", &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_valid_collection("usage:2026-11.v1_x", &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_valid_collection("", &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_valid_collection(NULL, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_valid_collection("../etc", &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_valid_collection("a/b", &err), PERSIST_EINVAL);
	ASSERT_MSG_HAS(err, "\"a/b\" contains an invalid character at byte 1");
	CU_ASSERT_EQUAL(persist_valid_collection(".hidden", &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_valid_collection("sp ace", &err), PERSIST_EINVAL);
}

static void test_json(void)
{
	struct persist_error err;

	CU_ASSERT_EQUAL(persist_valid_json("doc", "{\"a\":1}", 7, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_valid_json("doc", "[1,2] \n", 7, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_valid_json("doc", "42", 2, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_valid_json("doc", "\"s\"", 3, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_valid_json("doc", "{\"a\":", 5, &err), PERSIST_EINVAL);
	ASSERT_MSG_HAS(err, "doc is not valid JSON");
	CU_ASSERT_EQUAL(persist_valid_json("doc", "{} {}", 5, &err), PERSIST_EINVAL);
	ASSERT_MSG_HAS(err, "not valid JSON");
	CU_ASSERT_EQUAL(persist_valid_json("doc", "", 0, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_valid_json("doc", "{\"a\":tru}", 10, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_valid_json("doc", "{\"a\":1,}", 8, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_valid_json("doc", NULL, 3, &err), PERSIST_EINVAL);
	/* not NUL-terminated: only len bytes count */
	CU_ASSERT_EQUAL(persist_valid_json("doc", "{}garbage", 2, &err), PERSIST_OK);
}

static void test_etag(void)
{
	char a[PERSIST_ETAG_MAX], b[PERSIST_ETAG_MAX], c[PERSIST_ETAG_MAX];

	persist_etag("{\"a\":1}", 7, a);
	persist_etag("{\"a\":1}", 7, b);
	persist_etag("{\"a\":2}", 7, c);
	CU_ASSERT_STRING_EQUAL(a, b);
	CU_ASSERT_STRING_NOT_EQUAL(a, c);
	CU_ASSERT_EQUAL(strlen(a), 32);
	/* SHA-256("") starts e3b0c442 98fc1c14 9afbf4c8 996fb924 */
	persist_etag("", 0, a);
	CU_ASSERT_STRING_EQUAL(a, "e3b0c44298fc1c149afbf4c8996fb924");
}

static void test_error_helpers(void)
{
	struct persist_error err;
	char buf[128];

	CU_ASSERT_EQUAL(persist_error_set(&err, PERSIST_EIO, 5, "disk %s", "gone"), PERSIST_EIO);
	CU_ASSERT_EQUAL(err.code, PERSIST_EIO);
	CU_ASSERT_EQUAL(err.sys_errno, 5);
	CU_ASSERT_STRING_EQUAL(err.msg, "disk gone");
	persist_error_prefix(&err, PERSIST_EUNCERTAIN, "op %d", 3);
	CU_ASSERT_STRING_EQUAL(err.msg, "op 3: disk gone");
	CU_ASSERT_EQUAL(err.code, PERSIST_EUNCERTAIN);
	CU_ASSERT_STRING_EQUAL(persist_strerror(PERSIST_EABINEWER), "PERSIST_EABINEWER");
	CU_ASSERT_STRING_EQUAL(persist_strerror(-1), "PERSIST_E?");
	CU_ASSERT_STRING_EQUAL(persist_strerror(PERSIST_STATUS_COUNT_), "PERSIST_E?");
	CU_ASSERT_STRING_EQUAL(persist_caps_string(PERSIST_CAP_TTL | PERSIST_CAP_CAS, buf, sizeof(buf)), "ttl,cas");
	CU_ASSERT_STRING_EQUAL(persist_caps_string(0, buf, sizeof(buf)), "-");
	/* a message longer than msg[] is cut, never overflows */
	memset(buf, 'x', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	persist_error_set(&err, PERSIST_EINVAL, 0, "%s%s%s%s%s", buf, buf, buf, buf, buf);
	CU_ASSERT_EQUAL(strlen(err.msg), sizeof(err.msg) - 1);
}

int main(void)
{
	static const struct t_case tests[] = {
		{ "utf8", test_utf8 },
		{ "keys", test_keys },
		{ "collections", test_collections },
		{ "json", test_json },
		{ "etag", test_etag },
		{ "error helpers", test_error_helpers },
		{ NULL, NULL }
	};
	return t_cunit_run("validate", NULL, NULL, tests);
}
