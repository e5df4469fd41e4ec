/*
 * tools/migrate-log.c - the log of a collection.  A log is copied from
 * the source's first kept record: on a target that held nothing the
 * records are numbered from 0, so the target's record t is the source's
 * record first + t.  The target's log must hold a prefix of that
 * sequence (record by record, the same bytes); only what follows is
 * appended, in order and in batches, which is what makes a rerun after
 * an interruption add nothing twice.  A log that is not such a prefix
 * cannot be fixed by appending and is refused, with force too.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "migrate-private.h"

/* Bounds of a collection's log on one side; a provider without logs has
   an empty one. */
static int log_bounds(persist *p, const char *side, const char *collection,
		      uint64_t *first_r, uint64_t *next_r,
		      struct persist_error *err)
{
	int ret = persist_state_log_bounds(p, collection, first_r, next_r, err);

	if (ret == PERSIST_ENOTSUP) {
		*first_r = *next_r = 0;
		return PERSIST_OK;
	}
	if (ret != PERSIST_OK)
		return migrate_wrap(err, ret,
				    "cannot read the log bounds of collection \"%s\" in the %s",
				    collection, side);
	return PERSIST_OK;
}

/* Read up to max records of one side from number from, which must come
   back as the first record (a log trimmed meanwhile answers EINVAL). */
static int read_page(persist *p, const char *side, const char *collection,
		     uint64_t from, size_t max, struct persist_entry **recs_r,
		     size_t *n_r, struct persist_error *err)
{
	int ret = persist_state_read_log(p, collection, from, max, recs_r, n_r,
					 NULL, err);

	if (ret != PERSIST_OK)
		return migrate_wrap(err, ret,
				    "cannot read the log of collection \"%s\" in the %s",
				    collection, side);
	if (*n_r > 0 && (*recs_r)[0].index != from) {
		uint64_t got = (*recs_r)[0].index;

		persist_items_free(*recs_r, *n_r);
		return migrate_error(err, PERSIST_EINVAL,
				     "the log of collection \"%s\" in the %s changed while it was read\n"
				     "Record %" PRIu64 " was asked for and %" PRIu64
				     " came back (trimmed meanwhile?); run the migration again.",
				     collection, side, from, got);
	}
	return PERSIST_OK;
}

/* Compare the target's log with the source's (see the top of the file). */
int migrate_log_compare(struct migration *m, struct migrate_coll *c,
			struct persist_error *err)
{
	uint64_t held, t;
	int ret;

	if ((ret = log_bounds(m->from, "source", c->name, &c->src_first,
			      &c->src_next, err)) != PERSIST_OK ||
	    (ret = log_bounds(m->to, "target", c->name, &c->dst_first,
			      &c->dst_next, err)) != PERSIST_OK)
		return ret;
	held = c->src_next - c->src_first;
	m->report->records += held;
	if (c->dst_next > held) {
		migrate_diff(m, MIGRATE_DIFF_LOG,
			     "collection \"%s\": the target's log goes up to record %"
			     PRIu64 ", the source holds %" PRIu64 " records",
			     c->name, c->dst_next, held);
		c->log_diverges = 1;
		return PERSIST_OK;
	}
	for (t = c->dst_first; t < c->dst_next;) {
		struct persist_entry *src = NULL, *dst = NULL;
		size_t n_src = 0, n_dst = 0, want = MIGRATE_LOG_PAGE, i;

		if (c->dst_next - t < want)
			want = (size_t)(c->dst_next - t);
		if ((ret = read_page(m->to, "target", c->name, t, want, &dst,
				     &n_dst, err)) != PERSIST_OK)
			return ret;
		if ((ret = read_page(m->from, "source", c->name, c->src_first + t,
				     want, &src, &n_src, err)) != PERSIST_OK) {
			persist_items_free(dst, n_dst);
			return ret;
		}
		for (i = 0; i < n_dst && i < n_src; i++)
			if (src[i].len != dst[i].len ||
			    memcmp(src[i].value, dst[i].value, src[i].len) != 0)
				break;
		persist_items_free(src, n_src);
		persist_items_free(dst, n_dst);
		if (i < want) {
			migrate_diff(m, MIGRATE_DIFF_LOG,
				     "collection \"%s\": record %" PRIu64 " of the target's log "
				     "differs from record %" PRIu64 " of the source's",
				     c->name, t + i, c->src_first + t + i);
			c->log_diverges = 1;
			return PERSIST_OK;
		}
		t += want;
	}
	c->records_to_append = held - c->dst_next;
	return PERSIST_OK;
}

/* Append the records the comparison found missing, in batches. */
int migrate_log_copy(struct migration *m, struct migrate_coll *c,
		     struct persist_error *err)
{
	uint64_t from = c->src_first + c->dst_next, end = c->src_next;
	struct persist_op *ops;
	int ret = PERSIST_OK;

	if (c->records_to_append == 0)
		return PERSIST_OK;
	ops = calloc(m->batch_ops, sizeof(*ops));
	if (ops == NULL)
		return migrate_error(err, PERSIST_ENOMEM, "out of memory\n"
				     "Copying the log of collection \"%s\".", c->name);
	while (ret == PERSIST_OK && from < end) {
		struct persist_entry *recs = NULL;
		size_t n = 0, want = m->batch_ops;

		if (end - from < want)
			want = (size_t)(end - from);
		if ((ret = read_page(m->from, "source", c->name, from, want, &recs,
				     &n, err)) != PERSIST_OK)
			break;
		if (n == 0) {
			ret = migrate_error(err, PERSIST_EINVAL,
					   "the log of collection \"%s\" in the source ends at record %"
					   PRIu64 "\nIt went up to %" PRIu64 " when it was compared.",
					   c->name, from, end);
			break;
		}
		for (size_t i = 0; i < n; i++)
			ops[i] = (struct persist_op){ .type = PERSIST_OP_APPEND,
				.collection = c->name, .value = recs[i].value,
				.len = recs[i].len };
		ret = persist_state_batch(m->to, ops, n, err);
		persist_items_free(recs, n);
		if (ret != PERSIST_OK) {
			ret = migrate_wrap(err, ret,
					   "cannot append to the log of collection \"%s\" in the target",
					   c->name);
			break;
		}
		from += n;
		m->records_done += n;
		m->report->copied += n;
		migrate_progress(m, "copying");
	}
	free(ops);
	return ret;
}
