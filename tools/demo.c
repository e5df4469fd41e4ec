/*
 * tools/demo.c - `persistctl demo`: a small AI platform's day played on the
 * configured providers, the way a web platform uses them:
 *
 *   configuration  the configuration cache: create platform/apps/models/groups/ui if
 *                  absent, read them back with ETags, many cached reads,
 *                  one conditional admin write and one refused (stale ETag)
 *   usage          usage tracking: thousands of counter increments per
 *                  user/app/model (write-behind), one batch of daily
 *                  summaries, totals read back and compared
 *   feedback       feedback storage: JSON Lines appended to a log, read
 *                  back from where this run started, compared record by
 *                  record
 *   shortlinks     short links: links with a TTL, resolved several
 *                  times each, usage written back in one batch, an unknown
 *                  code refused, a short-lived link seen to expire
 *   sessions       server-sent events: SSE connections registered, listed, events
 *                  broadcast and sent to single sessions; a subscriber
 *                  counts what reaches this instance
 *
 * Then it prints what it did, the totals read back and the rate of each
 * phase.  Everything it reads back is checked against what it wrote (or, for
 * counters that survive from earlier runs, against the value before plus
 * what it added); any mismatch or unexpected error ends the demo with exit
 * code 3.  The workload is deterministic; only the ids of links, feedback
 * and sessions are unique per run so that runs on persistent data do not
 * collide.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "persistctl.h"

/* Size of the day. */
#define N_MESSAGES 2000     /* chat messages: 6 increments each */
#define N_CACHED_READS 20000
#define N_FEEDBACK 500
#define N_LINKS 200
#define N_RESOLVES_PER_LINK 5
#define N_SESSIONS 50
#define N_BROADCASTS 100
#define N_SENDS_PER_SESSION 4
#define LINK_TTL_MS (3600 * 1000)
#define SESSION_TTL_MS (600 * 1000)
#define EVENT_WAIT_MS 10000

static const char *const users[] = { "alice", "bob", "carol", "dave", "erin", "frank" };
static const char *const apps[] = { "chat", "translator", "summarizer", "code-review" };
static const char *const models[] = { "gpt-4o", "claude-3-5-sonnet", "mistral-large" };
#define N_USERS (sizeof(users) / sizeof(users[0]))
#define N_APPS (sizeof(apps) / sizeof(apps[0]))
#define N_MODELS (sizeof(models) / sizeof(models[0]))

/* The configuration documents of the platform (contents/config/NAME.json). */
static const struct {
	const char *key;
	const char *json;
} documents[] = {
	{ "platform",
	  "{\"name\":\"AI Hub Apps (persist demo)\",\"defaultLanguage\":\"en\","
	  "\"auth\":{\"mode\":\"proxy\",\"authenticatedGroup\":\"users\"},"
	  "\"features\":{\"usageTracking\":true,\"feedback\":true,\"shortLinks\":true},"
	  "\"persistence\":{\"configuration\":{\"provider\":\"filesystem\"},"
	  "\"state\":{\"provider\":\"filesystem\"},\"sessions\":{\"provider\":\"memory\"}}}\n" },
	{ "apps",
	  "[{\"id\":\"chat\",\"name\":{\"en\":\"Chat\"},\"preferredModel\":\"gpt-4o\"},"
	  "{\"id\":\"translator\",\"name\":{\"en\":\"Translator\"},\"preferredModel\":\"mistral-large\"},"
	  "{\"id\":\"summarizer\",\"name\":{\"en\":\"Summarizer\"},\"preferredModel\":\"claude-3-5-sonnet\"},"
	  "{\"id\":\"code-review\",\"name\":{\"en\":\"Code review\"},\"preferredModel\":\"claude-3-5-sonnet\"}]\n" },
	{ "models",
	  "[{\"id\":\"gpt-4o\",\"provider\":\"openai\",\"tokenLimit\":128000},"
	  "{\"id\":\"claude-3-5-sonnet\",\"provider\":\"anthropic\",\"tokenLimit\":200000},"
	  "{\"id\":\"mistral-large\",\"provider\":\"mistral\",\"tokenLimit\":32000}]\n" },
	{ "groups",
	  "{\"groups\":{\"admin\":{\"inherits\":[\"users\"],\"permissions\":{\"apps\":[\"*\"],\"adminAccess\":true}},"
	  "\"users\":{\"inherits\":[\"anonymous\"],\"permissions\":{\"apps\":[\"chat\",\"translator\",\"summarizer\"]}},"
	  "\"anonymous\":{\"permissions\":{\"apps\":[\"chat\"]}}}}\n" },
	{ "ui",
	  "{\"title\":{\"en\":\"AI Hub\"},\"header\":{\"logo\":\"/logo.svg\"},"
	  "\"footer\":{\"text\":{\"en\":\"persist demo\"}}}\n" },
};
#define N_DOCS (sizeof(documents) / sizeof(documents[0]))

/* One phase's result line. */
struct phase {
	const char *name;
	uint64_t ops;
	int64_t us;
	int64_t paused_us; /* deliberate waits, not counted */
	char what[320];
};

