#!/bin/sh
# SQLite databases in snapshots: strict mode stops a sync on an unruled
# personal column (and `doppel pii-check` says the same), rules are checked
# against the schema with file:line errors, and a synced copy is consistent,
# masked and leak-free: no original value of a masked column anywhere in its
# raw bytes, foreign keys clean, joins on masked keys intact, unique columns
# unique, the same fakes on every sync. A writer keeps writing production
# during a sync and the copy is still one consistent state. `doppel scan`
# finds planted leaks (a CSV export, a value written in a sandbox, deleted
# rows left in a free page). Production is fingerprinted and must not change.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"
command -v sqlite3 >/dev/null || skip "the sqlite3 shell is needed to inspect copies"

mkdir -p "$P/data" "$P/app"
python3 "$DOPPEL_SRC/tests/replication/shopdb.py" "$P/data/shop.db" 300 || fail "cannot build the fixture database"
echo "the app" >"$P/app/main.sh"
SNAPDB() { echo "$DOPPEL_HOME/snapshots/$1/data/shop.db"; }

RULES=$SHOP_RULES
DBS='  databases:
    - {name: main, sqlite: data/shop.db}'
config() { # config [RULES-TEXT]
	{
		echo "version: 1"
		echo "production:"
		echo "  root: $P"
		echo "$DBS"
		echo "tiers:"
		echo "  dev: {network: loopback}"
		echo "${1-}"
	} >"$DOPPEL_CONFIG"
}
remember_production

# --- strict mode and pii-check ---------------------------------------------------
(
	config ""
	d pii-check >"$T/pii.out" 2>&1
	rc=$?
	[ "$rc" = 1 ] || fail "pii-check without rules: exit $rc (want 1): $(cat "$T/pii.out")"
	for c in customers.name customers.email customers.phone customers.birth_date customers.last_ip \
		orders.ship_address payments.card payments.iban; do
		grep -q "main\.$c" "$T/pii.out" || fail "pii-check does not list main.$c: $(cat "$T/pii.out")"
	done
	grep -q "main.customers.email: email" "$T/pii.out" || fail "pii-check suggests no email rule: $(cat "$T/pii.out")"
	grep -q "main.payments.card: card" "$T/pii.out" || fail "pii-check suggests no card rule"
	grep -q "main.products.price_cents\|main.orders.placed_at\|main.orders.customer_id" "$T/pii.out" &&
		fail "pii-check flags impersonal columns: $(cat "$T/pii.out")"
	d pii-check --json | json 'sorted(x["table"]+"."+x["column"] for x in j["databases"][0]["unmasked_personal_columns"])' \
		| grep -qx "customers.email" || fail "pii-check --json lacks customers.email"
	before=$(store_listing)
	expect_usage_error "strict sync" "masking.strict: .*personal" d sync
	printf '%s\n' "$ERRMSG" | grep -q "main.customers.email " || fail "strict message does not list main.customers.email: $ERRMSG"
	printf '%s\n' "$ERRMSG" | grep -q "suggested rule: *main.customers.email: email" || fail "no suggested rule: $ERRMSG"
	[ ! -e "$DOPPEL_HOME/snapshots/1" ] || fail "a strict failure left a snapshot"
	# one unruled column is enough
	config "$(printf '%s\n' "$RULES" | grep -v 'customers.phone')"
	expect_usage_error "strict sync, one column" "main\.customers\.phone" d sync
	printf '%s\n' "$ERRMSG" | grep -q "main.customers.email" && fail "ruled column reported: $ERRMSG"
	check_production "(strict mode)"
	pass "strict mode stops the sync and pii-check lists the columns with rules to add"
) || failed_part "strict mode"

