/*
 * core/loader-probe.c - persist_plugins_probe, behind `persistctl plugins`:
 * every *.so on the search path, described or with its error.
 *
 * The probe never calls init and loads each plugin in a forked child that
 * runs the same checks as a real load (file, descriptor, every table it
 * offers) and reports through a pipe, so a constructor that exits,
 * crashes or hangs costs only that child.
 */
#define _GNU_SOURCE /* pipe2 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kind.h"
#include "loader-private.h"

/* Free what persist_plugins_probe returned. */
void persist_plugins_free(struct persist_plugin_info *infos, size_t n)
{
	if (infos == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(infos[i].name);
		free(infos[i].path);
		free(infos[i].version);
		free(infos[i].description);
		free(infos[i].error);
	}
	free(infos);
}

/* qsort comparator: plugin infos by name. */
static int cmp_info(const void *a, const void *b)
{
	return strcmp(((const struct persist_plugin_info *)a)->name,
		      ((const struct persist_plugin_info *)b)->name);
}

/* How long a probe child may take to load one plugin before it is
   killed, and the most it may report. */
#define PROBE_TIMEOUT_MS 5000
#define PROBE_TEXT_MAX 2048

/* What a probe child writes to its pipe: this header, then the version,
   description and error texts (len[] bytes each, no NUL). */
struct probe_report {
	int32_t status;
	uint32_t abi_major, abi_minor;
	uint32_t has_kind[PERSIST_KIND_COUNT_];
	uint64_t caps[PERSIST_KIND_COUNT_];
	uint32_t len[3];
};

/* Write all of buf to fd; -1 on failure. */
static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* In the probe child: check and dlopen the plugin at info->path, check its
   descriptor and tables (never init), write the report to fd, and leave
   with _exit (no atexit handler or stdio flush of the parent's state). */
static void probe_child(const struct persist_search *search,
			const struct persist_plugin_info *info, int fd)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct loader_checked c = { .real = NULL, .fd = -1 };
	const struct persist_plugin *desc = NULL;
	struct probe_report r;
	struct persist_error e;
	const char *text[3] = { "", "", "" };
	void *dl = NULL;
	int null, kinds = 0;

	/* a crash must end the child with its signal, whatever handler the
	   host installed; what a constructor prints must not reach the
	   host's output */
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], SIG_DFL);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
	}
	memset(&r, 0, sizeof(r));
	memset(&e, 0, sizeof(e));
	r.status = persist_loader_valid_name(info->name, &e);
	if (r.status == PERSIST_OK)
		r.status = loader_check_file(info->path, search->allow_insecure, &c, &e);
	if (r.status == PERSIST_OK)
		r.status = loader_open_descriptor(&c, info->name, &dl, &desc, &e);
	if (r.status == PERSIST_OK) {
		struct persist_loaded_plugin lp;

		memset(&lp, 0, sizeof(lp));
		lp.name = info->name;
		lp.path = c.real;
		lp.desc = desc;
		r.abi_major = desc->abi_major;
		r.abi_minor = desc->abi_minor;
		text[0] = desc->version != NULL ? desc->version : "";
		text[1] = desc->description != NULL ? desc->description : "";
		for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
			const struct persist_ops_header *table =
				persist_kind_get((enum persist_kind)k)->ops(desc);
			struct persist_error ke;
			int ret;

			if (table == NULL)
				continue;
			ret = persist_loader_check_kind(&lp, (enum persist_kind)k, &ke);
			if (ret != PERSIST_OK) {
				/* the first broken table is the plugin's error */
				if (r.status == PERSIST_OK) {
					r.status = ret;
					e = ke;
				}
				continue;
			}
			r.has_kind[k] = 1;
			r.caps[k] = table->caps;
			kinds++;
		}
		if (r.status == PERSIST_OK && kinds == 0)
			r.status = persist_error_set(&e, PERSIST_ENOIFACE, 0,
				"plugin \"%s\" (%s) offers no interface",
				info->name, c.real);
	}
	if (r.status != PERSIST_OK)
		text[2] = e.msg;
	for (int i = 0; i < 3; i++)
		r.len[i] = (uint32_t)strnlen(text[i], PROBE_TEXT_MAX);
	if (write_all(fd, &r, sizeof(r)) < 0)
		_exit(1);
	for (int i = 0; i < 3; i++)
		if (write_all(fd, text[i], r.len[i]) < 0)
			_exit(1);
	_exit(0);
}

/* Read what the child writes to fd until it closes it, for at most
   timeout_ms; the bytes read to *len_r; 1 when the time ran out. */
static int read_report(int fd, char *buf, size_t size, size_t *len_r,
		       int timeout_ms)
{
	int64_t deadline = persist_monotonic_us() + (int64_t)timeout_ms * 1000;
	size_t len = 0;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - persist_monotonic_us();
		ssize_t n;
		int pr;

		if (left <= 0) {
			*len_r = len;
			return 1;
		}
		pr = poll(&pfd, 1, (int)((left + 999) / 1000));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			break;
		if (pr == 0)
			continue;
		n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == size)
			break;
	}
	*len_r = len;
	return 0;
}

