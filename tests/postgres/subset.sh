#!/bin/sh
# Subsets of a PostgreSQL database for a `data: subset` tier (issue 7),
# against a throwaway production cluster of the test's own
# (tests/postgres/lib.sh). The shop fixture gets more keys to follow: a
# self-reference (customers.referred_by, two steps deep), a second filtered
# table (reviews) whose customers are pulled in, a composite key
# (shipments -> orders (id, customer_id)) and a partitioned table (events)
# with NULL references.
#  - bad rules (no such table, a WHERE that does not run) stop the sync with
#    doppel.yaml's position, record nothing and leave no database behind;
#  - after a sync, a qa sandbox's database holds exactly the rows the rules
#    select (id lists computed here with SQL on production), every foreign
#    key holds (PostgreSQL re-adds each one), the values are masked and the
#    same fakes as the full copy's; a dev (full) sandbox holds every row;
#  - reset and checkpoints of the qa sandbox return to the subset;
#  - a second sync makes a new subset template with production's new rows;
#    pruning drops the old templates: every doppel_* database in the cluster
#    is one the store names; `doppel check` is clean;
#  - production's rows, checksums and sequences never change.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"
. "$DOPPEL_SRC/tests/postgres/lib.sh"

prod_start
make_reader
shop_fixture 300
q_prod shop "
ALTER TABLE customers ADD COLUMN referred_by integer REFERENCES customers(id);
UPDATE customers SET referred_by = id - 3 WHERE id % 10 = 0;
UPDATE customers SET referred_by = id - 5 WHERE id % 10 = 7;
CREATE TABLE reviews (
    id serial PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers(id),
    product_id integer REFERENCES products(id),
    stars integer NOT NULL);
INSERT INTO reviews (customer_id, product_id, stars)
    SELECT 1 + (r * 17) % 300, CASE WHEN r % 5 = 0 THEN NULL ELSE 1 + r % 20 END, 1 + r % 5
    FROM generate_series(1, 120) r;
ALTER TABLE orders ADD CONSTRAINT orders_id_customer UNIQUE (id, customer_id);
CREATE TABLE shipments (
    id serial PRIMARY KEY,
    order_id integer NOT NULL,
    customer_id integer NOT NULL,
    carrier text NOT NULL,
    FOREIGN KEY (order_id, customer_id) REFERENCES orders (id, customer_id));
INSERT INTO shipments (order_id, customer_id, carrier)
    SELECT id, customer_id, 'carrier-' || (id % 4) FROM orders WHERE id % 3 = 0;
