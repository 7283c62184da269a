#!/bin/sh
# Faults and delays as a client sees them: each WireMock fault by curl's
# exit status over HTTP and HTTPS, fixed/uniform/lognormal delays measured
# with curl's time_total, a chunked dribble that arrives over time, delays
# that do not hold a worker (one thread answers a fast request while five
# slow ones wait), and SIGTERM while requests are suspended.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/endpoints/lib.sh"

M="$T/stubs"
mkdir -p "$M/mappings"
cat > "$M/mappings/faults.json" <<'JSON'
{"mappings": [
 {"request": {"url": "/reset"}, "response": {"fault": "CONNECTION_RESET_BY_PEER"}},
 {"request": {"url": "/empty"}, "response": {"fault": "EMPTY_RESPONSE"}},
 {"request": {"url": "/malformed"}, "response": {"fault": "MALFORMED_RESPONSE_CHUNK"}},
 {"request": {"url": "/random"}, "response": {"fault": "RANDOM_DATA_THEN_CLOSE"}},
 {"request": {"url": "/slow-reset"}, "response": {"fault": "CONNECTION_RESET_BY_PEER", "fixedDelayMilliseconds": 300}},
 {"request": {"url": "/fast"}, "response": {"body": "fast"}},
 {"request": {"url": "/fixed"}, "response": {"body": "fixed", "fixedDelayMilliseconds": 700}},
 {"request": {"url": "/uniform"}, "response": {"body": "uniform",
   "delayDistribution": {"type": "uniform", "lower": 300, "upper": 600}}},
 {"request": {"url": "/lognormal"}, "response": {"body": "lognormal",
   "delayDistribution": {"type": "lognormal", "median": 300, "sigma": 0.1}}},
 {"request": {"url": "/slow"}, "response": {"body": "slow", "fixedDelayMilliseconds": 2000}},
 {"request": {"url": "/dribble"}, "response": {"body": "AAAAABBBBBCCCCCDDDDDEEEEE",
   "chunkedDribbleDelay": {"numberOfChunks": 5, "totalDuration": 1500}}},
 {"request": {"urlPath": "/tpl-dribble"}, "response": {"body": "q={{request.query.x}}", "transformers": ["response-template"],
   "fixedDelayMilliseconds": 200, "chunkedDribbleDelay": {"numberOfChunks": 3, "totalDuration": 600}}}
]}
JSON

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null ||
	fail "openssl could not make a test certificate"
HP=$(free_port)
start_server "$M" --quiet --threads 1 --https-port "$HP" --cert "$T/cert.pem" --key "$T/key.pem"

# curl_rc SCHEME PATH: curl's exit status
curl_rc() {
	if [ "$1" = https ]; then
		curl -s -o /dev/null --max-time 10 --cacert "$T/cert.pem" --resolve "localhost:$HP:127.0.0.1" \
			"https://localhost:$HP$2"
	else
		curl -s -o /dev/null --max-time 10 "$URL$2"
	fi
	echo $?
}
for scheme in http https; do
	[ "$(curl_rc $scheme /reset)" = 56 ] || fail "$scheme CONNECTION_RESET_BY_PEER: curl exit $(curl_rc $scheme /reset), expected 56 (recv failure)"
	curl -sS -o /dev/null "$URL/reset" 2>&1 | grep -qi "reset by peer" || [ $scheme = https ] ||
		fail "CONNECTION_RESET_BY_PEER is not a reset: $(curl -sS "$URL/reset" 2>&1)"
	[ "$(curl_rc $scheme /empty)" = 52 ] || fail "$scheme EMPTY_RESPONSE: curl exit $(curl_rc $scheme /empty), expected 52 (empty reply)"
	[ "$(curl_rc $scheme /malformed)" = 56 ] || fail "$scheme MALFORMED_RESPONSE_CHUNK: curl exit $(curl_rc $scheme /malformed), expected 56 (bad chunk)"
	rc=$(curl_rc $scheme /random)
	case $rc in 1 | 8 | 56) ;; *) fail "$scheme RANDOM_DATA_THEN_CLOSE: curl exit $rc, expected 1, 8 or 56 (garbage)" ;; esac
	[ "$(curl_rc $scheme /fast)" = 0 ] || fail "$scheme: a plain request after the faults fails"
