/*
 * tools/import-usage.c - the platform's usage counters (usage.json) as
 * counters of the usage collection.  Three schema generations of the file
 * are known; which one a file is, is told from its shape:
 *
 *   1 (flat)     no "version"; top-level numbers and maps:
 *                totalMessages, userMessages{user:n}, appMessages,
 *                modelMessages, totalTokens, userTokens, appTokens,
 *                modelTokens, feedbackGood, feedbackBad, lastUpdated
 *   2 (nested)   no "version"; "messages" is {total, perUser, perApp,
 *                perModel}, and so are "tokens" and "magicPrompt";
 *                "feedback" is {good, bad, perUser{user:{good,bad}},
 *                perApp, perModel}; lastUpdated, lastReset
 *   3 (current)  "version": 3; as 2, but "tokens" is {prompt, completion},
 *                each {total, perUser, perApp, perModel}, and "feedback"
 *                holds star ratings: {ratings{"1".."5":n},
 *                perUser{user:{"1".."5":n}}, perApp, perModel}
 *
 * Every counter becomes the key METRIC.total or METRIC.DIM.NAME, DIM one
 * of user, app, model, METRIC one of messages, tokens, tokens.prompt,
 * tokens.completion, magicPrompts, feedback.good, feedback.bad,
 * feedback.rating.1 ... feedback.rating.5 (the table in the README).  In
 * generation 3, tokens.* is prompt + completion, so that tokens means the
 * same in every generation.  A counter that is 0 is not stored (an absent
 * counter is 0 to an increment).  lastUpdated and lastReset are dropped.
 *
 * Anything else stops the import rather than lose data: another
 * "version", a shape that is none of the three, a field the generation
 * does not have, a count that is not a whole number from 0 to 2^63 - 1;
 * the message names the file and the field's path.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "import.h"

#define FILE_REL "contents/data/usage.json"
#define KEYBUF (PERSIST_KEY_MAX + 64)

/* What one reader call works on: the file and where in it. */
struct usage_walk {
	const struct import_ctx *ic;
	const char *path;
	int generation;
};

/* The three dimensions of the maps, by field name in generations 2 and 3. */
static const struct {
	const char *field, *dim;
} per_dims[] = {
	{ "perUser", "user" }, { "perApp", "app" }, { "perModel", "model" },
};

/* Add the count v (field `where`) to counter key, and (when also is not
   NULL) to counter also. */
static int add_count(const struct usage_walk *w, const char *where,
		     struct json_object *v, const char *key, const char *also,
		     struct persist_error *err)
{
	struct persist_error e = { 0 };
	int64_t n;

	if (!json_object_is_type(v, json_type_int) ||
	    (n = json_object_get_int64(v)) < 0 || n == INT64_MAX)
		return import_error(err, PERSIST_EINVAL, 0,
				    "invalid count %s at \"%s\" of \"%s\"\n"
				    "A count is a whole number from 0 to 2^63 - 2.",
				    json_object_to_json_string(v), where, w->path);
	if (n == 0)
		return PERSIST_OK;
	for (int i = 0; i < 2; i++) {
		const char *k = i == 0 ? key : also;
		if (k == NULL)
			break;
		if (persist_state_incr(w->ic->p, IMPORT_COLL_USAGE, k, n, NULL, &e) != PERSIST_OK)
			return import_error(err, e.code, e.sys_errno,
					    "cannot import \"%s\" of \"%s\" as counter \"%s\"\n%s",
					    where, w->path, k, e.msg);
	}
	return PERSIST_OK;
}

/* Refuse an object that is not one. */
static int want_object(const struct usage_walk *w, const char *where,
		       struct json_object *v, struct persist_error *err)
{
	if (json_object_is_type(v, json_type_object))
		return PERSIST_OK;
	return import_error(err, PERSIST_EINVAL, 0,
			    "invalid field \"%s\" of \"%s\"\n"
			    "Generation %d has an object there, not %s.",
			    where, w->path, w->generation, json_object_to_json_string(v));
}

