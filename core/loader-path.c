/*
 * core/loader-path.c - provider names and the plugin search path: which
 * directories are searched, in which order, which entries are ignored and
 * why, and the not-found message that says what was there.
 *
 * A provider name becomes a file <dir>/<name>.so found in the search
 * directories (API dirs, $PERSIST_PLUGIN_PATH, the configuration's
 * pluginPath, the compiled-in PERSIST_PLUGIN_DIR; absolute ones only, first
 * match wins).  The name rule ^[a-z0-9_]{1,32}$ keeps a name from ever
 * leaving its directory or reaching dlopen's own search.
 */
#define _GNU_SOURCE /* secure_getenv */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "loader-private.h"

#ifndef PERSIST_PLUGIN_DIR
/* Normally defined by core/Makefile.inc as $(libdir)/persist-1. */
#define PERSIST_PLUGIN_DIR "/usr/local/lib/persist-1"
#endif

#define PROVIDER_NAME_MAX 32

/* Free every string of a strv and the array. */
void loader_strv_free(struct loader_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

/* True when sv already holds s. */
int loader_strv_has(const struct loader_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++) {
		if (strcmp(sv->v[i], s) == 0)
			return 1;
	}
	return 0;
}

/* Append a copy of the len bytes at s; -1 when out of memory. */
int loader_strv_add(struct loader_strv *sv, const char *s, size_t len)
{
	char *copy;

	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 8;
		char **v = realloc(sv->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		sv->v = v;
		sv->cap = cap;
	}
	copy = persist_memdup0(s, len);
	if (copy == NULL)
		return -1;
	sv->v[sv->n++] = copy;
	return 0;
}

/* qsort comparator for an array of strings. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copy s into buf for a message: non-printable bytes and quotes become
   '?', and an over-long string is cut with "...".  Names from directory
   entries and plugin descriptors are not trusted to be clean. */
const char *loader_printable(const char *s, char *buf, size_t size)
{
	size_t i, o = 0;

	if (s == NULL)
		return "(null)";
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		if (o + 4 >= size) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		buf[o++] = (c < 0x20 || c >= 0x7f || c == '"') ? '?' : (char)c;
	}
	buf[o] = '\0';
	return buf;
}

/* Join strings with ", " into buf (cut with "..." when it does not fit);
   `none` when there are none. */
static const char *join(char *const *v, size_t n, const char *none,
			char *buf, size_t size)
{
	size_t o = 0;

	if (n == 0) {
		snprintf(buf, size, "%s", none);
		return buf;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + o, size - o, "%s%s", i ? ", " : "", v[i]);
		if (w < 0 || (size_t)w >= size - o) {
			if (size > 4)
				memcpy(buf + size - 4, "...", 4);
			break;
		}
		o += (size_t)w;
	}
	return buf;
}

/* Validate a provider name: ^[a-z0-9_]{1,32}$, nothing else, so that a
   name can never leave its search directory or reach dlopen's own
   search. */
int persist_loader_valid_name(const char *name, struct persist_error *err)
{
	char show[80];
	size_t i;

	if (name == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
					 "provider name is missing");
	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];
		if (i >= PROVIDER_NAME_MAX ||
		    !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			break;
	}
	if (i == 0 || name[i] != '\0')
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"invalid provider name \"%s\"\n"
			"A provider name is 1 to %d characters from a-z, 0-9 and _.",
			loader_printable(name, show, sizeof(show)), PROVIDER_NAME_MAX);
	return PERSIST_OK;
}

/* Add one search directory of `len` bytes: absolute ones go to dirs
   (without trailing slashes, each once), relative ones to ignored (they
   are never searched, only mentioned in a not-found message), empty ones
   (as in "a::b") are dropped.  With notes (the probe), an entry that is
   ignored or cannot serve (relative, empty, missing, not a directory,
   unsafe) is logged as a warning naming its source. */
