/*
 * plugins/redis/redis-mask.h - hiding the secrets of a connection string
 * before it is quoted in a message (see redis-mask.c).
 */
#ifndef PERSIST_REDIS_MASK_H
#define PERSIST_REDIS_MASK_H

/* A copy of url (malloc; NULL on ENOMEM) in which the credentials are
   replaced by "***": everything between the scheme (or the start) and
   the last '@', and the value of every password= or secret= parameter.
   It works on any text, whether or not it parses as a url. */
char *mask_url_secrets(const char *url);

#endif
