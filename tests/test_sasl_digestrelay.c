/*
 * test_sasl_digestrelay: the DIGEST-MD5 relay repairs
 * (proxy/sasl_digestrelay.c) on the exact bytes servers send and the
 * firmware answers: Openfire 4.1.6's challenge without qop, jabberd2's
 * ", " separators, ejabberd's realm last and nonces of varying length,
 * rspauth challenges, the firmware's 217-byte response with its short
 * padding, every residue mod 3, malformed input and short buffers; and
 * the verify helper on a response made for a server's realm and nonce.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sasl.h"
#include "testutil.h"

/* The firmware's tail, once rewritten (realm comes first when given). */
#define TAIL	"qop=\"auth\",charset=utf-8,algorithm=md5-sess"

/* 217 bytes (1 mod 3): the firmware ends it "dGYtOA=", one '=' short. */
#define FW217								\
	"dXNlcm5hbWU9ImY4MWVkZmVlMjdjMSIsbm9uY2U9Ik9BNk1HOXRFUUdtMmhoMDEy" \
	"MzQ1Njc4OWFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6QUJDREVGRyIsY25vbmNl" \
	"PSIxMjM0NTY3ODkwMTIzACIsbmM9MDAwMDAwMDEscW9wPWF1dGgsZGlnZXN0LXVy" \
	"aT0ieG1wcC9hbG1hY3NrYSIscmVzcG9uc2U9ZDFiNWUzYzlhMGY0ZTJiN2M2YTVk" \
	"NGUzZjJhMWIwYzksY2hhcnNldD11dGYtOA="

static void	 b64(const char *, char *, size_t);
static void	 unb64(const char *, char *, size_t);
static void	 want_challenge(const char *, const char *);
static void	 want_refused(const char *, const char *);

/* Canonical base64 of a C string. */
static void
b64(const char *plain, char *out, size_t cap)
{
	CHECK(sasl_b64_encode(plain, strlen(plain), out, cap) == 0,
	    "cannot encode %s", plain);
}

/* Strict decode of canonical base64 into a C string. */
static void
unb64(const char *in, char *out, size_t cap)
{
	size_t	n;

	CHECK(sasl_b64_decode(in, strlen(in), (unsigned char *)out, cap - 1,
	    &n) == 0, "not canonical base64: %s", in);
	out[n] = '\0';
}

/* The server's plain challenge becomes exactly want (plain). */
static void
want_challenge(const char *server, const char *want)
{
	char	in[1024], out[1024], plain[1024];
	int	n;

	b64(server, in, sizeof(in));
	n = sasl_digest_relay_challenge(in, strlen(in), out, sizeof(out));
	CHECK(n >= 0, "refused: %s", server);
	CHECK((size_t)n == strlen(out), "length %d for %s", n, out);
	unb64(out, plain, sizeof(plain));
	CHECK(strcmp(plain, want) == 0, "%s\n  became %s\n  want   %s", server,
	    plain, want);
}

static void
want_refused(const char *server, const char *why)
{
	char	in[1024], out[1024];

	b64(server, in, sizeof(in));
	CHECK(sasl_digest_relay_challenge(in, strlen(in), out, sizeof(out)) ==
	    -1, "accepted (%s): %s", why, server);
	CHECK(out[0] == '\0', "output left behind after a refusal");
}

/* Openfire 4.1.6: realm, no qop at all (RFC 2831's default is auth). */
static void
test_openfire_no_qop(void **state)
{
	static const char	in[] = "cmVhbG09ImFsbWFjc2thIixub25jZT0iWTJoaGJ"
	    "HeGxibWRsTVRJek5EVTJOemc1TUE9PSIsY2hhcnNldD11dGYtOCxhbGdvcml0aG"
	    "09bWQ1LXNlc3M=";
	static const char	want[] = "cmVhbG09ImFsbWFjc2thIixub25jZT0iWTJoa"
	    "GJHeGxibWRsTVRJek5EVTJOemc1TUE9PSIscW9wPSJhdXRoIixjaGFyc2V0PXV0"
	    "Zi04LGFsZ29yaXRobT1tZDUtc2Vzcw==";
	char			out[512];

	(void)state;
	CHECK(sasl_digest_relay_challenge(in, strlen(in), out, sizeof(out)) ==
	    (int)strlen(want), "length");
	CHECK(strcmp(out, want) == 0, "got %s", out);
	want_challenge("nonce=\"abc\",charset=utf-8,algorithm=md5-sess",
	    "nonce=\"abc\"," TAIL);
}

