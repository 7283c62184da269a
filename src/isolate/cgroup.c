/* The version-independent half of resource limits: finding the hierarchies
 * (mount points from /proc/self/mountinfo, our place in each from
 * /proc/self/cgroup), choosing v2 or v1 per run, creating and removing the
 * run's directories, moving processes in and killing leftovers. What differs
 * between the hierarchies lives in cgroup-v1.c and cgroup-v2.c.
 *
 * A run gets one directory per hierarchy it needs: one for v2 (all its
 * controllers together), one per v1 hierarchy (cpu,cpuacct co-mounted count
 * once). Each is created under the caller's own cgroup in that hierarchy, so
 * root can always do it and a user can when root delegated that cgroup. */
#include "isolate/cgroup-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/log.h"

const char *const dp_cg_ctrl_name[DP_CGROUP_NCTRL] = { "memory", "pids", "cpu" };

/* One directory of a run's cgroup. */
typedef struct cg_dir {
	char *path;
	enum dp_cgroup_version version;
	unsigned ctrls;   /* DP_CG_BIT()s this directory limits */
} cg_dir;

struct dp_cgroup {
	size_t n;
	cg_dir dir[DP_CGROUP_NCTRL];
	int oom_fd;   /* the memory controller's OOM record, opened while the
		       * sandbox starts so the question at its end is one pread */
};

/* --- small file helpers ----------------------------------------------------- */

static char *join(const char *dir, const char *file)
{
	char *p = NULL;
	if (file == NULL)
		return strdup(dir);
	if (asprintf(&p, "%s/%s", dir, file) < 0)
		return NULL;
	return p;
}

int dp_cg_write(const char *dir, const char *file, const char *value)
{
	cleanup_free char *path = join(dir, file);
	cleanup_close int fd = -1;
	size_t len = strlen(value);
	ssize_t n;

	if (path == NULL)
		return -1;
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

char *dp_cg_read(const char *dir, const char *file)
{
	cleanup_free char *path = join(dir, file);
	cleanup_close int fd = -1;
	cleanup_free char *buf = NULL;
	size_t len = 0, cap = 0;

	if (path == NULL)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t n;
		if (cap - len < 2) {
			char *bigger = realloc(buf, cap ? cap * 2 : 256);
			if (bigger == NULL)
				return NULL;
			buf = bigger;
			cap = cap ? cap * 2 : 256;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return NULL;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return dp_steal_ptr(&buf);
}

bool dp_cg_exists(const char *dir, const char *file)
{
	cleanup_free char *path = join(dir, file);
	return path != NULL && faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) == 0;
}

bool dp_cg_has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);
	const char *p = list;

	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, " ,\n\t");
		if (n == wl && strncmp(p, word, wl) == 0)
			return true;
		p += n;
		p += strspn(p, " ,\n\t");
	}
	return false;
}

/* The number after "key " on a line of text (modified); -1 if none. */
static int64_t text_key(char *text, const char *key)
{
	size_t kl = strlen(key);
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, key, kl) == 0 && line[kl] == ' ')
			return strtoll(line + kl + 1, NULL, 10);
	}
	return -1;
}

bool dp_cg_writable(const char *dir, const char *file, dp_cgroup_probe_ctrl *st)
{
	cleanup_free char *path = join(dir, file);
	int mode = file == NULL ? W_OK | X_OK : W_OK;

	if (path == NULL) {
		st->errnum = ENOMEM;
		snprintf(st->why, sizeof(st->why), "out of memory");
		return false;
	}
	if (faccessat(AT_FDCWD, path, mode, AT_EACCESS) == 0)
		return true;
	st->errnum = errno;
	switch (errno) {
	case EACCES:
	case EPERM:
		snprintf(st->why, sizeof(st->why), "%.400s is not writable by uid %u", path, (unsigned)geteuid());
		break;
	case EROFS:
		snprintf(st->why, sizeof(st->why), "%.400s is on a read-only mount", path);
		break;
	case ENOENT:
		snprintf(st->why, sizeof(st->why), "%.400s does not exist", path);
		break;
	default:
		snprintf(st->why, sizeof(st->why), "%.400s: %s", path, strerror(errno));
		break;
	}
	return false;
}

