/*
 * tools/cmd-check.c - `persistctl check`: open the configuration the way a
 * host would and ask each kind's provider for its health, so an operator
 * can tell in one command whether the setup works (exit 0 only when every
 * provider answers).
 *
 * One line per kind: KIND PROVIDER STATUS LATENCY, e.g.
 *   configuration filesystem   ok  12 us
 *   state         redis        EUNAVAIL: cannot connect to 127.0.0.1:6379 ...
 */
#include <stdio.h>
#include <string.h>

#include "persistctl.h"

/* Health of every kind; exit 3 when any is unhealthy. */
int cmd_check(struct ctl *ctl, const struct ctl_args *args)
{
	persist *p;
	int ret, bad = 0;

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
			continue;
		}
		bad++;
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
	}
	fflush(stdout);
	if (bad > 0)
		ret = ctl_error(CTL_EXIT_FAIL, "%d of %d providers are unhealthy",
				bad, (int)PERSIST_KIND_COUNT_);
	else
		ret = CTL_EXIT_OK;
	return ctl_close(p, ret);
}
