/*
 * t/migrate/test-migrate.c - the copy engine (tools/migrate.h) between two
 * handles of this process on the memory provider, each on a namespace of
 * its own: a full copy read back key by key (binary values, counters that
 * go on counting, keys and documents with TTLs, logs in order), a rerun
 * that writes nothing, a resumed log, refusal of a target holding other
 * data (nothing written, the difference named), force, a diverging log
 * refused even with force, a dry run, a second writer changing the source
 * between the copy and the verification, a trimmed source log, expired
 * keys, small batches, one kind at a time and bad arguments.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <persist/persist.h>

#include "cunit-suite.h"
#include "migrate.h"

static unsigned serial;

/* Open a handle whose configuration and state live in memory namespace
   ns (a fresh name per test keeps the tests apart). */
static persist *open_ns(const char *ns)
{
	char json[512];
	struct persist_error err;
	persist *p = NULL;

	snprintf(json, sizeof(json),
		 "{\"persistence\":{"
		 "\"configuration\":{\"provider\":\"memory\",\"config\":{\"namespace\":\"%s\"}},"
		 "\"state\":{\"provider\":\"memory\",\"config\":{\"namespace\":\"%s\"}},"
		 "\"sessions\":{\"provider\":\"memory\"}}}", ns, ns);
	if (persist_open_json(json, NULL, &p, &err) != PERSIST_OK)
		fprintf(stderr, "open %s: %s\n", ns, err.msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	return p;
}

/* A source and a target on fresh namespaces. */
static void open_pair(persist **src_r, persist **dst_r)
{
	char name[64];

	serial++;
	snprintf(name, sizeof(name), "src%u", serial);
	*src_r = open_ns(name);
	snprintf(name, sizeof(name), "dst%u", serial);
	*dst_r = open_ns(name);
}

static void close_pair(persist *a, persist *b)
{
	CU_ASSERT_EQUAL(persist_close(a, NULL), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_close(b, NULL), PERSIST_OK);
}

/* Assert a call succeeded, printing its error otherwise. */
#define OK(call) do { \
	struct persist_error e_ = { 0 }; \
	int r_ = (call); \
	(void)e_; \
	if (r_ != PERSIST_OK) \
		fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, persist_strerror(r_)); \
	CU_ASSERT_EQUAL_FATAL(r_, PERSIST_OK); \
} while (0)

static void set(persist *p, const char *c, const char *k, const char *v,
		int64_t ttl)
{
	OK(persist_state_set(p, c, k, v, strlen(v), ttl, NULL));
}

static void append(persist *p, const char *c, const char *rec)
{
	OK(persist_state_append(p, c, rec, strlen(rec), NULL));
}

static void doc(persist *p, const char *k, const char *json, int64_t ttl)
{
	OK(persist_config_set(p, k, json, strlen(json), NULL, ttl, NULL, NULL));
}

/* Fill a source with every sort of data: documents (one with a TTL),
   keys with binary values and TTLs, counters, two logs. */
static void fill(persist *p)
{
	static const char bin[] = { 'a', '\0', 'b', '\n', (char)0xff, 'z' };
	char key[32], rec[64];

	doc(p, "apps", "{\"apps\":[1,2,3]}", 0);
	doc(p, "models", "[\"m1\",\"m2\"]", 0);
	doc(p, "temp", "{\"t\":true}", 3600 * 1000);
	OK(persist_state_set(p, "blobs", "bin", bin, sizeof(bin), 0, NULL));
	OK(persist_state_set(p, "blobs", "empty", "", 0, 0, NULL));
	set(p, "links", "abc", "{\"url\":\"https://example.org\"}", 3600 * 1000);
	set(p, "links", "def", "{\"url\":\"https://example.com\"}", 0);
	for (int i = 0; i < 25; i++) {
		snprintf(key, sizeof(key), "user%02d", i);
		OK(persist_state_incr(p, "usage", key, i * 7 - 20, NULL, NULL));
	}
	for (int i = 0; i < 120; i++) {
		snprintf(rec, sizeof(rec), "{\"n\":%d}", i);
		append(p, "feedback", rec);
	}
	append(p, "events", "{\"e\":\"one\"}");
}

/* Run the engine; return its status, the report in r. */
static int run(persist *src, persist *dst, unsigned kinds, int dry, int force,
	       size_t batch, struct migrate_report *r, struct persist_error *err)
{
	struct migrate_options o = { .kinds = kinds, .dry_run = dry,
				     .force = force, .batch_ops = batch };

	return migrate_run(src, dst, &o, r, err);
}

