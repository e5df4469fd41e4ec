/*
 * fuzz/fs-harness.c - see fs-harness.h.  The scratch root lives under
 * $TMPDIR (or /dev/shm when it exists: the targets write a file per run)
 * and is removed at exit.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "fs-harness.h"
#include "plugin-host.h"

static char root[256];
static struct ph_plugin fs;

/* Remove one file if present. */
static void unlink_quiet(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s/%s", root, dir, name);
	unlink(path);
}

/* Remove what a run may have left under the scratch root. */
static void root_empty(void)
{
	unlink_quiet("kv", FUZZ_FS_COLLECTION ".jsonl");
	unlink_quiet("kv", "." FUZZ_FS_COLLECTION ".jsonl.compact");
	unlink_quiet("logs", FUZZ_FS_COLLECTION ".jsonl");
	unlink_quiet("logs", "." FUZZ_FS_COLLECTION ".jsonl.trim");
	unlink_quiet(".locks", "kv." FUZZ_FS_COLLECTION);
	unlink_quiet(".locks", "log." FUZZ_FS_COLLECTION);
}

/* At exit: remove the scratch root (best effort). */
static void root_remove(void)
{
	char path[512];
	static const char *const subs[] = { "kv", "logs", ".locks" };

	if (fs.pl != NULL && fs.pl->fini != NULL)
		fs.pl->fini(fs.obj);
	root_empty();
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, subs[i]);
		rmdir(path);
	}
	rmdir(root);
}

/* Once: make the scratch root and init the provider. */
static void setup(void)
{
	struct persist_error err;

	snprintf(root, sizeof(root), "%s/persist-fuzz.XXXXXX", fuzz_scratch_dir());
	fuzz_assert(mkdtemp(root) != NULL);
	for (const char *sub = "kv"; sub != NULL; sub = strcmp(sub, "kv") == 0 ? "logs" : NULL) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%s", root, sub);
		fuzz_assert(mkdir(path, 0700) == 0);
	}
	memset(&err, 0, sizeof(err));
	fs.pl = persist_plugin_entry_v1();
	fuzz_assert(fs.pl != NULL && fs.pl->state != NULL);
	fuzz_assert(fs.pl->init(&ph_host, &fs.obj, &err) == PERSIST_OK);
	atexit(root_remove);
}

void *fuzz_fs_open(const char *sub, const uint8_t *data, size_t size,
		   const struct persist_state_ops **ops_r)
{
	char path[512], json[600];
	struct persist_error err;
	void *store = NULL;
	int fd;

	if (root[0] == '\0')
		setup();
	snprintf(path, sizeof(path), "%s/%s/%s.jsonl", root, sub, FUZZ_FS_COLLECTION);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fuzz_assert(fd >= 0);
	fuzz_assert(size == 0 || write(fd, data, size) == (ssize_t)size);
	close(fd);
	snprintf(json, sizeof(json), "{\"root\":\"%s\",\"fsync\":\"never\"}", root);
	fuzz_assert(ph_open(&fs, PERSIST_KIND_STATE, json, "fuzz", NULL, &store, &err) == PERSIST_OK);
	*ops_r = fs.pl->state;
	return store;
}

void fuzz_fs_close(void *store)
{
	ph_close(&fs, PERSIST_KIND_STATE, store);
	root_empty();
	ph_log_clear();   /* the host records log lines: keep memory flat */
}

int fuzz_fs_emit(void *ctx, const struct persist_item *item)
{
	(void)ctx;
	fuzz_assert(item != NULL);
	fuzz_assert(item->value != NULL || item->len == 0);
	if (item->len > 0) {
		/* touch every byte: ASan and valgrind see a bad pointer or length */
		volatile unsigned char sum = 0;
		for (size_t i = 0; i < item->len; i++)
			sum ^= ((const unsigned char *)item->value)[i];
		(void)sum;
	}
	return 0;
}

void fuzz_fs_value_free(struct persist_value *value)
{
	ph_host.free(value->data);
	value->data = NULL;
}
