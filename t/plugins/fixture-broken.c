/*
 * t/plugins/fixture-broken.c - the broken test plugins, one per loading
 * failure of the loader (and a few that take their process down).  Each is
 * this file built with one FIXTURE_* macro (see t/plugins/Makefile.inc) and
 * FIXTURE_NAME, the name its file carries:
 *
 *   FIXTURE_NOENTRY     no persist_plugin_entry_v1 symbol at all
 *   FIXTURE_NULLENTRY   the entry function returns NULL
 *   FIXTURE_BADMAGIC    magic byte-swapped (0x54535250)
 *   FIXTURE_ABI2        built "for ABI 2.0"
 *   FIXTURE_NEWMINOR    built for ABI 1.(core minor + 1)
 *   FIXTURE_SHORT       descriptor size ends before init
 *   FIXTURE_WRONGNAME   declares the name "other"
 *   FIXTURE_NONAME      declares no name (NULL)
 *   FIXTURE_NOINIT      init is NULL
 *   FIXTURE_INITFAIL    init fails with its own message
 *   FIXTURE_UNRESOLVED  calls a function no library defines
 *   FIXTURE_SHORTOPS    state table shorter than its 1.0 layout
 *   FIXTURE_INITEXIT    init calls exit(7)
 *   FIXTURE_INITCRASH   init dies of SIGSEGV
 *   FIXTURE_CTOREXIT    a constructor calls exit(7) as the file is loaded
 *   FIXTURE_CTORCRASH   a constructor dies of SIGSEGV as the file is loaded
 *   FIXTURE_CTORHANG    a constructor never returns
 *   FIXTURE_SICK        loads and opens, but its health check fails
 *   FIXTURE_CAPBATCH    state table claims PERSIST_CAP_BATCH, has no batch
 *   FIXTURE_CAPLOG      claims PERSIST_CAP_APPEND_LOG with append but no
 *                       read_log
 *   FIXTURE_CAPCAS      state table claims PERSIST_CAP_CAS, which only a
 *                       configuration table can have
 *
 * The last five take the process that loads them down: listing plugins
 * must survive them (the init ones are never initialised by a listing,
 * the constructor ones kill only the probe's child), and only a test
 * child process ever opens them.
 *
 * Apart from its one defect each is a valid plugin with a state table, so
 * a loader that missed the defect would load it and the test would see
 * success instead of the expected status.
 */
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>
#include <persist/plugin.h>

#ifndef FIXTURE_NAME
#error "FIXTURE_NAME must be defined"
#endif

#ifdef FIXTURE_BADMAGIC
#define F_MAGIC 0x54535250u /* "PRST" in the other byte order */
#else
#define F_MAGIC PERSIST_PLUGIN_MAGIC
#endif

#if defined(FIXTURE_ABI2)
#define F_MAJOR 2
#define F_MINOR 0
#elif defined(FIXTURE_NEWMINOR)
#define F_MAJOR PERSIST_ABI_MAJOR
#define F_MINOR (PERSIST_ABI_MINOR + 1)
#else
#define F_MAJOR PERSIST_ABI_MAJOR
#define F_MINOR PERSIST_ABI_MINOR
#endif

#ifdef FIXTURE_SHORT
/* a descriptor from before the interface pointers existed */
#define F_SIZE offsetof(struct persist_plugin, init)
#else
#define F_SIZE sizeof(struct persist_plugin)
#endif

#if defined(FIXTURE_WRONGNAME)
#define F_DECLARED_NAME "other"
#elif defined(FIXTURE_NONAME)
#define F_DECLARED_NAME NULL
#else
#define F_DECLARED_NAME FIXTURE_NAME
#endif

#ifdef FIXTURE_SHORTOPS
/* the table ends after health: no room for get, set, ... */
#define F_OPS_SIZE offsetof(struct persist_state_ops, get)
#else
#define F_OPS_SIZE sizeof(struct persist_state_ops)
#endif

#if defined(FIXTURE_CAPBATCH)
#define F_CAPS PERSIST_CAP_BATCH
#elif defined(FIXTURE_CAPLOG)
#define F_CAPS PERSIST_CAP_APPEND_LOG
#elif defined(FIXTURE_CAPCAS)
#define F_CAPS PERSIST_CAP_CAS
#else
#define F_CAPS 0
#endif

