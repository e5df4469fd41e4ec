/*
 * skeleton.c - a complete persist provider to copy: a state store kept in
 * one text file.  Read it next to the "Provider contract" section of
 * <persist/plugin.h>; doc/plugin-guide.md walks through it.
 *
 * The file holds one line per key, "COLLECTION<TAB>KEY<TAB>HEX(VALUE)"
 * (the core refuses control characters in collections and keys, so a tab
 * never occurs in them; values are bytes, hence hex).  Every call takes a
 * lock on "FILE.lock", reads the whole file, and a write replaces it with
 * write + rename, so a reader never sees half a file and two processes
 * never lose each other's writes.  That is slow for big data and simple
 * enough to read in one sitting: a real provider keeps the same shape.
 *
 * It claims only what it really does (the conformance suite tests every
 * claim): SHARED (other processes see the writes) and DURABLE (a write is
 * in the file before the call returns).  No TTL, no log, no native batch
 * (the core emulates batches with single calls), not THREADSAFE (the core
 * serialises the calls on each store).  It has batch_once (ABI 1.2): the
 * ids of the batches applied are keys of the collection ".batch-ids" (a
 * name the core never passes: collections do not start with '.'), whose
 * value is the id's expiry, written in the same file replacement as the
 * batch, so a retried batch is never applied twice.  It lists its
 * collections (ABI 1.3), so `persistctl migrate` can copy it.
 *
 * Configuration: {"path": "/absolute/file"}; any other key is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include <persist/plugin.h>

/* The host table the core gives init: every call back into the core. */
static const struct persist_host *host;

/* One open store: the data file, its lock file, the file a write renames. */
struct store {
	char path[PATH_MAX], lock_path[PATH_MAX + 8], tmp_path[PATH_MAX + 8];
};

/* The keys of the file, as begin() read them. */
struct entry {
	char *coll, *key;          /* point into the text read */
	unsigned char *value;      /* decoded, owned */
	size_t len;
};
struct table {
	char *text;                /* the file's bytes, NUL-terminated */
	struct entry *e;
	size_t n;
};

/* init(): once per process.  Keep the host table; no global state else. */
static int sk_init(const struct persist_host *h, void **plugin_r, struct persist_error *err)
{
	(void)err;
	host = h;
	*plugin_r = NULL;
	return PERSIST_OK;
}

/* close(): free the store.  A plugin with threads stops and joins them
   here: after close returns the core frees the sink. */
static void sk_close(void *store)
{
	free(store);
}

/* open(): parse the config (refusing unknown keys, naming them). */
static int sk_open(void *plugin, const struct persist_store_args *args, void **store_r,
		   struct persist_error *err)
{
	struct json_object *cfg = json_tokener_parse(args->config_json), *path = NULL;
	struct store *st;
	int ret = PERSIST_OK;

	(void)plugin;
	if (cfg == NULL || !json_object_is_type(cfg, json_type_object))
		ret = host->error(err, PERSIST_EINVAL, 0, "skeleton: config is not a JSON object");
	else {
		json_object_object_foreach(cfg, name, val) {
			(void)val;
			if (strcmp(name, "path") != 0) {
				ret = host->error(err, PERSIST_EINVAL, 0, "skeleton: unknown key \"%s\" "
						  "in config\nThe only key is \"path\".", name);
				break;
			}
		}
	}
	if (ret == PERSIST_OK && (!json_object_object_get_ex(cfg, "path", &path) ||
				  !json_object_is_type(path, json_type_string) ||
				  json_object_get_string(path)[0] != '/'))
		ret = host->error(err, PERSIST_EINVAL, 0, "skeleton: config \"path\" must be "
				  "an absolute file name");
	if (ret != PERSIST_OK) {
		json_object_put(cfg);
		return ret;
	}
	/* args and its strings live only during this call: copy what we keep */
	if ((st = calloc(1, sizeof(*st))) == NULL)
		ret = host->error(err, PERSIST_ENOMEM, ENOMEM, "skeleton: out of memory");
	else if ((size_t)snprintf(st->path, sizeof(st->path), "%s",
				  json_object_get_string(path)) >= sizeof(st->path))
		ret = host->error(err, PERSIST_EINVAL, 0, "skeleton: config \"path\" is too long");
	json_object_put(cfg);
	if (ret != PERSIST_OK) {
		free(st);
		return ret;
	}
	snprintf(st->lock_path, sizeof(st->lock_path), "%s.lock", st->path);
	snprintf(st->tmp_path, sizeof(st->tmp_path), "%s.tmp", st->path);
	*store_r = st;
	return PERSIST_OK;
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->e[i].value);
	free(t->e);
	free(t->text);
}

