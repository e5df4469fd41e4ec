/*
 * plugins/postgres/pg-conn.c - connections to the PostgreSQL server:
 * connect with a deadline, the per-store pool, reconnect backoff, and
 * execution of one statement with an honest answer about what happened
 * to it.
 *
 * Threads: a PGconn is used by one thread at a time, so a store keeps a
 * small pool (setting "poolSize", default 8).  A call takes an idle
 * connection (or opens one), runs its statement(s) on it and gives it
 * back; with every connection busy it waits up to commandTimeout for one.
 * That is what makes the ops tables PERSIST_CAP_THREADSAFE.
 *
 * Connecting uses libpq's non-blocking PQconnectStartParams/PQconnectPoll
 * so that connectTimeout is honoured in milliseconds (libpq's own
 * connect_timeout counts whole seconds, at least 2).  A server that
 * answers and refuses us (wrong password, no such database or role, no
 * pg_hba.conf entry) is PERSIST_ECONFIG: retrying cannot help.  One that
 * cannot be reached is PERSIST_EUNAVAIL, and the pool is "down" until a
 * retry time that backs off from 50 ms to 2 s; until then calls answer
 * PERSIST_EUNAVAIL at once, without touching the network.  An idle
 * connection is checked before use (non-blocking peek): one the server
 * closed - a restart sends a FATAL message to idle sessions - is dropped,
 * so a statement is never sent on a dead connection.
 *
 * Statements run prepared (each connection prepares a statement the
 * first time it runs it), binary results, server-side statement_timeout =
 * commandTimeout, and the client waits commandTimeout + 500 ms at most.
 * What a failure means:
 *   - an error the server reports for the statement: it was rolled back;
 *     the SQLSTATE says which status (see pg_result_error);
 *   - no answer (connection lost, the client's wait ran out, or the
 *     server ended the session): PERSIST_EUNCERTAIN for a statement that
 *     writes (PG_WRITE) - it may have committed just before - and
 *     PERSIST_EUNAVAIL / PERSIST_ETIMEDOUT for a read, which is retried
 *     once on a fresh connection first.
 * A connection that failed in any way is closed, never reused.
 */
#include "pg-private.h"

#include <errno.h>
#include <endian.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Margin of the client's wait over the server's statement_timeout. */
#define CLIENT_MARGIN_US 500000

/* --- parameters ------------------------------------------------------- */

/* Add a text parameter (NULL: SQL NULL). */
void pg_param_str(struct pg_params *p, const char *s)
{
	p->values[p->n] = s;
	p->lengths[p->n] = 0;
	p->formats[p->n] = 0;
	p->n++;
}

/* Add a binary parameter (bytea: the bytes as they are). */
void pg_param_bin(struct pg_params *p, const void *data, size_t len)
{
	p->values[p->n] = data != NULL ? data : "";
	p->lengths[p->n] = (int)len;
	p->formats[p->n] = 1;
	p->n++;
}

/* Add a number as decimal text. */
void pg_param_i64(struct pg_params *p, char buf[24], int64_t v)
{
	snprintf(buf, 24, "%lld", (long long)v);
	pg_param_str(p, buf);
}

/* --- results ---------------------------------------------------------- */

/* SQLSTATE of a result ("" when none). */
const char *pg_sqlstate(const PGresult *res)
{
	const char *s = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return s != NULL ? s : "";
}

/* A binary integer column (int2, int4 or int8). */
int64_t pg_get_i64(const PGresult *res, int row, int col)
{
	const char *v = PQgetvalue(res, row, col);
	int len = PQgetlength(res, row, col);
	uint64_t u8;
	uint32_t u4;
	uint16_t u2;

	if (PQgetisnull(res, row, col))
		return 0;
	switch (len) {
	case 8:
		memcpy(&u8, v, 8);
		return (int64_t)be64toh(u8);
	case 4:
		memcpy(&u4, v, 4);
		return (int32_t)be32toh(u4);
	case 2:
		memcpy(&u2, v, 2);
		return (int16_t)be16toh(u2);
	default:
		return 0;
	}
}

/* A binary boolean column. */
bool pg_get_bool(const PGresult *res, int row, int col)
{
	return !PQgetisnull(res, row, col) && PQgetlength(res, row, col) == 1 &&
	       PQgetvalue(res, row, col)[0] != 0;
}

