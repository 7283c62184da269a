#!/bin/sh
# The command runs with no_new_privs, under the seccomp filter, with empty
# inheritable and ambient sets, and with only the sandbox capability set
# (0x4fb: chown dac_override fowner fsetid kill setgid setuid
# net_bind_service) as uid 0 -- none at all as a non-zero uid (--uid).
. "$DOPPEL_SRC/tests/lib/common.sh"

SANDBOX_CAPS=00000000000004fb

# every check runs; the failures are listed together at the end
PROBLEMS="" SEEN=""
problem() { PROBLEMS="$PROBLEMS
  $*"; }
section() { # section DESCRIPTION: reports the checks since the last section
	if [ "$PROBLEMS" = "$SEEN" ]; then pass "$1"; else echo "not ok: $1" >&2; fi
	SEEN=$PROBLEMS
}

field() { # field NAME STATUS-TEXT
	echo "$2" | awk -v k="$1:" '$1 == k { print $2 }'
}

check_common() { # $1 label, $2 status text, $3 allowed CapBnd values (default: the sandbox set)
	[ "$(field NoNewPrivs "$2")" = 1 ] || problem "$1: NoNewPrivs is '$(field NoNewPrivs "$2")', expected 1"
	[ "$(field Seccomp "$2")" = 2 ] || problem "$1: Seccomp is '$(field Seccomp "$2")', expected 2 (filter)"
	[ "$(field CapInh "$2")" = 0000000000000000 ] || problem "$1: CapInh is $(field CapInh "$2")"
	[ "$(field CapAmb "$2")" = 0000000000000000 ] || problem "$1: CapAmb is $(field CapAmb "$2")"
	case " ${3:-$SANDBOX_CAPS} " in
	*" $(field CapBnd "$2") "*) ;;
	*) problem "$1: CapBnd is $(field CapBnd "$2"), expected ${3:-$SANDBOX_CAPS}" ;;
	esac
}

st=$(isolate -- cat /proc/self/status) || fail "cat /proc/self/status failed"
check_common "uid 0" "$st"
[ "$(field Uid "$st")" = 0 ] || problem "expected uid 0, got $(field Uid "$st")"
[ "$(field CapEff "$st")" = $SANDBOX_CAPS ] || problem "uid 0: CapEff is $(field CapEff "$st"), expected $SANDBOX_CAPS"
[ "$(field CapPrm "$st")" = $SANDBOX_CAPS ] || problem "uid 0: CapPrm is $(field CapPrm "$st"), expected $SANDBOX_CAPS"
section "uid 0: NoNewPrivs 1, Seccomp 2, CapInh/CapAmb 0, CapBnd = CapEff = $SANDBOX_CAPS"

# the same in a grandchild (a shell's child): nothing is regained on exec
st=$(isolate -- /bin/sh -c 'cat /proc/self/status; true') || fail "nested status failed"
check_common "uid 0, child" "$st"
[ "$(field CapEff "$st")" = $SANDBOX_CAPS ] || problem "uid 0 child: CapEff is $(field CapEff "$st")"
section "uid 0, a child of the command: the same"

me=$(id -u)
st=$(isolate --uid -- cat /proc/self/status) || fail "cat /proc/self/status --uid failed"
# a non-zero uid may keep the sandbox set in its bounding set or drop it too
check_common "--uid" "$st" "$SANDBOX_CAPS 0000000000000000"
[ "$(field Uid "$st")" = "$me" ] || problem "--uid: expected uid $me, got $(field Uid "$st")"
if [ "$me" = 0 ]; then
	want=$SANDBOX_CAPS  # root's --uid is uid 0 again
else
	want=0000000000000000
fi
[ "$(field CapEff "$st")" = $want ] || problem "--uid ($me): CapEff is $(field CapEff "$st"), expected $want"
[ "$(field CapPrm "$st")" = $want ] || problem "--uid ($me): CapPrm is $(field CapPrm "$st"), expected $want"
section "--uid (uid $me): CapEff $want, NoNewPrivs 1, Seccomp 2, CapInh/CapAmb 0"

# setuid binaries cannot raise privilege (no_new_privs, nosuid /usr)
if [ -u /usr/bin/su ] || [ -u /bin/su ]; then
	out=$(isolate --uid -- /bin/sh -c 'su -c "id -u" root </dev/null 2>&1; id -u' 2>&1)
	[ "$(echo "$out" | tail -1)" = "$me" ] || problem "--uid: uid changed: $out"
	[ "$me" = 0 ] || ! echo "$out" | head -1 | grep -qx 0 || problem "--uid: setuid su gave root: $out"
	section "a setuid binary does not raise privilege"
fi

# init (pid 1) is not dumpable: the command cannot read its memory, environment,
# fd targets, exe, cwd or root (CVE-2016-8659 / CVE-2019-5736 classes)
out=$(isolate -- /bin/sh -c '
	for f in /proc/1/fd/*; do readlink "$f" >/dev/null 2>&1 && echo "fd-readable $f"; done
	for l in exe cwd root; do readlink /proc/1/$l >/dev/null 2>&1 && echo "$l-readable"; done
	for f in mem environ maps auxv; do head -c1 /proc/1/$f >/dev/null 2>&1 && echo "$f-readable"; done
	true')
[ -z "$out" ] || problem "init's /proc entries are accessible: $out"
section "init's fds, memory, environment, exe, cwd and root are not accessible to the command"

[ -z "$PROBLEMS" ] || fail "$PROBLEMS"
