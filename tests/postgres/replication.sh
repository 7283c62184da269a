#!/bin/sh
# PostgreSQL databases in snapshots (issue 7), end to end against a
# throwaway production cluster of the test's own (tests/postgres/lib.sh):
#  - strict mode stops a sync on an unruled email column; a bad conninfo or
#    password file is a clear error that leaves the store unchanged and never
#    prints the password;
#  - a synced copy (the snapshot's template database in the store's sandbox
#    cluster) has no original value of any masked column (SQL against
#    production's values, jsonb keys by path included) and none in the
#    sandbox cluster's files; joins on masked keys and foreign keys hold;
#    sequences, indexes, triggers and views are reproduced; allowed and
#    impersonal columns are unchanged;
#  - the same fakes on every sync, and the same as the SQLite path gives the
#    same email under the same store;
#  - a sandbox reaches its own database with the PG* variables doppel sets,
#    reset brings back the exact initial state (checksums), checkpoint and
#    reset --to; two sandboxes cannot read each other's databases; a sandbox
#    cannot reach the production server (socket or TCP);
#  - production's data is unchanged throughout (row counts and checksums of
#    every table, sequence values).
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"
. "$DOPPEL_SRC/tests/postgres/lib.sh"
command -v sqlite3 >/dev/null || skip "the sqlite3 shell is needed for the shared-determinism check"

PROD_TCP=1 prod_start
make_reader
shop_fixture 300
mkdir -p "$P/app" "$P/data"
echo "the app" >"$P/app/main.sh"
# a SQLite database of the same production holding some of the same emails
q_prod shop "SELECT id, email FROM customers WHERE id <= 40 ORDER BY id" >"$T/crm.txt"
sqlite3 "$P/data/crm.db" "CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT NOT NULL);" ||
	fail "cannot make the SQLite database"
python3 - "$P/data/crm.db" "$T/crm.txt" <<'PY' || fail "cannot fill the SQLite database"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executemany("INSERT INTO contacts VALUES (?, ?)", [l.rstrip("\n").split("|") for l in open(sys.argv[2])])
db.commit()
PY
chmod -R a+rX "$P"
PROD_SUMS=$(prod_sums shop)
PROD_SEQS=$(q_prod shop "$SEQ_SQL")
check_prod_data() {
	[ "$(prod_sums shop)" = "$PROD_SUMS" ] || fail "production's data changed ${1:-}"
	[ "$(q_prod shop "$SEQ_SQL")" = "$PROD_SEQS" ] || fail "production's sequences changed ${1:-}"
}

CONNINFO=$(prod_conninfo shop)
PWLINE="password_file: $T/secrets/reader.pw"
RULES='masking:
  rules:
    shop.customers.name: name
    shop.customers.email: email
    shop.customers.phone: phone
    shop.customers.birth_date: {date: {days: 60}}
    shop.customers.profile.$.email: email
    shop.customers.profile.$.address.city: city
    shop.customers.profile.$.address.street: address
    shop.payments.iban: iban
    crm.contacts.email: email
  allow: [shop.products.name, shop.orders.card_last4]'
config() { # config [RULES-TEXT]
	{
		echo "version: 1"
		echo "production:"
		echo "  root: $P"
		echo "  databases:"
		echo "    - {name: shop, postgres: \"$CONNINFO\", $PWLINE}"
		echo "    - {name: crm, sqlite: data/crm.db}"
		echo "tiers:"
		echo "  dev: {network: loopback}"
		echo "  qa: {network: none}"
		echo "${1-}"
	} >"$DOPPEL_CONFIG"
}

# The store without its running sandbox cluster (whose files move by themselves).
store_files() { store_listing | grep -v '^\./pg/'; }
reset_store() {
	[ -d "$SB_PG" ] && d postgres stop >/dev/null 2>&1
	rm -rf "$DOPPEL_HOME"
}

# --- the sandbox cluster, as doppel's superuser --------------------------------------
SNAPDB() { echo "doppel_s$1_shop"; }
SBDB() { echo "doppel_b_$1_shop"; }

