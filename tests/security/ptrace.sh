#!/bin/sh
# ptrace and process_vm_* against a host process fail with ESRCH (invisible)
# and against init with EPERM (doppel's image, not dumpable), /proc/1/mem
# with EACCES; tracing a child of our own works (control). The host process
# is neither stopped nor killed.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

start_host_sleeper
run_attack ptrace "" "$HOST_PID"
attack_held ptrace 10
state=$(awk '$1 == "State:" { print $2 }' "/proc/$HOST_PID/status")
[ "$state" = S ] || fail "ESCAPE: host pid $HOST_PID is in state '$state' (traced or stopped?)"
grep -q '^TracerPid:[[:space:]]*0$' "/proc/$HOST_PID/status" || fail "ESCAPE: host pid $HOST_PID has a tracer"
pass "ptrace: ESRCH for the host, EPERM for init"
