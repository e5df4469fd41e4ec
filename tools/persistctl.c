/*
 * tools/persistctl.c - main of persistctl, the operator's tool: the global
 * options (-c FILE, -P DIR, --help, --version), the command table, the
 * parser of each command's arguments (options may stand before or after the
 * positional arguments), the usage texts, and the mapping of persist status
 * codes to the exit codes scripts rely on:
 *
 *   0  success
 *   1  not found: the key, document, session or record asked for is absent
 *   2  usage error or invalid input: bad arguments, a value the library
 *      refuses as invalid, a missing/unreadable/malformed configuration file
 *   3  any other failure: an ETag conflict (--if-match), an unhealthy or
 *      unreachable backend, a plugin that cannot be found or loaded, I/O;
 *      also a plugin that crashes or calls exit() while persistctl runs
 *      (reported with the plugin being initialised, when that is known)
 *
 * A failed --if-match is 3, not 2: the command was well formed, the data
 * just changed under it, and retrying after re-reading is the fix; scripts
 * tell it apart from other failures by the message.  A missing plugin is 3,
 * never 1, so that "1" always means "the data asked for is absent".
 *
 * Errors go to stderr as "persistctl: MESSAGE", the library's primary
 * message, with its detail sentence on the next line, indented.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>

#include "persistctl.h"

static const struct ctl_command commands[] = {
	{ NULL, "plugins", "", 0, 0, 0,
	  "list every plugin on the search path",
	  "One line per plugin: name, version, ABI, interfaces, capabilities of\n"
	  "each interface and the file; a plugin that cannot be loaded shows its\n"
	  "error instead.  Exit 3 when any plugin is broken, 1 when none is found.",
	  cmd_plugins },
	{ NULL, "check", "", 0, 0, 0,
	  "open the configuration and show each kind's provider and health",
	  "One line per kind: kind, provider, \"ok\" and the latency of its health\n"
	  "check, or the error.  Exit 0 only when every provider is healthy.",
	  cmd_check },
	{ "config", "get", "KEY", 0, 1, 1,
	  "print a document",
	  "Writes the document's bytes exactly as stored (a newline is added only\n"
	  "when standard output is a terminal).",
	  cmd_config_get },
	{ "config", "etag", "KEY", 0, 1, 1,
	  "print a document's ETag", NULL, cmd_config_etag },
	{ "config", "set", "KEY [FILE]", CTL_OPT_IF_MATCH | CTL_OPT_TTL, 1, 2,
	  "store a document read from FILE (default: stdin); print its new ETag",
	  "The document must be valid JSON.  --if-match ETAG stores it only if\n"
	  "the current ETag is ETAG (exit 3 otherwise, also when the document is\n"
	  "absent); --ttl SECONDS lets it expire.",
	  cmd_config_set },
	{ "config", "delete", "KEY", CTL_OPT_IF_MATCH, 1, 1,
	  "delete a document",
	  "--if-match ETAG deletes it only if the current ETag is ETAG (exit 3\n"
	  "otherwise).",
	  cmd_config_delete },
	{ "config", "list", "", 0, 0, 0,
	  "print every key, one a line, sorted", NULL, cmd_config_list },
	{ "config", "watch", "[KEY]", 0, 0, 1,
	  "print \"KEY ETAG\" per change (\"KEY -\": deleted) until SIGINT/SIGTERM",
	  "Each line is flushed at once.  A line \"* *\" means the provider lost\n"
	  "track of changes (e.g. after a reconnect): re-read everything.\n"
	  "Needs a provider with the notify capability.",
	  cmd_config_watch },
	{ "state", "get", "C K", 0, 2, 2,
	  "print the value of key K in collection C",
	  "Writes the value's bytes exactly as stored (a newline is added only\n"
	  "when standard output is a terminal).  Counters print as decimals.",
	  cmd_state_get },
	{ "state", "set", "C K VALUE", CTL_OPT_TTL, 3, 3,
	  "set key K of collection C to VALUE",
	  "--ttl SECONDS lets the key expire.", cmd_state_set },
	{ "state", "delete", "C K", 0, 2, 2,
	  "delete key K of collection C", NULL, cmd_state_delete },
	{ "state", "incr", "C K [N]", 0, 2, 3,
	  "add N (default 1, may be negative) to counter K; print the new value",
	  NULL, cmd_state_incr },
	{ "state", "append", "C JSON", 0, 2, 2,
	  "append one JSON record to the log of collection C", NULL,
	  cmd_state_append },
	{ "state", "log", "C", CTL_OPT_FROM, 1, 1,
	  "print the log of collection C, one record a line",
	  "--from N starts at record number N (records are numbered from 0).\n"
	  "Line breaks inside a record are printed as spaces.",
	  cmd_state_log },
	{ "state", "scan", "C [PREFIX]", 0, 1, 2,
	  "print \"KEY<TAB>VALUE\" for every live key (starting with PREFIX)",
	  "Sorted by key.  Line breaks inside a value are printed as spaces.",
	  cmd_state_scan },
	{ "state", "flush", "", 0, 0, 0,
	  "store the queued state writes now and sync the provider", NULL,
	  cmd_state_flush },
	{ NULL, "stats", "", 0, 0, 0,
	  "show the state write queue's settings and counters",
	  "With batchInterval > 0 state writes are queued and flushed in\n"
	  "batches; this prints the settings in force, the queue's depth and\n"
	  "limits, ops queued, coalesced, flushed and rejected, flushes and\n"
	  "failures, flush latency (last, median of 64, max) and the last error.",
	  cmd_stats },
	{ "state", "drop", "C", 0, 1, 1,
	  "remove collection C: every key and its whole log",
	  "The log's record numbers start again at 0.  Dropping a collection\n"
	  "that does not exist is no error.",
	  cmd_state_drop },
	{ "state", "trim", "C BEFORE", 0, 2, 2,
	  "remove the records of C's log numbered below BEFORE",
	  "The records kept keep their numbers, and appends go on from the same\n"
	  "next number (see state bounds).  A BEFORE beyond the log's next record\n"
	  "number is refused (exit 2) and nothing is removed.",
	  cmd_state_trim },
	{ "state", "bounds", "C", 0, 1, 1,
	  "print \"FIRST NEXT\": the first record number of C's log and the next",
	  "FIRST is 0 until a trim; NEXT is the number the next append gets, so\n"
	  "the log holds NEXT - FIRST records.",
	  cmd_state_bounds },
	{ "state", "collections", "", 0, 0, 0,
	  "print the name of every collection holding a key or a log record, sorted",
	  "One name a line.  A collection that was dropped is not listed; one\n"
	  "whose keys were all deleted or expired may be.  Needs a provider that\n"
	  "can list its collections (ABI 1.3).",
	  cmd_state_collections },
	{ "session", "put", "ID JSON", CTL_OPT_TTL, 2, 2,
	  "register or refresh session ID with its JSON data",
	  "--ttl SECONDS lets the session expire (default: until dropped).",
	  cmd_session_put },
	{ "session", "drop", "ID", 0, 1, 1,
	  "remove session ID", NULL, cmd_session_drop },
	{ "session", "list", "", 0, 0, 0,
	  "print \"ID<TAB>INSTANCE<TAB>DATA\" for every live session", NULL,
	  cmd_session_list },
	{ "session", "broadcast", "EVENT JSON", 0, 2, 2,
	  "send an event to every instance", NULL, cmd_session_broadcast },
	{ "session", "send", "ID EVENT JSON", 0, 3, 3,
	  "send an event to the instance holding session ID", NULL,
	  cmd_session_send },
	{ "session", "listen", "", 0, 0, 0,
	  "print \"EVENT<TAB>JSON\" per event until SIGINT/SIGTERM",
	  "Each line is flushed at once; JSON is the event's data byte for byte.\n"
	  "Data holding a line break is printed as \"EVENT<TAB>=\" and the data as\n"
	  "one JSON string literal, whose decoded value is the exact bytes.\n"
	  "Needs a sessions provider with the broadcast capability (events of\n"
	  "other processes).",
	  cmd_session_listen },
	{ NULL, "demo", "", 0, 0, 0,
	  "play a small platform's day on the configured providers",
	  "Creates the platform, apps, models, groups and ui documents if absent\n"
	  "and reads them back, tracks usage, appends feedback, creates and\n"
	  "resolves short links, registers sessions and sends events; then\n"
	  "prints what it did, the totals read back (a mismatch exits 3) and\n"
	  "the rate of each phase.  Without a configuration file it uses the\n"
	  "embedded default: data under ./persist-data.",
	  cmd_demo },
	{ NULL, "migrate",
	  "--from FILE --to FILE [--kinds configuration,state] [--dry-run] [--force]",
	  CTL_OPT_FROM_FILE | CTL_OPT_TO | CTL_OPT_KINDS | CTL_OPT_DRY_RUN |
	  CTL_OPT_FORCE, 0, 0,
	  "copy every document and state collection from one setup to another",
	  "Opens both configuration files (-c is not used), copies every\n"
	  "configuration document and every state collection (keys and counters\n"
	  "with what remains of their TTL, logs in order) from the providers of\n"
	  "--from to those of --to in batches, then verifies both sides: counts\n"
	  "and a SHA-256 per collection, the ETag of every document.  A rerun\n"
	  "finishes an interrupted run and doubles nothing.  A target holding\n"
	  "other data is refused (exit 3, the differences printed) unless\n"
	  "--force, which overwrites keys and documents (never a diverging log).\n"
	  "--dry-run compares and says what would be copied.  Sessions are not\n"
	  "migrated.  Exit 0 when both sides are equal, 3 on any difference.",
	  cmd_migrate },
	{ NULL, "import-platform", "DIR --to FILE [--dry-run] [--force]",
	  CTL_OPT_TO | CTL_OPT_DRY_RUN | CTL_OPT_FORCE, 1, 1,
	  "import the platform's own files under DIR into the providers of FILE",
	  "DIR is the platform's root (the folder holding contents/); -c is not\n"
	  "used.  Reads contents/config (documents, byte for byte, ${VAR} and\n"
	  "ENC[...] unresolved) and contents/data (usage.json of any of its three\n"
	  "schema generations as counters, feedback.jsonl and usage-events.jsonl\n"
	  "as logs, shortlinks.json as keys with their expiry as TTL) into memory,\n"
	  "then copies it into the providers of --to and verifies the copy.  A\n"
	  "malformed file stops it before anything is written (exit 2).  A second\n"
	  "import adds nothing; a target holding different data is refused (exit\n"
	  "3) unless --force.  --dry-run reads and compares, writes nothing.",
	  cmd_import_platform },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char *const groups[] = { "config", "state", "session" };

/* Map a persist status to an exit code. */
int ctl_exit_code(int status)
{
	switch (status) {
	case PERSIST_OK:
		return CTL_EXIT_OK;
	case PERSIST_ENOTFOUND:
		return CTL_EXIT_NOTFOUND;
	case PERSIST_EINVAL:
	case PERSIST_ECONFIG:
		return CTL_EXIT_USAGE;
	default:
		return CTL_EXIT_FAIL;
	}
}

