/*
 * plugins/redis/test-redis-two.c - two host processes on one Redis,
 * through the host API (libpersist): this program (the parent) and a copy
 * of itself started as a child ("child" role, commands on stdin, reports
 * on stdout).  Checked:
 *   - increments from both processes at once sum exactly;
 *   - a broadcast from one reaches the other's subscriber (both ways),
 *     with the sender's instance id as origin, and a send reaches the
 *     process holding the session;
 *   - a session registered in one is listed in the other, with its holder;
 *   - a configuration change in one reaches the other's subscriber; the
 *     time it takes is printed (median and maximum of 20 changes) and
 *     asserted against a generous deadline (the 100 ms figure belongs to
 *     bench/redis.mk, not to a test).
 * test-redis-two.sh starts the redis-server and sets REDIS_URL.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <CUnit/Basic.h>
#include <persist/persist.h>

#define CHILD_MS 30000
#define INCR_EACH 2000
#define INCR_THREADS 4
#define NOTIFY_ROUNDS 20
#define NOTIFY_DEADLINE_MS 2000

static char config_json[1024];
static persist *p;
static pid_t child = -1;
static FILE *to_child;
static int from_child = -1;
static char child_instance[256];
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

/* Wall clock in microseconds (both processes share it). */
static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Open a handle on the redis test server. */
static persist *open_handle(void)
{
	struct persist_error err;
	persist *h = NULL;

	if (persist_open_json(config_json, NULL, &h, &err) != PERSIST_OK) {
		fprintf(stderr, "test-redis-two: open failed: %s\n", err.msg);
		return NULL;
	}
	return h;
}

/* --- the child ------------------------------------------------------- */

/* Child: print one line to the parent (from any thread). */
static void child_say(const char *fmt, ...) PERSIST_PRINTF(1, 2);
static void child_say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

/* Child: a configuration change arrived. */
static void child_config_cb(void *ctx, const char *key, const char *etag)
{
	int64_t t = now_us();

	(void)ctx;
	if (key != NULL)
		child_say("config %s %s %" PRId64, key, etag != NULL ? etag : "-", t);
}

/* Child: a session event arrived. */
static void child_event_cb(void *ctx, const char *origin, const char *session_id,
			   const char *event, const void *data, size_t len)
{
	(void)ctx;
	child_say("event %s %s %s %.*s", event, origin,
		  session_id != NULL ? session_id : "-", (int)len, (const char *)data);
}

/* Child and parent: arg increments of "two"/"n" through this process's
   handle p, in one thread; the number that failed. */
static void *incr_thread(void *arg)
{
	struct persist_error err;
	intptr_t fails = 0;
	int n = (int)(intptr_t)arg;

	for (int i = 0; i < n; i++)
		if (persist_state_incr(p, "two", "n", 1, NULL, &err) != PERSIST_OK)
			fails++;
	return (void *)fails;
}

