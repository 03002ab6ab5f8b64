/*
 * bind: resource binding and session the way servers accept them, and
 * the firmware's resource changes answered locally.
 *
 * 1. The firmware puts a `from` on its bind and session requests that no
 *    server accepts before the resource is bound: the seed's
 *    from="f81edfee27c1@almacska", bootcode 18673's trailing-slash
 *    from="MAC@DOMAIN/" (jid-malformed on Openfire, Prosody; bad-request
 *    on ejabberd), and a session `from` copied from a bogus earlier bind
 *    result. A client must not set `from` on these at all (RFC 6120 7.6,
 *    8.1.2.1), so it is removed; the id and everything else stay, and
 *    the server's answer reaches the rabbit unchanged. The JID of the
 *    server's bind result is remembered.
 * 2. Bootcode 18673 changes resource by binding again on the same stream
 *    (boot, then idle, asleep, ...; bootcode-xmpp.md section 4). Prosody
 *    and ejabberd refuse a second bind (service-unavailable) and the
 *    firmware rebinds in a tight loop. Once the server has bound a
 *    resource, a further bind is answered here with a result whose jid
 *    is the server's bound JID with the requested resource, and the
 *    session request that follows it with a result too. The server's
 *    session keeps its first resource.
 * 3. <unbind> (the firmware unbinds `boot` once idle) is answered here
 *    with a result and never forwarded: Openfire treats it as a bind of
 *    that resource and closes the stream with a conflict, which reboots
 *    the rabbit; Prosody and ejabberd refuse it.
 * 4. After a local bind the firmware stamps its stanzas with a JID the
 *    server never bound (from='MAC@DOM/idle'); such a `from` is removed
 *    and the server stamps the real one.
 * The filter has no settings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nabproxy/filter.h>

#define NS_BIND		"urn:ietf:params:xml:ns:xmpp-bind"
#define NS_SESSION	"urn:ietf:params:xml:ns:xmpp-session"
#define JID_MAX		1024

static const struct nab_host	*host;

struct bind_sess {
	char	pending[128];		/* id of the bind sent to the server */
	char	bound[JID_MAX];		/* full JID the server bound, or "" */
	char	local[JID_MAX];		/* JID we told the rabbit, or "" */
	int	local_session;		/* answer the next session here */
};

static int	answer(struct nab_ctx *, struct nab_stanza *, const char *);
static enum nab_verdict local_bind(struct nab_ctx *, struct bind_sess *,
		    struct nab_stanza *, struct nab_stanza *);
static enum nab_verdict rabbit_set(struct nab_ctx *, struct bind_sess *,
		    struct nab_stanza *);
static void	strip_invented(struct nab_ctx *, struct bind_sess *,
		    struct nab_stanza *);
static void	server_result(struct nab_ctx *, struct bind_sess *,
		    struct nab_stanza *);
static enum nab_verdict bind_stanza(struct nab_ctx *, enum nab_dir,
		    struct nab_stanza *);

static const struct nab_setting bind_settings[] = { NAB_SETTINGS_END };

static int
bind_init(const struct nab_host *h, const struct nab_kv *kv, size_t n,
    void **state, char *err, size_t errlen)
{
	host = h;
	return 0;
}

/*
 * Answer the rabbit's iq set `req` with <iq type='result' id=...> and,
 * if jid is given, <bind><jid>JID</jid></bind>. 0, or -1 on ENOMEM.
 */
static int
answer(struct nab_ctx *ctx, struct nab_stanza *req, const char *jid)
{
	struct nab_stanza	*iq, *b, *j;
	const char		*id = host->attr(req, "id");

	if ((iq = host->stanza_new(ctx, "iq")) == NULL ||
	    host->set_attr(ctx, iq, "type", "result") == -1 ||
	    (id != NULL && host->set_attr(ctx, iq, "id", id) == -1))
		return -1;
	if (jid != NULL &&
	    ((b = host->add_child(ctx, iq, "bind")) == NULL ||
	    host->set_attr(ctx, b, "xmlns", NS_BIND) == -1 ||
	    (j = host->add_child(ctx, b, "jid")) == NULL ||
	    host->add_text(ctx, j, jid) == -1))
		return -1;
	return host->inject(ctx, NAB_FROM_SERVER, iq);
}

/*
 * A bind on a stream where the server already bound a resource: answer
 * with the bound JID's bare part and the requested resource.
 */
static enum nab_verdict
local_bind(struct nab_ctx *ctx, struct bind_sess *s, struct nab_stanza *st,
    struct nab_stanza *b)
{
	struct nab_stanza	*r = host->child(b, "resource", NULL);
	const char		*res = r ? host->text(ctx, r) : NULL, *slash;
	char			 jid[JID_MAX];
	size_t			 bare;