# --- rules are checked against the schema ---------------------------------------
(
	config "masking:
  rules:
    main.customers.emial: email"
	expect_usage_error "unknown column" "doppel.yaml:[0-9]+: masking.rules.main.customers.emial: no column 'emial'.*email" d sync
	config "masking:
  rules:
    main.clients.email: email"
	expect_usage_error "unknown table" "no table 'clients'" d sync
	config "masking:
  rules:
    main.customers.email: emial"
	expect_usage_error "unknown transformer" "doppel.yaml:[0-9]+:[0-9]+: .*unknown key 'emial'; did you mean 'email'" d sync
	config "masking:
  rules:
    other.customers.email: email"
	expect_usage_error "unknown database" "no database named 'other'" d sync
	config "masking:
  rules:
    main.customers.name: null"
	expect_usage_error "null on NOT NULL" "NOT NULL" d sync
	config "masking:
  rules:
    main.orders.customer_email: email"
	expect_usage_error "child without parent rule" "references customers.email, which has no rule" d sync
	config "masking:
  rules:
    main.customers.email: {partial: {keep_lats: 2}}"
	expect_usage_error "bad option" "unknown key 'keep_lats'; did you mean 'keep_last'" d sync
	config "masking:
  rules:
    main.customers.email: {sql: \"nosuchfn(email)\"}"
	expect_usage_error "bad sql" "sql: no such function" d sync
	config "$(printf '%s\n' "$RULES" | sed 's/main.products.name/main.products.nmae/')"
	expect_usage_error "allow of no column" "doppel.yaml:[0-9]+: masking.allow: main.products.nmae: no column 'nmae'" d sync
	[ ! -e "$DOPPEL_HOME/snapshots/1" ] || fail "a bad rule left a snapshot"
	check_production "(bad rules)"
	pass "bad rules are refused with file:line, the column list and did-you-mean"
) || failed_part "rule errors"

# --- a masked, consistent, leak-free copy ----------------------------------------
config "$RULES"
run_ok "sync" d sync >"$T/sync.out"
grep -q "1 database copied consistently" "$T/sync.out" || fail "sync does not report the database: $(cat "$T/sync.out")"
COPY=$(SNAPDB 1)
[ -f "$COPY" ] || fail "no database copy in the snapshot"
[ ! -e "$COPY-wal" ] || [ ! -s "$COPY-wal" ] || fail "the copy has a non-empty WAL"
(
	python3 - "$P/data/shop.db" "$COPY" <<'PY' || exit 1
import sqlite3, sys
prod = sqlite3.connect("file:%s?mode=ro&immutable=1" % sys.argv[1], uri=True)
raw = open(sys.argv[2], "rb").read().lower()
cols = {"customers": ["name", "email", "phone", "last_ip"], "orders": ["ship_address"], "payments": ["card", "iban"]}
bad = []
n = 0
for t, cs in cols.items():
    for c in cs:
        for (v,) in prod.execute('SELECT DISTINCT "%s" FROM "%s" WHERE "%s" IS NOT NULL' % (c, t, c)):
            n += 1
            if str(v).lower().encode() in raw:
                bad.append("%s.%s=%r" % (t, c, v))
if bad:
    print("original values in the copy's raw bytes:", bad[:5], len(bad)); sys.exit(1)
# surnames and cities of the fixture are distinctive: none may survive
for w in [b"quackenbush", b"zwickelmann", b"featherstonehaugh", b"mailbox-"]:
    if w in raw:
        print("fixture word in the copy:", w); sys.exit(1)
print("checked", n, "values")
PY
	pass "no original value of a masked column in the copy's raw bytes"
) || failed_part "raw bytes"
(
	q() { sqlite3 "$COPY" "$1"; }
	qp() { sqlite3 "file:$P/data/shop.db?mode=ro&immutable=1" "$1"; }
	[ "$(q 'PRAGMA integrity_check')" = ok ] || fail "integrity_check: $(q 'PRAGMA integrity_check')"
	[ -z "$(q 'PRAGMA foreign_key_check')" ] || fail "foreign_key_check: $(q 'PRAGMA foreign_key_check' | head -3)"
	for t in customers orders payments products; do
		[ "$(q "SELECT count(*) FROM $t")" = "$(qp "SELECT count(*) FROM $t")" ] || fail "row count of $t differs"
	done
	# the join on the masked email key still matches, row for row
	j='SELECT count(*) FROM orders o JOIN customers c ON c.email = o.customer_email AND c.id = o.customer_id'
	[ "$(q "$j")" = "$(qp "$j")" ] && [ "$(q "$j")" = 600 ] || fail "join on masked email: copy $(q "$j"), production $(qp "$j")"
	[ "$(q 'SELECT count(DISTINCT email) FROM customers')" = 300 ] || fail "masked emails not unique"
	q "SELECT email FROM customers" | grep -Ev '^[^@ ]+@example\.(com|net|org)$' | head -1 | grep . &&
		fail "an email not on a reserved domain"
	q "SELECT phone FROM customers" | grep -Ev '^\+[0-9]{2} [0-9]{3} [0-9]{4} [0-9]{4}$' | head -1 | grep . &&
		fail "a phone lost its shape"
	python3 - "$COPY" <<'PY' || exit 1
import sqlite3, sys, datetime
db = sqlite3.connect(sys.argv[1])
def luhn(s):
    t = 0
    for i, ch in enumerate(reversed(s)):
        d = int(ch) * (2 if i % 2 else 1)
        t += d - 9 if d > 9 else d
    return t % 10 == 0
for (c,) in db.execute("SELECT card FROM payments"):
    assert len(c) == 16 and c.isdigit() and luhn(c), c
for (i,) in db.execute("SELECT iban FROM payments"):
    n = int("".join(str(int(ch, 36)) for ch in i[4:] + i[:4]))
    assert i.startswith("DE") and len(i) == 22 and n % 97 == 1, i
for (d,) in db.execute("SELECT birth_date FROM customers"):
    datetime.date.fromisoformat(d)
PY
	# products are allowed: unchanged
	[ "$(q 'SELECT group_concat(name) FROM products')" = "$(qp 'SELECT group_concat(name) FROM products')" ] ||
		fail "an allowed column changed"
	# schema objects came along: index, view, trigger, AUTOINCREMENT counter
	[ "$(q "SELECT count(*) FROM sqlite_schema WHERE name IN ('orders_by_customer','order_emails','vip_on_big')")" = 3 ] ||
		fail "index, view or trigger missing"
	[ "$(q "SELECT seq FROM sqlite_sequence WHERE name='orders'")" = 600 ] || fail "AUTOINCREMENT counter lost"
	[ "$(q 'PRAGMA journal_mode')" = wal ] || fail "the copy is not in WAL mode like production"
	pass "copy: integrity and foreign keys clean, joins match, unique stays unique, formats kept, schema complete"
) || failed_part "copy"
check_production "(sync)"

# --- determinism across syncs ------------------------------------------------------
echo "more" >"$P/app/more.txt"
remember_production
(
	run_ok "second sync" d sync >/dev/null
	for t in "customers ORDER BY id" "payments ORDER BY order_id" "orders ORDER BY id"; do
		a=$(sqlite3 "$(SNAPDB 1)" "SELECT * FROM $t" | sha256sum)
		b=$(sqlite3 "$(SNAPDB 2)" "SELECT * FROM $t" | sha256sum)
		[ "$a" = "$b" ] || fail "masked $t differ between two syncs of the same data"
	done
	check_production "(second sync)"
	pass "the same fakes on every sync"
) || failed_part "determinism"

# --- a sandbox sees the masked copy at production's path --------------------------
(
	run_ok "create" d create dev1 --tier dev >/dev/null
	e=$(d run dev1 -- sqlite3 "$P/data/shop.db" "SELECT email FROM customers WHERE id = 1") || fail "run sqlite3 in the sandbox"
	orig=$(sqlite3 "file:$P/data/shop.db?mode=ro&immutable=1" "SELECT email FROM customers WHERE id = 1")
	[ -n "$e" ] && [ "$e" != "$orig" ] || fail "the sandbox sees '$e' (production: '$orig')"
	case "$e" in *@example.*) ;; *) fail "sandbox email '$e' not masked" ;; esac
	check_production "(run)"
	pass "the sandbox's app reads the masked database at production's path"
) || failed_part "sandbox"

