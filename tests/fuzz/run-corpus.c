/* Replays fuzz inputs without libFuzzer, so `meson test` runs the corpus
 * on every build (under the sanitizers when the build has them):
 * run-corpus FILE|DIR... feeds each file once to LLVMFuzzerTestOneInput. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (f == NULL || fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		fprintf(stderr, "run-corpus: %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	buf = malloc((size_t)len + 1);
	if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "run-corpus: %s: cannot read\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int n = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "run-corpus: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[i]) < 0)
				return 1;
			n++;
			continue;
		}
		struct dirent **names;
		int k = scandir(argv[i], &names, NULL, alphasort);
		if (k < 0) {
			fprintf(stderr, "run-corpus: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		for (int e = 0; e < k; e++) {
			char path[4096];
			if (names[e]->d_name[0] != '.') {
				snprintf(path, sizeof(path), "%s/%s", argv[i], names[e]->d_name);
				if (run_file(path) < 0)
					return 1;
				n++;
			}
			free(names[e]);
		}
		free(names);
	}
	printf("ok: %d inputs\n", n);
	return n > 0 ? 0 : 1;
}
