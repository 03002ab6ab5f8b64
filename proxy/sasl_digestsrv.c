/*
 * sasl_digestsrv: the server half of DIGEST-MD5, just enough to terminate
 * the Nabaztag firmware's login (RFC 2831, qop=auth). Our own challenge
 * offers no realm; a response to a server's challenge (the relay) carries
 * the server's realm, which verify hashes into A1 as sent.
 *
 * The proxy sends sasl_digest_server_challenge(), pulls the username out
 * of the firmware's answer with sasl_digest_server_username() to find the
 * password, then checks it with sasl_digest_server_verify(). Directive
 * values are hashed byte for byte as sent: the firmware's cnonce carries a
 * NUL inside its quotes, and the hash must include it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "sasl.h"
#include "sasl_impl.h"

enum dgr_field {
	DGR_USERNAME = 0,
	DGR_REALM,
	DGR_NONCE,
	DGR_CNONCE,
	DGR_NC,
	DGR_QOP,
	DGR_URI,
	DGR_RESPONSE,
	DGR_CHARSET,
	DGR_AUTHZID,
	DGR_N
};

static const char *const dgr_names[DGR_N] = {
	"username", "realm", "nonce", "cnonce", "nc", "qop", "digest-uri",
	"response", "charset", "authzid"
};

/* A parsed digest-response; absent fields have f_seen[i] == 0. */
struct dgr {
	struct sasl_dg_kv	f_kv[DGR_N];
	int			f_seen[DGR_N];
};

static int	dgr_parse(const char *, size_t, struct dgr *);
static int	dgr_check(const struct dgr *, const char *, const char *,
		    const char *);
static int	dgr_is(const struct dgr *, enum dgr_field, const char *);
static int	dgr_uri(const struct sasl_dg_kv *, const char *);
static int	dgr_authzid(const struct sasl_dg_kv *, const char *,
		    const char *);

/*
 * Fresh random nonce for a challenge: 32 lowercase hex digits and a NUL,
 * so the firmware's parser meets nothing unusual. Returns 0, or -1 when
 * outcap < 33 or the RNG fails.
 */
