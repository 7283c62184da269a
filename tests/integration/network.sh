#!/bin/sh
# Networking: only a loopback device, up with 127.0.0.1 (down with --net none),
# no route anywhere else, and --publish HOST:SANDBOX forwarding host
# 127.0.0.1:HOST to a server inside. Nothing here sends traffic off the host:
# the only non-local address tried is 192.0.2.1 (TEST-NET-1), which must fail
# before a packet leaves.
. "$DOPPEL_SRC/tests/lib/common.sh"

command -v python3 >/dev/null || fail "python3 is needed"
# background processes still running if a check fails half-way are ended
BG=""
bg_done() { BG=$(echo "$BG" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' '); }
trap 'for p in $BG; do kill -KILL $p 2>/dev/null; done; cleanup_T' EXIT
stop_bg() { # SIGTERM (forwarded to the server inside), SIGKILL after 5 s
	kill -TERM "$1" 2>/dev/null
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.05; done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	bg_done "$1"
}

# Looks at the network from inside without netlink (the seccomp policy refuses
# AF_NETLINK, so iproute2's `ip` cannot run there): /proc/net for devices and
# routes, SIOCGIFFLAGS/SIOCGIFADDR for lo, then real connects.
PROBE='
import errno, fcntl, socket, struct, time
devs = [l.split(":")[0].strip() for l in open("/proc/net/dev").read().splitlines()[2:]]
print("devs:", " ".join(devs))
routes = [l for l in open("/proc/net/route").read().splitlines()[1:] if l.strip()]
print("routes:", len(routes))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, struct.pack("16sH14s", b"lo", 0, b""))[:18])[1]
print("lo", "UP" if flags & 1 else "DOWN")
try:
    r = fcntl.ioctl(s, 0x8915, struct.pack("16sH14s", b"lo", socket.AF_INET, b""))
    print("lo4", socket.inet_ntoa(r[20:24]))
except OSError as e:
    print("lo4 none", errno.errorcode.get(e.errno, e.errno))
def attempt(addr):
    c = socket.socket(); c.settimeout(3); t = time.time()
    try:
        c.connect(addr); return "connected"
    except OSError as e:
        return "%s %.1f" % (errno.errorcode.get(e.errno, str(e.errno)), time.time() - t)
    finally:
        c.close()
print("conn-lo", attempt(("127.0.0.1", 9)))
print("conn-out", attempt(("192.0.2.1", 80)))
try:
    srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
    c = socket.create_connection(srv.getsockname(), timeout=2); a, _ = srv.accept()
    c.sendall(b"ping"); print("echo", a.recv(4).decode())
except OSError as e:
    print("echo", errno.errorcode.get(e.errno, str(e.errno)))
'

# --- default: loopback only, up, 127.0.0.1; nothing routes out ------------------
out=$(isolate -- python3 -c "$PROBE" 2>&1) || fail "network probe failed: $out"
echo "$out" | grep -qx 'devs: lo' || fail "devices other than lo: $out"
echo "$out" | grep -qx 'routes: 0' || fail "IPv4 routes in the main table: $out"
echo "$out" | grep -qx 'lo UP' || fail "lo is not up: $out"
echo "$out" | grep -qx 'lo4 127.0.0.1' || fail "lo has no 127.0.0.1: $out"
echo "$out" | grep -qE '^conn-lo ECONNREFUSED' || fail "127.0.0.1:9 should refuse: $out"
echo "$out" | grep -qE '^conn-out ENETUNREACH 0\.[0-4]' || fail "192.0.2.1 should be unreachable at once: $out"
echo "$out" | grep -qx 'echo ping' || fail "loopback TCP inside does not work: $out"
pass "only lo, up with 127.0.0.1, no routes; loopback TCP works; 192.0.2.1 unreachable at once"

# --- --net none: lo down, even 127.0.0.1 unreachable --------------------------
out=$(isolate --net none -- python3 -c "$PROBE" 2>&1) || fail "--net none probe failed: $out"
echo "$out" | grep -qx 'devs: lo' || fail "--net none: devices other than lo: $out"
echo "$out" | grep -qx 'lo DOWN' || fail "--net none: lo is not down: $out"
echo "$out" | grep -qx 'lo4 127.0.0.1' && fail "--net none: lo has an address: $out"
echo "$out" | grep -qE '^conn-lo ENETUNREACH' || fail "--net none: 127.0.0.1 should be unreachable: $out"
echo "$out" | grep -qE '^conn-out ENETUNREACH 0\.[0-4]' || fail "--net none: 192.0.2.1 should be unreachable: $out"
echo "$out" | grep -qE '^echo (ENETUNREACH|EADDRNOTAVAIL)' || fail "--net none: loopback TCP worked: $out"
pass "--net none: lo down, 127.0.0.1 and 192.0.2.1 unreachable"

