/*
 * plugins/redis/redis-req.c - building a request: one or more Redis
 * commands, each an argv array of binary-safe strings, sent as one
 * pipeline by redis_exec() (redis-conn.c).
 *
 * Arguments either borrow the caller's bytes (values handed to a method,
 * valid until it returns) or are copied into the request's arena (keys
 * and numbers composed here).  Small requests - the common case - live
 * entirely inside struct redis_req, so a single HINCRBY costs no
 * allocation.  An allocation failure is remembered (req->oom) and
 * reported once by redis_exec, which keeps the builders free of error
 * handling.
 */
#include "redis-private.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One overflow block of the arena. */
struct redis_req_block {
	struct redis_req_block *next;
	char data[];
};

/* Start an empty request; what_fmt says what it does (for messages). */
void redis_req_init(struct redis_req *req, const char *what_fmt, ...)
{
	va_list ap;

	req->argv = req->argv_inline;
	req->lens = req->lens_inline;
	req->nargs = 0;
	req->cap_args = REDIS_REQ_INLINE_ARGS;
	req->cmd_first = req->cmd_inline;
	req->ncmds = 0;
	req->cap_cmds = REDIS_REQ_INLINE_CMDS;
	req->oom = false;
	req->arena_used = 0;
	req->blocks = NULL;
	va_start(ap, what_fmt);
	vsnprintf(req->what, sizeof(req->what), what_fmt, ap);
	va_end(ap);
}

/* Release what the request allocated (not the borrowed arguments). */
void redis_req_free(struct redis_req *req)
{
	struct redis_req_block *b, *next;

	if (req->argv != req->argv_inline)
		free((void *)req->argv);
	if (req->lens != req->lens_inline)
		free(req->lens);
	if (req->cmd_first != req->cmd_inline)
		free(req->cmd_first);
	for (b = req->blocks; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	req->blocks = NULL;
	req->argv = req->argv_inline;
	req->lens = req->lens_inline;
	req->cmd_first = req->cmd_inline;
	req->nargs = req->ncmds = 0;
}

/* Make room for at least cap arguments (the default: twice as many). */
static bool grow_args_to(struct redis_req *req, size_t cap)
{
	const char **argv;
	size_t *lens;

	argv = malloc(cap * sizeof(*argv));
	lens = malloc(cap * sizeof(*lens));
	if (argv == NULL || lens == NULL) {
		free((void *)argv);
		free(lens);
		req->oom = true;
		return false;
	}
	memcpy((void *)argv, req->argv, req->nargs * sizeof(*argv));
	memcpy(lens, req->lens, req->nargs * sizeof(*lens));
	if (req->argv != req->argv_inline)
		free((void *)req->argv);
	if (req->lens != req->lens_inline)
		free(req->lens);
	req->argv = argv;
	req->lens = lens;
	req->cap_args = cap;
	return true;
}

/* Make room for one more argument. */
static bool grow_args(struct redis_req *req)
{
	return grow_args_to(req, req->cap_args * 2);
}

/* Make room for cap commands in all (redis_req_cmd grows fourfold). */
static bool grow_cmds_to(struct redis_req *req, size_t cap)
{
	size_t *first = malloc(cap * sizeof(*first));

	if (first == NULL) {
		req->oom = true;
		return false;
	}
	memcpy(first, req->cmd_first, req->ncmds * sizeof(*first));
	if (req->cmd_first != req->cmd_inline)
		free(req->cmd_first);
	req->cmd_first = first;
	req->cap_cmds = cap;
	return true;
}

/* Make room for nargs arguments and ncmds commands in all (a batch knows
   its size; this saves growing step by step). */
void redis_req_reserve(struct redis_req *req, size_t nargs, size_t ncmds)
{
	if (!req->oom && req->cap_args < nargs)
		grow_args_to(req, nargs);
	if (!req->oom && req->cap_cmds < ncmds)
		grow_cmds_to(req, ncmds);
}

/* Room for len bytes and a NUL, in the arena or an overflow block; NULL
   on ENOMEM (remembered in req->oom). */
static char *arena_alloc(struct redis_req *req, size_t len)
{
	char *p;

	if (len < sizeof(req->arena) - req->arena_used) {
		p = req->arena + req->arena_used;
		req->arena_used += len + 1;
	} else {
		struct redis_req_block *b = malloc(sizeof(*b) + len + 1);

		if (b == NULL) {
			req->oom = true;
			return NULL;
		}
		b->next = req->blocks;
		req->blocks = b;
		p = b->data;
	}
	return p;
}

/* Copy bytes into the arena (NUL-terminated); NULL on ENOMEM. */
static char *arena_copy(struct redis_req *req, const void *data, size_t len)
{
	char *p = arena_alloc(req, len);

	if (p == NULL)
		return NULL;
	memcpy(p, data, len);
	p[len] = '\0';
	return p;
}

/* Borrowed argument. */
void redis_req_arg(struct redis_req *req, const void *data, size_t len)
{
	if (req->oom)
		return;
	if (req->nargs == req->cap_args && !grow_args(req))
		return;
	req->argv[req->nargs] = len == 0 ? "" : data;
	req->lens[req->nargs] = len;
	req->nargs++;
}

/* Borrowed C string argument. */
void redis_req_str(struct redis_req *req, const char *s)
{
	redis_req_arg(req, s, strlen(s));
}

/* Start a new command named name. */
void redis_req_cmd(struct redis_req *req, const char *name)
{
	if (req->oom)
		return;
	if (req->ncmds == req->cap_cmds && !grow_cmds_to(req, req->cap_cmds * 4))
		return;
	req->cmd_first[req->ncmds++] = req->nargs;
	redis_req_str(req, name);
}

/* Copied, printf-formatted argument. */
void redis_req_fmt(struct redis_req *req, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		req->oom = true; /* never happens with the formats used here */
		return;
	}
	{
		char *p = arena_copy(req, buf, (size_t)n);

		if (p != NULL)
			redis_req_arg(req, p, (size_t)n);
	}
}

