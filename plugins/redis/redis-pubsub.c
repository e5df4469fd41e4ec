/*
 * plugins/redis/redis-pubsub.c - the subscriber of a store: one thread
 * with its own connection in SUBSCRIBE mode (a subscribed connection can
 * do nothing else, so it never comes from the pool).
 *
 * The thread connects, subscribes to the store's channels, and then waits
 * in poll() on the socket and on a wake-up pipe.  Messages go to the
 * kind's handler (configuration notices -> host->config_changed, session
 * events -> host->session_event), which only copies and hands on.  After
 * a quiet second (or commandTimeout, whichever is longer) it sends a PING;
 * a PING unanswered for as long again means the connection is dead (a
 * server that vanished without closing it).  The kind may also run timed
 * work on the thread (on_tick: configuration checks documents whose TTL
 * is due, to notify their expiry).  On any failure it
 * drops the connection and reconnects with the same backoff as the pool,
 * then subscribes again and reports the gap (messages published while it
 * was away are lost: pub/sub does not queue) through the gap handler -
 * for configuration that is host->config_changed(sink, NULL, NULL).
 * With sentinels it also reconnects when the master's address changes
 * (redis-sentinel.c wakes it), to subscribe on the new master.
 *
 * open does not wait: the thread connects in the background.  The first
 * call of the store waits (redis_sub_wait_first, bounded) until the first
 * subscription is confirmed or the first attempt failed, so an event
 * published once that call returned is not missed, and a session is not
 * registered before its holder listens.  Stopping sets a flag, writes to
 * the pipe and joins the thread.
 */
#include "redis-private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct redis_sub {
	struct redis_store *st;
	char **channels;
	size_t n;
	redis_sub_msg_fn *on_msg;
	redis_sub_gap_fn *on_gap;
	redis_sub_tick_fn *on_tick;
	pthread_t thread;
	int wake[2];
	pthread_mutex_t lock;
	pthread_cond_t changed;
	/* guarded by lock */
	bool stop;
	bool first_done;   /* the first attempt finished (either way) */
	char first_why[256]; /* why the first attempt failed */
	uint64_t generation;
};

/* Has stop been asked? */
static bool sub_stopping(struct redis_sub *sub)
{
	bool stop;

	pthread_mutex_lock(&sub->lock);
	stop = sub->stop;
	pthread_mutex_unlock(&sub->lock);
	return stop;
}

/* The first attempt is over: let open go on. */
static void sub_first_done(struct redis_sub *sub, const char *why)
{
	pthread_mutex_lock(&sub->lock);
	if (!sub->first_done)
		snprintf(sub->first_why, sizeof(sub->first_why), "%s", why);
	sub->first_done = true;
	pthread_cond_broadcast(&sub->changed);
	pthread_mutex_unlock(&sub->lock);
}

/* A subscription is confirmed; true when it closes a gap. */
static bool sub_subscribed(struct redis_sub *sub)
{
	bool gap;

	pthread_mutex_lock(&sub->lock);
	sub->generation++;
	/* anything but a first attempt that succeeded may have missed
	   messages */
	gap = sub->first_done;
	sub->first_done = true;
	pthread_cond_broadcast(&sub->changed);
	pthread_mutex_unlock(&sub->lock);
	return gap;
}

/* Sleep up to ms, waking early when stop is asked. */
static void sub_sleep(struct redis_sub *sub, int ms)
{
	struct pollfd pfd = { .fd = sub->wake[0], .events = POLLIN };
	char buf[16];

	if (poll(&pfd, 1, ms) > 0)
		while (read(sub->wake[0], buf, sizeof(buf)) > 0)
			;
}

/* Connect and subscribe to every channel; NULL with why on failure.
   *gen_r: the generation of the master's address it went to. */