# --- strict mode, bad connections -------------------------------------------------------
(
	config "$(printf '%s\n' "$RULES" | grep -v 'shop.customers.email')"
	expect_usage_error "strict sync" "masking.strict: .*personal" d sync
	printf '%s\n' "$ERRMSG" | grep -q "shop.customers.email " || fail "strict message does not list shop.customers.email: $ERRMSG"
	printf '%s\n' "$ERRMSG" | grep -q "suggested rule: *shop.customers.email: email" || fail "no suggested rule: $ERRMSG"
	printf '%s\n' "$ERRMSG" | grep -q "shop.customers.phone " && fail "a ruled column is reported: $ERRMSG"
	[ ! -e "$DOPPEL_HOME/snapshots/1" ] || fail "a strict failure left a snapshot"
	check_prod_data "(strict mode)"
	pass "strict mode stops the sync on an unruled email column"
) || failed_part "strict mode"
(
	config "$(printf '%s\n' "$RULES" | grep -v 'shop.customers.email')"
	d pii-check >"$T/pii.out" 2>&1
	rc=$?
	grep -q "PostgreSQL is not supported by this version yet" "$T/pii.out" &&
		skip_part "MISSING FEATURE: doppel pii-check refuses PostgreSQL databases ($(cat "$T/pii.out"))"
	[ "$rc" = 1 ] || fail "pii-check with an unruled email: exit $rc (want 1): $(cat "$T/pii.out")"
	grep -q "shop.customers.email" "$T/pii.out" || fail "pii-check does not list shop.customers.email: $(cat "$T/pii.out")"
	config "$RULES"
	d pii-check >"$T/pii.out" 2>&1 || fail "pii-check with every rule: exit $?: $(cat "$T/pii.out")"
	pass "pii-check lists the unruled PostgreSQL column, and nothing once it has a rule"
) || failed_part "pii-check"

(
	bad_conn() { # bad_conn WHAT PATTERN: sync must fail with PATTERN, store unchanged, password not shown
		before=$(store_files)
		d sync >"$T/bad.out" 2>&1
		rc=$?
		[ "$rc" != 0 ] || fail "$1: sync succeeded"
		grep -Eqi -- "$2" "$T/bad.out" || fail "$1: message does not match /$2/: $(cat "$T/bad.out")"
		grep -q '^doppel: ' "$T/bad.out" || fail "$1: message not in the 'doppel: what: why' form: $(cat "$T/bad.out")"
		grep -q "shop" "$T/bad.out" || fail "$1: message does not name the database: $(cat "$T/bad.out")"
		grep -qF -- "$PROD_READERPW" "$T/bad.out" && fail "$1: the message shows the password"
		grep -qF -- "$PROD_SUPERPW" "$T/bad.out" && fail "$1: the message shows a password"
		store_files >"$T/.after"
		[ "$(cat "$T/.after")" = "$before" ] || fail "$1: the store changed: $(echo "$before" | diff - "$T/.after" | head -5)"
		echo "  $1: $(head -1 "$T/bad.out")"
	}
	reset_store
	config "$RULES"
	run_ok "a first sync" d sync >/dev/null
	CONNINFO="host=$T/nosuchdir port=$PROD_PORT dbname=shop user=$PROD_READER"
	config "$RULES"
	bad_conn "no server at the socket" "connect|no such file|server"
	CONNINFO="host=$PROD_SOCK port=$PROD_PORT dbname=nosuchdb user=$PROD_READER"
	config "$RULES"
	bad_conn "no such database" "nosuchdb|does not exist"
	CONNINFO="host=$PROD_SOCK port=$PROD_PORT dbname=shop user=$PROD_READER bogus_option=1"
	config "$RULES"
	bad_conn "bad conninfo" "bogus_option|invalid"
	CONNINFO=$(prod_conninfo shop)
	printf 'wrong-password\n' >"$T/secrets/wrong.pw"
	chmod 644 "$T/secrets/wrong.pw"
	PWLINE="password_file: $T/secrets/wrong.pw"
	config "$RULES"
	bad_conn "password file others may read" "mode 0644|others may read"
	chmod 600 "$T/secrets/wrong.pw"
	bad_conn "wrong password" "password authentication failed"
	PWLINE="password_file: $T/secrets/nosuchfile"
	config "$RULES"
	bad_conn "missing password file" "nosuchfile"
	check_prod_data "(bad connections)"
	pass "bad conninfo, database, password or password file: a clear error, the store unchanged, no password shown"
) || failed_part "bad connections"
reset_store

