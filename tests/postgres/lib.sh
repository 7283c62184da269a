# Helpers for the PostgreSQL replication tests (issue 7). Sourced after
# tests/lib/common.sh and tests/replication/lib.sh (T, DOPPEL_HOME,
# DOPPEL_CONFIG, P, d, json, run_ok, failed_part, finish).
#
# Every test starts a throwaway *production* cluster of its own: initdb +
# pg_ctl into $T/prodpg, no TCP unless asked (PROD_TCP=1: 127.0.0.1 and a
# free port), its socket in $T/prodsock. As root the server runs as the
# system user postgres (PostgreSQL refuses root), rootless as the user. At
# exit, whatever the outcome: production is stopped, `doppel postgres stop`
# stops the store's sandbox cluster, and any postgres process still working
# in $T is killed; a sandbox cluster that outlived `doppel postgres stop`
# fails the test. The tests never touch a server someone else started.

# libpq's environment would reach doppel and the tests' own clients alike.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGPASSFILE PGSERVICE PGSERVICEFILE \
	PGOPTIONS PGAPPNAME PGSSLMODE PGCONNECT_TIMEOUT DATABASE_URL PGDATA
export PGCONNECT_TIMEOUT=10

# --- the server binaries --------------------------------------------------------
PGBIN=""
if command -v pg_config >/dev/null 2>&1; then
	_b=$(pg_config --bindir 2>/dev/null)
	[ -x "$_b/initdb" ] && [ -x "$_b/pg_ctl" ] && [ -x "$_b/postgres" ] && PGBIN=$_b
fi
if [ -z "$PGBIN" ]; then
	for _b in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5n); do
		[ -x "$_b/initdb" ] && [ -x "$_b/pg_ctl" ] && [ -x "$_b/postgres" ] && PGBIN=$_b
	done
fi
# CI (.ci/run) sets DOPPEL_REQUIRE_POSTGRES=1: there a missing server is a failure, not a skip.
pg_missing() {
	[ "${DOPPEL_REQUIRE_POSTGRES:-}" = 1 ] && fail "$* (DOPPEL_REQUIRE_POSTGRES=1)"
	skip "$*"
}
[ -n "$PGBIN" ] || pg_missing "the PostgreSQL server binaries (initdb, pg_ctl, postgres) are not installed: apt-get install postgresql (scripts/install-deps.sh does)"
PGVER=$("$PGBIN/postgres" --version | sed 's/.* \([0-9][0-9]*\).*/\1/')
psql_bin() { if [ -x "$PGBIN/psql" ]; then echo "$PGBIN/psql"; else command -v psql; fi; }
PSQL=$(psql_bin)
[ -n "$PSQL" ] || pg_missing "psql is not installed"

# As root the clusters' files belong to postgres; it needs to reach them.
if is_root; then
	id postgres >/dev/null 2>&1 || pg_missing "running as root needs the system user 'postgres' (the postgresql package makes it)"
	PG_OWNER=postgres
	chmod 755 "$T"
else
	PG_OWNER=$(id -un)