/* Print a message as "persistctl: LABELPRIMARY" plus indented detail
   lines (label "" or e.g. "warning: "). */
static void print_labelled(const char *label, const char *msg)
{
	const char *nl = strchr(msg, '\n');

	fprintf(stderr, "persistctl: %s%.*s\n", label,
		(int)(nl != NULL ? (size_t)(nl - msg) : strlen(msg)), msg);
	while (nl != NULL) {
		const char *line = nl + 1;
		nl = strchr(line, '\n');
		size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
		if (len > 0)
			fprintf(stderr, "  %.*s\n", (int)len, line);
	}
}

/* Print a message as "persistctl: PRIMARY" plus indented detail lines. */
static void print_message(const char *msg)
{
	print_labelled("", msg);
}

/* Report a library error; return its exit code. */
int ctl_fail(const struct persist_error *err)
{
	if (err->msg[0] != '\0')
		print_message(err->msg);
	else
		fprintf(stderr, "persistctl: %s\n", persist_strerror(err->code));
	return err->code == PERSIST_OK ? CTL_EXIT_FAIL : ctl_exit_code(err->code);
}

/* Report a printf-style error; return code. */
int ctl_error(int code, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	print_message(buf);
	return code;
}

/* Print the synopsis of one command to f. */
static void print_synopsis(FILE *f, const struct ctl_command *c)
{
	fprintf(f, "persistctl [-c FILE] [-P DIR]... %s%s%s%s%s%s%s%s", c->group != NULL ? c->group : "",
		c->group != NULL ? " " : "", c->name,
		c->args[0] != '\0' ? " " : "", c->args,
		(c->opts & CTL_OPT_IF_MATCH) ? " [--if-match ETAG]" : "",
		(c->opts & CTL_OPT_TTL) ? " [--ttl SECONDS]" : "",
		(c->opts & CTL_OPT_FROM) ? " [--from N]" : "");
	fputc('\n', f);
}

