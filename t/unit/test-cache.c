/*
 * t/unit/test-cache.c - the configuration cache (core/cache.c) and the
 * notifier (core/notify.c): freshness, absences, invalidation racing a
 * slow reader, delivery on the notifier thread, unsubscribe semantics.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "persist-handle.h"
#include "cache.h"
#include "notify.h"
#include "unit.h"

static void test_hit_and_miss(void)
{
	struct persist_cache *c = persist_cache_create(60000);
	char *data = NULL, etag[PERSIST_ETAG_MAX];
	size_t len = 0;
	int found = -1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(persist_cache_lookup(c, "apps", &found, &data, &len, etag, NULL), 0);
	persist_cache_store(c, persist_cache_generation(c), "apps", "{}", 2, "e1", 0);
	CU_ASSERT_EQUAL(persist_cache_lookup(c, "apps", &found, &data, &len, etag, NULL), 1);
	CU_ASSERT_EQUAL(found, 1);
	CU_ASSERT_EQUAL(len, 2);
	CU_ASSERT_STRING_EQUAL(data, "{}");
	CU_ASSERT_STRING_EQUAL(etag, "e1");
	free(data);
	/* an absence is cached too */
	persist_cache_store(c, persist_cache_generation(c), "gone", NULL, 0, NULL, 0);
	CU_ASSERT_EQUAL(persist_cache_lookup(c, "gone", &found, NULL, NULL, NULL, NULL), 1);
	CU_ASSERT_EQUAL(found, 0);
	persist_cache_invalidate(c, "apps");
	CU_ASSERT_EQUAL(persist_cache_lookup(c, "apps", &found, NULL, NULL, NULL, NULL), 0);
	CU_ASSERT_EQUAL(persist_cache_lookup(c, "gone", &found, NULL, NULL, NULL, NULL), 1);
	persist_cache_invalidate(c, NULL);
	CU_ASSERT_EQUAL(persist_cache_lookup(c, "gone", &found, NULL, NULL, NULL, NULL), 0);
	persist_cache_destroy(c);
}

static void test_expiry(void)
{
	struct persist_cache *c = persist_cache_create(50);
	int found;

	persist_cache_store(c, persist_cache_generation(c), "k", "1", 1, "e", 0);
	CU_ASSERT_EQUAL(persist_cache_lookup(c, "k", &found, NULL, NULL, NULL, NULL), 1);
	usleep(80 * 1000);
	CU_ASSERT_EQUAL(persist_cache_lookup(c, "k", &found, NULL, NULL, NULL, NULL), 0);
	/* the document's own expiry wins over cacheTTL */
	persist_cache_destroy(c);
	c = persist_cache_create(60000);
	int64_t expires = persist_now_ms() + 30, expires_r = 0;
	persist_cache_store(c, persist_cache_generation(c), "k", "1", 1, "e", expires);
	CU_ASSERT_EQUAL(persist_cache_lookup(c, "k", &found, NULL, NULL, NULL, &expires_r), 1);
	CU_ASSERT_EQUAL(expires_r, expires);  /* the lookup tells the expiry */
	usleep(60 * 1000);
	CU_ASSERT_EQUAL(persist_cache_lookup(c, "k", &found, NULL, NULL, NULL, NULL), 0);
	persist_cache_destroy(c);
}

/* A huge cacheTTL (the largest the configuration allows, and beyond) keeps
   documents instead of overflowing into "always stale"; a document expiry
   far away (saturated by persist_expiry_ms) is kept too. */
