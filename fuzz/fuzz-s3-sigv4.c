/*
 * fuzz/fuzz-s3-sigv4.c - fuzz target: the s3 provider's SigV4 signer and
 * its URI encoder (plugins/s3/s3-sigv4.c).  The input is a request in
 * lines: the method, the raw path, the query string, then headers as
 * "name:value" (at most 16).  Promises: signing answers 0 with a
 * canonical request that starts with the method line, a string to sign
 * and an Authorization value naming the access key, and a signature of 64
 * hex digits; the encoder writes only unreserved characters and %XX.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "fuzz.h"
#include "s3-sigv4.h"

#define MAX_HEADERS 16

/* The next line of *s (NUL-terminated in place), or NULL at the end. */
static char *next_line(char **s)
{
	char *line = *s, *nl;

	if (line == NULL)
		return NULL;
	nl = strchr(line, '\n');
	if (nl != NULL) {
		*nl = '\0';
		*s = nl + 1;
	} else {
		*s = NULL;
	}
	return line;
}

/* The encoder's output for s must be unreserved characters and %XX. */
static void check_encoding(const char *s)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	fuzz_assert(f != NULL);
	fuzz_assert(s3_uri_encode(f, s, strlen(s), true) == 0);
	fclose(f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c == '%') {
			fuzz_assert(i + 2 < len && isxdigit((unsigned char)out[i + 1]) &&
				    isxdigit((unsigned char)out[i + 2]));
			i += 2;
		} else {
			fuzz_assert(isalnum(c) || strchr("-._~/", c) != NULL);
		}
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct s3_sigv4_creds creds = {
		.access_key = "AKIDEXAMPLE",
		.secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
	};
	struct s3_sigv4_header headers[MAX_HEADERS];
	struct s3_sigv4_request req;
	struct s3_sigv4_result r;
	char *text, *rest, *method, *path, *query, *line;
	size_t n = 0;

	if (size > 8192)
		return 0;
	text = malloc(size + 1);
	fuzz_assert(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	rest = text;
	method = next_line(&rest);
	path = next_line(&rest);
	query = next_line(&rest);
	if (method == NULL || path == NULL || method[0] == '\0' || path[0] != '/') {
		free(text);
		return 0;
	}
	while (n < MAX_HEADERS && (line = next_line(&rest)) != NULL) {
		char *colon = strchr(line, ':');

		if (colon == NULL || colon == line)
			continue;
		*colon = '\0';
		headers[n].name = line;
		headers[n].value = colon + 1;
		n++;
	}
	check_encoding(path);
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path;
	req.query = query != NULL && query[0] != '\0' ? query : NULL;
	req.headers = headers;
	req.n_headers = n;
	req.content_sha256_header = true;
	memset(&r, 0, sizeof(r));
	fuzz_assert(s3_sigv4_sign(&creds, "us-east-1", "s3", 1440938160, &req, NULL, &r) == 0);
	fuzz_assert(r.canonical_request != NULL && r.string_to_sign != NULL &&
		    r.authorization != NULL);
	fuzz_assert(strncmp(r.canonical_request, method, strlen(method)) == 0 &&
		    r.canonical_request[strlen(method)] == '\n');
	fuzz_assert(strstr(r.authorization, "Credential=AKIDEXAMPLE/") != NULL);
	fuzz_assert(strlen(r.signature) == 64);
	for (size_t i = 0; i < 64; i++)
		fuzz_assert(isxdigit((unsigned char)r.signature[i]));
	s3_sigv4_result_free(&r);
	free(text);
	return 0;
}
