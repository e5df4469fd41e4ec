/*
 * plugins/redis/test-redis-lww.c - last writer wins on the redis
 * provider, through the host API (libpersist): persist_state_batch_once_dated
 * beside the plain set, delete, batch and batch_once, against the real
 * redis-server test-redis-lww.sh starts (REDIS_URL).  A second, plain
 * hiredis connection looks at the keys the provider keeps (the write
 * times P s:{C}:w, see redis-state.c) and writes an old time to provoke
 * the pruning.  Checked:
 *   - a dated set or delete older than a direct set is skipped, a newer
 *     (or equally old) one applies;
 *   - after a direct delete (also of an absent key), or after a key's TTL
 *     ran out, a dated set made before it does not bring the key back,
 *     one made after it does;
 *   - two dated writes of one key in one batch apply in order when their
 *     times increase, the second is skipped when they decrease;
 *   - a retry with the same id applies nothing, even a write that would
 *     win by time;
 *   - batch and batch_once record times too; increments and appends
 *     record none;
 *   - drop forgets the times, and collections does not list the dropped
 *     collection;
 *   - times older than a day are pruned, a bounded number per write, and
 *     the times set expires when nobody writes it;
 *   - the database holds exactly the keys expected, nothing stray.
 */
#define _GNU_SOURCE /* asprintf */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <CUnit/Basic.h>
#include <hiredis/hiredis.h>
#include <persist/persist.h>
#include "../../t/lib/cunit-suite.h"
#include "redis-test-raw.h"

#define PREFIX "lww:"
#define DAY_MS PERSIST_BATCH_ID_KEEP_MS

static persist *p;
static int id_seq;

/* expr (a call filling the caller's err) answers code. */
#define CHECK_IS(expr, code) do { \
	int rc_ = (expr); \
	if (rc_ != (code)) \
		fprintf(stderr, "%s:%d: %s -> %d (expected %d): %s\n", __FILE__, \
			__LINE__, #expr, rc_, (int)(code), \
			rc_ != PERSIST_OK ? err.msg : ""); \
	CU_ASSERT_EQUAL(rc_, code); \
} while (0)

/* Wall clock in ms, the clock the core gives the provider (at tick
   resolution, so a write stamped between two readings lies between
   them). */
static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep ms milliseconds. */
static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* The recorded write time of key in collection, -1 when none. */
static int64_t wtime(const char *coll, const char *key)
{
	redisReply *r = raw("ZSCORE " PREFIX "s:{%s}:w %s", coll, key);
	int64_t v = -1;

	if (r->type == REDIS_REPLY_STRING)
		v = strtoll(r->str, NULL, 10);
	freeReplyObject(r);
	return v;
}

/* The value of key (malloc'd), or NULL when it is not found. */
static char *get(const char *coll, const char *key)
{
	struct persist_error err;
	char *v = NULL;
	size_t len = 0;
	int rc = persist_state_get(p, coll, key, &v, &len, &err);

	if (rc != PERSIST_OK) {
		if (rc != PERSIST_ENOTFOUND)
			fprintf(stderr, "get %s/%s: %s\n", coll, key, err.msg);
		CU_ASSERT_EQUAL(rc, PERSIST_ENOTFOUND);
		return NULL;
	}
	return v;
}

/* Is the value of key want (NULL: absent)? */
static int value_is(const char *coll, const char *key, const char *want)
{
	char *v = get(coll, key);
	int ok = want == NULL ? v == NULL : v != NULL && strcmp(v, want) == 0;

	if (!ok)
		fprintf(stderr, "%s/%s: \"%s\", expected \"%s\"\n", coll, key,
			v != NULL ? v : "(absent)", want != NULL ? want : "(absent)");
	persist_free(v);
	return ok;
}

/* A set operation. */
static struct persist_op op_set(const char *coll, const char *key, const char *v)
{
	return (struct persist_op){ .type = PERSIST_OP_SET, .collection = coll,
				    .key = key, .value = v, .len = strlen(v) };
}

/* A delete operation. */
static struct persist_op op_del(const char *coll, const char *key)
{
	return (struct persist_op){ .type = PERSIST_OP_DELETE, .collection = coll,
				    .key = key };
}

