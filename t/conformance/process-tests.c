/*
 * t/conformance/process-tests.c - capabilities that involve other
 * processes: SHARED (another process's writes are visible), DURABLE
 * (acknowledged writes survive a process killed without closing; a
 * collection dropped under another process is gone for it too; the
 * collections another process wrote or dropped are listed as such) and
 * BROADCAST (session events cross process boundaries).
 *
 * The other process is this program again, started with the hidden option
 * -X ROLE and the same provider arguments; ct_child_main() is its side.
 * It is a fresh process (fork + exec), so nothing of the parent's threads
 * or handles leaks into it.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "conformance.h"

/* How long a child may take (start-up under valgrind is slow). */
#define CT_CHILD_MS 60000

/* Names the parent and the child agree on (derived from the run). */
#define XP_DOC "config"
#define XP_COLL "state"
#define XP_SESSION "xp-session"
#define XP_BCAST "xp-bcast"
#define XP_SEND "xp-send"
#define XP_REPLY "xp-reply"

/* The name of a writer child's document or collection: each role writes
   its own, so that the tests do not see each other's data. */
static const char *xp_name(const char *role, const char *what)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "xp-%s-%s", role, what);
	return ct_name(buf);
}

/* Start this program as a child in `role`; its stdout to *out_fd and its
   stdin from *in_fd when not NULL.  Returns the pid or -1. */
static pid_t ct_spawn(const char *role, int *out_fd, int *in_fd)
{
	char exe[4096];
	const char **argv;
	size_t argc = 0;
	ssize_t len;
	int fds[2] = { -1, -1 }, ins[2] = { -1, -1 };
	pid_t pid;

	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0) {
		printf("\n    cannot find this program: %s\n", strerror(errno));
		return -1;
	}
	exe[len] = '\0';
	argv = calloc(8 + 2 * ct.n_dirs + 2 * PERSIST_KIND_COUNT_, sizeof(*argv));
	if (argv == NULL)
		return -1;
	argv[argc++] = exe;
	argv[argc++] = "-X";
	argv[argc++] = role;
	argv[argc++] = "-R";
	argv[argc++] = ct.run;
	for (size_t i = 0; i < ct.n_dirs; i++) {
		argv[argc++] = "-P";
		argv[argc++] = ct.dirs[i];
	}
	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		if (ct.kind_config[k] != NULL) {
			argv[argc++] = "-c";
			argv[argc++] = ct.kind_arg[k];
		}
	}
	argv[argc++] = ct.module != NULL ? ct.module : ct.plugin;
	argv[argc++] = ct.config_json;
	argv[argc] = NULL;
	if ((out_fd != NULL && pipe(fds) != 0) || (in_fd != NULL && pipe(ins) != 0)) {
		if (fds[0] >= 0) {
			close(fds[0]);
			close(fds[1]);
		}
		free(argv);
		return -1;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (fds[1] >= 0) {
			dup2(fds[1], STDOUT_FILENO);
			close(fds[0]);
			close(fds[1]);
		}
		if (ins[0] >= 0) {
			dup2(ins[0], STDIN_FILENO);
			close(ins[0]);
			close(ins[1]);
		}
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	free(argv);
	if (fds[1] >= 0)
		close(fds[1]);
	if (ins[0] >= 0)
		close(ins[0]);
	if (pid < 0) {
		if (fds[0] >= 0)
			close(fds[0]);
		if (ins[1] >= 0)
			close(ins[1]);
		return -1;
	}
	if (out_fd != NULL)
		*out_fd = fds[0];
	if (in_fd != NULL)
		*in_fd = ins[1];
	return pid;
}

/* Wait for a child; its wait status, or -1 after killing it on timeout. */
static int ct_reap(pid_t pid, int64_t timeout_ms)
{
	int64_t deadline = ct_now_ms() + timeout_ms;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (ct_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			printf("\n    child %d timed out\n", (int)pid);
			return -1;
		}
		ct_sleep_ms(20);
	}
}

/* Read one line (without newline) from fd within timeout; 0 on success. */
static int ct_read_line(int fd, char *buf, size_t size, int64_t timeout_ms)
{
	int64_t deadline = ct_now_ms() + timeout_ms;
	size_t used = 0;

	while (used + 1 < size) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - ct_now_ms();
		char c;
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		r = read(fd, &c, 1);
		if (r <= 0)
			return -1;
		if (c == '\n')
			break;
		buf[used++] = c;
	}
	buf[used] = '\0';
	return 0;
}

