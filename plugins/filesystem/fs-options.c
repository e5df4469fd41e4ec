/*
 * plugins/filesystem/fs-options.c - the provider's "config" object and its
 * root directory.
 *
 *   root   directory of the store (string; default "persist-data/config"
 *          for configuration, "persist-data/state" for state, relative to
 *          the working directory); created with its parents if missing.
 *          Opening it needs only read access: a store creates nothing in
 *          it (lock files, subdirectories) until it first writes, so a
 *          user who may only read the data can read it, and a write there
 *          answers that the root is read-only (fs_readonly_error).
 *   fsync  "always" | "batch" (default) | "never"; see fs-fsync.c.
 *
 * The plugin support library's config reader (pc_config_read) refuses any
 * other key, a value of the wrong type and a string with a NUL byte with
 * PERSIST_ECONFIG naming the key.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stddef.h>
#include "fs-private.h"

/* Name of a sync mode, for messages. */
const char *fs_sync_name(enum fs_sync_mode mode)
{
	switch (mode) {
	case FS_SYNC_ALWAYS: return "always";
	case FS_SYNC_BATCH: return "batch";
	case FS_SYNC_NEVER: return "never";
	}
	return "?";
}

/* What the config reader fills (the sync mode as an index of choices). */
struct fs_settings {
	char *root;
	int sync;
};

static const char *const fs_sync_choices[] = { "always", "batch", "never", NULL };

#define FS_SETTINGS(default_root)                                              \
	{ .name = "root", .type = PC_SETTING_STRING,                           \
	  .offset = offsetof(struct fs_settings, root), .min = 1, .max = 0,    \
	  .def_str = default_root },                                           \
	{ .name = "fsync", .type = PC_SETTING_ENUM,                            \
	  .offset = offsetof(struct fs_settings, sync),                        \
	  .choices = fs_sync_choices, .def_int = FS_SYNC_BATCH },              \
	{ .name = NULL }

/* The settings of a configuration store and of a state store: they
   differ only in the default root. */
static const struct pc_setting fs_config_settings[] = {
	FS_SETTINGS("persist-data/config")
};
static const struct pc_setting fs_state_settings[] = {
	FS_SETTINGS("persist-data/state")
};

_Static_assert(FS_SYNC_ALWAYS == 0 && FS_SYNC_BATCH == 1 && FS_SYNC_NEVER == 2,
	       "fs_sync_choices follows enum fs_sync_mode");

/* Parse the config JSON text into opts_r (see the top of this file). */
int fs_options_parse(const struct persist_host *host, enum persist_kind kind,
		     const char *json, struct fs_options *opts_r,
		     struct persist_error *err)
{
	struct fs_settings settings;
	int ret;

	ret = pc_config_read(host, "filesystem", json,
			     kind == PERSIST_KIND_CONFIG ? fs_config_settings
							 : fs_state_settings,
			     &settings, err);
	if (ret != PERSIST_OK)
		return ret;
	opts_r->root = settings.root;   /* handed over: freed by fs_options_free */
	opts_r->sync = (enum fs_sync_mode)settings.sync;
	return PERSIST_OK;
}

/* Release what fs_options_parse allocated. */
void fs_options_free(struct fs_options *opts)
{
	free(opts->root);
	opts->root = NULL;
}

/* mkdir -p path (0777 & ~umask); 0 or an errno. */
static int fs_mkdir_p(char *path)
{
	size_t len = strlen(path);

	for (size_t i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		if (path[i - 1] == '/')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0777) < 0 && errno != EEXIST) {
			int saved = errno;
			path[i] = i == len ? '\0' : '/';
			return saved;
		}
		path[i] = i == len ? '\0' : '/';
	}
	return 0;
}

/* Create (if needed) and open the root directory.  Write access is not
   checked: a store that is only read does not need it. */
int fs_root_open(const struct persist_host *host, const char *root, int *fd_r,
		 struct persist_error *err)
{
	char *copy;
	int fd, ret;

	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		copy = strdup(root);
		if (copy == NULL)
			return host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
		ret = fs_mkdir_p(copy);
		free(copy);
		if (ret != 0)
			return host->error(err, PERSIST_EIO, ret,
					   "cannot create root directory \"%s\": %s",
					   root, strerror(ret));
		fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0) {
		ret = errno;
		return host->error(err, PERSIST_EIO, ret,
				   "cannot open root directory \"%s\": %s", root,
				   strerror(ret));
	}
	*fd_r = fd;
	return PERSIST_OK;
}

/* True when errno e means this process may not write there. */
int fs_errno_readonly(int e)
{
	return e == EACCES || e == EPERM || e == EROFS;
}

/* The error of a write refused with errno e (fs_errno_readonly): what
   names what was to be written. */
int fs_readonly_error(const struct persist_host *host, const char *root,
		      const char *what, int e, struct persist_error *err)
{
	return host->error(err, PERSIST_EIO, e,
			   "cannot write %s: root directory \"%s\" is read-only\nThis process may read the store but not change it (%s).",
			   what, root, strerror(e));
}
