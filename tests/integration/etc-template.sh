#!/bin/sh
# /etc from the cached template (src/isolate/etc.c): the first run builds a
# template of the system's /etc entries in the cache, later runs mount it as a
# read-only overlay; the sandbox's /etc is the same as the copy path's; a
# change in the system tree is seen by the next run; a cache that someone
# else could have written is not used. Root uses /var/cache/doppel/etc (only
# this test's system tree's template is touched, and removed at the end);
# rootless runs use $XDG_CACHE_HOME below the test's scratch directory.
. "$DOPPEL_SRC/tests/lib/common.sh"

BB=/bin/busybox
[ -x "$BB" ] && ! ldd "$BB" >/dev/null 2>&1 || fail "needs a static /bin/busybox (Debian package busybox-static)"

if is_root; then
	CACHE=/var/cache/doppel/etc
else
	export XDG_CACHE_HOME="$T/cache"
	CACHE="$XDG_CACHE_HOME/doppel/etc"
fi

# --- a system tree: busybox, and /etc entries of every kind -------------------
S="$T/sys"
mkdir -p "$S/bin" "$S/etc/profile.d" "$S/etc/ssl/private" "$S/etc/ssl/certs" "$S/etc/alternatives" \
	"$S/etc/ld.so.conf.d"
cp "$BB" "$S/bin/busybox"
echo v1 > "$S/etc/debian_version"
printf 'export FROM_PROFILE=1\n' > "$S/etc/profile.d/a.sh"
chmod 755 "$S/etc/profile.d/a.sh"
printf 'include /etc/ld.so.conf.d/*.conf\n' > "$S/etc/ld.so.conf"
echo /opt/lib > "$S/etc/ld.so.conf.d/opt.conf"
printf 'UMASK 022\n' > "$S/etc/login.defs"
chmod 640 "$S/etc/login.defs"
echo 'root:$6$production-hash:19000::::::' > "$S/etc/shadow"
echo 'production-tls-key' > "$S/etc/ssl/private/production.key"
echo 'public cert' > "$S/etc/ssl/certs/c.pem"
head -c 300000 /dev/zero | tr '\0' s > "$S/etc/services" # past the copy budget: bound
i=0
while [ $i -lt 70 ]; do # past the entry budget: bound
	ln -s /bin/busybox "$S/etc/alternatives/a$i"
	i=$((i + 1))
done
ln -s /usr/share/zoneinfo/UTC "$S/etc/localtime"
chmod -R a+rX "$S"
chmod 600 "$S/etc/shadow" "$S/etc/ssl/private/production.key"
chmod 710 "$S/etc/ssl/private"
chmod 640 "$S/etc/login.defs"
fixture_sum() { (cd "$S" && find . -printf '%p %m %s %T@ %l\n' | sort && find . -type f -exec sha256sum {} + | sort) | sha256sum; }

PTR="$CACHE/current-$(stat -c %d "$S")-$(stat -c %i "$S")"
cleanup() {
	if is_root; then
		chmod 700 "$CACHE" 2>/dev/null
		t=$(readlink "$PTR" 2>/dev/null) && [ -n "$t" ] && rm -rf "${CACHE:?}/$t"
		rm -f "$PTR"
	fi
	cleanup_T
}
trap cleanup EXIT
is_root && [ -e "$PTR" ] && fail "$PTR exists before the test"

# a template is named only when its entries did not change within a second
sleep 2

# every entry: type, mode, owner, size (not for directories: file system
# specific), link target, content hash; and what /etc is mounted as
LIST='cd /etc && /bin/busybox find . | /bin/busybox sort | while read -r f; do
	if [ -d "$f" ] && [ ! -L "$f" ]; then /bin/busybox stat -c "%n %F %a %u %g" "$f"
	else /bin/busybox stat -c "%n %F %a %u %g %s" "$f"; fi
	if [ -L "$f" ]; then /bin/busybox readlink "$f"
	elif [ -f "$f" ]; then /bin/busybox sha256sum "$f"; fi
done
/bin/busybox awk "\$5 == \"/etc\" { print \"etc-fs\", \$9 }" /proc/self/mountinfo'
run_sys() { isolate --system "$S" "$@"; }
content() { echo "$1" | grep -v '^etc-fs '; }