/* A field the generation does not have. */
static int unexpected(const struct usage_walk *w, const char *where,
		      struct persist_error *err)
{
	return import_error(err, PERSIST_EINVAL, 0,
			    "unexpected field \"%s\" in \"%s\"\n"
			    "Schema generation %d has no such field; nothing was "
			    "imported, so that no count is lost.",
			    where, w->path, w->generation);
}

/* A map {NAME: count} into METRIC.DIM.NAME (and ALSO.DIM.NAME). */
static int add_map(const struct usage_walk *w, const char *where,
		   struct json_object *map, const char *metric, const char *also,
		   const char *dim, struct persist_error *err)
{
	char key[KEYBUF], key2[KEYBUF], field[KEYBUF];
	int ret;

	if ((ret = want_object(w, where, map, err)) != PERSIST_OK)
		return ret;
	json_object_object_foreach(map, name, v) {
		snprintf(field, sizeof(field), "%s.%s", where, name);
		snprintf(key, sizeof(key), "%s.%s.%s", metric, dim, name);
		if (also != NULL)
			snprintf(key2, sizeof(key2), "%s.%s.%s", also, dim, name);
		if ((ret = add_count(w, field, v, key, also != NULL ? key2 : NULL,
				     err)) != PERSIST_OK)
			return ret;
	}
	return PERSIST_OK;
}

/* A group {total, perUser, perApp, perModel} into METRIC.* (and ALSO.*). */
static int add_group(const struct usage_walk *w, const char *where,
		     struct json_object *group, const char *metric,
		     const char *also, struct persist_error *err)
{
	char key[KEYBUF], key2[KEYBUF], field[KEYBUF];
	int ret;

	if ((ret = want_object(w, where, group, err)) != PERSIST_OK)
		return ret;
	json_object_object_foreach(group, name, v) {
		size_t d;

		snprintf(field, sizeof(field), "%s.%s", where, name);
		if (strcmp(name, "total") == 0) {
			snprintf(key, sizeof(key), "%s.total", metric);
			if (also != NULL)
				snprintf(key2, sizeof(key2), "%s.total", also);
			ret = add_count(w, field, v, key, also != NULL ? key2 : NULL, err);
		} else {
			for (d = 0; d < 3; d++)
				if (strcmp(name, per_dims[d].field) == 0)
					break;
			if (d == 3)
				return unexpected(w, field, err);
			ret = add_map(w, field, v, metric, also, per_dims[d].dim, err);
		}
		if (ret != PERSIST_OK)
			return ret;
	}
	return PERSIST_OK;
}

/* The METRIC of a feedback sub-count: good/bad (generation 2) or a star
   rating "1".."5" (generation 3); NULL when the generation has none. */
static const char *feedback_metric(int generation, const char *name,
				   char *buf, size_t size)
{
	if (generation == 2 && (strcmp(name, "good") == 0 || strcmp(name, "bad") == 0)) {
		snprintf(buf, size, "feedback.%s", name);
		return buf;
	}
	if (generation == 3 && name[0] >= '1' && name[0] <= '5' && name[1] == '\0') {
		snprintf(buf, size, "feedback.rating.%s", name);
		return buf;
	}
	return NULL;
}

/* feedback.perX: {NAME: {sub: count}} into feedback.SUB.DIM.NAME. */
static int add_feedback_map(const struct usage_walk *w, const char *where,
			    struct json_object *map, const char *dim,
			    struct persist_error *err)
{
	char key[KEYBUF], field[KEYBUF], metric[64];
	int ret;

	if ((ret = want_object(w, where, map, err)) != PERSIST_OK)
		return ret;
	json_object_object_foreach(map, name, subs) {
		snprintf(field, sizeof(field), "%s.%s", where, name);
		if ((ret = want_object(w, field, subs, err)) != PERSIST_OK)
			return ret;
		json_object_object_foreach(subs, sub, v) {
			char subfield[KEYBUF];

			snprintf(subfield, sizeof(subfield), "%s.%s", field, sub);
			if (feedback_metric(w->generation, sub, metric, sizeof(metric)) == NULL)
				return unexpected(w, subfield, err);
			snprintf(key, sizeof(key), "%s.%s.%s", metric, dim, name);
			if ((ret = add_count(w, subfield, v, key, NULL, err)) != PERSIST_OK)
				return ret;
		}
	}
	return PERSIST_OK;
}

