/*
 * t/conformance/conformance.h - what the files of the conformance suite
 * share: the run's context (the provider under test, its capabilities, the
 * two handles), helpers that turn a status into a CUnit assertion with the
 * error message, unique names, a recorder that collects the callbacks the
 * core makes on its own threads so that tests can wait for them, a runner
 * of worker threads for the concurrency tests, and the table form in which
 * each kind lists its tests (one suite per capability claimed).
 *
 * The suite uses only the public host API (persist.h): it tests a provider
 * the way an application sees it, through the core.
 */
#ifndef CONFORMANCE_H
#define CONFORMANCE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <CUnit/CUnit.h>
#include <persist/persist.h>

/* How long a test waits for something asynchronous (a notification, an
   event, an expiry) before it fails. */
#define CT_WAIT_MS 5000
/* How long a test waits to be sure that something does NOT arrive, after
   a later event showed that delivery is working. */
#define CT_GRACE_MS 300

struct ct_context {
	const char *plugin;        /* provider under test */
	const char *module;        /* absolute .so path, or NULL */
	const char *config_json;   /* its "config" object */
	const char *kind_config[PERSIST_KIND_COUNT_]; /* -c KIND=JSON, or NULL */
	const char *kind_arg[PERSIST_KIND_COUNT_];    /* that whole argument */
	const char *const *dirs;   /* -P directories */
	size_t n_dirs;
	char *open_json;           /* the configuration text both handles use */
	int has_kind[PERSIST_KIND_COUNT_]; /* the plugin serves this kind */
	uint64_t caps[PERSIST_KIND_COUNT_];
	persist *a, *b;            /* two handles on the same configuration */
	persist *direct;           /* a third, with the configuration cache off
				      (cacheTTL 0): its reads reach the provider */
	char run[64];              /* unique prefix of every name of this run */
	const char *self;          /* argv[0], for child processes */
};
extern struct ct_context ct;

/* --- assertions ----------------------------------------------------------- */

/*
 * Every failure is reported in words, for a plugin author who does not have
 * these sources: the rule of the running test (its id, one sentence, and
 * the section of the "Provider contract" in persist/plugin.h that states
 * it), then what was expected and what came back, e.g.
 *
 *   [state.incr.atomic] increments from many threads add up exactly:
 *   counter: expected "80000", got "79998" (contract: "Counters" in persist/plugin.h)
 *
 * The message is CUnit's failure text, so it also appears in CUnit's
 * summary of failures at the end of the run.
 */

/* Record one assertion: nothing more when ok, else the message above with
   the detail fmt.  Returns ok. */
int ct_check(int ok, const char *file, int line, const char *fmt, ...)
	PERSIST_PRINTF(4, 5);
#define CT_CHECK(cond, ...) ct_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
/* Integers: "<what>: expected <want>, got <got>". */
int ct_check_int(long long got, long long want, int equal, const char *what,
		 const char *file, int line);
