/*
 * core/fallback.c - a kind's fallback provider: the routing mode, the
 * writes made while the primary is down, the core's health thread that
 * notices outages and recoveries and replays the journal, and the host's
 * view of it all (persist_provider_status, persist_provider_subscribe).
 *
 * Modes (fo->mode, read with one atomic load on every call):
 *   primary    calls go to the primary.  A call it answers with
 *              unavailable, a timeout or an uncertain outcome marks it
 *              down (persist_failover_down), as does a failed health check.
 *   fallback   reads go to the fallback; state writes are appended to the
 *              journal (core/spool.c), made durable, then applied to the
 *              fallback; sessions go to the fallback (no journal: the
 *              sessions this instance put are put again on recovery).
 *   replaying  the primary answers its health check again: the health
 *              thread replays the journal in pieces, each applied once
 *              (persist_state_apply_once, under an id made of the
 *              journal's generation and the piece's first sequence
 *              number); calls are served as in fallback mode, so the
 *              journal keeps their order.  When it is empty, the mode
 *              goes back to primary - with the journal's lock held, which
 *              every writer takes to check the mode before appending, so
 *              no write lands in a journal that was already drained.
 * Only the health thread moves out of fallback and replaying; any thread
 * moves primary to fallback.  Events (down, replaying, replayed N, up)
 * are queued and delivered by the health thread, with no lock held.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fallback.h"
#include "spool.h"
#include "batch.h"
#include "kind.h"

/* healthInterval when a fallback is configured and none is given. */
#define DEFAULT_HEALTH_INTERVAL_MS 1000

#define STATE_OPS(sink) ((const struct persist_state_ops *)(sink)->ops)
#define SESSION_OPS(sink) ((const struct persist_session_ops *)(sink)->ops)

struct fo_event {
	struct fo_event *next;
	enum persist_provider_event event;
	uint64_t n;
	char detail[PERSIST_ERROR_MSG_MAX];
};

struct fo_session {
	struct fo_session *next;
	char *id, *data;
	size_t len;
	int64_t expires_ms;   /* 0: none */
};

struct watch_sub {
	uint64_t id;
	persist_provider_cb *cb;
	void *ctx;
	int removed;
};

struct persist_watch {
	persist *p;
	pthread_t thread;
	int started, stop, kicked;
	int64_t interval_ms;
	pthread_mutex_t lock;
	pthread_cond_t wake, idle;
	struct watch_sub *subs;
	size_t n_subs, cap_subs;
	uint64_t next_id, running_id;
};

/* The routing mode, written and read atomically. */
static void set_mode(struct persist_failover *fo, int mode)
{
	__atomic_store_n(&fo->mode, mode, __ATOMIC_RELEASE);
}

static int get_mode(struct persist_failover *fo)
{
	return __atomic_load_n(&fo->mode, __ATOMIC_ACQUIRE);
}

/* Queue an event for the health thread to deliver (fo->lock held). */
static void queue_event(struct persist_failover *fo, enum persist_provider_event event,
			uint64_t n, const char *detail)
{
	struct fo_event *ev = calloc(1, sizeof(*ev));

	if (ev == NULL)
		return;
	ev->event = event;
	ev->n = n;
	snprintf(ev->detail, sizeof(ev->detail), "%s", detail != NULL ? detail : "");
	*fo->events_tail = ev;
	fo->events_tail = &ev->next;
}

