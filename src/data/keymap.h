/* The collision-free mapping for masked unique columns: original -> fake per
 * rule, and which fakes a rule has handed out, so two originals never get
 * one fake. In memory for the length of one copy (a million keys take about
 * 100 MB); lookups hash with libsodium's SipHash under a per-process key, so
 * crafted production values cannot force collisions in the table. */
#ifndef DOPPEL_DATA_KEYMAP_H
#define DOPPEL_DATA_KEYMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "data/transform.h"

typedef struct dp_keymap dp_keymap;

dp_keymap *dp_keymap_new(void);
void dp_keymap_free(dp_keymap *m);
/* The fake already given to orig under rule, if any. fake->p points into
 * the map and stays valid until the next put. */
bool dp_keymap_get(dp_keymap *m, uint32_t rule, const dp_val *orig, dp_val *fake);
/* Has rule handed out this fake already? */
bool dp_keymap_used(dp_keymap *m, uint32_t rule, const dp_val *fake);
/* Records orig -> fake (both copied). Returns 0, or -1 out of memory. */
int dp_keymap_put(dp_keymap *m, uint32_t rule, const dp_val *orig, const dp_val *fake);

#endif
