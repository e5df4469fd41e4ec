/*
 * plugins/s3/s3-poll.c - change notification by polling.  S3 has no push
 * channel a plain bucket can rely on, so each store runs one thread that
 * lists the prefix every pollInterval (ListObjectsV2 gives every object's
 * S3 ETag, 1,000 a page) and compares with what it saw last time:
 *
 *   - an object whose S3 ETag changed, or that appeared, is read with a
 *     conditional GET (If-None-Match, through the store's cache) and
 *     notified with the core's ETag of its bytes unless that ETag is the
 *     one already known (a rewrite with identical bytes is no change);
 *   - an object that went away is notified as deleted (ETag NULL).
 *
 * The first listing only learns what is there.  The store's own writes
 * notify at once (s3_poll_own_write) and are stamped with a sequence
 * number, so a listing that began before the write cannot undo it: an
 * entry stamped after the round began is left alone by that round, and a
 * delete leaves a tombstone for the same reason.  A failed round is
 * logged once (and once again when polling works again) and retried at
 * the next interval.
 */
#include "s3-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One round's listing: key -> S3 ETag. */
struct round_list {
	struct pc_map *now;
	int failed;
};

/* A key of the listing into the round's map. */
static int collect(void *ctx, const char *key, const char *s3_etag)
{
	struct round_list *rl = ctx;
	char *e = strdup(s3_etag);

	if (e == NULL || pc_map_put(rl->now, key, e) != 0) {
		free(e);
		rl->failed = 1;
		return 1;
	}
	return 0;
}

/* The round's view of one key that is listed with S3's ETag s3_etag. */
static void check_key(struct s3_store *st, const char *key, const char *s3_etag,
		      uint64_t seq0, bool first)
{
	struct s3_seen *seen;
	struct s3_doc *doc = NULL;
	struct persist_error err;
	char old[PERSIST_ETAG_MAX] = "";
	bool known;

	pthread_mutex_lock(&st->lock);
	seen = pc_map_get(st->seen, key);
	if (seen != NULL) {
		seen->mark = true;
		if (seen->write_seq > seq0 || strcmp(seen->s3_etag, s3_etag) == 0) {
			pthread_mutex_unlock(&st->lock);
			return;
		}
	}
	pthread_mutex_unlock(&st->lock);
	if (!first && s3_fetch(st, key, &doc, &err) != PERSIST_OK)
		return;         /* gone again or unreadable: the next round sees */

	pthread_mutex_lock(&st->lock);
	seen = pc_map_get(st->seen, key);
	if (seen != NULL && seen->write_seq > seq0) {
		pthread_mutex_unlock(&st->lock);
		s3_doc_free(doc);
		return;         /* an own write came in between */
	}
	known = seen != NULL && seen->etag[0] != '\0';
	if (known)
		snprintf(old, sizeof(old), "%s", seen->etag);
	if (seen == NULL) {
		seen = calloc(1, sizeof(*seen));
		if (seen == NULL || pc_map_put(st->seen, key, seen) != 0) {
			free(seen);
			pthread_mutex_unlock(&st->lock);
			s3_doc_free(doc);
			return;
		}
	}
	seen->mark = true;
	seen->write_seq = 0;
	snprintf(seen->s3_etag, sizeof(seen->s3_etag), "%s",
		 doc != NULL && doc->s3_etag[0] != '\0' ? doc->s3_etag : s3_etag);
	snprintf(seen->etag, sizeof(seen->etag), "%s", doc != NULL ? doc->etag : "");
	if (!first && doc != NULL && (!known || strcmp(old, doc->etag) != 0))
		st->host->config_changed(st->sink, key, doc->etag);
	pthread_mutex_unlock(&st->lock);
	s3_doc_free(doc);
}

/* The state of the vanish pass. */
struct vanish_walk {
	struct s3_store *st;
	struct pc_map *now;
	uint64_t seq0;
	bool first;
};

/* A key seen before and not in this listing: gone (or a tombstone that
   can go). */
static int vanish_one(void *ctx, const char *key, void *value)
{
	struct vanish_walk *w = ctx;
	struct s3_seen *seen = value;
	bool tombstone = seen->s3_etag[0] == '\0' && seen->etag[0] == '\0';

	if (seen->write_seq > w->seq0 || pc_map_get(w->now, key) != NULL)
		return 0;
	if (!tombstone && !w->first)
		w->st->host->config_changed(w->st->sink, key, NULL);
	pc_map_del(w->st->seen, key);
	return 0;
}