/* jabberd2: ", " between directives, which the firmware misreads. */
static void
test_jabberd2_spaces(void **state)
{
	static const char	in[] = "cmVhbG09ImFsbWFjc2thIiwgbm9uY2U9Ik1UYzR"
	    "OakEwT1RJM013PT0iLCBxb3A9ImF1dGgiLCBjaGFyc2V0PXV0Zi04LCBhbGdvcm"
	    "l0aG09bWQ1LXNlc3M=";
	static const char	want[] = "cmVhbG09ImFsbWFjc2thIixub25jZT0iTVRjN"
	    "E5qQTBPVEkzTXc9PSIscW9wPSJhdXRoIixjaGFyc2V0PXV0Zi04LGFsZ29yaXRo"
	    "bT1tZDUtc2Vzcw==";
	char			out[512];

	(void)state;
	CHECK(sasl_digest_relay_challenge(in, strlen(in), out, sizeof(out)) ==
	    (int)strlen(want), "length");
	CHECK(strcmp(out, want) == 0, "got %s", out);
	/* Unquoted values, any order, odd case, extra directives dropped. */
	want_challenge("algorithm=MD5-SESS , qop=auth,maxbuf=65536,"
	    "nonce=n0nce, charset=UTF-8", "nonce=\"n0nce\"," TAIL);
	want_challenge("nonce=\"x\",qop=\"auth-int, auth,auth-conf\","
	    "cipher=\"rc4\",algorithm=md5-sess", "nonce=\"x\"," TAIL);
}

/* ejabberd: realm last, nonces of 10, 11, 12 digits (every residue). */
static void
test_ejabberd_realm(void **state)
{
	static const struct {
		const char	*in, *want;
	} v[] = {
		{ "bm9uY2U9IjEyMzQ1Njc4OTAiLHFvcD0iYXV0aCIsY2hhcnNldD11dGYtOC"
		  "xhbGdvcml0aG09bWQ1LXNlc3MscmVhbG09ImFsbWFjc2thIg==",
		  "cmVhbG09ImFsbWFjc2thIixub25jZT0iMTIzNDU2Nzg5MCIscW9wPSJhdX"
		  "RoIixjaGFyc2V0PXV0Zi04LGFsZ29yaXRobT1tZDUtc2Vzcw==" },
		{ "bm9uY2U9IjEyMzQ1Njc4OTAxIixxb3A9ImF1dGgiLGNoYXJzZXQ9dXRmLT"
		  "gsYWxnb3JpdGhtPW1kNS1zZXNzLHJlYWxtPSJhbG1hY3NrYSI=",
		  "cmVhbG09ImFsbWFjc2thIixub25jZT0iMTIzNDU2Nzg5MDEiLHFvcD0iYX"
		  "V0aCIsY2hhcnNldD11dGYtOCxhbGdvcml0aG09bWQ1LXNlc3M=" },
		{ "bm9uY2U9IjEyMzQ1Njc4OTAxMiIscW9wPSJhdXRoIixjaGFyc2V0PXV0Zi"
		  "04LGFsZ29yaXRobT1tZDUtc2VzcyxyZWFsbT0iYWxtYWNza2Ei",
		  "cmVhbG09ImFsbWFjc2thIixub25jZT0iMTIzNDU2Nzg5MDEyIixxb3A9Im"
		  "F1dGgiLGNoYXJzZXQ9dXRmLTgsYWxnb3JpdGhtPW1kNS1zZXNz" },
	};
	char	out[512];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		CHECK(sasl_digest_relay_challenge(v[i].in, strlen(v[i].in), out,
		    sizeof(out)) == (int)strlen(v[i].want), "case %zu", i);
		CHECK(strcmp(out, v[i].want) == 0, "case %zu: %s", i, out);
	}
	/* Several realms: the first one only. */
	want_challenge("realm=\"a\",realm=\"b\",nonce=\"n\",qop=\"auth\","
	    "algorithm=md5-sess", "realm=\"a\",nonce=\"n\"," TAIL);
}

/*
 * Captured from the servers the integration tests start (ejabberd 23.01:
 * no realm, 19- and 20-digit nonces; jabberd2 2.7: ", " separators).
 */
