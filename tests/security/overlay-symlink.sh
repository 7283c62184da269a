#!/bin/sh
# Symlinks in an overlay's lower layer (or a read-only bind) that point at
# host files: shadow -> /etc/shadow, up -> ../../../../../../../../etc/shadow,
# etc -> /etc, gshadow -> /etc/gshadow, prod -> the host production secret,
# hostroot -> /proc/1/root, passwd -> /etc/passwd. Inside they resolve in the
# sandbox's own tree: no shadow (ENOENT), no production (ENOENT), init's root
# unreachable (EACCES), passwd is doppel's minimal one and read-only.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

[ -e /etc/shadow ] || skip "the host has no /etc/shadow to aim at"
make_production
L="$T/lower"
mkdir "$L" "$T/upper" "$T/work"
ln -s /etc/shadow "$L/shadow"
ln -s ../../../../../../../../etc/shadow "$L/up"
ln -s /etc "$L/etc"
ln -s /etc/gshadow "$L/gshadow"
ln -s "$P/app/secret" "$L/prod"
ln -s /proc/1/root "$L/hostroot"
ln -s /etc/passwd "$L/passwd"
chmod 755 "$L" "$T/upper" "$T/work"
for how in "--tmp-overlay $L /data" "--overlay $L $T/upper $T/work /data" "--ro-bind $L /data"; do
	echo "  $how"
	run_attack overlay-symlink "$how" /data
	attack_held overlay-symlink 10
done
check_production_unchanged
pass "host-pointing symlinks in a lower layer resolve inside the sandbox"
