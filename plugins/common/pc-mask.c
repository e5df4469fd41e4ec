/*
 * plugins/common/pc-mask.c - masking of the secrets in a connection
 * string (a url or a key=value conninfo), for messages and logs.
 *
 * A url that fails to parse is exactly the one whose credentials cannot
 * be found by the parser, so masking must not depend on parsing: it works
 * on the raw text.  What it hides:
 *   - the userinfo: everything after "scheme:" (and "//"), or after the
 *     start when there is no scheme, up to the LAST '@' of the text (a
 *     password may itself contain '@', '/' or ':' when it was not
 *     percent-encoded);
 *   - the value of a "password=" or "secret=" parameter (any case), up to
 *     the next '&', ';', space or the end, wherever it appears.
 * Nothing here knows about a particular provider, so any plugin that
 * quotes a url or a key=value connection string can use it.
 */
#include "pc-common.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MASK "***"

/* Length of "scheme:" (plus "//" when present) at the start of s, or 0
   when s does not start with a scheme. */
static size_t scheme_len(const char *s)
{
	size_t i = 0;

	if (!isalpha((unsigned char)s[0]))
		return 0;
	while (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' ||
	       s[i] == '.')
		i++;
	if (s[i] != ':')
		return 0;
	i++;
	while (s[i] == '/' && i < 64)
		i++;
	return i;
}

/* Does a secret parameter name ("password=" or "secret=") start at
   s + i?  Then its value starts at *value_at_r. */
static bool secret_param_at(const char *s, size_t i, size_t *value_at_r)
{
	static const char *const names[] = { "password=", "secret=" };

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		size_t n = strlen(names[k]);

		if (strncasecmp(s + i, names[k], n) == 0) {
			*value_at_r = i + n;
			return true;
		}
	}
	return false;
}

/* See pc-common.h. */
char *pc_mask_secrets(const char *url)
{
	size_t len = strlen(url), start = scheme_len(url), o = 0, i;
	const char *at = strrchr(url, '@');
	/* each masked run is replaced by 3 bytes; a run is at least 1 byte,
	   so 3 * len + 4 is always enough */
	char *out = malloc(3 * len + 4);

	if (out == NULL)
		return NULL;
	memcpy(out, url, start);
	o = start;
	i = start;
	if (at != NULL && (size_t)(at - url) >= start) {
		memcpy(out + o, MASK, 3);
		o += 3;
		i = (size_t)(at - url);
	}
	while (i < len) {
		size_t v;

		if (secret_param_at(url, i, &v)) {
			memcpy(out + o, url + i, v - i);
			o += v - i;
			i = v;
			if (url[i] != '\0' && strchr("&; ", url[i]) == NULL) {
				memcpy(out + o, MASK, 3);
				o += 3;
				while (url[i] != '\0' && strchr("&; ", url[i]) == NULL)
					i++;
			}
			continue;
		}
		out[o++] = url[i++];
	}
	out[o] = '\0';
	return out;
}
