/*
 * sasl_digestrelay: repair a DIGEST-MD5 exchange relayed between the
 * Nabaztag firmware (bootcode 18673) and a server that offers DIGEST-MD5,
 * without knowing the password (bootcode-xmpp.md section 3, servers.md).
 *
 * Contract. Pure functions over caller buffers: no I/O, no allocation, no
 * logging, no global state. Both take base64 text (len bytes, need not be
 * NUL-terminated), write NUL-terminated canonical base64 (RFC 4648,
 * padded, no whitespace) into out and return its length without the NUL,
 * or -1 when the input is refused or out (outcap bytes) is too small; on
 * -1, out holds "" if outcap > 0.
 *
 * sasl_digest_relay_challenge: the server's digest-challenge (RFC 2831
 *   2.1.1; directives in any order, quoted or not, "," or ", " between
 *   them) becomes exactly the form the firmware's challenge parser reads:
 *     [realm="R",]nonce="N",qop="auth",charset=utf-8,algorithm=md5-sess
 *   realm only if the server gave one (the first, if several); qop="auth"
 *   also when the server gave no qop (RFC 2831's default). Refused: no
 *   nonce, a nonce or realm holding '"', '\\', a control byte or non-ASCII
 *   byte, a repeated nonce, qop, charset or algorithm, a qop list without
 *   auth, an algorithm other than md5-sess (or none), a charset other than
 *   utf-8, unparseable text. A challenge carrying rspauth (ejabberd's
 *   second challenge) must carry nothing else and becomes rspauth=HEX
 *   with the 32 hex digits in lower case.
 * sasl_digest_repad: the firmware's base64 is one '=' short (a length of
 *   1 mod 3 bytes ends in "=" instead of "==", 2 mod 3 has no '=');
 *   correct padding passes too. Any byte outside the alphabet (whitespace
 *   included), an '=' not at the end, too many '=' or a length that cannot
 *   encode whole bytes is refused. The decoded bytes are unchanged.
 */
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "sasl.h"
#include "sasl_impl.h"

/* What one challenge said; counts catch repeated directives. */
struct rc_chal {
	struct sasl_dg_kv	realm, nonce, rspauth;
	int			nrealm, nnonce, nqop, ncharset, nalgo, nrsp;
	int			qopauth, charset_ok, algo_ok, other;
};

static int	rc_parse(const char *, size_t, struct rc_chal *);
static void	rc_take(struct rc_chal *, const struct sasl_dg_kv *);
static int	rc_qop_has_auth(const char *, size_t);
static int	rc_safe(const struct sasl_dg_kv *);
static int	rc_emit(const char *, size_t, char *, size_t);
static int	rc_rspauth(const struct rc_chal *, char *, size_t);
static int	rc_challenge(const struct rc_chal *, char *, size_t);

int
sasl_digest_relay_challenge(const char *b64, size_t len, char *out,
    size_t outcap)
{
	unsigned char	 plain[SASL_MSGMAX];
	struct rc_chal	 c;
	size_t		 n;
	int		 rv = -1;

	if (out != NULL && outcap > 0)
		out[0] = '\0';
	if (b64 == NULL || out == NULL ||
	    len > sasl_b64_enclen(sizeof(plain)) ||
	    sasl_b64_decode_lenient(b64, len, plain, sizeof(plain), &n) == -1)
		return -1;
	memset(&c, 0, sizeof(c));
	if (rc_parse((const char *)plain, n, &c) == 0)
		rv = c.nrsp ? rc_rspauth(&c, out, outcap) :
		    rc_challenge(&c, out, outcap);
	if (rv == -1 && outcap > 0)
		out[0] = '\0';
	return rv;
}

int
sasl_digest_repad(const char *b64, size_t len, char *out, size_t outcap)
{
	unsigned char	 plain[SASL_MSGMAX];
	size_t		 n;
	int		 rv = -1;

	if (out != NULL && outcap > 0)
		out[0] = '\0';
	if (b64 == NULL || out == NULL ||
	    len > sasl_b64_enclen(sizeof(plain)))
		return -1;
	if (sasl_b64_decode_lenient(b64, len, plain, sizeof(plain), &n) == 0 &&
	    sasl_b64_encode(plain, n, out, outcap) == 0)
		rv = (int)strlen(out);
	OPENSSL_cleanse(plain, sizeof(plain));
	return rv;
}

/*
 * Read every directive of a decoded challenge into c. Trailing NULs (some
 * encoders pad with them) are ignored. 0, or -1 when unparseable.
 */
static int
rc_parse(const char *p, size_t n, struct rc_chal *c)
{
	struct sasl_dg_kv	kv;
	const char		*end;
	int			r;

	while (n > 0 && p[n - 1] == '\0')
		n--;
	end = p + n;
	while ((r = sasl_dg_next(&p, end, &kv)) == 1)
		rc_take(c, &kv);
	return r == -1 ? -1 : 0;
}

