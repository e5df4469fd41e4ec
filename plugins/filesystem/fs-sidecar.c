/*
 * plugins/filesystem/fs-sidecar.c - TTLs of configuration documents.  The
 * document file stays plain JSON that an administrator can edit; its expiry
 * lives in a hidden sidecar beside it, ROOT/dir/.NAME.json.ttl:
 *
 *     {"3f2a...": 1767225600000}
 *
 * mapping the ETag of the document content to its wall-clock expiry in
 * milliseconds.  An expiry counts only while the document still has that
 * ETag: an edit by hand (new content) drops the TTL, and a crash between
 * writing the sidecar and renaming the document never gives the old
 * content the new TTL.  A set with a TTL writes the sidecar first (keeping
 * the old content's entry), then the document; a set without one removes
 * the sidecar after the document.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include "fs-private.h"

#define FS_SIDECAR_MAX 4096

/* "a/b" -> "a/.b.json.ttl". */
int fs_sidecar_path(const char *key, char *buf, size_t size)
{
	const char *slash = strrchr(key, '/');
	int n;

	if (slash == NULL)
		n = snprintf(buf, size, ".%s%s.ttl", key, FS_DOC_SUFFIX);
	else
		n = snprintf(buf, size, "%.*s/.%s%s.ttl", (int)(slash - key),
			     key, slash + 1, FS_DOC_SUFFIX);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Expiry that key's sidecar gives the content with ETag etag (0: none;
   an unreadable sidecar counts as none). */
int64_t fs_sidecar_expiry(int rootfd, const char *key, const char *etag)
{
	char path[PERSIST_KEY_MAX + 32], text[FS_SIDECAR_MAX + 1], why[128];
	struct json_object *obj = NULL, *val;
	int64_t exp = 0;
	ssize_t n;
	int fd;

	if (fs_sidecar_path(key, path, sizeof(path)) < 0)
		return 0;
	fd = fs_open_beneath(rootfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
	if (fd < 0)
		return 0;
	n = fs_pread_full(fd, text, FS_SIDECAR_MAX, 0);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	if (fs_json_parse(text, (size_t)n, 0, &obj, why, sizeof(why)) < 0)
		return 0;
	if (json_object_is_type(obj, json_type_object) &&
	    json_object_object_get_ex(obj, etag, &val) &&
	    json_object_is_type(val, json_type_int))
		exp = json_object_get_int64(val);
	json_object_put(obj);
	return exp > 0 ? exp : 0;
}

/* Write dirfd's sidecar of doc_name atomically. */
int fs_sidecar_write(int dirfd, const char *doc_name, const char *etag,
		     int64_t expires_ms, const char *keep_etag,
		     int64_t keep_expires, enum fs_sync_mode mode)
{
	char name[FS_SEGMENT_MAX + 32];
	struct fs_buf buf;
	int ret;

	snprintf(name, sizeof(name), ".%s.ttl", doc_name);
	fs_buf_init(&buf);
	fs_buf_addc(&buf, '{');
	fs_json_add_string(&buf, etag, strlen(etag));
	fs_buf_addc(&buf, ':');
	fs_buf_add_i64(&buf, expires_ms);
	if (keep_etag != NULL && strcmp(keep_etag, etag) != 0) {
		fs_buf_addc(&buf, ',');
		fs_json_add_string(&buf, keep_etag, strlen(keep_etag));
		fs_buf_addc(&buf, ':');
		fs_buf_add_i64(&buf, keep_expires);
	}
	fs_buf_adds(&buf, "}\n");
	ret = buf.failed ? ENOMEM
			 : fs_replace_file(dirfd, name, buf.data, buf.len, mode);
	fs_buf_free(&buf);
	return ret;
}

/* Remove dirfd's sidecar of doc_name; a missing one is not an error. */
int fs_sidecar_remove(int dirfd, const char *doc_name, enum fs_sync_mode mode)
{
	char name[FS_SEGMENT_MAX + 32];

	snprintf(name, sizeof(name), ".%s.ttl", doc_name);
	if (unlinkat(dirfd, name, 0) < 0)
		return errno == ENOENT ? 0 : errno;
	return fs_sync_dir(dirfd, mode);
}
