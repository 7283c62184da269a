#!/bin/sh
# --tty gives the command a real pty of the sandbox's own devpts: `tty` names
# /dev/pts/N, the outer terminal's window size is copied in, a resize of the
# outer terminal is forwarded (SIGWINCH), input is relayed, the exit status
# passes through and the outer terminal's settings are restored afterwards.
# doppel runs on a pty made by python3, as under a terminal emulator.
. "$DOPPEL_SRC/tests/lib/common.sh"

command -v python3 >/dev/null || fail "python3 is needed to drive a pty"

cat > "$T/pty.py" <<'PY'
import fcntl, os, select, struct, sys, termios, time

doppel, mode = os.environ["DOPPEL"], sys.argv[1]

def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

scripts = {
    "basic": 'tty; test -t 0 && test -t 1 && test -t 2 && echo ALL-TTY; stty size; exit 7',
    "winch": 'trap \'echo "WINCH $(stty size)"; exit 0\' WINCH; echo READY; '
             'i=0; while [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; echo TIMEOUT',
    "input": 'echo READY; read line; echo "GOT:$line"',
}
master, slave = os.openpty()
set_size(master, 33, 111)
before = termios.tcgetattr(slave)
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(master)
    os.close(slave)
    os.execv(doppel, [doppel, "isolate", "--tty", "--", "/bin/sh", "-c", scripts[mode]])

out, acted, status = b"", False, None
deadline = time.time() + 15
while time.time() < deadline:
    r, _, _ = select.select([master], [], [], 0.05)
    if r:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""
        out += data
    if not acted and b"READY" in out:
        acted = True
        if mode == "winch":
            time.sleep(0.1)
            set_size(master, 44, 155)   # the kernel sends SIGWINCH to doppel
        elif mode == "input":
            os.write(master, b"hello pty\n")
    if status is None:
        p, st = os.waitpid(pid, os.WNOHANG)
        if p == pid:
            status = os.waitstatus_to_exitcode(st)
    elif not r:
        break
if status is None:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    status = "timeout"
after = termios.tcgetattr(slave)
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
print("STATUS %s" % status)
print("TERMIOS %s" % ("restored" if before == after else "changed"))
PY

run_pty() { DOPPEL="$DOPPEL" python3 "$T/pty.py" "$1"; }

out=$(run_pty basic) || fail "pty driver failed: $out"
echo "$out" | grep -qE '^/dev/pts/[0-9]+$' || fail "tty inside is not /dev/pts/N: $out"
echo "$out" | grep -qx ALL-TTY || fail "stdin/stdout/stderr are not all the terminal: $out"
echo "$out" | grep -qx '33 111' || fail "window size 33x111 not copied in: $out"
echo "$out" | grep -qx 'STATUS 7' || fail "exit status through --tty: $out"
echo "$out" | grep -qx 'TERMIOS restored' || fail "outer terminal settings not restored: $out"
pass "--tty: /dev/pts/N on stdin/out/err, window size copied, exit status, terminal restored"

out=$(run_pty winch) || fail "pty driver failed: $out"
echo "$out" | grep -qx 'WINCH 44 155' || fail "resize not forwarded (want 'WINCH 44 155'): $out"
echo "$out" | grep -qx 'STATUS 0' || fail "winch run status: $out"
pass "--tty: a resize of the outer terminal reaches the command as SIGWINCH with the new size"

out=$(run_pty input) || fail "pty driver failed: $out"
echo "$out" | grep -qx 'GOT:hello pty' || fail "input not relayed: $out"
echo "$out" | grep -qx 'STATUS 0' || fail "input run status: $out"
pass "--tty: input typed on the outer terminal reaches the command"

# without a terminal on the caller's side --tty still runs the command on a pty
out=$(isolate --tty -- /bin/sh -c 'tty; echo done' </dev/null 2>&1 | tr -d '\r')
echo "$out" | grep -qE '^/dev/pts/[0-9]+$' || fail "--tty without an outer terminal: $out"
echo "$out" | grep -qx 'done' || fail "--tty without an outer terminal: $out"
pass "--tty works without an outer terminal"
