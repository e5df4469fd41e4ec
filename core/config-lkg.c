/*
 * core/config-lkg.c - the configuration's last-known-good copy.
 *
 * With "spoolDir" in the configuration provider's config, every document
 * the core reads from or writes to the provider successfully is kept in
 * SPOOLDIR/config/, one file per key, so that an instance whose
 * configuration backend is down (or that starts while it is down) still
 * serves what it last saw:
 *
 *   - persist_config_get, _get_many and _list answer from the copy when
 *     the provider answers PERSIST_EUNAVAIL (or when the handle was opened
 *     while the store could not be opened because the backend was down);
 *     persist_config_copy_status() tells the host, and the log says so
 *     once when it starts and once when the provider answers again;
 *   - writes are never served from the copy: they answer the provider's
 *     error (PERSIST_EUNAVAIL naming it);
 *   - a document deleted (through this handle, or found absent by a get,
 *     or missing from a successful list) is removed from the copy.
 *
 * File SPOOLDIR/config/<H>.doc, H the core's ETag (SHA-256, 128 bits in
 * hex) of the key, holds one header line of JSON and then the document's
 * bytes exactly:
 *     {"key":"apps","etag":"<provider's ETag>","len":123,"sum":"<ETag of the bytes>"}\n<123 bytes>
 * It is written to a temporary file in the same directory, fsynced,
 * renamed over the old one and the directory fsynced, so a crash leaves
 * the old copy or the new one.  A file that does not match its header
 * (cut, edited, damaged) is reported naming the file, never served.
 * Processes may share a spoolDir: each write is one rename.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>

#include "persist-handle.h"
#include "config-lkg.h"

/* The largest copy file read: a document plus its header. */
#define LKG_FILE_MAX ((size_t)PERSIST_VALUE_MAX + 2 * PERSIST_KEY_MAX + 4096)

struct persist_config_lkg {
	char *dir;              /* SPOOLDIR/config */
	pthread_mutex_t lock;   /* serving, offline, reason */
	int serving;            /* the last answer came from the copy */
	int offline;            /* no configuration store: always the copy */
	char reason[PERSIST_ERROR_MSG_MAX]; /* the provider's error */
};

/* A copy file read back. */
struct lkg_doc {
	char *key;
	char etag[PERSIST_ETAG_MAX];
	char *data;             /* NUL-terminated */
	size_t len;
};

static void doc_free(struct lkg_doc *d)
{
	free(d->key);
	free(d->data);
	memset(d, 0, sizeof(*d));
}

/* The copy of the handle, or NULL. */
static struct persist_config_lkg *lkg_of(persist *p)
{
	return p != NULL ? p->lkg : NULL;
}

/* The configuration provider's name. */
static const char *provider_name(persist *p)
{
	return p->settings->kinds[PERSIST_KIND_CONFIG].provider;
}

