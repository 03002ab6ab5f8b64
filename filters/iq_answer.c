/*
 * iq-answer: answer the server's and other clients' IQ requests for the
 * rabbit, the way the firmware answers Violet's.
 *
 * Bootcode 18673 drops, without a reply, every <iq> whose `from` is not
 * x@D/y with D one of xmpp.platform.violet.net, xmpp.objects.violet.net
 * or xmpp.applet.violet.net (bootcode-xmpp.md section 5), so a ping from
 * the server or a disco query from a contact never gets an answer and the
 * asker times out (servers may then drop the session). This filter
 * answers such get and set requests toward the server, as the firmware
 * answers its platform (Table A):
 *   ping (urn:xmpp:ping)            result with <ping/> (A18)
 *   jabber:iq:version               Nabaztag/tag, 18673 (A15)
 *   disco#info                      client/bot identity, ping, version
 *   disco#items                     an empty list
 *   roster push (jabber:iq:roster)  empty result (RFC 6121 2.1.6)
 *   any other get or set            feature-not-implemented (A16)
 * Requests from a Violet address pass to the rabbit, which answers them
 * itself; results and errors always pass (they answer the rabbit's own
 * requests). The answer carries no `from`: the server stamps the
 * rabbit's bound JID.
 *
 * Settings ([filter iq-answer], ABI 1.4 table below): version, the
 * version string reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nabproxy/filter.h>

#define NS_PING		"urn:xmpp:ping"
#define NS_VERSION	"jabber:iq:version"
#define NS_INFO		"http://jabber.org/protocol/disco#info"
#define NS_ITEMS	"http://jabber.org/protocol/disco#items"
#define NS_ROSTER	"jabber:iq:roster"
#define NS_STANZAS	"urn:ietf:params:xml:ns:xmpp-stanzas"

static const struct nab_host	*host;

struct ia_state {
	char	version[64];
};

static int	from_violet(const char *);
static struct nab_stanza *ia_reply(struct nab_ctx *, struct nab_stanza *,
		    const char *);
static int	ia_leaf(struct nab_ctx *, struct nab_stanza *, const char *,
		    const char *);
static int	ia_content(struct nab_ctx *, struct ia_state *,
		    struct nab_stanza *, struct nab_stanza *, const char *,
		    const char **);
static enum nab_verdict ia_stanza(struct nab_ctx *, enum nab_dir,
		    struct nab_stanza *);

static const struct nab_setting ia_settings[] = {
	NAB_SETTING_STRING("version", struct ia_state, version, 1, "18673",
	    NULL, "the version reported to jabber:iq:version queries"),
	NAB_SETTINGS_END
};

static int
ia_init(const struct nab_host *h, const struct nab_kv *kv, size_t n,
    void **state, char *err, size_t errlen)
{
	host = h;
	return 0;
}

/* 1 if the firmware itself answers iqs from this address (x@D/y). */
static int
from_violet(const char *from)
{
	static const char *const dom[] = { "xmpp.platform.violet.net",
	    "xmpp.objects.violet.net", "xmpp.applet.violet.net", NULL };
	const char	*at, *slash;
	size_t		 i, n;

	if (from == NULL || (at = strchr(from, '@')) == NULL ||
	    (slash = strchr(at, '/')) == NULL)
		return 0;
	n = (size_t)(slash - at - 1);
	for (i = 0; dom[i] != NULL; i++)
		if (strlen(dom[i]) == n && memcmp(at + 1, dom[i], n) == 0)
			return 1;
	return 0;
}

/* <iq type=TYPE id=their-id to=their-from>, or NULL on ENOMEM. */
static struct nab_stanza *
ia_reply(struct nab_ctx *ctx, struct nab_stanza *req, const char *type)
{
	struct nab_stanza	*iq;
	const char		*id = host->attr(req, "id");
	const char		*from = host->attr(req, "from");

	if ((iq = host->stanza_new(ctx, "iq")) == NULL ||
	    host->set_attr(ctx, iq, "type", type) == -1 ||
	    (id != NULL && host->set_attr(ctx, iq, "id", id) == -1) ||
	    (from != NULL && host->set_attr(ctx, iq, "to", from) == -1))
		return NULL;
	return iq;
}

/* <name xmlns=ns> child of parent. 0, or -1 on ENOMEM. */
static int
ia_leaf(struct nab_ctx *ctx, struct nab_stanza *parent, const char *name,
    const char *ns)
{
	struct nab_stanza	*c;

	if ((c = host->add_child(ctx, parent, name)) == NULL ||
	    (ns != NULL && host->set_attr(ctx, c, "xmlns", ns) == -1))
		return -1;
	return 0;
}

/*
 * Fill the result `iq` for request `req` whose payload is `q` (may be
 * NULL). Sets *what for the log. 1 if answered with a result, 0 if the
 * request is unknown (the caller sends an error), -1 on ENOMEM.
 */
static int
ia_content(struct nab_ctx *ctx, struct ia_state *cf, struct nab_stanza *req,
    struct nab_stanza *iq, const char *type, const char **what)
{
	struct nab_stanza	*q, *c;
	const char		*node;