/* Wake the health thread at once. */
static void watch_kick(persist *p)
{
	struct persist_watch *w = p->watch;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->kicked = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

/* --- open, close --------------------------------------------------------- */

int persist_failover_create(persist *p, enum persist_kind kind,
			    const struct persist_search *search,
			    struct persist_failover **fo_r, struct persist_error *err)
{
	const struct persist_provider_settings *ps = &p->settings->kinds[kind];
	struct persist_failover *fo;
	uint64_t pending = 0, bytes = 0;
	int ret;

	*fo_r = NULL;
	if (kind == PERSIST_KIND_CONFIG) {
		persist_log(p, PERSIST_LOG_WARNING,
			"configuration: fallback provider \"%s\" is not used: configuration "
			"writes are never sent to a fallback (their ETags would fork); "
			"while \"%s\" is down they answer unavailable",
			ps->fallback->provider, ps->provider);
		return PERSIST_OK;
	}
	if (kind == PERSIST_KIND_STATE && ps->spool_dir == NULL)
		return persist_error_set(err, PERSIST_ECONFIG, 0,
			"persistence.state.config.spoolDir is missing\n"
			"A state provider with a fallback needs a directory for the "
			"journal of the writes made while \"%s\" is down.", ps->provider);
	if (kind == PERSIST_KIND_STATE && ps->spool_dir[0] != '/')
		return persist_error_set(err, PERSIST_ECONFIG, 0,
			"persistence.state.config.spoolDir must be an absolute path, not \"%s\"",
			ps->spool_dir);
	if (strcmp(ps->fallback->provider, ps->provider) == 0 &&
	    strcmp(ps->fallback->config_json, ps->config_json) == 0)
		return persist_error_set(err, PERSIST_ECONFIG, 0,
			"persistence.%s.fallback is the primary itself\n"
			"Name another provider, or the same one with another config.",
			persist_kind_get(kind)->name);
	fo = calloc(1, sizeof(*fo));
	if (fo == NULL)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	fo->p = p;
	fo->kind = kind;
	fo->primary = &p->sinks[kind];
	fo->primary_settings = ps;
	fo->events_tail = &fo->events;
	pthread_mutex_init(&fo->lock, NULL);
	if ((ret = persist_sink_load(p, &fo->fb, kind, ps->fallback, search, err)) != PERSIST_OK ||
	    (ret = persist_sink_open_store(&fo->fb, ps->fallback, err)) != PERSIST_OK) {
		persist_error_prefix(err, (persist_status)ret, "fallback of the %s kind",
				     persist_kind_name(kind));
		persist_failover_destroy(fo);
		return ret;
	}
	if (kind == PERSIST_KIND_STATE) {
		if ((ret = persist_spool_open(p, ps->spool_dir, persist_kind_get(kind)->name,
					      &fo->spool, err)) != PERSIST_OK ||
		    (ret = persist_spool_pending(fo->spool, &pending, &bytes, err)) != PERSIST_OK) {
			persist_failover_destroy(fo);
			return ret;
		}
		/* other hosts write the primary meanwhile: the later write wins */
		persist_spool_date_replay(fo->spool);
		if (pending > 0) {
			/* left by a host that stopped during an outage */
			persist_log(p, PERSIST_LOG_WARNING,
				"state: journal \"%s\" holds %" PRIu64 " writes not yet "
				"replayed to \"%s\"; they are replayed once it answers, and "
				"calls are served by \"%s\" until then",
				persist_spool_path(fo->spool), pending, ps->provider,
				ps->fallback->provider);
			fo->mode = PERSIST_MODE_REPLAYING;
			fo->since_ms = persist_now_ms();
		}
	}
	*fo_r = fo;
	return PERSIST_OK;
}

void persist_failover_opened_down(struct persist_failover *fo,
				  const struct persist_error *why)
{
	pthread_mutex_lock(&fo->lock);
	set_mode(fo, PERSIST_MODE_FALLBACK);
	fo->since_ms = persist_now_ms();
	fo->outages++;
	snprintf(fo->last_error, sizeof(fo->last_error), "%s", why != NULL ? why->msg : "");
	queue_event(fo, PERSIST_PROVIDER_DOWN, 0, fo->last_error);
	pthread_mutex_unlock(&fo->lock);
	persist_log(fo->p, PERSIST_LOG_WARNING,
		"%s: provider \"%s\" could not be opened (%s); its fallback \"%s\" "
		"serves until it answers", persist_kind_name(fo->kind), fo->primary->provider,
		fo->last_error, fo->fb.provider);
}

void persist_failover_destroy(struct persist_failover *fo)
{
	if (fo == NULL)
		return;
	persist_sink_close(&fo->fb);
	persist_spool_close(fo->spool);
	while (fo->events != NULL) {
		struct fo_event *ev = fo->events;

		fo->events = ev->next;
		free(ev);
	}
	while (fo->sessions != NULL) {
		struct fo_session *s = fo->sessions;

		fo->sessions = s->next;
		free(s->id);
		free(s->data);
		free(s);
	}
	pthread_mutex_destroy(&fo->lock);
	free(fo);
}

/* --- down, writes -------------------------------------------------------- */

void persist_failover_down(struct persist_failover *fo, int ret,
			   const struct persist_error *why)
{
	int expected = PERSIST_MODE_PRIMARY;
	char msg[PERSIST_ERROR_MSG_MAX];

	/* the mode changes under the lock too, so that a status read under it
	   sees mode, since and outages of one moment */
	pthread_mutex_lock(&fo->lock);
	if (!__atomic_compare_exchange_n(&fo->mode, &expected, PERSIST_MODE_FALLBACK, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		pthread_mutex_unlock(&fo->lock);
		return;
	}
	snprintf(msg, sizeof(msg), "%s", why != NULL && why->msg[0] != '\0' ? why->msg :
		 persist_strerror(ret));
	fo->since_ms = persist_now_ms();
	fo->outages++;
	snprintf(fo->last_error, sizeof(fo->last_error), "%s", msg);
	queue_event(fo, PERSIST_PROVIDER_DOWN, 0, msg);
	pthread_mutex_unlock(&fo->lock);
	persist_log(fo->p, PERSIST_LOG_WARNING,
		"%s: provider \"%s\" is down (%s: %s); \"%s\" serves until it is back%s",
		persist_kind_name(fo->kind), fo->primary->provider, persist_strerror(ret), msg,
		fo->fb.provider, fo->spool != NULL ? ", writes are journaled" : "");
	watch_kick(fo->p);
}

int persist_failover_write(struct persist_failover *fo, const char *group_id,
			   const struct persist_op *ops, size_t n, int64_t *value_r,
			   struct persist_error *err)
{
	struct persist_error fb_err;
	uint64_t token = 0;
	int ret;

	persist_spool_lock(fo->spool);
	if (get_mode(fo) == PERSIST_MODE_PRIMARY) {
		persist_spool_unlock(fo->spool);
		return PERSIST_FAILOVER_USE_PRIMARY;
	}
	ret = persist_spool_append_locked(fo->spool, group_id, ops, n, persist_now_ms(), &token, err);
	persist_spool_unlock(fo->spool);
	if (ret != PERSIST_OK)
		return persist_error_prefix(err, (persist_status)ret,
			"provider \"%s\" is down and the write could not be journaled",
			fo->primary->provider);
	if ((ret = persist_spool_sync(fo->spool, token, err)) != PERSIST_OK)
		/* written, not known to be durable: it may still be replayed */
		return persist_error_prefix(err, PERSIST_EUNCERTAIN,
			"provider \"%s\" is down and the journaled write could not be "
			"made durable", fo->primary->provider);
	__atomic_add_fetch(&fo->journaled, n, __ATOMIC_RELAXED);
	persist_error_clear(&fb_err);
	if (n == 1 && ops[0].type == PERSIST_OP_INCR)
		ret = persist_state_stored_incr(&fo->fb, ops[0].collection, ops[0].key,
						ops[0].delta, value_r, &fb_err);
	else
		ret = persist_state_apply(&fo->fb, ops, n, &fb_err);
	if (ret != PERSIST_OK) {
		/* the journal has it: it reaches the primary on recovery */
		persist_log(fo->p, PERSIST_LOG_WARNING,
			"state: fallback \"%s\" could not apply a journaled write (%s); "
			"it is replayed to \"%s\" on recovery all the same",
			fo->fb.provider, fb_err.msg, fo->primary->provider);
		if (value_r != NULL)
			return persist_error_set(err, PERSIST_EIO, 0,
				"increment journaled, but fallback \"%s\" could not give the "
				"new value: %s\nThe increment reaches \"%s\" when it is back; "
				"it is not lost, and must not be made again.",
				fo->fb.provider, fb_err.msg, fo->primary->provider);
	}
	return PERSIST_OK;
}

/* --- sessions put during an outage --------------------------------------- */

void persist_failover_session_drop(struct persist_failover *fo, const char *id)
{
	pthread_mutex_lock(&fo->lock);
	for (struct fo_session **sp = &fo->sessions; *sp != NULL; sp = &(*sp)->next) {
		struct fo_session *s = *sp;

		if (strcmp(s->id, id) != 0)
			continue;
		*sp = s->next;
		free(s->id);
		free(s->data);
		free(s);
		break;
	}
	pthread_mutex_unlock(&fo->lock);
}

void persist_failover_session_put(struct persist_failover *fo, const char *id,
				  const void *data, size_t len, int64_t ttl_ms)
{
	struct fo_session *s;

	persist_failover_session_drop(fo, id);
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->id = strdup(id)) == NULL || (s->data = persist_memdup0(data, len)) == NULL) {
		if (s != NULL) {
			free(s->id);
			free(s);
		}
		persist_log(fo->p, PERSIST_LOG_ERROR,
			"sessions: out of memory: session \"%s\" will not be put again on "
			"\"%s\" when it is back", id, fo->primary->provider);
		return;
	}
	s->len = len;
	s->expires_ms = ttl_ms > 0 ? persist_now_ms() + ttl_ms : 0;
	pthread_mutex_lock(&fo->lock);
	s->next = fo->sessions;
	fo->sessions = s;
	pthread_mutex_unlock(&fo->lock);
}

