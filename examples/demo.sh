#!/bin/sh
# The main job, narrated: a sample production app with a SQLite database of
# products, customers and orders is described in doppel.yaml (doppel init
# suggests masking rules for the personal columns), synced into a snapshot
# whose database copy is consistent and masked, given dev (a subset of the
# customers) and qa (all of them) sandboxes; a leak scan proves no personal
# value got in; a "new feature" runs in dev and wrecks its copy; diff shows
# what changed, reset brings the sandbox back at once, and production stays
# byte-for-byte unchanged throughout.
set -eu
DOPPEL=${1:-build/doppel}
DOPPEL=$(cd "$(dirname "$DOPPEL")" && pwd)/$(basename "$DOPPEL")
DEMO=$(mktemp -d /tmp/doppel-demo.XXXXXX)
trap 'rm -rf "$DEMO"' EXIT
chmod 755 "$DEMO"
export DOPPEL_HOME="$DEMO/store" DOPPEL_CONFIG="$DEMO/doppel.yaml"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
d() { printf '$ doppel %s\n' "$*"; "$DOPPEL" "$@"; }

PROD=$DEMO/srv/shop
mkdir -p "$PROD/data" "$PROD/bin" "$PROD/static" "$PROD/logs"
sqlite3 "$PROD/data/catalog.db" >/dev/null <<'SQL'
PRAGMA journal_mode=WAL;
CREATE TABLE products (id INTEGER PRIMARY KEY, title TEXT, price REAL, stock INTEGER);
INSERT INTO products VALUES (1,'teapot',19.99,12),(2,'kettle',34.50,3),(3,'mug',5.00,140);
CREATE TABLE customers (id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, email TEXT UNIQUE NOT NULL, phone TEXT);
INSERT INTO customers VALUES
  (1,'Ada Lovelace','ada@analytical.example.org','+44 20 7946 0001'),
  (2,'Grace Hopper','grace@cobol.example.org','+1 212 555 0142'),
  (3,'Alan Turing','alan@bletchley.example.org','+44 20 7946 0003'),
  (4,'Edsger Dijkstra','edsger@shortest.example.org','+31 20 555 0104');
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
  product_id INTEGER REFERENCES products(id), qty INTEGER);
INSERT INTO orders VALUES (1,1,1,2),(2,2,3,6),(3,2,2,1),(4,3,1,1),(5,4,3,12);
SQL
for i in $(seq 1 300); do echo "asset $i" > "$PROD/static/asset$i.css"; done
echo "request log" > "$PROD/logs/access.log"
cat > "$PROD/bin/shop" <<'APP'
#!/bin/sh
# the sample app: a report, and a "new feature" that reprices everything
db=/srv/shop/data/catalog.db
[ -d "$(dirname "$0")/../data" ] && db=$(cd "$(dirname "$0")/.." && pwd)/data/catalog.db
echo "shop: $(sqlite3 $db 'select count(*) from products') products, stock value $(sqlite3 $db 'select round(sum(price*stock),2) from products'), $(sqlite3 $db 'select count(*) from customers') customers"
if [ "${1:-}" = new-feature ]; then
	sqlite3 $db "update products set price = price * 100; delete from products where id = 3"
	rm -f "$(dirname "$db")/../static/asset1.css"; echo v2 > "$(dirname "$db")/../VERSION"
	echo "shop: new feature ran: stock value $(sqlite3 $db 'select round(sum(price*stock),2) from products')"
fi
if [ "${1:-}" = checkout ]; then # checkout ORDER CARD: charge the card through the payment provider
	cents=$(sqlite3 $db "select cast(round(price*qty*100) as int) from orders join products on products.id = product_id where orders.id = $2")
	printf 'shop: charging order %s (%s cents) to card %s: ' "$2" "$cents" "$3"
	curl -sS -X POST https://api.payments.example/v1/charges -H "Authorization: Bearer $PAYMENT_API_KEY" \
		-H 'Content-Type: application/json' -d "{\"amount\": $cents, \"currency\": \"eur\", \"card\": {\"number\": \"$3\"}}" \
		-w ' (HTTP %{http_code})\n'
fi
if [ "${1:-}" = balance ]; then
	printf 'shop: balance: '
	curl -sS https://api.payments.example/v1/balance -H "Authorization: Bearer $PAYMENT_API_KEY" -w ' (HTTP %{http_code})\n'