# --- the leak scan -------------------------------------------------------------------
(
	out=$(d scan dev1) || fail "scan of a clean sandbox: exit $? ($out)"
	printf '%s\n' "$out" | grep -q "dev1: 0 leaks" || fail "scan output: $out"
	# 1. a value written inside the sandbox
	email=$(sqlite3 "file:$P/data/shop.db?mode=ro&immutable=1" "SELECT email FROM customers WHERE id = 7")
	d run dev1 -- /bin/sh -c "echo 'debug: user $(echo "$email" | tr a-z A-Z) logged in' > /tmp/x; cp /tmp/x $P/app/debug.log" ||
		fail "run: write a file"
	d scan dev1 >"$T/scan.out"
	rc=$?
	[ "$rc" = 1 ] || fail "scan of a leaking sandbox: exit $rc: $(cat "$T/scan.out")"
	grep -q "LEAK  $P/app/debug.log  offset 12  value of main.customers.email" "$T/scan.out" ||
		fail "the leak in app/debug.log is not reported right: $(cat "$T/scan.out")"
	grep -qi "$email" "$T/scan.out" && fail "the scan report repeats the leaked value"
	# 2. a phone number with other separators, in the sandbox
	phone=$(sqlite3 "file:$P/data/shop.db?mode=ro&immutable=1" "SELECT phone FROM customers WHERE id = 9")
	digits=$(printf '%s' "$phone" | tr -cd 0-9)
	d run dev1 -- /bin/sh -c "echo 'call ${digits}' > $P/app/notes.txt" || fail "run: write notes"
	d scan dev1 --json | json '[l["path"] + " " + l["column"] for l in j["leaks"]]' >"$T/scan.json"
	grep -qx "app/notes.txt main.customers.phone" "$T/scan.json" || fail "phone by digits not found: $(cat "$T/scan.json")"
	pass "scan: clean sandbox passes; values written in the sandbox are found (case, separators)"
) || failed_part "scan in sandbox"
(
	# 3. a CSV export and 4. deleted rows in a free page of an unlisted database, in production
	sqlite3 -csv "file:$P/data/shop.db?mode=ro&immutable=1" "SELECT id, name, city FROM customers LIMIT 20" >"$P/app/export.csv"
	python3 - "$P/app/old.db" "$P/data/shop.db" <<'PY'
import sqlite3, sys
src = sqlite3.connect("file:%s?mode=ro&immutable=1" % sys.argv[2], uri=True)
rows = src.execute("SELECT iban FROM payments LIMIT 50").fetchall()
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA secure_delete=OFF")
db.execute("CREATE TABLE t (x TEXT)")
db.executemany("INSERT INTO t VALUES (?)", rows * 20)
db.commit()
db.execute("DELETE FROM t")
db.commit()
assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 0
PY
	remember_production
	run_ok "sync with leaks in production" d sync >/dev/null
	run_ok "create" d create dev2 >/dev/null
	d scan dev2 --json >"$T/scan2.json"
	rc=$?
	[ "$rc" = 1 ] || fail "scan: exit $rc"
	json '[l["path"] + " " + l["column"] for l in j["leaks"]]' <"$T/scan2.json" >"$T/scan2.txt"
	grep -qx "app/export.csv main.customers.name" "$T/scan2.txt" || fail "CSV export not found: $(cat "$T/scan2.txt")"
	grep -qx "app/old.db main.payments.iban" "$T/scan2.txt" || fail "free-page leak not found: $(cat "$T/scan2.txt")"
	grep -q "data/shop.db" "$T/scan2.txt" && fail "the masked copy itself reported as a leak: $(cat "$T/scan2.txt")"
	check_production "(scan)"
	pass "scan finds a CSV export and deleted rows in a free page"
) || failed_part "scan of production leaks"

