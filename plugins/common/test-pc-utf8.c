/*
 * plugins/common/test-pc-utf8.c - UTF-8 validation and the key rule of
 * the plugin support library, against tables of valid and invalid input.
 */
#include <string.h>
#include "pc-utf8.h"
#include "cunit-suite.h"

struct sample {
	const char *bytes;
	size_t len;
	const char *what;
};
#define S(lit, what) { lit, sizeof(lit) - 1, what }

static const struct sample valid[] = {
	S("", "empty"),
	S("plain ascii", "ASCII"),
	S("\x00", "NUL is a valid code point"),
	S("\x7f", "DEL"),
	S("\xc2\x80", "U+0080, smallest 2-byte"),
	S("\xdf\xbf", "U+07FF"),
	S("\xe0\xa0\x80", "U+0800, smallest 3-byte"),
	S("\xed\x9f\xbf", "U+D7FF, below the surrogates"),
	S("\xee\x80\x80", "U+E000, above the surrogates"),
	S("\xef\xbf\xbf", "U+FFFF"),
	S("\xf0\x90\x80\x80", "U+10000, smallest 4-byte"),
	S("\xf4\x8f\xbf\xbf", "U+10FFFF, the largest"),
	S("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "mixed"),
};

static const struct sample invalid[] = {
	S("\x80", "lone continuation byte"),
	S("\xbf", "lone continuation byte 0xbf"),
	S("\xc0\x80", "overlong NUL"),
	S("\xc1\xbf", "overlong 2-byte"),
	S("\xe0\x80\x80", "overlong 3-byte"),
	S("\xe0\x9f\xbf", "overlong U+07FF in 3 bytes"),
	S("\xf0\x80\x80\x80", "overlong 4-byte"),
	S("\xf0\x8f\xbf\xbf", "overlong U+FFFF in 4 bytes"),
	S("\xed\xa0\x80", "surrogate U+D800"),
	S("\xed\xbf\xbf", "surrogate U+DFFF"),
	S("\xf4\x90\x80\x80", "U+110000, above the range"),
	S("\xf5\x80\x80\x80", "lead byte 0xf5"),
	S("\xf8\x88\x80\x80\x80", "5-byte form"),
	S("\xfe", "0xfe"),
	S("\xff", "0xff"),
	S("\xc3", "truncated 2-byte"),
	S("\xe2\x82", "truncated 3-byte"),
	S("\xf0\x9f\x98", "truncated 4-byte"),
	S("a\xc3(", "bad continuation"),
	S("\xe2(\xac", "bad second byte of 3"),
	S("ok\xe2\x82\xac\xe2\x82", "valid then truncated"),
};

static void test_utf8_valid(void)
{
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		if (!pc_utf8_valid(valid[i].bytes, valid[i].len))
			fprintf(stderr, "refused valid: %s\n", valid[i].what);
		CU_ASSERT(pc_utf8_valid(valid[i].bytes, valid[i].len));
	}
}

static void test_utf8_invalid(void)
{
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		if (pc_utf8_valid(invalid[i].bytes, invalid[i].len))
			fprintf(stderr, "accepted invalid: %s\n", invalid[i].what);
		CU_ASSERT(!pc_utf8_valid(invalid[i].bytes, invalid[i].len));
	}
}

/* A valid prefix of an invalid sequence is judged by its own length. */
static void test_utf8_length_bound(void)
{
	CU_ASSERT(pc_utf8_valid("ab\xc3\xa9", 2));
	CU_ASSERT(!pc_utf8_valid("ab\xc3\xa9", 3));
	CU_ASSERT(pc_utf8_valid("ab\xc3\xa9", 4));
}