/* "memory", "memory and pids", "memory, pids and cpu" */
static void ctrl_names(unsigned ctrls, char *buf, size_t size)
{
	size_t total = 0, seen = 0;
	buf[0] = '\0';
	for (int c = 0; c < DP_CGROUP_NCTRL; c++)
		total += (ctrls & DP_CG_BIT(c)) != 0;
	for (int c = 0; c < DP_CGROUP_NCTRL; c++) {
		if (!(ctrls & DP_CG_BIT(c)))
			continue;
		seen++;
		size_t used = strlen(buf);
		snprintf(buf + used, size - used, "%s%s", seen == 1 ? "" : seen == total ? " and " : ", ",
			 dp_cg_ctrl_name[c]);
	}
}

int dp_cg_fail(dp_error **err, unsigned ctrls, int errnum, const char *fmt, ...)
{
	cleanup_free char *what = NULL;
	char names[64];
	bool fresh = err != NULL && *err == NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	ctrl_names(ctrls, names, sizeof(names));
	dp_fail(err, 0, "cannot enforce the %s limit%s: %s%s%s; run 'doppel doctor'", names,
		(ctrls & (ctrls - 1)) ? "s" : "", what ? what : "out of memory", errnum ? ": " : "",
		errnum ? strerror(errnum) : "");
	if (fresh)
		(*err)->errnum = errnum;
	return -1;
}

int dp_cg_set(dp_error **err, int ctrl, const char *dir, const char *file, const char *fmt, ...)
{
	char value[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	if (dp_cg_write(dir, file, value) < 0)
		return dp_cg_fail(err, DP_CG_BIT(ctrl), errno, "write '%s' to %s/%s", value, dir, file);
	return 0;
}

/* --- where the hierarchies are ------------------------------------------------ */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *out = s;
	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

/* Our directory in a hierarchy mounted at 'mnt' showing the subtree 'root'
 * (not "/" when a container got only part of the hierarchy); NULL when our
 * cgroup 'own' is outside what that mount shows. */
static char *place(const char *mnt, const char *root, const char *own)
{
	size_t rl = strlen(root);
	const char *rel;
	char *p = NULL;

	if (strcmp(root, "/") == 0)
		rel = own;
	else if (strncmp(own, root, rl) == 0 && (own[rl] == '\0' || own[rl] == '/'))
		rel = own + rl;
	else
		return NULL;
	if (rel[0] == '\0' || strcmp(rel, "/") == 0)
		return strdup(mnt);
	if (asprintf(&p, "%s%s%s", strcmp(mnt, "/") == 0 ? "" : mnt, rel[0] == '/' ? "" : "/", rel) < 0)
		return NULL;
	return p;
}

typedef struct self_entry {
	char *ctrls;   /* "cpu,cpuacct"; "" for the unified hierarchy */
	char *path;
	bool v2;
} self_entry;

#define MAX_SELF 64

static size_t parse_self(FILE *f, self_entry *e)
{
	cleanup_free char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;

	while (n < MAX_SELF && (len = getline(&line, &cap, f)) > 0) {
		char *c1, *c2;
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		c1 = strchr(line, ':');
		c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL)
			continue;
		*c1 = *c2 = '\0';
		e[n].v2 = strcmp(line, "0") == 0 && c1[1] == '\0';
		e[n].ctrls = strdup(c1 + 1);
		e[n].path = strdup(c2 + 1);
		if (e[n].ctrls == NULL || e[n].path == NULL) {
			free(e[n].ctrls);
			free(e[n].path);
			break;
		}
		n++;
	}
	return n;
}

static const char *own_path(const self_entry *e, size_t n, const char *ctrl)
{
	for (size_t i = 0; i < n; i++) {
		if (ctrl == NULL ? e[i].v2 : (!e[i].v2 && dp_cg_has_word(e[i].ctrls, ctrl)))
			return e[i].path;
	}
	return NULL;
}

