/*
 * t/import/import-fill.c - the readers of `persistctl import-platform` on
 * their own: `import-fill DIR CONFIG` reads the platform's files under DIR
 * straight into the providers CONFIG names (no copy engine, no
 * verification) and prints what it read, or the reader's error and exit 2.
 * The import tests use it to check the readers apart from the copy.
 */
#include <stdio.h>
#include <time.h>
#include <persist/persist.h>

#include "import.h"

int main(int argc, char **argv)
{
	struct persist_error err = { 0 };
	struct import_counts counts;
	struct timespec ts;
	persist *p;
	int ret;

	if (argc != 3) {
		fputs("usage: import-fill DIR CONFIG\n", stderr);
		return 2;
	}
	if (persist_open_file(argv[2], NULL, &p, &err) != PERSIST_OK) {
		fprintf(stderr, "import-fill: %s\n", err.msg);
		return 3;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ret = import_fill(p, argv[1], (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
			  &counts, &err);
	if (ret != PERSIST_OK)
		fprintf(stderr, "import-fill: %s\n", err.msg);
	else
		import_counts_print(stdout, &counts);
	if (persist_close(p, &err) != PERSIST_OK && ret == PERSIST_OK) {
		fprintf(stderr, "import-fill: %s\n", err.msg);
		ret = PERSIST_EIO;
	}
	return ret == PERSIST_OK ? 0 : ret == PERSIST_EINVAL ? 2 : 3;
}
