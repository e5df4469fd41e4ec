/*
 * plugins/s3/s3-http.c - one signed HTTP request to the store, through
 * libcurl.
 *
 * Each store keeps a few idle easy handles: a call takes one (or makes
 * one), and gives it back, so the connection it holds is reused by the
 * next call (keep-alive) while calls from several threads run at once on
 * handles of their own.  Every request has a connect timeout and a
 * timeout for the whole exchange, so a server that accepts and never
 * answers costs requestTimeout and no more.  A reply 5xx (503 SlowDown
 * among them) or a refused connection is tried again, up to `retries`
 * times, after a backoff that doubles from retryDelay with jitter (half
 * fixed, half random), so that many clients throttled together do not
 * come back together.  A timeout is not retried: it already took the
 * whole requestTimeout.
 *
 * The path is encoded once, the way the signer encodes it, and curl is
 * told not to squash "/../" (CURLOPT_PATH_AS_IS): an object name is sent
 * exactly as it is.  Redirects are not followed (S3 redirects to another
 * region; s3-msg.c names the region instead).
 */
#include "s3-private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The longest body read: the largest document and room for XML. */
#define S3_BODY_MAX ((size_t)PERSIST_VALUE_MAX + 65536)
#define S3_BACKOFF_MAX_MS 5000

/* The object name of a key: PREFIX/key.json. */
char *s3_object_name(const struct s3_store *st, const char *key)
{
	size_t n = strlen(st->conf.object_prefix) + strlen(key) + 6;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "%s%s.json", st->conf.object_prefix, key);
	return s;
}

/* Take an idle handle of the store, or make one. */
static CURL *handle_take(struct s3_store *st)
{
	CURL *h = NULL;

	pthread_mutex_lock(&st->lock);
	if (st->n_idle > 0)
		h = st->idle[--st->n_idle];
	pthread_mutex_unlock(&st->lock);
	if (h == NULL)
		h = curl_easy_init();
	else
		curl_easy_reset(h);   /* keeps its connection */
	return h;
}

/* Give a handle back (kept idle when there is room). */
static void handle_give(struct s3_store *st, CURL *h)
{
	pthread_mutex_lock(&st->lock);
	if (st->n_idle < S3_POOL_MAX) {
		st->idle[st->n_idle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&st->lock);
	if (h != NULL)
		curl_easy_cleanup(h);
}

/* Close every idle handle (close of the store). */
void s3_http_pool_free(struct s3_store *st)
{
	for (size_t i = 0; i < st->n_idle; i++)
		curl_easy_cleanup(st->idle[i]);
	st->n_idle = 0;
}

/* Free a response's body. */
void s3_response_free(struct s3_response *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}

/* Where the body goes while it arrives. */
struct body_sink {
	char *data;
	size_t len, cap;
	bool too_big;
};

/* curl's write callback: append to the body. */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ctx)
{
	struct body_sink *b = ctx;
	size_t n = size * nmemb;

	if (b->len + n > S3_BODY_MAX) {
		b->too_big = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap == 0 ? 4096 : b->cap;
		char *d;

		while (cap < b->len + n + 1)
			cap *= 2;
		d = realloc(b->data, cap);
		if (d == NULL)
			return 0;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* Copy a header's value (trimmed) into buf when the line is that header. */
static void header_value(const char *line, size_t len, const char *name,
			 char *buf, size_t size)
{
	size_t nl = strlen(name), vl;
	const char *v;

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	v = line + nl + 1;
	vl = len - nl - 1;
	while (vl > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vl--;
	}
	while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
		vl--;
	if (vl < size) {
		memcpy(buf, v, vl);
		buf[vl] = '\0';
	}
}

/* curl's header callback: the headers a caller needs. */
static size_t on_header(char *line, size_t size, size_t nmemb, void *ctx)
{
	struct s3_response *r = ctx;
	size_t n = size * nmemb;

	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* a new response (after a 100 Continue): forget the last one's */
		r->s3_etag[0] = r->meta_etag[0] = r->region[0] = r->content_type[0] = '\0';
		return n;
	}
	header_value(line, n, "ETag", r->s3_etag, sizeof(r->s3_etag));
	header_value(line, n, S3_META_ETAG, r->meta_etag, sizeof(r->meta_etag));
	header_value(line, n, "x-amz-bucket-region", r->region, sizeof(r->region));
	header_value(line, n, "Content-Type", r->content_type, sizeof(r->content_type));
	return n;
}

/* Append "Name: value" to a curl header list; false on ENOMEM. */
static bool add_header(struct curl_slist **list, const char *name, const char *value)
{
	char line[9000];
	struct curl_slist *l;

	snprintf(line, sizeof(line), "%s: %s", name, value);
	l = curl_slist_append(*list, line);
	if (l == NULL)
		return false;
	*list = l;
	return true;
}

/* The raw path of a request: /bucket/object (path style) or /object. */
static char *raw_path(const struct s3_store *st, const struct s3_request *rq)
{
	const char *bp = st->conf.bucket_path;
	size_t n = strlen(bp) + (rq->object != NULL ? strlen(rq->object) : 0) + 2;
	char *p = malloc(n);

	if (p == NULL)
		return NULL;
	if (rq->object != NULL)
		snprintf(p, n, "%s/%s", bp, rq->object);
	else
		snprintf(p, n, "%s", bp[0] != '\0' ? bp : "/");
	return p;
}

/* The url of a request: origin, encoded path, query. */
static char *make_url(const struct s3_store *st, const char *path, const char *query)
{
	char *url = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&url, &len);
	int ok;

	if (f == NULL)
		return NULL;
	ok = fputs(st->conf.origin, f) >= 0 && s3_uri_encode(f, path, strlen(path), true) == 0 &&
	     (query == NULL || fprintf(f, "?%s", query) >= 0);
	if (fclose(f) != 0 || !ok) {
		free(url);
		return NULL;
	}
	return url;
}

