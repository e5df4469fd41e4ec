/*
 * plugins/redis/redis-sentinel.c - following a master that Redis Sentinel
 * names (the "sentinels" setting is read in redis-sentinel-conf.c): the question
 * "where is the master of masterName?" asked of the sentinels in turn,
 * and the watcher thread that listens to a sentinel's +switch-master
 * channel, so that a failover is followed as soon as it is decided rather
 * than at the next failed connection.
 *
 * The pool keeps the address last named (struct redis_pool: master_host,
 * master_port) with a generation.  A connection is made to that address
 * and its handshake ends with ROLE (redis-conn.c): a server that is not
 * the master - a sentinel still naming the old master while a failover
 * runs, or a sentinel that names a replica - is refused as unavailable
 * and the address forgotten.  The address is also forgotten when a
 * connection to it fails or a write answers READONLY (redis-conn.c), and
 * replaced when a sentinel announces +switch-master.  Either way the
 * generation grows: idle connections of an older generation are closed
 * instead of reused, and the subscriber thread (redis-pubsub.c)
 * reconnects, subscribes again and reports the gap (configuration
 * subscribers re-read everything: messages may have been lost).
 *
 * Nothing here waits longer than the settings allow: each sentinel gets
 * connectTimeout to accept and commandTimeout to answer.  Sentinels are
 * asked in the order given; the first that names an address wins.  None
 * reachable is PERSIST_EUNAVAIL; sentinels that answer but do not know
 * masterName, or refuse our credentials, are PERSIST_ECONFIG.  Neither
 * message ever holds a password.
 */
#include "redis-private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The channel sentinels announce a new master on. */
#define SWITCH_CHANNEL "+switch-master"

/* --- asking the sentinels -------------------------------------------- */

/* Connect to sentinel i and authenticate; NULL with why (and *code_r
   ECONFIG when it refused our credentials, else EUNAVAIL). */
static redisContext *sentinel_connect(struct redis_pool *pool, size_t i,
				      int *code_r, char *why, size_t why_size)
{
	const struct redis_conf *conf = pool->conf;
	const struct redis_addr *a = &conf->sentinels[i];
	struct timeval ctv = { conf->connect_timeout_ms / 1000,
			       (conf->connect_timeout_ms % 1000) * 1000 };
	struct timeval rtv = { conf->command_timeout_ms / 1000,
			       (conf->command_timeout_ms % 1000) * 1000 };
	redisContext *ctx = redisConnectWithTimeout(a->host, a->port, ctv);
	struct redis_req req;
	redisReply *r = NULL;
	int bad;

	*code_r = PERSIST_EUNAVAIL;
	if (ctx == NULL || ctx->err != 0 ||
	    redisSetTimeout(ctx, rtv) != REDIS_OK) {
		snprintf(why, why_size, "%s", ctx != NULL ? ctx->errstr :
			 "out of memory");
		if (ctx != NULL)
			redisFree(ctx);
		return NULL;
	}
	if (conf->sentinel_password == NULL)
		return ctx;
	redis_req_init(&req, "sentinel AUTH");
	redis_req_cmd(&req, "AUTH");
	if (conf->sentinel_username != NULL)
		redis_req_str(&req, conf->sentinel_username);
	redis_req_str(&req, conf->sentinel_password);
	bad = redis_ctx_run(pool, ctx, &req, 1, &r, why, why_size);
	redis_req_free(&req);
	if (bad == 0 && r->type == REDIS_REPLY_ERROR) {
		snprintf(why, why_size, "authentication failed: %.100s", r->str);
		*code_r = PERSIST_ECONFIG;
		bad = -1;
	}
	if (r != NULL)
		freeReplyObject(r);
	if (bad != 0) {
		redisFree(ctx);
		return NULL;
	}
	return ctx;
}

/* Ask a connected sentinel for the master: 1 with the address, 0 when it
   does not know masterName, -1 on failure (why). */