/* Copy of a bytea/text column in host memory, NUL-terminated. */
void *pg_get_copy(const struct persist_host *host, const PGresult *res,
		  int row, int col, size_t *len_r)
{
	size_t len = (size_t)PQgetlength(res, row, col);
	char *out = host->alloc(len + 1);

	if (out == NULL)
		return NULL;
	memcpy(out, PQgetvalue(res, row, col), len);
	out[len] = '\0';
	*len_r = len;
	return out;
}

/* --- waiting ---------------------------------------------------------- */

/* Wait for events on the connection's socket until the deadline: 1 ready,
   0 time is up, -1 error. */
static int wait_socket(PGconn *pg, short events, int64_t deadline_us,
		       const struct persist_host *host)
{
	for (;;) {
		int64_t left = deadline_us - host->monotonic_us();
		struct pollfd p = { .fd = PQsocket(pg), .events = events };
		int r;

		if (p.fd < 0)
			return -1;
		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)((left + 999) / 1000));
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* Send what libpq buffered, reading meanwhile. */
int pg_flush_out(PGconn *pg, int64_t deadline_us, const struct persist_host *host,
		 bool *timed_out)
{
	for (;;) {
		int r = PQflush(pg);

		if (r == 0)
			return 0;
		if (r < 0)
			return -1;
		r = wait_socket(pg, POLLIN | POLLOUT, deadline_us, host);
		if (r == 0) {
			*timed_out = true;
			return -1;
		}
		if (r < 0 || PQconsumeInput(pg) == 0)
			return -1;
	}
}

/* Wait until a result can be read without blocking. */
int pg_wait_ready(PGconn *pg, int64_t deadline_us, const struct persist_host *host,
		  bool *timed_out)
{
	while (PQisBusy(pg)) {
		int r = wait_socket(pg, POLLIN, deadline_us, host);

		if (r == 0) {
			*timed_out = true;
			return -1;
		}
		if (r < 0 || PQconsumeInput(pg) == 0)
			return -1;
	}
	return 0;
}

/* --- connecting ------------------------------------------------------- */

