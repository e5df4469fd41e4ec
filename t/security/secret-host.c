/*
 * t/security/secret-host.c - a small host for the secrets test: opens the
 * configuration file it is given with a log callback at debug level, calls
 * every kind once (configuration get, set and list; state get, set, incr,
 * append, flush and stats; session put and list; health of each kind) and
 * prints every log line and every error message to stdout.  The test
 * greps that output for the secrets the file holds.  The exit status is 0
 * whatever failed: failing is what it is for.
 */
#include <stdio.h>
#include <string.h>
#include <persist/persist.h>

/* Print one log line with its level. */
static void log_line(void *ctx, enum persist_log_level level, const char *message)
{
	(void)ctx;
	printf("log %d: %s\n", (int)level, message);
	fflush(stdout);
}

/* Print the error of a call that failed. */
static void report(const char *what, int ret, const struct persist_error *err)
{
	if (ret != PERSIST_OK)
		printf("%s: %s: %s\n", what, persist_strerror(ret), err->msg);
	else
		printf("%s: ok\n", what);
}

int main(int argc, char **argv)
{
	struct persist_options opts = {
		.size = sizeof(opts), .log = log_line,
		.log_level = PERSIST_LOG_DEBUG,
	};
	struct persist_batch_stats stats;
	struct persist_error err;
	struct persist_entry *items = NULL;
	char etag[PERSIST_ETAG_MAX], *doc = NULL;
	size_t n = 0, len = 0;
	int64_t v = 0, latency;
	persist *p = NULL;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: secret-host CONFIG-FILE\n");
		return 2;
	}
	ret = persist_open_file(argv[1], &opts, &p, &err);
	report("open", ret, &err);
	if (ret != PERSIST_OK)
		return 0;
	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		ret = persist_health(p, (enum persist_kind)k, &latency, &err);
		report("health", ret, &err);
	}
	ret = persist_config_get(p, "apps", &doc, &len, etag, &err);
	report("config get", ret, &err);
	persist_free(doc);
	ret = persist_config_set(p, "apps", "{}", 2, NULL, 0, etag, &err);
	report("config set", ret, &err);
	ret = persist_config_list(p, &items, &n, &err);
	report("config list", ret, &err);
	persist_items_free(items, n);
	ret = persist_state_get(p, "c", "k", &doc, &len, &err);
	report("state get", ret, &err);
	if (ret == PERSIST_OK)
		persist_free(doc);
	ret = persist_state_set(p, "c", "k", "v", 1, 0, &err);
	report("state set", ret, &err);
	ret = persist_state_incr(p, "c", "n", 1, &v, &err);
	report("state incr", ret, &err);
	ret = persist_state_append(p, "c", "{}", 2, &err);
	report("state append", ret, &err);
	ret = persist_state_flush(p, &err);
	report("state flush", ret, &err);
	ret = persist_state_stats(p, &stats, &err);
	report("state stats", ret, &err);
	ret = persist_session_put(p, "s1", "{}", 2, 0, &err);
	report("session put", ret, &err);
	items = NULL;
	n = 0;
	ret = persist_session_list(p, &items, &n, &err);
	report("session list", ret, &err);
	persist_items_free(items, n);
	ret = persist_close(p, &err);
	report("close", ret, &err);
	return 0;
}