/* Note one directive. */
static void
rc_take(struct rc_chal *c, const struct sasl_dg_kv *kv)
{
	const char	*k = kv->kv_name;

	if (strcasecmp(k, "realm") == 0) {
		if (c->nrealm++ == 0)
			c->realm = *kv;
	} else if (strcasecmp(k, "nonce") == 0) {
		if (c->nnonce++ == 0)
			c->nonce = *kv;
	} else if (strcasecmp(k, "qop") == 0) {
		c->nqop++;
		c->qopauth = rc_qop_has_auth(kv->kv_val, kv->kv_vallen);
	} else if (strcasecmp(k, "charset") == 0) {
		c->ncharset++;
		c->charset_ok = kv->kv_vallen == 5 &&
		    strncasecmp(kv->kv_val, "utf-8", 5) == 0;
	} else if (strcasecmp(k, "algorithm") == 0) {
		c->nalgo++;
		c->algo_ok = kv->kv_vallen == 8 &&
		    strncasecmp(kv->kv_val, "md5-sess", 8) == 0;
	} else if (strcasecmp(k, "rspauth") == 0) {
		if (c->nrsp++ == 0)
			c->rspauth = *kv;
	} else
		c->other++;	/* maxbuf, cipher, stale: not for the firmware */
}

/* 1 if a qop-options list ("auth, auth-int", any case) names auth. */
static int
rc_qop_has_auth(const char *v, size_t n)
{
	size_t	i = 0, s;

	while (i < n) {
		while (i < n && (v[i] == ',' || v[i] == ' ' || v[i] == '\t'))
			i++;
		s = i;
		while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
			i++;
		if (i - s == 4 && strncasecmp(v + s, "auth", 4) == 0)
			return 1;
	}
	return 0;
}

/*
 * 1 if a value can go between the firmware's quotes as it is: printable
 * ASCII without '"' (its value ends at the next one) or '\\' (RFC 2831
 * quoting the firmware does not undo).
 */
static int
rc_safe(const struct sasl_dg_kv *kv)
{
	size_t	i;

	for (i = 0; i < kv->kv_vallen; i++)
		if (kv->kv_val[i] < 0x20 || kv->kv_val[i] > 0x7e ||
		    kv->kv_val[i] == '"' || kv->kv_val[i] == '\\')
			return 0;
	return 1;
}

/* Base64 of plain[0..n) into out. Its length, or -1 if it does not fit. */
static int
rc_emit(const char *plain, size_t n, char *out, size_t outcap)
{
	if (sasl_b64_encode(plain, n, out, outcap) == -1)
		return -1;
	return (int)strlen(out);
}

/* rspauth=HEX, alone: the server's proof, re-encoded canonically. */
static int
rc_rspauth(const struct rc_chal *c, char *out, size_t outcap)
{
	char	plain[8 + 32 + 1];
	size_t	i;
	char	ch;

	if (c->nrsp != 1 || c->nrealm || c->nnonce || c->nqop ||
	    c->ncharset || c->nalgo || c->other || c->rspauth.kv_vallen != 32)
		return -1;
	memcpy(plain, "rspauth=", 8);
	for (i = 0; i < 32; i++) {
		ch = c->rspauth.kv_val[i];
		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch + ('a' - 'A'));
		else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return -1;
		plain[8 + i] = ch;
	}
	return rc_emit(plain, 40, out, outcap);
}

/* The challenge proper, in the firmware's form. */
static int
rc_challenge(const struct rc_chal *c, char *out, size_t outcap)
{
	char	plain[2 * SASL_DG_VALMAX + 128];
	size_t	n = 0;

	if (c->nnonce != 1 || c->nonce.kv_vallen == 0 || !rc_safe(&c->nonce) ||
	    c->nqop > 1 || (c->nqop == 1 && !c->qopauth) ||
	    c->ncharset > 1 || (c->ncharset == 1 && !c->charset_ok) ||
	    c->nalgo != 1 || !c->algo_ok ||
	    (c->nrealm > 0 && !rc_safe(&c->realm)))
		return -1;
	if (c->nrealm > 0) {
		memcpy(plain, "realm=\"", 7);
		memcpy(plain + 7, c->realm.kv_val, c->realm.kv_vallen);
		n = 7 + c->realm.kv_vallen;
		memcpy(plain + n, "\",", 2);
		n += 2;
	}
	memcpy(plain + n, "nonce=\"", 7);
	n += 7;
	memcpy(plain + n, c->nonce.kv_val, c->nonce.kv_vallen);
	n += c->nonce.kv_vallen;
#define RC_TAIL	"\",qop=\"auth\",charset=utf-8,algorithm=md5-sess"
	memcpy(plain + n, RC_TAIL, sizeof(RC_TAIL) - 1);
	n += sizeof(RC_TAIL) - 1;
#undef RC_TAIL
	return rc_emit(plain, n, out, outcap);
}