/* libpq's error text on one line. */
static void one_line(const char *msg, char *out, size_t size)
{
	size_t o = 0;

	for (const char *p = msg; *p != '\0' && o + 3 < size; p++) {
		if (*p == '\n') {
			if (p[1] != '\0') {
				out[o++] = ';';
				out[o++] = ' ';
			}
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}

/* Did the server answer and refuse us (retrying will not help)? */
static bool refused_for_good(const char *msg)
{
	static const char *const passing[] = {
		"starting up", "shutting down", "too many", "in recovery",
		"not yet accepting", "terminating", "remaining connection slots",
	};

	if (strstr(msg, "no password supplied") != NULL)
		return true;
	if (strstr(msg, "FATAL") == NULL)
		return false;
	for (size_t i = 0; i < sizeof(passing) / sizeof(passing[0]); i++) {
		if (strstr(msg, passing[i]) != NULL)
			return false;
	}
	return true;
}

/* Run a command without parameters within the deadline; 0 on success. */
static int simple_command(PGconn *pg, const char *sql, int64_t deadline_us,
			  const struct persist_host *host)
{
	bool timed_out = false;
	PGresult *res, *last = NULL;
	int ok;

	if (PQsendQuery(pg, sql) == 0 ||
	    pg_flush_out(pg, deadline_us, host, &timed_out) != 0 ||
	    pg_wait_ready(pg, deadline_us, host, &timed_out) != 0)
		return -1;
	while ((res = PQgetResult(pg)) != NULL) {
		PQclear(last);
		last = res;
		if (pg_wait_ready(pg, deadline_us, host, &timed_out) != 0)
			break;
	}
	ok = last != NULL && PQresultStatus(last) == PGRES_COMMAND_OK &&
	     !PQisBusy(pg);
	PQclear(last);
	return ok ? 0 : -1;
}

/* Notices of the server (e.g. "relation already exists, skipping") are
   not errors: libpq would print them on stderr. */
static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Connect to conninfo within timeout_ms. */
int pg_connect(const struct pg_store *st, const char *conninfo, int timeout_ms,
	       PGconn **pg_r, char *why, size_t why_size)
{
	static const char *const keywords[] = {
		"dbname", "client_encoding", "fallback_application_name", NULL
	};
	const char *values[] = { conninfo, "UTF8", "persist", NULL };
	const struct persist_host *host = st->host;
	int64_t deadline = host->monotonic_us() + (int64_t)timeout_ms * 1000;
	PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
	char set[96];
	bool has_timeout;
	PGconn *pg;

	if (pg_conninfo_hosts(conninfo, &has_timeout) > 1) {
		/* several servers: libpq chooses, host after host
		   (pg-failover.c) */
		pg = pg_connect_hosts(conninfo, has_timeout ? 0 : timeout_ms);
		deadline = host->monotonic_us() + (int64_t)timeout_ms * 1000;
	} else {
		pg = PQconnectStartParams(keywords, values, 1);
	}
	if (pg == NULL) {
		snprintf(why, why_size, "out of memory");
		return PERSIST_ENOMEM;
	}
	PQsetNoticeProcessor(pg, ignore_notice, NULL);
	if (PQstatus(pg) == CONNECTION_BAD)
		ps = PGRES_POLLING_FAILED;
	else if (PQstatus(pg) == CONNECTION_OK)
		ps = PGRES_POLLING_OK;
	while (ps != PGRES_POLLING_OK && ps != PGRES_POLLING_FAILED) {
		int r = wait_socket(pg, ps == PGRES_POLLING_READING ? POLLIN : POLLOUT,
				    deadline, host);

		if (r == 0) {
			snprintf(why, why_size, "no connection within %d ms "
				 "(setting \"connectTimeout\")", timeout_ms);
			PQfinish(pg);
			return PERSIST_EUNAVAIL;
		}
		ps = PQconnectPoll(pg);
	}
	if (ps == PGRES_POLLING_FAILED) {
		const char *msg = PQerrorMessage(pg);
		int ret = refused_for_good(msg) ? PERSIST_ECONFIG : PERSIST_EUNAVAIL;

		one_line(msg, why, why_size);
		PQfinish(pg);
		return ret;
	}
	PQsetnonblocking(pg, 1);
	snprintf(set, sizeof(set), "SET statement_timeout = %d",
		 st->conf.command_timeout_ms);
	if (simple_command(pg, set, deadline + 1000000, host) != 0) {
		one_line(PQerrorMessage(pg), why, why_size);
		if (why[0] == '\0')
			snprintf(why, why_size, "the session set-up failed");
		PQfinish(pg);
		return PERSIST_EUNAVAIL;
	}
	*pg_r = pg;
	return PERSIST_OK;
}

/* --- the pool --------------------------------------------------------- */

int pg_pool_init(struct pg_pool *pool, struct pg_store *st,
		 const char *conninfo, const char *display)
{
	memset(pool, 0, sizeof(*pool));
	pool->st = st;
	pool->conninfo = conninfo;
	pool->display = display;
	pool->size = st->conf.pool_size;
	if (pthread_mutex_init(&pool->lock, NULL) != 0)
		return -1;
	if (pthread_cond_init(&pool->freed, NULL) != 0) {
		pthread_mutex_destroy(&pool->lock);
		return -1;
	}
	return 0;
}

/* Close every idle connection (all must have been given back). */
void pg_pool_destroy(struct pg_pool *pool)
{
	struct pg_conn *c, *next;

	if (pool->st == NULL)
		return;
	for (c = pool->idle; c != NULL; c = next) {
		next = c->next;
		PQfinish(c->pg);
		free(c);
	}
	pool->idle = NULL;
	pthread_cond_destroy(&pool->freed);
	pthread_mutex_destroy(&pool->lock);
	pool->st = NULL;
}

/* Is an idle connection still usable?  Reads what the server sent meanwhile
   (a FATAL message before a shutdown) without blocking. */
static bool conn_alive(struct pg_conn *c)
{
	struct pollfd p = { .fd = PQsocket(c->pg), .events = POLLIN };
	PGnotify *n;

	if (PQstatus(c->pg) != CONNECTION_OK || p.fd < 0)
		return false;
	if (poll(&p, 1, 0) > 0) {
		if (PQconsumeInput(c->pg) == 0)
			return false;
		while ((n = PQnotifies(c->pg)) != NULL)
			PQfreemem(n);
	}
	return PQstatus(c->pg) == CONNECTION_OK &&
	       PQtransactionStatus(c->pg) == PQTRANS_IDLE && !PQisBusy(c->pg);
}

/* The message of an unavailable pool. */
static int pool_unavailable(struct pg_pool *pool, int code, const char *why,
			    struct persist_error *err)
{
	return pool->st->host->error(err, code, 0,
				     code == PERSIST_ECONFIG ?
				     "the server refuses the connection\n"
				     "Server %s: %s." :
				     "server unavailable\n"
				     "Server %s: %s.",
				     pool->display, why);
}

/* Open a new connection for the pool (total already counts it). */
static int pool_connect(struct pg_pool *pool, struct pg_conn **c_r,
			struct persist_error *err)
{
	struct pg_store *st = pool->st;
	const struct persist_host *host = st->host;
	char why[256] = "";
	PGconn *pg = NULL;
	int ret;

	ret = pg_connect(st, pool->conninfo, st->conf.connect_timeout_ms, &pg,
			 why, sizeof(why));
	if (ret == PERSIST_OK && pool == &st->pool) {
		ret = pg_schema_ensure(st, pg, why, sizeof(why));
		if (ret != PERSIST_OK) {
			PQfinish(pg);
			pthread_mutex_lock(&pool->lock);
			pool->total--;
			pthread_cond_broadcast(&pool->freed);
			pthread_mutex_unlock(&pool->lock);
			return host->error(err, ret, 0,
					   "cannot set up schema \"%s\"\n"
					   "Server %s: %s.", st->conf.schema,
					   pool->display, why);
		}
	}
	pthread_mutex_lock(&pool->lock);
	if (ret != PERSIST_OK) {
		int64_t backoff = (int64_t)PG_RECONNECT_MIN << (pool->failures < 6 ? pool->failures : 6);

		pool->total--;
		pool->down = true;
		pool->failures++;
		pool->retry_at_us = host->monotonic_us() +
				    (backoff < PG_RECONNECT_MAX ? backoff : PG_RECONNECT_MAX) * 1000;
		snprintf(pool->last_error, sizeof(pool->last_error), "%s", why);
		pthread_cond_broadcast(&pool->freed);
		pthread_mutex_unlock(&pool->lock);
		return pool_unavailable(pool, ret, why, err);
	}
	if (pool->down) {
		pool->reconnects++;
		host->log(st->sink, PERSIST_LOG_INFO,
			  "connected again to %s", pool->display);
	}
	{
		char server[sizeof(pool->server)];

		/* with several hosts, say when another one became the one
		   we use (a standby promoted) */
		snprintf(server, sizeof(server), "%s:%s", PQhost(pg), PQport(pg));
		if (pool->server[0] != '\0' && strcmp(server, pool->server) != 0)
			host->log(st->sink, PERSIST_LOG_WARNING,
				  "now using server %s (was %s) of %s", server,
				  pool->server, pool->display);
		memcpy(pool->server, server, sizeof(server));
	}
	pool->down = false;
	pool->failures = 0;
	pthread_mutex_unlock(&pool->lock);
	*c_r = calloc(1, sizeof(**c_r));
	if (*c_r == NULL) {
		PQfinish(pg);
		pthread_mutex_lock(&pool->lock);
		pool->total--;
		pthread_mutex_unlock(&pool->lock);
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory");
	}
	(*c_r)->pg = pg;
	return PERSIST_OK;
}

/* Take a connection. */
int pg_pool_get(struct pg_pool *pool, struct pg_conn **c_r,
		struct persist_error *err)
{
	const struct persist_host *host = pool->st->host;
	int64_t deadline = host->monotonic_us() +
			   (int64_t)pool->st->conf.command_timeout_ms * 1000;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		struct pg_conn *c = pool->idle;

		if (c != NULL) {
			pool->idle = c->next;
			pthread_mutex_unlock(&pool->lock);
			if (conn_alive(c)) {
				*c_r = c;
				return PERSIST_OK;
			}
			PQfinish(c->pg);
			free(c);
			pthread_mutex_lock(&pool->lock);
			pool->total--;
			continue;
		}
		if (pool->total < pool->size) {
			if (pool->down && host->monotonic_us() < pool->retry_at_us) {
				char why[256];

				snprintf(why, sizeof(why), "%s", pool->last_error);
				pthread_mutex_unlock(&pool->lock);
				return pool_unavailable(pool, PERSIST_EUNAVAIL, why, err);
			}
			pool->total++;
			pthread_mutex_unlock(&pool->lock);
			return pool_connect(pool, c_r, err);
		}
		{
			int64_t left = deadline - host->monotonic_us();
			struct timespec ts;

			if (left <= 0) {
				pthread_mutex_unlock(&pool->lock);
				return host->error(err, PERSIST_ETIMEDOUT, 0,
						   "all %u connections "
						   "stayed busy for %d ms\n"
						   "Raise \"poolSize\" or \"commandTimeout\".",
						   pool->size, pool->st->conf.command_timeout_ms);
			}
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += left / 1000000;
			ts.tv_nsec += (left % 1000000) * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&pool->freed, &pool->lock, &ts);
		}
	}
}

