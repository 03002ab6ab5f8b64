/*
 * script: the bytes a rabbit sends, byte for byte. The seed simulator's
 * stream (tests/golden/seed_rabbit.xml with MAC, domain and password
 * substituted) and Table A of shared/firmware/bootcode-xmpp.md for
 * bootcode 18673. Pure: templates and substitution, no I/O.
 */
#ifndef NAB_RABBIT_SCRIPT_H
#define NAB_RABBIT_SCRIPT_H

#include <stddef.h>

/* Table A of the firmware notes ({N}: per-stream id counter from 1). */
extern const char script_a1[];	/* stream header (both firmwares) */
extern const char script_a2[];	/* violet:iq:register form request */
extern const char script_a3[];	/* violet:iq:register set */
extern const char script_a4[];	/* DIGEST-MD5 auth */
extern const char script_a5[];	/* response {B64} */
extern const char script_a6[];	/* empty response after rspauth */
extern const char script_a7[];	/* bind {RES} from MAC@DOM/{PREV} */
extern const char script_a8[];	/* session */
extern const char script_a9[];	/* violet:iq:sources */
extern const char script_a10[];	/* presence */
extern const char script_a11[];	/* unbind {PREV} */

#define SCRIPT_SEED_PARTS	4	/* form, register, bind, session */
/* The seed's stanzas, ids 1..4, each with its leading white space. */
extern const char *const script_seed[SCRIPT_SEED_PARTS];

/* One substitution: "{NAME}" -> value. */
struct script_var {
	const char	*sv_name;	/* without braces */
	const char	*sv_value;
};

/*
 * tmpl with every {NAME} of vars[0..n) replaced (other braces kept) into
 * out, NUL-terminated. Returns the length, or -1 if out is too small.
 */
int	script_fill(const char *tmpl, const struct script_var *vars, size_t n,
	    char *out, size_t outlen);
/*
 * The password XORed with the MAC digit by hex digit, as A3 carries it
 * ({XPW}); both 12 lower-case hex digits. Returns 0, -1 if not hex.
 */
int	script_xor_hex(const char *pw, const char *mac, char out[13]);

#endif /* NAB_RABBIT_SCRIPT_H */
