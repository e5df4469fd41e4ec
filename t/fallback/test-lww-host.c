/*
 * t/fallback/test-lww-host.c - the steps of the last-writer-wins outage
 * tests (test-lww-redis.sh, test-lww-postgres.sh), each run as its own
 * process: hosts on different machines, each with its own fallback and
 * journal, writing the same keys while the server is down for some of
 * them and not for others.
 *
 *   test-lww-host before BACKEND
 *       With the primary alone: set "k2", "k3" and "k4" to "B0".
 *   test-lww-host journal BACKEND SITE VALUE KEYS
 *       With SITE's fallback and journal, the server being down: wait
 *       until the handle has noticed, then make the writes KEYS names, a
 *       comma-separated list of "k" (set k to VALUE) and "-k" (delete k),
 *       in that order; each must be journaled.  Then stop without closing,
 *       as a host killed during the outage: the journal is replayed by the
 *       next process that opens SITE.
 *   test-lww-host after BACKEND
 *       With the primary alone: set "k1" and "k4" to "B".
 *   test-lww-host replay BACKEND SITE
 *       Open SITE again, the server being up: wait until its journal was
 *       replayed and the primary serves; print how many writes went.
 *   test-lww-host check BACKEND KEY=VALUE|KEY=-...
 *       With the primary alone: each key holds the value given, or is
 *       absent ("-").  Prints every key; exits 1 on any difference.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <persist/persist.h>
#include "outage-open.h"

#define COLL "lww"

static const char *step = "";

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void log_cb(void *ctx, enum persist_log_level level, const char *message)
{
	(void)ctx;
	fprintf(stderr, "[%s] %s: %s\n", step,
		level >= PERSIST_LOG_ERROR ? "error" : "warning", message);
}

/* The handle's provider status; 0 on failure (printed). */
static int status(persist *p, struct persist_provider_status *st)
{
	struct persist_error err;

	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	if (persist_provider_status(p, PERSIST_KIND_STATE, st, &err) != PERSIST_OK) {
		printf("%s: no provider status: %s\n", step, err.msg);
		return 0;
	}
	return 1;
}

/* Wait (up to 30 s) until the mode is want, and with nothing pending when
   want is the primary. */
static int wait_mode(persist *p, enum persist_provider_mode want,
		     struct persist_provider_status *st)
{
	for (int i = 0; i < 3000; i++) {
		if (!status(p, st))
			return 0;
		if (st->mode == want && (want != PERSIST_MODE_PRIMARY || st->pending == 0))
			return 1;
		sleep_ms(10);
	}
	printf("%s: still %s with %" PRIu64 " writes pending after 30 s, waiting for %s\n",
	       step, persist_provider_mode_name(st->mode), st->pending,
	       persist_provider_mode_name(want));
	return 0;
}

/* A handle on backend (site NULL: the primary alone); NULL, said, when
   it cannot be opened. */
static persist *open_step(const char *backend, const char *site)
{
	struct persist_error err;
	persist *p;

	if (outage_open(backend, site, log_cb, &p, &err) != PERSIST_OK) {
		printf("%s: cannot open: %s\n", step, err.msg);
		return NULL;
	}
	return p;
}

/* Set each key of keys[] to value on the primary alone. */
static int direct_sets(const char *backend, const char *const *keys, const char *value)
{
	struct persist_error err;
	persist *p = open_step(backend, NULL);
	int failed = 0;

	if (p == NULL)
		return 1;
	for (; *keys != NULL; keys++) {
		if (persist_state_set(p, COLL, *keys, value, strlen(value), 0, &err) != PERSIST_OK) {
			printf("%s: set of %s: %s\n", step, *keys, err.msg);
			failed = 1;
		}
	}
	if (persist_close(p, &err) != PERSIST_OK)
		failed = 1;
	printf("%s: done\n", step);
	return failed;
}

