/*
 * t/conformance/util.c - helpers of the conformance suite: assertions that
 * print the error message, names unique to the run, clocks, the recorder
 * that collects callbacks made on the core's threads (guarded by a mutex;
 * tests wait on its condition variable with a deadline), the runner of
 * worker threads, and the registration of a kind's table of tests.
 *
 * Failure messages name the rule of the running test and the section of
 * the provider contract (persist/plugin.h) that states it.
 *
 * CUnit is not thread-safe: only the main thread asserts.  Worker threads
 * of a test store their results and the test checks them after joining.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "conformance.h"

/* The tests added so far, to find the rule of the running one. */
static struct ct_added {
	CU_pTest test;
	const struct ct_test *def;
} *ct_added;
static size_t ct_n_added;

/* Add a test to a suite and remember its rule. */
int ct_add_test(CU_pSuite s, const struct ct_test *t)
{
	CU_pTest test = CU_add_test(s, t->name, t->fn);
	struct ct_added *more;

	if (test == NULL)
		return -1;
	more = realloc(ct_added, (ct_n_added + 1) * sizeof(*more));
	if (more == NULL)
		return -1;
	ct_added = more;
	ct_added[ct_n_added].test = test;
	ct_added[ct_n_added++].def = t;
	return 0;
}

/* Forget the tests added (after CU_cleanup_registry). */
void ct_forget_tests(void)
{
	free(ct_added);
	ct_added = NULL;
	ct_n_added = 0;
}

/* The rule of the running test, or NULL. */
static const struct ct_test *ct_current_rule(void)
{
	CU_pTest test = CU_get_current_test();

	for (size_t i = 0; test != NULL && i < ct_n_added; i++) {
		if (ct_added[i].test == test)
			return ct_added[i].def;
	}
	return NULL;
}

/* Record an assertion with the detail in a va_list (see ct_check). */
static int ct_vcheck(int ok, const char *file, int line, const char *fmt, va_list ap)
{
	const struct ct_test *rule;
	char detail[PERSIST_ERROR_MSG_MAX + 256], msg[sizeof(detail) + 512];

	if (ok) {
		CU_assertImplementation(CU_TRUE, (unsigned)line, "", file, "", CU_FALSE);
		return 1;
	}
	vsnprintf(detail, sizeof(detail), fmt, ap);
	rule = ct_current_rule();
	if (rule != NULL && rule->rule != NULL)
		snprintf(msg, sizeof(msg), "[%s] %s: %s (contract: \"%s\" in persist/plugin.h)",
			 rule->rule, rule->text, detail, rule->section);
	else
		snprintf(msg, sizeof(msg), "%s", detail);
	printf("\n    %s\n", msg);
	/* CUnit copies the text into its list of failures */
	CU_assertImplementation(CU_FALSE, (unsigned)line, msg, file, "", CU_FALSE);
	return 0;
}

/* Record one assertion (see conformance.h). */
int ct_check(int ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = ct_vcheck(ok, file, line, fmt, ap);
	va_end(ap);
	return ret;
}

/* Integers equal (or different when !equal). */
int ct_check_int(long long got, long long want, int equal, const char *what,
		 const char *file, int line)
{
	if (equal)
		return ct_check(got == want, file, line, "%s: expected %lld, got %lld",
				what, want, got);
	return ct_check(got != want, file, line, "%s: expected anything but %lld, got it",
			what, want);
}

/* Strings equal (or different when !equal); NULL is a value too. */
int ct_check_str(const char *got, const char *want, int equal, const char *what,
		 const char *file, int line)
{
	int same = got == NULL ? want == NULL : want != NULL && strcmp(got, want) == 0;

	if (equal)
		return ct_check(same, file, line, "%s: expected \"%s\", got %s%s%s", what,
				want != NULL ? want : "(null)", got != NULL ? "\"" : "",
				got != NULL ? got : "NULL", got != NULL ? "\"" : "");
	return ct_check(!same, file, line, "%s: expected anything but \"%s\", got it",
			what, want != NULL ? want : "(null)");
}