# --- a writer keeps writing production during the sync -------------------------------
(
	python3 - "$P/data/bank.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("PRAGMA journal_mode=WAL; CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner_email TEXT, balance INTEGER);")
db.executemany("INSERT INTO accounts VALUES (?, ?, 1000)", [(i, "holder%d@bank.example.org" % i) for i in range(1, 201)])
db.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY, note BLOB)")
db.commit()
PY
	DBS='  databases:
    - {name: main, sqlite: data/shop.db}
    - {name: bank, sqlite: data/bank.db}'
	config "$(printf '%s\n' "$RULES" | sed 's/^  allow:/    bank.accounts.owner_email: email\n  allow:/')"
	python3 - "$P/data/bank.db" "$T/writer.stop" >"$T/writer.out" 2>&1 <<'PY' &
import os, random, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
rng = random.Random(1)
n = 0
while not os.path.exists(sys.argv[2]):
    a, b = rng.randrange(1, 201), rng.randrange(1, 201)
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE accounts SET balance = balance - 7 WHERE id = ?", (a,))
    db.execute("INSERT INTO ledger (note) VALUES (randomblob(3000))")
    db.execute("UPDATE accounts SET balance = balance + 7 WHERE id = ?", (b,))
    db.execute("COMMIT")
    n += 1
