/*
 * plugins/filesystem/fs-collections.c - listing the collections of a state
 * root: the names of the key journals ROOT/kv/<c>.jsonl and the logs
 * ROOT/logs/<c>.jsonl that hold something.
 *
 * The directories are the truth every process shares, so the listing
 * reads them rather than this process's in-memory replicas: what another
 * process wrote is listed, and a collection another process dropped (its
 * files removed) is not.  A name is listed when it is a collection name
 * (never one of the provider's own files: the batch-id journal
 * .batch-ids.jsonl, the .compact and .trim temporaries and other hidden
 * names all start with '.') and its file is a non-empty regular file.  A
 * journal whose keys were all deleted or have expired, or a log trimmed
 * to nothing, may still be listed until compaction, as plugin.h allows.
 * A name found in both directories is emitted once (a set of the names
 * seen).  No lock is taken: a file appears whole (created by the first
 * write, removed by a drop) and the names are all a listing needs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <persist/persist.h>
#include "fs-private.h"

/* What one listing carries through the two directories. */
struct fs_names {
	struct fs_state *st;
	persist_emit_fn *emit;
	void *ctx;
	struct pc_map seen;   /* names emitted so far (a set) */
	int stopped;          /* emit asked to stop */
};

/* The collection a directory entry is the file of: its name without
   ".jsonl" in name_r, or 0 when it is not such a file (hidden names, other
   suffixes, names no collection can have). */
static int fs_names_collection(const char *file, char name_r[PERSIST_COLLECTION_MAX + 1])
{
	size_t len = strlen(file), suffix = strlen(FS_JOURNAL_SUFFIX);

	if (len <= suffix || strcmp(file + len - suffix, FS_JOURNAL_SUFFIX) != 0)
		return 0;
	len -= suffix;
	if (!pc_collection_valid(file, len))
		return 0;
	memcpy(name_r, file, len);
	name_r[len] = '\0';
	return 1;
}

/* The error of a directory that could not be read (errno e). */
static int fs_names_error(struct fs_names *names, enum fs_state_subdir which,
			  int e, struct persist_error *err)
{
	struct fs_state *st = names->st;

	if (e == ENOMEM)
		return st->host->error(err, PERSIST_ENOMEM, e,
				       "out of memory listing the collections of \"%s\"",
				       st->opts.root);
	return st->host->error(err, PERSIST_EIO, e,
			       "cannot list the collections in \"%s/%s\": %s\nThe directory could not be read.",
			       st->opts.root,
			       which == FS_DIR_KV ? FS_KV_DIR : FS_LOG_DIR,
			       strerror(e));
}

/* Emit each collection whose file in subdirectory which holds something
   and was not emitted yet. */
static int fs_names_dir(struct fs_names *names, enum fs_state_subdir which,
			struct persist_error *err)
{
	struct fs_state *st = names->st;
	char name[PERSIST_COLLECTION_MAX + 1];
	struct dirent *de;
	DIR *dir;
	int fd, e = 0;

	/* a descriptor of its own: readdir moves the offset of the one
	   fs_state_dir keeps for the other methods */
	fd = openat(st->root_fd, which == FS_DIR_KV ? FS_KV_DIR : FS_LOG_DIR,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? PERSIST_OK :
			fs_names_error(names, which, errno, err);
	dir = fdopendir(fd);
	if (dir == NULL) {
		e = errno;
		close(fd);
		return fs_names_error(names, which, e, err);
	}
	for (;;) {
		struct stat sb;
		struct persist_item item = { .size = sizeof(item), .key = name };
		int added;

		errno = 0;
		de = readdir(dir);
		if (de == NULL) {
			e = errno;
			break;
		}
		if (!fs_names_collection(de->d_name, name))
			continue;
		/* absent by now: dropped while listing */
		if (fstatat(dirfd(dir), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			e = errno;
			break;
		}
		if (!S_ISREG(sb.st_mode) || sb.st_size == 0)
			continue;
		added = pc_map_add(&names->seen, name, strlen(name), NULL);
		if (added < 0) {
			e = ENOMEM;
			break;
		}
		if (added == 0)
			continue;
		if (names->emit(names->ctx, &item) != 0) {
			names->stopped = 1;
			break;
		}
	}
	closedir(dir);
	return e != 0 ? fs_names_error(names, which, e, err) : PERSIST_OK;
}

/* collections(): every collection with a non-empty journal or log (see
   the top of this file). */
int fs_state_collections(void *store, persist_emit_fn *emit, void *ctx,
			 struct persist_error *err)
{
	struct fs_state *st = store;
	struct fs_names names = { .st = st, .emit = emit, .ctx = ctx };
	int ret;

	if (emit == NULL)
		return st->host->error(err, PERSIST_EINVAL, 0,
				       "state collections without a callback");
	ret = fs_names_dir(&names, FS_DIR_KV, err);
	if (ret == PERSIST_OK && !names.stopped)
		ret = fs_names_dir(&names, FS_DIR_LOG, err);
	pc_map_deinit(&names.seen);
	return ret;
}