/* Copied decimal integer argument (by hand: this is on the hot path of
   every increment, where printf would cost more than the rest). */
void redis_req_i64(struct redis_req *req, int64_t v)
{
	char tmp[24], *p;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	size_t i = 0, n;

	do {
		tmp[i++] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		tmp[i++] = '-';
	n = i;
	{
		char buf[24];

		for (size_t j = 0; j < n; j++)
			buf[j] = tmp[n - 1 - j];
		p = arena_copy(req, buf, n);
	}
	if (p != NULL)
		redis_req_arg(req, p, n);
}

/* Copied concatenation of C strings (list ends with NULL). */
void redis_req_cat(struct redis_req *req, ...)
{
	va_list ap;
	size_t len = 0;
	const char *s;
	char *p, *o;

	va_start(ap, req);
	while ((s = va_arg(ap, const char *)) != NULL)
		len += strlen(s);
	va_end(ap);
	if (req->oom)
		return;
	p = arena_alloc(req, len);
	if (p == NULL)
		return;
	o = p;
	va_start(ap, req);
	while ((s = va_arg(ap, const char *)) != NULL) {
		size_t n = strlen(s);

		memcpy(o, s, n);
		o += n;
	}
	va_end(ap);
	*o = '\0';
	redis_req_arg(req, p, len);
}

/* Copied key head + tail. */
void redis_req_key(struct redis_req *req, const char *head, const char *tail)
{
	redis_req_cat(req, head, tail, (const char *)NULL);
}

/* Number of arguments of command i. */
size_t redis_req_argc(const struct redis_req *req, size_t i)
{
	size_t end = i + 1 < req->ncmds ? req->cmd_first[i + 1] : req->nargs;

	return end - req->cmd_first[i];
}