# --- a masked, consistent, complete copy -----------------------------------------------
config "$RULES"
run_ok "sync" d sync >"$T/sync.out"
cat "$T/sync.out"
SNAP=$(ls "$DOPPEL_HOME/snapshots" | sort -n | tail -1)
[ "$(q_sb postgres "SELECT datistemplate AND NOT datallowconn FROM pg_database WHERE datname = '$(SNAPDB "$SNAP")'")" = t ] ||
	fail "no template database $(SNAPDB "$SNAP") in the sandbox cluster: $(q_sb postgres 'SELECT datname FROM pg_database')"
# the template takes no connections: what it holds is read in a sandbox's database made from it
run_ok "create insp" d create insp --tier dev >/dev/null
S1=$(SBDB insp)

# no_overlap WHAT PROD-SQL COPY-SQL: no line of the copy's result is one of production's
no_overlap() {
	q_prod shop "$2" | LC_ALL=C sort -u >"$T/o.prod"
	q_sb "$S1" "$3" | LC_ALL=C sort -u >"$T/o.copy"
	[ -s "$T/o.prod" ] && [ -s "$T/o.copy" ] || fail "$1: no values to compare"
	n=$(LC_ALL=C comm -12 "$T/o.prod" "$T/o.copy" | wc -l)
	[ "$n" = 0 ] || fail "$1: $n original values in the copy, e.g. $(LC_ALL=C comm -12 "$T/o.prod" "$T/o.copy" | head -2)"
}
(
	no_overlap "customers.email" "SELECT email FROM customers" "SELECT email FROM customers"
	no_overlap "customers.name" "SELECT name FROM customers" "SELECT name FROM customers"
	no_overlap "customers.phone" "SELECT phone FROM customers" "SELECT phone FROM customers"
	no_overlap "payments.iban" "SELECT iban FROM payments" "SELECT iban FROM payments"
	no_overlap "orders.customer_email (follows customers.email)" "SELECT customer_email FROM orders" "SELECT customer_email FROM orders"
	# dates: every row's date moved (a shift is never 0)
	no_overlap "customers.birth_date, row by row" "SELECT id || ' ' || birth_date FROM customers" "SELECT id || ' ' || birth_date FROM customers"
	no_overlap "profile.email (jsonb)" "SELECT profile->>'email' FROM customers" "SELECT profile->>'email' FROM customers"
	no_overlap "profile.address.city (jsonb)" "SELECT profile#>>'{address,city}' FROM customers" "SELECT profile#>>'{address,city}' FROM customers"
	no_overlap "profile.address.street (jsonb)" "SELECT profile#>>'{address,street}' FROM customers" "SELECT profile#>>'{address,street}' FROM customers"
	# the fakes keep their kinds' shapes
	q_sb "$S1" "SELECT email FROM customers" | grep -Ev '^[^@ ]+@example\.(com|net|org)$' | head -1 | grep . &&
		fail "an email not on a reserved domain"
	q_sb "$S1" "SELECT profile->>'email' FROM customers" | grep -Ev '^[^@ ]+@example\.(com|net|org)$' | head -1 | grep . &&
		fail "a jsonb email not on a reserved domain"
	q_sb "$S1" "SELECT phone FROM customers" | grep -Ev '^\+4[0-9] [0-9]{3} [0-9]{4} [0-9]{4}$' | head -1 | grep . &&
		fail "a phone lost its shape"
	# the rest of each jsonb document, the arrays and the impersonal columns are untouched
	same() { # same WHAT SQL: production's and the copy's results are equal
		[ "$(q_prod shop "$2")" = "$(q_sb "$S1" "$2")" ] || fail "$1 differs between production and the copy"
	}
	same "profile's other keys" "SELECT id, profile - 'email' - 'address', jsonb_typeof(profile->'address') FROM customers ORDER BY id"
	same "tags (text[])" "SELECT id, tags FROM customers ORDER BY id"
	same "vip, created_at" "SELECT id, vip, created_at FROM customers ORDER BY id"
	same "orders' impersonal columns" "SELECT id, customer_id, amount, card_last4, placed_at, updated_at FROM orders ORDER BY id"
	same "payments' impersonal columns" "SELECT id, order_id, amount, paid_at FROM payments ORDER BY id"
	same "products (allowed)" "SELECT * FROM products ORDER BY id"
	same "order_items" "SELECT * FROM order_items ORDER BY id"
	same "NULLs" "SELECT count(*) FILTER (WHERE phone IS NULL), count(*) FILTER (WHERE profile IS NULL) FROM customers"
	pass "no original value of any masked column in the copy (jsonb keys by path included); the rest unchanged"
) || failed_part "masked values"
(
	q_sb "$S1" "SELECT iban FROM payments" >"$T/ibans"
	python3 - "$T/ibans" <<'PY' || fail "an IBAN does not validate"
import sys
for i in open(sys.argv[1]).read().split():
    n = int("".join(str(int(ch, 36)) for ch in i[4:] + i[:4]))
    assert i.startswith("DE") and len(i) == 22 and n % 97 == 1, i
PY
	for t in customers orders order_items payments products; do
		[ "$(q_sb "$S1" "SELECT count(*) FROM $t")" = "$(q_prod shop "SELECT count(*) FROM $t")" ] || fail "row count of $t differs"
	done
	j="SELECT count(*) FROM orders o JOIN customers c ON c.email = o.customer_email AND c.id = o.customer_id"
	[ "$(q_sb "$S1" "$j")" = 600 ] || fail "join on the masked email: $(q_sb "$S1" "$j") of 600 orders match"
	[ "$(q_sb "$S1" "SELECT count(DISTINCT email) FROM customers")" = 300 ] || fail "masked emails not unique"
	# every foreign key is there and validated, and holds
	fks="SELECT conrelid::regclass || ' ' || conname || ' ' || convalidated FROM pg_constraint WHERE contype = 'f' ORDER BY 1"
	[ "$(q_sb "$S1" "$fks")" = "$(q_prod shop "$fks")" ] || fail "foreign keys differ: $(q_sb "$S1" "$fks")"
	[ "$(q_sb "$S1" "SELECT count(*) FROM order_items i LEFT JOIN orders o ON o.id = i.order_id WHERE o.id IS NULL")" = 0 ] ||
		fail "order_items without their order"
	# constraints, indexes, triggers, views, functions, sequences
	cons="SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1"
	[ "$(q_sb "$S1" "$cons")" = "$(q_prod shop "$cons")" ] || fail "constraints differ"
	idx="SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
	[ "$(q_sb "$S1" "$idx")" = "$(q_prod shop "$idx")" ] || fail "indexes differ: $(q_sb "$S1" "$idx")"
	trg="SELECT tgname || ' ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1"
	[ -n "$(q_prod shop "$trg")" ] && [ "$(q_sb "$S1" "$trg")" = "$(q_prod shop "$trg")" ] || fail "triggers differ"
	vw="SELECT viewname || ' ' || definition FROM pg_views WHERE schemaname = 'public' ORDER BY 1"
	[ "$(q_sb "$S1" "$vw")" = "$(q_prod shop "$vw")" ] || fail "views differ"
	[ "$(q_sb "$S1" "SELECT count(*) FROM order_emails")" = 600 ] || fail "the view does not answer"
	[ "$(q_sb "$S1" "$SEQ_SQL")" = "$PROD_SEQS" ] || fail "sequences differ: $(q_sb "$S1" "$SEQ_SQL") vs $PROD_SEQS"
	pass "copy: row counts, joins on masked keys, foreign keys, constraints, indexes, triggers, views and sequences as in production"
) || failed_part "copy"
check_prod_data "(sync)"

