/*
 * chain_proof: the host services that decide who a connection may act
 * for (filter ABI prove_password, cred_put, rabbit_password).
 *
 * A connection proves an account's password by matching the stored
 * password in constant time ("stored"), or by a login probe with it
 * ("probe", guarded by identity_guard.c's backoff and cap). When the
 * password is not the stored one and the operator opened an
 * allow-register window for the account (`nabproxy credentials
 * allow-register`), it becomes the rabbit's own password without a probe,
 * the server's stays in the store for the upstream login, the window
 * closes, and the connection is proven ("allow-register"). Nothing else
 * opens that door: a peer cannot. A MAC is not a secret, so during the
 * window the first registration for that account wins: the operator
 * opens it right before the rabbit registers, and `credentials list`
 * shows whether it was used.
 *
 * cred_put stores only for the proven account, and only a password a
 * login probe proved on this connection (the server accepted it: it
 * replaces the server's and any rabbit's own); the password the rabbit
 * proves itself with already is left as it is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "chain-int.h"
#include "creds.h"
#include "identity.h"
#include "log.h"
#include "session.h"

#define PROOF_WINDOW	"allow-register"

/* Constant time over the longer of the two; 1 if equal. */
int
chain_secret_eq(const char *a, const char *b)
{
	size_t		la = strlen(a), lb = strlen(b), n = la > lb ? la : lb, i;
	unsigned char	d = (unsigned char)(la != lb);

	for (i = 0; i < n; i++)
		d |= (unsigned char)((i < la ? a[i] : 0) ^ (i < lb ? b[i] : 0));
	return d == 0;
}

const char *
chain_rabbit_password(struct nab_ctx *ctx, const char *jid)
{
	struct creds	*cr = chain_creds(ctx);

	return cr != NULL ? creds_get_rabbit(cr, jid) : NULL;
}

/* SHA-256 of a password, for probed(). */
static void
pw_hash(const char *pw, unsigned char out[32])
{
	SHA256((const unsigned char *)pw, strlen(pw), out);
}

/* 1 if a login probe proved pw on this connection. */
static int
probed(const struct identity *who, const char *pw)
{
	unsigned char	h[32];
	int		eq;

	if (!who->has_probed)
		return 0;
	pw_hash(pw, h);
	eq = CRYPTO_memcmp(h, who->probed, sizeof(h)) == 0;
	explicit_bzero(h, sizeof(h));
	return eq;
}

int
h_cred_put(struct nab_ctx *ctx, const char *jid, const char *pw)
{
	struct creds		*cr = chain_creds(ctx);
	const struct identity	*who = session_who(ctx->ch->se);
	const char		*mine;
	char			 err[256];

	if (cr == NULL)
		return -1;
	if (!identity_is(who, jid)) {
		session_log(ctx->ch->se, NAB_LOG_WARN, "%s: not storing a "
		    "password for %s: this connection has not proven it",
		    ctx->slot->cf->name, jid);
		return -1;
	}
	/*
	 * What the rabbit proves itself with already: nothing to write (the
	 * server's password stays beside a rabbit's own). Anything else is
	 * written only if a login probe proved that very password on this
	 * connection: then it is the server's too, and the two are one again.
	 */
	mine = creds_get_rabbit(cr, jid);
	if (mine != NULL && chain_secret_eq(mine, pw))
		return 0;
	if (!probed(who, pw)) {
		session_log(ctx->ch->se, NAB_LOG_WARN, "%s: not storing a "
		    "password for %s that no login probe proved here",
		    ctx->slot->cf->name, jid);
		return -1;
	}
	if (creds_put(cr, jid, pw, err, sizeof(err)) == -1) {
		session_log(ctx->ch->se, NAB_LOG_WARN, "%s: cannot store "
		    "credentials for %s: %s", ctx->slot->cf->name, jid, err);
		return -1;
	}
	session_log(ctx->ch->se, NAB_LOG_INFO, "%s: stored credentials for %s",
	    ctx->slot->cf->name, jid);
	return 0;
}

/*
 * The operator's window (open: window_open()), when the password is not
 * the stored one: 1 if the rabbit's password is now stored as its own
 * and the connection proven, 0 if it cannot be used (logged).
 */
