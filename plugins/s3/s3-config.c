/*
 * plugins/s3/s3-config.c - configuration documents as objects of the
 * bucket: get, set, delete, list.
 *
 * get keeps what it read (bytes, S3's ETag, the core's ETag) in a per-store
 * cache of at most S3_CACHE_MAX_BYTES; the next get of the key sends
 * If-None-Match with S3's ETag, so an unchanged document costs a 304 and no
 * body.  Every document read is checked to be JSON: an object written by
 * another tool that is not JSON is reported (PERSIST_ECORRUPT), never
 * handed to the core.
 *
 * set PUTs the bytes with Content-Type application/json and the core's
 * ETag as metadata.  if-match is checked with a HEAD (the metadata holds
 * the core's ETag; an object without it is read and hashed); the PUT then
 * carries If-Match with the S3 ETag the HEAD saw, so on a store that
 * honours conditional writes (AWS S3) a writer that came in between makes
 * it fail with 412, reported as an ETag conflict.  With conditionalWrites
 * off (stores that ignore If-Match) the check and the write are two steps:
 * the provider does not claim compare-and-swap either way, since its
 * capabilities are fixed for every store while this is a setting.
 *
 * delete HEADs first: S3 answers 204 to the DELETE of an absent object,
 * while the contract wants PERSIST_ENOTFOUND.
 */
#include "s3-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <json-c/json.h>

#define S3_OBJECT_MAX 1024
#define S3_SEGMENT_MAX 255     /* a folder or file name on a file system */

/* Free a struct s3_doc (a pc_map value). */
void s3_doc_free(void *p)
{
	struct s3_doc *doc = p;

	if (doc != NULL)
		free(doc->data);
	free(doc);
}

/* A new document holding a copy of data. */
static struct s3_doc *doc_new(const void *data, size_t len, const char *s3_etag,
			      const char *etag)
{
	struct s3_doc *doc = calloc(1, sizeof(*doc));

	if (doc == NULL)
		return NULL;
	doc->data = pc_memdup0(data, len);
	if (doc->data == NULL) {
		free(doc);
		return NULL;
	}
	doc->len = len;
	snprintf(doc->s3_etag, sizeof(doc->s3_etag), "%s", s3_etag);
	snprintf(doc->etag, sizeof(doc->etag), "%s", etag);
	return doc;
}

/* Drop key from the cache (lock held). */
static void cache_drop_locked(struct s3_store *st, const char *key)
{
	struct s3_doc *old = pc_map_get(st->cache, key);

	if (old != NULL) {
		st->cache_bytes -= old->len;
		pc_map_del(st->cache, key);
	}
}

/* Keep a copy of a document for revalidation (when it has an S3 ETag and
   the cache has room). */
static void cache_put(struct s3_store *st, const char *key, const struct s3_doc *doc)
{
	struct s3_doc *copy;

	pthread_mutex_lock(&st->lock);
	cache_drop_locked(st, key);
	if (doc->s3_etag[0] != '\0' && st->cache_bytes + doc->len <= S3_CACHE_MAX_BYTES &&
	    (copy = doc_new(doc->data, doc->len, doc->s3_etag, doc->etag)) != NULL) {
		if (pc_map_put(st->cache, key, copy) == 0)
			st->cache_bytes += copy->len;
		else
			s3_doc_free(copy);
	}
	pthread_mutex_unlock(&st->lock);
}

/* Forget key in the cache. */
static void cache_drop(struct s3_store *st, const char *key)
{
	pthread_mutex_lock(&st->lock);
	cache_drop_locked(st, key);
	pthread_mutex_unlock(&st->lock);
}

/* The object of key, checked against S3's limit. */
static int object_of(struct s3_store *st, const char *key, char **object_r,
		     struct persist_error *err)
{
	*object_r = s3_object_name(st, key);
	if (*object_r == NULL)
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	if (strlen(*object_r) > S3_OBJECT_MAX) {
		free(*object_r);
		*object_r = NULL;
		return st->host->error(err, PERSIST_EINVAL, 0,
				       "key \"%.40s...\" is too long for S3\nWith the prefix "
				       "and \".json\" its object name would pass S3's %d bytes.",
				       key, S3_OBJECT_MAX);
	}
	/* stores that keep objects as files (MinIO, s3rver, ...) cannot hold
	   a folder or file name longer than a file system's */
	for (const char *p = *object_r; *p != '\0';) {
		size_t seg = strcspn(p, "/");

		if (seg > S3_SEGMENT_MAX) {
			free(*object_r);
			*object_r = NULL;
			return st->host->error(err, PERSIST_EINVAL, 0,
					       "key \"%.40s...\" has a part longer than %d bytes\n"
					       "Each part between '/' of its object name (with "
					       "\".json\") must fit a file name, as S3-compatible "
					       "stores on file systems require.", key, S3_SEGMENT_MAX);
		}
		p += seg + (p[seg] == '/');
	}
	return PERSIST_OK;
}

