/* The progress line; see progress.h. Redrawn at most ten times a second so
 * drawing never shows up in a profile. */
#include "util/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct dp_progress {
	char label[32];
	uint64_t total_files, total_bytes;
	double start, last;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void human(char *buf, size_t n, double bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	while (bytes >= 1024 && u < 4) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

dp_progress *dp_progress_new(const char *label, uint64_t total_files, uint64_t total_bytes)
{
	dp_progress *p;

	if (!isatty(STDERR_FILENO) || getenv("DOPPEL_NO_PROGRESS"))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	snprintf(p->label, sizeof(p->label), "%s", label);
	p->total_files = total_files;
	p->total_bytes = total_bytes;
	p->start = p->last = now();
	return p;
}

void dp_progress_update(dp_progress *p, uint64_t files, uint64_t bytes)
{
	char b[32], r[32], eta[32] = "";
	double t, el, rate;

	if (p == NULL)
		return;
	t = now();
	if (t - p->last < 0.1)
		return;
	p->last = t;
	el = t - p->start;
	rate = el > 0 ? (double)bytes / el : 0;
	human(b, sizeof(b), (double)bytes);
	human(r, sizeof(r), rate);
	if (p->total_bytes > bytes && rate > 0) {
		double left = (double)(p->total_bytes - bytes) / rate;
		snprintf(eta, sizeof(eta), ", ETA %d:%02d", (int)left / 60, (int)left % 60);
	}
	fprintf(stderr, "\r\033[K%s: %llu files, %s, %s/s%s", p->label, (unsigned long long)files, b, r, eta);
}

void dp_progress_done(dp_progress *p)
{
	if (p == NULL)
		return;
	fprintf(stderr, "\r\033[K");
	free(p);
}
