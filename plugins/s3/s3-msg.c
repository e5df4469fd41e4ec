/*
 * plugins/s3/s3-msg.c - a reply that is not the one a call expected,
 * turned into a clear error: S3's XML error body is parsed (s3-xml.c) and
 * its code named with what it means here.  A bucket that does not exist,
 * refused credentials or a refused signature are configuration mistakes
 * (PERSIST_ECONFIG); a bucket in another region names that region (from
 * the error body or the x-amz-bucket-region header); a server error after
 * the retries is PERSIST_EUNAVAIL; a reply that is not S3's at all (an
 * HTML page from a wrong endpoint) says so.  No message ever quotes the
 * secret key or the session token: only the access key id, which is not
 * secret, is named.
 */
#include "s3-private.h"

#include <stdio.h>
#include <string.h>

/* Turn resp into an error for the call described by what ("get of
   \"k\"", "health check", ...). */
int s3_reply_error(struct s3_store *st, const char *what,
		   const struct s3_response *resp, struct persist_error *err)
{
	const struct persist_host *host = st->host;
	const struct s3_conf *c = &st->conf;
	struct s3_xml_error e;
	bool xml = s3_xml_error(resp->body, resp->len, &e) == 0;
	const char *region = xml && e.region[0] != '\0' ? e.region : resp->region;

	if (!xml) {
		/* HEAD has no body: the status says what it can */
		snprintf(e.code, sizeof(e.code), "%s",
			 resp->status == 404 ? "NoSuchBucket" :
			 resp->status == 403 ? "AccessDenied" :
			 resp->status == 301 ? "PermanentRedirect" : "");
		e.message[0] = '\0';
		if (resp->len > 0 && resp->status < 500) {
			/* a body that is not S3's XML: not an S3 endpoint */
			return host->error(err, PERSIST_EIO, 0,
					   "the endpoint does not answer like S3\n"
					   "%s got HTTP %ld from %s with %zu bytes of %s "
					   "instead of an S3 XML reply; check \"endpoint\".",
					   what, resp->status, c->origin, resp->len,
					   resp->content_type[0] != '\0' ? resp->content_type :
					   "an unknown type");
		}
	}
	if (resp->status >= 500)
		return host->error(err, PERSIST_EUNAVAIL, 0,
				   "server error HTTP %ld%s%s%s\n%s failed at %s after %d "
				   "attempt%s%s%s.", resp->status, e.code[0] ? " (" : "",
				   e.code, e.code[0] ? ")" : "", what, c->origin, resp->attempts,
				   resp->attempts == 1 ? "" : "s", e.message[0] ? ": " : "",
				   e.message);
	if (region[0] != '\0' && strcmp(region, c->region) != 0 &&
	    (resp->status == 301 || resp->status == 400 || resp->status == 403))
		return host->error(err, PERSIST_ECONFIG, 0,
				   "bucket \"%s\" is in region \"%s\", not \"%s\"\n"
				   "The server at %s answered %s to %s; set \"region\" to \"%s\".",
				   c->bucket, region, c->region, c->origin,
				   e.code[0] ? e.code : "a redirect", what, region);
	if (strcmp(e.code, "NoSuchBucket") == 0)
		return host->error(err, PERSIST_ECONFIG, 0,
				   "bucket \"%s\" does not exist\nThe server at %s answered "
				   "NoSuchBucket to %s; check \"bucket\" and \"endpoint\".",
				   c->bucket, c->origin, what);
	if (strcmp(e.code, "SignatureDoesNotMatch") == 0)
		return host->error(err, PERSIST_ECONFIG, 0,
				   "the server refused the request signature\nThe server at %s "
				   "answered SignatureDoesNotMatch to %s: the secret access key "
				   "(\"secretAccessKey\" or AWS_SECRET_ACCESS_KEY) is not the one "
				   "of access key id \"%s\".", c->origin, what, c->access_key);
	if (strcmp(e.code, "InvalidAccessKeyId") == 0)
		return host->error(err, PERSIST_ECONFIG, 0,
				   "unknown access key id \"%s\"\nThe server at %s answered "
				   "InvalidAccessKeyId to %s.", c->access_key, c->origin, what);
	if (strcmp(e.code, "AccessDenied") == 0 || strcmp(e.code, "ExpiredToken") == 0 ||
	    strcmp(e.code, "InvalidToken") == 0)
		return host->error(err, PERSIST_ECONFIG, 0,
				   "access denied to bucket \"%s\"\nThe server at %s answered "
				   "%s%s%s to %s for access key id \"%s\"; check the credentials "
				   "and the bucket's policy.", c->bucket, c->origin, e.code,
				   e.message[0] ? ": " : "", e.message, what, c->access_key);
	if (strcmp(e.code, "RequestTimeTooSkewed") == 0)
		return host->error(err, PERSIST_ECONFIG, 0,
				   "the clock of this machine is too far from the server's\n"
				   "The server at %s answered RequestTimeTooSkewed to %s.",
				   c->origin, what);
	return host->error(err, PERSIST_EIO, 0, "%s failed with HTTP %ld%s%s%s\n"
			   "The server at %s answered%s%s.", what, resp->status,
			   e.code[0] ? " (" : "", e.code, e.code[0] ? ")" : "", c->origin,
			   e.message[0] ? ": " : " without a message", e.message);
}