/* Everything the demo carries between phases. */
struct demo {
	persist *p;
	const char *instance;
	char run[16];          /* unique per run: ids of links, feedback, sessions */
	uint64_t rng;          /* deterministic workload */
	struct phase phases[5];
	int n_phases;
	/* usage totals: expected after the run */
	int64_t msg_user[N_USERS], tok_user[N_USERS];
	int64_t msg_app[N_APPS], tok_app[N_APPS];
	int64_t msg_model[N_MODELS], tok_model[N_MODELS];
	/* session events seen by the subscriber */
	atomic_int seen_broadcasts, seen_sends, seen_foreign;
};

/* Monotonic clock in microseconds. */
static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Wall clock in milliseconds (timestamps in records). */
static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* xorshift64*: the deterministic workload's random numbers. */
static uint64_t rnd(struct demo *d)
{
	d->rng ^= d->rng >> 12;
	d->rng ^= d->rng << 25;
	d->rng ^= d->rng >> 27;
	return d->rng * 2685821657736338717ull;
}

/* A random number in [0, n). */
static unsigned rnd_below(struct demo *d, unsigned n)
{
	return (unsigned)(rnd(d) % n);
}

/* Report a library error of a phase; return the exit code. */
static int demo_fail(const char *phase, const char *doing,
		     const struct persist_error *err)
{
	return ctl_error(ctl_exit_code(err->code == PERSIST_OK ? PERSIST_EIO : err->code),
			 "demo %s: %s: %s", phase, doing,
			 err->msg[0] != '\0' ? err->msg : persist_strerror(err->code));
}

/* Report a mismatch of a phase; always exit code 3. */
#define demo_mismatch(phase, ...) \
	ctl_error(CTL_EXIT_FAIL, "demo " phase ": " __VA_ARGS__)

/* Start timing a phase. */
static struct phase *phase_begin(struct demo *d, const char *name)
{
	struct phase *ph = &d->phases[d->n_phases++];

	memset(ph, 0, sizeof(*ph));
	ph->name = name;
	ph->us = now_us();
	return ph;
}

/* Stop timing a phase. */
static void phase_end(struct phase *ph)
{
	ph->us = now_us() - ph->us - ph->paused_us;
	if (ph->us <= 0)
		ph->us = 1;
}

/* Read a counter; absent counts as 0.  Returns an exit code. */
static int read_counter(struct demo *d, const char *phase, const char *coll,
			const char *key, int64_t *v_r)
{
	struct persist_error err = { 0 };
	char *val = NULL, *end;
	size_t len;
	int ret;

	ret = persist_state_get(d->p, coll, key, &val, &len, &err);
	if (ret == PERSIST_ENOTFOUND) {
		*v_r = 0;
		return CTL_EXIT_OK;
	}
	if (ret != PERSIST_OK)
		return demo_fail(phase, "reading a counter", &err);
	long long v = strtoll(val, &end, 10);
	if (end == val || *end != '\0') {
		ret = ctl_error(CTL_EXIT_FAIL, "demo %s: counter %s/%s is not a number: \"%.40s\"",
				phase, coll, key, val);
		persist_free(val);
		return ret;
	}
	persist_free(val);
	*v_r = v;
	return CTL_EXIT_OK;
}

/* --- configuration ------------------------------------------------------ */

