/*
 * core/batch-queue.c - the table of queued state writes: a hash of entries
 * by (collection, key) or collection log, in creation order, which knows
 * how many provider operations and bytes it would hand to a flush, turns
 * itself into the array of struct persist_op of one batch, and applies its
 * entries to a value a read got from the provider (read-your-writes).
 *
 * Coalescing is done by the entry itself: a set or delete replaces what
 * was queued for the key before (increments included), increments are
 * summed after whatever set or delete is queued, records are kept in
 * order.  So an entry makes at most two key operations (set/delete, then
 * increment) plus its records.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch-queue.h"

#define BQ_MIN_BUCKETS 64

void bq_init(struct bq_table *t)
{
	memset(t, 0, sizeof(*t));
	t->last = &t->first;
}

/* Free one entry's value and records. */
static void entry_free(struct bq_entry *e)
{
	struct bq_rec *r, *next;

	for (r = e->recs; r != NULL; r = next) {
		next = r->next;
		free(r);
	}
	free(e->value);
	free(e);
}

void bq_clear(struct bq_table *t)
{
	struct bq_entry *e, *next;

	for (e = t->first; e != NULL; e = next) {
		next = e->next;
		entry_free(e);
	}
	free(t->buckets);
	bq_init(t);
}

/* Mix len bytes of s into h, eight at a time (multiply and fold). */
static uint64_t mix_str(uint64_t h, const char *s, size_t len)
{
	size_t i = 0;
	uint64_t w;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, s + i, len - i);
	h = (h ^ w ^ ((uint64_t)len << 56)) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 32);
}

/* Hash of the collection and the key (or a log mark), given their lengths. */
static uint32_t bq_hash(const char *collection, size_t clen, const char *key,
			size_t klen)
{
	uint64_t h = mix_str(0x243f6a8885a308d3ull, collection, clen);

	h = key != NULL ? mix_str(h, key, klen) : (h ^ 0xfe) * 0x9e3779b97f4a7c15ull;
	return (uint32_t)(h ^ (h >> 32));
}

/* True when a[0..n) equals b[0..n): inline, word by word (the last word
   overlaps the one before), since names are short and memcmp is a call. */
static inline int bytes_eq(const char *a, const char *b, size_t n)
{
	uint64_t x, y;
	size_t i;

	if (n < 8) {
		for (i = 0; i < n; i++)
			if (a[i] != b[i])
				return 0;
		return 1;
	}
	for (i = 0; i + 8 < n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return 0;
	}
	memcpy(&x, a + n - 8, 8);
	memcpy(&y, b + n - 8, 8);
	return x == y;
}

/* The entry of (collection, key) given their lengths and hash. */
static struct bq_entry *find_h(const struct bq_table *t, const char *collection,
			       size_t clen, const char *key, size_t klen, uint32_t h)
{
	for (struct bq_entry *e = t->buckets[h & (t->n_buckets - 1)]; e != NULL; e = e->hnext) {
		if (e->hash == h && e->clen == clen && e->klen == klen &&
		    (key == NULL) == (e->is_log != 0) &&
		    bytes_eq(e->collection, collection, clen) &&
		    (key == NULL || bytes_eq(e->key, key, klen)))
			return e;
	}
	return NULL;
}

void bq_key_init(struct bq_key *k, const char *collection, const char *key)
{
	k->collection = collection;
	k->key = key;
	k->clen = strlen(collection);
	k->klen = key != NULL ? strlen(key) : 0;
	k->hash = bq_hash(collection, k->clen, key, k->klen);
}

struct bq_entry *bq_find_k(const struct bq_table *t, const struct bq_key *k)
{
	if (t->n_entries == 0)
		return NULL;
	return find_h(t, k->collection, k->clen, k->key, k->klen, k->hash);
}

struct bq_entry *bq_find(const struct bq_table *t, const char *collection,
			 const char *key)
{
	struct bq_key k;

	if (t->n_entries == 0)
		return NULL;
	bq_key_init(&k, collection, key);
	return bq_find_k(t, &k);
}