static int sentinel_ask(struct redis_pool *pool, redisContext *ctx,
			char *host, size_t size, int *port_r, char *why,
			size_t why_size)
{
	struct redis_req req;
	redisReply *r = NULL;
	int ret;

	redis_req_init(&req, "SENTINEL get-master-addr-by-name");
	redis_req_cmd(&req, "SENTINEL");
	redis_req_str(&req, "get-master-addr-by-name");
	redis_req_str(&req, pool->conf->master_name);
	ret = redis_ctx_run(pool, ctx, &req, 1, &r, why, why_size);
	redis_req_free(&req);
	if (ret != 0)
		return -1;
	if (r->type == REDIS_REPLY_NIL) {
		ret = 0;
	} else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		   r->element[0]->type == REDIS_REPLY_STRING &&
		   r->element[1]->type == REDIS_REPLY_STRING &&
		   r->element[0]->len > 0 && r->element[0]->len < size) {
		long port = strtol(r->element[1]->str, NULL, 10);

		memcpy(host, r->element[0]->str, r->element[0]->len + 1);
		*port_r = (int)port;
		ret = port >= 1 && port <= 65535 ? 1 : -1;
		if (ret < 0)
			snprintf(why, why_size, "it named a bad port");
	} else {
		snprintf(why, why_size, "unexpected answer: %.100s",
			 r->type == REDIS_REPLY_ERROR ? r->str : "not an address");
		ret = -1;
	}
	freeReplyObject(r);
	return ret;
}

/* Take host:port as the master (lock held); true when it changed.  A
   change of a known address grows the generation; announced (a
   +switch-master) also ends the backoff, so the next call connects at
   once. */
static bool master_set(struct redis_pool *pool, const char *host, int port,
		       bool announced, const char *from)
{
	bool changed = !pool->master_known ||
		       strcmp(pool->master_host, host) != 0 ||
		       pool->master_port != port;

	if (!changed)
		return false;
	if (pool->master_known)
		pool->master_gen++;
	if (pool->master_host[0] != '\0' &&
	    (strcmp(pool->master_host, host) != 0 || pool->master_port != port))
		pool->host->log(pool->sink, PERSIST_LOG_WARNING,
				"redis %s: the master moved from %s:%d to %s:%d "
				"(%s)", pool->conf->display, pool->master_host,
				pool->master_port, host, port, from);
	snprintf(pool->master_host, sizeof(pool->master_host), "%s", host);
	pool->master_port = port;
	pool->master_known = true;
	if (announced) {
		pool->retry_at_us = 0;
		pool->failures = 0;
	}
	return true;
}

/* The master's address: known, or asked of the sentinels now. */
int redis_sentinel_master(struct redis_pool *pool, char *host, size_t size,
			  int *port_r, uint64_t *gen_r, char *why,
			  size_t why_size)
{
	const struct redis_conf *conf = pool->conf;
	char tried[200] = "", one[160], from[REDIS_HOST_MAX + 32];
	size_t used = 0;
	int code = PERSIST_EUNAVAIL;
	bool unknown = false;

	pthread_mutex_lock(&pool->lock);
	if (pool->master_known) {
		snprintf(host, size, "%s", pool->master_host);
		*port_r = pool->master_port;
		*gen_r = pool->master_gen;
		pthread_mutex_unlock(&pool->lock);
		return PERSIST_OK;
	}
	pthread_mutex_unlock(&pool->lock);
	for (size_t i = 0; i < conf->n_sentinels; i++) {
		const struct redis_addr *a = &conf->sentinels[i];
		int c, r = -1;
		redisContext *ctx = sentinel_connect(pool, i, &c, one, sizeof(one));

		if (ctx != NULL) {
			r = sentinel_ask(pool, ctx, host, size, port_r, one,
					 sizeof(one));
			redisFree(ctx);
		}
		if (r > 0) {
			snprintf(from, sizeof(from), "named by sentinel %s:%d",
				 a->host, a->port);
			pthread_mutex_lock(&pool->lock);
			if (!pool->master_known)
				master_set(pool, host, *port_r, false, from);
			snprintf(host, size, "%s", pool->master_host);
			*port_r = pool->master_port;
			*gen_r = pool->master_gen;
			pthread_mutex_unlock(&pool->lock);
			return PERSIST_OK;
		}
		if (r == 0) {
			unknown = true;
			snprintf(one, sizeof(one), "does not know it");
		}
		if (ctx == NULL && c == PERSIST_ECONFIG)
			code = PERSIST_ECONFIG;
		if (used < sizeof(tried))
			used += (size_t)snprintf(tried + used, sizeof(tried) - used,
						 "%s%s:%d %s", used > 0 ? "; " : "",
						 a->host, a->port, one);
	}
	if (unknown) {
		snprintf(why, why_size, "no sentinel knows master \"%s\" (%s)",
			 conf->master_name, tried);
		return PERSIST_ECONFIG;
	}
	snprintf(why, why_size, code == PERSIST_ECONFIG ?
		 "the sentinels refuse us (master \"%s\": %s)" :
		 "no sentinel named master \"%s\" (%s)", conf->master_name,
		 tried);
	return code;
}

