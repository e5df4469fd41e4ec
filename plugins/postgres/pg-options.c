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
 *                            (and of deletion times older than a day;
 *                            default 1000)
 * The settings are read by the plugin support library from the table
 * below: an unknown key, a value of the wrong type or out of range is
 * PERSIST_ECONFIG naming the key; both conninfo settings are secret (their
 * values are never quoted).  The conninfo is never printed: messages use its display form
 * without the password (pg-mask.c).
 */
#include "pg-private.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The settings as the config reader fills them (then moved to pg_conf). */
struct pg_settings {
	char *conninfo;
	char *replica_conninfo;
	char *schema;
	int64_t pool_size;
	int64_t connect_timeout_ms;
	int64_t command_timeout_ms;
	int64_t sweep_interval_ms;
};

#define PG_SETTING(field) offsetof(struct pg_settings, field)

static const struct pc_setting pg_settings_table[] = {
	{ .name = "conninfo", .type = PC_SETTING_STRING,
	  .offset = PG_SETTING(conninfo), .flags = PC_SETTING_SECRET,
	  .def_str = "" },
	{ .name = "replicaConninfo", .type = PC_SETTING_STRING,
	  .offset = PG_SETTING(replica_conninfo), .flags = PC_SETTING_SECRET },
	{ .name = "schema", .type = PC_SETTING_STRING,
	  .offset = PG_SETTING(schema), .min = 1, .max = PG_SCHEMA_MAX,
	  .def_str = PG_DEFAULT_SCHEMA },
	{ .name = "poolSize", .type = PC_SETTING_INT64,
	  .offset = PG_SETTING(pool_size), .min = 1, .max = 1024,
	  .def_int = PG_DEFAULT_POOL_SIZE },
	{ .name = "connectTimeout", .type = PC_SETTING_INT64,
	  .offset = PG_SETTING(connect_timeout_ms), .min = 1, .max = 3600000,
	  .def_int = PG_DEFAULT_CONNECT_TIMEOUT },
	{ .name = "commandTimeout", .type = PC_SETTING_INT64,
	  .offset = PG_SETTING(command_timeout_ms), .min = 1, .max = 3600000,
	  .def_int = PG_DEFAULT_COMMAND_TIMEOUT },
	{ .name = "sweepInterval", .type = PC_SETTING_INT64,
	  .offset = PG_SETTING(sweep_interval_ms), .min = 10, .max = 86400000,
	  .def_int = PG_DEFAULT_SWEEP_INTERVAL },
	{ .name = NULL }
};

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

/* Parse the config JSON text into conf (defaults for what is absent). */
int pg_conf_parse(const struct persist_host *host, const char *json,
		  struct pg_conf *conf, struct persist_error *err)
{
	struct pg_settings set;
	int ret;

	memset(conf, 0, sizeof(*conf));
	ret = pc_config_read(host, "postgres", json, pg_settings_table, &set, err);
	if (ret != PERSIST_OK)
		return ret;
	/* The ranges in the table keep every number within an int. */
	conf->conninfo = set.conninfo;
	conf->replica_conninfo = set.replica_conninfo;
	conf->schema = set.schema;
	conf->pool_size = (unsigned)set.pool_size;
	conf->connect_timeout_ms = (int)set.connect_timeout_ms;
	conf->command_timeout_ms = (int)set.command_timeout_ms;
	conf->sweep_interval_ms = (int)set.sweep_interval_ms;
	ret = pg_conninfo_check(host, "conninfo", conf->conninfo, &conf->display, err);
	if (ret == PERSIST_OK && conf->replica_conninfo != NULL)
		ret = pg_conninfo_check(host, "replicaConninfo", conf->replica_conninfo,
					&conf->replica_display, err);
	if (ret != PERSIST_OK)
		pg_conf_free(conf);
	return ret;
}
