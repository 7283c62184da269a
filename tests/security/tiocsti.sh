#!/bin/sh
# Terminal injection (CVE-2017-5226): doppel runs in a shell on a pty (made
# by script(1)), as from a user's terminal. The attack pushes a command line
# into the terminal's input with TIOCSTI: refused (EPERM) on fds 0-2, as is
# TIOCLINUX; the command is in a session of its own with no controlling
# terminal (ENXIO for /dev/tty) and cannot take the host's as one (EPERM).
# After doppel exits, the host shell reads its terminal: nothing arrived.
# The same with --tty (the sandbox's own pty on 0-2).
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

command -v script >/dev/null || skip "script(1) (util-linux) is needed to give doppel a terminal"
command -v bash >/dev/null || skip "bash is needed for read -t"
for mode in "" --tty; do
	cat > "$T/host-shell" <<EOS
#!/bin/bash
"$DOPPEL" isolate $mode --ro-bind "$A" /t -- /t/attack-tiocsti $mode
echo "doppel-exit=\$?"
stty -echo 2>/dev/null
read -r -t 1 line
echo "host-read=[\$line]"
EOS
	chmod 755 "$T/host-shell"
	script -qec "$T/host-shell" /dev/null </dev/null >"$T/raw" 2>&1
	tr -d '\r' < "$T/raw" > "$T/out"
	sed 's/^/    /' "$T/out"
	grep -q "attack tiocsti: start" "$T/out" || fail "$mode: the attack never started"
	grep -q "^attack tiocsti: done: " "$T/out" || fail "$mode: the attack did not finish"
	bad=$(grep -E '^(ESCAPE|WRONG|SETUP)' "$T/out") && fail "$mode: $bad"
	grep -qx "doppel-exit=0" "$T/out" || fail "$mode: doppel did not exit 0"
	grep -qx "host-read=\[\]" "$T/out" || fail "ESCAPE ($mode): the host shell read injected input: $(grep host-read "$T/out")"
	! grep -q "INJECTED-BY-SANDBOX" "$T/out" || fail "ESCAPE ($mode): injected text reached the host terminal"
done
pass "TIOCSTI/TIOCLINUX: EPERM; no controlling terminal; nothing reached the host shell"
