/*
 * tools/cmd-plugins.c - `persistctl plugins`: every plugin on the search
 * path (-P dirs, PERSIST_PLUGIN_PATH, the configuration's pluginPath, the
 * built-in directory) as one aligned line each, so an operator sees at a
 * glance what is installed, what each plugin offers, and why one does not
 * load.
 *
 * Columns: NAME VERSION ABI INTERFACES CAPABILITIES FILE.  CAPABILITIES is
 * "kind=cap,cap;kind=cap" (no spaces, so awk can split the line); a plugin
 * that cannot be loaded shows "-" in the middle columns and "error: ..." in
 * the last one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persistctl.h"

#define N_COLS 6

/* Interfaces a plugin offers, "config,state,session". */
static void format_kinds(const struct persist_plugin_info *pi, char *buf,
			 size_t size)
{
	buf[0] = '\0';
	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		if (!pi->has_kind[k])
			continue;
		if (buf[0] != '\0')
			strncat(buf, ",", size - strlen(buf) - 1);
		strncat(buf, persist_kind_name((enum persist_kind)k),
			size - strlen(buf) - 1);
	}
	if (buf[0] == '\0')
		snprintf(buf, size, "-");
}

/* Capabilities per interface, "config=ttl,cas;state=atomic_incr". */
static void format_caps(const struct persist_plugin_info *pi, char *buf,
			size_t size)
{
	char one[256];

	buf[0] = '\0';
	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		if (!pi->has_kind[k])
			continue;
		persist_caps_string(pi->caps[k], one, sizeof(one));
		size_t used = strlen(buf);
		snprintf(buf + used, size - used, "%s%s=%s",
			 used > 0 ? ";" : "",
			 persist_kind_name((enum persist_kind)k),
			 one[0] != '\0' ? one : "-");
	}
	if (buf[0] == '\0')
		snprintf(buf, size, "-");
}

/* An error message on one line: detail lines joined with " - ". */
static void format_error(const struct persist_plugin_info *pi, char *buf,
			 size_t size)
{
	const char *msg = pi->error != NULL && pi->error[0] != '\0' ?
		pi->error : persist_strerror(pi->status);
	size_t j = snprintf(buf, size, "error: ");

	for (size_t i = 0; msg[i] != '\0' && j + 4 < size; i++) {
		if (msg[i] == '\n') {
			memcpy(buf + j, " - ", 3);
			j += 3;
		} else if (msg[i] != '\r') {
			buf[j++] = msg[i];
		}
	}
	buf[j] = '\0';
}

/* One table line: columns padded to their widths, the last one not. */
static void print_row(const char *const col[N_COLS], const size_t w[N_COLS])
{
	for (int c = 0; c < N_COLS - 1; c++)
		printf("%-*s  ", (int)w[c], col[c]);
	printf("%s\n", col[N_COLS - 1]);
}

/* List the plugins; exit 3 when one is broken, 1 when none is found. */
int cmd_plugins(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	struct persist_plugin_info *infos = NULL;
	size_t n = 0, w[N_COLS] = { 0 };
	char *cells = NULL;
	int ret, broken = 0;
	static const char *const head[N_COLS] = {
		"NAME", "VERSION", "ABI", "INTERFACES", "CAPABILITIES", "FILE"
	};
	enum { CELL = 1024 };

	ret = persist_plugins_probe(&ctl->opts, ctl->config_path, &infos, &n,
				    &err);
	if (ret != PERSIST_OK) {
		if (err.code == PERSIST_OK)
			err.code = ret;
		ctl_fail(&err);
		/* a bad configuration file is input, whatever its status */
		return ret == PERSIST_ENOTFOUND ? CTL_EXIT_USAGE : ctl_exit_code(ret);
	}
	if (n == 0) {
		persist_plugins_free(infos, n);
		return ctl_error(CTL_EXIT_NOTFOUND, "no plugins found\n"
				 "Give a directory with -P or set PERSIST_PLUGIN_PATH.");
	}
	cells = calloc(n * N_COLS, CELL);
	if (cells == NULL) {
		persist_plugins_free(infos, n);
		return ctl_error(CTL_EXIT_FAIL, "out of memory");
	}
	for (int c = 0; c < N_COLS; c++)
		w[c] = strlen(head[c]);
	for (size_t i = 0; i < n; i++) {
		const struct persist_plugin_info *pi = &infos[i];
		char *row = cells + i * N_COLS * CELL;

		snprintf(row, CELL, "%s", pi->name != NULL ? pi->name : "?");
		if (pi->status == PERSIST_OK) {
			snprintf(row + CELL, CELL, "%s",
				 pi->version != NULL ? pi->version : "-");
			snprintf(row + 2 * CELL, CELL, "%u.%u", pi->abi_major,
				 pi->abi_minor);
			format_kinds(pi, row + 3 * CELL, CELL);
			format_caps(pi, row + 4 * CELL, CELL);
			snprintf(row + 5 * CELL, CELL, "%s",
				 pi->path != NULL ? pi->path : "-");
		} else {
			broken++;
			snprintf(row + CELL, CELL, "-");
			if (pi->abi_major != 0 || pi->abi_minor != 0)
				snprintf(row + 2 * CELL, CELL, "%u.%u",
					 pi->abi_major, pi->abi_minor);
			else
				snprintf(row + 2 * CELL, CELL, "-");
			snprintf(row + 3 * CELL, CELL, "-");
			snprintf(row + 4 * CELL, CELL, "-");
			format_error(pi, row + 5 * CELL, CELL);
		}
		for (int c = 0; c < N_COLS; c++)
			if (strlen(row + c * CELL) > w[c])
				w[c] = strlen(row + c * CELL);
	}
	print_row(head, w);
	for (size_t i = 0; i < n; i++) {
		const char *row[N_COLS];
		for (int c = 0; c < N_COLS; c++)
			row[c] = cells + (i * N_COLS + (size_t)c) * CELL;
		print_row(row, w);
	}
	free(cells);
	persist_plugins_free(infos, n);
	if (broken > 0) {
		fflush(stdout);
		return ctl_error(CTL_EXIT_FAIL, "%d of %zu plugins cannot be loaded",
				 broken, n);
	}
	return CTL_EXIT_OK;
}
