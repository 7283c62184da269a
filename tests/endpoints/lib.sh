# Helpers for the endpoint stand-in tests: a free port, the standalone
# server started in the background and stopped with SIGTERM (its exit
# status checked), curl shorthands. Source after tests/lib/common.sh.

command -v curl >/dev/null 2>&1 || skip "curl is not installed"
# the system's python3 when there is one: version-manager shims cost ~0.4 s a call
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
command -v "$PY" >/dev/null 2>&1 || skip "python3 is not installed"

SRV=
stop_on_exit() {
	[ -n "$SRV" ] && kill -KILL "$SRV" 2>/dev/null
	cleanup_T
}
trap stop_on_exit EXIT

free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_server DIR [options...]: serves DIR on a fresh $PORT; URL=http://127.0.0.1:$PORT.
start_server() {
	dir=$1; shift
	PORT=$(free_port)
	URL="http://127.0.0.1:$PORT"
	"$DOPPEL" endpoints serve --port "$PORT" "$@" "$dir" 2>"$T/server.err" &
	SRV=$!
	for _ in $(seq 100); do
		grep -q "serving" "$T/server.err" 2>/dev/null && return 0
		kill -0 "$SRV" 2>/dev/null || { cat "$T/server.err" >&2; fail "server did not start"; }
		sleep 0.1
	done
	fail "server did not report serving within 10 s"
}

# stop_server: SIGTERM, which must end it cleanly (exit 0).
stop_server() {
	kill -TERM "$SRV" || fail "server $SRV is gone"
	wait "$SRV"; rc=$?
	SRV=
	[ "$rc" = 0 ] || { cat "$T/server.err" >&2; fail "server exited $rc after SIGTERM"; }
	! grep -E "runtime error|Sanitizer" "$T/server.err" >&2 || fail "the sanitizers found a problem"
}

server_alive() { kill -0 "$SRV" 2>/dev/null || fail "the server died: $(tail -5 "$T/server.err")"; }

# get PATH [curl options]: the body; status in $T/code.
get() {
	p=$1; shift
	curl -sS -o "$T/body" -w '%{http_code}' "$@" "$URL$p" >"$T/code" 2>"$T/curl.err"
	CURL_RC=$?
	cat "$T/body"
}
code() { cat "$T/code"; }

# expect_body WHAT WANT PATH [curl options]
expect_body() {
	what=$1 want=$2; shift 2
	got=$(get "$@")
	[ "$got" = "$want" ] || fail "$what: expected body '$want', got '$got' (status $(code))"
}
expect_code() {
	what=$1 want=$2; shift 2
	get "$@" >/dev/null
	[ "$(code)" = "$want" ] || fail "$what: expected status $want, got $(code): $(cat "$T/body")"
}

# A JSON value by Python expression on j: json_get '$T/body' 'j["count"]'
json_get() { "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