/* Assert a status, saying the call, both codes and the message. */
void ct_expect_status(int got, int want, const struct persist_error *err,
		      const char *expr, const char *file, int line)
{
	if (got == want || got == PERSIST_OK || err == NULL)
		ct_check(got == want, file, line, "%s: expected %s, got %s", expr,
			 persist_strerror(want), persist_strerror(got));
	else
		ct_check(0, file, line, "%s: expected %s, got %s: %s", expr,
			 persist_strerror(want), persist_strerror(got), err->msg);
}

/* Assert that two byte strings are equal, saying how they differ. */
void ct_expect_bytes(const void *got, size_t got_len, const void *want,
		     size_t want_len, const char *what, const char *file, int line)
{
	size_t i = 0;

	if (got == NULL) {
		ct_check(0, file, line, "%s: expected %zu bytes, got none (NULL)", what, want_len);
		return;
	}
	if (got_len == want_len && (want_len == 0 || memcmp(got, want, want_len) == 0)) {
		ct_check(1, file, line, "%s", what);
		return;
	}
	while (i < got_len && i < want_len &&
	       ((const unsigned char *)got)[i] == ((const unsigned char *)want)[i])
		i++;
	if (got_len != want_len)
		ct_check(0, file, line, "%s: expected %zu bytes, got %zu (the first %zu are equal)",
			 what, want_len, got_len, i);
	else
		ct_check(0, file, line, "%s: expected the %zu bytes stored, got bytes that "
			 "differ from offset %zu on (0x%02x instead of 0x%02x)", what, want_len, i,
			 ((const unsigned char *)got)[i], ((const unsigned char *)want)[i]);
}

/* "<run>-<what>" in a ring of static buffers. */
const char *ct_name(const char *what)
{
	static char ring[64][PERSIST_KEY_MAX + 1];
	static unsigned next;
	char *buf = ring[next++ % 64];

	snprintf(buf, sizeof(ring[0]), "%s-%s", ct.run, what);
	ct_remember(buf);
	return buf;
}

/* "<run>-<what>" in malloc()ed memory. */
char *ct_name_dup(const char *what)
{
	const char *name = ct_name(what);
	char *copy = malloc(strlen(name) + 1);

	if (copy == NULL) {
		perror("persist-conformance");
		abort();
	}
	return strcpy(copy, name);
}

