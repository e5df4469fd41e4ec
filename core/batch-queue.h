/*
 * core/batch-queue.h - the table of queued state writes (core/batch-queue.c):
 * one entry per (collection, key) holding what is queued for that key (a
 * set or delete, then the sum of the increments after it) and one entry per
 * collection holding its queued log records in order.  Entries also form a
 * list in the order they were created, which is the order of a flush.
 *
 * The table keeps count of the provider operations it would make (ops) and
 * of their bytes, for the flush and backpressure thresholds.  No locking:
 * core/batch.c holds its lock around every use.
 */
#ifndef PERSIST_CORE_BATCH_QUEUE_H
#define PERSIST_CORE_BATCH_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <persist/persist.h>

enum bq_base {
	BQ_NONE = 0,  /* only increments queued */
	BQ_SET,       /* a set, then the increments */
	BQ_DEL        /* a delete, then the increments */
};

/* One queued log record. */
struct bq_rec {
	struct bq_rec *next;
	size_t len;
	char data[];   /* len bytes and a NUL */
};

struct bq_entry {
	struct bq_entry *hnext;     /* hash chain */
	struct bq_entry *next;      /* creation order */
	uint32_t hash;
	uint8_t is_log;             /* a collection's log, key NULL */
	uint8_t base;               /* enum bq_base */
	uint8_t has_incr;
	const char *collection, *key;  /* stored after the struct */
	uint32_t clen, klen;        /* their lengths (klen 0 for a log) */
	char *value;                /* BQ_SET: len bytes and a NUL */
	size_t len;
	int64_t expires_ms;         /* BQ_SET: wall-clock expiry, 0 = none */
	int64_t incr;               /* sum of the increments */
	struct bq_rec *recs, **recs_tail;
	size_t n_recs;
};

struct bq_table {
	struct bq_entry **buckets;
	size_t n_buckets, n_entries;
	struct bq_entry *first, **last;
	size_t ops;      /* provider operations a flush would make */
	size_t bytes;    /* their keys, values and records */
};

/* A (collection, key) with its lengths and hash, worked out once by
   bq_key_init for the look-ups of one call (key NULL: the log). */
struct bq_key {
	const char *collection, *key;
	size_t clen, klen;
	uint32_t hash;
};

/* An empty table (no allocation until the first entry). */
void bq_init(struct bq_table *t);
/* Free every entry; the table is empty again. */
void bq_clear(struct bq_table *t);
/* The entry of (collection, key), key NULL for the collection's log. */
struct bq_entry *bq_find(const struct bq_table *t, const char *collection,
			 const char *key);
/* The same, created empty when absent (NULL: out of memory). */
struct bq_entry *bq_get(struct bq_table *t, const char *collection,
			const char *key);
/* The same with the key worked out before (bq_key_init). */
void bq_key_init(struct bq_key *k, const char *collection, const char *key);
struct bq_entry *bq_find_k(const struct bq_table *t, const struct bq_key *k);
struct bq_entry *bq_get_k(struct bq_table *t, const struct bq_key *k);
/* A new empty entry for k, which the caller knows is absent (NULL: out
   of memory). */
struct bq_entry *bq_new_k(struct bq_table *t, const struct bq_key *k);
/* Provider operations of one entry. */
size_t bq_entry_ops(const struct bq_entry *e);

/* Replace what is queued for a key by a set (value copied) or a delete;
   -1 when out of memory (nothing changed). */
int bq_set(struct bq_table *t, struct bq_entry *e, const void *value,
	   size_t len, int64_t expires_ms);
void bq_del(struct bq_table *t, struct bq_entry *e);
/* Add to the queued increments (the caller checked for overflow). */
void bq_add(struct bq_table *t, struct bq_entry *e, int64_t delta);
/* Take the queued increments out of the entry: their sum. */
int64_t bq_take_incr(struct bq_table *t, struct bq_entry *e);
/* Queue a log record (copied); -1 when out of memory. */
int bq_append(struct bq_table *t, struct bq_entry *e, const void *data, size_t len);

/* Forget the first provider operation of an entry (it was stored). */
void bq_consume(struct bq_table *t, struct bq_entry *e, enum persist_op_type type);

/* The provider operations of the whole table, in order, into ops (room for
   t->ops) with the entry of each in owners_r (may be NULL); now_ms turns
   expiry times into TTLs (an expired set becomes a delete).  Returns how
   many were written. */
size_t bq_build_ops(const struct bq_table *t, struct persist_op *ops,
		    struct bq_entry **owners_r, int64_t now_ms);

/* A value as a read sees it: stored, then the queued entries applied. */
struct bq_view {
	int found;
	const char *data;   /* points to the stored value, an entry or num */
	size_t len;
	int64_t expires_ms;
	char num[24];
};
/* Apply what entry e queues to the view; -1 when an increment meets a value
   that is not a decimal integer or overflows. */
int bq_view_apply(const struct bq_entry *e, struct bq_view *v, int64_t now_ms);
/* A decimal integer value's number; -1 when it is not one. */
int bq_parse_int(const char *data, size_t len, int64_t *value_r);

#endif
