/*
 * t/conformance/cleanup.c - the last suite of a run: delete everything the
 * run wrote, so that runs against a persistent backend (a directory, a
 * redis server) leave nothing behind, even after failed tests.
 *
 * Every name the run uses starts with its unique prefix (ct.run) and is
 * made by ct_name(), which remembers it here.  At the end every document
 * and session whose name starts with the prefix is deleted (found through
 * the listings), and every key of every remembered name used as a
 * collection.  The suite then lists again: what is still there is a
 * failure of the rule that a delete removes.  A provider that can drop
 * collections (persist_state_drop) has each of the run's collections
 * dropped, its append log with it; one that cannot has the keys deleted
 * one by one, and its logs stay (their collections are named after the
 * run, so no later run reads them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conformance.h"

static char **ct_names;
static size_t ct_n_names, ct_alloc_names;

/* Remember a name (once). */
void ct_remember(const char *name)
{
	char *copy;

	for (size_t i = 0; i < ct_n_names; i++) {
		if (strcmp(ct_names[i], name) == 0)
			return;
	}
	if (ct_n_names == ct_alloc_names) {
		size_t n = ct_alloc_names == 0 ? 64 : ct_alloc_names * 2;
		char **more = realloc(ct_names, n * sizeof(*more));

		if (more == NULL)
			return;
		ct_names = more;
		ct_alloc_names = n;
	}
	if ((copy = strdup(name)) != NULL)
		ct_names[ct_n_names++] = copy;
}

/* True when name belongs to this run. */
static int ct_is_ours(const char *name)
{
	return name != NULL && strncmp(name, ct.run, strlen(ct.run)) == 0;
}

/* Delete this run's documents; the number left afterwards. */
static size_t ct_clean_config(size_t *deleted)
{
	struct persist_entry *e = NULL;
	struct persist_error err;
	size_t n = 0, left = 0;

	if (persist_config_list(ct.direct, &e, &n, &err) != PERSIST_OK) {
		CT_CHECK(0, "listing the documents to delete: %s", err.msg);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (ct_is_ours(e[i].key) &&
		    persist_config_delete(ct.direct, e[i].key, NULL, &err) == PERSIST_OK)
			(*deleted)++;
	}
	persist_items_free(e, n);
	e = NULL;
	if (persist_config_list(ct.direct, &e, &n, &err) != PERSIST_OK)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (ct_is_ours(e[i].key) && left++ == 0)
			CT_CHECK(0, "document \"%s\" was deleted but is still listed", e[i].key);
	}
	persist_items_free(e, n);
	return left;
}

/* Whether the provider can drop collections (1), cannot (0), or it is
   not known yet (-1). */
static int ct_can_drop = -1;

/* Drop collection coll with its log; 1 when dropped, 0 when the
   provider cannot drop (then its keys are deleted one by one). */
static int ct_drop_collection(const char *coll, size_t *dropped)
{
	struct persist_error err;
	int ret;

	if (ct_can_drop == 0)
		return 0;
	ret = persist_state_drop(ct.a, coll, &err);
	if (ret == PERSIST_ENOTSUP) {
		ct_can_drop = 0;
		return 0;
	}
	ct_can_drop = 1;
	/* not every name is a valid collection name: those answer EINVAL */
	if (ret == PERSIST_OK)
		(*dropped)++;
	else if (ret != PERSIST_EINVAL)
		CT_CHECK(0, "dropping collection \"%s\": %s", coll, err.msg);
	return 1;
}

/* Delete the keys of collection coll (drop it, with its log, when the
   provider can); the number of keys left afterwards. */
static size_t ct_clean_collection(const char *coll, size_t *deleted,
				  size_t *dropped)
{
	struct persist_entry *e = NULL;
	struct persist_error err;
	size_t n = 0, left = 0;

	/* not every name is a valid collection name: those are skipped */
	if (persist_state_scan(ct.a, coll, "", &e, &n, &err) != PERSIST_OK)
		return 0;
	if (ct_drop_collection(coll, dropped)) {
		*deleted += n;
		n = 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (persist_state_delete(ct.a, coll, e[i].key, &err) == PERSIST_OK)
			(*deleted)++;
	}
	persist_items_free(e, n);
	e = NULL;
	if (persist_state_scan(ct.a, coll, "", &e, &n, &err) != PERSIST_OK)
		return 0;
	if (n > 0)
		CT_CHECK(0, "key \"%s\" of collection \"%s\" was deleted but is still "
			 "returned by scan", e[0].key, coll);
	left = n;
	persist_items_free(e, n);
	return left;
}

/* Drop this run's sessions; the number left afterwards. */
static size_t ct_clean_sessions(size_t *dropped)
{
	struct persist_entry *e = NULL;
	struct persist_error err;
	size_t n = 0, left = 0;

	if (persist_session_list(ct.a, &e, &n, &err) != PERSIST_OK) {
		CT_CHECK(0, "listing the sessions to drop: %s", err.msg);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (ct_is_ours(e[i].key) &&
		    persist_session_drop(ct.a, e[i].key, &err) == PERSIST_OK)
			(*dropped)++;
	}
	persist_items_free(e, n);
	e = NULL;
	if (persist_session_list(ct.a, &e, &n, &err) != PERSIST_OK)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (ct_is_ours(e[i].key) && left++ == 0)
			CT_CHECK(0, "session \"%s\" was dropped but is still listed", e[i].key);
	}
	persist_items_free(e, n);
	return left;
}

/* The cleanup test: delete, then check that nothing of the run is left. */
static void test_cleanup(void)
{
	size_t docs = 0, keys = 0, sessions = 0, colls = 0, left = 0;

	if (ct.has_kind[PERSIST_KIND_CONFIG])
		left += ct_clean_config(&docs);
	if (ct.has_kind[PERSIST_KIND_STATE]) {
		for (size_t i = 0; i < ct_n_names; i++)
			left += ct_clean_collection(ct_names[i], &keys, &colls);
	}
	if (ct.has_kind[PERSIST_KIND_SESSION])
		left += ct_clean_sessions(&sessions);
	printf("\n    deleted %zu documents, %zu keys (%zu collections dropped with "
	       "their logs) and %zu sessions of this run%s\n",
	       docs, keys, colls, sessions,
	       ct_can_drop == 0 &&
	       (ct.caps[PERSIST_KIND_STATE] & PERSIST_CAP_APPEND_LOG) ?
	       "; the provider cannot drop collections, so their append logs stay" : "");
	CT_EQ(left, 0);
	for (size_t i = 0; i < ct_n_names; i++)
		free(ct_names[i]);
	free(ct_names);
	ct_names = NULL;
	ct_n_names = ct_alloc_names = 0;
}

/* Register the cleanup suite (last). */
int ct_register_cleanup(void)
{
	static const struct ct_test t = {
		0, "everything of the run deleted", test_cleanup, "cleanup.delete",
		"Values, documents and sessions",
		"what a run wrote can be deleted, and is gone from every listing afterwards",
	};
	CU_pSuite s = CU_add_suite("cleanup", NULL, NULL);

	return s != NULL ? ct_add_test(s, &t) : -1;
}
