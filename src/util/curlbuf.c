/* Bounded in-memory replies for libcurl; see curlbuf.h. */
#include "util/curlbuf.h"

#include <stdlib.h>
#include <string.h>

size_t dp_curlbuf_write(char *p, size_t size, size_t n, void *user)
{
	dp_curlbuf *b = user;
	size_t add = size * n;
	char *d;

	if (add > b->max || b->len + add > b->max) {
		b->overflow = true;
		return 0; /* libcurl ends the transfer with CURLE_WRITE_ERROR */
	}
	d = realloc(b->data, b->len + add + 1);
	if (d == NULL)
		return 0;
	memcpy(d + b->len, p, add);
	b->len += add;
	d[b->len] = '\0';
	b->data = d;
	return add;
}
