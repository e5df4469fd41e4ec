/*
 * t/batch/once-util.h - what the exactly-once fault tests share
 * (t/batch/test-once-redis.c, t/batch/test-once-pg.c) and the crash test
 * host (t/batch/crash-host.c): a handle on a state
 * provider with batching on, one round of queued writes, the check that
 * every round landed exactly once, and the report of the batcher's
 * uncertain flushes.
 */
#ifndef ONCE_UTIL_H
#define ONCE_UTIL_H

#include <stdint.h>
#include <persist/persist.h>

/* Open a handle whose state provider is state_json (a provider object);
   configuration and sessions in memory.  Exits 1 on failure. */
persist *ou_open(const char *state_json);
/* Queue round i: an increment of coll/n by 1 and the record {"i":i}. */
void ou_queue(persist *p, const char *coll, int i);
/* Flush until it answers OK (50 tries 100 ms apart, else exit 1); the
   number of failed tries. */
int ou_flush_settle(persist *p);
/* The rounds' writes are there exactly once: coll/n == rounds and the
   log holds {"i":0} .. {"i":rounds-1}, each once.  0, or 1 with the
   difference printed. */
int ou_verify(persist *p, const char *coll, int rounds);
/* Print the batcher's counters of uncertain batches and check them:
   exactly-once on, every uncertain batch settled by a retry, at least
   `want_uncertain` of them.  0, or 1 with the reason printed. */
int ou_report(persist *p, const char *what, int want_uncertain);
/* PERSIST_TEST_QUICK set: few rounds. */
int ou_quick(void);
/* Sleep ms milliseconds. */
void ou_sleep_ms(long ms);

#endif
