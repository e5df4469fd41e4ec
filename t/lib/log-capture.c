/*
 * t/lib/log-capture.c - the host log callback of the tests that check
 * what was logged (see log-capture.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "log-capture.h"

static pthread_mutex_t lc_lock = PTHREAD_MUTEX_INITIALIZER;
static char lc_text[16384];

void lc_log(void *ctx, enum persist_log_level level, const char *message)
{
	size_t used;

	(void)ctx;
	if (level < PERSIST_LOG_WARNING)
		return;
	pthread_mutex_lock(&lc_lock);
	used = strlen(lc_text);
	if (used + strlen(message) + 2 < sizeof(lc_text))
		snprintf(lc_text + used, sizeof(lc_text) - used, "%s\n", message);
	pthread_mutex_unlock(&lc_lock);
}

int lc_logged(const char *needle)
{
	int found;

	pthread_mutex_lock(&lc_lock);
	found = strstr(lc_text, needle) != NULL;
	pthread_mutex_unlock(&lc_lock);
	return found;
}

void lc_clear(void)
{
	pthread_mutex_lock(&lc_lock);
	lc_text[0] = '\0';
	pthread_mutex_unlock(&lc_lock);
}
