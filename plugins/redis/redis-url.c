/*
 * plugins/redis/redis-url.c - parsing of the redis provider's "url"
 * setting into struct redis_conf.
 *
 * Accepted forms:
 *   redis://[[user]:password@]host[:port][/db]     plain TCP (port 6379)
 *   rediss://[[user]:password@]host[:port][/db]    TLS (needs hiredis_ssl)
 *   unix:///absolute/path/to/socket[?db=N]         unix domain socket
 * host may be a name, an IPv4 address or an IPv6 address in brackets.
 * user and password are percent-decoded (a password containing '@', ':'
 * or '/' must be written %40, %3A, %2F).  Anything else - an unknown
 * scheme, a query string on a TCP url, a port that is not 1-65535, a db
 * that is not a non-negative integer - is a PERSIST_ECONFIG naming the
 * url with its credentials masked (pc_mask_secrets, which does not rely
 * on the url parsing).
 */
#include "redis-private.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

/* Report a url that does not parse: ECONFIG naming the masked url. */
static int url_error(const struct persist_host *host, const char *url,
		     struct persist_error *err, const char *why)
{
	char *masked = pc_mask_secrets(url);
	int ret;

	ret = host->error(err, PERSIST_ECONFIG, 0,
			  "setting \"url\" (\"%s\") does not parse: %s\n"
			  "Expected redis://[user:password@]host[:port][/db], "
			  "rediss://... or unix:///path/to/socket[?db=N].",
			  masked != NULL ? masked : "?", why);
	free(masked);
	return ret;
}

/* Value of one hex digit, -1 if c is none. */
static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode [s, s+len) into a new string; NULL on a bad escape or
   an encoded NUL (*bad set) or ENOMEM (*bad clear). */
static char *pct_decode(const char *s, size_t len, bool *bad)
{
	char *out = malloc(len + 1), *o = out;

	*bad = false;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= len || (hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0 || (hi == 0 && lo == 0)) {
				free(out);
				*bad = true;
				return NULL;
			}
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

/* Parse decimal digits [s, s+len) into *v within [min, max]; 0 on
   success. */
static int parse_uint(const char *s, size_t len, long min, long max, int *v)
{
	long n = 0;

	if (len == 0 || len > 10)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		n = n * 10 + (s[i] - '0');
	}
	if (n < min || n > max)
		return -1;
	*v = (int)n;
	return 0;
}

/* unix:///path[?db=N] */
static int parse_unix(const struct persist_host *host, const char *url,
		      const char *rest, struct redis_conf *conf,
		      struct persist_error *err)
{
	const char *q = strchr(rest, '?');
	size_t plen = q != NULL ? (size_t)(q - rest) : strlen(rest);
	char display[sizeof(((struct sockaddr_un *)0)->sun_path) + 64];

	if (plen == 0 || rest[0] != '/')
		return url_error(host, url, err,
				 "a unix socket url needs an absolute path (unix:///path)");
	if (plen >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return url_error(host, url, err, "the socket path is too long");
	if (memchr(rest, '@', plen) != NULL)
		return url_error(host, url, err,
				 "credentials go in the \"username\" and \"password\" "
				 "settings for a unix socket");
	if (q != NULL) {
		if (strncmp(q, "?db=", 4) != 0 ||
		    parse_uint(q + 4, strlen(q + 4), 0, INT_MAX, &conf->db) < 0)
			return url_error(host, url, err,
					 "the only query a unix url takes is ?db=N");
	}
	conf->unix_socket = true;
	conf->path = strndup(rest, plen);
	if (conf->db != 0)
		snprintf(display, sizeof(display), "unix://%.*s?db=%d", (int)plen,
			 rest, conf->db);
	else
		snprintf(display, sizeof(display), "unix://%.*s", (int)plen, rest);
	conf->display = strdup(display);
	if (conf->path == NULL || conf->display == NULL)
		return host->error(err, PERSIST_ENOMEM, ENOMEM,
				   "out of memory");
	return PERSIST_OK;
}

/* redis://... and rediss://... after the scheme. */
static int parse_tcp(const struct persist_host *host, const char *url,
		     const char *rest, struct redis_conf *conf,
		     struct persist_error *err)
{
	const char *slash = strchr(rest, '/');
	const char *auth_end = slash != NULL ? slash : rest + strlen(rest);
	const char *at = NULL, *hp, *hp_end, *colon;
	size_t hlen;
	char *display;
	size_t dlen;
	bool bad;

