#!/bin/sh
# PID 1 (doppel's own image) is not dumpable: /proc/1/exe, cwd, root, fd
# targets, memory, environment and maps cannot be opened or read (EACCES or
# EPERM), so the runtime cannot be overwritten or re-executed (CVE-2019-5736).
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack init-exe ""
attack_held init-exe 20
pass "init's exe, fds, memory and links are not reachable"
