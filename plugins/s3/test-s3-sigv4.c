/*
 * plugins/s3/test-s3-sigv4.c - the SigV4 signer against every published
 * test vector of both suites: the classic one (<case>.req, .creq, .sts,
 * .authz) and the newer one (context.json, request.txt and the header-*
 * files).  Canonical request, string to sign and signature must match
 * byte for byte.  The classic suite's normalize-path cases and the newer
 * suite's "normalize": true cases are signed with path normalisation;
 * every other case the S3 way (encoded once, never normalised).  Also: the
 * signing key is derived once per day, and S3 paths keep "//" and "..".
 *
 * The vectors: $S3_SIGV4_VECTORS, else the copy in the tree
 * (plugins/s3/testdata/sigv4: data files of two Apache-2.0 test suites,
 * their LICENSE, NOTICE and origin in its README.md).  Not finding them
 * is a failure, never a skip.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include "s3-sigv4.h"
#include "cunit-suite.h"

#define MAX_HEADERS 32
/* 2015-08-30T12:36:00Z, the time of every vector. */
#define VECTOR_TIME ((time_t)1440938160)
#define VECTOR_AK "AKIDEXAMPLE"
#define VECTOR_SK "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

static char vectors[4096];

/* A parsed raw request. */
struct raw_request {
	char *text;                     /* the file, cut in place */
	char *method, *path, *query;
	struct s3_sigv4_header headers[MAX_HEADERS];
	char *values[MAX_HEADERS];      /* malloc()ed, continuation lines joined */
	size_t n_headers;
	const char *body;
	size_t body_len;
};

/* The whole file at path (malloc()ed, NUL-terminated), or NULL. */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf != NULL)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Parse "METHOD TARGET HTTP/1.1\nName:value\n...\n\nbody". */
static int parse_request(const char *path, struct raw_request *rq)
{
	char *line, *next, *target, *http;

	memset(rq, 0, sizeof(*rq));
	rq->text = read_text(path);
	if (rq->text == NULL)
		return -1;
	line = rq->text;
	next = strchr(line, '\n');
	if (next != NULL)
		*next++ = '\0';
	rq->method = line;
	target = strchr(line, ' ');
	http = strstr(line, " HTTP/");
	if (target == NULL || http == NULL || http < target)
		return -1;
	*target++ = '\0';
	*http = '\0';
	rq->path = target;
	rq->query = strchr(target, '?');
	if (rq->query != NULL)
		*rq->query++ = '\0';
	while (next != NULL && *next != '\0') {
		line = next;
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (*line == '\0') {            /* the blank line: the body follows */
			rq->body = next != NULL ? next : "";
			rq->body_len = strlen(rq->body);
			break;
		}
		if ((*line == ' ' || *line == '\t') && rq->n_headers > 0) {
			/* a continuation line */
			char **v = &rq->values[rq->n_headers - 1];
			size_t len = strlen(*v) + strlen(line) + 2;
			char *joined = malloc(len);

			if (joined == NULL)
				return -1;
			snprintf(joined, len, "%s %s", *v, line);
			free(*v);
			*v = joined;
			rq->headers[rq->n_headers - 1].value = joined;
			continue;
		}
		char *colon = strchr(line, ':');

		if (colon == NULL || rq->n_headers == MAX_HEADERS)
			return -1;
		*colon = '\0';
		rq->values[rq->n_headers] = strdup(colon + 1);
		rq->headers[rq->n_headers].name = line;
		rq->headers[rq->n_headers].value = rq->values[rq->n_headers];
		rq->n_headers++;
	}
	return 0;
}

static void free_request(struct raw_request *rq)
{
	for (size_t i = 0; i < rq->n_headers; i++)
		free(rq->values[i]);
	free(rq->text);
}

/* Compare a result with the expected file; print both when they differ. */
static int expect_file(const char *what, const char *got, const char *file,
		       const char *case_name)
{
	char *want = read_text(file);
	size_t wl;
	int ok;

	if (want == NULL) {
		fprintf(stderr, "%s: cannot read %s\n", case_name, file);
		return 0;
	}
	wl = strlen(want);
	while (wl > 0 && (want[wl - 1] == '\n' || want[wl - 1] == '\r'))
		want[--wl] = '\0';
	ok = got != NULL && strcmp(got, want) == 0;
	if (!ok)
		fprintf(stderr, "%s: %s differs\n--- expected\n%s\n--- got\n%s\n---\n",
			case_name, what, want, got != NULL ? got : "(null)");
	free(want);
	return ok;
}

