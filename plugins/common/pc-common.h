/*
 * plugins/common/pc-common.h - the plugin support library: what every
 * provider plugin needs and would otherwise write again.
 *
 *   pc-table.c   the hash table and the key -> value map (pc-table.h)
 *   pc-utf8.c    UTF-8 and key checks (pc-utf8.h)
 *   pc-string.c  copies of strings and byte buffers
 *   pc-config.c  the reader of a provider's JSON "config" object
 *   pc-mask.c    hiding the secrets of a connection string in messages
 *   (here)       stepping through a batch of operations
 *
 * It is a static convenience library compiled with hidden visibility and
 * linked into each plugin, so nothing of it reaches a plugin's exported
 * symbols (still only persist_plugin_entry_v1).  Plugins never link
 * libpersist; the core compiles pc-table.c, pc-utf8.c and pc-string.c
 * itself.
 */
#ifndef PERSIST_PC_COMMON_H
#define PERSIST_PC_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <persist/plugin.h>
#include "pc-table.h"
#include "pc-utf8.h"

/* ----------------------------------------------------------------------
 * init.  The first thing a plugin's init does: refuse a host table too old
 * to hold the 1.0 services (host->error itself might be missing, so err is
 * filled directly).  PERSIST_OK or PERSIST_EINIT.
 */
static inline int pc_host_check(const struct persist_host *host,
				struct persist_error *err)
{
	if (host != NULL && PERSIST_HAS(host, strerror))
		return PERSIST_OK;
	if (err != NULL) {
		err->code = PERSIST_EINIT;
		err->sys_errno = 0;
		snprintf(err->msg, sizeof(err->msg), "the core's host table is too old\n"
			 "The plugin needs a core speaking ABI %d.0 or later.",
			 PERSIST_ABI_MAJOR);
	}
	return PERSIST_EINIT;
}

/* ----------------------------------------------------------------------
 * Strings (pc-string.c).  Each returns NULL when out of memory.
 */

/* A malloc()ed copy of s. */
char *pc_strdup(const char *s);
/* len bytes followed by a NUL, in malloc()ed memory. */
void *pc_memdup0(const void *data, size_t len);
/* Same, in host->alloc() memory (what a plugin hands back to the core). */
void *pc_host_dup0(const struct persist_host *host, const void *data,
		   size_t len);

/* ----------------------------------------------------------------------
 * Secrets (pc-mask.c).
 */

/* A copy of url (malloc; NULL on ENOMEM) in which the credentials are
   replaced by "***": everything between the scheme (or the start) and
   the last '@', and the value of every password= or secret= parameter.
   It works on any text, whether or not it parses as a url, so it is safe
   to quote a connection string that was refused. */
char *pc_mask_secrets(const char *url);

/* ----------------------------------------------------------------------
 * Write options.  The if_match and ttl_ms of a configuration set (opts
 * may be NULL, or from a core whose struct is shorter: the defaults NULL
 * and 0 for what it does not hold).
 */
static inline void pc_write_opts(const struct persist_write_opts *opts,
				 const char **if_match_r, int64_t *ttl_ms_r)
{
	*if_match_r = opts != NULL && PERSIST_HAS(opts, if_match) ? opts->if_match : NULL;
	*ttl_ms_r = opts != NULL && PERSIST_HAS(opts, ttl_ms) ? opts->ttl_ms : 0;
}

/* ----------------------------------------------------------------------
 * Batches.  The core passes op_size = its sizeof(struct persist_op): a
 * newer core's ops are larger, so a plugin steps by op_size, never by
 * its own sizeof, and reads only the fields it knows.
 */

/* True when op_size can hold the struct persist_op this plugin knows. */
static inline bool pc_batch_op_size_ok(size_t op_size)
{
	return op_size >= sizeof(struct persist_op);
}

/* Operation i of a batch whose elements are op_size bytes apart. */
static inline const struct persist_op *pc_batch_op(const struct persist_op *ops,
						   size_t i, size_t op_size)
{
	return (const struct persist_op *)(const void *)
		((const char *)ops + i * op_size);
}

/* A plugin's check of operation i of a batch (PERSIST_EINVAL naming i). */
typedef int pc_batch_check_fn(const struct persist_host *host,
			      const struct persist_op *op, size_t i,
			      struct persist_error *err);

/* The entry check of a batch method, before anything is applied: ops
   given and op_size large enough (when n > 0), then check() on every
   operation.  PERSIST_OK, or the first failure through host->error. */
