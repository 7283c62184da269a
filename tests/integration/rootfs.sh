#!/bin/sh
# The sandbox's root: pivot_root into a fresh tree (no host path left in the
# mount table), read-only / and system dirs, writable tmpfs /tmp, a minimal
# working /dev, a /proc with only the sandbox's processes, and the plan's
# mounts: --ro-bind (file and dir), --tmpfs, --overlay, --tmp-overlay, --system.
. "$DOPPEL_SRC/tests/lib/common.sh"

echo host-marker > "$T/host-marker"

# --- pivot_root: nothing of the host's tree is mounted or reachable ---------
out=$(isolate -- /bin/sh -c '
	cat /proc/self/mountinfo
	echo "--- tmp"; ls -A /tmp
	echo "--- root"; ls -A /' 2>&1) || fail "mountinfo probe failed: $out"
mi=$(echo "$out" | sed '/^--- tmp$/,$d')
tmpls=$(echo "$out" | sed -n '/^--- tmp$/,/^--- root$/p' | sed '1d;$d')
rootls=$(echo "$out" | sed -n '/^--- root$/,$p' | sed 1d)
echo "$mi" | grep -q ' / / ' || fail "no mount at / in mountinfo: $mi"
# mount points (field 5) and mount roots (field 4) never name the caller's
# working tree or scratch directory
echo "$mi" | awk '{print $4; print $5}' | grep -E "^(/work|$T|/home)" &&
	fail "host paths in the sandbox's mount table"
[ -z "$tmpls" ] || fail "/tmp inside is not empty (host /tmp leaked?): $tmpls"
for d in work home var boot mnt opt srv media; do
	echo "$rootls" | grep -qx "$d" && fail "host directory /$d visible inside: $(echo $rootls)"
done
for d in usr etc dev proc tmp; do
	echo "$rootls" | grep -qx "$d" || fail "/$d missing inside: $(echo $rootls)"
done
# the old root is gone: one mount at /, and it is the only mount whose parent
# is not in the table (the old root, stacked or detached late, would show)
[ "$(echo "$mi" | awk '$5 == "/"' | wc -l)" = 1 ] || fail "more than one mount at /: $mi"
orphans=$(echo "$mi" | awk '{ id[$1] = 1; line[NR] = $0; parent[NR] = $2; mp[NR] = $5 }
	END { for (i = 1; i <= NR; i++) if (!(parent[i] in id)) print mp[i] }')
[ "$orphans" = / ] || fail "mounts outside the new root's tree: '$orphans'"
isolate -- /bin/sh -c "test -e '$T/host-marker'" && fail "host scratch file reachable inside"
pass "pivot_root: no host paths mounted, host /tmp not visible"

# --- / and /usr read-only, /usr nosuid; /tmp a writable tmpfs ---------------
out=$(isolate -- /bin/sh -c '
	awk "\$5 == \"/\" || \$5 == \"/usr\" || \$5 == \"/tmp\" { print \$5, \$6, \$9 }" /proc/self/mountinfo
	if mkdir /newdir 2>/dev/null; then echo "root-writable"; fi
	if touch /usr/doppel-test 2>/dev/null; then echo "usr-writable"; fi
	echo data > /tmp/f && cat /tmp/f') || fail "mount flags probe failed: $out"
echo "$out" | grep -q writable && fail "read-only tree was writable: $out"
root_opts=$(echo "$out" | awk '$1 == "/" { print $2 }' | tail -1)
usr_opts=$(echo "$out" | awk '$1 == "/usr" { print $2 }' | tail -1)
tmp_line=$(echo "$out" | awk '$1 == "/tmp"' | tail -1)
case ",$root_opts," in *,ro,*) ;; *) fail "/ is not read-only: '$root_opts'" ;; esac
case ",$usr_opts," in *,ro,*) ;; *) fail "/usr is not read-only: '$usr_opts'" ;; esac
case ",$usr_opts," in *,nosuid,*) ;; *) fail "/usr is not nosuid: '$usr_opts'" ;; esac
set -- $tmp_line
[ "${3:-}" = tmpfs ] || fail "/tmp is not a tmpfs: '$tmp_line'"
case ",$2," in *,rw,*) ;; *) fail "/tmp is not writable: '$2'" ;; esac
echo "$out" | grep -qx data || fail "/tmp write/read failed: $out"
pass "/ and /usr read-only (/usr nosuid), /tmp a writable tmpfs"

