#!/bin/sh
# doppel sync: incremental snapshots (unchanged files shared, changed ones
# copied), symlinks captured as symlinks and never followed (even to
# /etc/shadow or out of the tree), fifos and sockets skipped with a warning
# and never opened, excludes, modes/mtimes/xattrs (and owners, as root)
# preserved, --verify, sync.keep pruning, `doppel snapshots` and staleness.
# Production is fingerprinted before and after and must not change.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"

# --- the fixture ---------------------------------------------------------------------
mkdir -p "$P/data/deep/er" "$P/app" "$P/logs/old" "$P/private" "$T/outside"
for i in $(seq 1 20); do echo "row $i" >"$P/data/r$i.txt"; done
echo "deep" >"$P/data/deep/er/x"
printf '#!/bin/sh\necho hi\n' >"$P/app/run.sh"
chmod 755 "$P/app/run.sh"
echo "group-only" >"$P/app/conf"
chmod 640 "$P/app/conf"
chmod 750 "$P/private"
echo "p" >"$P/private/p"
echo "excluded log" >"$P/logs/a.log"
echo "excluded too" >"$P/logs/old/b"
echo "tmp" >"$P/data/scratch.tmp"
echo "tmp" >"$P/top.tmp"
echo "OUTSIDE-SECRET-7731" >"$T/outside/secret"
ln -s /etc/shadow "$P/app/shadow"
ln -s ../../outside/secret "$P/app/escape"
ln -s ../data/r1.txt "$P/app/inside"
ln -s /nonexistent/dangling "$P/app/dangling"
mkfifo "$P/data/fifo"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$P/data/sock" ||
	fail "cannot make a unix socket for the fixture"
touch -d '2001-02-03 04:05:06.123456789' "$P/data/r2.txt"
touch -d '2002-03-04 05:06:07' "$P/data/deep"
python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.test", b"1")' "$P/data/r3.txt" 2>/dev/null && XATTR=1 || XATTR=0
if is_root; then
	chown 1234:2345 "$P/data/r4.txt"
	chown 1234:2345 "$P/data/deep"
fi
NFILES=$(cd "$P" && find . -path ./logs -prune -o -type f ! -name '*.tmp' -print | wc -l)
[ "$NFILES" = 24 ] || fail "fixture: expected 24 regular files, counted $NFILES"
write_config "sync: {every: 7d}"
remember_production

# --- first sync: nothing blocks, specials skipped with a warning ----------------------
timeout 60 "$DOPPEL" sync --json >"$T/s1.json" 2>"$T/s1.err"
rc=$?
[ "$rc" = 124 ] && fail "sync hung (a fifo opened?)"
[ "$rc" = 0 ] || fail "first sync exit $rc: $(cat "$T/s1.err")"
s1=$(cat "$T/s1.json")
echo "$s1" | python3 -m json.tool >/dev/null || fail "sync --json is not JSON: $s1"
[ "$(echo "$s1" | json 'j["files"]')" = "$NFILES" ] || fail "first sync: files != $NFILES: $s1"
[ "$(echo "$s1" | json 'j["copied"]')" = "$NFILES" ] || fail "first sync: copied != $NFILES: $s1"
[ "$(echo "$s1" | json 'j["linked"]')" = 0 ] || fail "first sync: linked != 0: $s1"
[ "$(echo "$s1" | json 'j["skipped_special"]')" = 2 ] || fail "first sync: expected 2 special files skipped: $s1"
grep -q 'data/fifo.*fifo.*skipped' "$T/s1.err" || fail "no warning for the fifo: $(cat "$T/s1.err")"
grep -q 'data/sock.*socket.*skipped' "$T/s1.err" || fail "no warning for the socket: $(cat "$T/s1.err")"
want_bytes=$(cd "$P" && find . -path ./logs -prune -o -type f ! -name '*.tmp' -printf '%s\n' | awk '{ s += $1 } END { print s }')
[ "$(echo "$s1" | json 'j["bytes"]')" = "$want_bytes" ] || fail "bytes != $want_bytes (something outside the tree read?): $s1"
S1="$DOPPEL_HOME/snapshots/$(echo "$s1" | json 'j["snapshot"]')"
[ -d "$S1" ] || fail "no snapshot dir $S1"
[ ! -e "$S1/data/fifo" ] && [ ! -e "$S1/data/sock" ] || fail "special files in the snapshot: $(ls -l "$S1/data")"
check_production "after the first sync"
pass "first sync: $NFILES files copied, fifo and socket skipped with a warning, nothing blocked"