# --- --publish HOST:SANDBOX -------------------------------------------------------
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port_open() { python3 -c 'import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2).close()
except OSError:
    sys.exit(1)' "$1"; }

mkdir -p "$T/www"
echo "hello from the sandbox" > "$T/www/small.txt"
head -c 5242880 /dev/urandom > "$T/www/big.bin"
chmod -R a+rX "$T/www"
big_sum=$(sha256sum < "$T/www/big.bin" | cut -d' ' -f1)
HP=$(free_port)
"$DOPPEL" isolate --ro-bind "$T/www" /srv --publish "$HP:8000" -- \
	python3 -m http.server 8000 --bind 127.0.0.1 --directory /srv >"$T/server.log" 2>&1 &
dpid=$!; BG="$BG $dpid"
out=$(python3 - "$HP" <<'PY'
import hashlib, sys, time, urllib.request
base = "http://127.0.0.1:%s/" % sys.argv[1]
deadline = time.time() + 15
while True:   # until the server inside listens (bounded)
    try:
        urllib.request.urlopen(base + "small.txt", timeout=2).read(); break
    except Exception as e:
        if time.time() > deadline:
            print("never up:", e); sys.exit(1)
        time.sleep(0.1)
for i in range(5):
    body = urllib.request.urlopen(base + "small.txt", timeout=5).read().decode()
    print("small", i, body.strip())
big = urllib.request.urlopen(base + "big.bin", timeout=20).read()
print("big", len(big), hashlib.sha256(big).hexdigest())
# three at once through the relay
import concurrent.futures
with concurrent.futures.ThreadPoolExecutor(3) as ex:
    for body in ex.map(lambda _: urllib.request.urlopen(base + "big.bin", timeout=20).read(), range(3)):
        print("parallel", len(body), hashlib.sha256(body).hexdigest())
PY
)
st=$?
listen=$(ss -Htln "sport = :$HP" 2>/dev/null | awk '{print $4}' | tr '\n' ' ')
stop_bg $dpid
[ "$st" = 0 ] || fail "--publish: server not reachable on 127.0.0.1:$HP: $out; server: $(cat "$T/server.log")"
[ "$(echo "$out" | grep -c '^small [0-4] hello from the sandbox$')" = 5 ] || fail "--publish: small responses: $out"
echo "$out" | grep -qx "big 5242880 $big_sum" || fail "--publish: 5 MB response damaged: $out (want $big_sum)"
[ "$(echo "$out" | grep -cx "parallel 5242880 $big_sum")" = 3 ] || fail "--publish: parallel 5 MB responses: $out"
[ "$listen" = "127.0.0.1:$HP " ] || fail "--publish: host listener should be 127.0.0.1:$HP only, got '$listen'"
port_open "$HP" && fail "--publish: host port $HP still open after the run"
pass "--publish $HP:8000: several requests, 5 MB bodies intact (also 3 at once), 127.0.0.1 only, closed afterwards"

# --- --publish to a port nothing listens on inside: the client is closed -------
HP=$(free_port)
"$DOPPEL" isolate --publish "$HP:8001" -- sleep 5 >/dev/null 2>&1 &
dpid=$!; BG="$BG $dpid"
out=$(python3 - "$HP" <<'PY'
import socket, sys, time
deadline = time.time() + 5
while True:
    try:
        c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2); break
    except OSError:
        if time.time() > deadline: print("no listener"); sys.exit(1)
        time.sleep(0.05)
c.settimeout(5)
try:
    print("read", len(c.recv(100)))
except OSError as e:
    print("error", e.__class__.__name__)
PY
)
stop_bg $dpid
echo "$out" | grep -qE '^(read 0|error ConnectionResetError)$' || fail "--publish without a server inside: $out"
pass "--publish: a connection with no server inside is closed, not left hanging"

# --- --publish onto a host port already in use: refused before anything runs ----
HP=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
print("listening", flush=True); time.sleep(30)' "$HP" > "$T/holder.log" &
hpid=$!; BG="$BG $hpid"
i=0
until grep -q listening "$T/holder.log"; do i=$((i + 1)); [ $i -le 100 ] || fail "port holder did not start"; sleep 0.05; done
out=$(isolate --publish "$HP:80" -- echo RAN 2>"$T/err"); st=$?
kill $hpid; wait $hpid 2>/dev/null; bg_done $hpid
[ "$st" = 1 ] || fail "--publish on a busy port: expected exit 1, got $st: $(cat "$T/err")"
[ -z "$out" ] || fail "--publish on a busy port: the command ran: $out"
grep -q "^doppel: .*$HP" "$T/err" || fail "--publish on a busy port: message does not name $HP: $(cat "$T/err")"
[ "$(wc -l < "$T/err")" = 1 ] || fail "--publish on a busy port: expected one line: $(cat "$T/err")"
pass "--publish onto a busy host port fails with exit 1 naming the port, nothing runs"
