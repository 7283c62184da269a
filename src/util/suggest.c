/* Edit distance for "did you mean" (suggest.h): two rows of the classic
 * dynamic programme, bounded word length so no allocation is needed. */
#include "util/suggest.h"

#include <ctype.h>
#include <string.h>

size_t dp_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[65], cur[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

const char *dp_suggest(const char *word, const char *const *cands, size_t n, size_t max_distance)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;

	for (size_t i = 0; i < n && cands[i] != NULL; i++) {
		size_t d = dp_edit_distance(word, cands[i]);
		if (d <= max_distance && d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	return best;
}