/* Usage error of a command (or of the tool when cmd is NULL). */
int ctl_usage(const struct ctl_command *cmd, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	print_message(buf);
	if (cmd != NULL) {
		fputs("usage: ", stderr);
		print_synopsis(stderr, cmd);
	} else {
		fputs("usage: persistctl [-c FILE] [-P DIR]... COMMAND [ARGS]\n"
		      "Try \"persistctl --help\".\n", stderr);
	}
	return CTL_EXIT_USAGE;
}

/* One command's line pair in the full help. */
static void print_command_help(FILE *f, const struct ctl_command *c)
{
	char line[256];

	snprintf(line, sizeof(line), "%s%s%s%s%s%s%s%s",
		 c->group != NULL ? c->group : "", c->group != NULL ? " " : "",
		 c->name, c->args[0] != '\0' ? " " : "", c->args,
		 (c->opts & CTL_OPT_IF_MATCH) ? " [--if-match ETAG]" : "",
		 (c->opts & CTL_OPT_TTL) ? " [--ttl SECONDS]" : "",
		 (c->opts & CTL_OPT_FROM) ? " [--from N]" : "");
	fprintf(f, "  %s\n        %s\n", line, c->summary);
}

/* The --help text of the tool. */
static void print_help(FILE *f)
{
	fputs("Usage: persistctl [-c FILE] [-P DIR]... COMMAND [ARGS]\n"
	      "\n"
	      "Operate a persist setup: list plugins, check providers, read and write\n"
	      "configuration documents, state and sessions, run the demo.\n"
	      "\n"
	      "Options:\n"
	      "  -c, --config FILE      configuration file (default: $PERSIST_CONFIG, else\n"
	      "                         the embedded default: filesystem configuration and\n"
	      "                         state under ./persist-data, memory sessions)\n"
	      "  -P, --plugin-dir DIR   search DIR for plugins first (repeatable)\n"
	      "  -h, --help             show this help (COMMAND --help: that command's)\n"
	      "  -V, --version          show the version\n"
	      "\n"
	      "Commands:\n", f);
	for (size_t i = 0; i < N_COMMANDS; i++)
		print_command_help(f, &commands[i]);
	fputs("\n"
	      "--ttl, --if-match and --from may stand before or after the other\n"
	      "arguments; \"--\" ends the options.\n"
	      "\n"
	      "Exit status:\n"
	      "  0  success\n"
	      "  1  not found: the key, document or session asked for is absent\n"
	      "  2  usage error or invalid input (bad arguments, a value the library\n"
	      "     refuses, a missing, unreadable or malformed configuration file)\n"
	      "  3  any other failure: ETag conflict (--if-match), unhealthy or\n"
	      "     unreachable backend, plugin not found or not loadable, I/O\n"
	      "Errors are printed on stderr as \"persistctl: MESSAGE\".\n", f);
}