/* Put the live sessions of the outage on the primary again; PERSIST_OK
   when all went there (those left are kept for the next try). */
static int sessions_restore(struct persist_failover *fo, struct persist_error *err)
{
	struct fo_session *list, *keep = NULL;
	int ret = PERSIST_OK;
	int64_t now = persist_now_ms();

	pthread_mutex_lock(&fo->lock);
	list = fo->sessions;
	fo->sessions = NULL;
	pthread_mutex_unlock(&fo->lock);
	while (list != NULL) {
		struct fo_session *s = list;
		int64_t ttl = s->expires_ms == 0 ? 0 : s->expires_ms - now;

		list = s->next;
		if (ret == PERSIST_OK && (s->expires_ms == 0 || ttl > 0))
			PERSIST_SINK_CALL(fo->primary, ret,
				SESSION_OPS(fo->primary)->put(fo->primary->store, s->id,
							      s->data, s->len, ttl, err));
		if (ret != PERSIST_OK) {
			s->next = keep;
			keep = s;
			continue;
		}
		free(s->id);
		free(s->data);
		free(s);
	}
	if (keep != NULL) {
		pthread_mutex_lock(&fo->lock);
		for (struct fo_session *s = keep, *next; s != NULL; s = next) {
			next = s->next;
			s->next = fo->sessions;
			fo->sessions = s;
		}
		pthread_mutex_unlock(&fo->lock);
	}
	return ret;
}

