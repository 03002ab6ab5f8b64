/*
 * register: credential learning and 409 repair for in-band registration.
 *
 * The rabbit registers its account (jabber:iq:register in the simulator,
 * violet:iq:register with a nibble-XOR'd password in bootcode 18673)
 * before every login. This filter remembers the username and password of
 * the rabbit's register set and watches the server's answer:
 *  - result: the account now has this password; store it.
 *  - error 409 conflict for the rabbit's own username: the account exists.
 *    Prove the password with a login probe on a separate connection; on
 *    success store it and answer the rabbit's set with a plain result (so
 *    the firmware follows its success path); on failure pass the 409 on
 *    and log why. A password that fails upstream is never stored.
 * Nothing changes on the server.
 *
 * For violet:iq:register the password sent is XPW = nibble(pw) XOR
 * nibble(MAC hex); pw is recovered the same way (the operation is its own
 * inverse) and that is what the rabbit logs in with.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nabproxy/filter.h>

#define NS_REGISTER	"jabber:iq:register"
#define NS_VREGISTER	"violet:iq:register"
#define NS_STANZAS	"urn:ietf:params:xml:ns:xmpp-stanzas"

static const struct nab_host	*host;

struct reg_sess {
	char		 id[64];	/* id of the pending register set */
	char		 user[128];
	char		*password;	/* wiped on free */
	int		 pending;
	int		 probing;
	struct nab_stanza *error;	/* unused: errors are rebuilt */
	char		 err_from[256];
	char		 err_to[256];
	char		 err_id[64];
};