CREATE TABLE events (
    id bigint NOT NULL,
    customer_id integer REFERENCES customers(id),
    order_id integer,
    at date NOT NULL,
    kind text NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO events
    SELECT e, CASE WHEN e % 9 = 0 THEN NULL ELSE 1 + (e * 7) % 300 END,
           CASE WHEN e % 2 = 0 THEN 1 + (e * 11) % 600 END, date '2025-06-01' + (e % 400), 'kind-' || (e % 4)
    FROM generate_series(1, 500) e;
-- a key on one partition only: it binds 2026's events, not 2025's
ALTER TABLE events_2026 ADD CONSTRAINT events_2026_order FOREIGN KEY (order_id) REFERENCES orders(id);
ANALYZE;" >/dev/null
mkdir -p "$P/app"
echo "the app" >"$P/app/main.sh"
chmod -R a+rX "$P"

TABLES="customers orders order_items payments products reviews shipments events"
PROD_SUMS=$(prod_sums shop)
PROD_SEQS=$(q_prod shop "$SEQ_SQL")
check_prod_data() {
	[ "$(prod_sums shop)" = "$PROD_SUMS" ] || fail "production's data changed ${1:-}"
	[ "$(q_prod shop "$SEQ_SQL")" = "$PROD_SEQS" ] || fail "production's sequences changed ${1:-}"
}

CONNINFO=$(prod_conninfo shop)
SUBSET='subset:
  qa:
    shop.customers: "id % 10 = 0"
    shop.reviews: "reviews.id % 4 = 0"
  dev:
    shop.customers: "id < 5"'
config() { # config [SUBSET-TEXT]
	cat >"$DOPPEL_CONFIG" <<EOF2
version: 1
production:
  root: $P
  databases:
    - {name: shop, postgres: "$CONNINFO", password_file: $T/secrets/reader.pw}
tiers:
  dev: {network: loopback, data: full}
  qa: {network: loopback, data: subset}
sync: {keep: 1}
masking:
  rules:
    shop.customers.name: name
    shop.customers.email: email
    shop.customers.phone: phone
    shop.customers.birth_date: {date: {days: 60}}
    shop.customers.profile.\$.email: email
    shop.customers.profile.\$.address.city: city
    shop.customers.profile.\$.address.street: address
    shop.payments.iban: iban
  allow: [shop.products.name, shop.orders.card_last4]
${1-$SUBSET}
EOF2
}

SBDB() { echo "doppel_b_$1_shop"; }
# doppel's databases in the sandbox cluster, one a line, sorted
doppel_dbs() { q_sb postgres "SELECT datname FROM pg_database WHERE datname LIKE 'doppel\\_%' ORDER BY 1"; }
# the template databases the store names, sorted
store_templates() { sqlite3 "file:$DOPPEL_HOME/doppel.db?mode=ro" "SELECT pgname FROM snapshot_databases ORDER BY 1"; }
command -v sqlite3 >/dev/null || skip "the sqlite3 shell is needed to read the store's records"

# --- bad rules ------------------------------------------------------------------------------
(
	config 'subset:
  qa: {shop.clients: "id > 3"}'
	expect_usage_error "unknown table" "doppel.yaml:[0-9]+: subset.qa.shop.clients: no table 'clients'" d sync
	config 'subset:
  qa: {shop.customers: "nosuchcolumn > 3"}'
	expect_usage_error "bad WHERE" "doppel.yaml:[0-9]+: subset.qa.shop.customers: .*nosuchcolumn.* does not exist" d sync
	config 'subset:
  qa: {shop.customers: "id > ) 3"}'
	expect_usage_error "WHERE syntax" "doppel.yaml:[0-9]+: subset.qa.shop.customers: syntax error" d sync
	echo "  $(printf '%s\n' "$ERRMSG" | head -1)"
	[ ! -e "$DOPPEL_HOME/snapshots/1" ] || fail "a refused sync left a snapshot"
	[ -z "$(store_templates)" ] || fail "a refused sync recorded databases: $(store_templates)"
	[ -z "$(doppel_dbs)" ] || fail "a refused sync left databases in the cluster: $(doppel_dbs)"
	check_prod_data "(bad rules)"
	pass "bad subset rules stop the sync with their position; nothing recorded, no database left"
) || failed_part "bad rules"

# --- the subset --------------------------------------------------------------------------------
config
run_ok "sync" d sync >"$T/sync.out"
cat "$T/sync.out"
grep -q "1 subset for partial-copy tiers" "$T/sync.out" || fail "sync does not report the subset: $(cat "$T/sync.out")"
check_prod_data "(sync)"
run_ok "create qa1" d create qa1 --tier qa >/dev/null
run_ok "create dev1" d create dev1 --tier dev >/dev/null
QA=$(SBDB qa1)
DEV=$(SBDB dev1)

# What the rules select, computed on production: the filtered customers;
# the orders, items, payments, shipments and events downstream of them
# (events with a NULL reference pass); the filtered reviews; then every
# customer a kept row references (reviews' customers, referrers, theirs).
ids() { q_prod shop "$1" | LC_ALL=C sort | tr '\n' ' '; }
sb_ids() { q_sb "$1" "$2" | LC_ALL=C sort | tr '\n' ' '; }
W_ORDERS="SELECT id FROM orders WHERE customer_id % 10 = 0"
W_CUSTOMERS="WITH RECURSIVE k(id) AS (
    SELECT id FROM customers WHERE id % 10 = 0
    UNION SELECT customer_id FROM reviews WHERE id % 4 = 0
    UNION SELECT c.referred_by FROM customers c JOIN k ON c.id = k.id WHERE c.referred_by IS NOT NULL)
  SELECT id FROM k"
