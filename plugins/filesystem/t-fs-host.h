/*
 * plugins/filesystem/t-fs-host.h - a small host table for the filesystem
 * provider's own tests: they dlopen filesystem.so from PERSIST_PLUGIN_PATH
 * (set by t/run-test) and call its ops tables directly, without the core.
 * Log messages and change notifications are recorded for assertions.
 */
#ifndef T_FS_HOST_H
#define T_FS_HOST_H

#include <stddef.h>
#include <stdint.h>
#include <persist/plugin.h>

extern const struct persist_plugin *t_plugin;
extern void *t_plugin_data;
extern const struct persist_host t_host;

/* dlopen the plugin and call init; exits the test with 99 on failure. */
void t_load_plugin(void);
void t_unload_plugin(void);

/* Scratch directory of this test (PERSIST_TEST_TMP or a mkdtemp). */
const char *t_tmp(void);
/* t_tmp()/name, formatted; static buffer rotation (8 slots). */
const char *t_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Open a store of kind with config JSON text; status, store to *store_r. */
int t_open(enum persist_kind kind, const char *config_json, void **store_r,
	   struct persist_error *err);
void t_close(enum persist_kind kind, void *store);

/* Recorded log messages. */
int t_log_contains(const char *needle);
void t_log_clear(void);

/* Recorded notifications: wait until one for key arrives (or timeout);
   returns 1 and copies the etag ("" for NULL/deleted) when it came. */
int t_wait_change(const char *key, int timeout_ms, char etag_r[PERSIST_ETAG_MAX],
		  int *deleted_r);
/* Number of notifications for key received so far. */
int t_changes(const char *key);
void t_changes_clear(void);

int64_t t_now_ms(void);
int64_t t_mono_us(void);
void t_sleep_ms(int ms);

/* Write a file (creating parents not included); 0 or -1. */
int t_write_file(const char *path, const void *data, size_t len);
/* Read a whole file into a malloc'ed NUL-terminated buffer; NULL on error. */
char *t_read_file(const char *path, size_t *len_r);

/* state helpers: get as malloc'ed string (NULL when absent). */
char *t_state_get(void *st, const char *c, const char *k);
char *t_config_get(void *cfg, const char *key, char etag_r[PERSIST_ETAG_MAX],
		   int *status_r);

#endif
