/*
 * register: credential learning and 409 repair for in-band registration.
 *
 * jabber:iq:register (the simulator of the seed): this filter remembers
 * the username and password of the rabbit's register set, passes it to
 * the server and watches the answer:
 *  - result: the account now has this password; store it.
 *  - error 409 conflict for the rabbit's own username: the account exists.
 *    Prove the password with the host's prove_password (the stored
 *    password compared in constant time, else a login probe on a separate
 *    connection, with backoff); on success store it and answer the
 *    rabbit's set with a plain result (so the firmware follows its success
 *    path); on failure answer the 409 and log why. A password that fails
 *    upstream is never stored.
 * The host stores a password only for the account this connection proved
 * (a registration result the server gave this connection proves it too),
 * and refuses register sets on a stream nabproxy authenticated itself.
 *
 * violet:iq:register (bootcode 18673, A2 and A3 of bootcode-xmpp.md): no
 * server understands it (Openfire 401, Prosody service-unavailable,
 * ejabberd and jabberd2 a not-authorized stream error that reboots the
 * rabbit), so it is never forwarded:
 *  - the form request (get) is answered here with a result (the firmware
 *    reads only its type);
 *  - the set carries XPW = nibble(pw) XOR nibble(MAC hex); pw is
 *    recovered the same way (the operation is its own inverse), and that
 *    is what the rabbit logs in with. nabproxy registers the account
 *    upstream with a jabber:iq:register set of MAC/pw on the rabbit's own
 *    server stream. A result stores pw. An error (409: the account
 *    exists; or registration refused) is followed by a login probe with
 *    pw: success stores pw. Only a stored pw gets the rabbit a result;
 *    otherwise it gets an error (the firmware shows its registration
 *    error, red, until rebooted) and the log says why. A password is
 *    stored only once the server accepted it, and never replaced by one
 *    that does not log in.
 * A proof that judged nothing (server down, timeout, backoff) answers
 * neither result nor error: the rabbit's stream is closed
 * (remote-connection-failed) and it registers again after its reboot.
 * Nothing else changes on the server.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nabproxy/filter.h>

#define NS_REGISTER	"jabber:iq:register"
#define NS_VREGISTER	"violet:iq:register"
#define NS_STANZAS	"urn:ietf:params:xml:ns:xmpp-stanzas"
#define REG_JID_MAX	300		/* USER@DOMAIN, NUL included */

static const struct nab_host	*host;

/* Where a violet:iq:register set stands. */
enum reg_violet {
	RV_NONE = 0,
	RV_IBR,			/* our jabber:iq:register set is upstream */
	RV_PROBE		/* login probe with the rabbit's password */
};

struct reg_sess {
	char		 id[64];	/* id of the pending register set */
	char		 user[128];
	char		*password;	/* wiped on free */
	int		 pending;
	int		 probing;
	int		 was_result;	/* the server said result, not 409 */
	char		 err_from[256];
	char		 err_to[256];
	char		 err_id[64];

	/* violet:iq:register, answered here. */
	enum reg_violet	 vstate;
	char		 v_id[64];	/* the rabbit's set */
	char		 v_ibr[32];	/* our jabber:iq:register set */
	char		 v_user[128];
	char		 v_cond[64];	/* the server's refusal, for the log */
	char		*v_pw;		/* wiped on free */
	unsigned	 v_count;
};

static const struct nab_setting reg_settings[] = { NAB_SETTINGS_END };

static int
reg_init(const struct nab_host *h, const struct nab_kv *kv, size_t n,
    void **state, char *err, size_t errlen)
{
	host = h;
	return 0;
}

static int	mac_norm(const char *, char [13]);
static void	v_forget(struct reg_sess *);
static int	v_answer(struct nab_ctx *, const char *, const char *,
		    const char *);
static void	v_finish(struct nab_ctx *, struct reg_sess *, int,
		    const char *);
static void	v_probe_done(struct nab_ctx *, const struct nab_login_result *,
		    void *);
