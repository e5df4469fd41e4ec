/*
 * core/settings.c - reading the "persistence" object of a configuration
 * file with json-c: ${VAR} expansion from the environment, per-kind
 * provider/module/config/fallback, the keys of "config" the core owns, and
 * the embedded defaults.  Everything else in the file is ignored, so a whole
 * platform.json can be passed as it is.
 *
 * Errors name the file and the JSON path ("persistence.state.provider"),
 * and a syntax error its line and column.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>

#include "settings.h"
#include "core-private.h"
#include "kind.h"
#include "loader.h"

/* The largest configuration file read (a platform.json is a few KiB). */
#define SETTINGS_FILE_MAX (16u * 1024 * 1024)
/* Ranges of the core's own keys (see the README's Configuration section). */
#define SETTINGS_INTERVAL_MAX_MS INT64_C(3600000)        /* one hour */
#define SETTINGS_BATCH_OPS_MAX INT64_C(1000000)
#define SETTINGS_BATCH_BYTES_MIN INT64_C(1024)
#define SETTINGS_BATCH_BYTES_MAX INT64_C(268435456)      /* 256 MiB */


/* Release one provider entry and its fallback chain. */
static void provider_free(struct persist_provider_settings *ps)
{
	if (ps == NULL)
		return;
	free(ps->provider);
	free(ps->module);
	free(ps->config_json);
	free(ps->spool_dir);
	if (ps->fallback != NULL) {
		provider_free(ps->fallback);
		free(ps->fallback);
	}
	memset(ps, 0, sizeof(*ps));
}

void persist_settings_free(struct persist_settings *settings)
{
	if (settings == NULL)
		return;
	for (int k = 0; k < PERSIST_KIND_COUNT_; k++)
		provider_free(&settings->kinds[k]);
	for (size_t i = 0; i < settings->n_plugin_path; i++)
		free(settings->plugin_path[i]);
	free(settings->plugin_path);
	free(settings->source);
	free(settings);
}

/* Start a provider entry with nothing of the core's keys given. */
static void provider_init(struct persist_provider_settings *ps)
{
	memset(ps, 0, sizeof(*ps));
	ps->cache_ttl_ms = -1;
	ps->batch_interval_ms = -1;
	ps->batch_max_ops = -1;
	ps->batch_max_bytes = -1;
	ps->health_interval_ms = -1;
}

/* Fill a provider entry with the embedded default for kind. */
static int provider_default(struct persist_provider_settings *ps,
			    enum persist_kind kind, struct persist_error *err)
{
	provider_init(ps);
	ps->provider = strdup(persist_kind_get(kind)->default_provider);
	ps->config_json = strdup("{}");
	if (ps->provider == NULL || ps->config_json == NULL)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM,
					 "out of memory reading the configuration");
	return PERSIST_OK;
}

/* Expand ${VAR} in s from the environment into a new string.  "$${" is a
   literal "${".  A missing variable is an error naming it and where. */
static int expand_env(const char *s, const char *source, const char *path,
		      char **out_r, struct persist_error *err)
{
	size_t cap = strlen(s) + 1, used = 0;
	char *out = malloc(cap);

	if (out == NULL)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	while (*s != '\0') {
		const char *piece = s;
		size_t piece_len = 1;

		if (s[0] == '$' && s[1] == '$' && s[2] == '{') {
			piece = "${"; piece_len = 2; s += 3;
		} else if (s[0] == '$' && s[1] == '{') {
			const char *end = strchr(s + 2, '}');
			char name[256];
			size_t name_len;

			if (end == NULL) {
				free(out);
				return persist_error_set(err, PERSIST_ECONFIG, 0,
					"unterminated ${ in %s of %s", path, source);
			}
			name_len = (size_t)(end - (s + 2));
			if (name_len == 0 || name_len >= sizeof(name)) {
				free(out);
				return persist_error_set(err, PERSIST_ECONFIG, 0,
					"bad variable name in %s of %s", path, source);
			}
			memcpy(name, s + 2, name_len);
			name[name_len] = '\0';
			piece = getenv(name);
			if (piece == NULL) {
				free(out);
				return persist_error_set(err, PERSIST_ECONFIG, 0,
					"environment variable \"%s\" is not set\n"
					"It is used in %s of %s.", name, path, source);
			}
			piece_len = strlen(piece);
			s = end + 1;
		} else {
			s++;
		}
		if (used + piece_len + 1 > cap) {
			char *bigger;
			cap = (used + piece_len + 1) * 2;
			bigger = realloc(out, cap);
			if (bigger == NULL) {
				free(out);
				return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
			}
			out = bigger;
		}
		memcpy(out + used, piece, piece_len);
		used += piece_len;
	}
	out[used] = '\0';
	*out_r = out;
	return PERSIST_OK;
}