/* Child: run commands from stdin until "quit". */
static int child_main(void)
{
	struct persist_error err;
	uint64_t id1, id2;
	char line[512];

	setvbuf(stdout, NULL, _IOLBF, 0);
	p = open_handle();
	if (p == NULL)
		return 1;
	if (persist_config_subscribe(p, NULL, child_config_cb, NULL, &id1, &err) != PERSIST_OK ||
	    persist_session_subscribe(p, child_event_cb, NULL, &id2, &err) != PERSIST_OK ||
	    persist_session_put(p, "child-sess", "{\"who\":\"child\"}", 15, 0, &err) != PERSIST_OK) {
		fprintf(stderr, "child: %s\n", err.msg);
		return 1;
	}
	child_say("ready %s", persist_instance_id(p));
	while (fgets(line, sizeof(line), stdin) != NULL) {
		char arg[256] = "";

		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, "quit") == 0)
			break;
		if (sscanf(line, "list %255s", arg) == 1) {
			struct persist_entry *e = NULL;
			size_t n = 0;
			const char *holder = NULL;

			if (persist_session_list(p, &e, &n, &err) != PERSIST_OK) {
				child_say("error %s", err.msg);
				continue;
			}
			for (size_t i = 0; i < n; i++)
				if (strcmp(e[i].key, arg) == 0)
					holder = e[i].instance;
			child_say("listed %s", holder != NULL ? holder : "-");
			persist_items_free(e, n);
		} else if (sscanf(line, "bcast %255s", arg) == 1) {
			int ret = persist_session_broadcast(p, arg, "{\"from\":\"child\"}",
							    16, &err);

			child_say("bcast-done %d", ret);
		} else if (sscanf(line, "incr %255s", arg) == 1) {
			pthread_t t[INCR_THREADS];
			intptr_t fails = 0;
			int n = atoi(arg);

			child_say("incr-started");
			for (int i = 0; i < INCR_THREADS; i++)
				pthread_create(&t[i], NULL, incr_thread,
					       (void *)(intptr_t)(n / INCR_THREADS));
			for (int i = 0; i < INCR_THREADS; i++) {
				void *r;

				pthread_join(t[i], &r);
				fails += (intptr_t)r;
			}
			child_say("incr-done %d", (int)fails);
		}
	}
	persist_session_drop(p, "child-sess", &err);
	persist_config_unsubscribe(p, id1, &err);
	persist_session_unsubscribe(p, id2, &err);
	return persist_close(p, &err) == PERSIST_OK ? 0 : 1;
}

/* --- the parent ------------------------------------------------------ */

/* Read one line from the child within timeout_ms; 0 on success. */
static int child_read(char *buf, size_t size, int timeout_ms)
{
	int64_t deadline = now_us() / 1000 + timeout_ms;
	size_t used = 0;

	while (used + 1 < size) {
		struct pollfd pf = { .fd = from_child, .events = POLLIN };
		int64_t left = deadline - now_us() / 1000;
		char c;

		if (left <= 0 || poll(&pf, 1, (int)left) <= 0 ||
		    read(from_child, &c, 1) != 1)
			return -1;
		if (c == '\n')
			break;
		buf[used++] = c;
	}
	buf[used] = '\0';
	return 0;
}

/* Read lines until one starts with prefix (others are skipped: events
   may interleave); 0 on success. */
static int child_expect(const char *prefix, char *buf, size_t size,
			int timeout_ms)
{
	int64_t deadline = now_us() / 1000 + timeout_ms;

	for (;;) {
		int64_t left = deadline - now_us() / 1000;

		if (left <= 0 || child_read(buf, size, (int)left) < 0) {
			fprintf(stderr, "no \"%s\" from the child\n", prefix);
			return -1;
		}
		if (strncmp(buf, prefix, strlen(prefix)) == 0)
			return 0;
	}
}

