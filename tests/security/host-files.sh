#!/bin/sh
# The host's files outside the system directories are absent (ENOENT):
# /etc/shadow, sudoers, ssh host keys, machine-id, root's and users' homes,
# /var (and the Docker socket), /srv, /opt, /boot, /sys, the project tree
# (/work) and well-known daemon sockets; /etc/passwd lists no host account
# and /root is the sandbox's own empty directory.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack host-files ""
attack_held host-files 35
pass "host secrets, homes, /var, /srv, /boot, /sys: absent"
