/*
 * core/spool.c - the journal of state writes made during an outage of the
 * primary provider: append, make durable, read back in order for replay.
 *
 * File <spoolDir>/<kind>.journal, all integers little-endian:
 *   header, 64 bytes:
 *     0  "PJRNL001"
 *     8  generation: 16 random bytes, new whenever the journal is emptied
 *    24  replayed: offset of the first record not yet replayed
 *    32  chunk end: 0, or the end of the piece [replayed, chunk end) a
 *        replayer has started to apply (given again, as it was, to the
 *        next replayer if that one stopped half way)
 *    40  split end: 0, or the chunk end of a piece that was refused as
 *        invalid and is being applied one record at a time (recorded
 *        before the first of them is sent, so that a replayer that takes
 *        the piece over goes on the same way instead of sending the whole
 *        piece again)
 *    48  reserved (0)
 *    56  checksum of bytes 0..55
 *   then records, each:
 *     0  "PJR1"
 *     4  payload length L
 *     8  sequence number: the record's own offset in the file
 *    16  payload: type (1 byte), 0, collection length (2), key length (4),
 *        value length (4), 0 (4), write time in ms since the epoch (8),
 *        TTL in ms (8), delta (8), then the collection, key and value
 *    16+L checksum of bytes 0..16+L-1
 *   or a group record: the same with type SPOOL_GROUP, no collection, the
 *   id of a batch as its key, the number of operations as its delta, and
 *   as its value the batch's operations, each a u32 length and a payload
 *   as above.  A group is replayed as a piece of its own under that id:
 *   a flush moved to the journal during an outage keeps the id it was
 *   sent under, so the write queue's own journal (journalQueued), which
 *   replays the same writes under the same id, and this one cannot both
 *   apply them.  One record, one checksum: a group is whole or absent.
 * Checksums are the first 8 bytes of a SHA-256 (OpenSSL).
 *
 * Writers, in any process, append under an exclusive flock of the file,
 * after checking the end of the file: a record cut short or failing its
 * checksum there was left by a writer that crashed before its write was
 * acknowledged, and is cut off (and reported in the log) before anything
 * is appended, so a bad record can only ever be the last one.  A reader
 * stops at such a record and never applies it.  Threads of one process
 * first take the journal's mutex (a flock is shared by the threads of a
 * process).  Durability: each writer waits until an fdatasync started
 * after its append has finished; one call serves every writer waiting.
 *
 * The same file format serves the write queue's journals (journalQueued):
 * their owner marks where a flush ends as the piece in progress and moves
 * the replay position past it once the provider acknowledged it.
 *
 * Replay is done by one process at a time: the holder of a second lock,
 * an flock of <spoolDir>/<kind>.journal.replay, which the kernel releases
 * if that process dies.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <openssl/evp.h>

#include "spool.h"
#include "batch.h"
#include "pc-utf8.h"

#define HEADER_SIZE 64
#define HEADER_MAGIC "PJRNL001"
#define RECORD_MAGIC "PJR1"
#define RECORD_HEAD 16
#define RECORD_SUM 8
#define PAYLOAD_FIXED 40
/* The type of a group record (an op type is at most PERSIST_OP_DELETE). */
#define SPOOL_GROUP 0x47
#define RECORD_MAX (RECORD_HEAD + PAYLOAD_FIXED + PERSIST_COLLECTION_MAX + \
		    PERSIST_KEY_MAX + (uint64_t)PERSIST_VALUE_MAX + RECORD_SUM)
/* A token of persist_spool_sync: generation serial and offset. */
#define TOKEN_SHIFT 44

struct header {
	uint8_t gen[16];
	uint64_t replayed, chunk_end, split_end;
};

struct persist_spool {
	persist *p;
	char *path, *replay_path;
	int fd, replay_fd, replay_held;
	pthread_mutex_t lock;
	pthread_cond_t synced_cv;
	struct header h;
	uint64_t gen_serial;   /* bumped whenever the generation changes */
	uint64_t known_end;    /* end of the checked records */
	uint64_t synced_to, synced_gen;
	int syncing;
	int dated;             /* replay sets and deletes with their times */
};

/* --- encoding ------------------------------------------------------------ */

/* Little-endian integers in and out of byte buffers. */
static void put_u16(uint8_t *b, uint16_t v) { b[0] = (uint8_t)v; b[1] = (uint8_t)(v >> 8); }
static void put_u32(uint8_t *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get_u16(const uint8_t *b) { return (uint16_t)(b[0] | b[1] << 8); }
static uint32_t get_u32(const uint8_t *b)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}
static uint64_t get_u64(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

/* The checksum of len bytes (8 bytes of their SHA-256). */
static void checksum(const void *data, size_t len, uint8_t sum_r[RECORD_SUM])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len < RECORD_SUM)
		memset(md, 0xff, RECORD_SUM);
	memcpy(sum_r, md, RECORD_SUM);
}

