/*
 * core/config-lkg.h - the configuration's last-known-good copy
 * (core/config-lkg.c): with "spoolDir" in the configuration provider's
 * config, every document the core reads or writes successfully is kept on
 * local disk under SPOOLDIR/config/, and while the provider is unavailable
 * reads are answered from there.
 */
#ifndef PERSIST_CORE_CONFIG_LKG_H
#define PERSIST_CORE_CONFIG_LKG_H

#include <persist/persist.h>

struct persist_config_lkg;

/* p->lkg for the handle's settings: NULL (no error) without spoolDir;
   makes SPOOLDIR/config (mode 0700) when missing. */
int persist_lkg_create(persist *p, struct persist_error *err);
void persist_lkg_destroy(struct persist_config_lkg *lkg);

/* The configuration store could not be opened (ret, *err): when it is
   because the provider is unavailable and a copy exists, log it, clear
   *err and answer 1 (the handle opens without a configuration store and
   the copy serves); else 0. */
int persist_lkg_open_failed(persist *p, int ret, struct persist_error *err);
/* True when the handle has no configuration store (opened from the copy). */
int persist_lkg_offline(persist *p);

/* A document was read or written successfully: keep it (a failure to
   keep it is logged, never returned: the call itself succeeded). */
void persist_lkg_keep(persist *p, const char *key, const void *data,
		      size_t len, const char *etag);
/* A document is gone (deleted, or the provider answered not found). */
void persist_lkg_forget(persist *p, const char *key);
/* After a successful list: forget the copies of the keys not listed. */
void persist_lkg_sync(persist *p, const struct persist_entry *keys, size_t n);
/* A provider call succeeded: answers come from the provider again. */
void persist_lkg_provider_ok(persist *p);

/* A get failed with ret: when ret is PERSIST_EUNAVAIL and the copy holds
   the key, answer from it (PERSIST_OK, *err cleared).  Otherwise ret, with
   *err unchanged, or an error naming a damaged copy. */
int persist_lkg_get(persist *p, const char *key, int ret, char **data_r,
		    size_t *len_r, char etag_r[PERSIST_ETAG_MAX],
		    struct persist_error *err);
/* A list failed with ret: the same, for every key of the copy (an empty
   copy answers ret: it cannot tell an empty configuration). */
int persist_lkg_list(persist *p, int ret, struct persist_entry **keys_r,
		     size_t *n_r, struct persist_error *err);
/* In a handle opened from the copy: PERSIST_EUNAVAIL with the error the
   provider gave at open (what its health answers). */
int persist_lkg_offline_error(persist *p, struct persist_error *err);
/* The error of a write (or subscription) on a handle opened from the copy:
   PERSIST_EUNAVAIL naming the provider. */
int persist_lkg_refuse(persist *p, const char *what, struct persist_error *err);

#endif
