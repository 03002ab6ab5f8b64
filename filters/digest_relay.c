/*
 * digest_relay: the digest-server filter's relay half. When the server
 * offers DIGEST-MD5 (Openfire, ejabberd, jabberd2), the rabbit's own
 * exchange goes to the server, repaired in transit with the host's ABI
 * 1.2 services (bootcode-xmpp.md section 3, servers.md):
 *
 *   server <challenge>          -> rewritten into the form the firmware
 *                                  parses (digest_relay_challenge); its
 *                                  nonce is remembered
 *   rabbit <response>B64        -> if the store has USER@DOMAIN's password
 *                                  and the response matches it against the
 *                                  server's nonce: <abort> upstream, the
 *                                  server's <failure><aborted> swallowed,
 *                                  and the local path takes over (rspauth
 *                                  here, upstream login with the stored
 *                                  password: jabberd2 refuses the
 *                                  firmware's NUL cnonce). Otherwise the
 *                                  re-padded response goes to the server.
 *   server <challenge>rspauth   -> re-encoded canonically (ejabberd)
 *   rabbit <response/> (empty)  -> passes
 *   server <success>, <failure> -> pass to the rabbit as they are
 *
 * A challenge the firmware could not answer (no md5-sess, no qop auth)
 * is aborted upstream and the local path answers the rabbit instead.
 * Public filter ABI only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nabproxy/filter.h>

#include "digest_server.h"

/* How long the server may take to confirm our <abort>. */
#define DR_ABORT_MS	10000

static const struct nab_host	*host;

static int	dr_b64_value(int);
static int	dr_nonce(const char *, char *, size_t);
static int	dr_abort(struct nab_ctx *, struct ds_sess *);
static void	dr_abort_timeout(struct nab_ctx *, void *);
static enum nab_verdict dr_challenge(struct nab_ctx *, struct ds_sess *,
		    struct nab_stanza *);
static enum nab_verdict dr_confirmed(struct nab_ctx *, struct ds_sess *,
		    const char *);
static enum nab_verdict dr_replace(struct nab_ctx *, const char *,
		    const char *);
static enum nab_verdict dr_verified(struct nab_ctx *, struct ds_sess *,
		    const char *, const char *);

void
dr_init(const struct nab_host *h)
{
	host = h;
}

/*
 * 1 if the rabbit's DIGEST-MD5 can go to the server: the host has the
 * relay services, the server stream is not authenticated yet and the
 * server's latest features offer DIGEST-MD5.
 */
int
dr_possible(struct nab_ctx *ctx)
{
	struct nab_stanza	*f, *m, *c;
	const char		*t;

	if (!NAB_HAS_SERVICE(host, digest_repad) ||
	    !NAB_HAS_SERVICE(host, server_features) ||
	    host->upstream_authenticated(ctx) ||
	    (f = host->server_features(ctx)) == NULL ||
	    (m = host->child(f, "mechanisms", NS_SASL)) == NULL)
		return 0;
	for (c = host->child(m, "mechanism", NULL); c != NULL;
	    c = host->next(c))
		if (strcmp(host->name(c), "mechanism") == 0 &&
		    (t = host->text(ctx, c)) != NULL &&
		    strcmp(t, "DIGEST-MD5") == 0)
			return 1;
	return 0;
}

/* Value of a base64 alphabet character, -1 otherwise. */
static int
dr_b64_value(int ch)
{
	static const char	a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char		*p;

	if (ch == '\0' || (p = strchr(a, ch)) == NULL)
		return -1;
	return (int)(p - a);
}

/*
 * The nonce of a rewritten challenge (canonical base64 of
 * [realm="R",]nonce="N",...; neither value holds a quote) into nonce.
 * 0, or -1 if absent or longer than cap - 1.
 */
static int
dr_nonce(const char *b64, char *nonce, size_t cap)
{
	char		 plain[1024];
	const char	*p, *q;
	size_t		 n = 0, i, len = strlen(b64);
	unsigned long	 v = 0;
	int		 d, bits = 0;

	for (i = 0; i < len && b64[i] != '='; i++) {
		if ((d = dr_b64_value((unsigned char)b64[i])) == -1)
			return -1;
		v = (v << 6 | (unsigned long)d) & 0xffffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (n == sizeof(plain) - 1)
				return -1;
			plain[n++] = (char)(v >> bits & 0xff);
		}
	}
	plain[n] = '\0';
	p = plain;
	if (strncmp(p, "realm=\"", 7) == 0 &&
	    (p = strchr(p + 7, '"')) == NULL)
		return -1;
	if ((p = strstr(p, "nonce=\"")) == NULL ||
	    (q = strchr(p + 7, '"')) == NULL || (size_t)(q - p - 7) >= cap)
		return -1;
	memcpy(nonce, p + 7, (size_t)(q - p - 7));
	nonce[q - p - 7] = '\0';
	return 0;
}