/* --- replay -------------------------------------------------------------- */

/* Replay the journal to the primary (health thread).  1: drained, the
   mode is primary again; 0: not yet (another process replays, or the
   primary failed: the mode is fallback again). */
static int replay(struct persist_failover *fo, struct persist_watch *w, uint64_t *count_r)
{
	struct persist_error err;
	int drained = 0;

	if (!persist_spool_replay_lock(fo->spool))
		goto check_drained;   /* another process replays; see whether it is done */
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		struct persist_spool_chunk c;
		uint64_t dropped = 0;
		int before = 0, ret;

		persist_error_clear(&err);
		if ((ret = persist_spool_next_chunk(fo->spool, SPOOL_REPLAY_CHUNK_OPS, &c, &err)) != PERSIST_OK) {
			pthread_mutex_lock(&fo->lock);
			int logged = fo->corrupt_logged;
			fo->corrupt_logged = 1;
			snprintf(fo->last_error, sizeof(fo->last_error), "%s", err.msg);
			pthread_mutex_unlock(&fo->lock);
			if (!logged)
				persist_log(fo->p, PERSIST_LOG_ERROR, "state: replay stopped: %s", err.msg);
			break;
		}
		if (c.n == 0)
			break;
		ret = persist_spool_apply_chunk(fo->spool, fo->primary, &c, &before,
						&dropped, &err);
		if (dropped > 0) {
			__atomic_add_fetch(&fo->replay_dropped, dropped, __ATOMIC_RELAXED);
			dropped = 0;
		}
		if (ret == PERSIST_OK)
			ret = persist_spool_chunk_done(fo->spool, &c, &err);
		if (ret != PERSIST_OK) {
			persist_log(fo->p, PERSIST_LOG_WARNING,
				"state: replay of %zu journaled writes (piece %s) to \"%s\" "
				"failed (%s: %s); kept, tried again when it answers",
				c.n, c.id, fo->primary->provider, persist_strerror(ret), err.msg);
			pthread_mutex_lock(&fo->lock);
			if (ret == PERSIST_EUNCERTAIN || ret == PERSIST_ETIMEDOUT)
				fo->replay_uncertain++;
			snprintf(fo->last_error, sizeof(fo->last_error), "%s", err.msg);
			if (persist_failover_outage(ret)) {
				/* down again */
				set_mode(fo, PERSIST_MODE_FALLBACK);
				fo->since_ms = persist_now_ms();
				fo->outages++;
				queue_event(fo, PERSIST_PROVIDER_DOWN, 0, err.msg);
			}
			pthread_mutex_unlock(&fo->lock);
			persist_spool_chunk_free(&c);
			persist_spool_replay_unlock(fo->spool);
			return 0;
		}
		if (!before) {
			*count_r += c.n;
			__atomic_add_fetch(&fo->replayed, c.n, __ATOMIC_RELAXED);
		}
		persist_spool_chunk_free(&c);
	}