/* Give a connection back; one that is not clean is closed. */
void pg_pool_put(struct pg_pool *pool, struct pg_conn *c)
{
	bool ok = !c->broken && PQstatus(c->pg) == CONNECTION_OK &&
		  PQtransactionStatus(c->pg) == PQTRANS_IDLE &&
		  PQpipelineStatus(c->pg) == PQ_PIPELINE_OFF;

	if (!ok) {
		PQfinish(c->pg);
		free(c);
	}
	pthread_mutex_lock(&pool->lock);
	if (ok) {
		c->next = pool->idle;
		pool->idle = c;
	} else {
		pool->total--;
	}
	pthread_cond_signal(&pool->freed);
	pthread_mutex_unlock(&pool->lock);
}

/* One connection attempt now. */
int pg_pool_probe(struct pg_pool *pool, struct persist_error *err)
{
	struct pg_conn *c = NULL;
	int ret = pg_pool_get(pool, &c, err);

	if (ret == PERSIST_OK)
		pg_pool_put(pool, c);
	return ret;
}

/* --- statements ------------------------------------------------------- */

/* The status of a failed statement. */
int pg_result_error(struct pg_pool *pool, PGconn *pg, const PGresult *res,
		    unsigned flags, bool timed_out, const char *what,
		    struct persist_error *err)
{
	const struct persist_host *host = pool->st->host;
	const char *state = pg_sqlstate(res);
	const char *msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	bool lost = PQstatus(pg) != CONNECTION_OK || state[0] == '\0' ||
		    strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0;
	char line[256];
	int code;

