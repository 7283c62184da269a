#!/bin/sh
# The main job, narrated: a sample production app with a SQLite database is
# described in doppel.yaml, synced into a snapshot, given dev and qa sandboxes;
# a "new feature" runs in dev and wrecks its copy; diff shows what changed,
# reset brings the sandbox back at once, and production stays byte-for-byte
# unchanged throughout. (Masked database copies arrive with the SQLite masking
# work; this sample's database holds no personal data.)
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
sqlite3 "$PROD/data/catalog.db" <<'SQL'
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, price REAL, stock INTEGER);
INSERT INTO products VALUES (1,'teapot',19.99,12),(2,'kettle',34.50,3),(3,'mug',5.00,140);
SQL
for i in $(seq 1 300); do echo "asset $i" > "$PROD/static/asset$i.css"; done
echo "request log" > "$PROD/logs/access.log"
cat > "$PROD/bin/shop" <<'APP'
#!/bin/sh
# the sample app: a report, and a "new feature" that reprices everything
db=/srv/shop/data/catalog.db
[ -d "$(dirname "$0")/../data" ] && db=$(cd "$(dirname "$0")/.." && pwd)/data/catalog.db
echo "shop: $(sqlite3 $db 'select count(*) from products') products, stock value $(sqlite3 $db 'select round(sum(price*stock),2) from products')"
if [ "${1:-}" = new-feature ]; then
	sqlite3 $db "update products set price = price * 100; delete from products where id = 3"
	rm -f "$(dirname "$db")/../static/asset1.css"; echo v2 > "$(dirname "$db")/../VERSION"
	echo "shop: new feature ran: stock value $(sqlite3 $db 'select round(sum(price*stock),2) from products')"
fi
APP
chmod -R a+rX "$DEMO"; chmod 755 "$PROD/bin/shop"
hash_prod() { (cd "$PROD" && find . -type f -exec sha256sum {} + | sort | sha256sum | cut -c1-16); }
BEFORE=$(hash_prod)

say "production: $PROD, 300 static files and a SQLite catalog (sha256 $BEFORE)"
"$PROD/bin/shop"

say "describe it once, then take a snapshot"
d init --root "$PROD" --output "$DOPPEL_CONFIG" >/dev/null
sed -i 's|^  exclude: .*|  exclude: ["logs/**"]|' "$DOPPEL_CONFIG"
grep -E '^(version|production|  root|  exclude|tiers|  dev|  qa|sync)' "$DOPPEL_CONFIG"
d sync
d create dev --tier dev
d create qa --tier qa
d ls

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
