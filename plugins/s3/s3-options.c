/*
 * plugins/s3/s3-options.c - the s3 provider's settings (the JSON "config"
 * object handed to open) read into struct s3_conf.
 *
 * Settings:
 *   bucket            string   required; [A-Za-z0-9._-], 1 to 255 bytes
 *   prefix            string   folder of the documents ("" = bucket root);
 *                              key k is the object PREFIX/k.json
 *   region            string   default $AWS_REGION, $AWS_DEFAULT_REGION,
 *                              else us-east-1
 *   endpoint          string   http:// or https:// origin of an
 *                              S3-compatible store; default
 *                              https://s3.REGION.amazonaws.com
 *   pathStyle         boolean  /bucket/object urls instead of
 *                              bucket.host/object; default: true when an
 *                              endpoint is given, else false
 *   accessKeyId, secretAccessKey, sessionToken
 *                     strings  default $AWS_ACCESS_KEY_ID,
 *                              $AWS_SECRET_ACCESS_KEY, $AWS_SESSION_TOKEN;
 *                              the secret and the token are never quoted
 *   connectTimeout    integer  ms to connect (default 3000)
 *   requestTimeout    integer  ms for a whole request (default 10000)
 *   retries           integer  extra attempts after a 5xx, a 503 SlowDown
 *                              or a refused connection (default 3)
 *   retryDelay        integer  ms of the first backoff step, doubled at
 *                              each attempt, with jitter (default 100)
 *   pollInterval      integer  ms between two looks for changes (default
 *                              10000; 0: no polling, only the store's own
 *                              writes are notified)
 *   conditionalWrites boolean  send if-match as If-Match on PUT and DELETE
 *                              (default true; off for stores that ignore
 *                              it: the check is then not atomic)
 */
#define _GNU_SOURCE 1 /* vasprintf */
#include "s3-private.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#define S3_MS_MAX 3600000
#define CS(field) offsetof(struct s3_conf, field)
#define CS_MS(key, field, min_, def) \
	{ .name = key, .type = PC_SETTING_INT64, .offset = CS(field), \
	  .min = (min_), .max = S3_MS_MAX, .def_int = (def) }

static const struct pc_setting s3_settings[] = {
	{ .name = "bucket", .type = PC_SETTING_STRING, .offset = CS(bucket),
	  .flags = PC_SETTING_REQUIRED, .min = 1, .max = 255 },
	{ .name = "prefix", .type = PC_SETTING_STRING, .offset = CS(prefix),
	  .min = 0, .max = 512, .def_str = "" },
	{ .name = "region", .type = PC_SETTING_STRING, .offset = CS(region),
	  .min = 1, .max = 63 },
	{ .name = "endpoint", .type = PC_SETTING_STRING, .offset = CS(endpoint),
	  .min = 1, .max = 1024 },
	{ .name = "pathStyle", .type = PC_SETTING_BOOL, .offset = CS(path_style),
	  .def_int = 0 },
	{ .name = "accessKeyId", .type = PC_SETTING_STRING, .offset = CS(access_key),
	  .min = 1, .max = 256 },
	{ .name = "secretAccessKey", .type = PC_SETTING_STRING, .offset = CS(secret_key),
	  .flags = PC_SETTING_SECRET, .min = 1, .max = 1024 },
	{ .name = "sessionToken", .type = PC_SETTING_STRING, .offset = CS(session_token),
	  .flags = PC_SETTING_SECRET, .min = 1, .max = 8192 },
	CS_MS("connectTimeout", connect_timeout_ms, 1, 3000),
	CS_MS("requestTimeout", request_timeout_ms, 1, 10000),
	{ .name = "retries", .type = PC_SETTING_INT64, .offset = CS(retries),
	  .min = 0, .max = 10, .def_int = 3 },
	CS_MS("retryDelay", retry_base_ms, 1, 100),
	CS_MS("pollInterval", poll_interval_ms, 0, 10000),
	{ .name = "conditionalWrites", .type = PC_SETTING_BOOL,
	  .offset = CS(conditional_writes), .def_int = 1 },
	{ .name = NULL }
};

/* Free what s3_conf_parse allocated (secrets wiped). */
void s3_conf_free(struct s3_conf *conf)
{
	pc_config_free(s3_settings, conf);
	free(conf->origin);
	free(conf->host_header);
	free(conf->bucket_path);
	free(conf->object_prefix);
	memset(conf, 0, sizeof(*conf));
}

/* *field from the environment variable name when the config left it
   unset; 0, or -1 on ENOMEM. */
static int from_env(char **field, const char *name)
{
	const char *v = getenv(name);

	if (*field != NULL || v == NULL || v[0] == '\0')
		return 0;
	*field = strdup(v);
	return *field == NULL ? -1 : 0;
}

/* True when every byte of s is in the set allowed ("alnum" plus extra). */
static bool all_of(const char *s, const char *extra)
{
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr(extra, *s) == NULL)
			return false;
	return true;
}

/* True when the config object names key (whatever its value). */
static bool config_has(const char *json, const char *key)
{
	struct json_object *o = json != NULL && json[0] != '\0' ? json_tokener_parse(json) : NULL;
	bool has = o != NULL && json_object_object_get_ex(o, key, NULL);

	json_object_put(o);
	return has;
}

/* A malloc()ed printf. */
static char *dup_printf(const char *fmt, ...) PERSIST_PRINTF(1, 2);
static char *dup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* The origin and Host header from the endpoint and bucket. */
static int derive_urls(const struct persist_host *host, struct s3_conf *c,
		       struct persist_error *err)
{
	const char *e = c->endpoint, *hostpart;
	size_t scheme_len, host_len;

