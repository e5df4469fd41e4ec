/*
 * t/batch/crash-host.c - the host of the host crash test
 * (test-host-crash.sh): batching on (batchInterval 50 ms), it increments
 * a counter and appends records until it is killed, and keeps in a small
 * shared file what it was told so far:
 *
 *     acked    writes acknowledged (each round of the loop: one increment
 *              and one record, both queued), updated after every write
 *     flushed  of those, the ones a persist_state_flush that returned OK
 *              covered (everything acknowledged before the call), written
 *              and fdatasync'ed after each such flush
 *
 *     trying   the writes of the round under way included (set before
 *              its calls)
 *
 * With a last argument "journal" the state config has journalQueued and
 * spoolDir: every acknowledged write was journaled durably, so the check
 * (whose handle replays the journal the killed host left) holds it to
 * loss 0: everything acknowledged is there, nothing beyond the round under
 * way at the kill.  Every tenth increment is then a synchronous one,
 * which carries the key's queued increments.
 *
 * The file is mapped shared, so what the host stored in it survives a
 * SIGKILL; ACKFILE.pid names the process once it is writing.  After
 * the kill, `crash-host check` reads the collection
 * through a handle without batching and holds it to the promise of
 * batching: everything flushed is there, nothing is there twice or
 * beyond what was acknowledged, and the loss (acknowledged, not there)
 * is at most what was queued since the last completed flush.  Its exit
 * status is 0 when all holds, 3 when the only fault is something stored
 * twice, 1 for anything else (a loss, a gap, an error).
 *
 *     crash-host run   STATE-JSON COLLECTION ACKFILE [journal]
 *     crash-host check STATE-JSON COLLECTION ACKFILE [journal]
 * check prints "acked A flushed F counter N log L" and exits 1 when a
 * rule is broken.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <persist/persist.h>
#include "once-util.h"

struct progress {
	volatile uint64_t acked, flushed, trying;
};

/* Map the progress file (created zeroed by run). */
static struct progress *map_progress(const char *path, int create, int *fd_r)
{
	int fd = open(path, O_RDWR | (create ? O_CREAT | O_TRUNC : 0), 0600);
	void *m;

