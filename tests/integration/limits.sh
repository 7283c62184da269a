#!/bin/sh
# Resource limits: --mem (OOM kill, status 137, a message about memory),
# --pids (fork fails with EAGAIN), --cpus (a busy loop gets about its share),
# --disk (the writable tmpfs layers are capped), and the run's cgroups are
# removed afterwards. Where the caller's cgroups are not delegated to it (a
# rootless user without systemd delegation), a requested cgroup limit must be
# refused with exit 1 and a pointer to 'doppel doctor', and nothing may run.
. "$DOPPEL_SRC/tests/lib/common.sh"

command -v python3 >/dev/null || fail "python3 is needed"
# background processes still running if a check fails half-way are ended
BG=""
bg_done() { BG=$(echo "$BG" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' '); }
trap 'for p in $BG; do kill -KILL $p 2>/dev/null; done; cleanup_T' EXIT

# --- where our cgroups are ---------------------------------------------------------
v1_mount() { awk -v c="$1" '$3 == "cgroup" { n = split($4, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $2; exit } }' /proc/mounts; }
v2_mount() { awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts; }
# cg_dirs PID: the host directories of PID's memory, pids and cpu cgroups (v1)
# and of its unified cgroup (v2), one "name dir" per line
cg_dirs() {
	for c in memory pids cpu; do
		m=$(v1_mount $c); [ -n "$m" ] || continue
		p=$(awk -F: -v c="$c" '{ n = split($2, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) print $3 }' "/proc/$1/cgroup")
		[ -n "$p" ] && echo "$c $m$p"
	done
	m=$(v2_mount)
	p=$(awk -F: '$1 == "0" { print $3 }' "/proc/$1/cgroup")
	[ -n "$m" ] && [ -n "$p" ] && echo "unified $m$p"
}
# can the caller create child cgroups with these controllers?
delegated() {
	if [ -n "$(v1_mount memory)" ] && [ -n "$(v1_mount pids)" ] && [ -n "$(v1_mount cpu)" ]; then
		ok=1
		for c in memory pids cpu; do
			d=$(cg_dirs $$ | awk -v c=$c '$1 == c { print $2 }')
			[ -n "$d" ] && [ -w "$d" ] || ok=0
		done
		[ $ok = 1 ] && return 0
	fi
	d=$(cg_dirs $$ | awk '$1 == "unified" { print $2 }')
	[ -n "$d" ] && [ -w "$d" ] && [ -w "$d/cgroup.procs" ] &&
		for c in memory pids cpu; do grep -qw $c "$d/cgroup.controllers" || return 1; done
}
doppel_dirs() { # every doppel* cgroup directory below our own cgroups
	cg_dirs $$ | while read -r _ d; do find "$d" -mindepth 1 -maxdepth 3 -type d -name 'doppel*' 2>/dev/null; done | sort
}

