/*
 * plugins/redis/test-redis-sentinel.c - the redis provider with Redis
 * Sentinel set up wrong, and replicaAcks asking for more than there is:
 * each must be a clear error within the configured timeouts, never a
 * hang, never a password in a message.
 *
 * test-redis-sentinel.sh runs it after its failover, with the servers
 * still up: SENTINEL_PORTS (three sentinels monitoring "ha", one of them
 * also monitoring "fake", which names a replica), REDIS_PASSWORD (the
 * servers'), SENTINEL_PASSWORD (the sentinels').
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <CUnit/Basic.h>
#include <persist/persist.h>
#include "../../t/lib/cunit-suite.h"

static char sentinels[256];      /* "\"127.0.0.1:p\",..." */
static char first_sentinel[64];
static const char *pw, *spw;
static char log_buf[1 << 16];
static size_t log_len;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* Log callback: keep every message (the library logs from its threads
   too; the buffer is read once the handle is closed). */
static void on_log(void *ctx, enum persist_log_level level, const char *msg)
{
	size_t len = strlen(msg);

	(void)ctx;
	(void)level;
	pthread_mutex_lock(&log_lock);
	if (log_len + len + 2 < sizeof(log_buf)) {
		memcpy(log_buf + log_len, msg, len);
		log_len += len;
		log_buf[log_len++] = '\n';
		log_buf[log_len] = '\0';
	}
	pthread_mutex_unlock(&log_lock);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Open a state store on redis with the provider config object cfg. */
static int open_state(const char *cfg, persist **p_r, struct persist_error *err)
{
	struct persist_options opts;
	char json[2048];

	snprintf(json, sizeof(json), "{\"persistence\":{\"state\":"
		 "{\"provider\":\"redis\",\"config\":%s}}}", cfg);
	memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.log = on_log;
	opts.log_level = PERSIST_LOG_DEBUG;
	*p_r = NULL;
	return persist_open_json(json, &opts, p_r, err);
}

/* No password in a message. */
static void assert_no_secret(const char *s)
{
	CU_ASSERT_PTR_NULL(strstr(s, pw));
	CU_ASSERT_PTR_NULL(strstr(s, spw));
	CU_ASSERT_PTR_NULL(strstr(s, "wrong-pw-5150"));
}

/* Open with cfg, increment once: expect status want, a message holding
   what, within max_ms, no password anywhere (message and log). */
static void expect_incr(const char *cfg, int want, const char *what,
			long long max_ms)
{
	struct persist_error err;
	persist *p;
	long long t0, dt;
	int ret;

	log_len = 0;
	log_buf[0] = '\0';
	CU_ASSERT_EQUAL_FATAL(open_state(cfg, &p, &err), PERSIST_OK);
	t0 = now_ms();
	ret = persist_state_incr(p, "bad", "n", 1, NULL, &err);
	dt = now_ms() - t0;
	printf("\n    %s after %lld ms: %s", persist_strerror(ret), dt, err.msg);
	CU_ASSERT_EQUAL(ret, want);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, what));
	CU_ASSERT(dt <= max_ms);
	assert_no_secret(err.msg);
	persist_close(p, &err);
	assert_no_secret(log_buf);
}

/* Every sentinel down (nothing listens on their ports). */
static void test_sentinels_down(void)
{
	char cfg[512];

	snprintf(cfg, sizeof(cfg), "{\"password\":\"%s\",\"sentinels\":"
		 "[\"127.0.0.1:1\",\"127.0.0.1:2\"],\"masterName\":\"ha\","
		 "\"sentinelPassword\":\"%s\",\"connectTimeout\":300}", pw, spw);
	expect_incr(cfg, PERSIST_EUNAVAIL, "no sentinel named master \"ha\"",
		    2 * 300 + 1000);
}

/* Sentinels that do not know the name. */
static void test_unknown_master(void)
{
	char cfg[512];

	snprintf(cfg, sizeof(cfg), "{\"password\":\"%s\",\"sentinels\":[%s],"
		 "\"masterName\":\"nosuch\",\"sentinelPassword\":\"%s\","
		 "\"connectTimeout\":300,\"commandTimeout\":1000}", pw, sentinels,
		 spw);
	expect_incr(cfg, PERSIST_ECONFIG, "no sentinel knows master \"nosuch\"",
		    3 * 1300 + 1000);
}

/* A sentinel naming a server that is a replica. */
static void test_names_replica(void)
{
	char cfg[512];

	snprintf(cfg, sizeof(cfg), "{\"password\":\"%s\",\"sentinels\":[%s],"
		 "\"masterName\":\"fake\",\"sentinelPassword\":\"%s\","
		 "\"connectTimeout\":300,\"commandTimeout\":1000}", pw,
		 first_sentinel, spw);
	expect_incr(cfg, PERSIST_EUNAVAIL, "it is not the master", 2 * 1300 + 1000);
}

/* The sentinels refuse our password. */
static void test_wrong_sentinel_password(void)
{
	char cfg[512];

	snprintf(cfg, sizeof(cfg), "{\"password\":\"%s\",\"sentinels\":[%s],"
		 "\"masterName\":\"ha\",\"sentinelPassword\":\"wrong-pw-5150\","
		 "\"connectTimeout\":300,\"commandTimeout\":1000}", pw, sentinels);
	expect_incr(cfg, PERSIST_ECONFIG, "authentication failed", 3 * 1300 + 1000);
}

