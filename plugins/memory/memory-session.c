/*
 * plugins/memory/memory-session.c - sessions of the memory provider: a
 * registry of live connections shared by every store of a namespace, and
 * events between those stores.
 *
 * Each store stands for one instance (its instance_id).  A session belongs
 * to the instance whose store last put it; when an instance's last session
 * store closes, its sessions go with it (the connections they describe are
 * gone).  A broadcast reaches every open session store of the namespace,
 * the sender's too; a send reaches the stores of the instance holding the
 * session.  Events are handed to host->session_event without the namespace
 * lock held (see memory-namespace.c).  Delivery is "in process": this
 * provider does not claim PERSIST_CAP_BROADCAST, which means other
 * processes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "memory-private.h"

#define MEMORY_SWEEP_MIN 64

/* Free a session. */
void memory_session_free(struct memory_session *session)
{
	if (session == NULL)
		return;
	free(session->entry.key);
	free(session->instance);
	free(session->data);
	free(session);
}

/* The live session with this id; an expired one is freed on the way. */
static struct memory_session *memory_session_live(struct memory_namespace *ns,
						  const char *id, int64_t now_ms)
{
	struct memory_session *session =
		(struct memory_session *)pc_table_find(&ns->sessions, id);

	if (session != NULL && memory_expired(session->expires_ms, now_ms)) {
		pc_table_remove(&ns->sessions, &session->entry);
		memory_session_free(session);
		session = NULL;
	}
	return session;
}

/* Free sessions matching instance (NULL: only expired ones at now_ms). */
static void memory_sessions_remove(struct memory_namespace *ns,
				   const char *instance, int64_t now_ms)
{
	struct pc_table_iter iter;
	struct pc_table_entry *e;

	pc_table_iter_init(&iter, &ns->sessions);
	while ((e = pc_table_iter_next(&iter)) != NULL) {
		struct memory_session *session = (struct memory_session *)e;

		if (instance != NULL ? strcmp(session->instance, instance) == 0 :
		    memory_expired(session->expires_ms, now_ms)) {
			pc_table_remove(&ns->sessions, e);
			memory_session_free(session);
		}
	}
}

/* Drop every session of an instance whose last store closes. */
void memory_sessions_drop_instance(struct memory_namespace *ns,
				   const char *instance)
{
	memory_sessions_remove(ns, instance, 0);
}

/* open() for sessions. */
int memory_session_open(void *plugin, const struct persist_store_args *args,
			void **store_r, struct persist_error *err)
{
	return memory_store_open(plugin, args, (struct memory_store **)store_r, err);
}

/* close() for sessions. */
void memory_session_close(void *store)
{
	memory_store_close(store);
}

/* put(): register or refresh a session held by this store's instance. */
int memory_session_put(void *s, const char *id, const void *data,
		       size_t len, int64_t ttl_ms,
		       struct persist_error *err)
{
	struct memory_store *store = s;
	struct memory_namespace *ns = store->ns;
	const struct persist_host *host = store->plugin->host;
	struct memory_session *session;
	char *instance;
	void *copy;
	int64_t now;

	if (id == NULL || (data == NULL && len > 0))
		return host->error(err, PERSIST_EINVAL, 0,
				   "session put without an id or data");
	if (ttl_ms < 0)
		return host->error(err, PERSIST_EINVAL, 0,
				   "negative TTL for session \"%s\"", id);
	copy = pc_memdup0(data, len);
	instance = pc_strdup(store->instance_id);
	if (copy == NULL || instance == NULL)
		goto nomem;
	pthread_mutex_lock(&ns->lock);
	now = host->now_ms();
	session = (struct memory_session *)pc_table_find(&ns->sessions, id);
	if (session == NULL) {
		if (ns->sessions.count >= ns->sessions_sweep_at) {
			memory_sessions_remove(ns, NULL, now);
			ns->sessions_sweep_at = ns->sessions.count * 2 > MEMORY_SWEEP_MIN ?
				ns->sessions.count * 2 : MEMORY_SWEEP_MIN;
		}
		session = calloc(1, sizeof(*session));
		if (session == NULL || (session->entry.key = pc_strdup(id)) == NULL ||
		    pc_table_insert(&ns->sessions, &session->entry) != 0) {
			memory_session_free(session);
			pthread_mutex_unlock(&ns->lock);
			goto nomem;
		}
	}
	free(session->instance);
	session->instance = instance;
	free(session->data);
	session->data = copy;
	session->len = len;
	session->expires_ms = memory_expiry(host, ttl_ms);
	pthread_mutex_unlock(&ns->lock);
	return PERSIST_OK;
nomem:
	free(copy);
	free(instance);
	return host->error(err, PERSIST_ENOMEM, ENOMEM,
			   "out of memory registering session \"%s\"", id);
}