/* The "feedback" object of generations 2 and 3. */
static int add_feedback(const struct usage_walk *w, struct json_object *fb,
			struct persist_error *err)
{
	char key[KEYBUF], field[KEYBUF], metric[64];
	int ret;

	if ((ret = want_object(w, "feedback", fb, err)) != PERSIST_OK)
		return ret;
	json_object_object_foreach(fb, name, v) {
		size_t d;

		snprintf(field, sizeof(field), "feedback.%s", name);
		for (d = 0; d < 3; d++)
			if (strcmp(name, per_dims[d].field) == 0)
				break;
		if (d < 3) {
			ret = add_feedback_map(w, field, v, per_dims[d].dim, err);
		} else if (w->generation == 2 &&
			   feedback_metric(2, name, metric, sizeof(metric)) != NULL) {
			snprintf(key, sizeof(key), "%s.total", metric);
			ret = add_count(w, field, v, key, NULL, err);
		} else if (w->generation == 3 && strcmp(name, "ratings") == 0) {
			if ((ret = want_object(w, field, v, err)) != PERSIST_OK)
				return ret;
			json_object_object_foreach(v, star, n) {
				char subfield[KEYBUF];

				snprintf(subfield, sizeof(subfield), "%s.%s", field, star);
				if (feedback_metric(3, star, metric, sizeof(metric)) == NULL)
					return unexpected(w, subfield, err);
				snprintf(key, sizeof(key), "%s.total", metric);
				if ((ret = add_count(w, subfield, n, key, NULL, err)) != PERSIST_OK)
					return ret;
			}
		} else {
			return unexpected(w, field, err);
		}
		if (ret != PERSIST_OK)
			return ret;
	}
	return PERSIST_OK;
}

/* Generation 1: the flat fields, NAME -> (metric, dim or NULL for total). */
static int add_flat(const struct usage_walk *w, struct json_object *root,
		    struct persist_error *err)
{
	static const struct {
		const char *field, *metric, *dim;
	} flat[] = {
		{ "totalMessages", "messages", NULL },
		{ "userMessages", "messages", "user" },
		{ "appMessages", "messages", "app" },
		{ "modelMessages", "messages", "model" },
		{ "totalTokens", "tokens", NULL },
		{ "userTokens", "tokens", "user" },
		{ "appTokens", "tokens", "app" },
		{ "modelTokens", "tokens", "model" },
		{ "feedbackGood", "feedback.good", NULL },
		{ "feedbackBad", "feedback.bad", NULL },
	};
	char key[KEYBUF];
	int ret = PERSIST_OK;

	json_object_object_foreach(root, name, v) {
		size_t i;

		if (strcmp(name, "lastUpdated") == 0)
			continue;
		for (i = 0; i < sizeof(flat) / sizeof(flat[0]); i++)
			if (strcmp(name, flat[i].field) == 0)
				break;
		if (i == sizeof(flat) / sizeof(flat[0]))
			return unexpected(w, name, err);
		if (flat[i].dim == NULL) {
			snprintf(key, sizeof(key), "%s.total", flat[i].metric);
			ret = add_count(w, name, v, key, NULL, err);
		} else {
			ret = add_map(w, name, v, flat[i].metric, NULL, flat[i].dim, err);
		}
		if (ret != PERSIST_OK)
			return ret;
	}
	return PERSIST_OK;
}

/* Generations 2 and 3: the nested groups. */
static int add_nested(const struct usage_walk *w, struct json_object *root,
		      struct persist_error *err)
{
	int ret = PERSIST_OK;

