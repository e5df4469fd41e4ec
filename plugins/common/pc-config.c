/*
 * plugins/common/pc-config.c - the reader of a provider's JSON "config"
 * object (see pc-common.h): one table of known settings per provider, one
 * wording for every mistake.
 *
 * json-c reads an integer that does not fit 64 bits without a word: a
 * too large one saturates to INT64_MAX (or is kept as an unsigned number
 * that reads back as INT64_MAX), a too small one to INT64_MIN.  Since a
 * saturated value cannot be told from the bound itself, the reader
 * refuses both bounds: a setting's range lies strictly inside them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "pc-common.h"

/* How much of a value a message quotes. */
#define PC_QUOTE_MAX 64

/* The field of out that a setting fills. */
#define PC_FIELD(out, s, type) ((type *)(void *)((char *)(out) + (s)->offset))

/* What json-c's type of v is called in a message. */
static const char *pc_json_kind(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double: return "a number with a fraction or an exponent";
	case json_type_int: return "an integer";
	case json_type_object: return "an object";
	case json_type_array: return "a list";
	case json_type_string: return "a string";
	}
	return "a value";
}

/* The detail sentence "The config gives X." into buf: the value itself
   (cut short), or only its kind for a secret. */
static void pc_describe(const struct pc_setting *s, struct json_object *v,
			char *buf, size_t size)
{
	const char *text;

	if ((s->flags & PC_SETTING_SECRET) != 0) {
		snprintf(buf, size, "The config gives %s (not shown: the setting is secret).",
			 pc_json_kind(v));
		return;
	}
	text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
					       JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text == NULL)
		text = "?";
	if (strlen(text) > PC_QUOTE_MAX)
		snprintf(buf, size, "The config gives %.*s... (%s).", PC_QUOTE_MAX,
			 text, pc_json_kind(v));
	else
		snprintf(buf, size, "The config gives %s.", text);
}

/* "must be ..." for a setting, into buf. */
static void pc_must_be(const struct pc_setting *s, char *buf, size_t size)
{
	size_t used;

	switch (s->type) {
	case PC_SETTING_INT64:
		snprintf(buf, size, "must be an integer from %" PRId64 " to %" PRId64,
			 s->min, s->max);
		return;
	case PC_SETTING_BOOL:
		snprintf(buf, size, "must be true or false");
		return;
	case PC_SETTING_ENUM:
		used = (size_t)snprintf(buf, size, "must be one of");
		for (size_t i = 0; s->choices[i] != NULL && used < size; i++)
			used += (size_t)snprintf(buf + used, size - used, "%s \"%s\"",
						 i == 0 ? "" : ",", s->choices[i]);
		return;
	case PC_SETTING_STRING:
	case PC_SETTING_STRINGS:
		used = (size_t)snprintf(buf, size, "%s",
					s->type == PC_SETTING_STRING ? "must be a string"
					: "must be a list of strings");
		if (used >= size)
			return;
		if (s->max > 0)
			snprintf(buf + used, size - used, " of %" PRId64 " to %" PRId64 " bytes",
				 s->min, s->max);
		else if (s->min > 0)
			snprintf(buf + used, size - used, " of at least %" PRId64 " bytes",
				 s->min);
		return;
	}
	snprintf(buf, size, "has an unknown type");
}

/* Refuse setting s: "setting "<name>" must be ..." (the core names the provider),
   then the detail (NULL: describe v). */
static int pc_refuse(const struct persist_host *host,
		     const struct pc_setting *s, struct json_object *v,
		     const char *must, const char *detail,
		     struct persist_error *err)
{
	char must_buf[256], detail_buf[PC_QUOTE_MAX + 128];

	if (must == NULL) {
		pc_must_be(s, must_buf, sizeof(must_buf));
		must = must_buf;
	}
	if (detail == NULL) {
		pc_describe(s, v, detail_buf, sizeof(detail_buf));
		detail = detail_buf;
	}
	return host->error(err, PERSIST_ECONFIG, 0, "setting \"%s\" %s\n%s",
			   s->name, must, detail);
}

/* Check one string value of s (the setting or one item of a list) and
   copy it into *copy_r. */
