/* sim_tls.c - a throwaway CA and serving certificate (OpenSSL, EC P-256) for wukong-sim. */
#include "sim_tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static int ossl_err(char *errstr, size_t errstr_size, const char *what)
{
	char buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	return wk_err(errstr, errstr_size, "tls: %s: %s", what, buf);
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, bool ca,
		       const char *san)
{
	X509 *x = X509_new();
	X509_NAME *name;
	unsigned char serial[16];
	BIGNUM *bn;

	if (!x)
		return NULL;
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x))) {
		BN_free(bn);
		goto fail;
	}
	BN_free(bn);
	X509_set_version(x, 2);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"wukong-sim", -1,
				   -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	if (ca) {
		if (add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
		    add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature") <
			0 ||
		    add_ext(x, x, NID_subject_key_identifier, "hash") < 0)
			goto fail;
	} else {
		if (add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
		    add_ext(x, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment") <
			0 ||
		    add_ext(x, issuer, NID_ext_key_usage, "serverAuth") < 0 ||
		    add_ext(x, issuer, NID_subject_alt_name, san) < 0 ||
		    add_ext(x, issuer, NID_authority_key_identifier, "keyid:always") < 0)
			goto fail;
	}
	if (!X509_sign(x, issuer_key, EVP_sha256()))
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

static char *bio_string(BIO *b)
{
	char *data;
	long n = BIO_get_mem_data(b, &data);

	return n > 0 ? wk_xstrndup(data, (size_t)n) : NULL;
}

static char *cert_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL;

	if (b && PEM_write_bio_X509(b, x))
		s = bio_string(b);
	BIO_free(b);
	return s;
}

int sim_tls_generate(struct sim_tls *tls, char *errstr, size_t errstr_size)
{
	return sim_tls_generate_named(tls, "wukong-sim-ca", "localhost",
				      "IP:127.0.0.1,DNS:localhost", errstr, errstr_size);
}

int sim_tls_generate_named(struct sim_tls *tls, const char *ca_cn, const char *cn, const char *san,
			   char *errstr, size_t errstr_size)
{
	EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *srv_key = EVP_EC_gen("P-256");
	X509 *ca = NULL, *srv = NULL;
	BIO *b = NULL;
	int rc = -1;

	memset(tls, 0, sizeof(*tls));
	if (!ca_key || !srv_key) {
		ossl_err(errstr, errstr_size, "generating keys");
		goto out;
	}
	ca = make_cert(ca_key, ca_cn, NULL, ca_key, true, NULL);
	srv = ca ? make_cert(srv_key, cn, ca, ca_key, false, san) : NULL;
	if (!ca || !srv) {
		ossl_err(errstr, errstr_size, "building certificates");
		goto out;
	}
	tls->ca_pem = cert_pem(ca);
	tls->cert_pem = cert_pem(srv);
	b = BIO_new(BIO_s_mem());
	/* the traditional "EC PRIVATE KEY" form: every TLS library behind libmicrohttpd reads it */
	if (b && PEM_write_bio_PrivateKey_traditional(b, srv_key, NULL, NULL, 0, NULL, NULL))
		tls->key_pem = bio_string(b);
	if (!tls->ca_pem || !tls->cert_pem || !tls->key_pem) {
		ossl_err(errstr, errstr_size, "writing PEM");
		sim_tls_release(tls);
		goto out;
	}
	rc = 0;
out:
	BIO_free(b);
	X509_free(ca);
	X509_free(srv);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	return rc;
}

void sim_tls_release(struct sim_tls *tls)
{
	if (tls->key_pem)
		OPENSSL_cleanse(tls->key_pem, strlen(tls->key_pem));
	free(tls->ca_pem);
	free(tls->cert_pem);
	free(tls->key_pem);
	memset(tls, 0, sizeof(*tls));
}

char *sim_base64(const char *data, size_t len)
{
	char *out = wk_xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)len);
	return out;
}