/* Create the documents if absent, read them back, many cached reads. */
static int phase_config(struct demo *d)
{
	struct persist_error err = { 0 };
	struct phase *ph = phase_begin(d, "configuration");
	char etags[N_DOCS][PERSIST_ETAG_MAX], etag[PERSIST_ETAG_MAX];
	const char *keys[N_DOCS];
	struct persist_entry *ents = NULL;
	unsigned created = 0, conflicts = 0;
	int ret;

	for (size_t i = 0; i < N_DOCS; i++) {
		keys[i] = documents[i].key;
		ret = persist_config_get(d->p, keys[i], NULL, NULL, etags[i], &err);
		ph->ops++;
		if (ret == PERSIST_ENOTFOUND) {
			const char *j = documents[i].json;
			char want[PERSIST_ETAG_MAX];
			ret = persist_config_set(d->p, keys[i], j, strlen(j), NULL, 0,
						 etags[i], &err);
			ph->ops++;
			if (ret != PERSIST_OK)
				return demo_fail("configuration", "creating a document", &err);
			persist_etag(j, strlen(j), want);
			if (strcmp(want, etags[i]) != 0)
				return demo_mismatch("configuration",
						     "ETag of new document \"%s\" is %s, expected %s",
						     keys[i], etags[i], want);
			created++;
		} else if (ret != PERSIST_OK) {
			return demo_fail("configuration", "reading a document", &err);
		}
	}
	/* read all back at once, as the server does at start */
	if (persist_config_get_many(d->p, keys, N_DOCS, &ents, &err) != PERSIST_OK)
		return demo_fail("configuration", "reading the documents", &err);
	ph->ops++;
	for (size_t i = 0; i < N_DOCS; i++) {
		char want[PERSIST_ETAG_MAX];
		if (ents[i].status != PERSIST_OK || ents[i].value == NULL) {
			persist_items_free(ents, N_DOCS);
			return demo_mismatch("configuration", "document \"%s\" vanished: %s",
					     keys[i], persist_strerror(ents[i].status));
		}
		persist_etag(ents[i].value, ents[i].len, want);
		if (strcmp(want, ents[i].etag) != 0 || strcmp(want, etags[i]) != 0) {
			persist_items_free(ents, N_DOCS);
			return demo_mismatch("configuration",
					     "ETags of \"%s\" disagree: %s read, %s computed, %s before",
					     keys[i], ents[i].etag, want, etags[i]);
		}
	}
	persist_items_free(ents, N_DOCS);
	/* the request path: many reads served from the cache */
	int64_t reads_us = now_us();
	for (unsigned i = 0; i < N_CACHED_READS; i++) {
		unsigned k = rnd_below(d, N_DOCS);
		char *data = NULL;
		size_t len;
		if (persist_config_get(d->p, keys[k], &data, &len, etag, &err) != PERSIST_OK)
			return demo_fail("configuration", "a cached read", &err);
		int bad = strcmp(etag, etags[k]) != 0 || data == NULL || len == 0;
		persist_free(data);
		if (bad)
			return demo_mismatch("configuration",
					     "cached read of \"%s\" gave ETag %s, expected %s",
					     keys[k], etag, etags[k]);
	}
	ph->ops += N_CACHED_READS;
	reads_us = now_us() - reads_us;
	/* an admin saves ui again with the ETag it read: same bytes, same
	   ETag; a second admin with a stale ETag is refused */
	{
		char *data = NULL;
		size_t len;
		char newtag[PERSIST_ETAG_MAX];
		if (persist_config_get(d->p, "ui", &data, &len, etag, &err) != PERSIST_OK)
			return demo_fail("configuration", "reading ui", &err);
		ret = persist_config_set(d->p, "ui", data, len, etag, 0, newtag, &err);
		if (ret != PERSIST_OK) {
			persist_free(data);
			return demo_fail("configuration", "conditional write of ui", &err);
		}
		if (strcmp(newtag, etag) != 0) {
			persist_free(data);
			return demo_mismatch("configuration",
					     "rewriting ui unchanged moved its ETag from %s to %s",
					     etag, newtag);
		}
		ret = persist_config_set(d->p, "ui", data, len,
					 "0000000000000000stale", 0, NULL, &err);
		persist_free(data);
		ph->ops += 3;
		if (ret != PERSIST_ECONFLICT)
			return demo_mismatch("configuration",
					     "a write with a stale ETag answered %s, expected %s",
					     persist_strerror(ret),
					     persist_strerror(PERSIST_ECONFLICT));
		conflicts++;
	}
	/* the admin page lists every document */
	{
		struct persist_entry *list = NULL;
		size_t n = 0, found = 0;
		if (persist_config_list(d->p, &list, &n, &err) != PERSIST_OK)
			return demo_fail("configuration", "listing", &err);
		ph->ops++;
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < N_DOCS; k++)
				if (strcmp(list[i].key, keys[k]) == 0)
					found++;
		persist_items_free(list, n);
		if (found != N_DOCS)
			return demo_mismatch("configuration",
					     "the listing shows %zu of the %zu documents",
					     found, N_DOCS);
	}
	phase_end(ph);
	snprintf(ph->what, sizeof(ph->what),
		 "%zu documents (%u created), %u cached reads (%.0f/s), ETags agree; "
		 "1 conditional write, %u stale write refused",
		 N_DOCS, created, N_CACHED_READS,
		 N_CACHED_READS * 1e6 / (reads_us > 0 ? reads_us : 1), conflicts);
	return CTL_EXIT_OK;
}

/* --- usage ---------------------------------------------------------------- */

/* Counter keys of the usage collection, in a fixed order. */
static void usage_key(char *buf, size_t size, int tokens, int dim, size_t i)
{
	static const char *const dims[] = { "user", "app", "model" };
	const char *name = dim == 0 ? users[i] : dim == 1 ? apps[i] : models[i];

	snprintf(buf, size, "%s.%s.%s", tokens ? "tokens" : "messages", dims[dim], name);
}

/* The expected-total slot of a counter. */
static int64_t *usage_slot(struct demo *d, int tokens, int dim, size_t i)
{
	if (dim == 0)
		return tokens ? &d->tok_user[i] : &d->msg_user[i];
	if (dim == 1)
		return tokens ? &d->tok_app[i] : &d->msg_app[i];
	return tokens ? &d->tok_model[i] : &d->msg_model[i];
}

/* Number of names in a dimension. */
static size_t dim_size(int dim)
{
	return dim == 0 ? N_USERS : dim == 1 ? N_APPS : N_MODELS;
}