static int
use_window(struct nab_ctx *ctx, const char *user, const char *password)
{
	struct session	*se = ctx->ch->se;
	struct identity	*who = session_who(se);
	struct creds	*cr = chain_creds(ctx);
	char		 jid[ID_JID_MAX], err[256];
	long long	 now = (long long)time(NULL);

	if ((size_t)snprintf(jid, sizeof(jid), "%s@%s", user, who->domain) >=
	    sizeof(jid) || cr == NULL)
		return 0;
	/* The store checks the window is open (and closes it) itself. */
	if (creds_put_rabbit(cr, jid, password, now, err, sizeof(err)) ==
	    -1) {
		session_log(se, NAB_LOG_WARN, "allow-register window for %s "
		    "not used: %s", jid, err);
		return 0;
	}
	if (identity_prove(who, user, PROOF_WINDOW) == -1)
		return 0;
	session_log(se, NAB_LOG_INFO, "%s registered a new password in the "
	    "operator's allow-register window (now closed): stored as the "
	    "rabbit's own; nabproxy keeps logging in upstream with the "
	    "server's password", jid);
	return 1;
}

/* 1 if the operator's allow-register window for jid is open. */
static int
window_open(struct nab_ctx *ctx, const char *jid)
{
	struct creds	*cr = chain_creds(ctx);

	return cr != NULL && creds_window(cr, jid) > (long long)time(NULL);
}

/* A prove_password() probe under way: the filter's callback, the account. */
struct prove {
	struct nab_ctx		*ctx;
	struct chain_cbw	*w;
	char			 user[256];
	unsigned char		 hash[32];	/* of the password probed */
};

static void
prove_done(void *arg, int ok, int transient, const char *mech,
    const char *reason)
{
	struct prove	*p = arg;
	struct chain	*ch = p->ctx->ch;

	if (ok && identity_prove(session_who(ch->se), p->user, "probe") == -1) {
		ok = 0;
		transient = 0;
		reason = "another account was proven on this connection";
	} else if (ok) {
		memcpy(session_who(ch->se)->probed, p->hash, sizeof(p->hash));
		session_who(ch->se)->has_probed = 1;
		session_log(ch->se, NAB_LOG_INFO, "%s proved its password: "
		    "a login probe with it succeeded", session_who(ch->se)->bare_jid);
	}
	explicit_bzero(p->hash, sizeof(p->hash));
	chain_login_cb(p->w, ok, transient, mech, reason);
	free(p);
}

/*
 * While the operator's window is open: the stored password, else the
 * window (no probe: the server's password stays, and the window is good
 * once). Otherwise, under the guard's backoff: the stored password, else
 * a login probe.
 */
int
h_prove_password(struct nab_ctx *ctx, const char *localpart,
    const char *password, nab_login_cb *cb, void *arg)
{
	struct session		*se = ctx->ch->se;
	struct chain_cbw	*w;
	struct prove		*p;
	const char		*stored;
	char			 jid[ID_JID_MAX];
	int			 window;

	if ((size_t)snprintf(jid, sizeof(jid), "%s@%s", localpart,
	    session_who(se)->domain) >= sizeof(jid))
		return -1;
	if (identity_proven(session_who(se)) && !identity_is(session_who(se), jid))
		return -1;
	if ((w = chain_wrap(ctx, cb, arg)) == NULL)
		return -1;
	/*
	 * The backoff first: while it runs every password gets the same
	 * answer, so the store is no oracle either. An operator's window
	 * is no oracle (any password gets a result) and needs no guard.
	 */
	window = window_open(ctx, jid);
	if (!window && session_guard_check(se, jid) == -1) {
		chain_login_cb(w, 0, 1, "?", "password attempts for this "
		    "account or address are backing off");
		return 0;
	}
	stored = chain_rabbit_password(ctx, jid);
	if (stored != NULL && chain_secret_eq(stored, password) &&
	    identity_prove(session_who(se), localpart, "stored") == 0) {
		if (!window)
			session_guard_note(se, jid, 1);
		session_log(se, NAB_LOG_INFO, "%s proved its password: "
		    "proven by the credential store", jid);
		chain_login_cb(w, 1, 0, "stored", "");
		return 0;
	}
	if (window) {
		if (use_window(ctx, localpart, password))
			chain_login_cb(w, 1, 0, PROOF_WINDOW, "");
		else
			chain_login_cb(w, 0, 0, PROOF_WINDOW, "the operator's "
			    "window could not be used");
		return 0;
	}
	/* The probe passes the guard itself (a wrong password backs off). */
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		chain_unwrap_failed(ctx->ch, w);
		return -1;
	}
	p->ctx = ctx;
	p->w = w;
	snprintf(p->user, sizeof(p->user), "%s", localpart);
	pw_hash(password, p->hash);
	if (session_login_probe(se, localpart, password, prove_done, p) == -1) {
		free(p);
		chain_unwrap_failed(ctx->ch, w);
		return -1;
	}
	return 0;
}

const char *
h_rabbit_password(struct nab_ctx *ctx, const char *jid)
{
	return chain_rabbit_password(ctx, jid);
}
