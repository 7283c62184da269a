#!/bin/sh
# The main job, narrated: a sample production app with a SQLite database runs
# in a sandbox, breaks things there, and production stays byte-for-byte
# unchanged; a reset gives the sandbox its initial state back at once.
# (Until `doppel sync/create/reset` land, the sandbox is assembled here with
# the runtime's plumbing command, `doppel isolate`.)
set -eu
DOPPEL=${1:-build/doppel}
DOPPEL=$(cd "$(dirname "$DOPPEL")" && pwd)/$(basename "$DOPPEL")
DEMO=$(mktemp -d /tmp/doppel-demo.XXXXXX)
trap 'rm -rf "$DEMO"' EXIT
chmod 755 "$DEMO"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

PROD=$DEMO/production/srv/shop
mkdir -p "$PROD/data" "$PROD/bin" "$DEMO/sandbox/upper" "$DEMO/sandbox/work"
sqlite3 "$PROD/data/shop.db" <<'SQL'
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, email TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER REFERENCES customers, total REAL);
INSERT INTO customers VALUES (1,'Alice Martin','alice@example.com'),(2,'Bob Stone','bob@example.com');
INSERT INTO orders VALUES (1,1,19.99),(2,2,5.00);
SQL
cat > "$PROD/bin/shop" <<'APP'
#!/bin/sh
# the sample app: reports, then "a new feature" that rewrites the data
db=/srv/shop/data/shop.db
echo "shop: $(sqlite3 $db 'select count(*) from customers') customers, $(sqlite3 $db 'select count(*) from orders') orders"
if [ "${1:-}" = new-feature ]; then
	sqlite3 $db "insert into orders values (3,1,1000000); delete from customers where id=2; update orders set total=0"
	rm -f /srv/shop/bin/shop.bak; echo "v2" > /srv/shop/VERSION
	echo "shop: new feature ran: $(sqlite3 $db 'select count(*) from orders') orders, revenue $(sqlite3 $db 'select sum(total) from orders')"
fi
APP
chmod -R a+rX "$DEMO/production"; chmod 755 "$PROD/bin/shop"
hash_prod() { (cd "$DEMO/production" && find . -type f -exec sha256sum {} + | sort | sha256sum | cut -c1-16); }
BEFORE=$(hash_prod)

run() { "$DOPPEL" isolate --overlay "$DEMO/production/srv/shop" "$DEMO/sandbox/upper" "$DEMO/sandbox/work" /srv/shop \
	--mem 256M --pids 256 --hostname shop-sandbox "$@"; }

say "production: /srv/shop with a SQLite database (sha256 $BEFORE)"
sqlite3 -header -column "$PROD/data/shop.db" 'select * from customers'

say "run the app in a sandbox: production's tree appears at /srv/shop, copy-on-write"
run -- /srv/shop/bin/shop

say "try the new feature in the sandbox: it rewrites the data"
run -- /srv/shop/bin/shop new-feature

say "the sandbox cannot reach production or the host"
run -- sh -c '
	ls '"$DEMO"' >/dev/null 2>&1 && echo "host demo dir visible!" || echo "host paths: not visible"
	cat /etc/shadow >/dev/null 2>&1 && echo "shadow readable!" || echo "/etc/shadow: not there"
	(exec 3<>/dev/tcp/192.0.2.1/80) 2>/dev/null && echo "network out!" || echo "network: loopback only, no route out"
	mount -t tmpfs x /mnt 2>/dev/null && echo "mounted!" || echo "mount: refused (no CAP_SYS_ADMIN, seccomp)"
	echo "processes visible: $(ls /proc | grep -c "^[0-9]")"' || true

say "production afterwards: unchanged"
AFTER=$(hash_prod)
sqlite3 -header -column "$PROD/data/shop.db" 'select * from customers'
[ "$BEFORE" = "$AFTER" ] && echo "sha256 $AFTER: identical" || { echo "PRODUCTION CHANGED"; exit 1; }

say "what the sandbox changed (its writable layer)"
(cd "$DEMO/sandbox/upper" && find . -mindepth 1 | sort)

say "reset: swap in a fresh writable layer (no copy, no walk)"
mv "$DEMO/sandbox/upper" "$DEMO/sandbox/upper.old" && mkdir "$DEMO/sandbox/upper"
rm -rf "$DEMO/sandbox/upper.old" "$DEMO/sandbox/work" && mkdir "$DEMO/sandbox/work"
run -- /srv/shop/bin/shop
say "done: the sandbox broke its copy, production never changed"
