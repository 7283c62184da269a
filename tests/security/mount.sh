#!/bin/sh
# mount, umount2, pivot_root and the new mount API (fsopen, fspick, open_tree,
# move_mount, mount_setattr) are refused with EPERM: no new tmpfs/proc/sysfs,
# no cgroup v1 hierarchy for a release_agent escape (CVE-2022-0492), no bind
# of /, no unmounting of the masks over /proc or of /dev, no pivot_root.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack mount ""
attack_held mount 21
pass "mount, umount, pivot_root and the new mount API: EPERM"
