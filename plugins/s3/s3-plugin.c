/*
 * plugins/s3/s3-plugin.c - the entry point of the s3 provider: its
 * descriptor, init/fini, open/close and health.
 *
 * The s3 provider keeps configuration documents as JSON objects in a
 * bucket of any S3-compatible object store (AWS S3, MinIO, Ceph, R2, ...),
 * so that instances with no shared disk read one source of truth.  It
 * signs its requests itself (s3-sigv4.c) and speaks HTTP through libcurl
 * (s3-http.c); the file list is in s3-private.h, the settings in
 * s3-options.c.
 *
 * Capabilities, and why each holds:
 *   NOTIFY      a thread per store polls the prefix (s3-poll.c) and the
 *               store notifies its own writes at once
 *   THREADSAFE  a pool of curl handles; shared state behind one lock
 *   SHARED      one bucket for every instance
 *   DURABLE     S3 acknowledges a PUT once it is stored
 * Not CAS: conditional writes depend on the store (AWS S3 honours If-Match
 * on PUT, others ignore it) and are a per-store setting, while the
 * capabilities of a table are fixed; if-match is checked either way (see
 * s3-config.c).  Not TTL: S3's lifecycle rules expire objects by the day.
 */
#include "s3-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libxml/parser.h>

/* init(): once per process: libcurl's and libxml2's global set-up. */
static int s3_init(const struct persist_host *host, void **plugin_r,
		   struct persist_error *err)
{
	struct s3_plugin *plugin;
	CURLcode cc;

	if (pc_host_check(host, err) != PERSIST_OK)
		return PERSIST_EINIT;
	cc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (cc != CURLE_OK)
		return host->error(err, PERSIST_EINIT, 0, "cannot initialise libcurl\n%s.",
				   curl_easy_strerror(cc));
	xmlInitParser();
	plugin = calloc(1, sizeof(*plugin));
	if (plugin == NULL) {
		curl_global_cleanup();
		return host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	plugin->host = host;
	*plugin_r = plugin;
	return PERSIST_OK;
}

/* fini(): after every store is closed.  libxml2's global state is left
   alone: the host may use libxml2 too. */
static void s3_fini(void *plugin)
{
	curl_global_cleanup();
	free(plugin);
}

/* Free a store and what it holds (the poller is stopped). */
static void store_free(struct s3_store *st)
{
	s3_http_pool_free(st);
	pc_map_free(st->cache);
	pc_map_free(st->seen);
	s3_sigv4_key_cache_deinit(&st->keys);
	pthread_cond_destroy(&st->wake);
	pthread_mutex_destroy(&st->lock);
	s3_conf_free(&st->conf);
	free(st);
}

/* open() of the configuration table. */
static int s3_open(void *plugin, const struct persist_store_args *args,
		   void **store_r, struct persist_error *err)
{
	struct s3_plugin *p = plugin;
	const struct persist_host *host = p->host;
	struct s3_store *st;
	pthread_condattr_t ca;
	int ret;

	if (args == NULL || !PERSIST_HAS(args, sink))
		return host->error(err, PERSIST_EINVAL, 0, "open without store arguments");
	if (args->kind != PERSIST_KIND_CONFIG)
		return host->error(err, PERSIST_EINVAL, 0, "a store of kind %d was opened "
				   "through the configuration table", (int)args->kind);
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	ret = s3_conf_parse(host, args->config_json, &st->conf, err);
	if (ret != PERSIST_OK) {
		free(st);
		return ret;
	}
	st->host = host;
	st->sink = args->sink;
	st->rand_state = (unsigned)host->monotonic_us() ^ (unsigned)(uintptr_t)st;
	pthread_mutex_init(&st->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->wake, &ca);
	pthread_condattr_destroy(&ca);
	s3_sigv4_key_cache_init(&st->keys);
	st->cache = pc_map_new(s3_doc_free);
	st->seen = pc_map_new(free);
	if (st->cache == NULL || st->seen == NULL) {
		store_free(st);
		return host->error(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	ret = st->conf.poll_interval_ms > 0 ? s3_poll_start(st, err) : PERSIST_OK;
	if (ret != PERSIST_OK) {
		store_free(st);
		return ret;
	}
	*store_r = st;
	return PERSIST_OK;
}

/* close(): stop the poller, free everything. */
static void s3_close(void *store)
{
	struct s3_store *st = store;

	if (st == NULL)
		return;
	s3_poll_stop(st);
	store_free(st);
}

/* health: HEAD of the bucket; the round trip in microseconds. */
static int s3_health(void *store, int64_t *latency_us_r, struct persist_error *err)
{
	struct s3_store *st = store;
	struct s3_request rq = { .method = "HEAD", .no_body = true };
	struct s3_response resp;
	int64_t t0 = st->host->monotonic_us();
	int ret = s3_http(st, &rq, &resp, err);

	if (ret != PERSIST_OK)
		return ret;
	if (resp.status == 200) {
		if (latency_us_r != NULL)
			*latency_us_r = st->host->monotonic_us() - t0;
	} else {
		ret = s3_reply_error(st, "health check (HEAD of the bucket)", &resp, err);
	}
	s3_response_free(&resp);
	return ret;
}

static const struct persist_config_ops s3_config_ops = {
	.size = sizeof(struct persist_config_ops),
	.caps = PERSIST_CAP_NOTIFY | PERSIST_CAP_THREADSAFE | PERSIST_CAP_SHARED |
		PERSIST_CAP_DURABLE,
	.open = s3_open,
	.close = s3_close,
	.health = s3_health,
	.get = s3_config_get,
	.set = s3_config_set,
	.del = s3_config_del,
	.list = s3_config_list,
};

/* The descriptor. */
static const struct persist_plugin s3_plugin_descriptor = {
	PERSIST_PLUGIN_HEADER,
	.name = "s3",
	.version = S3_PLUGIN_VERSION,
	.description = "S3-compatible object store (libcurl, SigV4): configuration "
		       "documents shared by every instance",
	.init = s3_init,
	.fini = s3_fini,
	.config = &s3_config_ops,
	.state = NULL,
	.session = NULL,
};

/* The one exported symbol. */
PERSIST_EXPORT const struct persist_plugin *persist_plugin_entry_v1(void)
{
	return &s3_plugin_descriptor;
}
