/*
 * firmware-guard: never send the rabbit what its XML parser cannot read
 * (bootcode-xmpp.md section 7, verified in section 12).
 *
 *  - Whitespace between stanzas (keep-alives, pretty-printing) would make
 *    the firmware deaf for good (leading text replaces its buffer), so it
 *    is dropped on the way to the rabbit; whitespace from the rabbit (its
 *    own keep-alive) passes to the server untouched.
 *  - Every stanza toward the rabbit is re-serialised in the host's
 *    canonical form instead of forwarding the server's bytes: never
 *    self-closing (<x/> without attributes is read as an element "x/"
 *    whose end never comes, and a self-closing <iq .../> followed in the
 *    same read by any </iq> swallows it), single-quoted attributes
 *    separated by one space, no comments, CDATA or processing
 *    instructions. The serialisation escapes only what XML needs plus
 *    quotes and '>', none of which the stanzas the firmware acts on
 *    contain (JIDs, ids, base64); the firmware decodes no entity, so an
 *    entity in a text it only logs (an error text) is shown as it is.
 *
 * The stanza is edited in place and the chain goes on (NAB_PASS with the
 * edit mark): the filters after this one still see the server's stanzas,
 * and the canonical form is what leaves. Stanzas other filters inject
 * are canonical already. The stream header passes as the server sent it
 * (it is one unit, written in one piece).
 *
 * One exception: the server's SASL <success> passes untouched. The host
 * notices that the rabbit and the server restart their streams only for
 * a server unit forwarded as it is. The firmware reads it (it checks only
 * the xmlns): a server's <success xmlns='...'/> carries an attribute, and
 * the stream restart empties the firmware's buffer right after it. That
 * happens when digest-server relays the firmware's DIGEST-MD5 to a server
 * that offers it (ejabberd); otherwise digest-server sends its own
 * <success ...></success>.
 * The filter has no settings.
 */
#include <stdio.h>
#include <string.h>

#include <nabproxy/filter.h>

#define NS_SASL		"urn:ietf:params:xml:ns:xmpp-sasl"

static const struct nab_host	*host;

static enum nab_verdict guard_ws(struct nab_ctx *, enum nab_dir,
		    const char *, size_t);
static enum nab_verdict guard_stanza(struct nab_ctx *, enum nab_dir,
		    struct nab_stanza *);

static const struct nab_setting guard_settings[] = { NAB_SETTINGS_END };

static int
guard_init(const struct nab_host *h, const struct nab_kv *kv, size_t n,
    void **state, char *err, size_t errlen)
{
	host = h;
	return 0;
}

static enum nab_verdict
guard_ws(struct nab_ctx *ctx, enum nab_dir d, const char *b, size_t len)
{
	return d == NAB_FROM_SERVER ? NAB_DROP : NAB_PASS;
}

/*
 * Mark the server's stanza for canonical re-serialisation (replace() of
 * the hook's own stanza) and let the chain continue. If marking fails the
 * original bytes go out, as without this filter.
 */
static enum nab_verdict
guard_stanza(struct nab_ctx *ctx, enum nab_dir d, struct nab_stanza *st)
{
	const char	*ns;

	if (d != NAB_FROM_SERVER)
		return NAB_PASS;
	if (strcmp(host->name(st), "success") == 0 &&
	    (ns = host->xmlns(st)) != NULL && strcmp(ns, NS_SASL) == 0)
		return NAB_PASS;
	if (host->replace(ctx, st) == -1)
		host->log(ctx, NAB_LOG_WARN, "cannot re-serialise a <%s> for "
		    "the rabbit: forwarded as the server sent it",
		    host->name(st));
	return NAB_PASS;
}

const struct nab_filter nab_builtin_firmware_guard = {
	NAB_FILTER_INIT,
	.name = "firmware-guard",
	.version = "1.0",
	.description = "keep the rabbit's fragile XML parser fed only what it reads",
	.init = guard_init,
	.on_stanza = guard_stanza,
	.on_whitespace = guard_ws,
	.settings = guard_settings,
};
