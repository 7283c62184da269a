#!/bin/sh
# Services on the host's loopback are out of reach: an HTTP server on
# 127.0.0.1:PORT (python3 -m http.server) and an abstract unix socket the
# host listens on. Inside, 127.0.0.1 is the sandbox's own loopback, where
# nothing listens on PORT (ECONNREFUSED); abstract names are per network
# namespace (ECONNREFUSED); with --net none there is no loopback at all
# (ENETUNREACH). The server logs no request but the host's own control one.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

command -v python3 >/dev/null || skip "python3 is needed for the host listener"
mkdir "$T/www"
echo host-secret > "$T/www/index.html"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$T/www" "$port" >"$T/http.log" 2>&1 &
HTTP=$!
name="doppel-sec-$$"
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind("\0" + sys.argv[1]); s.listen(8); time.sleep(120)' "$name" &
UNIX=$!
trap 'kill $HTTP $UNIX 2>/dev/null; cleanup_T' EXIT
# control: the host reaches both
ok=""
for _ in $(seq 50); do
	if python3 - "$port" "$name" <<'EOF_PY' 2>/dev/null
import socket, sys, urllib.request
assert b"host-secret" in urllib.request.urlopen("http://127.0.0.1:%s/" % sys.argv[1], timeout=2).read()
u = socket.socket(socket.AF_UNIX); u.connect("\0" + sys.argv[2])
EOF_PY
	then ok=1; break; fi
	sleep 0.1
done
[ -n "$ok" ] || fail "control: the host cannot reach its own listeners"
before=$(grep -c '"GET ' "$T/http.log")

run_attack host-net "" "$port" "$name" loopback
attack_held host-net 5
run_attack host-net "--net none" "$port" "$name" none
attack_held host-net 4
[ "$(grep -c '"GET ' "$T/http.log")" = "$before" ] || fail "ESCAPE: the host's HTTP server got a request from the sandbox"
pass "the host's 127.0.0.1:$port and abstract socket are unreachable (ECONNREFUSED; ENETUNREACH with --net none)"