/*
 * Abandon the server's exchange: <abort> upstream; its <failure> is
 * swallowed when it comes (dr_confirmed), or the session closes if it
 * never does. 0, or -1 (logged).
 */
static int
dr_abort(struct nab_ctx *ctx, struct ds_sess *s)
{
	struct nab_stanza	*st;

	if ((st = host->stanza_new(ctx, "abort")) == NULL ||
	    host->set_attr(ctx, st, "xmlns", NS_SASL) == -1 ||
	    host->inject(ctx, NAB_FROM_RABBIT, st) == -1) {
		host->log(ctx, NAB_LOG_WARN, "cannot send the server <abort>: "
		    "out of memory");
		return -1;
	}
	s->aborting = 1;
	s->abort_timer = host->timer_add(ctx, DR_ABORT_MS, dr_abort_timeout,
	    NULL);
	return 0;
}

static void
dr_abort_timeout(struct nab_ctx *ctx, void *arg)
{
	struct ds_sess	*s = host->get_data(ctx);

	(void)arg;
	s->abort_timer = NULL;
	if (!s->aborting)
		return;
	host->log(ctx, NAB_LOG_WARN, "the server never confirmed our SASL "
	    "<abort>: closing the rabbit's stream so it logs in again");
	host->close_with(ctx, "remote-connection-failed",
	    "server did not answer the SASL abort");
}

/* Replace the current unit with <name xmlns=SASL>b64</name>. */
static enum nab_verdict
dr_replace(struct nab_ctx *ctx, const char *name, const char *b64)
{
	struct nab_stanza	*st;

	if ((st = ds_sasl_stanza(ctx, name, b64)) == NULL ||
	    host->replace(ctx, st) == -1) {
		host->log(ctx, NAB_LOG_WARN, "cannot build the relayed <%s>: "
		    "out of memory", name);
		host->close_with(ctx, "internal-server-error", "out of memory");
		return NAB_CLOSE;
	}
	return NAB_REPLACE;
}

/* A server <challenge> during the relay: the nonce's or rspauth. */
static enum nab_verdict
dr_challenge(struct nab_ctx *ctx, struct ds_sess *s, struct nab_stanza *st)
{
	const char	*text = host->text(ctx, st);
	char		 out[2048];

	if (text == NULL || host->digest_relay_challenge(ctx, text, out,
	    sizeof(out)) == -1) {
		host->log(ctx, NAB_LOG_WARN, "the server's DIGEST-MD5 challenge "
		    "is not one the firmware can answer (it needs a nonce, "
		    "algorithm=md5-sess and qop auth): aborted upstream, "
		    "answering the rabbit here instead");
		if (s->state != DS_RELAY_AUTH || dr_abort(ctx, s) == -1) {
			host->close_with(ctx, "undefined-condition",
			    "unusable DIGEST-MD5 challenge from the server");
			return NAB_CLOSE;
		}
		ds_local_challenge(ctx, s);
		return NAB_DROP;
	}
	if (s->state == DS_RELAY_AUTH) {
		if (dr_nonce(out, s->nonce, sizeof(s->nonce)) == -1)
			s->nonce[0] = '\0';	/* relayed unverified */
		s->state = DS_RELAY_CHALLENGED;
	} else
		s->state = DS_RELAY_RSPAUTH;
	return dr_replace(ctx, "challenge", out);
}

/* The server's answer to our <abort>: swallowed; the local login goes on. */
static enum nab_verdict
dr_confirmed(struct nab_ctx *ctx, struct ds_sess *s, const char *name)
{
	if (strcmp(name, "failure") != 0) {
		host->log(ctx, NAB_LOG_WARN, "server sent <%s> after our SASL "
		    "<abort>: dropped", name);
		return NAB_DROP;
	}
	s->aborting = 0;
	if (s->abort_timer != NULL) {
		host->timer_del(ctx, s->abort_timer);
		s->abort_timer = NULL;
	}
	host->log(ctx, NAB_LOG_DEBUG, "the server confirmed our SASL abort");
	if (s->state == DS_LOGGING_IN)
		ds_login_start(ctx, s);
	return NAB_DROP;
}

