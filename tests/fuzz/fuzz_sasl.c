/*
 * libFuzzer target for every SASL parser that reads peer bytes: the SCRAM
 * client (server-first, then server-final), the DIGEST-MD5 client (the
 * challenge, then rspauth), the DIGEST-MD5 server helper (the firmware's
 * response: username and verify), the relay's challenge rewrite and the
 * firmware's base64 re-padding, and base64 itself. The first byte picks
 * the parser; a 0xff byte splits the rest into two server messages where
 * the exchange has two. Checks the contracts the proxy relies on: the
 * exchange never claims success without the server's proof, outputs are
 * NUL-terminated and within their buffers, base64 round-trips, and a
 * repaired base64 decodes strictly to the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sasl.h"

#define CNONCE	"fyko+d2lbbFgONRv9qkxdawL"
#define MAXITER	64	/* keeps PBKDF2 cheap: an input asking more fails */
#define BUFCAP	8192

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	two_msgs(const uint8_t *, size_t, const uint8_t **, size_t *,
		    const uint8_t **, size_t *);
static void	client(enum sasl_mech, const uint8_t *, size_t, int);
static void	digest_server(const uint8_t *, size_t);
static void	digest_verify(const uint8_t *, size_t);
static void	relay(const uint8_t *, size_t);
static void	digest_takes(const unsigned char *, size_t);
static void	b64(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int	second_step;

	if (size < 1)
		return 0;
	second_step = data[0] / 6 % 2;
	switch (data[0] % 6) {
	case 0:
		client(SASL_MECH_SCRAM_SHA_1, data + 1, size - 1, second_step);
		break;
	case 1:
		client(SASL_MECH_SCRAM_SHA_256, data + 1, size - 1,
		    second_step);
		break;
	case 2:
		client(SASL_MECH_DIGEST_MD5, data + 1, size - 1, second_step);
		break;
	case 3:
		digest_server(data + 1, size - 1);
		break;
	case 4:
		relay(data + 1, size - 1);
		break;
	default:
		b64(data + 1, size - 1);
		break;
	}
	return 0;
}

/* Split at the first 0xff: the first message, then the second (maybe none). */
static void
two_msgs(const uint8_t *p, size_t n, const uint8_t **a, size_t *alen,
    const uint8_t **b, size_t *blen)
{
	const uint8_t	*sep = memchr(p, 0xff, n);

	*a = p;
	*alen = sep != NULL ? (size_t)(sep - p) : n;
	*b = sep != NULL ? sep + 1 : p + n;
	*blen = sep != NULL ? n - *alen - 1 : 0;
}

/*
 * A client exchange with a fixed nonce: start, one challenge, then the
 * second message as the outcome data or (second_step) as another
 * challenge followed by an empty success, as ejabberd sends rspauth. The
 * server proof cannot be forged by the fuzzer, so SASL_DONE here means a
 * parser accepted what it should not have.
 */
static void
client(enum sasl_mech mech, const uint8_t *p, size_t n, int second_step)
{
	struct sasl_client	*c;
	const uint8_t		*m1, *m2;
	unsigned char		*out;
	size_t			 l1, l2, outlen;
	char			 err[256];
	int			 r;

	two_msgs(p, n, &m1, &l1, &m2, &l2);
	c = sasl_client_new(mech, "user", "pencil", "example.com", MAXITER,
	    err, sizeof(err));
	if (c == NULL)
		abort();
	if (sasl_client_set_nonce(c, CNONCE) == -1 ||
	    sasl_client_start(c, &out, &outlen) == -1)
		abort();
	r = sasl_client_step(c, m1, l1, &out, &outlen);
	if (r == SASL_DONE || (r == SASL_CONTINUE && out == NULL))
		abort();
	if (r == SASL_CONTINUE && second_step) {
		r = sasl_client_step(c, m2, l2, &out, &outlen);
		if (r == SASL_DONE || (r == SASL_CONTINUE && out == NULL) ||
		    (r == SASL_CONTINUE &&
		    sasl_client_success(c, NULL, 0) == SASL_DONE))
			abort();
	} else if (r == SASL_CONTINUE &&
	    sasl_client_success(c, m2, l2) == SASL_DONE)
		abort();
	if (strlen(sasl_client_error(c)) >= 256)
		abort();
	sasl_client_free(c);
}