static int pc_read_string(const struct persist_host *host,
			  const struct pc_setting *s, struct json_object *v,
			  char **copy_r, struct persist_error *err)
{
	const char *text;
	size_t len;

	if (!json_object_is_type(v, json_type_string))
		return pc_refuse(host, s, v, NULL, NULL, err);
	text = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (strlen(text) != len)
		return pc_refuse(host, s, v, "must not contain a NUL byte",
				 (s->flags & PC_SETTING_SECRET) != 0
				 ? "The string given holds a \\u0000 (not shown: the setting is secret)."
				 : NULL, err);
	if ((int64_t)len < s->min || (s->max > 0 && (int64_t)len > s->max)) {
		char detail[64];

		snprintf(detail, sizeof(detail), "The string given is %zu bytes long.", len);
		return pc_refuse(host, s, v, NULL, detail, err);
	}
	*copy_r = pc_strdup(text);
	if (*copy_r == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory reading setting \"%s\"",
				   s->name);
	return PERSIST_OK;
}

/* Read v into the field of setting s. */
static int pc_read_value(const struct persist_host *host,
			 const struct pc_setting *s, struct json_object *v,
			 void *out, struct persist_error *err)
{
	int64_t n;
	int ret;

	switch (s->type) {
	case PC_SETTING_STRING: {
		char *copy = NULL;

		ret = pc_read_string(host, s, v, &copy, err);
		if (ret != PERSIST_OK)
			return ret;
		free(*PC_FIELD(out, s, char *));
		*PC_FIELD(out, s, char *) = copy;
		return PERSIST_OK;
	}
	case PC_SETTING_INT64:
		if (!json_object_is_type(v, json_type_int))
			return pc_refuse(host, s, v, NULL, NULL, err);
		n = json_object_get_int64(v);
		if (n == INT64_MAX || n == INT64_MIN)
			return pc_refuse(host, s, v, NULL,
					 "The config gives a number too large for a 64-bit integer.",
					 err);
		if (n < s->min || n > s->max)
			return pc_refuse(host, s, v, NULL, NULL, err);
		*PC_FIELD(out, s, int64_t) = n;
		return PERSIST_OK;
	case PC_SETTING_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return pc_refuse(host, s, v, NULL, NULL, err);
		*PC_FIELD(out, s, bool) = json_object_get_boolean(v) != 0;
		return PERSIST_OK;
	case PC_SETTING_ENUM:
		if (json_object_is_type(v, json_type_string)) {
			const char *text = json_object_get_string(v);

			for (int i = 0; s->choices[i] != NULL; i++) {
				if (strcmp(text, s->choices[i]) == 0 &&
				    strlen(text) == (size_t)json_object_get_string_len(v)) {
					*PC_FIELD(out, s, int) = i;
					return PERSIST_OK;
				}
			}
		}
		return pc_refuse(host, s, v, NULL, NULL, err);
	case PC_SETTING_STRINGS: {
		size_t count;
		char **list;

		if (!json_object_is_type(v, json_type_array))
			return pc_refuse(host, s, v, NULL, NULL, err);
		count = json_object_array_length(v);
		list = calloc(count + 1, sizeof(*list));
		if (list == NULL)
			return host->error(err, PERSIST_ENOMEM, ENOMEM,
					   "out of memory reading setting \"%s\"",
					   s->name);
		for (size_t i = 0; i < count; i++) {
			ret = pc_read_string(host, s,
					     json_object_array_get_idx(v, i), &list[i], err);
			if (ret != PERSIST_OK) {
				for (size_t k = 0; k < i; k++)
					free(list[k]);
				free(list);
				return ret;
			}
		}
		*PC_FIELD(out, s, char **) = list;
		return PERSIST_OK;
	}
	}
	return host->error(err, PERSIST_EINVAL, 0,
			   "setting \"%s\" has an unknown type in the plugin's table",
			   s->name);
}

/* Set every field to its default; NULL for strings without one. */
static int pc_defaults(const struct persist_host *host,
		       const struct pc_setting *settings, void *out,
		       struct persist_error *err)
{
	for (const struct pc_setting *s = settings; s->name != NULL; s++) {
		switch (s->type) {
		case PC_SETTING_STRING:
			*PC_FIELD(out, s, char *) = NULL;
			break;
		case PC_SETTING_STRINGS:
			*PC_FIELD(out, s, char **) = NULL;
			break;
		case PC_SETTING_INT64:
			*PC_FIELD(out, s, int64_t) = s->def_int;
			break;
		case PC_SETTING_BOOL:
			*PC_FIELD(out, s, bool) = s->def_int != 0;
			break;
		case PC_SETTING_ENUM:
			*PC_FIELD(out, s, int) = (int)s->def_int;
			break;
		}
	}
	for (const struct pc_setting *s = settings; s->name != NULL; s++) {
		if (s->type == PC_SETTING_STRING && s->def_str != NULL &&
		    (*PC_FIELD(out, s, char *) = pc_strdup(s->def_str)) == NULL)
			return host->error(err, PERSIST_ENOMEM, ENOMEM,
					   "out of memory reading its config");
	}
	return PERSIST_OK;
}