/* Write all of len bytes at off. */
static int pwrite_all(int fd, const void *data, size_t len, uint64_t off)
{
	const uint8_t *b = data;

	while (len > 0) {
		ssize_t w = pwrite(fd, b, len, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* Read len bytes at off: 1 read, 0 end of file before len, -1 error. */
static int pread_all(int fd, void *data, size_t len, uint64_t off)
{
	uint8_t *b = data;

	while (len > 0) {
		ssize_t r = pread(fd, b, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		b += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 1;
}

/* flock that retries on EINTR. */
static int flock_retry(int fd, int op)
{
	int r;

	while ((r = flock(fd, op)) != 0 && errno == EINTR)
		;
	return r;
}

/* An I/O failure on the journal, naming it and errno. */
static int io_error(struct persist_spool *s, const char *what, struct persist_error *err)
{
	int e = errno;

	return persist_error_set(err, PERSIST_EIO, e, "cannot %s journal \"%s\": %s",
				 what, s->path, strerror(e));
}

/* --- header -------------------------------------------------------------- */

/* Write the header this process holds, durably (file lock held). */
static int header_write(struct persist_spool *s, struct persist_error *err)
{
	uint8_t b[HEADER_SIZE];

	memset(b, 0, sizeof(b));
	memcpy(b, HEADER_MAGIC, 8);
	memcpy(b + 8, s->h.gen, 16);
	put_u64(b + 24, s->h.replayed);
	put_u64(b + 32, s->h.chunk_end);
	put_u64(b + 40, s->h.split_end);
	checksum(b, 56, b + 56);
	if (pwrite_all(s->fd, b, sizeof(b), 0) != 0 || fdatasync(s->fd) != 0)
		return io_error(s, "write the header of", err);
	return PERSIST_OK;
}

/* A new generation: random id, nothing replayed, nothing in progress. */
static void header_new(struct persist_spool *s)
{
	if (getrandom(s->h.gen, sizeof(s->h.gen), 0) != (ssize_t)sizeof(s->h.gen)) {
		uint64_t x = (uint64_t)persist_monotonic_us() ^ ((uint64_t)getpid() << 32);

		memcpy(s->h.gen, &x, 8);
		x = (uint64_t)persist_now_ms() * 0x9e3779b97f4a7c15ull;
		memcpy(s->h.gen + 8, &x, 8);
	}
	s->h.replayed = HEADER_SIZE;
	s->h.chunk_end = 0;
	s->h.split_end = 0;
	s->gen_serial++;
	s->known_end = HEADER_SIZE;
}

/* Read and check the header (file lock held); a changed generation resets
   what this process knew of the records. */
static int header_read(struct persist_spool *s, struct persist_error *err)
{
	uint8_t b[HEADER_SIZE], sum[RECORD_SUM];
	int r = pread_all(s->fd, b, sizeof(b), 0);

	if (r < 0)
		return io_error(s, "read", err);
	checksum(b, 56, sum);
	if (r == 0 || memcmp(b, HEADER_MAGIC, 8) != 0 || memcmp(sum, b + 56, RECORD_SUM) != 0)
		return persist_error_set(err, PERSIST_ECORRUPT, 0,
			"journal \"%s\" has no valid header\n"
			"It was not written by this library, or was damaged; move it "
			"away after checking what it holds.", s->path);
	if (memcmp(b + 8, s->h.gen, 16) != 0) {
		memcpy(s->h.gen, b + 8, 16);
		s->gen_serial++;
		s->known_end = HEADER_SIZE;
	}
	s->h.replayed = get_u64(b + 24);
	s->h.chunk_end = get_u64(b + 32);
	s->h.split_end = get_u64(b + 40);
	if (s->h.split_end != s->h.chunk_end)
		s->h.split_end = 0;   /* only ever about the piece in progress */
	if (s->h.replayed < HEADER_SIZE || (s->h.chunk_end != 0 && s->h.chunk_end < s->h.replayed))
		return persist_error_set(err, PERSIST_ECORRUPT, 0,
			"journal \"%s\" has a header with replay positions %" PRIu64
			" and %" PRIu64 "\nThey must lie inside the file, in order.",
			s->path, s->h.replayed, s->h.chunk_end);
	return PERSIST_OK;
}

/* The generation as 32 hex digits. */
static void gen_hex(const struct persist_spool *s, char out[33])
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", s->h.gen[i]);
}

/* --- records ------------------------------------------------------------- */

/* Read the record at off (before end) into *buf (grown as needed):
   1 and its whole length, 0 a torn or damaged record (why in *why),
   -1 an I/O error. */
static int record_read(struct persist_spool *s, uint64_t off, uint64_t end,
		       uint8_t **buf, size_t *cap, size_t *len_r, const char **why)
{
	uint8_t head[RECORD_HEAD], sum[RECORD_SUM];
	uint64_t total;
	int r;

	if (end - off < RECORD_HEAD) {
		*why = "cut short";
		return 0;
	}
	if ((r = pread_all(s->fd, head, sizeof(head), off)) <= 0) {
		*why = "cut short";
		return r;
	}
	total = (uint64_t)RECORD_HEAD + get_u32(head + 4) + RECORD_SUM;
	if (memcmp(head, RECORD_MAGIC, 4) != 0 || get_u64(head + 8) != off ||
	    total > RECORD_MAX || get_u32(head + 4) < PAYLOAD_FIXED) {
		*why = "damaged (bad marker, length or sequence number)";
		return 0;
	}
	if (end - off < total) {
		*why = "cut short";
		return 0;
	}
	if (*cap < total + 3) {
		uint8_t *nb = realloc(*buf, total + 3);

		if (nb == NULL) {
			errno = ENOMEM;
			return -1;
		}
		*buf = nb;
		*cap = total + 3;
	}
	if ((r = pread_all(s->fd, *buf, total, off)) <= 0) {
		*why = "cut short";
		return r;
	}
	checksum(*buf, total - RECORD_SUM, sum);
	if (memcmp(sum, *buf + total - RECORD_SUM, RECORD_SUM) != 0) {
		*why = "damaged (checksum mismatch)";
		return 0;
	}
	{
		const uint8_t *pl = *buf + RECORD_HEAD;
		uint64_t body = (uint64_t)get_u16(pl + 2) + get_u32(pl + 4) + get_u32(pl + 8);

		if (PAYLOAD_FIXED + body != get_u32(head + 4) ||
		    (pl[0] > PERSIST_OP_DELETE && pl[0] != SPOOL_GROUP)) {
			*why = "damaged (inconsistent lengths)";
			return 0;
		}
	}
	*len_r = (size_t)total;
	return 1;
}

/* Whether the bad record at off can be the torn end of a write that
   never finished: a write leaves a prefix of its bytes, maybe followed by
   zeros, so either the record's declared end is at or past the end of
   the file, or everything from off on is zero.  Anything else is damage
   in the middle of the journal. */
static int torn_end(struct persist_spool *s, uint64_t off, uint64_t size)
{
	uint8_t head[RECORD_HEAD], buf[4096];
	uint64_t at;

	if (size - off < RECORD_HEAD)
		return 1;
	if (pread_all(s->fd, head, sizeof(head), off) <= 0)
		return 1;
	if (memcmp(head, RECORD_MAGIC, 4) == 0 &&
	    off + RECORD_HEAD + (uint64_t)get_u32(head + 4) + RECORD_SUM >= size)
		return 1;
	for (at = off; at < size; at += sizeof(buf)) {
		size_t len = size - at < sizeof(buf) ? (size_t)(size - at) : sizeof(buf);

		if (pread_all(s->fd, buf, len, at) <= 0)
			return 0;
		for (size_t i = 0; i < len; i++)
			if (buf[i] != 0)
				return 0;
	}
	return 1;
}

/* Copy the bytes [off, size) of the journal to a file beside it,
   <journal>.tail-<off>-<ms>, durably, before they are cut: 1 and its name
   in name_r, or 0 and why in name_r. */
static int keep_aside(struct persist_spool *s, uint64_t off, uint64_t size,
		      char *name_r, size_t name_size)
{
	uint8_t buf[4096];
	int out, ok = 1;

	snprintf(name_r, name_size, "%s.tail-%" PRIu64 "-%" PRId64, s->path, off,
		 persist_now_ms());
	out = open(name_r, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		snprintf(name_r, name_size, "%s", strerror(errno));
		return 0;
	}
	for (uint64_t at = off; ok && at < size; at += sizeof(buf)) {
		size_t len = size - at < sizeof(buf) ? (size_t)(size - at) : sizeof(buf);

		ok = pread_all(s->fd, buf, len, at) > 0 && pwrite_all(out, buf, len, at - off) == 0;
	}
	if (ok)
		ok = fsync(out) == 0;
	if (close(out) != 0)
		ok = 0;
	if (!ok) {
		int e = errno;

		unlink(name_r);
		snprintf(name_r, name_size, "%s", strerror(e));
	}
	return ok;
}

/* Check the records from known_end to the end of the file (file lock
   held); a torn record at the end (a writer crashed while writing it, so
   it was never acknowledged) is cut off and reported; a damaged record
   followed by others is an error, and nothing is cut. */
static int check_tail(struct persist_spool *s, struct persist_error *err)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t cap = 0, len;
	uint64_t off, size;
	const char *why = NULL;
	int r = 1;

	if (fstat(s->fd, &st) != 0)
		return io_error(s, "stat", err);
	size = (uint64_t)st.st_size;
	if (size < s->known_end)
		s->known_end = s->h.replayed > size ? HEADER_SIZE : s->h.replayed;
	if (s->known_end < s->h.replayed)
		s->known_end = s->h.replayed;
	for (off = s->known_end; off < size; off += len) {
		if ((r = record_read(s, off, size, &buf, &cap, &len, &why)) <= 0)
			break;
	}
	free(buf);
	if (r < 0)
		return io_error(s, "read", err);
	if (off < size && !torn_end(s, off, size))
		return persist_error_set(err, PERSIST_ECORRUPT, 0,
			"journal \"%s\" is damaged at offset %" PRIu64 " (the record there is %s)\n"
			"Records follow it, so it is not a write cut short by a crash; "
			"nothing was cut or applied.  Move the file away after checking "
			"what it holds.", s->path, off, why);
	if (off < size) {
		char aside[4096];
		int kept = keep_aside(s, off, size, aside, sizeof(aside));

		persist_log(s->p, PERSIST_LOG_WARNING,
			"journal \"%s\": the record at offset %" PRIu64 " is %s; it was "
			"being written by a process that stopped before acknowledging "
			"it, and is not applied (%" PRIu64 " bytes%s%s)", s->path, off, why,
			size - off, kept ? ", kept in " : "; they could not be copied aside: ",
			aside);
		if (ftruncate(s->fd, (off_t)off) != 0 || fdatasync(s->fd) != 0)
			return io_error(s, "cut the torn end of", err);
	}
	s->known_end = off;
	return PERSIST_OK;
}

/* Take the file lock and bring what this process knows up to date. */
static int file_enter(struct persist_spool *s, struct persist_error *err)
{
	int ret;

	if (flock_retry(s->fd, LOCK_EX) != 0)
		return io_error(s, "lock", err);
	if ((ret = header_read(s, err)) != PERSIST_OK ||
	    (ret = check_tail(s, err)) != PERSIST_OK) {
		flock_retry(s->fd, LOCK_UN);
		return ret;
	}
	return PERSIST_OK;
}

/* Release the file lock. */
static void file_leave(struct persist_spool *s)
{
	flock_retry(s->fd, LOCK_UN);
}

/* The bytes of op as a payload (without record head and checksum). */
static size_t payload_size(const struct persist_op *op)
{
	size_t klen = op->type == PERSIST_OP_APPEND ? 0 : strlen(op->key);
	size_t vlen = op->type == PERSIST_OP_SET || op->type == PERSIST_OP_APPEND ? op->len : 0;

	return PAYLOAD_FIXED + strlen(op->collection) + klen + vlen;
}

/* The bytes of op as a record. */
static size_t record_size(const struct persist_op *op)
{
	return RECORD_HEAD + payload_size(op) + RECORD_SUM;
}

/* Encode op as a payload into pl (payload_size bytes). */
static void payload_encode(const struct persist_op *op, int64_t now_ms, uint8_t *pl)
{
	size_t clen = strlen(op->collection);
	size_t klen = op->type == PERSIST_OP_APPEND ? 0 : strlen(op->key);
	size_t vlen = op->type == PERSIST_OP_SET || op->type == PERSIST_OP_APPEND ? op->len : 0;
	uint8_t *d = pl + PAYLOAD_FIXED;

	memset(pl, 0, PAYLOAD_FIXED);
	pl[0] = (uint8_t)op->type;
	put_u16(pl + 2, (uint16_t)clen);
	put_u32(pl + 4, (uint32_t)klen);
	put_u32(pl + 8, (uint32_t)vlen);
	put_u64(pl + 16, (uint64_t)now_ms);
	put_u64(pl + 24, (uint64_t)(op->type == PERSIST_OP_SET ? op->ttl_ms : 0));
	put_u64(pl + 32, (uint64_t)(op->type == PERSIST_OP_INCR ? op->delta : 0));
	memcpy(d, op->collection, clen);
	if (klen > 0)
		memcpy(d + clen, op->key, klen);
	if (vlen > 0)
		memcpy(d + clen + klen, op->value, vlen);
}

/* The head of the record of total bytes at offset seq, in b. */
static void record_head(uint8_t *b, size_t total, uint64_t seq)
{
	memcpy(b, RECORD_MAGIC, 4);
	put_u32(b + 4, (uint32_t)(total - RECORD_HEAD - RECORD_SUM));
	put_u64(b + 8, seq);
}

/* Encode op as the record at offset seq into b (total bytes, from
   record_size). */
static void record_encode(const struct persist_op *op, uint64_t seq, int64_t now_ms,
			  uint8_t *b, size_t total)
{
	record_head(b, total, seq);
	payload_encode(op, now_ms, b + RECORD_HEAD);
	checksum(b, total - RECORD_SUM, b + total - RECORD_SUM);
}

/* The bytes of ops as one group record named id; 0 when the group would
   pass the size of a record. */
static size_t group_size(const char *id, const struct persist_op *ops, size_t n)
{
	uint64_t total = RECORD_HEAD + PAYLOAD_FIXED + strlen(id) + RECORD_SUM;

	for (size_t i = 0; i < n; i++)
		total += 4 + payload_size(&ops[i]);
	return total > RECORD_MAX || total - RECORD_HEAD - RECORD_SUM > UINT32_MAX ?
		0 : (size_t)total;
}

/* Encode ops as one group record named id at offset seq into b (total
   bytes, from group_size). */
static void group_encode(const char *id, const struct persist_op *ops, size_t n,
			 uint64_t seq, int64_t now_ms, uint8_t *b, size_t total)
{
	size_t klen = strlen(id), at;
	uint8_t *pl = b + RECORD_HEAD;

	record_head(b, total, seq);
	memset(pl, 0, PAYLOAD_FIXED);
	pl[0] = SPOOL_GROUP;
	put_u32(pl + 4, (uint32_t)klen);
	put_u32(pl + 8, (uint32_t)(total - RECORD_HEAD - RECORD_SUM - PAYLOAD_FIXED - klen));
	put_u64(pl + 16, (uint64_t)now_ms);
	put_u64(pl + 32, (uint64_t)n);
	memcpy(pl + PAYLOAD_FIXED, id, klen);
	at = RECORD_HEAD + PAYLOAD_FIXED + klen;
	for (size_t i = 0; i < n; i++) {
		size_t len = payload_size(&ops[i]);

		put_u32(b + at, (uint32_t)len);
		payload_encode(&ops[i], now_ms, b + at + 4);
		at += 4 + len;
	}
	checksum(b, total - RECORD_SUM, b + total - RECORD_SUM);
}

/* --- open, close --------------------------------------------------------- */

/* mkdir -p with mode 0700 for what is created. */
static int make_dirs(const char *dir)
{
	char *copy = strdup(dir);
	int ret = 0;

	if (copy == NULL)
		return -1;
	for (char *s = copy + 1; ret == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(copy, 0700) != 0 && errno != EEXIST)
			ret = -1;
		*s = c;
		if (c == '\0')
			break;
	}
	free(copy);
	return ret;
}

int persist_spool_open(persist *p, const char *dir, const char *kind_name,
		       struct persist_spool **spool_r, struct persist_error *err)
{
	struct persist_spool *s;
	struct stat st;
	int ret = PERSIST_OK;

	*spool_r = NULL;
	if (make_dirs(dir) != 0)
		return persist_error_set(err, PERSIST_EIO, errno,
			"cannot create spool directory \"%s\": %s", dir, strerror(errno));
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	s->p = p;
	s->fd = s->replay_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->synced_cv, NULL);
	s->path = malloc(strlen(dir) + strlen(kind_name) + 32);
	s->replay_path = malloc(strlen(dir) + strlen(kind_name) + 32);
	if (s->path != NULL && s->replay_path != NULL) {
		sprintf(s->path, "%s/%s.journal", dir, kind_name);
		sprintf(s->replay_path, "%s/%s.journal.replay", dir, kind_name);
	} else {
		persist_spool_close(s);
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	}
	s->fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	s->replay_fd = s->fd < 0 ? -1 : open(s->replay_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->fd < 0 || s->replay_fd < 0) {
		ret = persist_error_set(err, PERSIST_EIO, errno, "cannot open journal \"%s\": %s",
					s->fd < 0 ? s->path : s->replay_path, strerror(errno));
		persist_spool_close(s);
		return ret;
	}
	if (flock_retry(s->fd, LOCK_EX) != 0) {
		ret = io_error(s, "lock", err);
		persist_spool_close(s);
		return ret;
	}
	if (fstat(s->fd, &st) != 0) {
		ret = io_error(s, "stat", err);
	} else if (st.st_size < HEADER_SIZE) {
		/* new, or its creator stopped before the header was complete */
		header_new(s);
		if (ftruncate(s->fd, 0) != 0)
			ret = io_error(s, "reset", err);
		else
			ret = header_write(s, err);
		if (ret == PERSIST_OK) {
			int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (dfd >= 0) {
				(void)fsync(dfd);
				close(dfd);
			}
		}
	} else if ((ret = header_read(s, err)) == PERSIST_OK) {
		ret = check_tail(s, err);
	}
	file_leave(s);
	if (ret != PERSIST_OK) {
		persist_spool_close(s);
		return ret;
	}
	*spool_r = s;
	return PERSIST_OK;
}

void persist_spool_close(struct persist_spool *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->replay_fd >= 0)
		close(s->replay_fd);
	pthread_cond_destroy(&s->synced_cv);
	pthread_mutex_destroy(&s->lock);
	free(s->path);
	free(s->replay_path);
	free(s);
}

