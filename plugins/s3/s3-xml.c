/*
 * plugins/s3/s3-xml.c - the XML S3 answers with, read by libxml2: an
 * <Error> body (Code, Message, Region, BucketName) and a ListObjectsV2
 * page (<Contents> with Key and ETag, IsTruncated,
 * NextContinuationToken).  Elements are matched by local name, so the
 * S3 namespace may or may not be declared.  A body that is not
 * well-formed XML (an HTML page, a reply cut short) or not the expected
 * document is refused with a reason, never half read.  The parser never
 * touches the network (XML_PARSE_NONET) and never prints (its errors are
 * turned off; the caller reports).
 */
#include "s3-private.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#define S3_XML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | \
			XML_PARSE_NOBLANKS)

/* Parse len bytes of body, or NULL. */
static xmlDocPtr parse(const char *body, size_t len)
{
	if (body == NULL || len == 0 || len > INT_MAX)
		return NULL;
	return xmlReadMemory(body, (int)len, "s3-reply.xml", NULL, S3_XML_OPTIONS);
}

/* True when node is an element named name. */
static bool is_elem(xmlNodePtr node, const char *name)
{
	return node->type == XML_ELEMENT_NODE &&
	       strcmp((const char *)node->name, name) == 0;
}

/* The text of node into buf (cut to size). */
static void text_of(xmlNodePtr node, char *buf, size_t size)
{
	xmlChar *t = xmlNodeGetContent(node);

	snprintf(buf, size, "%s", t != NULL ? (const char *)t : "");
	xmlFree(t);
}

/* Parse an <Error> body. */
int s3_xml_error(const char *body, size_t len, struct s3_xml_error *e)
{
	xmlDocPtr doc = parse(body, len);
	xmlNodePtr root;

	memset(e, 0, sizeof(*e));
	if (doc == NULL)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (root == NULL || !is_elem(root, "Error")) {
		xmlFreeDoc(doc);
		return -1;
	}
	for (xmlNodePtr n = root->children; n != NULL; n = n->next) {
		if (is_elem(n, "Code"))
			text_of(n, e->code, sizeof(e->code));
		else if (is_elem(n, "Message"))
			text_of(n, e->message, sizeof(e->message));
		else if (is_elem(n, "Region"))
			text_of(n, e->region, sizeof(e->region));
		else if (is_elem(n, "BucketName"))
			text_of(n, e->bucket, sizeof(e->bucket));
	}
	xmlFreeDoc(doc);
	return e->code[0] != '\0' ? 0 : -1;
}

/* One <Contents>: its Key and ETag to fn. */
static int list_one(xmlNodePtr contents, s3_list_fn *fn, void *ctx)
{
	xmlChar *key = NULL;
	char etag[S3_ETAG_MAX] = "";
	int ret;

	for (xmlNodePtr n = contents->children; n != NULL; n = n->next) {
		if (is_elem(n, "Key") && key == NULL)
			key = xmlNodeGetContent(n);
		else if (is_elem(n, "ETag"))
			text_of(n, etag, sizeof(etag));
	}
	if (key == NULL)
		return -2;
	ret = fn(ctx, (const char *)key, etag);
	xmlFree(key);
	return ret;
}

/* Parse a ListObjectsV2 page. */
int s3_xml_list(const char *body, size_t len, s3_list_fn *fn, void *ctx,
		char **next_r, char *why, size_t why_size)
{
	xmlDocPtr doc = parse(body, len);
	xmlNodePtr root;
	bool truncated = false;
	xmlChar *token = NULL;
	int ret = 0;

	*next_r = NULL;
	if (doc == NULL) {
		snprintf(why, why_size, "the reply is not well-formed XML (%zu bytes%s)", len,
			 len > 0 && body[0] == '<' ? "" : ", not starting with '<'");
		return -1;
	}
	root = xmlDocGetRootElement(doc);
	if (root == NULL || !is_elem(root, "ListBucketResult")) {
		snprintf(why, why_size, "the reply is XML but not a listing (its root is <%s>)",
			 root != NULL ? (const char *)root->name : "");
		xmlFreeDoc(doc);
		return -1;
	}
	for (xmlNodePtr n = root->children; n != NULL && ret == 0; n = n->next) {
		if (is_elem(n, "Contents")) {
			ret = list_one(n, fn, ctx);
			if (ret == -2)
				snprintf(why, why_size, "the listing has an entry without a <Key>");
		} else if (is_elem(n, "IsTruncated")) {
			char t[16];

			text_of(n, t, sizeof(t));
			truncated = strcmp(t, "true") == 0;
		} else if (is_elem(n, "NextContinuationToken") && token == NULL) {
			token = xmlNodeGetContent(n);
		}
	}
	if (ret == 0 && truncated) {
		if (token == NULL || token[0] == '\0') {
			snprintf(why, why_size, "the listing is truncated but has no "
				 "<NextContinuationToken>");
			ret = -1;
		} else if ((*next_r = strdup((const char *)token)) == NULL) {
			snprintf(why, why_size, "out of memory");
			ret = -1;
		}
	}
	xmlFree(token);
	xmlFreeDoc(doc);
	return ret == -2 ? -1 : ret;
}
