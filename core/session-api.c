/*
 * core/session-api.c - persist_session_*: the registry of live connections
 * shared by every instance, broadcast and targeted events, and event
 * subscriptions (delivered by the notifier on a core-owned thread).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "persist-handle.h"
#include "notify.h"

#define SESSION_OPS(sink) ((const struct persist_session_ops *)(sink)->ops)

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
	if (!PERSIST_OPS_HAS(sink, struct persist_session_ops, put))
		return persist_not_supported(sink, "put", err);
	PERSIST_SINK_CALL(sink, ret,
		SESSION_OPS(sink)->put(sink->store, id, data != NULL ? data : "", len,
				     ttl_ms, err));
	return persist_provider_error(sink, ret, err);
}

int persist_session_drop(persist *p, const char *id, struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if ((ret = check_session(p, id, &sink, err)) != PERSIST_OK)
		return ret;
	if (!PERSIST_OPS_HAS(sink, struct persist_session_ops, drop))
		return persist_not_supported(sink, "drop", err);
	PERSIST_SINK_CALL(sink, ret,
		SESSION_OPS(sink)->drop(sink->store, id, err));
	return persist_provider_error(sink, ret, err);
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
	if (!PERSIST_OPS_HAS(sink, struct persist_session_ops, list))
		return persist_not_supported(sink, "list", err);
	PERSIST_SINK_CALL(sink, ret,
		SESSION_OPS(sink)->list(sink->store, persist_collect_entry, &list, err));
	ret = persist_provider_error(sink, ret, err);
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
	if (!PERSIST_OPS_HAS(sink, struct persist_session_ops, broadcast))
		return persist_not_supported(sink, "broadcast", err);
	PERSIST_SINK_CALL(sink, ret,
		SESSION_OPS(sink)->broadcast(sink->store, event, data != NULL ? data : "",
					   len, err));
	return persist_provider_error(sink, ret, err);
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
	if (!PERSIST_OPS_HAS(sink, struct persist_session_ops, send))
		return persist_not_supported(sink, "send", err);
	PERSIST_SINK_CALL(sink, ret,
		SESSION_OPS(sink)->send(sink->store, id, event, data != NULL ? data : "",
				      len, err));
	return persist_provider_error(sink, ret, err);
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