static void	v_start_probe(struct nab_ctx *, struct reg_sess *);
static enum nab_verdict v_rabbit(struct nab_ctx *, struct reg_sess *,
		    struct nab_stanza *, struct nab_stanza *, const char *);
static enum nab_verdict v_server(struct nab_ctx *, struct reg_sess *,
		    struct nab_stanza *);

/* The host's proof service (ABI 1.2), or a plain probe on an older host. */
static int
prove(struct nab_ctx *ctx, const char *user, const char *pw, nab_login_cb *cb)
{
	if (NAB_HAS_SERVICE(host, prove_password))
		return host->prove_password(ctx, user, pw, cb, NULL);
	return host->login_probe(ctx, user, pw, cb, NULL);
}

static void
forget(struct reg_sess *s)
{
	if (s->password != NULL) {
		explicit_bzero(s->password, strlen(s->password));
		free(s->password);
		s->password = NULL;
	}
	s->pending = 0;
}

/* The host frees the session block; the passwords in it are wiped here. */
static void
reg_close(struct nab_ctx *ctx, const char *reason)
{
	struct reg_sess	*s = host->get_data(ctx);

	forget(s);
	v_forget(s);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The identity's MAC (filter.h: 12 lowercase hex digits) from a register
 * username: 0 with out set, or -1 if s is not 12 hex digits. Nothing else
 * may become the MAC: it names the rabbit's log file under log-dir.
 */
static int
mac_norm(const char *s, char out[13])
{
	int	i;

	if (strlen(s) != 12)
		return -1;
	for (i = 0; i < 12; i++) {
		if (hexval(s[i]) < 0)
			return -1;
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	out[12] = '\0';
	return 0;
}

/*
 * pw = XPW xor MAC, nibble by nibble, as lowercase hex. -1 if either is
 * not 12 hex digits.
 */
static int
unxor(const char *xpw, const char *mac, char out[13])
{
	int	i, a, b;

	if (strlen(xpw) != 12 || strlen(mac) != 12)
		return -1;
	for (i = 0; i < 12; i++) {
		if ((a = hexval(xpw[i])) < 0 || (b = hexval(mac[i])) < 0)
			return -1;
		out[i] = "0123456789abcdef"[a ^ b];
	}
	out[12] = '\0';
	return 0;
}

/*
 * The rabbit's jabber:iq:register set: remember username and password.
 * Not while a login probe proves an earlier set (its result must store
 * the password it proved, for the account it proved it for), and never
 * cut short: a username or id that does not fit is not learned.
 */
static void
on_rabbit_set(struct nab_ctx *ctx, struct reg_sess *s, struct nab_stanza *st,
    struct nab_stanza *q)
{
	const struct nab_identity	*ident = host->identity(ctx);
	struct nab_stanza		*u = host->child(q, "username", NULL);
	struct nab_stanza		*p = host->child(q, "password", NULL);
	const char			*id = host->attr(st, "id"), *user, *pw;
	char				 mac[13];

	if (u == NULL || p == NULL || id == NULL)
		return;
	user = host->text(ctx, u);
	pw = host->text(ctx, p);
	if (user == NULL || pw == NULL || *user == '\0' || *pw == '\0')
		return;
	if (s->probing) {
		host->log(ctx, NAB_LOG_WARN, "rabbit sent another register set "
		    "while a login probe checks its last one: not learned");
		return;
	}
	if (strlen(id) >= sizeof(s->id) || strlen(user) >= sizeof(s->user) ||
	    strlen(user) + 1 + strlen(ident->domain) >= REG_JID_MAX) {
		host->log(ctx, NAB_LOG_WARN, "register set with an overlong "
		    "id, username or domain: not learned");
		return;
	}
	forget(s);
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->user, sizeof(s->user), "%s", user);
	s->password = strdup(pw);
	s->pending = s->password != NULL;
	if (mac_norm(user, mac) == 0)
		host->set_identity(ctx, mac, NULL, NULL);
}

/*
 * Answer the rabbit's pending set ourselves, with the id and addressing of
 * the server's answer: a result, or (conflict) the 409 error.
 */
static void
answer(struct nab_ctx *ctx, struct reg_sess *s, int conflict)
{
	struct nab_stanza	*iq, *e, *c;

	if ((iq = host->stanza_new(ctx, "iq")) == NULL ||
	    host->set_attr(ctx, iq, "type", conflict ? "error" : "result") ||
	    host->set_attr(ctx, iq, "id", s->err_id) ||
	    (*s->err_from && host->set_attr(ctx, iq, "from", s->err_from)) ||
	    (*s->err_to && host->set_attr(ctx, iq, "to", s->err_to)))
		return;
	if (conflict &&
	    ((e = host->add_child(ctx, iq, "error")) == NULL ||
	    host->set_attr(ctx, e, "code", "409") == -1 ||
	    host->set_attr(ctx, e, "type", "cancel") == -1 ||
	    (c = host->add_child(ctx, e, "conflict")) == NULL ||
	    host->set_attr(ctx, c, "xmlns", NS_STANZAS) == -1))
		return;
	host->inject(ctx, NAB_FROM_SERVER, iq);
}

/*
 * A proof that judged nothing (the server down or restarting, a timeout,
 * the probes backing off): no answer would be true, and an error leaves
 * the firmware red until rebooted. Close the stream instead: the rabbit
 * reboots and registers again. 1 if closed.
 */
static int
not_judged(struct nab_ctx *ctx, const struct nab_login_result *r,
    const char *jid)
{
	if (r->ok || !r->transient)
		return 0;
	host->log(ctx, NAB_LOG_WARN, "the password registered for %s could "
	    "not be proven (%s: %s): closing the rabbit's stream so it "
	    "registers again later", jid, r->mechanism ? r->mechanism : "?",
	    r->reason ? r->reason : "?");
	host->close_with(ctx, "remote-connection-failed",
	    r->reason ? r->reason : "password not judged");
	return 1;
}

static void
probe_done(struct nab_ctx *ctx, const struct nab_login_result *r, void *arg)
{
	struct reg_sess			*s = host->get_data(ctx);
	const struct nab_identity	*id = host->identity(ctx);
	char				 jid[REG_JID_MAX];

	s->probing = 0;
	snprintf(jid, sizeof(jid), "%s@%s", s->user, id->domain);
	if (NAB_HAS_SERVICE(host, prove_password) && not_judged(ctx, r, jid)) {
		forget(s);
		return;
	}
	if (r->ok) {
		host->cred_put(ctx, jid, s->password);
		if (s->was_result)
			host->log(ctx, NAB_LOG_INFO, "%s registered and its "
			    "password proven (%s)", jid, r->mechanism);
		else
			host->log(ctx, NAB_LOG_INFO, "409 repaired: %s exists "
			    "and the rabbit's password works (%s); answering "
			    "its register with a result", jid, r->mechanism);
		answer(ctx, s, 0);
	} else if (s->was_result) {
		/* The server's own word goes on; nothing is stored. */
		host->log(ctx, NAB_LOG_WARN, "the server answered the register "
		    "set for %s with a result, but the password does not log "
		    "in (%s: %s); nothing stored", jid, r->mechanism, r->reason);
		answer(ctx, s, 0);
	} else {
		host->log(ctx, NAB_LOG_WARN, "409 kept: the password the rabbit "
		    "submitted for %s does not log in (%s: %s); nothing stored",
		    jid, r->mechanism, r->reason);
		answer(ctx, s, 1);
	}
	forget(s);
}

/*
 * The server's answer to the pending set: a result or a 409 conflict is
 * held back while the submitted password is proven (host prove_password:
 * a result alone proves nothing, since a peer can make the server answer
 * another iq with the same id), then answered by probe_done().
 */
static enum nab_verdict
on_server_answer(struct nab_ctx *ctx, struct reg_sess *s,
    struct nab_stanza *st)
{
	const struct nab_identity	*id = host->identity(ctx);
	const char			*type = host->attr(st, "type");
	const char			*from = host->attr(st, "from");
	const char			*to = host->attr(st, "to");
	struct nab_stanza		*e;
	char				 jid[REG_JID_MAX];

	snprintf(jid, sizeof(jid), "%s@%s", s->user, id->domain);
	s->was_result = type != NULL && strcmp(type, "result") == 0;
	if (!s->was_result && (type == NULL || strcmp(type, "error") != 0 ||
	    (e = host->child(st, "error", NULL)) == NULL ||
	    host->child(e, "conflict", NS_STANZAS) == NULL)) {
		forget(s);
		return NAB_PASS;
	}
	snprintf(s->err_id, sizeof(s->err_id), "%s", s->id);
	snprintf(s->err_from, sizeof(s->err_from), "%s", from ? from : "");
	snprintf(s->err_to, sizeof(s->err_to), "%s", to ? to : "");
	host->log(ctx, NAB_LOG_INFO, "%s for %s: proving the submitted "
	    "password", s->was_result ? "registered" : "409 conflict", jid);
	/* Set first: the answer may come before prove() returns. */
	s->probing = 1;
	if (prove(ctx, s->user, s->password, probe_done) == -1) {
		s->probing = 0;
		host->log(ctx, NAB_LOG_WARN, "answer for %s passed on: cannot "
		    "prove the password", jid);
		forget(s);
		return NAB_PASS;
	}
	return NAB_DROP;
}

static void
v_forget(struct reg_sess *s)
{
	if (s->v_pw != NULL) {
		explicit_bzero(s->v_pw, strlen(s->v_pw));
		free(s->v_pw);
		s->v_pw = NULL;
	}
	s->vstate = RV_NONE;
}

/*
 * Answer the rabbit's violet:iq:register get or set with id: a result
 * (cond NULL) or an error with that stanza condition. 0, or -1 on ENOMEM.
 */
static int
v_answer(struct nab_ctx *ctx, const char *id, const char *type,
    const char *cond)
{
	const struct nab_identity	*ident = host->identity(ctx);
	struct nab_stanza		*iq, *e, *c;

	if ((iq = host->stanza_new(ctx, "iq")) == NULL ||
	    host->set_attr(ctx, iq, "type", type) == -1 ||
	    (*id != '\0' && host->set_attr(ctx, iq, "id", id) == -1) ||
	    (ident->domain[0] != '\0' &&
	    host->set_attr(ctx, iq, "from", ident->domain) == -1))
		return -1;
	if (cond != NULL &&
	    ((e = host->add_child(ctx, iq, "error")) == NULL ||
	    host->set_attr(ctx, e, "type", "cancel") == -1 ||
	    (c = host->add_child(ctx, e, cond)) == NULL ||
	    host->set_attr(ctx, c, "xmlns", NS_STANZAS) == -1))
		return -1;
	return host->inject(ctx, NAB_FROM_SERVER, iq);
}

/*
 * End of a violet registration: store the password and answer result
 * (ok), or answer an error and log what to do.
 */
static void
v_finish(struct nab_ctx *ctx, struct reg_sess *s, int ok, const char *why)
{
	const struct nab_identity	*id = host->identity(ctx);
	char				 jid[REG_JID_MAX];

	snprintf(jid, sizeof(jid), "%s@%s", s->v_user, id->domain);
	if (ok && host->cred_put(ctx, jid, s->v_pw) == -1) {
		ok = 0;
		why = "the credential store refused it";
	}
	if (ok) {
		host->log(ctx, NAB_LOG_INFO, "violet registration of %s done "
		    "(%s): password stored, answering the rabbit with a result",
		    jid, why);
		v_answer(ctx, s->v_id, "result", NULL);
	} else {
		host->log(ctx, NAB_LOG_WARN, "violet registration of %s failed: "
		    "%s; the rabbit gets an error and shows its registration "
		    "error until rebooted. If the account exists with another "
		    "password, remove it on the server (the next registration "
		    "creates it again), or make the server accept in-band "
		    "registration", jid, why);
		v_answer(ctx, s->v_id, "error", "not-authorized");
	}
	v_forget(s);
}

static void
v_probe_done(struct nab_ctx *ctx, const struct nab_login_result *r,
    void *arg)
{
	struct reg_sess			*s = host->get_data(ctx);
	const struct nab_identity	*id = host->identity(ctx);
	char				 why[256];

	if (s->vstate != RV_PROBE)
		return;
	snprintf(why, sizeof(why), "%s@%s", s->v_user, id->domain);
	if (NAB_HAS_SERVICE(host, prove_password) && not_judged(ctx, r, why)) {
		v_forget(s);
		return;
	}
	if (r->ok) {
		v_finish(ctx, s, 1, strcmp(s->v_cond, "registered") == 0 ?
		    "registered upstream, the password proven by a login" :
		    "the account exists and the rabbit's password logs in");
		return;
	}
	if (strcmp(s->v_cond, "registered") == 0)
		snprintf(why, sizeof(why), "the server answered the "
		    "registration with a result, but the rabbit's password "
		    "does not log in (%s: %s)", r->mechanism, r->reason);
	else
		snprintf(why, sizeof(why), "the server refused to register it "
		    "(%s) and the rabbit's password does not log in (%s: %s)",
		    s->v_cond, r->mechanism, r->reason);
	v_finish(ctx, s, 0, why);
}

static void
v_start_probe(struct nab_ctx *ctx, struct reg_sess *s)
{
	s->vstate = RV_PROBE;
	if (prove(ctx, s->v_user, s->v_pw, v_probe_done) == -1)
		v_finish(ctx, s, 0, "cannot prove the password");
}

/*
 * The rabbit's violet:iq:register get (A2) or set (A3); never forwarded.
 */
static enum nab_verdict
v_rabbit(struct nab_ctx *ctx, struct reg_sess *s, struct nab_stanza *st,
    struct nab_stanza *q, const char *type)
{
	struct nab_stanza	*u = host->child(q, "username", NULL);
	struct nab_stanza	*p = host->child(q, "password", NULL);
	struct nab_stanza	*iq, *rq, *c;
	const char		*id = host->attr(st, "id"), *user, *xpw;
	char			 clear[13], mac[13];

	if (id == NULL || strlen(id) >= sizeof(s->v_id))
		id = "";
	if (strcmp(type, "get") == 0) {
		v_answer(ctx, id, "result", NULL);
		return NAB_HANDLED;
	}
	if (strcmp(type, "set") != 0)
		return NAB_DROP;
	if (s->vstate != RV_NONE) {
		host->log(ctx, NAB_LOG_WARN, "rabbit sent another violet "
		    "registration while one runs: ignored");
		return NAB_DROP;
	}
	user = u ? host->text(ctx, u) : NULL;
	xpw = p ? host->text(ctx, p) : NULL;
	if (user == NULL || xpw == NULL || *user == '\0' ||
	    strlen(user) >= sizeof(s->v_user) ||
	    unxor(xpw, user, clear) == -1) {
		host->log(ctx, NAB_LOG_WARN, "violet registration without a "
		    "MAC username and a 12-digit obfuscated password: refused");
		v_answer(ctx, id, "error", "bad-request");
		return NAB_HANDLED;
	}
	snprintf(s->v_id, sizeof(s->v_id), "%s", id);
	snprintf(s->v_user, sizeof(s->v_user), "%s", user);
	s->v_pw = strdup(clear);
	explicit_bzero(clear, sizeof(clear));
	if (s->v_pw == NULL) {
		v_answer(ctx, id, "error", "internal-server-error");
		return NAB_HANDLED;
	}
	if (mac_norm(user, mac) == 0)
		host->set_identity(ctx, mac, NULL, "bootcode-18673");
	snprintf(s->v_cond, sizeof(s->v_cond), "no answer");
	snprintf(s->v_ibr, sizeof(s->v_ibr), "nabreg%u", ++s->v_count);
	/* Register (or, on an authenticated stream, change) upstream. */
	if ((iq = host->stanza_new(ctx, "iq")) == NULL ||
	    host->set_attr(ctx, iq, "type", "set") == -1 ||
	    host->set_attr(ctx, iq, "id", s->v_ibr) == -1 ||
	    (rq = host->add_child(ctx, iq, "query")) == NULL ||
	    host->set_attr(ctx, rq, "xmlns", NS_REGISTER) == -1 ||
	    (c = host->add_child(ctx, rq, "username")) == NULL ||
	    host->add_text(ctx, c, s->v_user) == -1 ||
	    (c = host->add_child(ctx, rq, "password")) == NULL ||
	    host->add_text(ctx, c, s->v_pw) == -1 ||
	    host->inject(ctx, NAB_FROM_RABBIT, iq) == -1) {
		snprintf(s->v_cond, sizeof(s->v_cond), "not sent");
		v_start_probe(ctx, s);
		return NAB_HANDLED;
	}
	s->vstate = RV_IBR;
	host->log(ctx, NAB_LOG_INFO, "violet registration of %s: registering "
	    "it upstream with jabber:iq:register", s->v_user);
	return NAB_HANDLED;
}

/* The server's answer to our jabber:iq:register set; never forwarded. */
static enum nab_verdict
v_server(struct nab_ctx *ctx, struct reg_sess *s, struct nab_stanza *st)
{
	struct nab_stanza	*e, *c;
	const char		*type = host->attr(st, "type");

	/* A result alone proves nothing (see on_server_answer): prove it. */
	snprintf(s->v_cond, sizeof(s->v_cond), "error");
	if (type != NULL && strcmp(type, "result") == 0) {
		snprintf(s->v_cond, sizeof(s->v_cond), "registered");
		v_start_probe(ctx, s);
		return NAB_DROP;
	}
	if ((e = host->child(st, "error", NULL)) != NULL)
		for (c = host->child(e, NULL, NS_STANZAS); c != NULL;
		    c = host->next(c))
			if (strcmp(host->name(c), "text") != 0) {
				snprintf(s->v_cond, sizeof(s->v_cond), "%s",
				    host->name(c));
				break;
			}
	v_start_probe(ctx, s);
	return NAB_DROP;
}

static enum nab_verdict
reg_stanza(struct nab_ctx *ctx, enum nab_dir d, struct nab_stanza *st)
{
	struct reg_sess		*s = host->get_data(ctx);
	struct nab_stanza	*q;
	const char		*type, *id;

	if (strcmp(host->name(st), "iq") != 0)
		return NAB_PASS;
	type = host->attr(st, "type");
	if (d == NAB_FROM_RABBIT) {
		if ((q = host->child(st, "query", NS_VREGISTER)) != NULL &&
		    type != NULL)
			return v_rabbit(ctx, s, st, q, type);
		if ((q = host->child(st, "query", NS_REGISTER)) != NULL &&
		    type != NULL && strcmp(type, "set") == 0)
			on_rabbit_set(ctx, s, st, q);
		return NAB_PASS;
	}
	id = host->attr(st, "id");
	if (s->vstate == RV_IBR && id != NULL && strcmp(id, s->v_ibr) == 0)
		return v_server(ctx, s, st);
	if (!s->pending || s->probing || id == NULL || strcmp(id, s->id) != 0)
		return NAB_PASS;
	return on_server_answer(ctx, s, st);
}

const struct nab_filter nab_builtin_register = {
	NAB_FILTER_INIT,
	.name = "register",
	.version = "1.2",
	.description = "learn rabbit passwords from registration; repair 409 "
	    "for existing accounts; answer violet:iq:register",
	.init = reg_init,
	.settings = reg_settings,
	.session_size = sizeof(struct reg_sess),
	.on_close = reg_close,
	.on_stanza = reg_stanza,
};
