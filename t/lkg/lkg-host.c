/*
 * t/lkg/lkg-host.c - the host side of test-config-lkg.sh: opens a
 * configuration file and checks, through the public API, what the
 * configuration's last-known-good copy promises while its provider is
 * down.
 *
 *   lkg-host FILE down KEY=ETAG...   every KEY is answered by get and
 *       get_many with that ETag and the copy's bytes; list gives exactly
 *       the KEYs; persist_config_copy_status says it serves from the copy
 *       and why; set and delete answer PERSIST_EUNAVAIL naming the
 *       provider; a key the copy lacks answers PERSIST_EUNAVAIL.
 *   lkg-host FILE offline KEY=ETAG...   the same, for a handle whose
 *       configuration store could not be opened; the status says so.
 *   lkg-host FILE up KEY   the provider answers: get of KEY is answered by
 *       it (status not serving from the copy afterwards).
 *   lkg-host FILE notify KEY OTHER   KEY is read (and so kept) and
 *       subscribed to; a second handle on configuration file OTHER (no
 *       spoolDir) deletes it; once the deletion's notification arrives,
 *       the copy no longer holds KEY.
 *
 * Prints one line per check and "N passed, N failed"; exit 1 on a failure.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <persist/persist.h>

static int passed, failed;

/* Record one check. */
static void check(int ok, const char *what, const struct persist_error *err)
{
	if (ok) {
		passed++;
		printf("ok   %s\n", what);
	} else {
		failed++;
		printf("FAIL %s%s%s\n", what, err != NULL ? ": " : "",
		       err != NULL ? err->msg : "");
	}
}

/* The provider is down: everything the copy promises. */
static void down(persist *p, int n, char **pairs)
{
	struct persist_config_copy st = { .size = sizeof(st) };
	struct persist_error err;
	struct persist_entry *items = NULL;
	const char **keys = calloc((size_t)n + 1, sizeof(*keys));
	const char *prov = persist_provider(p, PERSIST_KIND_CONFIG);
	size_t count = 0;
	char etag[PERSIST_ETAG_MAX], *doc = NULL;
	size_t len;
	int ret;

	for (int i = 0; i < n; i++) {
		char *eq = strchr(pairs[i], '=');
		char what[256];

		*eq = '\0';
		keys[i] = pairs[i];
		ret = persist_config_get(p, pairs[i], &doc, &len, etag, &err);
		snprintf(what, sizeof(what), "get %s from the copy with ETag %s", pairs[i], eq + 1);
		check(ret == PERSIST_OK && strcmp(etag, eq + 1) == 0 && doc != NULL &&
		      strlen(doc) == len, what, ret == PERSIST_OK ? NULL : &err);
		persist_free(doc);
		doc = NULL;
	}
	ret = persist_config_copy_status(p, &st, &err);
	if (prov == NULL)
		prov = "?";
	check(ret == PERSIST_OK && st.enabled && st.serving && st.documents == (uint64_t)n &&
	      st.reason[0] != '\0', "copy status: serving, with a reason", NULL);
	printf("     dir %s, %llu documents, reason: %s\n", st.dir,
	       (unsigned long long)st.documents, st.reason);
	ret = persist_config_get_many(p, keys, (size_t)n, &items, &err);
	check(ret == PERSIST_OK, "get_many from the copy", ret == PERSIST_OK ? NULL : &err);
	for (int i = 0; ret == PERSIST_OK && i < n; i++) {
		char *eq = pairs[i] + strlen(pairs[i]) + 1;
		check(items[i].status == PERSIST_OK && strcmp(items[i].etag, eq) == 0,
		      "get_many entry has its ETag", NULL);
	}
	if (ret == PERSIST_OK)
		persist_items_free(items, (size_t)n);
	ret = persist_config_list(p, &items, &count, &err);
	check(ret == PERSIST_OK && count == (size_t)n, "list from the copy has every kept key",
	      ret == PERSIST_OK ? NULL : &err);
	if (ret == PERSIST_OK) {
		for (size_t i = 0; i < count; i++) {
			int known = 0;
			for (int j = 0; j < n; j++)
				known |= strcmp(items[i].key, keys[j]) == 0;
			check(known, "listed key is one that was kept", NULL);
		}
		persist_items_free(items, count);
	}
	ret = persist_config_set(p, keys[0], "{\"new\":1}", 9, NULL, 0, etag, &err);
	check(ret == PERSIST_EUNAVAIL && strstr(err.msg, prov) != NULL,
	      "set answers unavailable naming the provider", &err);
	ret = persist_config_delete(p, keys[0], NULL, &err);
	check(ret == PERSIST_EUNAVAIL && strstr(err.msg, prov) != NULL,
	      "delete answers unavailable naming the provider", &err);
	ret = persist_config_get(p, "never-kept", &doc, &len, etag, &err);
	check(ret == PERSIST_EUNAVAIL, "a key the copy lacks answers unavailable", &err);
	free(keys);
}

