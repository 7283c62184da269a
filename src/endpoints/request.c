/* The received-request record: lookups the matcher and templater share, and
 * freeing what the server filled in. See request.h. */
#include "endpoints/request.h"

#include <stdlib.h>
#include <strings.h>

const char *ep_request_header(const ep_request *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (r->headers[i].name != NULL && strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static void free_kvs(ep_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].name);
		free(kv[i].value);
	}
	free(kv);
}

void ep_request_clear(ep_request *r)
{
	if (r == NULL)
		return;
	free(r->method);
	free(r->url);
	free(r->path);
	free(r->host);
	free_kvs(r->query, r->n_query);
	free_kvs(r->headers, r->n_headers);
	free_kvs(r->cookies, r->n_cookies);
	free(r->body);
	free(r->client);
	free(r->scheme);
	*r = (ep_request){ 0 };
}
