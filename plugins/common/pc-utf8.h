/*
 * plugins/common/pc-utf8.h - UTF-8 and key checks shared by the core and
 * the plugins.  They answer what is wrong and where; the caller words the
 * message (the core through its error helpers, a plugin through
 * host->error), so the rule lives in one place and every message still
 * names the caller's argument.  Needs nothing outside libc; the core
 * compiles pc-utf8.c too.
 */
#ifndef PERSIST_PC_UTF8_H
#define PERSIST_PC_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* True when data[0..len) is well-formed UTF-8: no overlong forms, no
   surrogates, nothing above U+10FFFF. */
int pc_utf8_valid(const void *data, size_t len);

/* What is wrong with a key (state key, configuration key, session id). */
enum pc_key_problem {
	PC_KEY_OK = 0,
	PC_KEY_NULL,
	PC_KEY_EMPTY,
	PC_KEY_TOO_LONG,      /* longer than max bytes */
	PC_KEY_CONTROL,       /* a byte below 0x20, or 0x7f, at *at_r */
	PC_KEY_NOT_UTF8,
};

/* The whole check, for keys the inline fast path below does not settle. */
enum pc_key_problem pc_key_check_full(const char *key, size_t max,
				      size_t *len_r, size_t *at_r);

/* Bits set (at 0x80 of some byte) when one of the eight bytes of w is not
   printable ASCII (below 0x20, 0x7f or above): the sums cannot carry
   into a byte unless a byte before already has its top bit. */
static inline uint64_t pc_word_unprintable(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;

	return (((w - ones * 0x20) & ~w) | (w + ones) | w) & highs;
}

/* Check a key: not NULL, 1 to max bytes, UTF-8, no control characters.
   *len_r (may be NULL) gets the key's length when it is not NULL;
   *at_r (may be NULL) the offset of the control character.  Inline: it
   runs on every call of the host API, and a key of printable ASCII within
   the limit is settled eight bytes at a time (the last word overlaps the
   one before); anything else goes to the whole check. */
static inline enum pc_key_problem pc_key_check(const char *key, size_t max,
					       size_t *len_r, size_t *at_r)
{
	size_t len, i;
	uint64_t w, bad = 0;

	if (key == NULL)
		return PC_KEY_NULL;
	len = strlen(key);
	if (len < 8 || len > max)
		return pc_key_check_full(key, max, len_r, at_r);
	for (i = 0; i + 8 < len; i += 8) {
		memcpy(&w, key + i, 8);
		bad |= pc_word_unprintable(w);
	}
	memcpy(&w, key + len - 8, 8);
	if ((bad | pc_word_unprintable(w)) != 0)
		return pc_key_check_full(key, max, len_r, at_r);
	if (len_r != NULL)
		*len_r = len;
	return PC_KEY_OK;
}
/* A detail sentence for a problem ("A key must be valid UTF-8."). */
const char *pc_key_problem_text(enum pc_key_problem problem);

/* True when id is a batch id of batch_once (plugin.h): 1 to max - 1
   characters of [A-Za-z0-9._:-] (max: PERSIST_BATCH_ID_MAX).  Ids are
   used as parts of file lines, Redis keys and SQL values as they are, so
   core and providers check the same rule. */
int pc_batch_id_valid(const char *id, size_t max);
/* True when name[0..len) is a collection name (persist.h): 1 to
   PERSIST_COLLECTION_MAX characters of [A-Za-z0-9._:-], not starting with
   '.'.  Providers that find names in files or keys check them with it. */
int pc_collection_valid(const char *name, size_t len);

#endif
