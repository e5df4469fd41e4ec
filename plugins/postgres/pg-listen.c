/*
 * plugins/postgres/pg-listen.c - the listening thread of a configuration
 * or session store: a dedicated connection that LISTENs on the store's
 * channels and hands every notification to the store, and that also runs
 * the store's periodic work (sweeping expired rows) between them.
 *
 * The thread owns its connection.  When it breaks (server restart) the
 * thread reconnects with backoff, LISTENs again and calls on_gap, since
 * notifications sent meanwhile are lost (configuration stores then tell
 * the core to re-read everything).  Open waits for the thread's first
 * connection attempt (at most connectTimeout), so that a store that
 * opened with the server up never misses a change made right after open;
 * a server that cannot be reached does not fail open: the thread keeps
 * trying.  Close wakes the thread through a pipe and joins it.
 */
#include "pg-private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pg_listener {
	struct pg_store *st;
	char **channels;
	size_t n;
	pg_listen_msg_fn *on_msg;
	pg_listen_gap_fn *on_gap;
	pg_listen_tick_fn *on_tick;
	pg_listen_connect_fn *on_connect;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t first;
	int pipe[2];
	bool stop;            /* under lock */
	bool first_done;      /* under lock */
	int first_status;
	char first_why[256];
	uint64_t generation;  /* under lock */
	PGconn *pg;           /* the thread's */
};

/* Run statement id on the listener's connection (unnamed statement). */
int pg_listen_exec(struct pg_store *st, PGconn *pg, enum pg_stmt id,
		   const struct pg_params *params, PGresult **res_r)
{
	const struct persist_host *host = st->host;
	int64_t deadline = host->monotonic_us() +
			   (int64_t)st->conf.command_timeout_ms * 1000 + 500000;
	bool timed_out = false;
	PGresult *res, *last = NULL;
	ExecStatusType s;

	if (PQsendQueryParams(pg, st->sql[id], params != NULL ? params->n : 0, NULL,
			      params != NULL ? params->values : NULL,
			      params != NULL ? params->lengths : NULL,
			      params != NULL ? params->formats : NULL, 1) == 0 ||
	    pg_flush_out(pg, deadline, host, &timed_out) != 0)
		return PERSIST_EUNAVAIL;
	for (;;) {
		if (pg_wait_ready(pg, deadline, host, &timed_out) != 0) {
			PQclear(last);
			return timed_out ? PERSIST_ETIMEDOUT : PERSIST_EUNAVAIL;
		}
		res = PQgetResult(pg);
		if (res == NULL)
			break;
		PQclear(last);
		last = res;
	}
	s = PQresultStatus(last);
	if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
		host->log(st->sink, PERSIST_LOG_WARNING,
			  "background statement failed: %s",
			  PQresultErrorField(last, PG_DIAG_MESSAGE_PRIMARY) != NULL ?
			  PQresultErrorField(last, PG_DIAG_MESSAGE_PRIMARY) : "error");
		PQclear(last);
		return PERSIST_EIO;
	}
	if (res_r != NULL)
		*res_r = last;
	else
		PQclear(last);
	return PERSIST_OK;
}

/* LISTEN on every channel; 0 on success. */
static int listen_all(struct pg_listener *l, PGconn *pg, char *why, size_t size)
{
	for (size_t i = 0; i < l->n; i++) {
		char *id = PQescapeIdentifier(pg, l->channels[i], strlen(l->channels[i]));
		char *sql = id != NULL ? malloc(strlen(id) + 8) : NULL;
		PGresult *res;
		bool ok;

		if (sql == NULL) {
			PQfreemem(id);
			snprintf(why, size, "out of memory");
			return -1;
		}
		sprintf(sql, "LISTEN %s", id);
		PQfreemem(id);
		res = PQexec(pg, sql);
		free(sql);
		ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		if (!ok)
			snprintf(why, size, "LISTEN failed: %s", PQerrorMessage(pg));
		PQclear(res);
		if (!ok)
			return -1;
	}
	return 0;
}

/* Note the outcome of the first connection attempt for open. */
static void first_attempt(struct pg_listener *l, int status, const char *why)
{
	pthread_mutex_lock(&l->lock);
	if (!l->first_done) {
		l->first_done = true;
		l->first_status = status;
		snprintf(l->first_why, sizeof(l->first_why), "%s", why);
		pthread_cond_broadcast(&l->first);
	}
	pthread_mutex_unlock(&l->lock);
}

