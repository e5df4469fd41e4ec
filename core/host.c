/*
 * core/host.c - struct persist_host: the table of core services every
 * plugin gets at init (logging, errors, memory, clocks, ETags, and the two
 * event entry points), so that plugins never link against libpersist.
 *
 * The event entry points receive the sink (the core's per-store object)
 * that open() was given and route the event to the handle that owns it.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "persist-handle.h"
#include "cache.h"
#include "notify.h"
#include "config-lkg.h"

/* Wall-clock milliseconds since the epoch.  The coarse clock (one
   scheduler tick, a few ms) is precise enough for TTLs and costs a tenth of
   CLOCK_REALTIME on virtual machines, where every TTL check pays for it. */
int64_t persist_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic microseconds at tick resolution: for freshness checks on hot
   paths (the configuration cache), never for measuring latency. */
int64_t persist_monotonic_coarse_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Monotonic microseconds. */
int64_t persist_monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Format and hand one message to a log callback (dropped when there is
   none or the level is below min). */
static void log_v(persist_log_cb *cb, void *ctx, enum persist_log_level min,
		  enum persist_log_level level, const char *prefix,
		  const char *fmt, va_list args)
{
	char msg[1024];
	int n = 0;

	if (cb == NULL || level < min)
		return;
	if (prefix != NULL)
		n = snprintf(msg, sizeof(msg), "%s: ", prefix);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, args);
	cb(ctx, level, msg);
}

/* Log from the core. */
void persist_log(struct persist *p, enum persist_log_level level,
		 const char *fmt, ...)
{
	va_list args;

	if (p == NULL)
		return;
	va_start(args, fmt);
	log_v(p->log, p->log_ctx, p->log_level, level, NULL, fmt, args);
	va_end(args);
}

/* Log from the loader, which has no handle (loader.h). */
void persist_logger_log(const struct persist_logger *lg,
			enum persist_log_level level, const char *fmt, ...)
{
	va_list args;

	if (lg == NULL)
		return;
	va_start(args, fmt);
	log_v(lg->log, lg->ctx, lg->level, level, NULL, fmt, args);
	va_end(args);
}

/* host->log: a plugin's message, prefixed with its provider name. */
static void host_log(struct persist_sink *sink, enum persist_log_level level,
		     const char *fmt, ...)
{
	va_list args;

	if (sink == NULL || sink->handle == NULL)
		return;
	va_start(args, fmt);
	log_v(sink->handle->log, sink->handle->log_ctx, sink->handle->log_level,
	      level, sink->provider, fmt, args);
	va_end(args);
}

static void *host_alloc(size_t size)
{
	return malloc(size == 0 ? 1 : size);
}

static void host_free(void *ptr)
{
	free(ptr);
}

/* host->config_changed: drop the cached document at once, then queue the
   notification for subscribers. */
static void host_config_changed(struct persist_sink *sink, const char *key,
				const char *etag)
{
	struct persist *p;

	if (sink == NULL || sink->handle == NULL ||
	    sink->kind != PERSIST_KIND_CONFIG)
		return;
	p = sink->handle;
	if (p->cache != NULL)
		persist_cache_invalidate(p->cache, key);
	if (key != NULL && etag == NULL)   /* deleted elsewhere: not last-known-good */
		persist_lkg_forget(p, key);
	if (p->notifier != NULL)
		persist_notifier_config_changed(p->notifier, key, etag);
}

/* host->session_event: queue the event for subscribers. */
static void host_session_event(struct persist_sink *sink,
			       const struct persist_event *event)
{
	if (sink == NULL || sink->handle == NULL || event == NULL ||
	    sink->kind != PERSIST_KIND_SESSION)
		return;
	if (sink->handle->notifier != NULL)
		persist_notifier_session_event(sink->handle->notifier, event);
}

static const struct persist_host host_table = {
	.size = sizeof(struct persist_host),
	.abi_major = PERSIST_ABI_MAJOR,
	.abi_minor = PERSIST_ABI_MINOR,
	.core_version = PERSIST_VERSION,
	.log = host_log,
	.error = persist_error_set,
	.alloc = host_alloc,
	.free = host_free,
	.now_ms = persist_now_ms,
	.monotonic_us = persist_monotonic_us,
	.etag = persist_etag,
	.config_changed = host_config_changed,
	.session_event = host_session_event,
	.strerror = persist_strerror,
	.verror = persist_error_setv,   /* since 1.1 */
};

/* Every kind's ops table starts with struct persist_ops_header: the core
   reads size, caps, open, close and health of any table through it. */
#define HEADER_MATCHES(type, field) \
	(offsetof(type, field) == offsetof(struct persist_ops_header, field))
#define HEADER_OF(type, first_method) \
	(HEADER_MATCHES(type, size) && HEADER_MATCHES(type, caps) && \
	 HEADER_MATCHES(type, open) && HEADER_MATCHES(type, close) && \
	 HEADER_MATCHES(type, health) && \
	 offsetof(type, first_method) >= sizeof(struct persist_ops_header))
_Static_assert(HEADER_OF(struct persist_config_ops, get), "config ops header");
_Static_assert(HEADER_OF(struct persist_state_ops, get), "state ops header");
_Static_assert(HEADER_OF(struct persist_session_ops, put), "session ops header");

/* The host table handed to every plugin's init. */
const struct persist_host *persist_host_table(void)
{
	return &host_table;
}