(
	want_c=$(ids "$W_CUSTOMERS")
	got_c=$(sb_ids "$QA" "SELECT id FROM customers")
	[ "$got_c" = "$want_c" ] || fail "customers: $(echo $got_c | wc -w) ids, want $(echo $want_c | wc -w): got [$got_c] want [$want_c]"
	# the closure did pull in customers outside the WHERE (through reviews and referrers)
	extra=$(q_sb "$QA" "SELECT count(*) FROM customers WHERE id % 10 <> 0")
	[ "$extra" -gt 0 ] || fail "no customer outside the WHERE was pulled in"
	deep=$(q_sb "$QA" "SELECT count(*) FROM customers WHERE id % 10 = 2")
	[ "$deep" -gt 0 ] || fail "the referrers' referrers (id % 10 = 2) were not pulled in"
	for spec in \
		"orders|$W_ORDERS" \
		"order_items|SELECT id FROM order_items WHERE order_id IN ($W_ORDERS)" \
		"payments|SELECT id FROM payments WHERE order_id IN ($W_ORDERS)" \
		"shipments|SELECT id FROM shipments WHERE order_id IN ($W_ORDERS)" \
		"reviews|SELECT id FROM reviews WHERE id % 4 = 0" \
		"events|SELECT id FROM events WHERE (customer_id IS NULL OR customer_id % 10 = 0)
			AND (at < '2026-01-01' OR order_id IS NULL OR order_id IN ($W_ORDERS))" \
		"products|SELECT id FROM products"; do
		t=${spec%%|*}
		want=$(ids "${spec#*|}")
		got=$(sb_ids "$QA" "SELECT id FROM $t")
		[ -n "$want" ] || fail "$t: the expected set is empty (the fixture is wrong)"
		[ "$got" = "$want" ] || fail "$t: $(echo $got | wc -w) rows, want $(echo $want | wc -w)"
	done
	[ "$(q_sb "$QA" "SELECT count(*) FROM ONLY events")" = 0 ] || fail "rows in the partitioned table itself"
	[ "$(q_sb "$QA" "SELECT count(*) FROM events WHERE customer_id IS NULL")" -gt 0 ] || fail "NULL references did not pass"
	[ "$(q_sb "$QA" "SELECT count(*) FROM events_2025 WHERE order_id NOT IN (SELECT id FROM orders)")" -gt 0 ] ||
		fail "2025's events were bound by a key of 2026's partition"
	echo "  qa keeps: $(for t in $TABLES; do printf '%s %s/%s  ' "$t" "$(q_sb "$QA" "SELECT count(*) FROM $t")" "$(q_prod shop "SELECT count(*) FROM $t")"; done)"
	pass "qa's database holds exactly the selected rows: WHERE, downstream (composite and partitioned keys, NULLs), closure"
) || failed_part "subset rows"

(
	# PostgreSQL itself re-adds every foreign key (it checks every row), then all is rolled back
	_sock=$(sandbox_sock)
	out=$(PGPASSWORD=$(cat "$SB_PG/admin.pw") "$PSQL" -X -q -At -h "${_sock% *}" -p "${_sock#* }" -U doppel -d "$QA" -c "DO \$\$DECLARE r record; n int := 0; BEGIN
	  FOR r IN SELECT conrelid::regclass AS t, conname, pg_get_constraintdef(oid) AS def
	           FROM pg_constraint WHERE contype = 'f' AND conparentid = 0 LOOP
	    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.t, r.conname);
	    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', r.t, r.conname, r.def);
	    n := n + 1;
	  END LOOP;
	  RAISE EXCEPTION 'checked % keys', n;
	END\$\$" 2>&1)
	case "$out" in *"checked 11 keys"*) ;; *) fail "foreign keys of the subset: $out" ;; esac
	[ "$(q_sb "$QA" "SELECT count(*) FROM order_items i LEFT JOIN orders o ON o.id = i.order_id WHERE o.id IS NULL")" = 0 ] ||
		fail "order_items without their order"
	[ "$(q_sb "$QA" "SELECT count(*) FROM customers c LEFT JOIN customers r ON r.id = c.referred_by WHERE c.referred_by IS NOT NULL AND r.id IS NULL")" = 0 ] ||
		fail "a referrer is missing"
	fks="SELECT conrelid::regclass || ' ' || conname || ' ' || convalidated FROM pg_constraint WHERE contype = 'f' ORDER BY 1"
	[ "$(q_sb "$QA" "$fks")" = "$(q_prod shop "$fks")" ] || fail "the subset's foreign keys differ from production's"
	pass "every foreign key of the subset holds (11 keys re-added by PostgreSQL)"
) || failed_part "foreign keys"

