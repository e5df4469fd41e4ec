/*
 * core/loader.c - finding, checking and loading provider plugins, the
 * process-wide registry of loaded plugins, and the plugin probe behind
 * persist_plugins_probe().
 *
 * A provider name becomes a file <dir>/<name>.so found in the search
 * directories (API dirs, $PERSIST_PLUGIN_PATH, the configuration's
 * pluginPath, the compiled-in PERSIST_PLUGIN_DIR; absolute ones only, first
 * match wins).  Before dlopen the file and its directory must be safe: a
 * regular file, owned by root or the effective user, not writable by group
 * or others.  After dlopen(RTLD_NOW | RTLD_LOCAL) the entry symbol's
 * descriptor is checked field by field, each failure with its own status
 * code and a message that names the file, then init runs.
 *
 * The probe (persist_plugins_probe) never calls init and loads each
 * plugin in a forked child that reports its descriptor through a pipe, so
 * a constructor that exits, crashes or hangs costs only that child.
 *
 * Every plugin is loaded once per process: the registry, keyed by the
 * resolved path (and the file's device/inode, so a hard link is the same
 * plugin), holds a reference count; the last release runs fini and
 * dlclose.  One mutex guards the registry and every dlopen/dlsym/dlerror
 * call (dlerror's buffer is not safe to share between threads).
 */
#define _GNU_SOURCE /* secure_getenv */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core-private.h"
#include "loader.h"

#ifndef PERSIST_PLUGIN_DIR
/* Normally defined by core/Makefile.inc as $(libdir)/persist-1. */
#define PERSIST_PLUGIN_DIR "/usr/local/lib/persist-1"
#endif

#define PROVIDER_NAME_MAX 32

/* Size of a struct as ABI 1.0 laid it out: up to and including its last
   1.0 member.  These name the *1.0* last members on purpose: when later
   1.x headers grow the structs, the minimums a plugin must meet stay the
   1.0 sizes, so a plugin built against 1.0 keeps loading. */
#define SIZE_1_0(type, last) (offsetof(type, last) + sizeof(((type *)0)->last))
#define DESCRIPTOR_SIZE_1_0 SIZE_1_0(struct persist_plugin, session)
#define CONFIG_OPS_SIZE_1_0 SIZE_1_0(struct persist_config_ops, list)
#define STATE_OPS_SIZE_1_0 SIZE_1_0(struct persist_state_ops, flush)
#define SESSION_OPS_SIZE_1_0 SIZE_1_0(struct persist_session_ops, send)

/* The registry: every loaded plugin, guarded by registry_lock, which is
   also held around every dlopen/dlsym/dlerror/dlclose and around init and
   fini (so a plugin is initialised exactly once even when two threads ask
   for it at the same moment). */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct persist_loaded_plugin *registry;

/* A growable array of strings. */
struct strv {
	char **v;
	size_t n, cap;
};

/* Free every string of a strv and the array. */
static void strv_free(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

/* True when sv already holds s. */
static int strv_has(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++) {
		if (strcmp(sv->v[i], s) == 0)
			return 1;
	}
	return 0;
}

/* Append a copy of the len bytes at s; -1 when out of memory. */
static int strv_add(struct strv *sv, const char *s, size_t len)
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
	copy = malloc(len + 1);
	if (copy == NULL)
		return -1;
	memcpy(copy, s, len);
	copy[len] = '\0';
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
static const char *printable(const char *s, char *buf, size_t size)
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
			printable(name, show, sizeof(show)), PROVIDER_NAME_MAX);
	return PERSIST_OK;
}

/* Why a file or directory with this stat is unsafe to load code from, or
   NULL when it is safe: it must belong to root or the effective user (who
   can run code as us anyway) and be writable by nobody else. */
static const char *unsafe_reason(const struct stat *st, char *buf, size_t size)
{
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(buf, size,
			 "is owned by uid %lu, not by root or the effective user (uid %lu)",
			 (unsigned long)st->st_uid, (unsigned long)geteuid());
		return buf;
	}
	if ((st->st_mode & S_IWGRP) && (st->st_mode & S_IWOTH))
		return "is writable by group and others";
	if (st->st_mode & S_IWOTH)
		return "is writable by others";
	if (st->st_mode & S_IWGRP)
		return "is writable by group";
	return NULL;
}

/* Add one search directory of `len` bytes: absolute ones go to dirs
   (without trailing slashes, each once), relative ones to ignored (they
   are never searched, only mentioned in a not-found message), empty ones
   (as in "a::b") are dropped.  With notes (the probe), an entry that is
   ignored or cannot serve (relative, empty, missing, not a directory,
   unsafe) is logged as a warning naming its source. */
static int add_dir(struct strv *dirs, struct strv *ignored, const char *dir,
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
		if (!strv_has(ignored, tmp))
			ret = strv_add(ignored, tmp, len);
		why = "is not an absolute path";
	} else if (!strv_has(dirs, tmp)) {
		ret = strv_add(dirs, tmp, len);
		if (notes == NULL) {
			/* no notes: nothing to check */
		} else if (stat(tmp, &st) < 0) {
			why = strerror(errno);
			it = "";
		} else if (!S_ISDIR(st.st_mode)) {
			why = "is not a directory";
		} else if (!notes->allow_insecure) {
			why = unsafe_reason(&st, buf, sizeof(buf));
		}
	}
	if (why != NULL && notes != NULL)
		persist_logger_log(notes->logger, PERSIST_LOG_WARNING,
			"%s entry \"%s\" is ignored: %s%s\n"
			"No plugin is loaded from it.", source,
			printable(tmp, show, sizeof(show)), it, why);
	free(tmp);
	return ret;
}