# --- /dev: exactly the minimal nodes, and they work -------------------------
out=$(isolate -- /bin/sh -c 'ls -A /dev | sort | tr "\n" " "') || fail "ls /dev failed"
want="fd full null ptmx pts random shm stderr stdin stdout tty urandom zero "
[ "$out" = "$want" ] || fail "/dev: expected '$want', got '$out'"
out=$(isolate -- /bin/sh -c '
	head -c 4096 /dev/zero | od -An -v -tx1 | tr -s " \n" "\n\n" | sort -u | grep -v "^$" | tr "\n" " "
	echo
	echo discard > /dev/null && echo null-ok
	head -c 32 /dev/urandom | wc -c
	head -c 32 /dev/random | wc -c
	head -c 8 /dev/full | wc -c
	if echo x 2>/dev/null > /dev/full; then echo full-accepted; else echo full-refused; fi
	echo out > /dev/stdout; echo err > /dev/stderr
	test -c /dev/ptmx -o -L /dev/ptmx && echo ptmx-ok
	ls /dev/fd/ >/dev/null && echo fd-ok
	test -d /dev/shm && echo shm > /dev/shm/x && cat /dev/shm/x
	mknod /dev/sda b 8 0 2>/dev/null && echo mknod-ok
	ls /dev/vda /dev/sda /dev/mem /dev/kmsg 2>/dev/null; true' 2>&1) ||
	fail "/dev probe failed: $out"
[ "$(echo "$out" | sed -n 1p)" = "00 " ] || fail "/dev/zero does not read zeros: $(echo "$out" | sed -n 1p)"
for w in null-ok full-refused out err ptmx-ok fd-ok shm; do
	echo "$out" | grep -qx "$w" || fail "/dev check '$w' missing: $out"
done
[ "$(echo "$out" | grep -cx 32)" = 2 ] || fail "/dev/random or /dev/urandom unreadable: $out"
echo "$out" | grep -qx 8 || fail "/dev/full unreadable: $out"
echo "$out" | grep -q mknod-ok && fail "mknod in /dev succeeded"
echo "$out" | grep -qE '/dev/(vda|sda|mem|kmsg)' && fail "host device nodes visible: $out"
pass "/dev has exactly the minimal nodes and they work"

# --- /proc: only the sandbox's processes, pid 1 is doppel's init ------------
dname=doppel-init
out=$(isolate -- /bin/sh -c '
	echo "pids $(ls /proc | grep -c "^[0-9][0-9]*$")"
	echo "ps $(ps -e --no-headers | wc -l)"
	echo "comm1 $(cat /proc/1/comm)"
	echo "me $$ ppid $PPID"') || fail "/proc probe failed: $out"
n=$(echo "$out" | awk '$1 == "pids" { print $2 }')
[ -n "$n" ] && [ "$n" -le 5 ] || fail "/proc lists too many processes ($n): $out"
n=$(echo "$out" | awk '$1 == "ps" { print $2 }')
[ -n "$n" ] && [ "$n" -le 5 ] || fail "ps shows too many processes ($n): $out"
echo "$out" | grep -qx "comm1 $dname" || fail "pid 1 is not doppel's init: $out"
echo "$out" | grep -qE '^me [0-9]+ ppid 1$' || fail "the command is not init's child: $out"
pass "/proc shows only the sandbox's processes, pid 1 is init"

# --- --ro-bind of a file and a directory ------------------------------------
mkdir -p "$T/rodir/sub"
echo "in-dir" > "$T/rodir/sub/f"
echo "a file" > "$T/rofile"
chmod -R a+rX "$T/rodir" "$T/rofile"
out=$(isolate --ro-bind "$T/rofile" /opt/conf/file.txt --ro-bind "$T/rodir" /srv/data -- /bin/sh -c '
	cat /opt/conf/file.txt /srv/data/sub/f
	{ echo x >> /opt/conf/file.txt; } 2>/dev/null && echo file-writable
	touch /srv/data/new 2>/dev/null && echo dir-writable
	rm /srv/data/sub/f 2>/dev/null && echo dir-deletable
	true') || fail "--ro-bind run failed: $out"
[ "$out" = "a file
in-dir" ] || fail "--ro-bind: unexpected output '$out'"
[ "$(cat "$T/rofile")" = "a file" ] && [ ! -e "$T/rodir/new" ] && [ -f "$T/rodir/sub/f" ] ||
	fail "--ro-bind source changed on the host"
pass "--ro-bind of a file and a directory: visible, read-only"

# --- --tmpfs ----------------------------------------------------------------
out=$(isolate --tmpfs /scratch -- /bin/sh -c '
	ls -A /scratch; awk "\$5 == \"/scratch\" { print \$9 }" /proc/self/mountinfo
	echo w > /scratch/f && cat /scratch/f') || fail "--tmpfs run failed: $out"
[ "$out" = "tmpfs
w" ] || fail "--tmpfs: expected an empty writable tmpfs, got '$out'"
pass "--tmpfs gives an empty writable tmpfs"

# --- --overlay: writes land in UPPER, the lower is unchanged ----------------
L="$T/lower" U="$T/upper" W="$T/work"
mkdir -p "$L/d" "$U" "$W"
printf 'original\n' > "$L/keep"
printf 'to change\n' > "$L/d/change"
chmod -R a+rX "$L"
lower_sum() { (cd "$L" && find . -printf '%p %m %s %T@\n' | sort && find . -type f -exec sha256sum {} + | sort) | sha256sum; }
before=$(lower_sum)
out=$(isolate --overlay "$L" "$U" "$W" /mnt/ov -- /bin/sh -c '
	cd /mnt/ov && cat keep && echo changed > d/change && echo new > new && cat d/change new') ||
	fail "--overlay run failed: $out"
[ "$out" = "original
changed
new" ] || fail "--overlay: unexpected output '$out'"
[ "$(lower_sum)" = "$before" ] || fail "--overlay: lower changed"
[ "$(cat "$L/d/change")" = "to change" ] || fail "--overlay: lower file rewritten"
[ ! -e "$L/new" ] || fail "--overlay: new file written to the lower"
[ "$(cat "$U/new" 2>/dev/null)" = new ] || fail "--overlay: new file not in UPPER"
[ "$(cat "$U/d/change" 2>/dev/null)" = changed ] || fail "--overlay: changed file not in UPPER"
# a second run sees the first run's writes (UPPER persists)
out=$(isolate --overlay "$L" "$U" "$W" /mnt/ov -- cat /mnt/ov/new) || fail "second --overlay run failed"
[ "$out" = new ] || fail "--overlay: UPPER not reused, got '$out'"
pass "--overlay: writes land in UPPER, lower bytes unchanged"

# --- --tmp-overlay: writes vanish after the run -----------------------------
rm -rf "$U" "$W"
before=$(lower_sum)
out=$(isolate --tmp-overlay "$L" /mnt/ov -- /bin/sh -c '
	cd /mnt/ov && echo changed > d/change && echo new > new && rm keep && cat d/change new
	ls /; awk "\$5 == \"/mnt/ov\" { print \$9 }" /proc/self/mountinfo') ||
	fail "--tmp-overlay run failed: $out"
echo "$out" | head -2 | tr '\n' ' ' | grep -qx 'changed new ' || fail "--tmp-overlay: writes not visible inside: $out"
echo "$out" | grep -qx overlay || fail "--tmp-overlay: not an overlay: $out"
echo "$out" | grep -q 'doppel-upper' && fail "--tmp-overlay: scratch upper left visible in /: $out"
[ "$(lower_sum)" = "$before" ] || fail "--tmp-overlay: lower changed"
out=$(isolate --tmp-overlay "$L" /mnt/ov -- /bin/sh -c 'cat /mnt/ov/keep /mnt/ov/d/change; ls /mnt/ov') ||
	fail "second --tmp-overlay run failed"
[ "$out" = "original
to change
d
keep" ] || fail "--tmp-overlay: writes survived the run: '$out'"
pass "--tmp-overlay: writes visible inside, gone after the run, lower unchanged"

# --- --system DIR: a root with only a static busybox ------------------------
BB=/bin/busybox
[ -x "$BB" ] && ! ldd "$BB" >/dev/null 2>&1 ||
	fail "needs a static /bin/busybox (Debian package busybox-static)"
mkdir -p "$T/sysroot/bin" "$T/sysroot/etc"
cp "$BB" "$T/sysroot/bin/busybox"
echo "sysroot-only" > "$T/sysroot/etc/debian_version"
chmod -R a+rX "$T/sysroot"
out=$(isolate --system "$T/sysroot" -- /bin/busybox sh -c '
	echo "bin: $(/bin/busybox ls /bin | /bin/busybox tr "\n" " ")"
	/bin/busybox cat /etc/debian_version
	/bin/busybox test -e /usr && echo usr-present
	/bin/busybox test -e /lib/x86_64-linux-gnu && echo host-lib-present
	/bin/busybox touch /bin/x 2>/dev/null && echo bin-writable
	true' 2>&1) || fail "--system DIR run failed: $out"
echo "$out" | grep -qx "bin: busybox " || fail "--system: /bin is not DIR's: $out"
echo "$out" | grep -qx "sysroot-only" || fail "--system: /etc entry not from DIR: $out"
echo "$out" | grep -qE 'usr-present|host-lib-present|bin-writable' && fail "--system: host tree leaked or writable: $out"
# a host binary is not there: clear 127
out=$(isolate --system "$T/sysroot" -- /usr/bin/true 2>&1); st=$?
[ "$st" = 127 ] || fail "--system: /usr/bin/true should be missing (127), got $st: $out"
echo "$out" | grep -q "^doppel: /usr/bin/true: .*not found" || fail "--system: unclear message: $out"
pass "--system DIR: the root's system dirs come from DIR only"

# --- /proc and /dev stay doppel's, even through a symlink in a bound directory ---
# A bound directory holding "p -> /proc" makes the destination /a/p resolve to
# the sandbox's /proc; replacing it would hide the masks and let a fake
# /proc/sys/kernel/cap_last_cap steer the capability drop. Refusing the plan
# (any non-zero exit, the command not run) or keeping the real /proc both pass.
mkdir -p "$T/links/fakeproc/sys/kernel" "$T/links/fakedev"
ln -s /proc "$T/links/p"
ln -s /dev "$T/links/d"
echo 1 > "$T/links/fakeproc/sys/kernel/cap_last_cap"
echo fake > "$T/links/fakedev/null"
chmod -R a+rX "$T/links"
out=$(isolate --ro-bind "$T/links" /a --ro-bind "$T/links/fakeproc" /a/p --ro-bind "$T/links/fakedev" /a/d -- \
	/bin/sh -c 'echo RAN; test -c /dev/null && echo dev-real; grep -q "^CapBnd:" /proc/self/status && echo proc-real;
		grep "^CapBnd:" /proc/self/status' 2>&1); st=$?
if echo "$out" | grep -qx RAN; then
	echo "$out" | grep -qx dev-real || fail "/dev replaced through a symlink in a bound directory: $out"
	echo "$out" | grep -qx proc-real || fail "/proc replaced through a symlink in a bound directory: $out"
	echo "$out" | grep -q "^CapBnd:.*00000000000004fb$" || fail "bounding set not the sandbox set: $out"
	pass "/proc and /dev kept when a plan destination resolves to them through a symlink"
else
	[ "$st" != 0 ] || fail "run printed nothing but exited 0: $out"
	pass "a plan destination resolving to /proc or /dev through a symlink is refused ($st)"
fi
