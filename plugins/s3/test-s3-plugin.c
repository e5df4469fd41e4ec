/*
 * plugins/s3/test-s3-plugin.c - the s3 provider through the host API
 * (libpersist), against s3rver on loopback (started by test-s3-plugin.sh:
 * S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, bucket "test" with the object
 * notjson.json that is not JSON) and against a tiny HTTP server of its own
 * that answers what each test needs (HTML, cut XML, S3 errors, 503
 * SlowDown, silence).  Checked:
 *   - keys with spaces, + = $ % ~, UTF-8 and nested folders round-trip
 *     exactly and are listed exactly;
 *   - a listing of more than 1,000 keys (continuation tokens) is complete;
 *   - a document changed by another handle is read anew (revalidation
 *     never serves a stale copy), an unchanged one read again is the same;
 *   - bad input, each a clear error: a bucket that does not exist, a wrong
 *     endpoint, an HTML endpoint, a truncated listing, malformed XML, a
 *     server that never answers (timeout, no hang), an object that is not
 *     JSON, a wrong secret (SignatureDoesNotMatch, the secret never in a
 *     message or the log), a bucket in another region (named);
 *   - 5xx and 503 SlowDown are retried, then reported;
 *   - credentials and region come from AWS_* variables when the
 *     configuration has none.
 */
#define _GNU_SOURCE 1 /* strcasestr */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <persist/persist.h>
#include "cunit-suite.h"

#define SECRET_MARKER "wrong-SECRET-marker-7f3a"
#define TOKEN_MARKER "session-TOKEN-marker-91c2"
#define MANY_KEYS 1005
#define MANY_THREADS 4

static const char *endpoint, *access_key, *secret_key;

/* ------------------------------------------------------------------
 * The tiny HTTP server: one thread, one connection at a time, answering
 * each request with the canned reply of the current test.
 */
static struct {
	int fd, port;
	pthread_t thread;
	pthread_mutex_t lock;
	const char *replies[4];  /* reply i to request i; the last one repeats */
	int n_replies, requests;
	bool silent;             /* accept, read, never answer */
	bool stop;
	char last[8192];         /* the head of the last request */
	int held[16];            /* connections kept open while silent */
	int n_held;
} fake = { .fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

/* Read a request's head (and ignore any body): enough for our clients.
   It is kept in fake.last. */
static void read_request(int c)
{
	char buf[8192];
	size_t n = 0;
	struct pollfd pfd = { c, POLLIN, 0 };

	while (n < sizeof(buf) - 1 && poll(&pfd, 1, 2000) > 0) {
		ssize_t r = read(c, buf + n, sizeof(buf) - 1 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			break;
	}
	buf[n] = '\0';
	pthread_mutex_lock(&fake.lock);
	memcpy(fake.last, buf, n + 1);
	pthread_mutex_unlock(&fake.lock);
}

/* The server's thread. */
static void *fake_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd pfd = { fake.fd, POLLIN, 0 };
		const char *reply;
		int c;

		if (poll(&pfd, 1, 100) <= 0) {
			pthread_mutex_lock(&fake.lock);
			bool stop = fake.stop;
			pthread_mutex_unlock(&fake.lock);
			if (stop)
				return NULL;
			continue;
		}
		c = accept(fake.fd, NULL, NULL);
		if (c < 0)
			continue;
		read_request(c);
		pthread_mutex_lock(&fake.lock);
		if (fake.silent) {
			if (fake.n_held < 16)
				fake.held[fake.n_held++] = c;
			else
				close(c);
			pthread_mutex_unlock(&fake.lock);
			continue;
		}
		reply = fake.replies[fake.requests < fake.n_replies ? fake.requests :
				     fake.n_replies - 1];
		fake.requests++;
		pthread_mutex_unlock(&fake.lock);
		if (write(c, reply, strlen(reply)) < 0)
			perror("fake server: write");
		close(c);
	}
}

