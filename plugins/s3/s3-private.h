/*
 * plugins/s3/s3-private.h - what the files of the s3 provider share.
 *
 *   s3-plugin.c   descriptor, init/fini, open/close, health (HEAD bucket)
 *   s3-options.c  the settings, credentials from the environment, the
 *                 endpoint and addressing style
 *   s3-sigv4.c    the Signature Version 4 signer (s3-sigv4.h)
 *   s3-http.c     one signed request through libcurl: a pool of easy
 *                 handles (connection reuse), timeouts, retries with
 *                 backoff and jitter
 *   s3-xml.c      S3's XML replies (libxml2): error bodies, listings
 *   s3-msg.c      an HTTP reply that is not the expected one, as a clear
 *                 error (NoSuchBucket, AccessDenied, a wrong region, ...)
 *   s3-config.c   get (revalidated with If-None-Match), set, del, list
 *   s3-poll.c     change notification: a thread lists the prefix every
 *                 pollInterval and notifies what changed
 *
 * A key k is the object PREFIX/k.json of the bucket (k.json when the
 * prefix is empty); a '/' in k makes folders.  ETags: the core's ETag of
 * a document is host->etag of its bytes; S3's own ETag of the object (an
 * MD5 for a single PUT, something else for multipart uploads or
 * encrypted buckets) is another thing and never reaches the core.  The
 * core's ETag is computed over the bytes read and also stored as the
 * object's metadata x-amz-meta-persist-etag, so that a HEAD tells it
 * (if-match checks, polling) without the body; S3's ETag is what
 * If-None-Match (revalidation) and If-Match (conditional writes) send.
 */
#ifndef PERSIST_S3_PRIVATE_H
#define PERSIST_S3_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <curl/curl.h>
#include "pc-common.h"
#include "s3-sigv4.h"

#define S3_PLUGIN_VERSION "1.4.0"
#define S3_META_ETAG "x-amz-meta-persist-etag"
#define S3_ETAG_MAX 128              /* S3's ETag, quotes included */
#define S3_POOL_MAX 8                /* idle curl handles a store keeps */
#define S3_CACHE_MAX_BYTES (64u * 1024 * 1024) /* documents kept for revalidation */
#define S3_LIST_PAGE 1000            /* keys per ListObjectsV2 page */

/* The settings, read by s3_conf_parse. */
struct s3_conf {
	char *bucket, *prefix, *region, *endpoint;
	char *access_key, *secret_key, *session_token;
	bool path_style, conditional_writes;
	int64_t connect_timeout_ms, request_timeout_ms, poll_interval_ms;
	int64_t retries, retry_base_ms;
	/* derived */
	char *origin;                /* scheme://host[:port], no path */
	char *host_header;           /* host[:port] as sent in Host */
	char *bucket_path;           /* "/bucket" (path style) or "" */
	char *object_prefix;         /* "prefix/" or "" */
};

/* One document a store has read: its bytes and both ETags, kept to
   revalidate it with If-None-Match. */
struct s3_doc {
	char s3_etag[S3_ETAG_MAX];
	char etag[PERSIST_ETAG_MAX];
	void *data;
	size_t len;
};

/* What the poller knows of one key. */
struct s3_seen {
	char s3_etag[S3_ETAG_MAX];
	char etag[PERSIST_ETAG_MAX];
	uint64_t write_seq;          /* own write that set it (0: the poller) */
	bool mark;                   /* seen in the current listing */
};

struct s3_plugin {
	const struct persist_host *host;
};

struct s3_store {
	const struct persist_host *host;
	struct persist_sink *sink;
	struct s3_conf conf;
	struct s3_sigv4_key_cache keys;

	pthread_mutex_t lock;        /* the handle pool, the cache, seen */
	CURL *idle[S3_POOL_MAX];
	size_t n_idle;
	struct pc_map *cache;        /* key -> struct s3_doc */
	size_t cache_bytes;
	struct pc_map *seen;         /* key -> struct s3_seen */
	uint64_t write_seq;
	unsigned rand_state;