#ifdef FIXTURE_UNRESOLVED
/* Defined nowhere: dlopen(RTLD_NOW) must fail naming it. */
extern int fixture_missing_function(void);
#endif

static int store_token;
static const struct persist_host *broken_host; /* from init */

#if defined(FIXTURE_CTOREXIT) || defined(FIXTURE_CTORCRASH) || defined(FIXTURE_CTORHANG)
/* Runs at dlopen, before the loader sees the descriptor. */
__attribute__((constructor)) static void broken_constructor(void)
{
#if defined(FIXTURE_CTOREXIT)
	exit(7);
#elif defined(FIXTURE_CTORCRASH)
	raise(SIGSEGV);
#else
	for (;;)
		pause();
#endif
}
#endif

#ifndef FIXTURE_NOINIT
/* Init; the failing variant reports why through the host's error. */
static int broken_init(const struct persist_host *host, void **plugin_r,
		       struct persist_error *err)
{
#if defined(FIXTURE_INITFAIL)
	*plugin_r = NULL;
	return host->error(err, PERSIST_EUNAVAIL, 0,
			   "fixture_initfail refuses to start\n"
			   "This fixture always fails its init.");
#elif defined(FIXTURE_INITEXIT)
	*plugin_r = NULL;
	exit(7);
#elif defined(FIXTURE_INITCRASH)
	*plugin_r = NULL;
	raise(SIGSEGV);
	return PERSIST_EIO;
#elif defined(FIXTURE_UNRESOLVED)
	*plugin_r = NULL;
	return fixture_missing_function();
#else
	broken_host = host;
	*plugin_r = NULL;
	return PERSIST_OK;
#endif
}
#endif

/* Nothing to undo. */
static void broken_fini(void *plugin)
{
	(void)plugin;
}

/* A store with nothing in it. */
static int broken_open(void *plugin, const struct persist_store_args *args,
		       void **store_r, struct persist_error *err)
{
	*store_r = &store_token;
	return PERSIST_OK;
}

/* Nothing to close. */
static void broken_close(void *store)
{
	(void)store;
}

/* Always healthy, but for the sick one. */
static int broken_health(void *store, int64_t *latency_us_r,
			 struct persist_error *err)
{
	*latency_us_r = 0;
#ifdef FIXTURE_SICK
	return broken_host->error(err, PERSIST_EUNAVAIL, 0,
				  "fixture_sick backend is unreachable");
#else
	(void)broken_host;
	return PERSIST_OK;
#endif
}

#ifdef FIXTURE_CAPLOG
/* Half of what PERSIST_CAP_APPEND_LOG stands for (no read_log). */
static int broken_append(void *store, const char *collection, const void *data,
			 size_t len, struct persist_error *err)
{
	(void)store;
	(void)collection;
	(void)data;
	(void)len;
	(void)err;
	return PERSIST_OK;
}
#endif

static const struct persist_state_ops broken_state = {
	.size = F_OPS_SIZE,
	.caps = F_CAPS,
	.open = broken_open,
	.close = broken_close,
	.health = broken_health,
#ifdef FIXTURE_CAPLOG
	.append = broken_append,
#endif
};

static const struct persist_plugin broken_plugin = {
	.magic = F_MAGIC,
	.abi_major = F_MAJOR,
	.abi_minor = F_MINOR,
	.size = F_SIZE,
	.name = F_DECLARED_NAME,
	.version = "0.1",
	.description = "loader test fixture: " FIXTURE_NAME,
#ifdef FIXTURE_NOINIT
	.init = NULL,
#else
	.init = broken_init,
#endif
	.fini = broken_fini,
	.state = &broken_state,
};

#if defined(FIXTURE_NOENTRY)
/* A near miss: the right descriptor behind the wrong (unversioned) name. */
const struct persist_plugin *persist_plugin_entry(void);
const struct persist_plugin *persist_plugin_entry(void)
{
	return &broken_plugin;
}
#else
/* The entry point (NULL for the variant that tests exactly that). */
const struct persist_plugin *persist_plugin_entry_v1(void)
{
#ifdef FIXTURE_NULLENTRY
	(void)&broken_plugin;
	return NULL;
#else
	return &broken_plugin;
#endif
}
#endif
