/*
 * tools/cmd-check.c - `persistctl check`: open the configuration the way a
 * host would and ask each kind's provider for its health, so an operator
 * can tell in one command whether the setup works (exit 0 only when every
 * provider answers).
 *
 * One line per kind: KIND PROVIDER STATUS LATENCY, e.g.
 *   configuration filesystem   ok  12 us
 *   state         redis        EUNAVAIL: cannot connect to 127.0.0.1:6379 ...
 * and, for a kind with a fallback, a line with its mode and journal:
 *     fallback filesystem: mode primary, 0 journaled writes pending, ...
 * for the state kind with journalQueued, a line with the queued-write
 * journals under spoolDir:
 *     queued-write journal: 0 records waiting, 0 bytes in 0 files (...)
 * and, when the configuration provider is unavailable and its
 * last-known-good copy (spoolDir) holds documents, a line saying that the
 * configuration is served from that copy.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "persistctl.h"

void ctl_print_fallback(persist *p, enum persist_kind kind, const char *indent)
{
	struct persist_provider_status st;
	struct persist_error err = { 0 };
	char since[64] = "";

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	if (persist_provider_status(p, kind, &st, &err) != PERSIST_OK) {
		printf("%sfallback: status unknown: %s\n", indent, err.msg);
		return;
	}
	if (!st.has_fallback)
		return;
	if (st.since_ms > 0) {
		time_t t = (time_t)(st.since_ms / 1000);
		struct tm tm;

		strftime(since, sizeof(since), " since %Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	}
	printf("%sfallback %s: mode %s%s, %" PRIu64 " journaled writes pending, %" PRIu64
	       " replayed, %" PRIu64 " outages\n", indent, st.fallback,
	       persist_provider_mode_name(st.mode), since, st.pending, st.replayed, st.outages);
	if (kind == PERSIST_KIND_STATE)
		printf(st.replay_dated ?
		       "%sreplay: by write time, the last write of a key wins (\"%s\" has batch_once_dated)\n" :
		       "%sreplay: in journal order (\"%s\" has no batch_once_dated: a replayed write "
		       "may overwrite a later one another host made)\n", indent, st.provider);
}

void ctl_print_journal(persist *p, const char *indent)
{
	struct persist_batch_stats st;
	struct persist_error err = { 0 };

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	if (persist_state_stats(p, &st, &err) != PERSIST_OK || !st.enabled || !st.journal_queued)
		return;
	printf("%squeued-write journal: %" PRIu64 " records waiting, %" PRIu64 " bytes in %"
	       PRIu64 " files (this process: %s)", indent, st.journal_records,
	       st.journal_bytes, st.journal_files, st.journal_path);
	if (st.journal_replayed > 0 || st.journal_orphans > 0)
		printf("; left by stopped processes: %" PRIu64 " replayed, %" PRIu64
		       " journals not yet", st.journal_replayed, st.journal_orphans);
	putchar('\n');
	if (st.journal_error[0] != '\0')
		printf("%squeued-write journal: cannot read: %s\n", indent, st.journal_error);
}

/* After the configuration's health failed with status `ret` and message
   `why`: say so when its last-known-good copy serves instead. */
static void report_config_copy(persist *p, int ret, const char *why)
{
	struct persist_config_copy st = { .size = sizeof(st) };
	struct persist_error err;
	const char *prov = persist_provider(p, PERSIST_KIND_CONFIG);
	int len;

	if (ret != PERSIST_EUNAVAIL ||
	    persist_config_copy_status(p, &st, &err) != PERSIST_OK ||
	    !st.enabled || st.documents == 0)
		return;
	len = (int)strcspn(why, "\n");
	printf("configuration served from last-known-good copy in %s "
	       "(provider %s unavailable: %.*s)\n", st.dir, prov != NULL ? prov : "-",
	       len, why);
}

/* Health of every kind; exit 3 when any is unhealthy. */
int cmd_check(struct ctl *ctl, const struct ctl_args *args)
{
	persist *p;
	int ret, bad = 0, config_ret = PERSIST_OK;
	char config_why[PERSIST_ERROR_MSG_MAX] = "";

	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		struct persist_error err = { 0 };
		int64_t lat = 0;
		const char *prov = persist_provider(p, (enum persist_kind)k);

		ret = persist_health(p, (enum persist_kind)k, &lat, &err);
		printf("%-13s %-12s ", persist_kind_name((enum persist_kind)k),
		       prov != NULL ? prov : "-");
		if (ret == PERSIST_OK) {
			printf("ok  %lld us\n", (long long)lat);
			ctl_print_fallback(p, (enum persist_kind)k, "              ");
			if (k == PERSIST_KIND_STATE)
				ctl_print_journal(p, "              ");
			continue;
		}
		bad++;
		if (k == PERSIST_KIND_CONFIG) {
			config_ret = ret;
			snprintf(config_why, sizeof(config_why), "%s", err.msg);
		}
		/* the message on the same line, detail joined with " - " */
		printf("%s:", persist_strerror(ret));
		const char *m = err.msg[0] != '\0' ? err.msg : "unhealthy";
		putchar(' ');
		for (; *m != '\0'; m++) {
			if (*m == '\n')
				fputs(" - ", stdout);
			else
				putchar(*m);
		}
		putchar('\n');
		ctl_print_fallback(p, (enum persist_kind)k, "              ");
		if (k == PERSIST_KIND_STATE)
			ctl_print_journal(p, "              ");
	}
	report_config_copy(p, config_ret, config_why);
	fflush(stdout);
	if (bad > 0)
		ret = ctl_error(CTL_EXIT_FAIL, "%d of %d providers are unhealthy",
				bad, (int)PERSIST_KIND_COUNT_);
	else
		ret = CTL_EXIT_OK;
	return ctl_close(p, ret);
}