/* The setting called name, or NULL. */
static const struct pc_setting *pc_setting_find(const struct pc_setting *settings,
						const char *name)
{
	for (const struct pc_setting *s = settings; s->name != NULL; s++) {
		if (strcmp(s->name, name) == 0)
			return s;
	}
	return NULL;
}

/* Refuse an unknown key, listing the known ones. */
static int pc_refuse_unknown(const struct persist_host *host, const char *provider,
			     const struct pc_setting *settings, const char *key,
			     struct persist_error *err)
{
	char known[512];
	size_t used = 0;

	known[0] = '\0';
	for (const struct pc_setting *s = settings; s->name != NULL && used < sizeof(known); s++)
		used += (size_t)snprintf(known + used, sizeof(known) - used, "%s\"%s\"",
					 s == settings ? "" : ", ", s->name);
	if (settings->name == NULL)
		return host->error(err, PERSIST_ECONFIG, 0,
				   "unknown setting \"%.*s\"\nThe %s provider has no settings.",
				   PC_QUOTE_MAX, key, provider);
	return host->error(err, PERSIST_ECONFIG, 0,
			   "unknown setting \"%.*s\"\nThe settings it knows are %s.",
			   PC_QUOTE_MAX, key, known);
}

/* Parse json and fill out. */
int pc_config_read(const struct persist_host *host, const char *provider,
		   const char *json, const struct pc_setting *settings,
		   void *out, struct persist_error *err)
{
	struct json_object *obj;
	enum json_tokener_error jerr;
	int ret;

	ret = pc_defaults(host, settings, out, err);
	if (ret != PERSIST_OK)
		goto fail;
	if (json == NULL || json[0] == '\0')
		json = "{}";
	obj = json_tokener_parse_verbose(json, &jerr);
	if (obj == NULL) {
		ret = host->error(err, PERSIST_ECONFIG, 0,
				  "config is not valid JSON\n%s.",
				  json_tokener_error_desc(jerr));
		goto fail;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		ret = host->error(err, PERSIST_ECONFIG, 0,
				  "config is not a JSON object\nIt is %s.",
				  pc_json_kind(obj));
		json_object_put(obj);
		goto fail;
	}
	json_object_object_foreach(obj, key, val) {
		const struct pc_setting *s = pc_setting_find(settings, key);

		if (s == NULL)
			ret = pc_refuse_unknown(host, provider, settings, key, err);
		else
			ret = pc_read_value(host, s, val, out, err);
		if (ret != PERSIST_OK)
			break;
	}
	for (const struct pc_setting *s = settings; ret == PERSIST_OK && s->name != NULL; s++) {
		if ((s->flags & PC_SETTING_REQUIRED) != 0 &&
		    !json_object_object_get_ex(obj, s->name, NULL)) {
			char must[256];

			pc_must_be(s, must, sizeof(must));
			ret = host->error(err, PERSIST_ECONFIG, 0,
					  "setting \"%s\" is missing\nIt is required and %s.",
					  s->name, must);
		}
	}
	json_object_put(obj);
	if (ret == PERSIST_OK)
		return PERSIST_OK;
fail:
	pc_config_free(settings, out);
	return ret;
}

/* Free the strings and lists in out. */
void pc_config_free(const struct pc_setting *settings, void *out)
{
	for (const struct pc_setting *s = settings; s->name != NULL; s++) {
		if (s->type == PC_SETTING_STRING) {
			char *str = *PC_FIELD(out, s, char *);

			if (str != NULL && (s->flags & PC_SETTING_SECRET) != 0)
				explicit_bzero(str, strlen(str)); /* no password in freed memory */
			free(str);
			*PC_FIELD(out, s, char *) = NULL;
		} else if (s->type == PC_SETTING_STRINGS) {
			char **list = *PC_FIELD(out, s, char **);

			for (size_t i = 0; list != NULL && list[i] != NULL; i++)
				free(list[i]);
			free(list);
			*PC_FIELD(out, s, char **) = NULL;
		}
	}
}