#define ALL (MIGRATE_CONFIG | MIGRATE_STATE)

/* Is the value of c/k exactly these bytes? */
static int value_is(persist *p, const char *c, const char *k, const void *v,
		    size_t len)
{
	char *got = NULL;
	size_t n = 0;
	int same;

	if (persist_state_get(p, c, k, &got, &n, NULL) != PERSIST_OK)
		return 0;
	same = n == len && memcmp(got, v, len) == 0;
	persist_free(got);
	return same;
}

/* Expiry of c/k from a scan (-1 when absent). */
static int64_t expiry_of(persist *p, const char *c, const char *k)
{
	struct persist_entry *e = NULL;
	size_t n = 0;
	int64_t exp = -1;

	OK(persist_state_scan(p, c, k, &e, &n, NULL));
	for (size_t i = 0; i < n; i++)
		if (strcmp(e[i].key, k) == 0)
			exp = e[i].expires_ms;
	persist_items_free(e, n);
	return exp;
}

/* The records of a log joined by '|', and its bounds. */
static void log_text(persist *p, const char *c, char *buf, size_t size,
		     uint64_t *first_r, uint64_t *next_r)
{
	struct persist_entry *e = NULL;
	size_t n = 0, used = 0;

	OK(persist_state_read_log(p, c, 0, 0, &e, &n, NULL, NULL));
	buf[0] = '\0';
	for (size_t i = 0; i < n && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s|", e[i].value);
	persist_items_free(e, n);
	OK(persist_state_log_bounds(p, c, first_r, next_r, NULL));
}

/* Everything copied, read back one by one; a rerun writes nothing. */
static void test_copy_all(void)
{
	static const char bin[] = { 'a', '\0', 'b', '\n', (char)0xff, 'z' };
	struct migrate_report r;
	struct persist_error err;
	persist *src, *dst;
	char a[8192], b[8192], *data = NULL;
	uint64_t f1, n1, f2, n2;
	int64_t v = 0, exp;
	size_t len;

	open_pair(&src, &dst);
	fill(src);
	CU_ASSERT_EQUAL_FATAL(run(src, dst, ALL, 0, 0, 0, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.differences, 0);
	CU_ASSERT_EQUAL(r.documents, 3);
	CU_ASSERT_EQUAL(r.collections, 5);
	CU_ASSERT_EQUAL(r.counters, 25);
	CU_ASSERT_EQUAL(r.keys, 4);
	CU_ASSERT_EQUAL(r.records, 121);
	CU_ASSERT_EQUAL(r.copied, 3 + 29 + 121);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r.summary);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.summary, "verification: both sides are equal"));
	migrate_report_free(&r);

	CU_ASSERT(value_is(dst, "blobs", "bin", bin, sizeof(bin)));
	CU_ASSERT(value_is(dst, "blobs", "empty", "", 0));
	CU_ASSERT(value_is(dst, "usage", "user00", "-20", 3));
	/* a copied counter goes on counting */
	OK(persist_state_incr(dst, "usage", "user00", 5, &v, NULL));
	CU_ASSERT_EQUAL(v, -15);
	OK(persist_state_incr(dst, "usage", "user00", -5, NULL, NULL));
	/* a TTL is kept: what remains of an hour (the target's clock reading
	   comes a moment after the copy's, and is coarse) */
	exp = expiry_of(dst, "links", "abc");
	CU_ASSERT(exp > 0 && exp <= expiry_of(src, "links", "abc") + 500);
	CU_ASSERT(exp > (int64_t)time(NULL) * 1000 + 3500 * 1000);
	CU_ASSERT_EQUAL(expiry_of(dst, "links", "def"), 0);
	OK(persist_config_get(dst, "apps", &data, &len, NULL, NULL));
	CU_ASSERT(len == strlen("{\"apps\":[1,2,3]}") &&
		  memcmp(data, "{\"apps\":[1,2,3]}", len) == 0);
	persist_free(data);
	log_text(src, "feedback", a, sizeof(a), &f1, &n1);
	log_text(dst, "feedback", b, sizeof(b), &f2, &n2);
	CU_ASSERT_STRING_EQUAL(a, b);
	CU_ASSERT(f2 == 0 && n2 == 120);

	/* a rerun writes nothing and doubles nothing */
	CU_ASSERT_EQUAL(run(src, dst, ALL, 0, 0, 0, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.copied, 0);
	CU_ASSERT_EQUAL(r.pending, 0);
	CU_ASSERT_EQUAL(r.differences, 0);
	migrate_report_free(&r);
	OK(persist_state_log_bounds(dst, "feedback", &f2, &n2, NULL));
	CU_ASSERT_EQUAL(n2, 120);
	close_pair(src, dst);
}