# no original value in the sandbox cluster's files (WAL included)
(
	q_sb postgres "CHECKPOINT" >/dev/null
	q_prod shop "SELECT email FROM customers WHERE id % 15 = 0 UNION ALL SELECT profile->>'email' FROM customers WHERE id % 15 = 0" >"$T/samples"
	printf '%s\n' Quackenbush Zwickelmann Featherstonehaugh Pumpernickel mailbox- privatpost- Kastanienallee Quedlinburg >>"$T/samples"
	hits=$(grep -a -r -i -l -F -f "$T/samples" "$SB_PG" 2>/dev/null | head -3)
	[ -z "$hits" ] || fail "original values in the sandbox cluster's files: $hits"
	# the same search does find the copy's fakes there (it reads the data files)
	fake=$(q_sb "$S1" "SELECT email FROM customers WHERE id = 15")
	grep -a -r -q -F "$fake" "$SB_PG/data" 2>/dev/null || fail "the fake '$fake' is not found in $SB_PG/data: the search reads nothing"
	pass "no sampled original value in the sandbox cluster's files ($(wc -l <"$T/samples") patterns, WAL included)"
) || failed_part "cluster files"

# --- determinism: across syncs, shared with SQLite ------------------------------------------
(
	run_ok "second sync" d sync >/dev/null
	SNAP2=$(ls "$DOPPEL_HOME/snapshots" | sort -n | tail -1)
	[ "$SNAP2" != "$SNAP" ] || fail "no second snapshot"
	run_ok "create insp2" d create insp2 --from "$SNAP2" >/dev/null
	for t in customers orders payments; do
		a=$(q_sb "$S1" "SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM $t t")
		b=$(q_sb "$(SBDB insp2)" "SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM $t t")
		[ "$a" = "$b" ] || fail "masked $t differ between two syncs of the same data"
	done
	crm="$DOPPEL_HOME/snapshots/$SNAP/data/crm.db"
	[ -f "$crm" ] || fail "no SQLite copy in the snapshot"
	sqlite3 "file:$crm?mode=ro&immutable=1" "SELECT id || '|' || email FROM contacts ORDER BY id" >"$T/crm.fake"
	q_sb "$S1" "SELECT id || '|' || email FROM customers WHERE id <= 40 ORDER BY id" >"$T/pg.fake"
	[ -s "$T/pg.fake" ] && cmp -s "$T/crm.fake" "$T/pg.fake" ||
		fail "the same email masks differently in SQLite and PostgreSQL: $(diff "$T/crm.fake" "$T/pg.fake" | head -4)"
	check_prod_data "(second sync)"
	pass "the same fakes on every sync, and the same in SQLite and PostgreSQL under one store"
) || failed_part "determinism"

