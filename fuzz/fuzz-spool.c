/*
 * fuzz/fuzz-spool.c - fuzz target: the core's journal reader (core/spool.c),
 * the durable journal the fallback writes under spoolDir while a primary
 * is down and the write queue's journal (journalQueued).
 *
 * Records carry checksums, so random bytes would all stop at the first
 * checksum.  The input is therefore not the file: the target builds the
 * journal from it, framing each payload the fuzzer gives as a record with
 * the right length, sequence number and checksum, and writes a valid
 * header whose positions the input chooses (in range or not: a crash can
 * leave any of them).  Then it opens the journal as a process does after
 * a crash and replays it: open, pending counts, the replay lock, pieces
 * until none is left (each one's bytes read), piece done, drained; or, as
 * the owner of a write queue's journal, mark and mark done; then maybe an
 * append (the writer's check of the end), and close.  Errors are fine;
 * an error without a message, a piece that reads past its bytes, a leak or
 * a replay that never ends are not.
 *
 * Input, all integers little-endian (missing bytes read as 0):
 *   0      flags: 1 cut the file at `cut` before the open (a torn end),
 *          2 cut it there after the open (another process cut it),
 *          4 damage the header's checksum, 8 the write queue's journal
 *          (mark, next piece, mark done) instead of a replay, 16 append a
 *          write at the end, 32 a second replay after the first, 64 the
 *          write appended is a group of two (a batch moved to the journal)
 *   1..12  replayed, chunk end, split end: 4 bytes each, a selector and
 *          3 bytes a, b, c.  Selector & 3: 0 zero; 1 the offset of record
 *          a % (records + 1) (records + 1: the end of the last one);
 *          2 that offset + (int8_t)b; 3 the number a | b << 8 | c << 16
 *   13..14 cut: an offset, taken modulo the size of the file + 1
 *   15     operations per piece (0: SPOOL_REPLAY_CHUNK_OPS)
 *   then records to the end of the input, each: u16 payload length L,
 *   a flags byte, L payload bytes (fewer when the input ends first).
 *   Record flags: 1 make the payload's lengths agree with L; 2 make it a
 *   group record with consistent operations (each op a u32 length and a
 *   payload; lengths and the count set from what is there); 4 a wrong
 *   checksum; 8 a wrong sequence number; 16 with 2: the group's last
 *   op may claim more bytes than the record holds (up to 4096 more), its
 *   own lengths agreeing with that claim - what a writer that got a
 *   length wrong would leave.
 * fuzz/gen-spool-corpus.py writes the seed corpus in this format.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "fuzz.h"
#include "spool.h"
#include "pc-utf8.h"

#define HEAD_SIZE 64          /* the journal's header */
#define REC_HEAD 16           /* "PJR1", length, sequence number */
#define REC_SUM 8             /* first bytes of a SHA-256 */
#define PL_FIXED 40           /* a payload's fixed part */
#define GROUP_TYPE 0x47       /* the type byte of a group record */
#define MAX_RECORDS 256
#define MAX_PIECES 64         /* pieces of one replay: a bound on a loop */

enum {
	F_CUT = 1, F_CUT_OPEN = 2, F_BAD_HEADER = 4, F_QUEUE = 8, F_APPEND = 16,
	F_AGAIN = 32, F_APPEND_GROUP = 64
};
enum { R_LENGTHS = 1, R_GROUP = 2, R_BAD_SUM = 4, R_BAD_SEQ = 8, R_LONG_OP = 16 };
#define LONG_OP_MAX 4096      /* how far an op of R_LONG_OP may claim to go */

static char dir[256];
static char journal[300];
static struct persist handle;   /* only its log is used */
static int verbose;             /* FUZZ_SPOOL_VERBOSE set: say what happened */

/* Little-endian integers. */
static uint32_t rd_u32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
		(uint32_t)b[3] << 24;
}
static void wr_u32(uint8_t *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}
static void wr_u64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

/* The journal's checksum of len bytes at b, written to sum_r. */
static void journal_sum(const uint8_t *b, size_t len, uint8_t *sum_r)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	fuzz_assert(EVP_Digest(b, len, md, &md_len, EVP_sha256(), NULL) == 1);
	memcpy(sum_r, md, REC_SUM);
}

/* The core logs: every message must be a string (read it all). */
static void log_touch(void *ctx, enum persist_log_level level, const char *msg)
{
	(void)ctx; (void)level;
	fuzz_assert(msg != NULL && strlen(msg) < 1u << 20);
	if (verbose)
		fprintf(stderr, "  log: %s\n", msg);
}

/* Remove the journal and what the core put beside it (the replay lock,
   torn ends kept aside). */
