/*
 * login: XMPP SASL negotiation (RFC 6120 section 6) on a rabbit's behalf,
 * as a state machine over parsed stanzas. No sockets: the caller feeds
 * <stream:features> and the SASL elements the server sends and writes out
 * whatever bytes land in the evbuffer it passed.
 */
#ifndef NAB_LOGIN_H
#define NAB_LOGIN_H

#include <stddef.h>

#include "attrib.h"

#define LOGIN_NS_SASL	"urn:ietf:params:xml:ns:xmpp-sasl"

struct evbuffer;
struct st_node;
struct login;

enum login_result {
	LOGIN_FAIL = -1,	/* reason in login_error(); the login is over */
	LOGIN_CONTINUE = 0,	/* send what was written, feed the next one */
	LOGIN_SUCCESS = 1,	/* authenticated; restart the stream */
	LOGIN_PENDING = 2	/* the key is being derived: wait for resume */
};

struct kdf_pool;

struct login_opts {
	unsigned	max_iterations;		/* SCRAM cap, 0 = 100000 */
	int		allow_plain_cleartext;	/* PLAIN even without TLS */
	int		tls_active;		/* the stream runs under TLS */
	/*
	 * SCRAM's key derivation on this pool's threads (kdf.c), not the
	 * caller's: login_input() then returns LOGIN_PENDING, and once the
	 * key is there resume(resume_arg) runs on the loop, whose owner
	 * calls login_resume(). NULL: derived in login_input().
	 */
	struct kdf_pool	*kdf;
	void		(*resume)(void *);
	void		*resume_arg;
};

/*
 * New negotiation for user@domain (user is the localpart). o may be NULL
 * (defaults: no PLAIN without TLS). Strings are copied; the password copy
 * is wiped once a mechanism holds it. NULL with a reason in err.
 */
struct login	*login_new(const char *user, const char *domain,
		    const char *password, const struct login_opts *o,
		    char *err, size_t errlen) WUNRES;
/*
 * Pick a mechanism from <stream:features> and write <auth> to out.
 * LOGIN_CONTINUE or LOGIN_FAIL.
 */
int		 login_features(struct login *, const struct st_node *features,
		    struct evbuffer *out) WUNRES NONNULL(1, 3);
/*
 * Feed one top-level element after <auth>: <challenge> (a <response> is
 * written to out), <success> or <failure>; anything else fails.
 * LOGIN_CONTINUE, LOGIN_SUCCESS (server verified) or LOGIN_FAIL.
 */
int		 login_input(struct login *, const struct st_node *stanza,
		    struct evbuffer *out) WUNRES NONNULL(1, 3);
/*
 * After LOGIN_PENDING, from the resume callback: write the <response>
 * the derived key makes to out. LOGIN_CONTINUE or LOGIN_FAIL (a failed
 * derivation judged nothing: login_rejected() is 0).
 */
int		 login_resume(struct login *, struct evbuffer *out) WUNRES
		    NONNULL(1, 2);
/* The stream now runs under TLS (after STARTTLS): PLAIN becomes usable. */
void		 login_set_tls(struct login *, int on) NONNULL(1);
/* Chosen mechanism name, "none" before one is chosen. Never NULL. */
const char	*login_mech(const struct login *) NONNULL(1);
/* Why the login failed, "" if it has not. Never NULL, never the password. */
const char	*login_error(const struct login *) NONNULL(1);
/*
 * 1 if the login failed because the server refused the credentials
 * (<failure> with not-authorized and the like); 0 for everything that
 * judged nothing about the password (mechanisms, protocol, ENOMEM).
 */
int		 login_rejected(const struct login *) NONNULL(1);
/* Wipe secrets and free; NULL is accepted. */
void		 login_free(struct login *);

#endif /* NAB_LOGIN_H */
