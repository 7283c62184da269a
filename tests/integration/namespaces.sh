#!/bin/sh
# Every namespace is new (user, mnt, pid, net, ipc, uts, cgroup), the command
# is uid 0 inside by default and the caller's uid with --uid, the hostname is
# the sandbox's own, and the cgroup namespace is rooted at the sandbox.
. "$DOPPEL_SRC/tests/lib/common.sh"

# host inode numbers, e.g. "user:[4026531837] mnt:[4026531841] ..."
host_ns=""
for ns in user mnt pid net ipc uts cgroup; do
	l=$(readlink "/proc/self/ns/$ns") || fail "cannot read host /proc/self/ns/$ns"
	host_ns="$host_ns $l"
done

out=$(isolate --env "HOST_NS=$host_ns" -- /bin/sh -c '
	for ns in user mnt pid net ipc uts cgroup; do
		inner=$(readlink /proc/self/ns/$ns) || { echo "unreadable $ns"; continue; }
		case " $HOST_NS " in
		*" $inner "*) echo "shared $ns $inner" ;;
		*) echo "new $ns" ;;
		esac
	done') || fail "namespace probe failed: $out"
for ns in user mnt pid net ipc uts cgroup; do
	echo "$out" | grep -qx "new $ns" || fail "namespace $ns not new: $(echo "$out" | grep " $ns")"
done
pass "user, mnt, pid, net, ipc, uts and cgroup namespaces are all new"

# uid/gid: 0 by default, the caller's with --uid
me=$(id -u); mygid=$(id -g)
out=$(isolate -- /bin/sh -c 'echo "$(id -u) $(id -g) $USER"') || fail "id failed"
[ "$out" = "0 0 root" ] || fail "default identity: expected '0 0 root', got '$out'"
out=$(isolate --uid -- /bin/sh -c 'echo "$(id -u) $(id -g)"; cat /proc/self/uid_map') ||
	fail "id --uid failed"
[ "$(echo "$out" | head -1)" = "$me $mygid" ] ||
	fail "--uid: expected '$me $mygid', got '$(echo "$out" | head -1)'"
# the id maps never give the sandbox more than the caller has
if ! is_root; then
	n=$(echo "$out" | sed 1d | wc -l)
	set -- $(echo "$out" | sed -n 2p)
	[ "$n" = 1 ] && [ "$2" = "$me" ] && [ "$3" = 1 ] ||
		fail "rootless uid_map should map exactly our uid once, got: $(echo "$out" | sed 1d)"
fi
pass "uid 0 by default, $me with --uid"

# hostname
out=$(isolate -- /bin/sh -c 'uname -n; cat /etc/hostname') || fail "uname failed"
[ "$out" = "doppel
doppel" ] || fail "default hostname: expected 'doppel' twice, got '$out'"
out=$(isolate --hostname sbx-42.test -- /bin/sh -c 'uname -n; cat /etc/hostname') || fail "uname failed"
[ "$out" = "sbx-42.test
sbx-42.test" ] || fail "--hostname: got '$out'"
[ "$(uname -n)" != sbx-42.test ] || fail "host hostname was changed"
pass "hostname 'doppel' by default, --hostname sets it, host's unchanged"

# cgroup namespace: every hierarchy's root is the sandbox's own cgroup
out=$(isolate -- cat /proc/self/cgroup) || fail "cat /proc/self/cgroup failed"
[ -n "$out" ] || fail "empty /proc/self/cgroup"
bad=$(echo "$out" | grep -v ':/$')
[ -z "$bad" ] || fail "cgroup paths not rooted at '/': $bad"
pass "/proc/self/cgroup shows '/' for every hierarchy"