/* The value of a hex digit (save() writes lower case). */
static int hexval(char c)
{
	return c >= 'a' ? c - 'a' + 10 : c - '0';
}

/* Parse the text read into entries. */
static int parse(struct store *st, struct table *t, struct persist_error *err)
{
	for (char *line = t->text, *nl; *line != '\0'; line = nl + 1) {
		char *k = strchr(line, '\t'), *hex = k != NULL ? strchr(k + 1, '\t') : NULL;
		struct entry *e;

		nl = strchr(line, '\n');
		if (nl == NULL || k == NULL || hex == NULL || hex > nl || (nl - hex - 1) % 2 != 0)
			return host->error(err, PERSIST_EIO, 0, "skeleton: %s: malformed line",
					   st->path);
		*nl = *k = *hex = '\0';
		if ((e = realloc(t->e, (t->n + 1) * sizeof(*e))) == NULL)
			return host->error(err, PERSIST_ENOMEM, ENOMEM, "skeleton: out of memory");
		t->e = e;
		e = &t->e[t->n++];
		*e = (struct entry){ .coll = line, .key = k + 1, .len = (size_t)(nl - hex - 1) / 2 };
		if ((e->value = malloc(e->len + 1)) == NULL)
			return host->error(err, PERSIST_ENOMEM, ENOMEM, "skeleton: out of memory");
		for (size_t i = 0; i < e->len; i++)
			e->value[i] = (unsigned char)(hexval(hex[1 + 2 * i]) << 4 |
						      hexval(hex[2 + 2 * i]));
	}
	return PERSIST_OK;
}

/* Start a call: take the lock on FILE.lock (exclusive for writers) and
   read the whole file (absent: empty).  The lock's fd for end(), or -1
   with err filled. */
static int begin(struct store *st, int exclusive, struct table *t, struct persist_error *err)
{
	int fd = open(st->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	FILE *f;
	struct stat sb;
	size_t size = 0;

	memset(t, 0, sizeof(*t));
	if (fd < 0 || flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0) {
		host->error(err, PERSIST_EIO, errno, "skeleton: cannot lock %s: %s",
			    st->lock_path, strerror(errno));
		goto fail;
	}
	if ((f = fopen(st->path, "re")) == NULL && errno != ENOENT) {
		host->error(err, PERSIST_EIO, errno, "skeleton: %s: %s", st->path, strerror(errno));
		goto fail;
	}
	if (f != NULL && fstat(fileno(f), &sb) == 0 &&
	    (t->text = malloc((size_t)sb.st_size + 1)) != NULL)
		size = fread(t->text, 1, (size_t)sb.st_size, f);
	else if (f == NULL)
		t->text = calloc(1, 1);
	if (f != NULL)
		fclose(f);
	if (t->text == NULL) {
		host->error(err, PERSIST_ENOMEM, ENOMEM, "skeleton: out of memory");
		goto fail;
	}
	t->text[size] = '\0';
	if (parse(st, t, err) == PERSIST_OK)
		return fd;
fail:
	table_free(t);
	if (fd >= 0)
		close(fd);
	return -1;
}

/* End a call: free the table, release the lock. */
static int end(int fd, struct table *t, int ret)
{
	table_free(t);
	close(fd);
	return ret;
}

/* health(): the file can be locked and read. */
static int sk_health(void *store, int64_t *latency_us_r, struct persist_error *err)
{
	int64_t start = host->monotonic_us();
	struct table t;
	int fd = begin(store, 0, &t, err);

	if (fd < 0)
		return (int)err->code;
	*latency_us_r = host->monotonic_us() - start;
	return end(fd, &t, PERSIST_OK);
}

/* Write the table to FILE.tmp and rename it over FILE (entry `skip` left
   out, when not SIZE_MAX). */
static int save(struct store *st, const struct table *t, size_t skip,
		struct persist_error *err)
{
	FILE *f = fopen(st->tmp_path, "we");

	for (size_t i = 0; f != NULL && i < t->n; i++) {
		if (i == skip || t->e[i].coll == NULL)   /* NULL: deleted by a batch */
			continue;
		fprintf(f, "%s\t%s\t", t->e[i].coll, t->e[i].key);
		for (size_t j = 0; j < t->e[i].len; j++)
			fprintf(f, "%02x", t->e[i].value[j]);
		fputc('\n', f);
	}
	if (f == NULL || (ferror(f) | fclose(f)) != 0 || rename(st->tmp_path, st->path) != 0)
		return host->error(err, PERSIST_EIO, errno, "skeleton: cannot write %s: %s",
				   st->path, strerror(errno));
	return PERSIST_OK;
}

/* The index of coll/key in t, or SIZE_MAX. */
static size_t find(const struct table *t, const char *coll, const char *key)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->e[i].coll != NULL && strcmp(t->e[i].coll, coll) == 0 &&
		    strcmp(t->e[i].key, key) == 0)
			return i;
	}
	return SIZE_MAX;
}

