/* The host's own files outside the few system directories a sandbox needs:
 * secrets in /etc (shadow, sudoers, ssh host keys, the machine id), root's
 * home, other users' homes, /var, /srv, /opt, /boot, /sys, /work, ... are
 * absent (ENOENT); /etc holds only doppel's minimal entries and /etc/passwd
 * no host account. */
#include <dirent.h>

#include "attack.h"

int main(void)
{
	static const char *const absent[] = {
		"/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/sudoers.d", "/etc/ssh",
		"/etc/ssh/ssh_host_ed25519_key", "/etc/machine-id", "/etc/fstab", "/etc/crontab", "/etc/cron.d",
		"/etc/security", "/etc/pam.d", "/etc/docker", "/etc/kubernetes", "/root/.ssh", "/root/.bash_history",
		"/root/.profile", "/home", "/var", "/var/log", "/var/lib", "/var/run/docker.sock", "/srv", "/opt", "/mnt",
		"/media", "/boot", "/sys", "/work", "/run/systemd", "/run/dbus/system_bus_socket", "/lost+found",
		"/tmp/.X11-unix", NULL,
	};
	char buf[4096];
	int lines = 0;

	attack_begin("host-files");
	for (const char *const *p = absent; *p; p++)
		EXPECT_ERRNO_AS(*p, ENOENT, open(*p, O_RDONLY));
	MUST(read_file("/etc/passwd", buf, sizeof(buf)));
	for (char *c = buf; *c; c++)
		lines += *c == '\n';
	check(lines <= 3 && strstr(buf, "daemon:") == NULL && strstr(buf, "sshd:") == NULL,
	      "/etc/passwd is doppel's (%d lines, no host accounts)", lines);
	{
		DIR *d = opendir("/root");
		struct dirent *e;
		int n = 0;
		while (d && (e = readdir(d)) != NULL)
			n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
		if (d)
			closedir(d);
		check(d != NULL && n == 0, "/root is an empty directory of the sandbox's own (%d entries)", n);
	}
	attack_end();
}