static void test_key_check(void)
{
	char longkey[602];
	size_t len = 99, at = 99;

	CU_ASSERT_EQUAL(pc_key_check("user:1", 512, &len, &at), PC_KEY_OK);
	CU_ASSERT_EQUAL(len, 6);
	CU_ASSERT_EQUAL(pc_key_check("caf\xc3\xa9/\xe2\x82\xac", 512, NULL, NULL), PC_KEY_OK);
	CU_ASSERT_EQUAL(pc_key_check(NULL, 512, NULL, NULL), PC_KEY_NULL);
	CU_ASSERT_EQUAL(pc_key_check("", 512, NULL, NULL), PC_KEY_EMPTY);
	CU_ASSERT_EQUAL(pc_key_check("a\tb", 512, &len, &at), PC_KEY_CONTROL);
	CU_ASSERT_EQUAL(at, 1);
	CU_ASSERT_EQUAL(pc_key_check("\xc3\xa9\x7f", 512, &len, &at), PC_KEY_CONTROL);
	CU_ASSERT_EQUAL(at, 2);
	CU_ASSERT_EQUAL(pc_key_check("x\n", 512, NULL, &at), PC_KEY_CONTROL);
	CU_ASSERT_EQUAL(pc_key_check("\xed\xa0\x80", 512, NULL, NULL), PC_KEY_NOT_UTF8);
	CU_ASSERT_EQUAL(pc_key_check("ab\xff", 512, NULL, NULL), PC_KEY_NOT_UTF8);
	memset(longkey, 'a', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	CU_ASSERT_EQUAL(pc_key_check(longkey, 601, &len, NULL), PC_KEY_OK);
	CU_ASSERT_EQUAL(len, 601);
	CU_ASSERT_EQUAL(pc_key_check(longkey, 600, NULL, NULL), PC_KEY_TOO_LONG);
	CU_ASSERT_STRING_EQUAL(pc_key_problem_text(PC_KEY_NOT_UTF8), "A key must be valid UTF-8.");
	CU_ASSERT_STRING_EQUAL(pc_key_problem_text(PC_KEY_CONTROL),
			       "A key must not contain control characters.");
}

/* The inline check settles keys of 8 bytes and more a word at a time: a
   byte that is not printable ASCII at any place of any length from 1 to
   40 (the overlapping last word included) must get the whole check's
   answer, offset and length. */
static void test_key_check_words(void)
{
	static const unsigned char odd[] = { 0x01, 0x1f, 0x7f, 0x80, 0xc3, 0xff };
	char key[41];

	for (size_t len = 1; len <= 40; len++) {
		memset(key, 'k', len);
		key[len] = '\0';
		CU_ASSERT_EQUAL(pc_key_check(key, 512, NULL, NULL), PC_KEY_OK);
		CU_ASSERT_EQUAL(pc_key_check(key, len - 1, NULL, NULL), PC_KEY_TOO_LONG);
		for (size_t pos = 0; pos < len; pos++) {
			for (size_t i = 0; i < sizeof(odd); i++) {
				size_t len1 = 77, at1 = 77, len2 = 77, at2 = 77;
				enum pc_key_problem want;

				memset(key, ' ' + (int)(pos % 95), len);
				key[len] = '\0';
				key[pos] = (char)odd[i];
				want = pc_key_check_full(key, 512, &len2, &at2);
				CU_ASSERT_NOT_EQUAL(want, PC_KEY_OK);
				CU_ASSERT_EQUAL(pc_key_check(key, 512, &len1, &at1), want);
				CU_ASSERT_EQUAL(len1, len2);
				CU_ASSERT_EQUAL(at1, at2);
			}
		}
	}
}

/* Batch ids: 1 to max - 1 characters of [A-Za-z0-9._:-]. */
static void test_batch_id(void)
{
	char id[97];

	CU_ASSERT_TRUE(pc_batch_id_valid("a", 96));
	CU_ASSERT_TRUE(pc_batch_id_valid("host-1_x:0123abcd.7:42", 96));
	CU_ASSERT_FALSE(pc_batch_id_valid(NULL, 96));
	CU_ASSERT_FALSE(pc_batch_id_valid("", 96));
	CU_ASSERT_FALSE(pc_batch_id_valid("a b", 96));
	CU_ASSERT_FALSE(pc_batch_id_valid("a/b", 96));
	CU_ASSERT_FALSE(pc_batch_id_valid("{x}", 96));
	CU_ASSERT_FALSE(pc_batch_id_valid("caf\xc3\xa9", 96));
	memset(id, 'z', 95);
	id[95] = '\0';
	CU_ASSERT_TRUE(pc_batch_id_valid(id, 96));   /* the longest */
	id[95] = 'z';
	id[96] = '\0';
	CU_ASSERT_FALSE(pc_batch_id_valid(id, 96));  /* one too many */
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "valid UTF-8", test_utf8_valid },
		{ "invalid UTF-8", test_utf8_invalid },
		{ "length bounds the check", test_utf8_length_bound },
		{ "key rule", test_key_check },
		{ "key rule, a word at a time", test_key_check_words },
		{ "batch ids", test_batch_id },
		{ NULL, NULL }
	};

	return t_cunit_run("pc-utf8", NULL, NULL, cases);
}
