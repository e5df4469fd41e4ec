/*
 * core/loader.c - loading a checked plugin file: dlopen, the descriptor,
 * init, and the process-wide registry of loaded plugins.
 *
 * persist_loader_acquire runs the whole sequence: find the file
 * (loader-path.c), check it through one open descriptor (loader-check.c),
 * then here dlopen(RTLD_NOW | RTLD_LOCAL) that descriptor as
 * /proc/<pid>/fd/N (the file by its path only when /proc is missing),
 * check the entry symbol's descriptor (loader-descriptor.c) and run init.
 * Messages always name the file's path, never the /proc name.
 *
 * The dynamic loader knows the plugin by its /proc name as long as it is
 * mapped, so the descriptor stays open that long (see dl_unload).  A side
 * effect for plugin authors: $ORIGIN in a plugin's RUNPATH is then
 * /proc/<pid>/fd, so a plugin finds its own libraries through an absolute
 * RUNPATH or the system's search path, not through $ORIGIN.
 *
 * Every plugin is loaded once per process: the registry, keyed by the
 * resolved path (and the file's device/inode, so a hard link is the same
 * plugin), holds a reference count; the last release runs fini and
 * dlclose.  One mutex guards the registry and every dlopen/dlsym/dlerror
 * call (dlerror's buffer is not safe to share between threads).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader-private.h"

/* The registry: every loaded plugin, guarded by registry_lock, which is
   also held around every dlopen/dlsym/dlerror/dlclose and around init and
   fini (so a plugin is initialised exactly once even when two threads ask
   for it at the same moment). */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct persist_loaded_plugin *registry;

/* Append s to buf (o bytes used of size, always NUL-terminated, cut when
   full); the new o. */
static size_t put(char *buf, size_t size, size_t o, const char *s, size_t len)
{
	if (o + 1 >= size)
		return o;
	if (len > size - o - 1)
		len = size - o - 1;
	memcpy(buf + o, s, len);
	buf[o + len] = '\0';
	return o + len;
}

/* dlerror()'s text without the leading "<name>: " that repeats the file
   already in our message, and with the /proc name the file was loaded by
   replaced by its real path wherever else it appears (a message names the
   file the user knows, never /proc/N/fd/M).  Registry lock held. */
static const char *dl_message(const struct loader_checked *c, char *buf,
			      size_t size)
{
	const char *msg = dlerror();
	const char *name = c->via[0] != '\0' ? c->via : c->real;
	size_t len = strlen(name), o = 0;

	if (msg == NULL)
		return "unknown dynamic loader error";
	if (strncmp(msg, name, len) == 0 && msg[len] == ':' && msg[len + 1] == ' ')
		msg += len + 2;
	if (c->via[0] == '\0')
		return msg;
	buf[0] = '\0';
	while (*msg != '\0') {
		const char *hit = strstr(msg, name);

		/* "/proc/1/fd/5" inside "/proc/1/fd/57" is no mention */
		while (hit != NULL && hit[len] >= '0' && hit[len] <= '9')
			hit = strstr(hit + 1, name);
		if (hit == NULL) {
			o = put(buf, size, o, msg, strlen(msg));
			break;
		}
		o = put(buf, size, o, msg, (size_t)(hit - msg));
		o = put(buf, size, o, c->real, strlen(c->real));
		msg = hit + len;
	}
	return buf;
}

/* Choose the name dlopen gets for the checked file: "/proc/<pid>/fd/<fd>",
   else "/proc/self/fd/<fd>", each only when stat() through it finds the
   inode that was checked.  The kernel resolves such a name to the open
   descriptor itself, so what is mapped is what was checked, whatever
   became of the path since.  The pid form comes first because the name
   stays in the dynamic loader's list of objects: a debugger or a
   sanitizer's symboliser (another process) can still open it while the
   descriptor is open, which it cannot do with "self".  c->via is left
   empty when neither works (/proc not mounted): the file is then loaded
   by its path, with the window that leaves (see loader-check.c). */
static void choose_via(struct loader_checked *c)
{
	char name[sizeof(c->via)];
	struct stat st;

	c->via[0] = '\0';
	for (int i = 0; i < 2; i++) {
		int n = i == 0
			? snprintf(name, sizeof(name), "/proc/%ld/fd/%d", (long)getpid(), c->fd)
			: snprintf(name, sizeof(name), "/proc/self/fd/%d", c->fd);

		if (n < 0 || (size_t)n >= sizeof(name) || stat(name, &st) < 0 ||
		    st.st_dev != c->st.st_dev || st.st_ino != c->st.st_ino)
			continue;
		memcpy(c->via, name, (size_t)n + 1);
		return;
	}
}

