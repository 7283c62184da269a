#!/bin/sh
# Setuid binaries and file capabilities grant nothing: as uid 0 the attack
# plants setuid-root copies of a helper in a --tmp-overlay and in /tmp and
# cannot give one file capabilities (EPERM); then, as nobody (where the
# namespace maps it: root mode) or as the caller (--uid), it runs them, a
# setuid-root copy the host made (root only, bound in) and /usr/bin/su.
# Every exec keeps the uid and gains no capability (no_new_privs, nosuid).
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

mkdir -p "$T/lower" "$T/suid"
chmod 755 "$T/lower" "$T/suid"
extra="" opts=""
if is_root; then
	cp "$A/attack-whoami" "$T/suid/whoami"
	chown 0:0 "$T/suid/whoami"
	chmod 4755 "$T/suid/whoami"
	opts="--ro-bind $T/suid /s" extra=/s/whoami
fi
run_attack setuid "--tmp-overlay $T/lower /work $opts" /work $extra
attack_held setuid 3
if is_root; then
	grep -q "^note: dropped to uid 65534" "$T/out" || fail "root mode: the attack did not drop to nobody"
	[ "$(grep -c '^ok: exec of setuid' "$T/out")" = 3 ] || fail "root mode: expected 3 setuid execs checked"
	grep -q '^ok: /usr/bin/su' "$T/out" || fail "root mode: su was not tried"
fi
run_attack setuid "--uid --tmp-overlay $T/lower /work $opts" /work $extra
attack_held setuid 1
if ! is_root; then
	grep -q "^note: running as uid $(id -u), CapEff 0000000000000000" "$T/out" || fail "--uid: not running as $(id -u)"
	grep -q '^ok: /usr/bin/su' "$T/out" || fail "--uid: su was not tried"
fi
pass "setuid-root binaries and file capabilities raise nothing"