/* The journal step: the writes named in list, during the outage. */
static int journal(const char *backend, const char *site, const char *value,
		   const char *list)
{
	struct persist_provider_status st;
	struct persist_error err;
	char *copy = strdup(list), *save = NULL;
	uint64_t n = 0;
	persist *p = copy != NULL ? open_step(backend, site) : NULL;

	if (p == NULL)
		return 1;
	if (!wait_mode(p, PERSIST_MODE_FALLBACK, &st))
		return 1;
	for (char *k = strtok_r(copy, ",", &save); k != NULL; k = strtok_r(NULL, ",", &save)) {
		int ret = k[0] == '-' ? persist_state_delete(p, COLL, k + 1, &err) :
			persist_state_set(p, COLL, k, value, strlen(value), 0, &err);

		/* a delete of a key the fallback never had is journaled all
		   the same: the primary may hold it */
		if (ret != PERSIST_OK && !(k[0] == '-' && ret == PERSIST_ENOTFOUND)) {
			printf("%s: %s of %s: %s: %s\n", step, k[0] == '-' ? "delete" : "set",
			       k[0] == '-' ? k + 1 : k, persist_strerror(ret), err.msg);
			return 1;
		}
		n++;
	}
	if (!status(p, &st))
		return 1;
	printf("%s: %" PRIu64 " writes made, %" PRIu64 " journaled, mode %s\n", step, n,
	       st.journaled, persist_provider_mode_name(st.mode));
	fflush(stdout);
	if (st.journaled != n || st.mode != PERSIST_MODE_FALLBACK)
		return 1;
	_exit(0);   /* killed in the outage: the journal stays for the next open */
}

/* The replay step: open the site again and wait for its journal. */
static int replay(const char *backend, const char *site)
{
	struct persist_provider_status st;
	struct persist_error err;
	persist *p = open_step(backend, site);
	int ok;

	if (p == NULL)
		return 1;
	ok = wait_mode(p, PERSIST_MODE_PRIMARY, &st);
	printf("%s: mode %s, %" PRIu64 " journaled writes replayed, %" PRIu64 " dropped\n",
	       step, persist_provider_mode_name(st.mode), st.replayed, st.replay_dropped);
	if (persist_close(p, &err) != PERSIST_OK) {
		printf("%s: close: %s\n", step, err.msg);
		ok = 0;
	}
	return ok ? 0 : 1;
}

/* The check step: every KEY=VALUE (VALUE "-": absent) holds. */
static int check(const char *backend, int argc, char **argv)
{
	struct persist_error err;
	persist *p = open_step(backend, NULL);
	int failed = 0;

	if (p == NULL)
		return 1;
	for (int i = 0; i < argc; i++) {
		char key[64], *value = NULL;
		const char *want = strchr(argv[i], '=');
		int ret;

		if (want == NULL || (size_t)(want - argv[i]) >= sizeof(key)) {
			printf("%s: bad expectation \"%s\"\n", step, argv[i]);
			return 1;
		}
		snprintf(key, sizeof(key), "%.*s", (int)(want - argv[i]), argv[i]);
		want++;
		ret = persist_state_get(p, COLL, key, &value, NULL, &err);
		if (ret != PERSIST_OK && ret != PERSIST_ENOTFOUND) {
			printf("%s: get of %s: %s\n", step, key, err.msg);
			failed = 1;
		} else if (strcmp(want, "-") == 0 ? ret == PERSIST_OK :
			   ret != PERSIST_OK || strcmp(value, want) != 0) {
			printf("%s: %s: expected %s, got %s%s%s  <- WRONG\n", step, key,
			       strcmp(want, "-") == 0 ? "absent" : want,
			       ret == PERSIST_OK ? "\"" : "absent",
			       ret == PERSIST_OK ? value : "", ret == PERSIST_OK ? "\"" : "");
			failed = 1;
		} else {
			printf("%s: %s: %s, as expected\n", step, key,
			       ret == PERSIST_OK ? value : "absent");
		}
		persist_free(value);
	}
	if (persist_close(p, &err) != PERSIST_OK)
		failed = 1;
	return failed;
}

int main(int argc, char **argv)
{
	static const char *const before_keys[] = { "k2", "k3", "k4", NULL };
	static const char *const after_keys[] = { "k1", "k4", NULL };

	if (argc < 3 || getenv("PERSIST_TEST_TMP") == NULL) {
		fprintf(stderr, "usage: test-lww-host before|journal|after|replay|check BACKEND ...\n"
			"(run by the test scripts, with PERSIST_TEST_TMP set)\n");
		return 2;
	}
	step = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(step, "before") == 0)
		return direct_sets(argv[2], before_keys, "B0");
	if (strcmp(step, "after") == 0)
		return direct_sets(argv[2], after_keys, "B");
	if (strcmp(step, "journal") == 0 && argc == 6)
		return journal(argv[2], argv[3], argv[4], argv[5]);
	if (strcmp(step, "replay") == 0 && argc == 4)
		return replay(argv[2], argv[3]);
	if (strcmp(step, "check") == 0)
		return check(argv[2], argc - 3, argv + 3);
	fprintf(stderr, "test-lww-host: unknown step or wrong arguments: %s\n", step);
	return 2;
}
