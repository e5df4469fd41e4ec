/*
 * plugins/common/pc-utf8.c - UTF-8 validation and the key rule every kind
 * shares (see pc-utf8.h).  The key check runs on every call of the host
 * API: printable ASCII is scanned in a tight loop (inline, in the
 * header), and only a key with other bytes takes the careful path here.
 */
#include <stdint.h>
#include <persist/plugin.h> /* PERSIST_COLLECTION_MAX */
#include "pc-utf8.h"

/* True when data[0..len) is well-formed UTF-8. */
int pc_utf8_valid(const void *data, size_t len)
{
	const unsigned char *s = data;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1; cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2; cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3; cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* Check a key against the rule shared by every kind (the careful path
   behind the inline pc_key_check). */
enum pc_key_problem pc_key_check_full(const char *key, size_t max,
				      size_t *len_r, size_t *at_r)
{
	const unsigned char *s = (const unsigned char *)key;
	size_t len;
	int ascii = 1;

	if (key == NULL)
		return PC_KEY_NULL;
	/* fast path: printable ASCII up to the NUL */
	while (*s >= 0x20 && *s < 0x7f)
		s++;
	if (*s != '\0') {
		/* control characters are refused where they stand; UTF-8 is
		   checked once the end is found */
		ascii = 0;
		for (; *s != '\0'; s++) {
			if (*s < 0x20 || *s == 0x7f) {
				len = (size_t)(s - (const unsigned char *)key);
				if (len_r != NULL)
					*len_r = len;
				if (at_r != NULL)
					*at_r = len;
				return PC_KEY_CONTROL;
			}
		}
	}
	len = (size_t)(s - (const unsigned char *)key);
	if (len_r != NULL)
		*len_r = len;
	if (!ascii && !pc_utf8_valid(key, len))
		return PC_KEY_NOT_UTF8;
	if (len == 0)
		return PC_KEY_EMPTY;
	if (len > max)
		return PC_KEY_TOO_LONG;
	return PC_KEY_OK;
}

/* The detail sentence of a key problem. */
const char *pc_key_problem_text(enum pc_key_problem problem)
{
	switch (problem) {
	case PC_KEY_OK:
		return "The key is valid.";
	case PC_KEY_NULL:
		return "A key must be given.";
	case PC_KEY_EMPTY:
		return "A key must not be empty.";
	case PC_KEY_TOO_LONG:
		return "A key is too long.";
	case PC_KEY_CONTROL:
		return "A key must not contain control characters.";
	case PC_KEY_NOT_UTF8:
		return "A key must be valid UTF-8.";
	}
	return "The key is not valid.";
}

/* A character of batch ids and collection names: [A-Za-z0-9._:-]. */
static int pc_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
		c == '-';
}

/* Check a batch id's characters and length (see pc-utf8.h). */
int pc_batch_id_valid(const char *id, size_t max)
{
	size_t len = 0;

	if (id == NULL)
		return 0;
	for (; id[len] != '\0'; len++) {
		if (len + 1 >= max || !pc_name_char(id[len]))
			return 0;
	}
	return len > 0;
}

/* Check a collection name found in a file name or a key (see pc-utf8.h). */
int pc_collection_valid(const char *name, size_t len)
{
	if (name == NULL || len == 0 || len > PERSIST_COLLECTION_MAX ||
	    name[0] == '.')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!pc_name_char(name[i]))
			return 0;
	return 1;
}
