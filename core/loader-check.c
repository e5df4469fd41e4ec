/*
 * core/loader-check.c - the permission and ownership checks a plugin file
 * passes before any code is loaded from it.
 *
 * The file must be a regular file owned by root or the effective user and
 * writable by nobody else, and so must the directory it was found in and
 * the directory it really lives in (after symbolic links).  The file is
 * opened once and every check is made on that descriptor; loader.c then
 * loads that very descriptor (through /proc/<pid>/fd/N), so what was
 * checked is what runs.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader-private.h"

/* Why a file or directory with this stat is unsafe to load code from, or
   NULL when it is safe: it must belong to root or the effective user (who
   can run code as us anyway) and be writable by nobody else. */
const char *loader_unsafe_reason(const struct stat *st, char *buf, size_t size)
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
	why = loader_unsafe_reason(&st, buf, sizeof(buf));
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

/* Resolve and check the file at `path` before anything is loaded from it
   (the second step of loading, after finding it).
 *
 * What this guards against: loading code that someone other than root or
 * the effective user could have written.  The file is opened with
 * O_NOFOLLOW on its resolved path and checked through that descriptor
 * (fstat), so the checks apply to the very inode we hold, not to whatever
 * a symlink points to a moment later; O_NONBLOCK keeps a FIFO named x.so
 * from hanging us.  That descriptor stays open and is what dlopen loads
 * (loader.c, through /proc/<pid>/fd/N), so a file swapped for another
 * between these checks and dlopen is never loaded.  Both the directory
 * where the name was found and the directory of the resolved file are
 * checked (a symlink in a safe directory to a file in an unsafe one does
 * not pass); a symlink is followed once, here, by realpath.  Ancestors
 * above the plugin's directory are not checked (/tmp-style sticky parents
 * are common and harmless here).
 *
 * Without /proc (not mounted) the file is loaded by its resolved path.
 * The window between these checks and dlopen is then closed only by the
 * directory checks: only root or the effective user can rename or replace
 * entries of a directory that passes, and they can run code as us anyway;
 * after dlopen the path is verified to still name the checked inode, which
 * catches an honest replacement (a concurrent package upgrade).  Loading
 * is not refused there: a chroot or minimal container without /proc must
 * still be able to load its plugins, and the rest of the window needs a
 * writable ancestor directory.
 *
 * allow_insecure skips the owner/mode checks but not the regular-file
 * check: a directory, FIFO or device can never be loaded. */
int loader_check_file(const char *path, int allow_insecure,
		      struct loader_checked *c, struct persist_error *err)
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

	why = loader_unsafe_reason(&c->st, buf, sizeof(buf));
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
