/*
 * core/notify.c - the notifier: a queue of configuration changes and
 * session events, a thread that drains it, and the subscriber list.
 *
 * Providers call in from their own threads (inotify, Redis pub/sub); the
 * event is copied into the queue and the provider's thread goes on at
 * once.  The delivery thread is started with the first subscription, so a
 * handle nobody subscribes on costs no thread.  Unsubscribing waits until
 * the callback is not running (unless called from inside a callback), so
 * the caller may free its context right after.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "persist-handle.h"
#include "notify.h"

/* Past this many undelivered events the oldest are dropped and every
   configuration subscriber is told to re-read everything. */
#define NOTIFY_QUEUE_MAX 65536

struct notify_event {
	struct notify_event *next;
	int session;          /* 0: config change, 1: session event */
	char *key;            /* config key (NULL: everything) / session id */
	char *etag;           /* config: new ETag, NULL when deleted */
	char *origin, *name;  /* session event */
	void *data;
	size_t len;
};

struct subscriber {
	uint64_t id;
	int session;
	int removed;
	char *key;            /* config: NULL = every key */
	persist_config_cb *config_cb;
	persist_event_cb *event_cb;
	void *ctx;
};

struct persist_notifier {
	struct persist *handle;
	pthread_mutex_t lock;
	pthread_cond_t wake;      /* queue not empty, or stopping */
	pthread_cond_t idle;      /* a callback returned */
	struct notify_event *head, *tail;
	size_t queued;
	int lost;                 /* events were dropped: send a "re-read all" */
	struct subscriber *subs;
	size_t n_subs, cap_subs;
	size_t n_config_subs, n_session_subs;
	uint64_t next_id;
	uint64_t running_id;      /* subscription whose callback runs now */
	int thread_started, stopping;
	pthread_t thread;
};

static void event_free(struct notify_event *ev)
{
	free(ev->key);
	free(ev->etag);
	free(ev->origin);
	free(ev->name);
	free(ev->data);
	free(ev);
}

/* Create an idle notifier (no thread yet). */
int persist_notifier_create(struct persist *p, struct persist_notifier **n_r,
			    struct persist_error *err)
{
	struct persist_notifier *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	n->handle = p;
	n->next_id = 1;
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->wake, NULL);
	pthread_cond_init(&n->idle, NULL);
	*n_r = n;
	return PERSIST_OK;
}

/* Does subscriber s want event ev? */
static int sub_matches(const struct subscriber *s, const struct notify_event *ev)
{
	if (s->removed || s->session != ev->session)
		return 0;
	if (ev->session)
		return 1;
	return s->key == NULL || ev->key == NULL || strcmp(s->key, ev->key) == 0;
}

/* Drop removed subscribers from the array (only while no callback runs). */
static void subs_compact(struct persist_notifier *n)
{
	size_t j = 0;

	for (size_t i = 0; i < n->n_subs; i++) {
		if (n->subs[i].removed) {
			free(n->subs[i].key);
			continue;
		}
		n->subs[j++] = n->subs[i];
	}
	n->n_subs = j;
}

/* Deliver one event to every matching subscriber; called with the lock
   held, releases it around each callback. */
static void deliver(struct persist_notifier *n, const struct notify_event *ev)
{
	for (size_t i = 0; i < n->n_subs; i++) {
		struct subscriber s = n->subs[i];

		if (!sub_matches(&s, ev))
			continue;
		n->running_id = s.id;
		pthread_mutex_unlock(&n->lock);
		if (ev->session)
			s.event_cb(s.ctx, ev->origin, ev->key, ev->name, ev->data, ev->len);
		else
			s.config_cb(s.ctx, ev->key, ev->etag);
		pthread_mutex_lock(&n->lock);
		n->running_id = 0;
		pthread_cond_broadcast(&n->idle);
	}
}