/* True when close asked the thread to stop. */
static bool stopping(struct pg_listener *l)
{
	bool s;

	pthread_mutex_lock(&l->lock);
	s = l->stop;
	pthread_mutex_unlock(&l->lock);
	return s;
}

/* Try to connect and LISTEN: PERSIST_OK or the failure. */
static int listener_connect(struct pg_listener *l, char *why, size_t size)
{
	struct pg_store *st = l->st;
	PGconn *pg = NULL;
	int ret = pg_connect(st, st->conf.conninfo, st->conf.connect_timeout_ms, &pg,
			     why, size);

	if (ret == PERSIST_OK) {
		char sw[200] = "";

		ret = pg_schema_ensure(st, pg, sw, sizeof(sw));
		if (ret != PERSIST_OK)
			snprintf(why, size, "cannot set up schema \"%s\": %s",
				 st->conf.schema, sw);
	}
	if (ret == PERSIST_OK && listen_all(l, pg, why, size) != 0)
		ret = PERSIST_EUNAVAIL;
	if (ret == PERSIST_OK && l->on_connect != NULL && l->on_connect(st, pg) != 0) {
		snprintf(why, size, "the set-up of the listening connection failed");
		ret = PERSIST_EUNAVAIL;
	}
	if (ret != PERSIST_OK) {
		PQfinish(pg);
		return ret;
	}
	l->pg = pg;
	return PERSIST_OK;
}

/* Hand every queued notification to the store. */
static void drain_notifies(struct pg_listener *l)
{
	PGnotify *n;

	while ((n = PQnotifies(l->pg)) != NULL) {
		l->on_msg(l->st, l->pg, n->relname, n->extra);
		PQfreemem(n);
	}
}

/* The thread. */
static void *listener_main(void *arg)
{
	struct pg_listener *l = arg;
	struct pg_store *st = l->st;
	const struct persist_host *host = st->host;
	int64_t retry_at = 0, next_tick = 0;
	unsigned failures = 0;
	bool ever_failed = false;

	while (!stopping(l)) {
		int64_t now = host->monotonic_us(), wait_us;
		struct pollfd p[2];
		int np = 1;

		if (l->pg == NULL && now >= retry_at) {
			char why[256] = "";
			int ret = listener_connect(l, why, sizeof(why));

			if (ret != PERSIST_OK) {
				int64_t b = (int64_t)PG_RECONNECT_MIN << (failures < 6 ? failures : 6);

				if (failures == 0 || ret == PERSIST_ECONFIG)
					host->log(st->sink, PERSIST_LOG_WARNING,
						  "listening connection to %s "
						  "failed: %s", st->conf.display, why);
				failures++;
				ever_failed = true;
				retry_at = host->monotonic_us() +
					   (b < PG_RECONNECT_MAX ? b : PG_RECONNECT_MAX) * 1000;
				first_attempt(l, ret, why);
			} else {
				pthread_mutex_lock(&l->lock);
				l->generation++;
				pthread_mutex_unlock(&l->lock);
				if (ever_failed) {
					host->log(st->sink, PERSIST_LOG_INFO,
						  "listening again on %s",
						  st->conf.display);
					if (l->on_gap != NULL)
						l->on_gap(st);
				}
				failures = 0;
				next_tick = 0;
				first_attempt(l, PERSIST_OK, "");
			}
			continue;
		}
		p[0] = (struct pollfd){ .fd = l->pipe[0], .events = POLLIN };
		if (l->pg != NULL) {
			p[1] = (struct pollfd){ .fd = PQsocket(l->pg), .events = POLLIN };
			np = 2;
			wait_us = next_tick - now;
		} else {
			wait_us = retry_at - now;
		}
		if (wait_us < 0)
			wait_us = 0;
		if (poll(p, (nfds_t)np, (int)((wait_us + 999) / 1000)) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			char buf[64];

			while (read(l->pipe[0], buf, sizeof(buf)) > 0)
				;
			next_tick = 0;
		}
		if (l->pg == NULL)
			continue;
		if (np == 2 && (p[1].revents & (POLLIN | POLLERR | POLLHUP)) &&
		    PQconsumeInput(l->pg) == 0)
			goto lost;
		drain_notifies(l);
		if (PQstatus(l->pg) != CONNECTION_OK)
			goto lost;
		if (l->on_tick != NULL && host->monotonic_us() >= next_tick) {
			int64_t ms = l->on_tick(st, l->pg);

			if (ms < 0 || ms > st->conf.sweep_interval_ms)
				ms = st->conf.sweep_interval_ms;
			next_tick = host->monotonic_us() + ms * 1000;
			drain_notifies(l);
			if (PQstatus(l->pg) != CONNECTION_OK)
				goto lost;
		}
		continue;
lost:
		host->log(st->sink, PERSIST_LOG_WARNING,
			  "listening connection to %s lost; "
			  "reconnecting", st->conf.display);
		PQfinish(l->pg);
		l->pg = NULL;
		ever_failed = true;
		retry_at = 0;
	}
	PQfinish(l->pg);
	l->pg = NULL;
	first_attempt(l, PERSIST_ECLOSED, "closed");
	return NULL;
}

