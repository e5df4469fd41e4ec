/*
 * plugins/postgres/test-pg-util.h - what the postgres tests share (header
 * only): opening a handle whose three kinds use the postgres provider
 * with a given config object, and a log callback that keeps every
 * message, so that tests can check that no secret ever appears in one.
 * The test scripts start the server and export PG_CONNINFO, PG_PORT and
 * PG_TEST_PASSWORD (t/lib/postgres-server.sh).
 */
#ifndef PERSIST_TEST_PG_UTIL_H
#define PERSIST_TEST_PG_UTIL_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <persist/persist.h>

/* Every log message of every handle, one per line. */
static char t_log_buf[1 << 16];
static size_t t_log_len;
static pthread_mutex_t t_log_lock = PTHREAD_MUTEX_INITIALIZER;

/* Log callback: keep the message. */
static inline void t_log(void *ctx, enum persist_log_level level, const char *msg)
{
	size_t len = strlen(msg);

	(void)ctx;
	(void)level;
	pthread_mutex_lock(&t_log_lock);
	if (t_log_len + len + 2 < sizeof(t_log_buf)) {
		memcpy(t_log_buf + t_log_len, msg, len);
		t_log_len += len;
		t_log_buf[t_log_len++] = '\n';
		t_log_buf[t_log_len] = '\0';
	}
	pthread_mutex_unlock(&t_log_lock);
}

/* True when s occurs in any log message so far. */
static inline int t_log_has(const char *s)
{
	int found;

	pthread_mutex_lock(&t_log_lock);
	found = strstr(t_log_buf, s) != NULL;
	pthread_mutex_unlock(&t_log_lock);
	return found;
}

/* An environment variable the test script must have set. */
static inline const char *t_env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || v[0] == '\0') {
		fprintf(stderr, "%s is not set: run through the test script\n", name);
		exit(99);
	}
	return v;
}

/* Open a handle with the postgres provider for every kind, config object
   `provider_json`; the status of persist_open_json. */
static inline int t_open(const char *provider_json, persist **p_r,
			 struct persist_error *err)
{
	struct persist_options opts;
	size_t size = 3 * strlen(provider_json) + 256;
	char *json = malloc(size);
	int ret;

	if (json == NULL)
		return PERSIST_ENOMEM;
	snprintf(json, size,
		 "{\"persistence\":{"
		 "\"configuration\":{\"provider\":\"postgres\",\"config\":%s},"
		 "\"state\":{\"provider\":\"postgres\",\"config\":%s},"
		 "\"sessions\":{\"provider\":\"postgres\",\"config\":%s}}}",
		 provider_json, provider_json, provider_json);
	memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.log = t_log;
	opts.log_level = PERSIST_LOG_DEBUG;
	*p_r = NULL;
	ret = persist_open_json(json, &opts, p_r, err);
	free(json);
	return ret;
}

/* The provider config object for conninfo (plus extra members, "" or
   ",\"key\":value...") in buf. */
static inline const char *t_provider(char *buf, size_t size, const char *conninfo,
				     const char *extra)
{
	snprintf(buf, size, "{\"conninfo\":\"%s\"%s}", conninfo, extra);
	return buf;
}

/* Open *p_r on $PG_CONNINFO with extra provider settings (see
   t_provider); 0, or 1 after printing why it failed (a suite's init). */
static inline int t_open_main(const char *extra, persist **p_r)
{
	struct persist_error err;
	char provider[1024];

	t_provider(provider, sizeof(provider), t_env("PG_CONNINFO"), extra);
	if (t_open(provider, p_r, &err) != PERSIST_OK) {
		fprintf(stderr, "cannot open: %s\n", err.msg);
		return 1;
	}
	return 0;
}

/* Monotonic milliseconds. */
static inline int64_t t_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep ms milliseconds. */
static inline void t_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

#endif
