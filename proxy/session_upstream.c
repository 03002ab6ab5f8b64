/*
 * session_upstream: the session's server side is an upstream (upstream.c:
 * STARTTLS, our SASL login, the restart after it) with the chain behind
 * it. This file is what the upstream calls back: the rabbit is held while
 * STARTTLS runs and never sees it, a finished login restarts the chain's
 * server direction with the new stream's features, and a failure closes
 * the session with remote-connection-failed.
 */
#include <stdio.h>

#include "chain.h"
#include "log.h"
#include "session-int.h"
#include "upstream.h"

static void	su_tls_begin(void *);
static void	su_tls_open(void *);
static void	su_login_done(void *, int, int, const char *, const char *,
		    struct stanza *);
static void	su_fail(void *, const char *, int);

static const struct upstream_ops su_ops = {
	su_tls_begin, su_tls_open, su_login_done, su_fail
};

void
se_upstream_init(struct session *se)
{
	upstream_init(&se->up, &se->s, &se->xs[NAB_FROM_SERVER], se->opt,
	    se->px->tls_ctx, se->who.domain, &se->r_header, &se->r_header_len,
	    &su_ops, se, 1);
	se->up.kdf = se->px->kdf;
	se->up.cnt = &se->px->cnt;
}

static void
su_tls_begin(void *arg)
{
	struct session	*se = arg;

	session_hold(se);
	log_debug("session %llu: STARTTLS with the server",
	    (unsigned long long)se->id);
}

static void
su_tls_open(void *arg)
{
	struct session	*se = arg;

	log_info("session %llu: TLS with the server established",
	    (unsigned long long)se->id);
	session_release(se);
}

static void
su_login_done(void *arg, int ok, int transient, const char *mech,
    const char *reason, struct stanza *features)
{
	struct session	*se = arg;

	if (ok && features != NULL) {
		se_keep_features(se, features);
		se->authenticated = 1;
		se->we_authenticated = 1;
		if (se->chain != NULL)
			chain_restart(se->chain, NAB_FROM_SERVER);
	}
	se_login_done(se, ok, transient, mech, reason);
}

static void
su_fail(void *arg, const char *reason, int clean)
{
	session_fail(arg, "remote-connection-failed", clean ? "" : NULL,
	    reason);
}