static int add_dir(struct loader_strv *dirs, struct loader_strv *ignored, const char *dir,
		   size_t len, const char *source,
		   const struct persist_search *notes)
{
	char *tmp, buf[128], show[256];
	const char *why = NULL, *it = "it ";
	struct stat st;
	int ret = 0;

	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (len == 0) {
		if (notes != NULL)
			persist_logger_log(notes->logger, PERSIST_LOG_WARNING,
				"empty %s entry is ignored\n"
				"Give absolute directory names separated by ':'.",
				source);
		return 0;
	}
	tmp = malloc(len + 1);
	if (tmp == NULL)
		return -1;
	memcpy(tmp, dir, len);
	tmp[len] = '\0';
	if (tmp[0] != '/') {
		if (!loader_strv_has(ignored, tmp))
			ret = loader_strv_add(ignored, tmp, len);
		why = "is not an absolute path";
	} else if (!loader_strv_has(dirs, tmp)) {
		ret = loader_strv_add(dirs, tmp, len);
		if (notes == NULL) {
			/* no notes: nothing to check */
		} else if (stat(tmp, &st) < 0) {
			why = strerror(errno);
			it = "";
		} else if (!S_ISDIR(st.st_mode)) {
			why = "is not a directory";
		} else if (!notes->allow_insecure) {
			why = loader_unsafe_reason(&st, buf, sizeof(buf));
		}
	}
	if (why != NULL && notes != NULL)
		persist_logger_log(notes->logger, PERSIST_LOG_WARNING,
			"%s entry \"%s\" is ignored: %s%s\n"
			"No plugin is loaded from it.", source,
			loader_printable(tmp, show, sizeof(show)), it, why);
	free(tmp);
	return ret;
}

/* Build the search path: API dirs, $PERSIST_PLUGIN_PATH
   (colon-separated, read with secure_getenv so a set-id program ignores
   it), the configuration's pluginPath, the compiled-in directory. */
int loader_search_dirs(const struct persist_search *search, struct loader_strv *dirs,
		       struct loader_strv *ignored, int notes, struct persist_error *err)
{
	const struct persist_search *ns = notes ? search : NULL;
	const char *env;

	if (search == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
					 "plugin search path is missing");
	if ((search->n_api_dirs > 0 && search->api_dirs == NULL) ||
	    (search->n_file_dirs > 0 && search->file_dirs == NULL))
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"plugin directory list is NULL but its count is not 0");
	for (size_t i = 0; i < search->n_api_dirs; i++) {
		if (search->api_dirs[i] == NULL)
			return persist_error_set(err, PERSIST_EINVAL, 0,
				"plugin directory %zu is NULL", i);
	}
	for (size_t i = 0; i < search->n_file_dirs; i++) {
		if (search->file_dirs[i] == NULL)
			return persist_error_set(err, PERSIST_EINVAL, 0,
				"pluginPath entry %zu is NULL", i);
	}

	for (size_t i = 0; i < search->n_api_dirs; i++) {
		if (add_dir(dirs, ignored, search->api_dirs[i],
			    strlen(search->api_dirs[i]), "plugin directory", ns) < 0)
			goto nomem;
	}
	env = search->no_env ? NULL : secure_getenv("PERSIST_PLUGIN_PATH");
	while (env != NULL && *env != '\0') {
		const char *colon = strchr(env, ':');
		size_t len = colon ? (size_t)(colon - env) : strlen(env);
		if (add_dir(dirs, ignored, env, len, "PERSIST_PLUGIN_PATH", ns) < 0)
			goto nomem;
		env = colon ? colon + 1 : NULL;
	}
	for (size_t i = 0; i < search->n_file_dirs; i++) {
		if (add_dir(dirs, ignored, search->file_dirs[i],
			    strlen(search->file_dirs[i]), "pluginPath", ns) < 0)
			goto nomem;
	}
	/* the built-in directory is often absent in a development tree */
	if (add_dir(dirs, ignored, PERSIST_PLUGIN_DIR,
		    strlen(PERSIST_PLUGIN_DIR), "built-in plugin directory", NULL) < 0)
		goto nomem;
	return PERSIST_OK;
nomem:
	return persist_error_set(err, PERSIST_ENOMEM, ENOMEM,
				 "out of memory building the plugin search path");
}

/* "<dir>/<name>.so" in fresh memory, or NULL. */
char *loader_plugin_file(const char *dir, const char *name)
{
	size_t dlen = strlen(dir), nlen = strlen(name);
	char *path = malloc(dlen + 1 + nlen + 4);

	if (path == NULL)
		return NULL;
	memcpy(path, dir, dlen);
	/* "/" itself keeps its slash; every other dir had its trailing
	   slashes removed by add_dir */
	if (dlen == 0 || dir[dlen - 1] != '/')
		path[dlen++] = '/';
	memcpy(path + dlen, name, nlen);
	memcpy(path + dlen + nlen, ".so", 4);
	return path;
}

/* True when a directory entry is a "*.so" file name; its provider name
   (the part before ".so") is then the first *len_r bytes. */
int loader_so_entry(const char *d_name, size_t *len_r)
{
	size_t len = strlen(d_name);

	if (len < 3 || strcmp(d_name + len - 3, ".so") != 0)
		return 0;
	*len_r = len - 3;
	return 1;
}

/* Names of the valid plugins present in the search directories, sorted
   and each once, for a not-found message. */
