/*
 * tools/import-links.c - the platform's short links (shortlinks.json,
 * {"links": [{"code", "url", ..., "usage", "expiresAt"}, ...]}) as keys:
 * one key per link in the shortlinks collection, named by its code and
 * holding the link's JSON object (every field kept, usage included), with
 * the time left until expiresAt as its TTL.
 *
 * expiresAt is an ISO 8601 time in UTC or with an offset
 * ("2026-03-01T12:00:00.000Z", "...+02:00"), a number of milliseconds
 * since 1970, or null/absent (the link never expires).  A link whose time
 * has passed is skipped and counted as expired.  A link without a code,
 * a code used twice, or an expiresAt that cannot be read stops the import,
 * naming the link's index and field.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "import.h"

#define FILE_REL "contents/data/shortlinks.json"

/* Parse an ISO 8601 date-time into milliseconds since 1970; 0 on success. */
static int parse_iso8601(const char *s, int64_t *ms_r)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, n = 0, ms = 0;
	int64_t offset_s = 0;
	const char *p;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
	    n != 19)
		return -1;
	p = s + n;
	if (*p == '.') {
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				ms = ms * 10 + (*p - '0');
		if (digits == 0)
			return -1;
		for (; digits < 3; digits++)
			ms *= 10;
	}
	if (*p == 'Z' && p[1] == '\0') {
		offset_s = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int oh, om;
		if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 || om > 59)
			return -1;
		offset_s = (int64_t)(oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
	} else {
		return -1;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*ms_r = ((int64_t)timegm(&tm) - offset_s) * 1000 + ms;
	return 0;
}

/* The expiry of link i: 0 none, else ms since 1970. */
static int link_expiry(const char *path, size_t i, struct json_object *link,
		       int64_t *expires_r, struct persist_error *err)
{
	struct json_object *v;

	*expires_r = 0;
	if (!json_object_object_get_ex(link, "expiresAt", &v) || v == NULL)
		return PERSIST_OK;
	if (json_object_is_type(v, json_type_int)) {
		*expires_r = json_object_get_int64(v);
		if (*expires_r > 0)
			return PERSIST_OK;
	} else if (json_object_is_type(v, json_type_string) &&
		   parse_iso8601(json_object_get_string(v), expires_r) == 0) {
		return PERSIST_OK;
	}
	return import_error(err, PERSIST_EINVAL, 0,
			    "invalid field links[%zu].expiresAt of \"%s\": %s\n"
			    "Give an ISO 8601 time (\"2026-03-01T12:00:00.000Z\"), "
			    "milliseconds since 1970, or null.",
			    i, path, json_object_to_json_string(v));
}

/* Store link i (or count it expired). */
static int import_link(const struct import_ctx *ic, const char *path, size_t i,
		       struct json_object *link, struct json_object *seen,
		       struct persist_error *err)
{
	struct persist_error e = { 0 };
	struct json_object *code, *first;
	const char *text;
	int64_t expires, ttl = 0;
	int ret;

	if (!json_object_is_type(link, json_type_object))
		return import_error(err, PERSIST_EINVAL, 0,
				    "invalid element links[%zu] of \"%s\"\n"
				    "A link is an object with at least a \"code\".", i, path);
	if (!json_object_object_get_ex(link, "code", &code) ||
	    !json_object_is_type(code, json_type_string) ||
	    json_object_get_string_len(code) == 0)
		return import_error(err, PERSIST_EINVAL, 0,
				    "invalid field links[%zu].code of \"%s\"\n"
				    "Each link needs its code, a non-empty string.", i, path);
	if (json_object_object_get_ex(seen, json_object_get_string(code), &first))
		return import_error(err, PERSIST_EINVAL, 0,
				    "duplicate short link code \"%s\" in \"%s\"\n"
				    "links[%d] and links[%zu] have the same code.",
				    json_object_get_string(code), path,
				    json_object_get_int(first), i);
	json_object_object_add(seen, json_object_get_string(code),
			       json_object_new_int((int)i));
	if ((ret = link_expiry(path, i, link, &expires, err)) != PERSIST_OK)
		return ret;
	if (expires != 0) {
		ttl = expires - ic->now_ms;
		if (ttl <= 0) {
			ic->counts->links_expired++;
			return PERSIST_OK;
		}
		if (ttl > PERSIST_TTL_MAX_MS)
			return import_error(err, PERSIST_EINVAL, 0,
					    "invalid field links[%zu].expiresAt of \"%s\"\n"
					    "It is more than 100 years away.", i, path);
	} else {
		ic->counts->links_no_expiry++;
	}
	text = json_object_to_json_string_ext(link, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	if (persist_state_set(ic->p, IMPORT_COLL_LINKS, json_object_get_string(code),
			      text, strlen(text), ttl, &e) != PERSIST_OK)
		return import_error(err, e.code, e.sys_errno,
				    "cannot import links[%zu] of \"%s\"\n%s", i, path, e.msg);
	ic->counts->links++;
	return PERSIST_OK;
}

/* shortlinks.json into the shortlinks collection. */
int import_links(const struct import_ctx *ic, struct persist_error *err)
{
	struct json_object *root = NULL, *links = NULL, *seen = NULL;
	char *path = NULL;
	int ret;

	ret = import_load_json(ic, FILE_REL, &path, &root, err);
	if (ret != PERSIST_OK || root == NULL)
		goto out;
	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "links", &links) ||
	    !json_object_is_type(links, json_type_array)) {
		ret = import_error(err, PERSIST_EINVAL, 0,
				   "unexpected shape of \"%s\"\n"
				   "The file is an object whose \"links\" is an array of links.",
				   path);
		goto out;
	}
	json_object_object_foreach(root, name, val) {
		(void)val;
		if (strcmp(name, "links") != 0 && strcmp(name, "lastUpdated") != 0) {
			ret = import_error(err, PERSIST_EINVAL, 0,
					   "unexpected field \"%s\" in \"%s\"\n"
					   "Only \"links\" (and \"lastUpdated\", ignored) "
					   "are known; nothing was imported.", name, path);
			goto out;
		}
	}
	seen = json_object_new_object();
	if (seen == NULL) {
		ret = import_error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(links); i++)
		if ((ret = import_link(ic, path, i, json_object_array_get_idx(links, i),
				       seen, err)) != PERSIST_OK)
			break;
out:
	json_object_put(seen);
	json_object_put(root);
	free(path);
	return ret;
}
