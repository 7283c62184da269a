#!/bin/sh
# Kernel keyrings are global to the host: keyctl, add_key and request_key are
# refused (EPERM) and /proc/keys is masked (reads empty).
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack keyctl ""
attack_held keyctl 7
pass "keyctl/add_key/request_key: EPERM; /proc/keys empty"
