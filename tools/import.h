/*
 * tools/import.h - reading the platform's own files (the directory that
 * holds contents/) into a persist handle: `persistctl import-platform`
 * fills an in-process memory handle with them and copies that into the
 * target with the copy engine (migrate.h).
 *
 * One reader per kind of file, each in its own file:
 *   import-usage.c    contents/data/usage.json: counters (three schema
 *                     generations, detected and mapped)
 *   import-jsonl.c    contents/data/feedback.jsonl, usage-events.jsonl:
 *                     logs in file order
 *   import-links.c    contents/data/shortlinks.json: keys with a TTL
 *   import-config.c   contents/config/: documents byte for byte
 *   import.c          the whole import and the shared helpers below
 *
 * Where each piece lands (collections, keys, document names) is the
 * layout the platform's server reads; it is documented in one place, the
 * README's section "Importing the platform's files", and the names below
 * are the ones it lists.
 */
#ifndef PERSIST_TOOLS_IMPORT_H
#define PERSIST_TOOLS_IMPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <persist/persist.h>

struct json_object;

/* Collections of the layout. */
#define IMPORT_COLL_USAGE    "usage"        /* counters */
#define IMPORT_COLL_FEEDBACK "feedback"     /* log: feedback.jsonl */
#define IMPORT_COLL_EVENTS   "usage-events" /* log: usage-events.jsonl */
#define IMPORT_COLL_LINKS    "shortlinks"   /* keys: code -> the link's JSON */

/* What an import read, per file; printed by import_counts_print. */
struct import_counts {
	int usage_generation;     /* 1, 2 or 3; 0: no usage.json */
	uint64_t counters;        /* counters stored (zeros are not) */
	uint64_t feedback, events;/* log records */
	uint64_t blank_lines;     /* blank lines of the JSONL files, skipped */
	uint64_t torn_lines;      /* unterminated invalid last lines, skipped */
	uint64_t links, links_expired, links_no_expiry;
	uint64_t documents;       /* configuration documents (items included) */
	uint64_t items;           /* of those, from item folders (KEY/NAME) */
	uint64_t ignored_files;   /* files of contents/config that are not *.json */
	char absent[256];         /* data files that were absent, comma-separated */
};

/* One import in progress: the handle filled, the platform's root, the
   wall clock TTLs are computed from, and the counts. */
struct import_ctx {
	persist *p;
	const char *dir;
	int64_t now_ms;
	struct import_counts *counts;
};

/* Read every file of the platform's root `dir` into p (configuration and
   state), TTLs measured from now_ms.  Stops at the first malformed file
   with PERSIST_EINVAL, the message naming the file, line, byte or field;
   what was put into p by then is not meant to be used. */
int import_fill(persist *p, const char *dir, int64_t now_ms,
		struct import_counts *counts_r, struct persist_error *err);
/* The counts as a few lines of text. */
void import_counts_print(FILE *out, const struct import_counts *c);

/* --- the readers ------------------------------------------------------- */

int import_usage(const struct import_ctx *ic, struct persist_error *err);
/* The JSONL file rel (below dir) appended to the log of collection. */
int import_jsonl(const struct import_ctx *ic, const char *rel,
		 const char *collection, uint64_t *records_r,
		 struct persist_error *err);
int import_links(const struct import_ctx *ic, struct persist_error *err);
int import_config(const struct import_ctx *ic, struct persist_error *err);

/* --- helpers (import.c) ------------------------------------------------ */

/* Fill err (code, errno, printf-style message); return code. */
int import_error(struct persist_error *err, int code, int sys_errno,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* dir + "/" + rel into a new string (free()); NULL when out of memory. */
char *import_path(const char *dir, const char *rel);
/* Read a whole file into a NUL-terminated buffer (free()).  An absent
   file is PERSIST_ENOTFOUND (message filled too). */
int import_read_file(const char *path, char **data_r, size_t *len_r,
		     struct persist_error *err);
/* Parse data as one strict JSON value (RFC 8259, valid UTF-8); on failure
   PERSIST_EINVAL naming path, the line and the byte (from 1 and 0). */
int import_parse_json(const char *path, const char *data, size_t len,
		      struct json_object **obj_r, struct persist_error *err);
/* Read and parse the JSON data file rel (below ic->dir): *root_r and
   *path_r (free()) set; an absent file is noted and gives *root_r NULL. */
int import_load_json(const struct import_ctx *ic, const char *rel,
		     char **path_r, struct json_object **root_r,
		     struct persist_error *err);
/* Record that a data file was absent. */
void import_note_absent(const struct import_ctx *ic, const char *rel);

#endif
