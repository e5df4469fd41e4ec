/*
 * bench/s3-bench.c - the persist side of the s3-revalidate area (see
 * bench/s3-bench.sh): a document of SIZE bytes is written once through
 * the s3 provider, read once (the provider keeps it), then read N times
 * more; each of those reads is a revalidation (GET with If-None-Match, a
 * 304 and no body).  The core's cache is off (cacheTTL 0) so that every
 * read reaches the provider.  Prints the latency of each timed read in
 * microseconds, one a line ("us N").
 *
 *     s3-bench SIZE N     (S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, bucket "bench")
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <persist/persist.h>

/* Monotonic clock in microseconds. */
static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	const char *endpoint = getenv("S3_ENDPOINT"), *ak = getenv("S3_ACCESS_KEY");
	const char *sk = getenv("S3_SECRET_KEY");
	struct persist_error err;
	persist *p = NULL;
	char json[2048], *doc, *data = NULL;
	long size, n;

	if (argc != 3 || endpoint == NULL || ak == NULL || sk == NULL) {
		fprintf(stderr, "usage: s3-bench SIZE N (with S3_ENDPOINT, S3_ACCESS_KEY, "
			"S3_SECRET_KEY set)\n");
		return 2;
	}
	size = atol(argv[1]);
	n = atol(argv[2]);
	if (size < 16 || n < 1)
		return 2;
	snprintf(json, sizeof(json),
		 "{\"persistence\":{\"configuration\":{\"provider\":\"s3\",\"config\":{"
		 "\"cacheTTL\":0,\"endpoint\":\"%s\",\"bucket\":\"bench\",\"accessKeyId\":\"%s\","
		 "\"secretAccessKey\":\"%s\",\"pollInterval\":0}},"
		 "\"state\":{\"provider\":\"memory\"},\"sessions\":{\"provider\":\"memory\"}}}",
		 endpoint, ak, sk);
	if (persist_open_json(json, NULL, &p, &err) != PERSIST_OK) {
		fprintf(stderr, "s3-bench: open: %s\n", err.msg);
		return 1;
	}
	/* a JSON string of size bytes */
	doc = malloc((size_t)size + 1);
	if (doc == NULL)
		return 1;
	doc[0] = '"';
	for (long i = 1; i < size - 1; i++)
		doc[i] = (char)('a' + i % 26);
	doc[size - 1] = '"';
	doc[size] = '\0';
	if (persist_config_set(p, "doc", doc, (size_t)size, NULL, 0, NULL, &err) != PERSIST_OK ||
	    persist_config_get(p, "doc", &data, NULL, NULL, &err) != PERSIST_OK) {
		fprintf(stderr, "s3-bench: write and first read: %s\n", err.msg);
		return 1;
	}
	persist_free(data);
	for (long i = 0; i < n; i++) {
		size_t len = 0;
		long long t0 = now_us();

		data = NULL;
		if (persist_config_get(p, "doc", &data, &len, NULL, &err) != PERSIST_OK ||
		    len != (size_t)size) {
			fprintf(stderr, "s3-bench: read %ld: %s\n", i, err.msg);
			return 1;
		}
		printf("us %lld\n", now_us() - t0);
		persist_free(data);
	}
	free(doc);
	persist_close(p, NULL);
	return 0;
}
