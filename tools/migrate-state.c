/*
 * tools/migrate-state.c - the keys and counters of every collection.
 * The comparison takes the collections of both sides, reads every live
 * key of each with its value and expiry (scan) and sorts each key into
 * equal, missing on the target, different, or only on the target; it
 * also asks migrate-log.c about the collection's log.  The copy sets the
 * missing and different keys in batches with what remains of their TTL
 * (keys that expired meanwhile are skipped), deletes - only with force,
 * the comparison refuses otherwise - the keys only the target has, and
 * appends the log records the target lacks.  A counter is its decimal
 * text, so setting that text makes a counter on any provider.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "migrate-private.h"

/* What a key is, comparing both sides. */
enum key_state { KEY_EQUAL, KEY_MISSING, KEY_DIFFERENT, KEY_EXTRA };

typedef int key_fn(struct migration *m, struct migrate_coll *c,
		   enum key_state state, const struct persist_entry *src,
		   const struct persist_entry *dst, void *ctx,
		   struct persist_error *err);

/* Walk both sorted key lists of a collection at once, calling fn for
   every key of either side with what it is. */
static int walk_keys(struct migration *m, struct migrate_coll *c, key_fn *fn,
		     void *ctx, struct persist_error *err)
{
	size_t i = 0, j = 0;
	int ret = PERSIST_OK;

	while (ret == PERSIST_OK && (i < c->n_src || j < c->n_dst)) {
		int cmp = i == c->n_src ? 1 : j == c->n_dst ? -1 :
			strcmp(c->src[i].key, c->dst[j].key);

		if (cmp < 0) {
			ret = fn(m, c, KEY_MISSING, &c->src[i++], NULL, ctx, err);
		} else if (cmp > 0) {
			ret = fn(m, c, KEY_EXTRA, NULL, &c->dst[j++], ctx, err);
		} else {
			const struct persist_entry *s = &c->src[i++], *d = &c->dst[j++];
			int same = s->len == d->len &&
				(s->len == 0 || memcmp(s->value, d->value, s->len) == 0);
			ret = fn(m, c, same ? KEY_EQUAL : KEY_DIFFERENT, s, d, ctx, err);
		}
	}
	return ret;
}

/* Is an entry's value a counter's text? */
static int is_counter(const struct persist_entry *e)
{
	int64_t v;

	return persist_parse_counter(e->value, e->len, &v) == 0;
}

/* key_fn of the comparison: count, and record the differences. */
static int compare_key(struct migration *m, struct migrate_coll *c,
		       enum key_state state, const struct persist_entry *src,
		       const struct persist_entry *dst, void *ctx,
		       struct persist_error *err)
{
	(void)ctx;
	(void)err;
	if (src != NULL) {
		if (is_counter(src))
			m->report->counters++;
		else
			m->report->keys++;
	}
	switch (state) {
	case KEY_EQUAL:
		break;
	case KEY_DIFFERENT:
		migrate_diff(m, MIGRATE_DIFF_KEY,
			     "collection \"%s\", key \"%s\": %zu bytes in the source, "
			     "another value of %zu bytes in the target",
			     c->name, src->key, src->len, dst->len);
		/* fall through */
	case KEY_MISSING:
		c->keys_to_set++;
		break;
	case KEY_EXTRA:
		migrate_diff(m, MIGRATE_DIFF_KEY_EXTRA,
			     "collection \"%s\", key \"%s\": only in the target",
			     c->name, dst->key);
		c->keys_to_delete++;
		break;
	}
	return PERSIST_OK;
}

/* Compare one collection: keys, then the log. */
static int compare_collection(struct migration *m, struct migrate_coll *c,
			      struct persist_error *err)
{
	int ret;

	if ((ret = migrate_scan(m->from, "source", c->name, &c->src, &c->n_src,
				err)) != PERSIST_OK)
		return ret;
	if ((ret = migrate_scan(m->to, "target", c->name, &c->dst, &c->n_dst,
				err)) != PERSIST_OK)
		return ret;
	if ((ret = walk_keys(m, c, compare_key, NULL, err)) != PERSIST_OK)
		return ret;
	return migrate_log_compare(m, c, err);
}