(
	q_prod shop "SELECT email FROM customers" | LC_ALL=C sort -u >"$T/prod.emails"
	q_sb "$QA" "SELECT email FROM customers UNION ALL SELECT customer_email FROM orders UNION ALL SELECT profile->>'email' FROM customers" |
		LC_ALL=C sort -u >"$T/qa.emails"
	[ -s "$T/qa.emails" ] || fail "no emails in the subset"
	n=$(LC_ALL=C comm -12 "$T/prod.emails" "$T/qa.emails" | wc -l)
	[ "$n" = 0 ] || fail "$n production emails in the subset"
	grep -Ev '^[^@ ]+@example\.(com|net|org)$' "$T/qa.emails" | head -1 | grep . && fail "an email not on a reserved domain"
	q_sb "$QA" "SELECT name FROM customers" | grep -E 'Quackenbush|Zwickelmann|Featherstonehaugh|Pumpernickel' | head -1 | grep . &&
		fail "a production surname in the subset"
	# the same fakes as the full copy, row for row
	ids=$(q_sb "$QA" "SELECT string_agg(id::text, ',') FROM customers")
	a=$(q_sb "$QA" "SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM customers t")
	b=$(q_sb "$DEV" "SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM customers t WHERE id IN ($ids)")
	[ "$a" = "$b" ] || fail "the subset's customers differ from the full copy's"
	a=$(q_sb "$QA" "SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM payments t")
	b=$(q_sb "$DEV" "SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM payments t WHERE order_id IN (SELECT id FROM orders WHERE customer_id % 10 = 0)")
	[ "$a" = "$b" ] || fail "the subset's payments differ from the full copy's"
	pass "the subset is masked (no production email or name) and holds the full copy's fakes"
) || failed_part "masked"

(
	for t in $TABLES; do
		[ "$(q_sb "$DEV" "SELECT count(*) FROM $t")" = "$(q_prod shop "SELECT count(*) FROM $t")" ] ||
			fail "dev's $t: $(q_sb "$DEV" "SELECT count(*) FROM $t") rows of $(q_prod shop "SELECT count(*) FROM $t")"
	done
	[ "$(q_sb "$DEV" "$SEQ_SQL")" = "$PROD_SEQS" ] || fail "dev's sequences differ"
	[ "$(q_sb "$QA" "$SEQ_SQL")" = "$PROD_SEQS" ] || fail "qa's sequences differ from production's"
	pass "a full tier's sandbox has every row (its subset rule is ignored); both keep production's sequences"
) || failed_part "full tier"

(
	# the sandbox's own role reaches the subset, as the app would
	out=$(d run qa1 -- "$PSQL" -X -At -c "SELECT count(*) FROM orders" 2>&1) || fail "psql in qa1: $out"
	[ "$out" = "$(q_prod shop "SELECT count(*) FROM ($W_ORDERS) o")" ] || fail "qa1's app sees $out orders"
	SUMS0=$(table_sums q_sb "$QA")
	d run qa1 -- "$PSQL" -X -q -c "DELETE FROM order_items; UPDATE customers SET vip = NOT vip; INSERT INTO products (name, price) VALUES ('x', 1)" >/dev/null ||
		fail "changes in qa1"
	[ "$(table_sums q_sb "$QA")" != "$SUMS0" ] || fail "the changes did not land"
	run_ok "reset qa1" d reset qa1 >/dev/null
	[ "$(table_sums q_sb "$QA")" = "$SUMS0" ] || fail "reset did not restore the subset"
	d run qa1 -- "$PSQL" -X -q -c "DELETE FROM reviews" >/dev/null || fail "change before the checkpoint"
	CK=$(table_sums q_sb "$QA")
	run_ok "checkpoint" d checkpoint qa1 c1 >/dev/null
	d run qa1 -- "$PSQL" -X -q -c "TRUNCATE shipments" >/dev/null || fail "change after the checkpoint"
	run_ok "reset --to" d reset qa1 --to c1 >/dev/null
	[ "$(table_sums q_sb "$QA")" = "$CK" ] || fail "reset --to did not restore the checkpoint"
	run_ok "reset" d reset qa1 >/dev/null
	[ "$(table_sums q_sb "$QA")" = "$SUMS0" ] || fail "reset after a checkpoint did not restore the subset"
	check_prod_data "(sandbox changes)"
	pass "reset returns qa1 to the subset; checkpoint and reset --to work on it"
) || failed_part "reset"