/* COMMAND --help. */
static void print_one_help(const struct ctl_command *c)
{
	fputs("Usage: ", stdout);
	print_synopsis(stdout, c);
	printf("\n%s.\n", c->summary);
	if (c->help != NULL)
		printf("\n%s\n", c->help);
	fputs("\nExit status: 0 success, 1 not found, 2 usage or invalid input,\n"
	      "3 any other failure (including an ETag conflict).\n", stdout);
}

/* "persistctl GROUP --help": the group's commands. */
static void print_group_help(const char *group)
{
	printf("Usage: persistctl [-c FILE] [-P DIR]... %s COMMAND [ARGS]\n\n"
	       "Commands:\n", group);
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (commands[i].group != NULL &&
		    strcmp(commands[i].group, group) == 0)
			print_command_help(stdout, &commands[i]);
}

/* Parse a decimal int64 (whole string). */
int ctl_parse_int64(const char *s, int64_t *v_r)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || (*s != '-' && *s != '+' &&
					  (*s < '0' || *s > '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*v_r = v;
	return 0;
}

/* Parse SECONDS ("30", "0.25") into milliseconds. */
int ctl_parse_seconds(const char *s, int64_t *ms_r)
{
	int64_t ms = 0;
	const char *p = s;
	int digits = 0, frac = -1;

	for (; *p != '\0'; p++) {
		if (*p == '.' && frac < 0 && digits > 0) {
			frac = 0;
			continue;
		}
		if (*p < '0' || *p > '9')
			return -1;
		if (frac >= 0 && ++frac > 3)
			return -1;
		if (ms > (INT64_MAX - 9) / 10)
			return -1;
		ms = ms * 10 + (*p - '0');
		digits++;
	}
	if (digits == 0 || frac == 0)
		return -1;
	for (int i = frac < 0 ? 0 : frac; i < 3; i++) {
		if (ms > INT64_MAX / 10)
			return -1;
		ms *= 10;
	}
	*ms_r = ms;
	return 0;
}

/* Does arg look like the long option `name` ("--name" or "--name=...")? */
static const char *match_opt(const char *arg, const char *name, int *inline_r)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n) != 0)
		return NULL;
	if (arg[n] == '\0') {
		*inline_r = 0;
		return arg + n;
	}
	if (arg[n] == '=') {
		*inline_r = 1;
		return arg + n + 1;
	}
	return NULL;
}

