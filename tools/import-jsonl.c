/*
 * tools/import-jsonl.c - the platform's JSON Lines files (feedback.jsonl,
 * usage-events.jsonl) as logs: one record per line, in file order, each
 * record the line's bytes without its line ending ("\n", or "\r\n").
 *
 * A line that is not valid JSON stops the import, naming the file, the
 * line and the byte, with one exception: the last line of the file when it
 * has no line ending.  The platform appends these files in batches, and a
 * process killed in the middle of an append leaves exactly that: a torn
 * last line.  It is skipped and counted (the summary says how many), since
 * the record it began was never complete.  Blank lines (white space only)
 * are skipped and counted too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "import.h"

/* Is the line white space only? */
static int blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strchr(" \t\r", s[i]) == NULL)
			return 0;
	return 1;
}

/* Append every record of one line-oriented file. */
static int read_lines(const struct import_ctx *ic, FILE *f, const char *path,
		      const char *collection, uint64_t *records_r,
		      struct persist_error *err)
{
	struct persist_error e = { 0 };
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	int ret = PERSIST_OK;

	errno = 0;
	while ((n = getline(&line, &cap, f)) >= 0) {
		size_t len = (size_t)n;
		int terminated = len > 0 && line[len - 1] == '\n';

		lineno++;
		if (terminated)
			len--;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (blank(line, len)) {
			ic->counts->blank_lines++;
			continue;
		}
		if (persist_valid_json("the line", line, len, &e) != PERSIST_OK) {
			int c = fgetc(f);
			if (!terminated && c == EOF) {
				ic->counts->torn_lines++;
				break;
			}
			ret = import_error(err, PERSIST_EINVAL, 0,
					   "invalid line %lu of \"%s\"\n%s; only a last line "
					   "without a line ending (a torn append) is skipped.",
					   lineno, path, e.msg);
			break;
		}
		if (persist_state_append(ic->p, collection, line, len, &e) != PERSIST_OK) {
			ret = import_error(err, e.code, e.sys_errno,
					   "cannot import line %lu of \"%s\"\n%s",
					   lineno, path, e.msg);
			break;
		}
		(*records_r)++;
		errno = 0;
	}
	if (ret == PERSIST_OK && ferror(f))
		ret = import_error(err, PERSIST_EIO, errno, "cannot read \"%s\": %s",
				   path, strerror(errno));
	free(line);
	return ret;
}

/* The JSONL file rel as the log of collection. */
int import_jsonl(const struct import_ctx *ic, const char *rel,
		 const char *collection, uint64_t *records_r,
		 struct persist_error *err)
{
	char *path = import_path(ic->dir, rel);
	struct stat st;
	FILE *f;
	int ret;

	if (path == NULL)
		return import_error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	f = fopen(path, "rb");
	if (f == NULL) {
		if (errno == ENOENT) {
			import_note_absent(ic, rel);
			ret = PERSIST_OK;
		} else {
			ret = import_error(err, PERSIST_EIO, errno, "cannot open \"%s\": %s",
					   path, strerror(errno));
		}
		free(path);
		return ret;
	}
	if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode))
		ret = import_error(err, PERSIST_EIO, EISDIR, "cannot read \"%s\": %s",
				   path, "not a regular file");
	else
		ret = read_lines(ic, f, path, collection, records_r, err);
	fclose(f);
	free(path);
	return ret;
}
