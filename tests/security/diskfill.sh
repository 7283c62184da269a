#!/bin/sh
# Filling the writable layers past --disk 8M: /tmp, /dev/shm, /root, /run,
# a --tmpfs and a --tmp-overlay's upper layer each take at most 8 MiB, then
# writes fail with ENOSPC; after freeing, writing works again. The overlay's
# lower directory on the host is unchanged.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

make_production
run_attack diskfill "--disk 8M --tmpfs /scratch --tmp-overlay $P /prod" 8 /tmp /dev/shm /root /run /scratch /prod/data
attack_held diskfill 18
# and the way the issue puts it: dd into /tmp
out=$(isolate --disk 8M -- /bin/sh -c 'dd if=/dev/zero of=/tmp/fill bs=1M count=16; echo "dd-status=$?"; echo "size=$(stat -c %s /tmp/fill)"' 2>&1)
echo "$out" | sed 's/^/    /'
echo "$out" | grep -q "No space left on device" || fail "dd of 16M into /tmp under --disk 8M did not hit ENOSPC"
echo "$out" | grep -qx "dd-status=1" || fail "dd did not fail"
size=$(echo "$out" | sed -n 's/^size=//p')
[ -n "$size" ] && [ "$size" -le 8388608 ] || fail "/tmp/fill grew to $size bytes under --disk 8M"
check_production_unchanged
pass "--disk 8M: every writable layer stops at 8 MiB with ENOSPC"
