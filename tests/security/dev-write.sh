#!/bin/sh
# /dev inside is read-only and holds only null, zero, full, random,
# urandom, tty and a private devpts: nothing can be created, renamed or
# removed there (EROFS), the host's disks, memory, console, kmsg, fuse, tun
# and userfaultfd devices are absent (ENOENT). The device nodes are the
# host's own inodes bound in: their mode, owner and times must not be
# changeable from inside. The tries set the values the nodes already have,
# so a leak shows only as a new ctime on the host, compared here.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

devs="/dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty"
# shellcheck disable=SC2086
before=$(stat -c '%n %a %u %g %X %Y %Z' $devs)
run_attack dev-write ""
# shellcheck disable=SC2086
after=$(stat -c '%n %a %u %g %X %Y %Z' $devs)
[ "$before" = "$after" ] || fail "ESCAPE: the host's device nodes were changed from inside:
before: $before
after:  $after"
attack_held dev-write 38
pass "/dev is read-only, host devices absent, the host's device inodes unchanged"
