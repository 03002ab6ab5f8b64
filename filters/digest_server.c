/*
 * digest-server: the firmware's SASL DIGEST-MD5, relayed to a server that
 * offers it or terminated here with an upstream login on its behalf.
 *
 * Bootcode 18673 always sends <auth mechanism='DIGEST-MD5'/>, whatever the
 * server offers, and its DIGEST-MD5 is one no modern server completes
 * (short base64 padding, a NUL after the cnonce, a challenge parser that
 * needs qop="auth" and no ", " separators; Prosody offers no DIGEST-MD5 at
 * all). bootcode-xmpp.md section 3, servers.md.
 *
 * Relay (digest_relay.c): when the server's latest features offer
 * DIGEST-MD5 and the host has the ABI 1.2 relay services, the <auth> goes
 * upstream. The server's <challenge> reaches the rabbit rewritten into the
 * form it parses (digest_relay_challenge), and its nonce is kept. The
 * rabbit's <response>: if the store has a password for USER@DOMAIN and the
 * response matches it against the server's nonce (digest_verify; the
 * realm the rabbit echoed is part of A1), <abort> goes upstream, the
 * server's <failure><aborted> is swallowed and the local path below takes
 * over from the rspauth on (jabberd2 refuses the firmware's NUL cnonce;
 * a known password never depends on the server's DIGEST-MD5). Otherwise
 * the response goes upstream re-padded (digest_repad). ejabberd's rspauth
 * <challenge> is re-encoded canonically, the rabbit's empty <response/>
 * passes, and the server's <success> or <failure> passes as it is (the
 * host notices the success; a relayed login stores nothing). A challenge
 * the firmware cannot answer is aborted upstream and answered locally.
 *
 * Local (the server lacks DIGEST-MD5, or the relay handed over):
 *
 *   rabbit <auth mechanism='DIGEST-MD5'/>   -> <challenge> (nonce, qop, ...)
 *   rabbit <response>B64</response>        -> verify against the password
 *                                             stored for USER@DOMAIN, then
 *                                             <challenge>rspauth</challenge>
 *   rabbit <response/> (empty)             -> hold the rabbit, log in
 *                                             upstream with the stored
 *                                             password (host upstream_login;
 *                                             after a relay, once the server
 *                                             confirmed our <abort>)
 *   login succeeded                        -> <success ...></success>, the
 *                                             rabbit restarts its stream
 *   rabbit's new stream header             -> dropped (the server stream
 *                                             was restarted by the login);
 *                                             the rabbit gets a header and
 *                                             the server's post-login
 *                                             features in one write, then
 *                                             the hold is released.
 *
 * An unknown user, a wrong password or a refused upstream login gets
 * <failure><not-authorized></not-authorized></failure> and a log line
 * saying what the operator can run (nabproxy credentials add MAC@DOMAIN);
 * nothing of a local exchange reaches the server. An upstream login that
 * failed without judging the password (the host's `transient`: server
 * unreachable or restarting, timeout, TLS) never gets <failure>, which
 * would make the firmware throw its password away and re-register: the
 * stream is closed with remote-connection-failed instead, so the rabbit
 * reboots and retries with its stored password. Every element this filter
 * sends the rabbit has an end tag: the firmware misreads the
 * attribute-less <x/> (section 7.2).
 *
 * Other mechanisms (a client that is not the firmware) pass untouched.
 * The filter has no settings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nabproxy/filter.h>

#include "digest_server.h"

#define NS_BIND		"urn:ietf:params:xml:ns:xmpp-bind"

/* The header and features sent to the rabbit after <success>: bounded. */
#define DS_STREAM_MAX	(32 * 1024)

/* A bounded byte string built for one write. */
struct ds_buf {
	char	*b;
	size_t	 len, cap;
	int	 err;
};

static const struct nab_host	*host;

static int	ds_init(const struct nab_host *, const struct nab_kv *, size_t,
		    void **, char *, size_t);