fi
# as_owner CMD...: runs CMD as the user the production cluster runs as.
as_owner() {
	if is_root; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- the production cluster ------------------------------------------------------
PROD_DATA="$T/prodpg"
PROD_SOCK="$T/prodsock"
PROD_LOG="$T/prodlog/server.log"
PROD_SUPERPW="prod-super-$$-secret"
PROD_READER=shop_reader
PROD_READERPW="reader-$$-pw"
PROD_PORT=""
PROD_STARTED=""

# prod_start [-c NAME=VALUE]...: initdb and start production; the options go
# to the server. Superuser postgres and every role need a password
# (scram-sha-256, local and host); the tests' clients pass it themselves.
prod_start() {
	PROD_PORT=$(free_port) || fail "no free port"
	mkdir -p "$PROD_DATA" "$PROD_SOCK" "$T/prodlog"
	printf '%s\n' "$PROD_SUPERPW" >"$T/prodlog/pw"
	if is_root; then
		chown postgres: "$PROD_DATA" "$PROD_SOCK" "$T/prodlog" "$T/prodlog/pw"
	fi
	chmod 700 "$PROD_DATA"
	as_owner "$PGBIN/initdb" -D "$PROD_DATA" -U postgres --pwfile="$T/prodlog/pw" -A scram-sha-256 \
		-E UTF8 --locale=C.UTF-8 --no-sync >"$T/prodlog/initdb.out" 2>&1 ||
		as_owner "$PGBIN/initdb" -D "$PROD_DATA" -U postgres --pwfile="$T/prodlog/pw" -A scram-sha-256 \
			-E UTF8 --locale=C --no-sync >"$T/prodlog/initdb.out" 2>&1 ||
		fail "initdb of the production cluster: $(tail -5 "$T/prodlog/initdb.out")"
	rm -f "$T/prodlog/pw"
	_listen="''"
	[ "${PROD_TCP:-}" = 1 ] && _listen=127.0.0.1
	_opts="-c listen_addresses=$_listen -c unix_socket_directories='$PROD_SOCK' -p $PROD_PORT"
	_opts="$_opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=32MB"
	_opts="$_opts -c max_connections=40 -c cluster_name=doppel_test_production"
	for _o in "$@"; do _opts="$_opts $_o"; done
	PROD_STARTED=1
	as_owner "$PGBIN/pg_ctl" -D "$PROD_DATA" -l "$PROD_LOG" -o "$_opts" -w -t 60 start >"$T/prodlog/pg_ctl.out" 2>&1 ||
		fail "production cluster does not start: $(tail -5 "$T/prodlog/pg_ctl.out") $(tail -10 "$PROD_LOG" 2>/dev/null)"
	PROD_PID=$(head -1 "$PROD_DATA/postmaster.pid" 2>/dev/null || as_owner head -1 "$PROD_DATA/postmaster.pid")
}

prod_stop() {
	[ -n "$PROD_STARTED" ] || return 0
	as_owner "$PGBIN/pg_ctl" -D "$PROD_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 ||
		as_owner "$PGBIN/pg_ctl" -D "$PROD_DATA" -m immediate -w -t 30 stop >/dev/null 2>&1
	PROD_STARTED=""
}

# psql_prod [psql options] [-d DB] -c SQL | -f FILE: the production superuser
# over production's socket; unaligned, tuples only, stops on the first error.
psql_prod() {
	PGPASSWORD=$PROD_SUPERPW "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -h "$PROD_SOCK" -p "$PROD_PORT" -U postgres "$@"
}
# q_prod DB SQL: one query on production's DB, its rows on stdout; fails the test on error.
q_prod() {
	_db=$1
	shift
	psql_prod -d "$_db" -c "$*" 2>"$T/.psql.err" || fail "production query on $_db failed: $* ($(cat "$T/.psql.err"))"
}

# The conninfo doppel reads production with; PROD_USER / PROD_PWFILE choose
# the role and password file (the reader role by default).
prod_conninfo() { # prod_conninfo DB [USER]
	echo "host=$PROD_SOCK port=$PROD_PORT dbname=$1 user=${2:-$PROD_READER}"
}

# make_reader DB: a login role that may read everything in DB and write
# nothing (pg_read_all_data), with its password in $T/secrets/reader.pw
# (mode 0600, this user's). The tests also keep the superuser's password in
# $T/secrets/super.pw.
make_reader() {
	q_prod postgres "DO \$\$BEGIN
	  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PROD_READER') THEN
	    CREATE ROLE $PROD_READER LOGIN PASSWORD '$PROD_READERPW';
	  END IF; END\$\$;
	GRANT pg_read_all_data TO $PROD_READER;" >/dev/null
	mkdir -p "$T/secrets"
	chmod 700 "$T/secrets"
	printf '%s\n' "$PROD_READERPW" >"$T/secrets/reader.pw"
	printf '%s\n' "$PROD_SUPERPW" >"$T/secrets/super.pw"
	chmod 600 "$T/secrets/reader.pw" "$T/secrets/super.pw"
}

# shop_fixture: database shop (tests/postgres/shop.sql) with N customers.
shop_fixture() {
	q_prod postgres "CREATE DATABASE shop" >/dev/null
	psql_prod -d shop -v n="${1:-300}" -f "$DOPPEL_SRC/tests/postgres/shop.sql" >"$T/.shop.out" 2>&1 ||
		fail "cannot build the shop fixture: $(tail -5 "$T/.shop.out")"
}

# table_sums QUERY-FN DB: one line per table of schema public: its name, row
# count and an md5 over its rows as text in a total order. QUERY-FN DB SQL
# prints a query's rows (q_prod, or one for the sandbox cluster).
table_sums() {
	for _t in $("$1" "$2" "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE relkind IN ('r', 'p') AND nspname = 'public' ORDER BY relname"); do
		echo "$_t $("$1" "$2" "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '-') FROM public.\"$_t\" t")"
	done
}
prod_sums() { table_sums q_prod "$1"; }
# SEQ_SQL: every sequence of schema public with its last value ('-' before
# its first nextval).
SEQ_SQL="SELECT sequencename || ' ' || coalesce(last_value::text, '-') FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1"

