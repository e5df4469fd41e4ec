/*
 * plugins/s3/s3-sigv4.c - the Signature Version 4 signer (see
 * s3-sigv4.h): canonical request, string to sign, signing key and
 * Authorization header.  Hashes and HMACs come from OpenSSL's libcrypto.
 *
 * The canonical request is
 *     METHOD \n URI \n QUERY \n HEADERS \n SIGNED-HEADERS \n PAYLOAD-HASH
 * with the URI encoded once (S3 never normalises it), the query's
 * parameters decoded, encoded again and sorted by name then value (a
 * parameter without a value is written "name="), the headers' names in
 * lower case and sorted, values trimmed with inner blanks folded to one
 * space, repeated headers joined with ','.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "s3-sigv4.h"

/* One header or query parameter being canonicalised: a header's
   lower-case name and folded value, or a parameter's encoded ones. */
struct canon_pair {
	char *name, *value;
	size_t order;                   /* position given: keeps repeats in order */
};

/* Free n pairs and the array. */
static void free_pairs(struct canon_pair *pairs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(pairs[i].name);
		free(pairs[i].value);
	}
	free(pairs);
}

/* Set up an empty key cache. */
void s3_sigv4_key_cache_init(struct s3_sigv4_key_cache *cache)
{
	memset(cache, 0, sizeof(*cache));
	pthread_mutex_init(&cache->lock, NULL);
}

/* Wipe the key and free the lock. */
void s3_sigv4_key_cache_deinit(struct s3_sigv4_key_cache *cache)
{
	OPENSSL_cleanse(cache->key, sizeof(cache->key));
	pthread_mutex_destroy(&cache->lock);
}

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
static void to_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* The hex SHA-256 of data. */
int s3_sha256_hex(const void *data, size_t len, char hex_r[S3_SHA256_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return -1;
	to_hex(md, n, hex_r);
	return 0;
}

/* HMAC-SHA256 of msg with key into out (32 bytes). */
static int hmac256(const void *key, size_t key_len, const char *msg,
		   unsigned char out[32])
{
	unsigned int n = 0;

	if (HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg,
		 strlen(msg), out, &n) == NULL || n != 32)
		return -1;
	return 0;
}

/* True for the bytes SigV4 never encodes. */
static bool unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Percent-encode (see s3-sigv4.h). */
int s3_uri_encode(FILE *f, const char *s, size_t len, bool keep_slash)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (unreserved(c) || (keep_slash && c == '/')) {
			if (fputc(c, f) == EOF)
				return -1;
		} else if (fprintf(f, "%%%02X", c) < 0) {
			return -1;
		}
	}
	return 0;
}

/* The value of a hex digit, or -1. */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* len bytes of s with %XX decoded (a '%' not followed by two hex digits
   stays as it is), encoded again, as a malloc()ed string. */
static char *reencode(const char *s, size_t len)
{
	char *raw = malloc(len + 1), *out = NULL;
	size_t n = 0, out_len;
	FILE *f;

	if (raw == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == '%' && i + 2 < len &&
		    (hi = hex_value(s[i + 1])) >= 0 && (lo = hex_value(s[i + 2])) >= 0) {
			raw[n++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			raw[n++] = s[i];
		}
	}
	f = open_memstream(&out, &out_len);
	if (f == NULL) {
		free(raw);
		return NULL;
	}
	if (s3_uri_encode(f, raw, n, false) < 0) {
		fclose(f);
		free(out);
		free(raw);
		return NULL;
	}
	free(raw);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* Order of query parameters: by encoded name, then value. */
static int param_cmp(const void *a, const void *b)
{
	const struct canon_pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->value, y->value);
}