/* Double the buckets (or make the first ones); -1 when out of memory. */
static int grow(struct bq_table *t)
{
	size_t n = t->n_buckets == 0 ? BQ_MIN_BUCKETS : t->n_buckets * 2;
	struct bq_entry **buckets = calloc(n, sizeof(*buckets));

	if (buckets == NULL)
		return -1;
	for (struct bq_entry *e = t->first; e != NULL; e = e->next) {
		e->hnext = buckets[e->hash & (n - 1)];
		buckets[e->hash & (n - 1)] = e;
	}
	free(t->buckets);
	t->buckets = buckets;
	t->n_buckets = n;
	return 0;
}

struct bq_entry *bq_new_k(struct bq_table *t, const struct bq_key *k)
{
	const char *collection = k->collection, *key = k->key;
	size_t clen = k->clen, klen = k->klen;
	uint32_t h = k->hash;
	struct bq_entry *e;
	char *s;

	if (t->n_entries >= t->n_buckets && grow(t) != 0)
		return NULL;
	e = calloc(1, sizeof(*e) + clen + 1 + (key != NULL ? klen + 1 : 0));
	if (e == NULL)
		return NULL;
	s = (char *)(e + 1);
	memcpy(s, collection, clen + 1);
	e->collection = s;
	e->clen = (uint32_t)clen;
	if (key != NULL) {
		memcpy(s + clen + 1, key, klen + 1);
		e->key = s + clen + 1;
		e->klen = (uint32_t)klen;
	}
	e->is_log = key == NULL;
	e->hash = h;
	e->recs_tail = &e->recs;
	e->hnext = t->buckets[h & (t->n_buckets - 1)];
	t->buckets[h & (t->n_buckets - 1)] = e;
	*t->last = e;
	t->last = &e->next;
	t->n_entries++;
	return e;
}

struct bq_entry *bq_get_k(struct bq_table *t, const struct bq_key *k)
{
	struct bq_entry *e = bq_find_k(t, k);

	return e != NULL ? e : bq_new_k(t, k);
}

struct bq_entry *bq_get(struct bq_table *t, const char *collection,
			const char *key)
{
	struct bq_key k;

	bq_key_init(&k, collection, key);
	return bq_get_k(t, &k);
}

size_t bq_entry_ops(const struct bq_entry *e)
{
	return (e->base != BQ_NONE) + (e->has_incr != 0) + e->n_recs;
}

/* Bytes a key operation of entry e accounts for. */
static size_t key_bytes(const struct bq_entry *e)
{
	return (size_t)e->clen + e->klen;
}

/* Drop the set or delete and the increments of a key entry. */
static void drop_key_ops(struct bq_table *t, struct bq_entry *e)
{
	size_t ops = (e->base != BQ_NONE) + (e->has_incr != 0);

	t->ops -= ops;
	t->bytes -= ops * key_bytes(e) + (e->base == BQ_SET ? e->len : 0);
	free(e->value);
	e->value = NULL;
	e->len = 0;
	e->base = BQ_NONE;
	e->has_incr = 0;
	e->incr = 0;
	e->expires_ms = 0;
}

int bq_set(struct bq_table *t, struct bq_entry *e, const void *value,
	   size_t len, int64_t expires_ms)
{
	char *copy = malloc(len + 1);

	if (copy == NULL)
		return -1;
	if (len > 0)
		memcpy(copy, value, len);
	copy[len] = '\0';
	drop_key_ops(t, e);
	e->base = BQ_SET;
	e->value = copy;
	e->len = len;
	e->expires_ms = expires_ms;
	t->ops++;
	t->bytes += key_bytes(e) + len;
	return 0;
}

void bq_del(struct bq_table *t, struct bq_entry *e)
{
	drop_key_ops(t, e);
	e->base = BQ_DEL;
	t->ops++;
	t->bytes += key_bytes(e);
}

void bq_add(struct bq_table *t, struct bq_entry *e, int64_t delta)
{
	if (!e->has_incr) {
		e->has_incr = 1;
		e->incr = 0;
		t->ops++;
		t->bytes += key_bytes(e);
	}
	e->incr += delta;
}

int64_t bq_take_incr(struct bq_table *t, struct bq_entry *e)
{
	int64_t sum = e->incr;

	if (e->has_incr) {
		e->has_incr = 0;
		e->incr = 0;
		t->ops--;
		t->bytes -= key_bytes(e);
	}
	return sum;
}