/* Refuse a string holding a NUL byte (\u0000): C code would see it cut
   there ("redis\u0000x" would become "redis", a password would be cut). */
static int check_no_nul(struct json_object *str, const char *source,
			const char *path, struct persist_error *err)
{
	if (strlen(json_object_get_string(str)) != (size_t)json_object_get_string_len(str))
		return persist_error_set(err, PERSIST_ECONFIG, 0,
			"%s in %s contains a NUL character (\\u0000)\n"
			"Strings in the configuration cannot hold NUL.", path, source);
	return PERSIST_OK;
}

/* Replace every string below obj (in place) by its ${VAR} expansion;
   a string holding NUL is an error. */
static int expand_tree(struct json_object *obj, const char *source,
		       const char *path, struct persist_error *err)
{
	char child_path[512];
	int ret;

	switch (json_object_get_type(obj)) {
	case json_type_object: {
		json_object_object_foreach(obj, key, val) {
			if (json_object_get_type(val) == json_type_string) {
				char *expanded;
				snprintf(child_path, sizeof(child_path), "%s.%s", path, key);
				if ((ret = check_no_nul(val, source, child_path, err)) != PERSIST_OK)
					return ret;
				ret = expand_env(json_object_get_string(val), source,
						 child_path, &expanded, err);
				if (ret != PERSIST_OK)
					return ret;
				json_object_object_add(obj, key, json_object_new_string(expanded));
				free(expanded);
			} else {
				snprintf(child_path, sizeof(child_path), "%s.%s", path, key);
				ret = expand_tree(val, source, child_path, err);
				if (ret != PERSIST_OK)
					return ret;
			}
		}
		break;
	}
	case json_type_array: {
		size_t n = json_object_array_length(obj);
		for (size_t i = 0; i < n; i++) {
			struct json_object *val = json_object_array_get_idx(obj, i);
			snprintf(child_path, sizeof(child_path), "%s[%zu]", path, i);
			if (json_object_get_type(val) == json_type_string) {
				char *expanded;
				if ((ret = check_no_nul(val, source, child_path, err)) != PERSIST_OK)
					return ret;
				ret = expand_env(json_object_get_string(val), source,
						 child_path, &expanded, err);
				if (ret != PERSIST_OK)
					return ret;
				json_object_array_put_idx(obj, i, json_object_new_string(expanded));
				free(expanded);
			} else if ((ret = expand_tree(val, source, child_path, err)) != PERSIST_OK) {
				return ret;
			}
		}
		break;
	}
	default:
		break;
	}
	return PERSIST_OK;
}

/* What a JSON value is, for messages ("null", "a string", ...). */
static const char *json_kind(struct json_object *val)
{
	switch (json_object_get_type(val)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double:
	case json_type_int: return "a number";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	default: return "something else";
	}
}

/* The keys of "config" the core owns, each an integer within a range. */
static const struct core_int_key {
	const char *key;
	int64_t min, max;
	size_t offset;  /* of the field in struct persist_provider_settings */
} core_int_keys[] = {
	{ "cacheTTL", 0, PERSIST_TTL_MAX_MS,
	  offsetof(struct persist_provider_settings, cache_ttl_ms) },
	{ "batchInterval", 0, SETTINGS_INTERVAL_MAX_MS,
	  offsetof(struct persist_provider_settings, batch_interval_ms) },
	{ "batchMaxOps", 1, SETTINGS_BATCH_OPS_MAX,
	  offsetof(struct persist_provider_settings, batch_max_ops) },
	{ "batchMaxBytes", SETTINGS_BATCH_BYTES_MIN, SETTINGS_BATCH_BYTES_MAX,
	  offsetof(struct persist_provider_settings, batch_max_bytes) },
	{ "healthInterval", 0, SETTINGS_INTERVAL_MAX_MS,
	  offsetof(struct persist_provider_settings, health_interval_ms) },
};

