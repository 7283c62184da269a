/* The leak scan: reads every byte of a directory tree (a snapshot tree or a
 * sandbox layer) through the matcher, so a masked production value found
 * anywhere, in a database, a CSV export, a log or a free page, is reported
 * with its file and offset. Trees are walked without following symlinks;
 * a symlink's target text is scanned too. */
#ifndef DOPPEL_DATA_SCAN_H
#define DOPPEL_DATA_SCAN_H

#include <stdint.h>

#include "data/matcher.h"
#include "util/error.h"

/* path is relative to the tree's top; offset is of the match's first byte.
 * Each pattern id is reported once per file: the match that ends first. */
typedef int (*dp_leak_fn)(void *user, const char *path, uint64_t offset, uint32_t id);

typedef struct dp_scan_stats {
	uint64_t files, bytes, unreadable;
} dp_scan_stats;

int dp_scan_tree(int dirfd, const dp_matcher *m, dp_leak_fn fn, void *user, dp_scan_stats *stats, dp_error **err);

#endif