/* Write the canonical query string of query to f. */
static int write_query(FILE *f, const char *query)
{
	struct canon_pair *params = NULL;
	size_t n = 0, cap = 0;
	int ret = -1;
	const char *p = query;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, '&'), *eq;
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		if (len > 0) {
			if (n == cap) {
				size_t ncap = cap == 0 ? 8 : cap * 2;
				struct canon_pair *np = realloc(params, ncap * sizeof(*np));

				if (np == NULL)
					goto out;
				params = np;
				cap = ncap;
			}
			eq = memchr(p, '=', len);
			params[n].name = reencode(p, eq != NULL ? (size_t)(eq - p) : len);
			params[n].value = eq != NULL ? reencode(eq + 1, len - (size_t)(eq - p) - 1)
						     : strdup("");
			n++;
			if (params[n - 1].name == NULL || params[n - 1].value == NULL)
				goto out;
		}
		p = end != NULL ? end + 1 : NULL;
	}
	if (n > 1)
		qsort(params, n, sizeof(*params), param_cmp);
	for (size_t i = 0; i < n; i++)
		if (fprintf(f, "%s%s=%s", i > 0 ? "&" : "", params[i].name,
			    params[i].value) < 0)
			goto out;
	ret = 0;
out:
	free_pairs(params, n);
	return ret;
}

/* Write the canonical URI of path to f: normalised when asked, encoded
   once. */
static int write_path(FILE *f, const char *path, bool normalize)
{
	const char **segs;
	size_t *lens, n = 0, len = strlen(path);
	const char *p = path;
	int ret = 0;

	if (len == 0)
		return fputc('/', f) == EOF ? -1 : 0;
	if (!normalize)
		return s3_uri_encode(f, path, len, true);
	/* normalised: drop empty and "." segments, ".." removes one */
	segs = calloc(len + 1, sizeof(*segs));
	lens = calloc(len + 1, sizeof(*lens));
	if (segs == NULL || lens == NULL) {
		free(segs);
		free(lens);
		return -1;
	}
	while (*p != '\0') {
		const char *end = strchr(p, '/');
		size_t slen = end != NULL ? (size_t)(end - p) : strlen(p);

		if (slen == 0 || (slen == 1 && p[0] == '.')) {
			/* nothing */
		} else if (slen == 2 && p[0] == '.' && p[1] == '.') {
			if (n > 0)
				n--;
		} else {
			segs[n] = p;
			lens[n++] = slen;
		}
		p = end != NULL ? end + 1 : p + slen;
	}
	for (size_t i = 0; i < n && ret == 0; i++)
		if (fputc('/', f) == EOF || s3_uri_encode(f, segs[i], lens[i], true) < 0)
			ret = -1;
	if (ret == 0 && (n == 0 || path[len - 1] == '/'))
		ret = fputc('/', f) == EOF ? -1 : 0;
	free(segs);
	free(lens);
	return ret;
}

/* Order of headers: by name, then as given. */
static int header_cmp(const void *a, const void *b)
{
	const struct canon_pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : (x->order < y->order ? -1 : x->order > y->order);
}

/* A header's name in lower case, malloc()ed. */
static char *lower_dup(const char *s)
{
	char *d = strdup(s);

	for (char *p = d; p != NULL && *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

/* A header's value trimmed, each run of blanks folded to one space. */
static char *fold_dup(const char *s)
{
	char *d = malloc(strlen(s) + 1);
	size_t n = 0;
	bool blank = false;

	if (d == NULL)
		return NULL;
	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
			blank = n > 0;
			continue;
		}
		if (blank)
			d[n++] = ' ';
		blank = false;
		d[n++] = *s;
	}
	d[n] = '\0';
	return d;
}

/* True when headers holds name (any case). */
static bool has_header(const struct s3_sigv4_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return true;
	return false;
}

