/*
 * core/notify.h - delivery of configuration changes and session events to
 * the host's subscribers, on a thread the core owns.
 *
 * Providers report events from whatever thread they like (host callbacks);
 * the notifier copies each event into a queue and one thread per handle
 * calls the matching subscribers, so a slow subscriber never stalls a
 * provider's I/O thread and a provider never runs host code under its locks.
 */
#ifndef PERSIST_CORE_NOTIFY_H
#define PERSIST_CORE_NOTIFY_H

#include <persist/persist.h>

struct persist_notifier;

int persist_notifier_create(struct persist *p, struct persist_notifier **n_r,
			    struct persist_error *err);
/* Stop the thread (delivering nothing more) and free everything. */
void persist_notifier_destroy(struct persist_notifier *n);

/* Queue events (copying them).  Dropped when nobody subscribed. */
void persist_notifier_config_changed(struct persist_notifier *n,
				     const char *key, const char *etag);
void persist_notifier_session_event(struct persist_notifier *n,
				    const struct persist_event *event);

int persist_notifier_subscribe_config(struct persist_notifier *n, const char *key,
				      persist_config_cb *cb, void *ctx,
				      uint64_t *id_r, struct persist_error *err);
int persist_notifier_subscribe_session(struct persist_notifier *n,
				       persist_event_cb *cb, void *ctx,
				       uint64_t *id_r, struct persist_error *err);
/* Remove a subscription of the given type (config or session); waits
   until its callback is not running. */
int persist_notifier_unsubscribe(struct persist_notifier *n, int session,
				 uint64_t id, struct persist_error *err);

#endif
