/*
 * tools/migrate.h - copying everything one persist handle holds into
 * another: every configuration document and every state collection (keys
 * and counters with what remains of their TTL, the log in order), in
 * batches, then a verification of both sides.  `persistctl migrate` runs
 * it between the providers of two configuration files, and `persistctl
 * import-platform` runs it from a handle it filled with the platform's
 * own files.
 *
 * A run is idempotent and resumable: documents and keys are set (never
 * incremented), and a log gets only the records the target does not hold
 * yet (the target's log must be a prefix of the source's), so running it
 * again after an interruption finishes the job and adds nothing twice.
 */
#ifndef PERSIST_TOOLS_MIGRATE_H
#define PERSIST_TOOLS_MIGRATE_H

#include <stdint.h>
#include <stdio.h>
#include <persist/persist.h>

/* Bits of migrate_options.kinds. */
#define MIGRATE_CONFIG (1u << PERSIST_KIND_CONFIG)
#define MIGRATE_STATE  (1u << PERSIST_KIND_STATE)

struct migrate_options {
	unsigned kinds;       /* MIGRATE_CONFIG | MIGRATE_STATE */
	int dry_run;          /* compare and report what would be copied, write nothing */
	int force;            /* overwrite target data that differs from the source */
	FILE *progress;       /* a progress line is rewritten here (a terminal), or NULL */
	size_t batch_ops;     /* operations per batch; 0: the default */
	/* Called after each phase ("compared", "written") with hook_ctx, so
	   that a test can change a side while a run is under way; NULL: none. */
	void (*phase_hook)(void *hook_ctx, const char *phase);
	void *hook_ctx;
};

/* What a run found and did; filled by migrate_run, freed by migrate_report_free. */
struct migrate_report {
	uint64_t documents, keys, counters, records;  /* in the source; keys
							 counts the keys that are
							 not counters */
	uint64_t copied;        /* documents, keys and records written this run */
	uint64_t differences;   /* differences found by the verification (0: equal) */
	char *summary;          /* the text migrate_report_print prints */
	uint64_t collections;   /* state collections in the source */
	uint64_t pending;       /* what the comparison found to write (in a
				   dry run: what would be written) */
	uint64_t conflicts;     /* target data that differs from the source,
				   found before writing */
};

/* Copy what `from` holds into `to` and verify it.
     from, to   open handles (their providers may be anything)
     opts       what to copy and how
     report_r   what was found, copied and verified
   PERSIST_ECONFLICT (nothing written) when the target holds different
   data and opts->force is not set, the difference in err and the report;
   PERSIST_OK otherwise, even when the verification found differences
   (report_r->differences says so). */
int migrate_run(persist *from, persist *to, const struct migrate_options *opts,
		struct migrate_report *report_r, struct persist_error *err);
/* Print the report's summary. */
void migrate_report_print(FILE *out, const struct migrate_report *report);
void migrate_report_free(struct migrate_report *report);

#endif