/* SASL elements from the server. */
enum nab_verdict
dr_server(struct nab_ctx *ctx, struct ds_sess *s, struct nab_stanza *st)
{
	const char	*name = host->name(st);

	if (s->aborting)
		return dr_confirmed(ctx, s, name);
	if (s->state < DS_RELAY_AUTH)
		return NAB_PASS;
	if (strcmp(name, "challenge") == 0 && (s->state == DS_RELAY_AUTH ||
	    s->state == DS_RELAY_SENT))
		return dr_challenge(ctx, s, st);
	if (strcmp(name, "success") == 0) {
		host->log(ctx, NAB_LOG_INFO, "the server accepted the rabbit's "
		    "own DIGEST-MD5 login%s%s", s->jid[0] ? " as " : "",
		    s->jid);
		if (s->user[0] != '\0' && host->identity(ctx)->mac[0] == '\0')
			host->set_identity(ctx, s->user, NULL, NULL);
		s->state = DS_DONE;
	} else if (strcmp(name, "failure") == 0) {
		host->log(ctx, NAB_LOG_WARN, "the server refused the rabbit's "
		    "DIGEST-MD5 login%s%s (passed on: the firmware re-registers; "
		    "if the server has the account, add its password with: "
		    "nabproxy credentials add %s)", s->jid[0] ? " as " : "",
		    s->jid, s->jid[0] ? s->jid : "MAC@DOMAIN");
		s->state = DS_IDLE;
	}
	return NAB_PASS;
}

/*
 * The response matched the stored password against the server's nonce:
 * abort the server's exchange and finish here (the rabbit gets our
 * rspauth; the upstream login follows its empty response).
 */
static enum nab_verdict
dr_verified(struct nab_ctx *ctx, struct ds_sess *s, const char *pw,
    const char *rspauth)
{
	if (ds_keep_password(ctx, s, pw) == -1 || dr_abort(ctx, s) == -1 ||
	    ds_send_sasl(ctx, "challenge", NULL, rspauth) == -1) {
		ds_fail(ctx, s);
		return NAB_HANDLED;
	}
	host->log(ctx, NAB_LOG_INFO, "DIGEST-MD5 response of %s matches the "
	    "stored password: aborted upstream, logging in with it", s->jid);
	s->state = DS_VERIFIED;
	return NAB_HANDLED;
}

/* A rabbit <response> during the relay. */
enum nab_verdict
dr_response(struct nab_ctx *ctx, struct ds_sess *s, struct nab_stanza *st)
{
	const char	*text, *pw, *why = "?";
	char		 out[2048];

	if (s->state != DS_RELAY_CHALLENGED) {
		if (s->state == DS_RELAY_RSPAUTH)
			s->state = DS_RELAY_SENT;	/* A6, empty */
		return NAB_PASS;
	}
	s->state = DS_RELAY_SENT;
	if ((text = host->text(ctx, st)) == NULL || *text == '\0')
		return NAB_PASS;
	s->jid[0] = '\0';
	if (host->digest_username(ctx, text, s->user, sizeof(s->user)) == 0) {
		snprintf(s->jid, sizeof(s->jid), "%s@%s", s->user,
		    host->identity(ctx)->domain);
		pw = ds_rabbit_password(ctx, s->jid);
		if (pw == NULL)
			host->log(ctx, NAB_LOG_INFO, "no credentials known for "
			    "%s: relaying its DIGEST-MD5 to the server, which "
			    "decides (if it refuses, add them with: nabproxy "
			    "credentials add %s)", s->jid, s->jid);
		else if (s->nonce[0] != '\0' && host->digest_verify(ctx, text,
		    s->user, pw, s->nonce, out, sizeof(out), &why) == 0 &&
		    (pw = host->cred_get(ctx, s->jid)) != NULL)
			return dr_verified(ctx, s, pw, out);
		else
			host->log(ctx, NAB_LOG_WARN, "DIGEST-MD5 response of %s "
			    "does not match the stored password (%s): relayed "
			    "to the server, which decides", s->jid, why);
	} else
		s->user[0] = '\0';
	if (host->digest_repad(ctx, text, out, sizeof(out)) == -1) {
		host->log(ctx, NAB_LOG_WARN, "the rabbit's DIGEST-MD5 response "
		    "is not base64: passed on as it is");
		return NAB_PASS;
	}
	return dr_replace(ctx, "response", out);
}
