#!/bin/sh
# io_uring (system calls made by kernel workers, unseen by seccomp) cannot
# be set up: io_uring_setup, io_uring_enter and io_uring_register fail with EPERM.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack io-uring ""
attack_held io-uring 4
pass "io_uring_setup/enter/register: EPERM"
