/*
 * plugins/redis/redis-conn.c - connections to the Redis server: connect
 * and handshake, the per-store pool, reconnect backoff, and execution of a
 * request with an honest answer about what happened to it.
 *
 * Threads: hiredis contexts are not thread-safe, so a store keeps a small
 * pool (setting "poolSize", default 8).  A call takes an idle connection
 * (or opens one), runs its whole request on it, and gives it back; with
 * every connection busy it waits up to commandTimeout for one.  That is
 * what makes the ops tables PERSIST_CAP_THREADSAFE.
 *
 * Outages: when connecting fails the pool is "down" until a retry time
 * that backs off exponentially from reconnectMin to reconnectMax.  While
 * down, calls answer PERSIST_EUNAVAIL at once without touching the
 * network, except one call per retry time that probes (connects).  There
 * is no reconnect thread: the first call after the retry time reconnects,
 * so an idle store costs nothing during an outage.  An idle connection is
 * checked before use (non-blocking peek): one the server closed - e.g. it
 * restarted - is dropped, so a request is never sent on a dead socket.
 *
 * What a failure means (redis_exec):
 *   - nothing sent (cannot connect, or the send failed before the first
 *     byte): PERSIST_EUNAVAIL; a send that fails at the first byte on a
 *     reused connection is retried once on a fresh one;
 *   - sent only in part: Redis executes complete commands only, so a
 *     single command or a MULTI/EXEC transaction (REDIS_ATOMIC) was not
 *     applied: PERSIST_EUNAVAIL; a plain pipeline may have been applied in
 *     part: PERSIST_EUNCERTAIN;
 *   - sent, then the reply was lost (connection error, commandTimeout):
 *     PERSIST_EUNCERTAIN for a request that writes (REDIS_WRITE),
 *     PERSIST_ETIMEDOUT / PERSIST_EUNAVAIL for a read.
 * A connection that failed in any way is closed, never reused.
 *
 * Sending: a request's commands are encoded into one buffer (wire_build:
 * the RESP encoding of redisFormatCommandArgv, for a whole pipeline in one
 * allocation) and sent here with send(MSG_NOSIGNAL), so a server that
 * went away cannot kill the host with SIGPIPE and we know exactly how
 * many bytes left.
 * Replies are read with hiredis (redisGetReply, SO_RCVTIMEO =
 * commandTimeout).  With TLS the bytes go through hiredis_ssl, with
 * SIGPIPE blocked in the calling thread for the duration.
 */
#include "redis-private.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/time.h>
#ifdef HAVE_HIREDIS_SSL
#include <hiredis/hiredis_ssl.h>
#endif

/* Milliseconds as a struct timeval. */
static struct timeval ms_tv(int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	return tv;
}

/* Monotonic clock in microseconds. */
static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* --- the wire -------------------------------------------------------- */

/* Write n in decimal at o; returns the end (no NUL). */
static char *put_uint(char *o, size_t n)
{
	char tmp[24];
	size_t i = 0;

	do {
		tmp[i++] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	while (i > 0)
		*o++ = tmp[--i];
	return o;
}

/* Digits of n in decimal. */
static size_t ndigits(size_t n)
{
	size_t d = 1;

	while (n >= 10) {
		n /= 10;
		d++;
	}
	return d;
}

/* Encode every command of req into one buffer in the Redis protocol
   (RESP: "*argc\r\n" then "$len\r\n" bytes "\r\n" per argument - what
   redisFormatCommandArgv produces, but for a whole pipeline at once, with
   one allocation and no copy per command); ends_r[i] is the offset just
   after command i.  -1 on ENOMEM. */
static int wire_build(const struct redis_req *req, char **buf_r, size_t *len_r,
		      size_t **ends_r)
{
	size_t total = 0, *ends;
	char *buf, *o;

	for (size_t i = 0; i < req->ncmds; i++) {
		size_t argc = redis_req_argc(req, i), first = req->cmd_first[i];

		total += 3 + ndigits(argc);
		for (size_t j = first; j < first + argc; j++)
			total += 5 + ndigits(req->lens[j]) + req->lens[j];
	}
	ends = malloc(req->ncmds * sizeof(*ends));
	buf = malloc(total + 1);
	if (ends == NULL || buf == NULL) {
		free(ends);
		free(buf);
		return -1;
	}
	o = buf;
	for (size_t i = 0; i < req->ncmds; i++) {
		size_t argc = redis_req_argc(req, i), first = req->cmd_first[i];

		*o++ = '*';
		o = put_uint(o, argc);
		*o++ = '\r';
		*o++ = '\n';
		for (size_t j = first; j < first + argc; j++) {
			*o++ = '$';
			o = put_uint(o, req->lens[j]);
			*o++ = '\r';
			*o++ = '\n';
			if (req->lens[j] > 0)
				memcpy(o, req->argv[j], req->lens[j]);
			o += req->lens[j];
			*o++ = '\r';
			*o++ = '\n';
		}
		ends[i] = (size_t)(o - buf);
	}
	*buf_r = buf;
	*len_r = (size_t)(o - buf);
	*ends_r = ends;
	return 0;
}

/* Send len bytes on a plain (TCP/unix) context, never raising SIGPIPE;
   *sent_r counts what left.  0 or -1 (errno set; EAGAIN = send timeout). */
int redis_send_all(redisContext *ctx, const char *buf, size_t len,
		   size_t *sent_r)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(ctx->fd, buf + off, len - off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			*sent_r = off;
			return -1;
		}
		off += (size_t)n;
	}
	*sent_r = off;
	return 0;
}