/* Read one integer key the core owns out of config (and remove it from
   there).  A fraction, an exponent, a number json-c had to saturate (2^63,
   1e23) or one outside the key's range is an error naming the key. */
static int take_core_int(struct json_object *config, const struct core_int_key *k,
			 const char *source, const char *path,
			 struct persist_provider_settings *ps,
			 struct persist_error *err)
{
	struct json_object *val;
	int64_t value;

	if (!json_object_object_get_ex(config, k->key, &val))
		return PERSIST_OK;
	/* json-c gives INT64_MAX/MIN for integers it cannot hold, which the
	   ranges below (all far inside int64) refuse */
	value = json_object_get_int64(val);
	if (json_object_get_type(val) != json_type_int ||
	    value < k->min || value > k->max)
		return persist_error_set(err, PERSIST_ECONFIG, 0,
			"%s.config.%s in %s must be an integer from %lld to %lld, not %s",
			path, k->key, source, (long long)k->min, (long long)k->max,
			json_object_get_type(val) == json_type_int ||
			json_object_get_type(val) == json_type_double
				? json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN)
				: json_kind(val));
	*(int64_t *)(void *)((char *)ps + k->offset) = value;
	json_object_object_del(config, k->key);
	return PERSIST_OK;
}

/* Parse one provider entry (persistence.<kind> or its fallback). */
static int parse_provider(struct json_object *obj, const char *source,
			  const char *path, struct persist_provider_settings *ps,
			  struct persist_error *err)
{
	struct json_object *val, *config = NULL;
	int ret;

