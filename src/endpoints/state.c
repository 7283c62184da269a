/* Saved endpoint state (server.h): one HOST.json per stand-in host in the
 * sandbox's state directory, so scenario states and the journal survive a
 * stopped sandbox and `doppel endpoints NAME journal` can read them while
 * nothing serves. Written to a temporary name and renamed, so a crash
 * leaves the old file or the new one, never half of one. */
#include "endpoints/server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"

/* A host name is also the file name: no '/', no leading '.'. */
static int state_path(const char *state_dir, const char *host, char *buf, size_t len, dp_error **err)
{
	const char *name = host[0] ? host : "default";

	if (name[0] == '.' || strchr(name, '/') || strlen(name) > 253)
		return dp_usage(err, "endpoint host '%s': not a host name", host);
	if ((size_t)snprintf(buf, len, "%s/%s.json", state_dir, name) >= len)
		return dp_usage(err, "%s: path too long", state_dir);
	return 0;
}

int ep_state_load(const char *state_dir, const char *host, json_t **out, dp_error **err)
{
	char path[4096];
	cleanup_close int fd = -1;
	json_error_t je;
	json_t *j;

	if (state_path(state_dir, host, path, sizeof(path), err) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		*out = json_object();
		return *out ? 0 : dp_fail(err, ENOMEM, "%s", path);
	}
	if (fd < 0)
		return dp_fail_errno(err, "open %s", path);
	j = json_loadfd(fd, 0, &je);
	if (j == NULL)
		return dp_usage(err, "%s: line %d: %s", path, je.line, je.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return dp_usage(err, "%s: expected an object", path);
	}
	*out = j;
	return 0;
}

int ep_state_save(const char *state_dir, const char *host, json_t *state, dp_error **err)
{
	char path[4096], tmp[4200];
	cleanup_close int fd = -1;

	if (state_path(state_dir, host, path, sizeof(path), err) < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return dp_fail_errno(err, "write %s", tmp);
	if (json_dumpfd(state, fd, JSON_COMPACT) < 0 || fsync(fd) < 0) {
		int e = errno ? errno : EIO;
		unlink(tmp);
		return dp_fail(err, e, "write %s", tmp);
	}
	if (rename(tmp, path) < 0) {
		dp_fail_errno(err, "rename %s", tmp);
		unlink(tmp);
		return -1;
	}
	return 0;
}