static void
test_captured(void **state)
{
	static const struct {
		const char	*in, *want;
	} v[] = {
		{
		  "bm9uY2U9IjE3MzM1MjMxOTExMTI5MTc0NDYiLHFvcD0iYXV0aCIsY2hh"
		  "cnNldD11dGYtOCxhbGdvcml0aG09bWQ1LXNlc3M=",
		  "bm9uY2U9IjE3MzM1MjMxOTExMTI5MTc0NDYiLHFvcD0iYXV0aCIsY2hh"
		  "cnNldD11dGYtOCxhbGdvcml0aG09bWQ1LXNlc3M=" },
		{
		  "bm9uY2U9IjE1OTcyNTk1MjkwNjExODU0MzYwIixxb3A9ImF1dGgiLGNo"
		  "YXJzZXQ9dXRmLTgsYWxnb3JpdGhtPW1kNS1zZXNz",
		  "bm9uY2U9IjE1OTcyNTk1MjkwNjExODU0MzYwIixxb3A9ImF1dGgiLGNo"
		  "YXJzZXQ9dXRmLTgsYWxnb3JpdGhtPW1kNS1zZXNz" },
		{
		  "cmVhbG09ImFsbWFjc2thIiwgbm9uY2U9IjBsVndNb3ZjUDRKbWFWTXRV"
		  "SXlDUkE9PSIsIHFvcD0iYXV0aCIsIGNoYXJzZXQ9dXRmLTgsIGFsZ29y"
		  "aXRobT1tZDUtc2Vzcw==",
		  "cmVhbG09ImFsbWFjc2thIixub25jZT0iMGxWd01vdmNQNEptYVZNdFVJ"
		  "eUNSQT09Iixxb3A9ImF1dGgiLGNoYXJzZXQ9dXRmLTgsYWxnb3JpdGht"
		  "PW1kNS1zZXNz" },
	};
	char	out[512];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		CHECK(sasl_digest_relay_challenge(v[i].in, strlen(v[i].in), out,
		    sizeof(out)) == (int)strlen(v[i].want), "case %zu", i);
		CHECK(strcmp(out, v[i].want) == 0, "case %zu: %s", i, out);
	}
}

/* ejabberd's second challenge: rspauth alone, lower-cased. */
static void
test_rspauth(void **state)
{
	static const char	up[] = "cnNwYXV0aD0wMTIzNDU2Nzg5QUJDREVGMDEyMz"
	    "Q1Njc4OWFiY2RlZg==";
	static const char	want[] = "cnNwYXV0aD0wMTIzNDU2Nzg5YWJjZGVmMDEy"
	    "MzQ1Njc4OWFiY2RlZg==";
	char			out[128];

	(void)state;
	CHECK(sasl_digest_relay_challenge(up, strlen(up), out, sizeof(out)) ==
	    (int)strlen(want), "upper-case rspauth refused");
	CHECK(strcmp(out, want) == 0, "got %s", out);
	CHECK(sasl_digest_relay_challenge(want, strlen(want), out,
	    sizeof(out)) == (int)strlen(want), "canonical rspauth refused");
	CHECK(strcmp(out, want) == 0, "got %s", out);
	want_challenge("rspauth=\"c5cd3bf5ed6fa282efcc0d7219a8a86f\"",
	    "rspauth=c5cd3bf5ed6fa282efcc0d7219a8a86f");
	want_refused("rspauth=c5cd3bf5ed6fa282efcc0d7219a8a86", "31 digits");
	want_refused("rspauth=c5cd3bf5ed6fa282efcc0d7219a8a86fg", "33 bytes");
	want_refused("rspauth=c5cd3bf5ed6fa282efcc0d7219a8a8zz", "not hex");
	want_refused("rspauth=c5cd3bf5ed6fa282efcc0d7219a8a86f,nonce=\"x\","
	    "algorithm=md5-sess", "rspauth with a nonce");
	want_refused("rspauth=c5cd3bf5ed6fa282efcc0d7219a8a86f,"
	    "rspauth=c5cd3bf5ed6fa282efcc0d7219a8a86f", "rspauth twice");
}

