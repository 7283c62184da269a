/* The sandbox's system call filter. The policy (an allowlist at least as
 * strict as Docker's default profile, EPERM for the rest, ENOSYS for syscalls
 * newer than the list, argument checks for clone/unshare/ioctl/personality/
 * socket, every non-native ABI killed) is compiled at build time into three
 * small BPF programs (see tools/gen-seccomp.c); loading them costs three
 * syscalls, not a libseccomp compile per run. */
#ifndef DOPPEL_ISOLATE_SECCOMP_H
#define DOPPEL_ISOLATE_SECCOMP_H

#include "util/error.h"

/* Installs the filter on the calling thread. Needs no_new_privs already set
 * (or CAP_SYS_ADMIN). Must be the last thing before execve. */
int dp_seccomp_load(dp_error **err);

#endif
