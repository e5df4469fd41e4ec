/*
 * fuzz/fuzz-redis-url.c - fuzz target: the redis provider's url parser
 * and its config reader (plugins/redis/redis-url.c, redis-options.c).  An
 * input starting with '{' is a whole config object for redis_conf_parse;
 * anything else is a url for redis_url_parse.  A url that does not parse
 * is quoted masked: when the marker the seeds use as a password appears
 * in a url only before its last '@' (where a password is), neither the
 * message nor the display form may hold it.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "redis-private.h"
#include "plugin-host.h"

#define MARKER "FUZZSECRET"

/* Does the marker appear in a url, and only where a password can be:
   after its "scheme://" and before its last '@'? */
static int marker_in_password(const char *url)
{
	const char *sep = strstr(url, "://");
	const char *at = strrchr(url, '@');
	const char *m = strstr(url, MARKER);

	if (sep == NULL || at == NULL || m == NULL || m < sep + 3)
		return 0;
	return strstr(at, MARKER) == NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct persist_error err;
	struct redis_conf conf;
	char *text;
	int ret;

	if (size > 4096)
		return 0;
	text = malloc(size + 1);
	fuzz_assert(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&err, 0, sizeof(err));
	memset(&conf, 0, sizeof(conf));
	if (size > 0 && text[0] == '{')
		ret = redis_conf_parse(&ph_host, text, &conf, &err);
	else
		ret = redis_url_parse(&ph_host, text, &conf, &err);
	if (ret == PERSIST_OK)
		fuzz_assert(conf.display != NULL);
	else
		fuzz_assert(err.msg[0] != '\0');
	if (text[0] != '{' && marker_in_password(text)) {
		fuzz_assert(ret != PERSIST_OK || strstr(conf.display, MARKER) == NULL);
		fuzz_assert(ret == PERSIST_OK || strstr(err.msg, MARKER) == NULL);
	}
	redis_conf_free(&conf);
	ph_log_clear();
	free(text);
	return 0;
}
