/*
 * t/fallback/outage-open.c - the configuration the outage tests' hosts
 * open (see outage-open.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "outage-open.h"

int outage_open(const char *backend, const char *site, persist_log_cb *log,
		persist **p_r, struct persist_error *err)
{
	const char *tmp = getenv("PERSIST_TEST_TMP");
	const char *timeout = getenv("OUTAGE_COMMAND_TIMEOUT");
	char primary[2048], json[4096];
	struct persist_options opts;

	if (timeout == NULL)
		timeout = "1000";
	if (strcmp(backend, "redis") == 0)
		snprintf(primary, sizeof(primary),
			 "\"provider\":\"redis\",\"config\":{\"url\":\"%s\",\"prefix\":\"outage:\","
			 "\"connectTimeout\":300,\"commandTimeout\":%s,\"reconnectMin\":20,"
			 "\"reconnectMax\":200",
			 getenv("REDIS_URL"), timeout);
	else
		snprintf(primary, sizeof(primary),
			 "\"provider\":\"postgres\",\"config\":{\"conninfo\":\"%s\","
			 "\"connectTimeout\":300,\"commandTimeout\":%s",
			 getenv("PG_CONNINFO"), timeout);
	if (site != NULL)
		snprintf(json, sizeof(json),
			 "{\"persistence\":{\"state\":{%s,\"spoolDir\":\"%s/%sspool\","
			 "\"healthInterval\":100},"
			 "\"fallback\":{\"provider\":\"filesystem\",\"config\":{\"root\":\"%s/%sfallback\"}}}}}",
			 primary, tmp, site, tmp, site);
	else
		snprintf(json, sizeof(json), "{\"persistence\":{\"state\":{%s}}}}", primary);
	memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.log = log;
	opts.log_level = PERSIST_LOG_WARNING;
	opts.kinds = PERSIST_KIND_BIT(PERSIST_KIND_STATE);
	return persist_open_json(json, &opts, p_r, err);
}
