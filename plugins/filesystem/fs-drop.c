/*
 * plugins/filesystem/fs-drop.c - dropping a state collection: its key
 * journal ROOT/kv/<c>.jsonl and its log ROOT/logs/<c>.jsonl are removed.
 *
 * The drop takes the exclusive locks of the collection's journal and then
 * of its log (the order batches use), removes the files and fsyncs the
 * directories.  Another process that writes to the collection holds at
 * most an open descriptor of a removed file: every writer and reader
 * stats the path after taking the lock and compares it with the inode it
 * has open, so it notices, forgets what it replayed and starts a fresh
 * file (a write racing the drop lands before it and is removed with it,
 * or after it in the new collection).  The lock files stay: removing a
 * lock file someone waits on would let two processes hold "the" lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <persist/persist.h>
#include "fs-private.h"

/* Remove the key journal of a collection under its exclusive lock
   (kv->mu held); absent is fine. */
static int fs_kv_remove(struct fs_state *st, struct fs_kv *kv,
			struct persist_error *err)
{
	char name[PERSIST_COLLECTION_MAX + 16];
	int ret, dirfd, e = 0;

	ret = fs_state_flock(st, "kv", kv->name, 1, &kv->lock_fd, err);
	if (ret != PERSIST_OK)
		return ret;
	snprintf(name, sizeof(name), "%s%s", kv->name, FS_JOURNAL_SUFFIX);
	dirfd = fs_state_dir(st, FS_DIR_KV, 0);
	if (dirfd < 0 ? errno != ENOENT :
	    unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		e = errno;
	fs_kv_reset(kv);
	if (e == 0 && dirfd >= 0)
		(void)fs_sync_dir(dirfd, st->opts.sync);
	if (e == 0)   /* a marker must not name a later file of this inode */
		(void)fs_marker_clear(st, FS_DIR_KV, kv->name, kv->lock_fd);
	if (e != 0) {
		fs_kv_unlock(kv);
		return st->host->error(err, PERSIST_EIO, e,
				       "cannot remove journal \"%s/%s/%s\": %s",
				       st->opts.root, FS_KV_DIR, name, strerror(e));
	}
	return PERSIST_OK;
}

/* drop(): remove the collection's journal and log (see the top). */
int fs_state_drop(void *store, const char *collection,
		  struct persist_error *err)
{
	struct fs_state *st = store;
	struct fs_kv *kv;
	struct fs_log *log;
	int ret;

	ret = fs_collection_check(st->host, collection, err);
	if (ret == PERSIST_OK)
		ret = fs_state_kv(st, collection, &kv, err);
	if (ret == PERSIST_OK)
		ret = fs_state_log(st, collection, &log, err);
	if (ret != PERSIST_OK)
		return ret;
	pthread_mutex_lock(&kv->mu);
	ret = fs_kv_remove(st, kv, err);
	if (ret == PERSIST_OK) {
		pthread_mutex_lock(&log->mu);
		ret = fs_log_remove(st, log, err);
		pthread_mutex_unlock(&log->mu);
		fs_kv_unlock(kv);
	}
	pthread_mutex_unlock(&kv->mu);
	return ret;
}