static void	ds_close(struct nab_ctx *, const char *);
static void	ds_unhold(struct nab_ctx *, struct ds_sess *);
static enum nab_verdict ds_auth(struct nab_ctx *, struct ds_sess *,
		    struct nab_stanza *);
static enum nab_verdict ds_response(struct nab_ctx *, struct ds_sess *,
		    struct nab_stanza *);
static enum nab_verdict ds_verify(struct nab_ctx *, struct ds_sess *,
		    const char *);
static enum nab_verdict ds_login(struct nab_ctx *, struct ds_sess *);
static void	ds_login_done(struct nab_ctx *, const struct nab_login_result *,
		    void *);
static void	ds_succeed(struct nab_ctx *, struct ds_sess *);
static int	ds_send_stream(struct nab_ctx *, struct ds_sess *);
static void	buf_add(struct ds_buf *, const char *, size_t);
static void	buf_str(struct ds_buf *, const char *);
static int	attr_safe(const char *);
static enum nab_verdict ds_stanza(struct nab_ctx *, enum nab_dir,
		    struct nab_stanza *);
static enum nab_verdict ds_header(struct nab_ctx *, enum nab_dir,
		    struct nab_stanza *);

static const struct nab_setting ds_settings[] = { NAB_SETTINGS_END };

/* Needs the ABI 1.1 services. 0, or -1 with err. */
static int
ds_init(const struct nab_host *h, const struct nab_kv *kv, size_t n,
    void **state, char *err, size_t errlen)
{
	host = h;
	if (!NAB_HAS_SERVICE(h, digest_verify)) {
		snprintf(err, errlen, "digest-server needs filter ABI 1.1 "
		    "services (this host offers %u.%u)", h->abi_major,
		    h->abi_minor);
		return -1;
	}
	dr_init(h);
	return 0;
}

/*
 * Session end: the host cancels our login callback and frees the session
 * block; wipe the password in it.
 */
static void
ds_close(struct nab_ctx *ctx, const char *reason)
{
	ds_forget(host->get_data(ctx));
}

void
ds_forget(struct ds_sess *s)
{
	if (s->password != NULL) {
		explicit_bzero(s->password, strlen(s->password));
		free(s->password);
		s->password = NULL;
	}
}

static void
ds_unhold(struct nab_ctx *ctx, struct ds_sess *s)
{
	if (s->held) {
		s->held = 0;
		host->release(ctx);
	}
}

/*
 * Send the rabbit <name xmlns=SASL>[<child></child>|text]</name>: never
 * self-closing. 0, or -1 on ENOMEM (logged).
 */
int
ds_send_sasl(struct nab_ctx *ctx, const char *name, const char *child,
    const char *text)
{
	struct nab_stanza	*st;

	if ((st = ds_sasl_stanza(ctx, name, text)) == NULL ||
	    (child != NULL && host->add_child(ctx, st, child) == NULL) ||
	    host->inject(ctx, NAB_FROM_SERVER, st) == -1) {
		host->log(ctx, NAB_LOG_WARN, "cannot send the rabbit <%s>: out "
		    "of memory", name);
		return -1;
	}
	return 0;
}

/*
 * A new <name xmlns=SASL>text</name> (no text if text is NULL or ""),
 * host-owned until handed to inject() or replace(); NULL on ENOMEM.
 */
struct nab_stanza *
ds_sasl_stanza(struct nab_ctx *ctx, const char *name, const char *text)
{
	struct nab_stanza	*st;

	if ((st = host->stanza_new(ctx, name)) == NULL ||
	    host->set_attr(ctx, st, "xmlns", NS_SASL) == -1 ||
	    (text != NULL && *text != '\0' &&
	    host->add_text(ctx, st, text) == -1))
		return NULL;
	return st;
}

/* SASL failure toward the rabbit; the exchange starts over. */
void
ds_fail(struct nab_ctx *ctx, struct ds_sess *s)
{
	ds_send_sasl(ctx, "failure", "not-authorized", NULL);
	ds_forget(s);
	ds_unhold(ctx, s);
	s->state = DS_IDLE;
}

