/*
 * plugins/redis/redis-sentinel-conf.c - the "sentinels" setting: each
 * "host:port" (or "[v6]:port") entry read into an address, the checks
 * that tie sentinels, masterName and the sentinel credentials together,
 * and the display name messages use for a master found through sentinels.
 * Kept apart from redis-sentinel.c (which talks to the sentinels) so the
 * settings reader links without a connection (the fuzz targets use it).
 */
#include "redis-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse "host:port" or "[v6]:port" into a; -1 when malformed. */
static int addr_parse(const char *s, struct redis_addr *a)
{
	const char *colon, *h = s, *h_end;
	char *end;
	long port;

	if (s[0] == '[') {
		h = s + 1;
		h_end = strchr(h, ']');
		if (h_end == NULL || h_end[1] != ':')
			return -1;
		colon = h_end + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
			return -1;
		h_end = colon;
	}
	if (h_end == h || (size_t)(h_end - h) >= REDIS_HOST_MAX)
		return -1;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 ||
	    port < 1 || port > 65535)
		return -1;
	a->host = strndup(h, (size_t)(h_end - h));
	a->port = (int)port;
	return a->host != NULL ? 0 : -2;
}

/* Read the "sentinels" list into conf (with the cross-checks of the
   sentinel settings) and make the display name of the master. */
int redis_sentinel_conf(const struct persist_host *host, char **list,
			struct redis_conf *conf, struct persist_error *err)
{
	size_t n = 0, dlen, used;
	char *display;

	if (list == NULL) {
		if (conf->master_name != NULL)
			return host->error(err, PERSIST_ECONFIG, 0,
					   "setting \"masterName\" needs \"sentinels\"\n"
					   "Name the sentinels that monitor the master, "
					   "or remove \"masterName\".");
		if (conf->sentinel_password != NULL ||
		    conf->sentinel_username != NULL)
			return host->error(err, PERSIST_ECONFIG, 0,
					   "sentinel credentials need \"sentinels\"");
		return PERSIST_OK;
	}
	while (list[n] != NULL)
		n++;
	if (n == 0)
		return host->error(err, PERSIST_ECONFIG, 0,
				   "setting \"sentinels\" is an empty list\n"
				   "Name at least one sentinel as \"host:port\".");
	if (conf->master_name == NULL)
		return host->error(err, PERSIST_ECONFIG, 0,
				   "setting \"sentinels\" needs \"masterName\"\n"
				   "The sentinels know the master by the name it "
				   "is monitored under.");
	if (conf->unix_socket || conf->tls)
		return host->error(err, PERSIST_ECONFIG, 0,
				   "setting \"sentinels\" needs a redis:// url\n"
				   "With sentinels the url gives only the database "
				   "and credentials; TLS and unix sockets are not "
				   "supported with sentinels.");
	if (conf->sentinel_username != NULL && conf->sentinel_password == NULL)
		return host->error(err, PERSIST_ECONFIG, 0,
				   "setting \"sentinelUsername\" needs "
				   "\"sentinelPassword\"");
	conf->sentinels = calloc(n, sizeof(*conf->sentinels));
	if (conf->sentinels == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	dlen = strlen(conf->master_name) + 64;
	for (size_t i = 0; i < n; i++) {
		int r = addr_parse(list[i], &conf->sentinels[i]);

		if (r == -2)
			return host->error(err, PERSIST_ENOMEM, ENOMEM,
					   "out of memory");
		if (r < 0)
			return host->error(err, PERSIST_ECONFIG, 0,
					   "setting \"sentinels\": entry %zu is not "
					   "host:port\nThe config gives \"%.64s\".",
					   i + 1, list[i]);
		conf->n_sentinels = i + 1;
		dlen += strlen(list[i]) + 2;
	}
	/* messages say: redis master "m" db 0 (sentinels a:1, b:2) */
	display = malloc(dlen);
	if (display == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	used = (size_t)snprintf(display, dlen, "master \"%s\" db %d (sentinels ",
				conf->master_name, conf->db);
	for (size_t i = 0; i < n && used < dlen; i++)
		used += (size_t)snprintf(display + used, dlen - used, "%s%s",
					 i > 0 ? ", " : "", list[i]);
	if (used < dlen)
		snprintf(display + used, dlen - used, ")");
	free(conf->display);
	conf->display = display;
	return PERSIST_OK;
}