/* True when data[0..len) is one JSON value and nothing else. */
static bool is_json(const void *data, size_t len)
{
	struct json_tokener *tok;
	struct json_object *o;
	bool ok;

	if (len == 0 || len > INT32_MAX)
		return false;
	tok = json_tokener_new();
	if (tok == NULL)
		return false;
	o = json_tokener_parse_ex(tok, data, (int)len);
	ok = o != NULL && json_tokener_get_error(tok) == json_tokener_success &&
	     json_tokener_get_parse_end(tok) == len;
	json_object_put(o);
	json_tokener_free(tok);
	return ok;
}

/* Read key (see s3-private.h). */
int s3_fetch(struct s3_store *st, const char *key, struct s3_doc **doc_r,
	     struct persist_error *err)
{
	const struct persist_host *host = st->host;
	char cached[S3_ETAG_MAX] = "", what[PERSIST_KEY_MAX + 32], etag[PERSIST_ETAG_MAX];
	struct s3_response resp;
	struct s3_doc *doc = NULL;
	char *object;
	int ret, round;

	ret = object_of(st, key, &object, err);
	if (ret != PERSIST_OK)
		return ret;
	snprintf(what, sizeof(what), "get of \"%s\"", key);
	for (round = 0; round < 2; round++) {
		struct s3_request rq = { .method = "GET", .object = object };

		pthread_mutex_lock(&st->lock);
		doc = round == 0 ? pc_map_get(st->cache, key) : NULL;
		snprintf(cached, sizeof(cached), "%s", doc != NULL ? doc->s3_etag : "");
		pthread_mutex_unlock(&st->lock);
		doc = NULL;
		rq.if_none_match = cached[0] != '\0' ? cached : NULL;
		ret = s3_http(st, &rq, &resp, err);
		if (ret != PERSIST_OK)
			break;
		if (resp.status == 304 && rq.if_none_match != NULL) {
			/* unchanged: the cached copy, if still there */
			pthread_mutex_lock(&st->lock);
			struct s3_doc *c = pc_map_get(st->cache, key);

			if (c != NULL && strcmp(c->s3_etag, cached) == 0)
				doc = doc_new(c->data, c->len, c->s3_etag, c->etag);
			pthread_mutex_unlock(&st->lock);
			s3_response_free(&resp);
			if (doc != NULL)
				break;
			continue;       /* evicted meanwhile: read it whole */
		}
		if (resp.status == 200 && strncasecmp(resp.content_type, "text/html", 9) == 0) {
			/* a web page, not an object: the endpoint is not S3 */
			ret = s3_reply_error(st, what, &resp, err);
			s3_response_free(&resp);
			break;
		}
		if (resp.status == 200) {
			if (!is_json(resp.body, resp.len)) {
				ret = host->error(err, PERSIST_ECORRUPT, 0,
						  "document \"%s\" is not valid JSON\nThe object "
						  "%s of bucket \"%s\" holds %zu bytes that do not "
						  "parse as one JSON value.", key, object,
						  st->conf.bucket, resp.len);
				cache_drop(st, key);
			} else {
				host->etag(resp.body, resp.len, etag);
				doc = doc_new(resp.body, resp.len, resp.s3_etag, etag);
				if (doc == NULL)
					ret = host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
				else
					cache_put(st, key, doc);
			}
			s3_response_free(&resp);
			break;
		}
		if (resp.status == 404) {
			struct s3_xml_error e;

			if (s3_xml_error(resp.body, resp.len, &e) < 0 ||
			    strcmp(e.code, "NoSuchKey") == 0) {
				cache_drop(st, key);
				ret = host->error(err, PERSIST_ENOTFOUND, 0,
						  "document \"%s\" not found\nThere is no object "
						  "%s in bucket \"%s\".", key, object, st->conf.bucket);
				s3_response_free(&resp);
				break;
			}
		}
		ret = s3_reply_error(st, what, &resp, err);
		s3_response_free(&resp);
		break;
	}
	free(object);
	if (ret == PERSIST_OK && doc == NULL)
		ret = host->error(err, PERSIST_EIO, 0, "get of \"%s\" failed\nThe server "
				  "answered 304 twice to a read without a condition.", key);
	if (ret == PERSIST_OK)
		*doc_r = doc;
	return ret;
}

