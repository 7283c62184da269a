#!/bin/sh
# Partial-copy tiers: a tier with `data: subset` gets the rows subset.TIER
# selects, the rows referencing them, and every row those reference, so
# PRAGMA foreign_key_check is clean; other tiers get the full masked copy.
# Subsets live in the store's subsets/<id>/<tier> layer, are removed with
# their snapshot, and `doppel check` knows them. Bad subset rules are refused
# with file:line and change nothing. Production must not change.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"
command -v sqlite3 >/dev/null || skip "the sqlite3 shell is needed to inspect copies"

mkdir -p "$P/data"
python3 "$DOPPEL_SRC/tests/replication/shopdb.py" "$P/data/shop.db" 200 || fail "cannot build the fixture database"
config() { # config SUBSET-YAML
	cat >"$DOPPEL_CONFIG" <<EOF2
version: 1
production:
  root: $P
  databases:
    - {name: main, sqlite: data/shop.db}
tiers:
  dev: {network: loopback, data: subset}
  qa: {network: loopback, data: full}
sync: {keep: 2}
$SHOP_RULES
$1
EOF2
}
remember_production
qp() { sqlite3 "file:$P/data/shop.db?mode=ro&immutable=1" "$1"; }

# --- bad rules --------------------------------------------------------------------
(
	config 'subset:
  dev: {main.clients: "id > 3"}'
	expect_usage_error "unknown table" "doppel.yaml:[0-9]+: subset.dev.main.clients: no table 'clients'" d sync
	config 'subset:
  dev: {main.customers: "nosuchcolumn > 3"}'
	expect_usage_error "bad WHERE" "subset.dev.main.customers: no such column: nosuchcolumn" d sync
	config 'subset:
  prod: {main.customers: "id > 3"}'
	expect_usage_error "unknown tier" "no tier named 'prod'" d sync
	config 'subset:
  dev: {main.customers: "id > 3; DELETE FROM customers"}'
	expect_usage_error "two statements" "without ';'" d sync
	[ ! -e "$DOPPEL_HOME/snapshots/1" ] && [ ! -e "$DOPPEL_HOME/subsets/1" ] || fail "a refused sync left files"
	check_production "(bad rules)"
	pass "bad subset rules are refused with their position and leave nothing"
) || failed_part "bad rules"

# --- a subset keeps its integrity ------------------------------------------------
config 'subset:
  dev: {main.customers: "id % 10 = 0"}'
run_ok "sync" d sync >"$T/sync.out"
grep -q "1 subset for partial-copy tiers" "$T/sync.out" || fail "sync does not report the subset: $(cat "$T/sync.out")"
SUB="$DOPPEL_HOME/subsets/1/dev/data/shop.db"
FULL="$DOPPEL_HOME/snapshots/1/data/shop.db"
(
	[ -f "$SUB" ] || fail "no subset database at $SUB"
	[ ! -e "$DOPPEL_HOME/subsets/1/qa" ] || fail "a full tier got a subset"
	q() { sqlite3 "file:$SUB?mode=ro&immutable=1" "$1"; }
	[ "$(q 'PRAGMA integrity_check')" = ok ] || fail "integrity"
	[ -z "$(q 'PRAGMA foreign_key_check')" ] || fail "foreign_key_check: $(q 'PRAGMA foreign_key_check' | head -3)"
	[ "$(q 'SELECT count(*) FROM customers')" = 20 ] || fail "customers: $(q 'SELECT count(*) FROM customers'), want 20"
	[ "$(q 'SELECT count(*) FROM customers WHERE id % 10 != 0')" = 0 ] || fail "customers outside the WHERE"
	# downstream: exactly the orders of kept customers, and their payments
	want=$(qp 'SELECT count(*) FROM orders WHERE customer_id % 10 = 0')
	[ "$(q 'SELECT count(*) FROM orders')" = "$want" ] || fail "orders: $(q 'SELECT count(*) FROM orders'), want $want"
	[ "$(q 'SELECT count(*) FROM payments')" = "$want" ] || fail "payments do not follow their orders"
	# unrelated tables whole
	[ "$(q 'SELECT count(*) FROM products')" = 20 ] || fail "products not copied whole"
	# the same masked values as the full copy, row for row
	a=$(q 'SELECT id, email, name FROM customers ORDER BY id' | sha256sum)
	b=$(sqlite3 "file:$FULL?mode=ro&immutable=1" 'SELECT id, email, name FROM customers WHERE id % 10 = 0 ORDER BY id' | sha256sum)
	[ "$a" = "$b" ] || fail "subset rows differ from the full copy's"
	q "SELECT email FROM customers" | grep -q "mailbox-" && fail "unmasked email in the subset"
	pass "subset: WHERE rows, their orders and payments, whole unrelated tables, foreign keys clean, masked"
) || failed_part "subset contents"

