#!/bin/sh
# `doppel synth NAME DB.TABLE --rows N [--seed S]`: generated rows in a
# sandbox's copy of a database. The rows land in the sandbox (its app sees
# them at production's path), keep NOT NULL, UNIQUE and foreign keys, carry
# the masking rules' formats (emails on reserved domains, Luhn-valid test
# cards, valid IBANs, ...), and are the same for the same seed. The database
# is copied up into the sandbox's own layer: production, the snapshot and the
# checkpoints below are never written. Bad input exits 2 and changes
# nothing; a sandbox a command runs in is busy; a database the sandbox
# deleted is reported as such; a -wal left in a checkpoint layer is taken
# along and does not show through afterwards.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"
command -v sqlite3 >/dev/null || skip "the sqlite3 shell is needed to inspect databases"

mkdir -p "$P/data" "$P/app"
python3 "$DOPPEL_SRC/tests/replication/shopdb.py" "$P/data/shop.db" 300 || fail "cannot build the fixture database"
echo "the app" >"$P/app/main.sh"
{
	echo "version: 1"
	echo "production:"
	echo "  root: $P"
	echo "  databases:"
	echo "    - {name: main, sqlite: data/shop.db}"
	echo "tiers:"
	echo "  dev: {network: loopback}"
	echo "$SHOP_RULES"
} >"$DOPPEL_CONFIG"
remember_production
run_ok "sync" d sync >/dev/null
SNAP="$DOPPEL_HOME/snapshots/1/data/shop.db"
SNAP_SUM=$(sha256sum <"$SNAP")
# in a sandbox, at production's path
q() { d run "$1" -- sqlite3 "$P/data/shop.db" "$2"; }
# the store's layers (paths, types, sizes, mtimes, contents), to prove a
# command changed nothing; overlayfs's work dirs (w<N>) are the kernel's
# scratch space, which a running sandbox uses
layers_state() {
	(cd "$DOPPEL_HOME" && find snapshots sandboxes -path 'sandboxes/*/w[0-9]*' -prune -o -printf '%p %y %s %T@\n' |
		LC_ALL=C sort &&
		find snapshots sandboxes -path 'sandboxes/*/w[0-9]*' -prune -o -type f -exec sha256sum {} + | LC_ALL=C sort) |
		sha256sum
}

