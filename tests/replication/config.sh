#!/bin/sh
# Bad doppel.yaml input: every mistake gives exit 2 and a message naming the
# file, line, column and key (unknown keys with a "did you mean"), and a
# failing command creates nothing in the store. `doppel init` refuses to
# overwrite a file without --force.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"

mkdir -p "$P/data"
echo "row" >"$P/data/a.txt"
remember_production
CFG="$T/bad.yaml"

# bad_case NAME LINE:COL KEY-PATTERN YAML: the YAML must be refused by every
# command that reads doppel.yaml with exit 2 and "CFG:LINE:COL: KEY...".
bad_case() {
	name=$1 pos=$2 keypat=$3
	printf '%s\n' "$4" >"$CFG"
	before=$(store_listing)
	for cmd in "sync" "ls" "snapshots" "create x" "run x -- true" "reset x" "destroy x" "check"; do
		# shellcheck disable=SC2086
		set -- $cmd
		sub=$1
		shift
		expect_usage_error "$name ($cmd)" "^doppel: $CFG:$pos: $keypat" d "$sub" --config "$CFG" "$@"
	done
	[ "$(store_listing)" = "$before" ] || fail "$name: a refused doppel.yaml changed the store:
$before
->
$(store_listing)"
	echo "  $name: $ERRMSG"
}