/* Track usage: baseline, increments, summaries, totals read back. */
static int phase_usage(struct demo *d)
{
	struct persist_error err = { 0 };
	struct phase *ph = phase_begin(d, "usage");
	char key[128];
	int ret;

	/* counters survive earlier runs: start from what is there */
	for (int tokens = 0; tokens < 2; tokens++)
		for (int dim = 0; dim < 3; dim++)
			for (size_t i = 0; i < dim_size(dim); i++) {
				usage_key(key, sizeof(key), tokens, dim, i);
				ret = read_counter(d, "usage", "usage", key,
						   usage_slot(d, tokens, dim, i));
				if (ret != CTL_EXIT_OK)
					return ret;
				ph->ops++;
			}
	/* the day's messages: six increments each, nobody waits for the value */
	for (unsigned m = 0; m < N_MESSAGES; m++) {
		size_t idx[3] = { rnd_below(d, N_USERS), rnd_below(d, N_APPS),
				  rnd_below(d, N_MODELS) };
		int64_t tokens = 70 + rnd_below(d, 1000) + 20 + rnd_below(d, 800);
		for (int dim = 0; dim < 3; dim++) {
			usage_key(key, sizeof(key), 0, dim, idx[dim]);
			if (persist_state_incr(d->p, "usage", key, 1, NULL, &err) != PERSIST_OK)
				return demo_fail("usage", "incrementing", &err);
			usage_key(key, sizeof(key), 1, dim, idx[dim]);
			if (persist_state_incr(d->p, "usage", key, tokens, NULL, &err) != PERSIST_OK)
				return demo_fail("usage", "incrementing", &err);
			*usage_slot(d, 0, dim, idx[dim]) += 1;
			*usage_slot(d, 1, dim, idx[dim]) += tokens;
		}
		ph->ops += 6;
	}
	if (persist_state_flush(d->p, &err) != PERSIST_OK)
		return demo_fail("usage", "flushing", &err);
	ph->ops++;
	/* the daily summary per user, written in one batch */
	{
		struct persist_kv kv[N_USERS];
		char keys[N_USERS][64], vals[N_USERS][128], day[16];
		time_t t = time(NULL);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(day, sizeof(day), "%Y-%m-%d", &tm);
		for (size_t i = 0; i < N_USERS; i++) {
			snprintf(keys[i], sizeof(keys[i]), "%s.%s", day, users[i]);
			snprintf(vals[i], sizeof(vals[i]),
				 "{\"user\":\"%s\",\"messages\":%" PRId64 ",\"tokens\":%" PRId64 "}",
				 users[i], d->msg_user[i], d->tok_user[i]);
			kv[i] = (struct persist_kv){ .key = keys[i], .value = vals[i],
						     .len = strlen(vals[i]), .ttl_ms = 0 };
		}
		if (persist_state_set_batch(d->p, "usage-daily", kv, N_USERS, &err) != PERSIST_OK)
			return demo_fail("usage", "writing the daily summaries", &err);
		ph->ops++;
		struct persist_entry *ents = NULL;
		size_t n = 0, ok = 0;
		if (persist_state_scan(d->p, "usage-daily", day, &ents, &n, &err) != PERSIST_OK)
			return demo_fail("usage", "scanning the daily summaries", &err);
		ph->ops++;
		for (size_t e = 0; e < n; e++)
			for (size_t i = 0; i < N_USERS; i++)
				if (strcmp(ents[e].key, keys[i]) == 0 &&
				    ents[e].len == strlen(vals[i]) &&
				    memcmp(ents[e].value, vals[i], ents[e].len) == 0)
					ok++;
		persist_items_free(ents, n);
		if (ok != N_USERS)
			return demo_mismatch("usage", "%zu of %zu daily summaries read back intact",
					     ok, N_USERS);
	}
	/* totals read back */
	for (int tokens = 0; tokens < 2; tokens++)
		for (int dim = 0; dim < 3; dim++)
			for (size_t i = 0; i < dim_size(dim); i++) {
				int64_t got;
				usage_key(key, sizeof(key), tokens, dim, i);
				ret = read_counter(d, "usage", "usage", key, &got);
				if (ret != CTL_EXIT_OK)
					return ret;
				ph->ops++;
				if (got != *usage_slot(d, tokens, dim, i))
					return demo_mismatch("usage",
							     "counter %s reads %" PRId64 ", expected %" PRId64,
							     key, got, *usage_slot(d, tokens, dim, i));
			}
	phase_end(ph);
	snprintf(ph->what, sizeof(ph->what),
		 "%u messages by %zu users on %zu apps and %zu models: %u increments, "
		 "%zu daily summaries in one batch; totals read back and match",
		 N_MESSAGES, N_USERS, N_APPS, N_MODELS, N_MESSAGES * 6, N_USERS);
	return CTL_EXIT_OK;
}

/* --- feedback ------------------------------------------------------------- */

/* Number of records in a log (the number after the last one). */
static int log_length(struct demo *d, const char *coll, uint64_t *n_r)
{
	struct persist_error err = { 0 };
	uint64_t from = 0;

	for (;;) {
		struct persist_entry *recs = NULL;
		size_t n = 0;
		uint64_t next = from;
		if (persist_state_read_log(d->p, coll, from, 4096, &recs, &n, &next,
					   &err) != PERSIST_OK)
			return demo_fail("feedback", "reading the log", &err);
		persist_items_free(recs, n);
		if (n == 0) {
			*n_r = from;
			return CTL_EXIT_OK;
		}
		from = next;
	}
}