# --- rows that keep the schema's rules and the masking formats -----------------------
(
	run_ok "create" d create dev1 --tier dev >/dev/null
	out=$(run_ok "synth customers" d synth dev1 main.customers --rows 200 --seed 7)
	[ "$out" = "sandbox dev1: added 200 rows to main.customers (seed 7)" ] || fail "synth says: $out"
	[ "$(q dev1 'SELECT count(*) FROM customers')" = 500 ] || fail "the sandbox sees $(q dev1 'SELECT count(*) FROM customers') customers, want 500"
	run_ok "synth orders" d synth dev1 main.orders --rows 300 --seed 7 >/dev/null
	run_ok "synth payments" d synth dev1 main.payments --rows 300 --seed 7 >/dev/null
	c='SELECT count(*) FROM customers'
	[ "$(q dev1 "$c")" = 500 ] && [ "$(q dev1 'SELECT count(*) FROM orders')" = 900 ] &&
		[ "$(q dev1 'SELECT count(*) FROM payments')" = 900 ] || fail "row counts: $(q dev1 "$c")"
	[ "$(q dev1 'PRAGMA integrity_check')" = ok ] || fail "integrity_check: $(q dev1 'PRAGMA integrity_check')"
	[ -z "$(q dev1 'PRAGMA foreign_key_check')" ] || fail "foreign_key_check: $(q dev1 'PRAGMA foreign_key_check' | head -3)"
	[ "$(q dev1 'SELECT count(DISTINCT email) FROM customers')" = 500 ] || fail "emails not unique"
	[ "$(q dev1 'SELECT count(*) FROM customers WHERE name IS NULL OR email IS NULL')" = 0 ] || fail "NULL in a NOT NULL column"
	[ "$(q dev1 'SELECT count(*) FROM orders WHERE customer_id IS NULL OR customer_id NOT IN (SELECT id FROM customers)')" = 0 ] ||
		fail "an order without its customer"
	[ "$(q dev1 'SELECT count(*) FROM products WHERE name IS NULL OR price_cents IS NULL')" = 0 ] || fail "a product lost a value"
	new='FROM customers WHERE id > 300'
	q dev1 "SELECT email $new" | grep -Ev '^[a-z]+\.[a-z]+[0-9]+@example\.(com|net|org)$' | head -1 | grep . &&
		fail "a generated email not in the email rule's format"
	q dev1 "SELECT phone $new" | grep -Ev '^\+[0-9] [0-9]{3} [0-9]{3} [0-9]{4}$' | head -1 | grep . && fail "a generated phone lost its shape"
	q dev1 "SELECT last_ip $new" | grep -Ev '^(192\.0\.2|198\.51\.100|203\.0\.113)\.[0-9]+$' | head -1 | grep . &&
		fail "a generated IP outside the documentation networks"
	q dev1 "SELECT postal_code $new" | grep -Ev '^[0-9]{5}$' | head -1 | grep . && fail "a generated postal code"
	q dev1 "SELECT placed_at FROM orders WHERE id > 600" | grep -Ev '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$' |
		head -1 | grep . && fail "a generated placed_at is no date-time"
	d run dev1 -- sqlite3 -separator ' ' "$P/data/shop.db" \
		"SELECT 'p', card, iban FROM payments WHERE order_id > 600; SELECT 'c', birth_date, name $new" >"$T/rows.txt" ||
		fail "read the generated rows"
	python3 - "$T/rows.txt" <<'PY' || exit 1
import datetime, sys
def luhn(s):
    t = 0
    for i, ch in enumerate(reversed(s)):
        d = int(ch) * (2 if i % 2 else 1)
        t += d - 9 if d > 9 else d
    return t % 10 == 0
n = 0
for line in open(sys.argv[1]):
    kind, a, b = line.rstrip("\n").split(" ", 2)
    if kind == "p":
        assert len(a) == 16 and a.isdigit() and luhn(a), "card %r" % a
        assert a[:4] in ("4000", "5555"), "card %r not in a test range" % a
        num = int("".join(str(int(ch, 36)) for ch in b[4:] + b[:4]))
        assert b.startswith("DE") and len(b) == 22 and num % 97 == 1, "iban %r" % b
    else:
        d = datetime.date.fromisoformat(a)
        assert 1900 < d.year < 2010, "birth date %r" % a
        assert len(b.split(" ")) == 2, "name %r" % b
    n += 1
assert n == 500, n
PY
	[ "$(sha256sum <"$SNAP")" = "$SNAP_SUM" ] || fail "the snapshot's copy of the database changed"
	check_production "(synth)"
	pass "generated rows: seen in the sandbox, NOT NULL, UNIQUE and foreign keys kept, the rules' formats; snapshot and production unchanged"
) || failed_part "generated rows"

# --- a unique foreign key takes each parent once -------------------------------------------
(
	run_ok "create" d create fk1 >/dev/null
	run_ok "synth orders" d synth fk1 main.orders --rows 40 --seed 1 >/dev/null
	run_ok "synth payments" d synth fk1 main.payments --rows 40 --seed 1 >/dev/null
	[ "$(q fk1 'SELECT count(*) FROM orders WHERE id NOT IN (SELECT order_id FROM payments)')" = 0 ] ||
		fail "an order without its payment"
	before=$(layers_state)
	expect_usage_error "no parent left" "main\.payments\.order_id is unique and references orders\.id: only 0 of its rows have none yet" \
		d synth fk1 main.payments --rows 1
	[ "$(layers_state)" = "$before" ] || fail "a refused synth changed the store's layers"
	pass "a unique foreign key (payments.order_id) gets parents nobody references, and says when none are left"
) || failed_part "unique foreign key"

