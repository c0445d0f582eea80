/* sim_tls.h - a throwaway CA and serving certificate for the simulator's HTTPS listener.
 *
 * Generated with OpenSSL at every start (EC P-256): the CA is self-signed, the serving cert has
 * SAN IP:127.0.0.1 and DNS:localhost. All strings are PEM, heap-owned by the struct.
 */
#ifndef SIM_TLS_H
#define SIM_TLS_H

#include "wk_common.h"

struct sim_tls {
	char *ca_pem;
	char *cert_pem; /* serving certificate */
	char *key_pem;	/* its private key */
};

int sim_tls_generate(struct sim_tls *tls, char *errstr, size_t errstr_size);
/* The same with a CA named ca_cn and a serving certificate with CN cn and subjectAltName san
 * (OpenSSL syntax: "DNS:a,DNS:b,IP:127.0.0.1"): KubeVirt's own CA and virt-handler's cert. */
int sim_tls_generate_named(struct sim_tls *tls, const char *ca_cn, const char *cn, const char *san,
			   char *errstr, size_t errstr_size);
void sim_tls_release(struct sim_tls *tls);
/* Base64 of data without line breaks (for certificate-authority-data). Caller frees. */
char *sim_base64(const char *data, size_t len);

#endif