/*
 * Nothing was judged about the password: close the stream (the rabbit
 * reboots and logs in again with its password) instead of ds_fail()'s
 * <failure>, which would make the firmware throw the password away.
 */
static void
ds_not_judged(struct nab_ctx *ctx, struct ds_sess *s, const char *why)
{
	host->close_with(ctx, "remote-connection-failed", why);
	ds_forget(s);
	ds_unhold(ctx, s);
	s->state = DS_IDLE;
}

/* <auth mechanism='DIGEST-MD5'/>: answer with our challenge. */
static enum nab_verdict
ds_auth(struct nab_ctx *ctx, struct ds_sess *s, struct nab_stanza *st)
{
	const char	*mech = host->attr(st, "mechanism");

	if (mech == NULL || strcmp(mech, "DIGEST-MD5") != 0)
		return NAB_PASS;	/* not the firmware: the server decides */
	if (s->state == DS_LOGGING_IN || s->state == DS_WAIT_HEADER ||
	    s->aborting) {
		host->log(ctx, NAB_LOG_WARN, "rabbit restarted SASL while its "
		    "login runs: ignored");
		return NAB_DROP;
	}
	ds_forget(s);
	if (dr_possible(ctx)) {
		host->log(ctx, NAB_LOG_INFO, "the server offers DIGEST-MD5: "
		    "relaying the rabbit's login, repaired in transit");
		s->state = DS_RELAY_AUTH;
		return NAB_PASS;
	}
	return ds_local_challenge(ctx, s);
}

/* Our own challenge to the rabbit: DIGEST-MD5 terminated here. */
enum nab_verdict
ds_local_challenge(struct nab_ctx *ctx, struct ds_sess *s)
{
	char	b64[512];

	if (host->digest_challenge(ctx, s->nonce, sizeof(s->nonce), b64,
	    sizeof(b64)) == -1) {
		host->log(ctx, NAB_LOG_WARN, "cannot make a DIGEST-MD5 "
		    "challenge");
		ds_fail(ctx, s);
		return NAB_HANDLED;
	}
	if (ds_send_sasl(ctx, "challenge", NULL, b64) == -1) {
		s->state = DS_IDLE;
		return NAB_HANDLED;
	}
	s->state = DS_CHALLENGED;
	return NAB_HANDLED;
}

/* A <response>: the digest-response, or the empty one after rspauth. */
static enum nab_verdict
ds_response(struct nab_ctx *ctx, struct ds_sess *s, struct nab_stanza *st)
{
	const char	*text;

	switch (s->state) {
	case DS_CHALLENGED:
		if ((text = host->text(ctx, st)) == NULL) {
			ds_fail(ctx, s);
			return NAB_HANDLED;
		}
		return ds_verify(ctx, s, text);
	case DS_VERIFIED:
		return ds_login(ctx, s);
	case DS_RELAY_AUTH:
	case DS_RELAY_CHALLENGED:
	case DS_RELAY_SENT:
	case DS_RELAY_RSPAUTH:
		return dr_response(ctx, s, st);
	case DS_IDLE:
	case DS_DONE:
		return NAB_PASS;	/* an exchange with the server */
	default:
		host->log(ctx, NAB_LOG_WARN, "unexpected SASL response while "
		    "the rabbit's login runs: ignored");
		return NAB_DROP;
	}
}

/*
 * What the rabbit proves itself with for jid (ABI 1.3 rabbit_password:
 * its own password after an operator's allow-register), else the stored
 * password.
 */
const char *
ds_rabbit_password(struct nab_ctx *ctx, const char *jid)
{
	if (NAB_HAS_SERVICE(host, rabbit_password))
		return host->rabbit_password(ctx, jid);
	return host->cred_get(ctx, jid);
}

/*
 * Check the rabbit's digest-response against the stored password of
 * USER@DOMAIN (the session's domain: the stream's `to`). On success the
 * rabbit gets rspauth in a <challenge> and the password is kept for the
 * upstream login.
 */
