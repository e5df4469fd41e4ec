/*
 * fuzz/fuzz-s3-xml.c - fuzz target: the s3 provider's reader of S3's XML
 * answers (plugins/s3/s3-xml.c), an <Error> body and a ListObjectsV2
 * page, on the same bytes.  Promises: a listing either answers 0 (every
 * object handed over has a non-empty name; a continuation token, when
 * there is one, is non-empty) or -1 with a reason; an error body read as
 * S3's has a code.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "s3-private.h"

/* Count the objects of a listing; each one must have a name. */
static int count_object(void *ctx, const char *object, const char *s3_etag)
{
	fuzz_assert(object != NULL && s3_etag != NULL);
	(*(size_t *)ctx)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s3_xml_error e;
	char why[256] = "", *next = NULL;
	size_t objects = 0;

	if (size > 65536)
		return 0;
	if (s3_xml_error((const char *)data, size, &e) == 0)
		fuzz_assert(e.code[0] != '\0');
	if (s3_xml_list((const char *)data, size, count_object, &objects, &next,
			why, sizeof(why)) == 0)
		fuzz_assert(next == NULL || next[0] != '\0');
	else
		fuzz_assert(why[0] != '\0' && next == NULL);
	free(next);
	return 0;
}
