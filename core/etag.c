/*
 * core/etag.c - the one ETag function every provider uses (through
 * host->etag) and hosts call as persist_etag().
 *
 * An ETag is the first 128 bits of the SHA-256 of the bytes, as 32 lower
 * case hex digits: the same bytes give the same ETag in every process, on
 * every machine and with every provider, so an HTTP cache keeps working
 * when the platform moves a document from files to Redis.  (SHA-256 rather
 * than the MD5 that ETags are often made of: it costs about the same for
 * documents of this size and is not broken.)
 */
#include "config.h"

#include <openssl/sha.h>

#include "core-private.h"

/* ETag of data[0..len) into etag_r (33 bytes used of PERSIST_ETAG_MAX). */
void persist_etag(const void *data, size_t len, char etag_r[PERSIST_ETAG_MAX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char digest[SHA256_DIGEST_LENGTH];

	if (etag_r == NULL)
		return;
	SHA256(data != NULL ? data : (const void *)"", data != NULL ? len : 0, digest);
	for (int i = 0; i < 16; i++) {
		etag_r[2 * i] = hex[digest[i] >> 4];
		etag_r[2 * i + 1] = hex[digest[i] & 0x0f];
	}
	etag_r[32] = '\0';
}
