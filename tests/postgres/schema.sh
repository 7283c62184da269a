#!/bin/sh
# Schema differences in `doppel diff` and `doppel drift` (issue 7), against a
# throwaway production cluster of the test's own (tests/postgres/lib.sh):
#  - a fresh sandbox shows no schema change; after its app (psql inside the
#    sandbox) adds a column, changes a column's type, creates an index and
#    drops a table, `doppel diff` lists exactly those four, in text and in
#    --json;
#  - after production's schema changes (a table added, a column added, a
#    column made NOT NULL), `doppel drift` lists exactly those three, in
#    text and in --json;
#  - neither command leaves a database behind in the sandbox cluster (the
#    template is read from a throwaway copy) nor opens the template to
#    connections, and production's data changes only by the test's own DDL.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"
. "$DOPPEL_SRC/tests/postgres/lib.sh"

prod_start
make_reader
q_prod postgres "CREATE DATABASE inv" >/dev/null
q_prod inv "CREATE TABLE items (id serial PRIMARY KEY, sku text NOT NULL UNIQUE, qty integer NOT NULL DEFAULT 0);
	CREATE TABLE legacy (id integer PRIMARY KEY, code text);
	CREATE INDEX items_by_qty ON items (qty);
	INSERT INTO items (sku, qty) SELECT 'SKU-' || i, i FROM generate_series(1, 50) i;
	INSERT INTO legacy SELECT i, 'C' || i FROM generate_series(1, 10) i;" >/dev/null
mkdir -p "$P/app"
echo "the app" >"$P/app/main.sh"
chmod -R a+rX "$P"
{
	echo "version: 1"
	echo "production:"
	echo "  root: $P"
	echo "  databases:"
	echo "    - {name: inv, postgres: \"$(prod_conninfo inv)\", password_file: $T/secrets/reader.pw}"
	echo "tiers:"
	echo "  dev: {network: loopback}"
} >"$DOPPEL_CONFIG"

# No copy left behind, the template still closed to connections.
check_cluster() {
	[ "$(q_sb postgres "SELECT count(*) FROM pg_database WHERE datname LIKE 'doppel\\_t%'")" = 0 ] ||
		fail "$1 left a database: $(q_sb postgres "SELECT datname FROM pg_database WHERE datname LIKE 'doppel%'")"
	[ "$(q_sb postgres "SELECT bool_and(datistemplate AND NOT datallowconn) FROM pg_database WHERE datname LIKE 'doppel\\_s%'")" = t ] ||
		fail "$1 opened a template: $(q_sb postgres "SELECT datname, datistemplate, datallowconn FROM pg_database")"
}
schema_lines() { grep -E '^[AMD] [a-z ]+ inv\.' "$1"; }

run_ok "sync" d sync >/dev/null
run_ok "create" d create s1 --tier dev >/dev/null
SB=doppel_b_s1_inv

(
	d diff s1 >"$T/diff0.out" 2>&1 || fail "diff of a fresh sandbox: exit $?: $(cat "$T/diff0.out")"
	[ -z "$(schema_lines "$T/diff0.out")" ] || fail "a fresh sandbox has schema changes: $(cat "$T/diff0.out")"
	check_cluster "diff"
	out=$(d run s1 -- "$PSQL" -X -q -v ON_ERROR_STOP=1 -c "ALTER TABLE items ADD COLUMN note text" \
		-c "ALTER TABLE items ALTER COLUMN qty TYPE bigint" -c "CREATE INDEX items_sku_lower ON items (lower(sku))" \
		-c "DROP TABLE legacy" 2>&1) || fail "psql in the sandbox: $out"
	d diff s1 >"$T/diff.out" 2>&1 || fail "diff: exit $?: $(cat "$T/diff.out")"
	want="A column inv.public.items.note: text
M column inv.public.items.qty: type integer -> bigint
A index inv.public.items.items_sku_lower: CREATE INDEX items_sku_lower ON public.items USING btree (lower(sku))
D table inv.public.legacy"
	[ "$(schema_lines "$T/diff.out")" = "$want" ] || fail "diff: expected
$want
got
$(cat "$T/diff.out")"
	sed 's/^/  /' "$T/diff.out"
	check_cluster "diff"
	pass "diff lists exactly the sandbox's schema changes (column added, type changed, index added, table dropped)"
) || failed_part "diff"