/* Free a listener whose thread is not running. */
static void listener_free(struct pg_listener *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->channels[i]);
	free(l->channels);
	if (l->pipe[0] >= 0)
		close(l->pipe[0]);
	if (l->pipe[1] >= 0)
		close(l->pipe[1]);
	pthread_cond_destroy(&l->first);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

int pg_listen_start(struct pg_store *st, const char *const *channels, size_t n,
		    pg_listen_msg_fn *on_msg, pg_listen_gap_fn *on_gap,
		    pg_listen_tick_fn *on_tick, pg_listen_connect_fn *on_connect,
		    struct pg_listener **l_r, struct persist_error *err)
{
	const struct persist_host *host = st->host;
	struct pg_listener *l = calloc(1, sizeof(*l));
	struct timespec ts;
	int status;

	if (l == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory");
	l->st = st;
	l->on_msg = on_msg;
	l->on_gap = on_gap;
	l->on_tick = on_tick;
	l->on_connect = on_connect;
	l->pipe[0] = l->pipe[1] = -1;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->first, NULL);
	l->channels = calloc(n, sizeof(*l->channels));
	if (l->channels == NULL) {
		listener_free(l);
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		l->channels[i] = pc_strdup(channels[i]);
		l->n = i + 1;
		if (l->channels[i] == NULL) {
			listener_free(l);
			return host->error(err, PERSIST_ENOMEM, ENOMEM,
					   "out of memory");
		}
	}
	if (pipe(l->pipe) != 0 ||
	    fcntl(l->pipe[0], F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(l->pipe[1], F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(l->pipe[0], F_SETFD, FD_CLOEXEC) != 0 ||
	    fcntl(l->pipe[1], F_SETFD, FD_CLOEXEC) != 0) {
		int e = errno;

		listener_free(l);
		return host->error(err, PERSIST_EIO, e,
				   "cannot make a pipe: %s", strerror(e));
	}
	if (pthread_create(&l->thread, NULL, listener_main, l) != 0) {
		listener_free(l);
		return host->error(err, PERSIST_EIO, 0,
				   "cannot start the listening thread");
	}
	/* wait for the first attempt, a little longer than it may take */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (st->conf.connect_timeout_ms + 2000) / 1000 +
		     (st->conf.command_timeout_ms) / 1000 + 1;
	pthread_mutex_lock(&l->lock);
	while (!l->first_done) {
		if (pthread_cond_timedwait(&l->first, &l->lock, &ts) != 0)
			break;
	}
	status = l->first_done ? l->first_status : PERSIST_EUNAVAIL;
	pthread_mutex_unlock(&l->lock);
	if (status == PERSIST_ECONFIG || status == PERSIST_ENOMEM) {
		int ret = host->error(err, status, 0,
				      "the server refuses the connection\n"
				      "Server %s: %s.", st->conf.display, l->first_why);

		pg_listen_stop(l);
		return ret;
	}
	if (status != PERSIST_OK)
		host->log(st->sink, PERSIST_LOG_WARNING,
			  "server %s unavailable at open (%s); the "
			  "store opens anyway and answers unavailable until it can be "
			  "reached", st->conf.display, l->first_why);
	*l_r = l;
	return PERSIST_OK;
}

void pg_listen_wake(struct pg_listener *l)
{
	if (l != NULL && write(l->pipe[1], "w", 1) < 0) {
		/* full pipe: the thread is woken anyway */
	}
}

void pg_listen_stop(struct pg_listener *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->stop = true;
	pthread_mutex_unlock(&l->lock);
	pg_listen_wake(l);
	pthread_join(l->thread, NULL);
	listener_free(l);
}

uint64_t pg_listen_generation(struct pg_listener *l)
{
	uint64_t g;

	pthread_mutex_lock(&l->lock);
	g = l->generation;
	pthread_mutex_unlock(&l->lock);
	return g;
}