/* The master refuses our password. */
static void test_wrong_master_password(void)
{
	char cfg[512];

	snprintf(cfg, sizeof(cfg), "{\"password\":\"wrong-pw-5150\",\"sentinels\":"
		 "[%s],\"masterName\":\"ha\",\"sentinelPassword\":\"%s\","
		 "\"connectTimeout\":300,\"commandTimeout\":1000}", sentinels, spw);
	expect_incr(cfg, PERSIST_ECONFIG, "authentication failed", 3 * 1300 + 1000);
}

/* More replicas asked for than exist: applied, but answered uncertain. */
static void test_too_many_acks(void)
{
	struct persist_error err;
	char cfg[512], *v = NULL;
	size_t len;
	persist *p;
	int64_t before = 0, after = 0;
	long long t0, dt;
	int ret;

	snprintf(cfg, sizeof(cfg), "{\"password\":\"%s\",\"sentinels\":[%s],"
		 "\"masterName\":\"ha\",\"sentinelPassword\":\"%s\","
		 "\"replicaAcks\":1,\"waitTimeout\":300}", pw, sentinels, spw);
	CU_ASSERT_EQUAL_FATAL(open_state(cfg, &p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_state_incr(p, "acks", "n", 1, &before, &err),
			PERSIST_OK);
	persist_close(p, &err);
	snprintf(cfg, sizeof(cfg), "{\"password\":\"%s\",\"sentinels\":[%s],"
		 "\"masterName\":\"ha\",\"sentinelPassword\":\"%s\","
		 "\"replicaAcks\":2,\"waitTimeout\":300}", pw, sentinels, spw);
	CU_ASSERT_EQUAL_FATAL(open_state(cfg, &p, &err), PERSIST_OK);
	t0 = now_ms();
	ret = persist_state_incr(p, "acks", "n", 1, NULL, &err);
	dt = now_ms() - t0;
	printf("\n    %s after %lld ms: %s", persist_strerror(ret), dt, err.msg);
	CU_ASSERT_EQUAL(ret, PERSIST_EUNCERTAIN);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "only 1 of 2 replicas"));
	CU_ASSERT(dt >= 250 && dt < 2000);
	/* it was applied on the master: uncertain, not refused */
	CU_ASSERT_EQUAL(persist_state_get(p, "acks", "n", &v, &len, &err),
			PERSIST_OK);
	if (v != NULL)
		after = strtoll(v, NULL, 10);
	persist_free(v);
	CU_ASSERT_EQUAL(after, before + 1);
	persist_close(p, &err);
}

/* Settings that cannot work are refused at open, naming the setting. */
static void test_bad_settings(void)
{
	static const struct {
		const char *cfg, *what;
	} cases[] = {
		{ "{\"sentinels\":[\"127.0.0.1:26379\"]}", "needs \"masterName\"" },
		{ "{\"masterName\":\"ha\"}", "needs \"sentinels\"" },
		{ "{\"sentinels\":[],\"masterName\":\"ha\"}", "empty list" },
		{ "{\"sentinels\":[\"nohostport\"],\"masterName\":\"ha\"}",
		  "entry 1 is not host:port" },
		{ "{\"sentinels\":[\"127.0.0.1:70000\"],\"masterName\":\"ha\"}",
		  "entry 1 is not host:port" },
		{ "{\"sentinels\":[\"127.0.0.1:1\"],\"masterName\":\"ha\","
		  "\"url\":\"unix:///tmp/x.sock\"}", "needs a redis:// url" },
		{ "{\"replicaAcks\":1,\"waitTimeout\":3000,\"commandTimeout\":3000}",
		  "\"waitTimeout\" (3000) must be less" },
		{ "{\"replicaAcks\":-1}", "replicaAcks" },
		{ "{\"sentinelPassword\":\"wrong-pw-5150\"}", "need \"sentinels\"" },
	};
	struct persist_error err;
	persist *p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = open_state(cases[i].cfg, &p, &err);

		printf("\n    %s", err.msg);
		CU_ASSERT_EQUAL(ret, PERSIST_ECONFIG);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].what));
		assert_no_secret(err.msg);
		if (ret == PERSIST_OK)
			persist_close(p, &err);
	}
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "every sentinel down", test_sentinels_down },
		{ "masterName unknown to the sentinels", test_unknown_master },
		{ "a sentinel naming a replica", test_names_replica },
		{ "wrong sentinel password", test_wrong_sentinel_password },
		{ "wrong master password", test_wrong_master_password },
		{ "replicaAcks above the replicas there are", test_too_many_acks },
		{ "settings refused at open", test_bad_settings },
		{ NULL, NULL }
	};
	const char *ports = getenv("SENTINEL_PORTS");
	size_t used = 0;
	char *copy, *tok, *save;

	pw = getenv("REDIS_PASSWORD");
	spw = getenv("SENTINEL_PASSWORD");
	if (ports == NULL || pw == NULL || spw == NULL) {
		fprintf(stderr, "run through test-redis-sentinel.sh\n");
		return 99;
	}
	copy = strdup(ports);
	for (tok = strtok_r(copy, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		used += (size_t)snprintf(sentinels + used, sizeof(sentinels) - used,
					 "%s\"127.0.0.1:%s\"", used > 0 ? "," : "", tok);
		if (first_sentinel[0] == '\0')
			snprintf(first_sentinel, sizeof(first_sentinel),
				 "\"127.0.0.1:%s\"", tok);
	}
	free(copy);
	return t_cunit_run("redis sentinel bad input", NULL, NULL, cases);
}