static enum nab_verdict
ds_verify(struct nab_ctx *ctx, struct ds_sess *s, const char *b64)
{
	const struct nab_identity	*id = host->identity(ctx);
	const char			*pw, *why = "?";
	char				 out[256];
	int				 verdict;

	if (host->digest_username(ctx, b64, s->user, sizeof(s->user)) == -1) {
		host->log(ctx, NAB_LOG_WARN, "rabbit's DIGEST-MD5 response is "
		    "unreadable: refused");
		ds_fail(ctx, s);
		return NAB_HANDLED;
	}
	snprintf(s->jid, sizeof(s->jid), "%s@%s", s->user, id->domain);
	if ((pw = ds_rabbit_password(ctx, s->jid)) == NULL) {
		host->log(ctx, NAB_LOG_WARN, "no credentials known for %s: "
		    "its DIGEST-MD5 login is refused; add them with: nabproxy "
		    "credentials add %s (a bootcode rabbit re-registers after "
		    "the refusal, and the register filter learns its new "
		    "password if the server accepts it)", s->jid, s->jid);
		ds_fail(ctx, s);
		return NAB_HANDLED;
	}
	verdict = host->digest_verify(ctx, b64, s->user, pw, s->nonce, out,
	    sizeof(out), &why);
	if (verdict == -1 && strcmp(why, NAB_REASON_BACKOFF) == 0) {
		/* Nothing judged: a <failure> would make it re-register. */
		host->log(ctx, NAB_LOG_WARN, "DIGEST-MD5 login of %s not "
		    "checked: %s; closing the rabbit's stream", s->jid, why);
		ds_not_judged(ctx, s, why);
		return NAB_CLOSE;
	}
	if (verdict == -1) {
		host->log(ctx, NAB_LOG_WARN, "DIGEST-MD5 login of %s refused: "
		    "%s (the rabbit's password is not the stored one; a "
		    "bootcode rabbit re-registers after the refusal; to set "
		    "the password by hand: nabproxy credentials add %s)",
		    s->jid, why, s->jid);
		ds_fail(ctx, s);
		return NAB_HANDLED;
	}
	/* Upstream with the server's password (the same unless the
	 * operator let the rabbit register its own). */
	if ((pw = host->cred_get(ctx, s->jid)) == NULL ||
	    ds_keep_password(ctx, s, pw) == -1 ||
	    ds_send_sasl(ctx, "challenge", NULL, out) == -1) {
		ds_fail(ctx, s);
		return NAB_HANDLED;
	}
	s->state = DS_VERIFIED;
	return NAB_HANDLED;
}

/*
 * The rabbit's response matched the stored password pw: keep a copy for
 * the upstream login and name the rabbit. 0, or -1 on ENOMEM.
 */
int
ds_keep_password(struct nab_ctx *ctx, struct ds_sess *s, const char *pw)
{
	ds_forget(s);
	if ((s->password = strdup(pw)) == NULL)
		return -1;
	if (host->identity(ctx)->mac[0] == '\0')
		host->set_identity(ctx, s->user, NULL, NULL);
	return 0;
}

/*
 * The rabbit accepted our rspauth: log in upstream with the stored
 * password while its stanzas are held. If the server stream is already
 * authenticated (another filter logged in), succeed at once.
 */
static enum nab_verdict
ds_login(struct nab_ctx *ctx, struct ds_sess *s)
{
	if (host->upstream_authenticated(ctx)) {
		ds_succeed(ctx, s);
		return NAB_HANDLED;
	}
	host->hold(ctx);
	s->held = 1;
	s->state = DS_LOGGING_IN;
	if (!s->aborting)	/* else once the server confirmed the abort */
		ds_login_start(ctx, s);
	return NAB_HANDLED;
}

