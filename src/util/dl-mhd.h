/* libmicrohttpd, the HTTP server of doppeld and the API stand-ins: loaded on
 * first use (util/dl.h says why). Call dp_dl_mhd() before the first sym_ call
 * on a path; it is cheap after the first time. */
#ifndef DOPPEL_UTIL_DL_MHD_H
#define DOPPEL_UTIL_DL_MHD_H

#include <microhttpd.h>

#include "util/dl.h"

#define DP_MHD_SYMS(X) \
	X(MHD_add_response_header) \
	X(MHD_create_response_from_buffer) \
	X(MHD_create_response_from_callback) \
	X(MHD_destroy_response) \
	X(MHD_get_connection_info) \
	X(MHD_get_connection_values) \
	X(MHD_get_version) \
	X(MHD_http_unescape) \
	X(MHD_lookup_connection_value) \
	X(MHD_queue_response) \
	X(MHD_quiesce_daemon) \
	X(MHD_resume_connection) \
	X(MHD_set_connection_option) \
	X(MHD_start_daemon) \
	X(MHD_stop_daemon) \
	X(MHD_suspend_connection)

DP_MHD_SYMS(DP_DLSYM_EXTERN)

int dp_dl_mhd(dp_error **err);

#endif