print(n)
PY
	WRITER=$!
	sleep 0.5
	for i in 1 2 3; do run_ok "sync during writes" d sync >/dev/null; done
	touch "$T/writer.stop"
	wait "$WRITER" || fail "the writer failed: $(cat "$T/writer.out")"
	writes=$(cat "$T/writer.out")
	[ "$writes" -gt 10 ] || fail "the writer made only $writes transactions"
	last=$(ls "$DOPPEL_HOME/snapshots" | sort -n | tail -3)
	for s in $last; do
		b="$DOPPEL_HOME/snapshots/$s/data/bank.db"
		[ "$(sqlite3 "$b" 'SELECT sum(balance) FROM accounts')" = 200000 ] || fail "snapshot $s: balances do not add up"
		[ "$(sqlite3 "$b" 'PRAGMA integrity_check')" = ok ] || fail "snapshot $s: integrity"
		sqlite3 "$b" "SELECT owner_email FROM accounts" | grep -q "bank.example.org" && fail "snapshot $s: unmasked email"
	done
	# production holds exactly what the writer committed
	[ "$(sqlite3 "$P/data/bank.db" 'SELECT count(*) FROM ledger')" = "$writes" ] || fail "production lost or gained writes"
	[ "$(sqlite3 "$P/data/bank.db" 'SELECT sum(balance) FROM accounts')" = 200000 ] || fail "production balances"
	pass "a consistent copy while production takes $writes writes; production holds exactly its writer's writes"
) || failed_part "concurrent writer"

