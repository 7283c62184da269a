/* Many-pattern search for the leak scan: every masked production value is a
 * pattern, every byte of a sandbox is the text. An Aho-Corasick automaton,
 * streaming (a file is fed in buffers; matches across buffer ends are found)
 * with two kinds of pattern:
 *   DP_MATCH_TEXT    ASCII case-insensitive, byte for byte;
 *   DP_MATCH_DIGITS  the pattern's digits only, matched against the text's
 *                    digits with the separators " -()./+" between them
 *                    skipped ("+1 (555) 010-9999" matches 15550109999). */
#ifndef DOPPEL_DATA_MATCHER_H
#define DOPPEL_DATA_MATCHER_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

enum dp_match_mode { DP_MATCH_TEXT, DP_MATCH_DIGITS };

typedef struct dp_matcher dp_matcher;

dp_matcher *dp_matcher_new(void);
void dp_matcher_free(dp_matcher *m);
/* Adds a pattern; id is reported back on a match. Patterns are not copied
 * beyond the call. Empty patterns (after dropping non-digits in DIGITS mode)
 * are ignored. Returns 0, or -1 with *err (out of memory, built already). */
int dp_matcher_add(dp_matcher *m, const char *pat, size_t n, enum dp_match_mode mode, uint32_t id, dp_error **err);
/* Freezes the automaton; adds are refused afterwards. */
int dp_matcher_build(dp_matcher *m, dp_error **err);
size_t dp_matcher_count(const dp_matcher *m);

/* Called for each match with the pattern's id and the offset of the match's
 * first byte in the stream. Return nonzero to stop the scan. */
typedef int (*dp_match_fn)(void *user, uint32_t id, uint64_t offset);

/* Per-stream state (one per file); reset before each stream, and after a
 * callback stopped a scan (matches ending at the same byte are then not
 * reported). NULL for a matcher not built yet. */
typedef struct dp_match_state dp_match_state;
dp_match_state *dp_match_state_new(const dp_matcher *m);
void dp_match_state_free(dp_match_state *s);
void dp_match_state_reset(dp_match_state *s);
/* Feeds the next n bytes of the stream. Returns 0, or the callback's
 * nonzero value when it stopped the scan. */
int dp_matcher_feed(const dp_matcher *m, dp_match_state *s, const void *buf, size_t n, dp_match_fn fn, void *user);

#endif
