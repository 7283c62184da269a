#!/bin/sh
# Bad command lines are refused before anything happens: exit 2, one line on
# stderr starting with "doppel: " that names the offending option or value,
# nothing on stdout (the command never runs) and nothing created on the host.
# Every case is checked; failures are listed together at the end.
. "$DOPPEL_SRC/tests/lib/common.sh"

S="$T/scratch"
mkdir -p "$S/real/sub" "$S/lower" "$S/upper" "$S/work"
echo file > "$S/real/file"
ln -s "$S/real" "$S/link"
ln -s "$S/real/file" "$S/filelink"
chmod -R a+rX "$S"
D="$S/dst"   # a destination that must never appear on the host
listing() { (cd "$S" && find . -printf '%p %y %m %s\n' | sort); }
BEFORE=$(listing)

FAILED=""
n=0
bad() { # bad NEEDLE ARGS...: doppel isolate ARGS must be refused naming NEEDLE
	needle=$1; shift
	n=$((n + 1))
	"$DOPPEL" isolate "$@" >"$T/out" 2>"$T/err"; st=$?
	why=""
	[ "$st" = 2 ] || why="exit $st, not 2"
	[ -s "$T/out" ] && why="$why; the command ran (stdout: $(head -c 100 "$T/out"))"
	[ "$(wc -l < "$T/err")" = 1 ] || why="$why; expected one line on stderr"
	head -1 "$T/err" | grep -q '^doppel: ' || why="$why; message does not start with 'doppel: '"
	grep -qF -- "$needle" "$T/err" || why="$why; message does not name '$needle'"
	[ "$(listing)" = "$BEFORE" ] || { why="$why; files changed in the scratch tree"; BEFORE=$(listing); }
	[ -z "$why" ] && return 0
	FAILED="$FAILED
  isolate $*: ${why#; } [stderr: $(head -c 300 "$T/err" | tr '\n' '|')]"
}

# options and values
bad "--bogus"        --bogus -- echo RAN
bad "-x"             -x -- echo RAN
bad "--mem"          --mem
bad "--hostname"     --hostname
bad "--ro-bind"      --ro-bind "$S/real/file"
bad "--overlay"      --overlay "$S/lower" "$S/upper" "$S/work"
bad "--tmpfs"        --tmpfs -- echo RAN
bad "--hostname"     --hostname -- echo RAN          # '--' taken as the value
bad "12Q"            --mem 12Q -- echo RAN
bad "--mem"          --mem 0 -- echo RAN
bad "--mem"          --mem 1K -- echo RAN
bad "99999999999T"   --mem 99999999999T -- echo RAN
bad "18446744073709551616" --mem 18446744073709551616 -- echo RAN
bad "--mem"          --mem 64MQ -- echo RAN
bad "--mem"          --mem -64M -- echo RAN
bad "--disk"         --disk 0 -- echo RAN
bad "-1"             --pids -1 -- echo RAN
bad "--pids"         --pids 0 -- echo RAN
bad "--pids"         --pids 10x -- echo RAN
bad "abc"            --cpus abc -- echo RAN
bad "--cpus"         --cpus 0 -- echo RAN
bad "--cpus"         --cpus 0.001 -- echo RAN
bad "--cpus"         --cpus 1. -- echo RAN
bad "--cpus"         --cpus 2000 -- echo RAN
bad "'80'"           --publish 80 -- echo RAN
bad "0:80"           --publish 0:80 -- echo RAN
bad "80:0"           --publish 80:0 -- echo RAN
bad "--publish"      --publish 65536:80 -- echo RAN
bad "--publish"      --publish :80 -- echo RAN
bad "--publish"      --publish 8080:80 --publish 8080:81 -- echo RAN
bad "--publish"      --net none --publish 8080:80 -- echo RAN
bad "wifi"           --net wifi -- echo RAN
bad "bad name"       --hostname 'bad name' -- echo RAN
bad "--hostname"     --hostname "" -- echo RAN
bad "--hostname"     --hostname "$(printf 'h%.0s' $(seq 64))" -- echo RAN
bad "--env"          --env NOEQUALS -- echo RAN
bad "--env"          --env =v -- echo RAN
bad "--chdir"        --chdir relative/dir -- echo RAN
# paths: relative, missing, '..', symlinks
bad "etc/hostname"   --ro-bind etc/hostname "$D" -- echo RAN
bad "relative/dst"   --ro-bind "$S/real/file" relative/dst -- echo RAN
bad "$S/missing"     --ro-bind "$S/missing" "$D" -- echo RAN
bad "$S/missing"     --overlay "$S/missing" "$S/upper" "$S/work" "$D" -- echo RAN
bad "$S/missing"     --overlay "$S/lower" "$S/missing" "$S/work" "$D" -- echo RAN
bad "$S/missing"     --tmp-overlay "$S/lower:$S/missing" "$D" -- echo RAN
bad "$S/missing"     --system "$S/missing" -- echo RAN
bad "'..'"           --ro-bind "$S/real/../real/file" "$D" -- echo RAN
bad "'..'"           --tmpfs "/opt/../etc" -- echo RAN
bad "'.'"            --ro-bind "$S/./real/file" "$D" -- echo RAN
bad "symlink"        --ro-bind "$S/link/file" "$D" -- echo RAN
bad "symlink"        --ro-bind "$S/filelink" "$D" -- echo RAN
bad "symlink"        --overlay "$S/link" "$S/upper" "$S/work" "$D" -- echo RAN
bad "symlink"        --overlay "$S/lower" "$S/link" "$S/work" "$D" -- echo RAN
bad "symlink"        --system "$S/link" -- echo RAN
bad "not a directory" --overlay "$S/real/file" "$S/upper" "$S/work" "$D" -- echo RAN
bad "--overlay"      --overlay "$S/lower" "$S/upper" "$S/upper" "$D" -- echo RAN
bad "/proc"          --tmpfs /proc -- echo RAN
bad "/dev/shm"       --tmpfs /dev/shm -- echo RAN
bad "'/'"            --ro-bind "$S/real" / -- echo RAN
# the same destinations spelled with repeated slashes resolve to the same place
bad "//proc"         --tmpfs //proc -- echo RAN
bad "//dev"          --ro-bind "$S/real" //dev -- echo RAN
bad "//"             --tmpfs // -- echo RAN
bad "--disk"         --disk 8M --overlay "$S/lower" "$S/upper" "$S/work" "$D" -- echo RAN
# no command
bad "no command"
bad "no command"     --
bad "no command"     --tmpfs /scratch --

[ -z "$FAILED" ] || fail "$(echo "$FAILED" | grep -c .) of $n bad command lines were not refused properly:$FAILED"
pass "$n bad command lines refused with exit 2, one 'doppel: ' line naming the argument, nothing run or created"
