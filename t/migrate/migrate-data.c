/*
 * t/migrate/migrate-data.c - the data set of the persistctl migrate tests,
 * and a dump to compare stores with.
 *
 *   migrate-data fill CONFIG COUNTERS RECORDS DOCUMENTS
 *       write through the providers of CONFIG: COUNTERS counters spread
 *       over four "usage.*" collections, RECORDS log records in
 *       "feedback", DOCUMENTS configuration documents, and short links:
 *       keys with one-hour TTLs (and some without) holding JSON, plus a
 *       few values with bytes JSON does not allow; in batches
 *   migrate-data dump CONFIG [configuration|state]
 *       print every document (key, ETag) and every collection (each key,
 *       its value in hex and whether it has a TTL; each log record with
 *       its position from the first kept one) in a canonical order, so
 *       that two stores holding the same data print the same text
 *
 * Exit 0, or 1 with the error on stderr.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <persist/persist.h>

#define BATCH 500

/* Print err and return 1. */
static int fail(const char *what, const struct persist_error *err)
{
	fprintf(stderr, "migrate-data: %s: %s\n", what, err->msg);
	return 1;
}

/* Send ops[0..*n) and empty the batch. */
static int flush_ops(persist *p, struct persist_op *ops, size_t *n,
		     struct persist_error *err)
{
	int ret = *n > 0 ? persist_state_batch(p, ops, *n, err) : PERSIST_OK;

	*n = 0;
	return ret;
}

/* The fill mode (see the top of the file). */
static int fill(persist *p, long counters, long records, long documents)
{
	static char vals[BATCH][96];
	static char keys[BATCH][64];
	static const char binary[] = { 'x', '\0', '\n', (char)0xc3, (char)0x28, 'y' };
	struct persist_op ops[BATCH];
	struct persist_error err;
	size_t n = 0;

	for (long i = 0; i < counters; i++) {
		snprintf(keys[n], sizeof(keys[n]), "user%06ld", i);
		ops[n] = (struct persist_op){ .type = PERSIST_OP_INCR,
			.collection = i % 4 == 0 ? "usage.messages" : i % 4 == 1 ?
				"usage.tokens" : i % 4 == 2 ? "usage.feedback" : "usage.prompts",
			.key = keys[n], .delta = (i * 7919) % 100003 - 5000 };
		if (++n == BATCH && flush_ops(p, ops, &n, &err) != PERSIST_OK)
			return fail("counters", &err);
	}
	for (long i = 0; i < 300; i++) {
		snprintf(keys[n], sizeof(keys[n]), "l%05ld", i);
		snprintf(vals[n], sizeof(vals[n]),
			 "{\"url\":\"https://example.org/%ld\",\"usage\":%ld}", i, i % 13);
		ops[n] = (struct persist_op){ .type = PERSIST_OP_SET,
			.collection = "shortlinks", .key = keys[n], .value = vals[n],
			.len = strlen(vals[n]), .ttl_ms = i % 3 ? 3600 * 1000 : 0 };
		if (++n == BATCH && flush_ops(p, ops, &n, &err) != PERSIST_OK)
			return fail("short links", &err);
	}
	if (flush_ops(p, ops, &n, &err) != PERSIST_OK)
		return fail("short links", &err);
	for (int i = 0; i < 3; i++) {
		snprintf(keys[i], sizeof(keys[i]), "blob%d", i);
		if (persist_state_set(p, "blobs", keys[i], binary, sizeof(binary) - (size_t)i,
				      0, &err) != PERSIST_OK)
			return fail("binary values", &err);
	}
	for (long i = 0; i < records; i++) {
		snprintf(vals[n], sizeof(vals[n]),
			 "{\"n\":%ld,\"rating\":%ld,\"text\":\"r\\u00e9ponse %ld\"}",
			 i, i % 5 + 1, i * 31);
		ops[n] = (struct persist_op){ .type = PERSIST_OP_APPEND,
			.collection = "feedback", .value = vals[n], .len = strlen(vals[n]) };
		if (++n == BATCH && flush_ops(p, ops, &n, &err) != PERSIST_OK)
			return fail("log records", &err);
	}
	if (flush_ops(p, ops, &n, &err) != PERSIST_OK)
		return fail("log records", &err);
	for (long i = 0; i < documents; i++) {
		char key[64], doc[256];

		snprintf(key, sizeof(key), i % 2 ? "app-%02ld" : "model-%02ld", i);
		snprintf(doc, sizeof(doc),
			 "{\n  \"id\": %ld,\n  \"name\": \"item %ld\",\n  \"secret\": "
			 "\"${SECRET_%ld}\",\n  \"tags\": [\"a\", \"b\"]\n}\n", i, i, i);
		if (persist_config_set(p, key, doc, strlen(doc), NULL, 0, NULL,
				       &err) != PERSIST_OK)
			return fail(key, &err);
	}
	if (persist_state_flush(p, &err) != PERSIST_OK)
		return fail("flush", &err);
	return 0;
}

