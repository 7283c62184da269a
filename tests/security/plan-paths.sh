#!/bin/sh
# '..' and symlink tricks in mount-plan paths are refused before anything is
# mounted or run: exit 2, a "doppel: " message naming the offending
# argument, the command not run, nothing created on the host (upper and work
# directories stay empty, no new file anywhere in the scratch tree). The
# symlinks point at production or at /etc, e.g. an overlay upper that is a
# link to the production tree, which would have made the sandbox's writes
# land in production. A destination that turns out to cross a symlink
# inside the sandbox (planted in a lower layer) is refused at mount time:
# exit 125, naming it.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

make_production
mkdir -p "$T/lower/sub" "$T/upper" "$T/work" "$T/sys"
chmod -R 755 "$T/lower" "$T/upper" "$T/work" "$T/sys"
ln -s /etc "$T/etclink"
ln -s "$P" "$T/prodlink"
ln -s "$T/lower" "$T/lowerlink"
ln -s "$T/upper" "$T/upperlink"
ln -s "$T/work" "$T/worklink"
ln -s "$T" "$T/selflink"
ln -s /etc "$T/lower/evil"
snapshot() { find "$T" -path "$T/err" -prune -o -path "$T/out" -prune -o -printf '%p %y %s\n' | sort; }
before=$(snapshot)

refused() { # refused WHAT-MUST-BE-NAMED ISOLATE-ARGS...
	named=$1; shift
	"$DOPPEL" isolate "$@" -- /bin/sh -c 'echo RAN' >"$T/out" 2>"$T/err"
	st=$?
	! grep -q RAN "$T/out" || fail "ESCAPE: the command ran with: $*"
	[ "$st" = 2 ] || fail "expected exit 2 for: $*; got $st: $(cat "$T/err")"
	grep -q '^doppel: ' "$T/err" || fail "no 'doppel: ' message for: $*: $(cat "$T/err")"
	grep -qF -- "$named" "$T/err" || fail "the message does not name '$named' for: $*: $(cat "$T/err")"
	echo "    refused: $* -> $(head -1 "$T/err")"
}

# '..' in host paths and destinations
refused "$T/lower/../../.." --ro-bind "$T/lower/../../.." /host
refused "$T/lower/sub/.." --ro-bind "$T/lower/sub/.." /x
refused "/x/../../etc" --ro-bind "$T/lower" /x/../../etc
refused "$T/lower/.." --overlay "$T/lower/.." "$T/upper" "$T/work" /x
refused "$T/upper/../upper" --overlay "$T/lower" "$T/upper/../upper" "$T/work" /x
refused "$T/work/../work" --overlay "$T/lower" "$T/upper" "$T/work/../work" /x
refused "$T/lower/.." --tmp-overlay "$T/lower:$T/lower/.." /x
refused "/tmp/../etc" --tmpfs /tmp/../etc
refused "/tmp/.." --chdir /tmp/..
refused "$T/sys/.." --system "$T/sys/.."
# symlinks in host paths: final component and on the way
refused "$T/etclink" --ro-bind "$T/etclink" /x
refused "$T/prodlink" --ro-bind "$T/prodlink" /x
refused "$T/selflink/production" --ro-bind "$T/selflink/production" /x
refused "$T/lowerlink" --overlay "$T/lowerlink" "$T/upper" "$T/work" /x
refused "$T/prodlink" --overlay "$T/lower" "$T/prodlink" "$T/work" /x
refused "$T/upperlink" --overlay "$T/lower" "$T/upperlink" "$T/work" /x
refused "$T/worklink" --overlay "$T/lower" "$T/upper" "$T/worklink" /x
refused "$T/prodlink" --tmp-overlay "$T/lower:$T/prodlink" /x
refused "$T/etclink" --system "$T/etclink"
# not absolute, and the runtime's own mounts
refused "lower" --ro-bind lower /x
refused "x" --tmpfs x
refused "/proc" --ro-bind "$T/lower" /proc
refused "//dev/" --tmpfs //dev/
refused "/proc/sys" --tmpfs /proc/sys

[ -z "$(find "$T/upper" "$T/work" -mindepth 1)" ] || fail "the upper or work directory is no longer empty"
[ "$(snapshot)" = "$before" ] || fail "refused runs created files on the host:
$(snapshot | diff - /dev/null | head)"

# a destination crossing a symlink planted in a lower layer
"$DOPPEL" isolate --tmp-overlay "$T/lower" /data --tmpfs /data/evil -- /bin/sh -c 'echo RAN' >"$T/out" 2>"$T/err"
st=$?
! grep -q RAN "$T/out" || fail "ESCAPE: the command ran with a mount over /data/evil -> /etc"
[ "$st" = 125 ] || fail "--tmpfs /data/evil (a symlink to /etc in the lower layer): expected exit 125, got $st: $(cat "$T/err")"
grep -q '/data/evil' "$T/err" || fail "the message does not name /data/evil: $(cat "$T/err")"
echo "    refused at mount time: --tmpfs /data/evil -> $(head -1 "$T/err")"
[ "$(snapshot)" = "$before" ] || fail "the refused run changed the host"
check_production_unchanged
pass "'..', symlinks, relative paths and reserved destinations in plans: refused, nothing created"