/* Start the fake server on a free loopback port. */
static int fake_start(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fake.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fake.fd < 0 || bind(fake.fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fake.fd, 16) != 0 || getsockname(fake.fd, (struct sockaddr *)&a, &len) != 0)
		return -1;
	fake.port = ntohs(a.sin_port);
	return pthread_create(&fake.thread, NULL, fake_main, NULL) == 0 ? 0 : -1;
}

static void fake_stop(void)
{
	pthread_mutex_lock(&fake.lock);
	fake.stop = true;
	pthread_mutex_unlock(&fake.lock);
	pthread_join(fake.thread, NULL);
	close(fake.fd);
	for (int i = 0; i < fake.n_held; i++)
		close(fake.held[i]);
}

/* Set the replies of the next requests. */
static void fake_replies(bool silent, int n, ...)
{
	va_list ap;

	pthread_mutex_lock(&fake.lock);
	fake.silent = silent;
	fake.n_replies = n;
	fake.requests = 0;
	va_start(ap, n);
	for (int i = 0; i < n && i < 4; i++)
		fake.replies[i] = va_arg(ap, const char *);
	va_end(ap);
	pthread_mutex_unlock(&fake.lock);
}

static int fake_requests(void)
{
	pthread_mutex_lock(&fake.lock);
	int n = fake.requests;
	pthread_mutex_unlock(&fake.lock);
	return n;
}

/* ------------------------------------------------------------------
 * Handles.
 */

/* What the log said (to check that no secret reaches it). */
static char log_text[65536];
static size_t log_len;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void log_cb(void *ctx, enum persist_log_level level, const char *message)
{
	(void)ctx;
	(void)level;
	pthread_mutex_lock(&log_lock);
	log_len += (size_t)snprintf(log_text + log_len, sizeof(log_text) - log_len, "%s\n",
				    message);
	if (log_len >= sizeof(log_text))
		log_len = sizeof(log_text) - 1;
	pthread_mutex_unlock(&log_lock);
}

/* Open a handle whose configuration is the s3 provider with the extra
   settings given (JSON members, may be ""); NULL with err filled. */
static persist *open_s3(const char *settings, struct persist_error *err)
{
	char json[4096];
	struct persist_options opts = { .size = sizeof(opts), .log = log_cb };
	persist *p = NULL;

	snprintf(json, sizeof(json),
		 "{\"persistence\":{"
		 "\"configuration\":{\"provider\":\"s3\",\"config\":{\"cacheTTL\":0,"
		 "\"accessKeyId\":\"%s\"%s%s}},"
		 "\"state\":{\"provider\":\"memory\"},"
		 "\"sessions\":{\"provider\":\"memory\"}}}",
		 access_key, settings[0] != '\0' ? "," : "", settings);
	if (persist_open_json(json, &opts, &p, err) != PERSIST_OK)
		return NULL;
	return p;
}

/* A handle on s3rver's bucket "test" under prefix (may be ""). */
static persist *open_test(const char *prefix)
{
	char s[1024];
	struct persist_error err;
	persist *p;

	snprintf(s, sizeof(s), "\"endpoint\":\"%s\",\"bucket\":\"test\",\"prefix\":\"%s\","
		 "\"secretAccessKey\":\"%s\",\"conditionalWrites\":false,\"pollInterval\":200",
		 endpoint, prefix, secret_key);
	p = open_s3(s, &err);
	if (p == NULL)
		fprintf(stderr, "open failed: %s\n", err.msg);
	return p;
}

/* A handle on the fake server with the given extra settings (no polling
   unless they set pollInterval). */
static persist *open_fake(const char *extra)
{
	char s[1024];
	struct persist_error err;
	persist *p;

	snprintf(s, sizeof(s), "\"endpoint\":\"http://127.0.0.1:%d\",\"bucket\":\"fake\","
		 "\"secretAccessKey\":\"%s\",\"retries\":2,\"retryDelay\":10%s%s%s",
		 fake.port, secret_key,
		 strstr(extra, "pollInterval") != NULL ? "" : ",\"pollInterval\":0",
		 extra[0] != '\0' ? "," : "", extra);
	p = open_s3(s, &err);
	if (p == NULL)
		fprintf(stderr, "open failed: %s\n", err.msg);
	return p;
}

