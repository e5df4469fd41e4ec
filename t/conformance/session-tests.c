/*
 * t/conformance/session-tests.c - conformance of a session provider: the
 * registry (put, refresh, list across instances, drop), bad input, events
 * (broadcast reaches every instance including the sender, send reaches only
 * the instance holding the session and answers not found once its holder
 * is closed, unsubscribe stops delivery) and, with
 * TTL, expiry and refresh.
 *
 * The two handles of the run play two instances: they have different
 * instance ids and share the provider's registry, as two hosts sharing one
 * backend would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conformance.h"

/* The listed session with this id (copy of its fields into *found), or 0. */
static int ct_find_session(persist *p, const char *id, char **instance_r,
			   char **value_r, int *sorted_r)
{
	struct persist_entry *e = NULL;
	struct persist_error err;
	size_t n = 0;
	int found = 0;

	if (sorted_r != NULL)
		*sorted_r = 1;
	CT_OK(persist_session_list(p, &e, &n, &err), &err);
	for (size_t i = 0; i < n; i++) {
		if (e[i].key == NULL)
			continue;
		if (sorted_r != NULL && i > 0 && e[i - 1].key != NULL &&
		    strcmp(e[i - 1].key, e[i].key) >= 0)
			*sorted_r = 0;
		if (strcmp(e[i].key, id) == 0 && !found) {
			found = 1;
			if (instance_r != NULL)
				*instance_r = e[i].instance != NULL ? strdup(e[i].instance) : NULL;
			if (value_r != NULL)
				*value_r = e[i].value != NULL ? strdup(e[i].value) : NULL;
		}
	}
	persist_items_free(e, n);
	return found;
}

/* put, list (with the instance), refresh, drop. */
static void test_registry(void)
{
	char *s = ct_name_dup("ses-reg"), *sb = ct_name_dup("ses-reg-b");
	char *instance = NULL, *value = NULL;
	struct persist_error err;
	int sorted = 0;

	CT_STRNE(persist_instance_id(ct.a), persist_instance_id(ct.b));
	CT_TRUE(!ct_find_session(ct.a, s, NULL, NULL, NULL));
	CT_OK(persist_session_put(ct.a, s, "{\"user\":\"u1\"}", 13, 0, &err), &err);
	CT_TRUE(ct_find_session(ct.a, s, &instance, &value, &sorted));
	CT_TRUE(sorted);
	CT_TRUE(instance != NULL && strcmp(instance, persist_instance_id(ct.a)) == 0);
	CT_TRUE(value != NULL && strcmp(value, "{\"user\":\"u1\"}") == 0);
	free(instance);
	free(value);
	instance = value = NULL;
	/* the other instance sees it */
	CT_TRUE(ct_find_session(ct.b, s, &instance, NULL, NULL));
	CT_TRUE(instance != NULL && strcmp(instance, persist_instance_id(ct.a)) == 0);
	free(instance);
	instance = NULL;
	/* refresh with new data */
	CT_OK(persist_session_put(ct.a, s, "{\"user\":\"u2\"}", 13, 0, &err), &err);
	CT_TRUE(ct_find_session(ct.a, s, NULL, &value, NULL));
	CT_TRUE(value != NULL && strcmp(value, "{\"user\":\"u2\"}") == 0);
	free(value);
	value = NULL;
	/* a session of the other instance */
	CT_OK(persist_session_put(ct.b, sb, "{}", 2, 0, &err), &err);
	CT_TRUE(ct_find_session(ct.a, sb, &instance, NULL, NULL));
	CT_TRUE(instance != NULL && strcmp(instance, persist_instance_id(ct.b)) == 0);
	free(instance);
	/* drop */
	CT_OK(persist_session_drop(ct.a, s, &err), &err);
	CT_TRUE(!ct_find_session(ct.a, s, NULL, NULL, NULL));
	CT_TRUE(!ct_find_session(ct.b, s, NULL, NULL, NULL));
	CT_EXPECT(persist_session_drop(ct.a, s, &err), PERSIST_ENOTFOUND, &err);
	CT_EXPECT(persist_session_drop(ct.a, ct_name("ses-never"), &err), PERSIST_ENOTFOUND, &err);
	CT_OK(persist_session_drop(ct.b, sb, &err), &err);
	CT_TRUE(!ct_find_session(ct.a, sb, NULL, NULL, NULL));
	free(s);
	free(sb);
}

