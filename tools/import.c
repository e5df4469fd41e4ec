/*
 * tools/import.c - the whole reading of the platform's files (import_fill:
 * every reader in turn, into one handle) and what the readers share:
 * error messages, paths, reading a file whole, strict JSON parsing that
 * names the line and byte of a fault, and the summary of what was read.
 *
 * The readers never write anywhere but the handle they are given; the
 * command gives them an in-process memory handle, so a malformed file
 * stops the import before anything reaches the target.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <json-c/json.h>

#include "import.h"

/* Fill err; return code. */
int import_error(struct persist_error *err, int code, int sys_errno,
		 const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		err->code = code;
		err->sys_errno = sys_errno;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

/* dir/rel as a new string. */
char *import_path(const char *dir, const char *rel)
{
	size_t n = strlen(dir) + strlen(rel) + 2;
	char *path = malloc(n);

	if (path != NULL)
		snprintf(path, n, "%s/%s", dir, rel);
	return path;
}

/* Read a whole regular file. */
int import_read_file(const char *path, char **data_r, size_t *len_r,
		     struct persist_error *err)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *buf;
	size_t len;

	if (f == NULL)
		return import_error(err, errno == ENOENT ? PERSIST_ENOTFOUND : PERSIST_EIO,
				    errno, "cannot open \"%s\": %s", path, strerror(errno));
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = S_ISDIR(st.st_mode) ? EISDIR : errno;
		fclose(f);
		return import_error(err, PERSIST_EIO, e, "cannot read \"%s\": %s",
				    path, e != 0 ? strerror(e) : "not a regular file");
	}
	if ((uint64_t)st.st_size >= (uint64_t)INT_MAX) {
		fclose(f);
		return import_error(err, PERSIST_EINVAL, 0,
				    "cannot read \"%s\": file too large\n"
				    "A file of the platform is read whole; this one has %jd bytes.",
				    path, (intmax_t)st.st_size);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		fclose(f);
		return import_error(err, PERSIST_ENOMEM, ENOMEM,
				    "out of memory reading \"%s\"", path);
	}
	len = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f) || len != (size_t)st.st_size) {
		int e = ferror(f) ? errno : 0;
		free(buf);
		fclose(f);
		return import_error(err, PERSIST_EIO, e, "cannot read \"%s\": %s", path,
				    e != 0 ? strerror(e) : "the file changed while it was read");
	}
	fclose(f);
	buf[len] = '\0';
	*data_r = buf;
	*len_r = len;
	return PERSIST_OK;
}

/* Line (from 1) of byte offset off. */
static unsigned long line_of(const char *data, size_t off)
{
	unsigned long line = 1;

	for (size_t i = 0; i < off; i++)
		if (data[i] == '\n')
			line++;
	return line;
}

/* Parse one strict JSON value, naming where it breaks. */
int import_parse_json(const char *path, const char *data, size_t len,
		      struct json_object **obj_r, struct persist_error *err)
{
	struct persist_error verr = { 0 };
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end;

	if (len > INT_MAX)
		return import_error(err, PERSIST_EINVAL, 0, "\"%s\" is too large", path);
	tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
	if (tok == NULL)
		return import_error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, data, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (obj == NULL && jerr == json_tokener_continue)
		jerr = json_tokener_error_parse_eof;
	if (jerr == json_tokener_success && obj != NULL)
		while (end < len && strchr(" \t\r\n", data[end]) != NULL)
			end++;
	if (jerr != json_tokener_success || obj == NULL || end < len) {
		json_object_put(obj);
		if (end > len)
			end = len;
		return import_error(err, PERSIST_EINVAL, 0,
				    "invalid JSON in \"%s\" at line %lu, byte %zu\n%s.",
				    path, line_of(data, end), end,
				    jerr != json_tokener_success ?
				    json_tokener_error_desc(jerr) :
				    "Only white space may follow the JSON value");
	}
	/* the library's rule for stored JSON is the last word */
	if (persist_valid_json(path, data, len, &verr) != PERSIST_OK) {
		json_object_put(obj);
		return import_error(err, PERSIST_EINVAL, 0, "invalid JSON in \"%s\"\n%s",
				    path, verr.msg);
	}
	*obj_r = obj;
	return PERSIST_OK;
}

