/*
 * t/batch/test-once-pg.c - exactly-once flushes on PostgreSQL under a real
 * fault: the answer to a flush's COMMIT is lost after the transaction
 * committed.  The server waits at COMMIT for a synchronous standby that
 * does not exist (synchronous_standby_names names a ghost, the handle's
 * sessions ask for synchronous_commit = on); another session terminates
 * the waiting backend with pg_terminate_backend, so the transaction stays
 * committed locally while the client sees its connection die
 * (PERSIST_EUNCERTAIN).  The retry, with the same batch id, must find it
 * applied before; at the end every round's increment and record is there
 * exactly once and no uncertain batch is left unsettled.
 *
 * Run by test-once-pg.sh (PG_CONNINFO of a private server configured so).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libpq-fe.h>
#include "once-util.h"

static const char *conninfo;
static volatile int stop_terminator;

/* The control session, for the whole run: every 20 ms, terminate the
   backends waiting for the standby; how many it terminated, to *arg. */
static void *terminator(void *arg)
{
	PGconn *ctl = PQconnectdb(conninfo);
	int *killed = arg;

	if (PQstatus(ctl) != CONNECTION_OK) {
		fprintf(stderr, "control session: %s", PQerrorMessage(ctl));
		PQfinish(ctl);
		return NULL;
	}
	while (!__atomic_load_n(&stop_terminator, __ATOMIC_RELAXED)) {
		/* the waiters first (OFFSET 0 keeps the planner from calling
		   pg_terminate_backend on other rows), then their end */
		PGresult *res = PQexec(ctl, "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
				       "FROM (SELECT pid FROM pg_stat_activity WHERE wait_event = "
				       "'SyncRep' AND pid <> pg_backend_pid() OFFSET 0) w");

		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
			__atomic_add_fetch(killed, atoi(PQgetvalue(res, 0, 0)), __ATOMIC_RELAXED);
		PQclear(res);
		ou_sleep_ms(20);
	}
	PQfinish(ctl);
	return NULL;
}

int main(void)
{
	int rounds = ou_quick() ? 4 : 12, uncertain = 0, status = 0, killed = 0;
	struct persist_error err;
	char state[2048], coll[64];
	persist *p, *setup;
	pthread_t t;

	conninfo = getenv("PG_CONNINFO");
	if (conninfo == NULL) {
		fprintf(stderr, "test-once-pg: PG_CONNINFO is not set\n");
		return 99;
	}
	snprintf(coll, sizeof(coll), "once%ld", (long)getpid());
	/* the schema, created by a session that does not wait for a standby */
	snprintf(state, sizeof(state),
		 "{\"provider\":\"postgres\",\"config\":{\"conninfo\":\"%s\"}}", conninfo);
	setup = ou_open(state);
	if (persist_state_set(setup, coll, "setup", "1", 1, 0, &err) != PERSIST_OK) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return 1;
	}
	persist_close(setup, NULL);
	snprintf(state, sizeof(state),
		 "{\"provider\":\"postgres\",\"config\":{\"conninfo\":\"%s "
		 "options='-c synchronous_commit=on'\",\"commandTimeout\":20000,"
		 "\"batchInterval\":60000}}", conninfo);
	p = ou_open(state);
	if (pthread_create(&t, NULL, terminator, &killed) != 0)
		return 1;
	for (int i = 0; i < rounds; i++) {
		int ret;

		ou_queue(p, coll, i);
		ret = persist_state_flush(p, &err);
		if (ret == PERSIST_EUNCERTAIN)
			uncertain++;
		else
			printf("round %d: the flush whose COMMIT answer was lost answered %s%s%s\n",
			       i, persist_strerror(ret), ret != PERSIST_OK ? ": " : "",
			       ret != PERSIST_OK ? err.msg : "");
		/* a retry that committed again would wait, be terminated and
		   stay uncertain: ou_flush_settle gives up and the test fails */
		ou_flush_settle(p);
	}
	__atomic_store_n(&stop_terminator, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	printf("postgres: %d rounds, %d flushes with a lost COMMIT answer were uncertain "
	       "(%d backends terminated)\n", rounds, uncertain, killed);
	status |= ou_verify(p, coll, rounds);
	status |= ou_report(p, "postgres", uncertain > 0 ? uncertain : 1);
	if (persist_close(p, &err) != PERSIST_OK) {
		fprintf(stderr, "close: %s\n", err.msg);
		status = 1;
	}
	printf("%s\n", status == 0 ? "exactly once: every round applied once, 0 uncertain left" :
	       "FAILED");
	return status;
}
