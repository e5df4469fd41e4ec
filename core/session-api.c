/*
 * core/session-api.c - persist_session_*: the registry of live connections
 * shared by every instance, broadcast and targeted events, and event
 * subscriptions (delivered by the notifier on a core-owned thread).
 *
 * With a fallback (core/fallback.c), calls go to the fallback's store
 * while the primary is down, and a call the primary answers with an
 * outage marks it down and is made again on the fallback.  Sessions this
 * instance puts meanwhile are put again on the primary when it is back.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "persist-handle.h"
#include "notify.h"
#include "fallback.h"

#define SESSION_OPS(sink) ((const struct persist_session_ops *)(sink)->ops)
#define SESSION_FO(p) ((p)->failover[PERSIST_KIND_SESSION])

/* The store serving sessions now: the fallback's while the primary is
   down. */
static struct persist_sink *session_sink(persist *p, struct persist_sink *sink)
{
	return persist_failover_active(SESSION_FO(p)) ? &SESSION_FO(p)->fb : sink;
}

/* After a call on *sink answered ret: true when it was the primary and
   an outage (now marked down): make the call again on the fallback. */
static int session_retry(persist *p, struct persist_sink **sink, int ret,
			 struct persist_error *err)
{
	struct persist_failover *fo = SESSION_FO(p);

	if (fo == NULL || *sink == &fo->fb || !persist_failover_outage(ret))
		return 0;
	persist_failover_down(fo, ret, err);
	persist_error_clear(err);
	*sink = &fo->fb;
	return 1;
}

/* Common checks of a call on one session: handle, session store, id
   (NULL refused). */
static int check_session(persist *p, const char *id, struct persist_sink **sink_r,
			 struct persist_error *err)
{
	int ret = persist_sink_get(p, PERSIST_KIND_SESSION, sink_r, err);

	return ret != PERSIST_OK ? ret : persist_valid_key("session id", id, err);
}

int persist_session_put(persist *p, const char *id, const void *data,
			size_t len, int64_t ttl_ms, struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if ((ret = check_session(p, id, &sink, err)) != PERSIST_OK ||
	    (ret = persist_valid_value("session data", data, len, err)) != PERSIST_OK)
		return ret;
	if ((ret = persist_valid_ttl(ttl_ms, "session", id, err)) != PERSIST_OK)
		return ret;
	if (ttl_ms > 0 && (sink->caps & PERSIST_CAP_TTL) == 0)
		return persist_error_set(err, PERSIST_ENOTSUP, 0,
			"provider \"%s\" does not support session TTLs", sink->provider);
	sink = session_sink(p, sink);
	do {
		if (!PERSIST_OPS_HAS(sink, struct persist_session_ops, put))
			return persist_not_supported(sink, "put", err);
		PERSIST_SINK_CALL(sink, ret,
			SESSION_OPS(sink)->put(sink->store, id, data != NULL ? data : "", len,
					     ttl_ms, err));
		ret = persist_provider_error(sink, ret, err);
	} while (session_retry(p, &sink, ret, err));
	if (ret == PERSIST_OK && SESSION_FO(p) != NULL && sink == &SESSION_FO(p)->fb)
		persist_failover_session_put(SESSION_FO(p), id, data != NULL ? data : "",
					     len, ttl_ms);
	return ret;
}

int persist_session_drop(persist *p, const char *id, struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if ((ret = check_session(p, id, &sink, err)) != PERSIST_OK)
		return ret;
	if (SESSION_FO(p) != NULL)
		persist_failover_session_drop(SESSION_FO(p), id);
	sink = session_sink(p, sink);
	do {
		if (!PERSIST_OPS_HAS(sink, struct persist_session_ops, drop))
			return persist_not_supported(sink, "drop", err);
		PERSIST_SINK_CALL(sink, ret,
			SESSION_OPS(sink)->drop(sink->store, id, err));
		ret = persist_provider_error(sink, ret, err);
	} while (session_retry(p, &sink, ret, err));
	return ret;
}

int persist_session_list(persist *p, struct persist_entry **sessions_r,
			 size_t *n_r, struct persist_error *err)
{
	struct persist_sink *sink;
	struct persist_collector list = { .with_value = 1 };
	int ret;

	if ((ret = persist_sink_get(p, PERSIST_KIND_SESSION, &sink, err)) != PERSIST_OK)
		return ret;
	if (sessions_r == NULL || n_r == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"persist_session_list: output pointer is NULL");
	sink = session_sink(p, sink);
	for (;;) {
		if (!PERSIST_OPS_HAS(sink, struct persist_session_ops, list))
			return persist_not_supported(sink, "list", err);
		PERSIST_SINK_CALL(sink, ret,
			SESSION_OPS(sink)->list(sink->store, persist_collect_entry, &list, err));
		ret = persist_provider_error(sink, ret, err);
		if (!session_retry(p, &sink, ret, err))
			break;
		persist_collect_finish(&list, ret, 1, sessions_r, n_r, NULL);
		memset(&list, 0, sizeof(list));
		list.with_value = 1;
	}
	return persist_collect_finish(&list, ret, 1, sessions_r, n_r, err);
}

int persist_session_broadcast(persist *p, const char *event, const void *data,
			      size_t len, struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if ((ret = persist_sink_get(p, PERSIST_KIND_SESSION, &sink, err)) != PERSIST_OK ||
	    (ret = persist_valid_key("event name", event, err)) != PERSIST_OK ||
	    (ret = persist_valid_value("event data", data, len, err)) != PERSIST_OK)
		return ret;
	sink = session_sink(p, sink);
	do {
		if (!PERSIST_OPS_HAS(sink, struct persist_session_ops, broadcast))
			return persist_not_supported(sink, "broadcast", err);
		PERSIST_SINK_CALL(sink, ret,
			SESSION_OPS(sink)->broadcast(sink->store, event, data != NULL ? data : "",
						   len, err));
		ret = persist_provider_error(sink, ret, err);
	} while (session_retry(p, &sink, ret, err));
	return ret;
}

int persist_session_send(persist *p, const char *id, const char *event,
			 const void *data, size_t len, struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if ((ret = check_session(p, id, &sink, err)) != PERSIST_OK ||
	    (ret = persist_valid_key("event name", event, err)) != PERSIST_OK ||
	    (ret = persist_valid_value("event data", data, len, err)) != PERSIST_OK)
		return ret;
	sink = session_sink(p, sink);
	do {
		if (!PERSIST_OPS_HAS(sink, struct persist_session_ops, send))
			return persist_not_supported(sink, "send", err);
		PERSIST_SINK_CALL(sink, ret,
			SESSION_OPS(sink)->send(sink->store, id, event, data != NULL ? data : "",
					      len, err));
		ret = persist_provider_error(sink, ret, err);
	} while (session_retry(p, &sink, ret, err));
	return ret;
}

int persist_session_subscribe(persist *p, persist_event_cb *cb, void *ctx,
			      uint64_t *id_r, struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if ((ret = persist_sink_get(p, PERSIST_KIND_SESSION, &sink, err)) != PERSIST_OK)
		return ret;
	if (cb == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0, "event callback is NULL");
	persist_provider_settle(p, PERSIST_KIND_SESSION);
	return persist_notifier_subscribe_session(p->notifier, cb, ctx, id_r, err);
}

int persist_session_unsubscribe(persist *p, uint64_t id, struct persist_error *err)
{
	persist_error_clear(err);
	if (p == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0, "persist handle is NULL");
	return persist_notifier_unsubscribe(p->notifier, 1, id, err);
}