	if (timed_out)
		return host->error(err, (flags & PG_WRITE) ? PERSIST_EUNCERTAIN :
				   PERSIST_ETIMEDOUT, 0,
				   "%s: no answer within %d ms%s\n"
				   "Server %s.", what, pool->st->conf.command_timeout_ms,
				   (flags & PG_WRITE) ? "; it may or may not have been applied" : "",
				   pool->display);
	if (lost) {
		one_line(msg != NULL ? msg : PQerrorMessage(pg), line, sizeof(line));
		return host->error(err, (flags & PG_WRITE) ? PERSIST_EUNCERTAIN :
				   PERSIST_EUNAVAIL, 0,
				   "%s: connection lost%s\n"
				   "Server %s: %s.", what,
				   (flags & PG_WRITE) ? "; it may or may not have been applied" : "",
				   pool->display, line);
	}
	if (strcmp(state, "57014") == 0)
		code = PERSIST_ETIMEDOUT;
	else if (strncmp(state, "22", 2) == 0)
		code = PERSIST_EINVAL;
	else if (strncmp(state, "53", 2) == 0 || strcmp(state, "40001") == 0 ||
		 strcmp(state, "40P01") == 0 || strcmp(state, "25006") == 0 ||
		 strcmp(state, "55P03") == 0)
		code = PERSIST_EUNAVAIL;
	else if (strcmp(state, "42501") == 0)
		code = PERSIST_ECONFIG;
	else
		code = PERSIST_EIO;
	if (strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0 ||
	    strcmp(state, "42883") == 0) {
		/* the tables went away: set them up again on the next connection */
		pthread_mutex_lock(&pool->st->schema_lock);
		pool->st->schema_ready = false;
		pthread_mutex_unlock(&pool->st->schema_lock);
	}
	return host->error(err, code, 0, "%s failed: %s (SQLSTATE %s)",
			   what, msg != NULL ? msg : "error", state);
}