/* Print bytes as hex. */
static void print_hex(const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++)
		printf("%02x", (unsigned char)data[i]);
}

/* Dump the documents. */
static int dump_config(persist *p)
{
	struct persist_entry *keys = NULL;
	struct persist_error err;
	size_t n = 0;

	if (persist_config_list(p, &keys, &n, &err) != PERSIST_OK)
		return fail("config list", &err);
	for (size_t i = 0; i < n; i++) {
		char etag[PERSIST_ETAG_MAX];

		if (persist_config_get(p, keys[i].key, NULL, NULL, etag, &err) != PERSIST_OK)
			return fail(keys[i].key, &err);
		printf("document %s %s\n", keys[i].key, etag);
	}
	persist_items_free(keys, n);
	return 0;
}

/* Dump every collection. */
static int dump_state(persist *p)
{
	struct persist_entry *names = NULL;
	struct persist_error err;
	size_t n = 0;

	if (persist_state_collections(p, &names, &n, &err) != PERSIST_OK)
		return fail("collections", &err);
	for (size_t c = 0; c < n; c++) {
		struct persist_entry *e = NULL;
		size_t m = 0;
		uint64_t from = 0, next = 0, pos = 0;

		if (persist_state_scan(p, names[c].key, NULL, &e, &m, &err) != PERSIST_OK)
			return fail(names[c].key, &err);
		for (size_t i = 0; i < m; i++) {
			printf("key %s %s ", names[c].key, e[i].key);
			print_hex(e[i].value, e[i].len);
			printf(" %s\n", e[i].expires_ms ? "ttl" : "-");
		}
		persist_items_free(e, m);
		for (;;) {
			if (persist_state_read_log(p, names[c].key, from, 5000, &e, &m,
						   &next, &err) != PERSIST_OK)
				return fail(names[c].key, &err);
			for (size_t i = 0; i < m; i++)
				printf("record %s %" PRIu64 " %s\n", names[c].key, pos++,
				       e[i].value);
			persist_items_free(e, m);
			if (m == 0)
				break;
			from = next;
		}
	}
	persist_items_free(names, n);
	return 0;
}

int main(int argc, char **argv)
{
	struct persist_options opts = { .size = sizeof(opts) };
	struct persist_error err;
	persist *p = NULL;
	int ret = 1;

	if (argc < 3 || (strcmp(argv[1], "fill") == 0 && argc != 6) ||
	    (strcmp(argv[1], "dump") == 0 && argc > 4)) {
		fprintf(stderr, "usage: migrate-data fill CONFIG COUNTERS RECORDS DOCUMENTS\n"
			"       migrate-data dump CONFIG [configuration|state]\n");
		return 2;
	}
	/* only the kinds asked for: a file may configure one kind alone */
	opts.kinds = PERSIST_KIND_BIT(PERSIST_KIND_CONFIG) |
		PERSIST_KIND_BIT(PERSIST_KIND_STATE);
	if (argc == 4 && strcmp(argv[3], "state") == 0)
		opts.kinds = PERSIST_KIND_BIT(PERSIST_KIND_STATE);
	else if (argc == 4)
		opts.kinds = PERSIST_KIND_BIT(PERSIST_KIND_CONFIG);
	if (persist_open_file(argv[2], &opts, &p, &err) != PERSIST_OK)
		return fail(argv[2], &err);
	if (strcmp(argv[1], "fill") == 0) {
		ret = fill(p, atol(argv[3]), atol(argv[4]), atol(argv[5]));
	} else {
		ret = 0;
		if (argc < 4 || strcmp(argv[3], "state") != 0)
			ret = dump_config(p);
		if (ret == 0 && (argc < 4 || strcmp(argv[3], "configuration") != 0))
			ret = dump_state(p);
	}
	if (persist_close(p, &err) != PERSIST_OK && ret == 0)
		ret = fail("close", &err);
	return ret;
}