/* Check what a writer child left, through handle p, for the kinds whose
   caps have `cap`. */
static void ct_check_child_writes(persist *p, uint64_t cap, const char *role)
{
	struct persist_error err;
	char *data = NULL;
	size_t len = 0;

	if (ct.has_kind[PERSIST_KIND_CONFIG] && (ct.caps[PERSIST_KIND_CONFIG] & cap)) {
		CT_OK(persist_config_get(p, xp_name(role, XP_DOC), &data, &len, NULL, &err), &err);
		CT_EXPECT_BYTES(data, len, "{\"from\":\"child\"}", 16);
		persist_free(data);
		data = NULL;
		persist_config_delete(p, xp_name(role, XP_DOC), NULL, &err);
	}
	if (ct.has_kind[PERSIST_KIND_STATE] && (ct.caps[PERSIST_KIND_STATE] & cap)) {
		CT_OK(persist_state_get(p, xp_name(role, XP_COLL), "k", &data, &len, &err), &err);
		CT_EXPECT_BYTES(data, len, "child", 5);
		persist_free(data);
		data = NULL;
		CT_OK(persist_state_get(p, xp_name(role, XP_COLL), "n", &data, &len, &err), &err);
		CT_EXPECT_BYTES(data, len, "7", 1);
		persist_free(data);
		if (ct.caps[PERSIST_KIND_STATE] & PERSIST_CAP_APPEND_LOG) {
			struct persist_entry *e = NULL;
			size_t n = 0;

			CT_OK(persist_state_read_log(p, xp_name(role, XP_COLL), 0, 0, &e, &n, NULL, &err),
			      &err);
			CT_EQ(n, 1);
			if (n == 1)
				CT_EXPECT_BYTES(e[0].value, e[0].len, "{\"child\":1}", 11);
			persist_items_free(e, n);
		}
		persist_state_delete(p, xp_name(role, XP_COLL), "k", &err);
		persist_state_delete(p, xp_name(role, XP_COLL), "n", &err);
	}
}

