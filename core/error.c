/*
 * core/error.c - status names, filling struct persist_error, and the small
 * memory helpers of the host API (persist_free and friends).
 *
 * Every failure in the core goes through persist_error_set() so that the
 * message is always NUL-terminated, never overflows msg[] and the code in
 * the struct always equals the code returned.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core-private.h"
#include "pc-common.h"

static const char *const status_names[PERSIST_STATUS_COUNT_] = {
	[PERSIST_OK] = "PERSIST_OK",
	[PERSIST_ENOTFOUND] = "PERSIST_ENOTFOUND",
	[PERSIST_ECONFLICT] = "PERSIST_ECONFLICT",
	[PERSIST_EINVAL] = "PERSIST_EINVAL",
	[PERSIST_ENOTSUP] = "PERSIST_ENOTSUP",
	[PERSIST_EUNAVAIL] = "PERSIST_EUNAVAIL",
	[PERSIST_ETIMEDOUT] = "PERSIST_ETIMEDOUT",
	[PERSIST_EUNCERTAIN] = "PERSIST_EUNCERTAIN",
	[PERSIST_EIO] = "PERSIST_EIO",
	[PERSIST_ECORRUPT] = "PERSIST_ECORRUPT",
	[PERSIST_ENOMEM] = "PERSIST_ENOMEM",
	[PERSIST_ECONFIG] = "PERSIST_ECONFIG",
	[PERSIST_ECLOSED] = "PERSIST_ECLOSED",
	[PERSIST_ENOPLUGIN] = "PERSIST_ENOPLUGIN",
	[PERSIST_EINSECURE] = "PERSIST_EINSECURE",
	[PERSIST_ELOAD] = "PERSIST_ELOAD",
	[PERSIST_ENOENTRY] = "PERSIST_ENOENTRY",
	[PERSIST_EMAGIC] = "PERSIST_EMAGIC",
	[PERSIST_EABI] = "PERSIST_EABI",
	[PERSIST_EABINEWER] = "PERSIST_EABINEWER",
	[PERSIST_EDESCRIPTOR] = "PERSIST_EDESCRIPTOR",
	[PERSIST_ENAME] = "PERSIST_ENAME",
	[PERSIST_EINIT] = "PERSIST_EINIT",
	[PERSIST_ENOIFACE] = "PERSIST_ENOIFACE",
};

/* Symbolic name of a status; "PERSIST_E?" for a number no name belongs to. */
const char *persist_strerror(int status)
{
	if (status < 0 || status >= PERSIST_STATUS_COUNT_ ||
	    status_names[status] == NULL)
		return "PERSIST_E?";
	return status_names[status];
}

/* Fill *err from a va_list; returns code. */
int persist_error_setv(struct persist_error *err, persist_status code,
		       int sys_errno, const char *fmt, va_list args)
{
	if (err == NULL)
		return code;
	err->code = code;
	err->sys_errno = sys_errno;
	if (vsnprintf(err->msg, sizeof(err->msg), fmt, args) < 0)
		snprintf(err->msg, sizeof(err->msg), "%s", persist_strerror(code));
	return code;
}

/* Fill *err (may be NULL) with code, errno and message; returns code. */
int persist_error_set(struct persist_error *err, persist_status code,
		      int sys_errno, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	persist_error_setv(err, code, sys_errno, fmt, args);
	va_end(args);
	return code;
}

/* Put "PREFIX: " (printf-style) before the message already in *err and
   set its code; returns code.  Used where the core adds context (which
   batch operation, which key) to a message from deeper down. */
int persist_error_prefix(struct persist_error *err, persist_status code,
			 const char *fmt, ...)
{
	char old[PERSIST_ERROR_MSG_MAX], prefix[PERSIST_ERROR_MSG_MAX];
	va_list args;

	if (err == NULL)
		return code;
	memcpy(old, err->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	va_start(args, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, args);
	va_end(args);
	return persist_error_set(err, code, err->sys_errno, "%s: %s", prefix, old);
}

/* True when msg starts with the n bytes of s. */
static int starts_with(const char *msg, const char *s, size_t n)
{
	return strncmp(msg, s, n) == 0;
}

/* Put "NAME: " before a provider's message (core-private.h). */
void persist_error_name_provider(struct persist_error *err, const char *provider)
{
	char quoted[PERSIST_ERROR_MSG_MAX];
	size_t n;

	if (err == NULL || provider == NULL || err->msg[0] == '\0')
		return;
	n = strlen(provider);
	if (starts_with(err->msg, provider, n) && err->msg[n] == ':' &&
	    err->msg[n + 1] == ' ')
		return;
	snprintf(quoted, sizeof(quoted), "provider \"%s\"", provider);
	if (starts_with(err->msg, quoted, strlen(quoted)))
		return;
	persist_error_prefix(err, err->code, "%s", provider);
}

/* Reset *err (may be NULL) to "no error". */
void persist_error_clear(struct persist_error *err)
{
	if (err == NULL)
		return;
	err->code = PERSIST_OK;
	err->sys_errno = 0;
	err->msg[0] = '\0';
}

/* strdup that tolerates NULL (returns NULL). */
char *persist_strdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

/* Copy len bytes into a new buffer with a NUL after them (the plugin
   support library's copy, which the core compiles too). */
char *persist_memdup0(const void *data, size_t len)
{
	return pc_memdup0(data, len);
}

/* Free a buffer returned by the host API. */
void persist_free(void *ptr)
{
	free(ptr);
}

/* Free a listing returned by the host API (NULL is fine). */
void persist_items_free(struct persist_entry *items, size_t n)
{
	if (items == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(items[i].key);
		free(items[i].value);
		free(items[i].instance);
	}
	free(items);
}

static const char *const cap_names[] = {
	"ttl", "atomic_incr", "append_log", "batch", "notify", "broadcast",
	"threadsafe", "durable", "cas", "shared",
};

/* Capability bits as "ttl,atomic_incr,..." into buf; "-" when none. */
const char *persist_caps_string(uint64_t caps, char *buf, size_t size)
{
	size_t used = 0;

	if (buf == NULL || size == 0)
		return "";
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++) {
		if ((caps & (1ull << i)) == 0)
			continue;
		int n = snprintf(buf + used, size - used, "%s%s",
				 used > 0 ? "," : "", cap_names[i]);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
	if (used == 0)
		snprintf(buf, size, "-");
	return buf;
}