/* An increment. */
static struct persist_op op_incr(const char *coll, const char *key, int64_t d)
{
	return (struct persist_op){ .type = PERSIST_OP_INCR, .collection = coll,
				    .key = key, .delta = d };
}

/* A fresh batch id. */
static const char *next_id(char buf[64])
{
	snprintf(buf, 64, "lww-test-%d", ++id_seq);
	return buf;
}

/* Send a dated batch under id; *applied_before_r from the call.  The
   status. */
static int dated_id(const char *id, const struct persist_op *ops,
		    const int64_t *times, size_t n, int *applied_before_r)
{
	struct persist_error err;
	int rc = persist_state_batch_once_dated(p, id, ops, times, n,
						applied_before_r, &err);

	if (rc != PERSIST_OK)
		fprintf(stderr, "dated batch %s: %s\n", id, err.msg);
	return rc;
}

/* Send a dated batch under a fresh id; asserts it went through and was
   not applied before. */
static void dated(const struct persist_op *ops, const int64_t *times, size_t n)
{
	char id[64];
	int before = -1;

	CU_ASSERT_EQUAL(dated_id(next_id(id), ops, times, n, &before), PERSIST_OK);
	CU_ASSERT_EQUAL(before, 0);
}

/* One dated set. */
static void dated_set(const char *coll, const char *key, const char *v, int64_t at)
{
	struct persist_op op = op_set(coll, key, v);

	dated(&op, &at, 1);
}

/* A direct set; *before_r, *after_r: the wall clock around it. */
static void set_timed(const char *coll, const char *key, const char *v,
		      int64_t ttl_ms, int64_t *before_r, int64_t *after_r)
{
	struct persist_error err;

	*before_r = wall_ms();
	CHECK_IS(persist_state_set(p, coll, key, v, strlen(v), ttl_ms, &err), PERSIST_OK);
	*after_r = wall_ms();
}

/* A dated set older than a direct set is skipped; a newer one, or one
   as old as the recorded time, applies and records its time. */
static void test_dated_vs_set(void)
{
	int64_t before, after, t;

	set_timed("ds", "k", "direct", 0, &before, &after);
	t = wtime("ds", "k");
	CU_ASSERT(t >= before && t <= after);
	dated_set("ds", "k", "older", before - 1000);
	CU_ASSERT(value_is("ds", "k", "direct"));
	CU_ASSERT_EQUAL(wtime("ds", "k"), t);
	dated_set("ds", "k", "newer", after + 1000);
	CU_ASSERT(value_is("ds", "k", "newer"));
	CU_ASSERT_EQUAL(wtime("ds", "k"), after + 1000);
	dated_set("ds", "k", "same", after + 1000);
	CU_ASSERT(value_is("ds", "k", "same"));
	dated_set("ds", "k", "between", after + 999);
	CU_ASSERT(value_is("ds", "k", "same"));
	/* nothing recorded: applies */
	dated_set("ds", "fresh", "v", before - 3600000);
	CU_ASSERT(value_is("ds", "fresh", "v"));
	CU_ASSERT_EQUAL(wtime("ds", "fresh"), before - 3600000);
}

/* A dated delete older than a set is skipped; a newer one deletes, and
   its time outlives the key. */
static void test_dated_delete(void)
{
	int64_t before, after;
	struct persist_op del = op_del("dd", "k");
	int64_t at;

	set_timed("dd", "k", "v", 0, &before, &after);
	at = before - 1000;
	dated(&del, &at, 1);
	CU_ASSERT(value_is("dd", "k", "v"));
	at = after + 1000;
	dated(&del, &at, 1);
	CU_ASSERT(value_is("dd", "k", NULL));
	CU_ASSERT_EQUAL(wtime("dd", "k"), after + 1000);
	dated_set("dd", "k", "back", after + 500);
	CU_ASSERT(value_is("dd", "k", NULL));
	dated_set("dd", "k", "later", after + 1500);
	CU_ASSERT(value_is("dd", "k", "later"));
}

/* After a direct delete, a dated set made before it does not bring the
   key back, one made after it does; also when the key was absent. */
