/*
 * plugins/filesystem/fs-fsync.c - durability: complete writes, fsync by the
 * configured mode, and the atomic replacement of a file (temporary file in
 * the same directory, fsync, rename, fsync of the directory) that every
 * document write and journal compaction uses.
 *
 * The "fsync" setting:
 *   always  every acknowledged write has been fdatasync'ed;
 *   batch   (default) every acknowledged write has reached the kernel with
 *           one write(), so it survives the process being killed; batch()
 *           and flush() fdatasync what they cover (group commit), as do
 *           document writes and compactions;
 *   never   no fsync at all (tests, tmpfs, throw-away data).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fs-private.h"

/* Write all of data, retrying short writes and EINTR. */
int fs_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0)
			return EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read up to len bytes at offset; fewer only at end of file. */
ssize_t fs_pread_full(int fd, void *data, size_t len, off_t offset)
{
	char *p = data;
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, p + got, len - got, offset + (off_t)got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* fdatasync a file unless the mode is never. */
int fs_sync_data(int fd, enum fs_sync_mode mode)
{
	if (mode == FS_SYNC_NEVER)
		return 0;
	while (fdatasync(fd) < 0) {
		if (errno != EINTR)
			return errno;
	}
	return 0;
}

/* fsync a directory (its entries) unless the mode is never. */
int fs_sync_dir(int dirfd, enum fs_sync_mode mode)
{
	if (mode == FS_SYNC_NEVER)
		return 0;
	while (fsync(dirfd) < 0) {
		if (errno == EINTR)
			continue;
		/* Some filesystems cannot fsync a directory; nothing to do. */
		if (errno == EINVAL || errno == EROFS)
			return 0;
		return errno;
	}
	return 0;
}

/* Create a new hidden temporary file in dirfd; fd or -1 (errno). */
static int fs_tmp_create(int dirfd, char name_r[64])
{
	static unsigned counter;
	for (int tries = 0; tries < 100; tries++) {
		unsigned n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
		int fd;

		snprintf(name_r, 64, ".persist-tmp.%ld.%u.%d", (long)getpid(),
			 n, tries);
		fd = openat(dirfd, name_r,
			    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			    0666);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

/* Atomically replace dirfd/name with data (see the top of this file).  The
   new file gets the old one's permission bits when there is an old one. */
int fs_replace_file(int dirfd, const char *name, const void *data, size_t len,
		    enum fs_sync_mode mode)
{
	char tmp[64];
	struct stat sb;
	int fd, ret;

	fd = fs_tmp_create(dirfd, tmp);
	if (fd < 0)
		return errno;
	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(sb.st_mode))
		(void)fchmod(fd, sb.st_mode & 07777);
	ret = fs_write_all(fd, data, len);
	if (ret == 0 && mode != FS_SYNC_NEVER) {
		while (fsync(fd) < 0) {
			if (errno != EINTR) {
				ret = errno;
				break;
			}
		}
	}
	if (close(fd) < 0 && ret == 0 && errno != EINTR)
		ret = errno;
	if (ret == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		ret = errno;
	if (ret != 0) {
		(void)unlinkat(dirfd, tmp, 0);
		return ret;
	}
	return fs_sync_dir(dirfd, mode);
}