static void dir_empty(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[600];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
}

/* At exit: remove the scratch directory. */
static void dir_remove(void)
{
	dir_empty();
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	snprintf(dir, sizeof(dir), "%s/persist-fuzz-spool.XXXXXX", fuzz_scratch_dir());
	fuzz_assert(mkdtemp(dir) != NULL);
	snprintf(journal, sizeof(journal), "%s/state.journal", dir);
	handle.log = log_touch;
	handle.log_level = PERSIST_LOG_DEBUG;
	verbose = getenv("FUZZ_SPOOL_VERBOSE") != NULL;
	atexit(dir_remove);
	return 0;
}

/* Make the lengths of the op payload pl (len bytes, or at least the
   fixed part of a payload claiming len bytes) agree with len:
   collection and key lengths clipped to what is there, the value the
   rest. */
static void fix_lengths(uint8_t *pl, size_t len)
{
	size_t avail, clen, klen;

	if (len < PL_FIXED)
		return;
	avail = len - PL_FIXED;
	clen = (size_t)(pl[2] | pl[3] << 8);
	if (clen > avail)
		clen = avail;
	klen = rd_u32(pl + 4);
	if (klen > avail - clen)
		klen = avail - clen;
	pl[2] = (uint8_t)clen;
	pl[3] = (uint8_t)(clen >> 8);
	wr_u32(pl + 4, (uint32_t)klen);
	wr_u32(pl + 8, (uint32_t)(avail - clen - klen));
}

/* Make the payload pl a group record whose operations are consistent:
   the id as long as what is there allows, each operation's length clipped
   (with long_op, the last one may claim more than is there) and its
   payload's lengths fixed, the count of those found; the bytes after the
   last whole one are dropped.  The new length. */
static size_t fix_group(uint8_t *pl, size_t len, int long_op)
{
	size_t klen, at;
	uint64_t n = 0;

	if (len < PL_FIXED)
		return len;
	pl[0] = GROUP_TYPE;
	pl[2] = pl[3] = 0;
	klen = rd_u32(pl + 4);
	if (klen > len - PL_FIXED)
		klen = len - PL_FIXED;
	wr_u32(pl + 4, (uint32_t)klen);
	for (at = PL_FIXED + klen; len - at >= 4; n++) {
		size_t there = len - at - 4, olen = rd_u32(pl + at);

		if (olen > there && (!long_op || there < PL_FIXED || olen - there > LONG_OP_MAX))
			olen = there;
		wr_u32(pl + at, (uint32_t)olen);
		fix_lengths(pl + at + 4, olen);
		if (olen > there) {
			at = len;      /* the op claims the rest and more */
			n++;
			break;
		}
		at += 4 + olen;
	}
	wr_u32(pl + 8, (uint32_t)(at - PL_FIXED - klen));
	wr_u64(pl + 32, n);
	return at;
}

/* The journal built from the input. */
struct built {
	uint8_t *buf;
	size_t len, cap;
	uint64_t starts[MAX_RECORDS + 1];   /* each record's offset, then the end */
	size_t n;
};

/* Append a record framing the payload pl (len bytes) to b. */
static void add_record(struct built *b, const uint8_t *pl, size_t len, unsigned flags)
{
	size_t total = REC_HEAD + len + REC_SUM;
	uint8_t *r;

	if (b->len + total > b->cap) {
		b->cap = (b->len + total) * 2;
		b->buf = realloc(b->buf, b->cap);
		fuzz_assert(b->buf != NULL);
	}
	r = b->buf + b->len;
	memcpy(r, "PJR1", 4);
	wr_u32(r + 4, (uint32_t)len);
	wr_u64(r + 8, b->len + (flags & R_BAD_SEQ ? 1 : 0));
	if (len > 0)
		memcpy(r + REC_HEAD, pl, len);
	journal_sum(r, REC_HEAD + len, r + REC_HEAD + len);
	if (flags & R_BAD_SUM)
		r[REC_HEAD + len] ^= 0x5a;
	b->starts[b->n++] = b->len;
	b->len += total;
}

/* A header position from its 4 input bytes (see the top of the file). */
static uint64_t position(const struct built *b, const uint8_t *sel)
{
	uint64_t at = b->starts[sel[1] % (b->n + 1)];

	switch (sel[0] & 3) {
	case 0:
		return 0;
	case 1:
		return at;
	case 2:
		return at + (uint64_t)(int64_t)(int8_t)sel[2];
	default:
		return (uint64_t)sel[1] | (uint64_t)sel[2] << 8 | (uint64_t)sel[3] << 16;
	}
}