/* Forget the master of generation gen (see redis-private.h). */
void redis_sentinel_forget(struct redis_pool *pool, uint64_t gen)
{
	if (pool->conf->sentinels == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	if (pool->master_known && pool->master_gen == gen) {
		pool->master_known = false;
		pool->master_gen++;
	}
	pthread_mutex_unlock(&pool->lock);
}

/* --- the watcher ----------------------------------------------------- */

struct redis_watch {
	struct redis_pool *pool;
	pthread_t thread;
	int wake[2];
	atomic_bool stop;
};

/* Sleep up to ms, waking early when stop is asked. */
static void watch_sleep(struct redis_watch *w, int ms)
{
	struct pollfd pfd = { .fd = w->wake[0], .events = POLLIN };
	char buf[16];

	if (poll(&pfd, 1, ms) > 0)
		while (read(w->wake[0], buf, sizeof(buf)) > 0)
			;
}

/* A +switch-master message: "name old-host old-port new-host new-port"
   (the name may hold spaces: the four last words are the addresses). */
static void watch_message(struct redis_watch *w, const char *msg, size_t len)
{
	struct redis_pool *pool = w->pool;
	const char *word[4], *end = msg + len;
	size_t wlen[4], name_len;
	char host[REDIS_HOST_MAX];
	long port;
	bool changed;

	for (int k = 3; k >= 0; k--) {
		const char *p = end;

		while (p > msg && p[-1] != ' ')
			p--;
		if (p == msg || p == end)
			return;
		word[k] = p;
		wlen[k] = (size_t)(end - p);
		end = p - 1;
	}
	name_len = (size_t)(end - msg);
	if (name_len != strlen(pool->conf->master_name) ||
	    memcmp(msg, pool->conf->master_name, name_len) != 0 ||
	    wlen[2] >= sizeof(host) || wlen[3] > 5)
		return;
	memcpy(host, word[2], wlen[2]);
	host[wlen[2]] = '\0';
	port = strtol(word[3], NULL, 10);
	if (port < 1 || port > 65535)
		return;
	pthread_mutex_lock(&pool->lock);
	changed = master_set(pool, host, (int)port, true,
			     "sentinel announced " SWITCH_CHANNEL);
	pthread_mutex_unlock(&pool->lock);
	if (changed && pool->on_master_change != NULL)
		pool->on_master_change(pool->on_master_change_ctx);
}

/* Connect to sentinel i, read the master it names (messages may have
   been missed while no sentinel was watched) and subscribe to
   +switch-master; NULL on failure. */
static redisContext *watch_connect(struct redis_watch *w, size_t i)
{
	struct redis_pool *pool = w->pool;
	struct redis_req req;
	redisReply *r = NULL;
	char why[200], host[REDIS_HOST_MAX];
	int code, port, ok;
	redisContext *ctx = sentinel_connect(pool, i, &code, why, sizeof(why));

	if (ctx == NULL)
		return NULL;
	if (sentinel_ask(pool, ctx, host, sizeof(host), &port, why,
			 sizeof(why)) > 0) {
		bool changed;

		pthread_mutex_lock(&pool->lock);
		/* an address already known is checked by ROLE on connect:
		   only a differing one is news */
		changed = pool->master_known &&
			  master_set(pool, host, port, true,
				     "named by the sentinel watched");
		pthread_mutex_unlock(&pool->lock);
		if (changed && pool->on_master_change != NULL)
			pool->on_master_change(pool->on_master_change_ctx);
	}
	redis_req_init(&req, "SUBSCRIBE " SWITCH_CHANNEL);
	redis_req_cmd(&req, "SUBSCRIBE");
	redis_req_str(&req, SWITCH_CHANNEL);
	ok = redis_ctx_run(pool, ctx, &req, 1, &r, why, sizeof(why)) == 0 &&
	     r->type == REDIS_REPLY_ARRAY;
	redis_req_free(&req);
	if (r != NULL)
		freeReplyObject(r);
	if (!ok) {
		redisFree(ctx);
		return NULL;
	}
	return ctx;
}

/* Monotonic milliseconds. */
static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Follow the sentinels' announcements until stopped: one sentinel at a
   time, the next one when it fails; a PING after a quiet period, and no
   answer for as long again means the connection is dead. */
static void *watch_main(void *arg)
{
	struct redis_watch *w = arg;
	const struct redis_conf *conf = w->pool->conf;
	int64_t period = conf->command_timeout_ms > 1000 ?
			 conf->command_timeout_ms : 1000;
	size_t next = 0;
	unsigned failures = 0;

	while (!atomic_load(&w->stop)) {
		redisContext *ctx = watch_connect(w, next);
		int64_t last_rx, ping_at = 0;
		bool ping_out = false;

		next = (next + 1) % conf->n_sentinels;
		if (ctx == NULL) {
			int backoff = conf->reconnect_min_ms;

			for (unsigned k = 0; k < failures / conf->n_sentinels &&
			     backoff < conf->reconnect_max_ms; k++)
				backoff *= 2;
			if (backoff > conf->reconnect_max_ms)
				backoff = conf->reconnect_max_ms;
			failures++;
			watch_sleep(w, backoff);
			continue;
		}
		failures = 0;
		last_rx = mono_ms();
		while (!atomic_load(&w->stop)) {
			struct pollfd pfd[2] = {
				{ .fd = ctx->fd, .events = POLLIN },
				{ .fd = w->wake[0], .events = POLLIN },
			};
			int64_t now = mono_ms();
			void *reply = NULL;
			int n;

			if (ping_out && now - ping_at >= period)
				break; /* no answer to PING: dead */
			if (!ping_out && now - last_rx >= period) {
				static const char ping[] = "*1\r\n$4\r\nPING\r\n";
				size_t sent;

				if (redis_send_all(ctx, ping, sizeof(ping) - 1,
						   &sent) < 0)
					break;
				ping_out = true;
				ping_at = now;
			}
			n = poll(pfd, 2, (int)period);
			if (n <= 0)
				continue;
			if (pfd[1].revents != 0)
				watch_sleep(w, 0);
			if (pfd[0].revents == 0)
				continue;
			if (redisBufferRead(ctx) != REDIS_OK)
				break;
			while ((n = redisGetReplyFromReader(ctx, &reply)) ==
			       REDIS_OK && reply != NULL) {
				redisReply *r = reply;

				if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
				    r->element[0]->type == REDIS_REPLY_STRING &&
				    strcmp(r->element[0]->str, "message") == 0 &&
				    r->element[2]->type == REDIS_REPLY_STRING)
					watch_message(w, r->element[2]->str,
						      r->element[2]->len);
				freeReplyObject(reply);
				reply = NULL;
				last_rx = mono_ms();
				ping_out = false;
			}
			if (n != REDIS_OK)
				break;
		}
		redisFree(ctx);
	}
	return NULL;
}