	if (fd < 0 || (create && ftruncate(fd, sizeof(struct progress)) != 0)) {
		perror(path);
		exit(2);
	}
	m = mmap(NULL, sizeof(struct progress), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	*fd_r = fd;
	return m;
}

/* The loop of the host, until killed. */
static int run(const char *state_json, const char *coll, const char *path, int journal)
{
	char state[2048], rec[48];
	struct persist_error err;
	struct progress *pr;
	int fd;
	persist *p;

	snprintf(state, sizeof(state), "%.*s,\"batchInterval\":50}}",
		 (int)strlen(state_json) - 2, state_json);
	pr = map_progress(path, 1, &fd);
	p = ou_open(state);
	/* ready: say which process to kill (libtool may run it in a child) */
	{
		char pidpath[4096];
		FILE *f;

		snprintf(pidpath, sizeof(pidpath), "%s.pid", path);
		f = fopen(pidpath, "w");
		if (f == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0)
			return 1;
	}
	for (uint64_t i = 0;; i++) {
		int len = snprintf(rec, sizeof(rec), "{\"i\":%" PRIu64 "}", i);
		int64_t v = 0;

		pr->trying = i + 1;
		if ((journal && i % 10 == 9 ?
		     persist_state_incr(p, coll, "n", 1, &v, &err) :
		     persist_state_add(p, coll, "n", 1, &err)) != PERSIST_OK ||
		    persist_state_append(p, coll, rec, (size_t)len, &err) != PERSIST_OK) {
			/* refused (queue full): not acknowledged; stop */
			fprintf(stderr, "crash-host: write %" PRIu64 " refused: %s\n", i, err.msg);
			return 1;
		}
		pr->acked = i + 1;
		if (i % 25 == 24) {
			uint64_t covered = pr->acked;

			if (persist_state_flush(p, &err) == PERSIST_OK) {
				pr->flushed = covered;
				if (fdatasync(fd) != 0)
					return 1;
			}
		}
		if (i % 5 == 4) {
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
		}
	}
}

/* The check after the kill. */
static int check(const char *state_json, const char *coll, const char *path, int journal)
{
	struct persist_entry *e = NULL;
	struct persist_error err;
	struct progress *pr;
	uint64_t acked, flushed, trying, counter = 0;
	char state[2048];
	unsigned char *seen;
	size_t n = 0, len = 0;
	char *data = NULL;
	int fd, bad = 0, doubled = 0, ret;
	persist *p;

	pr = map_progress(path, 0, &fd);
	acked = pr->acked;
	flushed = pr->flushed;
	trying = pr->trying;
	if (journal) {
		/* a batching handle: its open replays the journal left */
		snprintf(state, sizeof(state), "%.*s,\"batchInterval\":50}}",
			 (int)strlen(state_json) - 2, state_json);
		p = ou_open(state);
	} else {
		p = ou_open(state_json);
	}
	ret = persist_state_get(p, coll, "n", &data, &len, &err);
	if (ret == PERSIST_OK)
		counter = strtoull(data, NULL, 10);
	else if (ret != PERSIST_ENOTFOUND) {
		fprintf(stderr, "crash-host check: counter: %s\n", err.msg);
		return 1;
	}
	persist_free(data);
	if (persist_state_read_log(p, coll, 0, 0, &e, &n, NULL, &err) != PERSIST_OK) {
		fprintf(stderr, "crash-host check: log: %s\n", err.msg);
		return 1;
	}
	seen = calloc(n + 1, 1);
	for (size_t i = 0; seen != NULL && i < n; i++) {
		unsigned long long r;

		/* each record once, in order: exactly {"i":0} .. {"i":n-1} */
		if (sscanf(e[i].value, "{\"i\":%llu}", &r) != 1 || r > i) {
			fprintf(stderr, "crash-host check: record %zu is \"%s\" (a gap)\n",
				i, e[i].value);
			bad = 1;
			break;
		}
		if (r < i) {
			fprintf(stderr, "crash-host check: record %zu is \"%s\" (a record "
				"twice)\n", i, e[i].value);
			doubled = 1;
			break;
		}
	}
	free(seen);
	persist_items_free(e, n);
	printf("acked %" PRIu64 " flushed %" PRIu64 " counter %" PRIu64 " log %zu\n",
	       acked, flushed, counter, n);
	if (counter < flushed || n < flushed) {
		fprintf(stderr, "crash-host check: flushed writes are missing: %" PRIu64
			" flushed, counter %" PRIu64 ", log %zu\n", flushed, counter, n);
		bad = 1;
	}
	if (journal && (counter < acked || n < acked)) {
		fprintf(stderr, "crash-host check: journaled writes are missing: %" PRIu64
			" acknowledged, counter %" PRIu64 ", log %zu\n", acked, counter, n);
		bad = 1;
	}
	if (journal && (counter > trying || n > trying)) {
		fprintf(stderr, "crash-host check: more than was written (doubled): %"
			PRIu64 " tried, counter %" PRIu64 ", log %zu\n", trying, counter, n);
		doubled = 1;
	}
	if (!journal && (counter > acked || n > acked)) {
		fprintf(stderr, "crash-host check: more than was acknowledged (doubled): %"
			PRIu64 " acknowledged, counter %" PRIu64 ", log %zu\n", acked, counter, n);
		bad = 1;
	}
	persist_close(p, NULL);
	return bad ? 1 : doubled ? 3 : 0;
}

int main(int argc, char **argv)
{
	int journal = argc == 6 && strcmp(argv[5], "journal") == 0;

	if ((argc == 5 || journal) && strcmp(argv[1], "run") == 0)
		return run(argv[2], argv[3], argv[4], journal);
	if ((argc == 5 || journal) && strcmp(argv[1], "check") == 0)
		return check(argv[2], argv[3], argv[4], journal);
	fprintf(stderr, "usage: crash-host run|check STATE-JSON COLLECTION ACKFILE [journal]\n");
	return 2;
}