static redisContext *sub_connect(struct redis_sub *sub, uint64_t *gen_r,
				 char *why, size_t why_size)
{
	struct redis_store *st = sub->st;
	redisContext *ctx = NULL;
	struct redis_req req;
	redisReply **replies;
	int ret;

	ret = redis_connect(&st->pool, false, &ctx, gen_r, why, why_size);
	if (ret != PERSIST_OK)
		return NULL;
	replies = calloc(sub->n, sizeof(*replies));
	if (replies == NULL) {
		snprintf(why, why_size, "out of memory");
		redisFree(ctx);
		return NULL;
	}
	redis_req_init(&req, "subscribe");
	redis_req_cmd(&req, "SUBSCRIBE");
	for (size_t i = 0; i < sub->n; i++)
		redis_req_str(&req, sub->channels[i]);
	ret = redis_ctx_run(&st->pool, ctx, &req, sub->n, replies, why, why_size);
	redis_req_free(&req);
	for (size_t i = 0; ret == 0 && i < sub->n; i++) {
		redisReply *r = replies[i];

		if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    strcmp(r->element[0]->str, "subscribe") != 0) {
			snprintf(why, why_size, "SUBSCRIBE was refused: %s",
				 r->type == REDIS_REPLY_ERROR ? r->str :
				 "unexpected reply");
			ret = -1;
		}
	}
	if (ret == 0)
		redis_replies_free(replies, sub->n);
	else
		free(replies); /* redis_ctx_run freed what it read on failure */
	if (ret != 0) {
		redisFree(ctx);
		return NULL;
	}
	return ctx;
}

/* Handle one reply of the subscribed connection; false when it is not
   something a subscribed connection should receive. */
static bool sub_handle(struct redis_sub *sub, redisReply *r, bool *ping_out)
{
	const redisReply *kind;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		return false;
	kind = r->element[0];
	*ping_out = false;
	if (strcmp(kind->str, "message") == 0 && r->elements == 3 &&
	    r->element[1]->type == REDIS_REPLY_STRING &&
	    r->element[2]->type == REDIS_REPLY_STRING) {
		sub->on_msg(sub->st, r->element[1]->str, r->element[1]->len,
			    r->element[2]->str, r->element[2]->len);
	}
	return true; /* pong, subscribe confirmations, ... */
}

/* Send PING on the subscribed connection (answered with ["pong", ""]). */
static int sub_ping(struct redis_sub *sub, redisContext *ctx, char *why,
		    size_t why_size)
{
	struct redis_req req;
	int ret;

	redis_req_init(&req, "ping");
	redis_req_cmd(&req, "PING");
	ret = redis_ctx_run(&sub->st->pool, ctx, &req, 0, NULL, why, why_size);
	redis_req_free(&req);
	return ret;
}

/* Monotonic milliseconds. */
static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The thread: (re)connect, subscribe, dispatch, run ticks, until
   stopped. */
