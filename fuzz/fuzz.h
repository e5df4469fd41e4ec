/*
 * fuzz/fuzz.h - what every fuzz target shares.  A target is one file
 * fuzz/fuzz-<name>.c defining LLVMFuzzerTestOneInput (and, when it needs
 * one-time setup, LLVMFuzzerInitialize).  The same file is linked twice:
 * with libFuzzer (./configure --enable-fuzzing CC=clang; make fuzz) to
 * fuzz, and with fuzz/replay.c into fuzz/replay-<name>, which `make check`
 * runs on the seed corpus and on every input that once crashed
 * (fuzz/regress/<name>/), with any compiler.
 *
 * A target aborts (fuzz_assert) when the code under test breaks a promise
 * that is not a memory error: an error without a message, a success that
 * left no result.
 */
#ifndef PERSIST_FUZZ_H
#define PERSIST_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Abort with a message when cond is false (the fuzzer records the input). */
#define fuzz_assert(cond)                                                     \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: promise broken: %s\n",        \
				__FILE__, __LINE__, #cond);                   \
			abort();                                              \
		}                                                             \
	} while (0)

/* Where a target makes its scratch directory: $FUZZ_SCRATCH (fuzz/run.sh
   sets it to a directory it removes afterwards, since libFuzzer may end a
   run without the targets' atexit cleanup), else /dev/shm when it can be
   written (a file per run), else $TMPDIR or /tmp. */
static inline const char *fuzz_scratch_dir(void)
{
	const char *dir = getenv("FUZZ_SCRATCH");

	if (dir != NULL && dir[0] != '\0')
		return dir;
	if (access("/dev/shm", W_OK) == 0)
		return "/dev/shm";
	dir = getenv("TMPDIR");
	return dir != NULL && dir[0] != '\0' ? dir : "/tmp";
}

#endif