/* Build the journal from the input: the header part, then the records. */
static void build(struct built *b, const uint8_t *head, const uint8_t *data, size_t size)
{
	uint8_t *pl = NULL;
	uint8_t *h;

	b->cap = HEAD_SIZE + 4096;
	b->buf = malloc(b->cap);
	fuzz_assert(b->buf != NULL);
	b->len = HEAD_SIZE;
	while (size >= 3 && b->n < MAX_RECORDS) {
		size_t len = (size_t)(data[0] | data[1] << 8);
		unsigned flags = data[2];

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		pl = realloc(pl, len > 0 ? len : 1);
		fuzz_assert(pl != NULL);
		memcpy(pl, data, len);
		data += len;
		size -= len;
		if (flags & R_GROUP)
			len = fix_group(pl, len, flags & R_LONG_OP);
		else if (flags & R_LENGTHS)
			fix_lengths(pl, len);
		add_record(b, pl, len, flags);
	}
	free(pl);
	b->starts[b->n] = b->len;
	h = b->buf;
	memset(h, 0, HEAD_SIZE);
	memcpy(h, "PJRNL001", 8);
	memcpy(h + 8, "fuzz-generation!", 16);
	wr_u64(h + 24, position(b, head + 1));
	wr_u64(h + 32, position(b, head + 5));
	wr_u64(h + 40, position(b, head + 9));
	journal_sum(h, 56, h + 56);
	if (head[0] & F_BAD_HEADER)
		h[56] ^= 1;
}

/* An error must say what went wrong. */
static void check_error(int ret, const struct persist_error *err)
{
	fuzz_assert(ret != PERSIST_OK);
	fuzz_assert(err->code != PERSIST_OK && err->msg[0] != '\0');
	if (verbose)
		fprintf(stderr, "  error: %s\n", err->msg);
}

/* Read every byte a piece points to (ASan sees a bad pointer or
   length); its operations are numbered in order, before its end. */
static void check_chunk(const struct persist_spool_chunk *c)
{
	volatile unsigned char sum = 0;

	fuzz_assert(c->ops != NULL && c->times_ms != NULL && c->seqs != NULL);
	/* a group's id is its record's bytes (checked when it was written,
	   as its operations were: the checksum vouches for them) */
	fuzz_assert(memchr(c->id, '\0', sizeof(c->id)) != NULL);
	fuzz_assert(c->group || c->id[0] != '\0');
	/* an id goes to a provider as a batch id */
	fuzz_assert(pc_batch_id_valid(c->id, PERSIST_BATCH_ID_MAX));
	for (size_t i = 0; i < c->n; i++) {
		const struct persist_op *op = &c->ops[i];
		const unsigned char *v = op->value;

		fuzz_assert(op->collection != NULL && v != NULL);
		fuzz_assert(op->type >= PERSIST_OP_SET && op->type <= PERSIST_OP_DELETE);
		sum ^= (unsigned char)strlen(op->collection);
		if (op->key != NULL)
			sum ^= (unsigned char)strlen(op->key);
		for (size_t j = 0; j < op->len; j++)
			sum ^= v[j];
		fuzz_assert(c->seqs[i] >= HEAD_SIZE && c->seqs[i] < c->end);
		fuzz_assert(i == 0 || c->seqs[i] > c->seqs[i - 1]);
	}
	(void)sum;
	if (verbose)
		fprintf(stderr, "  piece %s: %zu ops, ends at %llu%s%s\n", c->id, c->n,
			(unsigned long long)c->end, c->group ? ", group" : "",
			c->split ? ", split" : "");
}

/* Replay the journal: pieces until none is left, each marked done. */
static void replay(struct persist_spool *s, size_t max_ops)
{
	struct persist_error err;
	uint64_t last_end = 0;
	int same = 0, ended = 0, ret;

	for (int i = 0; i < MAX_PIECES; i++) {
		struct persist_spool_chunk c;

		memset(&err, 0, sizeof(err));
		if ((ret = persist_spool_next_chunk(s, max_ops, &c, &err)) != PERSIST_OK) {
			check_error(ret, &err);
			fuzz_assert(c.n == 0 && c.ops == NULL && c.buf == NULL);
			return;
		}
		if (c.n == 0) {
			persist_spool_chunk_free(&c);
			ended = 1;
			break;
		}
		/* only a piece in progress is given again whole */
		fuzz_assert(c.n <= max_ops || c.group || i == 0 || c.end == last_end);
		check_chunk(&c);
		if ((ret = persist_spool_chunk_done(s, &c, &err)) != PERSIST_OK)
			check_error(ret, &err);
		/* the same piece again and again: the replay never ends */
		same = c.end == last_end ? same + 1 : 0;
		fuzz_assert(same < 3);
		last_end = c.end;
		persist_spool_chunk_free(&c);
		if (ret != PERSIST_OK)
			return;
	}
	persist_spool_lock(s);
	memset(&err, 0, sizeof(err));
	if ((ret = persist_spool_drained_locked(s, &err)) < 0)
		check_error(err.code, &err);
	/* "nothing left" with records left: they would never be replayed */
	else if (ended)
		fuzz_assert(ret == 1);
	persist_spool_unlock(s);
}