/* get: the document and its ETag. */
int s3_config_get(void *store, const char *key, struct persist_value *value_r,
		  struct persist_error *err)
{
	struct s3_store *st = store;
	struct s3_doc *doc;
	void *data;
	int ret = s3_fetch(st, key, &doc, err);

	if (ret != PERSIST_OK)
		return ret;
	data = pc_host_dup0(st->host, doc->data, doc->len);
	if (data == NULL) {
		s3_doc_free(doc);
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	value_r->data = data;
	value_r->len = doc->len;
	snprintf(value_r->etag, sizeof(value_r->etag), "%s", doc->etag);
	value_r->expires_ms = 0;
	s3_doc_free(doc);
	return PERSIST_OK;
}

/* The current state of key by a HEAD: PERSIST_OK with S3's ETag and the
   core's ETag (read and hashed when the object lacks the metadata), or
   PERSIST_ENOTFOUND (without a message: the caller words it). */
static int head_object(struct s3_store *st, const char *key, const char *object,
		       char s3_etag[S3_ETAG_MAX], char etag[PERSIST_ETAG_MAX],
		       const char *what, struct persist_error *err)
{
	struct s3_request rq = { .method = "HEAD", .object = object, .no_body = true };
	struct s3_response resp;
	int ret = s3_http(st, &rq, &resp, err);

	if (ret != PERSIST_OK)
		return ret;
	if (resp.status == 404) {
		s3_response_free(&resp);
		/* HEAD has no body: is it the object or the bucket that is missing? */
		struct s3_request brq = { .method = "HEAD", .no_body = true };

		ret = s3_http(st, &brq, &resp, err);
		if (ret != PERSIST_OK)
			return ret;
		ret = resp.status == 200 ? PERSIST_ENOTFOUND : s3_reply_error(st, what, &resp, err);
		s3_response_free(&resp);
		return ret;
	}
	if (resp.status != 200) {
		ret = s3_reply_error(st, what, &resp, err);
		s3_response_free(&resp);
		return ret;
	}
	snprintf(s3_etag, S3_ETAG_MAX, "%s", resp.s3_etag);
	snprintf(etag, PERSIST_ETAG_MAX, "%s", resp.meta_etag);
	s3_response_free(&resp);
	if (etag[0] == '\0') {
		struct s3_doc *doc;

		ret = s3_fetch(st, key, &doc, err);
		if (ret != PERSIST_OK)
			return ret;
		snprintf(etag, PERSIST_ETAG_MAX, "%s", doc->etag);
		snprintf(s3_etag, S3_ETAG_MAX, "%s", doc->s3_etag);
		s3_doc_free(doc);
	}
	return PERSIST_OK;
}

/* set: PUT the bytes (see the top of the file for if-match). */
int s3_config_set(void *store, const char *key, const void *data, size_t len,
		  const struct persist_write_opts *opts, char etag_r[PERSIST_ETAG_MAX],
		  struct persist_error *err)
{
	struct s3_store *st = store;
	const struct persist_host *host = st->host;
	char etag[PERSIST_ETAG_MAX], cur_s3[S3_ETAG_MAX] = "", cur[PERSIST_ETAG_MAX];
	char what[PERSIST_KEY_MAX + 32];
	const char *if_match;
	int64_t ttl_ms;
	struct s3_response resp;
	struct s3_doc *doc;
	char *object;
	int ret;