static int
reg_init(const struct nab_host *h, const struct nab_kv *kv, size_t n,
    void **state, char *err, size_t errlen)
{
	host = h;
	if (n > 0) {
		snprintf(err, errlen, "%s:%d: unknown key '%s' (register has "
		    "no settings)", kv[0].file, kv[0].line, kv[0].key);
		return -1;
	}
	*state = NULL;
	return 0;
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

static int
reg_open(struct nab_ctx *ctx)
{
	struct reg_sess	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	host->set_data(ctx, s);
	return 0;
}

static void
reg_close(struct nab_ctx *ctx)
{
	struct reg_sess	*s = host->get_data(ctx);

	forget(s);
	free(s);
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

/* The rabbit's register set: remember username and password. */
static void
on_rabbit_set(struct nab_ctx *ctx, struct reg_sess *s, struct nab_stanza *st,
    struct nab_stanza *q, int violet)
{
	struct nab_stanza	*u = host->child(q, "username", NULL);
	struct nab_stanza	*p = host->child(q, "password", NULL);
	const char		*id = host->attr(st, "id"), *user, *pw;
	char			 clear[13];

	if (u == NULL || p == NULL || id == NULL)
		return;
	user = host->text(ctx, u);
	pw = host->text(ctx, p);
	if (user == NULL || pw == NULL || *user == '\0' || *pw == '\0')
		return;
	forget(s);
	if (violet && unxor(pw, user, clear) == 0)
		pw = clear;
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->user, sizeof(s->user), "%s", user);
	s->password = strdup(pw);
	explicit_bzero(clear, sizeof(clear));
	s->pending = s->password != NULL;
	host->set_identity(ctx, user, NULL, violet ? "bootcode-18673" : NULL);
}

static void
probe_done(struct nab_ctx *ctx, const struct nab_login_result *r, void *arg)
{
	struct reg_sess			*s = host->get_data(ctx);
	const struct nab_identity	*id = host->identity(ctx);
	struct nab_stanza		*iq, *e, *c;
	char				 jid[300];

	s->probing = 0;
	snprintf(jid, sizeof(jid), "%s@%s", s->user, id->domain);
	if (r->ok) {
		host->cred_put(ctx, jid, s->password);
		host->log(ctx, NAB_LOG_INFO, "409 repaired: %s exists and the "
		    "rabbit's password works (%s); answering its register with "
		    "a result", jid, r->mechanism);
		if ((iq = host->stanza_new(ctx, "iq")) != NULL &&
		    host->set_attr(ctx, iq, "type", "result") == 0 &&
		    host->set_attr(ctx, iq, "id", s->err_id) == 0 &&
		    (!*s->err_from || host->set_attr(ctx, iq, "from",
		    s->err_from) == 0) &&
		    (!*s->err_to || host->set_attr(ctx, iq, "to",
		    s->err_to) == 0))
			host->inject(ctx, NAB_FROM_SERVER, iq);
	} else {
		host->log(ctx, NAB_LOG_WARN, "409 kept: the password the rabbit "
		    "submitted for %s does not log in (%s: %s); nothing stored",
		    jid, r->mechanism, r->reason);
		if ((iq = host->stanza_new(ctx, "iq")) != NULL &&
		    host->set_attr(ctx, iq, "type", "error") == 0 &&
		    host->set_attr(ctx, iq, "id", s->err_id) == 0 &&
		    (!*s->err_from || host->set_attr(ctx, iq, "from",
		    s->err_from) == 0) &&
		    (!*s->err_to || host->set_attr(ctx, iq, "to",
		    s->err_to) == 0) &&
		    (e = host->add_child(ctx, iq, "error")) != NULL &&
		    host->set_attr(ctx, e, "code", "409") == 0 &&
		    host->set_attr(ctx, e, "type", "cancel") == 0 &&
		    (c = host->add_child(ctx, e, "conflict")) != NULL &&
		    host->set_attr(ctx, c, "xmlns", NS_STANZAS) == 0)
			host->inject(ctx, NAB_FROM_SERVER, iq);
	}
	forget(s);
}

/* The server's answer to the pending set. */
static enum nab_verdict
on_server_answer(struct nab_ctx *ctx, struct reg_sess *s,
    struct nab_stanza *st)
{
	const struct nab_identity	*id = host->identity(ctx);
	const char			*type = host->attr(st, "type");
	const char			*from = host->attr(st, "from");
	const char			*to = host->attr(st, "to");
	struct nab_stanza		*e;
	char				 jid[300];

	snprintf(jid, sizeof(jid), "%s@%s", s->user, id->domain);
	if (type != NULL && strcmp(type, "result") == 0) {
		host->cred_put(ctx, jid, s->password);
		forget(s);
		return NAB_PASS;
	}
	if (type == NULL || strcmp(type, "error") != 0 ||
	    (e = host->child(st, "error", NULL)) == NULL ||
	    host->child(e, "conflict", NS_STANZAS) == NULL) {
		forget(s);
		return NAB_PASS;
	}
	snprintf(s->err_id, sizeof(s->err_id), "%s", s->id);
	snprintf(s->err_from, sizeof(s->err_from), "%s", from ? from : "");
	snprintf(s->err_to, sizeof(s->err_to), "%s", to ? to : "");
	if (host->login_probe(ctx, s->user, s->password, probe_done,
	    NULL) == -1) {
		host->log(ctx, NAB_LOG_WARN, "409 for %s passed on: cannot start "
		    "a login probe", jid);
		forget(s);
		return NAB_PASS;
	}
	s->probing = 1;
	host->log(ctx, NAB_LOG_INFO, "409 conflict for %s: checking the "
	    "submitted password with a login probe", jid);
	return NAB_DROP;
}

static enum nab_verdict
reg_stanza(struct nab_ctx *ctx, enum nab_dir d, struct nab_stanza *st)
{
	struct reg_sess		*s = host->get_data(ctx);
	struct nab_stanza	*q;
	const char		*type, *id;
	int			 violet = 0;

	if (strcmp(host->name(st), "iq") != 0)
		return NAB_PASS;
	if (d == NAB_FROM_RABBIT) {
		type = host->attr(st, "type");
		if ((q = host->child(st, "query", NS_REGISTER)) == NULL &&
		    (q = host->child(st, "query", NS_VREGISTER)) != NULL)
			violet = 1;
		if (q != NULL && type != NULL && strcmp(type, "set") == 0)
			on_rabbit_set(ctx, s, st, q, violet);
		return NAB_PASS;
	}
	id = host->attr(st, "id");
	if (!s->pending || s->probing || id == NULL || strcmp(id, s->id) != 0)
		return NAB_PASS;
	return on_server_answer(ctx, s, st);
}

const struct nab_filter nab_builtin_register = {
	NAB_FILTER_INIT,
	.name = "register",
	.version = "1.0",
	.description = "learn rabbit passwords from registration; repair 409 for existing accounts",
	.init = reg_init,
	.open = reg_open,
	.close = reg_close,
	.on_stanza = reg_stanza,
};