# --- sandboxes ---------------------------------------------------------------------------------
run_ok "create a" d create a --tier dev >/dev/null
run_ok "create b" d create b --tier dev >/dev/null
A=$(SBDB a)
B=$(SBDB b)
[ "$(q_sb postgres "SELECT count(*) FROM pg_database WHERE datname IN ('$A', '$B')")" = 2 ] ||
	fail "the sandboxes have no databases: $(q_sb postgres 'SELECT datname FROM pg_database')"
SUMS0=$(table_sums q_sb "$A")
(
	[ "$SUMS0" = "$(table_sums q_sb "$(SBDB insp2)")" ] || fail "a new sandbox's database differs from its snapshot's"
	d run a -- /bin/sh -c 'env' >"$T/env.out" || fail "run env: exit $?"
	for v in PGHOST PGPORT PGDATABASE PGUSER PGPASSWORD DATABASE_URL; do
		grep -q "^$v=." "$T/env.out" || fail "$v not set in the sandbox: $(grep -E '^(PG|DATABASE)' "$T/env.out")"
	done
	grep -q "^PGDATABASE=$A\$" "$T/env.out" || fail "PGDATABASE is not the sandbox's database: $(grep ^PGDATABASE "$T/env.out")"
	grep -qF "$PROD_READERPW" "$T/env.out" && fail "production's password in the sandbox's environment"
	out=$(d run a -- "$PSQL" -X -At -c "SELECT current_database(), current_user, count(*) FROM customers" 2>&1) ||
		fail "psql in the sandbox: $out"
	[ "$out" = "$A|$A|300" ] || fail "the sandbox's psql sees: $out"
	out=$(d run a -- /bin/sh -c "\"$PSQL\" -X -At \"\$DATABASE_URL\" -c 'SELECT count(*) FROM orders'" 2>&1) ||
		fail "psql with DATABASE_URL: $out"
	[ "$out" = 600 ] || fail "DATABASE_URL reaches: $out"
	# production's connection settings (its socket directory) lead to the sandbox's server
	out=$(d run a -- /bin/sh -c "PGHOST='$PROD_SOCK' \"$PSQL\" -X -At -c \"SELECT current_setting('cluster_name'), email FROM customers WHERE id = 1\"" 2>&1) ||
		fail "psql at production's socket directory inside the sandbox: $out"
	case "$out" in doppel_test_production*) fail "the sandbox reached production: $out" ;; *@example.*) ;; *) fail "at production's socket path: $out" ;; esac
	# with production's port too, where the app's config names it (informational: the issue says "where possible")
	out=$(d run a -- /bin/sh -c "PGHOST='$PROD_SOCK' PGPORT='$PROD_PORT' \"$PSQL\" -X -At -c 'SELECT count(*) FROM customers'" 2>&1)
	[ "$out" = 300 ] || echo "  note: production's own settings (host=$PROD_SOCK port=$PROD_PORT) do not reach the sandbox's database: $out"
	pass "a sandbox reaches its own masked database with the PG* variables, DATABASE_URL and production's socket path"
) || failed_part "sandbox connection"