/* What the firmware could not answer, or should not. */
static void
test_challenge_refused(void **state)
{
	char	out[64];

	(void)state;
	want_refused("qop=\"auth\",charset=utf-8,algorithm=md5-sess",
	    "no nonce");
	want_refused("nonce=\"\",algorithm=md5-sess", "empty nonce");
	want_refused("nonce=\"a\\\"b\",algorithm=md5-sess", "quote in nonce");
	want_refused("nonce=\"a\\\\b\",algorithm=md5-sess",
	    "backslash in nonce");
	want_refused("realm=\"x\\\"y\",nonce=\"n\",algorithm=md5-sess",
	    "quote in realm");
	want_refused("nonce=\"n\",qop=\"auth-int,auth-conf\","
	    "algorithm=md5-sess", "qop without auth");
	want_refused("nonce=\"n\",qop=\"auth\"", "no algorithm");
	want_refused("nonce=\"n\",algorithm=md5", "algorithm md5");
	want_refused("nonce=\"n\",nonce=\"m\",algorithm=md5-sess",
	    "nonce twice");
	want_refused("nonce=\"n\",algorithm=md5-sess,algorithm=md5-sess",
	    "algorithm twice");
	want_refused("nonce=\"n\",qop=auth,qop=auth,algorithm=md5-sess",
	    "qop twice");
	want_refused("nonce=\"n\",charset=iso-8859-1,algorithm=md5-sess",
	    "charset not utf-8");
	want_refused("nonce=\"n,algorithm=md5-sess", "unterminated quote");
	want_refused("nonce", "no '='");
	want_refused("", "empty challenge");
	CHECK(sasl_digest_relay_challenge("bm9uY2U9 Im4i", 13, out,
	    sizeof(out)) == -1, "whitespace in base64 accepted");
	CHECK(sasl_digest_relay_challenge("!!!!", 4, out, sizeof(out)) == -1,
	    "non-alphabet base64 accepted");
	CHECK(sasl_digest_relay_challenge("Q", 1, out, sizeof(out)) == -1,
	    "one base64 character accepted");
	CHECK(sasl_digest_relay_challenge(NULL, 0, out, sizeof(out)) == -1,
	    "NULL input accepted");
}

/* The output is written only when it fits, NUL included. */
static void
test_challenge_short_out(void **state)
{
	static const char	want[] = "cmVhbG09ImFsbWFjc2thIixub25jZT0iMTIzN"
	    "DU2Nzg5MCIscW9wPSJhdXRoIixjaGFyc2V0PXV0Zi04LGFsZ29yaXRobT1tZDUt"
	    "c2Vzcw==";
	static const char	in[] = "bm9uY2U9IjEyMzQ1Njc4OTAiLHFvcD0iYXV0aC"
	    "IsY2hhcnNldD11dGYtOCxhbGdvcml0aG09bWQ1LXNlc3MscmVhbG09ImFsbWFjc"
	    "2thIg==";
	char			out[sizeof(want)];

	(void)state;
	CHECK(sasl_digest_relay_challenge(in, strlen(in), out, sizeof(out)) ==
	    (int)strlen(want), "exact fit refused");
	CHECK(strcmp(out, want) == 0, "got %s", out);
	CHECK(sasl_digest_relay_challenge(in, strlen(in), out,
	    sizeof(out) - 1) == -1, "one byte short accepted");
	CHECK(out[0] == '\0', "partial output left behind");
	CHECK(sasl_digest_relay_challenge(in, strlen(in), out, 0) == -1,
	    "no room accepted");
	CHECK(sasl_digest_relay_challenge(in, strlen(in), NULL, 10) == -1,
	    "NULL out accepted");
}

/* The firmware's 217-byte response: "...dGYtOA=" becomes "...dGYtOA==". */
static void
test_repad_firmware_217(void **state)
{
	static const char	in[] = FW217;
	char			out[400], plain[400];
	size_t			n;
	int			len;

	(void)state;
	CHECK(strlen(in) == 291, "fixture is %zu long", strlen(in));
	len = sasl_digest_repad(in, strlen(in), out, sizeof(out));
	CHECK(len == 292, "length %d", len);
	CHECK(memcmp(out, in, 291) == 0 && strcmp(out + 284, "dGYtOA==") == 0,
	    "got %s", out);
	CHECK(sasl_b64_decode(out, 292, (unsigned char *)plain, sizeof(plain),
	    &n) == 0 && n == 217, "repaired text does not decode to 217 bytes");
	CHECK(memcmp(plain + 204, "charset=utf-8", 13) == 0, "tail %.13s",
	    plain + 204);
	/* 292 bytes and the NUL are needed. */
	CHECK(sasl_digest_repad(in, strlen(in), out, 292) == -1,
	    "short out accepted");
	CHECK(out[0] == '\0', "partial output left behind");
	CHECK(sasl_digest_repad(in, strlen(in), out, 293) == 292,
	    "exact fit refused");
}

