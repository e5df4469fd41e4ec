/*
 * fuzz/fs-harness.h - the filesystem provider's state store run on a
 * scratch root whose journal or log file holds the fuzz input (shared by
 * fuzz-fs-journal.c and fuzz-fs-log.c).  The provider's sources are
 * compiled into the target, its descriptor taken from
 * persist_plugin_entry_v1 and given the test host (t/lib/plugin-host.c).
 */
#ifndef PERSIST_FUZZ_FS_HARNESS_H
#define PERSIST_FUZZ_FS_HARNESS_H

#include <persist/plugin.h>

/* The collection whose files hold the input. */
#define FUZZ_FS_COLLECTION "c"

/* Write data to ROOT/<sub>/c.jsonl of a fresh scratch root (sub is "kv"
   or "logs") and open a state store on that root; the store's table to
   *ops_r.  NULL when the store did not open (the input was not even
   read: that is a harness failure and aborts). */
void *fuzz_fs_open(const char *sub, const uint8_t *data, size_t size,
		   const struct persist_state_ops **ops_r);
/* Close the store and empty the scratch root. */
void fuzz_fs_close(void *store);
/* An emit callback that checks what it is handed and keeps nothing. */
int fuzz_fs_emit(void *ctx, const struct persist_item *item);
/* Free a value a get returned. */
void fuzz_fs_value_free(struct persist_value *value);

#endif
