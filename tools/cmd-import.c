/*
 * tools/cmd-import.c - `persistctl import-platform DIR --to FILE
 * [--dry-run] [--force]`: the platform's own files into persist.
 *
 * The files are read first, whole, into a memory handle opened in this
 * process (the readers of import.h), so a malformed file stops the command
 * before the target is even opened.  Then the copy engine (migrate.h)
 * copies that handle into the providers FILE configures and verifies both
 * sides.  This is what makes a second import add nothing (counters are set
 * to the files' totals, a log gets only the records it lacks), refuses a
 * target that holds different data unless --force, and gives --dry-run.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "import.h"
#include "migrate.h"
#include "persistctl.h"

/* The in-process source: memory for the two kinds imported. */
static const char source_json[] =
	"{\"persistence\":{"
	"\"configuration\":{\"provider\":\"memory\",\"config\":{}},"
	"\"state\":{\"provider\":\"memory\",\"config\":{}},"
	"\"sessions\":{\"provider\":\"memory\",\"config\":{}}}}";

/* Wall clock in milliseconds. */
static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* import-platform DIR --to FILE [--dry-run] [--force]. */
int cmd_import_platform(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	struct persist_options opts = ctl->opts;
	struct migrate_options mo = { 0 };
	struct migrate_report report = { 0 };
	struct import_counts counts;
	persist *src = NULL, *dst = NULL;
	int ret;

	if (args->to_file == NULL)
		return ctl_usage(args->cmd, "missing --to FILE\n"
				 "Name the configuration file of the providers to import into.");
	opts.kinds = PERSIST_KIND_BIT(PERSIST_KIND_CONFIG) |
		PERSIST_KIND_BIT(PERSIST_KIND_STATE);
	if (persist_open_json(source_json, &opts, &src, &err) != PERSIST_OK)
		return ctl_fail(&err);
	if (import_fill(src, args->pos[0], wall_ms(), &counts, &err) != PERSIST_OK) {
		ret = ctl_fail(&err);
		persist_close(src, NULL);
		return ret;
	}
	import_counts_print(stdout, &counts);
	ctl->config_path = args->to_file;
	ctl->opts.kinds = opts.kinds;
	if ((ret = ctl_open(ctl, &dst)) != CTL_EXIT_OK) {
		persist_close(src, NULL);
		return ret;
	}
	mo.kinds = MIGRATE_CONFIG | MIGRATE_STATE;
	mo.dry_run = args->dry_run;
	mo.force = args->force;
	mo.progress = isatty(STDERR_FILENO) ? stderr : NULL;
	ret = migrate_run(src, dst, &mo, &report, &err);
	if (report.summary != NULL)
		migrate_report_print(stdout, &report);
	if (ret != PERSIST_OK) {
		if (err.code == PERSIST_OK)
			err.code = ret;
		ret = ctl_fail(&err);
	} else if (report.differences > 0) {
		ret = ctl_error(CTL_EXIT_FAIL, "the verification found %llu differences\n"
				"The target does not hold what the platform's files hold.",
				(unsigned long long)report.differences);
	} else {
		ret = CTL_EXIT_OK;
	}
	if (args->dry_run && ret == CTL_EXIT_OK)
		puts("dry run: nothing was written");
	migrate_report_free(&report);
	persist_close(src, NULL);
	return ctl_close(dst, ret);
}
