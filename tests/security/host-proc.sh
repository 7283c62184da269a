#!/bin/sh
# /proc/HOSTPID/{environ,cmdline,maps,mem,root,cwd,exe,fd,ns,...} of a host
# process are absent (ENOENT), and the sandbox's /proc/net tables list none
# of the host's sockets.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

start_host_sleeper
run_attack host-proc "" "$HOST_PID"
attack_held host-proc 18
pass "the host's /proc entries and sockets are invisible"
