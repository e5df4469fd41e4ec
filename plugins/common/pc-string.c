/*
 * plugins/common/pc-string.c - copies of strings and byte buffers, the
 * small helpers every plugin needs when it keeps or returns a value.
 */
#include <stdlib.h>
#include <string.h>
#include "pc-common.h"

/* A malloc()ed copy of s. */
char *pc_strdup(const char *s)
{
	size_t len = strlen(s);
	char *copy = malloc(len + 1);

	if (copy != NULL)
		memcpy(copy, s, len + 1);
	return copy;
}

/* len bytes and a NUL, copied into memory from alloc. */
static void *pc_dup0_with(void *(*alloc)(size_t), const void *data, size_t len)
{
	char *copy;

	if (len == SIZE_MAX)
		return NULL;
	copy = alloc(len + 1);
	if (copy == NULL)
		return NULL;
	if (len > 0)
		memcpy(copy, data, len);
	copy[len] = '\0';
	return copy;
}

/* len bytes and a NUL in malloc()ed memory. */
void *pc_memdup0(const void *data, size_t len)
{
	return pc_dup0_with(malloc, data, len);
}

/* len bytes and a NUL in memory the core frees. */
void *pc_host_dup0(const struct persist_host *host, const void *data,
		   size_t len)
{
	return pc_dup0_with(host->alloc, data, len);
}