/* The sorted union of two sorted name lists, into m->colls. */
static int merge_names(struct migration *m, const struct persist_entry *a,
		       size_t na, const struct persist_entry *b, size_t nb)
{
	size_t i = 0, j = 0;

	m->colls = calloc(na + nb > 0 ? na + nb : 1, sizeof(*m->colls));
	if (m->colls == NULL)
		return PERSIST_ENOMEM;
	while (i < na || j < nb) {
		int cmp = i == na ? 1 : j == nb ? -1 : strcmp(a[i].key, b[j].key);
		const char *name = cmp <= 0 ? a[i].key : b[j].key;

		if (cmp <= 0)
			i++;
		if (cmp >= 0)
			j++;
		if ((m->colls[m->n_colls].name = strdup(name)) == NULL)
			return PERSIST_ENOMEM;
		m->n_colls++;
	}
	return PERSIST_OK;
}

/* Find the collections of both sides and compare each one. */
int migrate_state_compare(struct migration *m, struct persist_error *err)
{
	struct persist_entry *src = NULL, *dst = NULL;
	size_t n_src = 0, n_dst = 0;
	int ret;

	ret = migrate_collections(m->from, "source", &src, &n_src, err);
	if (ret == PERSIST_OK)
		ret = migrate_collections(m->to, "target", &dst, &n_dst, err);
	if (ret == PERSIST_OK && merge_names(m, src, n_src, dst, n_dst) != PERSIST_OK)
		ret = migrate_error(err, PERSIST_ENOMEM, "out of memory");
	m->report->collections = n_src;
	persist_items_free(src, n_src);
	persist_items_free(dst, n_dst);
	for (size_t i = 0; ret == PERSIST_OK && i < m->n_colls; i++) {
		ret = compare_collection(m, &m->colls[i], err);
		m->colls_done = i + 1;
		migrate_progress(m, "comparing");
	}
	return ret;
}

/* A batch of operations being filled for one collection. */
struct batch {
	struct persist_op *ops;
	size_t n;
};

/* Send the batch to the target. */
static int send_batch(struct migration *m, struct migrate_coll *c,
		      struct batch *b, struct persist_error *err)
{
	int ret;

	if (b->n == 0)
		return PERSIST_OK;
	ret = persist_state_batch(m->to, b->ops, b->n, err);
	if (ret != PERSIST_OK)
		return migrate_wrap(err, ret,
				    "cannot write keys of collection \"%s\" to the target",
				    c->name);
	for (size_t i = 0; i < b->n; i++)
		if (b->ops[i].type == PERSIST_OP_SET)
			m->report->copied++;
	m->keys_done += b->n;
	b->n = 0;
	migrate_progress(m, "copying");
	return PERSIST_OK;
}

/* key_fn of the copy: a set for a missing or different key, a delete for
   a key only the target has. */
static int copy_key(struct migration *m, struct migrate_coll *c,
		    enum key_state state, const struct persist_entry *src,
		    const struct persist_entry *dst, void *ctx,
		    struct persist_error *err)
{
	struct batch *b = ctx;
	struct persist_op *op = &b->ops[b->n];

	memset(op, 0, sizeof(*op));
	op->collection = c->name;
	if (state == KEY_EQUAL)
		return PERSIST_OK;
	if (state == KEY_EXTRA) {
		op->type = PERSIST_OP_DELETE;
		op->key = dst->key;
	} else {
		op->ttl_ms = migrate_ttl_left(src->expires_ms, migrate_now_ms());
		if (op->ttl_ms < 0)
			return PERSIST_OK;  /* expired since the comparison */
		op->type = PERSIST_OP_SET;
		op->key = src->key;
		op->value = src->value;
		op->len = src->len;
	}
	if (++b->n == m->batch_ops)
		return send_batch(m, c, b, err);
	return PERSIST_OK;
}

/* Copy every collection's keys and log, then store what the target
   queued. */
int migrate_state_copy(struct migration *m, struct persist_error *err)
{
	struct batch b = { .ops = calloc(m->batch_ops, sizeof(*b.ops)) };
	int ret = PERSIST_OK;

	if (b.ops == NULL)
		return migrate_error(err, PERSIST_ENOMEM, "out of memory");
	m->colls_done = 0;
	for (size_t i = 0; ret == PERSIST_OK && i < m->n_colls; i++) {
		struct migrate_coll *c = &m->colls[i];

		ret = walk_keys(m, c, copy_key, &b, err);
		if (ret == PERSIST_OK)
			ret = send_batch(m, c, &b, err);
		if (ret == PERSIST_OK)
			ret = migrate_log_copy(m, c, err);
		m->colls_done = i + 1;
		migrate_progress(m, "copying");
	}
	free(b.ops);
	if (ret == PERSIST_OK && (ret = persist_state_flush(m->to, err)) != PERSIST_OK)
		ret = migrate_wrap(err, ret, "cannot flush the state of the target");
	return ret;
}