# --- masked tables of every shape: rows, keys and indexes ----------------------------
# A masked table's indexes are built after its rows (a twin table takes the
# rows, REINDEX the keys) where the twin's records are the table's; the other
# shapes keep the plain path. Either way the copy must hold production's
# schema text, its unmasked values row for row and indexes that match.
(
	export DOPPEL_HOME="$T/shapes-home"
	for av in 0 1; do
		python3 - "$P/data/shapes$av.db" "$av" <<'PY' || exit 1
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("PRAGMA auto_vacuum=%s; PRAGMA journal_mode=WAL;" % sys.argv[2])
db.executescript('''
CREATE TABLE alias (id INTEGER PRIMARY KEY, email TEXT UNIQUE COLLATE NOCASE, note TEXT, "odd ""name""" VARCHAR(20),
    district TEXT, description TEXT, checked_at TEXT);
CREATE INDEX alias_note ON alias(lower(note)) WHERE note IS NOT NULL;
CREATE TABLE intpk (code INT PRIMARY KEY, email TEXT NOT NULL UNIQUE, amount DECIMAL(10, 2), blob);
CREATE TABLE nopk (email TEXT, x REAL, n);
CREATE INDEX nopk_email ON nopk(email, n);
CREATE TABLE descpk (id INTEGER PRIMARY KEY DESC, email TEXT UNIQUE);
CREATE TABLE checked (id INTEGER PRIMARY KEY, email TEXT UNIQUE CHECK (email LIKE '%@%'));
CREATE TABLE norowid (email TEXT PRIMARY KEY, n INTEGER) WITHOUT ROWID;
CREATE TABLE strictly (id INTEGER PRIMARY KEY, email TEXT UNIQUE, n INTEGER) STRICT;
CREATE TABLE templated (id INTEGER PRIMARY KEY, email TEXT UNIQUE, login TEXT, code INT UNIQUE);
''')
for i in range(1, 401):
    e = "Shape.Person%d@mailbox-shapes.example" % i
    db.execute("INSERT INTO alias VALUES (?, ?, ?, ?, ?, ?, ?)",
               (i * 3, e, None if i % 7 == 0 else "Note %d" % (i % 50), "v%d" % i, "d%d" % (i % 9), "x" * (i % 5), None))
    db.execute("INSERT INTO intpk VALUES (?, ?, ?, ?)", (1000 - i, e, i / 4, bytes([i % 256]) * 3))
    db.execute("INSERT INTO nopk VALUES (?, ?, ?)", (e if i % 5 else None, i * 1.5, i % 3))
    db.execute("INSERT INTO descpk VALUES (?, ?)", (i, e))
    db.execute("INSERT INTO checked VALUES (?, ?)", (i, e))
    db.execute("INSERT INTO norowid VALUES (?, ?)", (e, i))
    db.execute("INSERT INTO strictly VALUES (?, ?, ?)", (i, e, i))
    db.execute("INSERT INTO templated VALUES (?, ?, ?, ?)", (i, e, "login%d" % i, 1000 - i))
db.execute("DELETE FROM nopk WHERE rowid % 9 = 0")  # rowids with gaps
db.commit()
PY
	done
	remember_production
	DBS='  databases:
    - {name: s0, sqlite: data/shapes0.db}
    - {name: s1, sqlite: data/shapes1.db}'
	rules="masking:
  strict: false
  rules:"
	for db in s0 s1; do
		for t in alias intpk nopk descpk checked norowid strictly templated; do
			rules="$rules
    $db.$t.email: email"
		done
		# 400 three-digit codes, 900 fakes: collisions, fakes moved on
		rules="$rules
    $db.templated.login: {template: \"user-{id}-{email}\"}
    $db.intpk.code: phone
    $db.templated.code: phone"
	done
	config "$rules"
	DOPPEL_DEBUG=1 d sync >/dev/null 2>"$T/shapes.debug" || fail "sync of every shape: $(cat "$T/shapes.debug")"
	# the twin path where its records are the table's, and only there
	for t in alias intpk nopk templated; do
		grep -q "data/shapes0.db: rows of $t into its twin" "$T/shapes.debug" || fail "$t did not take the twin path"
		grep -q "data/shapes1.db: rows of $t into its twin" "$T/shapes.debug" && fail "$t took the twin path with auto_vacuum"
	done
	for t in descpk checked norowid strictly; do
		grep -q "rows of $t into its twin" "$T/shapes.debug" && fail "$t took the twin path"
	done
	for av in 0 1; do
		c="$DOPPEL_HOME/snapshots/1/data/shapes$av.db"
		pr="file:$P/data/shapes$av.db?mode=ro&immutable=1"
		python3 - "$pr" "$c" <<'PY' || exit 1
import sqlite3, sys
prod = sqlite3.connect(sys.argv[1], uri=True)
copy = sqlite3.connect("file:%s?mode=ro&immutable=1" % sys.argv[2], uri=True)
assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)], copy.execute("PRAGMA integrity_check").fetchall()[:5]
schema = "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name"
assert prod.execute(schema).fetchall() == copy.execute(schema).fetchall(), "the schema differs from production's"
others = {"alias": 'id, note, "odd ""name"""', "intpk": "amount, blob", "nopk": "rowid, x, n",
          "descpk": "id", "checked": "id", "norowid": "n", "strictly": "id, n", "templated": "id"}