/* mkdir -p of path (mode 0700 for what it creates). */
static int make_dirs(char *path)
{
	for (char *s = path + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(path, 0700) < 0 && errno != EEXIST) {
				*s = c;
				return -1;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	return 0;
}

int persist_lkg_create(persist *p, struct persist_error *err)
{
	const char *spool = p->settings->kinds[PERSIST_KIND_CONFIG].spool_dir;
	struct persist_config_lkg *lkg;
	struct stat st;
	size_t n;

	p->lkg = NULL;
	if (spool == NULL || (p->kinds & PERSIST_KIND_BIT(PERSIST_KIND_CONFIG)) == 0)
		return PERSIST_OK;
	lkg = calloc(1, sizeof(*lkg));
	n = strlen(spool) + sizeof("/config");
	if (lkg == NULL || (lkg->dir = malloc(n)) == NULL) {
		free(lkg);
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	snprintf(lkg->dir, n, "%s/config", spool);
	if (make_dirs(lkg->dir) < 0 || stat(lkg->dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		int e = errno;

		persist_error_set(err, PERSIST_ECONFIG, e,
			"cannot use spoolDir %s of the configuration provider \"%s\": "
			"%s: %s\nIts last-known-good copy of the configuration is kept there.",
			spool, provider_name(p), lkg->dir, strerror(e));
		free(lkg->dir);
		free(lkg);
		return PERSIST_ECONFIG;
	}
	pthread_mutex_init(&lkg->lock, NULL);
	p->lkg = lkg;
	return PERSIST_OK;
}

void persist_lkg_destroy(struct persist_config_lkg *lkg)
{
	if (lkg == NULL)
		return;
	pthread_mutex_destroy(&lkg->lock);
	free(lkg->dir);
	free(lkg);
}

/* The copy file of key. */
static void file_of(const struct persist_config_lkg *lkg, const char *key,
		    char *path, size_t size)
{
	char h[PERSIST_ETAG_MAX];

	persist_etag(key, strlen(key), h);
	snprintf(path, size, "%s/%s.doc", lkg->dir, h);
}

/* Read and check a copy file.  0: *d filled; 1: absent; -1: damaged or
   unreadable, why[] says how. */
static int doc_read(const char *path, struct lkg_doc *d, char *why, size_t why_size)
{
	struct json_object *hdr = NULL, *v;
	char *buf = NULL, *nl, sum[PERSIST_ETAG_MAX];
	struct stat st;
	size_t got = 0;
	int fd, ret = -1;
	int64_t len;

	memset(d, 0, sizeof(*d));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		snprintf(why, why_size, "cannot open it: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > LKG_FILE_MAX) {
		snprintf(why, why_size, "it is not a regular file of at most %zu bytes",
			 LKG_FILE_MAX);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		snprintf(why, why_size, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(why, why_size, "cannot read it: %s",
				 r < 0 ? strerror(errno) : "it shrank");
			goto out;
		}
		got += (size_t)r;
	}
	buf[got] = '\0';
	nl = memchr(buf, '\n', got);
	if (nl == NULL) {
		snprintf(why, why_size, "it has no header line");
		goto out;
	}
	*nl = '\0';
	hdr = json_tokener_parse(buf);
	if (hdr == NULL || !json_object_is_type(hdr, json_type_object) ||
	    !json_object_object_get_ex(hdr, "key", &v) || !json_object_is_type(v, json_type_string) ||
	    (d->key = strdup(json_object_get_string(v))) == NULL ||
	    !json_object_object_get_ex(hdr, "etag", &v) || !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) >= PERSIST_ETAG_MAX ||
	    !json_object_object_get_ex(hdr, "len", &v) || !json_object_is_type(v, json_type_int)) {
		snprintf(why, why_size, "its header line is not {\"key\",\"etag\",\"len\",\"sum\"}");
		goto out;
	}
	json_object_object_get_ex(hdr, "etag", &v);
	snprintf(d->etag, sizeof(d->etag), "%s", json_object_get_string(v));
	json_object_object_get_ex(hdr, "len", &v);
	len = json_object_get_int64(v);
	if (len < 0 || (uint64_t)len != (uint64_t)(got - (size_t)(nl + 1 - buf))) {
		snprintf(why, why_size, "it holds %zu bytes after its header, which says %lld",
			 got - (size_t)(nl + 1 - buf), (long long)len);
		goto out;
	}
	persist_etag(nl + 1, (size_t)len, sum);
	if (!json_object_object_get_ex(hdr, "sum", &v) ||
	    strcmp(json_object_get_string(v), sum) != 0) {
		snprintf(why, why_size, "its bytes do not match their checksum");
		goto out;
	}
	d->len = (size_t)len;
	d->data = persist_memdup0(nl + 1, d->len);
	if (d->data == NULL) {
		snprintf(why, why_size, "out of memory");
		goto out;
	}
	ret = 0;
out:
	if (ret != 0)
		doc_free(d);
	json_object_put(hdr);
	free(buf);
	close(fd);
	return ret;
}

/* write() all of it. */
static int write_all(int fd, const void *data, size_t len)
{
	const char *s = data;

	while (len > 0) {
		ssize_t w = write(fd, s, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		s += w;
		len -= (size_t)w;
	}
	return 0;
}

/* fsync a directory (best effort: some filesystems refuse). */
static void dir_sync(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

void persist_lkg_keep(persist *p, const char *key, const void *data,
		      size_t len, const char *etag)
{
	struct persist_config_lkg *lkg = lkg_of(p);
	struct json_object *hdr;
	struct lkg_doc old;
	char path[4096], tmp[4096], sum[PERSIST_ETAG_MAX], why[128];
	const char *line;
	int fd;

	if (lkg == NULL || key == NULL || (data == NULL && len > 0))
		return;
	file_of(lkg, key, path, sizeof(path));
	persist_etag(data != NULL ? data : "", len, sum);
	/* the same document again (a read after the cache expired) */
	if (doc_read(path, &old, why, sizeof(why)) == 0) {
		int same = strcmp(old.key, key) == 0 && strcmp(old.etag, etag) == 0 &&
			   old.len == len && (len == 0 || memcmp(old.data, data, len) == 0);
		doc_free(&old);
		if (same)
			return;
	}
	hdr = json_object_new_object();
	if (hdr == NULL ||
	    json_object_object_add(hdr, "key", json_object_new_string(key)) != 0 ||
	    json_object_object_add(hdr, "etag", json_object_new_string(etag)) != 0 ||
	    json_object_object_add(hdr, "len", json_object_new_int64((int64_t)len)) != 0 ||
	    json_object_object_add(hdr, "sum", json_object_new_string(sum)) != 0) {
		json_object_put(hdr);
		persist_log(p, PERSIST_LOG_WARNING, "cannot keep a last-known-good copy "
			    "of configuration key \"%s\": out of memory", key);
		return;
	}
	line = json_object_to_json_string_ext(hdr, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	snprintf(tmp, sizeof(tmp), "%s/.tmp-XXXXXX", lkg->dir);
	fd = mkstemp(tmp);
	if (fd < 0 || write_all(fd, line, strlen(line)) < 0 || write_all(fd, "\n", 1) < 0 ||
	    (len > 0 && write_all(fd, data, len) < 0) || fsync(fd) < 0 ||
	    close(fd) < 0 || (fd = -1, rename(tmp, path) < 0)) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		unlink(tmp);
		persist_log(p, PERSIST_LOG_WARNING, "cannot keep a last-known-good copy "
			    "of configuration key \"%s\" in %s: %s", key, lkg->dir, strerror(e));
	} else {
		dir_sync(lkg->dir);
	}
	json_object_put(hdr);
}

void persist_lkg_forget(persist *p, const char *key)
{
	struct persist_config_lkg *lkg = lkg_of(p);
	char path[4096];

	if (lkg == NULL || key == NULL)
		return;
	file_of(lkg, key, path, sizeof(path));
	if (unlink(path) == 0)
		dir_sync(lkg->dir);
	else if (errno != ENOENT)
		persist_log(p, PERSIST_LOG_WARNING, "cannot remove the last-known-good copy "
			    "of deleted configuration key \"%s\" (%s): %s", key, path,
			    strerror(errno));
}

/* strcmp of two entries' keys, for bsearch. */
static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct persist_entry *)a)->key,
		      ((const struct persist_entry *)b)->key);
}