	provider_init(ps);
	if (json_object_get_type(obj) != json_type_object)
		return persist_error_set(err, PERSIST_ECONFIG, 0,
			"%s in %s must be an object", path, source);
	json_object_object_foreach(obj, key, v) {
		(void)v;
		if (strcmp(key, "provider") != 0 && strcmp(key, "module") != 0 &&
		    strcmp(key, "config") != 0 && strcmp(key, "fallback") != 0)
			return persist_error_set(err, PERSIST_ECONFIG, 0,
				"unknown key \"%s\" in %s of %s\n"
				"Known keys are provider, module, config and fallback.",
				key, path, source);
	}
	if (!json_object_object_get_ex(obj, "provider", &val))
		return persist_error_set(err, PERSIST_ECONFIG, 0,
			"%s.provider in %s is missing", path, source);
	if (json_object_get_type(val) != json_type_string)
		return persist_error_set(err, PERSIST_ECONFIG, 0,
			"%s.provider in %s must be a string, not %s", path, source, json_kind(val));
	ps->provider = strdup(json_object_get_string(val));
	if (ps->provider == NULL)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	if (persist_loader_valid_name(ps->provider, err) != PERSIST_OK)
		return persist_error_prefix(err, PERSIST_ECONFIG, "%s.provider of %s", path, source);
	if (json_object_object_get_ex(obj, "module", &val)) {
		const char *module = json_object_get_string(val);
		if (json_object_get_type(val) != json_type_string)
			return persist_error_set(err, PERSIST_ECONFIG, 0,
				"%s.module in %s must be a string (an absolute path), not %s",
				path, source, json_kind(val));
		if (module[0] != '/')
			return persist_error_set(err, PERSIST_ECONFIG, 0,
				"%s.module in %s must be an absolute path, not \"%s\"",
				path, source, module);
		ps->module = strdup(module);
		if (ps->module == NULL)
			return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	if (json_object_object_get_ex(obj, "config", &val)) {
		if (json_object_get_type(val) != json_type_object)
			return persist_error_set(err, PERSIST_ECONFIG, 0,
				"%s.config in %s must be an object", path, source);
		/* a deep copy: the core's keys are removed from it */
		if (json_object_deep_copy(val, &config, NULL) != 0)
			return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	} else {
		config = json_object_new_object();
		if (config == NULL)
			return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < sizeof(core_int_keys) / sizeof(core_int_keys[0]); i++) {
		ret = take_core_int(config, &core_int_keys[i], source, path, ps, err);
		if (ret != PERSIST_OK) {
			json_object_put(config);
			return ret;
		}
	}
	if (json_object_object_get_ex(config, "spoolDir", &val)) {
		if (json_object_get_type(val) != json_type_string ||
		    json_object_get_string(val)[0] == '\0') {
			json_object_put(config);
			return persist_error_set(err, PERSIST_ECONFIG, 0,
				"%s.config.spoolDir in %s must be a non-empty string", path, source);
		}
		ps->spool_dir = strdup(json_object_get_string(val));
		json_object_object_del(config, "spoolDir");
	}
	if (json_object_object_get_ex(config, "journalQueued", &val)) {
		if (json_object_get_type(val) != json_type_boolean) {
			const char *kind = json_kind(val);   /* a constant string */

			json_object_put(config);
			return persist_error_set(err, PERSIST_ECONFIG, 0,
				"%s.config.journalQueued in %s must be true or false, not %s",
				path, source, kind);
		}
		ps->journal_queued = json_object_get_boolean(val) ? 1 : 0;
		json_object_object_del(config, "journalQueued");
	}
	ps->config_json = strdup(json_object_to_json_string_ext(config, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(config);
	if (ps->config_json == NULL)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	if (json_object_object_get_ex(obj, "fallback", &val)) {
		char fb_path[256];
		snprintf(fb_path, sizeof(fb_path), "%s.fallback", path);
		ps->fallback = calloc(1, sizeof(*ps->fallback));
		if (ps->fallback == NULL)
			return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
		return parse_provider(val, source, fb_path, ps->fallback, err);
	}
	return PERSIST_OK;
}

/* Parse pluginPath: an array of strings (a single string is accepted). */
static int parse_plugin_path(struct json_object *val, const char *source,
			     struct persist_settings *s, struct persist_error *err)
{
	size_t n;

	if (json_object_get_type(val) == json_type_string) {
		if (json_object_get_string(val)[0] == '\0')
			return persist_error_set(err, PERSIST_ECONFIG, 0,
				"persistence.pluginPath in %s is empty\n"
				"Each entry is an absolute directory.", source);
		s->plugin_path = calloc(1, sizeof(char *));
		if (s->plugin_path == NULL ||
		    (s->plugin_path[0] = strdup(json_object_get_string(val))) == NULL)
			return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
		s->n_plugin_path = 1;
		return PERSIST_OK;
	}
	if (json_object_get_type(val) != json_type_array)
		return persist_error_set(err, PERSIST_ECONFIG, 0,
			"persistence.pluginPath in %s must be an array of directories", source);
	n = json_object_array_length(val);
	s->plugin_path = calloc(n + 1, sizeof(char *));
	if (s->plugin_path == NULL)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct json_object *dir = json_object_array_get_idx(val, i);
		if (json_object_get_type(dir) != json_type_string)
			return persist_error_set(err, PERSIST_ECONFIG, 0,
				"persistence.pluginPath[%zu] in %s is not a string", i, source);
		if (json_object_get_string(dir)[0] == '\0')
			return persist_error_set(err, PERSIST_ECONFIG, 0,
				"persistence.pluginPath[%zu] in %s is empty\n"
				"Each entry is an absolute directory.", i, source);
		s->plugin_path[i] = strdup(json_object_get_string(dir));
		if (s->plugin_path[i] == NULL)
			return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
		s->n_plugin_path = i + 1;
	}
	return PERSIST_OK;
}

/* Line and column (1-based) of byte offset in text. */
static void line_col(const char *text, size_t offset, int *line_r, int *col_r)
{
	int line = 1, col = 1;

	for (size_t i = 0; i < offset && text[i] != '\0'; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	*line_r = line;
	*col_r = col;
}

/* Parse the text into a json-c tree.  The text is first checked strictly
   (RFC 8259, which json-c alone is not), with no member name repeated or
   holding NUL in "persistence" or below (json-c would keep the last one
   silently, or cut the name);
   faults are reported with line and column. */
static int parse_json_text(const char *text, size_t len, const char *source,
			   struct json_object **root_r, struct persist_error *err)
{
	struct persist_json_fault fault;
	struct json_tokener *tok;
	struct json_object *root;
	int ret, line, col;

	if (len > INT32_MAX)
		return persist_error_set(err, PERSIST_ECONFIG, 0, "%s is too large", source);
	ret = persist_json_check(text, len, "persistence", &fault);
	if (ret == PERSIST_ENOMEM)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	if (ret != PERSIST_OK) {
		line_col(text, fault.offset, &line, &col);
		if (fault.name_fault)
			return persist_error_set(err, PERSIST_ECONFIG, 0,
				"%s in %s of %s at line %d, column %d\n"
				"Under persistence, a key appears once in its object and holds no NUL.",
				fault.reason, fault.path[0] != '\0' ? fault.path : "the top level",
				source, line, col);
		return persist_error_set(err, PERSIST_ECONFIG, 0,
			"syntax error in %s at line %d, column %d: %s", source, line, col,
			fault.reason);
	}
	tok = json_tokener_new_ex(PERSIST_JSON_DEPTH_MAX + 1);
	if (tok == NULL)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	root = json_tokener_parse_ex(tok, text, (int)len);
	if (root == NULL && json_tokener_get_error(tok) == json_tokener_continue)
		root = json_tokener_parse_ex(tok, "", 1);   /* a bare number at the end */
	if (root == NULL && json_tokener_get_error(tok) != json_tokener_success) {
		ret = persist_error_set(err, PERSIST_ECONFIG, 0, "cannot parse %s: %s",
			source, json_tokener_error_desc(json_tokener_get_error(tok)));
		json_tokener_free(tok);
		return ret;
	}
	json_tokener_free(tok);
	*root_r = root;
	return PERSIST_OK;
}

/* True when key is one of the kinds' keys in "persistence". */
static int is_kind_key(const char *key)
{
	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		if (strcmp(key, persist_kind_get((enum persist_kind)k)->key) == 0)
			return 1;
	}
	return 0;
}

/* Build settings from configuration text. */
int persist_settings_parse(const char *text, size_t len, const char *source,
			   struct persist_settings **settings_r,
			   struct persist_error *err)
{
	struct json_object *root = NULL, *persistence, *val;
	struct persist_settings *s;
	int ret;

	if (text == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0, "configuration text is NULL");
	if (source == NULL)
		source = "(configuration text)";
	if (!persist_valid_utf8(text, len))
		return persist_error_set(err, PERSIST_ECONFIG, 0, "%s is not valid UTF-8", source);
	if ((ret = parse_json_text(text, len, source, &root, err)) != PERSIST_OK)
		return ret;
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->source = strdup(source)) == NULL) {
		free(s);
		json_object_put(root);
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	if (json_object_get_type(root) != json_type_object) {
		ret = persist_error_set(err, PERSIST_ECONFIG, 0,
			"%s is not a JSON object", source);
		goto out;
	}
	if (!json_object_object_get_ex(root, "persistence", &persistence)) {
		persistence = NULL;
	} else if (json_object_get_type(persistence) != json_type_object) {
		ret = persist_error_set(err, PERSIST_ECONFIG, 0,
			"\"persistence\" in %s must be an object", source);
		goto out;
	} else if ((ret = expand_tree(persistence, source, "persistence", err)) != PERSIST_OK) {
		goto out;
	}
	if (persistence != NULL) {
		json_object_object_foreach(persistence, key, v) {
			(void)v;
			if (strcmp(key, "pluginPath") != 0 && !is_kind_key(key)) {
				ret = persist_error_set(err, PERSIST_ECONFIG, 0,
					"unknown key \"%s\" in persistence of %s\n"
					"Known keys are pluginPath, configuration, state and sessions.",
					key, source);
				goto out;
			}
		}
		if (json_object_object_get_ex(persistence, "pluginPath", &val) &&
		    (ret = parse_plugin_path(val, source, s, err)) != PERSIST_OK)
			goto out;
	}
	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		char path[64];
		const char *kind_key = persist_kind_get((enum persist_kind)k)->key;

		snprintf(path, sizeof(path), "persistence.%s", kind_key);
		if (persistence != NULL &&
		    json_object_object_get_ex(persistence, kind_key, &val))
			ret = parse_provider(val, source, path, &s->kinds[k], err);
		else
			ret = provider_default(&s->kinds[k], (enum persist_kind)k, err);
		if (ret != PERSIST_OK)
			goto out;
	}
	ret = PERSIST_OK;
out:
	json_object_put(root);
	if (ret != PERSIST_OK) {
		persist_settings_free(s);
		return ret;
	}
	*settings_r = s;
	return PERSIST_OK;
}