	if (strpbrk(rest, "?#") != NULL)
		return url_error(host, url, err,
				 "query strings and fragments are not supported "
				 "(percent-encode '?' and '#' in a password)");
	for (const char *p = rest; p < auth_end; p++)
		if (*p == '@')
			at = p;
	if (at != NULL) {
		const char *c = memchr(rest, ':', (size_t)(at - rest));

		if (c == NULL)
			return url_error(host, url, err,
					 "credentials must be written user:password@ "
					 "or :password@");
		if (c > rest) {
			conf->username = pct_decode(rest, (size_t)(c - rest), &bad);
			if (conf->username == NULL)
				goto decode_failed;
		}
		if (at > c + 1) {
			conf->password = pct_decode(c + 1, (size_t)(at - c - 1), &bad);
			if (conf->password == NULL)
				goto decode_failed;
		} else {
			return url_error(host, url, err, "the password is empty");
		}
		hp = at + 1;
	} else {
		hp = rest;
	}
	hp_end = auth_end;
	if (hp == hp_end)
		return url_error(host, url, err, "the host is missing");
	if (*hp == '[') {
		const char *close = memchr(hp, ']', (size_t)(hp_end - hp));

		if (close == NULL || close == hp + 1)
			return url_error(host, url, err,
					 "an IPv6 address must be written [address]");
		conf->host = strndup(hp + 1, (size_t)(close - hp - 1));
		colon = close + 1 < hp_end ? close + 1 : NULL;
		if (colon != NULL && *colon != ':')
			return url_error(host, url, err,
					 "unexpected text after the IPv6 address");
	} else {
		colon = memchr(hp, ':', (size_t)(hp_end - hp));
		hlen = colon != NULL ? (size_t)(colon - hp) : (size_t)(hp_end - hp);
		if (hlen == 0)
			return url_error(host, url, err, "the host is missing");
		for (size_t i = 0; i < hlen; i++) {
			unsigned char ch = (unsigned char)hp[i];

			if (!isalnum(ch) && ch != '.' && ch != '-' && ch != '_')
				return url_error(host, url, err,
						 "the host contains a character that is "
						 "not allowed in a host name");
		}
		conf->host = strndup(hp, hlen);
	}
	if (conf->host == NULL)
		goto oom;
	conf->port = 6379;
	if (colon != NULL &&
	    parse_uint(colon + 1, (size_t)(hp_end - colon - 1), 1, 65535,
		       &conf->port) < 0)
		return url_error(host, url, err,
				 "the port must be a number from 1 to 65535");
	if (slash != NULL && slash[1] != '\0' &&
	    parse_uint(slash + 1, strlen(slash + 1), 0, INT_MAX, &conf->db) < 0)
		return url_error(host, url, err,
				 "the database must be a non-negative integer (/0, /1, ...)");

	dlen = strlen(conf->host) + 64;
	display = malloc(dlen);
	if (display == NULL)
		goto oom;
	snprintf(display, dlen, "%s://%s%s%s:%d/%d", conf->tls ? "rediss" : "redis",
		 strchr(conf->host, ':') != NULL ? "[" : "", conf->host,
		 strchr(conf->host, ':') != NULL ? "]" : "", conf->port, conf->db);
	conf->display = display;
	return PERSIST_OK;

decode_failed:
	if (bad)
		return url_error(host, url, err,
				 "bad percent-escape in the credentials");
oom:
	return host->error(err, PERSIST_ENOMEM, ENOMEM,
			   "out of memory");
}

/* Parse url into conf (host/port/path/db/credentials/tls/display). */
int redis_url_parse(const struct persist_host *host, const char *url,
		    struct redis_conf *conf, struct persist_error *err)
{
	if (strncmp(url, "redis://", 8) == 0)
		return parse_tcp(host, url, url + 8, conf, err);
	if (strncmp(url, "rediss://", 9) == 0) {
		conf->tls = true;
		return parse_tcp(host, url, url + 9, conf, err);
	}
	if (strncmp(url, "unix://", 7) == 0)
		return parse_unix(host, url, url + 7, conf, err);
	return url_error(host, url, err,
			 "the scheme must be redis://, rediss:// or unix://");
}