/*
 * The firmware's response, as the DIGEST-MD5 server helper reads it: the
 * input as the decoded text, then as the base64 the firmware sends
 * (decoded leniently, as chain_digest.c does).
 */
static void
digest_server(const uint8_t *p, size_t n)
{
	unsigned char	resp[1024];
	size_t		len;

	digest_verify(p, n);
	if (sasl_b64_decode_lenient((const char *)p, n, resp,
	    sizeof(resp) - 1, &len) == 0)
		digest_verify(resp, len);
}

static void
digest_verify(const uint8_t *p, size_t n)
{
	static const char	 nonce[] = "0123456789abcdef0123456789abcdef";
	char			 user[64], rsp[SASL_DIGEST_HEXSIZE];
	int			 v;

	if (sasl_digest_server_username((const char *)p, n, user,
	    sizeof(user)) == 0 && strnlen(user, sizeof(user)) == sizeof(user))
		abort();
	v = sasl_digest_server_verify((const char *)p, n, "user", "pencil",
	    nonce, "example.com", rsp, sizeof(rsp));
	if (v == SASL_DIGEST_OK && strlen(rsp) != 32)
		abort();
	if (v > 0 || v < SASL_DIGEST_INTERNAL ||
	    sasl_digest_strerror(v) == NULL)
		abort();
}

/* The server's challenge rewritten for the firmware; the firmware's re-pad. */
static void
relay(const uint8_t *p, size_t n)
{
	char		 out[BUFCAP];
	unsigned char	 a[BUFCAP], b[BUFCAP];
	size_t		 alen, blen;
	int		 r;

	r = sasl_digest_relay_challenge((const char *)p, n, out, sizeof(out));
	if (r >= 0 && (strlen(out) != (size_t)r ||
	    sasl_b64_decode(out, (size_t)r, a, sizeof(a), &alen) == -1))
		abort();
	/* What the firmware gets is a challenge any client takes. */
	if (r >= 0 && (alen < 8 || memcmp(a, "rspauth=", 8) != 0))
		digest_takes(a, alen);
	r = sasl_digest_repad((const char *)p, n, out, sizeof(out));
	if (r < 0)
		return;
	/* Re-padding keeps the bytes: strict on the output, lenient on input. */
	if (strlen(out) != (size_t)r ||
	    sasl_b64_decode(out, (size_t)r, a, sizeof(a), &alen) == -1 ||
	    sasl_b64_decode_lenient((const char *)p, n, b, sizeof(b),
	    &blen) == -1 || alen != blen || memcmp(a, b, alen) != 0)
		abort();
}

/* A DIGEST-MD5 client answers this challenge. */
static void
digest_takes(const unsigned char *chal, size_t n)
{
	struct sasl_client	*c;
	unsigned char		*out;
	size_t			 outlen;

	c = sasl_client_new(SASL_MECH_DIGEST_MD5, "user", "pencil",
	    "example.com", MAXITER, NULL, 0);
	if (c == NULL || sasl_client_set_nonce(c, CNONCE) == -1 ||
	    sasl_client_start(c, &out, &outlen) == -1 ||
	    sasl_client_step(c, chal, n, &out, &outlen) != SASL_CONTINUE)
		abort();
	sasl_client_free(c);
}

/* Strict and lenient decoding of the input; encoding it round-trips. */
static void
b64(const uint8_t *p, size_t n)
{
	static char		 enc[2 * BUFCAP];
	static unsigned char	 dec[BUFCAP];
	size_t			 declen, l2;
	unsigned char		 again[BUFCAP];
	int			 strict;

	if (n > BUFCAP / 2)
		return;
	strict = sasl_b64_decode((const char *)p, n, dec, sizeof(dec),
	    &declen) == 0;
	if (strict && declen > sasl_b64_declen(n))
		abort();
	if (sasl_b64_decode_lenient((const char *)p, n, again, sizeof(again),
	    &l2) == 0) {
		/* Lenient accepts all that strict does, with the same bytes. */
		if (strict && (l2 != declen || memcmp(again, dec, l2) != 0))
			abort();
	} else if (strict)
		abort();
	if (sasl_b64_encode(p, n, enc, sizeof(enc)) == -1 ||
	    strlen(enc) != sasl_b64_enclen(n) ||
	    sasl_b64_decode(enc, strlen(enc), dec, sizeof(dec), &declen) == -1 ||
	    declen != n || memcmp(dec, p, n) != 0)
		abort();
}