check_drained:
	persist_spool_lock(fo->spool);
	persist_error_clear(&err);
	if (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE) &&
	    persist_spool_drained_locked(fo->spool, &err) == 1) {
		set_mode(fo, PERSIST_MODE_PRIMARY);
		drained = 1;
	}
	persist_spool_unlock(fo->spool);
	persist_spool_replay_unlock(fo->spool);
	return drained;
}

/* --- the health thread --------------------------------------------------- */

/* One round for one kind: probe the primary, move between modes. */
static void watch_kind(struct persist_watch *w, struct persist_failover *fo)
{
	struct persist_error err;
	int64_t latency = 0;
	int mode = get_mode(fo), ret = PERSIST_OK;
	uint64_t replayed = 0;

	persist_error_clear(&err);
	if (__atomic_load_n(&fo->primary->store, __ATOMIC_ACQUIRE) == NULL) {
		/* not opened at open: open it now */
		ret = persist_sink_open_store(fo->primary, fo->primary_settings, &err);
		if (ret != PERSIST_OK)
			return;
	}
	if (PERSIST_OPS_HAS(fo->primary, struct persist_ops_header, health))
		PERSIST_SINK_CALL(fo->primary, ret,
			fo->primary->ops->health(fo->primary->store, &latency, &err));
	if (mode == PERSIST_MODE_PRIMARY) {
		if (ret != PERSIST_OK && persist_failover_outage(ret)) {
			persist_error_name_provider(&err, fo->primary->provider);
			persist_failover_down(fo, ret, &err);
		}
		return;
	}
	if (ret != PERSIST_OK)
		return;
	if (mode == PERSIST_MODE_FALLBACK) {
		pthread_mutex_lock(&fo->lock);
		set_mode(fo, PERSIST_MODE_REPLAYING);
		fo->since_ms = persist_now_ms();
		queue_event(fo, PERSIST_PROVIDER_REPLAYING, 0, "");
		pthread_mutex_unlock(&fo->lock);
	}
	if (fo->spool != NULL) {
		if (!replay(fo, w, &replayed)) {
			if (replayed > 0) {
				pthread_mutex_lock(&fo->lock);
				queue_event(fo, PERSIST_PROVIDER_REPLAYED, replayed, "");
				pthread_mutex_unlock(&fo->lock);
			}
			return;
		}
	} else {
		if ((ret = sessions_restore(fo, &err)) != PERSIST_OK) {
			pthread_mutex_lock(&fo->lock);
			set_mode(fo, PERSIST_MODE_FALLBACK);
			fo->since_ms = persist_now_ms();
			fo->outages++;
			snprintf(fo->last_error, sizeof(fo->last_error), "%s", err.msg);
			queue_event(fo, PERSIST_PROVIDER_DOWN, 0, err.msg);
			pthread_mutex_unlock(&fo->lock);
			return;
		}
		set_mode(fo, PERSIST_MODE_PRIMARY);
	}
	pthread_mutex_lock(&fo->lock);
	fo->since_ms = persist_now_ms();
	queue_event(fo, PERSIST_PROVIDER_REPLAYED, replayed, "");
	queue_event(fo, PERSIST_PROVIDER_UP, 0, "");
	pthread_mutex_unlock(&fo->lock);
	persist_log(fo->p, PERSIST_LOG_INFO,
		"%s: provider \"%s\" is back; %" PRIu64 " journaled writes replayed, calls "
		"go to it again", persist_kind_name(fo->kind), fo->primary->provider, replayed);
}