/* dlclose a handle of a plugin loaded by the /proc name via (or by path,
   via "").  The dynamic loader knows an object by the name it was opened
   by and hands the same object back for the same name: were the
   descriptor closed while the object stays mapped (a library the loader
   never unloads), a later plugin opened on the same descriptor number
   would get this one instead.  So when the object is still there after
   dlclose the descriptor stays open for the life of the process and *fd
   becomes -1, so that nobody closes it.  Registry lock held. */
static void dl_unload(void *dl, const char *via, int *fd)
{
	void *again;

	dlclose(dl);
	if (via[0] == '\0')
		return;
	again = dlopen(via, RTLD_LAZY | RTLD_NOLOAD);
	(void)dlerror();
	if (again != NULL) {
		dlclose(again);
		*fd = -1;
	}
}

/* The loaded plugin for the checked file, if the registry has it.
   Registry lock held. */
static struct persist_loaded_plugin *registry_find(const struct loader_checked *c)
{
	for (struct persist_loaded_plugin *lp = registry; lp != NULL; lp = lp->next) {
		if (strcmp(lp->path, c->real) == 0 ||
		    (lp->dev == (uint64_t)c->st.st_dev &&
		     lp->ino == (uint64_t)c->st.st_ino))
			return lp;
	}
	return NULL;
}

/* dlopen the checked file and check its descriptor as provider `name`
   (no init): the handle and descriptor to *dl_r and *desc_r.  Runs the
   plugin's constructors.  Registry lock held, or in a probe child. */
int loader_open_descriptor(struct loader_checked *c, const char *name,
			   void **dl_r, const struct persist_plugin **desc_r,
			   struct persist_error *err)
{
	const struct persist_plugin *desc;
	persist_plugin_entry_fn *entry;
	struct stat now;
	char msg[sizeof(err->msg)];
	void *dl, *sym;
	int ret;

	choose_via(c);
	(void)dlerror();
	dl = dlopen(c->via[0] != '\0' ? c->via : c->real, RTLD_NOW | RTLD_LOCAL);
	if (dl == NULL)
		return persist_error_set(err, PERSIST_ELOAD, 0,
			"plugin %s: cannot load: %s", c->real,
			dl_message(c, msg, sizeof(msg)));
	/* loaded by path: the inode we checked must be the one the loader
	   mapped (through /proc it is so by construction) */
	if (c->via[0] == '\0' &&
	    (stat(c->real, &now) < 0 || now.st_dev != c->st.st_dev ||
	     now.st_ino != c->st.st_ino)) {
		ret = persist_error_set(err, PERSIST_ELOAD, 0,
			"plugin %s: the file was replaced while it was being loaded",
			c->real);
		goto fail;
	}
	(void)dlerror();
	sym = dlsym(dl, PERSIST_PLUGIN_ENTRY_SYMBOL);
	if (sym == NULL) {
		ret = persist_error_set(err, PERSIST_ENOENTRY, 0,
			"plugin %s: no " PERSIST_PLUGIN_ENTRY_SYMBOL " symbol\n"
			"The file is not a persist plugin, or is one for another "
			"ABI major.", c->real);
		goto fail;
	}
	/* POSIX guarantees a dlsym result converts to a function pointer */
	memcpy(&entry, &sym, sizeof(entry));
	desc = entry();
	ret = loader_check_descriptor(desc, c->real, name, err);
	if (ret != PERSIST_OK)
		goto fail;
	*dl_r = dl;
	*desc_r = desc;
	return PERSIST_OK;
fail:
	dl_unload(dl, c->via, &c->fd);
	return ret;
}

/* dlopen, check, init the checked file as provider `name`.  Registry lock
   held. */
static int load_plugin(struct loader_checked *c, const char *name,
		       const struct persist_logger *logger,
		       struct persist_loaded_plugin **plugin_r,
		       struct persist_error *err)
{
	struct persist_loaded_plugin *lp;
	const struct persist_plugin *desc;
	struct persist_error ierr;
	void *dl, *pd = NULL;
	int ret;

	ret = loader_open_descriptor(c, name, &dl, &desc, err);
	if (ret != PERSIST_OK)
		return ret;

	lp = calloc(1, sizeof(*lp));
	if (lp == NULL || (lp->name = persist_strdup(name)) == NULL) {
		free(lp);
		ret = persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
		goto fail;
	}