for t, cols in others.items():
    q = "SELECT %s FROM %s ORDER BY 1" % (cols, t)
    assert prod.execute(q).fetchall() == copy.execute(q).fetchall(), "%s: unmasked columns differ" % t
    n, d, same = copy.execute("SELECT count(email), count(DISTINCT email), "
                              "sum(email LIKE '%%mailbox-shapes%%') FROM %s" % t).fetchone()
    assert n == prod.execute("SELECT count(email) FROM %s" % t).fetchone()[0] and n == d and not same, (t, n, d, same)
# the indexes answer like the tables: a lookup through each one finds its row
for t, key in (("alias", "email"), ("intpk", "email"), ("nopk", "email"), ("strictly", "email")):
    for (e,) in copy.execute("SELECT %s FROM %s WHERE %s IS NOT NULL" % (key, t, key)).fetchall()[::37]:
        plan = " ".join(r[3] for r in copy.execute("EXPLAIN QUERY PLAN SELECT count(*) FROM %s WHERE %s = ?" % (t, key), (e,)))
        assert "INDEX" in plan, (t, plan)
        assert copy.execute("SELECT count(*) FROM %s WHERE %s = ?" % (t, key), (e,)).fetchone()[0] == 1, (t, e)
# a template is SQL (doppel_mask() inside SQLite), the other tables are masked
# in a second thread: both give the same fake for the same original (barring
# a rare collision, which moves one value of one column)
assert copy.execute("SELECT count(*) FROM templated WHERE login IS NOT 'user-' || id || '-' || email").fetchone()[0] == 0
same = copy.execute("SELECT count(*) FROM templated t JOIN alias a ON a.id = 3 * t.id WHERE a.email = t.email").fetchone()[0]
assert same >= 390, "the SQL function and the masking thread disagree: %d of 400 fakes equal" % same
# unique INTEGER fakes with many collisions: the same originals in the same
# order give the same fakes either way, moved ones included
codes = copy.execute("SELECT count(DISTINCT i.code), sum(i.code = t.code), sum(i.code = 1000 - t.id), "
                     "min(i.code), max(i.code) FROM intpk i JOIN templated t ON t.id * 0.25 = i.amount").fetchone()
assert codes[0] == 400 and codes[1] == 400 and codes[2] < 20 and 100 <= codes[3] and codes[4] <= 999, codes
assert copy.execute("SELECT count(*) FROM alias WHERE lower(note) = 'note 3' AND note IS NOT NULL").fetchone()[0] == \
    prod.execute("SELECT count(*) FROM alias WHERE lower(note) = 'note 3' AND note IS NOT NULL").fetchone()[0]
PY
	done
	# a value a transformer cannot mask, and a unique column a transformer
	# cannot fill, stop the sync with the column named and leave no
	# snapshot: in the masking thread and in SQL (the template's table)
	tpl='    s0.templated.login: {template: "user-{id}-{email}"}'
	for bad in "s0.alias.email: iban" "s0.templated.email: iban
$tpl" "s0.alias.email: city" "s0.templated.email: city
$tpl"; do
		config "masking:
  strict: false
  rules:
    $bad"
		d sync >"$T/bad.out" 2>&1 && fail "a sync with '$bad' succeeded"
		col=${bad%%:*}
		case $bad in
		*iban*) want="$col \\(iban\\): not an IBAN" ;;
		*) want="$col: city found no unused value in 64 tries" ;;
		esac
		grep -Eq "$want" "$T/bad.out" || fail "'$bad': no /$want/ in: $(cat "$T/bad.out")"
		[ ! -e "$DOPPEL_HOME/snapshots/2" ] || fail "'$bad' left a snapshot"
	done
	check_production "(shapes)"
	pass "masked tables of every shape: schema text, unmasked values, unique fakes and working indexes; masking errors name the column"
) || failed_part "table shapes"

finish
