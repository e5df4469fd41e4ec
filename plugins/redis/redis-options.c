/*
 * plugins/redis/redis-options.c - the redis provider's config object
 * (JSON text handed to open) parsed with json-c into struct redis_conf.
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
 * An unknown key or a value of the wrong type is PERSIST_ECONFIG naming
 * the key.  The core has already removed the keys it owns (cacheTTL,
 * batchInterval, ...).
 */
#include "redis-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

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
	memset(conf, 0, sizeof(*conf));
}

/* A string setting: copy to *out (replacing any earlier value). */
static int opt_string(const struct persist_host *host, const char *key,
		      struct json_object *v, char **out,
		      struct persist_error *err)
{
	if (!json_object_is_type(v, json_type_string))
		return host->error(err, PERSIST_ECONFIG, 0,
				   "setting \"%s\" must be a string",
				   key);
	if (strlen(json_object_get_string(v)) !=
	    (size_t)json_object_get_string_len(v))
		return host->error(err, PERSIST_ECONFIG, 0,
				   "setting \"%s\" contains a NUL "
				   "character (\\u0000)", key);
	free(*out);
	*out = strdup(json_object_get_string(v));
	if (*out == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory");
	return PERSIST_OK;
}

/* An integer setting within [min, max]. */
static int opt_int(const struct persist_host *host, const char *key,
		   struct json_object *v, int64_t min, int64_t max, int *out,
		   struct persist_error *err)
{
	int64_t n;

	if (!json_object_is_type(v, json_type_int))
		return host->error(err, PERSIST_ECONFIG, 0,
				   "setting \"%s\" must be an integer "
				   "from %lld to %lld",
				   key, (long long)min, (long long)max);
	n = json_object_get_int64(v);
	if (n < min || n > max)
		return host->error(err, PERSIST_ECONFIG, 0,
				   "setting \"%s\" is %lld, "
				   "outside %lld to %lld",
				   key, (long long)n, (long long)min, (long long)max);
	*out = (int)n;
	return PERSIST_OK;
}

/* Apply one key of the config object to conf (url is handled later). */
static int opt_apply(const struct persist_host *host, const char *key,
		     struct json_object *v, struct redis_conf *conf,
		     char **url, char **username, char **password,
		     struct persist_error *err)
{
	int n;
	int ret;

	if (strcmp(key, "url") == 0)
		return opt_string(host, key, v, url, err);
	if (strcmp(key, "username") == 0)
		return opt_string(host, key, v, username, err);
	if (strcmp(key, "password") == 0)
		return opt_string(host, key, v, password, err);
	if (strcmp(key, "prefix") == 0) {
		ret = opt_string(host, key, v, &conf->prefix, err);
		if (ret == PERSIST_OK && strlen(conf->prefix) > REDIS_PREFIX_MAX)
			return host->error(err, PERSIST_ECONFIG, 0,
					   "setting \"prefix\" is longer "
					   "than %d bytes", REDIS_PREFIX_MAX);
		return ret;
	}
	if (strcmp(key, "connectTimeout") == 0)
		return opt_int(host, key, v, 1, 3600000, &conf->connect_timeout_ms, err);
	if (strcmp(key, "commandTimeout") == 0)
		return opt_int(host, key, v, 1, 3600000, &conf->command_timeout_ms, err);
	if (strcmp(key, "reconnectMin") == 0)
		return opt_int(host, key, v, 1, 3600000, &conf->reconnect_min_ms, err);
	if (strcmp(key, "reconnectMax") == 0)
		return opt_int(host, key, v, 1, 3600000, &conf->reconnect_max_ms, err);
	if (strcmp(key, "poolSize") == 0) {
		ret = opt_int(host, key, v, 1, 1024, &n, err);
		if (ret == PERSIST_OK)
			conf->pool_size = (unsigned)n;
		return ret;
	}
	if (strcmp(key, "keepalive") == 0) {
		if (!json_object_is_type(v, json_type_boolean))
			return host->error(err, PERSIST_ECONFIG, 0,
					   "setting \"keepalive\" must be "
					   "true or false");
		conf->keepalive = json_object_get_boolean(v);
		return PERSIST_OK;
	}
	if (strcmp(key, "tlsCACert") == 0)
		return opt_string(host, key, v, &conf->tls_ca, err);
	if (strcmp(key, "tlsCert") == 0)
		return opt_string(host, key, v, &conf->tls_cert, err);
	if (strcmp(key, "tlsKey") == 0)
		return opt_string(host, key, v, &conf->tls_key, err);
	if (strcmp(key, "tlsServerName") == 0)
		return opt_string(host, key, v, &conf->tls_server_name, err);
	return host->error(err, PERSIST_ECONFIG, 0,
			   "unknown setting \"%s\"\n"
			   "Known settings: url, username, password, prefix, "
			   "connectTimeout, commandTimeout, keepalive, poolSize, "
			   "reconnectMin, reconnectMax, tlsCACert, tlsCert, tlsKey, "
			   "tlsServerName.", key);
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
	struct json_tokener *tok;
	struct json_object *root;
	enum json_tokener_error jerr;
	char *url = NULL, *username = NULL, *password = NULL;
	int ret = PERSIST_OK;

	memset(conf, 0, sizeof(*conf));
	conf->connect_timeout_ms = REDIS_DEFAULT_CONNECT_TIMEOUT;
	conf->command_timeout_ms = REDIS_DEFAULT_COMMAND_TIMEOUT;
	conf->keepalive = true;
	conf->pool_size = REDIS_DEFAULT_POOL_SIZE;
	conf->reconnect_min_ms = REDIS_DEFAULT_RECONNECT_MIN;
	conf->reconnect_max_ms = REDIS_DEFAULT_RECONNECT_MAX;

	if (json == NULL)
		json = "{}";
	tok = json_tokener_new();
	if (tok == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory");
	root = json_tokener_parse_ex(tok, json, (int)strlen(json));
	jerr = json_tokener_get_error(tok);
	if (root == NULL || jerr != json_tokener_success ||
	    tok->char_offset != (int)strlen(json)) {
		ret = host->error(err, PERSIST_ECONFIG, 0,
				  "config is not valid JSON: %s",
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
				   "config must be a JSON object");
	}
	{
		json_object_object_foreach(root, key, val) {
			ret = opt_apply(host, key, val, conf, &url, &username,
					&password, err);
			if (ret != PERSIST_OK)
				break;
		}
	}
	json_object_put(root);

	if (ret == PERSIST_OK)
		ret = redis_url_parse(host, url != NULL ? url : REDIS_DEFAULT_URL,
				      conf, err);
	if (ret == PERSIST_OK && username != NULL) {
		free(conf->username);
		conf->username = username[0] != '\0' ? username : NULL;
		if (conf->username == NULL)
			free(username);
		username = NULL;
	}
	if (ret == PERSIST_OK && password != NULL) {
		if (conf->password != NULL) {
			explicit_bzero(conf->password, strlen(conf->password));
			free(conf->password);
		}
		conf->password = password[0] != '\0' ? password : NULL;
		if (conf->password == NULL)
			free(password);
		password = NULL;
	}
	if (ret == PERSIST_OK && conf->prefix == NULL) {
		conf->prefix = strdup(REDIS_DEFAULT_PREFIX);
		if (conf->prefix == NULL)
			ret = host->error(err, PERSIST_ENOMEM, ENOMEM,
					  "out of memory");
	}
	if (ret == PERSIST_OK)
		ret = conf_check(host, conf, err);

	free(url);
	free(username);
	if (password != NULL) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	if (ret != PERSIST_OK)
		redis_conf_free(conf);
	return ret;
}
