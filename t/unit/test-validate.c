/*
 * t/unit/test-validate.c - the argument checks of core/validate.c and the
 * ETag of core/etag.c, each rule provoked with a purpose-built bad input.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
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
	CU_ASSERT_EQUAL(persist_valid_json("doc", "null", 4, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_valid_json("doc", "{\"a\":", 5, &err), PERSIST_EINVAL);
	ASSERT_MSG_HAS(err, "doc is not valid JSON: unexpected end of input at byte 5");
	CU_ASSERT_EQUAL(persist_valid_json("doc", "{} {}", 5, &err), PERSIST_EINVAL);
	ASSERT_MSG_HAS(err, "not valid JSON: unexpected data after the JSON value at byte 3");
	CU_ASSERT_EQUAL(persist_valid_json("doc", "", 0, &err), PERSIST_EINVAL);
	ASSERT_MSG_HAS(err, "doc is empty");
	CU_ASSERT_EQUAL(persist_valid_json("doc", "{\"a\":tru}", 10, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_valid_json("doc", "{\"a\":1,}", 8, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_valid_json("doc", NULL, 3, &err), PERSIST_EINVAL);
	/* not NUL-terminated: only len bytes count */
	CU_ASSERT_EQUAL(persist_valid_json("doc", "{}garbage", 2, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_valid_json("document for key \"apps\"", "{\"a\":NaN}", 9, &err),
			PERSIST_EINVAL);
	CU_ASSERT_STRING_EQUAL(err.msg, "document for key \"apps\" is not valid JSON: "
			       "NaN is not a JSON value at byte 5");
	CU_ASSERT_PTR_NULL(strstr(err.msg, "success"));
	CU_ASSERT_EQUAL(persist_valid_json(NULL, "x", 1, &err), PERSIST_EINVAL);
	ASSERT_MSG_HAS(err, "JSON text is not valid JSON: x is not a JSON value at byte 0");
	CU_ASSERT_EQUAL(persist_valid_json(NULL, "1", 1, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(err.code, PERSIST_OK);
}

/* Every valid JSON text is accepted, whatever its top-level type. */
static void test_json_valid_table(void)
{
	static const char *const valid[] = {
		"null", "true", "false", "0", "-0", "1", "-1", "0.5", "-0.5", "1e5",
		"1E+5", "1e-5", "1.25e10", "123456789012345678901234567890",
		"\"\"", "\"s\"", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u00e9\\uD83D\\uDE00\"",
		"\"\\ud800\"",                       /* a lone surrogate escape: see below */
		"\"gr\xc3\xbc\xc3\x9f \xe2\x9c\x93 \xf0\x9f\x98\x80\"",
		"\"\x7f\"",                          /* DEL is not a control character in JSON */
		"[]", "{}", "[[]]", "[1,\"a\",null,true,{}]", "{\"a\":{\"b\":[1,{\"c\":null}]}}",
		" \t\r\n{ \"a\" : 1 , \"b\" : [ ] } \t\r\n",
		"{\"a\":1,\"a\":2}",                 /* repeated names are allowed by default */
	};
	struct persist_json_fault fault;

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		int ret = persist_json_check(valid[i], strlen(valid[i]), NULL, &fault);
		if (ret != PERSIST_OK)
			fprintf(stderr, "valid text %s refused: %s at byte %zu\n",
				valid[i], fault.reason, fault.offset);
		CU_ASSERT_EQUAL(ret, PERSIST_OK);
	}
}

/* Each invalid text is refused, saying what and where. */
static void test_json_invalid_table(void)
{
	static const struct { const char *text; size_t offset; const char *reason; } invalid[] = {
		{ "NaN", 0, "NaN is not a JSON value" },
		{ "[NaN]", 1, "NaN is not a JSON value" },
		{ "Infinity", 0, "Infinity is not a JSON value" },
		{ "-Infinity", 0, "-Infinity is not a JSON value" },
		{ "{\"a\":-Infinity}", 5, "-Infinity is not a JSON value" },
		{ "nul", 0, "nul is not a JSON value" },
		{ "True", 0, "True is not a JSON value" },
		{ "truex", 0, "truex is not a JSON value" },
		{ "1.", 0, "a number needs a digit after the decimal point" },
		{ "[1.]", 1, "a number needs a digit after the decimal point" },
		{ ".5", 0, "a number needs a digit before the decimal point" },
		{ "01", 0, "a number cannot have a leading zero" },
		{ "-01", 0, "a number cannot have a leading zero" },
		{ "+1", 0, "a number cannot start with '+'" },
		{ "-", 0, "a minus sign must be followed by a digit" },
		{ "1e", 0, "an exponent needs a digit" },
		{ "1e+", 0, "an exponent needs a digit" },
		{ "0x10", 1, "unexpected data after the JSON value" },
		{ "\"a\nb\"", 2, "raw control character 0x0a in a string" },
		{ "\"a\tb\"", 2, "raw control character 0x09 in a string" },
		{ "\"\x01\"", 1, "raw control character 0x01" },
		{ "\"\\x\"", 1, "invalid escape \\x in a string" },
		{ "\"\\'\"", 1, "invalid escape \\' in a string" },
		{ "\"\\u12\"", 1, "\\u needs four hex digits" },
		{ "\"\\u12g4\"", 1, "\\u needs four hex digits" },
		{ "\"\xff\"", 1, "invalid UTF-8 in a string" },
		{ "\"\xc3\"", 1, "invalid UTF-8 in a string" },
		{ "\"\xc0\xaf\"", 1, "invalid UTF-8 in a string" },      /* overlong */
		{ "\"\xed\xa0\x80\"", 1, "invalid UTF-8 in a string" },  /* raw surrogate */
		{ "\"abc", 0, "unterminated string" },
		{ "\"abc\\", 0, "unterminated string" },
		{ "'s'", 0, "single-quoted string" },
		{ "{'a':1}", 1, "single-quoted member name" },
		{ "{a:1}", 1, "expected a member name in double quotes" },
		{ "{\"a\" 1}", 5, "expected ':' after a member name" },
		{ "{\"a\":1 \"b\":2}", 7, "expected ',' or '}' after a member" },
		{ "{\"a\":1,}", 7, "a trailing comma before '}'" },
		{ "[1,]", 3, "a trailing comma before ']'" },
		{ "[1 2]", 3, "expected ',' or ']' after an element" },
		{ "[1,,2]", 3, "unexpected character ','" },
		{ "[", 1, "unexpected end of input" },
		{ "{\"a\":", 5, "unexpected end of input" },
		{ "", 0, "unexpected end of input" },
		{ "   ", 3, "unexpected end of input" },
		{ "{} x", 3, "unexpected data after the JSON value" },
		{ "1 2", 2, "unexpected data after the JSON value" },
		{ "\xef\xbb\xbf{}", 0, "unexpected byte 0xef" },          /* a BOM is not JSON */
		{ "[\x01]", 1, "unexpected byte 0x01" },
		{ "/* c */ 1", 0, "unexpected character '/'" },
	};
	struct persist_json_fault fault;

	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		int ret = persist_json_check(invalid[i].text, strlen(invalid[i].text), NULL, &fault);
		CU_ASSERT_EQUAL(ret, PERSIST_EINVAL);
		if (ret != PERSIST_EINVAL || fault.offset != invalid[i].offset ||
		    strstr(fault.reason, invalid[i].reason) == NULL)
			fprintf(stderr, "text %s: got \"%s\" at byte %zu, expected \"%s\" at byte %zu\n",
				invalid[i].text, ret == PERSIST_OK ? "(accepted)" : fault.reason,
				fault.offset, invalid[i].reason, invalid[i].offset);
		CU_ASSERT_EQUAL(fault.offset, invalid[i].offset);
		CU_ASSERT_PTR_NOT_NULL(strstr(fault.reason, invalid[i].reason));
	}
	/* a NUL byte inside or after the value is data, not an end */
	CU_ASSERT_EQUAL(persist_json_check("\"a\0b\"", 5, NULL, &fault), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_json_check("{}\0", 3, NULL, &fault), PERSIST_EINVAL);
}

