/*
 * t/batch/test-once-redis.c - exactly-once flushes on redis under a real
 * fault: the server stalls (DEBUG SLEEP from a second connection) while a
 * flush's script is on its way, the client gives up after its
 * commandTimeout (PERSIST_EUNCERTAIN), and the server applies the script
 * when it wakes.  The retry, with the same batch id, must find it applied
 * before; at the end every round's increment and record is there exactly
 * once and no uncertain batch is left unsettled.
 *
 * Run by test-once-redis.sh (REDIS_URL and REDIS_PORT of a private server
 * started with the DEBUG command enabled).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <hiredis/hiredis.h>
#include "once-util.h"

/* Send DEBUG SLEEP on ctl without waiting for its answer. */
static void stall_server(redisContext *ctl, const char *seconds)
{
	int done = 0;

	if (redisAppendCommand(ctl, "DEBUG SLEEP %s", seconds) != REDIS_OK)
		goto fail;
	while (!done)
		if (redisBufferWrite(ctl, &done) != REDIS_OK)
			goto fail;
	return;
fail:
	fprintf(stderr, "control connection: %s\n", ctl->errstr);
	exit(1);
}

int main(void)
{
	const char *url = getenv("REDIS_URL"), *port = getenv("REDIS_PORT");
	int rounds = ou_quick() ? 4 : 15, uncertain = 0, status = 0;
	struct persist_error err;
	char state[1024], coll[64];
	redisContext *ctl;
	redisReply *reply;
	persist *p;

	if (url == NULL || port == NULL) {
		fprintf(stderr, "test-once-redis: REDIS_URL and REDIS_PORT are not set\n");
		return 99;
	}
	snprintf(coll, sizeof(coll), "once%ld", (long)getpid());
	snprintf(state, sizeof(state),
		 "{\"provider\":\"redis\",\"config\":{\"url\":\"%s\",\"prefix\":\"once:\","
		 "\"commandTimeout\":150,\"batchInterval\":60000}}", url);
	p = ou_open(state);
	ctl = redisConnect("127.0.0.1", atoi(port));
	if (ctl == NULL || ctl->err) {
		fprintf(stderr, "cannot connect the control connection\n");
		return 1;
	}
	for (int i = 0; i < rounds; i++) {
		int ret;

		ou_queue(p, coll, i);
		stall_server(ctl, "0.6");
		ou_sleep_ms(50);   /* the server is asleep now */
		ret = persist_state_flush(p, &err);
		if (ret == PERSIST_EUNCERTAIN)
			uncertain++;
		else
			printf("round %d: the stalled flush answered %s%s%s\n", i,
			       persist_strerror(ret), ret != PERSIST_OK ? ": " : "",
			       ret != PERSIST_OK ? err.msg : "");
		/* the server wakes, applies what it had read, answers */
		if (redisGetReply(ctl, (void **)&reply) != REDIS_OK) {
			fprintf(stderr, "control connection: %s\n", ctl->errstr);
			return 1;
		}
		freeReplyObject(reply);
		ou_flush_settle(p);
	}
	printf("redis: %d rounds, %d stalled flushes answered uncertain\n", rounds, uncertain);
	status |= ou_verify(p, coll, rounds);
	status |= ou_report(p, "redis", uncertain > 0 ? uncertain : 1);
	if (persist_close(p, &err) != PERSIST_OK) {
		fprintf(stderr, "close: %s\n", err.msg);
		status = 1;
	}
	redisFree(ctl);
	printf("%s\n", status == 0 ? "exactly once: every round applied once, 0 uncertain left" :
	       "FAILED");
	return status;
}