# --- parents are pulled in: a subset of orders brings its customers ----------------
(
	config 'subset:
  dev: {main.orders: "id <= 7"}'
	run_ok "sync orders subset" d sync >/dev/null
	S2="$DOPPEL_HOME/subsets/2/dev/data/shop.db"
	q() { sqlite3 "file:$S2?mode=ro&immutable=1" "$1"; }
	[ "$(q 'SELECT count(*) FROM orders')" = 7 ] || fail "orders: $(q 'SELECT count(*) FROM orders')"
	[ -z "$(q 'PRAGMA foreign_key_check')" ] || fail "foreign_key_check: $(q 'PRAGMA foreign_key_check' | head -3)"
	[ "$(q 'SELECT count(*) FROM payments')" = 7 ] || fail "payments of the kept orders"
	pass "a subset of a child table keeps what it references"
) || failed_part "closure"

# --- sandboxes see their tier's data ------------------------------------------------
(
	run_ok "create dev" d create sdev --tier dev >/dev/null
	run_ok "create qa" d create sqa --tier qa >/dev/null
	n=$(d run sdev -- sqlite3 "$P/data/shop.db" "SELECT count(*) FROM orders") || fail "run in dev"
	[ "$n" = 7 ] || fail "dev sandbox sees $n orders, want the subset's 7"
	n=$(d run sqa -- sqlite3 "$P/data/shop.db" "SELECT count(*) FROM orders") || fail "run in qa"
	[ "$n" = 400 ] || fail "qa sandbox sees $n orders, want all 400"
	# reset brings the subset back, not the full copy
	d run sdev -- sqlite3 "$P/data/shop.db" "DELETE FROM payments; DELETE FROM orders" || fail "write in dev"
	run_ok "reset" d reset sdev >/dev/null
	n=$(d run sdev -- sqlite3 "$P/data/shop.db" "SELECT count(*) FROM orders")
	[ "$n" = 7 ] || fail "after reset dev sees $n orders"
	out=$(d scan sdev) || fail "scan of the subset sandbox: $out"
	check_production "(sandboxes)"
	pass "a dev sandbox sees the subset, qa the full copy; reset returns to the subset"
) || failed_part "sandboxes"

# --- store bookkeeping ---------------------------------------------------------------------
(
	run_ok "destroy" d destroy sdev >/dev/null
	run_ok "destroy" d destroy sqa >/dev/null
	run_ok "sync 3" d sync >/dev/null
	run_ok "sync 4" d sync >/dev/null
	[ ! -e "$DOPPEL_HOME/subsets/1" ] && [ ! -e "$DOPPEL_HOME/subsets/2" ] || fail "subsets of pruned snapshots left behind: $(ls "$DOPPEL_HOME/subsets")"
	[ -d "$DOPPEL_HOME/subsets/4/dev" ] || fail "newest subsets missing"
	mkdir -p "$DOPPEL_HOME/subsets/99/dev"
	out=$(d check 2>&1)
	printf '%s\n' "$out" | grep -q "subsets/99" || fail "check does not flag an unrecorded subsets dir: $out"
	[ ! -e "$DOPPEL_HOME/subsets/99" ] || fail "check did not remove subsets/99"
	check_consistent "(subsets)"
	pass "subsets go with their snapshots; check removes unrecorded ones"
) || failed_part "store"
check_production "(end)"
finish
