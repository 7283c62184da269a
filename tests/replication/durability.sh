#!/bin/sh
# Trees written without a per-file fsync (snapshots, checkpoint layers) carry
# a mark until the background syncfs confirms them (src/store/flush.c). A
# mark from an earlier boot means the machine went down before the tree
# reached the disk: such a tree must be refused as a base (create, reset,
# rebase), not hard-linked into the next snapshot, and reported by
# `doppel check`. The restart is simulated by giving a record the mark a
# crash leaves behind: another boot's id.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"

command -v sqlite3 >/dev/null || skip "the sqlite3 shell is needed to read the store"
# the background flush may hold the store's write lock for a moment
db() { sqlite3 -cmd ".timeout 10000" "$DOPPEL_HOME/doppel.db" "$@" || fail "sqlite3: $*"; }
BOOT=$(cat /proc/sys/kernel/random/boot_id)
OTHER=00000000-1111-2222-3333-444444444444
[ "$BOOT" != "$OTHER" ] || fail "this boot's id is the test's 'other' id"

# wait_flushed TABLE WHERE: the background flush clears the mark in time
wait_flushed() {
	for _i in $(seq 1 100); do
		[ "$(db "SELECT count(*) FROM $1 WHERE $2 AND unflushed IS NULL")" = 1 ] && return 0
		sleep 0.1
	done
	fail "$1 where $2: still unflushed after 10 s ($(db "SELECT unflushed FROM $1 WHERE $2"))"
}

mkdir -p "$P/app"
for i in $(seq 1 50); do echo "file $i" >"$P/app/f$i"; done
write_config "sync: {keep: 10}"
remember_production

# --- a fresh snapshot is marked with this boot, then confirmed ---------------------
out=$(run_ok "first sync" d sync --json)
[ "$(echo "$out" | json 'j["copied"]')" = 50 ] || fail "first sync copied $(echo "$out" | json 'j["copied"]') files"
wait_flushed snapshots "id = 1"
pass "the background syncfs confirms a new snapshot"

run_ok "create a" d create a >/dev/null
run_ok "write in a" d run a -- /bin/sh -c "echo mine > '$P/app/mine'" >/dev/null
run_ok "checkpoint a one" d checkpoint a one >/dev/null
wait_flushed checkpoints "sandbox = 'a' AND label = 'one'"
pass "the background syncfs confirms a new checkpoint"
check_consistent

# --- a snapshot the machine may have lost ------------------------------------------
db "UPDATE snapshots SET unflushed = '$OTHER:0123456789abcdef' WHERE id = 1"
before=$(store_listing)
out=$(d create b 2>&1)
rc=$?
[ "$rc" = 1 ] || fail "create from a lost snapshot: exit $rc ($out)"
echo "$out" | grep -q "^doppel: .*snapshot 1 was still being written to disk when the machine restarted" ||
	fail "create from a lost snapshot: no message naming it: $out"
[ "$(store_listing)" = "$before" ] || fail "a refused create changed the store"
out=$(d reset a 2>&1) && fail "reset onto a lost snapshot succeeded: $out"
echo "$out" | grep -q "snapshot 1 was still being written" || fail "reset onto a lost snapshot: $out"
[ "$(run_ok "read a" d run a -- cat "$P/app/mine")" = mine ] || fail "a refused reset lost the sandbox's file"
out=$(d check 2>&1) && fail "check called a store with a lost snapshot consistent: $out"
echo "$out" | grep -q "problem: snapshot 1 was still being written to disk" || fail "check: $out"
pass "a lost snapshot is refused by create and reset and reported by check"

out=$(run_ok "second sync" d sync --json 2>"$T/sync.err")
[ "$(echo "$out" | json 'j["linked"]')" = 0 ] || fail "the second sync hard-linked $(echo "$out" | json 'j["linked"]') files from a lost snapshot"
[ "$(echo "$out" | json 'j["copied"]')" = 50 ] || fail "the second sync copied $(echo "$out" | json 'j["copied"]') files, not 50"
wait_flushed snapshots "id = 2"
run_ok "create b from the new snapshot" d create b >/dev/null
out=$(d create c --from 1 2>&1) && fail "create --from a lost snapshot succeeded: $out"
pass "the next sync copies everything instead of linking a lost snapshot"

# --- a lost checkpoint ------------------------------------------------------------
db "UPDATE snapshots SET unflushed = NULL WHERE id = 1"
db "UPDATE checkpoints SET unflushed = '$OTHER:fedcba9876543210' WHERE sandbox = 'a' AND label = 'one'"
out=$(d reset a --to one 2>&1) && fail "reset to a lost checkpoint succeeded: $out"
echo "$out" | grep -q "checkpoint one of sandbox a was still being written" || fail "reset --to one: $out"
out=$(d check 2>&1) && fail "check called a store with a lost checkpoint consistent: $out"
echo "$out" | grep -q "problem: checkpoint one of sandbox a" || fail "check: $out"
run_ok "reset a to its snapshot" d reset a >/dev/null
pass "a lost checkpoint is refused by reset --to and reported by check"
db "UPDATE checkpoints SET unflushed = NULL"

# --- rebase onto a lost snapshot --------------------------------------------------
echo changed >"$P/app/f1"
remember_production
run_ok "third sync" d sync >/dev/null
db "UPDATE snapshots SET unflushed = '$OTHER:00000000000000ff' WHERE id = 3"
out=$(d rebase a 2>&1) && fail "rebase onto a lost snapshot succeeded: $out"
echo "$out" | grep -q "snapshot 3 was still being written" || fail "rebase: $out"
[ "$(db "SELECT snapshot FROM sandboxes WHERE name = 'a'")" = 1 ] || fail "a refused rebase moved the sandbox"
db "UPDATE snapshots SET unflushed = NULL WHERE id = 3"
run_ok "rebase a" d rebase a >/dev/null
[ "$(db "SELECT snapshot FROM sandboxes WHERE name = 'a'")" = 3 ] || fail "rebase did not move the sandbox"
pass "rebase refuses a lost snapshot"

check_consistent
check_production
pass "production unchanged"