void dp_cg_host_parse(dp_cg_host *h, FILE *mountinfo, FILE *self_cgroup)
{
	self_entry self[MAX_SELF];
	size_t nself = parse_self(self_cgroup, self);
	cleanup_free char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	memset(h, 0, sizeof(*h));
	while ((len = getline(&line, &cap, mountinfo)) > 0) {
		char *field[6], *fstype = NULL, *super = NULL, *save = NULL, *tok;
		int nf = 0;

		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		/* id parent dev root mountpoint options [optional...] - fstype source super */
		for (tok = strtok_r(line, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
			if (nf < 6) {
				field[nf++] = tok;
			} else if (strcmp(tok, "-") == 0) {
				fstype = strtok_r(NULL, " ", &save);
				if (fstype != NULL && strtok_r(NULL, " ", &save) != NULL)
					super = strtok_r(NULL, " ", &save);
				break;
			}
		}
		if (nf < 6 || fstype == NULL)
			continue;
		unescape(field[3]);
		unescape(field[4]);
		if (strcmp(fstype, "cgroup2") == 0) {
			const char *own = own_path(self, nself, NULL);
			if (h->v2_dir == NULL && own != NULL)
				h->v2_dir = place(field[4], field[3], own);
		} else if (strcmp(fstype, "cgroup") == 0 && super != NULL) {
			for (int c = 0; c < DP_CGROUP_NCTRL; c++) {
				const char *own;
				if (h->v1_dir[c] != NULL || !dp_cg_has_word(super, dp_cg_ctrl_name[c]))
					continue;
				own = own_path(self, nself, dp_cg_ctrl_name[c]);
				if (own != NULL)
					h->v1_dir[c] = place(field[4], field[3], own);
			}
		}
	}
	for (size_t i = 0; i < nself; i++) {
		free(self[i].ctrls);
		free(self[i].path);
	}
}

int dp_cg_host_detect(dp_cg_host *h, dp_error **err)
{
	cleanup_fclose FILE *mi = fopen("/proc/self/mountinfo", "re");
	cleanup_fclose FILE *self = fopen("/proc/self/cgroup", "re");

	memset(h, 0, sizeof(*h));
	if (mi == NULL)
		return dp_fail_errno(err, "open /proc/self/mountinfo");
	if (self == NULL)
		return dp_fail_errno(err, "open /proc/self/cgroup");
	dp_cg_host_parse(h, mi, self);
	return 0;
}

void dp_cg_host_free(dp_cg_host *h)
{
	free(h->v2_dir);
	for (int c = 0; c < DP_CGROUP_NCTRL; c++)
		free(h->v1_dir[c]);
	memset(h, 0, sizeof(*h));
}

/* --- choosing a hierarchy ------------------------------------------------------ */

void dp_cg_choose(const dp_cg_host *h, unsigned need, dp_cgroup_probe_ctrl ctl[DP_CGROUP_NCTRL], char *v2_note,
		  size_t note_size)
{
	dp_cgroup_probe_ctrl v2[DP_CGROUP_NCTRL];
	bool v2_all = h->v2_dir != NULL && need != 0;

	memset(v2, 0, sizeof(v2));
	memset(ctl, 0, sizeof(*ctl) * DP_CGROUP_NCTRL);
	v2_note[0] = '\0';
	for (int c = 0; c < DP_CGROUP_NCTRL; c++) {
		if (!(need & DP_CG_BIT(c)))
			continue;
		if (h->v2_dir != NULL)
			dp_cg2_check(h->v2_dir, c, &v2[c]);
		if (!v2[c].usable) {
			v2_all = false;
			if (v2_note[0] == '\0' && v2[c].why[0] != '\0')
				snprintf(v2_note, note_size, "%s", v2[c].why);
		}
	}
	if (v2_all) {
		memcpy(ctl, v2, sizeof(v2));
		return;
	}
	if (h->v2_dir == NULL)
		snprintf(v2_note, note_size, "no cgroup2 mount holds this process's cgroup");
	/* Not all on v2: each controller from the v1 hierarchy that carries it
	 * (a controller is bound to at most one), or v2 when only it has it. */
	for (int c = 0; c < DP_CGROUP_NCTRL; c++) {
		if (!(need & DP_CG_BIT(c)))
			continue;
		if (h->v1_dir[c] != NULL) {
			dp_cg1_check(h->v1_dir[c], c, &ctl[c]);
		} else if (v2[c].version == DP_CGROUP_V2) {
			ctl[c] = v2[c];
		} else {
			ctl[c].version = DP_CGROUP_NONE;
			ctl[c].errnum = ENOENT;
			snprintf(ctl[c].why, sizeof(ctl[c].why), "no cgroup hierarchy offers the %s controller%s%.400s%s",
				 dp_cg_ctrl_name[c], v2[c].why[0] ? " (" : "", v2[c].why, v2[c].why[0] ? ")" : "");
		}
	}
}

/* --- the run's cgroup ----------------------------------------------------------- */

static unsigned needed(const dp_limits *l)
{
	return (l->mem_bytes ? DP_CG_BIT(DP_CGROUP_MEMORY) : 0) | (l->pids ? DP_CG_BIT(DP_CGROUP_PIDS) : 0) |
	       (l->millicpus ? DP_CG_BIT(DP_CGROUP_CPU) : 0);
}

/* One directory per v1 hierarchy (co-mounted controllers share a parent)
 * and one for all of v2. The parents stay in 'parent' until created. */
static void group_dirs(dp_cgroup *cg, const dp_cgroup_probe_ctrl ctl[DP_CGROUP_NCTRL], unsigned need,
		       const char *parent[DP_CGROUP_NCTRL])
{
	for (int c = 0; c < DP_CGROUP_NCTRL; c++) {
		size_t i;
		if (!(need & DP_CG_BIT(c)))
			continue;
		for (i = 0; i < cg->n; i++) {
			if (cg->dir[i].version == ctl[c].version && strcmp(parent[i], ctl[c].parent) == 0)
				break;
		}
		if (i == cg->n) {
			parent[i] = ctl[c].parent;
			cg->dir[i].version = ctl[c].version;
			cg->n++;
		}
		cg->dir[i].ctrls |= DP_CG_BIT(c);
	}
}

static void remove_dirs(dp_cgroup *cg)
{
	for (size_t i = cg->n; i-- > 0;) {
		if (cg->dir[i].path != NULL && rmdir(cg->dir[i].path) < 0 && errno != ENOENT)
			dp_warn("cgroup %s could not be removed: %s", cg->dir[i].path, strerror(errno));
		free(cg->dir[i].path);
		cg->dir[i].path = NULL;
	}
}

/* A monitor killed with SIGKILL cannot remove its cgroup. Its name carries
 * its pid: when that process is gone and the cgroup is empty, rmdir it (the
 * kernel refuses to remove a cgroup that still holds tasks). */
static void sweep_stale(const char *parent)
{
	DIR *d = opendir(parent);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char *path = NULL;
		int pid = 0;
		unsigned n = 0;
		if (sscanf(de->d_name, "doppel-%d-%u", &pid, &n) != 2 || pid <= 0 || pid == (int)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (asprintf(&path, "%s/%s", parent, de->d_name) >= 0 && rmdir(path) == 0)
			dp_debug("removed stale cgroup %s", path);
		free(path);
	}
	closedir(d);
}

/* The same name in every hierarchy, so a person can match them up. A
 * leftover from an earlier process with our pid takes the next counter. */
static int make_dirs(dp_cgroup *cg, const char *parent[DP_CGROUP_NCTRL], dp_error **err)
{
	static unsigned counter;

	/* Listing a cgroup directory is slow (kernfs builds every entry) and a
	 * stale cgroup needs a SIGKILLed monitor: one start in 16 sweeps. */
	if ((getpid() & 15) == 0)
		for (size_t i = 0; i < cg->n; i++)
			sweep_stale(parent[i]);

	for (int attempt = 0; attempt < 32; attempt++) {
		char name[64];
		bool clash = false;

		snprintf(name, sizeof(name), "doppel-%d-%u", (int)getpid(), counter++);
		for (size_t i = 0; i < cg->n && !clash; i++) {
			char *path = NULL;
			if (asprintf(&path, "%s/%s", parent[i], name) < 0)
				return dp_fail_errno(err, "allocate a cgroup path");
			if (mkdir(path, 0755) == 0) {
				cg->dir[i].path = path;
				continue;
			}
			if (errno == EEXIST) {
				free(path);
				clash = true;
				break;
			}
			dp_cg_fail(err, cg->dir[i].ctrls, errno, "create cgroup %s", path);
			free(path);
			return -1;
		}
		if (!clash)
			return 0;
		remove_dirs(cg);
	}
	return dp_cg_fail(err, cg->dir[0].ctrls, EEXIST, "create cgroup doppel-%d-* under %s", (int)getpid(),
			  parent[0]);
}

/* memory.events (v2) or memory.oom_control (v1): both count "oom_kill N"
 * (v1 since 4.13; older kernels only say under_oom) */
static const char *oom_file(const cg_dir *d)
{
	return d->version == DP_CGROUP_V2 ? "memory.events" : "memory.oom_control";
}

static void open_oom_record(dp_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		cleanup_free char *p = NULL;
		if (!(cg->dir[i].ctrls & DP_CG_BIT(DP_CGROUP_MEMORY)))
			continue;
		p = join(cg->dir[i].path, oom_file(&cg->dir[i]));
		if (p)
			cg->oom_fd = open(p, O_RDONLY | O_CLOEXEC);
		return;
	}
}