/* A target holding the first records of the log (an interrupted run)
   gets only the rest. */
static void test_resume_log(void)
{
	struct migrate_report r;
	struct persist_error err;
	persist *src, *dst;
	char a[8192], b[8192], rec[64];
	uint64_t f, n;

	open_pair(&src, &dst);
	fill(src);
	for (int i = 0; i < 50; i++) {
		snprintf(rec, sizeof(rec), "{\"n\":%d}", i);
		append(dst, "feedback", rec);
	}
	set(dst, "usage", "user03", "1", 0);   /* the value the source has */
	CU_ASSERT_EQUAL_FATAL(run(src, dst, MIGRATE_STATE, 0, 0, 7, &r, &err),
			      PERSIST_OK);
	CU_ASSERT_EQUAL(r.differences, 0);
	CU_ASSERT_EQUAL(r.copied, 28 + 71);
	migrate_report_free(&r);
	log_text(src, "feedback", a, sizeof(a), &f, &n);
	log_text(dst, "feedback", b, sizeof(b), &f, &n);
	CU_ASSERT_STRING_EQUAL(a, b);
	CU_ASSERT_EQUAL(n, 120);
	close_pair(src, dst);
}

/* A target with other data is refused, nothing written, each difference
   named; force overwrites keys and documents and removes the extra ones. */
static void test_conflict_and_force(void)
{
	struct migrate_report r;
	struct persist_error err;
	persist *src, *dst;
	struct persist_entry *e = NULL;
	size_t n = 0;
	char *data = NULL;
	size_t len;

	open_pair(&src, &dst);
	fill(src);
	set(dst, "links", "abc", "{\"url\":\"elsewhere\"}", 0);
	set(dst, "links", "zzz", "{\"only\":\"target\"}", 0);
	doc(dst, "models", "[\"other\"]", 0);
	CU_ASSERT_EQUAL(run(src, dst, ALL, 0, 0, 0, &r, &err), PERSIST_ECONFLICT);
	CU_ASSERT_EQUAL(err.code, PERSIST_ECONFLICT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "the target holds different data"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "1 key with another value"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "1 key only on the target"));
	CU_ASSERT_EQUAL(r.conflicts, 3);
	CU_ASSERT_EQUAL(r.copied, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r.summary);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.summary, "collection \"links\", key \"abc\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.summary, "document \"models\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.summary, "key \"zzz\": only in the target"));
	migrate_report_free(&r);
	/* nothing was written */
	OK(persist_state_scan(dst, "usage", NULL, &e, &n, NULL));
	CU_ASSERT_EQUAL(n, 0);
	persist_items_free(e, n);
	CU_ASSERT_EQUAL(persist_config_get(dst, "apps", NULL, NULL, NULL, NULL),
			PERSIST_ENOTFOUND);

	/* force: overwritten, the extra key removed, equal afterwards */
	CU_ASSERT_EQUAL_FATAL(run(src, dst, ALL, 0, 1, 0, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.differences, 0);
	CU_ASSERT_EQUAL(r.conflicts, 3);
	migrate_report_free(&r);
	CU_ASSERT(value_is(dst, "links", "abc", "{\"url\":\"https://example.org\"}",
			   strlen("{\"url\":\"https://example.org\"}")));
	CU_ASSERT_EQUAL(persist_state_get(dst, "links", "zzz", NULL, NULL, NULL),
			PERSIST_ENOTFOUND);
	OK(persist_config_get(dst, "models", &data, &len, NULL, NULL));
	CU_ASSERT_STRING_EQUAL(data, "[\"m1\",\"m2\"]");
	persist_free(data);
	close_pair(src, dst);
}