# --- first run builds the template, the second uses it ------------------------
before=$(fixture_sum)
out1=$(run_sys -- /bin/busybox sh -c "$LIST" 2>&1) || fail "first run failed: $out1"
[ -L "$PTR" ] || fail "first run left no template pointer $PTR"
t1=$(readlink "$PTR")
[ -d "$CACHE/$t1/etc" ] || fail "pointer names no template: $t1"
echo "$out1" | grep -qx "etc-fs overlay" || fail "/etc is not the template's overlay: $(echo "$out1" | tail -3)"
[ "$(cat "$CACHE/$t1/etc/debian_version")" = v1 ] || fail "template lacks the copied debian_version"
for f in shadow ssl/private passwd hosts; do
	[ ! -e "$CACHE/$t1/etc/$f" ] || fail "template holds /etc/$f"
done
[ "$(stat -c %a "$CACHE")" = 700 ] || fail "cache dir mode is not 0700: $(stat -c %a "$CACHE")"
state1=$(stat -c '%i %Y %Z' "$CACHE/$t1" "$CACHE/$t1/manifest" "$CACHE/$t1/etc/debian_version")
out2=$(run_sys -- /bin/busybox sh -c "$LIST" 2>&1) || fail "second run failed: $out2"
[ "$(readlink "$PTR")" = "$t1" ] || fail "second run replaced the template"
[ "$(stat -c '%i %Y %Z' "$CACHE/$t1" "$CACHE/$t1/manifest" "$CACHE/$t1/etc/debian_version")" = "$state1" ] ||
	fail "second run rewrote the template"
[ "$out2" = "$out1" ] || fail "second run's /etc differs from the first's"
[ "$(fixture_sum)" = "$before" ] || fail "the runs changed the system tree"
pass "first run builds the template, the second mounts it unchanged"