/* As the owner of a write queue's journal after a restart: flush what
   is there (mark), read it as the piece in progress, mark it done. */
static void queue_flush(struct persist_spool *s)
{
	struct persist_spool_chunk c;
	struct persist_error err;
	uint64_t end = persist_spool_end(s);
	char id[96];
	int ret;

	memset(&err, 0, sizeof(err));
	if ((ret = persist_spool_mark(s, end, id, sizeof(id), &err)) != PERSIST_OK) {
		check_error(ret, &err);
		return;
	}
	fuzz_assert(id[0] != '\0');
	if ((ret = persist_spool_next_chunk(s, SIZE_MAX, &c, &err)) != PERSIST_OK) {
		check_error(ret, &err);
		return;
	}
	if (c.n > 0)
		check_chunk(&c);
	persist_spool_chunk_free(&c);
	if ((ret = persist_spool_mark_done(s, end, &err)) != PERSIST_OK)
		check_error(ret, &err);
}

/* Append a write (or, as group, a batch of two under its id), as the
   fallback does during an outage. */
static void append(struct persist_spool *s, int group)
{
	const struct persist_op ops[2] = {
		{ .type = PERSIST_OP_SET, .collection = "c", .key = "k", .value = "v", .len = 1 },
		{ .type = PERSIST_OP_INCR, .collection = "c", .key = "n", .delta = 3 },
	};
	struct persist_error err;
	uint64_t token = 0;
	int ret;

	memset(&err, 0, sizeof(err));
	persist_spool_lock(s);
	ret = persist_spool_append_locked(s, group ? "fuzz-batch-1" : NULL, ops,
					  group ? 2 : 1, 1000, &token, &err);
	persist_spool_unlock(s);
	if (ret == PERSIST_OK)
		ret = persist_spool_sync(s, token, &err);
	if (ret != PERSIST_OK)
		check_error(ret, &err);
}

/* Pending counts: an error has a message. */
static void pending(struct persist_spool *s)
{
	struct persist_error err;
	uint64_t ops = 0, bytes = 0;
	int ret;

	memset(&err, 0, sizeof(err));
	if ((ret = persist_spool_pending(s, &ops, &bytes, &err)) != PERSIST_OK)
		check_error(ret, &err);
	else if (verbose)
		fprintf(stderr, "  pending: %llu ops, %llu bytes\n",
			(unsigned long long)ops, (unsigned long long)bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t head[16] = { 0 };
	struct built b = { 0 };
	struct persist_spool *s = NULL;
	struct persist_error err;
	size_t max_ops;
	uint64_t cut;
	int fd, ret;

	memcpy(head, data, size < sizeof(head) ? size : sizeof(head));
	build(&b, head, size > sizeof(head) ? data + sizeof(head) : data,
	      size > sizeof(head) ? size - sizeof(head) : 0);
	cut = (uint64_t)(head[13] | head[14] << 8) % (b.len + 1);
	max_ops = head[15] != 0 ? head[15] : SPOOL_REPLAY_CHUNK_OPS;

	fd = open(journal, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fuzz_assert(fd >= 0);
	fuzz_assert(write(fd, b.buf, b.len) == (ssize_t)b.len);
	if (head[0] & F_CUT)
		fuzz_assert(ftruncate(fd, (off_t)cut) == 0);
	free(b.buf);

	memset(&err, 0, sizeof(err));
	if ((ret = persist_spool_open(&handle, dir, "state", &s, &err)) != PERSIST_OK) {
		check_error(ret, &err);
		fuzz_assert(s == NULL);
	} else {
		fuzz_assert(s != NULL);
		if (head[0] & F_CUT_OPEN)
			fuzz_assert(ftruncate(fd, (off_t)cut) == 0);
		pending(s);
		fuzz_assert(persist_spool_replay_lock(s) == 1);
		if (head[0] & F_QUEUE)
			queue_flush(s);
		else
			replay(s, max_ops);
		if (head[0] & F_APPEND)
			append(s, head[0] & F_APPEND_GROUP);
		if (head[0] & F_AGAIN)
			replay(s, max_ops);
		pending(s);
		persist_spool_replay_unlock(s);
		persist_spool_close(s);
	}
	close(fd);
	dir_empty();
	return 0;
}