/* Many differences: the first few named, the rest counted. */
static void test_many_differences(void)
{
	struct migrate_report r;
	struct persist_error err;
	persist *src, *dst;
	char key[32];

	open_pair(&src, &dst);
	for (int i = 0; i < 15; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		set(src, "c", key, "1", 0);
		set(dst, "c", key, "2", 0);
	}
	CU_ASSERT_EQUAL(run(src, dst, MIGRATE_STATE, 0, 0, 0, &r, &err),
			PERSIST_ECONFLICT);
	CU_ASSERT_EQUAL(r.conflicts, 15);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r.summary);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.summary, "key \"k09\""));
	CU_ASSERT_PTR_NULL(strstr(r.summary, "key \"k10\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.summary, "... and 5 more"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.summary, "15 keys with another value on the target"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "Found 15 keys with another value"));
	migrate_report_free(&r);
	close_pair(src, dst);
}

/* A target log that is not a prefix is refused, with force too. */
static void test_diverging_log(void)
{
	struct migrate_report r;
	struct persist_error err;
	persist *src, *dst;
	uint64_t f, n;

	open_pair(&src, &dst);
	fill(src);
	append(dst, "feedback", "{\"n\":0}");
	append(dst, "feedback", "{\"n\":\"other\"}");
	for (int force = 0; force <= 1; force++) {
		CU_ASSERT_EQUAL(run(src, dst, MIGRATE_STATE, 0, force, 0, &r, &err),
				PERSIST_ECONFLICT);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not a prefix"));
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "drop that collection"));
		CU_ASSERT_PTR_NOT_NULL_FATAL(r.summary);
		CU_ASSERT_PTR_NOT_NULL(strstr(r.summary, "record 1 of the target's log"));
		migrate_report_free(&r);
	}
	/* a target log longer than the source's */
	for (int i = 0; i < 200; i++)
		append(dst, "events", "{}");
	CU_ASSERT_EQUAL(run(src, dst, MIGRATE_STATE, 0, 1, 0, &r, &err),
			PERSIST_ECONFLICT);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.summary, "collection \"events\""));
	migrate_report_free(&r);
	OK(persist_state_log_bounds(dst, "feedback", &f, &n, NULL));
	CU_ASSERT_EQUAL(n, 2);
	close_pair(src, dst);
}

/* A dry run compares and says what it would write, and writes nothing. */
static void test_dry_run(void)
{
	struct migrate_report r;
	struct persist_error err;
	persist *src, *dst;
	struct persist_entry *e = NULL;
	size_t n = 0;

	open_pair(&src, &dst);
	fill(src);
	append(dst, "feedback", "{\"n\":0}");
	CU_ASSERT_EQUAL_FATAL(run(src, dst, ALL, 1, 0, 0, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.pending, 3 + 29 + 120);
	CU_ASSERT_EQUAL(r.copied, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r.summary);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.summary, "dry run"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.summary, "would copy 29 keys and 120 records"));
	migrate_report_free(&r);
	OK(persist_state_collections(dst, &e, &n, NULL));
	CU_ASSERT_EQUAL(n, 1);
	persist_items_free(e, n);
	OK(persist_config_list(dst, &e, &n, NULL));
	CU_ASSERT_EQUAL(n, 0);
	persist_items_free(e, n);
	close_pair(src, dst);
}

/* A second writer changing the source between the copy and the
   verification: the run succeeds and the report names the differences. */
static void second_writer(void *ctx, const char *phase)
{
	persist *src = ctx;

	if (strcmp(phase, "written") != 0)
		return;
	append(src, "feedback", "{\"late\":1}");
	set(src, "links", "new", "{}", 0);
	doc(src, "apps", "{\"apps\":[]}", 0);
}

static void test_second_writer(void)
{
	struct migrate_report r;
	struct persist_error err;
	persist *src, *dst;
	struct migrate_options o = { .kinds = ALL, .phase_hook = second_writer };

	open_pair(&src, &dst);
	fill(src);
	o.hook_ctx = src;
	CU_ASSERT_EQUAL_FATAL(migrate_run(src, dst, &o, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.differences, 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r.summary);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.summary, "verification: 3 differences"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.summary,
		"collection \"feedback\": 121 log records in the source, 120 in the target"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.summary, "collection \"links\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.summary, "document \"apps\""));
	migrate_report_free(&r);
	/* a rerun catches up */
	o.phase_hook = NULL;
	CU_ASSERT_EQUAL(run(src, dst, ALL, 0, 1, 0, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.differences, 0);
	migrate_report_free(&r);
	close_pair(src, dst);
}

/* A trimmed source log is copied from its first kept record: numbered
   from 0 on the target; a rerun appends only what came since. */
