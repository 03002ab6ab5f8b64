/*
 * bind: resource binding and session the way servers accept them.
 *
 * The firmware puts a `from` on its bind and session requests that no
 * server accepts before the resource is bound: the seed's
 * from="f81edfee27c1@almacska", bootcode 18673's trailing-slash
 * from="MAC@DOMAIN/" (jid-malformed on Openfire, Prosody; bad-request on
 * ejabberd), and a session `from` copied from a bogus earlier bind
 * result. A client must not set `from` on these at all (RFC 6120 7.6, 8.1.2.1),
 * so it is removed; the id and everything else stay, and the server's
 * answer reaches the rabbit unchanged.
 */
#include <stdio.h>
#include <string.h>

#include <nabproxy/filter.h>

#define NS_BIND		"urn:ietf:params:xml:ns:xmpp-bind"
#define NS_SESSION	"urn:ietf:params:xml:ns:xmpp-session"

static const struct nab_host	*host;

static int
bind_init(const struct nab_host *h, const struct nab_kv *kv, size_t n,
    void **state, char *err, size_t errlen)
{
	host = h;
	if (n > 0) {
		snprintf(err, errlen, "%s:%d: unknown key '%s' (bind has no "
		    "settings)", kv[0].file, kv[0].line, kv[0].key);
		return -1;
	}
	*state = NULL;
	return 0;
}

static enum nab_verdict
bind_stanza(struct nab_ctx *ctx, enum nab_dir d, struct nab_stanza *st)
{
	const char	*from, *type;
	int		 is_bind, is_session;

	if (d != NAB_FROM_RABBIT || strcmp(host->name(st), "iq") != 0 ||
	    (type = host->attr(st, "type")) == NULL || strcmp(type, "set") != 0)
		return NAB_PASS;
	is_bind = host->child(st, "bind", NS_BIND) != NULL;
	is_session = host->child(st, "session", NS_SESSION) != NULL;
	if ((!is_bind && !is_session) || (from = host->attr(st, "from")) == NULL)
		return NAB_PASS;
	host->log(ctx, NAB_LOG_DEBUG, "removing from='%s' from the rabbit's "
	    "%s request", from, is_bind ? "bind" : "session");
	if (host->del_attr(ctx, st, "from") == -1)
		return NAB_PASS;
	return NAB_REPLACE;
}

const struct nab_filter nab_builtin_bind = {
	NAB_FILTER_INIT,
	.name = "bind",
	.version = "1.0",
	.description = "strip the malformed from of bind and session requests",
	.init = bind_init,
	.on_stanza = bind_stanza,
};