	/* the poller */
	pthread_t poller;
	bool poller_running, stopping, seen_ready;
	pthread_cond_t wake;
};

/* A request: method, object (NULL: the bucket), query, body, conditions. */
struct s3_request {
	const char *method;
	const char *object;          /* full object name (prefix included) */
	const char *query;           /* encoded query string, NULL: none */
	const void *body;
	size_t len;
	const char *if_match, *if_none_match; /* S3 ETags */
	const char *meta_etag;       /* stored as x-amz-meta-persist-etag */
	bool no_body;                /* HEAD */
};

/* A response: status, headers that matter, the body. */
struct s3_response {
	long status;
	char s3_etag[S3_ETAG_MAX];
	char meta_etag[PERSIST_ETAG_MAX];
	char region[64];             /* x-amz-bucket-region */
	char content_type[64];
	char *body;                  /* malloc()ed, NUL-terminated */
	size_t len;
	int attempts;
};

/* s3-options.c */
int s3_conf_parse(const struct persist_host *host, const char *json,
		  struct s3_conf *conf, struct persist_error *err);
void s3_conf_free(struct s3_conf *conf);

/* s3-http.c */
int s3_http(struct s3_store *st, const struct s3_request *rq,
	    struct s3_response *resp, struct persist_error *err);
void s3_response_free(struct s3_response *resp);
void s3_http_pool_free(struct s3_store *st);
/* The object name of a key (malloc()ed, NULL on ENOMEM). */
char *s3_object_name(const struct s3_store *st, const char *key);

/* s3-xml.c */
struct s3_xml_error {
	char code[64], message[256], region[64], bucket[128];
};
/* Parse an <Error> body; 0, or -1 when it is not S3's XML error. */
int s3_xml_error(const char *body, size_t len, struct s3_xml_error *e);
/* One object of a listing, as the parser hands it over. */
typedef int s3_list_fn(void *ctx, const char *object, const char *s3_etag);
/* Parse a ListObjectsV2 page: fn for each object, the next continuation
   token (malloc()ed, NULL when the listing is complete) to *next_r.
   0, or -1 with a reason in why (the reply is not a listing). */
int s3_xml_list(const char *body, size_t len, s3_list_fn *fn, void *ctx,
		char **next_r, char *why, size_t why_size);

/* s3-msg.c */
int s3_reply_error(struct s3_store *st, const char *what,
		   const struct s3_response *resp, struct persist_error *err);

/* s3-config.c */
int s3_config_get(void *store, const char *key, struct persist_value *value_r,
		  struct persist_error *err);
int s3_config_set(void *store, const char *key, const void *data, size_t len,
		  const struct persist_write_opts *opts, char etag_r[PERSIST_ETAG_MAX],
		  struct persist_error *err);
int s3_config_del(void *store, const char *key, const char *if_match,
		  struct persist_error *err);
int s3_config_list(void *store, persist_emit_fn *emit, void *ctx,
		   struct persist_error *err);
/* Read key into a fresh struct s3_doc (revalidating a cached copy);
   PERSIST_ENOTFOUND when absent. */
int s3_fetch(struct s3_store *st, const char *key, struct s3_doc **doc_r,
	     struct persist_error *err);
void s3_doc_free(void *doc);
/* Every key under the prefix with S3's ETag, page by page. */
typedef int s3_key_fn(void *ctx, const char *key, const char *s3_etag);
int s3_list_keys(struct s3_store *st, s3_key_fn *fn, void *ctx,
		 struct persist_error *err);

/* s3-poll.c */
int s3_poll_start(struct s3_store *st, struct persist_error *err);
void s3_poll_stop(struct s3_store *st);
/* An own write (etag NULL: a delete) of key: record it and notify. */
void s3_poll_own_write(struct s3_store *st, const char *key, const char *s3_etag,
		       const char *etag);

#endif
