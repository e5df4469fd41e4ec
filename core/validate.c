/*
 * core/validate.c - the argument checks every public function runs before
 * anything reaches a provider: keys, collection names, values, JSON.
 *
 * The rules are the limits documented in persist.h.  Providers may be
 * stricter (a file name cannot hold everything a Redis key can) but never
 * need to repeat these.
 */
#include "config.h"

#include <string.h>
#include <json-c/json.h>

#include "core-private.h"
#include "pc-utf8.h"

/* True when data[0..len) is well-formed UTF-8 (the rule is the plugin
   support library's, shared with every provider). */
int persist_valid_utf8(const void *data, size_t len)
{
	return pc_utf8_valid(data, len);
}

/* Check a key, session id or event name: non-NULL, non-empty, at most
   PERSIST_KEY_MAX bytes, UTF-8, no control characters.  `what` names the
   argument in the message ("key", "session id"). */
int persist_valid_key(const char *what, const char *key,
		      struct persist_error *err)
{
	size_t at = 0;

	switch (pc_key_check(key, PERSIST_KEY_MAX, NULL, &at)) {
	case PC_KEY_OK:
		return PERSIST_OK;
	case PC_KEY_NULL:
		return persist_error_set(err, PERSIST_EINVAL, 0, "%s is NULL", what);
	case PC_KEY_CONTROL:
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"%s \"%.*s\" contains control character 0x%02x at byte %zu",
			what, (int)(at < 60 ? at : 60), key,
			(unsigned char)key[at], at);
	case PC_KEY_NOT_UTF8:
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"%s is not valid UTF-8", what);
	case PC_KEY_EMPTY:
		return persist_error_set(err, PERSIST_EINVAL, 0, "%s is empty", what);
	case PC_KEY_TOO_LONG:
		break;
	}
	return persist_error_set(err, PERSIST_EINVAL, 0,
		"%s \"%.40s...\" is too long\nThe limit is %d bytes.",
		what, key, PERSIST_KEY_MAX);
}

/* The bytes a collection name may hold: A-Z a-z 0-9 _ . : - */
static const unsigned char collection_char[256] = {
	['-'] = 1, ['.'] = 1, [':'] = 1, ['_'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
	['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
	['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
	['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
	['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
	['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
	['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
	['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* Check a collection name: [A-Za-z0-9_.:-]{1,PERSIST_COLLECTION_MAX}, not
   starting with '.' (it becomes a file name in some providers). */
int persist_valid_collection(const char *collection, struct persist_error *err)
{
	const unsigned char *s = (const unsigned char *)collection;
	size_t len;

	if (collection == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0, "collection is NULL");
	while (collection_char[*s])
		s++;
	len = (size_t)(s - (const unsigned char *)collection);
	if (*s != '\0') {
		size_t total = strlen(collection);
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"collection name \"%s\" contains an invalid character at byte %zu\n"
			"Collection names use A-Z, a-z, 0-9, '_', '.', ':' and '-'.",
			total <= PERSIST_COLLECTION_MAX && persist_valid_utf8(collection, total)
				? collection : "(not shown: too long or not UTF-8)", len);
	}
	if (len == 0)
		return persist_error_set(err, PERSIST_EINVAL, 0, "collection name is empty");
	if (len > PERSIST_COLLECTION_MAX)
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"collection name \"%.40s...\" is too long\nThe limit is %d bytes.",
			collection, PERSIST_COLLECTION_MAX);
	if (collection[0] == '.')
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"collection name \"%s\" starts with '.'", collection);
	return PERSIST_OK;
}

/* Check a value pointer/length pair: data may be NULL only when len is 0. */
int persist_valid_value(const char *what, const void *data, size_t len,
			struct persist_error *err)
{
	if (data == NULL && len > 0)
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"%s is NULL but its length is %zu", what, len);
	if (len > PERSIST_VALUE_MAX)
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"%s is too large (%zu bytes)\nThe limit is %u bytes.",
			what, len, PERSIST_VALUE_MAX);
	return PERSIST_OK;
}

/* json-c (0.16) accepts single-quoted object keys even in strict mode;
   JSON has no quote character ' outside strings, so look for one. */
static int persist_json_bare_quote(const char *s, size_t len)
{
	int in_string = 0;

	for (size_t i = 0; i < len; i++) {
		if (in_string) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_string = 0;
		} else if (s[i] == '"') {
			in_string = 1;
		} else if (s[i] == '\'') {
			return 1;
		}
	}
	return 0;
}

/* Check that data[0..len) is one complete JSON document. */
int persist_valid_json(const char *what, const void *data, size_t len,
		       struct persist_error *err)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end = 0;
	int ret = PERSIST_OK;

	if (persist_valid_value(what, data, len, err) != PERSIST_OK)
		return PERSIST_EINVAL;
	if (len == 0)
		return persist_error_set(err, PERSIST_EINVAL, 0, "%s is empty\nA JSON document was expected.", what);
	if (len > INT32_MAX)
		return persist_error_set(err, PERSIST_EINVAL, 0, "%s is too large for the JSON parser", what);
	tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
	if (tok == NULL)
		return persist_error_set(err, PERSIST_ENOMEM, 0, "out of memory parsing %s", what);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, data, (int)len);
	jerr = json_tokener_get_error(tok);
	if (obj == NULL && jerr == json_tokener_continue) {
		/* a bare number needs a terminator to end: give it the NUL */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	} else {
		end = json_tokener_get_parse_end(tok);
	}
	if (obj == NULL || jerr != json_tokener_success) {
		ret = persist_error_set(err, PERSIST_EINVAL, 0,
			"%s is not valid JSON: %s at byte %zu", what,
			jerr == json_tokener_continue ? "unexpected end of input"
						      : json_tokener_error_desc(jerr),
			end);
	} else {
		const char *s = data;
		while (end < len && (s[end] == ' ' || s[end] == '\t' ||
				     s[end] == '\n' || s[end] == '\r'))
			end++;
		if (end != len)
			ret = persist_error_set(err, PERSIST_EINVAL, 0,
				"%s is not valid JSON: trailing data at byte %zu", what, end);
		else if (persist_json_bare_quote(s, len))
			ret = persist_error_set(err, PERSIST_EINVAL, 0,
				"%s is not valid JSON: single-quoted string", what);
	}
	json_object_put(obj);
	json_tokener_free(tok);
	return ret;
}
