/*
 * tools/migrate-report.c - what a migration tells its caller: the
 * differences it found (the first few by name, all of them counted per
 * kind), the conflict error, the summary text of the report, the progress
 * line on a terminal, and the error messages that say which side and
 * which collection or document a library error was about.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migrate-private.h"

/* How each kind of difference is counted in the summary (singular, plural). */
static const char *const diff_names[MIGRATE_DIFF_COUNT_][2] = {
	[MIGRATE_DIFF_DOCUMENT] = { "document with another ETag on the target",
				    "documents with another ETag on the target" },
	[MIGRATE_DIFF_DOC_EXTRA] = { "document only on the target",
				     "documents only on the target" },
	[MIGRATE_DIFF_KEY] = { "key with another value on the target",
			       "keys with another value on the target" },
	[MIGRATE_DIFF_KEY_EXTRA] = { "key only on the target",
				     "keys only on the target" },
	[MIGRATE_DIFF_LOG] = { "log that is not a prefix of the source's",
			       "logs that are not a prefix of the source's" },
	[MIGRATE_DIFF_VERIFY] = { "difference found by the verification",
				  "differences found by the verification" },
};

/* Record one difference and describe it (see the header). */
void migrate_diff(struct migration *m, enum migrate_diff kind,
		  const char *fmt, ...)
{
	char text[PERSIST_KEY_MAX * 2 + 256];
	va_list ap;

	m->diff_count[kind]++;
	m->listed++;
	if (kind != MIGRATE_DIFF_VERIFY && m->n_named >= MIGRATE_NAMED_MAX)
		return;
	if (m->n_named == m->cap_named) {
		size_t cap = m->cap_named == 0 ? 16 : m->cap_named * 2;
		char **bigger = realloc(m->named, cap * sizeof(*bigger));

		if (bigger == NULL)
			return;   /* counted, not described */
		m->named = bigger;
		m->cap_named = cap;
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if ((m->named[m->n_named] = strdup(text)) != NULL)
		m->n_named++;
}

/* Start the described list afresh (see the header). */
void migrate_diff_restart(struct migration *m)
{
	for (size_t i = 0; i < m->n_named; i++)
		free(m->named[i]);
	free(m->named);
	m->named = NULL;
	m->n_named = m->cap_named = 0;
	m->listed = 0;
}

/* Every difference recorded so far. */
uint64_t migrate_diff_total(const struct migration *m)
{
	uint64_t total = 0;

	for (int k = 0; k < MIGRATE_DIFF_COUNT_; k++)
		total += m->diff_count[k];
	return total;
}

/* Context before a library error, its detail kept (see the header). */
int migrate_wrap(struct persist_error *err, int ret, const char *fmt, ...)
{
	char context[PERSIST_ERROR_MSG_MAX], old[PERSIST_ERROR_MSG_MAX];
	va_list ap;

	if (err == NULL)
		return ret;
	va_start(ap, fmt);
	vsnprintf(context, sizeof(context), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	if (old[0] == '\0')
		snprintf(old, sizeof(old), "%s", persist_strerror(ret));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", context, old);
	err->code = (persist_status)ret;
	return ret;
}

/* A message of the engine's own (see the header). */
int migrate_error(struct persist_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->code = (persist_status)code;
	err->sys_errno = 0;
	return code;
}

/* Remaining TTL of an expiry: 0 for none, -1 when it has passed. */
int64_t migrate_ttl_left(int64_t expires_ms, int64_t now_ms)
{
	int64_t left;

	if (expires_ms <= 0)
		return 0;
	if (expires_ms <= now_ms)
		return -1;
	left = expires_ms - now_ms;
	return left > PERSIST_TTL_MAX_MS ? PERSIST_TTL_MAX_MS : left;
}

/* Rewrite the progress line: phase, collections, keys and records. */
void migrate_progress(struct migration *m, const char *phase)
{
	FILE *out = m->opts->progress;

	if (out == NULL || !m->progress_tty)
		return;
	fprintf(out, "\rmigrate: %s: %zu/%zu collections, %" PRIu64 " keys, %"
		PRIu64 " records\033[K", phase, m->colls_done, m->n_colls,
		m->keys_done, m->records_done);
	fflush(out);
	m->progress_shown = 1;
}

/* End the progress line so that what follows starts on a line of its own. */
void migrate_progress_end(struct migration *m)
{
	if (m->progress_shown) {
		fputc('\n', m->opts->progress);
		fflush(m->opts->progress);
		m->progress_shown = 0;
	}
}

/* Print "N thing(s)" counted per kind of difference, one a line. */
static void print_diff_counts(FILE *f, const struct migration *m)
{
	for (int k = 0; k < MIGRATE_DIFF_COUNT_; k++)
		if (m->diff_count[k] > 0)
			fprintf(f, "  %" PRIu64 " %s\n", m->diff_count[k],
				diff_names[k][m->diff_count[k] != 1]);
}

/* Print the named differences and how many more there are. */
static void print_diff_names(FILE *f, const struct migration *m)
{
	for (size_t i = 0; i < m->n_named; i++)
		fprintf(f, "  %s\n", m->named[i]);
	if (m->listed > m->n_named)
		fprintf(f, "  ... and %" PRIu64 " more\n", m->listed - m->n_named);
}

/* What was (or, in a dry run, would be) copied, per kind. */
static void print_counts(FILE *f, const struct migration *m, int conflict)
{
	const struct migrate_report *r = m->report;
	uint64_t keys_to_set = 0, keys_to_delete = 0, records = 0;
	const char *verb = m->opts->dry_run ? "would copy" :
		conflict ? "to copy" : "copied";

	for (size_t i = 0; i < m->n_colls; i++) {
		keys_to_set += m->colls[i].keys_to_set;
		keys_to_delete += m->colls[i].keys_to_delete;
		records += m->colls[i].records_to_append;
	}
	if (m->opts->kinds & MIGRATE_CONFIG) {
		fprintf(f, "configuration: %" PRIu64 " documents in the source; %s %zu",
			r->documents, verb, m->docs_to_set);
		if (m->docs_to_delete > 0)
			fprintf(f, ", %s %zu only in the target",
				conflict || m->opts->dry_run ? "would delete" : "deleted",
				m->docs_to_delete);
		fputc('\n', f);
	}
	if (m->opts->kinds & MIGRATE_STATE) {
		fprintf(f, "state: %" PRIu64 " collections, %" PRIu64 " keys and %"
			PRIu64 " counters, %" PRIu64 " log records in the source; "
			"%s %" PRIu64 " keys and %" PRIu64 " records",
			r->collections, r->keys, r->counters, r->records, verb,
			keys_to_set, records);
		if (keys_to_delete > 0)
			fprintf(f, ", %s %" PRIu64 " keys only in the target",
				conflict || m->opts->dry_run ? "would delete" : "deleted",
				keys_to_delete);
		fputc('\n', f);
	}
}

/* Build report->summary (see the header). */
int migrate_summarize(struct migration *m, int conflict, int verified)
{
	struct migrate_report *r = m->report;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return PERSIST_ENOMEM;
	if (m->opts->dry_run)
		fputs("dry run: nothing was written\n", f);
	print_counts(f, m, conflict);
	if (conflict) {
		fputs("refused: the target holds different data; nothing was written\n", f);
		print_diff_names(f, m);
		print_diff_counts(f, m);
	} else if (!m->opts->dry_run) {
		fprintf(f, "written: %" PRIu64 " documents, keys and records\n", r->copied);
	}
	if (verified) {
		if (r->differences == 0) {
			fprintf(f, "verification: both sides are equal (%s%s%s)\n",
				(m->opts->kinds & MIGRATE_CONFIG) ? "every document's ETag" : "",
				m->opts->kinds == (MIGRATE_CONFIG | MIGRATE_STATE) ? "; " : "",
				(m->opts->kinds & MIGRATE_STATE) ?
				"counts and SHA-256 of every collection" : "");
		} else {
			fprintf(f, "verification: %" PRIu64 " differences\n",
				r->differences);
			print_diff_names(f, m);
		}
	} else if (!conflict && m->opts->dry_run && migrate_diff_total(m) > 0) {
		fputs("differences the copy overwrites (force):\n", f);
		print_diff_names(f, m);
		print_diff_counts(f, m);
	}
	if (fclose(f) != 0 || text == NULL) {
		free(text);
		return PERSIST_ENOMEM;
	}
	free(r->summary);
	r->summary = text;
	return PERSIST_OK;
}

/* The conflict error: what differs, counted; the summary names them. */
int migrate_conflict_error(struct migration *m, struct persist_error *err)
{
	char counts[PERSIST_ERROR_MSG_MAX] = "";
	size_t used = 0;
	const char *log_note = "";

	for (int k = 0; k < MIGRATE_DIFF_COUNT_ && used < sizeof(counts); k++) {
		if (m->diff_count[k] == 0)
			continue;
		used += (size_t)snprintf(counts + used, sizeof(counts) - used,
					 "%s%" PRIu64 " %s", used > 0 ? ", " : "",
					 m->diff_count[k],
					 diff_names[k][m->diff_count[k] != 1]);
	}
	if (m->diff_count[MIGRATE_DIFF_LOG] > 0)
		log_note = m->opts->force ?
			" A log cannot be overwritten: appending would mix two"
			" histories; drop that collection on the target first." :
			" A diverging log is refused even with force; drop that"
			" collection on the target first.";
	if (err == NULL)
		return PERSIST_ECONFLICT;
	err->code = PERSIST_ECONFLICT;
	err->sys_errno = 0;
	snprintf(err->msg, sizeof(err->msg),
		 "the target holds different data%s%s\nFound %s.%s%s",
		 m->n_named > 0 ? ": " : "", m->n_named > 0 ? m->named[0] : "",
		 counts, log_note,
		 m->opts->force || m->diff_count[MIGRATE_DIFF_LOG] ==
		 migrate_diff_total(m) ? "" : " With force (persistctl migrate --force) keys and documents are overwritten.");
	return PERSIST_ECONFLICT;
}

/* Print the summary. */
void migrate_report_print(FILE *out, const struct migrate_report *report)
{
	if (out != NULL && report != NULL && report->summary != NULL)
		fputs(report->summary, out);
}

/* Free what the report holds; it may be reused. */
void migrate_report_free(struct migrate_report *report)
{
	if (report == NULL)
		return;
	free(report->summary);
	memset(report, 0, sizeof(*report));
}