static void *sub_main(void *arg)
{
	struct redis_sub *sub = arg;
	struct redis_store *st = sub->st;
	const struct redis_conf *conf = &st->conf;
	const struct persist_host *host = st->host;
	int64_t ping_every = conf->command_timeout_ms > 1000 ?
			     conf->command_timeout_ms : 1000;
	redisContext *ctx = NULL;
	unsigned failures = 0;
	bool ping_out = false;
	int64_t last_rx = 0, ping_at = 0;
	uint64_t gen = 0;
	char why[256];

	while (!sub_stopping(sub)) {
		struct pollfd pfd[2];
		void *reply;
		int64_t now, wait, due;
		int n;

		if (ctx == NULL) {
			ctx = sub_connect(sub, &gen, why, sizeof(why));
			if (ctx == NULL) {
				int backoff = conf->reconnect_min_ms;

				for (unsigned i = 0; i < failures &&
				     backoff < conf->reconnect_max_ms; i++)
					backoff *= 2;
				if (backoff > conf->reconnect_max_ms)
					backoff = conf->reconnect_max_ms;
				if (failures == 0)
					host->log(st->sink, PERSIST_LOG_WARNING,
						  "%s: subscriber cannot connect: "
						  "%s; retrying", conf->display, why);
				failures++;
				sub_first_done(sub, why);
				sub_sleep(sub, backoff);
				continue;
			}
			if (failures > 0)
				host->log(st->sink, PERSIST_LOG_INFO,
					  "%s: subscriber connected again",
					  conf->display);
			failures = 0;
			ping_out = false;
			last_rx = mono_ms();
			if (sub_subscribed(sub) && sub->on_gap != NULL)
				sub->on_gap(st);
		}
		/* with sentinels: the master moved (or is in doubt), so this
		   connection may be to a replica that will never publish */
		if (gen != redis_pool_master_gen(&st->pool)) {
			host->log(st->sink, PERSIST_LOG_INFO,
				  "%s: the master changed; subscribing again",
				  conf->display);
			redisFree(ctx);
			ctx = NULL;
			continue;
		}
		/* replies already read into the buffer first */
		reply = NULL;
		while ((n = redisGetReplyFromReader(ctx, &reply)) == REDIS_OK &&
		       reply != NULL) {
			bool ok = sub_handle(sub, reply, &ping_out);

			freeReplyObject(reply);
			reply = NULL;
			last_rx = mono_ms();
			if (!ok) {
				n = REDIS_ERR;
				break;
			}
		}
		if (n != REDIS_OK) {
			host->log(st->sink, PERSIST_LOG_WARNING,
				  "%s: subscriber got something unexpected; "
				  "reconnecting", conf->display);
			redisFree(ctx);
			ctx = NULL;
			continue;
		}
		/* liveness: PING after a quiet period; no answer by the next
		   period means the connection is dead */
		now = mono_ms();
		if (ping_out && now - ping_at >= ping_every) {
			host->log(st->sink, PERSIST_LOG_WARNING,
				  "%s: subscriber connection does not answer "
				  "PING; reconnecting", conf->display);
			redisFree(ctx);
			ctx = NULL;
			continue;
		}
		if (!ping_out && now - last_rx >= ping_every) {
			if (sub_ping(sub, ctx, why, sizeof(why)) < 0) {
				host->log(st->sink, PERSIST_LOG_WARNING,
					  "%s: subscriber connection failed: %s; "
					  "reconnecting", conf->display, why);
				redisFree(ctx);
				ctx = NULL;
				continue;
			}
			ping_out = true;
			ping_at = now;
		}
		wait = ping_out ? ping_at + ping_every - now :
		       last_rx + ping_every - now;
		if (sub->on_tick != NULL) {
			due = sub->on_tick(st);
			if (due >= 0 && due < wait)
				wait = due;
		}
		if (wait < 0)
			wait = 0;
		pfd[0].fd = ctx->fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = sub->wake[0];
		pfd[1].events = POLLIN;
		n = poll(pfd, 2, (int)(wait > 60000 ? 60000 : wait));
		if (n <= 0)
			continue; /* timeout (or EINTR): the checks above run */
		if (pfd[1].revents != 0) {
			char buf[16];

			while (read(sub->wake[0], buf, sizeof(buf)) > 0)
				;
		}
		if (pfd[0].revents != 0 && redisBufferRead(ctx) != REDIS_OK) {
			host->log(st->sink, PERSIST_LOG_WARNING,
				  "%s: subscriber connection lost: %s; "
				  "reconnecting", conf->display,
				  ctx->err == REDIS_ERR_EOF ?
				  "the server closed it" : ctx->errstr);
			redisFree(ctx);
			ctx = NULL;
		}
	}
	if (ctx != NULL)
		redisFree(ctx);
	return NULL;
}

/* Free a subscriber that has no thread (any more). */
static void sub_free(struct redis_sub *sub)
{
	for (size_t i = 0; i < sub->n; i++)
		free(sub->channels[i]);
	free(sub->channels);
	if (sub->wake[0] >= 0)
		close(sub->wake[0]);
	if (sub->wake[1] >= 0)
		close(sub->wake[1]);
	pthread_cond_destroy(&sub->changed);
	pthread_mutex_destroy(&sub->lock);
	free(sub);
}

