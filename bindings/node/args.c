/*
 * bindings/node/args.c - reading the arguments of the addon's functions
 * and making the simple values it returns.
 *
 * index.js checks arguments against the interfaces and throws TypeErrors
 * naming them; these checks are the addon's own line of defence, so that a
 * caller reaching the native functions directly gets a TypeError naming the
 * argument too, never a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addon.h"

/* Throw a TypeError "WHAT must be EXPECTED". */
static int type_error(napi_env env, const char *what, const char *expected)
{
	char msg[256];

	snprintf(msg, sizeof msg, "%s must be %s", what, expected);
	napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
	return -1;
}

/* Fetch exactly `want` arguments of function fn. */
int pn_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv,
	    const char *fn)
{
	size_t argc = want;
	char msg[128];

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)
		return -1;
	if (argc != want) {
		snprintf(msg, sizeof msg, "%s takes %zu arguments, %zu given", fn, want, argc);
		napi_throw_type_error(env, "ERR_INVALID_ARG_COUNT", msg);
		return -1;
	}
	return 0;
}

/* The handle behind an external made by open(). */
int pn_arg_handle(napi_env env, napi_value v, struct pn_handle **h_r)
{
	napi_valuetype t;
	void *data = NULL;

	if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
	    napi_get_value_external(env, v, &data) != napi_ok || data == NULL)
		return type_error(env, "handle", "a handle returned by open()");
	*h_r = data;
	return 0;
}

/* A string, copied (NUL-terminated, caller frees); Buffers are accepted as
   bytes. */
int pn_arg_string(napi_env env, napi_value v, const char *what, char **s_r,
		  size_t *len_r)
{
	napi_valuetype t;
	size_t len = 0;
	bool is_buffer = false;
	char *s;

	if (napi_typeof(env, v, &t) != napi_ok)
		return -1;
	if (t == napi_object && napi_is_buffer(env, v, &is_buffer) == napi_ok && is_buffer) {
		void *data;

		if (napi_get_buffer_info(env, v, &data, &len) != napi_ok)
			return -1;
		if ((s = malloc(len + 1)) == NULL)
			goto nomem;
		memcpy(s, data, len);
		s[len] = '\0';
	} else if (t == napi_string) {
		if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok)
			return -1;
		if ((s = malloc(len + 1)) == NULL)
			goto nomem;
		if (napi_get_value_string_utf8(env, v, s, len + 1, &len) != napi_ok) {
			free(s);
			return -1;
		}
	} else {
		return type_error(env, what, "a string");
	}
	*s_r = s;
	if (len_r != NULL)
		*len_r = len;
	return 0;
nomem:
	napi_throw_error(env, "ENOMEM", "out of memory");
	return -1;
}

/* A string or null/undefined (*s_r NULL). */
int pn_arg_string_or_null(napi_env env, napi_value v, const char *what,
			  char **s_r)
{
	napi_valuetype t;

	if (napi_typeof(env, v, &t) != napi_ok)
		return -1;
	if (t == napi_null || t == napi_undefined) {
		*s_r = NULL;
		return 0;
	}
	if (t != napi_string)
		return type_error(env, what, "a string or null");
	return pn_arg_string(env, v, what, s_r, NULL);
}

/* An integer: a Number that is a safe integer, or a BigInt within 64 bits. */
int pn_arg_int64(napi_env env, napi_value v, const char *what, int64_t *n_r)
{
	napi_valuetype t;

	if (napi_typeof(env, v, &t) != napi_ok)
		return -1;
	if (t == napi_number) {
		double d;

		if (napi_get_value_double(env, v, &d) != napi_ok)
			return -1;
		if (!(d >= -9007199254740991.0 && d <= 9007199254740991.0) || d != (double)(int64_t)d)
			return type_error(env, what, "a safe integer");
		*n_r = (int64_t)d;
		return 0;
	}
	if (t == napi_bigint) {
		bool lossless = false;

		if (napi_get_value_bigint_int64(env, v, n_r, &lossless) != napi_ok)
			return -1;
		if (!lossless)
			return type_error(env, what, "a BigInt within 64 bits");
		return 0;
	}
	return type_error(env, what, "an integer");
}

/* An array; its length to n_r. */
int pn_arg_array(napi_env env, napi_value v, const char *what, uint32_t *n_r)
{
	bool is_array = false;

	if (napi_is_array(env, v, &is_array) != napi_ok || !is_array)
		return type_error(env, what, "an array");
	return napi_get_array_length(env, v, n_r) == napi_ok ? 0 : -1;
}

/* A JavaScript string of len bytes of UTF-8 (null for NULL). */
napi_value pn_string(napi_env env, const char *s, size_t len)
{
	napi_value v;

	if (s == NULL) {
		napi_get_null(env, &v);
		return v;
	}
	if (napi_create_string_utf8(env, s, len, &v) != napi_ok)
		return NULL;
	return v;
}

/* A Number (counters beyond 2^53 lose precision, as any JS number). */
napi_value pn_int64(napi_env env, int64_t n)
{
	napi_value v;

	if (napi_create_int64(env, n, &v) != napi_ok)
		return NULL;
	return v;
}

napi_value pn_undefined(napi_env env)
{
	napi_value v;

	napi_get_undefined(env, &v);
	return v;
}