static void test_huge_ttl(void)
{
	const int64_t ttls[] = { PERSIST_TTL_MAX_MS, INT64_MAX / 1000 + 1, INT64_MAX };
	int found;

	for (size_t i = 0; i < sizeof(ttls) / sizeof(ttls[0]); i++) {
		struct persist_cache *c = persist_cache_create(ttls[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		persist_cache_store(c, persist_cache_generation(c), "k", "1", 1, "e",
				    persist_expiry_ms(persist_now_ms(), INT64_MAX));
		CU_ASSERT_EQUAL(persist_cache_lookup(c, "k", &found, NULL, NULL, NULL, NULL), 1);
		CU_ASSERT_EQUAL(found, 1);
		persist_cache_destroy(c);
	}
}

static void test_stale_reader_race(void)
{
	struct persist_cache *c = persist_cache_create(60000);
	uint64_t gen = persist_cache_generation(c);
	int found;

	/* a reader fetched v1, then a notification invalidated the key, then
	   the reader tries to store v1: it must not land */
	persist_cache_invalidate(c, "k");
	persist_cache_store(c, gen, "k", "v1", 2, "e1", 0);
	CU_ASSERT_EQUAL(persist_cache_lookup(c, "k", &found, NULL, NULL, NULL, NULL), 0);
	persist_cache_destroy(c);
}

static void test_many_keys(void)
{
	struct persist_cache *c = persist_cache_create(60000);
	char key[32];
	int found, all = 1;

	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		persist_cache_store(c, persist_cache_generation(c), key, key, strlen(key), "e", 0);
	}
	for (int i = 0; i < 5000; i++) {
		char *data = NULL;
		snprintf(key, sizeof(key), "k%d", i);
		if (persist_cache_lookup(c, key, &found, &data, NULL, NULL, NULL) != 1 ||
		    strcmp(data, key) != 0)
			all = 0;
		free(data);
	}
	CU_ASSERT_TRUE(all);
	persist_cache_destroy(c);
}

/* --- notifier ----------------------------------------------------------- */

struct seen {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int count;
	char last_key[64], last_etag[64];
	int sleep_ms;
};

static void on_change(void *ctx, const char *key, const char *etag)
{
	struct seen *s = ctx;

	if (s->sleep_ms > 0)
		usleep((useconds_t)s->sleep_ms * 1000);
	pthread_mutex_lock(&s->lock);
	s->count++;
	snprintf(s->last_key, sizeof(s->last_key), "%s", key != NULL ? key : "(all)");
	snprintf(s->last_etag, sizeof(s->last_etag), "%s", etag != NULL ? etag : "(deleted)");
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Wait until s->count reaches n (at most 5 s); returns the count. */
static int wait_count(struct seen *s, int n)
{
	struct timespec until;
	int count;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&s->lock);
	while (s->count < n &&
	       pthread_cond_timedwait(&s->cond, &s->lock, &until) == 0)
		;
	count = s->count;
	pthread_mutex_unlock(&s->lock);
	return count;
}

static void test_notifier_delivery(void)
{
	struct persist_notifier *n;
	struct persist_error err;
	struct seen one = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, "", "", 0 };
	struct seen all = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, "", "", 0 };
	uint64_t id_one, id_all;

	CU_ASSERT_EQUAL_FATAL(persist_notifier_create(NULL, &n, &err), PERSIST_OK);
	/* nobody subscribed: dropped, not queued */
	persist_notifier_config_changed(n, "apps", "e0");
	CU_ASSERT_EQUAL(persist_notifier_subscribe_config(n, "apps", on_change, &one, &id_one, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_notifier_subscribe_config(n, NULL, on_change, &all, &id_all, &err), PERSIST_OK);
	persist_notifier_config_changed(n, "models", "e1");
	persist_notifier_config_changed(n, "apps", "e2");
	persist_notifier_config_changed(n, "apps", NULL);
	CU_ASSERT_EQUAL(wait_count(&all, 3), 3);
	CU_ASSERT_EQUAL(wait_count(&one, 2), 2);
	CU_ASSERT_STRING_EQUAL(one.last_key, "apps");
	CU_ASSERT_STRING_EQUAL(one.last_etag, "(deleted)");
	/* a "re-read everything" reaches every config subscriber */
	persist_notifier_config_changed(n, NULL, NULL);
	CU_ASSERT_EQUAL(wait_count(&one, 3), 3);
	CU_ASSERT_STRING_EQUAL(one.last_key, "(all)");
	CU_ASSERT_EQUAL(persist_notifier_unsubscribe(n, 0, id_one, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_notifier_unsubscribe(n, 0, id_one, &err), PERSIST_ENOTFOUND);
	CU_ASSERT_EQUAL(persist_notifier_unsubscribe(n, 1, id_all, &err), PERSIST_ENOTFOUND);
	persist_notifier_config_changed(n, "apps", "e3");
	CU_ASSERT_EQUAL(wait_count(&all, 5), 5);
	usleep(20 * 1000);
	CU_ASSERT_EQUAL(one.count, 3);
	persist_notifier_destroy(n);
}

static void test_unsubscribe_waits(void)
{
	struct persist_notifier *n;
	struct persist_error err;
	struct seen slow = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, "", "", 200 };
	uint64_t id;
	int64_t start;

	CU_ASSERT_EQUAL_FATAL(persist_notifier_create(NULL, &n, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_notifier_subscribe_config(n, NULL, on_change, &slow, &id, &err), PERSIST_OK);
	persist_notifier_config_changed(n, "k", "e");
	usleep(50 * 1000);     /* the callback is now sleeping */
	start = persist_monotonic_us();
	CU_ASSERT_EQUAL(persist_notifier_unsubscribe(n, 0, id, &err), PERSIST_OK);
	/* returned only after the running callback finished */
	CU_ASSERT_EQUAL(slow.count, 1);
	CU_ASSERT_TRUE(persist_monotonic_us() - start >= 100 * 1000);
	persist_notifier_destroy(n);
}

int main(void)
{
	static const struct t_case tests[] = {
		{ "hit, miss, absence, invalidate", test_hit_and_miss },
		{ "cacheTTL and document expiry", test_expiry },
		{ "slow reader does not store stale data", test_stale_reader_race },
		{ "huge cacheTTL and expiry", test_huge_ttl },
		{ "5000 keys", test_many_keys },
		{ "notifier delivery and filters", test_notifier_delivery },
		{ "unsubscribe waits for a running callback", test_unsubscribe_waits },
		{ NULL, NULL }
	};
	return t_cunit_run("cache", NULL, NULL, tests);
}
