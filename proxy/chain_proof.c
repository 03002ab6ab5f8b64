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
 * cred_put stores only for the proven account. The rabbit's own password
 * is never written over the server's: proven again ("stored"), it is
 * left as it is; a password the server accepted ("probe") replaces both.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	 * The rabbit's own password (from a window) is kept as it is: the
	 * server's stays beside it. Any other proven password is the
	 * server's too, and the two are one again.
	 */
	mine = creds_get_rabbit(cr, jid);
	if (mine != NULL && mine != creds_get(cr, jid) &&
	    chain_secret_eq(mine, pw))
		return 0;
	if (strcmp(who->proof, PROOF_WINDOW) == 0)
		return -1;
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
 * The operator's window, when the password is not the stored one: 1 if
 * the rabbit's password is now stored as its own and the connection
 * proven, 0 if no window is open (or it cannot be used: logged).
 */
static int
use_window(struct nab_ctx *ctx, const char *user, const char *password)
{
	struct session	*se = ctx->ch->se;
	struct identity	*who = session_who(se);
	struct creds	*cr = chain_creds(ctx);
	char		 jid[ID_JID_MAX], err[256];
	long long	 now = (long long)time(NULL);

	snprintf(jid, sizeof(jid), "%s@%s", user, who->domain);
	if (cr == NULL || creds_window(cr, jid) <= now)
		return 0;
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

/* A prove_password() probe under way: the filter's callback, the account. */
struct prove {
	struct nab_ctx		*ctx;
	struct chain_cbw	*w;
	char			 user[256];
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
	} else if (ok)
		session_log(ch->se, NAB_LOG_INFO, "%s proved its password: "
		    "a login probe with it succeeded", session_who(ch->se)->bare_jid);
	chain_login_cb(p->w, ok, transient, mech, reason);
	free(p);
}

/*
 * The stored password, else the operator's window (which needs no probe:
 * the server's password stays, and the window is good once), else a
 * guarded login probe.
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

	snprintf(jid, sizeof(jid), "%s@%s", localpart, session_who(se)->domain);
	if (identity_proven(session_who(se)) && !identity_is(session_who(se), jid))
		return -1;
	if ((w = chain_wrap(ctx, cb, arg)) == NULL)
		return -1;
	stored = chain_rabbit_password(ctx, jid);
	if (stored != NULL && chain_secret_eq(stored, password) &&
	    identity_prove(session_who(se), localpart, "stored") == 0) {
		session_log(se, NAB_LOG_INFO, "%s proved its password: "
		    "proven by the credential store", jid);
		chain_login_cb(w, 1, 0, "stored", "");
		return 0;
	}
	if (use_window(ctx, localpart, password)) {
		chain_login_cb(w, 1, 0, PROOF_WINDOW, "");
		return 0;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		chain_unwrap_failed(ctx->ch, w);
		return -1;
	}
	p->ctx = ctx;
	p->w = w;
	snprintf(p->user, sizeof(p->user), "%s", localpart);
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
