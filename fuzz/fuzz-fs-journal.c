/*
 * fuzz/fuzz-fs-journal.c - fuzz target: the filesystem provider's key
 * journal reader.  The input is ROOT/kv/c.jsonl; the store replays it
 * (scan, get of a few keys a seed uses), then a write appends to it (which
 * first cuts a torn last line), a dated batch is judged against the
 * write times it gave, and the journal is read again.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "fs-harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "hits", "s1", "b", "k" };
	const struct persist_state_ops *ops;
	struct persist_error err;
	void *store = fuzz_fs_open("kv", data, size, &ops);
	int64_t v;

	memset(&err, 0, sizeof(err));
	ops->scan(store, FUZZ_FS_COLLECTION, "", fuzz_fs_emit, NULL, &err);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct persist_value value = { 0 };

		if (ops->get(store, FUZZ_FS_COLLECTION, keys[i], &value, &err) == PERSIST_OK)
			fuzz_fs_value_free(&value);
		else
			fuzz_assert(err.msg[0] != '\0' || err.code == PERSIST_ENOTFOUND);
	}
	if (ops->incr(store, FUZZ_FS_COLLECTION, "hits", 1, &v, &err) != PERSIST_OK)
		fuzz_assert(err.msg[0] != '\0');
	{
		/* dated writes judged against the times the journal gave */
		struct persist_op dated[] = {
			{ .type = PERSIST_OP_SET, .collection = FUZZ_FS_COLLECTION, .key = "s1",
			  .value = "z", .len = 1 },
			{ .type = PERSIST_OP_DELETE, .collection = FUZZ_FS_COLLECTION, .key = "b" },
		};
		int64_t times[] = { 1767225500001, 1767225500002 };
		int before = 0;

		if (ops->batch_once_dated(store, "fuzz-dated", dated, times, 2, sizeof(dated[0]),
					  &before, &err) != PERSIST_OK)
			fuzz_assert(err.msg[0] != '\0');
	}
	ops->scan(store, FUZZ_FS_COLLECTION, "s", fuzz_fs_emit, NULL, &err);
	fuzz_fs_close(store);
	return 0;
}
