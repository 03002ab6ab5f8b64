/*
 * fwsasl: the Nabaztag/tag bootcode 18673 firmware's base64 and DIGEST-MD5,
 * quirks included (shared/firmware/bootcode-xmpp.md section 3): its encoder
 * pads one '=' short, its decoder counts '=' as a zero sextet, its challenge
 * parser splits at '=' and ',' and skips exactly one byte after a quoted
 * value, and its cnonce is 13 digits followed by a NUL that is part of the
 * value everywhere. Pure functions, no I/O.
 */
#ifndef NAB_RABBIT_FWSASL_H
#define NAB_RABBIT_FWSASL_H

#include <stddef.h>

#define FW_VAL_MAX	256

/* The challenge keys the firmware looks at; a key absent has len -1. */
struct fw_challenge {
	char	nonce[FW_VAL_MAX];	int nonce_len;
	char	realm[FW_VAL_MAX];	int realm_len;
	char	qop[FW_VAL_MAX];	int qop_len;
	char	charset[FW_VAL_MAX];	int charset_len;
	char	algorithm[FW_VAL_MAX];	int algorithm_len;
	char	rspauth[FW_VAL_MAX];	int rspauth_len;
};

/*
 * The firmware's encoder: standard base64 except that an input of length
 * 1 mod 3 ends in one '=' (not two) and 2 mod 3 has no '='. Writes a NUL
 * terminated string; returns its length, or -1 if out is too small.
 */
int	fw_b64encode(const unsigned char *in, size_t n, char *out,
	    size_t outlen);
/*
 * The firmware's decoder: every '=' is a zero sextet (so each adds a NUL
 * byte). Refuses (-1) a byte outside the alphabet (it would shift the
 * firmware's 4-byte grouping), a length not a multiple of 4, or a too
 * small out. Returns the bytes written.
 */
int	fw_b64decode(const char *in, size_t n, unsigned char *out,
	    size_t outlen);
/*
 * The firmware's challenge parser. Trailing NULs of a value are dropped
 * (base64 padding). Returns 0, or -1 if nonce or algorithm appears twice
 * (the firmware errors) or a value does not fit.
 */
int	fw_challenge_parse(const unsigned char *data, size_t n,
	    struct fw_challenge *c);
/*
 * 1 if the firmware answers this challenge: nonce present, qop "auth",
 * charset "utf-8", algorithm "md5-sess" exactly; else 0 (it stays silent).
 */
int	fw_challenge_answerable(const struct fw_challenge *c);
/*
 * The response the firmware sends to challenge c (its plain text, before
 * base64, with the cnonce's NUL inside the quotes) and the rspauth value
 * it will accept (32 hex digits and a NUL in rspauth[33]). cnonce is the
 * 14 bytes: 13 digits and the NUL. Returns the plain text's length, or -1
 * if out is too small.
 */
int	fw_digest_response(const char *mac, const char *domain,
	    const char *password, const struct fw_challenge *c,
	    const unsigned char cnonce[14], unsigned char *out, size_t outlen,
	    char rspauth[33]);

#endif /* NAB_RABBIT_FWSASL_H */
