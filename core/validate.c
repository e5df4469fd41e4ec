/*
 * core/validate.c - the argument checks every public function runs before
 * anything reaches a provider: keys, collection names, values, JSON.
 *
 * The JSON check is a strict RFC 8259 recursive-descent checker (json-c
 * accepts NaN, Infinity, "1." and raw control characters in strings, so it
 * cannot be the judge of what is JSON).  It allocates nothing except, when
 * asked to find repeated member names, one array per object being checked.
 *
 * The rules are the limits documented in persist.h.  Providers may be
 * stricter (a file name cannot hold everything a Redis key can) but never
 * need to repeat these.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Check a TTL: 0 (no expiry) or 1 to PERSIST_TTL_MAX_MS.  `what` and `key`
   name what the TTL was for ("key", "k").  The one place the rule lives:
   every entry point taking a TTL calls this before anything is sent. */
int persist_valid_ttl(int64_t ttl_ms, const char *what, const char *key,
		      struct persist_error *err)
{
	if (ttl_ms >= 0 && ttl_ms <= PERSIST_TTL_MAX_MS)
		return PERSIST_OK;
	return persist_error_set(err, PERSIST_EINVAL, 0,
		"TTL %lld ms for %s \"%s\" is out of range\n"
		"A TTL is 0 (no expiry) or 1 to %lld ms (100 years).",
		(long long)ttl_ms, what, key != NULL ? key : "(null)",
		(long long)PERSIST_TTL_MAX_MS);
}

/* --- strict JSON ------------------------------------------------------ */

/* One step of the path from the top to the value being checked. */
struct json_path {
	const struct json_path *up;
	const unsigned char *name; /* member name as written (escapes kept), or NULL */
	size_t name_len;
	size_t index;              /* array element, when name is NULL */
};

/* Which objects must not repeat a member name. */
enum json_unique {
	JSON_UNIQUE_NONE,   /* none */
	JSON_UNIQUE_SCOPE,  /* the top object: only the scope's own name */
	JSON_UNIQUE_ALL     /* every object from here down */
};

/* One member name seen in an object (for the repetition check). */
struct json_name {
	const unsigned char *p; /* the name as written, without its quotes */
	size_t len;
	size_t offset;          /* of its opening quote */
};

struct json_scan {
	const unsigned char *s;
	size_t len, pos;
	int depth;
	const char *scope;      /* with JSON_UNIQUE_SCOPE: the top-level member */
	struct persist_json_fault *fault;
	int status;             /* PERSIST_EINVAL or PERSIST_ENOMEM once failed */
};