/* Describe the plugin in *info from a probe child's whole report (texts:
   the version, description and error that follow the header); -1 when
   out of memory. */
static int probe_take_report(const struct probe_report *r, const char *texts,
			     struct persist_plugin_info *info)
{
	info->status = (persist_status)r->status;
	if (r->status < 0 || r->status >= PERSIST_STATUS_COUNT_)
		info->status = PERSIST_ELOAD;
	if (info->status != PERSIST_OK) {
		info->error = persist_memdup0(texts + r->len[0] + r->len[1], r->len[2]);
		return info->error == NULL ? -1 : 0;
	}
	info->abi_major = r->abi_major;
	info->abi_minor = r->abi_minor;
	for (int k = 0; k < PERSIST_KIND_COUNT_; k++) {
		info->has_kind[k] = r->has_kind[k] != 0;
		info->caps[k] = r->caps[k];
	}
	info->version = persist_memdup0(texts, r->len[0]);
	info->description = persist_memdup0(texts + r->len[0], r->len[1]);
	return info->version == NULL || info->description == NULL ? -1 : 0;
}

/* Probe one plugin in a child process and describe it in *info (name and
   path set): its descriptor, or why it cannot be loaded, including a
   child that exited, crashed or hung while loading it.  -1 when out of
   memory. */
static int probe_one(const struct persist_search *search,
		     struct persist_plugin_info *info)
{
	char buf[sizeof(struct probe_report) + 3 * PROBE_TEXT_MAX];
	struct probe_report r;
	struct persist_error e;
	size_t len = 0;
	int fds[2], status = 0, timed_out, waited;
	pid_t pid;