/* Build the search path: API dirs, $PERSIST_PLUGIN_PATH
   (colon-separated, read with secure_getenv so a set-id program ignores
   it), the configuration's pluginPath, the compiled-in directory. */
static int search_dirs(const struct persist_search *search, struct strv *dirs,
		       struct strv *ignored, int notes, struct persist_error *err)
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
static char *plugin_file(const char *dir, const char *name)
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
static int so_entry(const char *d_name, size_t *len_r)
{
	size_t len = strlen(d_name);

	if (len < 3 || strcmp(d_name + len - 3, ".so") != 0)
		return 0;
	*len_r = len - 3;
	return 1;
}

/* Names of the valid plugins present in the search directories, sorted
   and each once, for a not-found message. */
static int found_names(const struct strv *dirs, struct strv *names)
{
	for (size_t i = 0; i < dirs->n; i++) {
		DIR *d = opendir(dirs->v[i]);
		struct dirent *de;
		size_t len;

		if (d == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			char name[PROVIDER_NAME_MAX + 1];
			if (!so_entry(de->d_name, &len) || len > PROVIDER_NAME_MAX)
				continue;
			memcpy(name, de->d_name, len);
			name[len] = '\0';
			if (persist_loader_valid_name(name, NULL) != PERSIST_OK ||
			    strv_has(names, name))
				continue;
			if (strv_add(names, name, len) < 0) {
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

/* The not-found error: what was there and where it looked. */
static int not_found(const char *name, const struct strv *dirs,
		     const struct strv *ignored, struct persist_error *err)
{
	struct strv names = { 0 };
	char found[256], searched[512], skipped[256];
	int ret;

	if (found_names(dirs, &names) < 0) {
		strv_free(&names);
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM,
					 "out of memory listing plugins");
	}
	join(names.v, names.n, "none", found, sizeof(found));
	join(dirs->v, dirs->n, "nowhere", searched, sizeof(searched));
	if (ignored->n > 0) {
		join(ignored->v, ignored->n, "", skipped, sizeof(skipped));
		ret = persist_error_set(err, PERSIST_ENOPLUGIN, 0,
			"no provider \"%s\" (found: %s; searched: %s)\n"
			"Relative plugin directories are ignored: %s.",
			name, found, searched, skipped);
	} else {
		ret = persist_error_set(err, PERSIST_ENOPLUGIN, 0,
			"no provider \"%s\" (found: %s; searched: %s)",
			name, found, searched);
	}
	strv_free(&names);
	return ret;
}

/* Find <name>.so in the search directories: the first directory holding
   an entry of that name wins, whatever the entry is (the checks that
   follow refuse a directory or a link to somewhere unsafe rather than
   silently falling through to a later directory). */
static int find_plugin(const struct persist_search *search, const char *name,
		       char **path_r, struct persist_error *err)
{
	struct strv dirs = { 0 }, ignored = { 0 };
	struct stat st;
	int ret;

	ret = search_dirs(search, &dirs, &ignored, 0, err);
	for (size_t i = 0; ret == PERSIST_OK && i < dirs.n; i++) {
		char *path = plugin_file(dirs.v[i], name);
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
	strv_free(&dirs);
	strv_free(&ignored);
	return ret;
}

/* Check the directory `dir` (stat follows links: the directory that
   actually holds the entries is what counts). */
static int check_dir(const char *dir, const char *plugin,
		     struct persist_error *err)
{
	struct stat st;
	const char *why;
	char buf[128];

	if (stat(dir, &st) < 0)
		return persist_error_set(err, PERSIST_EINSECURE, errno,
			"plugin directory %s cannot be checked: %s\n"
			"It holds plugin %s.", dir, strerror(errno), plugin);
	why = unsafe_reason(&st, buf, sizeof(buf));
	if (why != NULL)
		return persist_error_set(err, PERSIST_EINSECURE, 0,
			"plugin directory %s %s\n"
			"Anyone who can write there can run code in this process "
			"through %s.", dir, why, plugin);
	return PERSIST_OK;
}

/* The directory part of an absolute path in fresh memory ("/" for
   "/x.so"). */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash != NULL ? (size_t)(slash - path) : 0;
	char *dir;

	if (len == 0)
		return persist_strdup("/");
	dir = malloc(len + 1);
	if (dir == NULL)
		return NULL;
	memcpy(dir, path, len);
	dir[len] = '\0';
	return dir;
}

/* What the security check leaves for the load. */
struct checked {
	char *real;     /* resolved path: what is dlopen'ed and the registry key */
	int fd;         /* the checked file, open until the load is verified */
	struct stat st; /* its fstat */
};

/* Resolve and check the file at `path` before anything is loaded from it
   (the second step of loading, after finding it).
 *
 * What this guards against: loading code that someone other than root or
 * the effective user could have written.  The file is opened with
 * O_NOFOLLOW on its resolved path and checked through that descriptor
 * (fstat), so the checks apply to the very inode we hold, not to whatever
 * a symlink points to a moment later; O_NONBLOCK keeps a FIFO named x.so
 * from hanging us.  The window between these checks and dlopen (which
 * reopens the path) is closed by the directory checks, not by the file
 * check: only root or the effective user can rename or replace entries of
 * a directory that passes, and they can run code as us anyway.  Both the
 * directory where the name was found and the directory of the resolved
 * file are checked (a symlink in a safe directory to a file in an unsafe
 * one does not pass).  After dlopen the path is verified to still name the
 * checked inode, which catches an honest replacement (a concurrent package
 * upgrade) in that window.  Ancestors above the plugin's directory are not
 * checked (/tmp-style sticky parents are common and harmless here).
 *
 * allow_insecure skips the owner/mode checks but not the regular-file
 * check: a directory, FIFO or device can never be loaded. */
static int check_file(const char *path, int allow_insecure,
		      struct checked *c, struct persist_error *err)
{
	const char *why;
	char buf[128], *found_dir = NULL, *real_dir = NULL;
	int ret = PERSIST_OK;

	c->fd = -1;
	c->real = realpath(path, NULL);
	if (c->real == NULL) {
		if (errno == ENOENT || errno == ENOTDIR)
			return persist_error_set(err, PERSIST_ENOPLUGIN, errno,
				"plugin %s does not exist", path);
		return persist_error_set(err, errno == ENOMEM ? PERSIST_ENOMEM :
			PERSIST_ELOAD, errno, "plugin %s: cannot resolve: %s",
			path, strerror(errno));
	}
	c->fd = open(c->real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (c->fd < 0) {
		ret = persist_error_set(err, PERSIST_ELOAD, errno,
			"plugin %s: cannot open: %s", c->real, strerror(errno));
		goto fail;
	}
	if (fstat(c->fd, &c->st) < 0) {
		ret = persist_error_set(err, PERSIST_ELOAD, errno,
			"plugin %s: cannot stat: %s", c->real, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(c->st.st_mode)) {
		ret = persist_error_set(err, PERSIST_EINSECURE, 0,
			"plugin %s is %s, not a regular file", c->real,
			S_ISDIR(c->st.st_mode) ? "a directory" :
			S_ISFIFO(c->st.st_mode) ? "a FIFO" :
			S_ISSOCK(c->st.st_mode) ? "a socket" : "a device");
		goto fail;
	}
	if (allow_insecure)
		return PERSIST_OK;

	why = unsafe_reason(&c->st, buf, sizeof(buf));
	if (why != NULL) {
		ret = persist_error_set(err, PERSIST_EINSECURE, 0,
			"plugin file %s %s\n"
			"Only root or the effective user may be able to change "
			"code this process loads.", c->real, why);
		goto fail;
	}
	found_dir = dir_of(path);
	real_dir = dir_of(c->real);
	if (found_dir == NULL || real_dir == NULL) {
		ret = persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
		goto fail;
	}
	ret = check_dir(found_dir, c->real, err);
	if (ret == PERSIST_OK && strcmp(found_dir, real_dir) != 0)
		ret = check_dir(real_dir, c->real, err);
	if (ret != PERSIST_OK)
		goto fail;
	free(found_dir);
	free(real_dir);
	return PERSIST_OK;
fail:
	free(found_dir);
	free(real_dir);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->real);
	c->real = NULL;
	return ret;
}

/* dlerror()'s text without the leading "<path>: " that repeats the file
   name already in our message.  Registry lock held. */
static const char *dl_message(const char *path)
{
	const char *msg = dlerror();
	size_t len = strlen(path);

	if (msg == NULL)
		return "unknown dynamic loader error";
	if (strncmp(msg, path, len) == 0 && msg[len] == ':' && msg[len + 1] == ' ')
		return msg + len + 2;
	return msg;
}

/* Check a descriptor against this core (after dlopen and dlsym), in order:
   NULL, magic, ABI major, ABI minor, size, name, init. */
static int check_descriptor(const struct persist_plugin *desc,
			    const char *path, const char *name,
			    struct persist_error *err)
{
	char show[80];

	if (desc == NULL)
		return persist_error_set(err, PERSIST_ENOENTRY, 0,
			"plugin %s: " PERSIST_PLUGIN_ENTRY_SYMBOL "() returned NULL",
			path);
	if (desc->magic != PERSIST_PLUGIN_MAGIC)
		return persist_error_set(err, PERSIST_EMAGIC, 0,
			"plugin %s: bad descriptor magic 0x%08x, expected 0x%08x\n"
			"The file is not a persist plugin, or it is damaged.",
			path, (unsigned)desc->magic, (unsigned)PERSIST_PLUGIN_MAGIC);
	if (desc->abi_major != PERSIST_ABI_MAJOR)
		return persist_error_set(err, PERSIST_EABI, 0,
			"plugin %s: built for ABI %u.%u, this core speaks %d.0-%d.%d\n"
			"Rebuild the plugin against persist %d.x headers.",
			path, (unsigned)desc->abi_major, (unsigned)desc->abi_minor,
			PERSIST_ABI_MAJOR, PERSIST_ABI_MAJOR, PERSIST_ABI_MINOR,
			PERSIST_ABI_MAJOR);
	if (desc->abi_minor > PERSIST_ABI_MINOR)
		return persist_error_set(err, PERSIST_EABINEWER, 0,
			"plugin %s: built for ABI %u.%u, this core speaks %d.0-%d.%d\n"
			"The plugin needs a newer libpersist.",
			path, (unsigned)desc->abi_major, (unsigned)desc->abi_minor,
			PERSIST_ABI_MAJOR, PERSIST_ABI_MAJOR, PERSIST_ABI_MINOR);
	if (desc->size < DESCRIPTOR_SIZE_1_0)
		return persist_error_set(err, PERSIST_EDESCRIPTOR, 0,
			"plugin %s: descriptor is %u bytes, ABI %u.%u needs at least %zu",
			path, (unsigned)desc->size, (unsigned)desc->abi_major,
			(unsigned)desc->abi_minor, (size_t)DESCRIPTOR_SIZE_1_0);
	if (desc->name == NULL)
		return persist_error_set(err, PERSIST_ENAME, 0,
			"plugin %s: declares no name, expected \"%s\"\n"
			"A plugin's file name must be its declared name plus .so.",
			path, name);
	if (strcmp(desc->name, name) != 0)
		return persist_error_set(err, PERSIST_ENAME, 0,
			"plugin %s: declares name \"%s\", expected \"%s\"\n"
			"A plugin's file name must be its declared name plus .so.",
			path, printable(desc->name, show, sizeof(show)), name);
	if (desc->init == NULL)
		return persist_error_set(err, PERSIST_EINIT, 0,
			"plugin %s: has no init function", path);
	return PERSIST_OK;
}

/* The loaded plugin for the checked file, if the registry has it.
   Registry lock held. */
static struct persist_loaded_plugin *registry_find(const struct checked *c)
{
	for (struct persist_loaded_plugin *lp = registry; lp != NULL; lp = lp->next) {
		if (strcmp(lp->path, c->real) == 0 ||
		    (lp->dev == (uint64_t)c->st.st_dev &&
		     lp->ino == (uint64_t)c->st.st_ino))
			return lp;
	}
	return NULL;
}

/* dlopen the checked file and check its descriptor as provider `name`
   (no init): the handle and descriptor to *dl_r and *desc_r.  Runs the
   plugin's constructors.  Registry lock held, or in a probe child. */
static int open_descriptor(const struct checked *c, const char *name,
			   void **dl_r, const struct persist_plugin **desc_r,
			   struct persist_error *err)
{
	const struct persist_plugin *desc;
	persist_plugin_entry_fn *entry;
	struct stat now;
	void *dl, *sym;
	int ret;

	(void)dlerror();
	dl = dlopen(c->real, RTLD_NOW | RTLD_LOCAL);
	if (dl == NULL)
		return persist_error_set(err, PERSIST_ELOAD, 0,
			"plugin %s: cannot load: %s", c->real, dl_message(c->real));
	/* the inode we checked must be the one the loader mapped */
	if (stat(c->real, &now) < 0 || now.st_dev != c->st.st_dev ||
	    now.st_ino != c->st.st_ino) {
		ret = persist_error_set(err, PERSIST_ELOAD, 0,
			"plugin %s: the file was replaced while it was being loaded",
			c->real);
		goto fail;
	}
	(void)dlerror();
	sym = dlsym(dl, PERSIST_PLUGIN_ENTRY_SYMBOL);
	if (sym == NULL) {
		ret = persist_error_set(err, PERSIST_ENOENTRY, 0,
			"plugin %s: no " PERSIST_PLUGIN_ENTRY_SYMBOL " symbol\n"
			"The file is not a persist plugin, or is one for another "
			"ABI major.", c->real);
		goto fail;
	}
	/* POSIX guarantees a dlsym result converts to a function pointer */
	memcpy(&entry, &sym, sizeof(entry));
	desc = entry();
	ret = check_descriptor(desc, c->real, name, err);
	if (ret != PERSIST_OK)
		goto fail;
	*dl_r = dl;
	*desc_r = desc;
	return PERSIST_OK;
fail:
	dlclose(dl);
	return ret;
}

/* dlopen, check, init the checked file as provider `name`.  Registry lock
   held. */
static int load_plugin(struct checked *c, const char *name,
		       const struct persist_logger *logger,
		       struct persist_loaded_plugin **plugin_r,
		       struct persist_error *err)
{
	struct persist_loaded_plugin *lp;
	const struct persist_plugin *desc;
	struct persist_error ierr;
	void *dl, *pd = NULL;
	int ret;

	ret = open_descriptor(c, name, &dl, &desc, err);
	if (ret != PERSIST_OK)
		return ret;

	lp = calloc(1, sizeof(*lp));
	if (lp == NULL || (lp->name = persist_strdup(name)) == NULL) {
		free(lp);
		ret = persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
		goto fail;
	}

	/* said before init runs: an init that crashes or exits takes the
	   process with it, and this line is then the last word on why */
	persist_logger_log(logger, PERSIST_LOG_INFO,
			   "initialising plugin %s (%s)", name, c->real);
	memset(&ierr, 0, sizeof(ierr));
	ret = desc->init(persist_host_table(), &pd, &ierr);
	if (ret != PERSIST_OK) {
		ierr.msg[sizeof(ierr.msg) - 1] = '\0';
		if (ierr.msg[0] != '\0')
			ret = persist_error_set(err, PERSIST_EINIT, ierr.sys_errno,
				"plugin %s: init failed: %s", c->real, ierr.msg);
		else
			ret = persist_error_set(err, PERSIST_EINIT, ierr.sys_errno,
				"plugin %s: init failed: %s", c->real,
				persist_strerror(ret));
		free(lp->name);
		free(lp);
		goto fail;
	}

	lp->path = c->real;
	c->real = NULL;
	lp->dl = dl;
	lp->desc = desc;
	lp->plugin = pd;
	lp->refcount = 1;
	lp->dev = (uint64_t)c->st.st_dev;
	lp->ino = (uint64_t)c->st.st_ino;
	lp->next = registry;
	registry = lp;
	*plugin_r = lp;
	return PERSIST_OK;
fail:
	dlclose(dl);
	return ret;
}

/* Load provider `name` (or the module at absolute path `module`), or take
   one more reference to it when this process already has it. */
int persist_loader_acquire(const struct persist_search *search,
			   const char *name, const char *module,
			   struct persist_loaded_plugin **plugin_r,
			   struct persist_error *err)
{
	struct checked c = { .real = NULL, .fd = -1 };
	struct persist_loaded_plugin *lp;
	char *path = NULL, show[80];
	int ret;

	ret = persist_loader_valid_name(name, err);
	if (ret != PERSIST_OK)
		return ret;
	if (plugin_r == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"provider \"%s\": nowhere to return the plugin", name);
	if (search == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"provider \"%s\": plugin search path is missing", name);
	if (module != NULL) {
		if (module[0] != '/')
			return persist_error_set(err, PERSIST_EINVAL, 0,
				"module path \"%s\" of provider \"%s\" is not absolute",
				printable(module, show, sizeof(show)), name);
		path = persist_strdup(module);
		if (path == NULL)
			return persist_error_set(err, PERSIST_ENOMEM, ENOMEM,
						 "out of memory");
	} else {
		ret = find_plugin(search, name, &path, err);
		if (ret != PERSIST_OK)
			return ret;
	}

	ret = check_file(path, search->allow_insecure, &c, err);
	free(path);
	if (ret != PERSIST_OK)
		return ret;

	pthread_mutex_lock(&registry_lock);
	lp = registry_find(&c);
	if (lp != NULL) {
		if (strcmp(lp->name, name) != 0) {
			ret = persist_error_set(err, PERSIST_ENAME, 0,
				"plugin %s: declares name \"%s\", expected \"%s\"\n"
				"A plugin's file name must be its declared name plus .so.",
				c.real, lp->name, name);
		} else {
			lp->refcount++;
			*plugin_r = lp;
		}
	} else {
		ret = load_plugin(&c, name, search->logger, plugin_r, err);
	}
	pthread_mutex_unlock(&registry_lock);
	close(c.fd);
	free(c.real);
	return ret;
}

/* Check that the plugin offers `kind` with a table at least as large as
   the ABI 1.0 one and the open/close every store needs. */
int persist_loader_check_kind(const struct persist_loaded_plugin *plugin,
			      enum persist_kind kind,
			      struct persist_error *err)
{
	const struct persist_plugin *desc;
	const void *table;
	size_t min;
	uint32_t size;
	int has_open_close;
	const char *what;
	static const char *const kind_word[PERSIST_KIND_COUNT_] = {
		[PERSIST_KIND_CONFIG] = "configuration",
		[PERSIST_KIND_STATE] = "state",
		[PERSIST_KIND_SESSION] = "session",
	};

	if (plugin == NULL || plugin->desc == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
					 "no plugin to check");
	desc = plugin->desc;
	switch (kind) {
	case PERSIST_KIND_CONFIG:
		table = desc->config;
		min = CONFIG_OPS_SIZE_1_0;
		size = table ? desc->config->size : 0;
		has_open_close = table && desc->config->open && desc->config->close;
		break;
	case PERSIST_KIND_STATE:
		table = desc->state;
		min = STATE_OPS_SIZE_1_0;
		size = table ? desc->state->size : 0;
		has_open_close = table && desc->state->open && desc->state->close;
		break;
	case PERSIST_KIND_SESSION:
		table = desc->session;
		min = SESSION_OPS_SIZE_1_0;
		size = table ? desc->session->size : 0;
		has_open_close = table && desc->session->open && desc->session->close;
		break;
	default:
		return persist_error_set(err, PERSIST_EINVAL, 0,
					 "unknown kind %d", (int)kind);
	}
	what = kind_word[kind];
	if (table == NULL)
		return persist_error_set(err, PERSIST_ENOIFACE, 0,
			"plugin \"%s\" (%s) has no %s interface", plugin->name,
			plugin->path, what);
	if (size < min)
		return persist_error_set(err, PERSIST_EDESCRIPTOR, 0,
			"plugin \"%s\" (%s): %s table is %u bytes, ABI 1.0 needs at least %zu",
			plugin->name, plugin->path, what, (unsigned)size, min);
	if (!has_open_close)
		return persist_error_set(err, PERSIST_EDESCRIPTOR, 0,
			"plugin \"%s\" (%s): %s table lacks open or close",
			plugin->name, plugin->path, what);
	return PERSIST_OK;
}

/* Drop one reference; the last one runs fini and dlclose. */
void persist_loader_release(struct persist_loaded_plugin *plugin)
{
	struct persist_loaded_plugin **pp;

	if (plugin == NULL)
		return;
	pthread_mutex_lock(&registry_lock);
	if (--plugin->refcount > 0) {
		pthread_mutex_unlock(&registry_lock);
		return;
	}
	for (pp = &registry; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == plugin) {
			*pp = plugin->next;
			break;
		}
	}
	if (plugin->desc->fini != NULL)
		plugin->desc->fini(plugin->plugin);
	dlclose(plugin->dl);
	pthread_mutex_unlock(&registry_lock);
	free(plugin->name);
	free(plugin->path);
	free(plugin);
}

/* Free what persist_plugins_probe returned. */
void persist_plugins_free(struct persist_plugin_info *infos, size_t n)
{
	if (infos == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(infos[i].name);
		free(infos[i].path);
		free(infos[i].version);
		free(infos[i].description);
		free(infos[i].error);
	}
	free(infos);
}

/* qsort comparator: plugin infos by name. */
static int cmp_info(const void *a, const void *b)
{
	return strcmp(((const struct persist_plugin_info *)a)->name,
		      ((const struct persist_plugin_info *)b)->name);
}

/* How long a probe child may take to load one plugin before it is
   killed, and the most it may report. */
#define PROBE_TIMEOUT_MS 5000
#define PROBE_TEXT_MAX 2048

/* What a probe child writes to its pipe: this header, then the version,
   description and error texts (len[] bytes each, no NUL). */
struct probe_report {
	int32_t status;
	uint32_t abi_major, abi_minor;
	uint32_t has_kind[PERSIST_KIND_COUNT_];
	uint64_t caps[PERSIST_KIND_COUNT_];
	uint32_t len[3];
};

/* Write all of buf to fd; -1 on failure. */
static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* In the probe child: check and dlopen the plugin at info->path, check its
   descriptor and tables (never init), write the report to fd, and leave
   with _exit (no atexit handler or stdio flush of the parent's state). */
static void probe_child(const struct persist_search *search,
			const struct persist_plugin_info *info, int fd)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct checked c = { .real = NULL, .fd = -1 };
	const struct persist_plugin *desc = NULL;
	struct probe_report r;
	struct persist_error e;
	const char *text[3] = { "", "", "" };
	void *dl = NULL;
	int null, kinds = 0;

	/* a crash must end the child with its signal, whatever handler the
	   host installed; what a constructor prints must not reach the
	   host's output */
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], SIG_DFL);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
	}
	memset(&r, 0, sizeof(r));
	memset(&e, 0, sizeof(e));
	r.status = persist_loader_valid_name(info->name, &e);
	if (r.status == PERSIST_OK)
		r.status = check_file(info->path, search->allow_insecure, &c, &e);
	if (r.status == PERSIST_OK)
		r.status = open_descriptor(&c, info->name, &dl, &desc, &e);
	if (r.status == PERSIST_OK) {
		struct persist_loaded_plugin lp;

		memset(&lp, 0, sizeof(lp));
		lp.name = info->name;
		lp.path = c.real;
		lp.desc = desc;
		r.abi_major = desc->abi_major;
		r.abi_minor = desc->abi_minor;
		text[0] = desc->version != NULL ? desc->version : "";
		text[1] = desc->description != NULL ? desc->description : "";
		for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
			const void *table = k == PERSIST_KIND_CONFIG ? (const void *)desc->config :
					    k == PERSIST_KIND_STATE ? (const void *)desc->state :
					    (const void *)desc->session;
			struct persist_error ke;
			int ret;

			if (table == NULL)
				continue;
			ret = persist_loader_check_kind(&lp, (enum persist_kind)k, &ke);
			if (ret != PERSIST_OK) {
				/* the first broken table is the plugin's error */
				if (r.status == PERSIST_OK) {
					r.status = ret;
					e = ke;
				}
				continue;
			}
			r.has_kind[k] = 1;
			r.caps[k] = k == PERSIST_KIND_CONFIG ? desc->config->caps :
				    k == PERSIST_KIND_STATE ? desc->state->caps :
				    desc->session->caps;
			kinds++;
		}
		if (r.status == PERSIST_OK && kinds == 0)
			r.status = persist_error_set(&e, PERSIST_ENOIFACE, 0,
				"plugin \"%s\" (%s) offers no interface",
				info->name, c.real);
	}
	if (r.status != PERSIST_OK)
		text[2] = e.msg;
	for (int i = 0; i < 3; i++)
		r.len[i] = (uint32_t)strnlen(text[i], PROBE_TEXT_MAX);
	if (write_all(fd, &r, sizeof(r)) < 0)
		_exit(1);
	for (int i = 0; i < 3; i++)
		if (write_all(fd, text[i], r.len[i]) < 0)
			_exit(1);
	_exit(0);
}

