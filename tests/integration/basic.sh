#!/bin/sh
# The runtime runs a command, passes its exit status and signals through, and
# reports a missing command with 127.
. "$DOPPEL_SRC/tests/lib/common.sh"

out=$(isolate -- /bin/echo hello) || fail "echo failed"
[ "$out" = hello ] || fail "expected 'hello', got '$out'"
expect_status 7 isolate -- /bin/sh -c 'exit 7'
expect_status 143 isolate -- /bin/sh -c 'kill -TERM $$'
err=$(isolate -- /no/such/command 2>&1); st=$?
[ "$st" = 127 ] || fail "missing command: expected 127, got $st"
echo "$err" | grep -q "command not found" || fail "missing command message: $err"
pass "exit status, signal status, missing command"
