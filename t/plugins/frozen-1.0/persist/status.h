/*
 * persist/status.h - the status codes and error struct shared by the host API
 * (persist.h) and the plugin ABI (plugin.h).
 *
 * Both sides of the plugin boundary report failure the same way: an int
 * status (one of enum persist_status, PERSIST_OK == 0) and, where the caller
 * passed one, a struct persist_error with the code, the errno that caused it
 * (0 when none) and a message.  Messages follow the PostgreSQL style: a short
 * lower-case primary message without a full stop, optionally followed by
 * "\n" and a detail sentence.
 *
 * Codes are part of the ABI: they are never renumbered, new ones are added
 * at the end.
 */
#ifndef PERSIST_STATUS_H
#define PERSIST_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum persist_status {
	PERSIST_OK = 0,
	PERSIST_ENOTFOUND = 1,    /* no such key, collection, session or document */
	PERSIST_ECONFLICT = 2,    /* if-match ETag did not match the current one */
	PERSIST_EINVAL = 3,       /* invalid argument or input (bad key, bad JSON, ...) */
	PERSIST_ENOTSUP = 4,      /* the provider does not offer this operation */
	PERSIST_EUNAVAIL = 5,     /* backend unavailable; retrying later may work */
	PERSIST_ETIMEDOUT = 6,    /* backend did not answer in time */
	PERSIST_EUNCERTAIN = 7,   /* request sent, outcome unknown (reply lost) */
	PERSIST_EIO = 8,          /* backend or local I/O failed (disk full, ...) */
	PERSIST_ECORRUPT = 9,     /* stored data could not be parsed */
	PERSIST_ENOMEM = 10,      /* out of memory */
	PERSIST_ECONFIG = 11,     /* the configuration file or text is wrong */
	PERSIST_ECLOSED = 12,     /* the handle or provider is shutting down */
	/* plugin loading, in the order the loader checks */
	PERSIST_ENOPLUGIN = 20,   /* no <name>.so in any search directory */
	PERSIST_EINSECURE = 21,   /* plugin file or directory has unsafe owner/mode */
	PERSIST_ELOAD = 22,       /* dlopen failed (not a shared object, unresolved symbol) */
	PERSIST_ENOENTRY = 23,    /* no persist_plugin_entry_v1 symbol, or it returned NULL */
	PERSIST_EMAGIC = 24,      /* descriptor magic is not PERSIST_PLUGIN_MAGIC */
	PERSIST_EABI = 25,        /* ABI major differs from the core's */
	PERSIST_EABINEWER = 26,   /* ABI minor is newer than the core's */
	PERSIST_EDESCRIPTOR = 27, /* descriptor too short, or an ops table too short */
	PERSIST_ENAME = 28,       /* declared name differs from the requested name */
	PERSIST_EINIT = 29,       /* init missing or failed */
	PERSIST_ENOIFACE = 30,    /* plugin lacks the interface (config/state/session) asked for */
	PERSIST_STATUS_COUNT_      /* not a status; keep last */
} persist_status;

/* Length of struct persist_error.msg, including the terminating NUL. */
#define PERSIST_ERROR_MSG_MAX 512

struct persist_error {
	persist_status code;              /* PERSIST_OK when nothing failed */
	int sys_errno;                    /* errno behind the failure, or 0 */
	char msg[PERSIST_ERROR_MSG_MAX];  /* "primary message\nDetail sentence." */
};

#ifdef __cplusplus
}
#endif
#endif
