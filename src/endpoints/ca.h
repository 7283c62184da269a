/* The store's sandbox certificate authority (GnuTLS): made once per store,
 * its key mode 0600 in the store and never inside a sandbox. Sandboxes trust
 * its certificate; the stand-in server gets a leaf certificate per host. */
#ifndef DOPPEL_ENDPOINTS_CA_H
#define DOPPEL_ENDPOINTS_CA_H

#include "util/error.h"

typedef struct ep_ca ep_ca;

/* Loads dir/ca.key and dir/ca.crt, creating them (atomically) when absent. */
int ep_ca_open(const char *dir, ep_ca **out, dp_error **err);
/* PEM of the CA certificate (owned by ca). */
const char *ep_ca_cert_pem(const ep_ca *ca);
/* A fresh key and a certificate for host (subjectAltName DNS:host), signed by
 * the CA, valid from an hour ago for 30 days; both malloc'd PEM strings. */
int ep_ca_issue(ep_ca *ca, const char *host, char **cert_pem, char **key_pem, dp_error **err);
void ep_ca_close(ep_ca *ca);

#endif
