/*
 * t/fallback/outage-open.h - how the host processes of the outage tests
 * open their handle: the state provider on the test's real server, with
 * or without a filesystem fallback and a journal.
 */
#ifndef OUTAGE_OPEN_H
#define OUTAGE_OPEN_H

#include <persist/persist.h>

/* Open a state handle on backend ("redis": $REDIS_URL with the key prefix
   "outage:", "postgres": $PG_CONNINFO), with short timeouts
   ($OUTAGE_COMMAND_TIMEOUT ms, default 1000).
     site  NULL: the primary alone; else the fallback's root is
           $PERSIST_TEST_TMP/<site>fallback and its spoolDir
           $PERSIST_TEST_TMP/<site>spool (site "" is the shared one of
           the two hosts of test-outage-host), health checked every 100 ms
     log   warnings and errors go there */
int outage_open(const char *backend, const char *site, persist_log_cb *log,
		persist **p_r, struct persist_error *err);

#endif
