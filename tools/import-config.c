/*
 * tools/import-config.c - the platform's configuration folder
 * (contents/config) as configuration documents, byte for byte: NAME.json
 * is the document NAME, and a file of a one-file-per-item folder,
 * apps/chat.json (or deeper, apps/team/chat.json), is the document
 * apps/chat (apps/team/chat).  Nothing in a document is touched: `${VAR}`
 * references and `ENC[...]` secrets stay as they are, for the platform to
 * resolve when it reads them.
 *
 * Every document must be valid JSON (the import stops naming the file, the
 * line and the byte otherwise).  Names starting with "." are skipped, and
 * so are files not ending in ".json" (counted as ignored).  Folders are
 * followed at most CONFIG_DEPTH_MAX levels deep.
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <json-c/json.h>

#include "import.h"

#define CONFIG_REL "contents/config"
#define CONFIG_DEPTH_MAX 8

/* Does name end in ".json" with something before it? */
static int is_json_name(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && strcmp(name + n - 5, ".json") == 0;
}

/* Store the document of file path under key. */
static int import_document(const struct import_ctx *ic, const char *path,
			   const char *key, struct persist_error *err)
{
	struct persist_error e = { 0 };
	struct json_object *obj = NULL;
	char *data = NULL;
	size_t len;
	int ret;

	if ((ret = import_read_file(path, &data, &len, err)) != PERSIST_OK)
		goto out;
	if ((ret = import_parse_json(path, data, len, &obj, err)) != PERSIST_OK)
		goto out;
	if (persist_config_set(ic->p, key, data, len, NULL, 0, NULL, &e) != PERSIST_OK) {
		ret = import_error(err, e.code, e.sys_errno,
				   "cannot import \"%s\" as document \"%s\"\n%s",
				   path, key, e.msg);
		goto out;
	}
	ic->counts->documents++;
out:
	json_object_put(obj);
	free(data);
	return ret;
}

/* Import folder dir, whose documents' keys start with prefix ("" at the top). */
static int import_folder(const struct import_ctx *ic, const char *dir,
			 const char *prefix, int depth, struct persist_error *err)
{
	struct dirent **names = NULL;
	int n, ret = PERSIST_OK;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return import_error(err, PERSIST_EIO, errno, "cannot read folder \"%s\": %s",
				    dir, strerror(errno));
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char *path = NULL, *key = NULL;
		struct stat st;

		if (ret != PERSIST_OK || name[0] == '.')
			goto next;
		path = import_path(dir, name);
		key = malloc(strlen(prefix) + strlen(name) + 2);
		if (path == NULL || key == NULL) {
			ret = import_error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
			goto next;
		}
		if (stat(path, &st) < 0) {
			ret = import_error(err, PERSIST_EIO, errno, "cannot read \"%s\": %s",
					   path, strerror(errno));
			goto next;
		}
		sprintf(key, "%s%s%s", prefix, prefix[0] != '\0' ? "/" : "", name);
		if (S_ISDIR(st.st_mode)) {
			if (depth >= CONFIG_DEPTH_MAX)
				ret = import_error(err, PERSIST_EINVAL, 0,
						   "folder \"%s\" is nested too deep\n"
						   "Item folders are followed at most %d levels "
						   "below contents/config.", path, CONFIG_DEPTH_MAX);
			else
				ret = import_folder(ic, path, key, depth + 1, err);
		} else if (S_ISREG(st.st_mode) && is_json_name(name)) {
			key[strlen(key) - 5] = '\0';
			ret = import_document(ic, path, key, err);
			if (ret == PERSIST_OK && depth > 0)
				ic->counts->items++;
		} else {
			ic->counts->ignored_files++;
		}
next:
		free(path);
		free(key);
		free(names[i]);
	}
	free(names);
	return ret;
}

/* contents/config into configuration documents. */
int import_config(const struct import_ctx *ic, struct persist_error *err)
{
	char *dir = import_path(ic->dir, CONFIG_REL);
	struct stat st;
	int ret;

	if (dir == NULL)
		return import_error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	if (stat(dir, &st) < 0 && errno == ENOENT) {
		import_note_absent(ic, CONFIG_REL "/");
		ret = PERSIST_OK;
	} else {
		ret = import_folder(ic, dir, "", 0, err);
	}
	free(dir);
	return ret;
}