	/* said before init runs: an init that crashes or exits takes the
	   process with it, and this line is then the last word on why */
	persist_logger_log(logger, PERSIST_LOG_INFO,
			   "initialising plugin %s (%s)", name, c->real);
	memset(&ierr, 0, sizeof(ierr));
	ret = desc->init(persist_host_table(), &pd, &ierr);
	if (ret != PERSIST_OK) {
		ierr.msg[sizeof(ierr.msg) - 1] = '\0';
		if (ierr.msg[0] != '\0')
			ret = persist_error_set(err, PERSIST_EINIT, ierr.sys_errno,
				"plugin %s: init failed: %s", c->real, ierr.msg);
		else
			ret = persist_error_set(err, PERSIST_EINIT, ierr.sys_errno,
				"plugin %s: init failed: %s", c->real,
				persist_strerror(ret));
		free(lp->name);
		free(lp);
		goto fail;
	}

	lp->path = c->real;
	c->real = NULL;
	lp->dl = dl;
	lp->desc = desc;
	lp->plugin = pd;
	lp->refcount = 1;
	lp->dev = (uint64_t)c->st.st_dev;
	lp->ino = (uint64_t)c->st.st_ino;
	/* loaded through /proc: the descriptor lives as long as the object */
	lp->fd = -1;
	memcpy(lp->via, c->via, sizeof(lp->via));
	if (c->via[0] != '\0') {
		lp->fd = c->fd;
		c->fd = -1;
	}
	lp->next = registry;
	registry = lp;
	*plugin_r = lp;
	return PERSIST_OK;
fail:
	dl_unload(dl, c->via, &c->fd);
	return ret;
}

/* Load provider `name` (or the module at absolute path `module`), or take
   one more reference to it when this process already has it. */
int persist_loader_acquire(const struct persist_search *search,
			   const char *name, const char *module,
			   struct persist_loaded_plugin **plugin_r,
			   struct persist_error *err)
{
	struct loader_checked c = { .real = NULL, .fd = -1 };
	struct persist_loaded_plugin *lp;
	char *path = NULL, show[80];
	int ret;

	ret = persist_loader_valid_name(name, err);
	if (ret != PERSIST_OK)
		return ret;
	if (plugin_r == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"provider \"%s\": nowhere to return the plugin", name);
	if (search == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
			"provider \"%s\": plugin search path is missing", name);
	if (module != NULL) {
		if (module[0] != '/')
			return persist_error_set(err, PERSIST_EINVAL, 0,
				"module path \"%s\" of provider \"%s\" is not absolute",
				loader_printable(module, show, sizeof(show)), name);
		path = persist_strdup(module);
		if (path == NULL)
			return persist_error_set(err, PERSIST_ENOMEM, ENOMEM,
						 "out of memory");
	} else {
		ret = loader_find_plugin(search, name, &path, err);
		if (ret != PERSIST_OK)
			return ret;
	}

	ret = loader_check_file(path, search->allow_insecure, &c, err);
	free(path);
	if (ret != PERSIST_OK)
		return ret;

	pthread_mutex_lock(&registry_lock);
	lp = registry_find(&c);
	if (lp != NULL) {
		if (strcmp(lp->name, name) != 0) {
			ret = persist_error_set(err, PERSIST_ENAME, 0,
				"plugin %s: declares name \"%s\", expected \"%s\"\n"
				"A plugin's file name must be its declared name plus .so.",
				c.real, lp->name, name);
		} else {
			lp->refcount++;
			*plugin_r = lp;
		}
	} else {
		ret = load_plugin(&c, name, search->logger, plugin_r, err);
	}
	pthread_mutex_unlock(&registry_lock);
	if (c.fd >= 0)
		close(c.fd);
	free(c.real);
	return ret;
}

/* Drop one reference; the last one runs fini and dlclose. */
void persist_loader_release(struct persist_loaded_plugin *plugin)
{
	struct persist_loaded_plugin **pp;

	if (plugin == NULL)
		return;
	pthread_mutex_lock(&registry_lock);
	if (--plugin->refcount > 0) {
		pthread_mutex_unlock(&registry_lock);
		return;
	}
	for (pp = &registry; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == plugin) {
			*pp = plugin->next;
			break;
		}
	}
	if (plugin->desc->fini != NULL)
		plugin->desc->fini(plugin->plugin);
	dl_unload(plugin->dl, plugin->via, &plugin->fd);
	if (plugin->fd >= 0)
		close(plugin->fd);
	pthread_mutex_unlock(&registry_lock);
	free(plugin->name);
	free(plugin->path);
	free(plugin);
}
