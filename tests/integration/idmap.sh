#!/bin/sh
# --map-user: a runtime started as root runs the sandbox as a user's
# subordinate ids (/etc/subuid, /etc/subgid) instead of host root, and shows
# every host tree of the plan through idmapped mounts, so files keep their
# on-disk owners inside and files written inside get the on-disk owners they
# get without the mapping. Uses a real user made here with useradd.
. "$DOPPEL_SRC/tests/lib/common.sh"

is_root || skip "--map-user needs root (it maps the sandbox onto another user's subordinate ids)"
for c in useradd userdel usermod runuser pgrep; do
	command -v $c >/dev/null 2>&1 || skip "$c is not installed"
done

U=dp-idmap-test
BG=""
cleanup() {
	for p in $BG; do kill "$p" 2>/dev/null; done
	userdel "$U" >/dev/null 2>&1
	cleanup_T
}
trap cleanup EXIT

make_user "$U"
range() { awk -F: -v u="$U" '$1 == u && $3 >= 65536 { print $2; exit }' "$1"; }
BASE=$(range /etc/subuid)
GBASE=$(range /etc/subgid)
[ -n "$BASE" ] && [ -n "$GBASE" ] || fail "no subordinate range for $U after useradd/usermod"

# A tree with files of root, of uid 1000, of www-data (33), and of a host id
# outside the mapped range (70000); the sandbox directory private as the store's.
mkdir -p "$T/tree/www" "$T/sb/u" "$T/sb/w" "$T/sb2/u" "$T/sb2/w"
chmod 700 "$T/sb" "$T/sb2"
echo secret > "$T/tree/rootonly"; chmod 600 "$T/tree/rootonly"
echo bob > "$T/tree/bob"; chown 1000:1000 "$T/tree/bob"
echo page > "$T/tree/www/index"; chown -R 33:33 "$T/tree/www"
echo far > "$T/tree/far"; chown 70000:70000 "$T/tree/far"
echo outside > "$T/outside"
listing() { (cd "$1" && find . -mindepth 1 -printf '%P %U:%G %m\n' | LC_ALL=C sort); }
host_tree=$(listing "$T/tree")