static inline int pc_batch_check(const struct persist_host *host,
				 const struct persist_op *ops, size_t n,
				 size_t op_size, pc_batch_check_fn *check,
				 struct persist_error *err)
{
	if (n == 0)
		return PERSIST_OK;
	if (ops == NULL || !pc_batch_op_size_ok(op_size))
		return host->error(err, PERSIST_EINVAL, 0,
				   "batch without operations or with a short operation size\n"
				   "The operations are %s and %zu bytes apart; this plugin "
				   "needs at least %zu.", ops == NULL ? "missing" : "given",
				   op_size, sizeof(struct persist_op));
	for (size_t i = 0; i < n; i++) {
		int ret = check(host, pc_batch_op(ops, i, op_size), i, err);

		if (ret != PERSIST_OK)
			return ret;
	}
	return PERSIST_OK;
}

/* The entry check of a batch_once method: a valid id (pc_batch_id_valid)
   and somewhere to say whether it was applied before; *applied_before_r
   is set to 0.  PERSIST_OK, or PERSIST_EINVAL through host->error. */
static inline int pc_batch_once_check(const struct persist_host *host,
				      const char *id, int *applied_before_r,
				      struct persist_error *err)
{
	if (applied_before_r == NULL)
		return host->error(err, PERSIST_EINVAL, 0,
				   "batch_once without a place for its answer\n"
				   "applied_before_r must not be NULL.");
	*applied_before_r = 0;
	if (!pc_batch_id_valid(id, PERSIST_BATCH_ID_MAX))
		return host->error(err, PERSIST_EINVAL, 0,
				   "invalid batch id \"%.*s\"\n"
				   "A batch id is 1 to %d characters of [A-Za-z0-9._:-].",
				   id != NULL ? PERSIST_BATCH_ID_MAX : 0, id != NULL ? id : "",
				   PERSIST_BATCH_ID_MAX - 1);
	return PERSIST_OK;
}

/* ----------------------------------------------------------------------
 * The config reader (pc-config.c).  A provider describes its settings in
 * a table; pc_config_read() parses the JSON text the core hands to open(),
 * refuses an unknown key, a value of the wrong type, a number out of
 * range (or one json-c would silently saturate), a string with a NUL
 * byte or outside its length range, and fills the provider's struct.
 * Every message names the setting (the core puts the provider's name
 * before it, as before every message a provider returns):
 *
 *   setting "poolSize" must be an integer from 1 to 64
 *   The config gives 100.
 *
 * A setting marked PC_SETTING_SECRET never has its value quoted.
 */
enum pc_setting_type {
	PC_SETTING_STRING,     /* char *, malloc()ed; length from min to max
				  (max 0: no upper limit) */
	PC_SETTING_INT64,      /* int64_t, from min to max */
	PC_SETTING_BOOL,       /* bool */
	PC_SETTING_ENUM,       /* int: index of the string in choices */
	PC_SETTING_STRINGS,    /* char **, NULL-terminated, malloc()ed (NULL
				  when absent); each string's length as for
				  PC_SETTING_STRING */
};

#define PC_SETTING_SECRET   0x1u  /* never quote the value */
#define PC_SETTING_REQUIRED 0x2u  /* absence is an error */

struct pc_setting {
	const char *name;           /* JSON key; NULL ends a table */
	enum pc_setting_type type;
	size_t offset;              /* of the field in the struct filled */
	unsigned flags;
	int64_t min, max;           /* INT64 range; STRING(S) length range */
	const char *const *choices; /* ENUM: NULL-terminated */
	int64_t def_int;            /* default of INT64, BOOL (0/1), ENUM (index) */
	const char *def_str;        /* default of STRING (NULL: none) */
};

/* Read json (NULL or "" is {}) into out according to settings.  Every
   field of out is set (defaults for absent keys).  PERSIST_OK, or
   PERSIST_ECONFIG / PERSIST_ENOMEM through host->error with nothing left
   allocated.  provider is the plugin's name ("memory"), used in details only. */
int pc_config_read(const struct persist_host *host, const char *provider,
		   const char *json, const struct pc_setting *settings,
		   void *out, struct persist_error *err);
/* Free what pc_config_read allocated in out (strings and lists); a
   secret string is wiped first. */
void pc_config_free(const struct pc_setting *settings, void *out);

#endif