/* Append feedback records, read them back from where this run started. */
static int phase_feedback(struct demo *d)
{
	struct persist_error err = { 0 };
	struct phase *ph = phase_begin(d, "feedback");
	char (*recs)[256];
	uint64_t start = 0;
	int rating_sum = 0, ret;

	if ((ret = log_length(d, "feedback", &start)) != CTL_EXIT_OK)
		return ret;
	ph->ops++;
	recs = malloc(N_FEEDBACK * sizeof(*recs));
	if (recs == NULL)
		return ctl_error(CTL_EXIT_FAIL, "out of memory");
	for (unsigned i = 0; i < N_FEEDBACK; i++) {
		int rating = 1 + (int)rnd_below(d, 5);
		rating_sum += rating;
		snprintf(recs[i], sizeof(recs[i]),
			 "{\"id\":\"fb-%s-%u\",\"user\":\"%s\",\"app\":\"%s\",\"model\":\"%s\","
			 "\"rating\":%d,\"comment\":\"answer %u was %s\",\"timestamp\":%" PRId64 "}",
			 d->run, i, users[rnd_below(d, N_USERS)], apps[rnd_below(d, N_APPS)],
			 models[rnd_below(d, N_MODELS)], rating, i,
			 rating >= 4 ? "helpful" : rating == 3 ? "fine" : "off the mark",
			 wall_ms());
		if (persist_state_append(d->p, "feedback", recs[i], strlen(recs[i]),
					 &err) != PERSIST_OK) {
			free(recs);
			return demo_fail("feedback", "appending", &err);
		}
	}
	ph->ops += N_FEEDBACK;
	if (persist_state_flush(d->p, &err) != PERSIST_OK) {
		free(recs);
		return demo_fail("feedback", "flushing", &err);
	}
	ph->ops++;
	/* read back what this run appended, in order */
	uint64_t from = start;
	unsigned got = 0;
	for (;;) {
		struct persist_entry *ents = NULL;
		size_t n = 0;
		uint64_t next = from;
		if (persist_state_read_log(d->p, "feedback", from, 256, &ents, &n,
					   &next, &err) != PERSIST_OK) {
			free(recs);
			return demo_fail("feedback", "reading back", &err);
		}
		ph->ops++;
		for (size_t i = 0; i < n; i++, got++) {
			if (got >= N_FEEDBACK || ents[i].len != strlen(recs[got]) ||
			    memcmp(ents[i].value, recs[got], ents[i].len) != 0 ||
			    ents[i].index != start + got) {
				persist_items_free(ents, n);
				free(recs);
				return demo_mismatch("feedback",
						     "record %" PRIu64 " differs from what was appended "
						     "(another writer on the same log?)",
						     start + got);
			}
		}
		persist_items_free(ents, n);
		if (n == 0)
			break;
		from = next;
	}
	free(recs);
	if (got != N_FEEDBACK)
		return demo_mismatch("feedback", "%u of %u appended records read back",
				     got, N_FEEDBACK);
	phase_end(ph);
	snprintf(ph->what, sizeof(ph->what),
		 "%u records appended (log now %" PRIu64 " records), read back in order; "
		 "average rating %.2f",
		 N_FEEDBACK, start + N_FEEDBACK, (double)rating_sum / N_FEEDBACK);
	return CTL_EXIT_OK;
}

/* --- short links ---------------------------------------------------------- */

/* A short link's stored record. */
static void link_record(char *buf, size_t size, const char *code, unsigned i,
			const char *app, const char *user, int64_t created,
			unsigned uses)
{
	snprintf(buf, size,
		 "{\"code\":\"%s\",\"url\":\"https://hub.example/apps/%s?chat=%u\","
		 "\"user\":\"%s\",\"created\":%" PRId64 ",\"uses\":%u}",
		 code, app, i, user, created, uses);
}

