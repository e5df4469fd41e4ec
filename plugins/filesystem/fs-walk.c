/*
 * plugins/filesystem/fs-walk.c - the walk over the configuration tree that
 * both the listing (fs-config.c) and the watcher (fs-watch.c) make, so
 * that the documents a store lists, the documents it watches and the keys
 * set accepts are the same ones.
 *
 * The walk is iterative (a stack of directories on the heap, one directory
 * open at a time), so its depth costs neither C stack nor descriptors.  It
 * goes as deep as a key can: set accepts any key of at most PERSIST_KEY_MAX
 * bytes, so a directory is entered while its path leaves room for one more
 * segment ("/x"), and never below that - which also ends the walk on a
 * tree that loops (a bind mount of a parent).  Hidden names (temporaries,
 * sidecars, the lock file) are skipped; so are symbolic links to
 * directories.  A document is a regular file or a symbolic link named
 * "<segment>.json" whose key passes fs_config_key_check.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <persist/persist.h>
#include "fs-private.h"

/* Stack of directories still to read (relative paths, malloc'ed). */
struct fs_walk_stack {
	char **dirs;
	size_t n, cap;
};

/* Push a copy of dir; -1 when out of memory. */
static int fs_walk_push(struct fs_walk_stack *s, const char *dir)
{
	char *copy;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char **p = realloc(s->dirs, cap * sizeof(*p));
		if (p == NULL)
			return -1;
		s->dirs = p;
		s->cap = cap;
	}
	copy = strdup(dir);
	if (copy == NULL)
		return -1;
	s->dirs[s->n++] = copy;
	return 0;
}

/* Note the first failure of the walk. */
static void fs_walk_failed(struct fs_walk *w, const char *dir, int e)
{
	if (w->error != 0)
		return;
	w->error = e;
	snprintf(w->failed, sizeof(w->failed), "%s", dir);
}

/* Read one directory: push its subdirectories, hand over its documents.
   0 to go on, non-zero when a callback stopped the walk. */
static int fs_walk_read(struct fs_walk *w, struct fs_walk_stack *s,
			const char *dir)
{
	char path[PERSIST_KEY_MAX + FS_SEGMENT_MAX + 32];
	const size_t sl = strlen(FS_DOC_SUFFIX);
	size_t dlen = strlen(dir);
	struct dirent *de;
	DIR *d;
	int fd, stop = 0;

	fd = fs_open_beneath(w->rootfd, dlen > 0 ? dir : ".",
			     O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		if (e != ENOENT && e != ENOTDIR)
			fs_walk_failed(w, dir, e);
		return 0;
	}
	while (!stop && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		unsigned char type = de->d_type;
		struct persist_error err;
		struct stat sb;

		if (de->d_name[0] == '.')
			continue;
		if (type == DT_UNKNOWN) {
			if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			type = S_ISDIR(sb.st_mode) ? DT_DIR
			     : S_ISREG(sb.st_mode) ? DT_REG
			     : S_ISLNK(sb.st_mode) ? DT_LNK : DT_UNKNOWN;
		}
		/* the smallest key below a directory adds "/x" to its path */
		if (dlen + (dlen > 0) + n + (type == DT_DIR ? 2 : 0) >
		    PERSIST_KEY_MAX + (type == DT_DIR ? 0 : sl))
			continue;
		snprintf(path, sizeof(path), "%s%s%s", dir, dlen > 0 ? "/" : "",
			 de->d_name);
		if (type == DT_DIR) {
			if (fs_walk_push(s, path) < 0) {
				fs_walk_failed(w, path, ENOMEM);
				stop = 1;
			}
			continue;
		}
		if ((type != DT_REG && type != DT_LNK) || n <= sl ||
		    strcmp(de->d_name + n - sl, FS_DOC_SUFFIX) != 0)
			continue;
		path[strlen(path) - sl] = '\0';
		if (fs_config_key_check(w->host, path, &err) != PERSIST_OK)
			continue;
		stop = w->doc(w->ctx, dirfd(d), path, de->d_name,
			      type == DT_LNK);
	}
	closedir(d);
	return stop;
}

/* Walk the tree from directory start ("" for the root). */
void fs_walk_run(struct fs_walk *w, const char *start)
{
	struct fs_walk_stack s = { NULL, 0, 0 };
	int stop = 0;

	w->error = 0;
	w->failed[0] = '\0';
	w->stopped = 0;
	if (start[0] != '\0' && strlen(start) + 2 > PERSIST_KEY_MAX)
		return; /* too deep to hold a key */
	if (fs_walk_push(&s, start) < 0) {
		fs_walk_failed(w, start, ENOMEM);
		return;
	}
	while (s.n > 0) {
		char *dir = s.dirs[--s.n];
		int what = stop ? FS_WALK_SKIP
			   : w->dir != NULL ? w->dir(w->ctx, dir) : FS_WALK_READ;

		if (what == FS_WALK_STOP)
			stop = 1;
		else if (what == FS_WALK_READ)
			stop = fs_walk_read(w, &s, dir) != 0;
		free(dir);
	}
	free(s.dirs);
	w->stopped = stop;
}
