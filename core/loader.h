/*
 * core/loader.h - finding, checking and loading provider plugins.
 *
 * The loader turns a provider name (or an absolute module path) into a
 * loaded, checked, initialised plugin.  A plugin is opened once per process
 * however many handles and kinds use it: loaded plugins live in a
 * process-wide registry keyed by their resolved path, with a reference
 * count; the last release calls fini and dlclose.
 */
#ifndef PERSIST_CORE_LOADER_H
#define PERSIST_CORE_LOADER_H

#include <persist/persist.h>

struct persist_loaded_plugin {
	char *name;                        /* requested provider name */
	char *path;                        /* absolute path of the .so */
	void *dl;                          /* dlopen handle */
	const struct persist_plugin *desc; /* from persist_plugin_entry_v1() */
	void *plugin;                      /* *plugin_r of desc->init */
	unsigned refcount;                 /* guarded by the registry lock */
	/* Loader-private from here on. */
	uint64_t dev, ino;                  /* identity of the file: a hard link
					       elsewhere is the same plugin */
	int fd;                             /* the checked file, open while the
					       dynamic loader knows it by via */
	char via[40];                       /* the /proc name it was loaded by
					       ("" when by its path) */
	struct persist_loaded_plugin *next; /* registry list (registry lock) */
};

/* Where the loader logs: the host's callback and least level from struct
   persist_options (log NULL: nothing is logged). */
struct persist_logger {
	persist_log_cb *log;
	void *ctx;
	enum persist_log_level level;
};

/* Provided by core/host.c: format one message and pass it to the logger's
   callback (lg NULL, no callback or level below lg->level: dropped). */
void persist_logger_log(const struct persist_logger *lg,
			enum persist_log_level level, const char *fmt, ...)
	PERSIST_PRINTF(3, 4);

/* Where to look, in order: api_dirs, $PERSIST_PLUGIN_PATH (unless
   no_env), file_dirs (pluginPath of the configuration), the compiled-in
   PERSIST_PLUGIN_DIR.  Relative directories are ignored. */
struct persist_search {
	const char *const *api_dirs;
	size_t n_api_dirs;
	const char *const *file_dirs;
	size_t n_file_dirs;
	int no_env;          /* ignore PERSIST_PLUGIN_PATH */
	int allow_insecure;  /* development switch: skip owner/mode checks */
	const struct persist_logger *logger; /* NULL: no log */
};

/* Load provider `name` (must match ^[a-z0-9_]{1,32}$, checked before any
   file is touched), or the module at absolute path `module` when not NULL
   (its descriptor name must still equal `name`).  Runs every check of
   the loading sequence in order, then logs "initialising plugin NAME
   (PATH)" at PERSIST_LOG_INFO (so that a crash in init can be told apart)
   and calls init.  On success *plugin_r holds
   a reference to release with persist_loader_release. */
int persist_loader_acquire(const struct persist_search *search,
			   const char *name, const char *module,
			   struct persist_loaded_plugin **plugin_r,
			   struct persist_error *err);

/* Check that the plugin offers `kind` with an ops table at least as large
   as its ABI 1.0 layout, with open and close, and with the method of every
   capability it claims (the map in plugin.h): PERSIST_ENOIFACE when there
   is no table, else PERSIST_EDESCRIPTOR naming what is wrong. */
int persist_loader_check_kind(const struct persist_loaded_plugin *plugin,
			      enum persist_kind kind,
			      struct persist_error *err);

/* Drop one reference; the last one calls fini and dlclose. */
void persist_loader_release(struct persist_loaded_plugin *plugin);

/* Implementation of persist_plugins_probe(): every *.so in every search
   directory (first match of a name wins, later ones are shadowed and not
   listed), checked and described, or its error.  Each plugin is loaded
   in a child process of its own (fork) and never initialised: a plugin
   whose constructor exits, crashes or hangs is reported as PERSIST_ELOAD
   and the listing goes on.  Search directories that are ignored
   (relative, empty, missing) or unsafe are logged as warnings. */
int persist_loader_probe(const struct persist_search *search,
			 struct persist_plugin_info **infos_r, size_t *n_r,
			 struct persist_error *err);

/* Validate a provider name: ^[a-z0-9_]{1,32}$ (PERSIST_EINVAL). */
int persist_loader_valid_name(const char *name, struct persist_error *err);

/* Provided by core/settings.c (not by the loader): read configuration file
   `config_path` (with ${VAR} expansion) and return its
   persistence.pluginPath as *n_r strings in *dirs_r (array and strings from
   malloc; the caller frees each string and then the array with free()).
   An absent pluginPath is not an error: *dirs_r = NULL, *n_r = 0.
   persist_plugins_probe() uses it for its config_path argument. */
int persist_settings_plugin_path(const char *config_path, char ***dirs_r,
				 size_t *n_r, struct persist_error *err);

#endif
