/*
 * core/config-api.c - persist_config_*: configuration documents with
 * ETags, served through the cache, written through to the provider, and
 * change subscriptions.
 *
 * Reads: cache hit -> copy; miss -> provider get -> cache (unless a change
 * notification arrived meanwhile).  Writes go to the provider, then replace
 * the cached copy, so a handle always reads its own writes; other handles
 * see them when the provider's notification arrives (PERSIST_CAP_NOTIFY) or
 * at the latest after cacheTTL.
 *
 * With spoolDir, what the provider answers is also kept in the
 * last-known-good copy (config-lkg.c), which answers reads while the
 * provider is unavailable.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persist-handle.h"
#include "cache.h"
#include "notify.h"
#include "config-lkg.h"

#define CONFIG_OPS(sink) ((const struct persist_config_ops *)(sink)->ops)

/* Read one document from the provider (no cache). */
static int provider_get(struct persist_sink *sink, const char *key,
			struct persist_value *value, struct persist_error *err)
{
	int ret;

	memset(value, 0, sizeof(*value));
	if (!PERSIST_OPS_HAS(sink, struct persist_config_ops, get))
		return persist_not_supported(sink, "get", err);
	PERSIST_SINK_CALL(sink, ret,
		CONFIG_OPS(sink)->get(sink->store, key, value, err));
	if (ret != PERSIST_OK) {
		free(value->data);
		memset(value, 0, sizeof(*value));
		return persist_provider_error(sink, ret, err);
	}
	if (value->data == NULL && value->len > 0)
		return persist_error_set(err, PERSIST_EIO, 0,
			"provider \"%s\" returned no data for key \"%s\"", sink->provider, key);
	if (value->etag[0] == '\0' || memchr(value->etag, '\0', PERSIST_ETAG_MAX) == NULL)
		persist_etag(value->data, value->len, value->etag);
	return PERSIST_OK;
}

/* Document, ETag and expiry (0: none, or not known: a document served
   from the last-known-good copy), from the cache within cacheTTL. */
static int config_get(persist *p, const char *key, char **data_r,
		      size_t *len_r, char etag_r[PERSIST_ETAG_MAX],
		      int64_t *expires_ms_r, struct persist_error *err)
{
	struct persist_sink *sink;
	struct persist_value value;
	uint64_t gen = 0;
	int ret, found;

	if (persist_lkg_offline(p)) {
		persist_error_clear(err);
		if ((ret = persist_valid_key("configuration key", key, err)) != PERSIST_OK)
			return ret;
		return persist_lkg_get(p, key, PERSIST_EUNAVAIL, data_r, len_r, etag_r, err);
	}
	if ((ret = persist_sink_get(p, PERSIST_KIND_CONFIG, &sink, err)) != PERSIST_OK ||
	    (ret = persist_valid_key("configuration key", key, err)) != PERSIST_OK)
		return ret;
	if (p->cache != NULL) {
		switch (persist_cache_lookup(p->cache, key, &found, data_r, len_r, etag_r,
					     expires_ms_r)) {
		case 1:
			if (!found)
				return persist_error_set(err, PERSIST_ENOTFOUND, 0,
					"configuration key \"%s\" not found", key);
			return PERSIST_OK;
		case -1:
			return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
		default:
			break;
		}
		gen = persist_cache_generation(p->cache);
	}
	ret = provider_get(sink, key, &value, err);
	if (ret == PERSIST_ENOTFOUND) {
		persist_lkg_provider_ok(p);
		persist_lkg_forget(p, key);
		if (p->cache != NULL)
			persist_cache_store(p->cache, gen, key, NULL, 0, NULL, 0);
		if (err != NULL && err->msg[0] == '\0')
			persist_error_set(err, PERSIST_ENOTFOUND, 0,
				"configuration key \"%s\" not found", key);
		return ret;
	}
	if (ret != PERSIST_OK)
		return persist_lkg_get(p, key, ret, data_r, len_r, etag_r, err);
	persist_lkg_provider_ok(p);
	persist_lkg_keep(p, key, value.data, value.len, value.etag);
	if (p->cache != NULL)
		persist_cache_store(p->cache, gen, key, value.data, value.len,
				    value.etag, value.expires_ms);
	if (etag_r != NULL)
		memcpy(etag_r, value.etag, PERSIST_ETAG_MAX);
	if (expires_ms_r != NULL)
		*expires_ms_r = value.expires_ms;
	if (len_r != NULL)
		*len_r = value.len;
	if (data_r != NULL) {
		if (value.data == NULL)
			value.data = persist_memdup0("", 0);
		*data_r = value.data;
	} else {
		free(value.data);
	}
	return PERSIST_OK;
}

