/* The text formats the PostgreSQL copy works in, apart from any connection
 * so they can be tested alone: COPY's text format (one field escaped or
 * unescaped), array literals ({a,"b c",NULL}) and values at paths inside
 * json documents. Masking reads a field once, unescapes it into a reused
 * buffer and escapes the fake straight into the output; nothing here
 * allocates per field once the buffers have grown. */
#ifndef DOPPEL_DATA_POSTGRES_TEXT_H
#define DOPPEL_DATA_POSTGRES_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/* A growing byte buffer; never shrinks, so a worker reuses it row after row. */
typedef struct dp_pgbuf {
	char *p;
	size_t n, cap;
} dp_pgbuf;

void dp_pgbuf_reserve(dp_pgbuf *b, size_t more); /* aborts when out of memory */
void dp_pgbuf_add(dp_pgbuf *b, const void *s, size_t n);
void dp_pgbuf_free(dp_pgbuf *b);

/* One COPY text field [s, s+n) (not \N) unescaped into out (reset first):
 * \b \f \n \r \t \v \\, \ooo octal, \xhh hex, backslash before anything else
 * is that character. out is NUL-terminated past out->n. */
void dp_copy_unescape(const char *s, size_t n, dp_pgbuf *out);
/* The other way: s escaped for a COPY text field, appended to out. */
void dp_copy_escape(dp_pgbuf *out, const char *s, size_t n);

/* One element of an array or value in a json document, to be masked: the
 * callback sets *out and *outn to the replacement (NULL: SQL NULL / json null),
 * or returns -1 with *err set. */
typedef int (*dp_pg_elem_fn)(void *user, const char *s, size_t n, const char **out, size_t *outn, dp_error **err);

/* An array literal (any dimensions, optional [l:u]= prefix) with each
 * non-NULL element replaced by fn's result, appended to out. Elements are
 * quoted in the output so any fake is safe. delim is the element type's
 * delimiter (',' for all but box); scratch holds one element at a time. */
int dp_pg_array_mask(const char *lit, size_t n, char delim, dp_pg_elem_fn fn, void *user, dp_pgbuf *scratch,
		     dp_pgbuf *out, dp_error **err);

/* A json path as rule keys write it: "$.a.b" (keys separated by dots). An
 * array on the way is entered: every element gets the rest of the path. */
typedef struct dp_json_target {
	const char *path;
	/* called for string values (text), integers and reals (as their JSON
	 * text); the result replaces the value: as a string when is_text, else
	 * parsed as JSON (a number or null) */
	int (*fn)(void *user, const void *rule, bool is_text, const char *s, size_t n, const char **out, size_t *outn,
		  bool *out_text, dp_error **err);
	const void *rule;
} dp_json_target;

/* The document [s, s+n) with the values at each target's path replaced,
 * appended to out as compact JSON. Values that are objects, arrays, booleans
 * or null are left alone; a path that is not there is no error. */
int dp_pg_json_mask(const char *s, size_t n, const dp_json_target *t, size_t nt, void *user, dp_pgbuf *out,
		    dp_error **err);

#endif