#define CT_EQ(got, want) \
	ct_check_int((long long)(got), (long long)(want), 1, #got, __FILE__, __LINE__)
#define CT_NE(got, other) \
	ct_check_int((long long)(got), (long long)(other), 0, #got, __FILE__, __LINE__)
/* Strings (NULL allowed): the same with both texts quoted. */
int ct_check_str(const char *got, const char *want, int equal, const char *what,
		 const char *file, int line);
#define CT_STREQ(got, want) ct_check_str((got), (want), 1, #got, __FILE__, __LINE__)
#define CT_STRNE(got, other) ct_check_str((got), (other), 0, #got, __FILE__, __LINE__)
/* A condition without a better description: "check failed: <expr>". */
#define CT_TRUE(cond) CT_CHECK(cond, "check failed: %s", #cond)

/* Assert that a call returned `want`; on failure say what it returned and
   its error message. */
void ct_expect_status(int got, int want, const struct persist_error *err,
		      const char *expr, const char *file, int line);
#define CT_EXPECT(expr, want, errp) \
	ct_expect_status((expr), (want), (errp), #expr, __FILE__, __LINE__)
#define CT_OK(expr, errp) CT_EXPECT(expr, PERSIST_OK, errp)
/* Assert bytes equality, saying how they differ. */
void ct_expect_bytes(const void *got, size_t got_len, const void *want,
		     size_t want_len, const char *what, const char *file, int line);
#define CT_EXPECT_BYTES(got, got_len, want, want_len) \
	ct_expect_bytes((got), (got_len), (want), (want_len), #got, __FILE__, __LINE__)

/* --- names and time ------------------------------------------------------- */

/* A name unique to this run: "<run>-<what>" in a static ring of buffers
   (valid for the next few dozen calls; copy to keep). */
const char *ct_name(const char *what);
/* Same, in malloc()ed memory. */
char *ct_name_dup(const char *what);
int64_t ct_now_ms(void);          /* monotonic */
void ct_sleep_ms(int64_t ms);
/* An absolute CLOCK_MONOTONIC deadline ms from now. */
void ct_deadline(struct timespec *ts, int64_t ms);

/* --- recorder of callbacks ------------------------------------------------ */

struct ct_event {
	char *key;        /* config: key (NULL: "re-read everything") */
	char *etag;       /* config: new ETag, NULL when deleted */
	char *origin;     /* session events */
	char *session_id;
	char *event;
	char *data;
	size_t len;
};

struct ct_recorder {
	pthread_mutex_t lock;
	pthread_cond_t cond;      /* CLOCK_MONOTONIC */
	struct ct_event *events;
	size_t n, alloc;
	int oom;                  /* an event could not be recorded */
};

void ct_recorder_init(struct ct_recorder *rec);
void ct_recorder_free(struct ct_recorder *rec);
/* persist_config_cb / persist_event_cb storing into a recorder (ctx);
   events of other runs (names without this run's prefix) are ignored. */
void ct_config_cb(void *ctx, const char *key, const char *etag);
void ct_event_cb(void *ctx, const char *origin, const char *session_id,
		 const char *event, const void *data, size_t len);
/* Number of events recorded so far. */
size_t ct_recorder_count(struct ct_recorder *rec);
/* Wait up to timeout_ms for a config event at index >= from with this key
   and etag (etag NULL: a deletion); its index, or -1. */
long ct_wait_config(struct ct_recorder *rec, size_t from, const char *key,
		    const char *etag, int deleted, int64_t timeout_ms);
/* Count config events at index >= from for key. */
size_t ct_count_config(struct ct_recorder *rec, size_t from, const char *key);
/* Wait for a session event at index >= from with this event name (and
   session id when not NULL); its index, or -1. */
long ct_wait_event(struct ct_recorder *rec, size_t from, const char *event,
		   const char *session_id, int64_t timeout_ms);
/* Count session events at index >= from with this event name. */
size_t ct_count_event(struct ct_recorder *rec, size_t from, const char *event);
/* Copy of event i (valid until the recorder is freed). */
const struct ct_event *ct_recorder_get(struct ct_recorder *rec, size_t i);

/* --- worker threads ------------------------------------------------------ */

/* What a worker thread of a concurrency test reports (CUnit is not
   thread-safe: workers record, the main thread asserts).  It is the first
   member of the test's worker struct. */
struct ct_worker {
	int failures;                         /* calls that went wrong */
	char err[PERSIST_ERROR_MSG_MAX + 64]; /* what the first one said */
};

/* Count a failure of a worker, keeping the message of the first. */
void ct_worker_fail(struct ct_worker *w, const char *fmt, ...)
	PERSIST_PRINTF(2, 3);
/* Run fn on n threads at once, thread i on the worker struct at
   (char *)workers + i * stride (which begins with a struct ct_worker), and
   join them all.  Print the message of the first worker that failed, as
   "<label> <i>: <message>" when numbered, else "<label>: <message>", in
   ct_workers_first (for the assertion); return the number of failures of
   all workers. */
int ct_run_workers(void *(*fn)(void *), void *workers, size_t stride, int n,
		   const char *label, int numbered);
extern char ct_workers_first[PERSIST_ERROR_MSG_MAX + 128];
/* Assert that a ct_run_workers() run had no failure, quoting the first. */
#define CT_WORKERS_OK(failures) \
	CT_CHECK((failures) == 0, "%d calls of the worker threads failed; the first: %s", \
		 (failures), ct_workers_first)

/* --- suites --------------------------------------------------------------- */

/* A test: run always (cap 0), or when the provider claims the capability
   bit cap; its name and function; the rule it checks: an id such as
   "state.incr.atomic", the section of the provider contract in
   persist/plugin.h that states it, and the rule in one sentence (the
   words of every failure message).  A kind's tests are listed suite by
   suite (the tests of one cap together) and end with { 0, NULL, NULL }. */
struct ct_test {
	uint64_t cap;
	const char *name;
	CU_TestFunc fn;
	const char *rule;
	const char *section;
	const char *text;
};

/* Add test t to suite s, remembering its rule for the failure messages;
   0, or -1 when CUnit fails. */
int ct_add_test(CU_pSuite s, const struct ct_test *t);
/* Forget them all (once CUnit's registry is gone). */
void ct_forget_tests(void);

/* Add the suites of kind k, named `kind`: the tests with cap 0 as suite
   "<kind>"; the others, when the provider claims their capability, as
   suite "<kind>:<capability>", noting "<kind>:<capability>" as tested.
   0, or -1 when CUnit fails. */
int ct_add_kind_suites(char *tested, size_t size, enum persist_kind k,
		       const char *kind, const struct ct_test *tests);

/* Each registers its suites and tests for the capabilities claimed, and
   appends the names of the capabilities it tests to `tested`. */
int ct_register_config(char *tested, size_t size);
int ct_register_state(char *tested, size_t size);
int ct_register_session(char *tested, size_t size);
int ct_register_health(char *tested, size_t size);
int ct_register_process(char *tested, size_t size);
/* Note "kind:capability" as tested. */
void ct_tested(char *tested, size_t size, const char *kind, const char *cap);

/* Register the last suite: everything the run wrote is deleted again
   (every document, key and session whose name starts with the run's
   prefix); it fails when something could not be deleted. */
int ct_register_cleanup(void);
/* Remember a name the run uses for a collection (its keys are deleted at
   the end); ct_name() does so for every name it makes. */
void ct_remember(const char *name);

/* Open one more handle on the run's configuration (NULL on failure, with
   the error printed); direct: with the configuration cache off. */
persist *ct_open_handle(int direct);

/* The child side of the cross-process tests (persist-conformance -X ...):
   returns the process exit status. */
int ct_child_main(const char *role, const char *run);

#endif