# --- the sandbox cluster ------------------------------------------------------
SB_PG="$DOPPEL_HOME/pg"
# sandbox_sock: the sandbox cluster's socket directory and port, "DIR PORT".
sandbox_sock() {
	_s=$(ls -a "$SB_PG/run" 2>/dev/null | sed -n 's/^\.s\.PGSQL\.\([0-9]*\)$/\1/p' | head -1)
	[ -n "$_s" ] && echo "$SB_PG/run $_s"
}
# q_sb DB SQL: runs SQL on the sandbox cluster as doppel's superuser.
q_sb() {
	_sock=$(sandbox_sock) || fail "no socket of the sandbox cluster in $SB_PG/run"
	PGPASSWORD=$(cat "$SB_PG/admin.pw") "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -h "${_sock% *}" -p "${_sock#* }" \
		-U doppel -d "$1" -c "$2" 2>"$T/.sb.err" || fail "sandbox cluster query on $1 failed: $2 ($(cat "$T/.sb.err"))"
}

# --- cleanup ----------------------------------------------------------------------
# Postgres processes working in $T (their cwd is their data directory).
pids_in_T() {
	for _p in /proc/[0-9]*; do
		_c=$(readlink "$_p/cwd" 2>/dev/null) || continue
		case "$_c" in "$T" | "$T"/*) ;; *) continue ;; esac
		_n=$(cat "$_p/comm" 2>/dev/null)
		case "$_n" in postgres* | postmaster*) echo "${_p#/proc/}" ;; esac
	done
}
pg_cleanup() {
	_rc=$?
	trap - EXIT
	set +e
	if [ -d "$SB_PG" ]; then
		"$DOPPEL" postgres stop >"$T/.pgstop.out" 2>&1 || echo "note: doppel postgres stop: $(cat "$T/.pgstop.out")" >&2
	fi
	prod_stop
	_left=$(pids_in_T)
	if [ -n "$_left" ]; then
		_sb=""
		for _p in $_left; do
			case "$(readlink "/proc/$_p/cwd" 2>/dev/null)" in "$SB_PG"*) _sb="$_sb $_p" ;; esac
		done
		kill -KILL $_left 2>/dev/null
		sleep 0.3
		if [ -n "$_sb" ] && [ "$_rc" = 0 ] && [ -z "${PG_ALLOW_LEFTOVERS:-}" ]; then
			echo "FAIL: sandbox cluster processes still running after 'doppel postgres stop':$_sb (killed)" >&2
			_rc=1
		fi
	fi
	cleanup_T
	exit "$_rc"
}
trap pg_cleanup EXIT
trap 'exit 130' INT TERM HUP