static void test_trimmed_source(void)
{
	struct migrate_report r;
	struct persist_error err;
	persist *src, *dst;
	char a[8192], b[8192];
	uint64_t f, n;

	open_pair(&src, &dst);
	fill(src);
	OK(persist_state_trim_log(src, "feedback", 40, NULL));
	CU_ASSERT_EQUAL_FATAL(run(src, dst, MIGRATE_STATE, 0, 0, 16, &r, &err),
			      PERSIST_OK);
	CU_ASSERT_EQUAL(r.records, 81);
	CU_ASSERT_EQUAL(r.differences, 0);
	migrate_report_free(&r);
	log_text(src, "feedback", a, sizeof(a), &f, &n);
	CU_ASSERT(f == 40 && n == 120);
	log_text(dst, "feedback", b, sizeof(b), &f, &n);
	CU_ASSERT(f == 0 && n == 80);
	CU_ASSERT_STRING_EQUAL(a, b);
	append(src, "feedback", "{\"n\":120}");
	CU_ASSERT_EQUAL(run(src, dst, MIGRATE_STATE, 0, 0, 16, &r, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(r.copied, 1);
	CU_ASSERT_EQUAL(r.differences, 0);
	migrate_report_free(&r);
	close_pair(src, dst);
}

/* Expired keys are not copied; many keys in small batches. */
static void test_expired_and_batches(void)
{
	struct migrate_report r;
	struct persist_error err;
	persist *src, *dst;
	char key[32];

	open_pair(&src, &dst);
	set(src, "links", "short", "{}", 1);
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%04d", i);
		set(src, "many", key, key, i % 2 ? 600000 : 0);
	}
	usleep(20000);
	CU_ASSERT_EQUAL_FATAL(run(src, dst, MIGRATE_STATE, 0, 0, 33, &r, &err),
			      PERSIST_OK);
	CU_ASSERT_EQUAL(r.copied, 1000);
	CU_ASSERT_EQUAL(r.differences, 0);
	migrate_report_free(&r);
	CU_ASSERT_EQUAL(persist_state_get(dst, "links", "short", NULL, NULL, NULL),
			PERSIST_ENOTFOUND);
	CU_ASSERT(value_is(dst, "many", "k0999", "k0999", 5));
	CU_ASSERT(expiry_of(dst, "many", "k0999") > 0);
	CU_ASSERT_EQUAL(expiry_of(dst, "many", "k0998"), 0);
	close_pair(src, dst);
}

/* One kind at a time: only that kind is read and written. */
static void test_kinds(void)
{
	struct migrate_report r;
	struct persist_error err;
	persist *src, *dst;
	struct persist_entry *e = NULL;
	size_t n = 0;

	open_pair(&src, &dst);
	fill(src);
	set(dst, "links", "abc", "{\"other\":1}", 0);  /* state differs: not asked */
	CU_ASSERT_EQUAL_FATAL(run(src, dst, MIGRATE_CONFIG, 0, 0, 0, &r, &err),
			      PERSIST_OK);
	CU_ASSERT_EQUAL(r.copied, 3);
	CU_ASSERT_EQUAL(r.differences, 0);
	CU_ASSERT_EQUAL(r.records, 0);
	migrate_report_free(&r);
	OK(persist_state_collections(dst, &e, &n, NULL));
	CU_ASSERT_EQUAL(n, 1);
	persist_items_free(e, n);
	close_pair(src, dst);
}

/* Bad arguments answer PERSIST_EINVAL, naming what was wrong. */
static void test_bad_args(void)
{
	struct migrate_report r;
	struct persist_error err;
	struct migrate_options o = { .kinds = ALL };
	persist *src, *dst;

	open_pair(&src, &dst);
	CU_ASSERT_EQUAL(migrate_run(NULL, dst, &o, &r, &err), PERSIST_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "from is NULL"));
	CU_ASSERT_EQUAL(migrate_run(src, dst, NULL, &r, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(migrate_run(src, dst, &o, NULL, &err), PERSIST_EINVAL);
	CU_ASSERT_EQUAL(migrate_run(src, src, &o, &r, &err), PERSIST_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "into itself"));
	o.kinds = 1u << PERSIST_KIND_SESSION;
	CU_ASSERT_EQUAL(migrate_run(src, dst, &o, &r, &err), PERSIST_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "sessions are live connections"));
	o.kinds = 0;
	CU_ASSERT_EQUAL(migrate_run(src, dst, &o, &r, &err), PERSIST_EINVAL);
	migrate_report_free(NULL);
	migrate_report_print(stdout, NULL);
	close_pair(src, dst);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "copy everything, rerun writes nothing", test_copy_all },
		{ "resume a log", test_resume_log },
		{ "conflict refused, then force", test_conflict_and_force },
		{ "many differences: named, then counted", test_many_differences },
		{ "diverging log refused with force too", test_diverging_log },
		{ "dry run", test_dry_run },
		{ "second writer found by the verification", test_second_writer },
		{ "trimmed source log", test_trimmed_source },
		{ "expired keys, small batches", test_expired_and_batches },
		{ "one kind", test_kinds },
		{ "bad arguments", test_bad_args },
		{ NULL, NULL }
	};

	return t_cunit_run("migrate", NULL, NULL, cases);
}