static int found_names(const struct loader_strv *dirs, struct loader_strv *names)
{
	for (size_t i = 0; i < dirs->n; i++) {
		DIR *d = opendir(dirs->v[i]);
		struct dirent *de;
		size_t len;

		if (d == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			char name[PROVIDER_NAME_MAX + 1];
			if (!loader_so_entry(de->d_name, &len) || len > PROVIDER_NAME_MAX)
				continue;
			memcpy(name, de->d_name, len);
			name[len] = '\0';
			if (persist_loader_valid_name(name, NULL) != PERSIST_OK ||
			    loader_strv_has(names, name))
				continue;
			if (loader_strv_add(names, name, len) < 0) {
				closedir(d);
				return -1;
			}
		}
		closedir(d);
	}
	if (names->n > 1)
		qsort(names->v, names->n, sizeof(*names->v), cmp_str);
	return 0;
}

/* The sentence naming the package that provides a missing provider, ""
   when the build has no package pattern (configure --with-package-hint)
   or the provider is none of the backends packaged on their own. */
static const char *package_hint(const char *name, char *buf, size_t size)
{
#ifdef PERSIST_PACKAGE_HINT_PREFIX
	static const char *const packaged[] = { "redis", "postgres", "s3" };

	for (size_t i = 0; i < sizeof(packaged) / sizeof(packaged[0]); i++) {
		if (strcmp(name, packaged[i]) == 0) {
			snprintf(buf, size, " Install the package %s%s%s, which provides it.",
				 PERSIST_PACKAGE_HINT_PREFIX, name,
				 PERSIST_PACKAGE_HINT_SUFFIX);
			return buf;
		}
	}
#else
	(void)name;
	(void)size;
#endif
	buf[0] = '\0';
	return buf;
}

/* The not-found error: what was there and where it looked. */
static int not_found(const char *name, const struct loader_strv *dirs,
		     const struct loader_strv *ignored, struct persist_error *err)
{
	struct loader_strv names = { 0 };
	char found[256], searched[512], skipped[256], hint[128];
	int ret;

	if (found_names(dirs, &names) < 0) {
		loader_strv_free(&names);
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM,
					 "out of memory listing plugins");
	}
	join(names.v, names.n, "none", found, sizeof(found));
	join(dirs->v, dirs->n, "nowhere", searched, sizeof(searched));
	package_hint(name, hint, sizeof(hint));
	if (ignored->n > 0) {
		join(ignored->v, ignored->n, "", skipped, sizeof(skipped));
		ret = persist_error_set(err, PERSIST_ENOPLUGIN, 0,
			"no provider \"%s\" (found: %s; searched: %s)\n"
			"Relative plugin directories are ignored: %s.%s",
			name, found, searched, skipped, hint);
	} else if (hint[0] != '\0') {
		ret = persist_error_set(err, PERSIST_ENOPLUGIN, 0,
			"no provider \"%s\" (found: %s; searched: %s)\n%s",
			name, found, searched, hint + 1);
	} else {
		ret = persist_error_set(err, PERSIST_ENOPLUGIN, 0,
			"no provider \"%s\" (found: %s; searched: %s)",
			name, found, searched);
	}
	loader_strv_free(&names);
	return ret;
}

/* Find <name>.so in the search directories: the first directory holding
   an entry of that name wins, whatever the entry is (the checks that
   follow refuse a directory or a link to somewhere unsafe rather than
   silently falling through to a later directory). */
int loader_find_plugin(const struct persist_search *search, const char *name,
		       char **path_r, struct persist_error *err)
{
	struct loader_strv dirs = { 0 }, ignored = { 0 };
	struct stat st;
	int ret;

	ret = loader_search_dirs(search, &dirs, &ignored, 0, err);
	for (size_t i = 0; ret == PERSIST_OK && i < dirs.n; i++) {
		char *path = loader_plugin_file(dirs.v[i], name);
		if (path == NULL) {
			ret = persist_error_set(err, PERSIST_ENOMEM, ENOMEM,
						"out of memory");
			break;
		}
		if (lstat(path, &st) == 0) {
			*path_r = path;
			goto out;
		}
		if (errno != ENOENT && errno != ENOTDIR) {
			ret = persist_error_set(err, PERSIST_ELOAD, errno,
				"plugin %s: cannot access: %s", path,
				strerror(errno));
			free(path);
			goto out;
		}
		free(path);
	}
	if (ret == PERSIST_OK)
		ret = not_found(name, &dirs, &ignored, err);
out:
	loader_strv_free(&dirs);
	loader_strv_free(&ignored);
	return ret;
}
