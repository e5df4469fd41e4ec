/*
 * tools/cmd-config.c - `persistctl config ...`: read, write, delete, list
 * and watch configuration documents through the configured provider, the
 * way a platform's configuration cache reads platform/apps/models/groups/ui.
 *
 * Documents are written to stdout byte for byte (so `config get K > f;
 * config set K f` is a round trip with the same ETag); ETags are printed on
 * a line of their own.  `config watch` prints one flushed line per change
 * from the library's notification thread until SIGINT/SIGTERM.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persistctl.h"

/* config get KEY: the document to stdout. */
int cmd_config_get(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	persist *p;
	char *data = NULL;
	size_t len = 0;
	int ret;

	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (persist_config_get(p, args->pos[0], &data, &len, NULL, &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	ctl_write_value(data, len);
	persist_free(data);
	return ctl_close(p, CTL_EXIT_OK);
}

/* config etag KEY: the ETag on one line. */
int cmd_config_etag(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	char etag[PERSIST_ETAG_MAX];
	persist *p;
	int ret;

	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (persist_config_get(p, args->pos[0], NULL, NULL, etag, &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	printf("%s\n", etag);
	return ctl_close(p, CTL_EXIT_OK);
}

/* config set KEY [FILE]: store the document, print the new ETag. */
int cmd_config_set(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	char etag[PERSIST_ETAG_MAX];
	persist *p;
	char *data;
	size_t len;
	int ret;

	/* read the input first: a bad file needs no backend */
	ret = ctl_read_input(args->n_pos > 1 ? args->pos[1] : NULL, &data, &len);
	if (ret != CTL_EXIT_OK)
		return ret;
	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK) {
		free(data);
		return ret;
	}
	if (persist_config_set(p, args->pos[0], data, len, args->if_match,
			       args->have_ttl ? args->ttl_ms : 0, etag,
			       &err) != PERSIST_OK) {
		free(data);
		return ctl_close(p, ctl_fail(&err));
	}
	free(data);
	printf("%s\n", etag);
	return ctl_close(p, CTL_EXIT_OK);
}

/* config delete KEY [--if-match ETAG]. */
int cmd_config_delete(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	persist *p;
	int ret;

	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (persist_config_delete(p, args->pos[0], args->if_match, &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	return ctl_close(p, CTL_EXIT_OK);
}

/* config list: every key, sorted, one a line. */
int cmd_config_list(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	struct persist_entry *keys = NULL;
	size_t n = 0;
	persist *p;
	int ret;

	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (persist_config_list(p, &keys, &n, &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	for (size_t i = 0; i < n; i++)
		printf("%s\n", keys[i].key);
	persist_items_free(keys, n);
	return ctl_close(p, CTL_EXIT_OK);
}

/* What the watch callback shares with the waiting main thread. */
struct watch {
	atomic_int failed; /* stdout could not be written */
};

/* A change: print "KEY ETAG" ("KEY -" deleted, "* *" re-read all). */
static void watch_changed(void *ctx, const char *key, const char *etag)
{
	struct watch *w = ctx;
	int r;

	flockfile(stdout);
	if (key == NULL)
		r = printf("* *\n");
	else
		r = printf("%s %s\n", key, etag != NULL ? etag : "-");
	if (r < 0 || fflush(stdout) != 0) {
		if (atomic_exchange(&w->failed, 1) == 0)
			ctl_wake();
	}
	funlockfile(stdout);
}

/* config watch [KEY]: print changes until SIGINT/SIGTERM. */
int cmd_config_watch(struct ctl *ctl, const struct ctl_args *args)
{
	struct persist_error err = { 0 };
	struct watch w;
	uint64_t id;
	persist *p;
	int ret;

	atomic_init(&w.failed, 0);
	ctl_block_signals();
	if ((ret = ctl_open(ctl, &p)) != CTL_EXIT_OK)
		return ret;
	if (!(persist_caps(p, PERSIST_KIND_CONFIG) & PERSIST_CAP_NOTIFY)) {
		ret = ctl_error(CTL_EXIT_FAIL,
				"configuration provider \"%s\" does not report changes\n"
				"config watch needs a provider with the notify capability "
				"(see persistctl plugins).",
				persist_provider(p, PERSIST_KIND_CONFIG));
		return ctl_close(p, ret);
	}
	if (persist_config_subscribe(p, args->n_pos > 0 ? args->pos[0] : NULL,
				     watch_changed, &w, &id, &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	ctl_wait_signal();
	if (persist_config_unsubscribe(p, id, &err) != PERSIST_OK)
		return ctl_close(p, ctl_fail(&err));
	return ctl_close(p, atomic_load(&w.failed) ? CTL_EXIT_FAIL : CTL_EXIT_OK);
}
