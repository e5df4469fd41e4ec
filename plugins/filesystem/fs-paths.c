/*
 * plugins/filesystem/fs-paths.c - from configuration keys to files, without
 * ever leaving the root.  A key "apps" is ROOT/apps.json, "a/b" is
 * ROOT/a/b.json.  Keys are refused (PERSIST_EINVAL naming the key) when they
 * are absolute, contain "..", "." or empty segments, a segment starting with
 * "." (hidden names are the provider's: temporaries, TTL sidecars, the lock
 * file), a backslash, a control character or invalid UTF-8, or a segment
 * longer than FS_SEGMENT_MAX.  Files are opened with openat2() and
 * RESOLVE_BENEATH, so a symlink inside the root is followed only while it
 * stays inside it; on kernels without openat2 the path is walked one
 * component at a time with O_NOFOLLOW (every symlink refused).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <persist/persist.h>
#include "fs-private.h"

/* Check a configuration key's syntax (see the top of this file). */
int fs_config_key_check(const struct persist_host *host, const char *key,
			struct persist_error *err)
{
	const char *why = NULL, *seg;
	size_t len;

	if (key == NULL || key[0] == '\0')
		return host->error(err, PERSIST_EINVAL, 0,
				   "invalid configuration key \"\"\nA key must not be empty.");
	len = strlen(key);
	if (len > PERSIST_KEY_MAX)
		return host->error(err, PERSIST_EINVAL, 0,
				   "invalid configuration key \"%.64s...\"\nA key is at most %d bytes.",
				   key, PERSIST_KEY_MAX);
	if (!pc_utf8_valid(key, len))
		why = "A key must be valid UTF-8.";
	else if (key[0] == '/')
		why = "A key must not be an absolute path.";
	else if (strchr(key, '\\') != NULL)
		why = "A key must not contain a backslash.";
	for (seg = key; why == NULL; ) {
		const char *end = strchr(seg, '/');
		size_t n = end != NULL ? (size_t)(end - seg) : strlen(seg);

		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)seg[i];
			if (c < 0x20 || c == 0x7f)
				why = "A key must not contain control characters.";
		}
		if (why != NULL)
			break;
		if (n == 0)
			why = "A key must not have empty segments (\"//\" or a trailing \"/\").";
		else if (n == 2 && seg[0] == '.' && seg[1] == '.')
			why = "A key must not contain \"..\" segments.";
		else if (seg[0] == '.')
			why = "A key segment must not start with \".\".";
		else if (n > FS_SEGMENT_MAX)
			why = "A key segment is at most 245 bytes.";
		if (end == NULL)
			break;
		seg = end + 1;
	}
	if (why != NULL)
		return host->error(err, PERSIST_EINVAL, 0,
				   "invalid configuration key \"%s\"\n%s", key, why);
	return PERSIST_OK;
}

/* Check a state collection name: [A-Za-z0-9_.:-]{1,128}, no leading '.'. */
int fs_collection_check(const struct persist_host *host, const char *name,
			struct persist_error *err)
{
	if (name == NULL || name[0] == '\0')
		return host->error(err, PERSIST_EINVAL, 0,
				   "invalid collection name \"\"\nA collection name must not be empty.");
	if (pc_collection_valid(name, strlen(name)))
		return PERSIST_OK;
	return host->error(err, PERSIST_EINVAL, 0,
			   "invalid collection name \"%.200s\"\nA collection name is 1 to %d characters of [A-Za-z0-9_.:-] and does not start with \".\".",
			   name, PERSIST_COLLECTION_MAX);
}

/* Check a state key: the key rule of the plugin support library
   (non-empty UTF-8 without control characters, at most PERSIST_KEY_MAX
   bytes). */
int fs_state_key_check(const struct persist_host *host, const char *key,
		       struct persist_error *err)
{
	enum pc_key_problem problem = pc_key_check(key, PERSIST_KEY_MAX, NULL, NULL);

	switch (problem) {
	case PC_KEY_OK:
		return PERSIST_OK;
	case PC_KEY_NULL:
	case PC_KEY_EMPTY:
		return host->error(err, PERSIST_EINVAL, 0,
				   "invalid key \"\"\nA key must not be empty.");
	case PC_KEY_TOO_LONG:
		return host->error(err, PERSIST_EINVAL, 0,
				   "invalid key \"%.64s...\"\nA key is at most %d bytes.",
				   key, PERSIST_KEY_MAX);
	case PC_KEY_NOT_UTF8:   /* not quoted: the terminal could not show it */
		return host->error(err, PERSIST_EINVAL, 0, "invalid key\n%s",
				   pc_key_problem_text(problem));
	default:
		return host->error(err, PERSIST_EINVAL, 0, "invalid key \"%s\"\n%s",
				   key, pc_key_problem_text(problem));
	}
}

