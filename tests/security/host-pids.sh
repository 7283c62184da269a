#!/bin/sh
# A host process (ours) is invisible and unsignalable from inside: kill,
# tgkill, sigqueue, pidfd_open, getpgid, setpriority, sched_setaffinity,
# prlimit and process_vm_readv all say ESRCH, /proc/PID is absent, /proc
# lists only init and the command, whose parent is init.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

start_host_sleeper
run_attack host-pids "" "$HOST_PID"
attack_held host-pids 16
kill -0 "$HOST_PID" 2>/dev/null || fail "ESCAPE: host pid $HOST_PID was killed"
pass "host pid $HOST_PID: ESRCH for every call, absent from /proc, alive"
