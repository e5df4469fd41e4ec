/*
 * tools/cmd-state.c - `persistctl state ...`: the state store of the
 * configured provider, i.e. what a platform's usage tracking (counters),
 * feedback (an append-only log) and short links (keys with TTL) keep:
 * get/set/delete keys, increment counters, append to and read a
 * collection's log, scan a collection; drop a collection, trim a log
 * (records below a number), show a log's bounds and list the collections.
 *
 * Values are written byte for byte by `state get`; listings (`log`,
 * `scan`) print one entry a line, with line breaks inside a value shown as
 * spaces so that the one-line contract holds for any value.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "persistctl.h"

/* Records asked for per read_log call. */
#define LOG_CHUNK 1024

/* state get C K: the value to stdout. */
int cmd_state_get(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	persist *p;
	char *value = NULL;
	size_t len = 0;
	int ret;

	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (persist_state_get(p, args->pos[0], args->pos[1], &value, &len,
			      &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	ctl_write_value(value, len);
	persist_free(value);
	return ctl_close(p, CTL_EXIT_OK);
}

/* state set C K VALUE [--ttl SECONDS]. */
int cmd_state_set(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	persist *p;
	int ret;

	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (persist_state_set(p, args->pos[0], args->pos[1], args->pos[2],
			      strlen(args->pos[2]),
			      args->have_ttl ? args->ttl_ms : 0, &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	return ctl_close(p, CTL_EXIT_OK);
}

/* state delete C K. */
int cmd_state_delete(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	persist *p;
	int ret;

	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (persist_state_delete(p, args->pos[0], args->pos[1], &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	return ctl_close(p, CTL_EXIT_OK);
}

/* state incr C K [N]: print the new value. */
int cmd_state_incr(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	int64_t delta = 1, value = 0;
	persist *p;
	int ret;

	if (args->n_pos > 2 && ctl_parse_int64(args->pos[2], &delta) < 0)
		return ctl_usage(args->cmd, "invalid increment \"%s\"\n"
				 "Give a whole number between %" PRId64 " and %" PRId64 ".",
				 args->pos[2], INT64_MIN, INT64_MAX);
	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (persist_state_incr(p, args->pos[0], args->pos[1], delta, &value,
			       &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	printf("%" PRId64 "\n", value);
	return ctl_close(p, CTL_EXIT_OK);
}

/* state append C JSON: one record to the collection's log. */
int cmd_state_append(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	size_t len = strlen(args->pos[1]);
	persist *p;
	int ret;

	if ((ret = ctl_check_json("record", args->pos[1], len)) != CTL_EXIT_OK)
		return ret;
	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (persist_state_append(p, args->pos[0], args->pos[1], len, &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	return ctl_close(p, CTL_EXIT_OK);
}

/* state log C [--from N]: one record a line, read in chunks. */
int cmd_state_log(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	uint64_t from = args->have_from ? args->from : 0;
	persist *p;
	int ret;

	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	for (;;) {
		struct persist_entry *recs = NULL;
		size_t n = 0;
		uint64_t next = from;

		if (persist_state_read_log(p, args->pos[0], from, LOG_CHUNK,
					   &recs, &n, &next, &err) != PERSIST_OK)
			return ctl_close(p, ctl_fail(&err));
		for (size_t i = 0; i < n; i++) {
			ctl_write_oneline(recs[i].value, recs[i].len);
			putchar('\n');
		}
		persist_items_free(recs, n);
		if (n < LOG_CHUNK || next <= from || ferror(stdout))
			break;
		from = next;
	}
	return ctl_close(p, CTL_EXIT_OK);
}

/* state scan C [PREFIX]: "key<TAB>value" lines, sorted by key. */
int cmd_state_scan(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	struct persist_entry *ents = NULL;
	size_t n = 0;
	persist *p;
	int ret;

	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (persist_state_scan(p, args->pos[0], args->n_pos > 1 ? args->pos[1] : NULL,
			       &ents, &n, &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	for (size_t i = 0; i < n; i++) {
		printf("%s\t", ents[i].key);
		ctl_write_oneline(ents[i].value, ents[i].len);
		putchar('\n');
	}
	persist_items_free(ents, n);
	return ctl_close(p, CTL_EXIT_OK);
}

/* state drop C: every key and the log of the collection. */
int cmd_state_drop(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	persist *p;
	int ret;

	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (persist_state_drop(p, args->pos[0], &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	return ctl_close(p, CTL_EXIT_OK);
}

/* state trim C BEFORE: the log's records numbered below BEFORE. */
int cmd_state_trim(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	int64_t before = 0;
	persist *p;
	int ret;

	if (ctl_parse_int64(args->pos[1], &before) < 0 || before < 0)
		return ctl_usage(args->cmd, "invalid record number \"%s\"\n"
				 "Give a record number (0 or more).", args->pos[1]);
	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (persist_state_trim_log(p, args->pos[0], (uint64_t)before, &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	return ctl_close(p, CTL_EXIT_OK);
}

/* state bounds C: "FIRST NEXT" of the collection's log. */
int cmd_state_bounds(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	uint64_t first = 0, next = 0;
	persist *p;
	int ret;

	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (persist_state_log_bounds(p, args->pos[0], &first, &next, &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	printf("%" PRIu64 " %" PRIu64 "\n", first, next);
	return ctl_close(p, CTL_EXIT_OK);
}

/* state collections: every collection with a key or a log record, one a
   line, sorted. */
int cmd_state_collections(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	struct persist_entry *names = NULL;
	size_t n = 0;
	persist *p;
	int ret;

	(void)args;
	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (persist_state_collections(p, &names, &n, &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	for (size_t i = 0; i < n; i++)
		printf("%s\n", names[i].key);
	persist_items_free(names, n);
	return ctl_close(p, CTL_EXIT_OK);
}
