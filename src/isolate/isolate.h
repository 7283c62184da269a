/* The isolation runtime's entry point: run one command under a mount plan in
 * fresh user, mount, pid, net, ipc, uts and cgroup namespaces, with a seccomp
 * filter, reduced capabilities and resource limits. Knows nothing of
 * snapshots, sandboxes or tiers (those live above, in src/sandbox/). */
#ifndef DOPPEL_ISOLATE_ISOLATE_H
#define DOPPEL_ISOLATE_ISOLATE_H

#include "isolate/plan.h"
#include "util/error.h"

/* Exit status when doppel itself failed to set the sandbox up (as docker). */
#define DP_EXIT_SETUP 125

/* Runs plan->argv isolated and waits for it. On success returns 0 and sets
 * *exit_status as a shell would (code, or 128+signal). Returns -1 with *err
 * when the sandbox could not be set up; nothing it created is left behind. */
int dp_isolate_run(const dp_plan *plan, int *exit_status, dp_error **err);

#endif
