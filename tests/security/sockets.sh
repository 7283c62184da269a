#!/bin/sh
# Kernel-interface sockets are refused as "not in this kernel" (packet,
# VSOCK, AF_KEY, AF_ALG, Bluetooth, TIPC, RDS: EAFNOSUPPORT; netlink audit,
# uevent, netfilter, xfrm: EPROTONOSUPPORT), raw IP needs CAP_NET_RAW (EPERM),
# and the routing netlink socket cannot change the sandbox's links (EPERM).
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack sockets ""
attack_held sockets 18
pass "packet/vsock/alg/... sockets refused, raw IP EPERM, netlink changes EPERM"
