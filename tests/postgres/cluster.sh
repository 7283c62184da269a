#!/bin/sh
# The store's sandbox PostgreSQL cluster (issue 7): `doppel postgres
# start|status|stop`; initdb'd into <store>/pg, reached over its socket only
# (no TCP), with a password for everyone (a wrong one is refused), the
# admin password 0600 and (as root) the data owned by postgres; stop leaves
# no process behind; after a crash (postmaster killed) start works again; a
# second start is a no-op. Never the production server: a production
# cluster runs beside it and is untouched.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"
. "$DOPPEL_SRC/tests/postgres/lib.sh"

prod_start
mkdir -p "$P/app"
echo app >"$P/app/main.sh"
write_config

sb_pids() { pids_in_T | while read -r p; do case "$(readlink "/proc/$p/cwd")" in "$SB_PG"*) echo "$p" ;; esac; done; }

(
	out=$(d postgres status --json) || fail "status before any cluster: exit $?"
	[ "$(printf '%s' "$out" | json 'j["exists"]')" = false ] || fail "status says a cluster exists: $out"
	[ ! -e "$SB_PG" ] || fail "status made a cluster"
	run_ok "start" d postgres start >/dev/null
	out=$(d postgres status --json) || fail "status: exit $?"
	[ "$(printf '%s' "$out" | json 'j["running"]')" = true ] || fail "not running after start: $out"
	[ "$(printf '%s' "$out" | json 'j["socket_dir"]')" = "$SB_PG/run" ] || fail "socket dir: $out"
	[ -n "$(sandbox_sock)" ] || fail "no socket in $SB_PG/run"
	[ "$(q_sb postgres "SELECT current_setting('listen_addresses')")" = "" ] || fail "the sandbox cluster listens on TCP"
	w=$(q_sb postgres "SELECT current_setting('wal_level')")
	[ "$w" = minimal ] || fail "the sandbox cluster runs with wal_level $w: a snapshot's bulk load writes WAL"
	[ "$(q_sb postgres 'SELECT 1')" = 1 ] || fail "the admin cannot connect"
	[ "$(stat -c %a "$SB_PG/admin.pw")" = 600 ] || fail "admin.pw mode $(stat -c %a "$SB_PG/admin.pw")"
	if is_root; then
		[ "$(stat -c %U "$SB_PG/data")" = postgres ] || fail "the data directory belongs to $(stat -c %U "$SB_PG/data")"
	fi
	[ "$(stat -c %a "$SB_PG/data")" = 700 ] || fail "data directory mode $(stat -c %a "$SB_PG/data")"
	s=$(sandbox_sock)
	out=$(PGPASSWORD=wrong "$PSQL" -X -At -h "${s% *}" -p "${s#* }" -U doppel -d postgres -c 'SELECT 1' 2>&1) &&
		fail "a wrong password was accepted"
	printf '%s\n' "$out" | grep -q "password authentication failed" || fail "wrong password: $out"
	out=$("$PSQL" -X -At -w -h "${s% *}" -p "${s#* }" -U postgres -d postgres -c 'SELECT 1' 2>&1) &&
		fail "the bootstrap role 'postgres' logs in without a password"
	# and production is a different server, untouched
	[ "$(q_sb postgres "SELECT current_setting('cluster_name')")" != doppel_test_production ] || fail "the sandbox cluster is production"
	[ "$(q_prod postgres "SELECT count(*) FROM pg_database WHERE datname LIKE 'doppel%'")" = 0 ] || fail "doppel made databases in production"
	run_ok "second start" d postgres start >/dev/null
	pass "start makes a socket-only, password-only cluster in the store; status reports it"
) || failed_part "start"

(
	[ -n "$(sb_pids)" ] || fail "no process of the sandbox cluster while it runs"
	run_ok "stop" d postgres stop >/dev/null
	[ -z "$(sb_pids)" ] || fail "processes left after stop: $(sb_pids)"
	[ "$(d postgres status --json | json 'j["running"]')" = false ] || fail "status says running after stop"
	run_ok "stop again" d postgres stop >/dev/null
	# a crash: the postmaster killed, its pid file left behind
	run_ok "start" d postgres start >/dev/null
	pm=$(head -1 "$SB_PG/data/postmaster.pid" 2>/dev/null || sb_pids | head -1)
	kill -KILL "$pm" 2>/dev/null || fail "cannot kill the postmaster $pm"
	wait_for '[ -z "$(sb_pids)" ]' 100 || kill -KILL $(sb_pids) 2>/dev/null
	run_ok "start after a crash" d postgres start >/dev/null
	[ "$(q_sb postgres 'SELECT 1')" = 1 ] || fail "not usable after a crash"
	run_ok "stop" d postgres stop >/dev/null
	[ -z "$(sb_pids)" ] || fail "processes left after stop: $(sb_pids)"
	pass "stop leaves no process; start after a killed postmaster works"
) || failed_part "stop and crash"
finish