/* Deliver the queued events of every kind to the subscribers. */
static void watch_deliver(struct persist_watch *w)
{
	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		struct persist_failover *fo = w->p->failover[k];
		struct fo_event *list;

		if (fo == NULL)
			continue;
		pthread_mutex_lock(&fo->lock);
		list = fo->events;
		fo->events = NULL;
		fo->events_tail = &fo->events;
		pthread_mutex_unlock(&fo->lock);
		while (list != NULL) {
			struct fo_event *ev = list;

			pthread_mutex_lock(&w->lock);
			for (size_t i = 0; i < w->n_subs; i++) {
				struct watch_sub s = w->subs[i];

				if (s.removed)
					continue;
				w->running_id = s.id;
				pthread_mutex_unlock(&w->lock);
				s.cb(s.ctx, (enum persist_kind)k, ev->event, ev->n, ev->detail);
				pthread_mutex_lock(&w->lock);
				w->running_id = 0;
				pthread_cond_broadcast(&w->idle);
			}
			pthread_mutex_unlock(&w->lock);
			list = ev->next;
			free(ev);
		}
	}
}

/* The health thread: deliver events, wait for the interval (or a kick),
   then one round over every kind with a fallback. */
static void *watch_main(void *arg)
{
	struct persist_watch *w = arg;

	for (;;) {
		struct timespec ts;
		int64_t deadline;

		watch_deliver(w);
		pthread_mutex_lock(&w->lock);
		deadline = persist_monotonic_us() / 1000 + w->interval_ms;
		ts.tv_sec = deadline / 1000;
		ts.tv_nsec = (deadline % 1000) * 1000000;
		while (!w->stop && !w->kicked &&
		       pthread_cond_timedwait(&w->wake, &w->lock, &ts) != ETIMEDOUT)
			;
		w->kicked = 0;
		if (w->stop) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		pthread_mutex_unlock(&w->lock);
		watch_deliver(w);
		for (int k = 0; k < PERSIST_KIND_COUNT_; k++)
			if (w->p->failover[k] != NULL)
				watch_kind(w, w->p->failover[k]);
	}
	return NULL;
}

int persist_watch_start(persist *p, struct persist_error *err)
{
	struct persist_watch *w;
	pthread_condattr_t attr;
	int64_t interval = -1;
	int ret;

	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		int64_t i = p->settings->kinds[k].health_interval_ms;

		if (p->failover[k] == NULL)
			continue;
		if (i <= 0)
			i = DEFAULT_HEALTH_INTERVAL_MS;
		if (interval < 0 || i < interval)
			interval = i;
	}
	if (interval < 0)
		return PERSIST_OK;   /* no fallback anywhere */
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	w->p = p;
	w->interval_ms = interval;
	w->next_id = 1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &attr);
	pthread_condattr_destroy(&attr);
	pthread_cond_init(&w->idle, NULL);
	p->watch = w;
	/* a replay left by a stopped host starts at once */
	w->kicked = 1;
	if ((ret = pthread_create(&w->thread, NULL, watch_main, w)) != 0) {
		persist_watch_stop(p);
		return persist_error_set(err, PERSIST_ENOMEM, ret,
			"cannot start the provider health thread: %s", strerror(ret));
	}
	w->started = 1;
	return PERSIST_OK;
}

void persist_watch_stop(persist *p)
{
	struct persist_watch *w = p->watch;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	if (w->started)
		pthread_join(w->thread, NULL);
	p->watch = NULL;
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->idle);
	pthread_mutex_destroy(&w->lock);
	free(w->subs);
	free(w);
}

/* --- the host's view ----------------------------------------------------- */

const char *persist_provider_mode_name(enum persist_provider_mode mode)
{
	switch (mode) {
	case PERSIST_MODE_PRIMARY: return "primary";
	case PERSIST_MODE_FALLBACK: return "fallback";
	case PERSIST_MODE_REPLAYING: return "replaying";
	default: return NULL;
	}
}

int persist_provider_status(persist *p, enum persist_kind kind,
			    struct persist_provider_status *status_r,
			    struct persist_error *err)
{
	struct persist_provider_status st;
	struct persist_failover *fo;
	struct persist_sink *sink;
	size_t size;
	int ret;

