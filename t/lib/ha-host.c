/*
 * t/lib/ha-host.c - a host process for the failover tests: it writes
 * continuously while the test script fails the backend over, and then
 * checks that nothing it was told was stored got lost or doubled.
 *
 *   ha-host ID PROVIDER CONFIG-JSON
 *
 * opens configuration and state on PROVIDER with the provider config
 * object CONFIG-JSON, subscribes to every configuration key, prints
 * "running" once its first write is acknowledged, and then, until the
 * file $PERSIST_TEST_TMP/ha-stop exists, in turn increments its counter
 * "n-ID" of collection "ha" by one and appends the record
 * {"h":"ID","i":N} (N = 0, 1, 2, ...) to the log of "ha", counting every
 * answer.  Then it reads back through its own handle (retrying for up to
 * 30 s) and checks:
 *   - acknowledged <= counter <= acknowledged + uncertain: an increment
 *     that answered "uncertain" may or may not have landed; one that
 *     answered "unavailable" or "timed out" must not have;
 *   - every acknowledged record is in the log exactly once, every
 *     uncertain one at most once, and no other of its records at all;
 *   - its configuration subscriber was told to re-read everything (the
 *     listening connection moved to the new server) and still hears a
 *     change made afterwards;
 *   - no log message and no error message holds $HA_SECRET (a password
 *     of the set-up), when set.
 * It prints the counts and the failover time it saw: from the first
 * failed call to the first call that reached a master again (answered
 * OK or "not confirmed by the replicas"), and to the first acknowledged
 * one (-1 when no call failed: the host made none while there was no
 * master, which is no failure; the subscriber's re-read shows the
 * failover happened).  Exit 0 when every check passed, 1 otherwise, 99 on bad usage.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <persist/persist.h>

#define MAX_RECORDS 400000

/* per record number: what the append answered */
enum { R_NONE, R_ACKED, R_UNCERTAIN, R_REFUSED };
static unsigned char rec_state[MAX_RECORDS];
static unsigned char rec_seen[MAX_RECORDS];

struct tally {
	unsigned long ok, unavail, timedout, uncertain, unreplicated, other;
};
static struct tally incr_t, append_t;
static char other_msg[PERSIST_ERROR_MSG_MAX];
static const char *secret;
static atomic_int secret_leaks;
static atomic_int rereads, changes_seen;
static char my_key[64];

/* Monotonic milliseconds. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Does s hold the secret? */
static void check_secret(const char *s)
{
	if (secret != NULL && secret[0] != '\0' && strstr(s, secret) != NULL)
		atomic_fetch_add(&secret_leaks, 1);
}

/* Log callback: only checked for the secret. */
static void on_log(void *ctx, enum persist_log_level level, const char *msg)
{
	(void)ctx;
	(void)level;
	check_secret(msg);
}

/* Configuration subscriber: count re-read notices and our key's
   changes. */
static void on_change(void *ctx, const char *key, const char *etag)
{
	(void)ctx;
	(void)etag;
	if (key == NULL)
		atomic_fetch_add(&rereads, 1);
	else if (strcmp(key, my_key) == 0)
		atomic_fetch_add(&changes_seen, 1);
}

/* Count one answer; true when it reached a master (OK, or applied but
   not confirmed by the replicas). */
static bool count(struct tally *t, int ret, const struct persist_error *err)
{
	if (ret != PERSIST_OK)
		check_secret(err->msg);
	switch (ret) {
	case PERSIST_OK: t->ok++; return true;
	case PERSIST_EUNAVAIL: t->unavail++; return false;
	case PERSIST_ETIMEDOUT: t->timedout++; return false;
	case PERSIST_EUNCERTAIN:
		t->uncertain++;
		if (strstr(err->msg, "not confirmed by the replicas") != NULL) {
			t->unreplicated++;
			return true;
		}
		return false;
	default:
		if (t->other++ == 0)
			snprintf(other_msg, sizeof(other_msg), "%s: %s",
				 persist_strerror(ret), err->msg);
		return false;
	}
}

/* Print a line about the host's progress, with the wall-clock time (to
   read beside the script's lines). */
static void say(const char *id, const char *what, const char *detail)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	printf("%02d:%02d:%02d.%03ld host %s: %s%s%s\n", tm.tm_hour, tm.tm_min,
	       tm.tm_sec, ts.tv_nsec / 1000000, id, what,
	       detail != NULL ? ": " : "", detail != NULL ? detail : "");
	fflush(stdout);
}

static bool stop_asked(const char *stop_file)
{
	struct stat sb;

	return stat(stop_file, &sb) == 0;
}