#ifdef HAVE_HIREDIS_SSL
/* Send through hiredis_ssl with SIGPIPE blocked in this thread; on
   failure how much left is unknown, so *sent_r claims everything. */
static int send_tls(redisContext *ctx, const char *buf, size_t len,
		    size_t *sent_r)
{
	sigset_t block, old, pending;
	int done = 0, ret = 0;

	sigemptyset(&block);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	if (redisAppendFormattedCommand(ctx, buf, len) != REDIS_OK)
		ret = -1;
	while (ret == 0 && !done)
		if (redisBufferWrite(ctx, &done) != REDIS_OK)
			ret = -1;
	if (!sigismember(&old, SIGPIPE)) {
		if (ret < 0 && sigpending(&pending) == 0 &&
		    sigismember(&pending, SIGPIPE)) {
			struct timespec zero = { 0, 0 };

			sigtimedwait(&block, NULL, &zero);
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	*sent_r = len;
	return ret;
}
#endif

/* Send on ctx, plain or TLS. */
static int ctx_send(const struct redis_conf *conf, redisContext *ctx,
		    const char *buf, size_t len, size_t *sent_r)
{
#ifdef HAVE_HIREDIS_SSL
	if (conf->tls)
		return send_tls(ctx, buf, len, sent_r);
#else
	(void)conf;
#endif
	return redis_send_all(ctx, buf, len, sent_r);
}

/* Read one reply; on failure describe it in why and say whether it was a
   timeout (*timeout_r). */
static int ctx_read(redisContext *ctx, redisReply **reply_r, bool *timeout_r,
		    char *why, size_t why_size, int timeout_ms)
{
	void *reply = NULL;
	int saved;

	*timeout_r = false;
	if (redisGetReply(ctx, &reply) == REDIS_OK && reply != NULL) {
		*reply_r = reply;
		return 0;
	}
	saved = errno;
#ifdef REDIS_ERR_TIMEOUT
	if (ctx->err == REDIS_ERR_TIMEOUT)
		*timeout_r = true;
#endif
	if (ctx->err == REDIS_ERR_IO &&
	    (saved == EAGAIN || saved == EWOULDBLOCK || saved == ETIMEDOUT))
		*timeout_r = true;
	if (*timeout_r)
		snprintf(why, why_size, "no reply within %d ms", timeout_ms);
	else if (ctx->err == REDIS_ERR_EOF)
		snprintf(why, why_size, "the server closed the connection");
	else if (ctx->err == REDIS_ERR_PROTOCOL)
		snprintf(why, why_size, "not the Redis protocol (%s)", ctx->errstr);
	else
		snprintf(why, why_size, "%s", ctx->errstr[0] != '\0' ?
			 ctx->errstr : "connection failed");
	return -1;
}

/* --- connecting ------------------------------------------------------ */

/* An error reply that means "try again later" rather than "refused". */
static bool reply_is_transient(const redisReply *r)
{
	static const char *const codes[] = {
		"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN",
		"READONLY", "ERR max number of clients",
	};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (r->len >= strlen(codes[i]) &&
		    strncmp(r->str, codes[i], strlen(codes[i])) == 0)
			return true;
	return false;
}

/* Connect to host:port (or the configured unix socket) and run the
   handshake: AUTH, SELECT, SCRIPT LOAD of every script (load_scripts),
   ROLE (check_role: it must be the master), PING - one round trip. */
static int connect_at(const struct redis_pool *pool, const char *host,
		      int port, bool load_scripts, bool check_role,
		      redisContext **ctx_r, char *why, size_t why_size)
{
	const struct redis_conf *conf = pool->conf;
	struct redis_req req;
	redisContext *ctx;
	char *buf = NULL;
	size_t len = 0, sent = 0, *ends = NULL;
	size_t i_auth = SIZE_MAX, i_select = SIZE_MAX, i_scripts = SIZE_MAX;
	size_t i_role = SIZE_MAX;
	int ret = PERSIST_OK;

	if (conf->unix_socket)
		ctx = redisConnectUnixWithTimeout(conf->path,
						  ms_tv(conf->connect_timeout_ms));
	else
		ctx = redisConnectWithTimeout(host, port,
					      ms_tv(conf->connect_timeout_ms));
	if (ctx == NULL) {
		snprintf(why, why_size, "out of memory");
		return PERSIST_EUNAVAIL;
	}
	if (ctx->err != 0) {
		snprintf(why, why_size, "%s", ctx->errstr);
		redisFree(ctx);
		return PERSIST_EUNAVAIL;
	}
	if (redisSetTimeout(ctx, ms_tv(conf->command_timeout_ms)) != REDIS_OK ||
	    (!conf->unix_socket && conf->keepalive &&
	     redisEnableKeepAlive(ctx) != REDIS_OK)) {
		snprintf(why, why_size, "%s", ctx->errstr);
		redisFree(ctx);
		return PERSIST_EUNAVAIL;
	}
#ifdef HAVE_HIREDIS_SSL
	if (conf->tls &&
	    redisInitiateSSLWithContext(ctx, (redisSSLContext *)pool->ssl_ctx) !=
	    REDIS_OK) {
		snprintf(why, why_size, "TLS handshake failed: %s", ctx->errstr);
		ret = ctx->err == REDIS_ERR_IO ? PERSIST_EUNAVAIL : PERSIST_ECONFIG;
		redisFree(ctx);
		return ret;
	}
#endif

	redis_req_init(&req, "handshake");
	if (conf->password != NULL) {
		i_auth = req.ncmds;
		redis_req_cmd(&req, "AUTH");
		if (conf->username != NULL)
			redis_req_str(&req, conf->username);
		redis_req_str(&req, conf->password);
	}
	if (conf->db != 0) {
		i_select = req.ncmds;
		redis_req_cmd(&req, "SELECT");
		redis_req_i64(&req, conf->db);
	}
	if (load_scripts) {
		i_scripts = req.ncmds;
		for (int s = 0; s < RS_COUNT_; s++) {
			redis_req_cmd(&req, "SCRIPT");
			redis_req_str(&req, "LOAD");
			redis_req_str(&req, redis_script((enum redis_script_id)s)->body);
		}
	}
	if (check_role) {
		i_role = req.ncmds;
		redis_req_cmd(&req, "ROLE");
	}
	redis_req_cmd(&req, "PING");
	if (req.oom || wire_build(&req, &buf, &len, &ends) < 0) {
		snprintf(why, why_size, "out of memory");
		ret = PERSIST_EUNAVAIL;
		goto out;
	}
	if (ctx_send(conf, ctx, buf, len, &sent) < 0) {
		snprintf(why, why_size, "sending the handshake failed: %s",
			 strerror(errno));
		ret = PERSIST_EUNAVAIL;
		goto out;
	}
	for (size_t i = 0; i < req.ncmds && ret == PERSIST_OK; i++) {
		redisReply *r = NULL;
		bool timeout;
		char rwhy[200];

		if (ctx_read(ctx, &r, &timeout, rwhy, sizeof(rwhy),
			     conf->command_timeout_ms) < 0) {
			snprintf(why, why_size, "handshake failed: %s%s", rwhy,
				 timeout ? " (is it a Redis server?)" : "");
			ret = ctx->err == REDIS_ERR_PROTOCOL ? PERSIST_ECONFIG :
			      PERSIST_EUNAVAIL;
			break;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			const char *step =
				i == i_auth ? "authentication failed" :
				i == i_select ? "selecting the database failed" :
				i == i_role ? "ROLE was refused" :
				(i_scripts != SIZE_MAX && i >= i_scripts &&
				 i < i_scripts + RS_COUNT_) ?
				"loading the Lua scripts failed" :
				"the server refused PING";

			snprintf(why, why_size, "%s: %.*s", step,
				 (int)(r->len > 200 ? 200 : r->len), r->str);
			ret = reply_is_transient(r) ? PERSIST_EUNAVAIL :
			      PERSIST_ECONFIG;
		} else if (i == req.ncmds - 1 &&
			   (r->type != REDIS_REPLY_STATUS || r->len != 4 ||
			    memcmp(r->str, "PONG", 4) != 0)) {
			snprintf(why, why_size,
				 "handshake failed: PING was not answered PONG "
				 "(is it a Redis server?)");
			ret = PERSIST_ECONFIG;
		} else if (i == i_role &&
			   (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
			    r->element[0]->type != REDIS_REPLY_STRING ||
			    strcmp(r->element[0]->str, "master") != 0)) {
			/* a sentinel named a replica: the failover is not over,
			   or the sentinel is wrong - either way not now */
			snprintf(why, why_size, "it is not the master (ROLE "
				 "answers \"%.20s\")", r->type == REDIS_REPLY_ARRAY &&
				 r->elements > 0 &&
				 r->element[0]->type == REDIS_REPLY_STRING ?
				 r->element[0]->str : "?");
			ret = PERSIST_EUNAVAIL;
		} else if (i_scripts != SIZE_MAX && i >= i_scripts &&
			   i < i_scripts + RS_COUNT_) {
			const char *sha = redis_script((enum redis_script_id)
						       (i - i_scripts))->sha;

			if (r->type != REDIS_REPLY_STRING || r->len != 40 ||
			    memcmp(r->str, sha, 40) != 0) {
				snprintf(why, why_size,
					 "loading the Lua scripts failed: "
					 "unexpected digest");
				ret = PERSIST_ECONFIG;
			}
		}
		freeReplyObject(r);
	}
out:
	free(buf);
	free(ends);
	redis_req_free(&req);
	if (ret != PERSIST_OK) {
		redisFree(ctx);
		return ret;
	}
	*ctx_r = ctx;
	return PERSIST_OK;
}

/* Connect to the server: the configured one, or with sentinels the
   master they name (checked with ROLE; forgotten when it fails, so the
   next attempt asks again).  *gen_r gets the generation of the master's
   address (0 without sentinels). */
int redis_connect(struct redis_pool *pool, bool load_scripts,
		  redisContext **ctx_r, uint64_t *gen_r, char *why,
		  size_t why_size)
{
	const struct redis_conf *conf = pool->conf;
	char host[REDIS_HOST_MAX], one[256];
	uint64_t gen = 0;
	int port, ret;

	if (conf->sentinels == NULL) {
		if (gen_r != NULL)
			*gen_r = 0;
		return connect_at(pool, conf->host, conf->port, load_scripts,
				  false, ctx_r, why, why_size);
	}
	ret = redis_sentinel_master(pool, host, sizeof(host), &port, &gen,
				    why, why_size);
	if (ret != PERSIST_OK)
		return ret;
	ret = connect_at(pool, host, port, load_scripts, true, ctx_r, one,
			 sizeof(one));
	if (ret != PERSIST_OK) {
		redis_sentinel_forget(pool, gen);
		snprintf(why, why_size, "master %s:%d: %s", host, port, one);
		return ret;
	}
	if (gen_r != NULL)
		*gen_r = gen;
	return PERSIST_OK;
}

/* The generation of the master's address (0 without sentinels). */
uint64_t redis_pool_master_gen(struct redis_pool *pool)
{
	uint64_t gen;

	pthread_mutex_lock(&pool->lock);
	gen = pool->master_gen;
	pthread_mutex_unlock(&pool->lock);
	return gen;
}

/* --- the pool -------------------------------------------------------- */

#ifdef HAVE_HIREDIS_SSL
static pthread_once_t ssl_once = PTHREAD_ONCE_INIT;

/* OpenSSL initialisation for hiredis_ssl, once per process. */
static void ssl_init_once(void)
{
	redisInitOpenSSL();
}
#endif

/* Prepare an empty pool for conf (nothing is connected yet). */
int redis_pool_init(struct redis_pool *pool, const struct redis_conf *conf,
		    const struct persist_host *host, struct persist_sink *sink,
		    struct persist_error *err)
{
	pthread_condattr_t attr;

	memset(pool, 0, sizeof(*pool));
	pool->conf = conf;
	pool->host = host;
	pool->sink = sink;
#ifdef HAVE_HIREDIS_SSL
	if (conf->tls) {
		redisSSLContextError serr = REDIS_SSL_CTX_NONE;

		pthread_once(&ssl_once, ssl_init_once);
		pool->ssl_ctx = redisCreateSSLContext(conf->tls_ca, NULL,
						      conf->tls_cert, conf->tls_key,
						      conf->tls_server_name != NULL ?
						      conf->tls_server_name : conf->host,
						      &serr);
		if (pool->ssl_ctx == NULL)
			return host->error(err, PERSIST_ECONFIG, 0,
					   "cannot set up TLS for %s: %s",
					   conf->display, redisSSLContextGetError(serr));
	}
#endif
	if (pthread_mutex_init(&pool->lock, NULL) != 0)
		goto fail;
	if (pthread_condattr_init(&attr) != 0) {
		pthread_mutex_destroy(&pool->lock);
		goto fail;
	}
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (pthread_cond_init(&pool->freed, &attr) != 0) {
		pthread_condattr_destroy(&attr);
		pthread_mutex_destroy(&pool->lock);
		goto fail;
	}
	pthread_condattr_destroy(&attr);
	return PERSIST_OK;
fail:
#ifdef HAVE_HIREDIS_SSL
	if (pool->ssl_ctx != NULL)
		redisFreeSSLContext(pool->ssl_ctx);
	pool->ssl_ctx = NULL;
#endif
	return host->error(err, PERSIST_ENOMEM, 0,
			   "cannot create a mutex");
}

/* Close every connection (none may be in use). */
void redis_pool_destroy(struct redis_pool *pool)
{
	struct redis_conn *c, *next;

	for (c = pool->idle; c != NULL; c = next) {
		next = c->next;
		redisFree(c->ctx);
		free(c);
	}
	pool->idle = NULL;
	pthread_cond_destroy(&pool->freed);
	pthread_mutex_destroy(&pool->lock);
#ifdef HAVE_HIREDIS_SSL
	if (pool->ssl_ctx != NULL)
		redisFreeSSLContext(pool->ssl_ctx);
	pool->ssl_ctx = NULL;
#endif
}

/* True when an idle connection still looks usable: no error, and the
   server has neither closed it nor sent anything unasked. */
static bool conn_alive(const struct redis_conf *conf, struct redis_conn *conn)
{
	char b;
	ssize_t n;

	if (conn->ctx->err != 0)
		return false;
	do
		n = recv(conn->ctx->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK;
	/* 0: the server closed it; > 0: stray bytes (TLS may send records
	   such as session tickets after the handshake) */
	return n > 0 && conf->tls;
}

/* Record a failed connection attempt (lock held): backoff and log. */
static void pool_mark_down(struct redis_pool *pool, const char *why)
{
	int64_t now = mono_us();
	int64_t backoff = pool->conf->reconnect_min_ms;

	for (unsigned i = 1; i <= pool->failures &&
	     backoff < pool->conf->reconnect_max_ms; i++)
		backoff *= 2;
	if (backoff > pool->conf->reconnect_max_ms)
		backoff = pool->conf->reconnect_max_ms;
	pool->failures++;
	pool->retry_at_us = now + backoff * 1000;
	snprintf(pool->last_error, sizeof(pool->last_error), "%s", why);
	if (!pool->down) {
		pool->down = true;
		pool->down_since_us = now;
		pool->host->log(pool->sink, PERSIST_LOG_WARNING,
				"%s unavailable: %s", pool->conf->display, why);
	}
}

/* Record a successful connection (lock held). */
static void pool_mark_up(struct redis_pool *pool)
{
	if (pool->down) {
		pool->host->log(pool->sink, PERSIST_LOG_INFO,
				"%s reachable again after %lld ms",
				pool->conf->display,
				(long long)((mono_us() - pool->down_since_us) / 1000));
		pool->reconnects++;
	}
	pool->down = false;
	pool->failures = 0;
	pool->retry_at_us = 0;
}

/* Wrap a new context as a pool connection; NULL on ENOMEM. */
static struct redis_conn *conn_new(redisContext *ctx, uint64_t gen)
{
	struct redis_conn *conn = malloc(sizeof(*conn));

	if (conn == NULL) {
		redisFree(ctx);
		return NULL;
	}
	conn->ctx = ctx;
	conn->gen = gen;
	conn->next = NULL;
	return conn;
}

/* Take a connection: an idle one that is alive, or a new one unless the
   pool is down (then EUNAVAIL at once) or full (then wait). */
static int pool_acquire(struct redis_pool *pool, const char *what,
			struct redis_conn **conn_r, struct persist_error *err)
{
	const struct redis_conf *conf = pool->conf;
	const struct persist_host *host = pool->host;
	struct redis_conn *conn;
	redisContext *ctx = NULL;
	struct timespec deadline = { 0, 0 };
	bool probing;
	char why[256];
	uint64_t gen = 0;
	int ret;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while ((conn = pool->idle) != NULL) {
			bool current = conn->gen == pool->master_gen;

			pool->idle = conn->next;
			pthread_mutex_unlock(&pool->lock);
			if (current && conn_alive(conf, conn)) {
				*conn_r = conn;
				return PERSIST_OK;
			}
			redisFree(conn->ctx);
			free(conn);
			pthread_mutex_lock(&pool->lock);
			pool->total--;
		}
		if (pool->total < conf->pool_size)
			break;
		if (deadline.tv_sec == 0) {
			clock_gettime(CLOCK_MONOTONIC, &deadline);
			deadline.tv_sec += conf->command_timeout_ms / 1000;
			deadline.tv_nsec += (long)(conf->command_timeout_ms % 1000) * 1000000;
			if (deadline.tv_nsec >= 1000000000) {
				deadline.tv_sec++;
				deadline.tv_nsec -= 1000000000;
			}
		}
		if (pthread_cond_timedwait(&pool->freed, &pool->lock, &deadline) ==
		    ETIMEDOUT && pool->idle == NULL &&
		    pool->total >= conf->pool_size) {
			pthread_mutex_unlock(&pool->lock);
			return host->error(err, PERSIST_ETIMEDOUT, 0,
					   "%s: no free connection to redis %s within %d ms\n"
					   "All %u connections of the pool stayed busy.",
					   what, conf->display, conf->command_timeout_ms,
					   conf->pool_size);
		}
	}
	if (pool->down) {
		int64_t now = mono_us();

		if (pool->probing || now < pool->retry_at_us) {
			int64_t wait = pool->retry_at_us > now ?
				       (pool->retry_at_us - now) / 1000 : 0;

			ret = host->error(err, PERSIST_EUNAVAIL, 0,
					  "%s: redis %s is unavailable\n"
					  "Last connection attempt failed: %s; next attempt "
					  "in %lld ms. Nothing was sent.",
					  what, conf->display, pool->last_error,
					  (long long)wait);
			pthread_mutex_unlock(&pool->lock);
			return ret;
		}
	}
	probing = pool->down;
	if (probing)
		pool->probing = true;
	pool->total++;
	pthread_mutex_unlock(&pool->lock);

	ret = redis_connect(pool, true, &ctx, &gen, why, sizeof(why));

	pthread_mutex_lock(&pool->lock);
	if (probing)
		pool->probing = false;
	if (ret == PERSIST_ECONFIG || ret == PERSIST_ENOMEM) {
		/* it answered, but refuses us: retrying cannot help, and the
		   server is not down */
		pool->total--;
		pthread_cond_signal(&pool->freed);
		pthread_mutex_unlock(&pool->lock);
		return host->error(err, ret, 0,
				   "%s: cannot use redis %s: %s", what,
				   conf->display, why);
	}
	if (ret != PERSIST_OK) {
		pool->total--;
		pool_mark_down(pool, why);
		pthread_cond_signal(&pool->freed);
		pthread_mutex_unlock(&pool->lock);
		return host->error(err, PERSIST_EUNAVAIL, 0,
				   "%s: redis %s is unavailable\n"
				   "Connecting failed: %s. Nothing was sent.",
				   what, conf->display, why);
	}
	pool_mark_up(pool);
	pthread_mutex_unlock(&pool->lock);
	conn = conn_new(ctx, gen);
	if (conn == NULL) {
		pthread_mutex_lock(&pool->lock);
		pool->total--;
		pthread_cond_signal(&pool->freed);
		pthread_mutex_unlock(&pool->lock);
		return host->error(err, PERSIST_ENOMEM, ENOMEM, "%s: out of memory",
				   what);
	}
	*conn_r = conn;
	return PERSIST_OK;
}

/* Give a healthy connection back. */
static void pool_release(struct redis_pool *pool, struct redis_conn *conn)
{
	pthread_mutex_lock(&pool->lock);
	conn->next = pool->idle;
	pool->idle = conn;
	pthread_cond_signal(&pool->freed);
	pthread_mutex_unlock(&pool->lock);
}

/* Close a connection that failed; with sentinels its master is in doubt
   and is asked for again. */
static void pool_discard(struct redis_pool *pool, struct redis_conn *conn)
{
	redis_sentinel_forget(pool, conn->gen);
	redisFree(conn->ctx);
	free(conn);
	pthread_mutex_lock(&pool->lock);
	pool->total--;
	pthread_cond_signal(&pool->freed);
	pthread_mutex_unlock(&pool->lock);
}

/* --- running a request ----------------------------------------------- */

/* Free n replies and the array. */
void redis_replies_free(redisReply **replies, size_t n)
{
	if (replies == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		if (replies[i] != NULL)
			freeReplyObject(replies[i]);
	free(replies);
}

/* Load every script on conn (after NOSCRIPT: the server lost them). */
static int load_scripts(struct redis_pool *pool, struct redis_conn *conn)
{
	for (int s = 0; s < RS_COUNT_; s++) {
		const char *argv[3] = { "SCRIPT", "LOAD",
					redis_script((enum redis_script_id)s)->body };
		size_t lens[3] = { 6, 4, strlen(argv[2]) };
		char *cmd = NULL;
		long long n = redisFormatCommandArgv(&cmd, 3, argv, lens);
		size_t sent;
		redisReply *r = NULL;
		bool timeout;
		char why[200];
		int bad;

		if (n < 0)
			return -1;
		bad = ctx_send(pool->conf, conn->ctx, cmd, (size_t)n, &sent);
		redisFreeCommand(cmd);
		if (bad < 0 || ctx_read(conn->ctx, &r, &timeout, why, sizeof(why),
					pool->conf->command_timeout_ms) < 0)
			return -1;
		bad = r->type != REDIS_REPLY_STRING;
		freeReplyObject(r);
		if (bad)
			return -1;
	}
	return 0;
}

/* True when a single reply says the script cache lost our script. */
static bool reply_noscript(const redisReply *r)
{
	return r->type == REDIS_REPLY_ERROR && r->len >= 8 &&
	       strncmp(r->str, "NOSCRIPT", 8) == 0;
}

static int exec_once(struct redis_pool *pool, struct redis_req *req,
		     unsigned flags, redisReply ***replies_r,
		     struct persist_error *err);

/* Append "WAIT acks timeout" to a request's wire bytes; -1 on ENOMEM. */
static int wire_wait(char **buf, size_t *len, int acks, int timeout_ms)
{
	char a[16], t[16], cmd[96];
	int n;
	char *nb;

	snprintf(a, sizeof(a), "%d", acks);
	snprintf(t, sizeof(t), "%d", timeout_ms);
	n = snprintf(cmd, sizeof(cmd), "*3\r\n$4\r\nWAIT\r\n$%zu\r\n%s\r\n"
		     "$%zu\r\n%s\r\n", strlen(a), a, strlen(t), t);
	nb = realloc(*buf, *len + (size_t)n + 1);
	if (nb == NULL)
		return -1;
	memcpy(nb + *len, cmd, (size_t)n);
	*buf = nb;
	*len += (size_t)n;
	return 0;
}

/* True when some reply says the server is a replica now (the master
   moved): the write was refused, not applied. */
static bool replies_readonly(redisReply **replies, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (replies[i] != NULL && replies[i]->type == REDIS_REPLY_ERROR &&
		    replies[i]->len >= 8 && strncmp(replies[i]->str, "READONLY", 8) == 0)
			return true;
	return false;
}

/* True when every reply is an error reply: nothing (or, for a script,
   what its own error says) was written. */
static bool replies_all_errors(redisReply **replies, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (replies[i] == NULL || replies[i]->type != REDIS_REPLY_ERROR)
			return false;
	return true;
}

/* Run req (exec_once); the first request of a store also runs the
   store's after_first hook, whatever its outcome, so that the hook's
   wait overlaps the request's own connecting. */
int redis_exec(struct redis_pool *pool, struct redis_req *req, unsigned flags,
	       redisReply ***replies_r, struct persist_error *err)
{
	bool first;
	int ret;

	pthread_mutex_lock(&pool->lock);
	first = pool->after_first != NULL && !pool->first_done;
	pthread_mutex_unlock(&pool->lock);
	ret = exec_once(pool, req, flags, replies_r, err);
	if (first) {
		pool->after_first(pool->after_first_ctx);
		pthread_mutex_lock(&pool->lock);
		pool->first_done = true;
		pthread_mutex_unlock(&pool->lock);
	}
	return ret;
}

/* Run req on one pooled connection and collect its replies (see the top
   of this file for what each failure answers). */
static int exec_once(struct redis_pool *pool, struct redis_req *req,
		     unsigned flags, redisReply ***replies_r,
		     struct persist_error *err)
{
	const struct persist_host *host = pool->host;
	const struct redis_conf *conf = pool->conf;
	struct redis_conn *conn = NULL;
	redisReply **replies = NULL;
	char *buf = NULL;
	size_t len = 0, req_len, *ends = NULL;
	bool wait = (flags & REDIS_WRITE) && conf->replica_acks > 0;
	int ret = PERSIST_OK;

	if (req->oom || req->ncmds == 0)
		return host->error(err, PERSIST_ENOMEM, ENOMEM, "%s: out of memory",
				   req->what);
	if (wire_build(req, &buf, &len, &ends) < 0)
		return host->error(err, PERSIST_ENOMEM, ENOMEM, "%s: out of memory",
				   req->what);
	/* replicaAcks: the write is confirmed only once that many replicas
	   have it (WAIT, on the same connection, right after it) */
	req_len = len;
	if (wait && wire_wait(&buf, &len, conf->replica_acks,
			      conf->wait_timeout_ms) < 0) {
		ret = host->error(err, PERSIST_ENOMEM, ENOMEM, "%s: out of memory",
				  req->what);
		goto out;
	}
	replies = calloc(req->ncmds, sizeof(*replies));
	if (replies == NULL) {
		ret = host->error(err, PERSIST_ENOMEM, ENOMEM, "%s: out of memory",
				  req->what);
		goto out;
	}
	for (int attempt = 0;; attempt++) {
		size_t sent = 0, complete = 0;
		bool timeout = false;
		long long acked = 0;
		char why[256];

		ret = pool_acquire(pool, req->what, &conn, err);
		if (ret != PERSIST_OK)
			goto out;
		if (ctx_send(conf, conn->ctx, buf, len, &sent) < 0) {
			int e = errno;

			pool_discard(pool, conn);
			if (sent == 0 && attempt == 0)
				continue; /* dead before the first byte: retry */
			while (complete < req->ncmds && ends[complete] <= sent)
				complete++;
			if (!(flags & REDIS_WRITE) ||
			    (sent < req_len &&
			     ((flags & REDIS_ATOMIC) || complete == 0))) {
				ret = host->error(err, PERSIST_EUNAVAIL, e,
						  "%s: redis %s is unavailable\n"
						  "Sending failed (%s) before the request was "
						  "complete; nothing was applied.",
						  req->what, conf->display, strerror(e));
			} else {
				ret = host->error(err, PERSIST_EUNCERTAIN, e,
						  "%s: outcome unknown\n"
						  "Sending to redis %s failed (%s) after part of "
						  "the request had gone out; it may have been "
						  "applied in part.",
						  req->what, conf->display, strerror(e));
			}
			goto out;
		}
		for (size_t i = 0; i < req->ncmds; i++) {
			if (ctx_read(conn->ctx, &replies[i], &timeout, why, sizeof(why),
				     conf->command_timeout_ms) < 0) {
				int e = errno;

				pool_discard(pool, conn);
				if (flags & REDIS_WRITE)
					ret = host->error(err, PERSIST_EUNCERTAIN, e,
							  "%s: outcome unknown\n"
							  "The request was sent to redis %s but "
							  "its reply was lost (%s); it may or may "
							  "not have been applied.",
							  req->what, conf->display, why);
				else if (timeout)
					ret = host->error(err, PERSIST_ETIMEDOUT, e,
							  "%s: redis %s did not answer within %d ms",
							  req->what, conf->display,
							  conf->command_timeout_ms);
				else
					ret = host->error(err, PERSIST_EUNAVAIL, e,
							  "%s: redis %s is unavailable\n"
							  "The reply was lost: %s.",
							  req->what, conf->display, why);
				goto out;
			}
		}
		if (wait) {
			redisReply *w = NULL;

			if (ctx_read(conn->ctx, &w, &timeout, why, sizeof(why),
				     conf->command_timeout_ms) < 0) {
				pool_discard(pool, conn);
				ret = host->error(err, PERSIST_EUNCERTAIN, 0,
						  "%s: outcome unknown\n"
						  "Redis %s answered the request, but the "
						  "answer of WAIT was lost (%s); it may not "
						  "be on %d replicas.", req->what,
						  conf->display, why, conf->replica_acks);
				goto out;
			}
			acked = w->type == REDIS_REPLY_INTEGER ? w->integer : -1;
			freeReplyObject(w);
		}
		if (req->ncmds == 1 && attempt == 0 && reply_noscript(replies[0])) {
			/* not executed: load the scripts and run it again */
			freeReplyObject(replies[0]);
			replies[0] = NULL;
			if (load_scripts(pool, conn) < 0) {
				pool_discard(pool, conn);
				ret = host->error(err, PERSIST_EUNAVAIL, 0,
						  "%s: redis %s lost its Lua scripts and "
						  "loading them again failed",
						  req->what, conf->display);
				goto out;
			}
			pool_release(pool, conn);
			continue;
		}
		if (replies_readonly(replies, req->ncmds)) {
			/* a replica now: ask the sentinels where the master went;
			   the error reply itself says "not applied" */
			pool_discard(pool, conn);
		} else {
			pool_release(pool, conn);
		}
		if (wait && acked < conf->replica_acks &&
		    !replies_all_errors(replies, req->ncmds)) {
			ret = host->error(err, PERSIST_EUNCERTAIN, 0,
					  "%s: not confirmed by the replicas\n"
					  "Redis %s applied it, but only %lld of %d "
					  "replicas acknowledged it within %d ms "
					  "(setting \"waitTimeout\"); a failover now "
					  "could lose it.", req->what, conf->display,
					  acked < 0 ? 0 : acked, conf->replica_acks,
					  conf->wait_timeout_ms);
			goto out;
		}
		*replies_r = replies;
		replies = NULL;
		ret = PERSIST_OK;
		break;
	}
out:
	redis_replies_free(replies, req->ncmds);
	free(buf);
	free(ends);
	return ret;
}

/* Run a one-command request whose reply must be an integer (a write
   script's status, the receiver count of PUBLISH, a list length). */
int redis_exec_integer(struct redis_pool *pool, struct redis_req *req,
		       unsigned flags, long long *value_r,
		       struct persist_error *err)
{
	redisReply **replies = NULL;
	int ret;

	ret = redis_exec(pool, req, flags, &replies, err);
	if (ret != PERSIST_OK)
		return ret;
	if (replies[0]->type == REDIS_REPLY_ERROR && (flags & REDIS_WRITE) &&
	    req->lens[req->cmd_first[0]] == 7 &&
	    memcmp(req->argv[req->cmd_first[0]], "EVALSHA", 7) == 0)
		ret = redis_script_error(pool->host, replies[0], req->what, err);
	else if (replies[0]->type != REDIS_REPLY_INTEGER)
		ret = redis_reply_error(pool->host, replies[0], req->what, err);
	else if (value_r != NULL)
		*value_r = replies[0]->integer;
	redis_replies_free(replies, 1);
	return ret;
}

/* Run one page of a SCAN-family command: check that the reply is
   [cursor, items] with a cursor that fits, and take the cursor. */
int redis_exec_scan(struct redis_pool *pool, struct redis_req *req,
		    char *cursor, size_t cursor_size, redisReply ***replies_r,
		    const redisReply **items_r, struct persist_error *err)
{
	redisReply **replies = NULL, *r;
	int ret;

	ret = redis_exec(pool, req, 0, &replies, err);
	if (ret != PERSIST_OK)
		return ret;
	r = replies[0];
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[0]->len >= cursor_size ||
	    r->element[1]->type != REDIS_REPLY_ARRAY) {
		ret = redis_reply_error(pool->host, r, req->what, err);
		redis_replies_free(replies, 1);
		return ret;
	}
	memcpy(cursor, r->element[0]->str, r->element[0]->len + 1);
	*items_r = r->element[1];
	*replies_r = replies;
	return PERSIST_OK;
}

/* --- replies --------------------------------------------------------- */

/* Does error reply r start with s? */
static bool err_starts(const redisReply *r, const char *s)
{
	size_t n = strlen(s);

	return r->len >= n && strncmp(r->str, s, n) == 0;
}

/* Does error reply r contain s? */
static bool err_contains(const redisReply *r, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i + n <= r->len; i++)
		if (memcmp(r->str + i, s, n) == 0)
			return true;
	return false;
}

/* Map an error reply to a status with a message naming what. */
int redis_reply_error(const struct persist_host *host, const redisReply *r,
		      const char *what, struct persist_error *err)
{
	int code = PERSIST_EIO;
	int n = (int)(r->len > 300 ? 300 : r->len);

	if (r->type != REDIS_REPLY_ERROR)
		return host->error(err, PERSIST_EIO, 0,
				   "%s: unexpected reply from redis (type %d)",
				   what, r->type);
	if (err_starts(r, "WRONGTYPE"))
		code = PERSIST_ECORRUPT;
	else if (err_starts(r, "PERSIST-NOTINT") ||
		 err_starts(r, "PERSIST-EINVAL") ||
		 err_contains(r, "not an integer") || err_contains(r, "overflow"))
		code = PERSIST_EINVAL;
	else if (reply_is_transient(r) || err_starts(r, "NOAUTH"))
		code = PERSIST_EUNAVAIL;
	return host->error(err, code, 0, "%s: redis answered: %.*s", what, n, r->str);
}

/* Map the error reply of a write script (see redis-private.h).  A Lua
   script is not rolled back when it fails: unless the error is one the
   script raised before writing, or one Redis answers without running
   it, the data may have changed. */
int redis_script_error(const struct persist_host *host, const redisReply *r,
		       const char *what, struct persist_error *err)
{
	int n = (int)(r->len > 300 ? 300 : r->len);

	if (r->type != REDIS_REPLY_ERROR || err_starts(r, "PERSIST-") ||
	    err_starts(r, "NOSCRIPT") || err_starts(r, "NOAUTH") ||
	    err_starts(r, "NOPERM") || reply_is_transient(r))
		return redis_reply_error(host, r, what, err);
	return host->error(err, PERSIST_EUNCERTAIN, 0,
			   "%s: outcome unknown\nThe script failed after it may "
			   "have changed data; redis answered: %.*s", what, n,
			   r->str);
}

/* Check a TTL against the range every store accepts. */
int redis_check_ttl(const struct persist_host *host, int64_t ttl_ms,
		    const char *what, struct persist_error *err)
{
	if (ttl_ms >= 0 && ttl_ms <= PERSIST_TTL_MAX_MS)
		return PERSIST_OK;
	return host->error(err, PERSIST_EINVAL, 0,
			   "%s: TTL %lld ms is out of range\nA TTL is 0 (none) to "
			   "%lld ms (100 years).", what, (long long)ttl_ms,
			   (long long)PERSIST_TTL_MAX_MS);
}

/* Run req on a private context (the subscriber's): send it, then read
   nreplies replies into replies (none when nreplies is 0).  0 or -1 with
   the reason in why. */
int redis_ctx_run(const struct redis_pool *pool, redisContext *ctx,
		  struct redis_req *req, size_t nreplies, redisReply **replies,
		  char *why, size_t why_size)
{
	char *buf = NULL;
	size_t len = 0, sent = 0, *ends = NULL;
	int ret = 0;

	if (req->oom || wire_build(req, &buf, &len, &ends) < 0) {
		snprintf(why, why_size, "out of memory");
		return -1;
	}
	if (ctx_send(pool->conf, ctx, buf, len, &sent) < 0) {
		snprintf(why, why_size, "sending failed: %s", strerror(errno));
		ret = -1;
	}
	for (size_t i = 0; ret == 0 && i < nreplies; i++) {
		bool timeout;

		replies[i] = NULL;
		if (ctx_read(ctx, &replies[i], &timeout, why, why_size,
			     pool->conf->command_timeout_ms) < 0) {
			for (size_t j = 0; j < i; j++) {
				freeReplyObject(replies[j]);
				replies[j] = NULL;
			}
			ret = -1;
		}
	}
	free(buf);
	free(ends);
	return ret;
}