/* Parse a command's arguments; returns -1 when --help was asked (printed),
   an exit code on a usage error, 0 on success. */
static int parse_args(const struct ctl_command *c, int argc, char **argv,
		      struct ctl_args *a)
{
	int options_done = 0;

	memset(a, 0, sizeof(*a));
	a->cmd = c;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *val;
		int inl = 0;

		if (!options_done && strcmp(arg, "--") == 0) {
			options_done = 1;
			continue;
		}
		if (!options_done && (strcmp(arg, "--help") == 0 ||
				      strcmp(arg, "-h") == 0)) {
			print_one_help(c);
			return -1;
		}
		if (options_done || strncmp(arg, "--", 2) != 0) {
			if (a->n_pos >= c->max_args)
				return ctl_usage(c, "too many arguments (\"%s\")", arg);
			a->pos[a->n_pos++] = arg;
			continue;
		}
		/* a long option */
		const char *name;
		unsigned bit;
		if ((val = match_opt(arg, "--ttl", &inl)) != NULL) {
			name = "--ttl";
			bit = CTL_OPT_TTL;
		} else if ((val = match_opt(arg, "--if-match", &inl)) != NULL) {
			name = "--if-match";
			bit = CTL_OPT_IF_MATCH;
		} else if ((val = match_opt(arg, "--from", &inl)) != NULL) {
			name = "--from";
			bit = (c->opts & CTL_OPT_FROM_FILE) ? CTL_OPT_FROM_FILE : CTL_OPT_FROM;
		} else if ((val = match_opt(arg, "--to", &inl)) != NULL) {
			name = "--to";
			bit = CTL_OPT_TO;
		} else if ((val = match_opt(arg, "--kinds", &inl)) != NULL) {
			name = "--kinds";
			bit = CTL_OPT_KINDS;
		} else if (strcmp(arg, "--dry-run") == 0 || strcmp(arg, "--force") == 0) {
			/* flags: no value */
			bit = arg[2] == 'd' ? CTL_OPT_DRY_RUN : CTL_OPT_FORCE;
			if (!(c->opts & bit))
				return ctl_usage(c, "option %s does not apply here", arg);
			*(bit == CTL_OPT_DRY_RUN ? &a->dry_run : &a->force) = 1;
			continue;
		} else {
			return ctl_usage(c, "unknown option \"%s\"", arg);
		}
		if (!(c->opts & bit))
			return ctl_usage(c, "option %s does not apply here", name);
		if (!inl) {
			if (i + 1 >= argc)
				return ctl_usage(c, "option %s needs a value", name);
			val = argv[++i];
		}
		if (bit == CTL_OPT_TTL) {
			if (ctl_parse_seconds(val, &a->ttl_ms) < 0)
				return ctl_usage(c, "invalid --ttl \"%s\"\n"
						 "Give a number of seconds (up to 3 decimals).",
						 val);
			a->have_ttl = 1;
		} else if (bit & (CTL_OPT_FROM_FILE | CTL_OPT_TO | CTL_OPT_KINDS)) {
			if (*val == '\0')
				return ctl_usage(c, "empty %s", name);
			*(bit == CTL_OPT_FROM_FILE ? &a->from_file :
			  bit == CTL_OPT_TO ? &a->to_file : &a->kinds) = val;
		} else if (bit == CTL_OPT_IF_MATCH) {
			if (*val == '\0')
				return ctl_usage(c, "empty --if-match ETag");
			a->if_match = val;
		} else {
			int64_t n;
			if (ctl_parse_int64(val, &n) < 0 || n < 0)
				return ctl_usage(c, "invalid --from \"%s\"\n"
						 "Give a record number (0 or more).", val);
			a->from = (uint64_t)n;
			a->have_from = 1;
		}
	}
	if (a->n_pos < c->min_args)
		return ctl_usage(c, "missing arguments");
	return 0;
}

/* Open the configured handle (see persistctl.h). */
int ctl_open(struct ctl *ctl, persist **p_r)
{
	struct persist_error err = { 0 };
	int ret;

	ret = persist_open_file(ctl->config_path, &ctl->opts, p_r, &err);
	if (ret == PERSIST_OK)
		return CTL_EXIT_OK;
	if (err.code == PERSIST_OK)
		err.code = ret;
	/* Problems with the configuration file itself are invalid input. */
	if (ret == PERSIST_ENOTFOUND ||
	    (ret == PERSIST_EIO && ctl->config_path != NULL &&
	     (err.sys_errno == ENOENT || err.sys_errno == EACCES ||
	      err.sys_errno == EISDIR || err.sys_errno == ENOTDIR ||
	      err.sys_errno == ELOOP))) {
		ctl_fail(&err);
		return CTL_EXIT_USAGE;
	}
	return ctl_fail(&err);
}

