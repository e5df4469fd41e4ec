/*
 * bench/core-bench.c - the core's speed targets (dispatch, cached reads,
 * open), printed in one run as times and ratios against plain in-process
 * baselines:
 *
 *   1. dispatch cost: persist_state_incr through the memory plugin versus
 *      the same increment on a plain hash table written here; the memory
 *      plugin's own incr, called directly through its ops table (dlopen +
 *      the host table of t/lib/plugin-host.c), is measured too, so that the core's share of
 *      the overhead is visible apart from the plugin's (target: overhead
 *      under 50 ns per call);
 *   2. cached persist_config_get (memory provider, warm cache) versus a
 *      plain hash lookup, with and without copying the document out as the
 *      API does (target: under 100 ns per call);
 *   3. time to open (and close) a configuration that loads three plugins,
 *      in a warm process and in fresh processes (re-executing this program,
 *      so dlopen, relocation and init are paid each time) (target: under
 *      5 ms).
 *
 * Each figure is the median of several rounds, the baseline and the
 * measured loop interleaved round by round.  The program runs through
 * t/run-test (make bench): PERSIST_PLUGIN_PATH names the plugins of this
 * build and PERSIST_TEST_TMP a scratch directory.  For the third plugin of
 * figure 3 it uses redis when redis.so was built and REDIS_SERVER names a
 * server binary: it starts one on a free loopback port and stops it after.
 * Without them it says so and opens the two plugins that are always built.
 *
 * Targets missed are printed as MISS; the exit code is 0 unless something
 * could not be measured at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <persist/persist.h>
#include "../t/lib/plugin-host.h"
#include "bench-summary.h"

#define ROUNDS 7
#define N_KEYS 64
#define INCR_OPS 200000
#define GET_OPS 400000
#define OPEN_ROUNDS 21
#define FRESH_ROUNDS 11
#define DOC_SIZE 512

/* Monotonic clock in nanoseconds. */
static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Median of n doubles (sorts them). */
static double median(double *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Print a failure and exit: something could not be measured. */
static void die(const char *what, const struct persist_error *err)
{
	fprintf(stderr, "core-bench: %s: %s\n", what,
		err != NULL ? err->msg : strerror(errno));
	exit(1);
}

/* --- the plain baselines: a small open-addressing hash table ------------ */

struct plain_slot {
	char *key;          /* NULL: empty */
	int64_t counter;
	char *doc;
	size_t doc_len;
	char etag[PERSIST_ETAG_MAX];
};

struct plain_table {
	struct plain_slot slot[256]; /* power of two, > 2 * N_KEYS */
};

/* FNV-1a over collection and key. */
static uint32_t plain_hash(const char *collection, const char *key)
{
	uint32_t h = 2166136261u;

	for (const char *s = collection; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (const char *s = key; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* Find or create the slot of (collection, key); keys are "coll\0key". */
static struct plain_slot *plain_find(struct plain_table *t, const char *collection,
				     const char *key, int create)
{
	uint32_t i = plain_hash(collection, key) & 255;
	size_t cl = strlen(collection);

	for (;; i = (i + 1) & 255) {
		struct plain_slot *s = &t->slot[i];
		if (s->key == NULL) {
			if (!create)
				return NULL;
			size_t kl = strlen(key);
			s->key = malloc(cl + kl + 2);
			if (s->key == NULL)
				die("out of memory", NULL);
			memcpy(s->key, collection, cl + 1);
			memcpy(s->key + cl + 1, key, kl + 1);
			return s;
		}
		if (memcmp(s->key, collection, cl + 1) == 0 &&
		    strcmp(s->key + cl + 1, key) == 0)
			return s;
	}
}

/* Free the table's keys and documents. */
static void plain_free(struct plain_table *t)
{
	for (int i = 0; i < 256; i++) {
		free(t->slot[i].key);
		free(t->slot[i].doc);
	}
	memset(t, 0, sizeof(*t));
}

/* --- the memory plugin called directly (host table: t/lib/plugin-host) ----- */

/* The memory plugin loaded by hand: its state store. */
struct direct {
	struct ph_plugin p;
	void *store;
};

/* dlopen memory.so from PERSIST_PLUGIN_PATH and open a state store. */
static void direct_open(struct direct *d)
{
	struct persist_error err = { 0 };

	if (ph_load(&d->p, "memory", &err) != PERSIST_OK)
		die("loading memory.so (run through make bench)", &err);
	if (d->p.pl->state == NULL)
		die("memory.so has no usable entry", NULL);
	if (ph_open(&d->p, PERSIST_KIND_STATE, "{\"namespace\":\"bench-direct\"}",
		    "bench-direct", NULL, &d->store, &err) != PERSIST_OK)
		die("memory state open", &err);
}

/* Close the hand-loaded store and plugin. */
static void direct_close(struct direct *d)
{
	ph_close(&d->p, PERSIST_KIND_STATE, d->store);
	ph_unload(&d->p);
}

/* --- 1. dispatch cost ------------------------------------------------------ */

static char keys[N_KEYS][16];
/* Results go here so that no loop is optimised away. */
static volatile int64_t sink;

/* One round of INCR_OPS increments through each path; ns/op. */
static void incr_round(persist *p, struct direct *d, struct plain_table *t,
		       double *plain_r, double *direct_r, double *api_r)
{
	struct persist_error err = { 0 };
	int64_t v, t0;

	t0 = now_ns();
	for (int i = 0; i < INCR_OPS; i++) {
		struct plain_slot *s = plain_find(t, "bench", keys[i & (N_KEYS - 1)], 1);
		v = s->counter += 1;
		sink += v;
	}
	*plain_r = (double)(now_ns() - t0) / INCR_OPS;

	t0 = now_ns();
	for (int i = 0; i < INCR_OPS; i++) {
		if (d->p.pl->state->incr(d->store, "bench", keys[i & (N_KEYS - 1)], 1,
				       &v, &err) != PERSIST_OK)
			die("direct incr", &err);
		sink += v;
	}
	*direct_r = (double)(now_ns() - t0) / INCR_OPS;

	t0 = now_ns();
	for (int i = 0; i < INCR_OPS; i++) {
		if (persist_state_incr(p, "bench", keys[i & (N_KEYS - 1)], 1, &v,
				       &err) != PERSIST_OK)
			die("persist_state_incr", &err);
		sink += v;
	}
	*api_r = (double)(now_ns() - t0) / INCR_OPS;
}

/* Figure 1; returns 1 when the target is met. */
static int bench_dispatch(void)
{
	struct persist_error err = { 0 };
	struct plain_table *t = calloc(1, sizeof(*t));
	struct direct d = { 0 };
	double plain[ROUNDS], direct[ROUNDS], api[ROUNDS];
	persist *p;

	if (t == NULL)
		die("out of memory", NULL);
	if (persist_open_json("{\"persistence\":{"
			      "\"configuration\":{\"provider\":\"memory\"},"
			      "\"state\":{\"provider\":\"memory\",\"config\":{\"namespace\":\"bench\"}},"
			      "\"sessions\":{\"provider\":\"memory\"}}}",
			      NULL, &p, &err) != PERSIST_OK)
		die("opening the memory configuration", &err);
	direct_open(&d);
	incr_round(p, &d, t, &plain[0], &direct[0], &api[0]); /* warm up */
	for (int r = 0; r < ROUNDS; r++)
		incr_round(p, &d, t, &plain[r], &direct[r], &api[r]);
	direct_close(&d);
	if (persist_close(p, &err) != PERSIST_OK)
		die("closing", &err);
	plain_free(t);
	free(t);

	double mp = median(plain, ROUNDS), md = median(direct, ROUNDS),
	       ma = median(api, ROUNDS);
	double over = ma - mp;
	printf("1. dispatch: persist_state_incr through the memory plugin vs a plain hash table\n"
	       "   (%d keys, %d increments per round, median of %d rounds)\n", N_KEYS,
	       INCR_OPS, ROUNDS);
	printf("   plain in-process hash table       %8.1f ns/op\n", mp);
	printf("   memory plugin's incr, called directly %4.1f ns/op\n", md);
	printf("   persist_state_incr                %8.1f ns/op\n", ma);
	printf("   overhead vs plain table           %8.1f ns/call   ratio %.2fx   target < 50 ns: %s\n",
	       over, ma / mp, over < 50 ? "ok" : "MISS");
	printf("     of which core dispatch          %8.1f ns/call   (persist_state_incr - direct plugin call)\n"
	       "     and the memory plugin itself    %8.1f ns/call   (lock, clock, TTL check, its table)\n\n",
	       ma - md, md - mp);
	return bench_summary("dispatch", ma, "ns/op", mp, "ns/op", ma / mp,
			     "overhead <= 50 ns", over <= 50);
}

/* --- 2. cached configuration reads ---------------------------------------- */

/* Figure 2; returns 1 when the target is met. */
static int bench_config_get(void)
{
	struct persist_error err = { 0 };
	struct plain_table *t = calloc(1, sizeof(*t));
	double plain[ROUNDS], copy[ROUNDS], api[ROUNDS], api_etag[ROUNDS];
	char doc[DOC_SIZE + 1], etag[PERSIST_ETAG_MAX];
	persist *p;

	if (t == NULL)
		die("out of memory", NULL);
	if (persist_open_json("{\"persistence\":{"
			      "\"configuration\":{\"provider\":\"memory\","
			      "\"config\":{\"namespace\":\"bench\",\"cacheTTL\":3600000}},"
			      "\"state\":{\"provider\":\"memory\"},"
			      "\"sessions\":{\"provider\":\"memory\"}}}",
			      NULL, &p, &err) != PERSIST_OK)
		die("opening the memory configuration", &err);
	for (int k = 0; k < N_KEYS; k++) {
		/* a JSON document of DOC_SIZE bytes */
		int n = snprintf(doc, sizeof(doc), "{\"id\":\"%s\",\"pad\":\"", keys[k]);
		memset(doc + n, 'x', DOC_SIZE - n - 2);
		memcpy(doc + DOC_SIZE - 2, "\"}", 3);
		if (persist_config_set(p, keys[k], doc, DOC_SIZE, NULL, 0, etag,
				       &err) != PERSIST_OK)
			die("persist_config_set", &err);
		struct plain_slot *s = plain_find(t, "config", keys[k], 1);
		s->doc = malloc(DOC_SIZE + 1);
		if (s->doc == NULL)
			die("out of memory", NULL);
		memcpy(s->doc, doc, DOC_SIZE + 1);
		s->doc_len = DOC_SIZE;
		memcpy(s->etag, etag, sizeof(etag));
	}
	for (int r = -1; r < ROUNDS; r++) { /* round -1 warms the cache */
		int64_t t0;
		size_t sum = 0;
		int i0 = r < 0 ? 0 : r;

		t0 = now_ns();
		for (int i = 0; i < GET_OPS; i++) {
			struct plain_slot *s = plain_find(t, "config", keys[i & (N_KEYS - 1)], 0);
			sum += s->doc_len + (unsigned char)s->etag[0];
		}
		plain[i0] = (double)(now_ns() - t0) / GET_OPS;

		t0 = now_ns();
		for (int i = 0; i < GET_OPS; i++) {
			struct plain_slot *s = plain_find(t, "config", keys[i & (N_KEYS - 1)], 0);
			char *c = malloc(s->doc_len + 1);
			if (c == NULL)
				die("out of memory", NULL);
			memcpy(c, s->doc, s->doc_len + 1);
			memcpy(etag, s->etag, sizeof(etag));
			sum += (unsigned char)c[0];
			free(c);
		}
		copy[i0] = (double)(now_ns() - t0) / GET_OPS;

		t0 = now_ns();
		for (int i = 0; i < GET_OPS; i++) {
			char *data;
			size_t len;
			if (persist_config_get(p, keys[i & (N_KEYS - 1)], &data, &len,
					       etag, &err) != PERSIST_OK)
				die("persist_config_get", &err);
			sum += len;
			persist_free(data);
		}
		api[i0] = (double)(now_ns() - t0) / GET_OPS;

		t0 = now_ns();
		for (int i = 0; i < GET_OPS; i++) {
			if (persist_config_get(p, keys[i & (N_KEYS - 1)], NULL, NULL,
					       etag, &err) != PERSIST_OK)
				die("persist_config_get", &err);
			sum += (unsigned char)etag[0];
		}
		api_etag[i0] = (double)(now_ns() - t0) / GET_OPS;
		if (sum == 0)
			die("nothing was read", NULL);
	}
	if (persist_close(p, &err) != PERSIST_OK)
		die("closing", &err);
	plain_free(t);
	free(t);

	double mp = median(plain, ROUNDS), mc = median(copy, ROUNDS),
	       ma = median(api, ROUNDS), me = median(api_etag, ROUNDS);
	printf("2. cached persist_config_get (memory provider, warm cache) vs a plain hash lookup\n"
	       "   (%d documents of %d bytes, %d reads per round, median of %d rounds)\n",
	       N_KEYS, DOC_SIZE, GET_OPS, ROUNDS);
	printf("   plain hash lookup (pointer)       %8.1f ns/op\n", mp);
	printf("   plain lookup + copy out           %8.1f ns/op   (what the API must do: a buffer the caller frees)\n", mc);
	printf("   persist_config_get, data + ETag   %8.1f ns/op\n", ma);
	printf("   persist_config_get, ETag only     %8.1f ns/op\n", me);
	printf("   overhead vs plain lookup          %8.1f ns/call   ratio %.2fx   target < 100 ns: %s\n",
	       ma - mp, ma / mp, ma - mp < 100 ? "ok" : "MISS");
	printf("   overhead vs lookup + copy         %8.1f ns/call   ratio %.2fx\n",
	       ma - mc, ma / mc);
	printf("   overhead, ETag only vs lookup     %8.1f ns/call   ratio %.2fx\n\n",
	       me - mp, me / mp);
	return bench_summary("config-get", ma, "ns/op", mp, "ns/op", ma / mp,
			     "overhead <= 100 ns", ma - mp <= 100);
}

/* --- 3. open a configuration that loads three plugins ---------------------- */

static pid_t redis_pid;

/* A free loopback TCP port (bound and released: a small race, fine here). */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* Can we connect to 127.0.0.1:port? */
static int port_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Start redis-server on a free loopback port; the port, or -1. */
static int start_redis(void)
{
	const char *server = getenv("REDIS_SERVER");
	const char *plugins = getenv("PERSIST_PLUGIN_PATH");
	char so[4096], portstr[16];
	int port;

	if (server == NULL || *server == '\0' || plugins == NULL)
		return -1;
	snprintf(so, sizeof(so), "%s/redis.so", plugins);
	if (access(so, R_OK) != 0 || access(server, X_OK) != 0)
		return -1;
	if ((port = free_port()) < 0)
		return -1;
	snprintf(portstr, sizeof(portstr), "%d", port);
	redis_pid = fork();
	if (redis_pid < 0)
		return -1;
	if (redis_pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execl(server, server, "--port", portstr, "--bind", "127.0.0.1",
		      "--save", "", "--appendonly", "no", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) { /* up to 5 s */
		if (port_open(port))
			return port;
		if (waitpid(redis_pid, NULL, WNOHANG) == redis_pid)
			break;
		usleep(10000);
	}
	kill(redis_pid, SIGTERM);
	waitpid(redis_pid, NULL, 0);
	redis_pid = 0;
	return -1;
}

/* Stop the redis-server started above. */
static void stop_redis(void)
{
	if (redis_pid > 0) {
		kill(redis_pid, SIGTERM);
		waitpid(redis_pid, NULL, 0);
		redis_pid = 0;
	}
}

/* One open + close; milliseconds. */
static double open_once(const char *json)
{
	struct persist_error err = { 0 };
	persist *p;
	int64_t t0 = now_ns();

	if (persist_open_json(json, NULL, &p, &err) != PERSIST_OK)
		die("persist_open_json", &err);
	if (persist_close(p, &err) != PERSIST_OK)
		die("persist_close", &err);
	return (double)(now_ns() - t0) / 1e6;
}

/* Run this program again as "--open-once JSON"; its own open time (ms). */
static double open_fresh(const char *self, const char *json)
{
	int fds[2];
	char buf[64] = "";
	pid_t pid;
	ssize_t n;
	int status;

	if (pipe(fds) < 0 || (pid = fork()) < 0)
		die("fork", NULL);
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(self, self, "--open-once", json, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || n <= 0) {
		fprintf(stderr, "core-bench: a fresh-process open failed\n");
		exit(1);
	}
	buf[n] = '\0';
	return strtod(buf, NULL);
}

/* Figure 3; returns 1 when the target is met. */
static int bench_open(const char *self)
{
	char json[4096], root[1024];
	const char *tmp = getenv("PERSIST_TEST_TMP");
	double warm[OPEN_ROUNDS], fresh[FRESH_ROUNDS], first;
	int port = start_redis();
	const char *which;

	snprintf(root, sizeof(root), "%s/bench-open-state",
		 tmp != NULL ? tmp : "/tmp");
	if (port > 0) {
		snprintf(json, sizeof(json),
			 "{\"persistence\":{"
			 "\"configuration\":{\"provider\":\"memory\"},"
			 "\"state\":{\"provider\":\"filesystem\",\"config\":{\"root\":\"%s\"}},"
			 "\"sessions\":{\"provider\":\"redis\",\"config\":{\"url\":\"redis://127.0.0.1:%d/0\"}}}}",
			 root, port);
		which = "configuration memory, state filesystem, sessions redis "
			"(3 plugins; redis-server on loopback)";
	} else {
		snprintf(json, sizeof(json),
			 "{\"persistence\":{"
			 "\"configuration\":{\"provider\":\"memory\"},"
			 "\"state\":{\"provider\":\"filesystem\",\"config\":{\"root\":\"%s\"}},"
			 "\"sessions\":{\"provider\":\"memory\"}}}",
			 root);
		which = "configuration memory, state filesystem, sessions memory "
			"(ONLY 2 plugins: redis.so or REDIS_SERVER missing)";
	}
	first = open_once(json);
	for (int r = 0; r < OPEN_ROUNDS; r++)
		warm[r] = open_once(json);
	for (int r = 0; r < FRESH_ROUNDS; r++)
		fresh[r] = open_fresh(self, json);
	stop_redis();

	double mw = median(warm, OPEN_ROUNDS), mf = median(fresh, FRESH_ROUNDS);
	printf("3. open + close of a configuration loading several plugins\n"
	       "   %s\n", which);
	printf("   first open in this process        %8.3f ms   (dlopen, init)\n", first);
	printf("   open + close, warm process        %8.3f ms   (median of %d)\n", mw, OPEN_ROUNDS);
	printf("   open + close, fresh process       %8.3f ms   (median of %d; target < 5 ms: %s)\n",
	       mf, FRESH_ROUNDS, mf < 5 ? "ok" : "MISS");
	printf("   ratio fresh / warm                %8.2fx\n", mf / mw);
	return bench_summary("open", mf, "ms", mw, "ms (warm process)", mf / mw,
			     "fresh process <= 5 ms", mf <= 5);
}

/* Run the three figures (or, as a child, one fresh open). */
int main(int argc, char **argv)
{
	int ok = 0;

	if (argc == 3 && strcmp(argv[1], "--open-once") == 0) {
		printf("%.6f\n", open_once(argv[2]));
		return 0;
	}
	for (int k = 0; k < N_KEYS; k++)
		snprintf(keys[k], sizeof(keys[k]), "key%d", k);
	printf("persist %s core benchmarks\n", PERSIST_VERSION);
	bench_machine();
	printf("\n");
	fflush(stdout);
	ok += bench_dispatch();
	fflush(stdout);
	ok += bench_config_get();
	fflush(stdout);
	ok += bench_open("/proc/self/exe");
	printf("\ncore-bench: %d of 3 targets met\n", ok);
	return 0;
}