	memset(&e, 0, sizeof(e));
	if (pipe2(fds, O_CLOEXEC) < 0) {
		info->status = persist_error_set(&e, PERSIST_ELOAD, errno,
			"plugin %s: cannot probe: pipe: %s", info->path,
			strerror(errno));
		goto error;
	}
	pid = fork();
	if (pid < 0) {
		info->status = persist_error_set(&e, PERSIST_ELOAD, errno,
			"plugin %s: cannot probe: fork: %s", info->path,
			strerror(errno));
		close(fds[0]);
		close(fds[1]);
		goto error;
	}
	if (pid == 0) {
		close(fds[0]);
		probe_child(search, info, fds[1]);
		_exit(1); /* not reached */
	}
	close(fds[1]);
	timed_out = read_report(fds[0], buf, sizeof(buf), &len, PROBE_TIMEOUT_MS);
	close(fds[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	while ((waited = (int)waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;

	/* a whole report is the answer, whatever the child's status after
	   it (a checking tool such as valgrind may change that status) */
	memset(&r, 0, sizeof(r));
	if (len >= sizeof(r))
		memcpy(&r, buf, sizeof(r));
	if (len >= sizeof(r) && r.len[0] <= PROBE_TEXT_MAX &&
	    r.len[1] <= PROBE_TEXT_MAX && r.len[2] <= PROBE_TEXT_MAX &&
	    len == sizeof(r) + (size_t)r.len[0] + r.len[1] + r.len[2])
		return probe_take_report(&r, buf + sizeof(r), info);
	if (timed_out)
		info->status = persist_error_set(&e, PERSIST_ELOAD, 0,
			"plugin %s: did not finish loading within %d seconds\n"
			"It was probed in a separate process, which was killed.",
			info->path, PROBE_TIMEOUT_MS / 1000);
	else if (waited == pid && WIFSIGNALED(status))
		info->status = persist_error_set(&e, PERSIST_ELOAD, 0,
			"plugin %s: crashed while loading (signal %d)\n"
			"It was probed in a separate process; this one is unaffected.",
			info->path, WTERMSIG(status));
	else if (waited == pid && WIFEXITED(status))
		/* a constructor called exit */
		info->status = persist_error_set(&e, PERSIST_ELOAD, 0,
			"plugin %s: exited with status %d while loading\n"
			"It was probed in a separate process; this one is unaffected.",
			info->path, WEXITSTATUS(status));
	else
		info->status = persist_error_set(&e, PERSIST_ELOAD, 0,
			"plugin %s: ended without a report while loading",
			info->path);
error:
	info->error = persist_strdup(e.msg);
	return info->error == NULL ? -1 : 0;
}

/* Every *.so in every search directory, described (persist_plugins_probe). */
int persist_loader_probe(const struct persist_search *search,
			 struct persist_plugin_info **infos_r, size_t *n_r,
			 struct persist_error *err)
{
	struct loader_strv dirs = { 0 }, ignored = { 0 }, seen = { 0 };
	struct persist_plugin_info *infos = NULL;
	size_t n = 0, cap = 0;
	int ret;

	if (infos_r == NULL || n_r == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
					 "nowhere to return the plugin list");
	ret = loader_search_dirs(search, &dirs, &ignored, 1, err);
	if (ret != PERSIST_OK)
		goto out;
	/* a child that exits through exit() flushes the stdio buffers it
	   inherited: empty them first so nothing is written twice */
	fflush(NULL);

	for (size_t i = 0; i < dirs.n; i++) {
		struct loader_strv here = { 0 };
		struct dirent *de;
		DIR *d = opendir(dirs.v[i]);
		size_t len;

		if (d == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			if (loader_so_entry(de->d_name, &len) &&
			    loader_strv_add(&here, de->d_name, len) < 0) {
				closedir(d);
				loader_strv_free(&here);
				goto nomem;
			}
		}
		closedir(d);
		for (size_t j = 0; j < here.n; j++) {
			struct persist_plugin_info *info;

			/* the first directory holding a name wins */
			if (loader_strv_has(&seen, here.v[j]))
				continue;
			if (loader_strv_add(&seen, here.v[j], strlen(here.v[j])) < 0) {
				loader_strv_free(&here);
				goto nomem;
			}
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				struct persist_plugin_info *ni =
					realloc(infos, ncap * sizeof(*ni));
				if (ni == NULL) {
					loader_strv_free(&here);
					goto nomem;
				}
				infos = ni;
				cap = ncap;
			}
			info = &infos[n++];
			memset(info, 0, sizeof(*info));
			info->name = persist_strdup(here.v[j]);
			info->path = loader_plugin_file(dirs.v[i], here.v[j]);
			if (info->name == NULL || info->path == NULL ||
			    probe_one(search, info) < 0) {
				loader_strv_free(&here);
				goto nomem;
			}
		}
		loader_strv_free(&here);
	}
	if (n > 1)
		qsort(infos, n, sizeof(*infos), cmp_info);
	*infos_r = infos;
	*n_r = n;
	infos = NULL;
	n = 0;
	ret = PERSIST_OK;
	goto out;
nomem:
	ret = persist_error_set(err, PERSIST_ENOMEM, ENOMEM,
				"out of memory probing plugins");
out:
	persist_plugins_free(infos, n);
	loader_strv_free(&dirs);
	loader_strv_free(&ignored);
	loader_strv_free(&seen);
	return ret;
}

/* Public: every plugin on the search path of these options (and of the
   configuration file's pluginPath when config_path is given). */
int persist_plugins_probe(const struct persist_options *opts,
			  const char *config_path,
			  struct persist_plugin_info **infos_r, size_t *n_r,
			  struct persist_error *err)
{
	struct persist_search search;
	struct persist_logger logger = { NULL, NULL, PERSIST_LOG_INFO };
	char **file_dirs = NULL;
	size_t n_file_dirs = 0;
	int ret;

	if (infos_r == NULL || n_r == NULL)
		return persist_error_set(err, PERSIST_EINVAL, 0,
					 "nowhere to return the plugin list");
	memset(&search, 0, sizeof(search));
	if (opts != NULL) {
		if (!PERSIST_HAS(opts, flags))
			return persist_error_set(err, PERSIST_EINVAL, 0,
				"persist_options.size is %u, too small for its flags\n"
				"Set size to sizeof(struct persist_options).",
				(unsigned)opts->size);
		if (opts->n_plugin_dirs > 0 && opts->plugin_dirs == NULL)
			return persist_error_set(err, PERSIST_EINVAL, 0,
				"persist_options.plugin_dirs is NULL but "
				"n_plugin_dirs is %zu", opts->n_plugin_dirs);
		search.api_dirs = opts->plugin_dirs;
		search.n_api_dirs = opts->n_plugin_dirs;
		search.no_env = (opts->flags & PERSIST_OPEN_NO_ENV_PLUGIN_PATH) != 0;
		search.allow_insecure =
			(opts->flags & PERSIST_OPEN_ALLOW_INSECURE_PLUGINS) != 0;
		logger.log = opts->log;
		logger.ctx = opts->log_ctx;
		logger.level = opts->log_level;
		search.logger = &logger;
	}
	if (config_path != NULL) {
		/* pluginPath of the configuration file, from core/settings.c */
		ret = persist_settings_plugin_path(config_path, &file_dirs,
						   &n_file_dirs, err);
		if (ret != PERSIST_OK)
			return ret;
		search.file_dirs = (const char *const *)file_dirs;
		search.n_file_dirs = n_file_dirs;
	}
	ret = persist_loader_probe(&search, infos_r, n_r, err);
	for (size_t i = 0; i < n_file_dirs; i++)
		free(file_dirs[i]);
	free(file_dirs);
	return ret;
}
