/*
 * tools/migrate-config.c - the configuration documents of a migration.
 * The comparison reads every document of both sides (list, then
 * get_many for the bytes and ETags) and sorts each source document into
 * "equal" (same ETag on the target: never rewritten), "missing" or
 * "different"; a document only the target has is a difference too.  The
 * copy sets the bytes unchanged with what remains of the TTL - the
 * expiry the provider gives in its listing; a provider that does not give
 * one there has its documents copied without a TTL.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "migrate-private.h"

/* Every live document of one side: keys from list, bytes and ETags from
   get_many; expiries from the listing.  Documents gone between the two
   calls are left out. */
static int read_docs(persist *p, const char *side, int with_values,
		     struct persist_entry **docs_r, size_t *n_r,
		     struct persist_error *err)
{
	struct persist_entry *keys = NULL, *docs = NULL;
	const char **names = NULL;
	size_t n = 0, kept = 0;
	int ret;

	ret = persist_config_list(p, &keys, &n, err);
	if (ret != PERSIST_OK)
		return migrate_wrap(err, ret, "cannot list the documents of the %s", side);
	names = calloc(n > 0 ? n : 1, sizeof(*names));
	if (names == NULL) {
		persist_items_free(keys, n);
		return migrate_error(err, PERSIST_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		names[i] = keys[i].key;
	ret = persist_config_get_many(p, names, n, &docs, err);
	free(names);
	if (ret != PERSIST_OK) {
		persist_items_free(keys, n);
		return migrate_wrap(err, ret, "cannot read the documents of the %s", side);
	}
	for (size_t i = 0; i < n; i++) {
		if (docs[i].status != PERSIST_OK) {
			free(docs[i].key);
			free(docs[i].value);
			continue;
		}
		if (!with_values) {
			free(docs[i].value);
			docs[i].value = NULL;
			docs[i].len = 0;
		}
		docs[i].expires_ms = keys[i].expires_ms;
		docs[kept++] = docs[i];
	}
	persist_items_free(keys, n);
	*docs_r = docs;
	*n_r = kept;
	return PERSIST_OK;
}

/* Order of persist_entry by key, for bsearch. */
static int doc_cmp(const void *a, const void *b)
{
	return strcmp(((const struct persist_entry *)a)->key,
		      ((const struct persist_entry *)b)->key);
}

/* The document named key in a sorted array, or NULL. */
static const struct persist_entry *find_doc(const struct persist_entry *docs,
					    size_t n, const char *key)
{
	struct persist_entry probe = { .key = (char *)key };

	return n == 0 ? NULL : bsearch(&probe, docs, n, sizeof(*docs), doc_cmp);
}

/* Read both sides and compare (see the top of the file). */
int migrate_config_compare(struct migration *m, struct persist_error *err)
{
	int ret;

	if ((ret = read_docs(m->from, "source", 1, &m->docs_src, &m->n_docs_src,
			     err)) != PERSIST_OK)
		return ret;
	if ((ret = read_docs(m->to, "target", 0, &m->docs_dst, &m->n_docs_dst,
			     err)) != PERSIST_OK)
		return ret;
	/* documents are listed sorted; get_many keeps the order */
	qsort(m->docs_src, m->n_docs_src, sizeof(*m->docs_src), doc_cmp);
	qsort(m->docs_dst, m->n_docs_dst, sizeof(*m->docs_dst), doc_cmp);
	for (size_t i = 0; i < m->n_docs_src; i++) {
		const struct persist_entry *s = &m->docs_src[i], *d;

		if (migrate_ttl_left(s->expires_ms, m->now_ms) < 0)
			continue;  /* expired while we looked */
		m->report->documents++;
		d = find_doc(m->docs_dst, m->n_docs_dst, s->key);
		if (d != NULL && strcmp(d->etag, s->etag) == 0)
			continue;
		if (d != NULL)
			migrate_diff(m, MIGRATE_DIFF_DOCUMENT,
				     "document \"%s\": ETag %s in the source, %s in the target",
				     s->key, s->etag, d->etag);
		m->docs_to_set++;
	}
	for (size_t i = 0; i < m->n_docs_dst; i++) {
		const char *key = m->docs_dst[i].key;

		if (find_doc(m->docs_src, m->n_docs_src, key) != NULL)
			continue;
		migrate_diff(m, MIGRATE_DIFF_DOC_EXTRA,
			     "document \"%s\": only in the target", key);
		m->docs_to_delete++;
	}
	return PERSIST_OK;
}

/* Write what the comparison found missing or different (see the top). */
int migrate_config_copy(struct migration *m, struct persist_error *err)
{
	int ret;

	for (size_t i = 0; i < m->n_docs_src; i++) {
		const struct persist_entry *s = &m->docs_src[i], *d;
		int64_t ttl = migrate_ttl_left(s->expires_ms, migrate_now_ms());

		d = find_doc(m->docs_dst, m->n_docs_dst, s->key);
		if (ttl < 0 || (d != NULL && strcmp(d->etag, s->etag) == 0))
			continue;
		ret = persist_config_set(m->to, s->key, s->value, s->len, NULL,
					 ttl, NULL, err);
		if (ret != PERSIST_OK)
			return migrate_wrap(err, ret,
					    "cannot write document \"%s\" to the target",
					    s->key);
		m->report->copied++;
	}
	for (size_t i = 0; i < m->n_docs_dst; i++) {
		const char *key = m->docs_dst[i].key;

		if (find_doc(m->docs_src, m->n_docs_src, key) != NULL)
			continue;
		ret = persist_config_delete(m->to, key, NULL, err);
		if (ret != PERSIST_OK && ret != PERSIST_ENOTFOUND)
			return migrate_wrap(err, ret,
					    "cannot delete document \"%s\" from the target",
					    key);
	}
	return PERSIST_OK;
}

/* After writing: the same documents on both sides, each with the same
   ETag; every difference is recorded. */
int migrate_config_verify(struct migration *m, struct persist_error *err)
{
	struct persist_entry *src = NULL, *dst = NULL;
	size_t n_src = 0, n_dst = 0;
	int ret;

	if ((ret = read_docs(m->from, "source", 0, &src, &n_src, err)) != PERSIST_OK)
		return ret;
	if ((ret = read_docs(m->to, "target", 0, &dst, &n_dst, err)) != PERSIST_OK) {
		persist_items_free(src, n_src);
		return ret;
	}
	qsort(src, n_src, sizeof(*src), doc_cmp);
	qsort(dst, n_dst, sizeof(*dst), doc_cmp);
	for (size_t i = 0; i < n_src; i++) {
		const struct persist_entry *d = find_doc(dst, n_dst, src[i].key);

		if (d == NULL)
			migrate_diff(m, MIGRATE_DIFF_VERIFY,
				     "document \"%s\": missing from the target", src[i].key);
		else if (strcmp(d->etag, src[i].etag) != 0)
			migrate_diff(m, MIGRATE_DIFF_VERIFY,
				     "document \"%s\": ETag %s in the source, %s in the target",
				     src[i].key, src[i].etag, d->etag);
	}
	for (size_t i = 0; i < n_dst; i++)
		if (find_doc(src, n_src, dst[i].key) == NULL)
			migrate_diff(m, MIGRATE_DIFF_VERIFY,
				     "document \"%s\": only in the target", dst[i].key);
	persist_items_free(src, n_src);
	persist_items_free(dst, n_dst);
	return PERSIST_OK;
}
