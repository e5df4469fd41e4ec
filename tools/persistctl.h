/*
 * tools/persistctl.h - what the files of persistctl share: the exit codes,
 * the parsed command line, the command table and the helpers that turn a
 * persist status into a message on stderr and an exit code.
 *
 * persistctl.c owns main, the global options, the per-command option parser
 * and the exit-code mapping; each cmd-*.c file implements one command group
 * (plugins, check, config, state, session) and demo.c the demo.
 */
#ifndef PERSISTCTL_H
#define PERSISTCTL_H

#include <stddef.h>
#include <stdint.h>
#include <persist/persist.h>

/* Exit codes: part of the interface scripts rely on. */
#define CTL_EXIT_OK 0       /* success */
#define CTL_EXIT_NOTFOUND 1 /* the key/document/session/record asked for is absent */
#define CTL_EXIT_USAGE 2    /* bad arguments, invalid input, bad configuration file */
#define CTL_EXIT_FAIL 3     /* anything else (conflict, backend, plugin, I/O) */

/* Options a command may accept (bits of struct ctl_command.opts). */
#define CTL_OPT_TTL      (1u << 0) /* --ttl SECONDS */
#define CTL_OPT_IF_MATCH (1u << 1) /* --if-match ETAG */
#define CTL_OPT_FROM     (1u << 2) /* --from N */
/* persistctl migrate: --from FILE (instead of --from N), --to FILE,
   --kinds LIST, --dry-run, --force */
#define CTL_OPT_FROM_FILE (1u << 3)
#define CTL_OPT_TO        (1u << 4)
#define CTL_OPT_KINDS     (1u << 5)
#define CTL_OPT_DRY_RUN   (1u << 6)
#define CTL_OPT_FORCE     (1u << 7)

#define CTL_MAX_ARGS 4

/* Global state of one run: the global options and the handle's options. */
struct ctl {
	const char *config_path;  /* -c FILE, else $PERSIST_CONFIG, else NULL */
	char **plugin_dirs;       /* -P DIR..., made absolute */
	size_t n_plugin_dirs;
	struct persist_options opts;
};

/* A command's parsed arguments. */
struct ctl_args {
	const struct ctl_command *cmd;
	const char *pos[CTL_MAX_ARGS]; /* positional arguments */
	size_t n_pos;
	int have_ttl;
	int64_t ttl_ms;
	const char *if_match;  /* NULL: none */
	int have_from;
	uint64_t from;
	/* persistctl migrate */
	const char *from_file, *to_file; /* --from FILE, --to FILE; NULL: none */
	const char *kinds;               /* --kinds LIST; NULL: none */
	int dry_run, force;              /* --dry-run, --force */
};

/* One entry of the command table. */
struct ctl_command {
	const char *group;   /* "config", "state", "session", or NULL */
	const char *name;    /* "get", ...; the command itself when group is NULL */
	const char *args;    /* argument synopsis, e.g. "KEY [FILE]" */
	unsigned opts;       /* CTL_OPT_* accepted */
	unsigned min_args, max_args;
	const char *summary; /* one line */
	const char *help;    /* longer text for COMMAND --help, or NULL */
	int (*run)(struct ctl *ctl, const struct ctl_args *args);
};

/* --- helpers (persistctl.c) --------------------------------------------- */

/* Exit code for a persist status (0 for PERSIST_OK). */
int ctl_exit_code(int status);
/* Print `persistctl: MESSAGE` (and its detail lines) for err; return the
   exit code for its status. */