/* The state of the change pass. */
struct change_walk {
	struct s3_store *st;
	uint64_t seq0;
	bool first;
};

static int change_one(void *ctx, const char *key, void *value)
{
	struct change_walk *w = ctx;

	check_key(w->st, key, value, w->seq0, w->first);
	return 0;
}

/* One round: list, compare, notify.  PERSIST_OK or the listing's error. */
static int poll_round(struct s3_store *st, struct persist_error *err)
{
	struct round_list rl = { pc_map_new(free), 0 };
	uint64_t seq0;
	bool first;
	int ret;

	if (rl.now == NULL)
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	pthread_mutex_lock(&st->lock);
	seq0 = st->write_seq;
	first = !st->seen_ready;
	pthread_mutex_unlock(&st->lock);
	ret = s3_list_keys(st, collect, &rl, err);
	if (ret == PERSIST_OK && rl.failed)
		ret = st->host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	if (ret == PERSIST_OK) {
		struct change_walk cw = { st, seq0, first };
		struct vanish_walk vw = { st, rl.now, seq0, first };

		pc_map_each(rl.now, change_one, &cw);
		pthread_mutex_lock(&st->lock);
		pc_map_each(st->seen, vanish_one, &vw);
		st->seen_ready = true;
		pthread_mutex_unlock(&st->lock);
	}
	pc_map_free(rl.now);
	return ret;
}

/* The thread: a round, then wait pollInterval (or until close). */
static void *poller_main(void *arg)
{
	struct s3_store *st = arg;
	bool failing = false;

	pthread_mutex_lock(&st->lock);
	while (!st->stopping) {
		struct persist_error err;
		struct timespec until;
		int ret;

		pthread_mutex_unlock(&st->lock);
		ret = poll_round(st, &err);
		if (ret != PERSIST_OK && !failing)
			st->host->log(st->sink, PERSIST_LOG_WARNING,
				      "cannot look for changes in bucket \"%s\": %s",
				      st->conf.bucket, err.msg);
		else if (ret == PERSIST_OK && failing)
			st->host->log(st->sink, PERSIST_LOG_INFO,
				      "looking for changes in bucket \"%s\" works again",
				      st->conf.bucket);
		failing = ret != PERSIST_OK;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (time_t)(st->conf.poll_interval_ms / 1000);
		until.tv_nsec += (long)(st->conf.poll_interval_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&st->lock);
		while (!st->stopping &&
		       pthread_cond_timedwait(&st->wake, &st->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

/* Start the store's poller. */
int s3_poll_start(struct s3_store *st, struct persist_error *err)
{
	int e = pthread_create(&st->poller, NULL, poller_main, st);

	if (e != 0)
		return st->host->error(err, PERSIST_EIO, e, "cannot start the thread "
				       "that looks for changes\npthread_create failed.");
	st->poller_running = true;
	return PERSIST_OK;
}

/* Stop and join the poller (close). */
void s3_poll_stop(struct s3_store *st)
{
	if (!st->poller_running)
		return;
	pthread_mutex_lock(&st->lock);
	__atomic_store_n(&st->stopping, true, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&st->wake);
	pthread_mutex_unlock(&st->lock);
	pthread_join(st->poller, NULL);
	st->poller_running = false;
}

/* Record an own write and notify it (unless identical bytes). */
void s3_poll_own_write(struct s3_store *st, const char *key, const char *s3_etag,
		       const char *etag)
{
	struct s3_seen *seen;
	bool same;

	pthread_mutex_lock(&st->lock);
	seen = pc_map_get(st->seen, key);
	/* the same bytes as known: the same core ETag, or (for a key known
	   only from a listing) the same S3 ETag */
	same = seen != NULL && etag != NULL &&
	       (strcmp(seen->etag, etag) == 0 ||
		(seen->etag[0] == '\0' && s3_etag != NULL && s3_etag[0] != '\0' &&
		 strcmp(seen->s3_etag, s3_etag) == 0));
	if (seen == NULL) {
		seen = calloc(1, sizeof(*seen));
		if (seen != NULL && pc_map_put(st->seen, key, seen) != 0) {
			free(seen);
			seen = NULL;
		}
	}
	if (seen != NULL) {
		seen->write_seq = ++st->write_seq;
		snprintf(seen->s3_etag, sizeof(seen->s3_etag), "%s",
			 s3_etag != NULL ? s3_etag : "");
		snprintf(seen->etag, sizeof(seen->etag), "%s", etag != NULL ? etag : "");
	}
	if (!same)
		st->host->config_changed(st->sink, key, etag);
	pthread_mutex_unlock(&st->lock);
}
