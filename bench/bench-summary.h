/*
 * bench/bench-summary.h - what every C benchmark prints the same way: the
 * machine it ran on (processors, load average, kernel) and the one summary
 * line per area that scripts read:
 *
 *   bench AREA: FIGURE UNIT, anchor ANCHOR UNIT, ratio R (target T) ok
 *
 * (`below target` instead of `ok`).  Header only; bench/bench-lib.sh has
 * the same two for the shell scripts.
 */
#ifndef PERSIST_BENCH_SUMMARY_H
#define PERSIST_BENCH_SUMMARY_H

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

/* "machine: N processors, load A B C, Linux x.y" */
static inline void bench_machine(void)
{
	char load[64] = "?";
	struct utsname u;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f != NULL) {
		if (fgets(load, sizeof(load), f) != NULL) {
			char *sp = load;
			for (int i = 0; i < 3 && sp != NULL; i++)
				sp = strchr(sp + 1, ' ');
			if (sp != NULL)
				*sp = '\0';
		}
		fclose(f);
	}
	if (uname(&u) != 0)
		strcpy(u.release, "?");
	printf("machine: %ld processors, load %s, %s %s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), load, u.sysname, u.release);
}

/* The summary line of an area; returns ok. */
static inline int bench_summary(const char *area, double figure, const char *unit,
				double anchor, const char *anchor_unit,
				double ratio, const char *target, int ok)
{
	printf("bench %s: %.6g %s, anchor %.6g %s, ratio %.3g (target %s) %s\n",
	       area, figure, unit, anchor, anchor_unit, ratio, target,
	       ok ? "ok" : "below target");
	fflush(stdout);
	return ok;
}

#endif
