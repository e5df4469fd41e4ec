/*
 * t/plugins/fixture-dirs.h - what both loader tests need to lay out plugin
 * directories of their own: copies of the fixture plugins built in
 * $abs_top_builddir/t/plugins/.libs/ in fresh mkdtemp directories with the
 * modes a case wants, and a look at /proc/self/maps to tell whether a
 * plugin is still loaded.
 */
#ifndef FIXTURE_DIRS_H
#define FIXTURE_DIRS_H

#include <stddef.h>
#include <sys/types.h>

/* Find the fixtures and make the scratch directory ($PERSIST_TEST_TMP or
   $TMPDIR or /tmp); -1 (with a message on stderr) when that fails. */
int fx_setup(const char *prog);
/* Remove the scratch directory and everything in it. */
void fx_cleanup(void);
/* The scratch directory. */
const char *fx_scratch(void);

/* snprintf that aborts on truncation (a broken test setup). */
void fx_fmt(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Copy fixture `name`.so into dir as `as`.so (as NULL: same name) with
   mode; 0 or -1. */
int fx_copy(const char *name, const char *dir, const char *as, mode_t mode);
/* A fresh directory (mode dmode) holding copies of the NULL-terminated
   list of fixtures (mode fmode); its resolved path, or NULL. */
const char *fx_make_dir(const char *const *fixtures, mode_t dmode, mode_t fmode);
/* One fixture in a fresh directory with safe modes (0755, 0644). */
const char *fx_dir_with(const char *fixture);
/* True when the file at path is mapped into this process. */
int fx_mapped(const char *path);

#endif