# --- the same seed, the same rows ----------------------------------------------------------
(
	run_ok "create" d create det1 >/dev/null
	run_ok "create" d create det2 >/dev/null
	for s in det1 det2; do
		run_ok "synth $s" d synth $s main.customers --rows 25 --seed 42 >/dev/null
		run_ok "synth $s" d synth $s main.orders --rows 25 --seed 42 >/dev/null
	done
	rows='SELECT * FROM customers WHERE id > 300 ORDER BY id; SELECT * FROM orders WHERE id > 600 ORDER BY id'
	a=$(q det1 "$rows" | sha256sum)
	b=$(q det2 "$rows" | sha256sum)
	[ "$a" = "$b" ] || fail "the same seed gave different rows"
	run_ok "create" d create det3 >/dev/null
	out=$(run_ok "synth without a seed" d synth det3 main.customers --rows 25)
	seed=$(printf '%s\n' "$out" | sed -n 's/.*(seed \([0-9]*\))$/\1/p')
	[ -n "$seed" ] || fail "synth does not say its seed: $out"
	[ "$(q det3 'SELECT * FROM customers WHERE id > 300 ORDER BY id' | sha256sum)" != \
		"$(q det1 'SELECT * FROM customers WHERE id > 300 ORDER BY id' | sha256sum)" ] || fail "another seed gave the same rows"
	run_ok "create" d create det4 >/dev/null
	run_ok "synth with the seed it said" d synth det4 main.customers --rows 25 --seed "$seed" >/dev/null
	[ "$(q det3 'SELECT * FROM customers WHERE id > 300 ORDER BY id' | sha256sum)" = \
		"$(q det4 'SELECT * FROM customers WHERE id > 300 ORDER BY id' | sha256sum)" ] || fail "the printed seed does not repeat the rows"
	pass "the same seed gives the same rows in two fresh sandboxes; the seed picked is printed and repeats them"
) || failed_part "determinism"

# --- bad input: exit 2, nothing changed ---------------------------------------------------------
(
	run_ok "create" d create bad1 >/dev/null
	before=$(layers_state)
	expect_usage_error "unknown database" "no SQLite database named 'other' in production.databases .*it has: main" \
		d synth bad1 other.customers --rows 5
	expect_usage_error "unknown table" "no table 'clients' in database main \(data/shop.db\); it has: customers, products, orders, payments" \
		d synth bad1 main.clients --rows 5
	expect_usage_error "rows 0" "--rows: expected a whole number from 1 to 10000000, got '0'" d synth bad1 main.customers --rows 0
	expect_usage_error "rows huge" "--rows: expected a whole number from 1 to 10000000, got '99999999999'" \
		d synth bad1 main.customers --rows 99999999999
	expect_usage_error "rows missing" "expected --rows N" d synth bad1 main.customers
	expect_usage_error "no table part" "expected DB.TABLE" d synth bad1 customers --rows 5
	expect_usage_error "bad name" "sandbox name '\.\./x'" d synth ../x main.customers --rows 5
	expect_usage_error "unknown sandbox" "no sandbox named 'nosuch'" d synth nosuch main.customers --rows 5
	expect_usage_error "bad seed" "--seed: expected a whole number" d synth bad1 main.customers --rows 5 --seed x
	[ "$(layers_state)" = "$before" ] || fail "bad input changed the store's layers"
	[ -z "$(ls -A "$DOPPEL_HOME/sandboxes/bad1/u1")" ] || fail "bad input left files in the upper layer: $(ls -A "$DOPPEL_HOME/sandboxes/bad1/u1")"
	check_production "(bad input)"
	pass "bad input (database, table, --rows, --seed, sandbox) exits 2 with a clear message and changes nothing"
) || failed_part "bad input"

# --- a sandbox a command runs in is busy ---------------------------------------------------------
(
	run_ok "create" d create busy1 >/dev/null
	d run busy1 -- sleep 4 &
	RUNNER=$!
	wait_for "[ -s '$DOPPEL_HOME/locks/sandbox-busy1' ]" 50 || fail "the run did not start"
	before=$(layers_state)
	expect_usage_error "busy" "sandbox busy1 is busy: a command runs in it" d synth busy1 main.customers --rows 5
	[ "$(layers_state)" = "$before" ] || fail "a busy synth changed the store's layers"
	wait "$RUNNER" || fail "the run failed"
	run_ok "synth after the run" d synth busy1 main.customers --rows 5 >/dev/null
	[ "$(q busy1 'SELECT count(*) FROM customers')" = 305 ] || fail "rows after the run"
	pass "synth refuses a sandbox a command runs in, and works once it is done"
) || failed_part "busy"

