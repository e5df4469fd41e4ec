/*
 * plugins/filesystem/t-fs-host.h - what the filesystem provider's own
 * tests and benchmarks share.  They dlopen filesystem.so from
 * PERSIST_PLUGIN_PATH (set by t/run-test) and call its ops tables
 * directly, without the core, through the host table of
 * t/lib/plugin-host.c (log messages and change notifications recorded for
 * assertions); this header adds the filesystem side: the one plugin they
 * load, stores opened without a sink (their notifications go to
 * ph_default_sink), a scratch directory and file helpers.
 */
#ifndef T_FS_HOST_H
#define T_FS_HOST_H

#include <stddef.h>
#include <stdint.h>
#include <persist/plugin.h>
#include "../../t/lib/plugin-host.h"

/* filesystem.so, after t_load_plugin(); t_plugin is its descriptor. */
extern struct ph_plugin t_fs;
#define t_plugin (t_fs.pl)

/* dlopen filesystem.so and call init; exits the test with 99 on failure. */
void t_load_plugin(void);
/* fini and dlclose; forget recorded log messages and notifications. */
void t_unload_plugin(void);

/* Scratch directory of this test (PERSIST_TEST_TMP or a mkdtemp). */
const char *t_tmp(void);
/* t_tmp()/name, formatted; static buffer rotation (8 slots). */
const char *t_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Open a store of kind with config JSON text (instance "test", no sink);
   status, store to *store_r. */
int t_open(enum persist_kind kind, const char *config_json, void **store_r,
	   struct persist_error *err);
void t_close(enum persist_kind kind, void *store);

/* Recorded notifications: wait until one for key arrives after the last
   one consumed (or timeout); returns 1 and copies the etag ("" when the
   document was deleted) when it came. */
int t_wait_change(const char *key, int timeout_ms, char etag_r[PERSIST_ETAG_MAX],
		  int *deleted_r);
/* Forget the notifications received so far. */
void t_changes_clear(void);

/* Write a file (creating parents not included); 0 or -1. */
int t_write_file(const char *path, const void *data, size_t len);
/* Read a whole file into a malloc'ed NUL-terminated buffer; NULL on error. */
char *t_read_file(const char *path, size_t *len_r);

/* state helpers: get as malloc'ed string (NULL when absent). */
char *t_state_get(void *st, const char *c, const char *k);
char *t_config_get(void *cfg, const char *key, char etag_r[PERSIST_ETAG_MAX],
		   int *status_r);

#endif
