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

/* Check a key: not NULL, 1 to max bytes, UTF-8, no control characters.
   *len_r (may be NULL) gets the key's length when it is not NULL;
   *at_r (may be NULL) the offset of the control character.  Inline: it
   runs on every call of the host API, and a key of printable ASCII within
   the limit is settled by one tight loop. */
static inline enum pc_key_problem pc_key_check(const char *key, size_t max,
					       size_t *len_r, size_t *at_r)
{
	const unsigned char *s = (const unsigned char *)key;
	size_t len;

	if (key == NULL)
		return PC_KEY_NULL;
	while (*s >= 0x20 && *s < 0x7f)
		s++;
	len = (size_t)(s - (const unsigned char *)key);
	if (*s != '\0' || len == 0 || len > max)
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
