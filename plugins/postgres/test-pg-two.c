/*
 * plugins/postgres/test-pg-two.c - two host processes on one database,
 * through the host API: this program forks a child before either opens
 * a handle; the child takes commands on a pipe and reports what its
 * subscribers saw on another.  Checked:
 *   - increments from both processes at once (and several threads in the
 *     parent) sum exactly;
 *   - a broadcast from either reaches the other's subscriber, with the
 *     sender's instance id as origin; a send reaches the process holding
 *     the session, also with a payload over the 8000-byte NOTIFY limit;
 *   - a configuration change in the parent reaches the child's subscriber
 *     within 200 ms (median of 20 changes; each within 1 s, the machine
 *     may be loaded); the times are printed;
 *   - once the child closed, a send to its session answers not found.
 * test-pg-two.sh starts the server and sets PG_CONNINFO.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include "test-pg-util.h"
#include "../../t/lib/cunit-suite.h"

#define INCR_EACH 1500
#define PARENT_THREADS 3
#define ROUNDS 20
#define BIG 20000

static persist *p;
static pid_t child = -1;
static int to_child = -1, from_child = -1;
static char child_instance[600];
static char linebuf[1 << 16];
static size_t linelen;

/* --- the child ------------------------------------------------------- */

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

/* Report a line to the parent. */
static void report(const char *fmt, ...) PERSIST_PRINTF(1, 2);
static void report(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static void child_config_cb(void *ctx, const char *key, const char *etag)
{
	(void)ctx;
	report("cfg %s %s\n", key != NULL ? key : "-", etag != NULL ? etag : "-");
}

static void child_event_cb(void *ctx, const char *origin, const char *session_id,
			   const char *event, const void *data, size_t len)
{
	(void)ctx;
	(void)data;
	report("ev %s %s %zu %s\n", event, session_id != NULL ? session_id : "-", len, origin);
}

/* The child: open, subscribe, obey commands from stdin. */
static int child_main(const char *provider)
{
	struct persist_error err;
	uint64_t id;
	char cmd[256];

	if (t_open(provider, &p, &err) != PERSIST_OK ||
	    persist_config_subscribe(p, NULL, child_config_cb, NULL, &id, &err) != PERSIST_OK ||
	    persist_session_subscribe(p, child_event_cb, NULL, &id, &err) != PERSIST_OK ||
	    persist_session_put(p, "child-session", "{}", 2, 0, &err) != PERSIST_OK) {
		report("fail %s\n", err.msg);
		return 1;
	}
	report("ready %s\n", persist_instance_id(p));
	while (fgets(cmd, sizeof(cmd), stdin) != NULL) {
		int n = 0, bad = 0;
		char ev[128];

		if (sscanf(cmd, "incr %d", &n) == 1) {
			for (int i = 0; i < n; i++)
				if (persist_state_incr(p, "two", "sum", 1, NULL, &err) != PERSIST_OK)
					bad++;
			report("done %d\n", bad);
		} else if (strcmp(cmd, "quit\n") == 0) {
			persist_close(p, NULL);
			report("bye\n");
			return 0;
		} else if (sscanf(cmd, "bcast %127s", ev) == 1) {
			report("sent %d\n", persist_session_broadcast(p, ev, "{\"c\":1}", 7, &err));
		} else {
			break;
		}
	}
	persist_close(p, NULL);
	return 0;
}

/* --- the parent ------------------------------------------------------ */

/* The next line from the child within timeout_ms (pointer into linebuf,
   valid until the next call), or NULL. */
static char *child_line(int timeout_ms)
{
	static size_t consumed;
	int64_t deadline = t_now_ms() + timeout_ms;

	if (consumed > 0) {
		memmove(linebuf, linebuf + consumed, linelen - consumed);
		linelen -= consumed;
		consumed = 0;
	}
	for (;;) {
		char *nl = memchr(linebuf, '\n', linelen);
		struct pollfd pf = { .fd = from_child, .events = POLLIN };
		int64_t left = deadline - t_now_ms();
		ssize_t r;

		if (nl != NULL) {
			*nl = '\0';
			consumed = (size_t)(nl - linebuf) + 1;
			return linebuf;
		}
		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			return NULL;
		r = read(from_child, linebuf + linelen, sizeof(linebuf) - 1 - linelen);
		if (r <= 0)
			return NULL;
		linelen += (size_t)r;
	}
}

/* Wait for a child line starting with prefix; NULL on timeout. */
static char *child_expect(const char *prefix, int timeout_ms)
{
	int64_t deadline = t_now_ms() + timeout_ms;
	char *l;

	while ((l = child_line((int)(deadline - t_now_ms()))) != NULL) {
		if (strncmp(l, prefix, strlen(prefix)) == 0)
			return l;
	}
	return NULL;
}

/* Send a command to the child. */
static void child_cmd(const char *cmd)
{
	ssize_t r = write(to_child, cmd, strlen(cmd));

	CU_ASSERT_EQUAL(r, (ssize_t)strlen(cmd));
}

static void *parent_incr(void *arg)
{
	struct persist_error err;
	int *bad = arg;

	for (int i = 0; i < INCR_EACH; i++)
		if (persist_state_incr(p, "two", "sum", 1, NULL, &err) != PERSIST_OK)
			(*bad)++;
	return NULL;
}

/* Increments from both processes at once sum exactly. */
static void test_increments(void)
{
	struct persist_error err;
	pthread_t th[PARENT_THREADS];
	int bad[PARENT_THREADS] = { 0 }, child_bad = -1;
	char *data = NULL, want[32], *l;

	persist_state_delete(p, "two", "sum", &err);
	child_cmd("incr 3000\n");
	for (int i = 0; i < PARENT_THREADS; i++)
		pthread_create(&th[i], NULL, parent_incr, &bad[i]);
	for (int i = 0; i < PARENT_THREADS; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(bad[i], 0);
	}
	l = child_expect("done ", 60000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	sscanf(l, "done %d", &child_bad);
	CU_ASSERT_EQUAL(child_bad, 0);
	snprintf(want, sizeof(want), "%d", 3000 + PARENT_THREADS * INCR_EACH);
	CU_ASSERT_EQUAL(persist_state_get(p, "two", "sum", &data, NULL, &err), PERSIST_OK);
	CU_ASSERT(data != NULL && strcmp(data, want) == 0);
	printf("\n    sum %s (want %s)\n", data != NULL ? data : "?", want);
	persist_free(data);
}

struct seen {
	pthread_mutex_t lock;
	int count;
	char origin[600];
	size_t len;
};
static struct seen seen = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void parent_event_cb(void *ctx, const char *origin, const char *session_id,
			    const char *event, const void *data, size_t len)
{
	(void)ctx;
	(void)session_id;
	(void)data;
	if (strcmp(event, "ev-c2p") != 0)
		return;
	pthread_mutex_lock(&seen.lock);
	seen.count++;
	snprintf(seen.origin, sizeof(seen.origin), "%s", origin);
	seen.len = len;
	pthread_mutex_unlock(&seen.lock);
}

/* Broadcasts both ways; a big send to the child's session. */
static void test_events(void)
{
	struct persist_error err;
	uint64_t id;
	char *big = malloc(BIG + 1), want[700], *l;
	int got = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	CU_ASSERT_EQUAL(persist_session_subscribe(p, parent_event_cb, NULL, &id, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_session_broadcast(p, "ev-p2c", "{\"p\":1}", 7, &err), PERSIST_OK);
	snprintf(want, sizeof(want), "ev ev-p2c - 7 %s", persist_instance_id(p));
	l = child_expect("ev ev-p2c", 5000);
	CU_ASSERT(l != NULL && strcmp(l, want) == 0);
	child_cmd("bcast ev-c2p\n");
	for (int i = 0; i < 100 && !got; i++) {
		t_sleep_ms(50);
		pthread_mutex_lock(&seen.lock);
		got = seen.count == 1 && strcmp(seen.origin, child_instance) == 0 && seen.len == 7;
		pthread_mutex_unlock(&seen.lock);
	}
	CU_ASSERT(got);
	/* over the NOTIFY limit, to the child's session */
	big[0] = '"';
	for (int i = 1; i < BIG - 1; i++)
		big[i] = (char)('a' + i % 26);
	big[BIG - 1] = '"';
	big[BIG] = '\0';
	CU_ASSERT_EQUAL(persist_session_send(p, "child-session", "ev-big", big, BIG, &err),
			PERSIST_OK);
	snprintf(want, sizeof(want), "ev ev-big child-session %d %s", BIG, persist_instance_id(p));
	l = child_expect("ev ev-big", 5000);
	CU_ASSERT(l != NULL && strcmp(l, want) == 0);
	persist_session_unsubscribe(p, id, &err);
	free(big);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* A configuration change reaches the child's subscriber quickly. */
static void test_config_latency(void)
{
	struct persist_error err;
	int64_t ms[ROUNDS];
	int missed = 0;

	for (int r = 0; r < ROUNDS; r++) {
		char doc[64], etag[PERSIST_ETAG_MAX], want[128], *l;
		int64_t start;

		snprintf(doc, sizeof(doc), "{\"round\":%d}", r);
		start = t_now_ms();
		CU_ASSERT_EQUAL(persist_config_set(p, "two-cfg", doc, strlen(doc), NULL, 0, etag, &err),
				PERSIST_OK);
		snprintf(want, sizeof(want), "cfg two-cfg %s", etag);
		l = child_expect(want, 5000);
		ms[r] = t_now_ms() - start;
		if (l == NULL) {
			missed++;
			ms[r] = 5000;
		}
	}
	qsort(ms, ROUNDS, sizeof(ms[0]), cmp_i64);
	printf("\n    config change -> other process: median %" PRId64 " ms, max %" PRId64
	       " ms, missed %d\n", ms[ROUNDS / 2], ms[ROUNDS - 1], missed);
	CU_ASSERT_EQUAL(missed, 0);
	CU_ASSERT(ms[ROUNDS / 2] < 200);
	CU_ASSERT(ms[ROUNDS - 1] < 1000);
}

/* When the child is gone, its session has no live holder any more: a send
   answers not found and removes the stale registration. */
static void test_holder_gone(void)
{
	struct persist_error err;
	int ret = PERSIST_OK;

	CU_ASSERT_EQUAL(persist_session_send(p, "child-session", "ev", "{}", 2, &err), PERSIST_OK);
	child_cmd("quit\n");
	CU_ASSERT_PTR_NOT_NULL(child_expect("bye", 10000));
	for (int i = 0; i < 100 && ret == PERSIST_OK; i++) {
		ret = persist_session_send(p, "child-session", "ev", "{}", 2, &err);
		if (ret == PERSIST_OK)
			t_sleep_ms(20);
	}
	CU_ASSERT_EQUAL(ret, PERSIST_ENOTFOUND);
	CU_ASSERT_EQUAL(persist_session_drop(p, "child-session", &err), PERSIST_ENOTFOUND);
}

static char provider[1024];

static int suite_init(void)
{
	char *l;

	if (t_open_main("", &p) != 0)
		return 1;
	l = child_expect("ready ", 30000);
	if (l == NULL) {
		fprintf(stderr, "the child did not start\n");
		return 1;
	}
	snprintf(child_instance, sizeof(child_instance), "%s", l + 6);
	return 0;
}

static int suite_clean(void)
{
	persist_close(p, NULL);
	return 0;
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "increments from two processes sum exactly", test_increments },
		{ "broadcasts both ways, a big send", test_events },
		{ "configuration change reaches the other process", test_config_latency },
		{ "a send after the holder is gone: not found", test_holder_gone },
		{ NULL, NULL }
	};
	int in[2], out[2], status = 0, ret;

	t_provider(provider, sizeof(provider), t_env("PG_CONNINFO"), "");
	if (pipe(in) != 0 || pipe(out) != 0)
		return 99;
	child = fork();
	if (child < 0)
		return 99;
	if (child == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		_exit(child_main(provider));
	}
	close(in[0]);
	close(out[1]);
	to_child = in[1];
	from_child = out[0];
	signal(SIGPIPE, SIG_IGN);
	ret = t_cunit_run("postgres-two", suite_init, suite_clean, cases);
	close(to_child);
	waitpid(child, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "the child failed (status %d)\n", status);
		ret = 1;
	}
	return ret;
}