/* Fallback for kernels without openat2: walk the components with
   O_NOFOLLOW, so any symlink on the way is refused (ELOOP/ENOTDIR). */
static int fs_open_walk(int rootfd, const char *relpath, int flags, mode_t mode)
{
	char comp[NAME_MAX + 1];
	int dirfd = rootfd;

	for (;;) {
		const char *slash = strchr(relpath, '/');
		size_t n = slash != NULL ? (size_t)(slash - relpath) : strlen(relpath);
		int fd, saved;

		if (n > NAME_MAX) {
			errno = ENAMETOOLONG;
			fd = -1;
		} else {
			memcpy(comp, relpath, n);
			comp[n] = '\0';
			if (slash == NULL)
				fd = openat(dirfd, comp, flags | O_NOFOLLOW, mode);
			else
				fd = openat(dirfd, comp,
					    O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
						    O_CLOEXEC);
			if (fd < 0 && (errno == ENOTDIR || errno == ELOOP)) {
				/* a symlink on the way: refused (ELOOP), while
				   a plain file stays "not a directory" */
				struct stat sb;
				if (fstatat(dirfd, comp, &sb, AT_SYMLINK_NOFOLLOW) == 0)
					errno = S_ISLNK(sb.st_mode) ? ELOOP : ENOTDIR;
			}
		}
		saved = errno;
		if (dirfd != rootfd)
			close(dirfd);
		errno = saved;
		if (fd < 0 || slash == NULL)
			return fd;
		dirfd = fd;
		relpath = slash + 1;
	}
}

/* Open relpath beneath rootfd (see the top of this file). */
int fs_open_beneath(int rootfd, const char *relpath, int flags, mode_t mode)
{
#ifdef SYS_openat2
	static int no_openat2;
	struct open_how how;
	long fd;

	if (!__atomic_load_n(&no_openat2, __ATOMIC_RELAXED)) {
		memset(&how, 0, sizeof(how));
		how.flags = (uint64_t)(flags | O_CLOEXEC);
		how.mode = (flags & O_CREAT) ? mode : 0;
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
		do {
			fd = syscall(SYS_openat2, rootfd, relpath, &how,
				     sizeof(how));
		} while (fd < 0 && (errno == EINTR || errno == EAGAIN));
		if (fd >= 0 || errno != ENOSYS)
			return (int)fd;
		__atomic_store_n(&no_openat2, 1, __ATOMIC_RELAXED);
	}
#endif
	return fs_open_walk(rootfd, relpath, flags | O_CLOEXEC, mode);
}

/* Open the directory that holds key's document, creating the missing
   directories when create; the document's file name to name_r. */
int fs_key_dir_open(int rootfd, const char *key, int create, int *dirfd_r,
		    char name_r[FS_SEGMENT_MAX + 16])
{
	const char *slash = strrchr(key, '/');
	char dir[PERSIST_KEY_MAX + 1];
	size_t dlen;
	int fd;

	if (slash == NULL) {
		fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return errno;
		strcpy(name_r, key);
		strcat(name_r, FS_DOC_SUFFIX);
		*dirfd_r = fd;
		return 0;
	}
	dlen = (size_t)(slash - key);
	memcpy(dir, key, dlen);
	dir[dlen] = '\0';
	strcpy(name_r, slash + 1);
	strcat(name_r, FS_DOC_SUFFIX);

	fd = fs_open_beneath(rootfd, dir, O_RDONLY | O_DIRECTORY, 0);
	if (fd >= 0 || errno != ENOENT || !create) {
		if (fd < 0)
			return errno;
		*dirfd_r = fd;
		return 0;
	}
	/* mkdir -p, one level at a time, each level checked beneath root. */
	for (size_t i = 0; i <= dlen; i++) {
		if (dir[i] != '/' && dir[i] != '\0')
			continue;
		dir[i] = '\0';
		fd = fs_open_beneath(rootfd, dir, O_RDONLY | O_DIRECTORY, 0);
		if (fd < 0 && errno == ENOENT) {
			const char *base = strrchr(dir, '/');
			int parent;

			if (base == NULL) {
				parent = rootfd;
				base = dir;
			} else {
				char *cut = (char *)base;
				*cut = '\0';
				parent = fs_open_beneath(rootfd, dir,
							 O_RDONLY | O_DIRECTORY, 0);
				*cut = '/';
				if (parent < 0)
					return errno;
				base++;
			}
			if (mkdirat(parent, base, 0777) < 0 && errno != EEXIST) {
				int saved = errno;
				if (parent != rootfd)
					close(parent);
				return saved;
			}
			if (parent != rootfd)
				close(parent);
			fd = fs_open_beneath(rootfd, dir, O_RDONLY | O_DIRECTORY, 0);
		}
		if (fd < 0)
			return errno;
		if (i == dlen) {
			*dirfd_r = fd;
			return 0;
		}
		close(fd);
		dir[i] = '/';
	}
	return EINVAL;
}
