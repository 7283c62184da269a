/* Editing one file of a sandbox from outside it, the way overlayfs would
 * inside: the file (and side files such as SQLite's -wal) is copied from the
 * topmost layer that shows it into the sandbox's writable upper layer, with
 * its mode, owner and times, and edited there; the snapshot and the
 * checkpoints below are only read. overlayfs allows such offline changes to
 * the upper layer while no overlay is mounted on it, which the caller
 * ensures by holding the sandbox's run lock. Nothing is ever followed
 * through a symlink. */
#ifndef DOPPEL_SANDBOX_COPYUP_H
#define DOPPEL_SANDBOX_COPYUP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "sandbox/sandbox.h"
#include "store/store.h"
#include "util/error.h"

#define DP_COPYUP_MAX_SIDES 4
#define DP_COPYUP_MAX_DEPTH 64

struct dp_layers;

typedef struct dp_copyup {
	struct dp_layers *layers; /* the upper layer, then the lower ones */
	int storefd;   /* the store's root (borrowed): copies are made in tmp/ */
	int upperfd;   /* the sandbox's upper layer */
	int dirfd;     /* O_PATH: the file's directory in the upper layer */
	char *rel;     /* the file, relative to every layer's root */
	char *base;    /* its last component */
	char *path;    /* "/proc/self/fd/N/BASE": the upper copy, for SQLite */
	bool copied;   /* the file itself was copied up by us */
	const char *const *sides;                /* suffixes of side files */
	bool sides_noted;                        /* side_was_up is known */
	bool side_was_up[DP_COPYUP_MAX_SIDES];   /* a file in the upper layer before */
	bool side_hidden[DP_COPYUP_MAX_SIDES];   /* a whiteout there, moved aside for the edit */
	char stash[DP_COPYUP_MAX_SIDES][48];     /* where: tmp/whiteoutN-PID in the store */
	char *kept;                              /* the deepest directory that was there */
	struct timespec kept_times[2];           /* and its times, for undo */
	char *made[DP_COPYUP_MAX_DEPTH];         /* directories we created, top first */
	struct timespec made_times[DP_COPYUP_MAX_DEPTH][2];
	size_t n_made;
} dp_copyup;

/* Makes sb's file rel (relative to production.root, no '.' or '..')
 * writable in sb's upper layer, at cu->path; on failure nothing is left
 * changed. sides: NULL-terminated suffixes of files that belong to it (at
 * most DP_COPYUP_MAX_SIDES), copied along when a lower layer shows them. A
 * file the sandbox deleted (a whiteout or an opaque directory above the
 * layer that has it) or that no layer has is a usage error. After a
 * successful open, call settle or undo, then always close. */
int dp_copyup_open(dp_store *st, const dp_sandbox *sb, const char *rel, const char *const *sides, dp_copyup *cu,
		   dp_error **err);
/* After a successful edit: a side file the edit removed from the upper
 * layer (SQLite deletes its -wal on close) would let a lower layer's stale
 * one show through, so it is hidden by a whiteout (an empty file where
 * whiteouts cannot be made). */
int dp_copyup_settle(dp_copyup *cu, dp_error **err);
/* After a failed edit: removes what dp_copyup_open and the edit added, so
 * the sandbox is as it was. */
void dp_copyup_undo(dp_copyup *cu);
void dp_copyup_close(dp_copyup *cu);

#endif