/* Several documents, one entry each with its own status. */
int persist_config_get(persist *p, const char *key, char **data_r,
		       size_t *len_r, char etag_r[PERSIST_ETAG_MAX],
		       struct persist_error *err)
{
	return config_get(p, key, data_r, len_r, etag_r, NULL, err);
}

int persist_config_get_many(persist *p, const char *const *keys, size_t n,
			    struct persist_entry **entries_r,
			    struct persist_error *err)
{
	struct persist_sink *sink = NULL;
	struct persist_entry *entries;
	int ret;

	if (!persist_lkg_offline(p) &&
	    (ret = persist_sink_get(p, PERSIST_KIND_CONFIG, &sink, err)) != PERSIST_OK)
		return ret;
	persist_error_clear(err);
	if (entries_r == NULL || (keys == NULL && n > 0))
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"persist_config_get_many: %s is NULL", entries_r == NULL ? "entries_r" : "keys");
	for (size_t i = 0; i < n; i++) {
		if ((ret = persist_valid_key("configuration key", keys[i], err)) != PERSIST_OK)
			return ret;
	}
	entries = calloc(n > 0 ? n : 1, sizeof(*entries));
	if (entries == NULL)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct persist_error one;
		entries[i].key = strdup(keys[i]);
		if (entries[i].key == NULL) {
			persist_items_free(entries, n);
			return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
		}
		ret = config_get(p, keys[i], &entries[i].value, &entries[i].len,
				 entries[i].etag, &entries[i].expires_ms, &one);
		entries[i].status = (persist_status)ret;
		if (ret != PERSIST_OK && ret != PERSIST_ENOTFOUND) {
			persist_items_free(entries, n);
			if (err != NULL)
				*err = one;
			return ret;
		}
	}
	*entries_r = entries;
	return PERSIST_OK;
}

/* Store a document (valid JSON), optionally only if the ETag matches. */
int persist_config_set(persist *p, const char *key, const void *data,
		       size_t len, const char *if_match, int64_t ttl_ms,
		       char etag_r[PERSIST_ETAG_MAX], struct persist_error *err)
{
	struct persist_sink *sink;
	struct persist_write_opts opts;
	char etag[PERSIST_ETAG_MAX] = "", what[PERSIST_KEY_MAX + 32];
	int ret;

	if (persist_lkg_offline(p))
		return persist_lkg_refuse(p, "store a configuration document", err);
	if ((ret = persist_sink_get(p, PERSIST_KIND_CONFIG, &sink, err)) != PERSIST_OK ||
	    (ret = persist_valid_key("configuration key", key, err)) != PERSIST_OK)
		return ret;
	if (data == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"document for configuration key \"%s\" is NULL", key);
	snprintf(what, sizeof(what), "document for key \"%s\"", key);
	if ((ret = persist_valid_json(what, data, len, err)) != PERSIST_OK)
		return ret;
	if (if_match != NULL && (if_match[0] == '\0' || strlen(if_match) >= PERSIST_ETAG_MAX))
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"if-match ETag for configuration key \"%s\" is empty or too long", key);
	if ((ret = persist_valid_ttl(ttl_ms, "configuration key", key, err)) != PERSIST_OK)
		return ret;
	if (!PERSIST_OPS_HAS(sink, struct persist_config_ops, set))
		return persist_not_supported(sink, "set", err);
	if (ttl_ms > 0 && (sink->caps & PERSIST_CAP_TTL) == 0)
		return persist_error_set(err, PERSIST_ENOTSUP, 0,
			"provider \"%s\" does not support TTLs on configuration documents",
			sink->provider);
	memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.if_match = if_match;
	opts.ttl_ms = ttl_ms;
	PERSIST_SINK_CALL(sink, ret,
		CONFIG_OPS(sink)->set(sink->store, key, data, len, &opts, etag, err));
	if (p->cache != NULL)
		persist_cache_invalidate(p->cache, key);
	if (ret != PERSIST_OK)
		return persist_provider_error(sink, ret, err);
	if (etag[0] == '\0' || memchr(etag, '\0', sizeof(etag)) == NULL)
		persist_etag(data, len, etag);
	persist_lkg_provider_ok(p);
	persist_lkg_keep(p, key, data, len, etag);
	if (p->cache != NULL)
		persist_cache_store(p->cache, persist_cache_generation(p->cache), key,
				    data, len, etag,
				    persist_expiry_ms(persist_now_ms(), ttl_ms));
	if (etag_r != NULL)
		memcpy(etag_r, etag, PERSIST_ETAG_MAX);
	if ((sink->caps & PERSIST_CAP_NOTIFY) == 0)
		persist_notifier_config_changed(p->notifier, key, etag);
	return PERSIST_OK;
}