	if (strncmp(e, "http://", 7) == 0)
		scheme_len = 7;
	else if (strncmp(e, "https://", 8) == 0)
		scheme_len = 8;
	else
		return host->error(err, PERSIST_ECONFIG, 0,
				   "setting \"endpoint\" must be an http:// or https:// url\n"
				   "The config gives \"%s\".", e);
	hostpart = e + scheme_len;
	host_len = strcspn(hostpart, "/?#");
	if (host_len == 0 || strchr(hostpart + host_len, '?') != NULL ||
	    (hostpart[host_len] == '/' && hostpart[host_len + 1] != '\0') ||
	    memchr(hostpart, '@', host_len) != NULL || !all_of(hostpart + host_len, "/"))
		return host->error(err, PERSIST_ECONFIG, 0,
				   "setting \"endpoint\" must be a scheme and a host[:port] only\n"
				   "The config gives \"%s\"; the bucket and the objects are "
				   "added by the provider.", e);
	for (size_t i = 0; i < host_len; i++)
		if (!isalnum((unsigned char)hostpart[i]) && strchr(".-:[]", hostpart[i]) == NULL)
			return host->error(err, PERSIST_ECONFIG, 0,
					   "setting \"endpoint\" has an invalid host\n"
					   "The config gives \"%s\".", e);
	if (c->path_style) {
		c->host_header = dup_printf("%.*s", (int)host_len, hostpart);
		c->origin = dup_printf("%.*s%.*s", (int)scheme_len, e, (int)host_len, hostpart);
		c->bucket_path = dup_printf("/%s", c->bucket);
	} else {
		c->host_header = dup_printf("%s.%.*s", c->bucket, (int)host_len, hostpart);
		c->origin = dup_printf("%.*s%s.%.*s", (int)scheme_len, e, c->bucket,
				       (int)host_len, hostpart);
		c->bucket_path = strdup("");
	}
	if (c->host_header == NULL || c->origin == NULL || c->bucket_path == NULL)
		return host->error(err, PERSIST_ENOMEM, 0, "out of memory");
	return PERSIST_OK;
}

/* Read json into conf (see the top of the file). */
int s3_conf_parse(const struct persist_host *host, const char *json,
		  struct s3_conf *conf, struct persist_error *err)
{
	int ret;
	size_t plen;

	memset(conf, 0, sizeof(*conf));
	ret = pc_config_read(host, "s3", json, s3_settings, conf, err);
	if (ret != PERSIST_OK)
		return ret;
	if (!config_has(json, "pathStyle"))
		conf->path_style = conf->endpoint != NULL;
	if (from_env(&conf->region, "AWS_REGION") < 0 ||
	    from_env(&conf->region, "AWS_DEFAULT_REGION") < 0 ||
	    from_env(&conf->access_key, "AWS_ACCESS_KEY_ID") < 0 ||
	    from_env(&conf->secret_key, "AWS_SECRET_ACCESS_KEY") < 0 ||
	    from_env(&conf->session_token, "AWS_SESSION_TOKEN") < 0)
		goto nomem;
	if (conf->region == NULL && (conf->region = strdup("us-east-1")) == NULL)
		goto nomem;
	if (!all_of(conf->bucket, ".-_")) {
		ret = host->error(err, PERSIST_ECONFIG, 0,
				  "setting \"bucket\" must hold only letters, digits, '.', "
				  "'-' and '_'\nThe config gives \"%s\".", conf->bucket);
		goto fail;
	}
	if (!all_of(conf->region, "-_") || strlen(conf->region) > 63) {
		ret = host->error(err, PERSIST_ECONFIG, 0,
				  "setting \"region\" must hold only letters, digits and '-'\n"
				  "The region is \"%s\".", conf->region);
		goto fail;
	}
	if (conf->access_key == NULL || conf->secret_key == NULL) {
		ret = host->error(err, PERSIST_ECONFIG, 0,
				  "no credentials: setting \"%s\" is missing\n"
				  "Give \"accessKeyId\" and \"secretAccessKey\" in the config, "
				  "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.",
				  conf->access_key == NULL ? "accessKeyId" : "secretAccessKey");
		goto fail;
	}
	if (!pc_utf8_valid(conf->prefix, strlen(conf->prefix)) || conf->prefix[0] == '/') {
		ret = host->error(err, PERSIST_ECONFIG, 0,
				  "setting \"prefix\" must be UTF-8 text not starting with '/'\n"
				  "The prefix is a folder of the bucket, such as \"config/prod\".");
		goto fail;
	}
	plen = strlen(conf->prefix);
	while (plen > 0 && conf->prefix[plen - 1] == '/')
		conf->prefix[--plen] = '\0';
	conf->object_prefix = plen > 0 ? dup_printf("%s/", conf->prefix) : strdup("");
	if (conf->object_prefix == NULL)
		goto nomem;
	if (conf->endpoint == NULL &&
	    (conf->endpoint = dup_printf("https://s3.%s.amazonaws.com", conf->region)) == NULL)
		goto nomem;
	ret = derive_urls(host, conf, err);
	if (ret != PERSIST_OK)
		goto fail;
	return PERSIST_OK;
nomem:
	ret = host->error(err, PERSIST_ENOMEM, 0, "out of memory");
fail:
	s3_conf_free(conf);
	return ret;
}