# --- inside: root, the tree's owners as on disk, writes land as without mapping
out=$(isolate --map-user "$U" --ro-bind "$T/tree" /data --overlay "$T/tree" "$T/sb/u" "$T/sb/w" /ov -- /bin/sh -c '
	echo "id $(id -u):$(id -g) groups $(id -G)"
	cd /data && find . -mindepth 1 -printf "%P %U:%G %m\n" | LC_ALL=C sort | sed "s/^/data /"
	cd /ov && find . -mindepth 1 -printf "%P %U:%G %m\n" | LC_ALL=C sort | sed "s/^/ov /"
	sed "s/^/read /" /data/rootonly
	stat -c "usr %u:%g" /usr /usr/bin/env /etc/passwd
	echo new > /ov/new && echo wrote-new
	mkdir /ov/newdir && chown 1000:1000 /ov/newdir && echo chowned-newdir
	echo more >> /ov/bob && echo appended-bob
	echo more >> /ov/www/index && echo appended-www
	echo x >> /ov/far 2>/dev/null && echo FAR-WRITTEN
	chown 0:0 /ov/far 2>/dev/null && echo FAR-CHOWNED
	chmod 777 /ov/far 2>/dev/null && echo FAR-CHMODED
	touch /data/x 2>/dev/null && echo DATA-WRITABLE
	test -e /.doppel-host && echo SCRATCH-LEFT
	grep -q doppel-host /proc/self/mountinfo && echo SCRATCH-MOUNTED
	test -e "'"$T"'/outside" && echo OUTSIDE-REACHABLE
	echo done' 2>&1) || fail "mapped run failed: $out"
echo "$out" | grep -qx "id 0:0 groups 0" || fail "inside, expected uid 0, gid 0, groups 0: $out"
want=$(echo "$host_tree" | sed 's/70000:70000/65534:65534/')
got=$(echo "$out" | sed -n 's/^data //p')
[ "$got" = "$want" ] || fail "owners under the read-only bind differ from disk:
want:
$want
got:
$got"
got=$(echo "$out" | sed -n 's/^ov //p')
[ "$got" = "$want" ] || fail "owners under the overlay differ from disk: $got"
echo "$out" | grep -qx "read secret" || fail "inner root could not read on-disk root's 0600 file: $out"
[ "$(echo "$out" | sed -n 's/^usr //p' | tr '\n' ' ')" = "0:0 0:0 0:0 " ] ||
	fail "system dirs not owned by root inside: $(echo "$out" | grep '^usr')"
for w in wrote-new chowned-newdir appended-bob appended-www done; do
	echo "$out" | grep -qx "$w" || fail "inside, '$w' missing: $out"
done
for w in FAR-WRITTEN FAR-CHOWNED FAR-CHMODED DATA-WRITABLE SCRATCH-LEFT SCRATCH-MOUNTED OUTSIDE-REACHABLE; do
	echo "$out" | grep -qx "$w" && fail "inside: $w: $out"
done
pass "inside: uid 0, on-disk owners as on disk (70000 shows as 65534), system dirs root's, nothing else reachable"

[ "$(stat -c %u:%g "$T/sb/u/new")" = 0:0 ] || fail "file written by inner root is $(stat -c %u:%g "$T/sb/u/new") on disk, expected 0:0"
[ "$(stat -c %u:%g "$T/sb/u/newdir")" = 1000:1000 ] || fail "chown 1000 inside gave $(stat -c %u:%g "$T/sb/u/newdir") on disk"
[ "$(stat -c %u:%g "$T/sb/u/bob")" = 1000:1000 ] || fail "copy-up of uid 1000's file gave $(stat -c %u:%g "$T/sb/u/bob")"
[ "$(stat -c %u:%g "$T/sb/u/www/index")" = 33:33 ] || fail "copy-up of www-data's file gave $(stat -c %u:%g "$T/sb/u/www/index")"
[ ! -e "$T/sb/u/far" ] || fail "the unmapped file was copied up"
[ "$(listing "$T/tree")" = "$host_tree" ] || fail "the lower tree changed"
pass "on disk: inner root writes uid 0, chown 1000 gives 1000, copy-up keeps 1000 and 33; lower unchanged"

# --- from the host: init and the command are BASE, never 0 ----------------------
"$DOPPEL" isolate --map-user "$U" --overlay "$T/tree" "$T/sb2/u" "$T/sb2/w" /ov -- sleep 30 >/dev/null 2>&1 &
dpid=$!; BG="$BG $dpid"
deadline=$(( $(date +%s) + 10 ))
cmd=""
while :; do
	init=$(pgrep -P $dpid | head -1)
	[ -n "$init" ] && cmd=$(pgrep -P "$init" | head -1)
	[ -n "$cmd" ] && [ "$(cat /proc/$cmd/comm 2>/dev/null)" = sleep ] && break
	[ "$(date +%s)" -le $deadline ] || fail "the sandbox's command did not start"
	sleep 0.05
done
for p in "$init" "$cmd"; do
	uids=$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' /proc/$p/status)
	gids=$(awk '$1 == "Gid:" { print $2, $3, $4, $5 }' /proc/$p/status)
	groups=$(awk '$1 == "Groups:" { $1 = ""; print }' /proc/$p/status | tr -d ' ')
	[ "$uids" = "$BASE $BASE $BASE $BASE" ] || fail "host sees pid $p with uids '$uids', expected $BASE"
	[ "$gids" = "$GBASE $GBASE $GBASE $GBASE" ] || fail "host sees pid $p with gids '$gids', expected $GBASE"
	[ -z "$groups" ] || fail "pid $p keeps supplementary groups: $groups"
done
map=$(awk '{ print $1, $2, $3 }' /proc/$cmd/uid_map)
[ "$map" = "0 $BASE 65536" ] || fail "uid_map is '$map', expected '0 $BASE 65536'"
map=$(awk '{ print $1, $2, $3 }' /proc/$cmd/gid_map)
[ "$map" = "0 $GBASE 65536" ] || fail "gid_map is '$map', expected '0 $GBASE 65536'"
kill $dpid
wait $dpid 2>/dev/null
pass "from the host: init and command run as $BASE:$GBASE, no supplementary groups, map 0 $BASE 65536"

# --- a host-root file outside the idmapped trees stays host root's ---------------
# The command gets it as stdin (an fd it may use), but reopening it by path for
# writing needs host root, which the sandbox's root is not.
echo orig > "$T/hostroot"; chmod 600 "$T/hostroot"
out=$(isolate --map-user "$U" -- /bin/sh -c '
	cat
	echo pwned >> /proc/self/fd/0 2>/dev/null && echo REOPENED
	chmod 666 /proc/self/fd/0 2>/dev/null && echo CHMODED
	echo end' < "$T/hostroot" 2>&1) || fail "stdin run failed: $out"
echo "$out" | grep -qx orig || fail "the command could not read its stdin: $out"
echo "$out" | grep -qx end || fail "stdin run incomplete: $out"
echo "$out" | grep -qE "^(REOPENED|CHMODED)$" && fail "the sandbox modified a host-root file: $out"
[ "$(cat "$T/hostroot")" = orig ] && [ "$(stat -c %a "$T/hostroot")" = 600 ] || fail "host-root file changed"
pass "a host-root 0600 file outside the trees cannot be reopened for writing or chmod-ed"

# --- stdout as a pipe still works as /dev/stdout ------------------------------------
out=$(isolate --map-user "$U" -- /bin/sh -c 'echo via-path > /dev/stdout; echo direct' | cat)
[ "$out" = "via-path
direct" ] || fail "/dev/stdout through a pipe: '$out'"
pass "/dev/stdout works when stdout is a pipe"

# --- --tmp-overlay: writes go to the throwaway layer ---------------------------------
out=$(isolate --map-user "$U" --tmp-overlay "$T/tree" /t -- /bin/sh -c '
	echo changed > /t/rootonly && stat -c "%u:%g" /t/rootonly /t/bob' 2>&1) || fail "--tmp-overlay run failed: $out"
[ "$(echo "$out" | tr '\n' ' ')" = "0:0 1000:1000 " ] || fail "--tmp-overlay owners: $out"
[ "$(cat "$T/tree/rootonly")" = secret ] || fail "--tmp-overlay wrote through to the lower"
pass "--tmp-overlay over idmapped lowers"

# --- refusals, each clear and running nothing ----------------------------------------
out=$(isolate --map-user 3999999999 -- echo RAN 2>&1); st=$?
[ "$st" = 1 ] || fail "a uid without a range: expected exit 1, got $st: $out"
echo "$out" | grep -q "no subordinate uid range of at least 65536" || fail "no-range message: $out"
echo "$out" | grep -q RAN && fail "a uid without a range ran the command"
out=$(isolate --map-user no-such-user-xyz -- echo RAN 2>&1); st=$?
[ "$st" = 2 ] || fail "an unknown user: expected exit 2, got $st: $out"
echo "$out" | grep -q "no user named 'no-such-user-xyz'" || fail "unknown-user message: $out"
if runuser -u "$U" -- test -x "$DOPPEL"; then
	out=$(runuser -u "$U" -- "$DOPPEL" isolate --map-user "$U" -- echo RAN 2>&1); st=$?
	[ "$st" = 2 ] || fail "rootless --map-user: expected exit 2, got $st: $out"
	echo "$out" | grep -q "needs doppel to run as root" || fail "rootless message: $out"
fi
if [ -d /sys/kernel ]; then
	out=$(isolate --map-user "$U" --ro-bind /sys/kernel /k -- echo RAN 2>&1); st=$?
	[ "$st" = 1 ] || fail "a sysfs bind: expected exit 1, got $st: $out"
	echo "$out" | grep -q "/sys/kernel: .*does not support idmapped mounts" || fail "sysfs message: $out"
	echo "$out" | grep -q RAN && fail "the command ran without its bind"
fi
pass "refused clearly: no range, unknown user, not root, a filesystem without idmapped mounts"