/* get(): the value in host->alloc()ed memory with a NUL after the last
   byte; the core frees it. */
static int sk_get(void *store, const char *coll, const char *key,
		  struct persist_value *value_r, struct persist_error *err)
{
	struct table t;
	int fd = begin(store, 0, &t, err);
	size_t i;

	if (fd < 0)
		return (int)err->code;
	if ((i = find(&t, coll, key)) == SIZE_MAX)
		return end(fd, &t, host->error(err, PERSIST_ENOTFOUND, 0, "key \"%s\" not found "
					       "in collection \"%s\"", key, coll));
	if ((value_r->data = host->alloc(t.e[i].len + 1)) == NULL)
		return end(fd, &t, host->error(err, PERSIST_ENOMEM, ENOMEM,
					       "skeleton: out of memory"));
	memcpy(value_r->data, t.e[i].value, t.e[i].len);
	((char *)value_r->data)[t.e[i].len] = '\0';
	value_r->len = t.e[i].len;
	return end(fd, &t, PERSIST_OK);
}

/* Replace or add coll/key = data in the table (not the file yet). */
static int put_entry(struct table *t, const char *coll, const char *key,
		     const void *data, size_t len, struct persist_error *err)
{
	size_t i = find(t, coll, key);
	unsigned char *copy = malloc(len + 1);
	struct entry *e = i != SIZE_MAX ? t->e : realloc(t->e, (t->n + 1) * sizeof(*e));

	if (copy == NULL || e == NULL) {
		free(copy);
		return host->error(err, PERSIST_ENOMEM, ENOMEM, "skeleton: out of memory");
	}
	t->e = e;
	if (i == SIZE_MAX) {
		i = t->n++;
		t->e[i] = (struct entry){ .coll = (char *)coll, .key = (char *)key };
	}
	memcpy(copy, data, len);
	free(t->e[i].value);
	t->e[i].value = copy;
	t->e[i].len = len;
	return PERSIST_OK;
}

/* Replace or add coll/key = data, and write the file. */
static int put(struct store *st, struct table *t, const char *coll, const char *key,
	       const void *data, size_t len, struct persist_error *err)
{
	int ret = put_entry(t, coll, key, data, len, err);

	return ret != PERSIST_OK ? ret : save(st, t, SIZE_MAX, err);
}

/* set(): no TTL is claimed, so the core only ever passes ttl_ms 0. */
static int sk_set(void *store, const char *coll, const char *key, const void *data,
		  size_t len, int64_t ttl_ms, struct persist_error *err)
{
	struct table t;
	int fd = begin(store, 1, &t, err);

	(void)ttl_ms;
	return fd < 0 ? (int)err->code : end(fd, &t, put(store, &t, coll, key, data, len, err));
}

