/*
 * sources: answer the firmware's violet:iq:sources query locally.
 *
 * Once its session is open on resource `boot`, bootcode 18673 asks
 * net.violet.platform@DOMAIN/sources for its "sources" (A9). No XMPP
 * server knows that address: Openfire, Prosody, ejabberd and jabberd2 all
 * answer 503 service-unavailable, and a sources error makes the firmware
 * reconnect, forever. The answer it needs (bootcode-xmpp.md section 4
 * step 4, Table B) is a result whose `from` has the node
 * net.violet.platform, addressed `to` its own JID (the packet runs with
 * the resource of `to`; `boot` always runs), carrying
 * <packet xmlns='violet:packet' format='1.0'>BASE64</packet>: a Violet
 * packet (section 5: 0x7f, blocks [type:1][len:3 big-endian][data],
 * 0xff) whose type-11 block with value 0 wakes the rabbit up, so it binds
 * `idle`. This filter sends exactly that and never forwards the query.
 *
 * Settings ([filter sources], ABI 1.4 table below): packet, the base64
 * packet to send instead (for example OpenJabNab's init packet with an
 * ambient block); ttl, its ttl attribute in seconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nabproxy/filter.h>

#define NS_SOURCES	"violet:iq:sources"
#define NS_PACKET	"violet:packet"
#define PLATFORM	"net.violet.platform"
#define PACKET_MAX	4096

static const struct nab_host	*host;

struct src_state {
	char		packet[PACKET_MAX + 1];	/* base64 */
	long long	ttl;
};

static int	b64_valid(const char *, char *, size_t);

/*
 * The default: 0x7f, block type 11 (mode), length 1, value 0 (wake up),
 * 0xff, in base64.
 */
static const struct nab_setting src_settings[] = {
	NAB_SETTING_STRING("packet", struct src_state, packet, 4, "fwsAAAEA/w==",
	    b64_valid, "the base64 Violet packet to answer with (default: "
	    "wake up, a type-11 block 0)"),
	NAB_SETTING_INT("ttl", struct src_state, ttl, 0, 100000000, "604800",
	    "the packet's ttl attribute in seconds (OpenJabNab's: a week)"),
	NAB_SETTINGS_END
};

/*
 * A packet the firmware can decode: base64 alphabet only (it skips other
 * bytes but they shift its 4-byte grouping), padding only at the end,
 * length a multiple of 4. 0, or -1 with why.
 */
static int
b64_valid(const char *s, char *why, size_t whylen)
{
	size_t	n = strlen(s), i, pad = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno"
		    "pqrstuvwxyz0123456789+/", s[i]) == NULL)
			break;
	}
	if (n % 4 == 0 && i == n && pad <= 2)
		return 0;
	snprintf(why, whylen, "must be base64 (A-Z a-z 0-9 + /, '=' padding, "
	    "a multiple of 4 long)");
	return -1;
}

static int
src_init(const struct nab_host *h, const struct nab_kv *kv, size_t n,
    void **state, char *err, size_t errlen)
{
	host = h;
	return 0;
}

static enum nab_verdict
src_stanza(struct nab_ctx *ctx, enum nab_dir d, struct nab_stanza *st)
{
	const struct nab_identity	*ident = host->identity(ctx);
	struct src_state		*cf = host->filter_state(ctx);
	struct nab_stanza		*iq, *q, *p;
	const char			*type, *id, *to, *from;
	char				 platform[512], rabbit[512], ttl[24];

	if (d != NAB_FROM_RABBIT || strcmp(host->name(st), "iq") != 0 ||
	    (type = host->attr(st, "type")) == NULL ||
	    strcmp(type, "get") != 0 ||
	    host->child(st, "query", NS_SOURCES) == NULL)
		return NAB_PASS;
	id = host->attr(st, "id");
	/* Answer from the address it asked, if it is the platform's. */
	to = host->attr(st, "to");
	if (to != NULL && strncmp(to, PLATFORM "@", sizeof(PLATFORM)) == 0 &&
	    strlen(to) < sizeof(platform))
		snprintf(platform, sizeof(platform), "%s", to);
	else
		snprintf(platform, sizeof(platform), PLATFORM "@%s/sources",
		    ident->domain);
	/* To its own JID: the packet runs with that resource (boot). */
	if ((from = host->attr(st, "from")) != NULL && *from != '\0' &&
	    strlen(from) < sizeof(rabbit))
		snprintf(rabbit, sizeof(rabbit), "%s", from);
	else
		snprintf(rabbit, sizeof(rabbit), "%s/sources",
		    ident->bare_jid);
	snprintf(ttl, sizeof(ttl), "%lld", cf->ttl);
	if ((iq = host->stanza_new(ctx, "iq")) == NULL ||
	    host->set_attr(ctx, iq, "from", platform) == -1 ||
	    host->set_attr(ctx, iq, "to", rabbit) == -1 ||
	    host->set_attr(ctx, iq, "type", "result") == -1 ||
	    (id != NULL && host->set_attr(ctx, iq, "id", id) == -1) ||
	    (q = host->add_child(ctx, iq, "query")) == NULL ||
	    host->set_attr(ctx, q, "xmlns", NS_SOURCES) == -1 ||
	    (p = host->add_child(ctx, q, "packet")) == NULL ||
	    host->set_attr(ctx, p, "xmlns", NS_PACKET) == -1 ||
	    host->set_attr(ctx, p, "format", "1.0") == -1 ||
	    host->set_attr(ctx, p, "ttl", ttl) == -1 ||
	    host->add_text(ctx, p, cf->packet) == -1 ||
	    host->inject(ctx, NAB_FROM_SERVER, iq) == -1) {
		host->log(ctx, NAB_LOG_WARN, "cannot answer the rabbit's "
		    "sources query: out of memory; it goes to the server");
		return NAB_PASS;
	}
	host->log(ctx, NAB_LOG_INFO, "answered the rabbit's violet:iq:sources "
	    "query locally (as %s)", platform);
	return NAB_HANDLED;
}

const struct nab_filter nab_builtin_sources = {
	NAB_FILTER_INIT,
	.name = "sources",
	.version = "1.0",
	.description = "answer the firmware's violet:iq:sources query locally",
	.init = src_init,
	.on_stanza = src_stanza,
	.settings = src_settings,
	.state_size = sizeof(struct src_state),
};