/* Bad ids, event names and NULL arguments: PERSIST_EINVAL. */
static void test_bad_input(void)
{
	char long_id[PERSIST_KEY_MAX + 2];
	const char *bad[] = { "", long_id, "\xff\xfe", "a\nb", "bad-\xc0\xaf", "a\x7f" };
	char *s = ct_name_dup("ses-bad");
	char *ev = ct_name_dup("ev-bad");
	struct persist_entry *e = NULL;
	struct ct_recorder rec;
	struct persist_error err;
	size_t n = 0;
	uint64_t id = 0;

	memset(long_id, 's', PERSIST_KEY_MAX + 1);
	long_id[PERSIST_KEY_MAX + 1] = '\0';
	ct_recorder_init(&rec);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CT_EXPECT(persist_session_put(ct.a, bad[i], "{}", 2, 0, &err), PERSIST_EINVAL, &err);
		CT_EXPECT(persist_session_drop(ct.a, bad[i], &err), PERSIST_EINVAL, &err);
		CT_EXPECT(persist_session_send(ct.a, bad[i], ev, "{}", 2, &err), PERSIST_EINVAL, &err);
		CT_EXPECT(persist_session_send(ct.a, s, bad[i], "{}", 2, &err), PERSIST_EINVAL, &err);
		CT_EXPECT(persist_session_broadcast(ct.a, bad[i], "{}", 2, &err), PERSIST_EINVAL, &err);
	}
	CT_EXPECT(persist_session_put(NULL, s, "{}", 2, 0, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_session_put(ct.a, NULL, "{}", 2, 0, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_session_put(ct.a, s, NULL, 2, 0, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_session_put(ct.a, s, "{}", 2, -1, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_session_drop(ct.a, NULL, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_session_list(NULL, &e, &n, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_session_list(ct.a, NULL, &n, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_session_list(ct.a, &e, NULL, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_session_broadcast(ct.a, NULL, "{}", 2, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_session_broadcast(ct.a, ev, NULL, 2, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_session_send(ct.a, NULL, ev, "{}", 2, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_session_send(ct.a, s, NULL, "{}", 2, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_session_subscribe(ct.a, NULL, &rec, &id, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_session_subscribe(NULL, ct_event_cb, &rec, &id, &err), PERSIST_EINVAL, &err);
	CT_EXPECT(persist_session_unsubscribe(NULL, 1, &err), PERSIST_EINVAL, &err);
	CT_TRUE((e) == NULL);
	CT_TRUE(!ct_find_session(ct.a, s, NULL, NULL, NULL));
	ct_recorder_free(&rec);
	free(s);
	free(ev);
}

/* Poll the list until id is gone (1) or the deadline passes (0). */
static int ct_wait_session_gone(const char *id, int64_t timeout_ms)
{
	int64_t deadline = ct_now_ms() + timeout_ms;

	while (ct_find_session(ct.a, id, NULL, NULL, NULL)) {
		if (ct_now_ms() > deadline)
			return 0;
		ct_sleep_ms(50);
	}
	return 1;
}

/* TTL: a session expires unless refreshed; expired ones cannot be sent to. */
static void test_ttl(void)
{
	char *s = ct_name_dup("ses-ttl"), *r = ct_name_dup("ses-ttl-refresh");
	char *ev = ct_name_dup("ev-ttl");
	struct persist_error err;
	int64_t start = ct_now_ms();

	CT_OK(persist_session_put(ct.a, s, "{}", 2, 300, &err), &err);
	CT_OK(persist_session_put(ct.a, r, "{}", 2, 1000, &err), &err);
	if (ct_now_ms() - start < 200)
		CT_TRUE(ct_find_session(ct.a, s, NULL, NULL, NULL));
	CT_TRUE(ct_wait_session_gone(s, CT_WAIT_MS));
	CT_TRUE(ct_now_ms() - start >= 250);
	CT_EXPECT(persist_session_send(ct.a, s, ev, "{}", 2, &err), PERSIST_ENOTFOUND, &err);
	CT_EXPECT(persist_session_drop(ct.a, s, &err), PERSIST_ENOTFOUND, &err);
	/* refreshing extends the life of a session */
	ct_sleep_ms(600 - (ct_now_ms() - start) > 0 ? 600 - (ct_now_ms() - start) : 0);
	CT_OK(persist_session_put(ct.a, r, "{\"refreshed\":1}", 15, 1000, &err), &err);
	start = ct_now_ms();
	ct_sleep_ms(600);
	if (ct_now_ms() - start < 900)
		CT_TRUE(ct_find_session(ct.a, r, NULL, NULL, NULL));
	CT_TRUE(ct_wait_session_gone(r, CT_WAIT_MS));
	free(s);
	free(r);
	free(ev);
}

/* Check event i of rec: origin, session id (NULL: broadcast), data. */
static void ct_check_event(struct ct_recorder *rec, long i, const char *origin,
			   const char *session_id, const char *data)
{
	const struct ct_event *e;

	CT_TRUE(i >= 0);
	if (i < 0)
		return;
	e = ct_recorder_get(rec, (size_t)i);
	CT_TRUE(e->origin != NULL && strcmp(e->origin, origin) == 0);
	if (session_id == NULL) {
		CT_TRUE((e->session_id) == NULL);
	} else {
		CT_TRUE(e->session_id != NULL && strcmp(e->session_id, session_id) == 0);
	}
	CT_EXPECT_BYTES(e->data, e->len, data, strlen(data));
}

/* broadcast reaches every instance, the sender's too, with origin and data. */
static void test_broadcast(void)
{
	char *ev1 = ct_name_dup("ev-bcast-a"), *ev2 = ct_name_dup("ev-bcast-b");
	struct ct_recorder ra, rb;
	uint64_t ida = 0, idb = 0;
	struct persist_error err;

	ct_recorder_init(&ra);
	ct_recorder_init(&rb);
	CT_OK(persist_session_subscribe(ct.a, ct_event_cb, &ra, &ida, &err), &err);
	CT_OK(persist_session_subscribe(ct.b, ct_event_cb, &rb, &idb, &err), &err);
	CT_OK(persist_session_broadcast(ct.a, ev1, "{\"x\":1}", 7, &err), &err);
	ct_check_event(&ra, ct_wait_event(&ra, 0, ev1, NULL, CT_WAIT_MS),
		       persist_instance_id(ct.a), NULL, "{\"x\":1}");
	ct_check_event(&rb, ct_wait_event(&rb, 0, ev1, NULL, CT_WAIT_MS),
		       persist_instance_id(ct.a), NULL, "{\"x\":1}");
	CT_OK(persist_session_broadcast(ct.b, ev2, "", 0, &err), &err);
	ct_check_event(&ra, ct_wait_event(&ra, 0, ev2, NULL, CT_WAIT_MS),
		       persist_instance_id(ct.b), NULL, "");
	ct_check_event(&rb, ct_wait_event(&rb, 0, ev2, NULL, CT_WAIT_MS),
		       persist_instance_id(ct.b), NULL, "");
	ct_sleep_ms(CT_GRACE_MS);
	/* once each */
	CT_EQ(ct_count_event(&ra, 0, ev1), 1);
	CT_EQ(ct_count_event(&rb, 0, ev1), 1);
	CT_EQ(ct_count_event(&ra, 0, ev2), 1);
	CT_EQ(ct_count_event(&rb, 0, ev2), 1);
	CT_OK(persist_session_unsubscribe(ct.a, ida, &err), &err);
	CT_OK(persist_session_unsubscribe(ct.b, idb, &err), &err);
	ct_recorder_free(&ra);
	ct_recorder_free(&rb);
	free(ev1);
	free(ev2);
}

/* send reaches only the instance holding the session. */
static void test_send(void)
{
	char *sb = ct_name_dup("ses-send-b"), *ev = ct_name_dup("ev-send");
	char *ev2 = ct_name_dup("ev-send-self");
	struct ct_recorder ra, rb;
	uint64_t ida = 0, idb = 0;
	struct persist_error err;
	long i;

	ct_recorder_init(&ra);
	ct_recorder_init(&rb);
	CT_OK(persist_session_subscribe(ct.a, ct_event_cb, &ra, &ida, &err), &err);
	CT_OK(persist_session_subscribe(ct.b, ct_event_cb, &rb, &idb, &err), &err);
	CT_OK(persist_session_put(ct.b, sb, "{}", 2, 0, &err), &err);
	CT_OK(persist_session_send(ct.a, sb, ev, "{\"msg\":\"hi\"}", 12, &err), &err);
	i = ct_wait_event(&rb, 0, ev, sb, CT_WAIT_MS);
	ct_check_event(&rb, i, persist_instance_id(ct.a), sb, "{\"msg\":\"hi\"}");
	/* B sends to its own session: B gets it, A does not */
	CT_OK(persist_session_send(ct.b, sb, ev2, "[]", 2, &err), &err);
	ct_check_event(&rb, ct_wait_event(&rb, 0, ev2, sb, CT_WAIT_MS),
		       persist_instance_id(ct.b), sb, "[]");
	ct_sleep_ms(CT_GRACE_MS);
	CT_EQ(ct_count_event(&ra, 0, ev), 0);
	CT_EQ(ct_count_event(&ra, 0, ev2), 0);
	CT_EQ(ct_count_event(&rb, 0, ev), 1);
	/* unknown and dropped sessions */
	CT_EXPECT(persist_session_send(ct.a, ct_name("ses-never"), ev, "{}", 2, &err),
		  PERSIST_ENOTFOUND, &err);
	CT_OK(persist_session_drop(ct.b, sb, &err), &err);
	CT_EXPECT(persist_session_send(ct.a, sb, ev, "{}", 2, &err), PERSIST_ENOTFOUND, &err);
	CT_OK(persist_session_unsubscribe(ct.a, ida, &err), &err);
	CT_OK(persist_session_unsubscribe(ct.b, idb, &err), &err);
	ct_recorder_free(&ra);
	ct_recorder_free(&rb);
	free(sb);
	free(ev);
	free(ev2);
}

/* send answers success only when the holder can get the event: once the
   handle holding a session is closed (without dropping it), a send to it
   answers not found naming the session, and the session is gone.  (A
   provider may learn of the close a moment later: the sends are retried
   for a while.) */
static void test_send_holder_gone(void)
{
	char *s = ct_name_dup("ses-gone"), *ev = ct_name_dup("ev-gone");
	struct persist_error err;
	persist *p = ct_open_handle(0);
	int64_t deadline;
	int ret = PERSIST_OK;

	CU_ASSERT_FATAL(p != NULL);
	CT_OK(persist_session_put(p, s, "{}", 2, 0, &err), &err);
	CT_OK(persist_session_send(ct.a, s, ev, "{}", 2, &err), &err);
	CT_OK(persist_close(p, &err), &err);
	deadline = ct_now_ms() + CT_WAIT_MS;
	do {
		ret = persist_session_send(ct.a, s, ev, "{}", 2, &err);
		if (ret == PERSIST_OK)
			ct_sleep_ms(20);
	} while (ret == PERSIST_OK && ct_now_ms() < deadline);
	CT_EXPECT(ret, PERSIST_ENOTFOUND, &err);
	CT_CHECK(ret != PERSIST_ENOTFOUND || strstr(err.msg, s) != NULL,
		 "the not-found error of a send names the session \"%s\": got \"%s\"", s, err.msg);
	CT_EXPECT(persist_session_send(ct.b, s, ev, "{}", 2, &err),
		  PERSIST_ENOTFOUND, &err);
	CU_ASSERT(!ct_find_session(ct.a, s, NULL, NULL, NULL));
	free(s);
	free(ev);
}

/* unsubscribe stops delivery to that subscriber only. */
static void test_unsubscribe(void)
{
	char *ev = ct_name_dup("ev-unsub");
	struct ct_recorder ra, ra2;
	uint64_t ida = 0, ida2 = 0;
	struct persist_error err;

	ct_recorder_init(&ra);
	ct_recorder_init(&ra2);
	CT_OK(persist_session_subscribe(ct.a, ct_event_cb, &ra, &ida, &err), &err);
	CT_OK(persist_session_subscribe(ct.a, ct_event_cb, &ra2, &ida2, &err), &err);
	CT_NE(ida, ida2);
	CT_OK(persist_session_unsubscribe(ct.a, ida, &err), &err);
	CT_NE(persist_session_unsubscribe(ct.a, ida, &err), PERSIST_OK);
	CT_OK(persist_session_broadcast(ct.b, ev, "{}", 2, &err), &err);
	CT_TRUE(ct_wait_event(&ra2, 0, ev, NULL, CT_WAIT_MS) >= 0);
	ct_sleep_ms(CT_GRACE_MS);
	CT_EQ(ct_recorder_count(&ra), 0);
	CT_OK(persist_session_unsubscribe(ct.a, ida2, &err), &err);
	ct_recorder_free(&ra);
	ct_recorder_free(&ra2);
	free(ev);
}

/* THREADSAFE: threads registering, listing and dropping their own
   sessions on one handle. */
#define MIX_THREADS 8
#define MIX_EACH 100

struct mix_worker {
	struct ct_worker report;
	char id[PERSIST_KEY_MAX + 1];
};

/* put, find in the list, drop, MIX_EACH times. */
static void *mix_worker(void *arg)
{
	struct mix_worker *w = arg;
	struct persist_error err;

	for (int i = 0; i < MIX_EACH; i++) {
		struct persist_entry *e = NULL;
		size_t n = 0;
		int ret, found = 0;

		ret = persist_session_put(ct.a, w->id, "{}", 2, 0, &err);
		if (ret == PERSIST_OK)
			ret = persist_session_list(ct.a, &e, &n, &err);
		for (size_t j = 0; ret == PERSIST_OK && j < n; j++) {
			if (e[j].key != NULL && strcmp(e[j].key, w->id) == 0)
				found = 1;
		}
		persist_items_free(e, n);
		if (ret == PERSIST_OK && !found)
			ret = -1;
		if (ret == PERSIST_OK)
			ret = persist_session_drop(ct.a, w->id, &err);
		if (ret != PERSIST_OK)
			ct_worker_fail(&w->report, "%s: %s", persist_strerror(ret),
				       ret > 0 ? err.msg : "own session not listed");
	}
	return NULL;
}

/* THREADSAFE: MIX_THREADS workers at once on handle A. */
static void test_threads_mixed(void)
{
	struct mix_worker w[MIX_THREADS];
	int failures;

	for (int i = 0; i < MIX_THREADS; i++) {
		char what[32];

		snprintf(what, sizeof(what), "ses-thread-%d", i);
		memset(&w[i], 0, sizeof(w[i]));
		snprintf(w[i].id, sizeof(w[i].id), "%s", ct_name(what));
	}
	failures = ct_run_workers(mix_worker, w, sizeof(w[0]), MIX_THREADS, "worker", 1);
	CT_WORKERS_OK(failures);
}

/* A session registered again by another instance moves to it: the list
   names the new holder, and send reaches the new holder only. */
static void test_reregister(void)
{
	char *s = ct_name_dup("ses-move"), *ev = ct_name_dup("ev-move");
	char *instance = NULL, *value = NULL;
	struct ct_recorder ra, rb;
	uint64_t ida = 0, idb = 0;
	struct persist_error err;

	ct_recorder_init(&ra);
	ct_recorder_init(&rb);
	CT_OK(persist_session_subscribe(ct.a, ct_event_cb, &ra, &ida, &err), &err);
	CT_OK(persist_session_subscribe(ct.b, ct_event_cb, &rb, &idb, &err), &err);
	CT_OK(persist_session_put(ct.a, s, "{\"on\":\"a\"}", 10, 0, &err), &err);
	CT_OK(persist_session_put(ct.b, s, "{\"on\":\"b\"}", 10, 0, &err), &err);
	CT_CHECK(ct_find_session(ct.a, s, &instance, &value, NULL),
		 "session \"%s\" registered by A then by B: expected it listed, it is not", s);
	CT_CHECK(instance != NULL && strcmp(instance, persist_instance_id(ct.b)) == 0,
		 "holder of a session registered again by instance B: expected \"%s\", got \"%s\"",
		 persist_instance_id(ct.b), instance != NULL ? instance : "(none)");
	CT_STREQ(value, "{\"on\":\"b\"}");
	free(instance);
	free(value);
	instance = NULL;
	CT_CHECK(ct_find_session(ct.b, s, &instance, NULL, NULL) && instance != NULL &&
		 strcmp(instance, persist_instance_id(ct.b)) == 0,
		 "holder as listed through B: expected \"%s\", got \"%s\"",
		 persist_instance_id(ct.b), instance != NULL ? instance : "(none)");
	free(instance);
	CT_OK(persist_session_send(ct.a, s, ev, "{\"to\":\"b\"}", 10, &err), &err);
	CT_CHECK(ct_wait_event(&rb, 0, ev, s, CT_WAIT_MS) >= 0,
		 "send to a session B took over: expected the event at B within %d ms, none came",
		 CT_WAIT_MS);
	ct_sleep_ms(CT_GRACE_MS);
	CT_CHECK(ct_count_event(&ra, 0, ev) == 0,
		 "send to a session B took over: expected nothing at A (the old holder), got %zu "
		 "events", ct_count_event(&ra, 0, ev));
	CT_OK(persist_session_drop(ct.b, s, &err), &err);
	CT_OK(persist_session_unsubscribe(ct.a, ida, &err), &err);
	CT_OK(persist_session_unsubscribe(ct.b, idb, &err), &err);
	ct_recorder_free(&ra);
	ct_recorder_free(&rb);
	free(s);
	free(ev);
}

/* Register the session suites for what the provider claims. */
int ct_register_session(char *tested, size_t size)
{
#define R_REG "Sessions"
#define R_EV "Session events"
	static const struct ct_test tests[] = {
		{ 0, "put, list, refresh, drop", test_registry, "sessions.registry", R_REG,
		  "put registers a session held by the putting instance, listed by every "
		  "instance; put again refreshes it; drop removes it" },
		{ 0, "another instance takes a session over", test_reregister,
		  "sessions.reregister", R_REG,
		  "a session put by another instance moves to it: listed with the new holder, "
		  "sends reach only the new holder" },
		{ 0, "bad input", test_bad_input, "sessions.args", "Arguments and errors",
		  "bad ids, bad event names and NULL arguments answer EINVAL" },
		{ 0, "broadcast", test_broadcast, "sessions.broadcast", R_EV,
		  "a broadcast reaches every instance, the sender too, once, with origin and data" },
		{ 0, "send", test_send, "sessions.send", R_EV,
		  "send reaches only the instance holding the session; an unknown or dropped "
		  "session answers NOTFOUND" },
		{ 0, "send to a closed holder", test_send_holder_gone, "sessions.send-gone", R_EV,
		  "a send to a session whose holder has closed answers NOTFOUND naming the "
		  "session, and the stale registration is gone" },
		{ 0, "unsubscribe", test_unsubscribe, "sessions.unsubscribe", R_EV,
		  "unsubscribe stops delivery to that subscriber only" },
		{ PERSIST_CAP_TTL, "expiry and refresh", test_ttl, "sessions.ttl", "Expiry (TTL)",
		  "a session expires after its TTL unless put again, which extends it" },
		{ PERSIST_CAP_THREADSAFE, "concurrent use of one handle", test_threads_mixed,
		  "sessions.threads", "Threads",
		  "threads using one handle on their own sessions each see their own" },
		{ 0, NULL, NULL, NULL, NULL, NULL }
	};

	return ct_add_kind_suites(tested, size, PERSIST_KIND_SESSION, "sessions", tests);
}