const char *persist_spool_path(const struct persist_spool *s)
{
	return s->path;
}

void persist_spool_lock(struct persist_spool *s)
{
	pthread_mutex_lock(&s->lock);
}

void persist_spool_unlock(struct persist_spool *s)
{
	pthread_mutex_unlock(&s->lock);
}

/* --- append, sync -------------------------------------------------------- */

int persist_spool_append_locked(struct persist_spool *s, const char *group_id,
				const struct persist_op *ops, size_t n, int64_t now_ms,
				uint64_t *token_r, struct persist_error *err)
{
	size_t total = 0, at = 0;
	uint8_t *buf;
	int ret;

	if (n == 0)
		group_id = NULL;
	if (group_id != NULL && (total = group_size(group_id, ops, n)) == 0) {
		persist_log(s->p, PERSIST_LOG_WARNING,
			"journal \"%s\": batch %s is too large for one record; its %zu writes "
			"are journaled one by one, and a crash while it moves may apply it twice",
			s->path, group_id, n);
		group_id = NULL;
	}
	for (size_t i = 0; group_id == NULL && i < n; i++)
		total += record_size(&ops[i]);
	if ((buf = malloc(total > 0 ? total : 1)) == NULL)
		return persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory");
	if ((ret = file_enter(s, err)) != PERSIST_OK) {
		free(buf);
		return ret;
	}
	if (group_id != NULL) {
		group_encode(group_id, ops, n, s->known_end, now_ms, buf, total);
	} else {
		for (size_t i = 0; i < n; i++) {
			size_t len = record_size(&ops[i]);

			record_encode(&ops[i], s->known_end + at, now_ms, buf + at, len);
			at += len;
		}
	}
	if (pwrite_all(s->fd, buf, total, s->known_end) != 0) {
		ret = io_error(s, "append to", err);
		/* cut what may have been written in part, while still locked */
		if (ftruncate(s->fd, (off_t)s->known_end) != 0)
			persist_log(s->p, PERSIST_LOG_ERROR, "journal \"%s\": cannot cut a "
				    "failed append: %s", s->path, strerror(errno));
	} else {
		s->known_end += total;
		*token_r = s->gen_serial << TOKEN_SHIFT | s->known_end;
	}
	file_leave(s);
	free(buf);
	return ret;
}

