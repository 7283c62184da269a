#!/bin/sh
# A sync while production takes writes (issue 7): pgbench runs against the
# production database throughout `doppel sync`; every copy is one consistent
# state (pgbench's invariant: the sums of accounts', branches' and tellers'
# balances and of history's deltas are all equal) and doppel wrote nothing to
# production. doppel reads production as a role of its own (a superuser, so
# a write would succeed and be seen): every statement its sessions sent is in
# production's statement log (log_statement=all, the role in each line's
# prefix) and must be a read, and pg_stat_database's insert/update/delete
# counters moved by exactly pgbench's own writes (autovacuum off).
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"
. "$DOPPEL_SRC/tests/postgres/lib.sh"
PGBENCH="$PGBIN/pgbench"
[ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench) || skip "pgbench is not installed (it comes with the postgresql package)"
DURATION=${PG_CONCURRENT_SECONDS:-35}

prod_start -c log_statement=all -c "log_line_prefix='%m [%p] user=%u app=%a '" -c autovacuum=off -c max_connections=60
q_prod postgres "CREATE DATABASE bank" >/dev/null
q_prod postgres "CREATE ROLE doppel_sync LOGIN SUPERUSER PASSWORD 'sync-$$-pw'" >/dev/null
mkdir -p "$T/secrets" "$P/app"
chmod 700 "$T/secrets"
printf 'sync-%s-pw\n' "$$" >"$T/secrets/sync.pw"
chmod 600 "$T/secrets/sync.pw"
echo "the app" >"$P/app/main.sh"
chmod -R a+rX "$P"
pgb() { PGPASSWORD=$PROD_SUPERPW "$PGBENCH" -h "$PROD_SOCK" -p "$PROD_PORT" -U postgres "$@"; }
pgb -i -s 2 -q bank >"$T/pgbench-init.out" 2>&1 || fail "pgbench -i: $(tail -3 "$T/pgbench-init.out")"

{
	echo "version: 1"
	echo "production:"
	echo "  root: $P"
	echo "  databases:"
	echo "    - {name: bank, postgres: \"$(prod_conninfo bank doppel_sync)\", password_file: $T/secrets/sync.pw}"
	echo "tiers:"
	echo "  dev: {network: loopback}"
	echo "masking:"
	echo "  rules:"
	echo "    bank.pgbench_history.filler: redact"
} >"$DOPPEL_CONFIG"

INV="SELECT (SELECT sum(abalance) FROM pgbench_accounts) || ' ' || (SELECT sum(bbalance) FROM pgbench_branches)
  || ' ' || (SELECT sum(tbalance) FROM pgbench_tellers) || ' ' || (SELECT coalesce(sum(delta), 0) FROM pgbench_history)
  || ' ' || (SELECT count(*) FROM pgbench_history)"
STAT="SELECT tup_inserted || ' ' || tup_updated || ' ' || tup_deleted FROM pg_stat_database WHERE datname = 'bank'"

# a first sync while idle: the sandbox cluster exists and is started before the timed part
run_ok "idle sync" d sync >/dev/null
q_prod bank "SELECT pg_stat_force_next_flush()" >/dev/null 2>&1
sleep 1
STAT0=$(q_prod bank "$STAT")
LOG0=$(wc -l <"$PROD_LOG")

pgb -n -c 4 -j 2 -T "$DURATION" bank >"$T/pgbench.out" 2>&1 &
BENCH=$!
sleep 2
# syncs one after the other while pgbench runs; one that pgbench outlived was taken under writes
n=0 during=""
t_end=$(($(date +%s) + DURATION - 2))
while [ "$n" -lt 3 ] && [ $(($(date +%s) + 12)) -lt "$t_end" ] && kill -0 "$BENCH" 2>/dev/null; do
	run_ok "sync during pgbench" d sync >/dev/null
	n=$((n + 1))
	kill -0 "$BENCH" 2>/dev/null && during="$during $(ls "$DOPPEL_HOME/snapshots" | sort -n | tail -1)"
done
[ -n "$during" ] || fail "no sync ended while pgbench ran ($n syncs in ${DURATION} s; raise PG_CONCURRENT_SECONDS)"
wait "$BENCH" || fail "pgbench failed: $(tail -5 "$T/pgbench.out")"
tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$T/pgbench.out")
[ -n "$tx" ] && [ "$tx" -gt 100 ] || fail "pgbench made too few transactions (${tx:-?}): $(cat "$T/pgbench.out")"
echo "  $n syncs while pgbench made $tx transactions; pgbench outlived snapshots$during"