/* Delete a document, optionally only if the ETag matches. */
int persist_config_delete(persist *p, const char *key, const char *if_match,
			  struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if (persist_lkg_offline(p))
		return persist_lkg_refuse(p, "delete a configuration document", err);
	if ((ret = persist_sink_get(p, PERSIST_KIND_CONFIG, &sink, err)) != PERSIST_OK ||
	    (ret = persist_valid_key("configuration key", key, err)) != PERSIST_OK)
		return ret;
	if (if_match != NULL && (if_match[0] == '\0' || strlen(if_match) >= PERSIST_ETAG_MAX))
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"if-match ETag for configuration key \"%s\" is empty or too long", key);
	if (!PERSIST_OPS_HAS(sink, struct persist_config_ops, del))
		return persist_not_supported(sink, "delete", err);
	PERSIST_SINK_CALL(sink, ret,
		CONFIG_OPS(sink)->del(sink->store, key, if_match, err));
	if (p->cache != NULL)
		persist_cache_invalidate(p->cache, key);
	if (ret == PERSIST_OK || ret == PERSIST_ENOTFOUND)
		persist_lkg_forget(p, key);
	if (ret != PERSIST_OK)
		return persist_provider_error(sink, ret, err);
	persist_lkg_provider_ok(p);
	if ((sink->caps & PERSIST_CAP_NOTIFY) == 0)
		persist_notifier_config_changed(p->notifier, key, NULL);
	return PERSIST_OK;
}

/* Every configuration key, sorted. */
int persist_config_list(persist *p, struct persist_entry **keys_r, size_t *n_r,
			struct persist_error *err)
{
	struct persist_sink *sink = NULL;
	struct persist_collector list = { .with_value = 0 };
	int ret;

	if (!persist_lkg_offline(p) &&
	    (ret = persist_sink_get(p, PERSIST_KIND_CONFIG, &sink, err)) != PERSIST_OK)
		return ret;
	persist_error_clear(err);
	if (keys_r == NULL || n_r == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"persist_config_list: output pointer is NULL");
	if (persist_lkg_offline(p))
		return persist_lkg_list(p, PERSIST_EUNAVAIL, keys_r, n_r, err);
	if (!PERSIST_OPS_HAS(sink, struct persist_config_ops, list))
		return persist_not_supported(sink, "list", err);
	PERSIST_SINK_CALL(sink, ret,
		CONFIG_OPS(sink)->list(sink->store, persist_collect_entry, &list, err));
	ret = persist_provider_error(sink, ret, err);
	if (ret == PERSIST_EUNAVAIL && p->lkg != NULL) {
		persist_collect_finish(&list, ret, 1, keys_r, n_r, NULL);
		return persist_lkg_list(p, ret, keys_r, n_r, err);
	}
	ret = persist_collect_finish(&list, ret, 1, keys_r, n_r, err);
	if (ret == PERSIST_OK) {
		persist_lkg_provider_ok(p);
		persist_lkg_sync(p, *keys_r, *n_r);
	}
	return ret;
}

int persist_config_subscribe(persist *p, const char *key, persist_config_cb *cb,
			     void *ctx, uint64_t *id_r, struct persist_error *err)
{
	struct persist_sink *sink;
	int ret;

	if (persist_lkg_offline(p))
		return persist_lkg_refuse(p, "subscribe to configuration changes", err);
	if ((ret = persist_sink_get(p, PERSIST_KIND_CONFIG, &sink, err)) != PERSIST_OK)
		return ret;
	if (cb == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0, "subscription callback is NULL");
	if (key != NULL && (ret = persist_valid_key("configuration key", key, err)) != PERSIST_OK)
		return ret;
	if (key != NULL) {
		/* the provider has rules of its own for keys (a path provider
		   refuses "../x"): ask it once, uncached, so that a key it
		   would refuse is refused here instead of never changing.
		   Only its verdict on the key counts: absent is fine, and a
		   backend that is down now may be back before the change. */
		struct persist_value value;

		ret = provider_get(sink, key, &value, err);
		if (ret == PERSIST_OK)
			free(value.data);
		if (ret == PERSIST_EINVAL)
			return ret;
		persist_error_clear(err);
	} else {
		persist_provider_settle(p, PERSIST_KIND_CONFIG);
	}
	if ((sink->caps & PERSIST_CAP_NOTIFY) == 0)
		persist_log(p, PERSIST_LOG_WARNING,
			"provider \"%s\" sends no change notifications: subscribers "
			"see only changes made through this handle", sink->provider);
	return persist_notifier_subscribe_config(p->notifier, key, cb, ctx, id_r, err);
}

int persist_config_unsubscribe(persist *p, uint64_t id, struct persist_error *err)
{
	persist_error_clear(err);
	if (p == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0, "persist handle is NULL");
	return persist_notifier_unsubscribe(p->notifier, 0, id, err);
}