/* SHARED: what another process wrote (and closed) is visible here. */
static void test_shared(void)
{
	pid_t pid = ct_spawn("write", NULL, NULL);
	int status;

	CU_ASSERT_FATAL(pid > 0);
	status = ct_reap(pid, CT_CHILD_MS);
	CT_TRUE(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ct_check_child_writes(ct.a, PERSIST_CAP_SHARED, "write");
}

/* DURABLE: what another process wrote survives its being killed. */
static void test_durable(void)
{
	pid_t pid = ct_spawn("crash", NULL, NULL);
	persist *p;
	int status;

	CU_ASSERT_FATAL(pid > 0);
	status = ct_reap(pid, CT_CHILD_MS);
	CT_TRUE(status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	p = ct_open_handle(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	ct_check_child_writes(p, PERSIST_CAP_DURABLE, "crash");
	CT_OK(persist_close(p, NULL), NULL);
}

/* A child process holds a session (SHARED: it is listed here, held by
   another instance) and, with `events` (BROADCAST), receives a broadcast
   and a send from here and broadcasts a reply that arrives here. */
static void ct_session_process(int events)
{
	char *session = ct_name_dup(XP_SESSION), *bcast = ct_name_dup(XP_BCAST);
	char *send = ct_name_dup(XP_SEND), *reply = ct_name_dup(XP_REPLY);
	struct ct_recorder rec;
	struct persist_entry *e = NULL;
	struct persist_error err;
	uint64_t id = 0;
	char line[256];
	int fd = -1, in = -1, status, ready, seen = 0;
	size_t n = 0;
	pid_t pid;
	long i;

	ct_recorder_init(&rec);
	CT_OK(persist_session_subscribe(ct.a, ct_event_cb, &rec, &id, &err), &err);
	pid = ct_spawn(events ? "listen" : "hold", &fd, &in);
	CU_ASSERT_FATAL(pid > 0);
	ready = ct_read_line(fd, line, sizeof(line), CT_CHILD_MS) == 0 &&
		strcmp(line, "ready") == 0;
	CT_TRUE(ready);
	if (ready) {
		/* the child's session is listed, held by another instance */
		CT_OK(persist_session_list(ct.a, &e, &n, &err), &err);
		for (size_t j = 0; j < n; j++) {
			if (e[j].key != NULL && strcmp(e[j].key, session) == 0 &&
			    e[j].instance != NULL &&
			    strcmp(e[j].instance, persist_instance_id(ct.a)) != 0 &&
			    strcmp(e[j].instance, persist_instance_id(ct.b)) != 0)
				seen = 1;
		}
		persist_items_free(e, n);
		CT_TRUE(seen);
	}
	if (ready && events) {
		CT_OK(persist_session_broadcast(ct.a, bcast, "{\"p\":1}", 7, &err), &err);
		CT_OK(persist_session_send(ct.a, session, send, "{\"p\":2}", 7, &err), &err);
		CT_TRUE(ct_read_line(fd, line, sizeof(line), CT_CHILD_MS) == 0 &&
			  strcmp(line, "got broadcast") == 0);
		CT_TRUE(ct_read_line(fd, line, sizeof(line), CT_CHILD_MS) == 0 &&
			  strcmp(line, "got send") == 0);
		i = ct_wait_event(&rec, 0, reply, NULL, CT_CHILD_MS);
		CT_TRUE(i >= 0);
		if (i >= 0) {
			const struct ct_event *ev = ct_recorder_get(&rec, (size_t)i);

			CT_TRUE(ev->origin != NULL &&
				  strcmp(ev->origin, persist_instance_id(ct.a)) != 0);
			CT_EXPECT_BYTES(ev->data, ev->len, "{\"child\":1}", 11);
		}
	}
	close(in); /* EOF: a holding child drops its session and ends */
	status = ct_reap(pid, CT_CHILD_MS);
	CT_TRUE(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
	CT_OK(persist_session_unsubscribe(ct.a, id, &err), &err);
	ct_recorder_free(&rec);
	free(session);
	free(bcast);
	free(send);
	free(reply);
}

/* BROADCAST: a process that holds a session and is killed (it cannot
   drop it) leaves no session that swallows events: a send to it answers
   not found, and the session is no longer listed. */
static void test_send_killed_holder(void)
{
	char *session = ct_name_dup(XP_SESSION), *send = ct_name_dup(XP_SEND);
	struct persist_error err;
	char line[256];
	int fd = -1, in = -1, ret = PERSIST_OK;
	int64_t deadline;
	pid_t pid;

	pid = ct_spawn("hold", &fd, &in);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT(ct_read_line(fd, line, sizeof(line), CT_CHILD_MS) == 0 &&
		  strcmp(line, "ready") == 0);
	CT_OK(persist_session_send(ct.a, session, send, "{}", 2, &err), &err);
	kill(pid, SIGKILL);
	ct_reap(pid, CT_CHILD_MS);
	close(in);
	close(fd);
	deadline = ct_now_ms() + CT_WAIT_MS;
	do {
		ret = persist_session_send(ct.a, session, send, "{}", 2, &err);
		if (ret == PERSIST_OK)
			ct_sleep_ms(20);
	} while (ret == PERSIST_OK && ct_now_ms() < deadline);
	CT_EXPECT(ret, PERSIST_ENOTFOUND, &err);
	CU_ASSERT(ret != PERSIST_ENOTFOUND || strstr(err.msg, session) != NULL);
	CT_EXPECT(persist_session_drop(ct.b, session, &err), PERSIST_ENOTFOUND, &err);
	free(session);
	free(send);
}

/* SHARED state with drop: a collection dropped while another process
   has it open (and has read and written it) is gone for that process
   too; its next writes start a fresh collection (a counter from 0, a
   log numbered from 0) that this process sees. */
static void test_drop_process(void)
{
	const char *c = xp_name("dropw", XP_COLL);
	int log = (ct.caps[PERSIST_KIND_STATE] & PERSIST_CAP_APPEND_LOG) != 0;
	struct persist_entry *e = NULL;
	struct persist_error err;
	char line[256], want[64], *data = NULL;
	int fd = -1, in = -1, status, ret;
	size_t n = 0, len = 0;
	pid_t pid;

	pid = ct_spawn("dropw", &fd, &in);
	CU_ASSERT_FATAL(pid > 0);
	CT_TRUE(ct_read_line(fd, line, sizeof(line), CT_CHILD_MS) == 0 &&
		strcmp(line, "ready") == 0);
	ret = persist_state_drop(ct.a, c, &err);
	if (ret == PERSIST_ENOTSUP) {
		printf("\n    the provider has no drop (optional since ABI 1.1)\n");
	} else {
		CT_OK(ret, &err);
		CT_TRUE(write(in, "go\n", 3) == 3);
		snprintf(want, sizeof(want), "ok 1 %d", log ? 0 : -1);
		CT_TRUE(ct_read_line(fd, line, sizeof(line), CT_CHILD_MS) == 0);
		CT_CHECK(strcmp(line, want) == 0, "the writing process after the drop: "
			 "expected \"%s\" (its counter from 0, its log from record 0), got "
			 "\"%s\"", want, line);
	}
	close(in);
	status = ct_reap(pid, CT_CHILD_MS);
	CT_TRUE(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
	if (ret != PERSIST_OK)
		return;
	CT_EXPECT(persist_state_get(ct.a, c, "k", &data, &len, &err), PERSIST_ENOTFOUND, &err);
	CT_OK(persist_state_get(ct.b, c, "n", &data, &len, &err), &err);
	CT_EXPECT_BYTES(data, len, "1", 1);
	persist_free(data);
	if (log) {
		CT_OK(persist_state_read_log(ct.a, c, 0, 0, &e, &n, NULL, &err), &err);
		CT_EQ(n, 1);
		if (n == 1) {
			CT_EQ(e[0].index, 0);
			CT_EXPECT_BYTES(e[0].value, e[0].len, "{\"after\":1}", 11);
		}
		persist_items_free(e, n);
	}
	CT_OK(persist_state_drop(ct.a, c, &err), &err);
}

/* SHARED state with batch_once: a batch id this process applied is
   refused to another process (applied before, nothing applied), and
   that process's own new id applies. */
static void test_batch_once_process(void)
{
	const char *c = xp_name("oncew", XP_COLL);
	struct persist_op op = { .type = PERSIST_OP_INCR, .collection = c, .key = "n",
				 .delta = 3 };
	struct persist_error err;
	char line[256], id[96], *data = NULL;
	int fd = -1, status, before = -1, ret;
	size_t len = 0;
	pid_t pid;

	snprintf(id, sizeof(id), "%s:xp-once", ct.run);
	ret = persist_state_batch_once(ct.a, id, &op, 1, &before, &err);
	if (ret == PERSIST_ENOTSUP) {
		printf("\n    the provider has no batch_once (optional since ABI 1.2)\n");
		return;
	}
	CT_OK(ret, &err);
	pid = ct_spawn("oncew", &fd, NULL);
	CU_ASSERT_FATAL(pid > 0);
	CT_TRUE(ct_read_line(fd, line, sizeof(line), CT_CHILD_MS) == 0);
	CT_CHECK(strcmp(line, "ok 1 0") == 0, "another process's batch_once: expected "
		 "\"ok 1 0\" (this process's id applied before, its own new id applied), "
		 "got \"%s\"", line);
	status = ct_reap(pid, CT_CHILD_MS);
	CT_TRUE(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
	/* 3 from here, 3 from the child's own id, nothing from its repeat */
	CT_OK(persist_state_get(ct.b, c, "n", &data, &len, &err), &err);
	CT_EXPECT_BYTES(data, len, "6", 1);
	persist_free(data);
	persist_state_delete(ct.a, c, "n", &err);
}

/* How many times the listing of collections through p names each of
   c1 and c2 (-1 each when the listing fails; ENOTSUP in *ret_r). */
static void ct_count_listed(persist *p, const char *c1, const char *c2,
			    int *n1_r, int *n2_r, int *ret_r,
			    struct persist_error *err)
{
	struct persist_entry *e = NULL;
	size_t n = 0;

	*n1_r = *n2_r = -1;
	*ret_r = persist_state_collections(p, &e, &n, err);
	if (*ret_r != PERSIST_OK)
		return;
	*n1_r = *n2_r = 0;
	for (size_t i = 0; i < n; i++) {
		*n1_r += e[i].key != NULL && strcmp(e[i].key, c1) == 0;
		*n2_r += e[i].key != NULL && strcmp(e[i].key, c2) == 0;
	}
	persist_items_free(e, n);
}

/* SHARED state with collections: the collection another process wrote is
   listed here, and this process's collections (and its drop) are seen by
   another process's listing. */
static void test_collections_process(void)
{
	const char *cw = xp_name("colw", XP_COLL), *cp = xp_name("colp", XP_COLL);
	char child_coll[128], parent_coll[128], line[256], want[64];
	struct persist_error err;
	int status, n1, n2, ret, dropped;
	int fd = -1;
	pid_t pid;

	snprintf(child_coll, sizeof(child_coll), "%s", cw);
	snprintf(parent_coll, sizeof(parent_coll), "%s", cp);
	pid = ct_spawn("colw", NULL, NULL);
	CU_ASSERT_FATAL(pid > 0);
	status = ct_reap(pid, CT_CHILD_MS);
	CT_TRUE(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (ct.has_kind[PERSIST_KIND_CONFIG])
		persist_config_delete(ct.a, xp_name("colw", XP_DOC), NULL, &err);
	ct_count_listed(ct.a, child_coll, parent_coll, &n1, &n2, &ret, &err);
	if (ret == PERSIST_ENOTSUP) {
		printf("\n    the provider has no collections (optional since ABI 1.3)\n");
		return;
	}
	CT_OK(ret, &err);
	CT_CHECK(n1 == 1, "collections: \"%s\", written by another process, listed "
		 "%d times here, expected once", child_coll, n1);
	/* this process writes one and drops the other's */
	CT_OK(persist_state_set(ct.a, parent_coll, "k", "parent", 6, 0, &err), &err);
	ret = persist_state_drop(ct.a, child_coll, &err);
	dropped = ret == PERSIST_OK;
	if (ret != PERSIST_ENOTSUP)
		CT_OK(ret, &err);
	pid = ct_spawn("colls", &fd, NULL);
	CU_ASSERT_FATAL(pid > 0);
	CT_TRUE(ct_read_line(fd, line, sizeof(line), CT_CHILD_MS) == 0);
	snprintf(want, sizeof(want), "ok %d 1", dropped ? 0 : 1);
	CT_CHECK(strcmp(line, want) == 0, "another process's listing of collections: "
		 "expected \"%s\" (\"%s\" %s, \"%s\" written here listed once), got \"%s\"",
		 want, child_coll, dropped ? "dropped here not listed" : "listed once",
		 parent_coll, line);
	status = ct_reap(pid, CT_CHILD_MS);
	CT_TRUE(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
	persist_state_delete(ct.a, parent_coll, "k", &err);
	if (!dropped) {
		persist_state_delete(ct.a, child_coll, "k", &err);
		persist_state_delete(ct.a, child_coll, "n", &err);
	}
}

/* SHARED sessions: another process's session is listed here. */
static void test_sessions_shared(void)
{
	ct_session_process(0);
}

/* BROADCAST: events to and from another process. */
static void test_broadcast_processes(void)
{
	ct_session_process(1);
}

/* Register the cross-process tests for the capabilities claimed. */
int ct_register_process(char *tested, size_t size)
{
	static const char *const kinds[] = { "config", "state", "sessions" };
	static const struct ct_test t_shared = {
		PERSIST_CAP_SHARED, "another process's writes", test_shared, "process.shared",
		"Processes", "what another process wrote and closed is visible here",
	}, t_durable = {
		PERSIST_CAP_DURABLE, "writes survive a killed process", test_durable,
		"process.durable", "Processes",
		"what another process wrote survives its being killed without closing",
	}, t_broadcast = {
		PERSIST_CAP_BROADCAST, "events between processes", test_broadcast_processes,
		"process.broadcast", "Processes",
		"session events and the registry reach other processes",
	}, t_send_killed = {
		PERSIST_CAP_BROADCAST, "send to a killed holder", test_send_killed_holder,
		"process.send-killed", "Sessions",
		"a send to a session whose holder process was killed answers not found",
	}, t_drop = {
		PERSIST_CAP_SHARED, "drop while another process writes", test_drop_process,
		"process.drop", "Dropping and trimming (drop, trim_log, log_bounds: optional, since 1.1)",
		"a collection dropped while another process uses it is gone for that process "
		"too: its next writes start a fresh collection",
	}, t_once = {
		PERSIST_CAP_SHARED, "batch ids across processes", test_batch_once_process,
		"process.batch-once", "Exactly-once batches (batch_once: optional, since 1.2)",
		"a batch id applied by one process is applied before for another: "
		"nothing is applied twice",
	}, t_collections = {
		PERSIST_CAP_SHARED, "collections across processes", test_collections_process,
		"process.collections", "Enumeration (collections: optional, since 1.3)",
		"the collections another process wrote are listed here, and a collection "
		"dropped here is not listed by another process",
	}, t_sessions_shared = {
		PERSIST_CAP_SHARED, "another process's session", test_sessions_shared,
		"process.sessions", "Processes", "another process's session is listed here",
	};
	int shared = 0, durable = 0;
	CU_pSuite s;

	for (int k = 0; k < PERSIST_KIND_SESSION; k++) {
		if (!ct.has_kind[k])
			continue;
		if (ct.caps[k] & PERSIST_CAP_SHARED) {
			shared = 1;
			ct_tested(tested, size, kinds[k], "shared");
		}
		if (ct.caps[k] & PERSIST_CAP_DURABLE) {
			durable = 1;
			ct_tested(tested, size, kinds[k], "durable");
		}
	}
	if (shared) {
		s = CU_add_suite("process:shared", NULL, NULL);
		if (s == NULL || ct_add_test(s, &t_shared) != 0)
			return -1;
		if (ct.has_kind[PERSIST_KIND_STATE] &&
		    (ct.caps[PERSIST_KIND_STATE] & PERSIST_CAP_SHARED) &&
		    (ct_add_test(s, &t_drop) != 0 || ct_add_test(s, &t_once) != 0 ||
		     ct_add_test(s, &t_collections) != 0))
			return -1;
	}
	if (durable) {
		s = CU_add_suite("process:durable", NULL, NULL);
		if (s == NULL || ct_add_test(s, &t_durable) != 0)
			return -1;
	}
	if (ct.has_kind[PERSIST_KIND_SESSION] &&
	    (ct.caps[PERSIST_KIND_SESSION] & PERSIST_CAP_BROADCAST)) {
		/* also shows the registry shared */
		s = CU_add_suite("process:broadcast", NULL, NULL);
		if (s == NULL || ct_add_test(s, &t_broadcast) != 0 ||
		    ct_add_test(s, &t_send_killed) != 0)
			return -1;
		if (ct.caps[PERSIST_KIND_SESSION] & PERSIST_CAP_SHARED)
			ct_tested(tested, size, "sessions", "shared");
		ct_tested(tested, size, "sessions", "broadcast");
	} else if (ct.has_kind[PERSIST_KIND_SESSION] &&
		   (ct.caps[PERSIST_KIND_SESSION] & PERSIST_CAP_SHARED)) {
		s = CU_add_suite("process:shared-sessions", NULL, NULL);
		if (s == NULL || ct_add_test(s, &t_sessions_shared) != 0)
			return -1;
		ct_tested(tested, size, "sessions", "shared");
	}
	return 0;
}

/* Child: print a failure and say which step failed. */
static int ct_child_fail(const char *step, int ret, const struct persist_error *err)
{
	fprintf(stderr, "persist-conformance child: %s: %s: %s\n", step,
		persist_strerror(ret), err->msg);
	return 1;
}

/* Child roles "write" and "crash": write, then close or die. */
static int ct_child_write(const char *role, int crash)
{
	struct persist_error err;
	persist *p = ct_open_handle(0);
	int ret;

	if (p == NULL)
		return 1;
	ret = persist_config_set(p, xp_name(role, XP_DOC), "{\"from\":\"child\"}", 16, NULL, 0,
				 NULL, &err);
	if (ret != PERSIST_OK)
		return ct_child_fail("config set", ret, &err);
	ret = persist_state_set(p, xp_name(role, XP_COLL), "k", "child", 5, 0, &err);
	if (ret != PERSIST_OK)
		return ct_child_fail("state set", ret, &err);
	ret = persist_state_incr(p, xp_name(role, XP_COLL), "n", 7, NULL, &err);
	if (ret != PERSIST_OK)
		return ct_child_fail("state incr", ret, &err);
	if (persist_caps(p, PERSIST_KIND_STATE) & PERSIST_CAP_APPEND_LOG) {
		ret = persist_state_append(p, xp_name(role, XP_COLL), "{\"child\":1}", 11, &err);
		if (ret != PERSIST_OK)
			return ct_child_fail("state append", ret, &err);
	}
	if (crash) {
		/* no close, no flush: as if the process crashed */
		fflush(NULL);
		raise(SIGKILL);
	}
	ret = persist_close(p, &err);
	if (ret != PERSIST_OK)
		return ct_child_fail("close", ret, &err);
	return 0;
}

/* Child: put the session the parent looks for, then tell it "ready"; 0,
   or -1 with the failure printed. */
static int ct_child_put_session(persist *p, const char *session)
{
	struct persist_error err;
	int ret = persist_session_put(p, session, "{}", 2, CT_CHILD_MS, &err);

	if (ret != PERSIST_OK) {
		ct_child_fail("put", ret, &err);
		return -1;
	}
	printf("ready\n");
	fflush(stdout);
	return 0;
}

/* Child role "listen": hold a session, report the events it gets, reply. */
static int ct_child_listen(void)
{
	char *session = ct_name_dup(XP_SESSION), *bcast = ct_name_dup(XP_BCAST);
	char *send = ct_name_dup(XP_SEND), *reply = ct_name_dup(XP_REPLY);
	struct ct_recorder rec;
	struct persist_error err;
	uint64_t id = 0;
	persist *p = ct_open_handle(0);
	int ret, status = 1;

	ct_recorder_init(&rec);
	if (p == NULL)
		goto out;
	ret = persist_session_subscribe(p, ct_event_cb, &rec, &id, &err);
	if (ret != PERSIST_OK) {
		ct_child_fail("subscribe", ret, &err);
		goto out_close;
	}
	if (ct_child_put_session(p, session) != 0)
		goto out_close;
	if (ct_wait_event(&rec, 0, bcast, NULL, CT_CHILD_MS) < 0)
		goto out_close;
	printf("got broadcast\n");
	fflush(stdout);
	if (ct_wait_event(&rec, 0, send, session, CT_CHILD_MS) < 0)
		goto out_close;
	printf("got send\n");
	fflush(stdout);
	ret = persist_session_broadcast(p, reply, "{\"child\":1}", 11, &err);
	if (ret != PERSIST_OK) {
		ct_child_fail("broadcast", ret, &err);
		goto out_close;
	}
	persist_session_drop(p, session, &err);
	status = 0;
out_close:
	persist_session_unsubscribe(p, id, &err);
	if (persist_close(p, &err) != PERSIST_OK)
		status = 1;
out:
	ct_recorder_free(&rec);
	free(session);
	free(bcast);
	free(send);
	free(reply);
	return status;
}

/* Child role "hold": hold a session until stdin ends. */
static int ct_child_hold(void)
{
	char *session = ct_name_dup(XP_SESSION);
	struct persist_error err;
	persist *p = ct_open_handle(0);
	char buf[64];
	int status = 1;

	if (p == NULL)
		goto out;
	if (ct_child_put_session(p, session) != 0)
		goto out_close;
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	persist_session_drop(p, session, &err);
	status = 0;
out_close:
	if (persist_close(p, &err) != PERSIST_OK)
		status = 1;
out:
	free(session);
	return status;
}

/* Child role "dropw": write to a collection, say "ready", wait for "go"
   (the parent dropped the collection meanwhile), then increment a
   counter, append a record and report "ok <counter> <index of the first
   record of the log, -1 without logs>". */
static int ct_child_drop_writer(void)
{
	const char *c = xp_name("dropw", XP_COLL);
	struct persist_entry *e = NULL;
	struct persist_error err;
	persist *p = ct_open_handle(0);
	int log;
	char buf[64];
	int64_t v = 0;
	long long first = -1;
	size_t n = 0;
	int ret, status = 1;

	if (p == NULL)
		return 1;
	log = (persist_caps(p, PERSIST_KIND_STATE) & PERSIST_CAP_APPEND_LOG) != 0;
	if ((ret = persist_state_set(p, c, "k", "old", 3, 0, &err)) != PERSIST_OK ||
	    (ret = persist_state_incr(p, c, "n", 5, &v, &err)) != PERSIST_OK ||
	    (log && (ret = persist_state_append(p, c, "{\"before\":1}", 12, &err)) != PERSIST_OK) ||
	    (log && (ret = persist_state_read_log(p, c, 0, 0, &e, &n, NULL, &err)) != PERSIST_OK)) {
		ct_child_fail("writing before the drop", ret, &err);
		goto out;
	}
	persist_items_free(e, n);
	e = NULL;
	printf("ready\n");
	fflush(stdout);
	if (fgets(buf, sizeof(buf), stdin) == NULL) {
		status = 0; /* the parent could not drop: nothing more to do */
		goto out;
	}
	if ((ret = persist_state_incr(p, c, "n", 1, &v, &err)) != PERSIST_OK ||
	    (log && (ret = persist_state_append(p, c, "{\"after\":1}", 11, &err)) != PERSIST_OK) ||
	    (log && (ret = persist_state_read_log(p, c, 0, 0, &e, &n, NULL, &err)) != PERSIST_OK)) {
		ct_child_fail("writing after the drop", ret, &err);
		goto out;
	}
	if (log && n > 0)
		first = (long long)e[0].index;
	persist_items_free(e, n);
	printf("ok %lld %lld\n", (long long)v, first);
	fflush(stdout);
	status = 0;
out:
	if (persist_close(p, &err) != PERSIST_OK)
		status = 1;
	return status;
}

/* Child role "oncew": repeat the parent's batch id, then apply one of
   its own; report "ok <applied_before of the repeat> <of its own>". */
static int ct_child_once_writer(void)
{
	const char *c = xp_name("oncew", XP_COLL);
	struct persist_op op = { .type = PERSIST_OP_INCR, .collection = c, .key = "n",
				 .delta = 3 };
	struct persist_error err;
	persist *p = ct_open_handle(0);
	char id[96];
	int again = -1, own = -1, ret, status = 1;

	if (p == NULL)
		return 1;
	snprintf(id, sizeof(id), "%s:xp-once", ct.run);
	if ((ret = persist_state_batch_once(p, id, &op, 1, &again, &err)) != PERSIST_OK) {
		ct_child_fail("batch_once of the parent's id", ret, &err);
		goto out;
	}
	snprintf(id, sizeof(id), "%s:xp-once-child", ct.run);
	if ((ret = persist_state_batch_once(p, id, &op, 1, &own, &err)) != PERSIST_OK) {
		ct_child_fail("batch_once of its own id", ret, &err);
		goto out;
	}
	printf("ok %d %d\n", again, own);
	fflush(stdout);
	status = 0;
out:
	if (persist_close(p, &err) != PERSIST_OK)
		status = 1;
	return status;
}

/* Child role "colls": list the collections; report "ok <times the
   "colw" child's collection is listed> <times the parent's "colp">". */
static int ct_child_collections(void)
{
	struct persist_error err;
	persist *p = ct_open_handle(0);
	char cw[128];
	int n1, n2, ret, status = 1;

	if (p == NULL)
		return 1;
	snprintf(cw, sizeof(cw), "%s", xp_name("colw", XP_COLL));
	ct_count_listed(p, cw, xp_name("colp", XP_COLL), &n1, &n2, &ret, &err);
	if (ret != PERSIST_OK) {
		ct_child_fail("collections", ret, &err);
		goto out;
	}
	printf("ok %d %d\n", n1, n2);
	fflush(stdout);
	status = 0;
out:
	if (persist_close(p, &err) != PERSIST_OK)
		status = 1;
	return status;
}

/* Entry of the child side. */
int ct_child_main(const char *role, const char *run)
{
	(void)run; /* already in ct.run */
	if (strcmp(role, "write") == 0)
		return ct_child_write(role, 0);
	if (strcmp(role, "crash") == 0)
		return ct_child_write(role, 1);
	if (strcmp(role, "colw") == 0)
		return ct_child_write(role, 0);
	if (strcmp(role, "colls") == 0)
		return ct_child_collections();
	if (strcmp(role, "listen") == 0)
		return ct_child_listen();
	if (strcmp(role, "hold") == 0)
		return ct_child_hold();
	if (strcmp(role, "dropw") == 0)
		return ct_child_drop_writer();
	if (strcmp(role, "oncew") == 0)
		return ct_child_once_writer();
	fprintf(stderr, "persist-conformance: unknown child role \"%s\"\n", role);
	return 2;
}
