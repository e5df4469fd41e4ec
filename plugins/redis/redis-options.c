/*
 * plugins/redis/redis-options.c - the redis provider's config object
 * (JSON text handed to open) read into struct redis_conf.
 *
 * Settings (all optional):
 *   url             string  redis://..., rediss://... or unix:///... (see
 *                           redis-url.c); default redis://127.0.0.1:6379/0
 *   username        string  ACL user (AUTH user password); overrides the url's
 *   password        string  password; overrides the url's ("" = none)
 *   prefix          string  prefix of every Redis key and channel, default
 *                           "persist:" (at most 256 bytes)
 *   connectTimeout  integer ms to establish a connection (default 1000)
 *   commandTimeout  integer ms to wait for a reply (default 3000)
 *   keepalive       boolean TCP keepalive on every connection (default true)
 *   poolSize        integer connections a store may hold open (default 8)
 *   reconnectMin    integer ms: first backoff step after a failed connect (50)
 *   reconnectMax    integer ms: longest backoff step (2000)
 *   tlsCACert, tlsCert, tlsKey, tlsServerName
 *                   strings for rediss:// (CA bundle, client certificate
 *                           and key, SNI name)
 *   sentinels       list    "host:port" of Redis Sentinels: the master is
 *                           the one they name for masterName (the url then
 *                           gives only the database and credentials)
 *   masterName      string  the name the sentinels monitor the master by
 *   sentinelUsername, sentinelPassword
 *                   strings AUTH to the sentinels (the password is secret)
 *   replicaAcks     integer every write waits (WAIT) until this many
 *                           replicas have it (default 0: no wait); one not
 *                           confirmed answers PERSIST_EUNCERTAIN
 *   waitTimeout     integer ms the WAIT may take (default 1000; less than
 *                           commandTimeout)
 * They are read by the plugin support library's config reader
 * (pc_config_read): an unknown key, a value of the wrong type or out of
 * range, a string with a NUL byte is PERSIST_ECONFIG naming the key; url
 * and password are never quoted.  The core has already removed the keys it
 * owns (cacheTTL, batchInterval, ...).
 */
#include "redis-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>

/* Free what redis_conf_parse/redis_url_parse allocated. */
void redis_conf_free(struct redis_conf *conf)
{
	free(conf->host);
	free(conf->path);
	free(conf->username);
	if (conf->password != NULL) {
		explicit_bzero(conf->password, strlen(conf->password));
		free(conf->password);
	}
	free(conf->display);
	free(conf->prefix);
	free(conf->tls_ca);
	free(conf->tls_cert);
	free(conf->tls_key);
	free(conf->tls_server_name);
	for (size_t i = 0; i < conf->n_sentinels; i++)
		free(conf->sentinels[i].host);
	free(conf->sentinels);
	free(conf->master_name);
	free(conf->sentinel_username);
	if (conf->sentinel_password != NULL) {
		explicit_bzero(conf->sentinel_password,
			       strlen(conf->sentinel_password));
		free(conf->sentinel_password);
	}
	memset(conf, 0, sizeof(*conf));
}

/* What the config reader fills; redis_conf_parse moves it into the conf. */
struct redis_settings {
	char *url, *username, *password, *prefix;
	int64_t connect_timeout, command_timeout, pool_size;
	int64_t reconnect_min, reconnect_max;
	bool keepalive;
	char *tls_ca, *tls_cert, *tls_key, *tls_server_name;
	char **sentinels;
	char *master_name, *sentinel_username, *sentinel_password;
	int64_t replica_acks, wait_timeout;
};

#define REDIS_MS_MAX 3600000   /* the longest timeout or backoff step: 1 h */
#define RS(field) offsetof(struct redis_settings, field)
#define RS_STRING(key, field, flags_) \
	{ .name = key, .type = PC_SETTING_STRING, .offset = RS(field), \
	  .flags = (flags_), .min = 0, .max = 0 }
#define RS_MS(key, field, def) \
	{ .name = key, .type = PC_SETTING_INT64, .offset = RS(field), \
	  .min = 1, .max = REDIS_MS_MAX, .def_int = (def) }

/* The settings (see the top of this file).  url and password are secret:
   a message never quotes them. */
static const struct pc_setting redis_settings_table[] = {
	{ .name = "url", .type = PC_SETTING_STRING, .offset = RS(url),
	  .flags = PC_SETTING_SECRET, .min = 1, .max = 0,
	  .def_str = REDIS_DEFAULT_URL },
	RS_STRING("username", username, 0),
	RS_STRING("password", password, PC_SETTING_SECRET),
	{ .name = "prefix", .type = PC_SETTING_STRING, .offset = RS(prefix),
	  .min = 0, .max = REDIS_PREFIX_MAX, .def_str = REDIS_DEFAULT_PREFIX },
	RS_MS("connectTimeout", connect_timeout, REDIS_DEFAULT_CONNECT_TIMEOUT),
	RS_MS("commandTimeout", command_timeout, REDIS_DEFAULT_COMMAND_TIMEOUT),
	{ .name = "keepalive", .type = PC_SETTING_BOOL, .offset = RS(keepalive),
	  .def_int = 1 },
	{ .name = "poolSize", .type = PC_SETTING_INT64, .offset = RS(pool_size),
	  .min = 1, .max = 1024, .def_int = REDIS_DEFAULT_POOL_SIZE },
	RS_MS("reconnectMin", reconnect_min, REDIS_DEFAULT_RECONNECT_MIN),
	RS_MS("reconnectMax", reconnect_max, REDIS_DEFAULT_RECONNECT_MAX),
	RS_STRING("tlsCACert", tls_ca, 0),
	RS_STRING("tlsCert", tls_cert, 0),
	RS_STRING("tlsKey", tls_key, 0),
	RS_STRING("tlsServerName", tls_server_name, 0),
	{ .name = "sentinels", .type = PC_SETTING_STRINGS,
	  .offset = RS(sentinels), .min = 3, .max = REDIS_HOST_MAX + 6 },
	{ .name = "masterName", .type = PC_SETTING_STRING,
	  .offset = RS(master_name), .min = 1, .max = 256 },
	RS_STRING("sentinelUsername", sentinel_username, 0),
	RS_STRING("sentinelPassword", sentinel_password, PC_SETTING_SECRET),
	{ .name = "replicaAcks", .type = PC_SETTING_INT64,
	  .offset = RS(replica_acks), .min = 0, .max = 1000, .def_int = 0 },
	RS_MS("waitTimeout", wait_timeout, REDIS_DEFAULT_WAIT_TIMEOUT),
	{ .name = NULL }
};

