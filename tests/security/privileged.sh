#!/bin/sh
# Host-wide operations needing capabilities the sandbox lacks: the kernel
# log (syslog, /proc/kmsg), I/O ports (iopl, ioperm), swap, process
# accounting, the clock (settimeofday, clock_settime, adjtimex,
# clock_adjtime), quotas, vhangup, fanotify, pidfd_getfd, kcmp, modify_ldt,
# lookup_dcookie: EPERM (EACCES first for /proc/kmsg where its owner is
# unmapped, rootless).
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack privileged ""
attack_held privileged 20
pass "syslog, iopl, swap, acct, clock, quota, fanotify, pidfd_getfd, kcmp: EPERM"
