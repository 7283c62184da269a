#!/bin/sh
# Hostile clients: huge headers, bodies over the limit (declared and
# chunked), invalid chunking, a slowloris dribbling its headers, thousands of
# concurrent connections. The server must answer with the right 4xx or
# close, keep its memory bounded and keep serving everyone else.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/endpoints/lib.sh"

M="$T/stubs"
mkdir -p "$M/mappings"
echo '{"request": {"method": "ANY", "urlPath": "/ok"}, "response": {"body": "ok"}}' > "$M/mappings/ok.json"
# under ASan, freed memory waits in a 256 MiB quarantine; memory bounds are
# measured with a small one
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"
start_server "$M" --quiet --threads 2 --timeout 3 --journal 100

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$SRV/status"; }
still_serving() {
	server_alive
	expect_body "$1: a normal request afterwards" ok /ok
}

# huge headers: over the per-connection memory, 431 (or a close)
get /ok -H "X-Big: $("$PY" -c 'print("a" * 65536)')" >/dev/null
case "$(code)" in 431 | 000) ;; *) fail "a 64 KiB header: status $(code)" ;; esac
get /ok $("$PY" -c 'print(" ".join("-H X-H%d:%s" % (i, "v" * 100) for i in range(600)))') >/dev/null
case "$(code)" in 431 | 000) ;; *) fail "600 headers: status $(code)" ;; esac
still_serving "huge headers"
pass "huge headers: 431"

# bodies over 8 MiB: refused up front when declared, after reading when chunked
head -c $((9 * 1024 * 1024)) /dev/zero > "$T/big"
get /ok -X POST --data-binary @"$T/big" >/dev/null
[ "$(code)" = 413 ] || fail "a declared 9 MiB body: status $(code)"
get /ok -X POST -H "Transfer-Encoding: chunked" --data-binary @"$T/big" >/dev/null
[ "$(code)" = 413 ] || fail "a chunked 9 MiB body: status $(code)"
head -c $((1024 * 1024)) /dev/zero | tr '\0' x > "$T/mib"
expect_body "a 1 MiB body is fine" ok /ok -X POST --data-binary @"$T/mib"
still_serving "big bodies"
pass "bodies over the limit: 413"

# raw REQUEST: the status code the server answers, or "closed"
raw() {
	"$PY" - "$PORT" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
try:
    d = s.recv(4096)
except ConnectionResetError:
    d = b""
print(d.split(b" ")[1].decode() if d.startswith(b"HTTP/1.") else "closed")
PY
}
r=$(raw 'POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n')
case $r in 400 | closed) ;; *) fail "invalid chunk size: $r" ;; esac
r=$(raw 'POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n')
case $r in 400 | closed) ;; *) fail "chunk longer than its size: $r" ;; esac
r=$(raw 'POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcde')
case $r in 400 | closed) ;; *) fail "two Content-Lengths: $r" ;; esac
r=$(raw 'GARBAGE\r\n\r\n')
case $r in 400 | closed) ;; *) fail "a garbage request line: $r" ;; esac
still_serving "bad framing"
pass "invalid chunking and framing: 400 or close"

# slowloris: one header byte a second; the whole request has 3 s (--timeout 3)
"$PY" - "$PORT" >"$T/loris" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\n")
start = time.monotonic()
try:
    for c in b"X-Slow: " + b"a" * 30:
        s.sendall(bytes([c]))
        s.settimeout(1.0)
        try:
            if s.recv(1) == b"":
                break
        except socket.timeout:
            pass
except (BrokenPipeError, ConnectionResetError):
    pass
print("%.1f" % (time.monotonic() - start))
PY
loris=$!
sleep 1
for _ in 1 2 3; do
	t=$(curl -sS -o /dev/null -w '%{time_total}' "$URL/ok") || fail "a request beside the slowloris failed"
	"$PY" -c "import sys; sys.exit(float('$t') > 0.5)" || fail "a request beside the slowloris took $t s"
	sleep 0.5
done
wait $loris
secs=$(cat "$T/loris")
"$PY" -c "import sys; sys.exit(not 2.0 <= float('$secs') <= 7.0)" ||
	fail "the slowloris connection lasted $secs s, expected to be closed after about 3 s"
still_serving "slowloris"
pass "slowloris closed after the request deadline ($secs s) while others were served"

# thousands of concurrent connections: bounded memory, still serving
before=$(rss_kb)
"$PY" - "$PORT" "$URL/ok" "$SRV" >"$T/many" 2>&1 <<'PY' || fail "many connections: $(cat "$T/many")"
import resource, socket, subprocess, sys, time
port, url, pid = int(sys.argv[1]), sys.argv[2], sys.argv[3]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = 3000
if soft < want + 100:
    soft = min(hard, want + 100) if hard != resource.RLIM_INFINITY else want + 100
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
n = min(want, soft - 100)
conns = []
for i in range(n):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    conns.append(s)
time.sleep(0.5)
# half of them start a request and stop halfway
for s in conns[: n // 2]:
    try:
        s.send(b"GET /ok HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 2000)
    except OSError:
        pass
time.sleep(1.0)
rss = [l.split()[1] for l in open("/proc/%s/status" % pid) if l.startswith("VmRSS:")][0]
out = subprocess.run(["curl", "-sS", "--max-time", "5", url], capture_output=True, text=True)
print(n, rss)
assert out.stdout == "ok", ("not served while %d connections are open" % n, out.stderr)
for s in conns:
    s.close()
PY
read -r n during < "$T/many"
[ "$n" -ge 1000 ] || skip "only $n descriptors for the client; RLIMIT_NOFILE is too low to test this"
grow=$(((during - before) / 1024))
[ "$grow" -lt 200 ] || fail "RSS grew by $grow MiB with $n connections (from $before kB to $during kB)"
sleep 1
still_serving "$n connections"
pass "$n concurrent connections: RSS grew by $grow MiB, still serving"

# a stream of big bodies: the journal stays within its bounds
"$PY" - "$PORT" <<'PY' || fail "journal bound"
import socket, sys
body = b"j" * (200 * 1024)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for i in range(300):
    s.sendall(b"POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    got = b""
    while not got.endswith(b"ok"):
        d = s.recv(4096)
        assert d, "closed"
        got += d
PY
rss=$(rss_kb)
[ $((rss / 1024)) -lt 200 ] || fail "RSS $((rss / 1024)) MiB after 300 bodies of 200 KiB (journal bound 100 entries)"
get "/__admin/requests?limit=1" >/dev/null
[ "$(json_get "$T/body" 'j["meta"]["total"]')" = 100 ] || fail "journal: $(head -c 300 "$T/body")"
[ "$(json_get "$T/body" 'j["requests"][0]["request"]["bodyTruncated"]')" = True ] || fail "journalled body not cut"
still_serving "big bodies"
pass "journal bounded: RSS $((rss / 1024)) MiB after 60 MiB of bodies"
stop_server
