#!/bin/sh
# Overwriting a binary the sandbox runs (runc CVE-2019-5736 class): through
# /proc/self/exe, /proc/CHILD/exe and a reopened O_PATH fd of it after the
# child exited; the host's binaries are on read-only mounts (EROFS; ETXTBSY
# while running; EACCES first where their owner is unmapped, rootless).
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack self-exe ""
attack_held self-exe 11
pass "/proc/self/exe and /proc/PID/exe cannot be opened for writing"
