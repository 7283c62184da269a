#!/bin/sh
# perf_event_open is refused (EPERM) for this process, all processes, the
# hardware counters and tracepoints.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack perf ""
attack_held perf 4
pass "perf_event_open: EPERM"