	json_object_object_foreach(root, name, v) {
		if (strcmp(name, "lastUpdated") == 0 || strcmp(name, "lastReset") == 0 ||
		    (w->generation == 3 && strcmp(name, "version") == 0))
			continue;
		if (strcmp(name, "messages") == 0)
			ret = add_group(w, name, v, "messages", NULL, err);
		else if (strcmp(name, "magicPrompt") == 0)
			ret = add_group(w, name, v, "magicPrompts", NULL, err);
		else if (strcmp(name, "feedback") == 0)
			ret = add_feedback(w, v, err);
		else if (strcmp(name, "tokens") == 0 && w->generation == 2)
			ret = add_group(w, name, v, "tokens", NULL, err);
		else if (strcmp(name, "tokens") == 0) {
			if ((ret = want_object(w, name, v, err)) != PERSIST_OK)
				return ret;
			json_object_object_foreach(v, part, group) {
				char field[64], metric[64];

				snprintf(field, sizeof(field), "tokens.%.32s", part);
				if (strcmp(part, "prompt") != 0 && strcmp(part, "completion") != 0)
					return unexpected(w, field, err);
				snprintf(metric, sizeof(metric), "tokens.%s", part);
				if ((ret = add_group(w, field, group, metric, "tokens",
						     err)) != PERSIST_OK)
					return ret;
			}
		} else
			return unexpected(w, name, err);
		if (ret != PERSIST_OK)
			return ret;
	}
	return PERSIST_OK;
}

/* Tell the generation of the parsed file; 0 and err filled when unknown. */
static int detect_generation(const char *path, struct json_object *root,
			     struct persist_error *err)
{
	struct json_object *v, *per;

	if (!json_object_is_type(root, json_type_object)) {
		import_error(err, PERSIST_EINVAL, 0,
			     "unknown schema generation of \"%s\"\n"
			     "The file is not a JSON object.", path);
		return 0;
	}
	if (json_object_object_get_ex(root, "version", &v)) {
		if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) == 3)
			return 3;
		import_error(err, PERSIST_EINVAL, 0,
			     "unknown schema generation of \"%s\": version %s\n"
			     "Known: 1 (flat), 2 (nested, no version), 3 (\"version\": 3); "
			     "nothing was imported.", path, json_object_to_json_string(v));
		return 0;
	}
	if (json_object_object_get_ex(root, "totalMessages", NULL))
		return 1;
	if (json_object_object_get_ex(root, "messages", &v) &&
	    json_object_is_type(v, json_type_object) &&
	    json_object_object_get_ex(v, "perUser", &per))
		return 2;
	import_error(err, PERSIST_EINVAL, 0,
		     "unknown schema generation of \"%s\"\n"
		     "It has no \"version\", no \"totalMessages\" (generation 1) and "
		     "no \"messages.perUser\" (generation 2); nothing was imported.", path);
	return 0;
}

/* usage.json into the usage collection's counters. */
int import_usage(const struct import_ctx *ic, struct persist_error *err)
{
	struct persist_error e = { 0 };
	struct json_object *root = NULL;
	struct persist_entry *keys = NULL;
	char *path = NULL;
	struct usage_walk w = { .ic = ic };
	size_t n = 0;
	int ret;

	ret = import_load_json(ic, FILE_REL, &path, &root, err);
	if (ret != PERSIST_OK || root == NULL)
		goto out;
	w.path = path;
	w.generation = detect_generation(path, root, err);
	if (w.generation == 0) {
		ret = PERSIST_EINVAL;
		goto out;
	}
	ret = w.generation == 1 ? add_flat(&w, root, err) : add_nested(&w, root, err);
	if (ret != PERSIST_OK)
		goto out;
	ic->counts->usage_generation = w.generation;
	if (persist_state_scan(ic->p, IMPORT_COLL_USAGE, NULL, &keys, &n, &e) != PERSIST_OK) {
		ret = import_error(err, e.code, e.sys_errno, "%s", e.msg);
		goto out;
	}
	ic->counts->counters = n;
	persist_items_free(keys, n);
out:
	json_object_put(root);
	free(path);
	return ret;
}