/* Run the upstream login with the stored password (rabbit held). */
void
ds_login_start(struct nab_ctx *ctx, struct ds_sess *s)
{
	if (host->upstream_login(ctx, s->user, s->password, ds_login_done,
	    NULL) == -1) {
		/* Nothing judged: a <failure> would make it re-register. */
		host->log(ctx, NAB_LOG_WARN, "cannot start the upstream login "
		    "for %s (no server features yet, or a login already runs): "
		    "closing the rabbit's stream so it logs in again", s->jid);
		ds_not_judged(ctx, s, "cannot start the upstream login");
	}
}

static void
ds_login_done(struct nab_ctx *ctx, const struct nab_login_result *r,
    void *arg)
{
	struct ds_sess	*s = host->get_data(ctx);

	if (s->state != DS_LOGGING_IN)
		return;
	if (!r->ok && r->transient) {
		/* A <failure> would make the firmware re-register. */
		host->log(ctx, NAB_LOG_WARN, "upstream login for %s could not "
		    "be judged (%s: %s): closing the rabbit's stream so it "
		    "reboots and logs in again with its stored password",
		    s->jid, r->mechanism ? r->mechanism : "?",
		    r->reason ? r->reason : "?");
		ds_not_judged(ctx, s, r->reason ? r->reason :
		    "upstream login not judged");
		return;
	}
	if (!r->ok) {
		host->log(ctx, NAB_LOG_WARN, "upstream login for %s failed (%s: "
		    "%s): the rabbit's login is refused; if the account's "
		    "password changed on the server, set it with: nabproxy "
		    "credentials add %s", s->jid, r->mechanism, r->reason,
		    s->jid);
		ds_fail(ctx, s);
		return;
	}
	host->log(ctx, NAB_LOG_INFO, "authenticated upstream as %s with %s; "
	    "the rabbit's DIGEST-MD5 succeeds", s->jid, r->mechanism);
	ds_succeed(ctx, s);
}

/*
 * <success> to the rabbit (with an end tag: the attribute-less form is
 * misread), then its parser restarts and we wait for its new header. The
 * hold stays until that header is answered.
 */
static void
ds_succeed(struct nab_ctx *ctx, struct ds_sess *s)
{
	ds_forget(s);
	if (ds_send_sasl(ctx, "success", NULL, NULL) == -1) {
		ds_unhold(ctx, s);
		s->state = DS_IDLE;
		return;
	}
	host->restart_rabbit(ctx);
	s->state = DS_WAIT_HEADER;
}

static void
buf_add(struct ds_buf *b, const char *p, size_t n)
{
	size_t	ncap;
	char	*nb;

	if (b->err)
		return;
	if (b->len + n + 1 > DS_STREAM_MAX) {
		b->err = 1;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 1024;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if ((nb = realloc(b->b, ncap)) == NULL) {
			b->err = 1;
			return;
		}
		b->b = nb;
		b->cap = ncap;
	}
	memcpy(b->b + b->len, p, n);
	b->len += n;
	b->b[b->len] = '\0';
}