/* The delivery thread. */
static void *notifier_thread(void *arg)
{
	struct persist_notifier *n = arg;

	pthread_mutex_lock(&n->lock);
	for (;;) {
		struct notify_event *ev;

		while (n->head == NULL && !n->lost && !n->stopping)
			pthread_cond_wait(&n->wake, &n->lock);
		if (n->stopping)
			break;
		subs_compact(n);
		if (n->lost) {
			struct notify_event all = { .session = 0 };
			n->lost = 0;
			deliver(n, &all);
			continue;
		}
		ev = n->head;
		n->head = ev->next;
		if (n->head == NULL)
			n->tail = NULL;
		n->queued--;
		deliver(n, ev);
		event_free(ev);
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

/* Append an event to the queue (lock held by the caller). */
static void enqueue_locked(struct persist_notifier *n, struct notify_event *ev)
{
	if (n->queued >= NOTIFY_QUEUE_MAX) {
		struct notify_event *old = n->head;
		n->head = old->next;
		if (n->head == NULL)
			n->tail = NULL;
		n->queued--;
		if (!old->session)
			n->lost = 1;
		event_free(old);
	}
	if (n->tail != NULL)
		n->tail->next = ev;
	else
		n->head = ev;
	n->tail = ev;
	n->queued++;
	pthread_cond_signal(&n->wake);
}

/* Queue a configuration change (dropped when nobody listens). */
void persist_notifier_config_changed(struct persist_notifier *n,
				     const char *key, const char *etag)
{
	struct notify_event *ev;

	pthread_mutex_lock(&n->lock);
	if (n->n_config_subs == 0 || n->stopping) {
		pthread_mutex_unlock(&n->lock);
		return;
	}
	pthread_mutex_unlock(&n->lock);
	ev = calloc(1, sizeof(*ev));
	if (ev == NULL || (key != NULL && (ev->key = strdup(key)) == NULL) ||
	    (etag != NULL && (ev->etag = strdup(etag)) == NULL)) {
		if (ev != NULL)
			event_free(ev);
		pthread_mutex_lock(&n->lock);
		n->lost = 1;   /* cannot copy it: tell them to re-read */
		pthread_cond_signal(&n->wake);
		pthread_mutex_unlock(&n->lock);
		persist_log(n->handle, PERSIST_LOG_ERROR,
			    "out of memory queueing a configuration change");
		return;
	}
	pthread_mutex_lock(&n->lock);
	enqueue_locked(n, ev);
	pthread_mutex_unlock(&n->lock);
}

/* Queue a session event (dropped when nobody listens). */
void persist_notifier_session_event(struct persist_notifier *n,
				    const struct persist_event *event)
{
	struct notify_event *ev;

	pthread_mutex_lock(&n->lock);
	if (n->n_session_subs == 0 || n->stopping) {
		pthread_mutex_unlock(&n->lock);
		return;
	}
	pthread_mutex_unlock(&n->lock);
	ev = calloc(1, sizeof(*ev));
	if (ev == NULL)
		goto oom;
	ev->session = 1;
	if ((event->session_id != NULL && (ev->key = strdup(event->session_id)) == NULL) ||
	    (ev->origin = strdup(event->origin != NULL ? event->origin : "")) == NULL ||
	    (ev->name = strdup(event->event != NULL ? event->event : "")) == NULL ||
	    (ev->data = persist_memdup0(event->data != NULL ? event->data : "",
					event->data != NULL ? event->len : 0)) == NULL)
		goto oom;
	ev->len = event->data != NULL ? event->len : 0;
	pthread_mutex_lock(&n->lock);
	enqueue_locked(n, ev);
	pthread_mutex_unlock(&n->lock);
	return;
oom:
	if (ev != NULL)
		event_free(ev);
	persist_log(n->handle, PERSIST_LOG_ERROR,
		    "out of memory: session event dropped");
}

/* Add a subscriber and start the thread if needed. */
static int subscribe(struct persist_notifier *n, int session, const char *key,
		     persist_config_cb *config_cb, persist_event_cb *event_cb,
		     void *ctx, uint64_t *id_r, struct persist_error *err)
{
	struct subscriber *s;
	char *key_copy = NULL;

	if (key != NULL && (key_copy = strdup(key)) == NULL)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	pthread_mutex_lock(&n->lock);
	if (n->n_subs == n->cap_subs) {
		size_t cap = n->cap_subs == 0 ? 8 : n->cap_subs * 2;
		struct subscriber *bigger = realloc(n->subs, cap * sizeof(*bigger));
		if (bigger == NULL) {
			pthread_mutex_unlock(&n->lock);
			free(key_copy);
			return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
		}
		n->subs = bigger;
		n->cap_subs = cap;
	}
	if (!n->thread_started) {
		int e = pthread_create(&n->thread, NULL, notifier_thread, n);
		if (e != 0) {
			pthread_mutex_unlock(&n->lock);
			free(key_copy);
			return persist_error_set(err, PERSIST_ENOMEM, e,
				"cannot start the notification thread: %s", strerror(e));
		}
		n->thread_started = 1;
	}
	s = &n->subs[n->n_subs++];
	memset(s, 0, sizeof(*s));
	s->id = n->next_id++;
	s->session = session;
	s->key = key_copy;
	s->config_cb = config_cb;
	s->event_cb = event_cb;
	s->ctx = ctx;
	if (session)
		n->n_session_subs++;
	else
		n->n_config_subs++;
	if (id_r != NULL)
		*id_r = s->id;
	pthread_mutex_unlock(&n->lock);
	return PERSIST_OK;
}

int persist_notifier_subscribe_config(struct persist_notifier *n, const char *key,
				      persist_config_cb *cb, void *ctx,
				      uint64_t *id_r, struct persist_error *err)
{
	return subscribe(n, 0, key, cb, NULL, ctx, id_r, err);
}

int persist_notifier_subscribe_session(struct persist_notifier *n,
				       persist_event_cb *cb, void *ctx,
				       uint64_t *id_r, struct persist_error *err)
{
	return subscribe(n, 1, NULL, NULL, cb, ctx, id_r, err);
}

/* Remove subscription id; wait until its callback is not running. */
int persist_notifier_unsubscribe(struct persist_notifier *n, int session,
				 uint64_t id, struct persist_error *err)
{
	int in_callback;

	pthread_mutex_lock(&n->lock);
	for (size_t i = 0; i < n->n_subs; i++) {
		struct subscriber *s = &n->subs[i];
		if (s->id != id || s->removed || s->session != session)
			continue;
		s->removed = 1;
		if (session)
			n->n_session_subs--;
		else
			n->n_config_subs--;
		in_callback = n->thread_started &&
			pthread_equal(pthread_self(), n->thread);
		while (!in_callback && n->running_id == id)
			pthread_cond_wait(&n->idle, &n->lock);
		pthread_mutex_unlock(&n->lock);
		return PERSIST_OK;
	}
	pthread_mutex_unlock(&n->lock);
	return persist_error_set(err, PERSIST_ENOTFOUND, 0,
		"no %s subscription with id %llu", session ? "session" : "configuration",
		(unsigned long long)id);
}

/* Stop the thread and free everything still queued. */
void persist_notifier_destroy(struct persist_notifier *n)
{
	struct notify_event *ev;

	if (n == NULL)
		return;
	pthread_mutex_lock(&n->lock);
	n->stopping = 1;
	pthread_cond_broadcast(&n->wake);
	pthread_mutex_unlock(&n->lock);
	if (n->thread_started)
		pthread_join(n->thread, NULL);
	while ((ev = n->head) != NULL) {
		n->head = ev->next;
		event_free(ev);
	}
	for (size_t i = 0; i < n->n_subs; i++)
		free(n->subs[i].key);
	free(n->subs);
	pthread_cond_destroy(&n->wake);
	pthread_cond_destroy(&n->idle);
	pthread_mutex_destroy(&n->lock);
	free(n);
}