/* Sleep ms milliseconds. */
static void sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The backoff before attempt n (1, 2, ...): retryDelay * 2^(n-1), capped,
   half of it fixed and half random. */
static int64_t backoff_ms(struct s3_store *st, int n)
{
	int64_t d = st->conf.retry_base_ms;
	unsigned r;

	for (int i = 1; i < n && d < S3_BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > S3_BACKOFF_MAX_MS)
		d = S3_BACKOFF_MAX_MS;
	pthread_mutex_lock(&st->lock);
	r = (unsigned)rand_r(&st->rand_state);
	pthread_mutex_unlock(&st->lock);
	return d / 2 + (int64_t)(r % (unsigned)(d / 2 + 1));
}

/* curl's progress callback: give up when the store is closing, so that
   close never waits for a slow request of the poller. */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct s3_store *st = ctx;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return __atomic_load_n(&st->stopping, __ATOMIC_RELAXED) ? 1 : 0;
}

/* True for the transport failures worth another attempt. */
static bool transient_curl(CURLcode c)
{
	return c == CURLE_COULDNT_CONNECT || c == CURLE_SEND_ERROR ||
	       c == CURLE_RECV_ERROR || c == CURLE_GOT_NOTHING;
}

/* One attempt: sign now, send, read the reply. */
static CURLcode attempt(struct s3_store *st, CURL *h, const struct s3_request *rq,
			const char *path, const char *url, const char *payload_hash,
			struct s3_response *resp, struct body_sink *body, char *errbuf,
			int *sign_failed)
{
	const struct s3_conf *c = &st->conf;
	struct s3_sigv4_header hs[6];
	size_t nh = 0;
	struct s3_sigv4_creds creds = { c->access_key, c->secret_key, c->session_token };
	struct s3_sigv4_request sreq = {
		.method = rq->method, .path = path, .query = rq->query, .headers = hs,
		.payload_sha256 = payload_hash, .content_sha256_header = true,
	};
	struct s3_sigv4_result sig;
	struct curl_slist *list = NULL;
	bool put = strcmp(rq->method, "PUT") == 0;
	bool ok;
	CURLcode cc;

	hs[nh++] = (struct s3_sigv4_header){ "host", c->host_header };
	if (put)
		hs[nh++] = (struct s3_sigv4_header){ "content-type", "application/json" };
	if (rq->if_match != NULL)
		hs[nh++] = (struct s3_sigv4_header){ "if-match", rq->if_match };
	if (rq->if_none_match != NULL)
		hs[nh++] = (struct s3_sigv4_header){ "if-none-match", rq->if_none_match };
	if (rq->meta_etag != NULL)
		hs[nh++] = (struct s3_sigv4_header){ S3_META_ETAG, rq->meta_etag };
	sreq.n_headers = nh;
	if (s3_sigv4_sign(&creds, c->region, "s3", time(NULL), &sreq, &st->keys, &sig) < 0) {
		*sign_failed = 1;
		return CURLE_OUT_OF_MEMORY;
	}
	ok = true;
	for (size_t i = 0; i < nh && ok; i++)
		ok = add_header(&list, hs[i].name, hs[i].value);
	ok = ok && add_header(&list, "x-amz-date", sig.amz_date) &&
	     add_header(&list, "x-amz-content-sha256", sig.content_sha256) &&
	     (c->session_token == NULL ||
	      add_header(&list, "x-amz-security-token", c->session_token)) &&
	     add_header(&list, "Authorization", sig.authorization);
	s3_sigv4_result_free(&sig);
	if (ok) {
		struct curl_slist *l = curl_slist_append(list, "Expect:");

		ok = l != NULL;
		if (ok)
			list = l;
	}
	if (!ok) {
		curl_slist_free_all(list);
		*sign_failed = 1;
		return CURLE_OUT_OF_MEMORY;
	}

	memset(resp, 0, sizeof(*resp));
	free(body->data);
	memset(body, 0, sizeof(*body));
	errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->request_timeout_ms);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "persist-s3/" S3_PLUGIN_VERSION);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, st);
	if (rq->no_body) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (put) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->len > 0 ? rq->body : "");
	} else if (strcmp(rq->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
	}
	cc = curl_easy_perform(h);
	if (cc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(list);
	return cc;
}

/* Send rq (see s3-private.h).  PERSIST_OK when a reply arrived, whatever
   its status (after the retries of 5xx); else the transport's failure,
   with the endpoint named. */
int s3_http(struct s3_store *st, const struct s3_request *rq,
	    struct s3_response *resp, struct persist_error *err)
{
	const struct persist_host *host = st->host;
	char payload_hash[S3_SHA256_HEX], errbuf[CURL_ERROR_SIZE];
	struct body_sink body = { 0 };
	char *path = NULL, *url = NULL;
	bool write = strcmp(rq->method, "PUT") == 0 || strcmp(rq->method, "DELETE") == 0;
	int ret = PERSIST_OK, n = 0, sign_failed = 0;
	CURL *h;
	CURLcode cc;

	memset(resp, 0, sizeof(*resp));
	if (s3_sha256_hex(rq->body != NULL ? rq->body : "", rq->len, payload_hash) < 0)
		return host->error(err, PERSIST_EIO, 0, "cannot hash the request body\n"
				   "OpenSSL's SHA-256 failed.");
	path = raw_path(st, rq);
	url = path != NULL ? make_url(st, path, rq->query) : NULL;
	h = url != NULL ? handle_take(st) : NULL;
	if (h == NULL) {
		free(path);
		free(url);
		return host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	for (;;) {
		n++;
		cc = attempt(st, h, rq, path, url, payload_hash, resp, &body, errbuf,
			     &sign_failed);
		if (sign_failed) {
			ret = host->error(err, PERSIST_ENOMEM, ENOMEM,
					  "out of memory while signing a request");
			break;
		}
		bool again = (cc != CURLE_OK && transient_curl(cc)) ||
			     (cc == CURLE_OK && resp->status >= 500 && resp->status <= 599);

		if (!again || n > st->conf.retries ||
		    __atomic_load_n(&st->stopping, __ATOMIC_RELAXED))
			break;
		sleep_ms(backoff_ms(st, n));
	}
	resp->attempts = n;
	if (ret == PERSIST_OK && cc != CURLE_OK) {
		const char *why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc);

		if (cc == CURLE_OPERATION_TIMEDOUT)
			ret = host->error(err, PERSIST_ETIMEDOUT, 0,
					  "%s %s timed out\nNo reply from %s within %" PRId64
					  " ms (requestTimeout)%s.", rq->method,
					  rq->object != NULL ? "of an object" : "of the bucket",
					  st->conf.origin, st->conf.request_timeout_ms,
					  write ? "; the write may or may not have been applied" : "");
		else if (cc == CURLE_ABORTED_BY_CALLBACK)
			ret = host->error(err, PERSIST_ECLOSED, 0, "%s cancelled\nThe store "
					  "is closing.", rq->method);
		else if (cc == CURLE_WRITE_ERROR && body.too_big)
			ret = host->error(err, PERSIST_EIO, 0,
					  "reply too large\nThe server at %s sent more than "
					  "%zu bytes.", st->conf.origin, S3_BODY_MAX);
		else
			ret = host->error(err, transient_curl(cc) || cc == CURLE_COULDNT_RESOLVE_HOST ?
					  PERSIST_EUNAVAIL : PERSIST_EIO, 0,
					  "cannot reach %s\n%s (after %d attempt%s).",
					  st->conf.origin, why, n, n == 1 ? "" : "s");
	}
	if (ret == PERSIST_OK) {
		resp->body = body.data != NULL ? body.data : strdup("");
		resp->len = body.len;
		body.data = NULL;
		if (resp->body == NULL)
			ret = host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	free(body.data);
	handle_give(st, h);
	free(path);
	free(url);
	return ret;
}