/* "a directory", "a FIFO", ...: what a file that is not regular is. */
static const char *file_type(mode_t mode)
{
	if (S_ISDIR(mode)) return "a directory";
	if (S_ISFIFO(mode)) return "a FIFO";
	if (S_ISCHR(mode)) return "a character device";
	if (S_ISBLK(mode)) return "a block device";
	if (S_ISSOCK(mode)) return "a socket";
	return "an unknown type";
}

/* Read a whole regular file (at most SETTINGS_FILE_MAX bytes); anything
   else (a FIFO, a device, a directory) is refused before any read. */
static int read_file(const char *path, char **text_r, size_t *len_r,
		     struct persist_error *err)
{
	struct stat st;
	char *text;
	size_t used = 0;
	int fd;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer; the type is
	   checked before anything is read */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return persist_error_set(err, PERSIST_ECONFIG, errno,
			"cannot open configuration file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return persist_error_set(err, PERSIST_ECONFIG, e,
			"cannot stat configuration file %s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return persist_error_set(err, PERSIST_ECONFIG, S_ISDIR(st.st_mode) ? EISDIR : EINVAL,
			"configuration file %s is not a regular file (%s)",
			path, file_type(st.st_mode));
	}
	if ((uint64_t)st.st_size > SETTINGS_FILE_MAX) {
		close(fd);
		return persist_error_set(err, PERSIST_ECONFIG, EFBIG,
			"configuration file %s is too large (%lld bytes)",
			path, (long long)st.st_size);
	}
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL) {
		close(fd);
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	while (used < (size_t)st.st_size) {
		ssize_t n = read(fd, text + used, (size_t)st.st_size - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(text);
			close(fd);
			return persist_error_set(err, PERSIST_ECONFIG, e,
				"cannot read configuration file %s: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	text[used] = '\0';
	*text_r = text;
	*len_r = used;
	return PERSIST_OK;
}

/* Read and parse a configuration file. */
int persist_settings_load(const char *path, struct persist_settings **settings_r,
			  struct persist_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	if (path == NULL || path[0] == '\0')
		return persist_error_set(err, PERSIST_EINVAL, 0, "configuration file name is empty");
	if ((ret = read_file(path, &text, &len, err)) != PERSIST_OK)
		return ret;
	ret = persist_settings_parse(text, len, path, settings_r, err);
	free(text);
	return ret;
}

/* The embedded default: filesystem, filesystem, memory. */
int persist_settings_default(struct persist_settings **settings_r,
			     struct persist_error *err)
{
	return persist_settings_parse("{}", 2, "(embedded default)", settings_r, err);
}

/* Only the pluginPath of a configuration file. */
int persist_settings_plugin_path(const char *config_path, char ***dirs_r,
				 size_t *n_r, struct persist_error *err)
{
	struct persist_settings *s;
	int ret = persist_settings_load(config_path, &s, err);

	if (ret != PERSIST_OK)
		return ret;
	*dirs_r = s->plugin_path;
	*n_r = s->n_plugin_path;
	s->plugin_path = NULL;
	s->n_plugin_path = 0;
	persist_settings_free(s);
	return PERSIST_OK;
}
