/*
 * tools/cmd-migrate.c - `persistctl migrate --from FILE --to FILE`: moving
 * the data of one setup to another (files to Redis, Redis to PostgreSQL,
 * ...).  It opens both configuration files, checks that each configures
 * the kinds asked for (a kind a file leaves out would otherwise get the
 * embedded default, a directory under the working directory) and that
 * every provider involved is up and serving as primary, then runs the
 * copy engine (tools/migrate.h) with a progress line on a terminal and
 * prints its summary.  Exit 0 only when both sides are equal afterwards.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "migrate.h"
#include "persistctl.h"

/* Parse --kinds: a comma-separated list of configuration and state. */
static int parse_kinds(const struct ctl_command *cmd, const char *list,
		       unsigned *kinds_r)
{
	unsigned kinds = 0;
	const char *p = list;

	if (list == NULL) {
		*kinds_r = MIGRATE_CONFIG | MIGRATE_STATE;
		return CTL_EXIT_OK;
	}
	while (*p != '\0') {
		size_t n = strcspn(p, ",");

		if (n == strlen("configuration") && strncmp(p, "configuration", n) == 0)
			kinds |= MIGRATE_CONFIG;
		else if (n == strlen("state") && strncmp(p, "state", n) == 0)
			kinds |= MIGRATE_STATE;
		else if (n == strlen("sessions") && strncmp(p, "sessions", n) == 0)
			return ctl_usage(cmd, "sessions cannot be migrated\n"
					 "Sessions are live connections of running "
					 "processes; give configuration, state or both.");
		else
			return ctl_usage(cmd, "unknown kind \"%.*s\" in --kinds\n"
					 "Give configuration, state or both, "
					 "separated by a comma.", (int)n, p);
		p += n;
		if (*p == ',')
			p++;
	}
	if (kinds == 0)
		return ctl_usage(cmd, "no kind in --kinds \"%s\"", list);
	*kinds_r = kinds;
	return CTL_EXIT_OK;
}

/* Does the file's "persistence" object configure each kind asked for?
   (A file that cannot be read or parsed was refused by the open already.) */
static int check_kinds_configured(const char *path, const char *flag,
				  unsigned kinds)
{
	static const enum persist_kind order[] = { PERSIST_KIND_CONFIG,
						   PERSIST_KIND_STATE };
	json_object *root = json_object_from_file(path), *pers = NULL, *val;
	int code = CTL_EXIT_OK;

	if (root == NULL)
		return ctl_error(CTL_EXIT_USAGE, "cannot read configuration file \"%s\" (%s)",
				 path, flag);
	if (!json_object_object_get_ex(root, "persistence", &pers) ||
	    !json_object_is_type(pers, json_type_object))
		pers = NULL;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *kind = persist_kind_name(order[i]);

		if (!(kinds & (1u << order[i])))
			continue;
		if (pers != NULL && json_object_object_get_ex(pers, kind, &val))
			continue;
		code = ctl_error(CTL_EXIT_USAGE,
				 "configuration file \"%s\" (%s) does not configure %s\n"
				 "Add \"%s\" to its \"persistence\" object, or leave %s "
				 "out of --kinds.", path, flag, kind, kind, kind);
		break;
	}
	json_object_put(root);
	return code;
}

/* Is every provider of the kinds up and serving as primary? */
static int check_providers(persist *p, const char *path, const char *flag,
			   unsigned kinds)
{
	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		struct persist_provider_status st = { .size = sizeof(st) };
		struct persist_error err = { 0 };
		const char *kind = persist_kind_name((enum persist_kind)k);

		if (!(kinds & (1u << k)))
			continue;
		if (persist_health(p, (enum persist_kind)k, NULL, &err) != PERSIST_OK)
			return ctl_error(CTL_EXIT_FAIL,
					 "the %s provider of \"%s\" (%s) is not healthy: %s",
					 kind, path, flag, err.msg);
		if (persist_provider_status(p, (enum persist_kind)k, &st, &err) != PERSIST_OK)
			return ctl_fail(&err);
		if (st.mode != PERSIST_MODE_PRIMARY)
			return ctl_error(CTL_EXIT_FAIL,
					 "the %s provider \"%s\" of \"%s\" (%s) is down\n"
					 "Its fallback \"%s\" serves (%s) since the primary failed: "
					 "%s. Migrate once it is back.",
					 kind, st.provider, path, flag, st.fallback,
					 persist_provider_mode_name(st.mode), st.last_error);
	}
	return CTL_EXIT_OK;
}

/* Open one side: the handle of FILE for the kinds, failing fast when a
   provider is unreachable. */
static int open_side(const struct ctl *ctl, const char *path, const char *flag,
		     unsigned kinds, persist **p_r)
{
	struct ctl side = *ctl;
	int code;

	side.config_path = path;
	side.opts.kinds = kinds;
	side.opts.flags |= PERSIST_OPEN_CHECK_HEALTH;
	if ((code = ctl_open(&side, p_r)) != CTL_EXIT_OK) {
		fprintf(stderr, "  (opening %s \"%s\")\n", flag, path);
		return code;
	}
	if ((code = check_kinds_configured(path, flag, kinds)) != CTL_EXIT_OK ||
	    (code = check_providers(*p_r, path, flag, kinds)) != CTL_EXIT_OK) {
		persist_close(*p_r, NULL);
		*p_r = NULL;
	}
	return code;
}

/* persistctl migrate --from FILE --to FILE [--kinds LIST] [--dry-run] [--force]. */
int cmd_migrate(struct ctl *ctl, const struct ctl_args *args)
{
	struct migrate_options opts = { .dry_run = args->dry_run,
					.force = args->force, .progress = stderr };
	struct migrate_report report = { 0 };
	struct persist_error err = { 0 };
	persist *from = NULL, *to = NULL;
	char real_from[PATH_MAX], real_to[PATH_MAX];
	int code, ret;

	if (args->from_file == NULL || args->to_file == NULL)
		return ctl_usage(args->cmd, "missing %s FILE",
				 args->from_file == NULL ? "--from" : "--to");
	if ((code = parse_kinds(args->cmd, args->kinds, &opts.kinds)) != CTL_EXIT_OK)
		return code;
	if (realpath(args->from_file, real_from) != NULL &&
	    realpath(args->to_file, real_to) != NULL && strcmp(real_from, real_to) == 0)
		return ctl_usage(args->cmd, "--from and --to name the same file \"%s\"",
				 args->from_file);
	if ((code = open_side(ctl, args->from_file, "--from",
			      opts.kinds, &from)) != CTL_EXIT_OK)
		return code;
	if ((code = open_side(ctl, args->to_file, "--to", opts.kinds, &to)) != CTL_EXIT_OK) {
		persist_close(from, NULL);
		return code;
	}
	ret = migrate_run(from, to, &opts, &report, &err);
	fflush(stderr);
	migrate_report_print(stdout, &report);
	if (ret != PERSIST_OK)
		code = ctl_fail(&err);
	else if (report.differences > 0)
		code = ctl_error(CTL_EXIT_FAIL,
				 "the verification found %" PRIu64 " difference%s\n"
				 "The source changed during the run, or the target "
				 "does not keep what it was given; run it again.",
				 report.differences, report.differences == 1 ? "" : "s");
	migrate_report_free(&report);
	code = ctl_close(from, code);
	return ctl_close(to, code);
}