/* Write the path of `path` ("persistence.state", "a[2]") into buf. */
static void path_format(const struct json_path *path, char *buf, size_t size)
{
	const struct json_path *steps[PERSIST_JSON_DEPTH_MAX + 2];
	size_t n = 0, used = 0;

	buf[0] = '\0';
	for (; path != NULL && n < sizeof(steps) / sizeof(steps[0]); path = path->up)
		steps[n++] = path;
	while (n-- > 0 && used < size) {
		int w;
		if (steps[n]->name != NULL)
			w = snprintf(buf + used, size - used, "%s%.*s", used > 0 ? "." : "",
				     (int)(steps[n]->name_len < 64 ? steps[n]->name_len : 64),
				     (const char *)steps[n]->name);
		else
			w = snprintf(buf + used, size - used, "[%zu]", steps[n]->index);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* Record the first fault: reason (printf-style) at byte `at`. */
static int PERSIST_PRINTF(4, 5)
json_fail(struct json_scan *js, const struct json_path *path, size_t at,
	  const char *fmt, ...)
{
	va_list args;

	if (js->status != PERSIST_OK)
		return -1;
	js->status = PERSIST_EINVAL;
	js->fault->offset = at;
	va_start(args, fmt);
	vsnprintf(js->fault->reason, sizeof(js->fault->reason), fmt, args);
	va_end(args);
	path_format(path, js->fault->path, sizeof(js->fault->path));
	return -1;
}

static void json_ws(struct json_scan *js)
{
	while (js->pos < js->len &&
	       (js->s[js->pos] == ' ' || js->s[js->pos] == '\t' ||
		js->s[js->pos] == '\n' || js->s[js->pos] == '\r'))
		js->pos++;
}

static int is_digit(struct json_scan *js)
{
	return js->pos < js->len && js->s[js->pos] >= '0' && js->s[js->pos] <= '9';
}

static int is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string; js->pos is at its opening quote.  Escapes of lone surrogates
   ("\ud800") are accepted: RFC 8259's grammar allows them. */
static int json_string(struct json_scan *js, const struct json_path *path)
{
	size_t start = js->pos++;

	while (js->pos < js->len) {
		unsigned char c = js->s[js->pos];

		if (c == '"') {
			js->pos++;
			return 0;
		}
		if (c == '\\') {
			unsigned char e = js->pos + 1 < js->len ? js->s[js->pos + 1] : 0;
			if (e == 'u') {
				for (size_t k = 2; k < 6; k++) {
					if (js->pos + k >= js->len || !is_hex(js->s[js->pos + k]))
						return json_fail(js, path, js->pos,
							"\\u needs four hex digits");
				}
				js->pos += 6;
			} else if (e != 0 && strchr("\"\\/bfnrt", e) != NULL) {
				js->pos += 2;
			} else if (js->pos + 1 >= js->len) {
				break;
			} else {
				if (e < 0x20 || e >= 0x7f)
					return json_fail(js, path, js->pos, "invalid escape in a string");
				return json_fail(js, path, js->pos, "invalid escape \\%c in a string", e);
			}
		} else if (c < 0x20) {
			return json_fail(js, path, js->pos,
				"raw control character 0x%02x in a string (it must be escaped)", c);
		} else if (c < 0x80) {
			js->pos++;
		} else {
			size_t n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
				 : (c & 0xf8) == 0xf0 ? 4 : 1;
			if (js->pos + n > js->len || !persist_valid_utf8(js->s + js->pos, n))
				return json_fail(js, path, js->pos, "invalid UTF-8 in a string");
			js->pos += n;
		}
	}
	return json_fail(js, path, start, "unterminated string");
}

/* A number; js->pos is at '-' or a digit. */
static int json_number(struct json_scan *js, const struct json_path *path)
{
	size_t start = js->pos;

	if (js->s[js->pos] == '-') {
		js->pos++;
		if (js->len - js->pos >= 8 && memcmp(js->s + js->pos, "Infinity", 8) == 0)
			return json_fail(js, path, start, "-Infinity is not a JSON value");
		if (!is_digit(js))
			return json_fail(js, path, start, "a minus sign must be followed by a digit");
	}
	if (js->s[js->pos] == '0') {
		js->pos++;
		if (is_digit(js))
			return json_fail(js, path, start, "a number cannot have a leading zero");
	} else {
		while (is_digit(js))
			js->pos++;
	}
	if (js->pos < js->len && js->s[js->pos] == '.') {
		js->pos++;
		if (!is_digit(js))
			return json_fail(js, path, start,
				"a number needs a digit after the decimal point");
		while (is_digit(js))
			js->pos++;
	}
	if (js->pos < js->len && (js->s[js->pos] == 'e' || js->s[js->pos] == 'E')) {
		js->pos++;
		if (js->pos < js->len && (js->s[js->pos] == '+' || js->s[js->pos] == '-'))
			js->pos++;
		if (!is_digit(js))
			return json_fail(js, path, start, "an exponent needs a digit");
		while (is_digit(js))
			js->pos++;
	}
	return 0;
}

/* A bare word: true, false or null; anything else (NaN, Infinity, tru) is
   named in the fault. */
static int json_word(struct json_scan *js, const struct json_path *path)
{
	size_t start = js->pos, n;

	while (js->pos < js->len &&
	       ((js->s[js->pos] >= 'a' && js->s[js->pos] <= 'z') ||
		(js->s[js->pos] >= 'A' && js->s[js->pos] <= 'Z') ||
		(js->s[js->pos] >= '0' && js->s[js->pos] <= '9') || js->s[js->pos] == '_'))
		js->pos++;
	n = js->pos - start;
	if ((n == 4 && (memcmp(js->s + start, "true", 4) == 0 ||
			memcmp(js->s + start, "null", 4) == 0)) ||
	    (n == 5 && memcmp(js->s + start, "false", 5) == 0))
		return 0;
	return json_fail(js, path, start, "%.*s%s is not a JSON value",
			 (int)(n < 24 ? n : 24), (const char *)js->s + start,
			 n > 24 ? "..." : "");
}

/* The value of four hex digits (checked before). */
static uint32_t hex4(const unsigned char *p)
{
	uint32_t v = 0;

	for (int k = 0; k < 4; k++)
		v = (v << 4) | (uint32_t)(p[k] <= '9' ? p[k] - '0' : (p[k] | 0x20) - 'a' + 10);
	return v;
}

/* Next code point of a string's text as written (escapes decoded; the
   text has been checked).  *i advances past it. */
static uint32_t name_next(const unsigned char *p, size_t len, size_t *i)
{
	unsigned char c = p[*i];
	uint32_t cp;

	if (c == '\\') {
		unsigned char e = p[*i + 1];
		*i += 2;
		switch (e) {
		case 'b': return '\b';
		case 'f': return '\f';
		case 'n': return '\n';
		case 'r': return '\r';
		case 't': return '\t';
		case 'u':
			cp = hex4(p + *i);
			*i += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && *i + 6 <= len &&
			    p[*i] == '\\' && p[*i + 1] == 'u') {
				uint32_t lo = hex4(p + *i + 2);
				if (lo >= 0xdc00 && lo < 0xe000) {
					*i += 6;
					return 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				}
			}
			return cp;
		default: return e;
		}
	}
	if (c < 0x80) {
		(*i)++;
		return c;
	}
	{
		size_t n = (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : 3;
		cp = c & (n == 1 ? 0x1f : n == 2 ? 0x0f : 0x07);
		for (size_t k = 1; k <= n; k++)
			cp = (cp << 6) | (p[*i + k] & 0x3f);
		*i += n + 1;
		return cp;
	}
}

/* Order two member names by their decoded text ("a" equals "\u0061"),
   then by position. */
static int name_cmp(const void *va, const void *vb)
{
	const struct json_name *a = va, *b = vb;
	size_t i = 0, j = 0;

	while (i < a->len && j < b->len) {
		uint32_t ca = name_next(a->p, a->len, &i), cb = name_next(b->p, b->len, &j);
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	if (i < a->len || j < b->len)
		return i < a->len ? 1 : -1;
	return a->offset < b->offset ? -1 : a->offset > b->offset;
}

/* Does a member name as written equal the plain C string s? */
static int name_is(const struct json_name *name, const char *s)
{
	struct json_name plain = { (const unsigned char *)s, strlen(s), 0 };

	plain.offset = name->offset;
	return name_cmp(name, &plain) == 0;
}

/* Does a member name decode to text holding U+0000? */
static int name_has_nul(const struct json_name *name)
{
	for (size_t i = 0; i < name->len; ) {
		if (name_next(name->p, name->len, &i) == 0)
			return 1;
	}
	return 0;
}

/* After an object's members were collected: the first repeated name. */
static int names_unique(struct json_scan *js, const struct json_path *path,
			struct json_name *names, size_t n, enum json_unique unique)
{
	const struct json_name *dup = NULL;

	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 1; i < n; i++) {
		struct json_name a = names[i - 1], b = names[i];
		a.offset = b.offset = 0;
		if (name_cmp(&a, &b) != 0)
			continue;
		if (unique == JSON_UNIQUE_SCOPE && !name_is(&names[i], js->scope))
			continue;
		if (dup == NULL || names[i].offset < dup->offset)
			dup = &names[i];
	}
	if (dup == NULL)
		return 0;
	json_fail(js, path, dup->offset, "key \"%.*s\" is given twice",
		  (int)(dup->len < 64 ? dup->len : 64), (const char *)dup->p);
	js->fault->name_fault = 1;
	return -1;
}

static int json_value(struct json_scan *js, const struct json_path *path,
		      enum json_unique unique);

/* An object; js->pos is at '{'. */
static int json_object(struct json_scan *js, const struct json_path *path,
		       enum json_unique unique)
{
	struct json_name *names = NULL;
	size_t n = 0, cap = 0;
	int ret = -1;

	js->pos++;
	json_ws(js);
	if (js->pos < js->len && js->s[js->pos] == '}') {
		js->pos++;
		return 0;
	}
	for (;;) {
		struct json_path member = { path, NULL, 0, 0 };
		enum json_unique below = unique == JSON_UNIQUE_ALL ? JSON_UNIQUE_ALL
								  : JSON_UNIQUE_NONE;
		size_t name_at;

		json_ws(js);
		if (js->pos >= js->len) {
			json_fail(js, path, js->pos, "unexpected end of input");
			goto out;
		}
		if (js->s[js->pos] != '"') {
			json_fail(js, path, js->pos, js->s[js->pos] == '}'
				  ? "a trailing comma before '}'" : js->s[js->pos] == '\''
				  ? "single-quoted member name" : "expected a member name in double quotes");
			goto out;
		}
		name_at = js->pos;
		if (json_string(js, path) < 0)
			goto out;
		member.name = js->s + name_at + 1;
		member.name_len = js->pos - name_at - 2;
		if (unique != JSON_UNIQUE_NONE) {
			if (n == cap) {
				size_t bigger = cap == 0 ? 8 : cap * 2;
				struct json_name *grown = realloc(names, bigger * sizeof(*names));
				if (grown == NULL) {
					json_fail(js, path, name_at, "out of memory");
					js->status = PERSIST_ENOMEM;
					goto out;
				}
				names = grown;
				cap = bigger;
			}
			names[n].p = member.name;
			names[n].len = member.name_len;
			names[n].offset = name_at;
			n++;
			if (unique == JSON_UNIQUE_ALL && name_has_nul(&names[n - 1])) {
				json_fail(js, path, name_at, "key \"%.*s\" holds a NUL character (\\u0000)",
					  (int)(member.name_len < 64 ? member.name_len : 64),
					  (const char *)member.name);
				js->fault->name_fault = 1;
				goto out;
			}
			if (unique == JSON_UNIQUE_SCOPE && name_is(&names[n - 1], js->scope))
				below = JSON_UNIQUE_ALL;
		}
		json_ws(js);
		if (js->pos >= js->len || js->s[js->pos] != ':') {
			json_fail(js, &member, js->pos, js->pos >= js->len
				  ? "unexpected end of input" : "expected ':' after a member name");
			goto out;
		}
		js->pos++;
		if (json_value(js, &member, below) < 0)
			goto out;
		json_ws(js);
		if (js->pos < js->len && js->s[js->pos] == ',') {
			js->pos++;
			continue;
		}
		if (js->pos < js->len && js->s[js->pos] == '}') {
			js->pos++;
			break;
		}
		json_fail(js, path, js->pos, js->pos >= js->len ? "unexpected end of input"
			  : "expected ',' or '}' after a member");
		goto out;
	}
	ret = n > 1 ? names_unique(js, path, names, n, unique) : 0;
out:
	free(names);
	return ret;
}

/* An array; js->pos is at '['. */
static int json_array(struct json_scan *js, const struct json_path *path,
		      enum json_unique unique)
{
	struct json_path element = { path, NULL, 0, 0 };

	js->pos++;
	json_ws(js);
	if (js->pos < js->len && js->s[js->pos] == ']') {
		js->pos++;
		return 0;
	}
	for (;; element.index++) {
		json_ws(js);
		if (js->pos < js->len && js->s[js->pos] == ']')
			return json_fail(js, path, js->pos, "a trailing comma before ']'");
		if (json_value(js, &element, unique == JSON_UNIQUE_ALL
			       ? JSON_UNIQUE_ALL : JSON_UNIQUE_NONE) < 0)
			return -1;
		json_ws(js);
		if (js->pos < js->len && js->s[js->pos] == ',') {
			js->pos++;
			continue;
		}
		if (js->pos < js->len && js->s[js->pos] == ']') {
			js->pos++;
			return 0;
		}
		return json_fail(js, path, js->pos, js->pos >= js->len
				 ? "unexpected end of input" : "expected ',' or ']' after an element");
	}
}

/* Any value, after optional white space. */
static int json_value(struct json_scan *js, const struct json_path *path,
		      enum json_unique unique)
{
	unsigned char c;
	int ret;

	json_ws(js);
	if (js->pos >= js->len)
		return json_fail(js, path, js->pos, "unexpected end of input");
	c = js->s[js->pos];
	switch (c) {
	case '{':
	case '[':
		if (js->depth >= PERSIST_JSON_DEPTH_MAX)
			return json_fail(js, path, js->pos,
				"nested deeper than %d levels", PERSIST_JSON_DEPTH_MAX);
		js->depth++;
		ret = c == '{' ? json_object(js, path, unique) : json_array(js, path, unique);
		js->depth--;
		return ret;
	case '"':
		return json_string(js, path);
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return json_number(js, path);
	case '.':
		return json_fail(js, path, js->pos, "a number needs a digit before the decimal point");
	case '+':
		return json_fail(js, path, js->pos, "a number cannot start with '+'");
	case '\'':
		return json_fail(js, path, js->pos, "single-quoted string");
	default:
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			return json_word(js, path);
		if (c < 0x20 || c >= 0x7f)
			return json_fail(js, path, js->pos, "unexpected byte 0x%02x", c);
		return json_fail(js, path, js->pos, "unexpected character '%c'", c);
	}
}

/* Strict RFC 8259 check of data[0..len): exactly one JSON value (any
   type, "null" included) with optional white space around it. */
int persist_json_check(const void *data, size_t len, const char *unique_scope,
		       struct persist_json_fault *fault_r)
{
	struct persist_json_fault scratch;
	struct json_scan js = {
		.s = data, .len = len, .scope = unique_scope,
		.fault = fault_r != NULL ? fault_r : &scratch,
	};

	memset(js.fault, 0, sizeof(*js.fault));
	if (data == NULL && len > 0) {
		js.fault->offset = 0;
		snprintf(js.fault->reason, sizeof(js.fault->reason), "no data");
		return PERSIST_EINVAL;
	}
	if (json_value(&js, NULL, unique_scope == NULL ? JSON_UNIQUE_NONE
			: unique_scope[0] == '\0' ? JSON_UNIQUE_ALL : JSON_UNIQUE_SCOPE) == 0) {
		json_ws(&js);
		if (js.pos < js.len)
			json_fail(&js, NULL, js.pos, "unexpected data after the JSON value");
	}
	return js.status;
}

/* Check that data[0..len) is one JSON value; what names it in the message
   ("document for key \"apps\"").  Exported: tools check JSON arguments
   with the same rule as the core. */
int persist_valid_json(const char *what, const void *data, size_t len,
		       struct persist_error *err)
{
	struct persist_json_fault fault;
	int ret;

	persist_error_clear(err);
	if (what == NULL)
		what = "JSON text";
	if (persist_valid_value(what, data, len, err) != PERSIST_OK)
		return PERSIST_EINVAL;
	if (len == 0)
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"%s is empty\nA JSON value was expected.", what);
	ret = persist_json_check(data, len, NULL, &fault);
	if (ret == PERSIST_ENOMEM)
		return persist_error_set(err, PERSIST_ENOMEM, 0, "out of memory checking %s", what);
	if (ret != PERSIST_OK)
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"%s is not valid JSON: %s at byte %zu", what, fault.reason, fault.offset);
	return PERSIST_OK;
}