/* Create links with a TTL, resolve them, write usage back in one batch. */
static int phase_links(struct demo *d)
{
	struct persist_error err = { 0 };
	struct phase *ph = phase_begin(d, "shortlinks");
	static const char b62[] =
		"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	int has_ttl = (persist_caps(d->p, PERSIST_KIND_STATE) & PERSIST_CAP_TTL) != 0;
	int64_t ttl = has_ttl ? LINK_TTL_MS : 0;
	char (*codes)[24] = calloc(N_LINKS, sizeof(*codes));
	char (*vals)[256] = calloc(N_LINKS, sizeof(*vals));
	struct persist_kv *kv = calloc(N_LINKS, sizeof(*kv));
	int64_t *created = calloc(N_LINKS, sizeof(*created));
	unsigned *uses = calloc(N_LINKS, sizeof(*uses));
	int ret = CTL_EXIT_OK, expiry_checked = 0;

	if (codes == NULL || vals == NULL || kv == NULL || created == NULL ||
	    uses == NULL) {
		ret = ctl_error(CTL_EXIT_FAIL, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < N_LINKS; i++) {
		/* run id + 5 random characters: unique across runs */
		size_t l = (size_t)snprintf(codes[i], sizeof(codes[i]), "%s", d->run);
		for (int c = 0; c < 5; c++)
			codes[i][l++] = b62[rnd_below(d, 62)];
		codes[i][l] = '\0';
		created[i] = wall_ms();
		link_record(vals[i], sizeof(vals[i]), codes[i], i, apps[i % N_APPS],
			    users[i % N_USERS], created[i], 0);
		if (persist_state_set(d->p, "shortlinks", codes[i], vals[i],
				      strlen(vals[i]), ttl, &err) != PERSIST_OK) {
			ret = demo_fail("shortlinks", "creating a link", &err);
			goto out;
		}
	}
	ph->ops += N_LINKS;
	/* resolutions in random order: every one must find its URL */
	for (unsigned r = 0; r < N_LINKS * N_RESOLVES_PER_LINK; r++) {
		unsigned i = rnd_below(d, N_LINKS);
		char *val = NULL;
		size_t len;

		if (uses[i] >= N_RESOLVES_PER_LINK)
			for (i = 0; uses[i] >= N_RESOLVES_PER_LINK; i++)
				;
		if (persist_state_get(d->p, "shortlinks", codes[i], &val, &len,
				      &err) != PERSIST_OK) {
			ret = demo_fail("shortlinks", "resolving a link", &err);
			goto out;
		}
		char want[256];
		link_record(want, sizeof(want), codes[i], i, apps[i % N_APPS],
			    users[i % N_USERS], created[i], 0);
		int bad = len != strlen(want) || memcmp(val, want, len) != 0;
		persist_free(val);
		if (bad) {
			ret = demo_mismatch("shortlinks", "link %s resolved to something else",
					    codes[i]);
			goto out;
		}
		uses[i]++;
	}
	ph->ops += N_LINKS * N_RESOLVES_PER_LINK;
	/* an unknown code is a 404 */
	{
		char *val = NULL;
		size_t len;
		char code[32];
		snprintf(code, sizeof(code), "%sunknown", d->run);
		int r = persist_state_get(d->p, "shortlinks", code, &val, &len, &err);
		persist_free(val);
		ph->ops++;
		if (r != PERSIST_ENOTFOUND) {
			ret = demo_mismatch("shortlinks", "unknown code answered %s, expected %s",
					    persist_strerror(r),
					    persist_strerror(PERSIST_ENOTFOUND));
			goto out;
		}
	}
	/* the periodic save: usage counts written back in one batch */
	for (unsigned i = 0; i < N_LINKS; i++) {
		link_record(vals[i], sizeof(vals[i]), codes[i], i, apps[i % N_APPS],
			    users[i % N_USERS], created[i], uses[i]);
		kv[i] = (struct persist_kv){ .key = codes[i], .value = vals[i],
					     .len = strlen(vals[i]), .ttl_ms = ttl };
	}
	if (persist_state_set_batch(d->p, "shortlinks", kv, N_LINKS, &err) != PERSIST_OK) {
		ret = demo_fail("shortlinks", "saving usage", &err);
		goto out;
	}
	ph->ops++;
	for (unsigned i = 0; i < N_LINKS; i++) {
		char *val = NULL;
		size_t len;
		if (persist_state_get(d->p, "shortlinks", codes[i], &val, &len,
				      &err) != PERSIST_OK) {
			ret = demo_fail("shortlinks", "reading a link back", &err);
			goto out;
		}
		int bad = len != strlen(vals[i]) || memcmp(val, vals[i], len) != 0;
		persist_free(val);
		if (bad) {
			ret = demo_mismatch("shortlinks", "link %s lost its usage count",
					    codes[i]);
			goto out;
		}
	}
	ph->ops += N_LINKS;
	phase_end(ph);
	/* outside the timing: a link that lives 100 ms is gone after 300 ms */
	if (has_ttl) {
		char code[32], *val = NULL;
		size_t len;
		snprintf(code, sizeof(code), "%sshort", d->run);
		if (persist_state_set(d->p, "shortlinks", code, "{}", 2, 100,
				      &err) != PERSIST_OK) {
			ret = demo_fail("shortlinks", "creating a short-lived link", &err);
			goto out;
		}
		usleep(300 * 1000);
		int r = persist_state_get(d->p, "shortlinks", code, &val, &len, &err);
		persist_free(val);
		if (r != PERSIST_ENOTFOUND) {
			ret = demo_mismatch("shortlinks",
					    "a link past its TTL answered %s, expected %s",
					    persist_strerror(r),
					    persist_strerror(PERSIST_ENOTFOUND));
			goto out;
		}
		expiry_checked = 1;
	}
	snprintf(ph->what, sizeof(ph->what),
		 "%u links created (%s), %u resolutions, 1 unknown code refused, "
		 "usage saved in one batch and read back; %s",
		 N_LINKS, has_ttl ? "TTL 1 h" : "no TTL: provider lacks it",
		 N_LINKS * N_RESOLVES_PER_LINK,
		 expiry_checked ? "a 100 ms link expired" : "expiry not checked");
out:
	free(codes);
	free(vals);
	free(kv);
	free(created);
	free(uses);
	return ret;
}

/* --- sessions ------------------------------------------------------------- */

/* The subscriber: count this run's events that reach this instance. */
static void demo_event(void *ctx, const char *origin, const char *session_id,
		       const char *event, const void *data, size_t len)
{
	struct demo *d = ctx;

	if (origin == NULL || strcmp(origin, d->instance) != 0 ||
	    strncmp(event, "demo.", 5) != 0) {
		atomic_fetch_add(&d->seen_foreign, 1);
		return;
	}
	if (session_id == NULL && strcmp(event, "demo.config-updated") == 0)
		atomic_fetch_add(&d->seen_broadcasts, 1);
	else if (session_id != NULL && strncmp(session_id, "sse-", 4) == 0 &&
		 strstr(session_id, d->run) != NULL &&
		 strcmp(event, "demo.chat-chunk") == 0)
		atomic_fetch_add(&d->seen_sends, 1);
	else
		atomic_fetch_add(&d->seen_foreign, 1);
}

/* How many of this run's sessions a listing shows. */
static int count_own_sessions(struct demo *d, size_t *n_r, int *wrong_instance_r)
{
	struct persist_error err = { 0 };
	struct persist_entry *s = NULL;
	size_t n = 0, own = 0;
	char prefix[32];

	snprintf(prefix, sizeof(prefix), "sse-%s-", d->run);
	if (persist_session_list(d->p, &s, &n, &err) != PERSIST_OK)
		return demo_fail("sessions", "listing", &err);
	*wrong_instance_r = 0;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(s[i].key, prefix, strlen(prefix)) != 0)
			continue;
		own++;
		if (s[i].instance == NULL || strcmp(s[i].instance, d->instance) != 0)
			*wrong_instance_r = 1;
	}
	persist_items_free(s, n);
	*n_r = own;
	return CTL_EXIT_OK;
}