int ctl_fail(const struct persist_error *err);
/* Print `persistctl: MESSAGE` for a printf-style message; return code. */
int ctl_error(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print a usage error for the command and return CTL_EXIT_USAGE. */
int ctl_usage(const struct ctl_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Open the configured handle; on failure print the error and return the
   exit code (open failures caused by the configuration file map to 2). */
int ctl_open(struct ctl *ctl, persist **p_r);
/* Close the handle; a failure (e.g. a flush that did not make it) is
   printed and turned into an exit code, else `code` is returned. */
int ctl_close(persist *p, int code);
/* Write bytes to stdout; -1 on error. */
int ctl_write(const void *data, size_t len);
/* Write a document or value byte for byte; add a newline only when stdout
   is a terminal and the data does not end with one. */
int ctl_write_value(const char *data, size_t len);
/* Write one line field: the bytes with every CR/LF replaced by a space, so
   that one record stays one line. */
int ctl_write_oneline(const void *data, size_t len);
/* Parse a decimal int64 (whole string); 0 on success. */
int ctl_parse_int64(const char *s, int64_t *v_r);
/* Parse "SECONDS" (non-negative, up to 3 decimals) into milliseconds. */
int ctl_parse_seconds(const char *s, int64_t *ms_r);
/* Read a whole file ("-" or NULL: stdin) into a NUL-terminated buffer
   (free()); on failure print the error and return the exit code. */
int ctl_read_input(const char *path, char **data_r, size_t *len_r);
/* Check that text is one valid JSON value; else print an error naming
   `what` and return CTL_EXIT_USAGE. */
int ctl_check_json(const char *what, const char *text, size_t len);
/* Block SIGINT, SIGTERM (and ignore SIGPIPE) for the whole process: call
   before persist_open so that the library's threads inherit the mask. */
void ctl_block_signals(void);
/* Wait for SIGINT or SIGTERM (blocked by ctl_block_signals). */
void ctl_wait_signal(void);
/* Wake ctl_wait_signal from any thread (e.g. output failed). */
void ctl_wake(void);

/* --- commands ----------------------------------------------------------- */

int cmd_plugins(struct ctl *ctl, const struct ctl_args *args);
int cmd_check(struct ctl *ctl, const struct ctl_args *args);
/* For a kind with a fallback, one line of its mode, journal and replay
   (tools/cmd-check.c); nothing for the others. */
void ctl_print_fallback(persist *p, enum persist_kind kind, const char *indent);
/* The queued-write journals (journalQueued) of the state kind, if on. */
void ctl_print_journal(persist *p, const char *indent);

int cmd_config_get(struct ctl *ctl, const struct ctl_args *args);
int cmd_config_etag(struct ctl *ctl, const struct ctl_args *args);
int cmd_config_set(struct ctl *ctl, const struct ctl_args *args);
int cmd_config_delete(struct ctl *ctl, const struct ctl_args *args);
int cmd_config_list(struct ctl *ctl, const struct ctl_args *args);
int cmd_config_watch(struct ctl *ctl, const struct ctl_args *args);

int cmd_state_get(struct ctl *ctl, const struct ctl_args *args);
int cmd_state_set(struct ctl *ctl, const struct ctl_args *args);
int cmd_state_delete(struct ctl *ctl, const struct ctl_args *args);
int cmd_state_incr(struct ctl *ctl, const struct ctl_args *args);
int cmd_state_append(struct ctl *ctl, const struct ctl_args *args);
int cmd_state_log(struct ctl *ctl, const struct ctl_args *args);
int cmd_state_scan(struct ctl *ctl, const struct ctl_args *args);
int cmd_state_drop(struct ctl *ctl, const struct ctl_args *args);
int cmd_state_trim(struct ctl *ctl, const struct ctl_args *args);
int cmd_state_bounds(struct ctl *ctl, const struct ctl_args *args);
int cmd_state_collections(struct ctl *ctl, const struct ctl_args *args);

int cmd_session_put(struct ctl *ctl, const struct ctl_args *args);
int cmd_session_drop(struct ctl *ctl, const struct ctl_args *args);
int cmd_session_list(struct ctl *ctl, const struct ctl_args *args);
int cmd_session_broadcast(struct ctl *ctl, const struct ctl_args *args);
int cmd_session_send(struct ctl *ctl, const struct ctl_args *args);
int cmd_session_listen(struct ctl *ctl, const struct ctl_args *args);

int cmd_demo(struct ctl *ctl, const struct ctl_args *args);

int cmd_stats(struct ctl *ctl, const struct ctl_args *args);
int cmd_migrate(struct ctl *ctl, const struct ctl_args *args);
int cmd_import_platform(struct ctl *ctl, const struct ctl_args *args);
int cmd_state_flush(struct ctl *ctl, const struct ctl_args *args);

#endif
