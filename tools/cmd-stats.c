/*
 * tools/cmd-stats.c - persistctl stats and persistctl state flush: the
 * counters of the state write queue (batchInterval), and a flush of it.
 *
 * For each kind with a fallback, a line with its mode, the journaled
 * writes pending (for every process sharing the spool directory) and what
 * was replayed.
 *
 * persistctl opens its own handle, so `stats` shows the settings the
 * configuration puts in force and the queue of this one process (a write
 * given on the same command line is not possible: it is mostly the check
 * that batching is on, with which limits).  `state flush` stores what this
 * handle queued and asks the provider to make it durable.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "persistctl.h"

/* stats: one "name: value" line per counter. */
int cmd_stats(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	struct persist_batch_stats st;
	persist *p;
	int ret;

	(void)args;
	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	if (persist_state_stats(p, &st, &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	printf("state provider: %s\n", persist_provider(p, PERSIST_KIND_STATE));
	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		char prefix[32];

		snprintf(prefix, sizeof(prefix), "%s ", persist_kind_name((enum persist_kind)k));
		ctl_print_fallback(p, (enum persist_kind)k, prefix);
	}
	if (!st.enabled) {
		printf("batching: off (writes are stored before each call returns)\n");
		return ctl_close(p, CTL_EXIT_OK);
	}
	printf("batching: on, every %" PRId64 " ms or at %" PRId64 " operations or %" PRId64 " bytes\n",
	       st.interval_ms, st.max_ops, st.max_bytes);
	printf("queue limit: %" PRIu64 " operations, %" PRIu64 " bytes\n",
	       st.queue_limit_ops, st.queue_limit_bytes);
	printf("queue depth: %" PRIu64 " operations, %" PRIu64 " bytes\n",
	       st.queue_depth, st.queue_bytes);
	printf("ops queued: %" PRIu64 "\n", st.ops_queued);
	printf("ops coalesced: %" PRIu64 "\n", st.ops_coalesced);
	printf("ops flushed: %" PRIu64 "\n", st.ops_flushed);
	printf("ops rejected: %" PRIu64 "\n", st.ops_rejected);
	printf("flushes: %" PRIu64 "\n", st.flushes);
	printf("flush failures: %" PRIu64 " (uncertain %" PRIu64 ")\n",
	       st.flush_failures, st.flush_uncertain);
	printf("exactly-once flushes: %s\n", st.exactly_once ? "yes (the provider has batch_once)" :
	       "no (the provider has no batch_once: a retry may apply a batch twice)");
	printf("uncertain batches: %" PRIu64 " (settled by a retry %" PRIu64
	       ", of which applied before %" PRIu64 "; left %" PRIu64 ")\n",
	       st.batches_uncertain, st.uncertain_settled, st.uncertain_landed,
	       st.uncertain_left);
	printf("flush latency: last %" PRId64 " us, median %" PRId64 " us, max %" PRId64 " us\n",
	       st.last_flush_us, st.median_flush_us, st.max_flush_us);
	if (st.last_batch_seq > 0)
		printf("last batch: %016" PRIx64 " (sequence %" PRIu64 ")\n",
		       st.last_batch_id, st.last_batch_seq);
	if (st.last_error != PERSIST_OK)
		printf("last error: %s: %s\n", persist_strerror(st.last_error),
		       st.last_error_msg);
	if (st.journal_queued)
		ctl_print_journal(p, "");
	else
		printf("queued-write journal: off (a crash loses what was queued since "
		       "the last flush)\n");
	return ctl_close(p, CTL_EXIT_OK);
}

/* state flush: store the queue now and make the provider sync. */
int cmd_state_flush(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	persist *p;
	int ret;

	(void)args;
	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (persist_state_flush(p, &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	return ctl_close(p, CTL_EXIT_OK);
}
