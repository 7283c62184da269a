/* The collision-free mapping for masked unique columns: which fakes a rule
 * has handed out and to which original, so two originals never get one fake.
 * An original whose first fake was free needs no entry of its own (the
 * transformer gives it again); only the few that had to move on to a later
 * attempt are indexed by original too. In memory for the length of one copy
 * (a million keys take 32 MB: values are kept as 64-bit SipHash
 * fingerprints under a per-map random key, so crafted values cannot flood
 * one bucket either). */
#ifndef DOPPEL_DATA_KEYMAP_H
#define DOPPEL_DATA_KEYMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "data/transform.h"

typedef struct dp_keymap dp_keymap;

dp_keymap *dp_keymap_new(void);
void dp_keymap_free(dp_keymap *m);
/* Sizes the map for n more claims up front, so a big table's copy does not
 * rehash it again and again. Returns 0, or -1 out of memory. */
int dp_keymap_reserve(dp_keymap *m, size_t n);
/* The fake orig was moved to (dp_keymap_put), if any. fake->p points into
 * the map and stays valid until the next claim. */
bool dp_keymap_get(dp_keymap *m, uint32_t rule, const dp_val *orig, dp_val *fake);
/* Claims fake for orig: 1 if it was free (now orig's; both are copied) or
 * orig's already, 0 if another original holds it, -1 out of memory. */
int dp_keymap_claim(dp_keymap *m, uint32_t rule, const dp_val *orig, const dp_val *fake);
/* Starts loading the slot a claim of fake would look at first: a caller
 * that knows its next claims hides the cache and TLB misses of their
 * random probes behind other work. Only a hint: the map is not changed. */
void dp_keymap_prefetch(const dp_keymap *m, uint32_t rule, const dp_val *fake);
/* Records that orig moved to the claimed fake (a later attempt), so the
 * next get finds it. Returns 0, or -1. */
int dp_keymap_put(dp_keymap *m, uint32_t rule, const dp_val *orig, const dp_val *fake);

#endif
