/*
 * t/lib/log-capture.h - a host log callback for tests that check what the
 * library logged: it keeps every warning and error (up to 16 KiB; later
 * ones are dropped whole), for any thread.
 */
#ifndef PERSIST_T_LOG_CAPTURE_H
#define PERSIST_T_LOG_CAPTURE_H

#include <persist/persist.h>

/* struct persist_options.log: keep message when it is a warning or worse. */
void lc_log(void *ctx, enum persist_log_level level, const char *message);
/* True when something kept contains needle. */
int lc_logged(const char *needle);
/* Forget what was kept. */
void lc_clear(void);

#endif