static void test_delete_then_dated(void)
{
	struct persist_error err;
	int64_t before, after, t0, t1;

	set_timed("dl", "k", "v", 0, &before, &after);
	t0 = wall_ms();
	CHECK_IS(persist_state_delete(p, "dl", "k", &err), PERSIST_OK);
	t1 = wall_ms();
	CU_ASSERT(wtime("dl", "k") >= t0 && wtime("dl", "k") <= t1);
	dated_set("dl", "k", "old", t0 - 1);
	CU_ASSERT(value_is("dl", "k", NULL));
	dated_set("dl", "k", "new", t1 + 1000);
	CU_ASSERT(value_is("dl", "k", "new"));

	/* a delete that found nothing still dates the key */
	t0 = wall_ms();
	CHECK_IS(persist_state_delete(p, "dl", "absent", &err), PERSIST_ENOTFOUND);
	t1 = wall_ms();
	CU_ASSERT(wtime("dl", "absent") >= t0 && wtime("dl", "absent") <= t1);
	dated_set("dl", "absent", "old", t0 - 1000);
	CU_ASSERT(value_is("dl", "absent", NULL));
}

/* A key whose TTL ran out keeps its time. */
static void test_ttl_expired(void)
{
	struct persist_error err;
	int64_t before, after;
	struct persist_op ops[1];
	int64_t at;

	set_timed("tx", "k", "short", 50, &before, &after);
	sleep_ms(200);
	CU_ASSERT(value_is("tx", "k", NULL));
	CU_ASSERT_EQUAL(raw_int("EXISTS " PREFIX "s:{tx}:v:k"), 0);
	CU_ASSERT(wtime("tx", "k") >= before && wtime("tx", "k") <= after);
	/* a set in the collection cleans the expired key's marker up, and
	   leaves its time */
	CHECK_IS(persist_state_set(p, "tx", "other", "v", 1, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(raw_int("HEXISTS " PREFIX "s:{tx}:h k"), 0);
	CU_ASSERT(wtime("tx", "k") >= before && wtime("tx", "k") <= after);
	dated_set("tx", "k", "old", before - 1000);
	CU_ASSERT(value_is("tx", "k", NULL));
	dated_set("tx", "k", "new", after + 1000);
	CU_ASSERT(value_is("tx", "k", "new"));

	/* the same through a dated set with a TTL */
	ops[0] = op_set("tx", "d", "short");
	ops[0].ttl_ms = 50;
	at = wall_ms() - 10;
	dated(ops, &at, 1);
	sleep_ms(200);
	CU_ASSERT(value_is("tx", "d", NULL));
	CU_ASSERT_EQUAL(wtime("tx", "d"), at);
	dated_set("tx", "d", "old", at - 1);
	CU_ASSERT(value_is("tx", "d", NULL));
}

/* Two dated writes of one key in one batch: in order by time. */
static void test_two_in_batch(void)
{
	int64_t t = wall_ms() - 60000;
	struct persist_op up[] = { op_set("tb", "up", "first"), op_set("tb", "up", "second") };
	int64_t up_t[] = { t, t + 1 };
	struct persist_op down[] = { op_set("tb", "down", "first"), op_set("tb", "down", "second") };
	int64_t down_t[] = { t + 1, t };
	struct persist_op sd[] = { op_set("tb", "sd", "v"), op_set("tb2", "o", "x"),
				   op_del("tb", "sd") };
	int64_t sd_t[] = { t, t, t + 1 };
	struct persist_op ds[] = { op_del("tb", "ds"), op_incr("tb", "n", 1),
				   op_set("tb", "ds", "v") };
	int64_t ds_t[] = { t, 0, t + 1 };
	struct persist_op same[] = { op_set("tb", "same", "a"), op_set("tb", "same", "b") };
	int64_t same_t[] = { t, t };

	dated(up, up_t, 2);
	CU_ASSERT(value_is("tb", "up", "second"));
	CU_ASSERT_EQUAL(wtime("tb", "up"), t + 1);
	dated(down, down_t, 2);
	CU_ASSERT(value_is("tb", "down", "first"));
	CU_ASSERT_EQUAL(wtime("tb", "down"), t + 1);
	dated(sd, sd_t, 3);
	CU_ASSERT(value_is("tb", "sd", NULL));
	CU_ASSERT(value_is("tb2", "o", "x"));
	CU_ASSERT_EQUAL(wtime("tb", "sd"), t + 1);
	dated(ds, ds_t, 3);
	CU_ASSERT(value_is("tb", "ds", "v"));
	CU_ASSERT(value_is("tb", "n", "1"));
	dated(same, same_t, 2);
	CU_ASSERT(value_is("tb", "same", "b"));
}

/* A retry with the same id applies nothing, even a write that would win
   by its time, and no increment twice. */
static void test_retry(void)
{
	struct persist_error err;
	struct persist_op ops[] = { op_set("rt", "k", "dated"), op_incr("rt", "n", 5) };
	int64_t times[] = { wall_ms() + 10000, 0 };
	int before = -1;

	CU_ASSERT_EQUAL(dated_id("lww-retry", ops, times, 2, &before), PERSIST_OK);
	CU_ASSERT_EQUAL(before, 0);
	CU_ASSERT(value_is("rt", "k", "dated"));
	/* a direct delete records now, earlier than the dated set: the
	   batch would win by time if it were applied again */
	CHECK_IS(persist_state_delete(p, "rt", "k", &err), PERSIST_OK);
	CU_ASSERT(wtime("rt", "k") < times[0]);
	before = -1;
	CU_ASSERT_EQUAL(dated_id("lww-retry", ops, times, 2, &before), PERSIST_OK);
	CU_ASSERT_EQUAL(before, 1);
	CU_ASSERT(value_is("rt", "k", NULL));
	CU_ASSERT(value_is("rt", "n", "5"));
}

/* The sets and deletes of ops, applied between t0 and t1, recorded a
   time in that span and the others none; a dated set made before t0
   loses to each. */
static void check_stamped(const struct persist_op *ops, size_t n, int64_t t0,
			  int64_t t1)
{
	for (size_t i = 0; i < n; i++) {
		const char *c = ops[i].collection, *k = ops[i].key;
		int64_t t = wtime(c, k);

		if (ops[i].type != PERSIST_OP_SET && ops[i].type != PERSIST_OP_DELETE) {
			CU_ASSERT_EQUAL(t, -1);
			continue;
		}
		CU_ASSERT(t >= t0 && t <= t1);
		dated_set(c, k, "old", t0 - 1000);
		CU_ASSERT(value_is(c, k, ops[i].type == PERSIST_OP_SET ?
				   (const char *)ops[i].value : NULL));
	}
}

/* batch and batch_once record the time of their sets and deletes. */
static void test_batch_stamps(void)
{
	struct persist_error err;
	struct persist_op ops[] = { op_set("bs", "k1", "v"), op_incr("bs", "n", 1),
				    op_set("bs2", "o", "v"), op_del("bs", "k2"),
				    op_set("bs", "k3", "v") };
	int64_t t0, t1;
	int before = -1;

	t0 = wall_ms();
	CHECK_IS(persist_state_batch(p, ops, 5, &err), PERSIST_OK);
	t1 = wall_ms();
	check_stamped(ops, 5, t0, t1);

	ops[0] = op_set("bo", "k1", "v");
	ops[1] = op_incr("bo", "n", 1);
	ops[2] = op_del("bo", "k2");
	t0 = wall_ms();
	CHECK_IS(persist_state_batch_once(p, "lww-once-1", ops, 3, &before, &err),
		 PERSIST_OK);
	t1 = wall_ms();
	CU_ASSERT_EQUAL(before, 0);
	check_stamped(ops, 3, t0, t1);
}

/* Increments and appends record no time, are applied whatever the
   times, and a counter has no time a dated set could lose to. */
static void test_incr_untouched(void)
{
	struct persist_error err;
	struct persist_op ops[] = { op_incr("ic", "n", 2), op_incr("ic", "m", 1) };
	int64_t times[] = { 1, 1 };
	int64_t v = 0;
	int before = -1;

	CHECK_IS(persist_state_incr(p, "ic", "n", 1, &v, &err), PERSIST_OK);
	CHECK_IS(persist_state_append(p, "ic", "rec", 3, &err), PERSIST_OK);
	CHECK_IS(persist_state_batch_once(p, "lww-incr-1", ops, 2, &before, &err),
		 PERSIST_OK);
	dated(ops, times, 2);
	CU_ASSERT(value_is("ic", "n", "5"));
	CU_ASSERT(value_is("ic", "m", "2"));
	CU_ASSERT_EQUAL(raw_int("EXISTS " PREFIX "s:{ic}:w"), 0);

	/* beside a dated set: the increment applies, only the set is dated */
	ops[0] = op_set("ic", "k", "v");
	times[0] = wall_ms() + 1000;
	dated(ops, times, 2);
	CU_ASSERT(value_is("ic", "m", "3"));
	CU_ASSERT_EQUAL(raw_int("ZCARD " PREFIX "s:{ic}:w"), 1);
	CU_ASSERT_EQUAL(wtime("ic", "m"), -1);
	/* the counter has no time: an old dated set of it applies */
	dated_set("ic", "n", "text", 1);
	CU_ASSERT(value_is("ic", "n", "text"));
}

/* drop forgets the times; collections does not list the collection. */
static void test_drop(void)
{
	struct persist_error err;
	struct persist_entry *names = NULL;
	size_t n = 0;
	int64_t future = wall_ms() + 60000;

	dated_set("dr", "k", "v", future);
	CU_ASSERT_EQUAL(raw_int("EXISTS " PREFIX "s:{dr}:w"), 1);
	CHECK_IS(persist_state_drop(p, "dr", &err), PERSIST_OK);
	CU_ASSERT_EQUAL(raw_int("EXISTS " PREFIX "s:{dr}:w"), 0);
	CU_ASSERT(value_is("dr", "k", NULL));
	CHECK_IS(persist_state_collections(p, &names, &n, &err), PERSIST_OK);
	for (size_t i = 0; i < n; i++)
		CU_ASSERT_STRING_NOT_EQUAL(names[i].key, "dr");
	persist_items_free(names, n);
	/* the times are forgotten: a set older than the dropped one applies */
	dated_set("dr", "k", "after", future - 30000);
	CU_ASSERT(value_is("dr", "k", "after"));

	/* a collection left with only times (its keys deleted) is not listed */
	CHECK_IS(persist_state_delete(p, "dr", "k", &err), PERSIST_OK);
	CU_ASSERT_EQUAL(raw_int("EXISTS " PREFIX "s:{dr}:w"), 1);
	CHECK_IS(persist_state_collections(p, &names, &n, &err), PERSIST_OK);
	for (size_t i = 0; i < n; i++)
		CU_ASSERT_STRING_NOT_EQUAL(names[i].key, "dr");
	persist_items_free(names, n);
}

/* Put count times older than a day (members old0, old1, ...) into
   collection coll's times, with one ZADD. */
static void add_old_times(const char *coll, int count, int64_t now)
{
	size_t argc = 2 + 2 * (size_t)count;
	char **argv = calloc(argc, sizeof(*argv));
	redisReply *r;

	if (argv == NULL)
		exit(99);
	argv[0] = strdup("ZADD");
	if (asprintf(&argv[1], PREFIX "s:{%s}:w", coll) < 0)
		exit(99);
	for (int i = 0; i < count; i++)
		if (asprintf(&argv[2 + 2 * i], "%lld", (long long)(now - DAY_MS - 5000 - i)) < 0 ||
		    asprintf(&argv[3 + 2 * i], "old%d", i) < 0)
			exit(99);
	r = redisCommandArgv(raw_ctx, (int)argc, (const char **)argv, NULL);
	if (r == NULL || r->type != REDIS_REPLY_INTEGER || r->integer != count) {
		fprintf(stderr, "test-redis-lww: ZADD of old times failed\n");
		exit(99);
	}
	freeReplyObject(r);
	for (size_t i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

/* Number of the old%d entries left in coll's times. */
static long long old_left(const char *coll, int64_t now)
{
	return raw_int("ZCOUNT " PREFIX "s:{%s}:w -inf (%lld", coll,
		       (long long)(now - DAY_MS));
}

/* Times older than a day are pruned by the writes of the collection that
   add a key to its times, at most 16 more than they add; newer ones
   stay; rewriting a timed key prunes nothing; the set expires. */
static void test_prune(void)
{
	struct persist_error err;
	int64_t now = wall_ms();
	long long pttl;
	struct persist_op ops[] = { op_set("pr", "b1", "v"), op_del("pr", "b2") };
	int64_t times[] = { now + 10000, now + 10000 };
	int before = -1;

	add_old_times("pr", 40, now);
	freeReplyObject(raw("ZADD " PREFIX "s:{pr}:w %lld recent", (long long)(now - DAY_MS + 600000)));
	CHECK_IS(persist_state_set(p, "pr", "k", "v", 1, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(old_left("pr", now), 40 - 17);
	CU_ASSERT_EQUAL(raw_int("ZCARD " PREFIX "s:{pr}:w"), 40 - 17 + 2);
	CHECK_IS(persist_state_delete(p, "pr", "k2", &err), PERSIST_ENOTFOUND);
	CU_ASSERT_EQUAL(old_left("pr", now), 40 - 34);
	CHECK_IS(persist_state_set(p, "pr", "k3", "v", 1, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(old_left("pr", now), 0);
	CU_ASSERT_NOT_EQUAL(wtime("pr", "recent"), -1);
	pttl = raw_int("PTTL " PREFIX "s:{pr}:w");
	CU_ASSERT(pttl > DAY_MS && pttl <= 2 * DAY_MS);

	/* rewriting a timed key leaves the old time; a new key takes it */
	add_old_times("pr", 1, now);
	CHECK_IS(persist_state_set(p, "pr", "k", "v", 1, 0, &err), PERSIST_OK);
	CHECK_IS(persist_state_delete(p, "pr", "k3", &err), PERSIST_OK);
	CU_ASSERT_NOT_EQUAL(wtime("pr", "old0"), -1);
	CHECK_IS(persist_state_set(p, "pr", "k4", "v", 1, 0, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(wtime("pr", "old0"), -1);

	/* batch, batch_once and batch_once_dated prune (16 + what they add) */
	add_old_times("pr", 40, now);
	CHECK_IS(persist_state_batch(p, ops, 2, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(old_left("pr", now), 40 - 18);
	ops[0].key = "b3";
	ops[1].key = "b4";
	CHECK_IS(persist_state_batch_once(p, "lww-prune-1", ops, 2, &before, &err),
		 PERSIST_OK);
	CU_ASSERT_EQUAL(old_left("pr", now), 40 - 36);
	ops[0].key = "b5";
	ops[1].key = "b6";
	dated(ops, times, 2);
	CU_ASSERT_EQUAL(old_left("pr", now), 0);
	/* every write renews the expiry, a rewrite too */
	freeReplyObject(raw("PERSIST " PREFIX "s:{pr}:w"));
	times[0] = times[1] = now + 20000;
	dated(ops, times, 2);
	pttl = raw_int("PTTL " PREFIX "s:{pr}:w");
	CU_ASSERT(pttl > DAY_MS && pttl <= 2 * DAY_MS);
}

/* A batch that sets more keys than Lua's unpack takes prunes as many old
   times, in pieces. */
static void test_prune_big(void)
{
	enum { N = 9000 };
	struct persist_op *ops = calloc(N, sizeof(*ops));
	int64_t *times = calloc(N, sizeof(*times));
	char (*keys)[16] = calloc(N, sizeof(*keys));
	int64_t now = wall_ms();

	if (ops == NULL || times == NULL || keys == NULL)
		exit(99);
	for (int i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		ops[i] = op_set("big", keys[i], "v");
		times[i] = now;
	}
	add_old_times("big", N + 100, now);
	dated(ops, times, N);
	CU_ASSERT_EQUAL(old_left("big", now), 100 - 16);
	CU_ASSERT_EQUAL(raw_int("ZCARD " PREFIX "s:{big}:w"), N + 100 - 16);
	CU_ASSERT(value_is("big", "k8999", "v"));
	free(ops);
	free(times);
	free(keys);
}

/* One element of a KEYS reply is want. */
static int has_key(const redisReply *r, const char *want)
{
	for (size_t i = 0; i < r->elements; i++)
		if (strcmp(r->element[i]->str, want) == 0)
			return 1;
	return 0;
}

/* The database holds exactly the keys expected: no stray ones. */
static void test_key_count(void)
{
	static const char *const expected[] = {
		PREFIX "s:{ka}:h", PREFIX "s:{ka}:v:k1", PREFIX "s:{ka}:v:k2",
		PREFIX "s:{ka}:x", PREFIX "s:{ka}:w", PREFIX "s:{ka}:log",
		PREFIX "s:{kb}:h", PREFIX "s:{kc}:h", PREFIX "s:{kc}:v:x",
		PREFIX "s:{kc}:w", PREFIX "s:{kd}:w", PREFIX "b:lww-keys-1",
	};
	const size_t nexp = sizeof(expected) / sizeof(expected[0]);
	struct persist_error err;
	struct persist_op ops[] = { op_set("kc", "x", "v"), op_incr("kb", "n", 1) };
	int64_t times[] = { wall_ms(), 0 };
	int before = -1;
	redisReply *r;

	freeReplyObject(raw("FLUSHDB"));
	CHECK_IS(persist_state_set(p, "ka", "k1", "v", 1, 0, &err), PERSIST_OK);
	CHECK_IS(persist_state_set(p, "ka", "k2", "v", 1, 600000, &err), PERSIST_OK);
	CHECK_IS(persist_state_append(p, "ka", "r", 1, &err), PERSIST_OK);
	CHECK_IS(persist_state_incr(p, "kb", "n", 1, NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(dated_id("lww-keys-1", ops, times, 2, &before), PERSIST_OK);
	CHECK_IS(persist_state_delete(p, "kd", "gone", &err), PERSIST_ENOTFOUND);
	r = raw("KEYS *");
	CU_ASSERT_EQUAL(r->elements, nexp);
	for (size_t i = 0; i < nexp; i++) {
		if (!has_key(r, expected[i]))
			fprintf(stderr, "key %s is missing\n", expected[i]);
		CU_ASSERT(has_key(r, expected[i]));
	}
	if (r->elements != nexp)
		for (size_t i = 0; i < r->elements; i++)
			fprintf(stderr, "key: %s\n", r->element[i]->str);
	freeReplyObject(r);

	/* dropped, the collections leave nothing but the batch id */
	CHECK_IS(persist_state_drop(p, "ka", &err), PERSIST_OK);
	CHECK_IS(persist_state_drop(p, "kb", &err), PERSIST_OK);
	CHECK_IS(persist_state_drop(p, "kc", &err), PERSIST_OK);
	CHECK_IS(persist_state_drop(p, "kd", &err), PERSIST_OK);
	CU_ASSERT_EQUAL(raw_int("DBSIZE"), 1);
	CU_ASSERT_EQUAL(raw_int("EXISTS " PREFIX "b:lww-keys-1"), 1);
}

static const struct t_case cases[] = {
	{ "dated set against a direct set", test_dated_vs_set },
	{ "dated delete", test_dated_delete },
	{ "direct delete, then dated sets", test_delete_then_dated },
	{ "expired key keeps its time", test_ttl_expired },
	{ "two dated writes of a key in one batch", test_two_in_batch },
	{ "retry with the same id", test_retry },
	{ "batch and batch_once record times", test_batch_stamps },
	{ "increments and appends record nothing", test_incr_untouched },
	{ "drop forgets the times", test_drop },
	{ "old times are pruned", test_prune },
	{ "a big batch prunes in pieces", test_prune_big },
	{ "no stray keys", test_key_count },
	{ NULL, NULL }
};

int main(void)
{
	const char *url = getenv("REDIS_URL");
	char json[1024], host[64] = "";
	struct persist_error err;
	int port = 0, status;

	if (url == NULL || sscanf(url, "redis://%63[^:]:%d", host, &port) != 2) {
		fprintf(stderr, "REDIS_URL is not set (run test-redis-lww.sh)\n");
		return 99;
	}
	raw_ctx = redisConnect(host, port);
	if (raw_ctx == NULL || raw_ctx->err) {
		fprintf(stderr, "test-redis-lww: cannot connect to %s\n", url);
		return 99;
	}
	snprintf(json, sizeof(json),
		 "{\"persistence\":{\"state\":{\"provider\":\"redis\","
		 "\"config\":{\"url\":\"%s\",\"prefix\":\"" PREFIX "\"}}}}", url);
	if (persist_open_json(json, NULL, &p, &err) != PERSIST_OK) {
		fprintf(stderr, "test-redis-lww: open: %s\n", err.msg);
		return 99;
	}
	status = t_cunit_run("redis: last writer wins", NULL, NULL, cases);
	if (persist_close(p, &err) != PERSIST_OK) {
		fprintf(stderr, "test-redis-lww: close: %s\n", err.msg);
		status = 1;
	}
	redisFree(raw_ctx);
	return status;
}
