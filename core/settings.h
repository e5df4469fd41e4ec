/*
 * core/settings.h - the "persistence" object of a configuration file, read
 * with json-c into plain C structs the rest of the core uses.
 */
#ifndef PERSIST_CORE_SETTINGS_H
#define PERSIST_CORE_SETTINGS_H

#include <persist/persist.h>

/* One provider entry: persistence.<kind> or its "fallback". */
struct persist_provider_settings {
	char *provider;      /* name, ^[a-z0-9_]{1,32}$ */
	char *module;        /* absolute path or NULL */
	char *config_json;   /* "config" with the core's keys removed, "{}" if none */
	/* keys of "config" the core owns (-1: not given) */
	int64_t cache_ttl_ms;
	int64_t batch_interval_ms;
	int64_t batch_max_ops;
	int64_t batch_max_bytes;
	int64_t health_interval_ms;
	char *spool_dir;
	int journal_queued;    /* journalQueued: 1 true, 0 false or not given */
	struct persist_provider_settings *fallback; /* NULL: none */
};

struct persist_settings {
	char *source;                       /* file name, or "(text)" */
	char **plugin_path;                 /* pluginPath entries */
	size_t n_plugin_path;
	struct persist_provider_settings kinds[PERSIST_KIND_COUNT_];
};

/* Parse configuration text (a whole platform.json is fine).  source names
   the text in messages.  Kinds not given get the embedded defaults. */
int persist_settings_parse(const char *text, size_t len, const char *source,
			   struct persist_settings **settings_r,
			   struct persist_error *err);
/* Read and parse a file. */
int persist_settings_load(const char *path, struct persist_settings **settings_r,
			  struct persist_error *err);
/* The embedded default (no file). */
int persist_settings_default(struct persist_settings **settings_r,
			     struct persist_error *err);
void persist_settings_free(struct persist_settings *settings);

/* Read only pluginPath of a configuration file (for persist_plugins_probe). */
int persist_settings_plugin_path(const char *config_path, char ***dirs_r,
				 size_t *n_r, struct persist_error *err);

#endif
