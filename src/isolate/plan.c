/* Building and validating mount plans; see plan.h. Validation is the single
 * place where plan paths are judged, so every front end gets the same rules:
 * absolute, no '..', no symlink on the host side, destinations not over the
 * runtime's own mounts. */
#include "isolate/plan.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/path.h"

void dp_plan_init(dp_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	plan->net = DP_NET_LOOPBACK;
}

static void mount_free(dp_mount *m)
{
	free(m->src);
	free(m->upper);
	free(m->work);
	free(m->dst);
	if (m->lowers)
		for (char **l = m->lowers; *l; l++)
			free(*l);
	free(m->lowers);
}

void dp_plan_free(dp_plan *plan)
{
	for (size_t i = 0; i < plan->n_mounts; i++)
		mount_free(&plan->mounts[i]);
	free(plan->mounts);
	free(plan->system);
	free(plan->hostname);
	free(plan->publish);
	free(plan->listen);
	for (size_t i = 0; i < plan->n_hosts; i++) {
		free(plan->hosts[i].addr);
		free(plan->hosts[i].name);
	}
	free(plan->hosts);
	free(plan->ca_pem);
	for (size_t i = 0; i < plan->n_env; i++)
		free(plan->env[i]);
	free(plan->env);
	free(plan->chdir);
	memset(plan, 0, sizeof(*plan));
}

static char *xstrdup(const char *s)
{
	char *r = s ? strdup(s) : NULL;
	if (s && !r)
		abort();
	return r;
}

int dp_plan_add_mount(dp_plan *plan, const dp_mount *m, dp_error **err)
{
	dp_mount *grown = realloc(plan->mounts, (plan->n_mounts + 1) * sizeof(*grown));
	dp_mount *n;

	if (grown == NULL)
		return dp_fail(err, ENOMEM, "plan");
	plan->mounts = grown;
	n = &plan->mounts[plan->n_mounts++];
	memset(n, 0, sizeof(*n));
	n->kind = m->kind;
	n->src = xstrdup(m->src);
	n->upper = xstrdup(m->upper);
	n->work = xstrdup(m->work);
	n->dst = xstrdup(m->dst);
	if (m->lowers) {
		size_t k = 0;
		while (m->lowers[k])
			k++;
		n->lowers = calloc(k + 1, sizeof(char *));
		if (n->lowers == NULL)
			abort();
		for (size_t i = 0; i < k; i++)
			n->lowers[i] = xstrdup(m->lowers[i]);
	}
	return 0;
}

int dp_plan_add_host(dp_plan *plan, const char *addr, const char *name, dp_error **err)
{
	dp_host_entry *grown = realloc(plan->hosts, (plan->n_hosts + 1) * sizeof(*grown));

	if (grown == NULL)
		return dp_fail(err, ENOMEM, "plan");
	plan->hosts = grown;
	grown[plan->n_hosts].addr = xstrdup(addr);
	grown[plan->n_hosts].name = xstrdup(name);
	plan->n_hosts++;
	return 0;
}

int dp_plan_add_listen(dp_plan *plan, uint32_t addr, uint16_t port, dp_error **err)
{
	dp_listen *grown = realloc(plan->listen, (plan->n_listen + 1) * sizeof(*grown));

	if (grown == NULL)
		return dp_fail(err, ENOMEM, "plan");
	plan->listen = grown;
	grown[plan->n_listen++] = (dp_listen){ .addr = addr, .port = port };
	return 0;
}

/* A host directory (or file for binds) that must exist and be reached
 * without any symlink. */
