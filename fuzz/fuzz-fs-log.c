/*
 * fuzz/fuzz-fs-log.c - fuzz target: the filesystem provider's log reader.
 * The input is ROOT/logs/c.jsonl (records, base64 records, a trim header);
 * the store reads its bounds and records from a few numbers on, appends
 * one record (cutting a torn last line first), and reads again.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "fs-harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct persist_state_ops *ops;
	struct persist_error err;
	void *store = fuzz_fs_open("logs", data, size, &ops);
	uint64_t first = 0, next = 0;

	memset(&err, 0, sizeof(err));
	if (ops->log_bounds(store, FUZZ_FS_COLLECTION, &first, &next, &err) == PERSIST_OK)
		fuzz_assert(first <= next);
	ops->read_log(store, FUZZ_FS_COLLECTION, 0, 0, fuzz_fs_emit, NULL, &err);
	ops->read_log(store, FUZZ_FS_COLLECTION, first + 1, 2, fuzz_fs_emit, NULL, &err);
	if (ops->append(store, FUZZ_FS_COLLECTION, "{\"r\":1}", 7, &err) != PERSIST_OK)
		fuzz_assert(err.msg[0] != '\0');
	ops->read_log(store, FUZZ_FS_COLLECTION, next, 0, fuzz_fs_emit, NULL, &err);
	fuzz_fs_close(store);
	return 0;
}
