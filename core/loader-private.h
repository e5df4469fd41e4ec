/*
 * core/loader-private.h - what the loader's own files share and the rest of
 * the core does not see (that uses core/loader.h).
 *
 * Loading a provider runs through four files, one step each:
 *   loader-path.c        provider names and the search path: where <name>.so
 *                        is looked for, and which directories are ignored;
 *   loader-check.c       the permission and ownership checks of the file
 *                        and its directories, through one open descriptor;
 *   loader-descriptor.c  the checks of the descriptor a plugin returns and
 *                        of each ops table the configuration asks for;
 *   loader.c             dlopen of the checked descriptor, init, and the
 *                        process-wide registry (a plugin opened once);
 *   loader-probe.c       persist_plugins_probe: every plugin on the path,
 *                        each checked in a forked child and never initialised.
 */
#ifndef PERSIST_CORE_LOADER_PRIVATE_H
#define PERSIST_CORE_LOADER_PRIVATE_H

#include <sys/stat.h>

#include "core-private.h"
#include "loader.h"

/* A growable array of strings (each from malloc). */
struct loader_strv {
	char **v;
	size_t n, cap;
};
/* Free every string and the array, and empty sv. */
void loader_strv_free(struct loader_strv *sv);
/* True when sv already holds s. */
int loader_strv_has(const struct loader_strv *sv, const char *s);
/* Append a copy of the len bytes at s; -1 when out of memory. */
int loader_strv_add(struct loader_strv *sv, const char *s, size_t len);

/* s made safe for a message in buf (non-printable bytes and quotes become
   '?', a long string is cut with "..."); "(null)" for NULL. */
const char *loader_printable(const char *s, char *buf, size_t size);

/* --- loader-path.c ---------------------------------------------------- */

/* The search directories of `search` in order, absolute and each once, to
   dirs; relative ones to ignored.  With notes (the probe) every entry that
   is ignored or cannot serve is logged as a warning naming its source. */
int loader_search_dirs(const struct persist_search *search,
		       struct loader_strv *dirs, struct loader_strv *ignored,
		       int notes, struct persist_error *err);
/* "<dir>/<name>.so" in fresh memory, or NULL. */
char *loader_plugin_file(const char *dir, const char *name);
/* True when a directory entry is a "*.so" file name; its provider name is
   then the first *len_r bytes. */
int loader_so_entry(const char *d_name, size_t *len_r);
/* The path of <name>.so in the first search directory holding that entry
   (*path_r from malloc), or PERSIST_ENOPLUGIN naming what was found and
   where it looked. */
int loader_find_plugin(const struct persist_search *search, const char *name,
		       char **path_r, struct persist_error *err);

/* --- loader-check.c --------------------------------------------------- */

/* Why a file or directory with this stat is unsafe to load code from, or
   NULL when it is safe (owned by root or the effective user, writable by
   nobody else). */
const char *loader_unsafe_reason(const struct stat *st, char *buf, size_t size);

/* What the security check leaves for the load: the file, open. */
struct loader_checked {
	char *real;     /* resolved path: what messages name, the registry key */
	int fd;         /* the checked file, open; what is loaded */
	struct stat st; /* its fstat */
	char via[40];   /* set by loader_open_descriptor: the /proc name of fd
			   it was loaded by, "" when loaded by path */
};
/* Resolve, open and check the file at `path` (on failure c->real is NULL
   and c->fd -1). */
int loader_check_file(const char *path, int allow_insecure,
		      struct loader_checked *c, struct persist_error *err);

/* --- loader-descriptor.c ---------------------------------------------- */

/* Check a descriptor against this core: NULL, magic, ABI major, ABI
   minor, size, name == `name`, init.  path names the file in messages. */
int loader_check_descriptor(const struct persist_plugin *desc,
			    const char *path, const char *name,
			    struct persist_error *err);

/* --- loader.c --------------------------------------------------------- */

/* dlopen the checked file (through its descriptor when /proc allows) and
   check its descriptor as provider `name` (no init): the handle and
   descriptor to *dl_r and *desc_r, c->via set.  Runs the plugin's
   constructors.  Registry lock held, or in a probe child.  On failure
   c->fd may have been set to -1 (kept open for good, see dl_unload). */
int loader_open_descriptor(struct loader_checked *c, const char *name,
			   void **dl_r, const struct persist_plugin **desc_r,
			   struct persist_error *err);

#endif