/* Close the handle, reporting a failure (see persistctl.h). */
int ctl_close(persist *p, int code)
{
	struct persist_error err = { 0 };

	if (persist_close(p, &err) != PERSIST_OK) {
		int c = ctl_fail(&err);
		return code != CTL_EXIT_OK ? code : c;
	}
	return code;
}

/* Write bytes to stdout. */
int ctl_write(const void *data, size_t len)
{
	if (len > 0 && fwrite(data, 1, len, stdout) != len)
		return -1;
	return 0;
}

/* Write a document or value, adding a newline only for a terminal. */
int ctl_write_value(const char *data, size_t len)
{
	if (ctl_write(data, len) < 0)
		return -1;
	if (isatty(STDOUT_FILENO) && (len == 0 || data[len - 1] != '\n'))
		return putchar('\n') == EOF ? -1 : 0;
	return 0;
}

/* Write bytes with CR/LF turned into spaces. */
int ctl_write_oneline(const void *data, size_t len)
{
	const char *p = data, *end = p + len;

	while (p < end) {
		const char *q = p;
		while (q < end && *q != '\n' && *q != '\r')
			q++;
		if (ctl_write(p, (size_t)(q - p)) < 0)
			return -1;
		if (q < end && putchar(' ') == EOF)
			return -1;
		p = q + (q < end);
	}
	return 0;
}

/* Read a whole file or stdin (see persistctl.h).  Reading stops one byte
   past the limit: a larger input is refused without being read whole. */
int ctl_read_input(const char *path, char **data_r, size_t *len_r)
{
	const char *name = path == NULL || strcmp(path, "-") == 0 ?
		"standard input" : path;
	const size_t limit = PERSIST_VALUE_MAX;
	FILE *f = stdin;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	struct stat st;
	int code = CTL_EXIT_OK;

	if (path != NULL && strcmp(path, "-") != 0) {
		f = fopen(path, "rb");
		if (f == NULL)
			return ctl_error(CTL_EXIT_USAGE, "cannot open \"%s\": %s",
					 path, strerror(errno));
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		code = ctl_error(CTL_EXIT_USAGE, "cannot read \"%s\": %s", name,
				 strerror(EISDIR));
		goto out;
	}
	for (;;) {
		size_t n;

		if (cap - len < 2) {
			/* room for limit + 1 bytes and the NUL, no more */
			size_t ncap = cap == 0 ? 65536 * 2 : cap * 2;
			char *nbuf;

			if (ncap > limit + 2)
				ncap = limit + 2;
			nbuf = realloc(buf, ncap);
			if (nbuf == NULL) {
				code = ctl_error(CTL_EXIT_FAIL, "out of memory reading %s", name);
				goto out;
			}
			buf = nbuf;
			cap = ncap;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (len > limit) {
			code = ctl_error(CTL_EXIT_USAGE,
					 "%s is too large\nA document holds at most %zu bytes.",
					 name, limit);
			goto out;
		}
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		code = ctl_error(CTL_EXIT_USAGE, "cannot read %s: %s", name,
				 strerror(errno));
		goto out;
	}
	buf[len] = '\0';
	*data_r = buf;
	*len_r = len;
	buf = NULL;
out:
	free(buf);
	if (f != stdin)
		fclose(f);
	return code;
}

/* Check that text is one JSON value, strictly, valid UTF-8. */
int ctl_check_json(const char *what, const char *text, size_t len)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end;

	if (len == 0)
		return ctl_error(CTL_EXIT_USAGE, "%s is empty\nGive a JSON value.", what);
	if (len > INT_MAX)
		return ctl_error(CTL_EXIT_USAGE, "%s is too large", what);
	tok = json_tokener_new();
	if (tok == NULL)
		return ctl_error(CTL_EXIT_FAIL, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
			       JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (obj != NULL && jerr == json_tokener_success && end < len) {
		/* only white space may follow */
		for (size_t i = end; i < len; i++)
			if (text[i] != ' ' && text[i] != '\t' &&
			    text[i] != '\n' && text[i] != '\r') {
				jerr = json_tokener_error_parse_unexpected;
				break;
			}
	}
	if (obj == NULL && jerr == json_tokener_continue)
		jerr = json_tokener_error_parse_eof;
	json_object_put(obj);
	json_tokener_free(tok);
	if (jerr != json_tokener_success || obj == NULL)
		return ctl_error(CTL_EXIT_USAGE, "%s is not valid JSON\n%s.", what,
				 json_tokener_error_desc(jerr));
	return CTL_EXIT_OK;
}

/* Block the stop signals in every thread created from now on. */
void ctl_block_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* Wait until SIGINT or SIGTERM arrives. */
void ctl_wait_signal(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	while (sigwait(&set, &sig) != 0)
		;
}

/* Wake ctl_wait_signal (process-directed, so the waiting thread gets it). */
void ctl_wake(void)
{
	kill(getpid(), SIGTERM);
}

/* Find a top-level command or a group's command. */
static const struct ctl_command *find_command(const char *group, const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const struct ctl_command *c = &commands[i];
		if ((group == NULL) != (c->group == NULL))
			continue;
		if (group != NULL && strcmp(group, c->group) != 0)
			continue;
		if (strcmp(name, c->name) == 0)
			return c;
	}
	return NULL;
}

