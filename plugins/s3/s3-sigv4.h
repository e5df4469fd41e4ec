/*
 * plugins/s3/s3-sigv4.h - AWS Signature Version 4: the canonical request,
 * the string to sign, the signing key (cached per day) and the
 * Authorization header of one HTTP request.
 *
 * It knows nothing of curl or of the plugin: a request is a method, a raw
 * path, a query string and a list of headers, so the unit test can feed
 * it the published test vectors and the HTTP layer its real requests.
 * S3 wants the path encoded once and never normalised (a key may hold
 * "//" or ".."); other services normalise it, which normalize_path asks
 * for (the tests use it for those vectors).
 */
#ifndef PERSIST_S3_SIGV4_H
#define PERSIST_S3_SIGV4_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#define S3_SHA256_HEX 65          /* 64 hex digits and a NUL */
#define S3_AMZ_DATE_LEN 17        /* "20150830T123600Z" and a NUL */
/* SHA-256 of zero bytes, the payload hash of a request without a body. */
#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3_sigv4_header {
	const char *name, *value;
};

struct s3_sigv4_creds {
	const char *access_key, *secret_key;
	const char *token;              /* session token, NULL: none */
};

struct s3_sigv4_request {
	const char *method;
	const char *path;               /* raw bytes of the path, from '/' */
	const char *query;              /* query string without '?', NULL: none;
					   encoded or not, it is decoded and
					   encoded again */
	const struct s3_sigv4_header *headers; /* as sent (host included) */
	size_t n_headers;
	const char *payload_sha256;     /* hex; NULL: the empty payload */
	bool normalize_path;            /* remove "." "..", "//" (never for S3) */
	bool content_sha256_header;     /* sign x-amz-content-sha256 (S3: always) */
	bool token_unsigned;            /* the token is sent but not signed */
};

/* The signing key of one day, region and service, computed once a day.
   One per store; its lock makes it safe to share between threads. */
struct s3_sigv4_key_cache {
	pthread_mutex_t lock;
	bool valid;
	char scope[160];                /* "DAY/REGION/SERVICE" the key is for */
	unsigned char key[32];
	unsigned long computed;         /* how often the key was derived (tests) */
};

/* What signing produces: the extra headers to send (x-amz-date, and
   x-amz-content-sha256 when asked) and the Authorization value. */
struct s3_sigv4_result {
	char amz_date[S3_AMZ_DATE_LEN];
	char content_sha256[S3_SHA256_HEX];
	char signature[S3_SHA256_HEX];
	char *canonical_request;        /* malloc()ed */
	char *string_to_sign;           /* malloc()ed */
	char *authorization;            /* malloc()ed */
};

void s3_sigv4_key_cache_init(struct s3_sigv4_key_cache *cache);
void s3_sigv4_key_cache_deinit(struct s3_sigv4_key_cache *cache);

/* Sign req for region and service at time when.  cache may be NULL.
   0, or -1 when out of memory or libcrypto failed (r then holds
   nothing to free). */
int s3_sigv4_sign(const struct s3_sigv4_creds *creds, const char *region,
		  const char *service, time_t when, const struct s3_sigv4_request *req,
		  struct s3_sigv4_key_cache *cache, struct s3_sigv4_result *r);
void s3_sigv4_result_free(struct s3_sigv4_result *r);

/* The hex SHA-256 of data into hex_r; 0 or -1. */
int s3_sha256_hex(const void *data, size_t len, char hex_r[S3_SHA256_HEX]);

/* Percent-encode len bytes of s the way SigV4 and S3 want: everything but
   A-Z a-z 0-9 - . _ ~ (and '/' when keep_slash) becomes %XX.  Written to
   the stream f; 0 or -1. */
int s3_uri_encode(FILE *f, const char *s, size_t len, bool keep_slash);

#endif
