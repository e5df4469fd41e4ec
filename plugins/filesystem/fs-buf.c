/*
 * plugins/filesystem/fs-buf.c - a growable byte buffer, used to build
 * journal lines, log lines and documents before one write().  Allocation
 * failure is sticky (buf->failed) so callers check once at the end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fs-private.h"

/* Start an empty buffer. */
void fs_buf_init(struct fs_buf *buf)
{
	memset(buf, 0, sizeof(*buf));
}

/* Release the buffer's memory. */
void fs_buf_free(struct fs_buf *buf)
{
	free(buf->data);
	fs_buf_init(buf);
}

/* Empty the buffer, keeping its memory. */
void fs_buf_reset(struct fs_buf *buf)
{
	buf->len = 0;
	buf->failed = 0;
}

/* Make room for extra more bytes plus a NUL; -1 (and failed) on ENOMEM. */
int fs_buf_reserve(struct fs_buf *buf, size_t extra)
{
	size_t need, cap;
	char *p;

	if (buf->failed)
		return -1;
	if (extra > SIZE_MAX - buf->len - 1) {
		buf->failed = 1;
		return -1;
	}
	need = buf->len + extra + 1;
	if (need <= buf->cap)
		return 0;
	cap = buf->cap ? buf->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(buf->data, cap);
	if (p == NULL) {
		buf->failed = 1;
		return -1;
	}
	buf->data = p;
	buf->cap = cap;
	return 0;
}

/* Append bytes (kept NUL-terminated). */
void fs_buf_add(struct fs_buf *buf, const void *data, size_t len)
{
	if (fs_buf_reserve(buf, len) < 0)
		return;
	if (len > 0)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
}

/* Append a C string. */
void fs_buf_adds(struct fs_buf *buf, const char *s)
{
	fs_buf_add(buf, s, strlen(s));
}

/* Append one character. */
void fs_buf_addc(struct fs_buf *buf, char c)
{
	fs_buf_add(buf, &c, 1);
}

/* Append a signed decimal integer. */
void fs_buf_add_i64(struct fs_buf *buf, int64_t value)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%" PRId64, value);

	fs_buf_add(buf, tmp, (size_t)n);
}
