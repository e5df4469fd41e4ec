/*
 * plugins/filesystem/fs-lock.c - the cross-process locks.  Every writer of
 * a shared file holds an flock() on a separate lock file that is never
 * replaced (so a journal may be compacted by rename without losing the
 * lock).  flock() locks belong to an open file description, so two threads
 * sharing one descriptor do not exclude each other: callers also hold the
 * object's mutex.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include "fs-private.h"

/* flock(fd, op), retried when a signal interrupts the wait. */
int fs_flock(int fd, int op)
{
	while (flock(fd, op) < 0) {
		if (errno != EINTR)
			return errno;
	}
	return 0;
}

/* Open or create the lock file name in dirfd (close-on-exec). */
int fs_lockfile_open(int dirfd, const char *name, int *fd_r)
{
	int fd = openat(dirfd, name,
			O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
			0666);

	if (fd < 0)
		return errno;
	*fd_r = fd;
	return 0;
}