static int check_host(const char *what, const char *path, bool want_dir, dp_error **err)
{
	struct stat st;
	cleanup_close int fd = dp_path_open_nofollow(what, path, O_PATH, err);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		return dp_fail_errno(err, "%s: stat '%s'", what, path);
	if (want_dir && !S_ISDIR(st.st_mode))
		return dp_usage(err, "%s: '%s' is not a directory", what, path);
	if (!want_dir && !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return dp_usage(err, "%s: '%s' is neither a directory nor a regular file", what, path);
	return 0;
}

/* The runtime owns these; a plan may not mount over them. */
static bool reserved_dst(const char *dst)
{
	static const char *const reserved[] = { "/", "/proc", "/dev", NULL };
	for (const char *const *r = reserved; *r; r++) {
		size_t n = strlen(*r);
		if (strcmp(dst, *r) == 0)
			return true;
		if (n > 1 && strncmp(dst, *r, n) == 0 && dst[n] == '/')
			return true;
	}
	return false;
}

static int check_mount(const dp_mount *m, dp_error **err)
{
	static const char *const names[] = { "--ro-bind", "--bind", "--overlay", "--tmpfs", "--tmp-overlay" };
	const char *opt = names[m->kind];

	if (dp_path_check(opt, m->dst, err) < 0)
		return -1;
	{
		/* "//proc/" and "/proc" are one place: no dodging by spelling */
		char *norm = dp_path_collapse(m->dst);
		bool reserved = norm == NULL || reserved_dst(norm);
		free(norm);
		if (reserved)
			return dp_usage(err, "%s: destination '%s' is managed by doppel and cannot be replaced", opt,
					m->dst);
	}
	switch (m->kind) {
	case DP_MOUNT_RO_BIND:
	case DP_MOUNT_BIND:
		return check_host(opt, m->src, false, err);
	case DP_MOUNT_TMPFS:
		return 0;
	case DP_MOUNT_TMP_OVERLAY:
	case DP_MOUNT_OVERLAY: {
		struct stat su, sw;
		if (m->lowers == NULL || m->lowers[0] == NULL)
			return dp_usage(err, "%s: expected at least one lower directory", opt);
		for (char **l = m->lowers; *l; l++) {
			if (strchr(*l, ',') != NULL)
				return dp_usage(err, "%s: lower '%s' contains a ','", opt, *l);
			if (check_host(opt, *l, true, err) < 0)
				return -1;
		}
		if (m->kind == DP_MOUNT_TMP_OVERLAY)
			return 0;
		if (check_host(opt, m->upper, true, err) < 0 || check_host(opt, m->work, true, err) < 0)
			return -1;
		if (stat(m->upper, &su) < 0 || stat(m->work, &sw) < 0)
			return dp_fail_errno(err, "%s: stat upper/work", opt);
		if (su.st_dev != sw.st_dev)
			return dp_usage(err, "%s: upper '%s' and work '%s' must be on the same filesystem", opt,
					m->upper, m->work);
		if (strcmp(m->upper, m->work) == 0)
			return dp_usage(err, "%s: upper and work must be different directories", opt);
		return 0;
	}
	}
	return dp_usage(err, "unknown mount kind");
}

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 1123 labels: 1-63 characters, alphanumeric at both ends; the whole
 * name at most max characters. */
static bool valid_dns_name(const char *h, size_t max)
{
	size_t n = strlen(h), label = 0;

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (c == '.') {
			if (label == 0 || !alnum(h[i - 1]))
				return false;
			label = 0;
			continue;
		}
		if (!alnum(c) && c != '-')
			return false;
		if (label == 0 && !alnum(c))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && alnum(h[n - 1]);
}

static bool valid_hostname(const char *h)
{
	return valid_dns_name(h, 63);
}

/* Sockets, host lines and certificates end up in init and in files of the
 * sandbox: judge them here, before anything is created. */
static int check_network_extras(const dp_plan *plan, dp_error **err)
{
	if (plan->n_listen > DP_PLAN_MAX_LISTEN)
		return dp_usage(err, "--listen: at most %d sockets", DP_PLAN_MAX_LISTEN);
	if (plan->n_listen && plan->net == DP_NET_NONE)
		return dp_usage(err, "--listen needs --net loopback (the sandbox needs a network to listen on)");
	if (plan->n_listen && plan->on_listen == NULL)
		return dp_usage(err, "--listen: nothing in the monitor takes the sockets");
	for (size_t i = 0; i < plan->n_listen; i++) {
		struct in_addr a = { .s_addr = htonl(plan->listen[i].addr) };
		char text[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &a, text, sizeof(text));
		if ((plan->listen[i].addr >> 24) != 127)
			return dp_usage(err, "--listen %s:%u: expected a loopback address (127.x.y.z); the sandbox "
					"has no other interface", text, plan->listen[i].port);
		if (plan->listen[i].port == 0)
			return dp_usage(err, "--listen %s:0: expected a port from 1 to 65535", text);
		for (size_t j = 0; j < i; j++)
			if (plan->listen[j].addr == plan->listen[i].addr && plan->listen[j].port == plan->listen[i].port)
				return dp_usage(err, "--listen %s:%u given twice", text, plan->listen[i].port);
	}
	if (plan->n_hosts > DP_PLAN_MAX_HOSTS)
		return dp_usage(err, "--add-host: at most %d entries", DP_PLAN_MAX_HOSTS);
	for (size_t i = 0; i < plan->n_hosts; i++) {
		const dp_host_entry *h = &plan->hosts[i];
		unsigned char buf[sizeof(struct in6_addr)];
		if (h->name == NULL || !valid_dns_name(h->name, 253))
			return dp_usage(err, "--add-host: '%s' is not a host name; expected up to 253 letters, digits, "
					"'-' and '.', each label 1-63 long, starting and ending with a letter or digit",
					h->name ? h->name : "");
		if (h->addr == NULL ||
		    (inet_pton(AF_INET, h->addr, buf) != 1 && inet_pton(AF_INET6, h->addr, buf) != 1))
			return dp_usage(err, "--add-host %s: '%s' is not an IPv4 or IPv6 address", h->name,
					h->addr ? h->addr : "");
	}
	if (plan->ca_pem) {
		size_t n = strlen(plan->ca_pem);
		if (n > DP_PLAN_MAX_CA_PEM)
			return dp_usage(err, "--ca-cert: more than %u bytes of certificates", DP_PLAN_MAX_CA_PEM);
		if (strstr(plan->ca_pem, "-----BEGIN CERTIFICATE-----") == NULL)
			return dp_usage(err, "--ca-cert: expected PEM certificates (-----BEGIN CERTIFICATE-----)");
		/* a private key has no business in a trust bundle */
		if (strstr(plan->ca_pem, "PRIVATE KEY-----") != NULL)
			return dp_usage(err, "--ca-cert: the file holds a private key; give the certificate only");
	}
	return 0;
}

/* A decimal uint32 with nothing else around it. */
static bool parse_u32(const char *s, uint32_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

/* A range the mapping can use: big enough, not starting at host root, and
 * ending below (uid_t)-1, which means "no id". */
static bool usable_range(uint32_t first, uint32_t count)
{
	return count >= DP_MAP_IDS && first != 0 && (uint64_t)first + DP_MAP_IDS <= UINT32_MAX;
}

/* Returns 0 with *first set, 1 when the file has no usable range for the
 * owner (or does not exist), -1 with *err when it cannot be read or a line
 * of this owner is malformed. */
int dp_subid_find(const char *file, const char *name, uint32_t id, uint32_t *first, dp_error **err)
{
	cleanup_fclose FILE *f = fopen(file, "re");
	cleanup_free char *line = NULL;
	size_t cap = 0, lineno = 0;
	char idtext[16];

	if (f == NULL)
		return errno == ENOENT ? 1 : dp_fail_errno(err, "read %s", file);
	snprintf(idtext, sizeof(idtext), "%u", id);
	while (getline(&line, &cap, f) >= 0) {
		char *owner = line, *a, *b;
		uint32_t start, count;
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		a = strchr(owner, ':');
		if (a == NULL)
			continue; /* blank, comment or another tool's junk: not ours */
		*a++ = '\0';
		if (!((name && strcmp(owner, name) == 0) || strcmp(owner, idtext) == 0))
			continue;
		b = strchr(a, ':');
		if (b)
			*b++ = '\0';
		if (b == NULL || !parse_u32(a, &start) || !parse_u32(b, &count))
			return dp_fail(err, 0, "%s:%zu: expected OWNER:FIRST:COUNT (decimal ids)", file, lineno);
		if (usable_range(start, count)) {
			*first = start;
			return 0;
		}
	}
	if (ferror(f))
		return dp_fail_errno(err, "read %s", file);
	return 1;
}

int dp_plan_map_user(dp_plan *plan, uid_t uid, dp_error **err)
{
	struct passwd pw, *found = NULL;
	char buf[16384];
	uint32_t ubase = 0, gbase = 0;
	const char *name;
	int r = getpwuid_r(uid, &pw, buf, sizeof(buf), &found);

	/* a uid without a passwd entry can still own ranges by number */
	if (r != 0 && r != ENOENT)
		return dp_fail(err, r, "look up uid %u in the user database", (unsigned)uid);
	name = found ? found->pw_name : NULL;
	r = dp_subid_find(DP_SUBUID_FILE, name, (uint32_t)uid, &ubase, err);
	if (r == 0)
		r = dp_subid_find(DP_SUBGID_FILE, name, (uint32_t)uid, &gbase, err);
	if (r < 0)
		return -1;
	if (r > 0)
		return dp_fail(err, 0,
			       "user %s (uid %u) has no subordinate %s range of at least %u ids starting above 0 in %s, "
			       "so its sandboxes cannot run under a mapped identity; give it one, e.g. 'usermod "
			       "--add-sub%s FIRST-LAST %s' with LAST = FIRST + %u",
			       name ? name : "?", (unsigned)uid, ubase ? "gid" : "uid", DP_MAP_IDS,
			       ubase ? DP_SUBGID_FILE : DP_SUBUID_FILE, ubase ? "gids" : "uids",
			       name ? name : "USER", DP_MAP_IDS - 1);
	plan->map_ids = true;
	plan->map_uid_base = (uid_t)ubase;
	plan->map_gid_base = (gid_t)gbase;
	return 0;
}

int dp_plan_validate(const dp_plan *plan, dp_error **err)
{
	if (plan->argv == NULL || plan->argv[0] == NULL)
		return dp_usage(err, "no command given; expected '-- CMD [ARGS...]'");
	if (plan->system != NULL && strcmp(plan->system, "host") != 0 &&
	    check_host("--system", plan->system, true, err) < 0)
		return -1;
	for (size_t i = 0; i < plan->n_mounts; i++)
		if (check_mount(&plan->mounts[i], err) < 0)
			return -1;
	if (plan->chdir && dp_path_check("--chdir", plan->chdir, err) < 0)
		return -1;
	if (plan->hostname && !valid_hostname(plan->hostname))
		return dp_usage(err, "--hostname: '%s' is not a host name; expected up to 63 letters, digits, '-' and "
				"'.', each label starting and ending with a letter or digit",
				plan->hostname);
	for (size_t i = 0; i < plan->n_env; i++) {
		const char *eq = strchr(plan->env[i], '=');
		if (eq == NULL || eq == plan->env[i])
			return dp_usage(err, "--env: expected K=V, got '%s'", plan->env[i]);
	}
	for (size_t i = 0; i < plan->n_publish; i++)
		for (size_t j = 0; j < i; j++)
			if (plan->publish[i].host_port == plan->publish[j].host_port)
				return dp_usage(err, "--publish: host port %u given twice", plan->publish[i].host_port);
	if (plan->disk_bytes)
		for (size_t i = 0; i < plan->n_mounts; i++)
			if (plan->mounts[i].kind == DP_MOUNT_OVERLAY || plan->mounts[i].kind == DP_MOUNT_BIND)
				return dp_usage(err, "--disk cannot cap the host directory behind %s; use --tmp-overlay "
						"(writes to a capped tmpfs) or drop --disk",
						plan->mounts[i].dst);
	if (plan->n_publish && plan->net == DP_NET_NONE)
		return dp_usage(err, "--publish needs --net loopback (the sandbox needs a network to listen on)");
	if (plan->map_ids) {
		if (geteuid() != 0)
			return dp_usage(err, "--map-user needs doppel to run as root: only root may map a sandbox onto "
					"another user's subordinate ids (a rootless run already maps the caller alone)");
		if (!usable_range((uint32_t)plan->map_uid_base, DP_MAP_IDS) ||
		    !usable_range((uint32_t)plan->map_gid_base, DP_MAP_IDS))
			return dp_usage(err, "--map-user: ids %u and %u cannot start a range of %u ids (expected a "
					"first id above 0 with the range ending below 4294967295)",
					(unsigned)plan->map_uid_base, (unsigned)plan->map_gid_base, DP_MAP_IDS);
	}
	return check_network_extras(plan, err);
}