	if ((ret = persist_sink_get(p, kind, &sink, err)) != PERSIST_OK)
		return ret;
	if (status_r == NULL || status_r->size < sizeof(status_r->size) + sizeof(st.mode))
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"persist_provider_status: status_r is NULL or its size is too small\n"
			"Set status_r->size to sizeof(struct persist_provider_status).");
	size = status_r->size < sizeof(st) ? status_r->size : sizeof(st);
	memset(&st, 0, sizeof(st));
	snprintf(st.provider, sizeof(st.provider), "%s", sink->provider);
	snprintf(st.active, sizeof(st.active), "%s", sink->provider);
	fo = p->failover[kind];
	if (fo != NULL) {
		uint64_t bytes = 0;

		st.has_fallback = 1;
		snprintf(st.fallback, sizeof(st.fallback), "%s", fo->fb.provider);
		if (fo->spool != NULL &&
		    (ret = persist_spool_pending(fo->spool, &st.pending, &bytes, err)) != PERSIST_OK)
			return ret;
		pthread_mutex_lock(&fo->lock);
		st.mode = (enum persist_provider_mode)get_mode(fo);
		if (st.mode != PERSIST_MODE_PRIMARY)
			snprintf(st.active, sizeof(st.active), "%s", fo->fb.provider);
		st.since_ms = fo->since_ms;
		st.outages = fo->outages;
		st.replay_uncertain = fo->replay_uncertain;
		snprintf(st.last_error, sizeof(st.last_error), "%s", fo->last_error);
		pthread_mutex_unlock(&fo->lock);
		st.journaled = __atomic_load_n(&fo->journaled, __ATOMIC_RELAXED);
		st.replayed = __atomic_load_n(&fo->replayed, __ATOMIC_RELAXED);
		st.replay_dropped = __atomic_load_n(&fo->replay_dropped, __ATOMIC_RELAXED);
		st.replay_dated = kind == PERSIST_KIND_STATE &&
			PERSIST_OPS_HAS(fo->primary, struct persist_state_ops, batch_once_dated);
	}
	st.size = status_r->size;
	memcpy(status_r, &st, size);
	return PERSIST_OK;
}

int persist_provider_subscribe(persist *p, persist_provider_cb *cb, void *ctx,
			       uint64_t *id_r, struct persist_error *err)
{
	struct persist_watch *w;

	persist_error_clear(err);
	if (p == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0, "persist handle is NULL");
	if (cb == NULL || id_r == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"persist_provider_subscribe: %s is NULL", cb == NULL ? "cb" : "id_r");
	if ((w = p->watch) == NULL)
		return persist_error_set(err, PERSIST_ENOTSUP, 0,
			"no provider of this handle has a fallback\n"
			"Provider events (down, replaying, replayed, up) come from the "
			"health checks of a provider with \"fallback\".");
	pthread_mutex_lock(&w->lock);
	if (w->n_subs == w->cap_subs) {
		size_t nc = w->cap_subs ? w->cap_subs * 2 : 4;
		struct watch_sub *ns;

		if ((ns = realloc(w->subs, nc * sizeof(*ns))) == NULL) {
			pthread_mutex_unlock(&w->lock);
			return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
		}
		w->subs = ns;
		w->cap_subs = nc;
	}
	w->subs[w->n_subs].id = w->next_id++;
	w->subs[w->n_subs].cb = cb;
	w->subs[w->n_subs].ctx = ctx;
	w->subs[w->n_subs].removed = 0;
	*id_r = w->subs[w->n_subs].id;
	w->n_subs++;
	pthread_mutex_unlock(&w->lock);
	return PERSIST_OK;
}

int persist_provider_unsubscribe(persist *p, uint64_t id, struct persist_error *err)
{
	struct persist_watch *w;

	persist_error_clear(err);
	if (p == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0, "persist handle is NULL");
	if ((w = p->watch) == NULL)
		return persist_error_set(err, PERSIST_ENOTFOUND, 0,
			"no provider subscription with id %llu", (unsigned long long)id);
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->n_subs; i++) {
		if (w->subs[i].id != id || w->subs[i].removed)
			continue;
		w->subs[i].removed = 1;
		while (w->running_id == id && !pthread_equal(pthread_self(), w->thread))
			pthread_cond_wait(&w->idle, &w->lock);
		pthread_mutex_unlock(&w->lock);
		return PERSIST_OK;
	}
	pthread_mutex_unlock(&w->lock);
	return persist_error_set(err, PERSIST_ENOTFOUND, 0,
		"no provider subscription with id %llu", (unsigned long long)id);
}