/* Every residue, short and correct forms; empty stays empty. */
static void
test_repad_residues(void **state)
{
	static const struct {
		const char	*in, *want;
	} v[] = {
		{ "QUJD", "QUJD" },		/* 3 bytes: always right */
		{ "QUJDRA=", "QUJDRA==" },	/* 4 bytes: firmware form */
		{ "QUJDRA==", "QUJDRA==" },
		{ "QQ=", "QQ==" },
		{ "QQ", "QQ==" },
		{ "QUJDREU", "QUJDREU=" },	/* 5 bytes: firmware form */
		{ "QUJDREU=", "QUJDREU=" },
		{ "", "" },
	};
	char	out[32];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		CHECK(sasl_digest_repad(v[i].in, strlen(v[i].in), out,
		    sizeof(out)) == (int)strlen(v[i].want), "case %s", v[i].in);
		CHECK(strcmp(out, v[i].want) == 0, "%s became %s", v[i].in,
		    out);
	}
}

static void
test_repad_refused(void **state)
{
	static const char *const	bad[] = {
		"Q", "QUJDR", "QUJDR=", "QQ===", "QUJDREU==", "Q=Q=",
		"QU JD", "QUJD\n", " QUJD", "QU-D", "QU_D", "QUJD\r\n",
	};
	char				out[32];
	size_t				i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(sasl_digest_repad(bad[i], strlen(bad[i]), out,
		    sizeof(out)) == -1, "accepted %s", bad[i]);
	CHECK(sasl_digest_repad("QUJD\0QUJD", 9, out, sizeof(out)) == -1,
	    "NUL inside accepted");
	CHECK(sasl_digest_repad(NULL, 0, out, sizeof(out)) == -1,
	    "NULL accepted");
	CHECK(sasl_digest_repad("QQ=", 3, out, 4) == -1, "short out accepted");
	CHECK(sasl_digest_repad("QQ=", 3, out, 5) == 4, "exact fit refused");
}

/*
 * A response made for a server's challenge with realm and nonce (the
 * relay's case) verifies against that nonce with the realm inside A1,
 * and its rspauth is the one the firmware expects.
 */
static void
test_verify_with_realm(void **state)
{
	static const char	resp[] = "username=\"f81edfee27c1\",realm=\"alm"
	    "acska\",nonce=\"12345678901\",cnonce=\"1234567890123\0\",nc=0000"
	    "0001,qop=auth,digest-uri=\"xmpp/almacska\",response=22fc1251860b"
	    "4189c4e3db45262c3819,charset=utf-8";
	char			ra[SASL_DIGEST_HEXSIZE];
	int			v;

	(void)state;
	v = sasl_digest_server_verify(resp, sizeof(resp) - 1, "f81edfee27c1",
	    "4e532621736a", "12345678901", "almacska", ra, sizeof(ra));
	CHECK(v == SASL_DIGEST_OK, "%s", sasl_digest_strerror(v));
	CHECK(strcmp(ra, "c5cd3bf5ed6fa282efcc0d7219a8a86f") == 0, "rspauth %s",
	    ra);
	v = sasl_digest_server_verify(resp, sizeof(resp) - 1, "f81edfee27c1",
	    "4e532621736b", "12345678901", "almacska", ra, sizeof(ra));
	CHECK(v == SASL_DIGEST_PASSWORD, "wrong password: %s",
	    sasl_digest_strerror(v));
	v = sasl_digest_server_verify(resp, sizeof(resp) - 1, "f81edfee27c1",
	    "4e532621736a", "1234567890", "almacska", ra, sizeof(ra));
	CHECK(v == SASL_DIGEST_NONCE, "another nonce: %s",
	    sasl_digest_strerror(v));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openfire_no_qop),
		cmocka_unit_test(test_jabberd2_spaces),
		cmocka_unit_test(test_ejabberd_realm),
		cmocka_unit_test(test_captured),
		cmocka_unit_test(test_rspauth),
		cmocka_unit_test(test_challenge_refused),
		cmocka_unit_test(test_challenge_short_out),
		cmocka_unit_test(test_repad_firmware_217),
		cmocka_unit_test(test_repad_residues),
		cmocka_unit_test(test_repad_refused),
		cmocka_unit_test(test_verify_with_realm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
