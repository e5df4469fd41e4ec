/*
 * tools/migrate-verify.c - the verification of the state after a copy,
 * and the two listings every phase reads a side with.  Each side's
 * collections are summed up independently: the number of keys, of
 * counters and of log records, a SHA-256 over the sorted key/value pairs
 * and one over the records in order (their bytes, not their numbers: a
 * log copied from a trimmed source is numbered from 0 on the target).
 * Then the summaries are compared name by name and every mismatch is a
 * difference of the report.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "migrate-private.h"

/* What one side holds in one collection. */
struct coll_sum {
	const char *name;
	uint64_t keys, counters, records;
	unsigned char key_sha[32], log_sha[32];
};

/* Every live key of a collection on one side (see the header). */
int migrate_scan(persist *p, const char *side, const char *collection,
		 struct persist_entry **keys_r, size_t *n_r,
		 struct persist_error *err)
{
	int ret = persist_state_scan(p, collection, NULL, keys_r, n_r, err);

	if (ret != PERSIST_OK)
		return migrate_wrap(err, ret,
				    "cannot read the keys of collection \"%s\" in the %s",
				    collection, side);
	return PERSIST_OK;
}

/* The collection names of one side (see the header). */
int migrate_collections(persist *p, const char *side,
			struct persist_entry **names_r, size_t *n_r,
			struct persist_error *err)
{
	int ret = persist_state_collections(p, names_r, n_r, err);

	if (ret != PERSIST_OK)
		return migrate_wrap(err, ret, "cannot list the collections of the %s",
				    side);
	return PERSIST_OK;
}

/* Feed a length and the bytes to a digest (lengths keep the pairs apart). */
static void digest_bytes(EVP_MD_CTX *md, const void *data, size_t len)
{
	uint64_t n = len;

	EVP_DigestUpdate(md, &n, sizeof(n));
	if (len > 0)
		EVP_DigestUpdate(md, data, len);
}

/* Keys, counters and the key checksum of a collection. */
static int sum_keys(persist *p, const char *side, struct coll_sum *s,
		    EVP_MD_CTX *md, struct persist_error *err)
{
	struct persist_entry *keys = NULL;
	size_t n = 0;
	int ret;

	if ((ret = migrate_scan(p, side, s->name, &keys, &n, err)) != PERSIST_OK)
		return ret;
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (size_t i = 0; i < n; i++) {
		int64_t v;

		if (persist_parse_counter(keys[i].value, keys[i].len, &v) == 0)
			s->counters++;
		else
			s->keys++;
		digest_bytes(md, keys[i].key, strlen(keys[i].key));
		digest_bytes(md, keys[i].value, keys[i].len);
	}
	EVP_DigestFinal_ex(md, s->key_sha, NULL);
	persist_items_free(keys, n);
	return PERSIST_OK;
}

/* Records and the log checksum of a collection, from its first kept record. */
static int sum_log(persist *p, const char *side, struct coll_sum *s,
		   EVP_MD_CTX *md, struct persist_error *err)
{
	uint64_t from = 0, next = 0;
	int ret;

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (;;) {
		struct persist_entry *recs = NULL;
		size_t n = 0;

		ret = persist_state_read_log(p, s->name, from, MIGRATE_LOG_PAGE,
					     &recs, &n, &next, err);
		if (ret == PERSIST_ENOTSUP)
			break;   /* a provider without logs: none */
		if (ret != PERSIST_OK)
			return migrate_wrap(err, ret,
					    "cannot read the log of collection \"%s\" in the %s",
					    s->name, side);
		for (size_t i = 0; i < n; i++)
			digest_bytes(md, recs[i].value, recs[i].len);
		s->records += n;
		persist_items_free(recs, n);
		if (n == 0 || next <= from)
			break;
		from = next;
	}
	EVP_DigestFinal_ex(md, s->log_sha, NULL);
	return PERSIST_OK;
}

