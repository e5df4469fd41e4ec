/*
 * core/fallback.h - a kind's fallback provider (core/fallback.c): the
 * second store a kind with "fallback" opens, the mode that routes its
 * calls (primary, fallback, replaying), the journal of the writes made
 * while the primary was down, and the core's health thread that notices
 * outages and recoveries, replays the journal and tells subscribers.
 *
 * The routing is read on every call: persist_failover_active() is one
 * atomic load.
 */
#ifndef PERSIST_CORE_FALLBACK_H
#define PERSIST_CORE_FALLBACK_H

#include <pthread.h>

#include "persist-handle.h"

struct persist_spool;
struct persist_search;
struct fo_event;
struct fo_session;

/* What persist_failover_write answers when the primary came back while
   the caller was on its way: send the call to the primary instead. */
#define PERSIST_FAILOVER_USE_PRIMARY (-1)

struct persist_failover {
	persist *p;
	enum persist_kind kind;
	struct persist_sink *primary;
	const struct persist_provider_settings *primary_settings;
	struct persist_sink fb;          /* the fallback's store */
	struct persist_spool *spool;     /* state only: the journal */
	int mode;                        /* enum persist_provider_mode, atomic */

	pthread_mutex_t lock;            /* everything below */
	int64_t since_ms;
	uint64_t outages, replayed, journaled, replay_dropped, replay_uncertain;
	char last_error[PERSIST_ERROR_MSG_MAX];
	struct fo_event *events, **events_tail;
	struct fo_session *sessions;     /* sessions put during an outage */
	int corrupt_logged;
};

/* True while calls of the kind do not go to the primary. */
static inline int persist_failover_active(struct persist_failover *fo)
{
	return fo != NULL && __atomic_load_n(&fo->mode, __ATOMIC_ACQUIRE) != PERSIST_MODE_PRIMARY;
}

/* True for a failure that says the primary is down or not answering. */
static inline int persist_failover_outage(int ret)
{
	return ret == PERSIST_EUNAVAIL || ret == PERSIST_ETIMEDOUT || ret == PERSIST_EUNCERTAIN;
}

/* At open (persist.c), for a kind whose settings name a fallback: check
   the settings (spoolDir), open the fallback's store and the journal, and
   start in replaying mode when a journal was left with writes in it.
   Configuration gets no fallback (a warning says so); fo_r stays NULL. */
int persist_failover_create(persist *p, enum persist_kind kind,
			    const struct persist_search *search,
			    struct persist_failover **fo_r, struct persist_error *err);
/* The primary's store could not be opened (PERSIST_EUNAVAIL): start in
   fallback mode; the health thread opens it once it answers. */
void persist_failover_opened_down(struct persist_failover *fo,
				  const struct persist_error *why);
void persist_failover_destroy(struct persist_failover *fo);

/* Start (after every store is open) and stop the health thread. */
int persist_watch_start(persist *p, struct persist_error *err);
void persist_watch_stop(persist *p);

/* A call to the primary answered ret (an outage): mark it down. */
void persist_failover_down(struct persist_failover *fo, int ret,
			   const struct persist_error *why);
/* A state write while the primary is down: journal ops (durably), then
   apply them to the fallback; value_r: a single increment's new value
   there.  group_id: the id a flushed batch was sent under (NULL for a
   caller's own write): the batch is journaled as one group and replayed
   under that id, so another journal holding the same batch under the
   same id cannot apply it a second time.  PERSIST_FAILOVER_USE_PRIMARY when the primary is back. */
int persist_failover_write(struct persist_failover *fo, const char *group_id,
			   const struct persist_op *ops, size_t n, int64_t *value_r,
			   struct persist_error *err);
/* A session put during an outage (kept to be put again on the primary). */
void persist_failover_session_put(struct persist_failover *fo, const char *id,
				  const void *data, size_t len, int64_t ttl_ms);
void persist_failover_session_drop(struct persist_failover *fo, const char *id);

#endif