# --- --disk caps the writable layers (no cgroup needed) ---------------------------
mkdir -p "$T/lower"; echo base > "$T/lower/f"; chmod -R a+rX "$T/lower"
out=$(isolate --disk 8M --tmp-overlay "$T/lower" /data -- /bin/sh -c '
	dd if=/dev/zero of=/tmp/big bs=1M count=16 2>&1 | grep -o "No space left on device"
	echo "tmp $(( $(stat -c %s /tmp/big) / 1048576 ))"
	rm -f /tmp/big
	dd if=/dev/zero of=/data/big bs=1M count=16 2>&1 | grep -o "No space left on device"
	echo "data $(( $(stat -c %s /data/big) / 1048576 ))"
	dd if=/dev/zero of=/dev/shm/big bs=1M count=16 2>&1 | grep -o "No space left on device"
	echo "shm $(( $(stat -c %s /dev/shm/big) / 1048576 ))"
	dd if=/dev/zero of=/tmp/small bs=1M count=4 2>/dev/null && echo small-ok' 2>&1)
[ "$(echo "$out" | grep -c 'No space left on device')" = 3 ] || fail "--disk 8M: writes of 16M were not refused: $out"
for w in tmp data shm; do
	sz=$(echo "$out" | awk -v w=$w '$1 == w { print $2 }')
	[ -n "$sz" ] && [ "$sz" -le 8 ] || fail "--disk 8M: $w grew to ${sz}M: $out"
done
echo "$out" | grep -qx small-ok || fail "--disk 8M: a 4M write failed: $out"
[ "$(cat "$T/lower/f")" = base ] && [ ! -e "$T/lower/big" ] || fail "--disk: lower changed"
pass "--disk 8M caps /tmp, /dev/shm and --tmp-overlay layers (No space left on device)"

if ! delegated; then
	# --- rootless without delegation: refuse clearly, run nothing ------------------
	before=$(doppel_dirs)
	for lim in "--mem 64M" "--pids 32" "--cpus 0.5"; do
		out=$(isolate $lim -- echo RAN 2>"$T/err"); st=$?
		[ "$st" = 1 ] || fail "$lim without a delegated cgroup: expected exit 1, got $st: $(cat "$T/err")"
		[ -z "$out" ] || fail "$lim without a delegated cgroup: the command ran"
		grep -q '^doppel: ' "$T/err" || fail "$lim: message does not start with 'doppel: ': $(cat "$T/err")"
		grep -q "doppel doctor" "$T/err" || fail "$lim: message does not mention 'doppel doctor': $(cat "$T/err")"
	done
	[ "$(doppel_dirs)" = "$before" ] || fail "cgroup directories left behind by refused runs"
	expect_status 0 isolate -- true  # without limits it still runs
	pass "no delegated cgroup: --mem, --pids and --cpus refused (exit 1, 'doppel doctor'), nothing ran"
	exit 0
fi

before=$(doppel_dirs)

# --- the run gets its own cgroups, removed afterwards -------------------------------
"$DOPPEL" isolate --mem 128M --pids 64 --cpus 1 -- sleep 30 >/dev/null 2>&1 &
dpid=$!; BG="$BG $dpid"
own_dirs=$(cg_dirs $$ | sort)
deadline=$(( $(date +%s) + 5 ))
while :; do
	init=$(pgrep -P $dpid | head -1)
	run_dirs=$( [ -n "$init" ] && cg_dirs "$init" 2>/dev/null | sort)
	[ -n "$run_dirs" ] && [ "$run_dirs" != "$own_dirs" ] && break
	[ "$(date +%s)" -le $deadline ] || { kill $dpid 2>/dev/null; fail "sandbox init not found in a cgroup of its own"; }
	sleep 0.05
done
new_lines=$(printf '%s\n' "$run_dirs" | grep -vxF "$own_dirs")
new=$(printf '%s\n' "$new_lines" | awk '{ print $2 }')
[ -n "$new" ] || fail "the run has no cgroup of its own: $run_dirs"
# v2 (a new unified cgroup) or v1 (a new cgroup in each controller's hierarchy)
if ! printf '%s\n' "$new_lines" | grep -q "^unified "; then
	for c in memory pids cpu; do
		printf '%s\n' "$new_lines" | grep -q "^$c " || fail "no $c cgroup of the run's own: $run_dirs"
	done
fi
for d in $new; do [ -d "$d" ] || fail "run cgroup $d does not exist"; done
kill -TERM $dpid
wait $dpid; st=$?
bg_done $dpid
[ "$st" = 143 ] || fail "limited run: expected 143 after SIGTERM, got $st"
for d in $new; do [ ! -d "$d" ] || fail "cgroup $d left after the run"; done
pass "the run gets its own cgroups ($(echo $new)), removed after it"

# --- --mem: an allocation beyond the limit is killed ------------------------------------
out=$(isolate --mem 64M -- python3 -c 'print("small", len(b"x" * (8 << 20)))') ||
	fail "--mem 64M: an 8M allocation failed: $out"
echo "$out" | grep -qx 'small 8388608' || fail "--mem 64M: small allocation: $out"
out=$(isolate --mem 64M -- python3 -c 'b = b"x" * (256 << 20); print("survived", len(b))' 2>"$T/err"); st=$?
[ "$st" = 137 ] || fail "--mem 64M: 256M allocation: expected 137 (SIGKILL), got $st: $out $(cat "$T/err")"
echo "$out" | grep -q survived && fail "--mem 64M: 256M allocation survived"
grep -qi memory "$T/err" || fail "--mem: no message about memory: $(cat "$T/err")"
pass "--mem 64M: 256M allocation killed with 137 and a message about memory; 8M fine"

# --- --pids: fork fails with EAGAIN at the limit ----------------------------------------
out=$(timeout 30 "$DOPPEL" isolate --pids 32 -- python3 -c '
import errno, os, time
kids = []
try:
    while len(kids) < 200:
        pid = os.fork()
        if pid == 0:
            time.sleep(30); os._exit(0)
        kids.append(pid)
    print("forked", len(kids))
except OSError as e:
    print("failed", errno.errorcode.get(e.errno, e.errno), len(kids))
for k in kids:
    os.kill(k, 9)
for k in kids:
    os.waitpid(k, 0)
' 2>&1); st=$?
[ "$st" = 0 ] || fail "--pids 32: run did not end cleanly (status $st): $out"
set -- $out
[ "${1:-}" = failed ] && [ "${2:-}" = EAGAIN ] || fail "--pids 32: fork did not fail with EAGAIN: $out"
[ "$3" -lt 32 ] && [ "$3" -ge 20 ] || fail "--pids 32: $3 children forked, expected a little under 32"
pass "--pids 32: fork fails with EAGAIN after $3 children, the run ends"

# --- --cpus: a busy loop gets about its share -----------------------------------------
BUSY='
import time
t0 = time.monotonic(); c0 = time.process_time()
while time.monotonic() - t0 < 2:
    pass
print("%.2f" % ((time.process_time() - c0) / (time.monotonic() - t0)))'
# a busy host can starve the loop below its share: retry that (never a
# reading above the share, which means the limit does not hold)
for try in 1 2 3; do
	ratio=$(isolate --cpus 0.5 -- python3 -c "$BUSY") || fail "--cpus 0.5 run failed"
	awk -v r="$ratio" 'BEGIN { exit !(r >= 0.3) }' && break
	echo "--cpus 0.5: only $ratio of a CPU (busy host?), trying again" >&2
done
awk -v r="$ratio" 'BEGIN { exit !(r >= 0.3 && r <= 0.75) }' ||
	fail "--cpus 0.5: busy loop used $ratio of a CPU, expected 0.3-0.75"
pass "--cpus 0.5: a 2 s busy loop used $ratio CPU"

# --- limits together, and nothing left behind ---------------------------------------------
expect_status 0 isolate --mem 64M --pids 16 --cpus 0.5 -- true
expect_status 137 isolate --mem 64M -- python3 -c 'b = b"x" * (256 << 20)' 2>/dev/null
expect_status 125 isolate --mem 64M --chdir /nonexistent -- true 2>/dev/null
after=$(doppel_dirs)
[ "$after" = "$before" ] || fail "doppel cgroups left behind: $(printf '%s\n' "$after" | grep -vxF "$before")"
pass "no doppel cgroup left after normal, OOM-killed and failed runs"