/* Sign the request of one case; 0 or -1. */
static int sign_case(const struct raw_request *rq, const struct s3_sigv4_creds *creds,
		     bool normalize, bool sign_body, struct s3_sigv4_result *r)
{
	char body_hash[S3_SHA256_HEX];
	struct s3_sigv4_request req = {
		.method = rq->method, .path = rq->path, .query = rq->query,
		.headers = rq->headers, .n_headers = rq->n_headers,
		.normalize_path = normalize, .content_sha256_header = sign_body,
	};

	if (s3_sha256_hex(rq->body != NULL ? rq->body : "", rq->body_len, body_hash) < 0)
		return -1;
	req.payload_sha256 = body_hash;
	return s3_sigv4_sign(creds, "us-east-1", "service", VECTOR_TIME, &req, NULL, r);
}

/* One case of the classic suite in dir (files dir/NAME.*); true if it
   passed. */
static bool classic_case(const char *dir, const char *name, bool normalize)
{
	char path[4096];
	struct raw_request rq;
	struct s3_sigv4_result r;
	struct s3_sigv4_creds creds = { VECTOR_AK, VECTOR_SK, NULL };
	char token[1024] = "", *creq, *t;
	bool ok;

	/* a case signed with a session token that its .req does not carry
	   names the token in its canonical request only */
	snprintf(path, sizeof(path), "%s/%s.creq", dir, name);
	creq = read_text(path);
	if (creq != NULL && (t = strstr(creq, "\nx-amz-security-token:")) != NULL) {
		t += strlen("\nx-amz-security-token:");
		snprintf(token, sizeof(token), "%.*s", (int)strcspn(t, "\n"), t);
		creds.token = token;
	}
	free(creq);
	snprintf(path, sizeof(path), "%s/%s.req", dir, name);
	if (parse_request(path, &rq) < 0 || sign_case(&rq, &creds, normalize, false, &r) < 0) {
		fprintf(stderr, "%s: cannot parse or sign %s\n", name, path);
		free_request(&rq);
		return false;
	}
	snprintf(path, sizeof(path), "%s/%s.creq", dir, name);
	ok = expect_file("canonical request", r.canonical_request, path, name);
	snprintf(path, sizeof(path), "%s/%s.sts", dir, name);
	ok = expect_file("string to sign", r.string_to_sign, path, name) && ok;
	snprintf(path, sizeof(path), "%s/%s.authz", dir, name);
	ok = expect_file("authorization", r.authorization, path, name) && ok;
	s3_sigv4_result_free(&r);
	free_request(&rq);
	return ok;
}

/* True when path is a directory. */
static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Every case under dir (a case is a directory holding NAME.req; others
   are walked into); counts in *run and *passed. */
static void classic_walk(const char *dir, bool normalize, int *run, int *passed)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);

	CU_ASSERT_FATAL(n >= 0);
	for (int i = 0; i < n; i++) {
		char sub[4096], req[4200];
		const char *name = ents[i]->d_name;

		if (name[0] == '.') {
			free(ents[i]);
			continue;
		}
		snprintf(sub, sizeof(sub), "%s/%s", dir, name);
		snprintf(req, sizeof(req), "%s/%s.req", sub, name);
		if (is_dir(sub)) {
			struct stat st;

			if (stat(req, &st) == 0) {
				(*run)++;
				if (classic_case(sub, name, normalize))
					(*passed)++;
			} else {
				classic_walk(sub, normalize || strcmp(name, "normalize-path") == 0,
					     run, passed);
			}
		}
		free(ents[i]);
	}
	free(ents);
}

/* The classic suite: all 34 cases. */
static void test_classic_suite(void)
{
	char dir[4200];
	int run = 0, passed = 0;

	snprintf(dir, sizeof(dir), "%s/aws4_testsuite", vectors);
	classic_walk(dir, false, &run, &passed);
	printf("\n  classic suite: %d of %d cases pass\n", passed, run);
	CU_ASSERT_EQUAL(run, 34);
	CU_ASSERT_EQUAL(passed, run);
}