/* The kinds a command opens: a group's commands only their own kind, so
   that a problem with another kind's store (unreachable, unreadable) does
   not stop them; the others (check, demo) every kind. */
static uint32_t command_kinds(const struct ctl_command *c)
{
	if (c->group == NULL)
		return 0;
	if (strcmp(c->group, "config") == 0)
		return PERSIST_KIND_BIT(PERSIST_KIND_CONFIG);
	if (strcmp(c->group, "state") == 0)
		return PERSIST_KIND_BIT(PERSIST_KIND_STATE);
	return PERSIST_KIND_BIT(PERSIST_KIND_SESSION);
}

/* Is name a command group? */
static int is_group(const char *name)
{
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (strcmp(groups[i], name) == 0)
			return 1;
	return 0;
}

/* Add a -P directory, made absolute, after checking it is a directory. */
static int add_plugin_dir(struct ctl *ctl, const char *dir)
{
	struct stat st;
	char *abs;

	if (*dir == '\0')
		return ctl_usage(NULL, "empty plugin directory");
	if (stat(dir, &st) < 0)
		return ctl_error(CTL_EXIT_USAGE, "plugin directory \"%s\": %s",
				 dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return ctl_error(CTL_EXIT_USAGE, "plugin directory \"%s\": %s",
				 dir, strerror(ENOTDIR));
	if (dir[0] == '/') {
		abs = strdup(dir);
	} else {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return ctl_error(CTL_EXIT_FAIL, "cannot get the working directory: %s",
					 strerror(errno));
		size_t n = strlen(cwd) + strlen(dir) + 2;
		abs = malloc(n);
		if (abs != NULL)
			snprintf(abs, n, "%s/%s", cwd, dir);
	}
	char **nd = realloc(ctl->plugin_dirs,
			    (ctl->n_plugin_dirs + 1) * sizeof(*nd));
	if (abs == NULL || nd == NULL) {
		free(abs);
		if (nd != NULL)
			ctl->plugin_dirs = nd;
		return ctl_error(CTL_EXIT_FAIL, "out of memory");
	}
	ctl->plugin_dirs = nd;
	ctl->plugin_dirs[ctl->n_plugin_dirs++] = abs;
	return CTL_EXIT_OK;
}

/* Flush stdout and report a write error (like coreutils' close_stdout). */
static int finish_output(int code)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		int e = errno;
		if (e == EPIPE)
			return code;
		fprintf(stderr, "persistctl: cannot write to standard output: %s\n",
			strerror(e));
		return code != CTL_EXIT_OK ? code : CTL_EXIT_FAIL;
	}
	return code;
}