fi
APP
chmod -R a+rX "$DEMO"; chmod 755 "$PROD/bin/shop"
hash_prod() { (cd "$PROD" && find . -type f -exec sha256sum {} + | sort | sha256sum | cut -c1-16); }
BEFORE=$(hash_prod)

say "production: $PROD, 300 static files and a SQLite catalog (sha256 $BEFORE)"
"$PROD/bin/shop"

say "describe it once: doppel init finds the database and suggests masking rules"
d init --root "$PROD" --output "$DOPPEL_CONFIG"
sed -i 's|^  exclude: .*|  exclude: ["logs/**"]|' "$DOPPEL_CONFIG"
# the payment provider's API: answered in sandboxes by a stand-in, at its own
# host name over HTTPS, with a test key instead of production's secret
EXAMPLES=$(cd "$(dirname "$0")" && pwd)
sed -i 's|^  # secrets: .*|  secrets: {PAYMENT_API_KEY: sk_test_sandbox}|' "$DOPPEL_CONFIG"
printf 'endpoints:\n  api.payments.example: {mappings: %s/endpoints/payments}\n' "$EXAMPLES" >>"$DOPPEL_CONFIG"
# dev gets a slice of the customers (and whatever their orders need); qa all
printf 'subset:\n  dev: {catalog.customers: "id %% 2 = 0"}\n' >>"$DOPPEL_CONFIG"
grep -E '^(version|production|  root|  exclude|  secrets|  databases|    - |tiers|  dev|  qa|sync|masking|  strict|  rules|    catalog|subset|endpoints|  api)' "$DOPPEL_CONFIG"

say "take a snapshot: files shared or copied, the database copied consistently and masked"
d sync
d create dev --tier dev
d create qa --tier qa
d ls

say "production's customers, and what the sandboxes see at the same path"
q="select id, full_name, email, phone from customers"
sqlite3 -header -column "file:$PROD/data/catalog.db?mode=ro&immutable=1" "$q"
echo "-- qa (full copy, masked):"
d run qa -- sqlite3 -header -column "$PROD/data/catalog.db" "$q"
echo "-- dev (subset: even ids, masked; their orders still join):"
d run dev -- sqlite3 -header -column "$PROD/data/catalog.db" "$q; select count(*) as orders_of_kept_customers from orders join customers on customers.id = orders.customer_id"

say "prove it: no production personal value anywhere in the sandboxes"
d scan dev
d scan qa

say "the app pays through https://api.payments.example: inside the sandbox a stand-in answers (no real money)"
d run dev -- "$PROD/bin/shop" checkout 3 4242424242424242
d run dev -- "$PROD/bin/shop" checkout 3 4000000000000002
echo "-- force the provider's rate limit for the next run, then call it:"
d endpoints dev scenario api.payments.example balance-rate-limit limited
d run dev -- "$PROD/bin/shop" balance
d endpoints dev journal

say "run the app in dev: production's tree appears at its own path, copy-on-write"
d run dev -- "$PROD/bin/shop"
d run dev -- "$PROD/bin/shop" new-feature
say "qa is its own copy and did not see dev's changes"
d run qa -- "$PROD/bin/shop"

say "the sandbox cannot reach production or the host"
d run dev -- sh -c '
	ls '"$DEMO"'/store >/dev/null 2>&1 && echo "store visible!" || echo "host paths outside production: not visible"
	cat /etc/shadow >/dev/null 2>&1 && echo "shadow readable!" || echo "/etc/shadow: not there"
	(exec 3<>/dev/tcp/192.0.2.1/80) 2>/dev/null && echo "network out!" || echo "network: loopback only, no route out"
	mount -t tmpfs x /mnt 2>/dev/null && echo "mounted!" || echo "mount: refused"
	echo "processes visible: $(ls /proc | grep -c "^[0-9]")"' || true

say "what dev changed"
d diff dev

say "reset dev: a fresh writable layer swapped in (constant time, no copy)"
d reset dev
d run dev -- "$PROD/bin/shop"
d diff dev

say "production afterwards: unchanged"
AFTER=$(hash_prod)
"$PROD/bin/shop"
[ "$BEFORE" = "$AFTER" ] && echo "sha256 $AFTER: identical" || { echo "PRODUCTION CHANGED"; exit 1; }
d check
say "done: dev broke its copy and got it back; production never changed"
