/*
 * plugins/postgres/pg-jsonopt.c - reading one typed key of the provider's
 * JSON config object.  Every reader names the key in its error, so a
 * wrong setting is found at once.  (Small on purpose: the same readers
 * are meant to move to a library shared by every plugin.)
 */
#include "pg-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

/* A string setting: copy to *out (replacing any earlier value). */
int pg_opt_string(const struct persist_host *host, const char *key,
		  struct json_object *v, char **out, struct persist_error *err)
{
	if (!json_object_is_type(v, json_type_string))
		return host->error(err, PERSIST_ECONFIG, 0,
				   "postgres provider: setting \"%s\" must be a string",
				   key);
	free(*out);
	*out = strdup(json_object_get_string(v));
	if (*out == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "postgres provider: out of memory");
	return PERSIST_OK;
}

/* An integer setting within [min, max]. */
int pg_opt_int(const struct persist_host *host, const char *key,
	       struct json_object *v, int64_t min, int64_t max, int *out,
	       struct persist_error *err)
{
	int64_t n;

	if (!json_object_is_type(v, json_type_int))
		return host->error(err, PERSIST_ECONFIG, 0,
				   "postgres provider: setting \"%s\" must be an integer "
				   "from %lld to %lld",
				   key, (long long)min, (long long)max);
	n = json_object_get_int64(v);
	if (n < min || n > max)
		return host->error(err, PERSIST_ECONFIG, 0,
				   "postgres provider: setting \"%s\" is %lld, "
				   "outside %lld to %lld",
				   key, (long long)n, (long long)min, (long long)max);
	*out = (int)n;
	return PERSIST_OK;
}
