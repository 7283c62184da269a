#!/bin/sh
# Device nodes (block 8:0, char 1:1 mem, 1:2 kmem, 10:200 tun, 4:0 tty0, ...)
# cannot be created on any writable filesystem of the sandbox: /tmp,
# /dev/shm, /root, /run, a --tmpfs and a --tmp-overlay: EPERM (no
# CAP_MKNOD). A FIFO can (control).
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

make_production
run_attack mknod "--tmpfs /scratch --tmp-overlay $P /prod" /tmp /dev/shm /root /run /scratch /prod/data
attack_held mknod 42
check_production_unchanged
pass "mknod of block and character devices: EPERM everywhere"