	slash = strchr(s->bound, '/');
	bare = slash ? (size_t)(slash - s->bound) : strlen(s->bound);
	if (res == NULL || *res == '\0')
		res = slash ? slash + 1 : "nabproxy";
	if (bare + 1 + strlen(res) >= sizeof(jid) ||
	    strpbrk(res, "/\t\r\n") != NULL) {
		host->log(ctx, NAB_LOG_WARN, "rabbit asked to bind an unusable "
		    "resource: forwarded to the server");
		return NAB_PASS;
	}
	snprintf(jid, sizeof(jid), "%.*s/%s", (int)bare, s->bound, res);
	if (answer(ctx, st, jid) == -1) {
		host->log(ctx, NAB_LOG_WARN, "cannot answer the rabbit's bind: "
		    "out of memory; forwarded to the server");
		return NAB_PASS;
	}
	snprintf(s->local, sizeof(s->local), "%s", jid);
	s->local_session = 1;
	host->log(ctx, NAB_LOG_INFO, "rabbit changed resource to %s: answered "
	    "its bind locally (the server keeps %s)", jid, s->bound);
	return NAB_HANDLED;
}

/* The rabbit's iq set: bind, session or unbind. */
static enum nab_verdict
rabbit_set(struct nab_ctx *ctx, struct bind_sess *s, struct nab_stanza *st)
{
	struct nab_stanza	*b;
	const char		*from, *id;
	int			 is_session;

	if (host->child(st, "unbind", NS_BIND) != NULL) {
		if (answer(ctx, st, NULL) == -1)
			return NAB_DROP;
		host->log(ctx, NAB_LOG_INFO, "answered the rabbit's unbind "
		    "locally (never forwarded: Openfire closes the stream)");
		return NAB_HANDLED;
	}
	b = host->child(st, "bind", NS_BIND);
	is_session = host->child(st, "session", NS_SESSION) != NULL;
	if (b == NULL && !is_session)
		return NAB_PASS;
	if (b != NULL && s->bound[0] != '\0')
		return local_bind(ctx, s, st, b);
	if (is_session && s->local_session) {
		s->local_session = 0;
		if (answer(ctx, st, NULL) == 0)
			return NAB_HANDLED;
	}
	if (b != NULL && (id = host->attr(st, "id")) != NULL &&
	    strlen(id) < sizeof(s->pending))
		snprintf(s->pending, sizeof(s->pending), "%s", id);
	if ((from = host->attr(st, "from")) == NULL)
		return NAB_PASS;
	host->log(ctx, NAB_LOG_DEBUG, "removing from='%s' from the rabbit's "
	    "%s request", from, b != NULL ? "bind" : "session");
	if (host->del_attr(ctx, st, "from") == -1)
		return NAB_PASS;
	return NAB_REPLACE;
}

/*
 * Any other rabbit stanza after a local bind: a `from` of our bare JID
 * with a resource the server did not bind is removed (edited in place,
 * the chain goes on).
 */
static void
strip_invented(struct nab_ctx *ctx, struct bind_sess *s,
    struct nab_stanza *st)
{
	const char	*from = host->attr(st, "from"), *slash;
	size_t		 bare;

	if (s->local[0] == '\0' || from == NULL ||
	    strcmp(from, s->bound) == 0 ||
	    (slash = strchr(s->bound, '/')) == NULL)
		return;
	bare = (size_t)(slash - s->bound) + 1;
	if (strncmp(from, s->bound, bare) == 0)
		host->del_attr(ctx, st, "from");
}

/* The server's answer to the bind it got: remember the bound JID. */
static void
server_result(struct nab_ctx *ctx, struct bind_sess *s, struct nab_stanza *st)
{
	struct nab_stanza	*b, *j;
	const char		*id = host->attr(st, "id"), *type, *jid;

	if (s->pending[0] == '\0' || id == NULL || strcmp(id, s->pending) != 0)
		return;
	s->pending[0] = '\0';
	if ((type = host->attr(st, "type")) == NULL ||
	    strcmp(type, "result") != 0 ||
	    (b = host->child(st, "bind", NS_BIND)) == NULL ||
	    (j = host->child(b, "jid", NULL)) == NULL ||
	    (jid = host->text(ctx, j)) == NULL || *jid == '\0' ||
	    strlen(jid) >= sizeof(s->bound))
		return;
	snprintf(s->bound, sizeof(s->bound), "%s", jid);
}

static enum nab_verdict
bind_stanza(struct nab_ctx *ctx, enum nab_dir d, struct nab_stanza *st)
{
	struct bind_sess	*s = host->get_data(ctx);
	const char		*type;
	int			 iq = strcmp(host->name(st), "iq") == 0;

	type = host->attr(st, "type");
	if (d == NAB_FROM_SERVER) {
		if (iq)
			server_result(ctx, s, st);
		return NAB_PASS;
	}
	if (iq && type != NULL && strcmp(type, "set") == 0 &&
	    (host->child(st, "bind", NS_BIND) != NULL ||
	    host->child(st, "unbind", NS_BIND) != NULL ||
	    host->child(st, "session", NS_SESSION) != NULL))
		return rabbit_set(ctx, s, st);
	strip_invented(ctx, s, st);
	return NAB_PASS;
}

const struct nab_filter nab_builtin_bind = {
	NAB_FILTER_INIT,
	.name = "bind",
	.version = "1.1",
	.description = "repair bind and session requests; answer resource "
	    "changes and unbind locally",
	.init = bind_init,
	.on_stanza = bind_stanza,
	.settings = bind_settings,
	.session_size = sizeof(struct bind_sess),
};
