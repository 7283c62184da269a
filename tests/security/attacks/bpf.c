/* eBPF: creating a map and loading a (trivial, valid) socket filter
 * program; both refused by seccomp. */
#include <linux/bpf.h>

#include "attack.h"

int main(void)
{
	union bpf_attr map = { 0 }, prog = { 0 };
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	char license[] = "GPL";

	attack_begin("bpf");
	map.map_type = BPF_MAP_TYPE_ARRAY;
	map.key_size = 4;
	map.value_size = 4;
	map.max_entries = 1;
	EXPECT_ERRNO_AS("bpf(BPF_MAP_CREATE)", EPERM, syscall(SYS_bpf, BPF_MAP_CREATE, &map, sizeof(map)));
	prog.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	prog.insns = (unsigned long)insns;
	prog.insn_cnt = 2;
	prog.license = (unsigned long)license;
	EXPECT_ERRNO_AS("bpf(BPF_PROG_LOAD)", EPERM, syscall(SYS_bpf, BPF_PROG_LOAD, &prog, sizeof(prog)));
	EXPECT_ERRNO_AS("bpf(BPF_BTF_LOAD)", EPERM, syscall(SYS_bpf, BPF_BTF_LOAD, &prog, sizeof(prog)));
	EXPECT_ERRNO_AS("bpf(BPF_PROG_GET_NEXT_ID)", EPERM, syscall(SYS_bpf, BPF_PROG_GET_NEXT_ID, &prog, sizeof(prog)));
	EXPECT_ERRNO(ENOENT, open("/sys/fs/bpf", O_RDONLY));
	attack_end();
}