int dp_cgroup_create(const dp_limits *limits, dp_cgroup **out, dp_error **err)
{
	dp_cgroup_probe_ctrl ctl[DP_CGROUP_NCTRL];
	const char *parent[DP_CGROUP_NCTRL] = { NULL };
	unsigned need = needed(limits);
	dp_cg_host h = { 0 };
	char note[512];
	dp_cgroup *cg;

	*out = NULL;
	cg = calloc(1, sizeof(*cg));
	if (cg == NULL)
		return dp_fail_errno(err, "allocate cgroup");
	cg->oom_fd = -1;
	if (need == 0) {
		*out = cg;   /* no limits: a cgroup that does nothing */
		return 0;
	}
	if (dp_cg_host_detect(&h, err) < 0) {
		dp_wrap(err, "find cgroup hierarchies");
		goto fail;
	}
	dp_cg_choose(&h, need, ctl, note, sizeof(note));
	for (int c = 0; c < DP_CGROUP_NCTRL; c++) {
		if ((need & DP_CG_BIT(c)) && !ctl[c].usable) {
			dp_cg_fail(err, DP_CG_BIT(c), 0, "%s", ctl[c].why);
			goto fail;
		}
	}
	group_dirs(cg, ctl, need, parent);
	for (size_t i = 0; i < cg->n; i++) {
		/* v2 children get only what the parent's subtree_control enables */
		if (cg->dir[i].version == DP_CGROUP_V2 && dp_cg2_enable(parent[i], cg->dir[i].ctrls, err) < 0)
			goto fail;
	}
	if (make_dirs(cg, parent, err) < 0)
		goto fail;
	for (size_t i = 0; i < cg->n; i++) {
		int r = cg->dir[i].version == DP_CGROUP_V2 ? dp_cg2_apply(cg->dir[i].path, cg->dir[i].ctrls, limits, err)
							   : dp_cg1_apply(cg->dir[i].path, cg->dir[i].ctrls, limits, err);
		if (r < 0)
			goto fail;
		dp_debug("cgroup v%d %s", (int)cg->dir[i].version, cg->dir[i].path);
	}
	dp_cg_host_free(&h);
	open_oom_record(cg);
	*out = cg;
	return 0;
fail:
	dp_cg_host_free(&h);
	dp_cgroup_destroy(cg);
	return -1;
}

