/* Confinement of the stand-in server's process (see confine.c for the
 * policy and why): after ep_confine() the calling process can read only
 * beneath conf->read_dirs, read and write only beneath conf->write_dir,
 * cannot execute, trace, change namespaces, open new sockets or signal other
 * processes. Irreversible; call it in a process made for it, before any
 * thread exists, so every later thread inherits it. */
#ifndef DOPPEL_ENDPOINTS_CONFINE_H
#define DOPPEL_ENDPOINTS_CONFINE_H

#include <stddef.h>

#include "util/error.h"

typedef struct ep_confine_conf {
	const char *const *read_dirs; /* read-only beneath each; a missing one is skipped */
	size_t n_read_dirs;
	const char *write_dir;        /* read-write beneath; NULL: none */
} ep_confine_conf;

typedef struct ep_confine_info {
	int landlock_abi;             /* the ABI applied; 0: none (seccomp only) */
	int landlock_errno;           /* why not, when 0 */
} ep_confine_info;

/* The kernel's Landlock ABI version, or -errno (ENOSYS: not built in,
 * EOPNOTSUPP: disabled at boot). */
int ep_landlock_abi(void);

/* Capabilities (all but CAP_DAC_READ_SEARCH), no_new_privs, non-dumpable,
 * Landlock when the kernel has it, then the seccomp filter. */
int ep_confine(const ep_confine_conf *conf, ep_confine_info *info, dp_error **err);

#endif
