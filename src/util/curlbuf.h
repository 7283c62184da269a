/* A reply read into memory by libcurl, with a bound: doppel's HTTP clients
 * (the remote CLI, the stand-ins' admin calls) read JSON answers whole, and a
 * peer that never stops sending must not grow them without limit. */
#ifndef DOPPEL_UTIL_CURLBUF_H
#define DOPPEL_UTIL_CURLBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct dp_curlbuf {
	char *data;    /* NUL-terminated; NULL until the first byte */
	size_t len;
	size_t max;    /* bytes kept at most */
	bool overflow; /* the reply was longer than max: the transfer was cut */
} dp_curlbuf;

/* CURLOPT_WRITEFUNCTION, with CURLOPT_WRITEDATA a dp_curlbuf. */
size_t dp_curlbuf_write(char *p, size_t size, size_t n, void *user);

#endif