(
	# a sandbox's role cannot reach another sandbox's database, nor the templates
	out=$(d run a -- /bin/sh -c "PGDATABASE='$B' \"$PSQL\" -X -At -c 'SELECT count(*) FROM customers'" 2>&1) &&
		fail "sandbox a read sandbox b's database: $out"
	echo "  a -> b: $out"
	out=$(d run a -- /bin/sh -c "PGDATABASE='$S1' \"$PSQL\" -X -At -c 'SELECT 1'" 2>&1) &&
		fail "sandbox a reached the snapshot's template: $out"
	out=$(d run a -- /bin/sh -c "PGDATABASE=postgres \"$PSQL\" -X -At -c 'SELECT 1'" 2>&1) &&
		fail "sandbox a reached the postgres database: $out"
	# nor with b's name as its user (it does not know b's password)
	out=$(d run a -- /bin/sh -c "PGUSER='$B' PGDATABASE='$B' \"$PSQL\" -X -At -c 'SELECT 1'" 2>&1) &&
		fail "sandbox a logged in as b's role with its own password: $out"
	# from the host with a's password too
	apw=$(grep '^PGPASSWORD=' "$T/env.out" | cut -d= -f2-)
	sock=$(sandbox_sock)
	out=$(PGPASSWORD=$apw "$PSQL" -X -At -h "${sock% *}" -p "${sock#* }" -U "$A" -d "$B" -c 'SELECT 1' 2>&1) &&
		fail "a's role read b's database from the host: $out"
	# and a's role is not a superuser and cannot make roles or databases
	out=$(d run a -- "$PSQL" -X -At -c "SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = current_user" 2>&1)
	[ "$out" = f ] || fail "a's role has privileges: $out"
	pass "two sandboxes cannot read each other's databases (nor the templates, nor as each other's role)"
) || failed_part "sandbox separation"

(
	# production is out of reach: its socket path leads to the sandbox's server (above), its TCP port is not there
	out=$(d run a -- /bin/sh -c "PGPASSWORD='$PROD_SUPERPW' \"$PSQL\" -X -At -h '$PROD_SOCK' -p '$PROD_PORT' -U postgres -d shop -c \"SELECT current_setting('cluster_name')\"" 2>&1)
	case "$out" in *doppel_test_production*) fail "the sandbox reached production over its socket: $out" ;; esac
	out=$(d run a -- /bin/sh -c "PGPASSWORD='$PROD_SUPERPW' \"$PSQL\" -X -At -h 127.0.0.1 -p '$PROD_PORT' -U postgres -d shop -c 'SELECT 1'" 2>&1) &&
		fail "the sandbox reached production over TCP: $out"
	# production's data directory (postgres's, 0700) is not readable either; rootless the test's
	# production cluster belongs to the test's own user, unlike a real one, so only as root
	if is_root; then
		d run a -- /bin/sh -c "cat '$PROD_DATA/postmaster.pid'" >/dev/null 2>&1 && fail "the sandbox reads production's data directory"
	fi
	pass "a sandbox cannot reach the production server (socket path, TCP port)"
) || failed_part "production out of reach"

(
	mod="DELETE FROM order_items WHERE id % 2 = 0; UPDATE customers SET vip = NOT vip; INSERT INTO products (name, price) VALUES ('x', 1); SELECT nextval('invoice_no')"
	d run a -- "$PSQL" -X -q -At -c "$mod" >/dev/null || fail "changes in the sandbox"
	[ "$(table_sums q_sb "$A")" != "$SUMS0" ] || fail "the changes did not land"
	t0=$(date +%s.%N)
	run_ok "reset" d reset a >/dev/null
	t1=$(date +%s.%N)
	secs=$(echo "$t1 - $t0" | bc)
	[ "$(table_sums q_sb "$A")" = "$SUMS0" ] || fail "reset did not restore the exact initial state"
	[ "$(q_sb "$A" "$SEQ_SQL")" = "$PROD_SEQS" ] || fail "reset did not restore the sequences"
	[ "$(echo "$secs < 10" | bc)" = 1 ] || fail "reset took $secs s"
	out=$(d run a -- "$PSQL" -X -At -c "SELECT count(*) FROM order_items" 2>&1)
	[ "$out" = 1200 ] || fail "after reset the sandbox sees $out order_items"
	echo "  reset took $secs s"
	# checkpoint, change more, reset --to the checkpoint, reset to the snapshot
	d run a -- "$PSQL" -X -q -c "DELETE FROM payments WHERE id <= 100" >/dev/null || fail "change before the checkpoint"
	CK=$(table_sums q_sb "$A")
	run_ok "checkpoint" d checkpoint a before >/dev/null
	d run a -- "$PSQL" -X -q -c "TRUNCATE order_items; UPDATE orders SET amount = 0" >/dev/null || fail "change after the checkpoint"
	run_ok "reset --to" d reset a --to before >/dev/null
	[ "$(table_sums q_sb "$A")" = "$CK" ] || fail "reset --to did not restore the checkpoint's state"
	run_ok "reset" d reset a >/dev/null
	[ "$(table_sums q_sb "$A")" = "$SUMS0" ] || fail "reset after a checkpoint did not restore the snapshot's state"
	# b never saw any of it
	[ "$(table_sums q_sb "$B")" = "$SUMS0" ] || fail "sandbox b changed"
	check_prod_data "(sandbox changes)"
	pass "reset restores the exact initial state ($secs s); checkpoint and reset --to; the other sandbox untouched"
) || failed_part "reset and checkpoints"