/* del(): PERSIST_ENOTFOUND when absent (a batch of the core ignores it). */
static int sk_del(void *store, const char *coll, const char *key, struct persist_error *err)
{
	struct table t;
	int fd = begin(store, 1, &t, err);
	size_t i;

	if (fd < 0)
		return (int)err->code;
	if ((i = find(&t, coll, key)) == SIZE_MAX)
		return end(fd, &t, host->error(err, PERSIST_ENOTFOUND, 0, "key \"%s\" not found "
					       "in collection \"%s\"", key, coll));
	return end(fd, &t, save(store, &t, i, err));
}

/* scan(): emit every key of coll starting with prefix.  The items are
   ours; the core copies them during the call and sorts the result. */
static int sk_scan(void *store, const char *coll, const char *prefix, persist_emit_fn *emit,
		   void *ctx, struct persist_error *err)
{
	struct table t;
	int fd = begin(store, 0, &t, err);

	if (fd < 0)
		return (int)err->code;
	for (size_t i = 0; i < t.n; i++) {
		struct persist_item item = {
			.size = sizeof(item), .key = t.e[i].key,
			.value = t.e[i].value, .len = t.e[i].len,
		};

		if (strcmp(t.e[i].coll, coll) == 0 &&
		    strncmp(t.e[i].key, prefix, strlen(prefix)) == 0 && emit(ctx, &item) != 0)
			break;
	}
	return end(fd, &t, PERSIST_OK);
}

/* collections(): each collection holding a key, once (the file keeps no
   order by collection, so look back for an earlier line of the same
   one); ".batch-ids" is the provider's own. */
static int sk_collections(void *store, persist_emit_fn *emit, void *ctx,
			  struct persist_error *err)
{
	struct table t;
	int fd = begin(store, 0, &t, err);

	if (fd < 0)
		return (int)err->code;
	for (size_t i = 0; i < t.n; i++) {
		struct persist_item item = { .size = sizeof(item), .key = t.e[i].coll };
		size_t j = 0;

		while (j < i && strcmp(t.e[j].coll, t.e[i].coll) != 0)
			j++;
		if (j < i || t.e[i].coll[0] == '.')
			continue;
		if (emit(ctx, &item) != 0)
			break;
	}
	return end(fd, &t, PERSIST_OK);
}

