/*
 * plugins/redis/redis-test-raw.h - the redis tests' own connection to the
 * server, beside the provider's: raw() and raw_int() send a command on
 * raw_ctx (which the test's main connects) to look at the keys the
 * provider keeps or to change them behind its back.  Header only (static
 * functions) for the test programs of this folder; a lost server ends the
 * test with status 99.
 */
#ifndef PERSIST_REDIS_TEST_RAW_H
#define PERSIST_REDIS_TEST_RAW_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <hiredis/hiredis.h>

static redisContext *raw_ctx; /* for inspecting the server */

/* A command on the inspection connection. */
static redisReply *raw(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = redisvCommand(raw_ctx, fmt, ap);
	va_end(ap);
	if (r == NULL) {
		fprintf(stderr, "raw command failed: %s\n", raw_ctx->errstr);
		exit(99);
	}
	return r;
}

/* Integer result of a raw command (-999 when it is not one). */
static long long raw_int(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;
	long long v;

	va_start(ap, fmt);
	r = redisvCommand(raw_ctx, fmt, ap);
	va_end(ap);
	if (r == NULL)
		exit(99);
	v = r->type == REDIS_REPLY_INTEGER ? r->integer : -999;
	freeReplyObject(r);
	return v;
}

#endif