(
	out=$(d scan a 2>&1)
	rc=$?
	[ "$rc" = 0 ] || fail "scan of a clean sandbox: exit $rc: $out"
	printf '%s\n' "$out" | grep -q "shop" || printf '%s\n' "$out" | grep -q "values of" || true
	echo "  $(printf '%s\n' "$out" | tail -1)"
	d scan a --json | json 'j["columns"]' >"$T/scan.cols"
	grep -q "^shop\." "$T/scan.cols" ||
		skip_part "MISSING FEATURE: doppel scan searches no PostgreSQL column (only: $(echo $(cat "$T/scan.cols")))"
	grep -q "^shop.customers.email$" "$T/scan.cols" || fail "the scan does not search shop.customers.email: $(cat "$T/scan.cols")"
	pass "doppel scan covers the PostgreSQL columns and finds a clean sandbox clean"
	# a planted leak: one production email written into a table of the sandbox's database
	leak=$(q_prod shop "SELECT email FROM customers ORDER BY id LIMIT 1")
	out=$(d run a -- "$PSQL" -X -q -c "CREATE TABLE notes (t text); INSERT INTO notes VALUES ('$leak')" 2>&1) || fail "plant a leak: $out"
	out=$(d scan a 2>&1)
	rc=$?
	[ "$rc" = 1 ] || fail "scan of a sandbox holding a production email: exit $rc (want 1): $out"
	printf '%s\n' "$out" | grep -q "^LEAK .*pg/data/base/.*value of shop.customers.email" ||
		fail "the leak is not reported in the sandbox database's files: $out"
	printf '%s\n' "$out" | grep -qF "$leak" && fail "the scan prints the leaked value itself"
	run_ok "reset a after the leak" d reset a >/dev/null
	out=$(d scan a 2>&1) || fail "scan after reset: exit $?: $out"
	pass "doppel scan finds a production email planted in the sandbox's PostgreSQL database, and none after reset"
) || failed_part "scan"

(
	run_ok "destroy b" d destroy b >/dev/null
	[ "$(q_sb postgres "SELECT count(*) FROM pg_database WHERE datname = '$B'")" = 0 ] || fail "destroy left b's database"
	[ "$(q_sb postgres "SELECT count(*) FROM pg_roles WHERE rolname = '$B'")" = 0 ] || fail "destroy left b's role"
	check_consistent "(after destroy)"
	pass "destroy drops the sandbox's database and role; the store is consistent"
) || failed_part "destroy"

(
	d postgres status >"$T/status.out" 2>&1 || fail "doppel postgres status: exit $?: $(cat "$T/status.out")"
	run_ok "postgres stop" d postgres stop >/dev/null
	[ -z "$(pids_in_T | while read -r p; do case "$(readlink "/proc/$p/cwd")" in "$SB_PG"*) echo "$p" ;; esac; done)" ] ||
		fail "the sandbox cluster still runs after doppel postgres stop"
	out=$(d run a -- "$PSQL" -X -At -c "SELECT count(*) FROM customers" 2>&1) || fail "run after stop: $out"
	[ "$out" = 300 ] || fail "after a stop, run sees: $out"
	pass "doppel postgres status and stop; run starts the cluster again"
) || failed_part "postgres status/stop"

check_prod_data "(end)"
finish