# --- what /etc holds: copies, binds, symlinks, modes; no secrets; read-only ---
out=$(run_sys --hostname tmplhost --add-host db.internal:10.1.2.3 -- /bin/busybox sh -c '
	cat /etc/debian_version /etc/ld.so.conf.d/opt.conf /etc/hostname
	grep db.internal /etc/hosts
	stat -c "%a" /etc/login.defs /etc/profile.d/a.sh
	readlink /etc/localtime
	wc -c < /etc/services
	ls /etc/alternatives | wc -l
	cat /etc/ssl/certs/c.pem
	for f in shadow ssl/private ssl/private/production.key; do test -e /etc/$f && echo "present: $f"; done
	touch /etc/new 2>/dev/null && echo etc-writable
	{ echo x >> /etc/debian_version; } 2>/dev/null && echo file-writable
	{ echo x >> /etc/passwd; } 2>/dev/null && echo passwd-writable
	true' 2>&1) || fail "content run failed: $out"
want="v1
/opt/lib
tmplhost
10.1.2.3	db.internal
640
755
/usr/share/zoneinfo/UTC
300000
70
public cert"
[ "$out" = "$want" ] || fail "/etc from the template: expected
$want
got
$out"
pass "/etc: copies, binds, links and modes as the system's, no shadow or ssl/private, read-only, per-run files"

# --- the same /etc as the copy path --------------------------------------------
# the copy path runs when the cache is unusable: here, group-writable
no_cache_run() { # runs "$@" with the cache made unusable
	if is_root; then
		chmod 770 "$CACHE" && "$@"
		st=$?
		chmod 700 "$CACHE"
		return $st
	fi
	mkdir -p "$T/gw/doppel/etc" && chmod 770 "$T/gw/doppel/etc" && (export XDG_CACHE_HOME="$T/gw" && "$@")
}
outc=$(no_cache_run run_sys -- /bin/busybox sh -c "$LIST" 2>&1) || fail "copy-path run failed: $outc"
echo "$outc" | grep -q '^etc-fs ' && fail "a group-writable cache was used: $(echo "$outc" | tail -1)"
[ "$(content "$outc")" = "$(content "$out1")" ] || {
	content "$outc" > "$T/copy.txt"
	content "$out1" > "$T/tmpl.txt"
	fail "/etc differs between the copy path and the template: $(diff "$T/copy.txt" "$T/tmpl.txt" | head -20)"
}
is_root || [ -z "$(ls -A "$T/gw/doppel/etc")" ] || fail "a template was built in a group-writable cache"
# the host's own /etc, through the host's tools
HLIST='cd /etc && find . -printf "%p %y %m %U %G %l\n" | sort; find . ! -type d -printf "%p %s\n" | sort
	find . -type f -exec sha256sum {} + | sort; awk "\$5 == \"/etc\" { print \"etc-fs\", \$9 }" /proc/self/mountinfo'
outh=$(isolate -- /bin/sh -c "$HLIST" 2>&1) || fail "host run failed: $outh"
outh=$(isolate -- /bin/sh -c "$HLIST" 2>&1) || fail "host run failed: $outh"
echo "$outh" | grep -qx "etc-fs overlay" || fail "host /etc is not the template's overlay"
outhc=$(no_cache_run isolate -- /bin/sh -c "$HLIST" 2>&1) || fail "host copy-path run failed: $outhc"
[ "$(content "$outhc")" = "$(content "$outh")" ] || {
	content "$outhc" > "$T/copy.txt"
	content "$outh" > "$T/tmpl.txt"
	fail "host /etc differs between the copy path and the template: $(diff "$T/copy.txt" "$T/tmpl.txt" | head -20)"
}
pass "/etc from the template is the copy path's (system tree and host), modes and hashes included"

# --- a change in the system tree is seen, then becomes the new template -------
echo v2 > "$S/etc/debian_version"
chmod 600 "$S/etc/debian_version"
printf 'set bell-style none\n' > "$S/etc/inputrc" # an entry of the list, new
rm "$S/etc/profile.d/a.sh"
expect='v2
600
set bell-style none
gone'
probe='cat /etc/debian_version; stat -c %a /etc/debian_version; cat /etc/inputrc
	test -e /etc/profile.d/a.sh || echo gone'
out=$(run_sys -- /bin/busybox sh -c "$probe" 2>&1) || fail "run after the change failed: $out"
[ "$out" = "$expect" ] || fail "right after a change: expected '$expect', got '$out'"
sleep 2
out=$(run_sys -- /bin/busybox sh -c "$probe" 2>&1) || fail "run after the change failed: $out"
[ "$out" = "$expect" ] || fail "after a change: expected '$expect', got '$out'"
t2=$(readlink "$PTR")
[ -n "$t2" ] && [ "$t2" != "$t1" ] || fail "the changed tree did not get a new template"
[ "$(cat "$CACHE/$t2/etc/debian_version")" = v2 ] || fail "new template lacks the change"
[ ! -e "$CACHE/$t1" ] || fail "the stale template $t1 was not collected"
pass "a changed, added or removed entry is seen by the next run; the stale template is collected"

# --- a cache someone else could have written is not used ----------------------
# a planted template under the current name: another owner (root) or
# group-writable (rootless), with content the host does not have
echo planted > "$CACHE/$t2/etc/debian_version"
if is_root; then chown 65534 "$CACHE/$t2"; else chmod 770 "$CACHE/$t2"; fi
out=$(run_sys -- /bin/busybox sh -c 'cat /etc/debian_version' 2>&1) || fail "run with a planted template failed: $out"
[ "$out" = v2 ] || fail "a template owned by someone else was used: '$out'"
t3=$(readlink "$PTR")
[ "$t3" = "$t2" ] && [ "$(stat -c %u "$CACHE/$t3")" = "$(id -u)" ] &&
	[ "$(cat "$CACHE/$t3/etc/debian_version")" = v2 ] || fail "the planted template was not replaced by the caller's own"
if ! is_root; then
	# a symlink on the way to the cache
	mkdir -p "$T/real/doppel/etc" "$T/sl"
	chmod 700 "$T/real/doppel" "$T/real/doppel/etc"
	ln -s "$T/real/doppel" "$T/sl/doppel"
	out=$(export XDG_CACHE_HOME="$T/sl" && run_sys -- /bin/busybox sh -c "$LIST" 2>&1) ||
		fail "run with a symlinked cache failed: $out"
	echo "$out" | grep -q '^etc-fs ' && fail "a cache reached through a symlink was used"
	[ -z "$(ls -A "$T/real/doppel/etc")" ] || fail "a template was built through a symlinked cache path"
	echo "$out" | grep -q '^./debian_version regular file 600 ' || fail "symlinked cache: wrong /etc: $out"
fi
pass "planted, group-writable or symlinked caches are not used; /etc stays right"

# --- the per-run layer: cached in the template, keyed by its bytes ------------
# a run's passwd, group, hosts, hostname and resolv.conf come from a run-*
# directory of the template: the sandbox's /etc/hostname is that directory's
# file (overlayfs shows a lower file's own inode when all layers share a file
# system)
TD="$CACHE/$(readlink "$PTR")"
nruns() { find "$TD" -mindepth 1 -maxdepth 1 -name 'run-*' | wc -l; }
# run_dir OPTS...: the run-* directory the sandbox's /etc/hostname comes from
run_dir() {
	ino=$(run_sys "$@" -- /bin/busybox stat -c %i /etc/hostname 2>&1) || fail "run $* failed: $ino"
	d=$(find "$TD" -mindepth 2 -maxdepth 2 -path "$TD/run-*/hostname" -inum "$ino" | sed 's,/hostname$,,')
	[ -n "$d" ] || fail "run $*: /etc/hostname (inode $ino) is from no run-* directory of $TD: $(ls "$TD")"
	echo "$d"
}
r1=$(run_dir)
[ "$(cat "$r1/hostname")" = doppel ] || fail "run dir $r1 holds the wrong hostname: $(cat "$r1/hostname")"
[ "$(stat -c %a "$r1")" = 755 ] && [ "$(stat -c %u "$r1")" = "$(id -u)" ] || fail "run dir $r1: $(stat -c '%a %u' "$r1")"
st1=$(stat -c '%i %Z' "$r1" "$r1/passwd")
[ "$(run_dir)" = "$r1" ] || fail "a second identical run used another per-run layer"
[ "$(stat -c '%i %Z' "$r1" "$r1/passwd")" = "$st1" ] || fail "a second identical run rewrote $r1"
n=$(nruns)
r2=$(run_dir --hostname other)
r3=$(run_dir --add-host db.internal:10.1.2.3)
R4="--hostname fourth"
r4=$(run_dir $R4)
[ "$(nruns)" = $((n + 3)) ] || fail "expected $((n + 3)) per-run layers, got $(nruns)"
[ "$(printf '%s\n' "$r1" "$r2" "$r3" "$r4" | sort -u | wc -l)" = 4 ] || fail "inputs that differ share a layer"
[ "$(cat "$r2/hostname")" = other ] && grep -q 'db.internal' "$r3/hosts" && ! { cmp -s "$r4/passwd" "$r1/passwd" && cmp -s "$r4/hostname" "$r1/hostname"; } &&
	! grep -q db.internal "$r1/hosts" || fail "per-run layers hold the wrong content"
out=$(run_sys $R4 -- /bin/busybox sh -c 'cat /etc/passwd /etc/group; stat -c "%a %n" /etc /etc/passwd' 2>&1)
[ "$out" = "$(cat "$r4/passwd" "$r4/group"; echo "755 /etc"; echo "644 /etc/passwd")" ] ||
	fail "$R4: /etc is not its per-run layer's: $out"
# --uid (the caller's own uid inside) changes passwd rootless; as root it is
# 0 either way. On the host's system root: the test's tree is the caller's,
# and the states its template records are those seen with the run's mapping
if ! is_root; then
	HP="$CACHE/current-$(stat -c %d /)-$(stat -c %i /)"
	a=$(isolate -- stat -c %i /etc/passwd 2>&1) && b=$(isolate --uid -- stat -c %i /etc/passwd 2>&1) ||
		fail "host runs failed: $a $b"
	HT="$CACHE/$(readlink "$HP")"
	pa=$(find "$HT" -mindepth 2 -maxdepth 2 -path "$HT/run-*/passwd" -inum "$a")
	pb=$(find "$HT" -mindepth 2 -maxdepth 2 -path "$HT/run-*/passwd" -inum "$b")
	[ -n "$pa" ] && [ -n "$pb" ] && [ "$pa" != "$pb" ] || fail "--uid: no per-run layer of its own ($pa, $pb)"
	grep -q ":$(id -u):$(id -g)::" "$pb" && ! grep -q ":$(id -u):" "$pa" || fail "--uid: wrong passwd in $pb"
fi
# while a sandbox lives, its layer is share-locked (through its hostname)
# locked FILE: whether someone holds a lock on FILE (/proc/locks: a probe
# with flock would make a starting sandbox find its layer locked)
locked() {
	dev=$((0x$(stat -c %D "$1")))
	grep -q " $(printf '%02x:%02x:%s' $((dev >> 8)) $((dev & 255)) "$(stat -c %i "$1")") " /proc/locks
}
# held_until_killed FILE OPTS...: starts a sandbox (pid in $bg) that sleeps
# until killed, and waits until FILE is locked
held_until_killed() {
	f=$1; shift
	"$DOPPEL" isolate --system "$S" "$@" -- /bin/busybox sleep 600 &
	bg=$! # doppel's own pid: it passes SIGTERM on
	i=0
	until locked "$f"; do
		[ $i -lt 100 ] || { kill $bg; fail "a living sandbox's per-run layer $f is not locked"; }
		sleep 0.1
		i=$((i + 1))
	done
	flock -n -x "$f" true && fail "a living sandbox's per-run layer $f is not locked"
}
# end_held FILE: kills it and waits until its init is gone (FILE unlocked)
end_held() {
	kill $bg
	wait $bg 2>/dev/null
	i=0
	while locked "$1"; do
		[ $i -lt 100 ] || fail "the per-run layer $1 is still locked after the sandbox ended"
		sleep 0.1
		i=$((i + 1))
	done
	flock -n -x "$1" true || fail "the per-run layer $1 is still locked after the sandbox ended"
}
held_until_killed "$r1/hostname"
flock -n -s "$r1/hostname" true || fail "a living sandbox's per-run layer is locked exclusively"
end_held "$r1/hostname"
pass "per-run layer: reused for identical inputs, one per hostname, host entries or uid (rootless); locked while used"

# --- planted or unsafe per-run layers are not used ----------------------------
# another owner (root) or group-writable (rootless), with other content
echo planted > "$r2/hostname"
if is_root; then chown 65534 "$r2"; else chmod 770 "$r2"; fi
out=$(run_sys --hostname other -- /bin/busybox sh -c 'cat /etc/hostname; stat -c %a /etc' 2>&1)
[ "$out" = "other
755" ] || fail "a planted per-run layer was used: $out"
[ "$(stat -c %u "$r2")" = "$(id -u)" ] && [ "$(cat "$r2/hostname")" = other ] ||
	fail "the planted per-run layer was not replaced by the caller's own"
# the wrong mode: /etc would get it
chmod 700 "$r3"
out=$(run_sys --add-host db.internal:10.1.2.3 -- /bin/busybox sh -c 'stat -c %a /etc; grep db.internal /etc/hosts' 2>&1)
[ "$out" = "755
10.1.2.3	db.internal" ] || fail "a per-run layer of the wrong mode was used: $out"
[ "$(stat -c %a "$r3")" = 755 ] || fail "the per-run layer of the wrong mode was not replaced"
# a symlink by that name, to a directory with planted content
cp "$r4/hostname" "$T/want4"
mkdir "$T/fake" && printf 'fake\n' > "$T/fake/hostname" && cp "$r4/passwd" "$r4/group" "$r4/hosts" "$r4/resolv.conf" "$T/fake/"
rm -rf "$r4" && ln -s "$T/fake" "$r4"
out=$(run_sys $R4 -- /bin/busybox cat /etc/hostname 2>&1)
[ "$out" = "$(cat "$T/want4")" ] || fail "a symlinked per-run layer was used: $out"
[ -d "$r4" ] && [ ! -L "$r4" ] || fail "the symlinked per-run layer was not replaced"
pass "per-run layers of another owner, group-writable, of the wrong mode or symlinked are not used, and replaced"

# --- collection -----------------------------------------------------------------
# past 16 per template the unused ones go; one a sandbox holds stays
held=$(run_dir --hostname held)
held_until_killed "$held/hostname" --hostname held
i=0
while [ $i -lt 20 ]; do
	run_sys --hostname "gc$i" -- /bin/busybox true || fail "run gc$i failed"
	i=$((i + 1))
done
[ "$(nruns)" -le 16 ] || fail "per-run layers were not collected: $(nruns)"
[ -d "$held" ] && [ "$(cat "$held/hostname")" = held ] || fail "a held per-run layer was collected"
# a template whose per-run layer a sandbox holds is not collected either
echo v3 > "$S/etc/debian_version"
sleep 2
run_sys -- /bin/busybox true || fail "run after the change failed"
[ "$(readlink "$PTR")" != "$(basename "$TD")" ] || fail "the changed tree did not get a new template"
[ -d "$held" ] || fail "a template was collected while a sandbox held one of its per-run layers"
end_held "$held/hostname"
echo v4 > "$S/etc/debian_version"
sleep 2
run_sys -- /bin/busybox true || fail "run after the second change failed"
[ ! -e "$TD" ] || fail "the unused stale template $TD was not collected: $(ls -l "$TD")"
pass "unused per-run layers are collected past 16, held ones and their template stay"
