/*
 * tools/migrate.c - migrate_run, the copy engine's three phases:
 *
 *   1. compare: read both sides; a target holding different data (a
 *      document with another ETag, a key with another value, a key or
 *      document only it has, a log that is not a prefix of the source's)
 *      stops the run here with PERSIST_ECONFLICT, nothing written, unless
 *      force (which overwrites keys and documents, never a log);
 *   2. write: what the comparison found missing or different, in batches
 *      (skipped in a dry run, which reports what it would write);
 *   3. verify: both sides summed up again and compared.
 *
 * Sessions are live connections of running processes: they are not
 * copied.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "migrate-private.h"

/* Wall clock in milliseconds (the clock providers measure TTLs on). */
int64_t migrate_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Free what a run holds (not the report). */
static void migration_free(struct migration *m)
{
	persist_items_free(m->docs_src, m->n_docs_src);
	persist_items_free(m->docs_dst, m->n_docs_dst);
	for (size_t i = 0; i < m->n_colls; i++) {
		free(m->colls[i].name);
		persist_items_free(m->colls[i].src, m->colls[i].n_src);
		persist_items_free(m->colls[i].dst, m->colls[i].n_dst);
	}
	free(m->colls);
	migrate_diff_restart(m);
}

/* Check the arguments of migrate_run. */
static int check_args(persist *from, persist *to,
		      const struct migrate_options *opts,
		      struct migrate_report *report_r, struct persist_error *err)
{
	if (from == NULL || to == NULL || opts == NULL || report_r == NULL)
		return migrate_error(err, PERSIST_EINVAL,
				     "migrate_run: %s is NULL",
				     from == NULL ? "from" : to == NULL ? "to" :
				     opts == NULL ? "opts" : "report_r");
	if (from == to)
		return migrate_error(err, PERSIST_EINVAL,
				     "cannot migrate a handle into itself\n"
				     "Open the source and the target separately.");
	if (opts->kinds == 0 || (opts->kinds & ~(MIGRATE_CONFIG | MIGRATE_STATE)) != 0)
		return migrate_error(err, PERSIST_EINVAL,
				     "invalid kinds 0x%x to migrate\n"
				     "Give configuration, state or both; sessions are live "
				     "connections and are not migrated.", opts->kinds);
	return PERSIST_OK;
}

/* Run the phase hook of the options, if any. */
static void phase_done(struct migration *m, const char *phase)
{
	if (m->opts->phase_hook != NULL)
		m->opts->phase_hook(m->opts->hook_ctx, phase);
}

/* Phase 1: compare each kind asked for. */
static int compare(struct migration *m, struct persist_error *err)
{
	int ret = PERSIST_OK;

	if (m->opts->kinds & MIGRATE_CONFIG)
		ret = migrate_config_compare(m, err);
	if (ret == PERSIST_OK && (m->opts->kinds & MIGRATE_STATE))
		ret = migrate_state_compare(m, err);
	migrate_progress_end(m);
	return ret;
}

/* What the comparison found to write, and whether it must refuse. */
static int plan(struct migration *m)
{
	struct migrate_report *r = m->report;
	int diverging_log = 0;

	r->pending = m->docs_to_set + (m->opts->force ? m->docs_to_delete : 0);
	for (size_t i = 0; i < m->n_colls; i++) {
		const struct migrate_coll *c = &m->colls[i];

		r->pending += c->keys_to_set + c->records_to_append +
			(m->opts->force ? c->keys_to_delete : 0);
		diverging_log |= c->log_diverges;
	}
	r->conflicts = migrate_diff_total(m);
	return diverging_log || (r->conflicts > 0 && !m->opts->force);
}

/* Phase 2: write each kind. */
static int write_all(struct migration *m, struct persist_error *err)
{
	int ret = PERSIST_OK;

	if (m->opts->kinds & MIGRATE_CONFIG)
		ret = migrate_config_copy(m, err);
	if (ret == PERSIST_OK && (m->opts->kinds & MIGRATE_STATE))
		ret = migrate_state_copy(m, err);
	migrate_progress_end(m);
	return ret;
}

/* Phase 3: verify; the differences found are the report's. */
static int verify(struct migration *m, struct persist_error *err)
{
	uint64_t before = m->diff_count[MIGRATE_DIFF_VERIFY];
	int ret = PERSIST_OK;

	/* the report lists the verification's differences */
	migrate_diff_restart(m);
	if (m->opts->kinds & MIGRATE_CONFIG)
		ret = migrate_config_verify(m, err);
	if (ret == PERSIST_OK && (m->opts->kinds & MIGRATE_STATE))
		ret = migrate_state_verify(m, err);
	migrate_progress_end(m);
	m->report->differences = m->diff_count[MIGRATE_DIFF_VERIFY] - before;
	return ret;
}

/* Copy what `from` holds into `to` and verify it (see migrate.h). */
int migrate_run(persist *from, persist *to, const struct migrate_options *opts,
		struct migrate_report *report_r, struct persist_error *err)
{
	struct migration m = { 0 };
	int ret;

	if ((ret = check_args(from, to, opts, report_r, err)) != PERSIST_OK)
		return ret;
	memset(report_r, 0, sizeof(*report_r));
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	m.from = from;
	m.to = to;
	m.opts = opts;
	m.report = report_r;
	m.batch_ops = opts->batch_ops > 0 ? opts->batch_ops : MIGRATE_BATCH_DEFAULT;
	m.now_ms = migrate_now_ms();
	m.progress_tty = opts->progress != NULL && isatty(fileno(opts->progress));

	ret = compare(&m, err);
	if (ret == PERSIST_OK) {
		phase_done(&m, "compared");
		if (plan(&m)) {
			ret = migrate_conflict_error(&m, err);
			migrate_summarize(&m, 1, 0);
		} else if (opts->dry_run) {
			migrate_summarize(&m, 0, 0);
		} else if ((ret = write_all(&m, err)) == PERSIST_OK) {
			phase_done(&m, "written");
			if ((ret = verify(&m, err)) == PERSIST_OK)
				migrate_summarize(&m, 0, 1);
		}
	}
	migrate_progress_end(&m);
	migration_free(&m);
	return ret;
}