/* Monotonic milliseconds. */
int64_t ct_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep, resuming after signals. */
void ct_sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Absolute CLOCK_MONOTONIC time ms from now. */
void ct_deadline(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* An empty recorder. */
void ct_recorder_init(struct ct_recorder *rec)
{
	pthread_condattr_t attr;

	memset(rec, 0, sizeof(*rec));
	pthread_mutex_init(&rec->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&rec->cond, &attr);
	pthread_condattr_destroy(&attr);
}

/* Free a recorder and its events (no callback may still use it). */
void ct_recorder_free(struct ct_recorder *rec)
{
	for (size_t i = 0; i < rec->n; i++) {
		struct ct_event *e = &rec->events[i];

		free(e->key);
		free(e->etag);
		free(e->origin);
		free(e->session_id);
		free(e->event);
		free(e->data);
	}
	free(rec->events);
	pthread_cond_destroy(&rec->cond);
	pthread_mutex_destroy(&rec->lock);
}

/* strdup that keeps NULL. */
static char *ct_strdup0(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

/* Store one event (taking its strings) and wake waiters. */
static void ct_recorder_add(struct ct_recorder *rec, struct ct_event *ev)
{
	pthread_mutex_lock(&rec->lock);
	if (rec->n == rec->alloc) {
		size_t n = rec->alloc == 0 ? 16 : rec->alloc * 2;
		struct ct_event *events = realloc(rec->events, n * sizeof(*events));

		if (events == NULL) {
			rec->oom = 1;
			pthread_mutex_unlock(&rec->lock);
			free(ev->key);
			free(ev->etag);
			free(ev->origin);
			free(ev->session_id);
			free(ev->event);
			free(ev->data);
			return;
		}
		rec->events = events;
		rec->alloc = n;
	}
	rec->events[rec->n++] = *ev;
	pthread_cond_broadcast(&rec->cond);
	pthread_mutex_unlock(&rec->lock);
}

/* True when name belongs to this run. */
static int ct_ours(const char *name)
{
	return name != NULL && strncmp(name, ct.run, strlen(ct.run)) == 0;
}

/* Configuration change callback. */
void ct_config_cb(void *ctx, const char *key, const char *etag)
{
	struct ct_event ev = { 0 };

	if (key != NULL && !ct_ours(key))
		return;
	ev.key = ct_strdup0(key);
	ev.etag = ct_strdup0(etag);
	ct_recorder_add(ctx, &ev);
}

/* Session event callback. */
void ct_event_cb(void *ctx, const char *origin, const char *session_id,
		 const char *event, const void *data, size_t len)
{
	struct ct_event ev = { 0 };

	if (!ct_ours(event))
		return;
	ev.origin = ct_strdup0(origin);
	ev.session_id = ct_strdup0(session_id);
	ev.event = ct_strdup0(event);
	ev.data = malloc(len + 1);
	if (ev.data != NULL) {
		if (len > 0)
			memcpy(ev.data, data, len);
		ev.data[len] = '\0';
		ev.len = len;
	}
	ct_recorder_add(ctx, &ev);
}

/* Events recorded so far. */
size_t ct_recorder_count(struct ct_recorder *rec)
{
	size_t n;

	pthread_mutex_lock(&rec->lock);
	n = rec->n;
	pthread_mutex_unlock(&rec->lock);
	return n;
}

/* Event i; the array may move, but a copy of the struct stays valid as its
   strings are never freed before the recorder. */
const struct ct_event *ct_recorder_get(struct ct_recorder *rec, size_t i)
{
	static __thread struct ct_event copy;

	pthread_mutex_lock(&rec->lock);
	copy = rec->events[i];
	pthread_mutex_unlock(&rec->lock);
	return &copy;
}

/* Null-safe string equality. */
static int ct_streq(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* What a wait or a count looks for: config events (event == NULL) for
   key, with etag or a deletion, or any of them when any_etag; or session
   events named event (for session_id when not NULL). */
struct ct_match {
	const char *key, *etag;
	int deleted, any_etag;
	const char *event, *session_id;
};

/* Does event e match m? */
static int ct_matches(const struct ct_event *e, const struct ct_match *m)
{
	if (m->event != NULL)
		return ct_streq(e->event, m->event) &&
			(m->session_id == NULL || ct_streq(e->session_id, m->session_id));
	if (e->event != NULL || !ct_streq(e->key, m->key))
		return 0;
	if (m->any_etag)
		return 1;
	if (m->deleted)
		return e->etag == NULL;
	return m->etag == NULL ? e->etag != NULL : ct_streq(e->etag, m->etag);
}

/* Index of the first event at index >= from matching m, or -1 (the lock
   held). */
static long ct_find_locked(struct ct_recorder *rec, size_t from,
			   const struct ct_match *m)
{
	for (size_t i = from; i < rec->n; i++) {
		if (ct_matches(&rec->events[i], m))
			return (long)i;
	}
	return -1;
}

/* Wait up to timeout_ms for an event at index >= from matching m; its
   index, or -1. */
static long ct_wait_match(struct ct_recorder *rec, size_t from,
			  const struct ct_match *m, int64_t timeout_ms)
{
	struct timespec deadline;
	long found;

	ct_deadline(&deadline, timeout_ms);
	pthread_mutex_lock(&rec->lock);
	while ((found = ct_find_locked(rec, from, m)) < 0) {
		if (pthread_cond_timedwait(&rec->cond, &rec->lock, &deadline) == ETIMEDOUT) {
			found = ct_find_locked(rec, from, m);
			break;
		}
	}
	pthread_mutex_unlock(&rec->lock);
	return found;
}

/* Count the events at index >= from matching m. */
static size_t ct_count_match(struct ct_recorder *rec, size_t from,
			     const struct ct_match *m)
{
	size_t count = 0;

	pthread_mutex_lock(&rec->lock);
	for (size_t i = from; i < rec->n; i++) {
		if (ct_matches(&rec->events[i], m))
			count++;
	}
	pthread_mutex_unlock(&rec->lock);
	return count;
}

/* Wait for a matching config event (see conformance.h). */
long ct_wait_config(struct ct_recorder *rec, size_t from, const char *key,
		    const char *etag, int deleted, int64_t timeout_ms)
{
	const struct ct_match m = { .key = key, .etag = etag, .deleted = deleted };

	return ct_wait_match(rec, from, &m, timeout_ms);
}

/* Count config events for key from index `from`. */
size_t ct_count_config(struct ct_recorder *rec, size_t from, const char *key)
{
	const struct ct_match m = { .key = key, .any_etag = 1 };

	return ct_count_match(rec, from, &m);
}

/* Wait for a matching session event (see conformance.h). */
long ct_wait_event(struct ct_recorder *rec, size_t from, const char *event,
		   const char *session_id, int64_t timeout_ms)
{
	const struct ct_match m = { .event = event, .session_id = session_id };

	return ct_wait_match(rec, from, &m, timeout_ms);
}

/* Count session events with this name from index `from`. */
size_t ct_count_event(struct ct_recorder *rec, size_t from, const char *event)
{
	const struct ct_match m = { .event = event };

	return ct_count_match(rec, from, &m);
}

/* Count a worker's failure; the first one's message is kept. */
void ct_worker_fail(struct ct_worker *w, const char *fmt, ...)
{
	va_list ap;

	if (w->failures++ > 0)
		return;
	va_start(ap, fmt);
	vsnprintf(w->err, sizeof(w->err), fmt, ap);
	va_end(ap);
}

char ct_workers_first[PERSIST_ERROR_MSG_MAX + 128];

/* Start the workers, join them, report the first failure (see
   conformance.h). */
int ct_run_workers(void *(*fn)(void *), void *workers, size_t stride, int n,
		   const char *label, int numbered)
{
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	int failures = 0;

	snprintf(ct_workers_first, sizeof(ct_workers_first), "(none)");
	if (t == NULL) {
		perror("persist-conformance");
		abort();
	}
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, fn, (char *)workers + (size_t)i * stride);
	for (int i = 0; i < n; i++) {
		const struct ct_worker *w =
			(const void *)((char *)workers + (size_t)i * stride);

		pthread_join(t[i], NULL);
		if (w->failures > 0 && failures == 0) {
			if (numbered)
				snprintf(ct_workers_first, sizeof(ct_workers_first),
					 "%s %d: %s", label, i, w->err);
			else
				snprintf(ct_workers_first, sizeof(ct_workers_first),
					 "%s: %s", label, w->err);
		}
		failures += w->failures;
	}
	free(t);
	return failures;
}

/* Add a kind's suites for what the provider claims (see conformance.h). */
int ct_add_kind_suites(char *tested, size_t size, enum persist_kind k,
		       const char *kind, const struct ct_test *tests)
{
	const struct ct_test *t = tests;

	while (t->name != NULL) {
		uint64_t cap = t->cap;
		int claimed = cap == 0 || (ct.caps[k] & cap) != 0;
		char cap_name[32], name[64];
		CU_pSuite s = NULL;

		persist_caps_string(cap, cap_name, sizeof(cap_name));
		if (claimed) {
			if (cap == 0)
				snprintf(name, sizeof(name), "%s", kind);
			else
				snprintf(name, sizeof(name), "%s:%s", kind, cap_name);
			if ((s = CU_add_suite(name, NULL, NULL)) == NULL)
				return -1;
		}
		for (; t->name != NULL && t->cap == cap; t++) {
			if (claimed && ct_add_test(s, t) != 0)
				return -1;
		}
		if (claimed && cap != 0)
			ct_tested(tested, size, kind, cap_name);
	}
	return 0;
}

/* Append "kind:cap" to the list of what was tested. */
void ct_tested(char *tested, size_t size, const char *kind, const char *cap)
{
	size_t used = strlen(tested);

	snprintf(tested + used, size - used, "%s%s:%s", used > 0 ? " " : "", kind, cap);
}
