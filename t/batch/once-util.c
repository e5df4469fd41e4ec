/*
 * t/batch/once-util.c - the shared part of the exactly-once fault tests
 * (see once-util.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "once-util.h"

/* Print warnings the core logs (a failed flush says why). */
static void log_cb(void *ctx, enum persist_log_level level, const char *msg)
{
	(void)ctx;
	(void)level;
	fprintf(stderr, "  log: %s\n", msg);
}

persist *ou_open(const char *state_json)
{
	struct persist_options opts;
	struct persist_error err;
	char json[4096];
	persist *p = NULL;

	snprintf(json, sizeof(json),
		 "{\"persistence\":{\"configuration\":{\"provider\":\"memory\"},"
		 "\"state\":%s,\"sessions\":{\"provider\":\"memory\"}}}", state_json);
	memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.log = log_cb;
	opts.log_level = PERSIST_LOG_WARNING;
	if (persist_open_json(json, &opts, &p, &err) != PERSIST_OK) {
		fprintf(stderr, "cannot open the handle: %s\n", err.msg);
		exit(1);
	}
	return p;
}

void ou_queue(persist *p, const char *coll, int i)
{
	struct persist_error err;
	char rec[32];
	int len = snprintf(rec, sizeof(rec), "{\"i\":%d}", i);

	if (persist_state_add(p, coll, "n", 1, &err) != PERSIST_OK ||
	    persist_state_append(p, coll, rec, (size_t)len, &err) != PERSIST_OK) {
		fprintf(stderr, "round %d: cannot queue: %s\n", i, err.msg);
		exit(1);
	}
}

void ou_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

int ou_flush_settle(persist *p)
{
	struct persist_error err;
	int fails = 0;

	while (persist_state_flush(p, &err) != PERSIST_OK) {
		if (++fails > 50) {
			fprintf(stderr, "flush still failing: %s\n", err.msg);
			exit(1);
		}
		ou_sleep_ms(100);
	}
	return fails;
}

int ou_verify(persist *p, const char *coll, int rounds)
{
	struct persist_entry *e = NULL;
	struct persist_error err;
	char *data = NULL, want[32];
	size_t n = 0, len = 0;
	int bad = 0, *seen = calloc((size_t)rounds, sizeof(int));

	if (seen == NULL)
		return 1;
	if (persist_state_get(p, coll, "n", &data, &len, &err) != PERSIST_OK) {
		fprintf(stderr, "counter: %s\n", err.msg);
		bad = 1;
	} else if (strtoll(data, NULL, 10) != rounds) {
		fprintf(stderr, "counter: expected %d (one per round), got %s\n", rounds, data);
		bad = 1;
	}
	persist_free(data);
	if (persist_state_read_log(p, coll, 0, 0, &e, &n, NULL, &err) != PERSIST_OK) {
		fprintf(stderr, "log: %s\n", err.msg);
		free(seen);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		int r = -1;

		if (sscanf(e[i].value, "{\"i\":%d}", &r) != 1 || r < 0 || r >= rounds) {
			fprintf(stderr, "log: unexpected record \"%s\"\n", e[i].value);
			bad = 1;
			continue;
		}
		seen[r]++;
	}
	for (int r = 0; r < rounds; r++) {
		if (seen[r] != 1) {
			snprintf(want, sizeof(want), "{\"i\":%d}", r);
			fprintf(stderr, "log: record %s is there %d times (expected once)\n",
				want, seen[r]);
			bad = 1;
		}
	}
	persist_items_free(e, n);
	free(seen);
	return bad;
}

int ou_report(persist *p, const char *what, int want_uncertain)
{
	struct persist_batch_stats st;
	struct persist_error err;

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	if (persist_state_stats(p, &st, &err) != PERSIST_OK) {
		fprintf(stderr, "stats: %s\n", err.msg);
		return 1;
	}
	printf("%s: flushes %" PRIu64 ", failed attempts %" PRIu64 "; batches uncertain %"
	       PRIu64 ", settled by a retry %" PRIu64 " (applied before %" PRIu64
	       "), left unsettled %" PRIu64 "\n", what, st.flushes, st.flush_failures,
	       st.batches_uncertain, st.uncertain_settled, st.uncertain_landed,
	       st.uncertain_left);
	if (!st.exactly_once) {
		fprintf(stderr, "%s: the provider has no batch_once\n", what);
		return 1;
	}
	if (st.batches_uncertain < (uint64_t)want_uncertain || st.uncertain_left != 0 ||
	    st.uncertain_settled != st.batches_uncertain || st.uncertain_landed == 0) {
		fprintf(stderr, "%s: expected at least %d uncertain batches, all settled "
			"(some found applied before), none left\n", what, want_uncertain);
		return 1;
	}
	return 0;
}

int ou_quick(void)
{
	const char *q = getenv("PERSIST_TEST_QUICK");

	return q != NULL && *q != '\0' && strcmp(q, "0") != 0;
}