/* Write the canonical headers and, to signed, the signed-headers list. */
static int write_headers(FILE *f, FILE *signed_f, const struct s3_sigv4_request *req,
			 const struct s3_sigv4_creds *creds, const struct s3_sigv4_result *r)
{
	size_t max = req->n_headers + 3, n = 0;
	struct canon_pair *h = calloc(max, sizeof(*h));
	int ret = -1;

	if (h == NULL)
		return -1;
	for (size_t i = 0; i < req->n_headers; i++, n++) {
		h[n].name = lower_dup(req->headers[i].name);
		h[n].value = fold_dup(req->headers[i].value);
		h[n].order = n;
		if (h[n].name == NULL || h[n].value == NULL) {
			n++;
			goto out;
		}
	}
	/* the headers the signer adds, unless the request has them */
	struct { const char *name, *value; bool want; } extra[] = {
		{ "x-amz-date", r->amz_date, true },
		{ "x-amz-content-sha256", r->content_sha256, req->content_sha256_header },
		{ "x-amz-security-token", creds->token, creds->token != NULL &&
		  !req->token_unsigned },
	};
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		if (!extra[i].want || has_header(req, extra[i].name))
			continue;
		h[n].name = strdup(extra[i].name);
		h[n].value = fold_dup(extra[i].value);
		h[n].order = n;
		n++;
		if (h[n - 1].name == NULL || h[n - 1].value == NULL)
			goto out;
	}
	if (n > 1)
		qsort(h, n, sizeof(*h), header_cmp);
	for (size_t i = 0; i < n; i++) {
		bool repeat = i > 0 && strcmp(h[i - 1].name, h[i].name) == 0;
		bool last = i + 1 == n || strcmp(h[i + 1].name, h[i].name) != 0;

		if (repeat) {
			if (fprintf(f, ",%s", h[i].value) < 0)
				goto out;
		} else if (fprintf(f, "%s:%s", h[i].name, h[i].value) < 0 ||
			   fprintf(signed_f, "%s%s", i > 0 ? ";" : "", h[i].name) < 0) {
			goto out;
		}
		if (last && fputc('\n', f) == EOF)
			goto out;
	}
	ret = 0;
out:
	free_pairs(h, n);
	return ret;
}

/* The signing key of scope "DAY/REGION/SERVICE" into key: from the cache
   when it is that scope's, else derived (and cached). */
static int signing_key(const struct s3_sigv4_creds *creds, const char *day,
		       const char *region, const char *service,
		       struct s3_sigv4_key_cache *cache, unsigned char key[32])
{
	char scope[sizeof(cache->scope)];
	size_t slen = strlen(creds->secret_key) + 5;
	char *secret;
	unsigned char k1[32], k2[32], k3[32];
	int ret;

	snprintf(scope, sizeof(scope), "%s/%s/%s", day, region, service);
	if (cache != NULL) {
		pthread_mutex_lock(&cache->lock);
		if (cache->valid && strcmp(cache->scope, scope) == 0) {
			memcpy(key, cache->key, 32);
			pthread_mutex_unlock(&cache->lock);
			return 0;
		}
		pthread_mutex_unlock(&cache->lock);
	}
	secret = malloc(slen);
	if (secret == NULL)
		return -1;
	snprintf(secret, slen, "AWS4%s", creds->secret_key);
	ret = hmac256(secret, slen - 1, day, k1) < 0 ||
	      hmac256(k1, 32, region, k2) < 0 ||
	      hmac256(k2, 32, service, k3) < 0 ||
	      hmac256(k3, 32, "aws4_request", key) < 0 ? -1 : 0;
	OPENSSL_cleanse(secret, slen);
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	OPENSSL_cleanse(k3, sizeof(k3));
	free(secret);
	if (ret == 0 && cache != NULL) {
		pthread_mutex_lock(&cache->lock);
		memcpy(cache->key, key, 32);
		snprintf(cache->scope, sizeof(cache->scope), "%s", scope);
		cache->valid = true;
		cache->computed++;
		pthread_mutex_unlock(&cache->lock);
	}
	return ret;
}

