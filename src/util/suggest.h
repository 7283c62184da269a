/* "Did you mean": the known word nearest to a mistyped one. Used wherever a
 * user's file or argument names a key, action or role we do not know. */
#ifndef DOPPEL_UTIL_SUGGEST_H
#define DOPPEL_UTIL_SUGGEST_H

#include <stddef.h>
#include <stdint.h>

/* Case-insensitive Levenshtein distance; words over 64 bytes are never near
 * anything (SIZE_MAX). */
size_t dp_edit_distance(const char *a, const char *b);

/* The candidate nearest to word within max_distance, or NULL. cands holds n
 * words, or runs to a NULL entry when n is SIZE_MAX. */
const char *dp_suggest(const char *word, const char *const *cands, size_t n, size_t max_distance);

#endif