/* One case of the newer suite; true if it passed. */
static bool v4_case(const char *dir, const char *name)
{
	char path[4400];
	struct raw_request rq;
	struct s3_sigv4_result r;
	struct json_object *ctx, *c, *v;
	struct s3_sigv4_creds creds = { NULL, NULL, NULL };
	bool normalize = true, sign_body = false, omit_token = false, ok;

	snprintf(path, sizeof(path), "%s/context.json", dir);
	ctx = json_object_from_file(path);
	if (ctx == NULL || !json_object_object_get_ex(ctx, "credentials", &c)) {
		fprintf(stderr, "%s: cannot read %s\n", name, path);
		json_object_put(ctx);
		return false;
	}
	if (json_object_object_get_ex(c, "access_key_id", &v))
		creds.access_key = json_object_get_string(v);
	if (json_object_object_get_ex(c, "secret_access_key", &v))
		creds.secret_key = json_object_get_string(v);
	if (json_object_object_get_ex(c, "token", &v))
		creds.token = json_object_get_string(v);
	if (json_object_object_get_ex(ctx, "normalize", &v))
		normalize = json_object_get_boolean(v);
	if (json_object_object_get_ex(ctx, "sign_body", &v))
		sign_body = json_object_get_boolean(v);
	if (json_object_object_get_ex(ctx, "omit_session_token", &v))
		omit_token = json_object_get_boolean(v);
	snprintf(path, sizeof(path), "%s/request.txt", dir);
	if (creds.access_key == NULL || creds.secret_key == NULL ||
	    parse_request(path, &rq) < 0) {
		fprintf(stderr, "%s: cannot parse %s\n", name, path);
		json_object_put(ctx);
		free_request(&rq);
		return false;
	}
	{
		char body_hash[S3_SHA256_HEX];
		struct s3_sigv4_request req = {
			.method = rq.method, .path = rq.path, .query = rq.query,
			.headers = rq.headers, .n_headers = rq.n_headers,
			.normalize_path = normalize, .content_sha256_header = sign_body,
			.token_unsigned = omit_token, .payload_sha256 = body_hash,
		};

		if (s3_sha256_hex(rq.body != NULL ? rq.body : "", rq.body_len, body_hash) < 0 ||
		    s3_sigv4_sign(&creds, "us-east-1", "service", VECTOR_TIME, &req, NULL,
				  &r) < 0) {
			json_object_put(ctx);
			free_request(&rq);
			return false;
		}
	}
	snprintf(path, sizeof(path), "%s/header-canonical-request.txt", dir);
	ok = expect_file("canonical request", r.canonical_request, path, name);
	snprintf(path, sizeof(path), "%s/header-string-to-sign.txt", dir);
	ok = expect_file("string to sign", r.string_to_sign, path, name) && ok;
	snprintf(path, sizeof(path), "%s/header-signature.txt", dir);
	ok = expect_file("signature", r.signature, path, name) && ok;
	s3_sigv4_result_free(&r);
	free_request(&rq);
	json_object_put(ctx);
	return ok;
}

/* The newer suite: all 38 cases. */
static void test_v4_suite(void)
{
	char dir[4200];
	struct dirent **ents;
	int n, run = 0, passed = 0;

	snprintf(dir, sizeof(dir), "%s/aws-c-auth-v4", vectors);
	n = scandir(dir, &ents, NULL, alphasort);
	CU_ASSERT_FATAL(n >= 0);
	for (int i = 0; i < n; i++) {
		char sub[4400];

		snprintf(sub, sizeof(sub), "%s/%s", dir, ents[i]->d_name);
		if (ents[i]->d_name[0] != '.' && is_dir(sub)) {
			run++;
			if (v4_case(sub, ents[i]->d_name))
				passed++;
		}
		free(ents[i]);
	}
	free(ents);
	printf("\n  aws-c-auth v4 suite: %d of %d cases pass\n", passed, run);
	CU_ASSERT_EQUAL(run, 38);
	CU_ASSERT_EQUAL(passed, run);
}

/* S3's paths: "//", "." and ".." and every special byte stay as given,
   encoded once; the query's valueless parameter is written "name=". */