/* Start the watcher of pool's sentinels. */
int redis_watch_start(struct redis_pool *pool, struct redis_watch **w_r,
		      struct persist_error *err)
{
	const struct persist_host *host = pool->host;
	struct redis_watch *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	w->pool = pool;
	atomic_init(&w->stop, false);
	if (pipe(w->wake) != 0) {
		int e = errno;

		free(w);
		return host->error(err, PERSIST_EIO, e, "cannot create a pipe: %s",
				   strerror(e));
	}
	fcntl(w->wake[0], F_SETFD, FD_CLOEXEC);
	fcntl(w->wake[1], F_SETFD, FD_CLOEXEC);
	fcntl(w->wake[0], F_SETFL, O_NONBLOCK);
	fcntl(w->wake[1], F_SETFL, O_NONBLOCK);
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
		close(w->wake[0]);
		close(w->wake[1]);
		free(w);
		return host->error(err, PERSIST_ENOMEM, 0,
				   "cannot start the sentinel watcher thread");
	}
	*w_r = w;
	return PERSIST_OK;
}

/* Stop the watcher and free it. */
void redis_watch_stop(struct redis_watch *w)
{
	ssize_t n;

	if (w == NULL)
		return;
	atomic_store(&w->stop, true);
	do
		n = write(w->wake[1], "x", 1);
	while (n < 0 && errno == EINTR);
	pthread_join(w->thread, NULL);
	close(w->wake[0]);
	close(w->wake[1]);
	free(w);
}
