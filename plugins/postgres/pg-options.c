/*
 * plugins/postgres/pg-options.c - the postgres provider's config object
 * (JSON text handed to open) parsed with json-c into struct pg_conf.
 *
 * Settings (all optional):
 *   conninfo         string  anything libpq accepts: "host=... dbname=..."
 *                            or a postgresql:// URI, several hosts,
 *                            target_session_attrs, sslmode, ...; default ""
 *                            (libpq's defaults and PG* environment)
 *   replicaConninfo  string  a streaming replica for configuration reads
 *   schema           string  schema of the tables, default "persist" (at
 *                            most 60 bytes; quoted as an identifier)
 *   poolSize         integer connections a store may hold open (default 8)
 *   connectTimeout   integer ms to establish a connection (default 2000)
 *   commandTimeout   integer ms a statement may take (statement_timeout
 *                            on the server, and the wait of the client;
 *                            default 5000)
 *   sweepInterval    integer ms between removals of expired rows
 *                            (default 1000)
 * An unknown key or a value of the wrong type is PERSIST_ECONFIG naming
 * the key.  The conninfo is never printed: messages use its display form
 * without the password (pg-mask.c).
 */
#include "pg-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

/* Free a string that may hold a secret. */
static void free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Free what pg_conf_parse allocated. */
void pg_conf_free(struct pg_conf *conf)
{
	free_secret(conf->conninfo);
	free_secret(conf->replica_conninfo);
	free(conf->display);
	free(conf->replica_display);
	free(conf->schema);
	memset(conf, 0, sizeof(*conf));
}

/* Apply one key of the config object to conf. */
static int opt_apply(const struct persist_host *host, const char *key,
		     struct json_object *v, struct pg_conf *conf,
		     struct persist_error *err)
{
	int n, ret;

	if (strcmp(key, "conninfo") == 0)
		return pg_opt_string(host, key, v, &conf->conninfo, err);
	if (strcmp(key, "replicaConninfo") == 0)
		return pg_opt_string(host, key, v, &conf->replica_conninfo, err);
	if (strcmp(key, "schema") == 0) {
		ret = pg_opt_string(host, key, v, &conf->schema, err);
		if (ret == PERSIST_OK &&
		    (conf->schema[0] == '\0' || strlen(conf->schema) > PG_SCHEMA_MAX))
			return host->error(err, PERSIST_ECONFIG, 0,
					   "postgres provider: setting \"schema\" must be "
					   "1 to %d bytes", PG_SCHEMA_MAX);
		return ret;
	}
	if (strcmp(key, "connectTimeout") == 0)
		return pg_opt_int(host, key, v, 1, 3600000, &conf->connect_timeout_ms, err);
	if (strcmp(key, "commandTimeout") == 0)
		return pg_opt_int(host, key, v, 1, 3600000, &conf->command_timeout_ms, err);
	if (strcmp(key, "sweepInterval") == 0)
		return pg_opt_int(host, key, v, 10, 86400000, &conf->sweep_interval_ms, err);
	if (strcmp(key, "poolSize") == 0) {
		ret = pg_opt_int(host, key, v, 1, 1024, &n, err);
		if (ret == PERSIST_OK)
			conf->pool_size = (unsigned)n;
		return ret;
	}
	return host->error(err, PERSIST_ECONFIG, 0,
			   "postgres provider: unknown setting \"%s\"\n"
			   "Known settings: conninfo, replicaConninfo, schema, poolSize, "
			   "connectTimeout, commandTimeout, sweepInterval.", key);
}

/* Parse the config JSON text into conf (defaults for what is absent). */
int pg_conf_parse(const struct persist_host *host, const char *json,
		  struct pg_conf *conf, struct persist_error *err)
{
	struct json_tokener *tok;
	struct json_object *root;
	enum json_tokener_error jerr;
	int ret = PERSIST_OK;

	memset(conf, 0, sizeof(*conf));
	conf->connect_timeout_ms = PG_DEFAULT_CONNECT_TIMEOUT;
	conf->command_timeout_ms = PG_DEFAULT_COMMAND_TIMEOUT;
	conf->pool_size = PG_DEFAULT_POOL_SIZE;
	conf->sweep_interval_ms = PG_DEFAULT_SWEEP_INTERVAL;
	if (json == NULL)
		json = "{}";
	tok = json_tokener_new();
	if (tok == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "postgres provider: out of memory");
	root = json_tokener_parse_ex(tok, json, (int)strlen(json));
	jerr = json_tokener_get_error(tok);
	if (root == NULL || jerr != json_tokener_success ||
	    tok->char_offset != (int)strlen(json)) {
		ret = host->error(err, PERSIST_ECONFIG, 0,
				  "postgres provider: config is not valid JSON: %s",
				  jerr != json_tokener_success ?
				  json_tokener_error_desc(jerr) : "trailing text");
		json_tokener_free(tok);
		json_object_put(root);
		return ret;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return host->error(err, PERSIST_ECONFIG, 0,
				   "postgres provider: config must be a JSON object");
	}
	{
		json_object_object_foreach(root, key, val) {
			ret = opt_apply(host, key, val, conf, err);
			if (ret != PERSIST_OK)
				break;
		}
	}
	json_object_put(root);
	if (ret == PERSIST_OK && conf->conninfo == NULL &&
	    (conf->conninfo = strdup("")) == NULL)
		ret = host->error(err, PERSIST_ENOMEM, ENOMEM,
				  "postgres provider: out of memory");
	if (ret == PERSIST_OK && conf->schema == NULL &&
	    (conf->schema = strdup(PG_DEFAULT_SCHEMA)) == NULL)
		ret = host->error(err, PERSIST_ENOMEM, ENOMEM,
				  "postgres provider: out of memory");
	if (ret == PERSIST_OK)
		ret = pg_conninfo_check(host, "conninfo", conf->conninfo,
					&conf->display, err);
	if (ret == PERSIST_OK && conf->replica_conninfo != NULL)
		ret = pg_conninfo_check(host, "replicaConninfo", conf->replica_conninfo,
					&conf->replica_display, err);
	if (ret != PERSIST_OK)
		pg_conf_free(conf);
	return ret;
}