/* Register sessions, broadcast, send, count what arrives, drop. */
static int phase_sessions(struct demo *d)
{
	struct persist_error err = { 0 };
	struct phase *ph = phase_begin(d, "sessions");
	int has_ttl = (persist_caps(d->p, PERSIST_KIND_SESSION) & PERSIST_CAP_TTL) != 0;
	char ids[N_SESSIONS][48], data[256];
	uint64_t sub;
	size_t own;
	int wrong, ret;

	if (persist_session_subscribe(d->p, demo_event, d, &sub, &err) != PERSIST_OK)
		return demo_fail("sessions", "subscribing", &err);
	ph->ops++;
	for (unsigned i = 0; i < N_SESSIONS; i++) {
		snprintf(ids[i], sizeof(ids[i]), "sse-%s-%u", d->run, i);
		snprintf(data, sizeof(data),
			 "{\"user\":\"%s\",\"app\":\"%s\",\"chatId\":\"chat-%u\"}",
			 users[i % N_USERS], apps[i % N_APPS], i);
		if (persist_session_put(d->p, ids[i], data, strlen(data),
					has_ttl ? SESSION_TTL_MS : 0, &err) != PERSIST_OK) {
			ret = demo_fail("sessions", "registering", &err);
			goto out;
		}
	}
	ph->ops += N_SESSIONS;
	if ((ret = count_own_sessions(d, &own, &wrong)) != CTL_EXIT_OK)
		goto out;
	ph->ops++;
	if (own != N_SESSIONS || wrong) {
		ret = demo_mismatch("sessions", "the listing shows %zu of %d sessions%s",
				    own, N_SESSIONS,
				    wrong ? " (some on another instance)" : "");
		goto out;
	}
	for (unsigned i = 0; i < N_BROADCASTS; i++) {
		snprintf(data, sizeof(data), "{\"key\":\"apps\",\"seq\":%u}", i);
		if (persist_session_broadcast(d->p, "demo.config-updated", data,
					      strlen(data), &err) != PERSIST_OK) {
			ret = demo_fail("sessions", "broadcasting", &err);
			goto out;
		}
	}
	ph->ops += N_BROADCASTS;
	for (unsigned i = 0; i < N_SESSIONS * N_SENDS_PER_SESSION; i++) {
		unsigned s = i % N_SESSIONS;
		snprintf(data, sizeof(data), "{\"chunk\":%u,\"text\":\"token %u\"}",
			 i / N_SESSIONS, i);
		if (persist_session_send(d->p, ids[s], "demo.chat-chunk", data,
					 strlen(data), &err) != PERSIST_OK) {
			ret = demo_fail("sessions", "sending", &err);
			goto out;
		}
	}
	ph->ops += N_SESSIONS * N_SENDS_PER_SESSION;
	/* events arrive on the library's thread: wait for all of them */
	int64_t deadline = now_us() + (int64_t)EVENT_WAIT_MS * 1000;
	while ((atomic_load(&d->seen_broadcasts) < N_BROADCASTS ||
		atomic_load(&d->seen_sends) < N_SESSIONS * N_SENDS_PER_SESSION) &&
	       now_us() < deadline)
		usleep(1000);
	/* a moment more so that duplicates would show (not timed) */
	int64_t pause = now_us();
	usleep(20 * 1000);
	ph->paused_us += now_us() - pause;
	for (unsigned i = 0; i < N_SESSIONS; i++) {
		if (persist_session_drop(d->p, ids[i], &err) != PERSIST_OK) {
			ret = demo_fail("sessions", "dropping", &err);
			goto out;
		}
	}
	ph->ops += N_SESSIONS;
	if ((ret = count_own_sessions(d, &own, &wrong)) != CTL_EXIT_OK)
		goto out;
	ph->ops++;
	phase_end(ph);
	if (own != 0) {
		ret = demo_mismatch("sessions", "%zu dropped sessions are still listed", own);
		goto out;
	}
	if (atomic_load(&d->seen_broadcasts) != N_BROADCASTS ||
	    atomic_load(&d->seen_sends) != N_SESSIONS * N_SENDS_PER_SESSION) {
		ret = demo_mismatch("sessions",
				    "the subscriber got %d of %d broadcasts and %d of %d sends",
				    atomic_load(&d->seen_broadcasts), N_BROADCASTS,
				    atomic_load(&d->seen_sends),
				    N_SESSIONS * N_SENDS_PER_SESSION);
		goto out;
	}
	snprintf(ph->what, sizeof(ph->what),
		 "%u sessions registered (%s) and listed, %u broadcasts, %u sends; "
		 "subscriber got %d + %d events; all dropped",
		 N_SESSIONS, has_ttl ? "TTL 10 min" : "no TTL: provider lacks it",
		 N_BROADCASTS, N_SESSIONS * N_SENDS_PER_SESSION,
		 atomic_load(&d->seen_broadcasts), atomic_load(&d->seen_sends));
out:
	if (persist_session_unsubscribe(d->p, sub, &err) != PERSIST_OK &&
	    ret == CTL_EXIT_OK)
		ret = demo_fail("sessions", "unsubscribing", &err);
	return ret;
}

