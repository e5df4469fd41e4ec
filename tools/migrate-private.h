/*
 * tools/migrate-private.h - what the files of the copy engine share: the
 * state of one run (both handles, the options, the plan the comparison
 * makes, the differences it finds, the progress counters) and the
 * functions of each phase.
 *
 *   migrate.c          migrate_run: compare, then write, then verify
 *   migrate-config.c   configuration documents: compare and copy
 *   migrate-state.c    keys and counters of each collection: compare and copy
 *   migrate-log.c      each collection's log: compare and append what is missing
 *   migrate-verify.c   counts and SHA-256 checksums of both sides
 *   migrate-report.c   differences, the summary, the progress line, errors
 */
#ifndef PERSIST_TOOLS_MIGRATE_PRIVATE_H
#define PERSIST_TOOLS_MIGRATE_PRIVATE_H

#include "migrate.h"

/* Operations per batch when the options give none. */
#define MIGRATE_BATCH_DEFAULT 500
/* Records asked for per read_log call. */
#define MIGRATE_LOG_PAGE 1000
/* Differences found before writing named one by one in the summary; the
   rest are counted.  Those of the verification are all named. */
#define MIGRATE_NAMED_MAX 10

/* What a difference is about (counted per kind in the summary). */
enum migrate_diff {
	MIGRATE_DIFF_DOCUMENT,  /* a document with another ETag on the target */
	MIGRATE_DIFF_DOC_EXTRA, /* a document only the target has */
	MIGRATE_DIFF_KEY,       /* a key with another value on the target */
	MIGRATE_DIFF_KEY_EXTRA, /* a key only the target has */
	MIGRATE_DIFF_LOG,       /* a target log that is not a prefix of the source's */
	MIGRATE_DIFF_VERIFY,    /* found by the verification after writing */
	MIGRATE_DIFF_COUNT_
};

/* One collection of the state kind, as the comparison found it. */
struct migrate_coll {
	char *name;
	struct persist_entry *src, *dst; /* live keys of each side, sorted */
	size_t n_src, n_dst;
	uint64_t src_first, src_next;    /* log bounds of each side */
	uint64_t dst_first, dst_next;
	int log_diverges;                /* the target's log is not a prefix */
	size_t keys_to_set, keys_to_delete;
	uint64_t records_to_append;
};

/* One run. */
struct migration {
	persist *from, *to;
	const struct migrate_options *opts;
	struct migrate_report *report;
	size_t batch_ops;
	int64_t now_ms;                  /* wall clock when the comparison started */

	/* configuration: the source's documents and the target's, sorted */
	struct persist_entry *docs_src, *docs_dst;
	size_t n_docs_src, n_docs_dst;
	size_t docs_to_set, docs_to_delete;

	/* state */
	struct migrate_coll *colls;
	size_t n_colls;

	/* differences: counted per kind; described in `named` (the first
	   few of the comparison's, all of the verification's) */
	uint64_t diff_count[MIGRATE_DIFF_COUNT_];
	char **named;
	size_t n_named, cap_named;
	uint64_t listed;                 /* recorded since the list was started */

	/* progress */
	int progress_tty;
	int progress_shown;
	size_t colls_done;
	uint64_t keys_done, records_done;
};

/* --- migrate.c --- */
/* Wall clock in milliseconds; what is left of a TTL is computed on it
   as each write is prepared, so that a copy does not outlive its
   original by more than the write's own latency. */
int64_t migrate_now_ms(void);

/* --- migrate-config.c --- */
/* Read the documents of both sides and compare them. */
int migrate_config_compare(struct migration *m, struct persist_error *err);
/* Set the documents the target lacks or (with force) holds otherwise. */
int migrate_config_copy(struct migration *m, struct persist_error *err);
/* After writing: every document's ETag on both sides. */
int migrate_config_verify(struct migration *m, struct persist_error *err);

/* --- migrate-state.c --- */
/* Find the collections of both sides and compare their keys and logs. */
int migrate_state_compare(struct migration *m, struct persist_error *err);
/* Copy the keys and the missing log records of every collection. */
int migrate_state_copy(struct migration *m, struct persist_error *err);

/* --- migrate-log.c --- */
/* Compare one collection's logs: does the target hold a prefix? */
int migrate_log_compare(struct migration *m, struct migrate_coll *c,
			struct persist_error *err);
/* Append the records the target's log lacks, in batches. */
int migrate_log_copy(struct migration *m, struct migrate_coll *c,
		     struct persist_error *err);

/* --- migrate-verify.c --- */
/* Compare the collections of both sides again after writing: counts and
   checksums; each difference is recorded as MIGRATE_DIFF_VERIFY. */
int migrate_state_verify(struct migration *m, struct persist_error *err);
/* Every live key of a collection (sorted), on one side. */
int migrate_scan(persist *p, const char *side, const char *collection,
		 struct persist_entry **keys_r, size_t *n_r,
		 struct persist_error *err);
/* The collection names of one side (sorted). */
int migrate_collections(persist *p, const char *side,
			struct persist_entry **names_r, size_t *n_r,
			struct persist_error *err);

/* --- migrate-report.c --- */
/* Record a difference (printf-style description for the named list). */
void migrate_diff(struct migration *m, enum migrate_diff kind,
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));
uint64_t migrate_diff_total(const struct migration *m);
/* Start the list of described differences afresh (the counts stay). */
void migrate_diff_restart(struct migration *m);
/* Put context before the library's message in err, keeping its detail:
   "cannot read the log of collection "x" in the source: redis: ...". */
int migrate_wrap(struct persist_error *err, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Fill err with a message of the engine's own; returns code. */
int migrate_error(struct persist_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Rewrite the progress line (on a terminal only). */
void migrate_progress(struct migration *m, const char *phase);
/* End the progress line. */
void migrate_progress_end(struct migration *m);
/* Build report->summary from what the run found and did. */
int migrate_summarize(struct migration *m, int conflict, int verified);
/* The conflict error: counts in the message, names in the summary. */
int migrate_conflict_error(struct migration *m, struct persist_error *err);
/* Remaining TTL of an expiry (0: none; -1: already expired). */
int64_t migrate_ttl_left(int64_t expires_ms, int64_t now_ms);

#endif