/* Nesting: deep documents are fine up to the limit, refused past it
   without running out of stack. */
static void test_json_depth(void)
{
	struct persist_json_fault fault;
	size_t deep = PERSIST_JSON_DEPTH_MAX;
	char *text = malloc(2 * (deep + 1) + 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	memset(text, '[', deep);
	memset(text + deep, ']', deep);
	CU_ASSERT_EQUAL(persist_json_check(text, 2 * deep, NULL, &fault), PERSIST_OK);
	memset(text, '[', deep + 1);
	memset(text + deep + 1, ']', deep + 1);
	CU_ASSERT_EQUAL(persist_json_check(text, 2 * (deep + 1), NULL, &fault), PERSIST_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(fault.reason, "nested deeper than"));
	CU_ASSERT_EQUAL(fault.offset, deep);
	free(text);
}

/* Repeated member names: refused only where asked, with the name and the
   path of the object. */
static void test_json_unique_names(void)
{
	struct persist_json_fault fault;
	const char *t;

	t = "{\"a\":{\"b\":1,\"c\":[{\"d\":1,\"e\":2,\"d\":3}]}}";
	CU_ASSERT_EQUAL(persist_json_check(t, strlen(t), NULL, &fault), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_json_check(t, strlen(t), "", &fault), PERSIST_EINVAL);
	CU_ASSERT_STRING_EQUAL(fault.reason, "key \"d\" is given twice");
	CU_ASSERT_STRING_EQUAL(fault.path, "a.c[0]");
	CU_ASSERT_EQUAL(fault.offset, (size_t)(strstr(t, "\"d\":3") - t));
	CU_ASSERT_TRUE(fault.name_fault);
	/* a name holding NUL would be cut by C code: refused where names are checked */
	t = "{\"a\":{\"pass\\u0000word\":1}}";
	CU_ASSERT_EQUAL(persist_json_check(t, strlen(t), NULL, &fault), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_json_check(t, strlen(t), "a", &fault), PERSIST_EINVAL);
	CU_ASSERT_STRING_EQUAL(fault.reason, "key \"pass\\u0000word\" holds a NUL character (\\u0000)");
	CU_ASSERT_STRING_EQUAL(fault.path, "a");
	CU_ASSERT_TRUE(fault.name_fault);
	/* scope: only below the top-level member "a" */
	CU_ASSERT_EQUAL(persist_json_check(t, strlen(t), "a", &fault), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_json_check(t, strlen(t), "x", &fault), PERSIST_OK);
	t = "{\"x\":1,\"x\":2,\"a\":{}}";
	CU_ASSERT_EQUAL(persist_json_check(t, strlen(t), "a", &fault), PERSIST_OK);
	t = "{\"a\":1,\"x\":2,\"a\":{}}";
	CU_ASSERT_EQUAL(persist_json_check(t, strlen(t), "a", &fault), PERSIST_EINVAL);
	CU_ASSERT_STRING_EQUAL(fault.path, "");
	/* the same name however it is written; different names stay apart */
	t = "{\"\\u00e9\":1,\"\xc3\xa9\":2}";
	CU_ASSERT_EQUAL(persist_json_check(t, strlen(t), "", &fault), PERSIST_EINVAL);
	t = "{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}";
	CU_ASSERT_EQUAL(persist_json_check(t, strlen(t), "", &fault), PERSIST_EINVAL);
	t = "{\"a\\n\":1,\"a\\\\n\":2,\"ab\":3,\"a\":4,\"\":5}";
	CU_ASSERT_EQUAL(persist_json_check(t, strlen(t), "", &fault), PERSIST_OK);
	/* many members: the first repeated one is reported */
	{
		char big[8192];
		size_t used = 0;
		used += (size_t)snprintf(big + used, sizeof(big) - used, "{");
		for (int i = 0; i < 500; i++)
			used += (size_t)snprintf(big + used, sizeof(big) - used, "\"k%d\":%d,", i, i);
		used += (size_t)snprintf(big + used, sizeof(big) - used, "\"k7\":0,\"k3\":0}");
		CU_ASSERT_EQUAL(persist_json_check(big, used, "", &fault), PERSIST_EINVAL);
		CU_ASSERT_STRING_EQUAL(fault.reason, "key \"k7\" is given twice");
	}
}

/* TTLs: 0 or 1..PERSIST_TTL_MAX_MS; the message names the key and the
   limit.  The expiry helper saturates instead of overflowing. */
static void test_ttl(void)
{
	struct persist_error err;

	CU_ASSERT_EQUAL(persist_valid_ttl(0, "key", "k", &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_valid_ttl(1, "key", "k", &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_valid_ttl(PERSIST_TTL_MAX_MS, "key", "k", &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_valid_ttl(PERSIST_TTL_MAX_MS + 1, "key", "k", &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_valid_ttl(-1, "key", "k", &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_valid_ttl(INT64_MIN, "key", "k", &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(persist_valid_ttl(INT64_MAX, "key", "k", &err), PERSIST_EINVAL);
	CU_ASSERT_STRING_EQUAL(err.msg,
		"TTL 9223372036854775807 ms for key \"k\" is out of range\n"
		"A TTL is 0 (no expiry) or 1 to 3153600000000 ms (100 years).");
	CU_ASSERT_EQUAL(PERSIST_TTL_MAX_MS, INT64_C(100) * 365 * 24 * 3600 * 1000);
	CU_ASSERT_EQUAL(persist_expiry_ms(1000, 0), 0);
	CU_ASSERT_EQUAL(persist_expiry_ms(1000, 5), 1005);
	CU_ASSERT_EQUAL(persist_expiry_ms(INT64_MAX - 10, 5), INT64_MAX - 5);
	CU_ASSERT_EQUAL(persist_expiry_ms(INT64_MAX - 10, 11), INT64_MAX);
	CU_ASSERT_EQUAL(persist_expiry_ms(1, INT64_MAX), INT64_MAX);
	CU_ASSERT_EQUAL(persist_expiry_ms(-5, INT64_MAX), INT64_MAX - 5);
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

/* A plugin's own printf-style helper forwarding to host->verror. */
static int PERSIST_PRINTF(4, 5)
plugin_error(const struct persist_host *host, struct persist_error *err,
	     persist_status code, const char *fmt, ...)
{
	va_list args;
	int ret;

	va_start(args, fmt);
	ret = host->verror(err, code, 7, fmt, args);
	va_end(args);
	return ret;
}

/* ABI 1.1 and later: the host table has verror (after every 1.0 field),
   and says so through its size; every ops table starts with the common
   header; 1.2's batch_once comes after every 1.1 state method, 1.3's
   collections after it. */
static void test_host_table_abi(void)
{
	const struct persist_host *host = persist_host_table();
	struct persist_error err;
	static const struct persist_state_ops st = {
		.size = sizeof(st), .caps = PERSIST_CAP_TTL | PERSIST_CAP_BATCH,
	};
	const struct persist_ops_header *hdr = (const void *)&st;

	CU_ASSERT_EQUAL(host->abi_major, 1);
	CU_ASSERT_EQUAL(host->abi_minor, PERSIST_ABI_MINOR);
	CU_ASSERT_TRUE(PERSIST_ABI_MINOR >= 3);
	CU_ASSERT_TRUE(offsetof(struct persist_state_ops, batch_once) >=
		       offsetof(struct persist_state_ops, log_bounds) + sizeof(st.log_bounds));
	CU_ASSERT_TRUE(offsetof(struct persist_state_ops, collections) >=
		       offsetof(struct persist_state_ops, batch_once) + sizeof(st.batch_once));
	CU_ASSERT_TRUE(PERSIST_HAS(host, verror));
	CU_ASSERT_TRUE(offsetof(struct persist_host, verror) >=
		       offsetof(struct persist_host, strerror) + sizeof(host->strerror));
	CU_ASSERT_PTR_NOT_NULL_FATAL(host->verror);
	CU_ASSERT_EQUAL(plugin_error(host, &err, PERSIST_EIO, "disk %s at %d", "gone", 42), PERSIST_EIO);
	CU_ASSERT_STRING_EQUAL(err.msg, "disk gone at 42");
	CU_ASSERT_EQUAL(err.code, PERSIST_EIO);
	CU_ASSERT_EQUAL(err.sys_errno, 7);
	CU_ASSERT_EQUAL(hdr->size, sizeof(st));
	CU_ASSERT_EQUAL(hdr->caps, PERSIST_CAP_TTL | PERSIST_CAP_BATCH);
	/* the limits come with plugin.h alone */
	CU_ASSERT_EQUAL(PERSIST_KEY_MAX, 512);
	CU_ASSERT_EQUAL(PERSIST_COLLECTION_MAX, 128);
	CU_ASSERT_EQUAL(PERSIST_VALUE_MAX, 256u * 1024 * 1024);
}

int main(void)
{
	static const struct t_case tests[] = {
		{ "utf8", test_utf8 },
		{ "keys", test_keys },
		{ "collections", test_collections },
		{ "json", test_json },
		{ "json: valid texts", test_json_valid_table },
		{ "json: invalid texts", test_json_invalid_table },
		{ "json: nesting depth", test_json_depth },
		{ "json: repeated member names", test_json_unique_names },
		{ "ttl", test_ttl },
		{ "host table of ABI 1.1 and 1.2", test_host_table_abi },
		{ "etag", test_etag },
		{ "error helpers", test_error_helpers },
		{ NULL, NULL }
	};
	return t_cunit_run("validate", NULL, NULL, tests);
}