/* Close a memory stream, keeping its text in *text_r; 0 or -1. */
static int close_text(FILE *f, char **text_r, int ok)
{
	if (fclose(f) != 0 || ok < 0) {
		free(*text_r);
		*text_r = NULL;
		return -1;
	}
	return 0;
}

/* Sign a request (see s3-sigv4.h). */
int s3_sigv4_sign(const struct s3_sigv4_creds *creds, const char *region,
		  const char *service, time_t when, const struct s3_sigv4_request *req,
		  struct s3_sigv4_key_cache *cache, struct s3_sigv4_result *r)
{
	char *creq = NULL, *signed_headers = NULL, day[9], creq_hash[S3_SHA256_HEX];
	size_t creq_len = 0, sh_len = 0, sts_len = 0, auth_len = 0;
	unsigned char key[32], sig[32];
	struct tm tm;
	FILE *f, *sf;
	int ok = 0;

	memset(r, 0, sizeof(*r));
	if (gmtime_r(&when, &tm) == NULL)
		return -1;
	strftime(r->amz_date, sizeof(r->amz_date), "%Y%m%dT%H%M%SZ", &tm);
	memcpy(day, r->amz_date, 8);
	day[8] = '\0';
	snprintf(r->content_sha256, sizeof(r->content_sha256), "%s",
		 req->payload_sha256 != NULL ? req->payload_sha256 : S3_EMPTY_SHA256);

	/* the canonical request */
	f = open_memstream(&creq, &creq_len);
	if (f == NULL)
		return -1;
	sf = open_memstream(&signed_headers, &sh_len);
	if (sf == NULL) {
		fclose(f);
		free(creq);
		return -1;
	}
	if (fprintf(f, "%s\n", req->method) < 0 ||
	    write_path(f, req->path, req->normalize_path) < 0 || fputc('\n', f) == EOF ||
	    write_query(f, req->query) < 0 || fputc('\n', f) == EOF ||
	    write_headers(f, sf, req, creds, r) < 0)
		ok = -1;
	if (close_text(sf, &signed_headers, ok) < 0)
		ok = -1;
	if (ok == 0 && fprintf(f, "\n%s\n%s", signed_headers, r->content_sha256) < 0)
		ok = -1;
	if (close_text(f, &creq, ok) < 0 || ok < 0) {
		free(creq);
		free(signed_headers);
		return -1;
	}
	r->canonical_request = creq;

	/* the string to sign */
	if (s3_sha256_hex(creq, creq_len, creq_hash) < 0)
		goto fail;
	f = open_memstream(&r->string_to_sign, &sts_len);
	if (f == NULL)
		goto fail;
	ok = fprintf(f, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", r->amz_date,
		     day, region, service, creq_hash) < 0 ? -1 : 0;
	if (close_text(f, &r->string_to_sign, ok) < 0)
		goto fail;

	/* the signature and the header */
	if (signing_key(creds, day, region, service, cache, key) < 0)
		goto fail;
	ok = hmac256(key, sizeof(key), r->string_to_sign, sig);
	OPENSSL_cleanse(key, sizeof(key));
	if (ok < 0)
		goto fail;
	to_hex(sig, sizeof(sig), r->signature);
	f = open_memstream(&r->authorization, &auth_len);
	if (f == NULL)
		goto fail;
	ok = fprintf(f, "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
		     "SignedHeaders=%s, Signature=%s", creds->access_key, day, region,
		     service, signed_headers, r->signature) < 0 ? -1 : 0;
	if (close_text(f, &r->authorization, ok) < 0)
		goto fail;
	free(signed_headers);
	return 0;
fail:
	free(signed_headers);
	s3_sigv4_result_free(r);
	return -1;
}

/* Free what s3_sigv4_sign allocated. */
void s3_sigv4_result_free(struct s3_sigv4_result *r)
{
	free(r->canonical_request);
	free(r->string_to_sign);
	free(r->authorization);
	r->canonical_request = r->string_to_sign = r->authorization = NULL;
}