int bq_append(struct bq_table *t, struct bq_entry *e, const void *data, size_t len)
{
	struct bq_rec *r = malloc(sizeof(*r) + len + 1);

	if (r == NULL)
		return -1;
	r->next = NULL;
	r->len = len;
	memcpy(r->data, data, len);
	r->data[len] = '\0';
	*e->recs_tail = r;
	e->recs_tail = &r->next;
	e->n_recs++;
	t->ops++;
	t->bytes += len;
	return 0;
}

void bq_consume(struct bq_table *t, struct bq_entry *e, enum persist_op_type type)
{
	struct bq_rec *r;

	switch (type) {
	case PERSIST_OP_APPEND:
		if ((r = e->recs) == NULL)
			return;
		e->recs = r->next;
		if (e->recs == NULL)
			e->recs_tail = &e->recs;
		e->n_recs--;
		t->ops--;
		t->bytes -= r->len;
		free(r);
		return;
	case PERSIST_OP_INCR:
		(void)bq_take_incr(t, e);
		return;
	default:
		/* the set or delete: the increments after it stay */
		if (e->base == BQ_NONE)
			return;
		t->ops--;
		t->bytes -= key_bytes(e) + (e->base == BQ_SET ? e->len : 0);
		free(e->value);
		e->value = NULL;
		e->len = 0;
		e->base = BQ_NONE;
		return;
	}
}

size_t bq_build_ops(const struct bq_table *t, struct persist_op *ops,
		    struct bq_entry **owners_r, int64_t now_ms)
{
	size_t n = 0;

	for (struct bq_entry *e = t->first; e != NULL; e = e->next) {
		if (e->base != BQ_NONE) {
			struct persist_op *op = &ops[n];

			memset(op, 0, sizeof(*op));
			op->collection = e->collection;
			op->key = e->key;
			if (e->base == BQ_SET &&
			    (e->expires_ms == 0 || e->expires_ms > now_ms)) {
				op->type = PERSIST_OP_SET;
				op->value = e->value;
				op->len = e->len;
				op->ttl_ms = e->expires_ms == 0 ? 0 : e->expires_ms - now_ms;
			} else {
				op->type = PERSIST_OP_DELETE;
			}
			if (owners_r != NULL)
				owners_r[n] = e;
			n++;
		}
		if (e->has_incr) {
			struct persist_op *op = &ops[n];

			memset(op, 0, sizeof(*op));
			op->type = PERSIST_OP_INCR;
			op->collection = e->collection;
			op->key = e->key;
			op->delta = e->incr;
			if (owners_r != NULL)
				owners_r[n] = e;
			n++;
		}
		for (struct bq_rec *r = e->recs; r != NULL; r = r->next) {
			struct persist_op *op = &ops[n];

			memset(op, 0, sizeof(*op));
			op->type = PERSIST_OP_APPEND;
			op->collection = e->collection;
			op->value = r->data;
			op->len = r->len;
			if (owners_r != NULL)
				owners_r[n] = e;
			n++;
		}
	}
	return n;
}

int bq_parse_int(const char *data, size_t len, int64_t *value_r)
{
	char buf[24], *end;
	long long v;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, data, len);
	buf[len] = '\0';
	if (!(buf[0] == '-' || (buf[0] >= '0' && buf[0] <= '9')))
		return -1;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0' || end == buf)
		return -1;
	*value_r = v;
	return 0;
}

int bq_view_apply(const struct bq_entry *e, struct bq_view *v, int64_t now_ms)
{
	int64_t n = 0;

	if (e->base == BQ_SET && (e->expires_ms == 0 || e->expires_ms > now_ms)) {
		v->found = 1;
		v->data = e->value;
		v->len = e->len;
		v->expires_ms = e->expires_ms;
	} else if (e->base != BQ_NONE) {
		v->found = 0;
		v->data = NULL;
		v->len = 0;
		v->expires_ms = 0;
	}
	if (!e->has_incr)
		return 0;
	if (v->found && bq_parse_int(v->data, v->len, &n) != 0)
		return -1;
	if (__builtin_add_overflow(n, e->incr, &n))
		return -1;
	if (!v->found)
		v->expires_ms = 0;
	v->found = 1;
	v->len = (size_t)snprintf(v->num, sizeof(v->num), "%" PRId64, n);
	v->data = v->num;
	return 0;
}