check_cases() {
	bad_case "unknown key" 2:1 "doppel.yaml: unknown key 'productoin'; did you mean 'production'\\?" "version: 1
productoin:
  root: $P"
	bad_case "unknown tier key" 5:9 "tiers.dev: unknown key 'memroy'; did you mean 'memory'\\?" "version: 1
production:
  root: $P
tiers:
  dev: {memroy: 1G}"
	bad_case "unknown production key" 4:3 "production: unknown key 'exlude'; did you mean 'exclude'\\?" "version: 1
production:
  root: $P
  exlude: [a]"
	bad_case "unknown key, nothing close" 4:1 "doppel.yaml: unknown key 'wibble'; expected one of: version, production" "version: 1
production:
  root: $P
wibble: 1"
	bad_case "memory: 12Q" 5:17 "tiers.dev.memory: .*'12Q'" "version: 1
production:
  root: $P
tiers:
  dev: {memory: 12Q}"
	bad_case "sync.every: 7x" 4:15 "sync.every: .*'7x'" "version: 1
production:
  root: $P
sync: {every: 7x}"
	bad_case "sync.keep: 0" 4:14 "sync.keep: .*'0'" "version: 1
production:
  root: $P
sync: {keep: 0}"
	bad_case "missing production.root" 2:1 "production.root: missing" "version: 1
production:
  exclude: [logs/**]"
	bad_case "relative root" 3:9 "production.root: expected an absolute path" "version: 1
production:
  root: srv/shop"
	bad_case "root with .." 3:9 "production.root: .*'\\.\\.'" "version: 1
production:
  root: $P/../production"
	bad_case "root /" 3:9 "production.root: the whole host" "version: 1
production:
  root: /"
	bad_case "invalid YAML" "[0-9]+:[0-9]+" "not valid YAML" "version: 1
production: [unclosed
tiers: {}"
	bad_case "duplicate key" "[0-9]+:[0-9]+" "not valid YAML: duplicate key" "version: 1
production:
  root: $P
  root: /srv"
	bad_case "tier not a mapping" 5:3 "tiers.dev: expected a mapping" "version: 1
production:
  root: $P
tiers:
  dev: 5"
	bad_case "tiers not a mapping" 4:1 "tiers: expected a mapping" "version: 1
production:
  root: $P
tiers: [dev, qa]"
	bad_case "version 2" 1:10 "version: expected 1, got '2'" "version: 2
production:
  root: $P"
	bad_case "pids 0" 5:15 "tiers.dev.pids: " "version: 1
production:
  root: $P
tiers:
  dev: {pids: 0}"
	bad_case "bad network" 5:18 "tiers.dev.network: expected loopback, none or endpoints" "version: 1
production:
  root: $P
tiers:
  dev: {network: internet}"
	bad_case "exclude with .." 4:13 "production.exclude: " "version: 1
production:
  root: $P
  exclude: [../etc]"
	bad_case "endpoint host an address" 4:13 "endpoints.127.0.0.1: expected a DNS host name" "version: 1
production:
  root: $P
endpoints: {127.0.0.1: {mappings: /}}"
	bad_case "masking.strict" 4:19 "masking.strict: expected true or false" "version: 1
production:
  root: $P
masking: {strict: maybe}"
	bad_case "masking rule key" 5:11 "masking.rules: expected keys of the form DB.TABLE.COLUMN" "version: 1
production:
  root: $P
masking:
  rules: {customers.email: email}"
}

echo "with no store yet:"
check_cases
[ ! -e "$DOPPEL_HOME" ] || fail "a refused doppel.yaml created the store $DOPPEL_HOME"
pass "each bad doppel.yaml gives exit 2 with file:line:col and key, and creates no store"

write_config
run_ok "sync" d sync >/dev/null
run_ok "create" d create keep >/dev/null
echo "with a store:"
check_cases
[ "$(sandbox_names)" = keep ] || fail "the store's sandboxes changed: $(sandbox_names)"
pass "each bad doppel.yaml leaves an existing store exactly as it was"

# --- no doppel.yaml ---------------------------------------------------------------------------
(
	expect_usage_error "missing config" "$T/none.yaml: not found; write one with 'doppel init'" d ls --config "$T/none.yaml"
	mkdir -p "$T/empty"
	cd "$T/empty" || exit 1
	DOPPEL_CONFIG='' expect_usage_error "no ./doppel.yaml" "doppel.yaml: not found" "$DOPPEL" ls
	pass "a missing doppel.yaml is named, with the hint to run doppel init"
) || failed_part "missing doppel.yaml"

# --- init ---------------------------------------------------------------------------------------
(
	echo "# mine" >"$T/mine.yaml"
	expect_usage_error "init over a file" "mine.yaml exists already; use --force" d init --root "$P" --output "$T/mine.yaml"
	[ "$(cat "$T/mine.yaml")" = "# mine" ] || fail "init without --force changed the file"
	mkdir -p "$T/cwd" && echo "# cwd" >"$T/cwd/doppel.yaml"
	(cd "$T/cwd" && expect_usage_error "init over ./doppel.yaml" "exists already; use --force" "$DOPPEL" init --root "$P") || exit 1
	[ "$(cat "$T/cwd/doppel.yaml")" = "# cwd" ] || fail "init without --force changed ./doppel.yaml"
	expect_usage_error "init relative root" "--root: expected an absolute path" d init --root production --output "$T/n1.yaml"
	expect_usage_error "init missing root" "does not exist" d init --root "$T/nonexistent" --output "$T/n2.yaml"
	expect_usage_error "init root /" "whole host" d init --root / --output "$T/n3.yaml"
	expect_usage_error "init unknown option" "unknown argument '--bogus'" d init --bogus
	[ ! -e "$T/n1.yaml" ] && [ ! -e "$T/n2.yaml" ] && [ ! -e "$T/n3.yaml" ] || fail "a refused init wrote a file"
	run_ok "init --force" d init --root "$P" --output "$T/mine.yaml" --force >/dev/null
	grep -q "^  root: $P\$" "$T/mine.yaml" || fail "init --force did not rewrite the file"
	run_ok "the written file loads" d ls --config "$T/mine.yaml" >/dev/null
	check_production "after init"
	pass "init refuses to overwrite without --force, refuses bad roots, and --force rewrites"
) || failed_part "init"

# --- edge cases of the parser ---------------------------------------------------------------------
(
	: >"$CFG"
	expect_usage_error "empty file" "^doppel: $CFG: " d ls --config "$CFG"
	printf '%s\n' "$ERRMSG" | grep -q 'fy_parse_load_document\|<  0: 0>' && fail "empty file: libfyaml internals in the message: $ERRMSG"
	pass "an empty doppel.yaml is refused with a plain message"
) || failed_part "empty doppel.yaml"
(
	printf 'version: 1\nproduction:\n  root:\n' >"$CFG"
	expect_usage_error "empty root" "^doppel: $CFG:3:[0-9]+: production.root: " d ls --config "$CFG"
	pass "an empty production.root is refused with its position"
) || failed_part "empty production.root"
(
	printf 'version: 1\nproduction:\n  root: "%s\\0/etc"\n' "$P" >"$CFG"
	expect_usage_error "NUL in root" "^doppel: $CFG:3:[0-9]+: production.root: " d ls --config "$CFG"
	pass "a NUL byte inside production.root is refused"
) || failed_part "NUL byte in a value"

# --- runtime refusals create nothing either -------------------------------------------------------
before=$(store_listing)
(
	expect_usage_error "unknown tier" "--tier gold: no such tier" d create x --tier gold
	expect_usage_error "unknown snapshot" "--from 99: no such snapshot" d create x --from 99
	expect_usage_error "existing sandbox" "sandbox 'keep' exists already" d create keep
	expect_usage_error "checkpoint nothing" "no sandbox named 'nosuch'" d checkpoint nosuch c1
	expect_usage_error "diff nothing" "no sandbox named 'nosuch'" d diff nosuch
	[ "$(store_listing)" = "$before" ] || fail "refused create/checkpoint/diff changed the store:
$before
->
$(store_listing)"
	pass "create/checkpoint/diff refused for a missing tier, snapshot or sandbox change nothing"
) || failed_part "refused create/checkpoint/diff"
(
	expect_usage_error "run nothing" "no sandbox named 'nosuch'" d run nosuch -- true
	expect_usage_error "reset nothing" "no sandbox named 'nosuch'" d reset nosuch
	expect_usage_error "destroy nothing" "no sandbox named 'nosuch'" d destroy nosuch
	[ "$(store_listing)" = "$before" ] || fail "refused run/reset/destroy of a sandbox that does not exist changed the store:
$before
->
$(store_listing)"
	pass "run/reset/destroy of a sandbox that does not exist change nothing"
) || failed_part "refused run/reset/destroy"

# production.root passes the parser but does not exist (or is a file): sync
# refuses, names file and key, and makes no store
(
	export DOPPEL_HOME="$T/store2"
	sed "s|^  root: .*|  root: $T/nonexistent|" "$DOPPEL_CONFIG" >"$CFG"
	expect_usage_error "sync of a missing root" "$CFG.*production.root: .*does not exist" d sync --config "$CFG"
	[ ! -e "$DOPPEL_HOME" ] || fail "sync of a missing production.root created the store: $(store_listing | tr '\n' ' ')"
	pass "sync of a missing production.root: refused, no store created"
) || failed_part "sync of a missing production.root"
(
	sed "s|^  root: .*|  root: $P/data/a.txt|" "$DOPPEL_CONFIG" >"$CFG"
	expect_usage_error "sync of a file as root" "production.root: .*not a directory" d sync --config "$CFG"
	pass "sync of a production.root that is a file: refused as not a directory"
) || failed_part "production.root is a file"

# the store inside production: syncing would copy the store into itself (and
# write into production); it must be refused before anything is written
(
	P2="$T/prod2"
	mkdir -p "$P2/app"
	echo "x" >"$P2/app/f"
	PROD_FP_2=$(P="$P2" && prod_fingerprint)
	export DOPPEL_HOME="$P2/.doppel"
	sed "s|^  root: .*|  root: $P2|" "$DOPPEL_CONFIG" >"$CFG"
	timeout 60 "$DOPPEL" sync --config "$CFG" >"$T/.out" 2>"$T/.err"
	rc=$?
	[ "$rc" = 124 ] && fail "sync with the store inside production ran for 60 s"
	[ "$rc" = 2 ] || fail "sync with DOPPEL_HOME inside production.root: exit $rc, expected 2: $(cut -c1-300 "$T/.err")"
	grep -qi 'store\|DOPPEL_HOME' "$T/.err" || fail "sync with the store inside production: message does not say why: $(cut -c1-300 "$T/.err")"
	[ "$(P="$P2" && prod_fingerprint)" = "$PROD_FP_2" ] || fail "production changed: $(cd "$P2" && find . | head -20 | tr '\n' ' ')"
	pass "a store inside production.root is refused and production stays untouched"
) || failed_part "store inside production.root"

check_production "at the end"
pass "production unchanged"
finish
