/*
 * plugins/filesystem/fs-codec.c - the text encodings the provider writes:
 * JSON string literals (for journal lines), base64 (for bytes that are not
 * UTF-8 or not JSON), and one JSON parse helper around json-c used for
 * documents and log records.  (UTF-8 checks and counter text come from the
 * plugin support library and plugin.h.)
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include "fs-private.h"

/* json-c's default nesting limit (32) is below what real documents use. */
#define FS_JSON_DEPTH 512

/* Append data as a JSON string literal; bytes >= 0x80 are copied as they
   are (the caller has checked UTF-8), control characters escaped. */
void fs_json_add_string(struct fs_buf *buf, const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data;
	size_t i, start = 0;

	if (fs_buf_reserve(buf, len + 2) < 0)
		return;
	fs_buf_addc(buf, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = p[i];
		char esc[7];

		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		fs_buf_add(buf, p + start, i - start);
		start = i + 1;
		switch (c) {
		case '"': fs_buf_add(buf, "\\\"", 2); break;
		case '\\': fs_buf_add(buf, "\\\\", 2); break;
		case '\n': fs_buf_add(buf, "\\n", 2); break;
		case '\r': fs_buf_add(buf, "\\r", 2); break;
		case '\t': fs_buf_add(buf, "\\t", 2); break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			fs_buf_add(buf, esc, 6);
		}
	}
	fs_buf_add(buf, p + start, len - start);
	fs_buf_addc(buf, '"');
}

/* Append the base64 text of data (OpenSSL's encoder, in slices that fit
   its int lengths). */
void fs_base64_add(struct fs_buf *buf, const void *data, size_t len)
{
	const unsigned char *p = data;
	const size_t slice = 3 * 1024 * 1024;

	while (len > 0) {
		size_t n = len < slice ? len : slice;
		size_t out = 4 * ((n + 2) / 3);
		int got;

		if (fs_buf_reserve(buf, out) < 0)
			return;
		got = EVP_EncodeBlock((unsigned char *)buf->data + buf->len, p,
				      (int)n);
		buf->len += (size_t)got;
		buf->data[buf->len] = '\0';
		p += n;
		len -= n;
	}
}

/* Decode base64 text (length a multiple of 4, '=' padding only at the
   end) into a malloc'ed, NUL-terminated buffer. */
int fs_base64_decode(const char *text, size_t len, char **data_r,
		     size_t *len_r)
{
	unsigned char *out;
	size_t pad = 0, i;
	int got;

	if (len % 4 != 0 || len > (size_t)INT_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		char c = text[i];
		if (c == '=') {
			if (i < len - 2)
				return -1;
			pad++;
		} else if (pad > 0 || !((c >= 'A' && c <= 'Z') ||
				      (c >= 'a' && c <= 'z') ||
				      (c >= '0' && c <= '9') || c == '+' ||
				      c == '/')) {
			return -1;
		}
	}
	out = malloc(len / 4 * 3 + 1);
	if (out == NULL)
		return -1;
	got = len == 0 ? 0 : EVP_DecodeBlock(out, (const unsigned char *)text,
					     (int)len);
	if (got < 0 || (size_t)got < pad) {
		free(out);
		return -1;
	}
	*len_r = (size_t)got - pad;
	out[*len_r] = '\0';
	*data_r = (char *)out;
	return 0;
}

/* A tokener deep enough for real documents (free with json_tokener_free). */
struct json_tokener *fs_json_tokener(void)
{
	return json_tokener_new_ex(FS_JSON_DEPTH);
}

/* Parse JSON text with json-c: the whole input must be one value (trailing
   whitespace allowed); strict rejects json-c's extensions (single quotes,
   NaN, ...) and non-UTF-8.  The parse error goes to why. */
int fs_json_parse(const void *data, size_t len, int strict,
		  struct json_object **obj_r, char *why, size_t why_size)
{
	return fs_json_parse_tok(NULL, data, len, strict, obj_r, why, why_size);
}

/* fs_json_parse with a caller's tokener (reset here; NULL: a new one). */
int fs_json_parse_tok(struct json_tokener *given, const void *data, size_t len,
		      int strict, struct json_object **obj_r, char *why,
		      size_t why_size)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	const char *p = data;
	size_t end;

	if (len > (size_t)INT_MAX) {
		snprintf(why, why_size, "document too large for the parser");
		return -1;
	}
	tok = given != NULL ? given : json_tokener_new_ex(FS_JSON_DEPTH);
	if (tok == NULL) {
		snprintf(why, why_size, "out of memory");
		return -1;
	}
	json_tokener_reset(tok);
	json_tokener_set_flags(tok, strict ? JSON_TOKENER_STRICT |
						     JSON_TOKENER_ALLOW_TRAILING_CHARS |
						     JSON_TOKENER_VALIDATE_UTF8
					   : 0);
	obj = json_tokener_parse_ex(tok, p, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		/* Input ended inside a value, or a bare number that needs a
		   terminator: feed one NUL-free delimiter. */
		if (obj == NULL)
			obj = json_tokener_parse_ex(tok, " ", 1);
		jerr = json_tokener_get_error(tok);
		if (jerr == json_tokener_continue) {
			snprintf(why, why_size, "unexpected end of input at byte %zu",
				 len);
			if (given == NULL)
				json_tokener_free(tok);
			return -1;
		}
		end = len;
	} else {
		end = json_tokener_get_parse_end(tok);
	}
	if (jerr != json_tokener_success) {
		snprintf(why, why_size, "%s at byte %zu",
			 json_tokener_error_desc(jerr),
			 json_tokener_get_parse_end(tok));
		if (given == NULL)
			json_tokener_free(tok);
		return -1;
	}
	if (given == NULL)
		json_tokener_free(tok);
	for (; end < len; end++) {
		if (p[end] != ' ' && p[end] != '\t' && p[end] != '\n' &&
		    p[end] != '\r') {
			json_object_put(obj);
			snprintf(why, why_size,
				 "unexpected text after the JSON value at byte %zu",
				 end);
			return -1;
		}
	}
	if (obj_r != NULL)
		*obj_r = obj;
	else
		json_object_put(obj);
	return 0;
}