/* Sum up every collection of one side. */
static int sum_side(struct migration *m, persist *p, const char *side,
		    struct persist_entry **names_r, struct coll_sum **sums_r,
		    size_t *n_r, struct persist_error *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct coll_sum *sums = NULL;
	size_t n = 0;
	int ret;

	if (md == NULL)
		return migrate_error(err, PERSIST_ENOMEM, "out of memory");
	ret = migrate_collections(p, side, names_r, &n, err);
	if (ret == PERSIST_OK && (sums = calloc(n > 0 ? n : 1, sizeof(*sums))) == NULL)
		ret = migrate_error(err, PERSIST_ENOMEM, "out of memory");
	for (size_t i = 0; ret == PERSIST_OK && i < n; i++) {
		sums[i].name = (*names_r)[i].key;
		ret = sum_keys(p, side, &sums[i], md, err);
		if (ret == PERSIST_OK)
			ret = sum_log(p, side, &sums[i], md, err);
		m->colls_done++;
		migrate_progress(m, "verifying");
	}
	EVP_MD_CTX_free(md);
	if (ret != PERSIST_OK) {
		free(sums);
		if (ret != PERSIST_OK && *names_r != NULL)
			persist_items_free(*names_r, n);
		*names_r = NULL;
		return ret;
	}
	*sums_r = sums;
	*n_r = n;
	return PERSIST_OK;
}

/* Record how one collection differs between the sides (b NULL: only in
   the source; a NULL: only in the target). */
static void compare_sums(struct migration *m, const struct coll_sum *a,
			 const struct coll_sum *b)
{
	if (b == NULL) {
		migrate_diff(m, MIGRATE_DIFF_VERIFY,
			     "collection \"%s\": %" PRIu64 " keys, %" PRIu64 " counters and %"
			     PRIu64 " records in the source, absent from the target",
			     a->name, a->keys, a->counters, a->records);
		return;
	}
	if (a == NULL) {
		migrate_diff(m, MIGRATE_DIFF_VERIFY,
			     "collection \"%s\": only in the target (%" PRIu64 " keys, %"
			     PRIu64 " counters, %" PRIu64 " records)",
			     b->name, b->keys, b->counters, b->records);
		return;
	}
	if (a->keys != b->keys || a->counters != b->counters)
		migrate_diff(m, MIGRATE_DIFF_VERIFY,
			     "collection \"%s\": %" PRIu64 " keys and %" PRIu64 " counters in "
			     "the source, %" PRIu64 " and %" PRIu64 " in the target",
			     a->name, a->keys, a->counters, b->keys, b->counters);
	else if (memcmp(a->key_sha, b->key_sha, sizeof(a->key_sha)) != 0)
		migrate_diff(m, MIGRATE_DIFF_VERIFY,
			     "collection \"%s\": the keys' checksums differ (same counts, "
			     "other values)", a->name);
	if (a->records != b->records)
		migrate_diff(m, MIGRATE_DIFF_VERIFY,
			     "collection \"%s\": %" PRIu64 " log records in the source, %"
			     PRIu64 " in the target", a->name, a->records, b->records);
	else if (memcmp(a->log_sha, b->log_sha, sizeof(a->log_sha)) != 0)
		migrate_diff(m, MIGRATE_DIFF_VERIFY,
			     "collection \"%s\": the logs' checksums differ (same count, "
			     "other records)", a->name);
}

/* Verify the state of both sides (see the header). */
int migrate_state_verify(struct migration *m, struct persist_error *err)
{
	struct persist_entry *names_a = NULL, *names_b = NULL;
	struct coll_sum *a = NULL, *b = NULL;
	size_t na = 0, nb = 0, i = 0, j = 0;
	int ret;

	m->colls_done = 0;
	ret = sum_side(m, m->from, "source", &names_a, &a, &na, err);
	if (ret == PERSIST_OK)
		ret = sum_side(m, m->to, "target", &names_b, &b, &nb, err);
	while (ret == PERSIST_OK && (i < na || j < nb)) {
		int cmp = i == na ? 1 : j == nb ? -1 : strcmp(a[i].name, b[j].name);

		compare_sums(m, cmp <= 0 ? &a[i] : NULL, cmp >= 0 ? &b[j] : NULL);
		i += cmp <= 0;
		j += cmp >= 0;
	}
	free(a);
	free(b);
	persist_items_free(names_a, na);
	persist_items_free(names_b, nb);
	return ret;
}