int main(int argc, char **argv)
{
	const char *id, *provider, *tmp = getenv("PERSIST_TEST_TMP");
	struct persist_options opts;
	struct persist_error err, err_a;
	persist *p = NULL;
	char *json, stop_file[4096], rec[128], *val = NULL;
	size_t jsize, n = 0, vlen;
	uint64_t sub_id, next = 0;
	struct persist_entry *records = NULL;
	int64_t outage_start = 0, reach_ms = -1, ack_ms = -1, deadline;
	int64_t counter = -1;
	uint32_t nrec = 0;
	unsigned long lost = 0, doubled = 0, ghost = 0, uncertain_stored = 0;
	int ret, failed = 0;
	bool printed_running = false, in_outage = false, reached = false;

	if (argc != 4 || tmp == NULL) {
		fprintf(stderr, "usage: ha-host ID PROVIDER CONFIG-JSON "
			"(with PERSIST_TEST_TMP set)\n");
		return 99;
	}
	id = argv[1];
	provider = argv[2];
	secret = getenv("HA_SECRET");
	snprintf(stop_file, sizeof(stop_file), "%s/ha-stop", tmp);
	snprintf(my_key, sizeof(my_key), "ha-%s", id);
	jsize = 2 * strlen(argv[3]) + 256;
	json = malloc(jsize);
	if (json == NULL)
		return 99;
	snprintf(json, jsize, "{\"persistence\":{"
		 "\"configuration\":{\"provider\":\"%s\",\"config\":%s},"
		 "\"state\":{\"provider\":\"%s\",\"config\":%s}}}",
		 provider, argv[3], provider, argv[3]);
	memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.log = on_log;
	opts.log_level = PERSIST_LOG_DEBUG;
	ret = persist_open_json(json, &opts, &p, &err);
	free(json);
	if (ret != PERSIST_OK) {
		printf("host %s: cannot open: %s\n", id, err.msg);
		return 1;
	}
	deadline = now_ms() + 30000;
	while ((ret = persist_config_subscribe(p, NULL, on_change, NULL, &sub_id,
					       &err)) != PERSIST_OK) {
		if (now_ms() > deadline) {
			printf("host %s: cannot subscribe: %s\n", id, err.msg);
			persist_close(p, &err);
			return 1;
		}
		sleep_ms(100);
	}

	while (!stop_asked(stop_file) && nrec < MAX_RECORDS) {
		bool ok_i, ok_a, reach;
		int ri, ra;
		int len;

		ri = persist_state_incr(p, "ha", my_key, 1, NULL, &err);
		reach = count(&incr_t, ri, &err);
		ok_i = ri == PERSIST_OK;
		len = snprintf(rec, sizeof(rec), "{\"h\":\"%s\",\"i\":%" PRIu32 "}",
			       id, nrec);
		ra = persist_state_append(p, "ha", rec, (size_t)len, &err_a);
		reach = count(&append_t, ra, &err_a) && reach;
		if (ri == PERSIST_OK)
			err = err_a;
		ok_a = ra == PERSIST_OK;
		rec_state[nrec++] = ok_a ? R_ACKED : ra == PERSIST_EUNCERTAIN ?
				    R_UNCERTAIN : R_REFUSED;
		if (ok_i && ok_a && !printed_running) {
			printf("running\n");
			fflush(stdout);
			printed_running = true;
		}
		if (!printed_running)
			continue;
		if (!(ok_i && ok_a)) {
			if (!in_outage) {
				in_outage = true;
				reached = false;
				outage_start = now_ms();
				say(id, "a write failed", err.msg);
			}
			if (reach && !reached) {
				reached = true;
				say(id, "a write reached a master again", err.msg);
				if (now_ms() - outage_start > reach_ms)
					reach_ms = now_ms() - outage_start;
			}
			sleep_ms(5);
		} else if (in_outage) {
			int64_t d = now_ms() - outage_start;

			in_outage = false;
			if (!reached && d > reach_ms)
				reach_ms = d;
			if (d > ack_ms)
				ack_ms = d;
			snprintf(rec, sizeof(rec), "after %" PRId64 " ms", d);
			say(id, "writes acknowledged again", rec);
		}
	}

	/* read back through the same handle, once the backend answers */
	deadline = now_ms() + 30000;
	while ((ret = persist_state_get(p, "ha", my_key, &val, &vlen, &err)) !=
	       PERSIST_OK && now_ms() < deadline)
		sleep_ms(100);
	if (ret == PERSIST_OK) {
		counter = strtoll(val, NULL, 10);
		persist_free(val);
	} else {
		printf("host %s: cannot read the counter: %s\n", id, err.msg);
		failed = 1;
	}
	while (ret == PERSIST_OK) {
		ret = persist_state_read_log(p, "ha", next, 1000, &records, &n,
					     &next, &err);
		if (ret != PERSIST_OK) {
			if (now_ms() < deadline) {
				ret = PERSIST_OK;
				sleep_ms(100);
				continue;
			}
			printf("host %s: cannot read the log: %s\n", id, err.msg);
			failed = 1;
			break;
		}
		if (n == 0) {
			persist_items_free(records, n);
			break;
		}
		for (size_t i = 0; i < n; i++) {
			char h[64];
			unsigned long k;

			if (sscanf(records[i].value, "{\"h\":\"%63[^\"]\",\"i\":%lu}",
				   h, &k) == 2 && strcmp(h, id) == 0 && k < MAX_RECORDS &&
			    rec_seen[k] < 255)
				rec_seen[k]++;
		}
		persist_items_free(records, n);
		records = NULL;
	}
	for (uint32_t k = 0; k < nrec; k++) {
		if (rec_state[k] == R_ACKED && rec_seen[k] == 0)
			lost++;
		else if (rec_seen[k] > 1)
			doubled++;
		else if (rec_state[k] == R_REFUSED && rec_seen[k] != 0)
			ghost++;
		else if (rec_state[k] == R_UNCERTAIN && rec_seen[k] != 0)
			uncertain_stored++;   /* landed: fine, told in the report */
	}

	/* the configuration subscription follows the new server */
	deadline = now_ms() + 15000;
	while (persist_config_set(p, my_key, "1", 1, NULL, 0, NULL, &err) !=
	       PERSIST_OK && now_ms() < deadline)
		sleep_ms(100);
	while (atomic_load(&changes_seen) == 0 && now_ms() < deadline)
		sleep_ms(20);

	printf("host %s: increments acked %lu, uncertain %lu (of which not "
	       "confirmed by replicas %lu), unavailable %lu, timed out %lu, "
	       "other %lu; counter %" PRId64 " (must be in [%lu, %lu])\n", id,
	       incr_t.ok, incr_t.uncertain, incr_t.unreplicated, incr_t.unavail,
	       incr_t.timedout, incr_t.other, counter, incr_t.ok,
	       incr_t.ok + incr_t.uncertain);
	printf("host %s: records acked %lu, uncertain %lu (%lu of them stored), "
	       "unavailable %lu, timed out %lu, other %lu; acked but missing %lu, "
	       "stored twice %lu, refused but stored %lu\n", id, append_t.ok,
	       append_t.uncertain, uncertain_stored, append_t.unavail,
	       append_t.timedout, append_t.other, lost, doubled, ghost);
	printf("host %s: failover: writes reached a master again after %" PRId64
	       " ms, acknowledged again after %" PRId64 " ms; configuration "
	       "re-read notices %d, change seen afterwards %s\n", id, reach_ms,
	       ack_ms, atomic_load(&rereads),
	       atomic_load(&changes_seen) > 0 ? "yes" : "no");
	if (incr_t.other + append_t.other > 0)
		printf("host %s: unexpected answer: %s\n", id, other_msg);
	if (counter < (int64_t)incr_t.ok ||
	    counter > (int64_t)(incr_t.ok + incr_t.uncertain) || lost > 0 ||
	    doubled > 0 || ghost > 0 || incr_t.other + append_t.other > 0) {
		printf("host %s: FAIL: acknowledged writes lost or doubled, or a "
		       "refused write stored\n", id);
		failed = 1;
	}
	if (in_outage) {
		printf("host %s: FAIL: writes were not acknowledged again after "
		       "the failover\n", id);
		failed = 1;
	} else if (ack_ms < 0) {
		/* no write failed: the host made none while no master was
		   there (a loaded machine can pause it that long), and the
		   next found the new one.  That the failover happened under
		   it is shown by the subscriber's re-read, checked below. */
		printf("host %s: no write failed: the failover was transparent "
		       "to the writes\n", id);
	}
	if (atomic_load(&rereads) == 0 || atomic_load(&changes_seen) == 0) {
		printf("host %s: FAIL: the configuration subscriber did not "
		       "follow the failover\n", id);
		failed = 1;
	}
	if (atomic_load(&secret_leaks) > 0) {
		printf("host %s: FAIL: a message showed the password\n", id);
		failed = 1;
	}
	persist_config_unsubscribe(p, sub_id, &err);
	if (persist_close(p, &err) != PERSIST_OK) {
		printf("host %s: close: %s\n", id, err.msg);
		failed = 1;
	}
	printf("host %s: %s\n", id, failed ? "FAIL" : "ok");
	return failed;
}