/* Milliseconds of the monotonic clock. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Assert a call failed with code and a message holding each of the
   words (NULL-terminated). */
static void expect_error(int ret, const struct persist_error *err, int code, ...)
{
	va_list ap;
	const char *w;

	CU_ASSERT_EQUAL(ret, code);
	if (ret != code)
		fprintf(stderr, "expected %s, got %s: %s\n", persist_strerror(code),
			persist_strerror(ret), ret != PERSIST_OK ? err->msg : "");
	va_start(ap, code);
	while ((w = va_arg(ap, const char *)) != NULL) {
		CU_ASSERT_PTR_NOT_NULL(strstr(err->msg, w));
		if (strstr(err->msg, w) == NULL)
			fprintf(stderr, "message lacks \"%s\": %s\n", w, err->msg);
	}
	va_end(ap);
	CU_ASSERT_PTR_NULL(strstr(err->msg, SECRET_MARKER));
	CU_ASSERT_PTR_NULL(strstr(err->msg, TOKEN_MARKER));
}

/* ------------------------------------------------------------------
 * Against s3rver.
 */

/* Keys with special characters and folders round-trip and are listed. */
static void test_odd_keys(void)
{
	static const char *const keys[] = {
		"with space", "plus+sign", "equals=sign", "dollar$sign", "per%cent",
		"per%20cent", "tilde~", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac",
		"nested/folder/deep/doc", "nested/other", "a!b(c)d*e,f;g:h@i",
		/* not ' and &: s3rver escapes them twice in its listings */
	};
	size_t n = sizeof(keys) / sizeof(keys[0]);
	persist *p = open_test("odd");
	struct persist_entry *list = NULL;
	struct persist_error err;
	size_t n_list = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (size_t i = 0; i < n; i++) {
		char doc[256], *data = NULL;
		size_t len = 0;
		int ret;

		snprintf(doc, sizeof(doc), "{\"key\":%zu}", i);
		ret = persist_config_set(p, keys[i], doc, strlen(doc), NULL, 0, NULL, &err);
		CU_ASSERT_EQUAL(ret, PERSIST_OK);
		if (ret != PERSIST_OK)
			fprintf(stderr, "set of \"%s\": %s\n", keys[i], err.msg);
		ret = persist_config_get(p, keys[i], &data, &len, NULL, &err);
		CU_ASSERT_EQUAL(ret, PERSIST_OK);
		CU_ASSERT(ret == PERSIST_OK && len == strlen(doc) && memcmp(data, doc, len) == 0);
		persist_free(data);
	}
	CU_ASSERT_EQUAL_FATAL(persist_config_list(p, &list, &n_list, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(n_list, n);
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (size_t j = 0; j < n_list; j++)
			found = found || strcmp(list[j].key, keys[i]) == 0;
		CU_ASSERT(found);
		if (!found) {
			fprintf(stderr, "key \"%s\" not listed; the list:\n", keys[i]);
			for (size_t j = 0; j < n_list; j++)
				fprintf(stderr, "  \"%s\"\n", list[j].key);
		}
	}
	persist_items_free(list, n_list);
	for (size_t i = 0; i < n; i++)
		CU_ASSERT_EQUAL(persist_config_delete(p, keys[i], NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_config_list(p, &list, &n_list, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(n_list, 0);
	persist_items_free(list, n_list);
	persist_close(p, NULL);
}

/* One writer of the many-keys test: keys i = first, first + step, ... */
struct many_arg {
	persist *p;
	int first, step, fails;
	bool del;
};

static void *many_writer(void *arg)
{
	struct many_arg *a = arg;
	struct persist_error err;

	for (int i = a->first; i < MANY_KEYS; i += a->step) {
		char key[32], doc[32];

		snprintf(key, sizeof(key), "k%05d", i);
		snprintf(doc, sizeof(doc), "%d", i);
		if ((a->del ? persist_config_delete(a->p, key, NULL, &err) :
		     persist_config_set(a->p, key, doc, strlen(doc), NULL, 0, NULL, &err)) !=
		    PERSIST_OK)
			a->fails++;
	}
	return NULL;
}

/* Run the writers (or deleters) of the many-keys test; the failures. */
static int many_run(persist *p, bool del)
{
	pthread_t t[MANY_THREADS];
	struct many_arg a[MANY_THREADS];
	int fails = 0;

	for (int i = 0; i < MANY_THREADS; i++) {
		a[i] = (struct many_arg){ p, i, MANY_THREADS, 0, del };
		pthread_create(&t[i], NULL, many_writer, &a[i]);
	}
	for (int i = 0; i < MANY_THREADS; i++) {
		pthread_join(t[i], NULL);
		fails += a[i].fails;
	}
	return fails;
}

/* More than 1,000 keys: the listing follows continuation tokens. */
static void test_many_keys(void)
{
	persist *p = open_test("many");
	struct persist_entry *list = NULL;
	struct persist_error err;
	size_t n = 0;
	char *seen;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(many_run(p, false), 0);
	CU_ASSERT_EQUAL_FATAL(persist_config_list(p, &list, &n, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(n, MANY_KEYS);
	seen = calloc(MANY_KEYS, 1);
	for (size_t i = 0; i < n; i++) {
		int k = atoi(list[i].key + 1);

		if (list[i].key[0] == 'k' && k >= 0 && k < MANY_KEYS)
			seen[k]++;
	}
	for (int k = 0; k < MANY_KEYS; k++)
		CU_ASSERT_EQUAL(seen[k], 1);
	free(seen);
	persist_items_free(list, n);
	CU_ASSERT_EQUAL(many_run(p, true), 0);
	persist_close(p, NULL);
}

/* Revalidation: a document changed through another handle is read anew;
   an unchanged one read again is the same. */
static void test_revalidate(void)
{
	persist *a = open_test("reval"), *b = open_test("reval");
	struct persist_error err;
	char *data = NULL, etag1[PERSIST_ETAG_MAX], etag2[PERSIST_ETAG_MAX];
	size_t len;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(persist_config_set(b, "doc", "{\"v\":1}", 7, NULL, 0, NULL, &err),
			PERSIST_OK);
	for (int round = 0; round < 2; round++) {
		CU_ASSERT_EQUAL(persist_config_get(a, "doc", &data, &len, etag1, &err), PERSIST_OK);
		CU_ASSERT(data != NULL && len == 7 && memcmp(data, "{\"v\":1}", 7) == 0);
		persist_free(data);
		data = NULL;
	}
	CU_ASSERT_EQUAL(persist_config_set(b, "doc", "{\"v\":22}", 8, NULL, 0, NULL, &err),
			PERSIST_OK);
	CU_ASSERT_EQUAL(persist_config_get(a, "doc", &data, &len, etag2, &err), PERSIST_OK);
	CU_ASSERT(data != NULL && len == 8 && memcmp(data, "{\"v\":22}", 8) == 0);
	CU_ASSERT_STRING_NOT_EQUAL(etag1, etag2);
	persist_free(data);
	CU_ASSERT_EQUAL(persist_config_delete(b, "doc", NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_config_get(a, "doc", &data, &len, NULL, &err),
			PERSIST_ENOTFOUND);
	persist_close(a, NULL);
	persist_close(b, NULL);
}

/* An object that is not JSON (put behind the provider's back). */
static void test_not_json(void)
{
	persist *p = open_test("");
	struct persist_error err;
	char *data = NULL;
	int ret;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	ret = persist_config_get(p, "notjson", &data, NULL, NULL, &err);
	expect_error(ret, &err, PERSIST_ECORRUPT, "\"notjson\"", "not valid JSON", NULL);
	CU_ASSERT_PTR_NULL(data);
	persist_close(p, NULL);
}

/* A bucket that does not exist: get, set, list and health say so. */
static void test_no_bucket(void)
{
	char s[1024];
	struct persist_error err;
	struct persist_entry *list = NULL;
	size_t n = 0;
	persist *p;

	snprintf(s, sizeof(s), "\"endpoint\":\"%s\",\"bucket\":\"nosuchbucket\","
		 "\"secretAccessKey\":\"%s\"", endpoint, secret_key);
	p = open_s3(s, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	expect_error(persist_config_get(p, "x", NULL, NULL, NULL, &err), &err, PERSIST_ECONFIG,
		     "bucket \"nosuchbucket\" does not exist", "NoSuchBucket", NULL);
	expect_error(persist_config_set(p, "x", "{}", 2, NULL, 0, NULL, &err), &err,
		     PERSIST_ECONFIG, "does not exist", NULL);
	expect_error(persist_config_list(p, &list, &n, &err), &err, PERSIST_ECONFIG,
		     "does not exist", NULL);
	expect_error(persist_health(p, PERSIST_KIND_CONFIG, NULL, &err), &err,
		     PERSIST_ECONFIG, "does not exist", NULL);
	persist_close(p, NULL);
}

/* A wrong secret: SignatureDoesNotMatch, and the secret (and the token)
   in no message and no log line. */
static void test_wrong_secret(void)
{
	char s[1024];
	struct persist_error err;
	persist *p;

	snprintf(s, sizeof(s), "\"endpoint\":\"%s\",\"bucket\":\"test\","
		 "\"secretAccessKey\":\"" SECRET_MARKER "\",\"sessionToken\":\""
		 TOKEN_MARKER "\"", endpoint);
	p = open_s3(s, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	expect_error(persist_config_get(p, "x", NULL, NULL, NULL, &err), &err, PERSIST_ECONFIG,
		     "SignatureDoesNotMatch", "secretAccessKey", access_key, NULL);
	expect_error(persist_config_set(p, "x", "{}", 2, NULL, 0, NULL, &err), &err,
		     PERSIST_ECONFIG, "SignatureDoesNotMatch", NULL);
	persist_close(p, NULL);
	pthread_mutex_lock(&log_lock);
	CU_ASSERT_PTR_NULL(strstr(log_text, SECRET_MARKER));
	CU_ASSERT_PTR_NULL(strstr(log_text, TOKEN_MARKER));
	pthread_mutex_unlock(&log_lock);
	/* a refused configuration does not quote the secret either */
	snprintf(s, sizeof(s), "\"endpoint\":\"%s\",\"bucket\":\"test\","
		 "\"secretAccessKey\":[\"" SECRET_MARKER "\"]", endpoint);
	CU_ASSERT_PTR_NULL(open_s3(s, &err));
	expect_error(PERSIST_ECONFIG, &err, PERSIST_ECONFIG, "secretAccessKey", NULL);
}

/* health: a HEAD of the bucket. */
static void test_health(void)
{
	persist *p = open_test("");
	struct persist_error err;
	int64_t latency = -1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(persist_health(p, PERSIST_KIND_CONFIG, &latency, &err), PERSIST_OK);
	CU_ASSERT(latency > 0);
	persist_close(p, NULL);
}

/* Credentials and region from the AWS_* variables when the config has
   none; without any, open names the missing setting. */
static void test_env_credentials(void)
{
	char json[1024];
	struct persist_error err;
	persist *p = NULL;

	snprintf(json, sizeof(json),
		 "{\"persistence\":{\"configuration\":{\"provider\":\"s3\",\"config\":{"
		 "\"endpoint\":\"%s\",\"bucket\":\"test\",\"pollInterval\":0}},"
		 "\"state\":{\"provider\":\"memory\"},\"sessions\":{\"provider\":\"memory\"}}}",
		 endpoint);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	CU_ASSERT_NOT_EQUAL(persist_open_json(json, NULL, &p, &err), PERSIST_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no credentials"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "AWS_SECRET_ACCESS_KEY"));
	setenv("AWS_ACCESS_KEY_ID", access_key, 1);
	setenv("AWS_SECRET_ACCESS_KEY", secret_key, 1);
	setenv("AWS_REGION", "eu-central-1", 1);
	CU_ASSERT_EQUAL_FATAL(persist_open_json(json, NULL, &p, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_health(p, PERSIST_KIND_CONFIG, NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_config_set(p, "env", "{}", 2, NULL, 0, NULL, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(persist_config_delete(p, "env", NULL, &err), PERSIST_OK);
	persist_close(p, NULL);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_REGION");
}

/* ------------------------------------------------------------------
 * Against the fake server or no server.
 */

/* A wrong endpoint: a closed port on loopback. */
static void test_wrong_endpoint(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;
	char s[512];
	struct persist_error err;
	int64_t t0;
	persist *p;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
			getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	port = ntohs(a.sin_port);
	close(fd);
	snprintf(s, sizeof(s), "\"endpoint\":\"http://127.0.0.1:%d\",\"bucket\":\"b\","
		 "\"secretAccessKey\":\"%s\",\"retries\":2,\"retryDelay\":10", port, secret_key);
	p = open_s3(s, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	t0 = now_ms();
	expect_error(persist_config_get(p, "x", NULL, NULL, NULL, &err), &err, PERSIST_EUNAVAIL,
		     "cannot reach http://127.0.0.1:", "3 attempts", NULL);
	CU_ASSERT(now_ms() - t0 < 5000);
	persist_close(p, NULL);
}

#define HTML_REPLY "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n" \
	"\r\n<html><body><h1>Welcome!</h1></body></html>\r\n"

/* An endpoint that is a web site, not S3. */
static void test_html_endpoint(void)
{
	persist *p = open_fake("");
	struct persist_error err;
	struct persist_entry *list = NULL;
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	fake_replies(false, 1, HTML_REPLY);
	expect_error(persist_config_get(p, "x", NULL, NULL, NULL, &err), &err, PERSIST_EIO,
		     "does not answer like S3", "text/html", NULL);
	expect_error(persist_config_list(p, &list, &n, &err), &err, PERSIST_EIO,
		     "malformed listing", "not a listing", "<html>", NULL);
	persist_close(p, NULL);
}

#define XML_HEAD "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nConnection: close\r\n\r\n"

/* A listing cut short, and XML that is not well-formed. */
static void test_bad_xml(void)
{
	persist *p = open_fake("");
	struct persist_error err;
	struct persist_entry *list = NULL;
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	fake_replies(false, 1, XML_HEAD "<?xml version=\"1.0\"?><ListBucketResult>"
		     "<IsTruncated>false</IsTruncated><Contents><Key>a.json</Key><ETag>\"1\"");
	expect_error(persist_config_list(p, &list, &n, &err), &err, PERSIST_EIO,
		     "malformed listing", "not well-formed XML", NULL);
	fake_replies(false, 1, XML_HEAD "<ListBucketResult><Contents><Key>a.json</Contents>"
		     "</ListBucketResult>");
	expect_error(persist_config_list(p, &list, &n, &err), &err, PERSIST_EIO,
		     "malformed listing", NULL);
	/* truncated without a token: incomplete, not silently short */
	fake_replies(false, 1, XML_HEAD "<ListBucketResult><IsTruncated>true</IsTruncated>"
		     "<Contents><Key>a.json</Key></Contents></ListBucketResult>");
	expect_error(persist_config_list(p, &list, &n, &err), &err, PERSIST_EIO,
		     "NextContinuationToken", NULL);
	/* an error body that is cut: still an error, with the status */
	fake_replies(false, 1, "HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\n"
		     "Connection: close\r\n\r\n<Error><Code>AccessDen");
	expect_error(persist_config_get(p, "x", NULL, NULL, NULL, &err), &err, PERSIST_EIO,
		     "HTTP 403", NULL);
	persist_close(p, NULL);
}

/* A server that accepts the connection and never answers. */
static void test_timeout(void)
{
	persist *p = open_fake("\"requestTimeout\":500");
	struct persist_error err;
	int64_t t0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	fake_replies(true, 1, "");
	t0 = now_ms();
	expect_error(persist_config_get(p, "x", NULL, NULL, NULL, &err), &err,
		     PERSIST_ETIMEDOUT, "timed out", "500 ms", NULL);
	CU_ASSERT(now_ms() - t0 < 3000);
	fake_replies(false, 1, HTML_REPLY);
	persist_close(p, NULL);
}

/* close does not wait for a request of the poller that hangs: it is
   cancelled, not left to run out its requestTimeout. */
static void test_close_cancels(void)
{
	persist *p;
	int64_t t0;
	int before;

	fake_replies(true, 1, "");
	pthread_mutex_lock(&fake.lock);
	before = fake.n_held;
	pthread_mutex_unlock(&fake.lock);
	p = open_fake("\"requestTimeout\":8000,\"pollInterval\":100");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	/* let the poller's first listing reach the silent server */
	for (int i = 0; i < 100; i++) {
		struct timespec ts = { 0, 20 * 1000000L };

		pthread_mutex_lock(&fake.lock);
		int held = fake.n_held;
		pthread_mutex_unlock(&fake.lock);
		if (held > before)
			break;
		nanosleep(&ts, NULL);
	}
	t0 = now_ms();
	persist_close(p, NULL);
	CU_ASSERT(now_ms() - t0 < 3000);
	if (now_ms() - t0 >= 3000)
		fprintf(stderr, "close took %lld ms\n", (long long)(now_ms() - t0));
	fake_replies(false, 1, HTML_REPLY);
}

#define SLOWDOWN "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n" \
	"Connection: close\r\n\r\n<Error><Code>SlowDown</Code><Message>Please reduce " \
	"your request rate.</Message></Error>"
#define DOC_REPLY "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nETag: \"abc\"\r\n" \
	"Connection: close\r\nContent-Length: 8\r\n\r\n{\"ok\":1}"

/* 503 SlowDown is retried with backoff; past the retries it is reported. */
static void test_slowdown(void)
{
	persist *p = open_fake("");
	struct persist_error err;
	char *data = NULL;
	size_t len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	fake_replies(false, 3, SLOWDOWN, SLOWDOWN, DOC_REPLY);
	CU_ASSERT_EQUAL(persist_config_get(p, "x", &data, &len, NULL, &err), PERSIST_OK);
	CU_ASSERT(data != NULL && len == 8 && memcmp(data, "{\"ok\":1}", 8) == 0);
	CU_ASSERT_EQUAL(fake_requests(), 3);
	persist_free(data);
	fake_replies(false, 1, SLOWDOWN);
	expect_error(persist_config_get(p, "y", NULL, NULL, NULL, &err), &err,
		     PERSIST_EUNAVAIL, "503", "SlowDown", "3 attempts", NULL);
	CU_ASSERT_EQUAL(fake_requests(), 3);
	persist_close(p, NULL);
}

#define NOT_MODIFIED "HTTP/1.1 304 Not Modified\r\nETag: \"abc\"\r\nConnection: close\r\n\r\n"

/* A document read again is revalidated: If-None-Match with S3's ETag, and
   a 304 gives the copy read before. */
static void test_not_modified(void)
{
	persist *p = open_fake("");
	struct persist_error err;
	char *data = NULL, etag[PERSIST_ETAG_MAX], want[PERSIST_ETAG_MAX];
	size_t len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	fake_replies(false, 2, DOC_REPLY, NOT_MODIFIED);
	CU_ASSERT_EQUAL(persist_config_get(p, "x", &data, &len, NULL, &err), PERSIST_OK);
	persist_free(data);
	data = NULL;
	pthread_mutex_lock(&fake.lock);
	CU_ASSERT_PTR_NULL(strcasestr(fake.last, "If-None-Match"));
	pthread_mutex_unlock(&fake.lock);
	CU_ASSERT_EQUAL(persist_config_get(p, "x", &data, &len, etag, &err), PERSIST_OK);
	CU_ASSERT_EQUAL(fake_requests(), 2);
	pthread_mutex_lock(&fake.lock);
	CU_ASSERT_PTR_NOT_NULL(strcasestr(fake.last, "if-none-match: \"abc\"\r\n"));
	pthread_mutex_unlock(&fake.lock);
	CU_ASSERT(data != NULL && len == 8 && memcmp(data, "{\"ok\":1}", 8) == 0);
	persist_etag("{\"ok\":1}", 8, want);
	CU_ASSERT_STRING_EQUAL(etag, want);
	persist_free(data);
	persist_close(p, NULL);
}

/* A bucket in another region: the region is named. */
static void test_wrong_region(void)
{
	persist *p = open_fake("\"region\":\"us-east-1\"");
	struct persist_error err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	fake_replies(false, 1, "HTTP/1.1 400 Bad Request\r\nContent-Type: application/xml\r\n"
		     "Connection: close\r\n\r\n<Error><Code>AuthorizationHeaderMalformed</Code>"
		     "<Message>the region 'us-east-1' is wrong; expecting 'eu-west-3'</Message>"
		     "<Region>eu-west-3</Region></Error>");
	expect_error(persist_config_get(p, "x", NULL, NULL, NULL, &err), &err, PERSIST_ECONFIG,
		     "bucket \"fake\" is in region \"eu-west-3\", not \"us-east-1\"", NULL);
	/* HEAD has no body: the region comes from x-amz-bucket-region */
	fake_replies(false, 1, "HTTP/1.1 301 Moved Permanently\r\nx-amz-bucket-region: "
		     "ap-south-1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
	expect_error(persist_health(p, PERSIST_KIND_CONFIG, NULL, &err), &err, PERSIST_ECONFIG,
		     "\"ap-south-1\"", NULL);
	persist_close(p, NULL);
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "keys with spaces, + = $ % ~, UTF-8, folders", test_odd_keys },
		{ "more than 1000 keys listed", test_many_keys },
		{ "revalidation never serves a stale copy", test_revalidate },
		{ "an object that is not JSON", test_not_json },
		{ "a bucket that does not exist", test_no_bucket },
		{ "a wrong secret: SignatureDoesNotMatch, no secret shown", test_wrong_secret },
		{ "health is a HEAD of the bucket", test_health },
		{ "credentials and region from AWS_* variables", test_env_credentials },
		{ "a wrong endpoint", test_wrong_endpoint },
		{ "an HTML endpoint", test_html_endpoint },
		{ "truncated and malformed XML", test_bad_xml },
		{ "a server that never answers", test_timeout },
		{ "close cancels a hanging poll", test_close_cancels },
		{ "503 SlowDown retried, then reported", test_slowdown },
		{ "a bucket in another region", test_wrong_region },
		{ "revalidation: If-None-Match, 304 gives the copy", test_not_modified },
		{ NULL, NULL }
	};
	int ret;

	endpoint = getenv("S3_ENDPOINT");
	access_key = getenv("S3_ACCESS_KEY");
	secret_key = getenv("S3_SECRET_KEY");
	if (endpoint == NULL || access_key == NULL || secret_key == NULL) {
		fprintf(stderr, "test-s3-plugin: run through test-s3-plugin.sh "
			"(S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY)\n");
		return 99;
	}
	if (fake_start() != 0) {
		perror("test-s3-plugin: fake server");
		return 99;
	}
	ret = t_cunit_run("s3 plugin", NULL, NULL, cases);
	fake_stop();
	return ret;
}
