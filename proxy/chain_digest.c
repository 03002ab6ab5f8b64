/*
 * chain_digest: the DIGEST-MD5 host services of the filter ABI (the
 * server side toward the firmware, and the repairs of a login relayed in
 * transit). The SASL arithmetic is in sasl_digest*.c; this file turns it
 * into the services table's calls, and notes in the session's identity a
 * response verified against the stored password (proof "digest").
 */
#include <stdio.h>
#include <string.h>

#include "chain-int.h"
#include "identity.h"
#include "log.h"
#include "sasl.h"
#include "session.h"

int
h_digest_challenge(struct nab_ctx *ctx, char *nonce, size_t noncecap,
    char *b64, size_t b64cap)
{
	char	plain[256];
	int	n;

	if (sasl_digest_server_nonce(nonce, noncecap) == -1 ||
	    (n = sasl_digest_server_challenge(nonce, plain,
	    sizeof(plain))) == -1 ||
	    sasl_b64_encode(plain, (size_t)n, b64, b64cap) == -1)
		return -1;
	return (int)strlen(b64);
}

/* Decode a base64 response, tolerating the firmware's short padding. */
static int
digest_decode(const char *b64, char *out, size_t cap, size_t *len)
{
	if (sasl_b64_decode_lenient(b64, strlen(b64), (unsigned char *)out,
	    cap - 1, len) == -1)
		return -1;
	out[*len] = '\0';
	return 0;
}

int
h_digest_username(struct nab_ctx *ctx, const char *b64, char *user,
    size_t cap)
{
	char	resp[1024];
	size_t	len;

	if (digest_decode(b64, resp, sizeof(resp), &len) == -1)
		return -1;
	return sasl_digest_server_username(resp, len, user, cap) == -1 ? -1 : 0;
}

/*
 * A DIGEST-MD5 response verified against `password`: if that is the
 * password the rabbit proves itself with for user@domain (the store's,
 * or its own from an allow-register window), the connection proved the
 * account.
 */
static void
digest_prove(struct nab_ctx *ctx, const char *user, const char *password)
{
	struct session	*se = ctx->ch->se;
	const char	*stored;
	char		 jid[ID_JID_MAX];

	snprintf(jid, sizeof(jid), "%s@%s", user, session_who(se)->domain);
	if ((stored = chain_rabbit_password(ctx, jid)) == NULL ||
	    !chain_secret_eq(stored, password))
		return;
	if (identity_prove(session_who(se), user, "digest") == 0)
		session_log(se, NAB_LOG_INFO, "%s proved its password: DIGEST-MD5 "
		    "verified against the credential store", jid);
}

int
h_digest_verify(struct nab_ctx *ctx, const char *b64, const char *user,
    const char *password, const char *nonce, char *b64out, size_t b64cap,
    const char **reason)
{
	const struct nab_identity	*id = session_identity(ctx->ch->se);
	char				 resp[1024], rsp[64], plain[80];
	char				 jid[ID_JID_MAX];
	size_t				 len;
	int				 v, n, guarded;

	*reason = "response is not base64";
	if (digest_decode(b64, resp, sizeof(resp), &len) == -1)
		return -1;
	/* Each check is a password attempt: no oracle while backing off. */
	if ((size_t)snprintf(jid, sizeof(jid), "%s@%s", user, id->domain) >=
	    sizeof(jid)) {
		*reason = "user name too long";
		return -1;
	}
	/* A connection that proved this account already needs no guard. */
	guarded = !identity_is(session_who(ctx->ch->se), jid);
	if (guarded && session_guard_check(ctx->ch->se, jid) == -1) {
		explicit_bzero(resp, sizeof(resp));
		*reason = NAB_REASON_BACKOFF;
		return -1;
	}
	v = sasl_digest_server_verify(resp, len, user, password, nonce,
	    id->domain, rsp, sizeof(rsp));
	explicit_bzero(resp, sizeof(resp));
	if (guarded)
		session_guard_note(ctx->ch->se, jid, v == SASL_DIGEST_OK);
	if (v != SASL_DIGEST_OK) {
		*reason = sasl_digest_strerror(v);
		return -1;
	}
	digest_prove(ctx, user, password);
	n = snprintf(plain, sizeof(plain), "rspauth=%s", rsp);
	if (sasl_b64_encode(plain, (size_t)n, b64out, b64cap) == -1) {
		*reason = "out of memory";
		return -1;
	}
	return 0;
}

/* DIGEST-MD5 relay repairs: sasl_digestrelay.c does the work. */
int
h_digest_relay_challenge(struct nab_ctx *ctx, const char *b64, char *out,
    size_t cap)
{
	if (b64 == NULL)
		return -1;
	return sasl_digest_relay_challenge(b64, strlen(b64), out, cap);
}

int
h_digest_repad(struct nab_ctx *ctx, const char *b64, char *out, size_t cap)
{
	if (b64 == NULL)
		return -1;
	return sasl_digest_repad(b64, strlen(b64), out, cap);
}

