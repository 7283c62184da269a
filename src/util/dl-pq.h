/* PostgreSQL's client library (production databases and the sandbox cluster):
 * loaded on first use (util/dl.h says why). Call dp_dl_pq() before the first
 * sym_ call on a path; it is cheap after the first time. */
#ifndef DOPPEL_UTIL_DL_PQ_H
#define DOPPEL_UTIL_DL_PQ_H

#include <libpq-fe.h>

#include "util/dl.h"

#define DP_PQ_SYMS(X) \
	X(PQclear) \
	X(PQcmdTuples) \
	X(PQconnectdb) \
	X(PQconnectdbParams) \
	X(PQconninfoFree) \
	X(PQconninfoParse) \
	X(PQerrorMessage) \
	X(PQescapeIdentifier) \
	X(PQescapeLiteral) \
	X(PQexec) \
	X(PQexecParams) \
	X(PQfinish) \
	X(PQfreemem) \
	X(PQgetCopyData) \
	X(PQgetResult) \
	X(PQgetisnull) \
	X(PQgetlength) \
	X(PQgetvalue) \
	X(PQntuples) \
	X(PQping) \
	X(PQputCopyData) \
	X(PQputCopyEnd) \
	X(PQresultErrorField) \
	X(PQresultErrorMessage) \
	X(PQresultStatus) \
	X(PQserverVersion) \
	X(PQsetNoticeProcessor) \
	X(PQstatus) \
	X(PQtransactionStatus)

DP_PQ_SYMS(DP_DLSYM_EXTERN)

int dp_dl_pq(dp_error **err);

#endif