(
	d diff s1 --json >"$T/diff.json" 2>&1 || fail "diff --json: exit $?: $(cat "$T/diff.json")"
	python3 -c 'import json,sys; json.load(sys.stdin)' <"$T/diff.json" || fail "diff --json does not parse: $(cat "$T/diff.json")"
	got=$(json '[c["change"] + " " + c["object"] + " " + c["name"] + " " + c.get("attribute", "-") + " " + c.get("old", "-") + " " + c.get("new", "-") for e in j if "database" in e and e["database"] == "inv" for c in e["schema"]]' <"$T/diff.json")
	want="added column public.items.note - - text
modified column public.items.qty type integer bigint
added index public.items.items_sku_lower - - CREATE INDEX items_sku_lower ON public.items USING btree (lower(sku))
deleted table public.legacy - - -"
	[ "$got" = "$want" ] || fail "diff --json: expected
$want
got
$got
($(cat "$T/diff.json"))"
	pass "diff --json has the same changes under the database's \"schema\""
) || failed_part "diff --json"

(
	d drift s1 >"$T/drift0.out" 2>&1 || fail "drift before production changed: exit $?: $(cat "$T/drift0.out")"
	grep -q "^database inv: 0 schema changes since:" "$T/drift0.out" || fail "drift before any change: $(cat "$T/drift0.out")"
	[ -z "$(schema_lines "$T/drift0.out")" ] || fail "drift before any change: $(cat "$T/drift0.out")"
	SUMS=$(prod_sums inv)
	q_prod inv "CREATE TABLE audit (id bigint); ALTER TABLE items ADD COLUMN price numeric(10,2);
		ALTER TABLE legacy ALTER COLUMN code SET NOT NULL" >/dev/null
	SUMS2=$(prod_sums inv)
	d drift s1 >"$T/drift.out" 2>&1 || fail "drift: exit $?: $(cat "$T/drift.out")"
	want="A table inv.public.audit
A column inv.public.items.price: numeric(10,2)
M column inv.public.legacy.code: nullability null -> not null"
	[ "$(schema_lines "$T/drift.out")" = "$want" ] || fail "drift: expected
$want
got
$(cat "$T/drift.out")"
	grep -q "^database inv: 3 schema changes since:" "$T/drift.out" || fail "drift's count: $(cat "$T/drift.out")"
	sed 's/^/  /' "$T/drift.out"
	d drift s1 --json >"$T/drift.json" 2>&1 || fail "drift --json: exit $?: $(cat "$T/drift.json")"
	python3 -c 'import json,sys; json.load(sys.stdin)' <"$T/drift.json" || fail "drift --json does not parse: $(cat "$T/drift.json")"
	got=$(json '[c["change"] + " " + c["object"] + " " + c["name"] for e in j["schema"] if e["database"] == "inv" for c in e["schema"]]' <"$T/drift.json")
	[ "$got" = "added table public.audit
added column public.items.price
modified column public.legacy.code" ] || fail "drift --json: $(cat "$T/drift.json")"
	check_cluster "drift"
	# the sandbox's own changes are not production's
	d diff s1 >"$T/diff2.out" 2>&1 || fail "diff after drift: exit $?"
	[ "$(schema_lines "$T/diff2.out" | wc -l)" = 4 ] || fail "diff after production changed: $(cat "$T/diff2.out")"
	[ "$(prod_sums inv)" = "$SUMS2" ] || fail "production's data changed during drift"
	[ "$SUMS" != "" ] || fail "no checksums of production"
	pass "drift lists exactly production's schema changes since the snapshot (text and --json); production unchanged by doppel"
) || failed_part "drift"
finish