int persist_spool_sync(struct persist_spool *s, uint64_t token,
		       struct persist_error *err)
{
	uint64_t gen = token >> TOKEN_SHIFT, end = token & ((1ull << TOKEN_SHIFT) - 1);
	int ret = PERSIST_OK;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		uint64_t target, tgen;
		int r, e;

		/* emptied since: everything in it was replayed to the primary */
		if (gen != s->gen_serial)
			break;
		if (s->synced_gen == gen && s->synced_to >= end)
			break;
		if (s->syncing) {
			pthread_cond_wait(&s->synced_cv, &s->lock);
			continue;
		}
		s->syncing = 1;
		target = s->known_end;
		tgen = s->gen_serial;
		pthread_mutex_unlock(&s->lock);
		r = fdatasync(s->fd);
		e = errno;
		pthread_mutex_lock(&s->lock);
		s->syncing = 0;
		if (r == 0 && tgen == s->gen_serial) {
			if (s->synced_gen != tgen || target > s->synced_to)
				s->synced_to = target;
			s->synced_gen = tgen;
		}
		pthread_cond_broadcast(&s->synced_cv);
		if (r != 0) {
			ret = persist_error_set(err, PERSIST_EIO, e, "cannot sync journal \"%s\": %s",
						s->path, strerror(e));
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* --- reading ------------------------------------------------------------- */

int persist_spool_pending(struct persist_spool *s, uint64_t *ops_r,
			  uint64_t *bytes_r, struct persist_error *err)
{
	uint8_t head[RECORD_HEAD + PAYLOAD_FIXED];
	uint64_t off, n = 0;
	int ret;

	pthread_mutex_lock(&s->lock);
	if ((ret = file_enter(s, err)) == PERSIST_OK) {
		/* every record up to known_end was checked by file_enter; a
		   group counts its operations */
		for (off = s->h.replayed; off < s->known_end;) {
			if (pread_all(s->fd, head, sizeof(head), off) <= 0) {
				ret = io_error(s, "read", err);
				break;
			}
			n += head[RECORD_HEAD] == SPOOL_GROUP ? get_u64(head + RECORD_HEAD + 32) : 1;
			off += RECORD_HEAD + (uint64_t)get_u32(head + 4) + RECORD_SUM;
		}
		*ops_r = n;
		*bytes_r = s->known_end - s->h.replayed;
		file_leave(s);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int persist_spool_replay_lock(struct persist_spool *s)
{
	if (s->replay_held)
		return 1;
	if (flock_retry(s->replay_fd, LOCK_EX | LOCK_NB) != 0)
		return 0;
	s->replay_held = 1;
	return 1;
}

void persist_spool_replay_unlock(struct persist_spool *s)
{
	if (!s->replay_held)
		return;
	flock_retry(s->replay_fd, LOCK_UN);
	s->replay_held = 0;
}

void persist_spool_chunk_free(struct persist_spool_chunk *chunk)
{
	free(chunk->ops);
	free(chunk->times_ms);
	free(chunk->seqs);
	free(chunk->buf);
	memset(chunk, 0, sizeof(*chunk));
}

/* The growing arrays of a chunk being read. */
struct chunk_build {
	struct persist_spool_chunk *c;
	size_t n_cap, used, cap;
	size_t *starts;      /* each op's strings in c->buf */
};

/* Add the op of one payload (plen bytes at pl, checked against plen) to
   the chunk; -1 when out of memory, -2 when the payload is inconsistent. */
static int chunk_add(struct chunk_build *cb, const uint8_t *pl, size_t plen, uint64_t seq)
{
	struct persist_spool_chunk *c = cb->c;
	size_t clen, klen, vlen, need;

	if (plen < PAYLOAD_FIXED)
		return -2;
	clen = get_u16(pl + 2);
	klen = get_u32(pl + 4);
	vlen = get_u32(pl + 8);
	if (pl[0] < PERSIST_OP_SET || pl[0] > PERSIST_OP_DELETE ||
	    PAYLOAD_FIXED + (uint64_t)clen + klen + vlen != plen)
		return -2;
	need = clen + klen + vlen + 3;
	if (c->n == cb->n_cap) {
		size_t nc = cb->n_cap ? cb->n_cap * 2 : 64;
		struct persist_op *o = realloc(c->ops, nc * sizeof(*o));
		int64_t *t = o ? realloc(c->times_ms, nc * sizeof(*t)) : NULL;
		uint64_t *q = t ? realloc(c->seqs, nc * sizeof(*q)) : NULL;
		size_t *st = q ? realloc(cb->starts, nc * sizeof(*st)) : NULL;

		if (o) c->ops = o;
		if (t) c->times_ms = t;
		if (q) c->seqs = q;
		if (st) cb->starts = st;
		if (st == NULL)
			return -1;
		cb->n_cap = nc;
	}
	if (cb->used + need > cb->cap) {
		size_t nc = cb->cap ? cb->cap * 2 : 4096;
		char *nb;

		while (nc < cb->used + need)
			nc *= 2;
		if ((nb = realloc(c->buf, nc)) == NULL)
			return -1;
		c->buf = nb;
		cb->cap = nc;
	}
	/* collection NUL key NUL value NUL */
	memcpy(c->buf + cb->used, pl + PAYLOAD_FIXED, clen);
	c->buf[cb->used + clen] = '\0';
	memcpy(c->buf + cb->used + clen + 1, pl + PAYLOAD_FIXED + clen, klen);
	c->buf[cb->used + clen + 1 + klen] = '\0';
	memcpy(c->buf + cb->used + clen + klen + 2, pl + PAYLOAD_FIXED + clen + klen, vlen);
	c->buf[cb->used + clen + klen + 2 + vlen] = '\0';
	memset(&c->ops[c->n], 0, sizeof(c->ops[c->n]));
	c->ops[c->n].type = (enum persist_op_type)pl[0];
	c->ops[c->n].len = vlen;
	c->ops[c->n].ttl_ms = (int64_t)get_u64(pl + 24);
	c->ops[c->n].delta = (int64_t)get_u64(pl + 32);
	c->times_ms[c->n] = (int64_t)get_u64(pl + 16);
	c->seqs[c->n] = seq;
	cb->starts[c->n] = cb->used;
	c->n++;
	cb->used += need;
	return 0;
}

/* Add the operations of the group record whose payload is pl (plen
   bytes) at offset off, each numbered off + its index; its id becomes
   the chunk's.  -1 out of memory, -2 inconsistent. */
static int chunk_add_group(struct chunk_build *cb, const uint8_t *pl, size_t plen,
			   uint64_t off)
{
	size_t klen = get_u32(pl + 4), at = PAYLOAD_FIXED + klen;
	uint64_t n = get_u64(pl + 32);
	int r;

	if (get_u16(pl + 2) != 0 || klen == 0 || klen >= sizeof(cb->c->id) ||
	    at > plen || n == 0 || n > plen)
		return -2;   /* (no operations: a piece of nothing, never drained) */
	memcpy(cb->c->id, pl + PAYLOAD_FIXED, klen);
	cb->c->id[klen] = '\0';
	if (!pc_batch_id_valid(cb->c->id, PERSIST_BATCH_ID_MAX))
		return -2;   /* it becomes a provider's batch id */
	cb->c->group = 1;
	for (uint64_t i = 0; i < n; i++) {
		size_t len;

		if (plen - at < 4 || (len = get_u32(pl + at)) > plen - at - 4)
			return -2;
		if ((r = chunk_add(cb, pl + at + 4, len, off + i)) != 0)
			return r;
		at += 4 + len;
	}
	return at == plen ? 0 : -2;
}

/* Read the records of [from, end) (at most max when end is the end of the
   checked records) into chunk (file lock held).  A group record is a
   chunk of its own: the chunk ends before one, or right after one it
   starts with (chunk->id is then the group's id). */
static int read_chunk(struct persist_spool *s, uint64_t from, uint64_t end, size_t max,
		      struct persist_spool_chunk *c, struct persist_error *err)
{
	struct chunk_build cb = { .c = c };
	uint8_t *rec = NULL;
	size_t rcap = 0, len;
	uint64_t off;
	const char *why = NULL;
	int r, ret = PERSIST_OK;

	for (off = from; off < end && c->n < max && !c->group; off += len) {
		const uint8_t *pl;
		size_t plen;

		if ((r = record_read(s, off, end, &rec, &rcap, &len, &why)) <= 0) {
			ret = r < 0 ? io_error(s, "read", err) :
				persist_error_set(err, PERSIST_ECORRUPT, 0,
					"journal \"%s\": the record at offset %" PRIu64 " is %s\n"
					"Records before it were checked when written; it is "
					"not applied.", s->path, off, why);
			break;
		}
		pl = rec + RECORD_HEAD;
		plen = len - RECORD_HEAD - RECORD_SUM;
		if (pl[0] == SPOOL_GROUP) {
			if (c->n > 0)
				break;        /* the group starts the next chunk */
			r = chunk_add_group(&cb, pl, plen, off);
		} else {
			r = chunk_add(&cb, pl, plen, off);
		}
		if (r != 0) {
			ret = r == -1 ? persist_error_set(err, PERSIST_ENOMEM, ENOMEM, "out of memory") :
				persist_error_set(err, PERSIST_ECORRUPT, 0,
					"journal \"%s\": the record at offset %" PRIu64 " holds "
					"inconsistent lengths\nIt is not applied.", s->path, off);
			break;
		}
	}
	free(rec);
	if (ret == PERSIST_OK) {
		for (size_t i = 0; i < c->n; i++) {
			char *b = c->buf + cb.starts[i];
			size_t clen = strlen(b);

			c->ops[i].collection = b;
			c->ops[i].key = c->ops[i].type == PERSIST_OP_APPEND ? NULL : b + clen + 1;
			c->ops[i].value = b + clen + 1 + strlen(b + clen + 1) + 1;
		}
		c->end = off;
	}
	free(cb.starts);
	if (ret != PERSIST_OK)
		persist_spool_chunk_free(c);
	return ret;
}

int persist_spool_next_chunk(struct persist_spool *s, size_t max_ops,
			     struct persist_spool_chunk *chunk_r,
			     struct persist_error *err)
{
	char gen[33];
	int ret;

	memset(chunk_r, 0, sizeof(*chunk_r));
	pthread_mutex_lock(&s->lock);
	if ((ret = file_enter(s, err)) != PERSIST_OK) {
		pthread_mutex_unlock(&s->lock);
		return ret;
	}
	if (s->h.chunk_end != 0 && s->h.chunk_end == s->h.replayed) {
		/* an empty piece in progress (a flush of nothing marked, then
		   a crash): nothing to give again, and what follows is new */
		s->h.chunk_end = s->h.split_end = 0;
		ret = header_write(s, err);
	}
	if (ret != PERSIST_OK) {
		/* the header could not be written */
	} else if (s->h.chunk_end != 0) {
		/* a replayer stopped in the middle of this piece: the same
		   piece again, under the same id */
		if (s->h.chunk_end > s->known_end)
			ret = persist_error_set(err, PERSIST_ECORRUPT, 0,
				"journal \"%s\": the piece being replayed ends at %" PRIu64
				", after the last whole record (%" PRIu64 ")",
				s->path, s->h.chunk_end, s->known_end);
		else
			ret = read_chunk(s, s->h.replayed, s->h.chunk_end, SIZE_MAX, chunk_r, err);
		if (ret == PERSIST_OK && chunk_r->end != s->h.chunk_end) {
			/* a group record inside it (a group is a piece of its
			   own) ends the reading early: such a piece could never
			   be marked done, and would be given again forever */
			ret = persist_error_set(err, PERSIST_ECORRUPT, 0,
				"journal \"%s\": the piece being replayed ends at %" PRIu64
				", but its records make a piece ending at %" PRIu64 "\n"
				"A group record lies inside it; nothing was applied.",
				s->path, s->h.chunk_end, chunk_r->end);
			persist_spool_chunk_free(chunk_r);
		}
		chunk_r->split = ret == PERSIST_OK && s->h.split_end == s->h.chunk_end;
	} else if (s->h.replayed < s->known_end) {
		ret = read_chunk(s, s->h.replayed, s->known_end, max_ops, chunk_r, err);
		if (ret == PERSIST_OK && chunk_r->n > 0) {
			s->h.chunk_end = chunk_r->end;
			if ((ret = header_write(s, err)) != PERSIST_OK)
				persist_spool_chunk_free(chunk_r);
		}
	}
	if (ret == PERSIST_OK && chunk_r->n > 0 && !chunk_r->group) {
		gen_hex(s, gen);
		snprintf(chunk_r->id, sizeof(chunk_r->id), "%s-%" PRIu64, gen, s->h.replayed);
	}
	file_leave(s);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int persist_spool_chunk_done(struct persist_spool *s,
			     const struct persist_spool_chunk *chunk,
			     struct persist_error *err)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	if ((ret = file_enter(s, err)) == PERSIST_OK) {
		if (s->h.chunk_end == chunk->end) {
			s->h.replayed = chunk->end;
			s->h.chunk_end = 0;
			s->h.split_end = 0;
			ret = header_write(s, err);
		}
		file_leave(s);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int persist_spool_drained_locked(struct persist_spool *s, struct persist_error *err)
{
	int ret, drained = 0;

	if ((ret = file_enter(s, err)) != PERSIST_OK)
		return -1;
	if (s->h.chunk_end == 0 && s->h.replayed >= s->known_end) {
		drained = 1;
		if (s->known_end > HEADER_SIZE) {
			header_new(s);
			if (ftruncate(s->fd, HEADER_SIZE) != 0)
				ret = io_error(s, "empty", err);
			else
				ret = header_write(s, err);
		}
	}
	file_leave(s);
	return ret != PERSIST_OK ? -1 : drained;
}

/* --- a write queue's journal (journalQueued) ----------------------------- */

uint64_t persist_spool_end(struct persist_spool *s)
{
	uint64_t end;

	pthread_mutex_lock(&s->lock);
	end = s->known_end;
	pthread_mutex_unlock(&s->lock);
	return end;
}

int persist_spool_mark(struct persist_spool *s, uint64_t end, char *id_r,
		       size_t id_size, struct persist_error *err)
{
	char gen[33];
	int ret;

	pthread_mutex_lock(&s->lock);
	if ((ret = file_enter(s, err)) == PERSIST_OK) {
		if (end < s->h.replayed || end > s->known_end ||
		    (s->h.chunk_end != 0 && s->h.chunk_end != end))
			ret = persist_error_set(err, PERSIST_ECORRUPT, 0,
				"journal \"%s\": a flush up to offset %" PRIu64 " does not fit "
				"(replayed up to %" PRIu64 ", piece in progress up to %" PRIu64
				", records up to %" PRIu64 ")\nThe journal was changed by "
				"another process; nothing was sent.", s->path, end,
				s->h.replayed, s->h.chunk_end, s->known_end);
		else if (s->h.chunk_end == 0) {
			s->h.chunk_end = end;
			ret = header_write(s, err);
		}
		if (ret == PERSIST_OK) {
			gen_hex(s, gen);
			snprintf(id_r, id_size, "%s-%" PRIu64, gen, s->h.replayed);
		}
		file_leave(s);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int persist_spool_mark_done(struct persist_spool *s, uint64_t end,
			    struct persist_error *err)
{
	struct persist_spool_chunk c;
	int ret;

	memset(&c, 0, sizeof(c));
	c.end = end;
	if ((ret = persist_spool_chunk_done(s, &c, err)) != PERSIST_OK)
		return ret;
	pthread_mutex_lock(&s->lock);
	ret = persist_spool_drained_locked(s, err) < 0 ? err->code : PERSIST_OK;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* --- applying a piece ---------------------------------------------------- */

/* A set whose TTL ran out since it was journaled is applied as a delete;
   the others keep what was left of their TTL. */
static void shorten_ttls(struct persist_spool_chunk *c, int64_t now)
{
	for (size_t i = 0; i < c->n; i++) {
		struct persist_op *op = &c->ops[i];
		int64_t left;

		if (op->type != PERSIST_OP_SET || op->ttl_ms <= 0)
			continue;
		left = op->ttl_ms - (now - c->times_ms[i]);
		if (left > op->ttl_ms)
			left = op->ttl_ms;   /* the clock went back */
		if (left > 0) {
			op->ttl_ms = left;
		} else {
			op->type = PERSIST_OP_DELETE;
			op->ttl_ms = 0;
			op->len = 0;
		}
	}
}

/* The times a replay sends with the piece's sets and deletes: when each
   was journaled, never earlier than the record before it - the journal's
   order is the order its writes were made in, even if the clock stepped
   back meanwhile, and the provider must not put them in another. */
static void order_times(struct persist_spool_chunk *c)
{
	for (size_t i = 1; i < c->n; i++) {
		if (c->times_ms[i] < c->times_ms[i - 1])
			c->times_ms[i] = c->times_ms[i - 1];
	}
}

/* Record (durably) that the piece c is applied one record at a time from
   now on: whoever takes it over after a crash does the same. */
static int mark_split(struct persist_spool *s, struct persist_spool_chunk *c,
		      struct persist_error *err)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	if ((ret = file_enter(s, err)) == PERSIST_OK) {
		if (s->h.chunk_end != c->end)
			ret = persist_error_set(err, PERSIST_ECORRUPT, 0,
				"journal \"%s\": the piece in progress ends at %" PRIu64
				", not at %" PRIu64 " where the piece being applied ends\n"
				"The journal was changed by another process; nothing more was sent.",
				s->path, s->h.chunk_end, c->end);
		else if (s->h.split_end != c->end) {
			s->h.split_end = c->end;
			ret = header_write(s, err);
		}
		file_leave(s);
	}
	pthread_mutex_unlock(&s->lock);
	if (ret == PERSIST_OK)
		c->split = 1;
	return ret;
}

void persist_spool_date_replay(struct persist_spool *s)
{
	s->dated = 1;
}

int persist_spool_apply_chunk(struct persist_spool *s, struct persist_sink *sink,
			      struct persist_spool_chunk *c, int *before_r,
			      uint64_t *dropped_r, struct persist_error *err)
{
	int ret;

	*before_r = 0;
	shorten_ttls(c, persist_now_ms());
	order_times(c);
	if (!c->split) {
		ret = persist_state_apply_dated(sink, c->id, c->ops,
						s->dated ? c->times_ms : NULL, c->n,
						before_r, err);
		if (ret != PERSIST_EINVAL)
			return ret;
	}
	if ((ret = mark_split(s, c, err)) != PERSIST_OK)
		return ret;
	/* refused as invalid: one at a time, each applied once under the
	   piece's id and its sequence number, the invalid ones dropped (a
	   group's ids keep the end of its id, where batch ids differ) */
	for (size_t i = 0; i < c->n; i++) {
		char id[PERSIST_BATCH_ID_MAX], num[24];
		size_t idlen = strlen(c->id), keep;
		int before = 0;

		snprintf(num, sizeof(num), ".%" PRIu64, c->seqs[i]);
		keep = sizeof(id) - 1 - strlen(num);
		if (c->group)
			snprintf(id, sizeof(id), "%s%s",
				 c->id + (idlen > keep ? idlen - keep : 0), num);
		else
			snprintf(id, sizeof(id), "%.40s%s", c->id, num);
		persist_error_clear(err);
		ret = persist_state_apply_dated(sink, id, &c->ops[i],
						s->dated ? &c->times_ms[i] : NULL, 1,
						&before, err);
		if (ret == PERSIST_EINVAL) {
			persist_log(s->p, PERSIST_LOG_ERROR,
				"state: journaled write %" PRIu64 " of journal \"%s\" was refused by "
				"\"%s\" and is dropped: %s", c->seqs[i], s->path, sink->provider,
				err->msg);
			(*dropped_r)++;
			continue;
		}
		if (ret != PERSIST_OK)
			return ret;
	}
	persist_error_clear(err);
	return PERSIST_OK;
}

int persist_spool_replay_all(struct persist_spool *s, struct persist_sink *sink,
			     uint64_t *replayed_r, uint64_t *dropped_r,
			     struct persist_error *err)
{
	int ret = PERSIST_OK, held = s->replay_held;

	if (!persist_spool_replay_lock(s))
		return PERSIST_OK;   /* its owner is alive, or another replays it */
	for (;;) {
		struct persist_spool_chunk c;
		int before = 0;

		if ((ret = persist_spool_next_chunk(s, SPOOL_REPLAY_CHUNK_OPS, &c, err)) != PERSIST_OK)
			break;
		if (c.n == 0)
			break;
		ret = persist_spool_apply_chunk(s, sink, &c, &before, dropped_r, err);
		if (ret == PERSIST_OK)
			ret = persist_spool_chunk_done(s, &c, err);
		if (ret == PERSIST_OK && !before)
			*replayed_r += c.n;
		if (ret != PERSIST_OK)
			persist_error_prefix(err, (persist_status)ret,
				"cannot replay %zu writes of journal \"%s\" (piece %s) to \"%s\"",
				c.n, s->path, c.id, sink->provider);
		persist_spool_chunk_free(&c);
		if (ret != PERSIST_OK)
			break;
	}
	if (ret == PERSIST_OK) {
		pthread_mutex_lock(&s->lock);
		if (persist_spool_drained_locked(s, err) < 0)
			ret = err->code;
		pthread_mutex_unlock(&s->lock);
	}
	if (!held)
		persist_spool_replay_unlock(s);
	return ret;
}