int
sasl_digest_server_nonce(char *out, size_t outcap)
{
	unsigned char	raw[16];

	if (out == NULL || outcap < 2 * sizeof(raw) + 1 ||
	    RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	sasl_hex(raw, sizeof(raw), out);
	return 0;
}

/*
 * Write the digest-challenge the Nabaztag expects, exactly
 * nonce="N",qop="auth",charset=utf-8,algorithm=md5-sess (no spaces, no
 * realm), NUL-terminated, into out. The nonce must be 1..128 printable
 * ASCII bytes without '"' or '\\'. Returns the length written (without
 * the NUL), or -1 for a bad nonce or a short out.
 */
int
sasl_digest_server_challenge(const char *nonce, char *out, size_t outcap)
{
	size_t	i, n = strlen(nonce);
	int	len;

	if (n == 0 || n > SASL_DIGEST_NONCEMAX || out == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (nonce[i] < 0x21 || nonce[i] > 0x7e || nonce[i] == '"' ||
		    nonce[i] == '\\')
			return -1;
	len = snprintf(out, outcap, "nonce=\"%s\",qop=\"auth\","
	    "charset=utf-8,algorithm=md5-sess", nonce);
	if (len < 0 || (size_t)len >= outcap)
		return -1;
	return len;
}

/*
 * Copy the username of a digest-response (len bytes, decoded) into user,
 * NUL-terminated, without checking anything else, so the caller can look
 * up the password. Returns 0, or -1 when the response is malformed, has
 * no username, or the username is empty, holds a NUL or does not fit.
 */
int
sasl_digest_server_username(const char *resp, size_t len, char *user,
    size_t usercap)
{
	struct dgr		*r;
	struct sasl_dg_kv	*u;
	int			 rv = -1;

	if (resp == NULL || user == NULL || len > SASL_MSGMAX ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	u = &r->f_kv[DGR_USERNAME];
	if (dgr_parse(resp, len, r) == 0 && r->f_seen[DGR_USERNAME] &&
	    u->kv_vallen > 0 && u->kv_vallen < usercap &&
	    memchr(u->kv_val, '\0', u->kv_vallen) == NULL) {
		(void)memcpy(user, u->kv_val, u->kv_vallen + 1);
		rv = 0;
	}
	explicit_bzero(r, sizeof(*r));
	free(r);
	return rv;
}

/*
 * Verify a digest-response (len decoded bytes) against the expected
 * username, the password, the nonce we sent and digest-uri "xmpp/domain"
 * (host compared case-insensitively); nc must be 00000001, qop auth (or
 * absent), charset utf-8 (or absent), authzid absent or "user@domain".
 * On SASL_DIGEST_OK the rspauth value (32 hex digits, no "rspauth=") is
 * written to rspauth_out, which needs SASL_DIGEST_HEXSIZE bytes. Any
 * other enum sasl_digest_verdict names the first check that failed;
 * SASL_DIGEST_PASSWORD means the response did not match.
 */
int
sasl_digest_server_verify(const char *resp, size_t len,
    const char *username_expected, const char *password, const char *nonce,
    const char *domain, char *rspauth_out, size_t rspauthcap)
{
	struct dgr		*r;
	struct sasl_dg_in	 in;
	struct sasl_dg_kv	*f;
	char			 want[SASL_DIGEST_HEXSIZE], got[33];
	size_t			 i;
	int			 v;

	if (resp == NULL || len > SASL_MSGMAX)
		return SASL_DIGEST_MALFORMED;
	if (rspauth_out == NULL || rspauthcap < SASL_DIGEST_HEXSIZE ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		return SASL_DIGEST_INTERNAL;
	f = r->f_kv;
	if (dgr_parse(resp, len, r) == -1)
		v = SASL_DIGEST_MALFORMED;
	else
		v = dgr_check(r, username_expected, nonce, domain);
	if (v != SASL_DIGEST_OK)
		goto done;
	memset(&in, 0, sizeof(in));
	in.di_user = f[DGR_USERNAME].kv_val;
	in.di_userlen = f[DGR_USERNAME].kv_vallen;
	in.di_realm = f[DGR_REALM].kv_val;	/* "" when absent */
	in.di_realmlen = f[DGR_REALM].kv_vallen;
	in.di_pass = password;
	in.di_passlen = strlen(password);
	in.di_nonce = f[DGR_NONCE].kv_val;
	in.di_noncelen = f[DGR_NONCE].kv_vallen;
	in.di_cnonce = f[DGR_CNONCE].kv_val;	/* NULs kept */
	in.di_cnoncelen = f[DGR_CNONCE].kv_vallen;
	in.di_nc = f[DGR_NC].kv_val;
	in.di_uri = f[DGR_URI].kv_val;
	in.di_urilen = f[DGR_URI].kv_vallen;
	if (r->f_seen[DGR_AUTHZID]) {
		in.di_authzid = f[DGR_AUTHZID].kv_val;
		in.di_authzidlen = f[DGR_AUTHZID].kv_vallen;
	}
	in.di_utf8 = r->f_seen[DGR_CHARSET];
	for (i = 0; i < 32; i++)
		got[i] = (char)(f[DGR_RESPONSE].kv_val[i] >= 'A' &&
		    f[DGR_RESPONSE].kv_val[i] <= 'F' ?
		    f[DGR_RESPONSE].kv_val[i] + 32 : f[DGR_RESPONSE].kv_val[i]);
	got[32] = '\0';
	if (sasl_dg_compute(&in, 0, want) == -1 ||
	    sasl_dg_compute(&in, 1, rspauth_out) == -1)
		v = SASL_DIGEST_INTERNAL;
	else if (CRYPTO_memcmp(want, got, 32) != 0)
		v = SASL_DIGEST_PASSWORD;
	if (v != SASL_DIGEST_OK)
		explicit_bzero(rspauth_out, SASL_DIGEST_HEXSIZE);
 done:
	explicit_bzero(want, sizeof(want));
	explicit_bzero(r, sizeof(*r));
	free(r);
	return v;
}

/* Short English text for an enum sasl_digest_verdict value. */
const char *
sasl_digest_strerror(int verdict)
{
	switch (verdict) {
	case SASL_DIGEST_OK:
		return "ok";
	case SASL_DIGEST_MALFORMED:
		return "malformed digest-response";
	case SASL_DIGEST_USERNAME:
		return "unexpected username";
	case SASL_DIGEST_NONCE:
		return "nonce does not match the challenge";
	case SASL_DIGEST_NC:
		return "nonce count is not 00000001";
	case SASL_DIGEST_QOP:
		return "qop is not auth";
	case SASL_DIGEST_URI:
		return "digest-uri does not name this domain";
	case SASL_DIGEST_AUTHZID:
		return "authzid differs from the username";
	case SASL_DIGEST_PASSWORD:
		return "response does not match the password";
	case SASL_DIGEST_INTERNAL:
		return "internal error";
	default:
		return "unknown verdict";
	}
}

/*
 * Parse a digest-response into r. Trailing NUL bytes after the last
 * directive are ignored; unknown directives (maxbuf, cipher) are skipped.
 * Returns 0, or -1 if malformed or a known directive repeats.
 */
static int
dgr_parse(const char *resp, size_t len, struct dgr *r)
{
	struct sasl_dg_kv	*kv;
	const char		*p = resp, *end;
	size_t			 i;
	int			 rv;

	while (len > 0 && resp[len - 1] == '\0')
		len--;
	end = resp + len;
	if ((kv = malloc(sizeof(*kv))) == NULL)
		return -1;
	while ((rv = sasl_dg_next(&p, end, kv)) == 1) {
		for (i = 0; i < DGR_N; i++)
			if (strcasecmp(kv->kv_name, dgr_names[i]) == 0)
				break;
		if (i == DGR_N)
			continue;
		if (r->f_seen[i]++) {
			rv = -1;
			break;
		}
		(void)memcpy(&r->f_kv[i], kv, sizeof(*kv));
	}
	explicit_bzero(kv, sizeof(*kv));
	free(kv);
	return rv == -1 ? -1 : 0;
}

/*
 * Everything but the password: presence, username, nonce, nc, qop,
 * charset, digest-uri, authzid, response syntax. Returns SASL_DIGEST_OK or
 * the failing verdict.
 */
static int
dgr_check(const struct dgr *r, const char *user, const char *nonce,
    const char *domain)
{
	const struct sasl_dg_kv	*f = r->f_kv;
	size_t			 i;

	if (!r->f_seen[DGR_USERNAME] || !r->f_seen[DGR_NONCE] ||
	    !r->f_seen[DGR_CNONCE] || !r->f_seen[DGR_NC] ||
	    !r->f_seen[DGR_URI] || !r->f_seen[DGR_RESPONSE] ||
	    f[DGR_CNONCE].kv_vallen == 0 || f[DGR_RESPONSE].kv_vallen != 32)
		return SASL_DIGEST_MALFORMED;
	for (i = 0; i < 32; i++)
		if (strchr("0123456789abcdefABCDEF",
		    f[DGR_RESPONSE].kv_val[i]) == NULL)
			return SASL_DIGEST_MALFORMED;
	if (r->f_seen[DGR_CHARSET] && !dgr_is(r, DGR_CHARSET, "utf-8"))
		return SASL_DIGEST_MALFORMED;
	if (f[DGR_USERNAME].kv_vallen != strlen(user) ||
	    memcmp(f[DGR_USERNAME].kv_val, user, strlen(user)) != 0)
		return SASL_DIGEST_USERNAME;
	if (f[DGR_NONCE].kv_vallen != strlen(nonce) ||
	    memcmp(f[DGR_NONCE].kv_val, nonce, strlen(nonce)) != 0)
		return SASL_DIGEST_NONCE;
	if (!dgr_is(r, DGR_NC, "00000001"))
		return SASL_DIGEST_NC;
	if (r->f_seen[DGR_QOP] && !dgr_is(r, DGR_QOP, "auth"))
		return SASL_DIGEST_QOP;
	if (!dgr_uri(&f[DGR_URI], domain))
		return SASL_DIGEST_URI;
	if (r->f_seen[DGR_AUTHZID] && !dgr_authzid(&f[DGR_AUTHZID], user,
	    domain))
		return SASL_DIGEST_AUTHZID;
	return SASL_DIGEST_OK;
}

/* 1 if field i equals s case-insensitively (an embedded NUL never does). */
static int
dgr_is(const struct dgr *r, enum dgr_field i, const char *s)
{
	const struct sasl_dg_kv	*kv = &r->f_kv[i];

	return kv->kv_vallen == strlen(s) &&
	    strncasecmp(kv->kv_val, s, kv->kv_vallen) == 0;
}

/* 1 if the digest-uri is "xmpp/" + domain (host case-insensitive). */
static int
dgr_uri(const struct sasl_dg_kv *kv, const char *domain)
{
	size_t	dl = strlen(domain);

	return kv->kv_vallen == 5 + dl &&
	    memcmp(kv->kv_val, "xmpp/", 5) == 0 &&
	    memchr(kv->kv_val, '\0', kv->kv_vallen) == NULL &&
	    strncasecmp(kv->kv_val + 5, domain, dl) == 0;
}

/* 1 if the authzid is exactly user@domain (domain case-insensitive). */
static int
dgr_authzid(const struct sasl_dg_kv *kv, const char *user, const char *domain)
{
	size_t	ul = strlen(user), dl = strlen(domain);

	return kv->kv_vallen == ul + 1 + dl &&
	    memchr(kv->kv_val, '\0', kv->kv_vallen) == NULL &&
	    memcmp(kv->kv_val, user, ul) == 0 && kv->kv_val[ul] == '@' &&
	    strncasecmp(kv->kv_val + ul + 1, domain, dl) == 0;
}