/* Start the child (this program, role "child"). */
static int child_start(void)
{
	int in[2], out[2];
	char exe[4096], line[512];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (len <= 0 || pipe(in) != 0 || pipe(out) != 0)
		return -1;
	exe[len] = '\0';
	fflush(stdout);
	child = fork();
	if (child == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execl(exe, exe, "child", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	to_child = fdopen(in[1], "w");
	from_child = out[0];
	if (child < 0 || to_child == NULL)
		return -1;
	setvbuf(to_child, NULL, _IOLBF, 0);
	if (child_expect("ready ", line, sizeof(line), CHILD_MS) < 0)
		return -1;
	snprintf(child_instance, sizeof(child_instance), "%s", line + 6);
	return 0;
}

/* Tell the child to quit and reap it; its exit status. */
static int child_stop(void)
{
	int status = -1;

	if (child <= 0)
		return -1;
	fprintf(to_child, "quit\n");
	fflush(to_child);
	for (int i = 0; i < CHILD_MS / 10; i++) {
		if (waitpid(child, &status, WNOHANG) == child)
			break;
		usleep(10000);
		if (i == CHILD_MS / 10 - 1) {
			kill(child, SIGKILL);
			waitpid(child, &status, 0);
		}
	}
	fclose(to_child);
	close(from_child);
	child = -1;
	return status;
}

/* Sessions: each process lists the other's session with its holder. */
static void test_sessions(void)
{
	struct persist_entry *e = NULL;
	struct persist_error err;
	char line[512];
	size_t n = 0;
	int seen = 0;

	CU_ASSERT_EQUAL_FATAL(persist_session_put(p, "parent-sess", "{}", 2, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_session_list(p, &e, &n, &err), PERSIST_OK);
	for (size_t i = 0; i < n; i++)
		if (strcmp(e[i].key, "child-sess") == 0 && e[i].instance != NULL &&
		    strcmp(e[i].instance, child_instance) == 0 && e[i].value != NULL &&
		    strcmp(e[i].value, "{\"who\":\"child\"}") == 0)
			seen = 1;
	persist_items_free(e, n);
	CU_ASSERT(seen);
	fprintf(to_child, "list parent-sess\n");
	CU_ASSERT(child_expect("listed ", line, sizeof(line), CHILD_MS) == 0 &&
		  strcmp(line + 7, persist_instance_id(p)) == 0);
}

struct parent_events {
	pthread_mutex_t lock;
	int got_child_bcast;
	char origin[256];
};
static struct parent_events pev = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Parent: a session event arrived. */
static void parent_event_cb(void *ctx, const char *origin, const char *session_id,
			    const char *event, const void *data, size_t len)
{
	(void)ctx;
	(void)session_id;
	(void)data;
	(void)len;
	if (strcmp(event, "from-child") == 0) {
		pthread_mutex_lock(&pev.lock);
		pev.got_child_bcast++;
		snprintf(pev.origin, sizeof(pev.origin), "%s", origin);
		pthread_mutex_unlock(&pev.lock);
	}
}

/* Broadcasts both ways, and a send to the child's session. */
static void test_broadcast(void)
{
	struct persist_error err;
	uint64_t id = 0;
	char line[512], want[600];
	int got = 0;

	CU_ASSERT_EQUAL_FATAL(persist_session_subscribe(p, parent_event_cb, NULL, &id, &err),
			      PERSIST_OK);
	CU_ASSERT_EQUAL(persist_session_broadcast(p, "from-parent", "{\"n\":1}", 7, &err),
			PERSIST_OK);
	snprintf(want, sizeof(want), "event from-parent %s - {\"n\":1}",
		 persist_instance_id(p));
	CU_ASSERT(child_expect("event from-parent", line, sizeof(line), CHILD_MS) == 0 &&
		  strcmp(line, want) == 0);
	CU_ASSERT_EQUAL(persist_session_send(p, "child-sess", "direct", "{}", 2, &err),
			PERSIST_OK);
	snprintf(want, sizeof(want), "event direct %s child-sess {}", persist_instance_id(p));
	CU_ASSERT(child_expect("event direct", line, sizeof(line), CHILD_MS) == 0 &&
		  strcmp(line, want) == 0);
	fprintf(to_child, "bcast from-child\n");
	CU_ASSERT(child_expect("bcast-done 0", line, sizeof(line), CHILD_MS) == 0);
	for (int i = 0; i < CHILD_MS / 10 && !got; i++) {
		pthread_mutex_lock(&pev.lock);
		got = pev.got_child_bcast;
		pthread_mutex_unlock(&pev.lock);
		if (!got)
			usleep(10000);
	}
	CU_ASSERT(got == 1);
	CU_ASSERT_STRING_EQUAL(pev.origin, child_instance);
	CU_ASSERT_EQUAL(persist_session_unsubscribe(p, id, &err), PERSIST_OK);
}

/* Sort helper for latencies. */
static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Configuration changes reach the other process; print how fast. */
static void test_config_notify(void)
{
	struct persist_error err;
	int64_t lat[NOTIFY_ROUNDS];
	int ok = 0;

	for (int i = 0; i < NOTIFY_ROUNDS; i++) {
		char doc[64], etag[PERSIST_ETAG_MAX], line[512], want[256];
		int len = snprintf(doc, sizeof(doc), "{\"round\":%d}", i);
		int64_t t0 = now_us(), t1 = 0;

		CU_ASSERT_EQUAL_FATAL(persist_config_set(p, "two-doc", doc, (size_t)len, NULL,
							 0, etag, &err), PERSIST_OK);
		snprintf(want, sizeof(want), "config two-doc %s ", etag);
		if (child_expect(want, line, sizeof(line), NOTIFY_DEADLINE_MS) == 0 &&
		    sscanf(line + strlen(want), "%" SCNd64, &t1) == 1) {
			lat[ok++] = t1 - t0;
		}
	}
	CU_ASSERT_EQUAL(ok, NOTIFY_ROUNDS);
	if (ok > 0) {
		qsort(lat, (size_t)ok, sizeof(lat[0]), cmp_i64);
		printf("\n    config change -> other process's subscriber: median %.3f ms, "
		       "max %.3f ms over %d changes\n", lat[ok / 2] / 1000.0,
		       lat[ok - 1] / 1000.0, ok);
		CU_ASSERT(lat[ok - 1] < NOTIFY_DEADLINE_MS * 1000);
	}
	persist_config_delete(p, "two-doc", NULL, &err);
}

/* Increments from both processes at once sum exactly. */
static void test_incr_sum(void)
{
	struct persist_error err;
	pthread_t t[INCR_THREADS];
	intptr_t fails = 0;
	int64_t before = 0, after = 0;
	char line[512];

	CU_ASSERT_EQUAL(persist_state_incr(p, "two", "n", 0, &before, &err), PERSIST_OK);
	fprintf(to_child, "incr %d\n", INCR_EACH);
	CU_ASSERT_FATAL(child_expect("incr-started", line, sizeof(line), CHILD_MS) == 0);
	for (int i = 0; i < INCR_THREADS; i++)
		pthread_create(&t[i], NULL, incr_thread,
			       (void *)(intptr_t)(INCR_EACH / INCR_THREADS));
	for (int i = 0; i < INCR_THREADS; i++) {
		void *r;

		pthread_join(t[i], &r);
		fails += (intptr_t)r;
	}
	CU_ASSERT_EQUAL(fails, 0);
	CU_ASSERT(child_expect("incr-done", line, sizeof(line), CHILD_MS) == 0 &&
		  strcmp(line, "incr-done 0") == 0);
	CU_ASSERT_EQUAL(persist_state_incr(p, "two", "n", 0, &after, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(after - before, 2 * INCR_EACH);
	printf("\n    counter went from %" PRId64 " to %" PRId64 " (%d increments, "
	       "half from each process)\n", before, after, 2 * INCR_EACH);
}

/* Parent: open, start the child, run the suite; child: child_main(). */
int main(int argc, char **argv)
{
	const char *url = getenv("REDIS_URL");
	unsigned fails;
	CU_pSuite s;
	int status;

	if (url == NULL) {
		fprintf(stderr, "REDIS_URL is not set (run test-redis-two.sh)\n");
		return 99;
	}
	snprintf(config_json, sizeof(config_json),
		 "{\"persistence\":{"
		 "\"configuration\":{\"provider\":\"redis\",\"config\":{\"url\":\"%s\",\"cacheTTL\":0}},"
		 "\"state\":{\"provider\":\"redis\",\"config\":{\"url\":\"%s\"}},"
		 "\"sessions\":{\"provider\":\"redis\",\"config\":{\"url\":\"%s\"}}}}",
		 url, url, url);
	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return child_main();

	p = open_handle();
	if (p == NULL || child_start() < 0) {
		fprintf(stderr, "test-redis-two: cannot set up the two processes\n");
		return 99;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	s = CU_add_suite("redis: two processes", NULL, NULL);
	CU_add_test(s, "sessions listed across processes", test_sessions);
	CU_add_test(s, "broadcast and send across processes", test_broadcast);
	CU_add_test(s, "config change reaches the other process", test_config_notify);
	CU_add_test(s, "increments from both sum exactly", test_incr_sum);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	status = child_stop();
	if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "test-redis-two: the child failed (status %d)\n", status);
		fails++;
	}
	{
		struct persist_error err;

		persist_session_drop(p, "parent-sess", &err);
		if (persist_close(p, &err) != PERSIST_OK) {
			fprintf(stderr, "test-redis-two: close: %s\n", err.msg);
			fails++;
		}
	}
	return fails ? 1 : 0;
}