(
	[ "$(doppel_dbs | grep -c '^doppel_u1_qa_shop_[0-9a-f]\{6\}$')" = 1 ] || fail "no subset template for qa: $(doppel_dbs)"
	doppel_dbs | grep -q '^doppel_u1_dev' && fail "a full tier got a subset template: $(doppel_dbs)"
	t=$(doppel_dbs | grep '^doppel_u1_qa_shop_')
	[ "$(q_sb postgres "SELECT datistemplate AND NOT datallowconn FROM pg_database WHERE datname = '$t'")" = t ] ||
		fail "the subset is not a closed template"
	# the cut tables were rewritten: their files hold only what is kept
	bytes="SELECT sum(pg_relation_size(t::regclass)) FROM unnest('{orders,order_items,payments,shipments}'::text[]) t"
	full=$(q_sb "$DEV" "$bytes")
	sub=$(q_sb "$QA" "$bytes")
	echo "  orders, order_items, payments, shipments: full copy $full bytes, qa subset $sub bytes"
	[ "$sub" -lt $((full / 3)) ] || fail "the subset's cut tables take $sub bytes, the full copy's $full"
	check_consistent "(after the first sync)"
	pass "the subset is its own template database, recorded in the store; check is consistent"
) || failed_part "template"

# --- a second sync: new rows in production, a new subset; pruning drops the old ---------------
q_prod shop "INSERT INTO customers (id, name, email, vip) VALUES (1000, 'Zenobia Quackenbush', 'zenobia.q@mailbox-9.example.org', false);
	     INSERT INTO orders (id, customer_id, customer_email, amount, placed_at) VALUES (5000, 1000, 'zenobia.q@mailbox-9.example.org', 9.99, '2026-02-02 10:00+00')" >/dev/null
PROD_SUMS=$(prod_sums shop)
(
	run_ok "destroy qa1" d destroy qa1 >/dev/null
	run_ok "destroy dev1" d destroy dev1 >/dev/null
	run_ok "second sync" d sync >"$T/sync2.out"
	[ ! -e "$DOPPEL_HOME/snapshots/1" ] || fail "snapshot 1 was not pruned (keep: 1)"
	run_ok "create qa2" d create qa2 --tier qa >/dev/null
	[ "$(q_sb "$(SBDB qa2)" "SELECT count(*) FROM customers WHERE id = 1000")" = 1 ] || fail "the new subset lacks production's new customer"
	[ "$(q_sb "$(SBDB qa2)" "SELECT count(*) FROM orders WHERE id = 5000")" = 1 ] || fail "the new subset lacks its order"
	q_sb "$(SBDB qa2)" "SELECT name || email FROM customers WHERE id = 1000" | grep -q 'Quackenbush\|mailbox' && fail "the new customer is not masked"
	[ "$(sb_ids "$(SBDB qa2)" "SELECT id FROM customers")" = "$(ids "$W_CUSTOMERS")" ] || fail "the second subset's customers"
	# every doppel database in the cluster is a template the store names, or qa2's
	want=$( (store_templates; echo "$(SBDB qa2)") | LC_ALL=C sort)
	got=$(doppel_dbs | LC_ALL=C sort)
	[ "$got" = "$want" ] || fail "the cluster's databases [$(echo $got)] are not the store's [$(echo $want)]"
	printf '%s\n' "$got" | grep -q '^doppel_u2_qa_shop_' || fail "no subset template of snapshot 2: $(echo $got)"
	printf '%s\n' "$got" | grep -q 'doppel_s1_\|doppel_u1_' && fail "snapshot 1's templates were not dropped: $(echo $got)"
	check_consistent "(after prune)"
	out=$(d check 2>&1)
	printf '%s\n' "$out" | grep -q "^problem\|^repaired" && fail "check found something: $out"
	check_prod_data "(second sync)"
	echo "  databases: $(echo $got)"
	pass "a second sync makes a new subset template; prune drops the old ones; nothing leaked"
) || failed_part "second sync and prune"

check_prod_data "(end)"
finish
