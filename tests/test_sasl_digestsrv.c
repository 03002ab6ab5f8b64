/*
 * test_sasl_digestsrv: the DIGEST-MD5 server helper (proxy/sasl_digestsrv.c)
 * against our own client, against responses computed independently here,
 * including the Nabaztag firmware's NUL inside the cnonce and its short
 * base64 padding, and against every kind of wrong response.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "sasl.h"
#include "testutil.h"

static void	 md5_hex(const void *, size_t, char *);
static size_t	 firmware_resp(char *, size_t, const char *, const char *,
		    const char *, const char *);

/* Lowercase hex MD5 of n bytes. */
static void
md5_hex(const void *p, size_t n, char *hex)
{
	unsigned char	h[16];
	unsigned	hl, i;

	CHECK(EVP_Digest(p, n, h, &hl, EVP_md5(), NULL) == 1, "MD5 failed");
	for (i = 0; i < 16; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", h[i]);
}

/*
 * A firmware-style digest-response for user/pass, computed independently
 * of sasl_digest.c, with the 14-byte cnonce "1234567890123\0" inside its
 * quotes. Returns its length.
 */
static size_t
firmware_resp(char *out, size_t cap, const char *user, const char *pass,
    const char *nonce, const char *uri)
{
	static const char	 cn[] = "1234567890123";	/* + NUL */
	unsigned char		 buf[512], urp[16];
	char			 ha1[33], ha2[33], resp[33];
	unsigned		 hl;
	int			 n;
	size_t			 l;

	n = snprintf((char *)buf, sizeof(buf), "%s::%s", user, pass);
	CHECK(EVP_Digest(buf, (size_t)n, urp, &hl, EVP_md5(), NULL) == 1,
	    "MD5 failed");
	(void)memcpy(buf, urp, 16);
	l = 16 + (size_t)snprintf((char *)buf + 16, 400, ":%s:", nonce);
	(void)memcpy(buf + l, cn, sizeof(cn));
	md5_hex(buf, l + sizeof(cn), ha1);
	n = snprintf((char *)buf, sizeof(buf), "AUTHENTICATE:%s", uri);
	md5_hex(buf, (size_t)n, ha2);
	l = (size_t)snprintf((char *)buf, sizeof(buf), "%s:%s:00000001:", ha1,
	    nonce);
	(void)memcpy(buf + l, cn, sizeof(cn));
	l += sizeof(cn);
	l += (size_t)snprintf((char *)buf + l, 100, ":auth:%s", ha2);
	md5_hex(buf, l, resp);
	l = (size_t)snprintf(out, cap, "username=\"%s\",nonce=\"%s\","
	    "cnonce=\"%s", user, nonce, cn);
	out[l++] = '\0';
	l += (size_t)snprintf(out + l, cap - l, "\",nc=00000001,qop=auth,"
	    "digest-uri=\"%s\",response=%s,charset=utf-8", uri, resp);
	return l;
}

static void
test_digest_server_challenge(void **state UNUSED)
{
	char	buf[256];
	int	n;

	n = sasl_digest_server_challenge("abc123", buf, sizeof(buf));
	CHECK(n > 0 && strcmp(buf, "nonce=\"abc123\",qop=\"auth\","
	    "charset=utf-8,algorithm=md5-sess") == 0 && (size_t)n ==
	    strlen(buf), "challenge: %s", buf);
	CHECK(sasl_digest_server_challenge("a\"b", buf, sizeof(buf)) == -1,
	    "quote in nonce accepted");
	CHECK(sasl_digest_server_challenge("", buf, sizeof(buf)) == -1,
	    "empty nonce accepted");
	CHECK(sasl_digest_server_challenge("abc", buf, 20) == -1,
	    "short buffer accepted");
	CHECK(sasl_digest_server_nonce(buf, sizeof(buf)) == 0 &&
	    strlen(buf) == 32, "server nonce: %s", buf);
}

static void
test_digest_server_roundtrip(void **state UNUSED)
{
	struct sasl_client	*c;
	unsigned char		*o;
	size_t			 ol;
	char			 nonce[33], chal[256], user[64], ra[40];
	char			 succ[64];
	int			 n, v;

	c = sasl_client_new(SASL_MECH_DIGEST_MD5, "0013d3845678", "s3cr\"t",
	    "Example.ORG", 0, NULL, 0);
	CHECK(c != NULL, "sasl_client_new failed");
	CHECK(sasl_client_start(c, &o, &ol) == SASL_CONTINUE, "start");
	CHECK(sasl_digest_server_nonce(nonce, sizeof(nonce)) == 0, "nonce");
	n = sasl_digest_server_challenge(nonce, chal, sizeof(chal));
	CHECK(n > 0, "challenge");
	CHECK(sasl_client_step(c, (unsigned char *)chal, (size_t)n, &o,
	    &ol) == SASL_CONTINUE, "client step: %s", sasl_client_error(c));
	CHECK(sasl_digest_server_username((char *)o, ol, user,
	    sizeof(user)) == 0 && strcmp(user, "0013d3845678") == 0,
	    "username extraction");
	CHECK(sasl_digest_server_username((char *)o, ol, user, 12) == -1,
	    "username extraction ignored the buffer size");
	v = sasl_digest_server_verify((char *)o, ol, "0013d3845678", "wrong",
	    nonce, "example.org", ra, sizeof(ra));
	CHECK(v == SASL_DIGEST_PASSWORD, "wrong password: %s",
	    sasl_digest_strerror(v));
	v = sasl_digest_server_verify((char *)o, ol, "0013d3845678",
	    "s3cr\"t", nonce, "example.org", ra, sizeof(ra));
	CHECK(v == SASL_DIGEST_OK, "verify: %s", sasl_digest_strerror(v));
	(void)snprintf(succ, sizeof(succ), "rspauth=%s", ra);
	CHECK(sasl_client_success(c, (unsigned char *)succ, strlen(succ)) ==
	    SASL_DONE, "client rejected our rspauth: %s",
	    sasl_client_error(c));
	sasl_client_free(c);
}

static void
test_digest_server_nul_cnonce(void **state UNUSED)
{
	unsigned char	 dec[600];
	char		 resp[512], b64[800], ra[33], user[32], *at;
	size_t		 len, dl, bl;
	int		 v;

	len = firmware_resp(resp, sizeof(resp), "0019db001122", "pw",
	    "N0nce", "xmpp/nabz.example");
	CHECK(memchr(resp, '\0', len) != NULL, "test response lacks a NUL");
	CHECK(sasl_digest_server_username(resp, len, user, sizeof(user)) ==
	    0 && strcmp(user, "0019db001122") == 0, "username");
	v = sasl_digest_server_verify(resp, len, "0019db001122", "pw", "N0nce",
	    "nabz.example", ra, sizeof(ra));
	CHECK(v == SASL_DIGEST_OK, "firmware response: %s",
	    sasl_digest_strerror(v));
	CHECK(strlen(ra) == 32, "rspauth length %zu", strlen(ra));
	/* Through the firmware's short padding: one '=' where two are due. */
	while (len % 3 != 1)
		resp[len++] = ',';
	CHECK(sasl_b64_encode(resp, len, b64, sizeof(b64)) == 0, "encode");
	bl = strlen(b64);
	CHECK(b64[bl - 2] == '=' && b64[bl - 1] == '=', "padding setup");
	b64[--bl] = '\0';
	CHECK(sasl_b64_decode(b64, bl, dec, sizeof(dec), &dl) == -1,
	    "strict decoder accepted short padding");
	CHECK(sasl_b64_decode_lenient(b64, bl, dec, sizeof(dec), &dl) == 0 &&
	    dl == len, "lenient decoder failed");
	v = sasl_digest_server_verify((char *)dec, dl, "0019db001122", "pw",
	    "N0nce", "nabz.example", ra, sizeof(ra));
	CHECK(v == SASL_DIGEST_OK, "after base64 repair: %s",
	    sasl_digest_strerror(v));
	/* Trailing NUL bytes after the last directive are tolerated. */
	resp[len] = '\0';
	v = sasl_digest_server_verify(resp, len + 1, "0019db001122", "pw",
	    "N0nce", "nabz.example", ra, sizeof(ra));
	CHECK(v == SASL_DIGEST_OK, "trailing NUL: %s",
	    sasl_digest_strerror(v));
	/* Dropping the NUL from the cnonce changes the hash input. */
	len = firmware_resp(resp, sizeof(resp), "0019db001122", "pw",
	    "N0nce", "xmpp/nabz.example");
	at = memchr(resp, '\0', len);
	CHECK(at != NULL, "no NUL in the cnonce");
	(void)memmove(at, at + 1, len - (size_t)(at - resp) - 1);
	CHECK(memchr(resp, '\0', len - 1) == NULL, "NUL not removed");
	v = sasl_digest_server_verify(resp, len - 1, "0019db001122", "pw",
	    "N0nce", "nabz.example", ra, sizeof(ra));
	CHECK(v == SASL_DIGEST_PASSWORD, "NUL-less cnonce: %s",
	    sasl_digest_strerror(v));
}

static void
test_digest_server_rejects(void **state UNUSED)
{
	static const struct {
		const char	*user, *nonce, *domain, *edit, *with;
		int		 want;
	} v[] = {
		{ "other", "N0nce", "nabz.example", NULL, NULL,
		    SASL_DIGEST_USERNAME },
		{ "0019db001122", "N0nc3", "nabz.example", NULL, NULL,
		    SASL_DIGEST_NONCE },
		{ "0019db001122", "N0nce", "other.example", NULL, NULL,
		    SASL_DIGEST_URI },
		{ "0019db001122", "N0nce", "nabz.example", "nc=00000001",
		    "nc=00000002", SASL_DIGEST_NC },
		{ "0019db001122", "N0nce", "nabz.example", "qop=auth,",
		    "qop=auth-int,", SASL_DIGEST_QOP },
		{ "0019db001122", "N0nce", "nabz.example", "charset=utf-8",
		    "charset=latin", SASL_DIGEST_MALFORMED },
		{ "0019db001122", "N0nce", "nabz.example", "nc=00000001",
		    "nc=00000001,authzid=\"x@y\"", SASL_DIGEST_AUTHZID },
		{ "0019db001122", "N0nce", "nabz.example", "qop=auth,",
		    "qop=auth,qop=auth,", SASL_DIGEST_MALFORMED },
		{ "0019db001122", "N0nce", "nabz.example", "response=",
		    "response=x", SASL_DIGEST_MALFORMED },
		{ "0019db001122", "N0nce", "nabz.example", "cnonce=\"",
		    "cnonce=\"x", SASL_DIGEST_PASSWORD },
		{ "0019db001122", "N0nce", "nabz.example", "username=",
		    "username", SASL_DIGEST_MALFORMED },
	};
	char	resp[512], edited[600], ra[33], *at;
	size_t	i, len, pre;
	int	got;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		len = firmware_resp(resp, sizeof(resp), "0019db001122", "pw",
		    "N0nce", "xmpp/nabz.example");
		(void)memcpy(edited, resp, len);
		if (v[i].edit != NULL) {
			at = memmem(resp, len, v[i].edit, strlen(v[i].edit));
			CHECK(at != NULL, "case %zu: %s not found", i,
			    v[i].edit);
			pre = (size_t)(at - resp);
			(void)memcpy(edited + pre, v[i].with,
			    strlen(v[i].with));
			(void)memcpy(edited + pre + strlen(v[i].with), at +
			    strlen(v[i].edit), len - pre - strlen(v[i].edit));
			len += strlen(v[i].with) - strlen(v[i].edit);
		}
		got = sasl_digest_server_verify(edited, len, v[i].user, "pw",
		    v[i].nonce, v[i].domain, ra, sizeof(ra));
		CHECK(got == v[i].want, "case %zu: %s, want %s", i,
		    sasl_digest_strerror(got), sasl_digest_strerror(v[i].want));
	}
	CHECK(sasl_digest_server_verify("", 0, "u", "p", "n", "d", ra,
	    sizeof(ra)) == SASL_DIGEST_MALFORMED, "empty response accepted");
	CHECK(sasl_digest_server_verify(resp, len, "0019db001122", "pw",
	    "N0nce", "nabz.example", ra, 32) == SASL_DIGEST_INTERNAL,
	    "short rspauth buffer accepted");
	CHECK(sasl_digest_server_username("nonce=\"x\"", 9, ra, sizeof(ra)) ==
	    -1, "username extracted from a response without one");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_server_challenge),
		cmocka_unit_test(test_digest_server_roundtrip),
		cmocka_unit_test(test_digest_server_nul_cnonce),
		cmocka_unit_test(test_digest_server_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