/* Read what the child writes to fd until it closes it, for at most
   timeout_ms; the bytes read to *len_r; 1 when the time ran out. */
static int read_report(int fd, char *buf, size_t size, size_t *len_r,
		       int timeout_ms)
{
	int64_t deadline = persist_monotonic_us() + (int64_t)timeout_ms * 1000;
	size_t len = 0;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - persist_monotonic_us();
		ssize_t n;
		int pr;

		if (left <= 0) {
			*len_r = len;
			return 1;
		}
		pr = poll(&pfd, 1, (int)((left + 999) / 1000));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			break;
		if (pr == 0)
			continue;
		n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == size)
			break;
	}
	*len_r = len;
	return 0;
}

/* A copy of the first len bytes of s, or NULL. */
static char *dup_len(const char *s, size_t len)
{
	char *copy = malloc(len + 1);

	if (copy != NULL) {
		memcpy(copy, s, len);
		copy[len] = '\0';
	}
	return copy;
}

/* Describe the plugin in *info from a probe child's whole report (texts:
   the version, description and error that follow the header); -1 when
   out of memory. */
static int probe_take_report(const struct probe_report *r, const char *texts,
			     struct persist_plugin_info *info)
{
	info->status = (persist_status)r->status;
	if (r->status < 0 || r->status >= PERSIST_STATUS_COUNT_)
		info->status = PERSIST_ELOAD;
	if (info->status != PERSIST_OK) {
		info->error = dup_len(texts + r->len[0] + r->len[1], r->len[2]);
		return info->error == NULL ? -1 : 0;
	}
	info->abi_major = r->abi_major;
	info->abi_minor = r->abi_minor;
	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		info->has_kind[k] = r->has_kind[k] != 0;
		info->caps[k] = r->caps[k];
	}
	info->version = dup_len(texts, r->len[0]);
	info->description = dup_len(texts + r->len[0], r->len[1]);
	return info->version == NULL || info->description == NULL ? -1 : 0;
}