/* Parse the global options, find the command, run it. */
static int run(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "plugin-dir", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const struct ctl_command *c;
	struct ctl_args args;
	int opt, ret;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+c:P:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (optarg[0] == '\0')
				return ctl_usage(NULL, "empty configuration file name");
			ctl->config_path = optarg;
			break;
		case 'P':
			if ((ret = add_plugin_dir(ctl, optarg)) != CTL_EXIT_OK)
				return ret;
			break;
		case 'h':
			print_help(stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("persistctl (persist) %s, plugin ABI %d.%d\n",
			       PERSIST_VERSION, PERSIST_ABI_MAJOR, PERSIST_ABI_MINOR);
			return CTL_EXIT_OK;
		default:
			if (optopt != 0 && strchr("cP", optopt) != NULL)
				return ctl_usage(NULL, "option -%c needs a value", optopt);
			if (optopt != 0)
				return ctl_usage(NULL, "unknown option \"-%c\"", optopt);
			return ctl_usage(NULL, "unknown option \"%s\"", argv[optind - 1]);
		}
	}
	if (ctl->config_path == NULL) {
		const char *env = getenv("PERSIST_CONFIG");
		if (env != NULL && *env != '\0')
			ctl->config_path = env;
	}
	ctl->opts.plugin_dirs = (const char *const *)ctl->plugin_dirs;
	ctl->opts.n_plugin_dirs = ctl->n_plugin_dirs;

	if (optind >= argc)
		return ctl_usage(NULL, "no command given");
	const char *name = argv[optind++];
	if (is_group(name)) {
		if (optind >= argc)
			return ctl_usage(NULL, "%s needs a command", name);
		const char *sub = argv[optind++];
		if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
			print_group_help(name);
			return CTL_EXIT_OK;
		}
		c = find_command(name, sub);
		if (c == NULL)
			return ctl_usage(NULL, "unknown command \"%s %s\"", name, sub);
	} else {
		c = find_command(NULL, name);
		if (c == NULL)
			return ctl_usage(NULL, "unknown command \"%s\"", name);
	}
	ret = parse_args(c, argc - optind, argv + optind, &args);
	if (ret < 0)
		return CTL_EXIT_OK; /* --help */
	if (ret != 0)
		return ret;
	ctl->opts.kinds = command_kinds(c);
	return c->run(ctl, &args);
}

/* The last "initialising plugin ..." line of the library's log: a plugin
   whose init exits or crashes takes persistctl with it, and this line then
   says which plugin it was. */
static char last_init[512];
static pid_t main_pid;
static volatile sig_atomic_t main_done; /* main is returning normally */

/* The library's log: warnings and errors to stderr; of the rest, only the
   plugin being initialised is kept (for report_death). */
static void log_stderr(void *ctx, enum persist_log_level level,
		       const char *message)
{
	(void)ctx;
	if (level < PERSIST_LOG_WARNING) {
		if (strncmp(message, "initialising plugin ", 20) == 0)
			snprintf(last_init, sizeof(last_init), "%s", message);
		return;
	}
	print_labelled(level >= PERSIST_LOG_ERROR ? "error: " : "warning: ", message);
}

/* Write s to stderr (async-signal-safe). */
static void write_stderr(const char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		ssize_t w = write(STDERR_FILENO, s, len);
		if (w <= 0)
			return;
		s += w;
		len -= (size_t)w;
	}
}

/* Say why persistctl is dying and what it was doing (async-signal-safe). */
static void report_death(const char *what)
{
	write_stderr("persistctl: ");
	write_stderr(what);
	write_stderr("\n");
	if (last_init[0] != '\0') {
		write_stderr("  This happened after the library logged: ");
		write_stderr(last_init);
		write_stderr("\n");
	}
}

/* A fatal signal (a plugin crashed, most likely in its init): report it
   and exit with 3, keeping the exit code in its documented range. */
static void on_fatal_signal(int sig)
{
	char msg[] = "crashed (signal 00)";
	char *d = strchr(msg, '0');

	d[0] = (char)('0' + (sig / 10) % 10);
	d[1] = (char)('0' + sig % 10);
	report_death(msg);
	_exit(CTL_EXIT_FAIL);
}

/* exit() called by code other than main's return (a plugin): report it
   and exit with 3 instead of the plugin's status.  Does nothing in a
   child process (the plugin probe's children report their own status). */
static void on_foreign_exit(void)
{
	if (main_done || getpid() != main_pid)
		return;
	report_death("a plugin or library ended the process (exit called)");
	_exit(CTL_EXIT_FAIL);
}

/* Keep every way of dying within the documented exit codes. */
static void install_death_reports(void)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct sigaction sa;

	main_pid = getpid();
	atexit(on_foreign_exit);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
}

/* Entry point. */
int main(int argc, char **argv)
{
	struct ctl ctl;
	int ret;

	install_death_reports();
	memset(&ctl, 0, sizeof(ctl));
	ctl.opts.size = sizeof(ctl.opts);
	ctl.opts.log = log_stderr;
	ctl.opts.log_level = PERSIST_LOG_INFO;
	ret = run(&ctl, argc, argv);
	for (size_t i = 0; i < ctl.n_plugin_dirs; i++)
		free(ctl.plugin_dirs[i]);
	free(ctl.plugin_dirs);
	ret = finish_output(ret);
	main_done = 1;
	return ret;
}
