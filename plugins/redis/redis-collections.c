/*
 * plugins/redis/redis-collections.c - listing the collections of a state
 * store: the names C of the keys P s:{C}:h (the hash every key of a
 * collection has a field in) and P s:{C}:log (its append log).
 *
 * The listing walks the database with SCAN MATCH P s:{*}:[hl]* (never
 * KEYS, which blocks the server for the whole database).  SCAN rather
 * than a registry of names kept beside the data, because:
 *   - the keys are the truth every process shares: what another process
 *     wrote is listed, and a drop (one script deleting the hash and the
 *     list) or the deletion of a collection's last key (Redis removes an
 *     empty hash or list by itself) takes the name away at once, with
 *     nothing that could drift out of step;
 *   - data written before the plugin could list collections is listed
 *     too, so a store can be copied whatever version wrote it;
 *   - the writes stay as they are (incr is one HINCRBY), where a
 *     registry would add a command to every write, counters, values with
 *     TTL, logs, batches and batch_once alike.
 * The price is a walk over the whole database, bounded per round trip
 * (COUNT), which suits a tool that copies or inspects a store.
 *
 * A key matches the pattern also when a value key's name happens to end
 * in "}:h..." (P s:{C}:v:x}:h), so each key is checked: the name is what
 * lies between "s:{" and the first '}' (C cannot contain one), followed
 * by exactly ":h" or ":log", and must be a collection name.  The log's
 * base P s:{C}:lb alone (a log trimmed to nothing) is not listed.  A hash
 * left holding only the markers of expired values may be listed, as
 * plugin.h allows.  SCAN may return a key twice, and a collection has two
 * keys: a set of the names emitted makes each appear once.
 */
#include "redis-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The SCAN pattern: the escaped P s:{, then *}:[hl]*. */
static char *collections_pattern(const struct redis_store *st)
{
	size_t plen = strlen(st->conf.prefix);
	char *head = malloc(plen + 4), *glob, *pattern = NULL;

	if (head == NULL)
		return NULL;
	memcpy(head, st->conf.prefix, plen);
	memcpy(head + plen, "s:{", 4);
	glob = redis_glob_prefix(head, plen + 3); /* ends in '*' */
	free(head);
	if (glob != NULL) {
		size_t glen = strlen(glob);

		pattern = malloc(glen + sizeof("}:[hl]*"));
		if (pattern != NULL) {
			memcpy(pattern, glob, glen);
			memcpy(pattern + glen, "}:[hl]*", sizeof("}:[hl]*"));
		}
		free(glob);
	}
	return pattern;
}

/* The collection a key found by SCAN belongs to when it is the hash or
   the log of one: its name in name_r, 1; else 0. */
static int collections_key(const struct redis_store *st, const char *key,
			   size_t len, char name_r[PERSIST_COLLECTION_MAX + 1])
{
	size_t plen = strlen(st->conf.prefix) + 3, n;
	const char *name = key + plen, *end, *rest;
	size_t rest_len;

	if (len <= plen)
		return 0;
	end = memchr(name, '}', len - plen);
	if (end == NULL)
		return 0;
	n = (size_t)(end - name);
	rest = end + 1;
	rest_len = len - plen - n - 1;
	if (!(rest_len == 2 && memcmp(rest, ":h", 2) == 0) &&
	    !(rest_len == 4 && memcmp(rest, ":log", 4) == 0))
		return 0;
	if (!pc_collection_valid(name, n))
		return 0;
	memcpy(name_r, name, n);
	name_r[n] = '\0';
	return 1;
}

/* What collections() carries through the walk. */
struct collections_walk {
	const struct redis_store *st;
	struct pc_map seen;   /* names emitted so far (a set) */
	persist_emit_fn *emit;
	void *ctx;
};

/* One key of the walk: emit its collection unless it was. */
static int collections_one(void *ctx, const char *key, size_t len,
			   struct persist_error *err)
{
	struct collections_walk *w = ctx;
	char name[PERSIST_COLLECTION_MAX + 1];
	struct persist_item item = { .size = sizeof(item), .key = name };
	int added;

	if (!collections_key(w->st, key, len, name))
		return PERSIST_OK;
	added = pc_map_add(&w->seen, name, strlen(name), NULL);
	if (added < 0)
		return w->st->host->error(err, PERSIST_ENOMEM, ENOMEM,
					  "list of state collections: out of memory");
	if (added == 0)
		return PERSIST_OK;
	return w->emit(w->ctx, &item) != 0 ? REDIS_WALK_STOP : PERSIST_OK;
}

/* collections(): SCAN the hashes and logs of every collection (see the
   top of this file); each name once. */
int redis_state_collections(void *store, persist_emit_fn *emit, void *ctx,
			    struct persist_error *err)
{
	struct redis_store *st = store;
	struct collections_walk w = { .st = st, .emit = emit, .ctx = ctx };
	char *pattern;
	int ret;

	if (emit == NULL)
		return st->host->error(err, PERSIST_EINVAL, 0,
				       "state collections without a callback");
	pattern = collections_pattern(st);
	if (pattern == NULL)
		return st->host->error(err, PERSIST_ENOMEM, ENOMEM,
				       "list of state collections: out of memory");
	ret = redis_walk_keys(st, "list of state collections", pattern,
			      collections_one, &w, err);
	free(pattern);
	pc_map_deinit(&w.seen);
	return ret;
}
