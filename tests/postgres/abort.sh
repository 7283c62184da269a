#!/bin/sh
# A PostgreSQL copy that fails part way through its rows (issue 7), against a
# throwaway production cluster of the test's own (tests/postgres/lib.sh).
# Each copy worker hands its masked rows to a writer thread through a queue
# (src/data/postgres-clone.c); a failure behind megabytes of queued rows must
# still end the copy cleanly:
#  - a 5 MB table copies whole: every row, the masked column masked, the
#    other columns byte for byte;
#  - a value its rule cannot mask, then put in the last row COPY reads, stops
#    the next sync with that value's error, naming database, table and
#    column; no new snapshot, no database left in the sandbox cluster, the
#    store unchanged, and nothing hangs (the test's timeout);
#  - production's data is unchanged by both syncs.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"
. "$DOPPEL_SRC/tests/postgres/lib.sh"

ROWS=20000
prod_start
make_reader
q_prod postgres "CREATE DATABASE big" >/dev/null
# ~220 bytes a row: the rows stream as some 20 of the writer's buffers, more
# than its queue holds
q_prod big "CREATE TABLE hosts (id integer PRIMARY KEY, addr text NOT NULL, filler text NOT NULL);
	CREATE TABLE notes (id integer PRIMARY KEY, body text);
	INSERT INTO hosts SELECT i, '10.' || (i / 65536) || '.' || (i / 256 % 256) || '.' || (i % 256),
		repeat(md5(i::text), 6) FROM generate_series(1, $ROWS) i;
	INSERT INTO notes SELECT i, 'note ' || i FROM generate_series(1, 500) i;" >/dev/null
mkdir -p "$P/app"
echo "the app" >"$P/app/main.sh"
chmod -R a+rX "$P"
{
	echo "version: 1"
	echo "production:"
	echo "  root: $P"
	echo "  databases:"
	echo "    - {name: big, postgres: \"$(prod_conninfo big)\", password_file: $T/secrets/reader.pw}"
	echo "tiers:"
	echo "  dev: {network: loopback}"
	echo "masking:"
	echo "  rules:"
	echo "    big.hosts.addr: ip"
} >"$DOPPEL_CONFIG"

store_files() { store_listing | grep -v '^\./pg/'; }
SUMS=$(prod_sums big)
run_ok "start the sandbox cluster" d postgres start >/dev/null

(
	run_ok "sync" d sync >/dev/null
	run_ok "create" d create s1 --tier dev >/dev/null
	db=doppel_b_s1_big
	[ "$(q_sb "$db" "SELECT count(*) FROM hosts")" = "$ROWS" ] || fail "the copy has $(q_sb "$db" "SELECT count(*) FROM hosts") rows"
	[ "$(q_sb "$db" "SELECT count(*) FROM hosts WHERE addr ~ '^10\\.'")" = 0 ] || fail "original addresses in the copy"
	[ "$(q_sb "$db" "SELECT count(addr::inet) FROM hosts")" = "$ROWS" ] || fail "masked addresses are not addresses"
	a=$(q_prod big "SELECT md5(string_agg(id || ' ' || filler, ',' ORDER BY id)) FROM hosts")
	b=$(q_sb "$db" "SELECT md5(string_agg(id || ' ' || filler, ',' ORDER BY id)) FROM hosts")
	[ "$a" = "$b" ] || fail "the unmasked columns differ from production's"
	[ "$(table_sums q_sb "$db" | grep '^notes ')" = "$(echo "$SUMS" | grep '^notes ')" ] || fail "notes differs"
	[ "$(prod_sums big)" = "$SUMS" ] || fail "production changed"
	run_ok "destroy" d destroy s1 >/dev/null
	pass "all $ROWS rows copied through the writer's queue, masked, the rest byte for byte"
) || failed_part "sync"

(
	q_prod big "DELETE FROM hosts WHERE id = $ROWS; INSERT INTO hosts VALUES ($ROWS, 'no address here', repeat('z', 192))" >/dev/null
	[ "$(q_prod big "SELECT addr FROM hosts ORDER BY ctid DESC LIMIT 1")" = "no address here" ] ||
		fail "the fixture's bad row is not the last one COPY reads"
	SUMS=$(prod_sums big)
	dbs() { q_sb postgres "SELECT string_agg(datname, ' ' ORDER BY datname) FROM pg_database WHERE datname LIKE 'doppel%'"; }
	before=$(store_files)
	dbs_before=$(dbs)
	d sync >"$T/bad.out" 2>&1
	rc=$?
	[ "$rc" != 0 ] || fail "the sync of an unmaskable address succeeded"
	grep -q "not an IP address" "$T/bad.out" || fail "the message does not give the value's error: $(cat "$T/bad.out")"
	grep -q "big.hosts.addr" "$T/bad.out" || fail "the message does not name big.hosts.addr: $(cat "$T/bad.out")"
	grep -q '^doppel: ' "$T/bad.out" || fail "message not in the 'doppel: what: why' form: $(cat "$T/bad.out")"
	store_files >"$T/.after"
	[ "$(cat "$T/.after")" = "$before" ] || fail "the failed sync changed the store: $(echo "$before" | diff - "$T/.after" | head -5)"
	[ "$(dbs)" = "$dbs_before" ] || fail "the sandbox cluster's databases were '$dbs_before', now '$(dbs)'"
	[ "$(prod_sums big)" = "$SUMS" ] || fail "production changed"
	echo "  $(head -1 "$T/bad.out")"
	pass "a value the rule cannot mask in the last row: a clear error, no database left behind, the store unchanged"
) || failed_part "failure in the last row"

finish
