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
 * Any other key, or a value of the wrong type, is refused with
 * PERSIST_ECONFIG naming it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
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

/* Parse the config JSON text into opts_r (see the top of this file). */
int fs_options_parse(const struct persist_host *host, enum persist_kind kind,
		     const char *json, struct fs_options *opts_r,
		     struct persist_error *err)
{
	struct json_object *obj = NULL;
	const char *root = kind == PERSIST_KIND_CONFIG ? "persist-data/config"
						       : "persist-data/state";
	enum fs_sync_mode sync = FS_SYNC_BATCH;
	char why[160];

	if (json == NULL)
		json = "{}";
	if (fs_json_parse(json, strlen(json), 0, &obj, why, sizeof(why)) < 0)
		return host->error(err, PERSIST_ECONFIG, 0,
				   "config is not valid JSON\n%s.",
				   why);
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return host->error(err, PERSIST_ECONFIG, 0,
				   "config must be a JSON object");
	}
	json_object_object_foreach(obj, name, val) {
		if (strcmp(name, "root") == 0) {
			if (!json_object_is_type(val, json_type_string) ||
			    json_object_get_string_len(val) == 0 ||
			    strlen(json_object_get_string(val)) !=
				    (size_t)json_object_get_string_len(val)) {
				json_object_put(obj);
				return host->error(err, PERSIST_ECONFIG, 0,
						   "config key \"root\" must be a non-empty string");
			}
			root = json_object_get_string(val);
		} else if (strcmp(name, "fsync") == 0) {
			const char *s = json_object_is_type(val, json_type_string)
						? json_object_get_string(val) : "";
			if (strcmp(s, "always") == 0) {
				sync = FS_SYNC_ALWAYS;
			} else if (strcmp(s, "batch") == 0) {
				sync = FS_SYNC_BATCH;
			} else if (strcmp(s, "never") == 0) {
				sync = FS_SYNC_NEVER;
			} else {
				json_object_put(obj);
				return host->error(err, PERSIST_ECONFIG, 0,
						   "config key \"fsync\" must be \"always\", \"batch\" or \"never\"");
			}
		} else {
			int ret = host->error(err, PERSIST_ECONFIG, 0,
					      "unknown config key \"%s\"\nThe keys are \"root\" and \"fsync\".",
					      name);
			json_object_put(obj);
			return ret;
		}
	}
	opts_r->root = strdup(root);
	opts_r->sync = sync;
	json_object_put(obj);
	if (opts_r->root == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
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
