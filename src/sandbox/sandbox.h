/* Sandboxes: named, writable copy-on-write views of one snapshot. A sandbox
 * is a stack of layers over its snapshot's tree: checkpoints (frozen former
 * upper layers) and the current upper layer. Checkpoint and reset never copy
 * or walk a tree: they make a fresh empty upper layer and commit one
 * transaction that says which layers are live; unreferenced layers are
 * garbage, removed in the background or by `doppel check`. */
#ifndef DOPPEL_SANDBOX_SANDBOX_H
#define DOPPEL_SANDBOX_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "isolate/plan.h"
#include "spec/spec.h"
#include "store/store.h"
#include "util/error.h"

typedef struct dp_sandbox {
	char *name;
	char *tier;
	uid_t owner;
	int64_t snapshot;
	int64_t created;
	char *upper;    /* layer dir name of the writable layer */
	char *base;     /* checkpoint the upper sits on, or NULL */
	int64_t gen;
} dp_sandbox;

int dp_sandbox_get(dp_store *st, const char *name, dp_sandbox *out, dp_error **err);
void dp_sandbox_clear(dp_sandbox *sb);

/* owner: the uid the sandbox belongs to (the acting user; the policy's
 * "own sandboxes" means this). */
int dp_sandbox_create(dp_store *st, const dp_spec *spec, const char *name, const char *tier, int64_t from,
		      uid_t owner, dp_error **err);
int dp_sandbox_destroy(dp_store *st, const char *name, bool force, dp_error **err);
int dp_sandbox_checkpoint(dp_store *st, const char *name, const char *label, dp_error **err);
int dp_sandbox_reset(dp_store *st, const char *name, const char *label, bool force, dp_error **err);

/* Moves a sandbox to the newest snapshot. Without keep_changes it starts
 * fresh there (checkpoints, which belong to the old snapshot, are dropped);
 * with it, its layers move over and *conflicts lists the paths changed both
 * by the sandbox and by production between the two snapshots (the sandbox's
 * version wins). from and to report the move. */
int dp_sandbox_rebase(dp_store *st, const char *name, bool keep_changes, bool force, char ***conflicts,
		      size_t *n_conflicts, int64_t *from, int64_t *to, dp_error **err);

/* Fills plan with the sandbox's mounts, limits, network, env; 'tighten' holds
 * command-line limits that may only lower the tier's. */
int dp_sandbox_plan(dp_store *st, const dp_spec *spec, const dp_sandbox *sb, const dp_plan *tighten, dp_plan *plan,
		    dp_error **err);
/* Takes the sandbox's run lock (exclusive; records our pid for reset --force). */
int dp_sandbox_lock_run(dp_store *st, const char *name, dp_error **err);

/* The lower layer dirs of a sandbox, top first, relative to the store root:
 * its checkpoint chain, then the snapshot tree. NULL-terminated; free each. */
char **dp_sandbox_lowers(dp_store *st, const dp_sandbox *sb, dp_error **err);

#endif
