#!/bin/sh
# No traffic leaves the sandbox: TCP and UDP to 10.255.255.1, 192.0.2.1,
# 1.1.1.1, the cloud metadata address 169.254.169.254, 8.8.8.8:53, the
# broadcast address and IPv6 addresses fail at once with ENETUNREACH (no
# route exists, so nothing is sent; with --net none IPv6 has not even a
# source address: EADDRNOTAVAIL), names do not resolve, and the routing
# table is empty; with --net loopback (default) and --net none.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack egress "" loopback
attack_held egress 23
run_attack egress "--net none" none
attack_held egress 23
pass "every non-loopback destination: ENETUNREACH at once; no name resolves"