/* --- report ---------------------------------------------------------------- */

/* Print the phases and the usage totals. */
static void report(struct demo *d)
{
	printf("\n%-14s %8s %10s %12s  %s\n", "PHASE", "OPS", "MS", "OPS/S", "WHAT");
	for (int i = 0; i < d->n_phases; i++) {
		const struct phase *ph = &d->phases[i];
		printf("%-14s %8" PRIu64 " %10.1f %12.0f  %s\n", ph->name, ph->ops,
		       ph->us / 1000.0, ph->ops * 1e6 / ph->us, ph->what);
	}
	printf("\nusage totals (read back, equal to what was counted):\n");
	for (int dim = 0; dim < 3; dim++)
		for (size_t i = 0; i < dim_size(dim); i++)
			printf("  %-6s %-18s messages %8" PRId64 "  tokens %10" PRId64 "\n",
			       dim == 0 ? "user" : dim == 1 ? "app" : "model",
			       dim == 0 ? users[i] : dim == 1 ? apps[i] : models[i],
			       *usage_slot(d, 0, dim, i), *usage_slot(d, 1, dim, i));
}

/* persistctl demo. */
int cmd_demo(struct ctl *ctl, const struct ctl_args *args)
{
	struct demo *d;
	int ret;
	int (*const phases[])(struct demo *) = {
		phase_config, phase_usage, phase_feedback, phase_links, phase_sessions
	};

	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return ctl_error(CTL_EXIT_FAIL, "out of memory");
	if ((ret = ctl_open(ctl, &d->p)) != CTL_EXIT_OK) {
		free(d);
		return ret;
	}
	d->instance = persist_instance_id(d->p);
	d->rng = 0x9e3779b97f4a7c15ull;
	{
		/* run id: base-36 of time and pid, 7 characters */
		uint64_t seed = (uint64_t)wall_ms() * 1000003u ^ (uint64_t)getpid() * 2654435761u;
		for (int i = 0; i < 7; i++, seed /= 36)
			d->run[i] = "0123456789abcdefghijklmnopqrstuvwxyz"[seed % 36];
		d->run[7] = '\0';
	}
	atomic_init(&d->seen_broadcasts, 0);
	atomic_init(&d->seen_sends, 0);
	atomic_init(&d->seen_foreign, 0);
	printf("persist demo: configuration=%s state=%s sessions=%s\n"
	       "instance %s, run %s\n",
	       persist_provider(d->p, PERSIST_KIND_CONFIG),
	       persist_provider(d->p, PERSIST_KIND_STATE),
	       persist_provider(d->p, PERSIST_KIND_SESSION), d->instance, d->run);
	fflush(stdout);
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
		if ((ret = phases[i](d)) != CTL_EXIT_OK)
			break;
		printf("%-14s done\n", d->phases[d->n_phases - 1].name);
		fflush(stdout);
	}
	if (ret == CTL_EXIT_OK)
		report(d);
	ret = ctl_close(d->p, ret);
	if (ret == CTL_EXIT_OK)
		printf("\ndemo: ok\n");
	else
		fprintf(stderr, "persistctl: demo failed\n");
	free(d);
	return ret;
}
