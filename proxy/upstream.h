/*
 * upstream: the server side of a connection, from the TCP connect to an
 * open stream: STARTTLS (with the TLS pin check), SASL on the rabbit's
 * behalf (login.c) and the stream restart after <success/>, whose header
 * and features it keeps to itself. One state machine for every server
 * connection nabproxy makes: the session's server side is an upstream
 * with a filter chain behind it (session.c), a login probe is an upstream
 * without one (probe.c).
 *
 * It owns the protocol state, not the socket: the owner keeps the leg and
 * its parser (so a probe's connection can be adopted by a session), cuts
 * the input into units and offers each server unit here first. What the
 * upstream consumes never reaches a chain or a rabbit. It calls its
 * owner back through upstream_ops; it never calls up.
 */
#ifndef NAB_UPSTREAM_H
#define NAB_UPSTREAM_H

#include <stddef.h>

#include "attrib.h"

struct counters;
struct evbuffer;
struct leg;
struct login;
struct proxy_opts;
struct ssl_ctx_st;
struct st_node;
struct stanza;
struct xmlstream;
struct xs_unit;

enum up_tls {
	UP_TLS_NONE = 0,	/* first features not seen yet */
	UP_TLS_WAIT,		/* <starttls/> sent */
	UP_TLS_HANDSHAKE,	/* <proceed/> seen, handshaking */
	UP_TLS_HEADER,		/* hide the server's second header */
	UP_TLS_DONE		/* TLS on, or not used */
};

enum up_swallow {
	UP_SWALLOW_NONE = 0,
	UP_SWALLOW_HEADER,	/* after our own SASL success */
	UP_SWALLOW_FEATURES
};

struct upstream_ops {
	/* STARTTLS begins: nothing may reach the server until tls_open. */
	void	(*tls_begin)(void *arg);
	/* TLS is on and the server restarted its stream. */
	void	(*tls_open)(void *arg);
	/*
	 * A login ended. On success, features are the restarted stream's
	 * (borrowed for the call; NULL when the owner asked for no restart).
	 * transient: the password was not judged (see login_rejected()).
	 */
	void	(*login_done)(void *arg, int ok, int transient,
		    const char *mech, const char *reason,
		    struct stanza *features);
	/*
	 * The connection cannot go on: the owner closes it, with a polite
	 * end of stream if `clean` (not while TLS is half set up).
	 */
	void	(*fail)(void *arg, const char *reason, int clean);
};

struct upstream {
	struct leg		*leg;		/* the owner's server leg */
	struct xmlstream	**xs;		/* the owner's parser of it */
	const struct proxy_opts	*opt;
	struct ssl_ctx_st	*tls_ctx;	/* NULL: no STARTTLS */
	const char		*domain;	/* the stream's `to` */
	char * const		*header;	/* the rabbit's header bytes */
	const size_t		*header_len;
	const struct upstream_ops *ops;
	void			*arg;
	int			 restart;	/* restart the stream after success */
	struct kdf_pool		*kdf;		/* SCRAM Hi() off the loop, or NULL */
	struct counters		*cnt;		/* TLS failures, logins; or NULL */
	int			 tls_counted;	/* its TLS failure is counted */

	enum up_tls		 tls;
	int			 tls_active;
	struct login		*login;
	enum up_swallow		 swallow;
	char			 mech[32];
};

/*
 * Set up an upstream over the owner's leg and parser. domain, header and
 * header_len are the owner's and read when needed (the header may arrive
 * later). restart: after SASL success, restart the stream and report
 * with its features (a session, an adopting probe); 0 reports at
 * <success/> (a plain probe).
 */
void	upstream_init(struct upstream *, struct leg *, struct xmlstream **,
	    const struct proxy_opts *, struct ssl_ctx_st *, const char *domain,
	    char * const *header, const size_t *header_len,
	    const struct upstream_ops *, void *arg, int restart);
/*
 * A server unit: 1 if the upstream consumed it (and drained its bytes
 * from `in`, the leg's input), 0 to pass it on to the owner. May call
 * the owner back (login_done, fail, ...) before it returns.
 */
int	upstream_unit(struct upstream *, struct xs_unit *, struct evbuffer *in)
	    NONNULL(1, 2, 3);
/*
 * Start SASL for localpart@domain with the server's current features.
 * 0 if started (or failed at once: login_done was called), -1 if it
 * cannot start (a login or STARTTLS runs, no mechanisms; err says why).
 */
int	upstream_login(struct upstream *, const char *localpart,
	    const char *password, const struct st_node *features,
	    char *err, size_t errlen) NONNULL(1, 2, 3, 4, 5);
/* The leg's `connected`: 1 if it was the TLS handshake (handled). */
int	upstream_connected(struct upstream *) NONNULL(1);
/* The leg's `error`: 1 if it was the TLS handshake (fail was called). */
int	upstream_error(struct upstream *) NONNULL(1);
/* 1 while STARTTLS, a login or the restart after it runs. */
int	upstream_busy(const struct upstream *) NONNULL(1);
/* 1 between <starttls/> and the handshake: nothing may go up. */
int	upstream_tls_pending(const struct upstream *) NONNULL(1);
/* Wipe and free the login; the upstream can be dropped afterwards. */
void	upstream_clear(struct upstream *) NONNULL(1);

#endif /* NAB_UPSTREAM_H */