	pc_write_opts(opts, &if_match, &ttl_ms);
	if (ttl_ms > 0)
		return host->error(err, PERSIST_ENOTSUP, 0, "documents with a TTL are not "
				   "supported\nThe s3 provider keeps a document until it is "
				   "deleted.");
	ret = object_of(st, key, &object, err);
	if (ret != PERSIST_OK)
		return ret;
	snprintf(what, sizeof(what), "set of \"%s\"", key);
	host->etag(data, len, etag);
	if (if_match != NULL) {
		ret = head_object(st, key, object, cur_s3, cur, what, err);
		if (ret == PERSIST_ENOTFOUND)
			ret = host->error(err, PERSIST_ECONFLICT, 0,
					  "document \"%s\" does not exist\nif-match %s cannot "
					  "match an absent document.", key, if_match);
		else if (ret == PERSIST_OK && strcmp(cur, if_match) != 0)
			ret = host->error(err, PERSIST_ECONFLICT, 0,
					  "ETag conflict on document \"%s\"\nIts ETag is %s, "
					  "not %s.", key, cur, if_match);
		if (ret != PERSIST_OK) {
			free(object);
			return ret;
		}
	}
	struct s3_request rq = {
		.method = "PUT", .object = object, .body = data, .len = len,
		.meta_etag = etag,
		.if_match = if_match != NULL && st->conf.conditional_writes && cur_s3[0] != '\0' ?
			    cur_s3 : NULL,
	};
	ret = s3_http(st, &rq, &resp, err);
	if (ret != PERSIST_OK) {
		cache_drop(st, key);
		free(object);
		return ret;
	}
	if (resp.status == 412)
		ret = host->error(err, PERSIST_ECONFLICT, 0, "ETag conflict on document "
				  "\"%s\"\nIt changed after if-match %s was checked "
				  "(412 Precondition Failed).", key, if_match);
	else if (resp.status != 200)
		ret = s3_reply_error(st, what, &resp, err);
	if (ret == PERSIST_OK) {
		doc = doc_new(data, len, resp.s3_etag, etag);
		if (doc != NULL) {
			cache_put(st, key, doc);
			s3_doc_free(doc);
		} else {
			cache_drop(st, key);
		}
		s3_poll_own_write(st, key, resp.s3_etag, etag);
		memcpy(etag_r, etag, PERSIST_ETAG_MAX);
	} else {
		cache_drop(st, key);
	}
	s3_response_free(&resp);
	free(object);
	return ret;
}

/* del: HEAD (absent: not found; if-match checked), then DELETE. */
int s3_config_del(void *store, const char *key, const char *if_match,
		  struct persist_error *err)
{
	struct s3_store *st = store;
	const struct persist_host *host = st->host;
	char cur_s3[S3_ETAG_MAX] = "", cur[PERSIST_ETAG_MAX] = "";
	char what[PERSIST_KEY_MAX + 32];
	struct s3_response resp;
	char *object;
	int ret;

	ret = object_of(st, key, &object, err);
	if (ret != PERSIST_OK)
		return ret;
	snprintf(what, sizeof(what), "delete of \"%s\"", key);
	ret = head_object(st, key, object, cur_s3, cur, what, err);
	if (ret == PERSIST_ENOTFOUND)
		ret = host->error(err, PERSIST_ENOTFOUND, 0, "document \"%s\" not found\n"
				  "There is no object %s in bucket \"%s\".", key, object,
				  st->conf.bucket);
	else if (ret == PERSIST_OK && if_match != NULL && strcmp(cur, if_match) != 0)
		ret = host->error(err, PERSIST_ECONFLICT, 0, "ETag conflict on document "
				  "\"%s\"\nIts ETag is %s, not %s.", key, cur, if_match);
	if (ret != PERSIST_OK) {
		if (ret == PERSIST_ENOTFOUND)
			cache_drop(st, key);
		free(object);
		return ret;
	}
	struct s3_request rq = {
		.method = "DELETE", .object = object,
		.if_match = if_match != NULL && st->conf.conditional_writes && cur_s3[0] != '\0' ?
			    cur_s3 : NULL,
	};
	ret = s3_http(st, &rq, &resp, err);
	if (ret == PERSIST_OK) {
		if (resp.status == 412)
			ret = host->error(err, PERSIST_ECONFLICT, 0, "ETag conflict on "
					  "document \"%s\"\nIt changed after if-match %s was "
					  "checked (412 Precondition Failed).", key, if_match);
		else if (resp.status == 404)
			ret = host->error(err, PERSIST_ENOTFOUND, 0, "document \"%s\" not "
					  "found\nIt was deleted by another writer.", key);
		else if (resp.status != 204 && resp.status != 200)
			ret = s3_reply_error(st, what, &resp, err);
		s3_response_free(&resp);
	}
	cache_drop(st, key);
	if (ret == PERSIST_OK)
		s3_poll_own_write(st, key, NULL, NULL);
	free(object);
	return ret;
}

/* The state of one listing, for the page parser's callback. */
struct list_walk {
	struct s3_store *st;
	s3_key_fn *fn;
	void *ctx;
	bool stopped;
};

/* One object of a page: the key it stands for to the walker's fn. */
static int list_object(void *ctx, const char *object, const char *s3_etag)
{
	struct list_walk *w = ctx;
	const char *op = w->st->conf.object_prefix;
	size_t plen = strlen(op), len = strlen(object);
	char *key;
	int ret;

	if (len < plen + 6 || strncmp(object, op, plen) != 0 ||
	    strcmp(object + len - 5, ".json") != 0)
		return 0;               /* not a document of this prefix */
	key = pc_memdup0(object + plen, len - plen - 5);
	if (key == NULL)
		return 0;
	if (pc_key_check(key, PERSIST_KEY_MAX, NULL, NULL) != PC_KEY_OK) {
		free(key);
		return 0;               /* a name the core could not ask for */
	}
	ret = w->fn(w->ctx, key, s3_etag);
	free(key);
	if (ret != 0)
		w->stopped = true;
	return ret != 0 ? 1 : 0;
}

/* Every key under the prefix, page by page (ListObjectsV2 with
   continuation tokens). */
int s3_list_keys(struct s3_store *st, s3_key_fn *fn, void *ctx,
		 struct persist_error *err)
{
	struct list_walk w = { st, fn, ctx, false };
	char *token = NULL;
	int ret = PERSIST_OK, pages = 0;