/* Start the subscriber thread for channels (it connects in the
   background). */
int redis_sub_start(struct redis_store *st, const char *const *channels,
		    size_t n, redis_sub_msg_fn *on_msg, redis_sub_gap_fn *on_gap,
		    redis_sub_tick_fn *on_tick, struct redis_sub **sub_r,
		    struct persist_error *err)
{
	const struct persist_host *host = st->host;
	struct redis_sub *sub;
	pthread_condattr_t attr;

	sub = calloc(1, sizeof(*sub));
	if (sub == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory");
	sub->st = st;
	sub->on_msg = on_msg;
	sub->on_gap = on_gap;
	sub->on_tick = on_tick;
	sub->wake[0] = sub->wake[1] = -1;
	pthread_mutex_init(&sub->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&sub->changed, &attr);
	pthread_condattr_destroy(&attr);
	sub->channels = calloc(n, sizeof(*sub->channels));
	if (sub->channels == NULL) {
		sub_free(sub);
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		sub->channels[i] = strdup(channels[i]);
		if (sub->channels[i] == NULL) {
			sub->n = i;
			sub_free(sub);
			return host->error(err, PERSIST_ENOMEM, ENOMEM,
					   "out of memory");
		}
	}
	sub->n = n;
	if (pipe(sub->wake) != 0 ||
	    fcntl(sub->wake[0], F_SETFD, FD_CLOEXEC) != 0 ||
	    fcntl(sub->wake[1], F_SETFD, FD_CLOEXEC) != 0 ||
	    fcntl(sub->wake[0], F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(sub->wake[1], F_SETFL, O_NONBLOCK) != 0) {
		int e = errno;

		sub_free(sub);
		return host->error(err, PERSIST_EIO, e,
				   "cannot create a pipe: %s",
				   strerror(e));
	}
	if (pthread_create(&sub->thread, NULL, sub_main, sub) != 0) {
		sub_free(sub);
		return host->error(err, PERSIST_ENOMEM, 0,
				   "cannot start the subscriber thread");
	}
	*sub_r = sub;
	return PERSIST_OK;
}

/* Wait up to timeout_ms for the first attempt to subscribe; true when
   the subscriber is subscribed (or has been), false when its first
   attempt failed (the reason to why) or did not finish in time. */
bool redis_sub_wait_first(struct redis_sub *sub, int64_t timeout_ms,
			  char *why, size_t why_size)
{
	struct timespec deadline;
	bool ok;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&sub->lock);
	while (!sub->first_done && !sub->stop)
		if (pthread_cond_timedwait(&sub->changed, &sub->lock, &deadline) ==
		    ETIMEDOUT)
			break;
	ok = sub->generation > 0;
	if (!ok)
		snprintf(why, why_size, "%s", sub->first_done ? sub->first_why :
			 "it did not subscribe in time");
	pthread_mutex_unlock(&sub->lock);
	return ok;
}

/* Stop the thread, close its connection, free the subscriber. */
void redis_sub_stop(struct redis_sub *sub)
{
	ssize_t w;

	if (sub == NULL)
		return;
	pthread_mutex_lock(&sub->lock);
	sub->stop = true;
	pthread_mutex_unlock(&sub->lock);
	do
		w = write(sub->wake[1], "x", 1);
	while (w < 0 && errno == EINTR);
	pthread_join(sub->thread, NULL);
	sub_free(sub);
}

/* Wake the thread so that it runs on_tick now. */
void redis_sub_wake(struct redis_sub *sub)
{
	ssize_t w;

	do
		w = write(sub->wake[1], "x", 1);
	while (w < 0 && errno == EINTR);
}

/* How many times the subscriber has subscribed (tests use it to wait
   for a re-subscription). */
uint64_t redis_sub_generation(struct redis_sub *sub)
{
	uint64_t g;

	pthread_mutex_lock(&sub->lock);
	g = sub->generation;
	pthread_mutex_unlock(&sub->lock);
	return g;
}