/* Probe one plugin in a child process and describe it in *info (name and
   path set): its descriptor, or why it cannot be loaded, including a
   child that exited, crashed or hung while loading it.  -1 when out of
   memory. */
static int probe_one(const struct persist_search *search,
		     struct persist_plugin_info *info)
{
	char buf[sizeof(struct probe_report) + 3 * PROBE_TEXT_MAX];
	struct probe_report r;
	struct persist_error e;
	size_t len = 0;
	int fds[2], status = 0, timed_out, waited;
	pid_t pid;

	memset(&e, 0, sizeof(e));
	if (pipe2(fds, O_CLOEXEC) < 0) {
		info->status = persist_error_set(&e, PERSIST_ELOAD, errno,
			"plugin %s: cannot probe: pipe: %s", info->path,
			strerror(errno));
		goto error;
	}
	pid = fork();
	if (pid < 0) {
		info->status = persist_error_set(&e, PERSIST_ELOAD, errno,
			"plugin %s: cannot probe: fork: %s", info->path,
			strerror(errno));
		close(fds[0]);
		close(fds[1]);
		goto error;
	}
	if (pid == 0) {
		close(fds[0]);
		probe_child(search, info, fds[1]);
		_exit(1); /* not reached */
	}
	close(fds[1]);
	timed_out = read_report(fds[0], buf, sizeof(buf), &len, PROBE_TIMEOUT_MS);
	close(fds[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	while ((waited = (int)waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;

	/* a whole report is the answer, whatever the child's status after
	   it (a checking tool such as valgrind may change that status) */
	memset(&r, 0, sizeof(r));
	if (len >= sizeof(r))
		memcpy(&r, buf, sizeof(r));
	if (len >= sizeof(r) && r.len[0] <= PROBE_TEXT_MAX &&
	    r.len[1] <= PROBE_TEXT_MAX && r.len[2] <= PROBE_TEXT_MAX &&
	    len == sizeof(r) + (size_t)r.len[0] + r.len[1] + r.len[2])
		return probe_take_report(&r, buf + sizeof(r), info);
	if (timed_out)
		info->status = persist_error_set(&e, PERSIST_ELOAD, 0,
			"plugin %s: did not finish loading within %d seconds\n"
			"It was probed in a separate process, which was killed.",
			info->path, PROBE_TIMEOUT_MS / 1000);
	else if (waited == pid && WIFSIGNALED(status))
		info->status = persist_error_set(&e, PERSIST_ELOAD, 0,
			"plugin %s: crashed while loading (signal %d)\n"
			"It was probed in a separate process; this one is unaffected.",
			info->path, WTERMSIG(status));
	else if (waited == pid && WIFEXITED(status))
		/* a constructor called exit */
		info->status = persist_error_set(&e, PERSIST_ELOAD, 0,
			"plugin %s: exited with status %d while loading\n"
			"It was probed in a separate process; this one is unaffected.",
			info->path, WEXITSTATUS(status));
	else
		info->status = persist_error_set(&e, PERSIST_ELOAD, 0,
			"plugin %s: ended without a report while loading",
			info->path);
error:
	info->error = persist_strdup(e.msg);
	return info->error == NULL ? -1 : 0;
}

/* Every *.so in every search directory, described (persist_plugins_probe). */
int persist_loader_probe(const struct persist_search *search,
			 struct persist_plugin_info **infos_r, size_t *n_r,
			 struct persist_error *err)
{
	struct strv dirs = { 0 }, ignored = { 0 }, seen = { 0 };
	struct persist_plugin_info *infos = NULL;
	size_t n = 0, cap = 0;
	int ret;

	if (infos_r == NULL || n_r == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
					 "nowhere to return the plugin list");
	ret = search_dirs(search, &dirs, &ignored, 1, err);
	if (ret != PERSIST_OK)
		goto out;
	/* a child that exits through exit() flushes the stdio buffers it
	   inherited: empty them first so nothing is written twice */
	fflush(NULL);

	for (size_t i = 0; i < dirs.n; i++) {
		struct strv here = { 0 };
		struct dirent *de;
		DIR *d = opendir(dirs.v[i]);
		size_t len;

		if (d == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			if (so_entry(de->d_name, &len) &&
			    strv_add(&here, de->d_name, len) < 0) {
				closedir(d);
				strv_free(&here);
				goto nomem;
			}
		}
		closedir(d);
		for (size_t j = 0; j < here.n; j++) {
			struct persist_plugin_info *info;

			/* the first directory holding a name wins */
			if (strv_has(&seen, here.v[j]))
				continue;
			if (strv_add(&seen, here.v[j], strlen(here.v[j])) < 0) {
				strv_free(&here);
				goto nomem;
			}
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				struct persist_plugin_info *ni =
					realloc(infos, ncap * sizeof(*ni));
				if (ni == NULL) {
					strv_free(&here);
					goto nomem;
				}
				infos = ni;
				cap = ncap;
			}
			info = &infos[n++];
			memset(info, 0, sizeof(*info));
			info->name = persist_strdup(here.v[j]);
			info->path = plugin_file(dirs.v[i], here.v[j]);
			if (info->name == NULL || info->path == NULL ||
			    probe_one(search, info) < 0) {
				strv_free(&here);
				goto nomem;
			}
		}
		strv_free(&here);
	}
	if (n > 1)
		qsort(infos, n, sizeof(*infos), cmp_info);
	*infos_r = infos;
	*n_r = n;
	infos = NULL;
	n = 0;
	ret = PERSIST_OK;
	goto out;
nomem:
	ret = persist_error_set(err, PERSIST_ENOMEM, ENOMEM,
				"out of memory probing plugins");
out:
	persist_plugins_free(infos, n);
	strv_free(&dirs);
	strv_free(&ignored);
	strv_free(&seen);
	return ret;
}

/* Public: every plugin on the search path of these options (and of the
   configuration file's pluginPath when config_path is given). */
int persist_plugins_probe(const struct persist_options *opts,
			  const char *config_path,
			  struct persist_plugin_info **infos_r, size_t *n_r,
			  struct persist_error *err)
{
	struct persist_search search;
	struct persist_logger logger = { NULL, NULL, PERSIST_LOG_INFO };
	char **file_dirs = NULL;
	size_t n_file_dirs = 0;
	int ret;

	if (infos_r == NULL || n_r == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
					 "nowhere to return the plugin list");
	memset(&search, 0, sizeof(search));
	if (opts != NULL) {
		if (!PERSIST_HAS(opts, flags))
			return persist_error_set(err, PERSIST_EINVAL, 0,
				"persist_options.size is %u, too small for its flags\n"
				"Set size to sizeof(struct persist_options).",
				(unsigned)opts->size);
		if (opts->n_plugin_dirs > 0 && opts->plugin_dirs == NULL)
			return persist_error_set(err, PERSIST_EINVAL, 0,
				"persist_options.plugin_dirs is NULL but "
				"n_plugin_dirs is %zu", opts->n_plugin_dirs);
		search.api_dirs = opts->plugin_dirs;
		search.n_api_dirs = opts->n_plugin_dirs;
		search.no_env = (opts->flags & PERSIST_OPEN_NO_ENV_PLUGIN_PATH) != 0;
		search.allow_insecure =
			(opts->flags & PERSIST_OPEN_ALLOW_INSECURE_PLUGINS) != 0;
		logger.log = opts->log;
		logger.ctx = opts->log_ctx;
		logger.level = opts->log_level;
		search.logger = &logger;
	}
	if (config_path != NULL) {
		/* pluginPath of the configuration file, from core/settings.c */
		ret = persist_settings_plugin_path(config_path, &file_dirs,
						   &n_file_dirs, err);
		if (ret != PERSIST_OK)
			return ret;
		search.file_dirs = (const char *const *)file_dirs;
		search.n_file_dirs = n_file_dirs;
	}
	ret = persist_loader_probe(&search, infos_r, n_r, err);
	for (size_t i = 0; i < n_file_dirs; i++)
		free(file_dirs[i]);
	free(file_dirs);
	return ret;
}