/* Prepare statement id on c if it is not yet. */
int pg_conn_prepare(struct pg_pool *pool, struct pg_conn *c, enum pg_stmt id,
		    struct persist_error *err)
{
	const struct persist_host *host = pool->st->host;
	int64_t deadline = host->monotonic_us() +
			   (int64_t)pool->st->conf.command_timeout_ms * 1000 + CLIENT_MARGIN_US;
	bool timed_out = false;
	PGresult *res, *last = NULL;
	char name[16];
	int ret = PERSIST_OK;

	if (c->prepared & (1ull << id))
		return PERSIST_OK;
	snprintf(name, sizeof(name), "p%d", (int)id);
	if (PQsendPrepare(c->pg, name, pool->st->sql[id], pg_sql_nparams(id), NULL) == 0 ||
	    pg_flush_out(c->pg, deadline, host, &timed_out) != 0)
		return pg_result_error(pool, c->pg, NULL, 0, timed_out, "preparing a statement", err);
	for (;;) {
		if (pg_wait_ready(c->pg, deadline, host, &timed_out) != 0) {
			PQclear(last);
			return pg_result_error(pool, c->pg, NULL, 0, timed_out,
					       "preparing a statement", err);
		}
		res = PQgetResult(c->pg);
		if (res == NULL)
			break;
		PQclear(last);
		last = res;
	}
	if (PQresultStatus(last) != PGRES_COMMAND_OK)
		ret = pg_result_error(pool, c->pg, last, 0, false, "preparing a statement", err);
	else
		c->prepared |= 1ull << id;
	PQclear(last);
	return ret;
}

/* Run statement id on a connection already taken. */
int pg_conn_exec(struct pg_pool *pool, struct pg_conn *c, enum pg_stmt id,
		 const struct pg_params *params, unsigned flags, PGresult **res_r,
		 const char *what, struct persist_error *err)
{
	const struct persist_host *host = pool->st->host;
	int64_t deadline;
	bool timed_out = false;
	PGresult *res, *last = NULL;
	char name[16];
	int ret;

	if ((ret = pg_conn_prepare(pool, c, id, err)) != PERSIST_OK)
		return ret;
	deadline = host->monotonic_us() +
		   (int64_t)pool->st->conf.command_timeout_ms * 1000 + CLIENT_MARGIN_US;
	snprintf(name, sizeof(name), "p%d", (int)id);
	if (PQsendQueryPrepared(c->pg, name, params != NULL ? params->n : 0,
				params != NULL ? params->values : NULL,
				params != NULL ? params->lengths : NULL,
				params != NULL ? params->formats : NULL, 1) == 0)
		return pg_result_error(pool, c->pg, NULL, 0, false, what, err);
	if (pg_flush_out(c->pg, deadline, host, &timed_out) != 0)
		return pg_result_error(pool, c->pg, NULL, flags, timed_out, what, err);
	for (;;) {
		if (pg_wait_ready(c->pg, deadline, host, &timed_out) != 0) {
			ret = pg_result_error(pool, c->pg, last, flags, timed_out, what, err);
			PQclear(last);
			/* never reuse a connection with a statement in flight */
			c->broken = true;
			return ret;
		}
		res = PQgetResult(c->pg);
		if (res == NULL)
			break;
		PQclear(last);
		last = res;
	}
	switch (PQresultStatus(last)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
		*res_r = last;
		return PERSIST_OK;
	default:
		ret = pg_result_error(pool, c->pg, last, flags, false, what, err);
		PQclear(last);
		return ret;
	}
}

/* Run statement id on a pooled connection. */
int pg_exec(struct pg_pool *pool, enum pg_stmt id, const struct pg_params *params,
	    unsigned flags, PGresult **res_r, const char *what,
	    struct persist_error *err)
{
	for (int attempt = 0;; attempt++) {
		struct pg_conn *c = NULL;
		int ret = pg_pool_get(pool, &c, err);

		if (ret != PERSIST_OK)
			return ret;
		ret = pg_conn_exec(pool, c, id, params, flags, res_r, what, err);
		bool lost = ret != PERSIST_OK &&
			    (c->broken || PQstatus(c->pg) != CONNECTION_OK);

		pg_pool_put(pool, c);
		/* a read whose connection broke is tried once more */
		if (lost && ret == PERSIST_EUNAVAIL && !(flags & PG_WRITE) && attempt == 0)
			continue;
		return ret;
	}
}