	if (strcmp(type, "get") == 0 &&
	    host->child(req, "ping", NS_PING) != NULL) {
		*what = "ping";
		return ia_leaf(ctx, iq, "ping", NS_PING) == -1 ? -1 : 1;
	}
	if (strcmp(type, "get") == 0 &&
	    host->child(req, "query", NS_VERSION) != NULL) {
		*what = "version";
		if ((q = host->add_child(ctx, iq, "query")) == NULL ||
		    host->set_attr(ctx, q, "xmlns", NS_VERSION) == -1 ||
		    (c = host->add_child(ctx, q, "name")) == NULL ||
		    host->add_text(ctx, c, "Nabaztag/tag") == -1 ||
		    (c = host->add_child(ctx, q, "version")) == NULL ||
		    host->add_text(ctx, c, cf->version) == -1)
			return -1;
		return 1;
	}
	if (strcmp(type, "get") == 0 &&
	    (c = host->child(req, "query", NS_INFO)) != NULL) {
		*what = "disco#info";
		node = host->attr(c, "node");
		if ((q = host->add_child(ctx, iq, "query")) == NULL ||
		    host->set_attr(ctx, q, "xmlns", NS_INFO) == -1 ||
		    (node != NULL && host->set_attr(ctx, q, "node", node) == -1) ||
		    (c = host->add_child(ctx, q, "identity")) == NULL ||
		    host->set_attr(ctx, c, "category", "client") == -1 ||
		    host->set_attr(ctx, c, "type", "bot") == -1 ||
		    host->set_attr(ctx, c, "name", "Nabaztag/tag") == -1 ||
		    (c = host->add_child(ctx, q, "feature")) == NULL ||
		    host->set_attr(ctx, c, "var", NS_INFO) == -1 ||
		    (c = host->add_child(ctx, q, "feature")) == NULL ||
		    host->set_attr(ctx, c, "var", NS_PING) == -1 ||
		    (c = host->add_child(ctx, q, "feature")) == NULL ||
		    host->set_attr(ctx, c, "var", NS_VERSION) == -1)
			return -1;
		return 1;
	}
	if (strcmp(type, "get") == 0 &&
	    (c = host->child(req, "query", NS_ITEMS)) != NULL) {
		*what = "disco#items";
		node = host->attr(c, "node");
		if ((q = host->add_child(ctx, iq, "query")) == NULL ||
		    host->set_attr(ctx, q, "xmlns", NS_ITEMS) == -1 ||
		    (node != NULL && host->set_attr(ctx, q, "node", node) == -1))
			return -1;
		return 1;
	}
	if (strcmp(type, "set") == 0 &&
	    host->child(req, "query", NS_ROSTER) != NULL) {
		*what = "roster push";
		return 1;
	}
	*what = type;
	return 0;
}

static enum nab_verdict
ia_stanza(struct nab_ctx *ctx, enum nab_dir d, struct nab_stanza *st)
{
	struct ia_state		*cf = host->filter_state(ctx);
	struct nab_stanza	*iq, *e;
	const char		*type, *what = "?";
	int			 r;

	if (d != NAB_FROM_SERVER || strcmp(host->name(st), "iq") != 0 ||
	    (type = host->attr(st, "type")) == NULL ||
	    (strcmp(type, "get") != 0 && strcmp(type, "set") != 0) ||
	    from_violet(host->attr(st, "from")))
		return NAB_PASS;
	if ((iq = ia_reply(ctx, st, "result")) == NULL ||
	    (r = ia_content(ctx, cf, st, iq, type, &what)) == -1)
		goto enomem;
	if (r == 0) {
		/* A16: an error with a fresh stanza (no result payload). */
		if ((iq = ia_reply(ctx, st, "error")) == NULL ||
		    (e = host->add_child(ctx, iq, "error")) == NULL ||
		    host->set_attr(ctx, e, "type", "cancel") == -1 ||
		    ia_leaf(ctx, e, "feature-not-implemented",
		    NS_STANZAS) == -1)
			goto enomem;
	}
	if (host->inject(ctx, NAB_FROM_RABBIT, iq) == -1)
		goto enomem;
	host->log(ctx, NAB_LOG_DEBUG, "answered a %s iq from %s for the "
	    "rabbit%s", what, host->attr(st, "from") ?
	    host->attr(st, "from") : "the server", r ? "" :
	    " (feature-not-implemented)");
	return NAB_HANDLED;
enomem:
	host->log(ctx, NAB_LOG_WARN, "cannot answer an iq for the rabbit: out "
	    "of memory; it goes to the rabbit");
	return NAB_PASS;
}

const struct nab_filter nab_builtin_iq_answer = {
	NAB_FILTER_INIT,
	.name = "iq-answer",
	.version = "1.0",
	.description = "answer ping, version and disco for the rabbit",
	.init = ia_init,
	.on_stanza = ia_stanza,
	.settings = ia_settings,
	.state_size = sizeof(struct ia_state),
};