	do {
		char *query = NULL, *next = NULL, why[200];
		size_t qlen = 0;
		FILE *f = open_memstream(&query, &qlen);
		struct s3_response resp;
		int ok;

		if (f == NULL)
			return st->host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
		ok = 0;
		if (token != NULL)
			ok |= fputs("continuation-token=", f) < 0 ||
			      s3_uri_encode(f, token, strlen(token), false) < 0 || fputc('&', f) == EOF;
		ok |= fprintf(f, "list-type=2&max-keys=%d&prefix=", S3_LIST_PAGE) < 0 ||
		      s3_uri_encode(f, st->conf.object_prefix, strlen(st->conf.object_prefix),
				    false) < 0;
		if (fclose(f) != 0 || ok != 0) {
			free(query);
			ret = st->host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
			break;
		}
		struct s3_request rq = { .method = "GET", .query = query };

		ret = s3_http(st, &rq, &resp, err);
		free(query);
		if (ret != PERSIST_OK)
			break;
		pages++;
		if (resp.status != 200) {
			ret = s3_reply_error(st, "list", &resp, err);
			s3_response_free(&resp);
			break;
		}
		if (s3_xml_list(resp.body, resp.len, list_object, &w, &next, why,
				sizeof(why)) < 0) {
			ret = st->host->error(err, PERSIST_EIO, 0, "malformed listing from %s\n"
					      "Page %d of the listing of bucket \"%s\": %s.",
					      st->conf.origin, pages, st->conf.bucket, why);
			s3_response_free(&resp);
			break;
		}
		s3_response_free(&resp);
		free(token);
		token = w.stopped ? (free(next), NULL) : next;
	} while (token != NULL);
	free(token);
	return ret;
}

/* The listing's state for list(). */
struct emit_walk {
	struct s3_store *st;
	persist_emit_fn *emit;
	void *ctx;
};

/* One key to the core's emit, with the core's ETag when the cache knows
   the object's current version. */
static int emit_key(void *ctx, const char *key, const char *s3_etag)
{
	struct emit_walk *w = ctx;
	char etag[PERSIST_ETAG_MAX] = "";
	struct persist_item item = { .size = sizeof(item), .key = key };
	struct s3_doc *doc;

	pthread_mutex_lock(&w->st->lock);
	doc = pc_map_get(w->st->cache, key);
	if (doc != NULL && s3_etag[0] != '\0' && strcmp(doc->s3_etag, s3_etag) == 0)
		snprintf(etag, sizeof(etag), "%s", doc->etag);
	pthread_mutex_unlock(&w->st->lock);
	item.etag = etag[0] != '\0' ? etag : NULL;
	return w->emit(w->ctx, &item);
}

/* list: every key under the prefix. */
int s3_config_list(void *store, persist_emit_fn *emit, void *ctx,
		   struct persist_error *err)
{
	struct emit_walk w = { store, emit, ctx };

	return s3_list_keys(store, emit_key, &w, err);
}