/* Canonical decimal int64 text, -?(0|[1-9][0-9]*); 0 on success. */
static int parse_counter(const unsigned char *s, size_t len, int64_t *v)
{
	char buf[24], *end;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if ((buf[0] == '-' && (len == 1 || buf[1] == '0')) ||
	    (buf[0] == '0' && len > 1) || (buf[0] != '-' && (buf[0] < '0' || buf[0] > '9')))
		return -1;
	errno = 0;
	*v = strtoll(buf, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

/* Add delta to the counter coll/key in the table (not the file yet). */
static int add_entry(struct table *t, const char *coll, const char *key, int64_t delta,
		     int64_t *value_r, struct persist_error *err)
{
	size_t i = find(t, coll, key);
	int64_t v = 0;
	char text[24];

	if (i != SIZE_MAX && parse_counter(t->e[i].value, t->e[i].len, &v) != 0)
		return host->error(err, PERSIST_EINVAL, 0, "value of key \"%s\" in "
				   "collection \"%s\" is not an integer", key, coll);
	if (__builtin_add_overflow(v, delta, &v))
		return host->error(err, PERSIST_EINVAL, 0, "counter \"%s\" in "
				   "collection \"%s\" would overflow", key, coll);
	snprintf(text, sizeof(text), "%" PRId64, v);
	*value_r = v;
	return put_entry(t, coll, key, text, strlen(text), err);
}

/* incr(): read, add and write under the exclusive lock, so that no
   increment of another process is lost. */
static int sk_incr(void *store, const char *coll, const char *key, int64_t delta,
		   int64_t *value_r, struct persist_error *err)
{
	struct table t;
	int fd = begin(store, 1, &t, err), ret;
	int64_t v = 0;

	if (fd < 0)
		return (int)err->code;
	ret = add_entry(&t, coll, key, delta, &v, err);
	if (ret == PERSIST_OK)
		ret = save(store, &t, SIZE_MAX, err);
	if (ret == PERSIST_OK && value_r != NULL)
		*value_r = v;
	return end(fd, &t, ret);
}

/* batch_once(): under the exclusive lock, an id found (and not expired)
   applies nothing; otherwise every operation is applied to the table,
   the id added, and the file replaced once: the batch and its id are
   written together or not at all.  An operation that fails leaves the
   file, and so the id, untouched. */
static int sk_batch_once(void *store, const char *id, const struct persist_op *ops,
			 size_t n, size_t op_size, int *applied_before_r,
			 struct persist_error *err)
{
	struct table t;
	int fd = begin(store, 1, &t, err), ret = PERSIST_OK;
	int64_t now = host->now_ms(), v;
	char expiry[24];
	size_t i;

	*applied_before_r = 0;
	if (n > 0 && op_size < sizeof(struct persist_op)) {
		if (fd >= 0)
			end(fd, &t, PERSIST_OK);
		return host->error(err, PERSIST_EINVAL, 0, "batch operations of %zu bytes are "
				   "too small\nThis plugin needs %zu.", op_size,
				   sizeof(struct persist_op));
	}
	if (fd < 0)
		return (int)err->code;
	if ((i = find(&t, ".batch-ids", id)) != SIZE_MAX &&
	    parse_counter(t.e[i].value, t.e[i].len, &v) == 0 && v > now) {
		*applied_before_r = 1;
		return end(fd, &t, PERSIST_OK);
	}
	for (i = 0; i < n && ret == PERSIST_OK; i++) {
		/* step by op_size: a newer core's operations are larger */
		const struct persist_op *op = (const void *)((const char *)ops + i * op_size);
		size_t at;

		switch (op->type) {
		case PERSIST_OP_SET:
			ret = put_entry(&t, op->collection, op->key, op->value, op->len, err);
			break;
		case PERSIST_OP_INCR:
			ret = add_entry(&t, op->collection, op->key, op->delta, &v, err);
			break;
		case PERSIST_OP_DELETE:
			if ((at = find(&t, op->collection, op->key)) != SIZE_MAX)
				t.e[at].coll = NULL;
			break;
		default:
			ret = host->error(err, PERSIST_EINVAL, 0, "batch operation %zu: "
					  "this provider keeps no logs", i);
		}
	}
	/* forget the ids that expired */
	for (i = 0; i < t.n; i++)
		if (t.e[i].coll != NULL && strcmp(t.e[i].coll, ".batch-ids") == 0 &&
		    (parse_counter(t.e[i].value, t.e[i].len, &v) != 0 || v <= now))
			t.e[i].coll = NULL;
	snprintf(expiry, sizeof(expiry), "%" PRId64, (int64_t)(now + PERSIST_BATCH_ID_KEEP_MS));
	if (ret == PERSIST_OK)
		ret = put_entry(&t, ".batch-ids", id, expiry, strlen(expiry), err);
	if (ret == PERSIST_OK)
		ret = save(store, &t, SIZE_MAX, err);
	return end(fd, &t, ret);
}

/* The state ops table: designated initializers; methods left out are
   NULL, and the core emulates or refuses them. */
static const struct persist_state_ops sk_state_ops = {
	.size = sizeof(struct persist_state_ops),
	.caps = PERSIST_CAP_SHARED | PERSIST_CAP_DURABLE,
	.open = sk_open,
	.close = sk_close,
	.health = sk_health,
	.get = sk_get,
	.set = sk_set,
	.del = sk_del,
	.scan = sk_scan,
	.incr = sk_incr,
	.batch_once = sk_batch_once,   /* since ABI 1.2 */
	.collections = sk_collections, /* since ABI 1.3 */
};

/* The descriptor: the provider's name must be the file's name. */
static const struct persist_plugin sk_plugin = {
	PERSIST_PLUGIN_HEADER,
	.name = "skeleton",
	.version = "1.0.0",
	.description = "state in one text file (the plugin author's example)",
	.init = sk_init,   /* fini may be NULL: nothing to undo */
	.state = &sk_state_ops,
};

/* The one exported symbol. */
PERSIST_EXPORT const struct persist_plugin *persist_plugin_entry_v1(void)
{
	return &sk_plugin;
}
