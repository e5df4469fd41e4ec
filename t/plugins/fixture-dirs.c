/*
 * t/plugins/fixture-dirs.c - plugin directories for the loader tests (see
 * fixture-dirs.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture-dirs.h"

static char fixture_dir[PATH_MAX];
static char scratch[PATH_MAX];

/* snprintf that aborts on truncation. */
void fx_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		fprintf(stderr, "fixture-dirs: string too long: %s\n", buf);
		abort();
	}
}

/* Locate the fixtures, make the scratch directory. */
int fx_setup(const char *prog)
{
	const char *build = getenv("abs_top_builddir");
	const char *tmp = getenv("PERSIST_TEST_TMP");

	if (tmp == NULL)
		tmp = getenv("TMPDIR");
	if (build == NULL) {
		fprintf(stderr, "%s: abs_top_builddir is not set (run through make check)\n",
			prog);
		return -1;
	}
	fx_fmt(fixture_dir, sizeof(fixture_dir), "%s/t/plugins/.libs", build);
	fx_fmt(scratch, sizeof(scratch), "%s/loader.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(scratch) == NULL) {
		fprintf(stderr, "%s: mkdtemp %s: %s\n", prog, scratch, strerror(errno));
		return -1;
	}
	return 0;
}

/* The scratch directory. */
const char *fx_scratch(void)
{
	return scratch;
}

/* Remove one entry of the scratch tree (nftw callback). */
static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* Remove the scratch tree. */
void fx_cleanup(void)
{
	if (scratch[0] != '\0')
		nftw(scratch, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Copy a fixture into dir. */
int fx_copy(const char *name, const char *dir, const char *as, mode_t mode)
{
	char src[PATH_MAX], dst[PATH_MAX], buf[65536];
	int in, out, ok = 1;
	ssize_t n;

	fx_fmt(src, sizeof(src), "%s/%s.so", fixture_dir, name);
	fx_fmt(dst, sizeof(dst), "%s/%s.so", dir, as ? as : name);
	in = open(src, O_RDONLY);
	if (in < 0) {
		fprintf(stderr, "fixture-dirs: cannot open %s: %s\n", src, strerror(errno));
		return -1;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (out < 0) {
		fprintf(stderr, "fixture-dirs: cannot create %s: %s\n", dst, strerror(errno));
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n)
			ok = 0;
	}
	if (n < 0)
		ok = 0;
	close(in);
	if (close(out) < 0 || chmod(dst, mode) < 0)
		ok = 0;
	return ok ? 0 : -1;
}

/* A fresh directory holding copies of fixtures.  The returned path stays
   valid until the program ends (a few dozen per run). */
const char *fx_make_dir(const char *const *fixtures, mode_t dmode, mode_t fmode)
{
	static char made[256][PATH_MAX];
	static size_t n_made;
	char tmpl[PATH_MAX], *real;

	if (n_made == sizeof(made) / sizeof(*made))
		return NULL;
	fx_fmt(tmpl, sizeof(tmpl), "%s/plugins.XXXXXX", scratch);
	if (mkdtemp(tmpl) == NULL || realpath(tmpl, made[n_made]) == NULL)
		return NULL;
	real = made[n_made++];
	for (size_t i = 0; fixtures != NULL && fixtures[i] != NULL; i++) {
		if (fx_copy(fixtures[i], real, NULL, fmode) < 0)
			return NULL;
	}
	if (chmod(real, dmode) < 0)
		return NULL;
	return real;
}

/* One fixture in a fresh safe directory. */
const char *fx_dir_with(const char *fixture)
{
	const char *list[] = { fixture, NULL };

	return fx_make_dir(list, 0755, 0644);
}

/* True when path is mapped (a dlclose'd plugin is not). */
int fx_mapped(const char *path)
{
	char line[PATH_MAX + 256];
	size_t len = strlen(path);
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = strstr(line, path);
		if (p != NULL && (p[len] == '\n' || p[len] == '\0'))
			found = 1;
	}
	fclose(f);
	return found;
}