/* True when name is a copy file's name ("<hex>.doc"). */
static int is_doc_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".doc") == 0;
}

void persist_lkg_sync(persist *p, const struct persist_entry *keys, size_t n)
{
	struct persist_config_lkg *lkg = lkg_of(p);
	struct dirent *de;
	DIR *dir;
	int removed = 0;

	if (lkg == NULL || (dir = opendir(lkg->dir)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		struct persist_entry probe = { .key = NULL };
		struct lkg_doc d;
		char path[4096], why[160];

		if (!is_doc_name(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", lkg->dir, de->d_name);
		if (doc_read(path, &d, why, sizeof(why)) != 0)
			continue;
		probe.key = d.key;
		if (bsearch(&probe, keys, n, sizeof(*keys), entry_cmp) == NULL &&
		    unlink(path) == 0)
			removed++;
		doc_free(&d);
	}
	closedir(dir);
	if (removed > 0)
		dir_sync(lkg->dir);
}

/* Note that answers come from the copy (why: the provider's error),
   logging it when that starts. */
static void serving_from_copy(persist *p, const struct persist_error *why)
{
	struct persist_config_lkg *lkg = p->lkg;
	char reason[PERSIST_ERROR_MSG_MAX];
	int was;

	pthread_mutex_lock(&lkg->lock);
	was = lkg->serving;
	lkg->serving = 1;
	if (why != NULL && why->msg[0] != '\0')
		snprintf(lkg->reason, sizeof(lkg->reason), "%s", why->msg);
	snprintf(reason, sizeof(reason), "%s", lkg->reason);
	pthread_mutex_unlock(&lkg->lock);
	if (!was) {
		char *nl = strchr(reason, '\n');
		if (nl != NULL)
			*nl = '\0';
		persist_log(p, PERSIST_LOG_WARNING,
			"configuration served from last-known-good copy in %s "
			"(provider \"%s\" unavailable: %s)", lkg->dir, provider_name(p), reason);
	}
}

void persist_lkg_provider_ok(persist *p)
{
	struct persist_config_lkg *lkg = lkg_of(p);
	int was;

	if (lkg == NULL)
		return;
	pthread_mutex_lock(&lkg->lock);
	was = lkg->serving;
	lkg->serving = 0;
	pthread_mutex_unlock(&lkg->lock);
	if (was)
		persist_log(p, PERSIST_LOG_INFO, "configuration provider \"%s\" answers "
			    "again; the last-known-good copy is no longer served",
			    provider_name(p));
}

int persist_lkg_offline(persist *p)
{
	struct persist_config_lkg *lkg = lkg_of(p);

	return lkg != NULL && lkg->offline;   /* set once, before the handle is returned */
}

/* Count the copy's documents. */
static uint64_t doc_count(const struct persist_config_lkg *lkg)
{
	struct dirent *de;
	uint64_t n = 0;
	DIR *dir = opendir(lkg->dir);

	if (dir == NULL)
		return 0;
	while ((de = readdir(dir)) != NULL)
		n += is_doc_name(de->d_name);
	closedir(dir);
	return n;
}

int persist_lkg_open_failed(persist *p, int ret, struct persist_error *err)
{
	struct persist_config_lkg *lkg = lkg_of(p);

	if (lkg == NULL || ret != PERSIST_EUNAVAIL || doc_count(lkg) == 0)
		return 0;
	lkg->offline = 1;
	serving_from_copy(p, err);
	persist_error_clear(err);
	return 1;
}

/* In a handle opened from the copy: the provider's error, as at open. */
int persist_lkg_offline_error(persist *p, struct persist_error *err)
{
	struct persist_config_lkg *lkg = p->lkg;

	pthread_mutex_lock(&lkg->lock);
	persist_error_set(err, PERSIST_EUNAVAIL, 0, "%s", lkg->reason);
	pthread_mutex_unlock(&lkg->lock);
	return PERSIST_EUNAVAIL;
}

/* The error for a damaged copy file while the provider is unavailable. */
static int damaged(persist *p, const char *path, const char *why,
		   struct persist_error *err)
{
	char first[PERSIST_ERROR_MSG_MAX], *nl;

	snprintf(first, sizeof(first), "%s", err != NULL ? err->msg : "");
	if ((nl = strchr(first, '\n')) != NULL)
		*nl = '\0';
	return persist_error_set(err, PERSIST_EUNAVAIL, 0,
		"configuration provider \"%s\" is unavailable and its last-known-good "
		"copy %s is damaged: %s\nThe provider said: %s", provider_name(p), path,
		why, first);
}

int persist_lkg_get(persist *p, const char *key, int ret, char **data_r,
		    size_t *len_r, char etag_r[PERSIST_ETAG_MAX],
		    struct persist_error *err)
{
	struct persist_config_lkg *lkg = lkg_of(p);
	struct lkg_doc d;
	char path[4096], why[200];
	int r;

	if (lkg == NULL || ret != PERSIST_EUNAVAIL)
		return ret;
	if (lkg->offline)
		persist_lkg_offline_error(p, err);
	file_of(lkg, key, path, sizeof(path));
	r = doc_read(path, &d, why, sizeof(why));
	if (r == 1)
		return ret;
	if (r == 0 && strcmp(d.key, key) != 0) {
		snprintf(why, sizeof(why), "it holds another key");
		doc_free(&d);
		r = -1;
	}
	if (r < 0)
		return damaged(p, path, why, err);
	serving_from_copy(p, err);
	persist_error_clear(err);
	if (etag_r != NULL)
		memcpy(etag_r, d.etag, PERSIST_ETAG_MAX);
	if (len_r != NULL)
		*len_r = d.len;
	if (data_r != NULL) {
		*data_r = d.data;
		d.data = NULL;
	}
	doc_free(&d);
	return PERSIST_OK;
}

int persist_lkg_list(persist *p, int ret, struct persist_entry **keys_r,
		     size_t *n_r, struct persist_error *err)
{
	struct persist_config_lkg *lkg = lkg_of(p);
	struct persist_collector list = { .with_value = 0 };
	struct dirent *de;
	DIR *dir;
	int r = PERSIST_OK;

	if (lkg == NULL || ret != PERSIST_EUNAVAIL)
		return ret;
	if (lkg->offline)
		persist_lkg_offline_error(p, err);
	if ((dir = opendir(lkg->dir)) == NULL)
		return ret;
	while (r == PERSIST_OK && (de = readdir(dir)) != NULL) {
		struct persist_item item;
		struct lkg_doc d;
		char path[4096], why[200];

		if (!is_doc_name(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", lkg->dir, de->d_name);
		switch (doc_read(path, &d, why, sizeof(why))) {
		case 1:
			continue;   /* removed meanwhile */
		case -1:
			r = damaged(p, path, why, err);
			continue;
		}
		memset(&item, 0, sizeof(item));
		item.size = sizeof(item);
		item.key = d.key;
		item.etag = d.etag;
		persist_collect_entry(&list, &item);
		doc_free(&d);
	}
	closedir(dir);
	if (r == PERSIST_OK && list.n == 0 && !list.oom)
		r = ret;   /* an empty copy knows nothing: the provider's error */
	if (r == PERSIST_OK) {
		serving_from_copy(p, err);
		persist_error_clear(err);
	}
	return persist_collect_finish(&list, r, 1, keys_r, n_r, err);
}

int persist_lkg_refuse(persist *p, const char *what, struct persist_error *err)
{
	return persist_error_set(err, PERSIST_EUNAVAIL, 0,
		"cannot %s: configuration provider \"%s\" is unavailable\n"
		"The handle was opened while it was down; documents are served "
		"read-only from the last-known-good copy in %s.", what,
		provider_name(p), p->lkg->dir);
}

/* Public: whether configuration answers come from the copy. */
int persist_config_copy_status(persist *p, struct persist_config_copy *status_r,
			       struct persist_error *err)
{
	struct persist_config_copy st;
	struct persist_config_lkg *lkg;

	persist_error_clear(err);
	if (p == NULL || status_r == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"persist_config_copy_status: %s is NULL", p == NULL ? "handle" : "status_r");
	if (status_r->size == 0)
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"persist_config_copy_status: status_r->size is 0\n"
			"Set it to sizeof(struct persist_config_copy) first.");
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	lkg = p->lkg;
	if (lkg != NULL) {
		st.enabled = 1;
		snprintf(st.dir, sizeof(st.dir), "%s", lkg->dir);
		st.documents = doc_count(lkg);
		pthread_mutex_lock(&lkg->lock);
		st.serving = lkg->serving;
		st.offline = lkg->offline;
		if (lkg->serving)
			snprintf(st.reason, sizeof(st.reason), "%s", lkg->reason);
		pthread_mutex_unlock(&lkg->lock);
	}
	memcpy(status_r, &st, status_r->size < sizeof(st) ? status_r->size : sizeof(st));
	status_r->size = status_r->size < sizeof(st) ? status_r->size : (uint32_t)sizeof(st);
	return PERSIST_OK;
}