# --- a database the sandbox changed or deleted -------------------------------------------------------
(
	run_ok "create" d create app1 >/dev/null
	# the sandbox's app made new tables: the database is already in the upper layer
	d run app1 -- sqlite3 "$P/data/shop.db" "CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT NOT NULL);
		CREATE TABLE product_tags (product_id INTEGER NOT NULL REFERENCES products(id),
			tag_id INTEGER NOT NULL REFERENCES tags(id), PRIMARY KEY (product_id, tag_id));
		CREATE TABLE ratings (id INTEGER PRIMARY KEY, stars INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5), note TEXT);
		CREATE TABLE fixed (v TEXT CHECK (v = 'only this'))" || fail "run: create tables"
	before=$(layers_state)
	expect_usage_error "empty parent" "main\.product_tags\.tag_id references tags\.id, which has no rows; fill main\.tags first" \
		d synth app1 main.product_tags --rows 5
	[ "$(layers_state)" = "$before" ] || fail "a refused synth changed the store's layers"
	d synth app1 main.fixed --rows 1 >/dev/null 2>"$T/check.err"
	rc=$?
	[ "$rc" = 1 ] && grep -q "broke a CHECK constraint .*CHECK constraint failed: v = 'only this'" "$T/check.err" ||
		fail "an impossible CHECK: exit $rc: $(cat "$T/check.err")"
	[ "$(layers_state)" = "$before" ] || fail "a failed synth changed the store's layers"
	run_ok "synth tags" d synth app1 main.tags --rows 10 >/dev/null
	run_ok "synth product_tags" d synth app1 main.product_tags --rows 50 >/dev/null
	run_ok "synth ratings" d synth app1 main.ratings --rows 30 >/dev/null
	[ "$(q app1 'SELECT count(*) FROM product_tags')" = 50 ] && [ -z "$(q app1 'PRAGMA foreign_key_check')" ] ||
		fail "product_tags: $(q app1 'PRAGMA foreign_key_check' | head -3)"
	[ "$(q app1 'SELECT count(*) FROM ratings WHERE stars BETWEEN 1 AND 5')" = 30 ] || fail "ratings broke their CHECK"
	# the app deletes the database: synth says so
	d run app1 -- rm "$P/data/shop.db" || fail "run: rm"
	expect_usage_error "deleted" "data/shop.db was deleted in the sandbox .*'doppel reset app1' brings it back" \
		d synth app1 main.customers --rows 5
	check_production "(app)"
	pass "a database the app changed is filled where it is; an empty parent, an impossible CHECK and a deleted database are reported"
) || failed_part "changed database"

# --- a -wal left in a checkpoint layer -------------------------------------------------------------
(
	run_ok "create" d create wal1 >/dev/null
	# the app dies with its last commit still in the WAL
	d run wal1 -- python3 -c "
import os, sqlite3
db = sqlite3.connect('$P/data/shop.db')
db.execute('PRAGMA wal_autocheckpoint=0')
db.execute(\"INSERT INTO products (name, price_cents) VALUES ('only in the wal', 1)\")
db.commit()
os._exit(0)" || fail "run: write into the WAL"
	up=$(ls -d "$DOPPEL_HOME"/sandboxes/wal1/u*)
	[ -s "$up/data/shop.db-wal" ] || fail "the app left no -wal"
	run_ok "checkpoint" d checkpoint wal1 before >/dev/null
	cp_sum=$(cd "$up" && find . -type f -exec sha256sum {} + | LC_ALL=C sort)
	run_ok "synth" d synth wal1 main.products --rows 4 >/dev/null
	[ "$(cd "$up" && find . -type f -exec sha256sum {} + | LC_ALL=C sort)" = "$cp_sum" ] || fail "the checkpoint layer changed"
	[ "$(q wal1 "SELECT count(*) FROM products")" = 25 ] || fail "products: $(q wal1 'SELECT count(*) FROM products'), want 20 + 1 + 4"
	[ "$(q wal1 "SELECT count(*) FROM products WHERE name = 'only in the wal'")" = 1 ] || fail "the WAL's row is lost"
	[ "$(q wal1 'PRAGMA integrity_check')" = ok ] || fail "integrity_check after synth over a WAL"
	# a failed synth puts the whiteouts over the old -wal back
	before=$(layers_state)
	expect_usage_error "unknown table" "no table 'nosuch'" d synth wal1 main.nosuch --rows 1
	[ "$(layers_state)" = "$before" ] || fail "a refused synth changed the store's layers"
	run_ok "synth again" d synth wal1 main.products --rows 1 >/dev/null
	[ "$(q wal1 "SELECT count(*) FROM products")" = 26 ] || fail "a second synth over the hidden WAL"
	pass "a -wal in a checkpoint layer is taken along, and the old one does not show through afterwards"
) || failed_part "wal in a lower layer"

[ "$(sha256sum <"$SNAP")" = "$SNAP_SUM" ] || fail "the snapshot's copy of the database changed"
check_production "(end)"
finish
