#!/bin/sh
# The shocker escape: name_to_handle_at and open_by_handle_at (open an inode
# of the host's filesystem by handle, bypassing the mount tree) are refused
# with EPERM.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack handles ""
attack_held handles 4
pass "name_to_handle_at/open_by_handle_at: EPERM"
