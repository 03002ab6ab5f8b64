/*
 * tls_pin: which server keys a STARTTLS leg accepts (upstream-verify),
 * and the pin store in state-dir that remembers, per upstream, the key
 * seen and that the server offered STARTTLS.
 */
#ifndef NAB_TLS_PIN_H
#define NAB_TLS_PIN_H

#include <stddef.h>
#include <stdio.h>

#include "attrib.h"

struct leg;
struct proxy_opts;

/* upstream-verify; the same numbers as enum config_verify. */
enum tls_verify {
	TLS_VERIFY_NO = 0,	/* anything goes */
	TLS_VERIFY_CHAIN,	/* chain to upstream-ca and host name */
	TLS_VERIFY_PIN,		/* the key is one of upstream-pin */
	TLS_VERIFY_TOFU		/* chain, else the key pinned at first use */
};

#define TLS_PIN_LEN	32		/* SHA-256 */
#define TLS_PIN_TEXT	72		/* "sha256:" 64 hex digits, NUL */
#define TLS_PIN_FILE	"upstream-pins"	/* in state-dir */
#define TLS_PIN_MAX	16		/* upstream-pin lines */

/* The pin file of a state directory: STATE-DIR/upstream-pins. */
void	tls_pin_path(const char *state_dir, char *out, size_t cap);

/* "sha256:" and 64 hex digits (either case) into pin. 0, or -1. */
int	 tls_pin_parse(const char *s, unsigned char pin[TLS_PIN_LEN])
	    NONNULL(1, 2) WUNRES;
/* pin as "sha256:" and 64 lower-case hex digits; returns out. */
char	*tls_pin_format(const unsigned char pin[TLS_PIN_LEN],
	    char out[TLS_PIN_TEXT]) NONNULL(1, 2);
/* "host:port", "[v6]:port" for an address with ':': a pin store key. */
void	 tls_pin_upstream(const char *host, unsigned short port, char *buf,
	    size_t len) NONNULL(1, 3);

/*
 * The pin store: one line per upstream, "UPSTREAM sha256:HEX starttls";
 * '#' lines are comments. A missing file is an empty store.
 * lookup: 1 and *pin set if upstream has a line, 0 if not, -1 with err.
 */
int	 tls_pin_lookup(const char *file, const char *upstream,
	    unsigned char pin[TLS_PIN_LEN], char *err, size_t errlen)
	    NONNULL(1, 2, 3, 4) WUNRES;
/*
 * Sets upstream's line to pin, or removes it when pin is NULL. The file
 * is replaced atomically (temp file, fsync, rename) with mode 0600.
 * 0 done, 1 nothing to remove, -1 with err.
 */
int	 tls_pin_store(const char *file, const char *upstream,
	    const unsigned char *pin, char *err, size_t errlen)
	    NONNULL(1, 2, 4) WUNRES;
/* Copies the store's upstream lines to out. 0, or -1 with err. */
int	 tls_pin_list(const char *file, FILE *out, char *err, size_t errlen)
	    NONNULL(1, 2, 3);

/*
 * The TLS handshake of leg is done: may it go on under opt's
 * upstream-verify? 0 yes (the store learnt the key if it had none), -1
 * no with the reason in why: the key seen, the key expected and how to
 * trust the new one.
 */
int	 tls_pin_check(struct leg *, const struct proxy_opts *opt, char *why,
	    size_t len) NONNULL(1, 2, 3) WUNRES;
/*
 * The server's features lack <starttls/>: 1 with why set if that is a
 * downgrade (upstream-tls = starttls, verification on, and the store
 * says the server offered it before), else 0.
 */
int	 tls_pin_stripped(const struct proxy_opts *opt, char *why,
	    size_t len) NONNULL(1, 2) WUNRES;

#endif /* NAB_TLS_PIN_H */
