/*
 * sasl_impl: what sasl.c, sasl_scram.c, sasl_digest.c and sasl_digestsrv.c
 * share and nobody else may use. The client object is defined here so the
 * mechanism files can reach its fields; outside the sasl files it stays
 * opaque.
 */
#ifndef NAB_SASL_IMPL_H
#define NAB_SASL_IMPL_H

#include <stdarg.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "attrib.h"
#include "sasl.h"

#define SASL_ERRMAX	256
#define SASL_NONCEMAX	128	/* client nonce / cnonce, excluding NUL */
#define SASL_NAMEMAX	255	/* authcid, domain */
#define SASL_PASSMAX	1023
#define SASL_SERVMAX	31
#define SASL_MSGMAX	4096	/* largest server message we parse */

enum sasl_state {
	SASL_ST_INIT = 0,
	SASL_ST_STARTED = 1,	/* initial response produced, no reply yet */
	SASL_ST_FINAL = 2,	/* proof sent, waiting for the server's proof */
	SASL_ST_VERIFIED = 3,	/* server proved itself, waiting for success */
	SASL_ST_DONE = 4,
	SASL_ST_FAILED = 5,
	SASL_ST_KDF = 6		/* SCRAM: Hi() runs elsewhere (resume) */
};

/* Growable byte buffer, always NUL-terminated, wiped when reset or freed. */
struct sasl_buf {
	char	*sb_data;
	size_t	 sb_len;
	size_t	 sb_cap;
	int	 sb_err;	/* sticky ENOMEM */
};

struct sasl_client {
	enum sasl_mech	 sc_mech;
	enum sasl_state	 sc_state;
	char		*sc_authcid;
	char		*sc_password;
	size_t		 sc_pwlen;
	char		*sc_domain;
	char		 sc_service[SASL_SERVMAX + 1];
	unsigned	 sc_maxiter;
	char		 sc_nonce[SASL_NONCEMAX + 1];	/* "" = generate */
	char		*sc_cfirst;	/* SCRAM client-first-message-bare */
	unsigned char	 sc_expect[EVP_MAX_MD_SIZE]; /* server proof awaited */
	size_t		 sc_expectlen;
	int		 sc_async;	/* SCRAM: Hi() by the caller (PENDING) */
	char		*sc_sfm;	/* SCRAM server-first, while PENDING */
	size_t		 sc_sfmlen;
	unsigned char	 sc_salted[EVP_MAX_MD_SIZE];	/* cached once verified */
	size_t		 sc_saltedlen;
	unsigned char	 sc_hikey[32];	/* its cache key */
	int		 sc_haskey;
	struct sasl_buf	 sc_out;
	char		 sc_err[SASL_ERRMAX];
};

/* One DIGEST-MD5 directive; the value is unquoted and may hold NULs. */
#define SASL_DG_NAMEMAX	31
#define SASL_DG_VALMAX	1024
struct sasl_dg_kv {
	char	kv_name[SASL_DG_NAMEMAX + 1];
	char	kv_val[SASL_DG_VALMAX + 1];
	size_t	kv_vallen;
};

/* Inputs of the DIGEST-MD5 response and rspauth (RFC 2831 2.1.2.1). */
struct sasl_dg_in {
	const char	*di_user;
	size_t		 di_userlen;
	const char	*di_realm;
	size_t		 di_realmlen;
	const char	*di_pass;
	size_t		 di_passlen;
	const char	*di_nonce;
	size_t		 di_noncelen;
	const char	*di_cnonce;
	size_t		 di_cnoncelen;
	const char	*di_nc;		/* 8 hex digits */
	const char	*di_uri;
	size_t		 di_urilen;
	const char	*di_authzid;	/* NULL if none */
	size_t		 di_authzidlen;
	int		 di_utf8;	/* charset=utf-8 was given */
};

int	 sasl_fail(struct sasl_client *, const char *, ...) PRINTF(2, 3)
	    NONNULL(1, 2);
void	 sasl_wipefree(void *, size_t);
void	 sasl_hex(const unsigned char *, size_t, char *) NONNULL(3);
void	 sasl_printable(char *, size_t, const char *, size_t) NONNULL(1);

void	 sasl_buf_reset(struct sasl_buf *) NONNULL(1);
void	 sasl_buf_free(struct sasl_buf *) NONNULL(1);
void	 sasl_buf_add(struct sasl_buf *, const void *, size_t) NONNULL(1);
void	 sasl_buf_adds(struct sasl_buf *, const char *) NONNULL(1, 2);

int	 sasl_scram_start(struct sasl_client *) WUNRES NONNULL(1);
int	 sasl_scram_step(struct sasl_client *, const unsigned char *, size_t)
	    WUNRES NONNULL(1);
int	 sasl_scram_final(struct sasl_client *, const unsigned char *, size_t)
	    WUNRES NONNULL(1);

int	 sasl_digest_step(struct sasl_client *, const unsigned char *,
	    size_t) WUNRES NONNULL(1);
int	 sasl_digest_final(struct sasl_client *, const unsigned char *,
	    size_t) WUNRES NONNULL(1);

int	 sasl_dg_next(const char **, const char *, struct sasl_dg_kv *)
	    WUNRES NONNULL(1, 2, 3);
int	 sasl_dg_compute(const struct sasl_dg_in *, int,
	    char [SASL_DIGEST_HEXSIZE]) WUNRES NONNULL(1, 3);
void	 sasl_dg_quoted(struct sasl_buf *, const char *, size_t)
	    NONNULL(1, 2);

#endif /* NAB_SASL_IMPL_H */
