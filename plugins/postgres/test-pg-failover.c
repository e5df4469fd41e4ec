/*
 * plugins/postgres/test-pg-failover.c - the postgres provider with a
 * conninfo of several hosts that cannot all serve: each case must be a
 * clear error (or a success on the host that can) within the configured
 * timeouts, never a hang, never the password in a message.
 *
 * test-pg-failover.sh runs it after its failover, with the servers still
 * up: PG_DEAD_PORT (the stopped old primary: connections refused),
 * PG_PRIMARY_PORT (the promoted standby), PG_READONLY_PORT (a standby
 * that is never promoted), PG_TEST_PASSWORD (of the role pwuser).  A
 * host that does not answer at all is made here: a listening socket
 * whose backlog is full, so that further connection attempts hang.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <CUnit/Basic.h>
#include "test-pg-util.h"
#include "../../t/lib/cunit-suite.h"

static const char *pw, *dead_port, *primary_port, *readonly_port;
static int silent_port;

/* A port on 127.0.0.1 that accepts no connection and refuses none:
   listen with a backlog of one and fill it with connections never
   accepted; later SYNs are dropped, so a connect just waits.  -1 when
   the kernel cannot be made to do that. */
static int silent_listener(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 0) != 0 || getsockname(fd, (struct sockaddr *)&a, &alen) != 0)
		return -1;
	for (int i = 0; i < 8; i++) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

		if (c < 0)
			return -1;
		connect(c, (struct sockaddr *)&a, sizeof(a));   /* kept open */
	}
	return ntohs(a.sin_port);
}

/* Open a state store with conninfo, increment once: expect status want
   (and a message holding what, when not OK) within max_ms, and no
   password in any message. */
static void expect_incr(const char *conninfo, int connect_ms, int want,
			const char *what, int64_t max_ms)
{
	struct persist_error err;
	char provider[1024], json[2048];
	struct persist_options opts;
	persist *p = NULL;
	int64_t t0, dt;
	int ret;

	snprintf(provider, sizeof(provider), "{\"conninfo\":\"%s\","
		 "\"connectTimeout\":%d,\"commandTimeout\":2000}", conninfo,
		 connect_ms);
	snprintf(json, sizeof(json), "{\"persistence\":{\"state\":"
		 "{\"provider\":\"postgres\",\"config\":%s}}}", provider);
	memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.log = t_log;
	opts.log_level = PERSIST_LOG_DEBUG;
	CU_ASSERT_EQUAL_FATAL(persist_open_json(json, &opts, &p, &err), PERSIST_OK);
	t0 = t_now_ms();
	ret = persist_state_incr(p, "bad", "n", 1, NULL, &err);
	dt = t_now_ms() - t0;
	printf("\n    %s after %lld ms%s%s", persist_strerror(ret), (long long)dt,
	       ret != PERSIST_OK ? ": " : "", ret != PERSIST_OK ? err.msg : "");
	CU_ASSERT_EQUAL(ret, want);
	if (ret != PERSIST_OK) {
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, what));
		CU_ASSERT_PTR_NULL(strstr(err.msg, pw));
	}
	CU_ASSERT(dt <= max_ms);
	persist_close(p, &err);
	CU_ASSERT_FALSE(t_log_has(pw));
}

/* The primary is gone and the standby never comes up: the one refuses,
   the other does not answer. */
static void test_standby_never_up(void)
{
	char ci[512];

	CU_ASSERT_FATAL(silent_port > 0);
	snprintf(ci, sizeof(ci), "host=127.0.0.1,127.0.0.1 port=%s,%d user=pwuser "
		 "password=%s dbname=postgres target_session_attrs=read-write",
		 dead_port, silent_port, pw);
	expect_incr(ci, 2000, PERSIST_EUNAVAIL, "server unavailable", 2 * 2000 + 1500);
}

/* The standby is up but never promoted: read-only, so not chosen. */
static void test_never_promoted(void)
{
	char ci[512];

	snprintf(ci, sizeof(ci), "host=127.0.0.1,127.0.0.1 port=%s,%s user=pwuser "
		 "password=%s dbname=postgres target_session_attrs=read-write",
		 dead_port, readonly_port, pw);
	expect_incr(ci, 1000, PERSIST_EUNAVAIL, "read-only", 2 * 1000 + 1500);
}

/* A first host that does not answer at all must not hide a good second
   one: libpq's per-host timeout moves on. */
static void test_silent_first_host(void)
{
	char ci[512];

	CU_ASSERT_FATAL(silent_port > 0);
	snprintf(ci, sizeof(ci), "host=127.0.0.1,127.0.0.1 port=%d,%s user=pwuser "
		 "password=%s dbname=postgres target_session_attrs=read-write",
		 silent_port, primary_port, pw);
	expect_incr(ci, 2000, PERSIST_OK, "", 2 * 2000 + 2500);
}

/* A handle that only holds the plugin (a state store does not connect
   before its first call). */
static int t_open_keeper(persist **p_r)
{
	struct persist_error err;

	if (persist_open_json("{\"persistence\":{\"state\":{\"provider\":"
			      "\"postgres\",\"config\":{}}}}", NULL, p_r,
			      &err) != PERSIST_OK) {
		fprintf(stderr, "cannot open: %s\n", err.msg);
		return 1;
	}
	return 0;
}

int main(void)
{
	struct persist_error err;
	persist *keeper;
	int ret;

	static const struct t_case cases[] = {
		{ "a standby that never comes up", test_standby_never_up },
		{ "a standby that is never promoted", test_never_promoted },
		{ "a silent first host before a good one", test_silent_first_host },
		{ NULL, NULL }
	};

	pw = t_env("PG_TEST_PASSWORD");
	dead_port = t_env("PG_DEAD_PORT");
	primary_port = t_env("PG_PRIMARY_PORT");
	readonly_port = t_env("PG_READONLY_PORT");
	silent_port = silent_listener();
	/* keep the plugin loaded from case to case: unloading it unloads
	   libpq and what it loaded, whose state leak checkers then report */
	if (t_open_keeper(&keeper) != 0)
		return 99;
	ret = t_cunit_run("postgres failover bad input", NULL, NULL, cases);
	persist_close(keeper, &err);
	return ret;
}