/* The provider answers again. */
static void up(persist *p, const char *key)
{
	struct persist_config_copy st = { .size = sizeof(st) };
	struct persist_error err;
	char etag[PERSIST_ETAG_MAX], *doc = NULL;
	size_t len;
	int ret;

	ret = persist_config_get(p, key, &doc, &len, etag, &err);
	check(ret == PERSIST_OK || ret == PERSIST_ENOTFOUND, "get from the provider",
	      ret == PERSIST_OK || ret == PERSIST_ENOTFOUND ? NULL : &err);
	persist_free(doc);
	ret = persist_config_copy_status(p, &st, &err);
	check(ret == PERSIST_OK && st.enabled && !st.serving, "copy status: not serving", NULL);
}

/* A subscription's notifications: the last ETag seen ("-": deleted). */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static char seen[PERSIST_ETAG_MAX];

static void on_change(void *ctx, const char *key, const char *etag)
{
	(void)ctx; (void)key;
	pthread_mutex_lock(&seen_lock);
	snprintf(seen, sizeof(seen), "%s", etag != NULL ? etag : "-");
	pthread_mutex_unlock(&seen_lock);
}

/* Another instance deletes a kept document: the notification removes it
   from the copy. */
static void notify(persist *p, const char *key, const char *other)
{
	struct persist_config_copy before = { .size = sizeof(before) }, after = before;
	struct persist_error err;
	char etag[PERSIST_ETAG_MAX], *doc = NULL;
	uint64_t id;
	size_t len;
	persist *q = NULL;
	int ret, deleted = 0;

	ret = persist_config_get(p, key, &doc, &len, etag, &err);
	check(ret == PERSIST_OK, "get (keeps the document)", ret == PERSIST_OK ? NULL : &err);
	persist_free(doc);
	ret = persist_config_subscribe(p, key, on_change, NULL, &id, &err);
	check(ret == PERSIST_OK, "subscribe", ret == PERSIST_OK ? NULL : &err);
	persist_config_copy_status(p, &before, &err);
	ret = persist_open_file(other, NULL, &q, &err);
	check(ret == PERSIST_OK, "open a second handle", ret == PERSIST_OK ? NULL : &err);
	if (ret != PERSIST_OK)
		return;
	ret = persist_config_delete(q, key, NULL, &err);
	check(ret == PERSIST_OK, "delete through the second handle", ret == PERSIST_OK ? NULL : &err);
	for (int i = 0; i < 500 && !deleted; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		pthread_mutex_lock(&seen_lock);
		deleted = strcmp(seen, "-") == 0;
		pthread_mutex_unlock(&seen_lock);
		if (!deleted)
			nanosleep(&ts, NULL);
	}
	check(deleted, "the deletion was notified", NULL);
	persist_config_copy_status(p, &after, &err);
	check(after.documents + 1 == before.documents,
	      "the notified deletion removed the copy", NULL);
	persist_config_unsubscribe(p, id, &err);
	persist_close(q, &err);
}

int main(int argc, char **argv)
{
	struct persist_error err;
	persist *p;
	int ret;

	if (argc < 4) {
		fprintf(stderr, "usage: lkg-host FILE down|offline KEY=ETAG... | "
			"FILE up KEY | FILE notify KEY OTHER-FILE\n");
		return 2;
	}
	ret = persist_open_file(argv[1], NULL, &p, &err);
	check(ret == PERSIST_OK, "open", ret == PERSIST_OK ? NULL : &err);
	if (ret != PERSIST_OK)
		return 1;
	if (strcmp(argv[2], "down") == 0 || strcmp(argv[2], "offline") == 0) {
		struct persist_config_copy st = { .size = sizeof(st) };

		persist_config_copy_status(p, &st, &err);
		check(st.offline == (strcmp(argv[2], "offline") == 0),
		      "copy status: offline only when the store could not open", NULL);
		down(p, argc - 3, argv + 3);
	}
	else if (strcmp(argv[2], "notify") == 0 && argc == 5)
		notify(p, argv[3], argv[4]);
	else
		up(p, argv[3]);
	persist_close(p, &err);
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