static void
buf_str(struct ds_buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* 1 if s can go between single quotes as it is (no escaping needed). */
static int
attr_safe(const char *s)
{
	return *s != '\0' && strpbrk(s, "'\"<>& \t\r\n") == NULL;
}

/*
 * The rabbit's new stream: our header and the server's post-login
 * features, built here and sent in one write (the firmware looks for
 * <stream:stream ...> within one TCP segment). The features keep what the
 * server offers except <mechanisms> (the firmware would start SASL again)
 * and prefixed extensions (their namespace declarations live on the
 * server's root, and the firmware reads none of them); <bind> comes first,
 * synthesised if the server left it out. 0, or -1 (logged).
 */
static int
ds_send_stream(struct nab_ctx *ctx, struct ds_sess *s)
{
	const struct nab_identity	*id = host->identity(ctx);
	struct nab_stanza		*f, *c, *bind = NULL;
	struct ds_buf			 b = { NULL, 0, 0, 0 };
	const char			*ser, *name;
	char				 head[512];
	size_t				 n;
	int				 rc;

	snprintf(head, sizeof(head), "<?xml version='1.0'?><stream:stream "
	    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/"
	    "streams'%s%s%s id='nab%.16s' version='1.0'>",
	    attr_safe(id->domain) ? " from='" : "",
	    attr_safe(id->domain) ? id->domain : "",
	    attr_safe(id->domain) ? "'" : "", s->nonce);
	buf_str(&b, head);
	buf_str(&b, "<stream:features>");
	f = host->server_features(ctx);
	if (f != NULL)
		bind = host->child(f, "bind", NS_BIND);
	if (bind != NULL && (ser = host->serialize(ctx, bind, &n)) != NULL)
		buf_add(&b, ser, n);
	else
		buf_str(&b, "<bind xmlns='" NS_BIND "'></bind>");
	for (c = f ? host->child(f, NULL, NULL) : NULL; c != NULL;
	    c = host->next(c)) {
		name = host->name(c);
		if (c == bind || strcmp(name, "mechanisms") == 0 ||
		    strchr(name, ':') != NULL)
			continue;
		if ((ser = host->serialize(ctx, c, &n)) == NULL) {
			b.err = 1;
			break;
		}
		buf_add(&b, ser, n);
	}
	buf_str(&b, "</stream:features>");
	rc = b.err ? -1 : host->inject_raw(ctx, NAB_FROM_SERVER, b.b, b.len);
	free(b.b);
	if (rc == -1)
		host->log(ctx, NAB_LOG_WARN, "cannot send the rabbit its new "
		    "stream header and features");
	else
		host->log(ctx, NAB_LOG_INFO, "the rabbit's stream restarted: "
		    "sent it a header and the server's features (bind first, "
		    "no mechanisms) in one write");
	return rc;
}

static enum nab_verdict
ds_stanza(struct nab_ctx *ctx, enum nab_dir d, struct nab_stanza *st)
{
	struct ds_sess	*s = host->get_data(ctx);
	const char	*name, *ns;

	name = host->name(st);
	if ((ns = host->xmlns(st)) == NULL || strcmp(ns, NS_SASL) != 0)
		return NAB_PASS;
	if (d == NAB_FROM_SERVER)
		return dr_server(ctx, s, st);
	if (strcmp(name, "auth") == 0)
		return ds_auth(ctx, s, st);
	if (strcmp(name, "response") == 0)
		return ds_response(ctx, s, st);
	if (strcmp(name, "abort") == 0 &&
	    (s->state == DS_CHALLENGED || s->state == DS_VERIFIED)) {
		ds_send_sasl(ctx, "failure", "aborted", NULL);
		ds_forget(s);
		s->state = DS_IDLE;
		return NAB_HANDLED;
	}
	if (strcmp(name, "abort") == 0 && s->state >= DS_RELAY_AUTH)
		s->state = DS_IDLE;	/* the server answers it */
	return NAB_PASS;
}

/*
 * The rabbit's header after our <success>: the server already has its
 * restarted stream (the login re-sent the rabbit's first header), so this
 * one is dropped and answered here.
 */
static enum nab_verdict
ds_header(struct nab_ctx *ctx, enum nab_dir d, struct nab_stanza *hdr)
{
	struct ds_sess	*s = host->get_data(ctx);

	if (d != NAB_FROM_RABBIT || s->state != DS_WAIT_HEADER)
		return NAB_PASS;
	if (ds_send_stream(ctx, s) == -1) {
		host->close_with(ctx, "internal-server-error", "cannot answer "
		    "the rabbit's restarted stream");
		ds_unhold(ctx, s);
		return NAB_CLOSE;
	}
	s->state = DS_DONE;
	ds_unhold(ctx, s);
	return NAB_DROP;
}

const struct nab_filter nab_builtin_digest_server = {
	NAB_FILTER_INIT,
	.name = "digest-server",
	.version = "1.0",
	.description = "terminate the firmware's DIGEST-MD5 and log in upstream "
	    "for it",
	.init = ds_init,
	.settings = ds_settings,
	.session_size = sizeof(struct ds_sess),
	.on_close = ds_close,
	.on_header = ds_header,
	.on_stanza = ds_stanza,
};
