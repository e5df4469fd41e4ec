/*
 * core/core-private.h - what the core's files share and nothing outside
 * core/ may use: error helpers, the host table, argument validation.
 */
#ifndef PERSIST_CORE_PRIVATE_H
#define PERSIST_CORE_PRIVATE_H

#include <stdarg.h>
#include <persist/persist.h>

/* Fill *err (may be NULL) and return code.  The message is printf-style;
   put "\n" between the primary message and a detail sentence. */
int persist_error_set(struct persist_error *err, persist_status code,
		      int sys_errno, const char *fmt, ...) PERSIST_PRINTF(4, 5);
int persist_error_setv(struct persist_error *err, persist_status code,
		       int sys_errno, const char *fmt, va_list args)
	PERSIST_PRINTF(4, 0);
/* Put "PREFIX: " before the message in *err and set code; returns code. */
int persist_error_prefix(struct persist_error *err, persist_status code,
			 const char *fmt, ...) PERSIST_PRINTF(3, 4);
/* Name the provider in a message a provider returned: put "NAME: " before
   it unless it already starts with "NAME: " or names the provider as the
   core's own messages do ("provider \"NAME\" ...").  Plugins never name
   themselves; the core does it here, once. */
void persist_error_name_provider(struct persist_error *err, const char *provider);
/* Clear *err (may be NULL) to PERSIST_OK. */
void persist_error_clear(struct persist_error *err);

/* The host table handed to every plugin's init. */
const struct persist_host *persist_host_table(void);

/* Wall clock ms since the epoch (tick resolution), monotonic us, and
   monotonic us at tick resolution (cheap). */
int64_t persist_now_ms(void);
int64_t persist_monotonic_us(void);
int64_t persist_monotonic_coarse_us(void);

/* Argument validation (PERSIST_EINVAL naming `what` and the value). */
int persist_valid_key(const char *what, const char *key, struct persist_error *err);
int persist_valid_collection(const char *collection, struct persist_error *err);
int persist_valid_value(const char *what, const void *data, size_t len,
			struct persist_error *err);
/* persist_valid_json (the public face of persist_json_check) is in
   persist.h. */
int persist_valid_utf8(const void *data, size_t len);
/* TTL: 0 or 1..PERSIST_TTL_MAX_MS, else PERSIST_EINVAL naming what/key. */
int persist_valid_ttl(int64_t ttl_ms, const char *what, const char *key,
		      struct persist_error *err);

/* Strict RFC 8259 JSON.  Arrays and objects nest at most this deep (the
   checker recurses: about 240 bytes of stack a level). */
#define PERSIST_JSON_DEPTH_MAX 128
/* Where and why a text is not JSON. */
struct persist_json_fault {
	size_t offset;     /* byte offset of the fault, from 0 */
	char reason[160];  /* "NaN is not a JSON value" */
	char path[256];    /* JSON path of the value ("persistence.state"), "" at the top */
	int name_fault;    /* the fault is a member name (repeated, or holding NUL) */
};
/* PERSIST_OK when data[0..len) is exactly one JSON value (white space
   around it allowed); else PERSIST_EINVAL (PERSIST_ENOMEM) with *fault_r
   filled.  unique_scope NULL: member names may repeat (as RFC 8259
   allows); "": no object may repeat a member name or have one holding
   \u0000 (C code would see it cut); "name": the same for the top-level
   member "name" and every object inside it, and "name" is given once. */
int persist_json_check(const void *data, size_t len, const char *unique_scope,
		       struct persist_json_fault *fault_r);

/* Strings. */
char *persist_strdup(const char *s);
char *persist_memdup0(const void *data, size_t len);

#endif