/* drop(): remove a session, whichever instance holds it. */
int memory_session_drop(void *s, const char *id, struct persist_error *err)
{
	struct memory_store *store = s;
	const struct persist_host *host = store->plugin->host;
	struct memory_session *session;
	int ret = PERSIST_OK;

	if (id == NULL)
		return host->error(err, PERSIST_EINVAL, 0,
				   "session drop without an id");
	pthread_mutex_lock(&store->ns->lock);
	session = memory_session_live(store->ns, id, host->now_ms());
	if (session == NULL) {
		ret = host->error(err, PERSIST_ENOTFOUND, 0,
				  "session \"%s\" not found", id);
	} else {
		pc_table_remove(&store->ns->sessions, &session->entry);
		memory_session_free(session);
	}
	pthread_mutex_unlock(&store->ns->lock);
	return ret;
}

/* list(): every live session of every instance. */
int memory_session_list(void *s, persist_emit_fn *emit, void *ctx,
			struct persist_error *err)
{
	struct memory_store *store = s;
	const struct persist_host *host = store->plugin->host;
	struct pc_table_iter iter;
	struct pc_table_entry *e;
	int64_t now;

	if (emit == NULL)
		return host->error(err, PERSIST_EINVAL, 0,
				   "session list without a callback");
	pthread_mutex_lock(&store->ns->lock);
	now = host->now_ms();
	pc_table_iter_init(&iter, &store->ns->sessions);
	while ((e = pc_table_iter_next(&iter)) != NULL) {
		struct memory_session *session = (struct memory_session *)e;
		struct persist_item item = {
			.size = sizeof(item),
			.key = e->key,
			.value = session->data,
			.len = session->len,
			.instance = session->instance,
			.expires_ms = session->expires_ms,
		};

		if (memory_expired(session->expires_ms, now)) {
			pc_table_remove(&store->ns->sessions, e);
			memory_session_free(session);
			continue;
		}
		if (emit(ctx, &item) != 0)
			break;
	}
	pthread_mutex_unlock(&store->ns->lock);
	return PERSIST_OK;
}

/* Hand one event to one store's sink (foreach callback). */
static void memory_session_deliver(struct memory_store *store, void *ctx)
{
	store->plugin->host->session_event(store->sink, ctx);
}

/* broadcast(): the event to every session store, the sender's included. */
int memory_session_broadcast(void *s, const char *event, const void *data,
			     size_t len, struct persist_error *err)
{
	struct memory_store *store = s;
	const struct persist_host *host = store->plugin->host;
	struct persist_event ev = {
		.size = sizeof(ev),
		.origin = store->instance_id,
		.session_id = NULL,
		.event = event,
		.data = data,
		.len = len,
	};

	if (event == NULL || (data == NULL && len > 0))
		return host->error(err, PERSIST_EINVAL, 0,
				   "broadcast without an event name or data");
	pthread_mutex_lock(&store->ns->lock);
	memory_ns_foreach_store(store->ns, PERSIST_KIND_SESSION, NULL,
				memory_session_deliver, &ev);
	pthread_mutex_unlock(&store->ns->lock);
	return PERSIST_OK;
}

/* send(): the event to the instance holding session id. */
int memory_session_send(void *s, const char *id, const char *event,
			const void *data, size_t len,
			struct persist_error *err)
{
	struct memory_store *store = s;
	const struct persist_host *host = store->plugin->host;
	struct memory_session *session;
	char *instance;
	struct persist_event ev = {
		.size = sizeof(ev),
		.origin = store->instance_id,
		.session_id = id,
		.event = event,
		.data = data,
		.len = len,
	};
	int ret = PERSIST_OK;

	if (id == NULL || event == NULL || (data == NULL && len > 0))
		return host->error(err, PERSIST_EINVAL, 0,
				   "send without a session id, event name or data");
	pthread_mutex_lock(&store->ns->lock);
	session = memory_session_live(store->ns, id, host->now_ms());
	if (session == NULL) {
		pthread_mutex_unlock(&store->ns->lock);
		return host->error(err, PERSIST_ENOTFOUND, 0,
				   "session \"%s\" not found", id);
	}
	/* the session may go while the lock is dropped for delivery */
	instance = pc_strdup(session->instance);
	if (instance == NULL) {
		ret = host->error(err, PERSIST_ENOMEM, ENOMEM,
				  "out of memory sending to session \"%s\"", id);
	} else if (memory_ns_foreach_store(store->ns, PERSIST_KIND_SESSION, instance,
					   memory_session_deliver, &ev) == 0) {
		ret = host->error(err, PERSIST_ENOTFOUND, 0,
				  "session \"%s\" not found\n"
				  "Its instance %s has no open session store.", id, instance);
	}
	pthread_mutex_unlock(&store->ns->lock);
	free(instance);
	return ret;
}