/* Take *from (NULL when "" or absent: "none"), leaving NULL behind. */
static char *take_nonempty(char **from)
{
	char *s = *from;

	*from = NULL;
	if (s != NULL && s[0] == '\0') {
		free(s);
		return NULL;
	}
	return s;
}

/* Move a string setting into the conf, leaving NULL behind. */
static char *take(char **from)
{
	char *s = *from;

	*from = NULL;
	return s;
}

/* Cross-checks once every key is in: credentials, TLS, backoff bounds. */
static int conf_check(const struct persist_host *host, struct redis_conf *conf,
		      struct persist_error *err)
{
	bool tls_opts = conf->tls_ca != NULL || conf->tls_cert != NULL ||
			conf->tls_key != NULL || conf->tls_server_name != NULL;

	if (conf->username != NULL && conf->password == NULL)
		return host->error(err, PERSIST_ECONFIG, 0,
				   "setting \"username\" needs a password\n"
				   "Give \"password\" or put user:password@ in the url.");
	if (tls_opts && !conf->tls)
		return host->error(err, PERSIST_ECONFIG, 0,
				   "tls settings need a rediss:// url");
	if ((conf->tls_cert == NULL) != (conf->tls_key == NULL))
		return host->error(err, PERSIST_ECONFIG, 0,
				   "settings \"tlsCert\" and \"tlsKey\" "
				   "go together");
#ifndef HAVE_HIREDIS_SSL
	if (conf->tls)
		return host->error(err, PERSIST_ENOTSUP, 0,
				   "TLS (rediss://) is not supported by this build\n"
				   "The plugin was built against a hiredis without hiredis_ssl "
				   "(TLS needs hiredis 1.0 or later); use redis:// or rebuild.");
#endif
	if (conf->replica_acks > 0 &&
	    conf->wait_timeout_ms >= conf->command_timeout_ms)
		return host->error(err, PERSIST_ECONFIG, 0,
				   "setting \"waitTimeout\" (%d) must be less "
				   "than \"commandTimeout\" (%d)\n"
				   "A write waits for its replicas within one "
				   "command's time.", conf->wait_timeout_ms,
				   conf->command_timeout_ms);
	if (conf->reconnect_min_ms > conf->reconnect_max_ms)
		return host->error(err, PERSIST_ECONFIG, 0,
				   "setting \"reconnectMin\" (%d) is larger "
				   "than \"reconnectMax\" (%d)",
				   conf->reconnect_min_ms, conf->reconnect_max_ms);
	return PERSIST_OK;
}

/* Parse the config JSON text into conf (defaults for what is absent). */
int redis_conf_parse(const struct persist_host *host, const char *json,
		     struct redis_conf *conf, struct persist_error *err)
{
	struct redis_settings rs;
	int ret;

	memset(conf, 0, sizeof(*conf));
	ret = pc_config_read(host, "redis", json, redis_settings_table, &rs, err);
	if (ret != PERSIST_OK)
		return ret;
	conf->connect_timeout_ms = (int)rs.connect_timeout;
	conf->command_timeout_ms = (int)rs.command_timeout;
	conf->keepalive = rs.keepalive;
	conf->pool_size = (unsigned)rs.pool_size;
	conf->reconnect_min_ms = (int)rs.reconnect_min;
	conf->reconnect_max_ms = (int)rs.reconnect_max;
	conf->prefix = take(&rs.prefix);
	conf->tls_ca = take(&rs.tls_ca);
	conf->tls_cert = take(&rs.tls_cert);
	conf->tls_key = take(&rs.tls_key);
	conf->tls_server_name = take(&rs.tls_server_name);
	conf->master_name = take(&rs.master_name);
	conf->sentinel_username = take_nonempty(&rs.sentinel_username);
	conf->sentinel_password = take_nonempty(&rs.sentinel_password);
	conf->replica_acks = (int)rs.replica_acks;
	conf->wait_timeout_ms = (int)rs.wait_timeout;

	ret = redis_url_parse(host, rs.url, conf, err);
	/* "username" and "password" override the url's; "" means none */
	if (ret == PERSIST_OK && rs.username != NULL) {
		free(conf->username);
		conf->username = take_nonempty(&rs.username);
	}
	if (ret == PERSIST_OK && rs.password != NULL) {
		if (conf->password != NULL) {
			explicit_bzero(conf->password, strlen(conf->password));
			free(conf->password);
		}
		conf->password = take_nonempty(&rs.password);
	}
	if (ret == PERSIST_OK)
		ret = redis_sentinel_conf(host, rs.sentinels, conf, err);
	if (ret == PERSIST_OK)
		ret = conf_check(host, conf, err);
	pc_config_free(redis_settings_table, &rs);   /* wipes url and password */
	if (ret != PERSIST_OK)
		redis_conf_free(conf);
	return ret;
}
