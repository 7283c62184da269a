/* See yamldiag.h: one configuration of libfyaml's diagnostics for every
 * YAML file doppel reads (doppel.yaml, access.yaml). */
#include "util/yamldiag.h"

#include <string.h>

static void capture_first(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	char *first = user;
	(void)diag;

	if (first[0] != '\0')
		return;
	if (len >= DP_YAML_DIAG_MAX)
		len = DP_YAML_DIAG_MAX - 1;
	memcpy(first, buf, len);
	first[len] = '\0';
	first[strcspn(first, "\n")] = '\0';
}

struct fy_diag *dp_yaml_diag_new(char first[DP_YAML_DIAG_MAX])
{
	struct fy_diag_cfg dcfg;

	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = capture_first;
	dcfg.user = first;
	dcfg.level = FYET_ERROR;
	dcfg.colorize = false;
	dcfg.show_source = false;
	dcfg.show_position = true;
	dcfg.show_type = false;
	dcfg.show_module = false;
	dcfg.position_width = 0;
	return fy_diag_create(&dcfg);
}