/* Remember an absent data file for the summary. */
void import_note_absent(const struct import_ctx *ic, const char *rel)
{
	char *a = ic->counts->absent;
	size_t n = strlen(a);

	snprintf(a + n, sizeof(ic->counts->absent) - n, "%s%s",
		 n > 0 ? ", " : "", rel);
}

/* Read and parse one JSON data file, or note its absence. */
int import_load_json(const struct import_ctx *ic, const char *rel,
		     char **path_r, struct json_object **root_r,
		     struct persist_error *err)
{
	char *path = import_path(ic->dir, rel), *data = NULL;
	size_t len;
	int ret;

	*root_r = NULL;
	*path_r = path;
	if (path == NULL)
		return import_error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	ret = import_read_file(path, &data, &len, err);
	if (ret == PERSIST_ENOTFOUND) {
		import_note_absent(ic, rel);
		return PERSIST_OK;
	}
	if (ret == PERSIST_OK)
		ret = import_parse_json(path, data, len, root_r, err);
	free(data);
	return ret;
}

/* Read every file of the platform's root into p. */
int import_fill(persist *p, const char *dir, int64_t now_ms,
		struct import_counts *counts_r, struct persist_error *err)
{
	struct import_ctx ic = { .p = p, .dir = dir, .now_ms = now_ms,
				 .counts = counts_r };
	struct stat st = { 0 };
	char *contents;
	int ret;

	if (p == NULL || dir == NULL || counts_r == NULL)
		return import_error(err, PERSIST_EINVAL, 0,
				    "import_fill: handle, directory and counts are required");
	memset(counts_r, 0, sizeof(*counts_r));
	contents = import_path(dir, "contents");
	if (contents == NULL)
		return import_error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	if ((ret = stat(contents, &st)) < 0 || !S_ISDIR(st.st_mode)) {
		int e = ret < 0 ? errno : ENOTDIR;
		ret = import_error(err, PERSIST_EINVAL, e,
				   "\"%s\" is not the platform's root directory\n"
				   "Its folder contents/ cannot be used: %s.", dir,
				   strerror(e));
		free(contents);
		return ret;
	}
	free(contents);
	if ((ret = import_config(&ic, err)) != PERSIST_OK ||
	    (ret = import_usage(&ic, err)) != PERSIST_OK ||
	    (ret = import_jsonl(&ic, "contents/data/feedback.jsonl",
				IMPORT_COLL_FEEDBACK, &counts_r->feedback,
				err)) != PERSIST_OK ||
	    (ret = import_jsonl(&ic, "contents/data/usage-events.jsonl",
				IMPORT_COLL_EVENTS, &counts_r->events,
				err)) != PERSIST_OK ||
	    (ret = import_links(&ic, err)) != PERSIST_OK)
		return ret;
	return PERSIST_OK;
}

/* The summary of what was read. */
void import_counts_print(FILE *out, const struct import_counts *c)
{
	fprintf(out, "read: %" PRIu64 " configuration documents (%" PRIu64
		" of them folder items), %" PRIu64 " other files ignored\n",
		c->documents, c->items, c->ignored_files);
	if (c->usage_generation != 0)
		fprintf(out, "read: usage.json, schema generation %d: %" PRIu64
			" counters\n", c->usage_generation, c->counters);
	fprintf(out, "read: %" PRIu64 " feedback records, %" PRIu64
		" usage events (%" PRIu64 " blank lines, %" PRIu64
		" torn last lines skipped)\n",
		c->feedback, c->events, c->blank_lines, c->torn_lines);
	fprintf(out, "read: %" PRIu64 " short links (%" PRIu64
		" without expiry), %" PRIu64 " expired ones skipped\n",
		c->links, c->links_no_expiry, c->links_expired);
	if (c->absent[0] != '\0')
		fprintf(out, "read: absent, nothing imported from them: %s\n",
			c->absent);
}