int dp_cgroup_add(dp_cgroup *cg, pid_t pid, dp_error **err)
{
	char value[32];

	snprintf(value, sizeof(value), "%d", (int)pid);
	for (size_t i = 0; i < cg->n; i++) {
		if (dp_cg_write(cg->dir[i].path, "cgroup.procs", value) < 0)
			return dp_fail_errno(err, "move pid %d into cgroup %s", (int)pid, cg->dir[i].path);
	}
	return 0;
}

bool dp_cgroup_oom_killed(dp_cgroup *cg)
{
	char buf[1024];
	ssize_t n;

	if (cg->oom_fd < 0)
		return false;
	n = pread(cg->oom_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return text_key(buf, "oom_kill") > 0;
}

/* SIGKILL to everything in dir's cgroup.procs; never to us, and never to
 * pid 0 or below, which kill(2) would read as a process group or "all". */
static void kill_procs(const char *dir)
{
	cleanup_free char *procs = dp_cg_read(dir, "cgroup.procs");
	pid_t self = getpid();
	char *save = NULL;

	if (procs == NULL)
		return;
	for (char *tok = strtok_r(procs, "\n", &save); tok != NULL; tok = strtok_r(NULL, "\n", &save)) {
		long pid = strtol(tok, NULL, 10);
		if (pid > 0 && pid != self && kill((pid_t)pid, SIGKILL) < 0 && errno != ESRCH)
			dp_debug("kill %ld in cgroup %s: %s", pid, dir, strerror(errno));
	}
}

static bool past(const struct timespec *deadline)
{
	struct timespec now;
	if (clock_gettime(CLOCK_MONOTONIC, &now) < 0)
		return true;
	return now.tv_sec > deadline->tv_sec || (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* Kills and removes dir and any cgroups the sandbox made below it; 0 or -1
 * with errno once the deadline passes. */
static int remove_cgroup(const char *dir, const struct timespec *deadline)
{
	const struct timespec nap = { .tv_sec = 0, .tv_nsec = 10 * 1000 * 1000 };

	/* the usual case: the sandbox's init is gone, and with it every task of
	 * its pid namespace; nothing below dir */
	if (rmdir(dir) == 0 || errno == ENOENT)
		return 0;
	for (;;) {
		DIR *d = opendir(dir);
		struct dirent *de;

		if (d == NULL)
			return errno == ENOENT ? 0 : -1;
		while ((de = readdir(d)) != NULL) {
			cleanup_free char *sub = NULL;
			if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (asprintf(&sub, "%s/%s", dir, de->d_name) >= 0)
				remove_cgroup(sub, deadline);
		}
		closedir(d);
		/* v2 (5.14+) kills the whole subtree at once, even mid-fork */
		if (dp_cg_exists(dir, "cgroup.kill") && dp_cg_write(dir, "cgroup.kill", "1") < 0)
			dp_debug("write 1 to %s/cgroup.kill: %s", dir, strerror(errno));
		kill_procs(dir);
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || past(deadline))
			return -1;
		nanosleep(&nap, NULL);
	}
}

void dp_cgroup_destroy(dp_cgroup *cg)
{
	struct timespec deadline;

	if (cg == NULL)
		return;
	if (cg->oom_fd >= 0)
		close(cg->oom_fd);
	if (clock_gettime(CLOCK_MONOTONIC, &deadline) < 0)
		deadline = (struct timespec){ 0, 0 };
	deadline.tv_sec += 1;
	for (size_t i = cg->n; i-- > 0;) {
		if (cg->dir[i].path == NULL)
			continue;
		if (remove_cgroup(cg->dir[i].path, &deadline) < 0)
			dp_warn("cgroup %s could not be removed: %s", cg->dir[i].path, strerror(errno));
		free(cg->dir[i].path);
	}
	free(cg);
}

/* --- for doctor and tests -------------------------------------------------------- */

void dp_cgroup_probe_host(dp_cgroup_probe *probe)
{
	dp_cg_host h = { 0 };
	dp_error *err = NULL;
	bool any_v1 = false, any_v2 = false, all_v2 = true;

	memset(probe, 0, sizeof(*probe));
	if (dp_cg_host_detect(&h, &err) < 0) {
		snprintf(probe->why, sizeof(probe->why), "%s", err->msg);
		for (int c = 0; c < DP_CGROUP_NCTRL; c++) {
			probe->ctrl[c].errnum = err->errnum;
			snprintf(probe->ctrl[c].why, sizeof(probe->ctrl[c].why), "%s", err->msg);
		}
		dp_error_free(&err);
		return;
	}
	dp_cg_choose(&h, DP_CG_ALL, probe->ctrl, probe->v2_note, sizeof(probe->v2_note));
	dp_cg_host_free(&h);
	for (int c = 0; c < DP_CGROUP_NCTRL; c++) {
		const dp_cgroup_probe_ctrl *st = &probe->ctrl[c];
		any_v1 |= st->version == DP_CGROUP_V1;
		any_v2 |= st->version == DP_CGROUP_V2;
		all_v2 &= st->version == DP_CGROUP_V2;
		if (probe->where[0] == '\0' && st->parent[0] != '\0')
			snprintf(probe->where, sizeof(probe->where), "%s", st->parent);
		if (probe->why[0] == '\0' && st->why[0] != '\0')
			snprintf(probe->why, sizeof(probe->why), "%s", st->why);
	}
	probe->version = all_v2 ? DP_CGROUP_V2 : any_v1 ? DP_CGROUP_V1 : any_v2 ? DP_CGROUP_V2 : DP_CGROUP_NONE;
	probe->memory = probe->ctrl[DP_CGROUP_MEMORY].usable;
	probe->pids = probe->ctrl[DP_CGROUP_PIDS].usable;
	probe->cpu = probe->ctrl[DP_CGROUP_CPU].usable;
}

const char *dp_cgroup_dir(const dp_cgroup *cg, int ctrl, enum dp_cgroup_version *version)
{
	for (size_t i = 0; i < cg->n; i++) {
		if (cg->dir[i].ctrls & DP_CG_BIT(ctrl)) {
			if (version != NULL)
				*version = cg->dir[i].version;
			return cg->dir[i].path;
		}
	}
	return NULL;
}

size_t dp_cgroup_ndirs(const dp_cgroup *cg)
{
	return cg->n;
}