(
	seen=""
	for s in $during; do
		# a template takes no connections: read it in a sandbox's database made from it
		run_ok "create" d create "c$s" --from "$s" >/dev/null
		inv=$(q_sb "doppel_b_c${s}_bank" "$INV")
		[ -n "$inv" ] || fail "snapshot $s: no answer"
		set -- $inv
		[ "$1" = "$2" ] && [ "$2" = "$3" ] && [ "$3" = "$4" ] ||
			fail "snapshot $s is not a consistent state: accounts $1, branches $2, tellers $3, history $4"
		[ "$(q_sb "doppel_b_c${s}_bank" "SELECT count(*) FROM pgbench_accounts")" = 200000 ] || fail "snapshot $s lost accounts"
		seen="$seen $5"
	done
	# the copies are of moments in the middle of pgbench's run
	for h in $seen; do
		[ "$h" -gt 0 ] && [ "$h" -lt "$tx" ] || fail "a copy holds $h history rows of pgbench's $tx: not a moment during the run"
	done
	set -- $seen
	[ $# -lt 2 ] || [ "$(printf '%s\n' $seen | sort -u | wc -l)" -gt 1 ] || fail "every copy holds the same $seen history rows"
	pass "every copy made during pgbench is consistent (history rows per copy:$seen)"
) || failed_part "consistent copies"

(
	# every statement of doppel's sessions is a read
	sed -n "$((LOG0 + 1)),\$p" "$PROD_LOG" | grep ' user=doppel_sync ' | grep -E ' (LOG|ERROR): +statement: ' |
		sed 's/.* statement: //' >"$T/doppel.sql"
	[ -s "$T/doppel.sql" ] || fail "no statement of doppel's in production's log (log_statement=all)"
	grep -Eiv '^(SELECT|SET|RESET|SHOW|BEGIN|START TRANSACTION|COMMIT|ROLLBACK|END|DECLARE|FETCH|CLOSE|DISCARD|LOCK TABLE .* IN ACCESS SHARE MODE|COPY .* TO (stdout|STDOUT))' \
		"$T/doppel.sql" | grep . >"$T/writes" && fail "doppel sent statements that are not reads: $(head -5 "$T/writes")"
	grep -Ei 'nextval|setval|lo_unlink|lo_create|lo_import|pg_terminate|pg_cancel|pg_reload_conf|pg_switch_wal|pg_create_.*slot' "$T/doppel.sql" |
		grep . >"$T/writes" && fail "doppel called functions that write: $(head -3 "$T/writes")"
	grep -Eiq 'READ ONLY|read_only|SET TRANSACTION' "$T/doppel.sql" || fail "doppel's sessions are not read-only transactions: $(head -5 "$T/doppel.sql")"
	grep -Eiq 'pg_export_snapshot' "$T/doppel.sql" || fail "doppel does not export a snapshot"
	echo "  $(wc -l <"$T/doppel.sql") statements from doppel's sessions, all reads: $(sed 's/ .*//' "$T/doppel.sql" | sort | uniq -c | sort -rn | awk '{printf "%s %s, ", $2, $1}')"
	# the counters moved by pgbench's writes only: per transaction 3 updates and 1 insert
	q_prod bank "SELECT pg_stat_force_next_flush()" >/dev/null 2>&1
	sleep 1.5
	set -- $STAT0 $(q_prod bank "$STAT")
	ins=$(($4 - $1)) upd=$(($5 - $2)) del=$(($6 - $3))
	[ "$ins" = "$tx" ] && [ "$upd" = $((3 * tx)) ] && [ "$del" = 0 ] ||
		fail "pg_stat_database: $ins inserted, $upd updated, $del deleted; pgbench alone: $tx, $((3 * tx)), 0"
	pass "doppel issued no write: only reads in its sessions' log; counters moved by pgbench's $tx transactions exactly"
) || failed_part "no writes"

(
	# production holds exactly pgbench's work, consistent
	set -- $(q_prod bank "$INV")
	[ "$1" = "$2" ] && [ "$2" = "$3" ] && [ "$3" = "$4" ] && [ "$5" = "$tx" ] ||
		fail "production after the run: sums $1 $2 $3 $4, $5 history rows for $tx transactions"
	pass "production holds exactly pgbench's $tx transactions"
) || failed_part "production"
finish