# --- symlinks ---------------------------------------------------------------------------
for l in app/shadow:/etc/shadow app/escape:../../outside/secret app/inside:../data/r1.txt app/dangling:/nonexistent/dangling; do
	path=${l%%:*} target=${l#*:}
	[ -L "$S1/$path" ] || fail "$path is not a symlink in the snapshot"
	[ "$(readlink "$S1/$path")" = "$target" ] || fail "$path's link text is '$(readlink "$S1/$path")', not '$target'"
done
[ "$(find "$S1" -type f | wc -l)" = "$NFILES" ] || fail "snapshot holds $(find "$S1" -type f | wc -l) files, not $NFILES"
[ "$(find "$S1" -type l | wc -l)" = 4 ] || fail "snapshot holds $(find "$S1" -type l | wc -l) symlinks, not 4"
grep -rq OUTSIDE-SECRET-7731 "$DOPPEL_HOME" && fail "a file outside production was copied into the store"
# inside a sandbox the links resolve inside the sandbox, not on the host
run_ok "create" d create s >/dev/null
out=$(d run s -- /bin/sh -c "cd '$P/app'; readlink shadow; readlink escape; cat inside; cat escape 2>&1; cat shadow 2>&1") ||
	true
echo "$out" | grep -qx /etc/shadow || fail "readlink in sandbox: $out"
echo "$out" | grep -qx 'row 1' || fail "in-tree symlink does not resolve in the sandbox: $out"
echo "$out" | grep -q OUTSIDE-SECRET-7731 && fail "escape symlink reaches the host inside the sandbox: $out"
if is_root; then
	h=$(head -c 64 /etc/shadow)
	[ -n "$h" ] && echo "$out" | grep -qF "$h" && fail "host /etc/shadow readable through the snapshot's symlink"
fi
pass "symlinks kept as symlinks with their text (/etc/shadow, ../../outside, in-tree, dangling); nothing outside read"

# --- excludes -------------------------------------------------------------------------------
[ ! -e "$S1/logs" ] || fail "logs/** not excluded: $(find "$S1/logs")"
[ ! -e "$S1/data/scratch.tmp" ] && [ ! -e "$S1/top.tmp" ] || fail "*.tmp not excluded"
d run s -- /bin/sh -c "ls -a '$P' '$P/data'" | grep -Eq 'logs|\.tmp' && fail "excluded paths visible in the sandbox"
pass "excludes honoured (logs/**, *.tmp)"

# --- metadata ---------------------------------------------------------------------------------
for f in data/r2.txt app/run.sh app/conf private private/p data/deep data/deep/er/x app; do
	[ "$(stat -c '%a %y' "$P/$f")" = "$(stat -c '%a %y' "$S1/$f")" ] ||
		fail "$f: mode/mtime '$(stat -c '%a %y' "$S1/$f")' in the snapshot, '$(stat -c '%a %y' "$P/$f")' in production"
done
[ "$(stat -c '%a %y' "$P")" = "$(stat -c '%a %y' "$S1")" ] || fail "root dir mode/mtime not preserved in the snapshot"
[ "$(stat -c %y "$S1/app/shadow")" = "$(stat -c %y "$P/app/shadow")" ] || fail "symlink mtime not preserved"
out=$(d run s -- stat -c '%n %a %y' "$P/data/r2.txt" "$P/app/conf" "$P/data/deep") || fail "stat in sandbox failed"
echo "$out" | grep -q "r2.txt 644 2001-02-03 04:05:06.123456789" || fail "mtime/mode in the sandbox: $out"
echo "$out" | grep -q "conf 640 " || fail "mode 640 in the sandbox: $out"
if [ "$XATTR" = 1 ]; then
	v=$(python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.test").decode())' "$S1/data/r3.txt" 2>&1)
	[ "$v" = 1 ] || fail "xattr user.test not preserved in the snapshot: $v"
else
	echo "note: user xattrs unsupported on $(df --output=fstype "$T" | tail -1); xattr check skipped"
fi
if is_root; then
	[ "$(stat -c %u:%g "$S1/data/r4.txt")" = 1234:2345 ] || fail "owner not preserved: $(stat -c %u:%g "$S1/data/r4.txt")"
	[ "$(stat -c %u:%g "$S1/data/deep")" = 1234:2345 ] || fail "dir owner not preserved"
fi
pass "modes, mtimes (ns), xattrs$(is_root && echo ', owners') preserved in the snapshot and the sandbox"

# --- incremental ---------------------------------------------------------------------------------
s2=$(run_ok "second sync" d sync --json 2>/dev/null)
[ "$(echo "$s2" | json 'j["copied"]')" = 0 ] || fail "second sync of an unchanged tree copied: $s2"
[ "$(echo "$s2" | json 'j["linked"]')" = "$NFILES" ] || fail "second sync linked != $NFILES: $s2"
S2="$DOPPEL_HOME/snapshots/$(echo "$s2" | json 'j["snapshot"]')"
[ "$(stat -c %i "$S1/data/r5.txt")" = "$(stat -c %i "$S2/data/r5.txt")" ] || fail "unchanged file not shared by hard link"
[ "$(readlink "$S2/app/escape")" = ../../outside/secret ] || fail "symlink text lost in the second snapshot"
echo "changed" >"$P/data/r5.txt"
remember_production
s3=$(run_ok "third sync" d sync --json 2>/dev/null)
[ "$(echo "$s3" | json 'j["copied"]')" = 1 ] || fail "one changed file: copied != 1: $s3"
[ "$(echo "$s3" | json 'j["linked"]')" = $((NFILES - 1)) ] || fail "one changed file: linked != $((NFILES - 1)): $s3"
S3="$DOPPEL_HOME/snapshots/$(echo "$s3" | json 'j["snapshot"]')"
[ "$(cat "$S3/data/r5.txt")" = changed ] && [ "$(cat "$S2/data/r5.txt")" = "row 5" ] ||
	fail "the new snapshot lacks the change, or the old one was altered"
pass "incremental: unchanged tree copies 0 / links $NFILES; one change copies 1"

# --- --verify ---------------------------------------------------------------------------------------
# A same-size rewrite with the mtime put back (touch -d). Plain sync still sees
# it because the ctime moved (userspace cannot restore a ctime); --verify also
# compares content hashes.
sv=$(run_ok "sync --verify" d sync --verify --json 2>/dev/null)
[ "$(echo "$sv" | json 'j["files"]')" = "$NFILES" ] || fail "sync --verify: $sv"
sv2=$(run_ok "sync --verify again" d sync --verify --json 2>/dev/null)
[ "$(echo "$sv2" | json 'j["copied"]')" = 0 ] || fail "--verify after --verify on an unchanged tree copied: $sv2"
m=$(stat -c %y "$P/data/r6.txt")
printf 'ROW 6\n' >"$P/data/r6.txt"
touch -d "$m" "$P/data/r6.txt"
[ "$(stat -c %y "$P/data/r6.txt")" = "$m" ] || fail "fixture: mtime not restored"
remember_production
sv3=$(run_ok "sync --verify after a sneaky change" d sync --verify --json 2>/dev/null)
[ "$(echo "$sv3" | json 'j["copied"]')" = 1 ] || fail "--verify missed a same-size change with the mtime restored: $sv3"
SV3="$DOPPEL_HOME/snapshots/$(echo "$sv3" | json 'j["snapshot"]')"
[ "$(cat "$SV3/data/r6.txt")" = "ROW 6" ] || fail "--verify snapshot holds the old content"
[ "$(stat -c %y "$SV3/data/r6.txt")" = "$m" ] || fail "--verify snapshot lost the mtime"
m=$(stat -c %y "$P/data/r7.txt")
printf 'ROW 7\n' >"$P/data/r7.txt"
touch -d "$m" "$P/data/r7.txt"
remember_production
sp=$(run_ok "plain sync after a sneaky change" d sync --json 2>/dev/null)
SP="$DOPPEL_HOME/snapshots/$(echo "$sp" | json 'j["snapshot"]')"
[ "$(cat "$SP/data/r7.txt")" = "ROW 7" ] || fail "plain sync missed a same-size change with the mtime restored (ctime moved): $sp"
pass "--verify detects a same-size change with its mtime restored (plain sync does too, by ctime)"
check_production "after the syncs"

# --- sync.keep and doppel snapshots ------------------------------------------------------------------
d destroy s >/dev/null || fail "destroy s"
write_config "sync: {every: 7d, keep: 2}"
first=$(d snapshots --json | json 'j[0]["id"]')
run_ok "create on the oldest" d create old --from "$first" >/dev/null
sk=$(run_ok "sync with keep 2" d sync --json 2>/dev/null)
newest=$(echo "$sk" | json 'j["snapshot"]')
ids=$(d snapshots --json | json '[s["id"] for s in j]' | tr '\n' ' ')
[ "$ids" = "$first $((newest - 1)) $newest " ] || fail "keep 2 with a sandbox on $first: snapshots are '$ids'"
[ "$(echo "$sk" | json 'j["pruned"]')" = $((newest - 3)) ] || fail "pruned count: $sk"
for id in $(seq $((first + 1)) $((newest - 2))); do
	[ ! -e "$DOPPEL_HOME/snapshots/$id" ] || fail "pruned snapshot $id still has its directory"
done
[ -d "$DOPPEL_HOME/snapshots/$first" ] || fail "the snapshot a sandbox uses lost its directory"
out=$(d run old -- cat "$P/data/r5.txt" "$P/data/r6.txt") || fail "sandbox on the kept snapshot does not run"
[ "$out" = "row 5
row 6" ] || fail "sandbox on snapshot $first shows '$out'"
sj=$(d snapshots --json)
echo "$sj" | python3 -m json.tool >/dev/null || fail "snapshots --json is not JSON"
[ "$(echo "$sj" | json '[s["stale"] for s in j]' | sort -u)" = false ] || fail "fresh snapshots marked stale: $sj"
[ "$(echo "$sj" | json '[s["sandboxes"] for s in j if s["id"] == '"$first"'][0]')" = 1 ] || fail "sandbox count: $sj"
[ "$(echo "$sj" | json '[s["files"] for s in j]' | sort -u)" = "$NFILES" ] || fail "file counts: $sj"
d snapshots | grep -Eq "^$first +" || fail "snapshots table lacks $first: $(d snapshots)"
d destroy old >/dev/null || fail "destroy old"
sk=$(run_ok "sync after the sandbox is gone" d sync --json 2>/dev/null)
ids=$(d snapshots --json | json '[s["id"] for s in j]' | tr '\n' ' ')
[ "$ids" = "$newest $((newest + 1)) " ] || fail "after destroying the sandbox, keep 2 leaves '$ids'"
[ ! -e "$DOPPEL_HOME/snapshots/$first" ] || fail "pruned snapshot $first still has its directory"
pass "sync.keep 2 prunes unused older snapshots and keeps the one a sandbox uses"

write_config "sync: {every: 1s, keep: 2}"
sleep 2.1
[ "$(d snapshots --json | json '[s["stale"] for s in j]' | sort -u)" = true ] || fail "old snapshots not stale with every: 1s: $(d snapshots --json)"
d snapshots | grep -q stale || fail "snapshots table does not mark stale ones: $(d snapshots)"
pass "snapshots older than sync.every are marked stale"

# --- a file that keeps changing while it is copied ---------------------------------------------------
# sync retries and then keeps the last copy with a warning; that copy must
# still carry the file's mode, and what the manifest says about it must make
# the next sync copy it again rather than share a copy that does not match.
(
	head -c 64M /dev/zero >"$P/data/growing.log"
	chmod 604 "$P/data/growing.log"
	python3 -c '
import os, sys
f = open(sys.argv[1], "ab", buffering=0)
while not os.path.exists(sys.argv[2]):
    f.write(b"x")' "$P/data/growing.log" "$T/stop-writer" &
	writer=$!
	sleep 0.2
	d sync --json >"$T/grow.json" 2>"$T/grow.err" || fail "sync of a changing file failed: $(cat "$T/grow.err")"
	touch "$T/stop-writer"
	wait "$writer"
	grep -q 'growing.log kept changing' "$T/grow.err" || skip_part "the writer was too slow to change the file during every copy"
	SG="$DOPPEL_HOME/snapshots/$(json 'j["snapshot"]' <"$T/grow.json")"
	[ "$(stat -c %a "$SG/data/growing.log")" = 604 ] ||
		fail "the copy of a file that kept changing has mode $(stat -c %a "$SG/data/growing.log") in the snapshot, production's is 604"
	d sync >/dev/null 2>&1 || fail "sync after the writer stopped"
	SN="$DOPPEL_HOME/snapshots/$(d snapshots --json | json 'j[-1]["id"]')"
	cmp -s "$P/data/growing.log" "$SN/data/growing.log" || fail "after the writer stopped, the next snapshot's copy differs from production"
	pass "a file that kept changing: warning, production's mode kept, re-copied by the next sync"
) || failed_part "file changing during sync"
rm -f "$P/data/growing.log"
remember_production

# --- production on another file system than the store ------------------------------
(
	is_root || skip_part "mounting a tmpfs needs root"
	X="$T/xfs"
	mkdir -p "$X/prod" || exit 1
	mount -t tmpfs -o size=32m tmpfs "$X/prod" || skip_part "cannot mount a tmpfs here"
	trap 'umount "$X/prod" 2>/dev/null' EXIT
	head -c 200000 /dev/urandom >"$X/prod/blob"
	echo small >"$X/prod/small"
	printf 'version: 1\nproduction:\n  root: %s\n' "$X/prod" >"$X/d.yaml"
	DOPPEL_CONFIG="$X/d.yaml" DOPPEL_HOME="$X/store" "$DOPPEL" sync >"$X/out" 2>&1 ||
		fail "sync across file systems: $(cat "$X/out")"
	cmp -s "$X/prod/blob" "$X/store/snapshots/1/blob" || fail "the copy across file systems differs"
	pass "production on another file system than the store (no reflink, no copy_file_range) syncs"
) || failed_part "cross-file-system sync"

check_consistent
check_production "at the end"
pass "production unchanged"
finish
