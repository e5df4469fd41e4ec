/*
 * fuzz/replay.c - the main() of fuzz/replay-<target>: runs one fuzz
 * target's LLVMFuzzerTestOneInput on every file named on the command line,
 * or on every file of a directory named there (the seed corpus, the inputs
 * that once crashed).  It needs no clang and no libFuzzer, so the inputs
 * in fuzz/regress/ are regression tests of the normal `make check`; under
 * ASan or valgrind they are checked for memory errors too.
 *
 * Exit 0 when every input ran (a crash is a crash: the test fails), 2 on a
 * file it cannot read, 1 when no input was found at all.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Targets without one-time setup do not define it. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static unsigned long replayed;

/* Read a whole file into a buffer of exactly its size (so that reading
   past the end is an error ASan or valgrind sees); NULL with errno. */
static uint8_t *read_all(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long size;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc(size > 0 ? (size_t)size : 1);
		if (buf != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
			free(buf);
			buf = NULL;
			errno = EIO;
		}
		*len_r = (size_t)size;
	}
	fclose(f);
	return buf;
}

/* Run the target on one file. */
static int replay_file(const char *path)
{
	size_t len = 0;
	uint8_t *data = read_all(path, &len);

	if (data == NULL) {
		fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
		return 2;
	}
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	replayed++;
	return 0;
}

/* Run the target on every regular file of a directory, in name order. */
static int replay_dir(const char *dir)
{
	struct dirent **names;
	int n, ret = 0;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: cannot read directory %s: %s\n", dir, strerror(errno));
		return 2;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (names[i]->d_name[0] != '.' && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode) && ret == 0)
			ret = replay_file(path);
		free(names[i]);
	}
	free(names);
	return ret;
}

int main(int argc, char **argv)
{
	int ret = 0;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc && ret == 0; i++) {
		struct stat st;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			ret = replay_dir(argv[i]);
		else
			ret = replay_file(argv[i]);
	}
	printf("%s: replayed %lu inputs\n", argv[0], replayed);
	if (ret == 0 && replayed == 0)
		return 1;
	return ret;
}
