#!/bin/sh
# eBPF maps, programs and BTF cannot be created (EPERM); bpffs is absent.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack bpf ""
attack_held bpf 5
pass "bpf(MAP_CREATE/PROG_LOAD/BTF_LOAD/GET_NEXT_ID): EPERM"