done
curl -sS -o "$T/body" "$URL/__admin/requests" || fail "journal"
[ "$(json_get "$T/body" 'sorted(set(e["responseDefinition"].get("fault", "-") for e in j["requests"]))')" = \
	"['-', 'CONNECTION_RESET_BY_PEER', 'EMPTY_RESPONSE', 'MALFORMED_RESPONSE_CHUNK', 'RANDOM_DATA_THEN_CLOSE']" ] ||
	fail "faults in the journal: $(head -c 500 "$T/body")"
pass "faults over HTTP and HTTPS: reset 56, empty 52, malformed chunk 56, random data 1/8/56; journalled by name"

# time_of PATH: curl's time_total in milliseconds; fails unless the body is right
time_of() {
	out=$(curl -sS -w ' %{time_total}' --max-time 20 "$URL$1") || fail "$1: curl failed"
	body=${out% *}
	[ "$body" = "$2" ] || fail "$1: body '$body', expected '$2'"
	"$PY" -c "print(int(float('${out##* }') * 1000))"
}
within() { # what ms lo hi
	[ "$2" -ge "$3" ] && [ "$2" -le "$4" ] || fail "$1: took $2 ms, expected $3..$4 ms"
}
within "fixedDelayMilliseconds 700" "$(time_of /fixed fixed)" 680 1500
for _ in 1 2 3 4; do within "uniform 300..600" "$(time_of /uniform uniform)" 280 1200; done
within "lognormal median 300" "$(time_of /lognormal lognormal)" 150 1200
t=$(curl -s -o /dev/null -w '%{time_total}' "$URL/slow-reset"; echo " $?")
[ "${t##* }" = 56 ] || fail "a delayed reset: curl exit ${t##* }"
pass "fixed, uniform and lognormal delays"

# the dribble: each chunk's arrival time, read off the socket
"$PY" - "$PORT" <<'PY' || fail "chunkedDribbleDelay"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /dribble HTTP/1.1\r\nHost: x\r\n\r\n")
start, got, times = time.monotonic(), b"", []
while not got.endswith(b"0\r\n\r\n"):
    d = s.recv(4096)
    if not d:
        break
    got += d
    times.append(time.monotonic() - start)
head, _, body = got.partition(b"\r\n\r\n")
assert b"transfer-encoding: chunked" in head.lower(), head
payload, rest = b"", body
while rest:
    size, _, rest = rest.partition(b"\r\n")
    n = int(size, 16)
    if n == 0:
        break
    payload += rest[:n]
    rest = rest[n + 2:]
assert payload == b"AAAAABBBBBCCCCCDDDDDEEEEE", payload
assert len(times) >= 4, ("arrived in too few pieces", times)
assert times[0] < 0.4, ("first chunk late", times)
assert 1.2 < times[-1] < 3.0, ("not spread over 1.5 s", times)
PY
b=$(curl -sS --max-time 10 "$URL/tpl-dribble?x=7") || fail "templated, delayed dribble"
[ "$b" = "q=7" ] || fail "templated dribble body: '$b'"
pass "chunkedDribbleDelay: chunks over the total duration"

# one worker thread (--threads 1): five slow requests wait, a fast one answers
pids=
for i in 1 2 3 4 5; do
	curl -s -o "$T/slow.$i" -w '%{time_total}' --max-time 20 "$URL/slow" >"$T/slow.$i.t" &
	pids="$pids $!"
done
sleep 0.3
within "a fast request while five slow ones wait" "$(time_of /fast fast)" 0 500
wait $pids
for i in 1 2 3 4 5; do
	[ "$(cat "$T/slow.$i")" = slow ] || fail "slow request $i: '$(cat "$T/slow.$i")'"
	ms=$("$PY" -c "print(int(float('$(cat "$T/slow.$i.t")') * 1000))")
	within "slow request $i" "$ms" 1950 4000
done
pass "delays do not block the worker"

# SIGTERM with requests suspended: a prompt, clean exit
pids=
for i in 1 2 3; do
	curl -s -o /dev/null --max-time 20 "$URL/slow" &
	pids="$pids $!"
done
curl -s -o /dev/null --max-time 20 "$URL/dribble" &
pids="$pids $!"
sleep 0.5
t0=$(date +%s%N)
stop_server
t1=$(date +%s%N)
[ $(((t1 - t0) / 1000000)) -lt 1500 ] || fail "stop took $(((t1 - t0) / 1000000)) ms with suspended requests"
wait $pids
pass "SIGTERM while requests are delayed: clean exit"
