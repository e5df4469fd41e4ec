/*
 * tools/cmd-session.c - `persistctl session ...`: the session registry and
 * events of the configured provider, i.e. what a web server keeps for live SSE
 * connections: register, drop and list sessions, broadcast an event to
 * every instance, send one to the instance holding a session, and listen
 * to the events that reach this process.
 *
 * `session listen` prints one flushed line per event from the library's
 * notification thread until SIGINT/SIGTERM: "EVENT<TAB>DATA", DATA being
 * the event's bytes exactly as sent.  Data is JSON, where a raw line break
 * can only be white space between tokens; an event whose data holds one
 * (CR or LF) is printed as "EVENT<TAB>=" and the data as one JSON string
 * literal ("=" never starts a JSON value, so the two forms cannot be
 * confused, and decoding the literal gives the exact bytes back).  Each persistctl run is its own
 * instance, so listen only makes sense with a provider whose events cross
 * processes (the broadcast capability); with another it says so and exits.
 */
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "persistctl.h"

/* session put ID JSON [--ttl SECONDS]. */
int cmd_session_put(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	size_t len = strlen(args->pos[1]);
	persist *p;
	int ret;

	if ((ret = ctl_check_json("session data", args->pos[1], len)) != CTL_EXIT_OK)
		return ret;
	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (persist_session_put(p, args->pos[0], args->pos[1], len,
				args->have_ttl ? args->ttl_ms : 0, &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	return ctl_close(p, CTL_EXIT_OK);
}

/* session drop ID. */
int cmd_session_drop(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	persist *p;
	int ret;

	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (persist_session_drop(p, args->pos[0], &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	return ctl_close(p, CTL_EXIT_OK);
}

/* session list: "id<TAB>instance<TAB>data" lines, sorted by id. */
int cmd_session_list(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	struct persist_entry *s = NULL;
	size_t n = 0;
	persist *p;
	int ret;

	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (persist_session_list(p, &s, &n, &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	for (size_t i = 0; i < n; i++) {
		printf("%s\t%s\t", s[i].key,
		       s[i].instance != NULL ? s[i].instance : "-");
		ctl_write_oneline(s[i].value, s[i].value != NULL ? s[i].len : 0);
		putchar('\n');
	}
	persist_items_free(s, n);
	return ctl_close(p, CTL_EXIT_OK);
}

/* session broadcast EVENT JSON. */
int cmd_session_broadcast(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	size_t len = strlen(args->pos[1]);
	persist *p;
	int ret;

	if ((ret = ctl_check_json("event data", args->pos[1], len)) != CTL_EXIT_OK)
		return ret;
	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (persist_session_broadcast(p, args->pos[0], args->pos[1], len,
				      &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	return ctl_close(p, CTL_EXIT_OK);
}

/* session send ID EVENT JSON. */
int cmd_session_send(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	size_t len = strlen(args->pos[2]);
	persist *p;
	int ret;

	if ((ret = ctl_check_json("event data", args->pos[2], len)) != CTL_EXIT_OK)
		return ret;
	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (persist_session_send(p, args->pos[0], args->pos[1], args->pos[2],
				 len, &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	return ctl_close(p, CTL_EXIT_OK);
}

/* What the listen callback shares with the waiting main thread. */
struct listen {
	atomic_int failed; /* stdout could not be written */
};

/* Print an event's data on the current line without changing a byte:
   as it is, or "=" and a JSON string literal when it holds a line break
   (see the top of this file); -1 on error. */
static int write_event_data(const char *data, size_t len)
{
	struct json_object *str;
	const char *lit;
	int ret;

	if (memchr(data, '\n', len) == NULL && memchr(data, '\r', len) == NULL)
		return ctl_write(data, len);
	if (len > INT_MAX)
		return -1;
	str = json_object_new_string_len(data, (int)len);
	if (str == NULL)
		return -1;
	lit = json_object_to_json_string_ext(str, JSON_C_TO_STRING_PLAIN |
					     JSON_C_TO_STRING_NOSLASHESCAPE);
	ret = lit == NULL || putchar('=') == EOF ? -1 : ctl_write(lit, strlen(lit));
	json_object_put(str);
	return ret;
}

/* An event: print "EVENT<TAB>DATA" and flush. */
static void listen_event(void *ctx, const char *origin, const char *session_id,
			 const char *event, const void *data, size_t len)
{
	struct listen *l = ctx;
	int bad;

	flockfile(stdout);
	bad = printf("%s\t", event) < 0 ||
		write_event_data(data != NULL ? data : "", data != NULL ? len : 0) < 0 ||
		putchar('\n') == EOF || fflush(stdout) != 0;
	if (bad && atomic_exchange(&l->failed, 1) == 0)
		ctl_wake();
	funlockfile(stdout);
}

/* session listen: print events until SIGINT/SIGTERM. */
int cmd_session_listen(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	struct listen l;
	uint64_t id;
	persist *p;
	int ret;

	atomic_init(&l.failed, 0);
	ctl_block_signals();
	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (!(persist_caps(p, PERSIST_KIND_SESSION) & PERSIST_CAP_BROADCAST)) {
		ret = ctl_error(CTL_EXIT_FAIL,
				"sessions provider \"%s\" does not deliver events of other processes\n"
				"session listen needs a provider with the broadcast capability "
				"(see persistctl plugins).",
				persist_provider(p, PERSIST_KIND_SESSION));
		return ctl_close(p, ret);
	}
	if (persist_session_subscribe(p, listen_event, &l, &id, &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	ctl_wait_signal();
	if (persist_session_unsubscribe(p, id, &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	return ctl_close(p, atomic_load(&l.failed) ? CTL_EXIT_FAIL : CTL_EXIT_OK);
}