static void test_s3_paths(void)
{
	struct s3_sigv4_creds creds = { VECTOR_AK, VECTOR_SK, NULL };
	struct s3_sigv4_header h[] = { { "Host", "127.0.0.1:9000" } };
	struct s3_sigv4_request req = {
		.method = "GET", .path = "/bucket/a//b/../c d+e=f$g%h~i\xc3\xa9.json",
		.query = "list-type=2&delimiter&prefix=a%2Fb", .headers = h, .n_headers = 1,
		.content_sha256_header = true,
	};
	struct s3_sigv4_result r;

	CU_ASSERT_FATAL(s3_sigv4_sign(&creds, "eu-west-1", "s3", VECTOR_TIME, &req, NULL,
				      &r) == 0);
	CU_ASSERT_STRING_EQUAL(r.canonical_request,
			       "GET\n/bucket/a//b/../c%20d%2Be%3Df%24g%25h~i%C3%A9.json\n"
			       "delimiter=&list-type=2&prefix=a%2Fb\n"
			       "host:127.0.0.1:9000\n"
			       "x-amz-content-sha256:" S3_EMPTY_SHA256 "\n"
			       "x-amz-date:20150830T123600Z\n\n"
			       "host;x-amz-content-sha256;x-amz-date\n" S3_EMPTY_SHA256);
	CU_ASSERT_STRING_EQUAL(r.content_sha256, S3_EMPTY_SHA256);
	CU_ASSERT(strstr(r.authorization, "Credential=AKIDEXAMPLE/20150830/eu-west-1/s3/"
			 "aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
			 "Signature=") != NULL);
	s3_sigv4_result_free(&r);
}

/* The signing key is derived once per day (and region), then cached. */
static void test_key_cache(void)
{
	struct s3_sigv4_creds creds = { VECTOR_AK, VECTOR_SK, NULL };
	struct s3_sigv4_header h[] = { { "Host", "example.amazonaws.com" } };
	struct s3_sigv4_request req = { .method = "GET", .path = "/", .headers = h,
					.n_headers = 1 };
	struct s3_sigv4_key_cache cache;
	struct s3_sigv4_result r1, r2;

	s3_sigv4_key_cache_init(&cache);
	CU_ASSERT_FATAL(s3_sigv4_sign(&creds, "us-east-1", "service", VECTOR_TIME, &req,
				      &cache, &r1) == 0);
	CU_ASSERT_FATAL(s3_sigv4_sign(&creds, "us-east-1", "service", VECTOR_TIME + 3600,
				      &req, &cache, &r2) == 0);
	CU_ASSERT_EQUAL(cache.computed, 1);
	s3_sigv4_result_free(&r2);
	/* the cached key signs like a fresh one */
	CU_ASSERT_FATAL(s3_sigv4_sign(&creds, "us-east-1", "service", VECTOR_TIME, &req,
				      NULL, &r2) == 0);
	CU_ASSERT_STRING_EQUAL(r1.signature, r2.signature);
	s3_sigv4_result_free(&r1);
	s3_sigv4_result_free(&r2);
	/* the next day derives a new key */
	CU_ASSERT_FATAL(s3_sigv4_sign(&creds, "us-east-1", "service", VECTOR_TIME + 86400,
				      &req, &cache, &r1) == 0);
	CU_ASSERT_EQUAL(cache.computed, 2);
	s3_sigv4_result_free(&r1);
	s3_sigv4_key_cache_deinit(&cache);
}

/* Find the vectors (see the top of the file). */
static int find_vectors(void)
{
	const char *env = getenv("S3_SIGV4_VECTORS");
	const char *src = getenv("abs_top_srcdir");
	const char *rel = "plugins/s3/testdata/sigv4";

	if (env != NULL && env[0] != '\0') {
		snprintf(vectors, sizeof(vectors), "%s", env);
		return is_dir(vectors) ? 0 : -1;
	}
	snprintf(vectors, sizeof(vectors), "%s/%s", src != NULL ? src : ".", rel);
	return is_dir(vectors) ? 0 : -1;
}

int main(void)
{
	static const struct t_case cases[] = {
		{ "classic suite (34 cases)", test_classic_suite },
		{ "aws-c-auth v4 suite (38 cases)", test_v4_suite },
		{ "S3 paths are not normalised", test_s3_paths },
		{ "signing key cached per day", test_key_cache },
		{ NULL, NULL }
	};

	if (find_vectors() < 0) {
		fprintf(stderr, "test-s3-sigv4: no SigV4 test vectors found: set "
			"S3_SIGV4_VECTORS or restore plugins/s3/testdata/sigv4 "
			"in the source tree\n");
		return 1;
	}
	return t_cunit_run("s3 sigv4", NULL, NULL, cases);
}
