/*
 * rabbit_fw: bootcode 18673's boot (shared/firmware/bootcode-xmpp.md
 * sections 2-4, Table A): registration if it has no password, DIGEST-MD5
 * with the firmware's quirks, the restarted stream, bind boot, session,
 * sources (the packet must wake it up), bind idle, session, presence,
 * unbind of boot. Each state takes the first element that fits, as the
 * firmware does, and fails the step where its state machine would.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "fwsasl.h"
#include "rabbit-int.h"
#include "script.h"
#include "xscan.h"

#define NS_SASL	"urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_BIND	"urn:ietf:params:xml:ns:xmpp-bind"

static int
is(const char *el, size_t n, const char *name)
{
	char	got[64];

	xs_name(el, n, got, sizeof(got));
	return strcmp(got, name) == 0;
}

static int
attr_is(const char *el, size_t n, const char *name, const char *want)
{
	char	got[256];

	return xs_attr(el, n, name, got, sizeof(got)) &&
	    strcmp(got, want) == 0;
}

static void
start_sasl(struct rabbit *r)
{
	static const char	digits[] = "0123456789528460";
	unsigned char		rnd[13];
	int			i;

	rabbit_step(r, "sasl");
	(void)RAND_bytes(rnd, sizeof(rnd));
	for (i = 0; i < 13; i++)
		r->r_cnonce[i] = (unsigned char)digits[rnd[i] % 16];
	r->r_cnonce[13] = '\0';
	r->r_rspauth[0] = '\0';
	r->r_state = ST_SASL;
	rabbit_send(r, script_a4, NULL, NULL);
}

void
rabbit_fw_features(struct rabbit *r, const char *el, size_t n)
{
	if (!is(el, n, "stream:features")) {
		rabbit_fail(r, "expected stream:features, got %s",
		    rabbit_show(el, n));
		return;
	}
	if (!xs_has_child(el, n, "mechanisms") ||
	    memmem(el, n, NS_SASL, sizeof(NS_SASL) - 1) == NULL) {
		rabbit_fail(r, "No SASL! (features %s): the firmware hangs",
		    rabbit_show(el, n));
		return;
	}
	rabbit_step_ok(r);
	rabbit_step(r, "register");
	if (r->r_pw[0] != '\0') {
		r->r_rep.rr_steps[r->r_rep.rr_nsteps - 1].rs_outcome =
		    REPORT_SKIPPED;
		start_sasl(r);
		return;
	}
	r->r_state = ST_REGFORM;
	rabbit_send(r, script_a2, NULL, NULL);
}

/* A2's and A3's answers: the form, then the registration's result. */
static void
fw_register(struct rabbit *r, const char *el, size_t n)
{
	unsigned char	rnd[6];
	int		i;

	if (!is(el, n, "iq"))
		return;
	if (!attr_is(el, n, "type", "result")) {
		rabbit_fail(r, "%s answered %s: sendMailXMPP FailureRegister%d, "
		    "red until reboot", r->r_state == ST_REGFORM ? "A2" : "A3",
		    rabbit_show(el, n), r->r_state == ST_REGFORM ? 1 : 2);
		if (r->r_state == ST_REGSET)
			r->r_pw[0] = '\0';
		return;
	}
	if (r->r_state == ST_REGSET) {
		r->r_rep.rr_registered = 1;
		rabbit_step_ok(r);
		start_sasl(r);
		return;
	}
	/* The firmware's "random" password: 12 hex digits. */
	(void)RAND_bytes(rnd, sizeof(rnd));
	for (i = 0; i < 6; i++)
		snprintf(r->r_pw + 2 * i, 3, "%02x", rnd[i]);
	r->r_state = ST_REGSET;
	rabbit_send(r, script_a3, NULL, NULL);
}

/* A challenge: the rspauth check, or the response. */
static void
fw_challenge(struct rabbit *r, const char *el, size_t n)
{
	char			text[1024], b64[2048];
	unsigned char		raw[1024], plain[1024];
	struct fw_challenge	c;
	int			len;

	xs_text(el, n, text, sizeof(text));
	if ((len = fw_b64decode(text, strlen(text), raw, sizeof(raw))) == -1 ||
	    fw_challenge_parse(raw, (size_t)len, &c) == -1) {
		rabbit_fail(r, "challenge %s: the firmware cannot read it",
		    rabbit_show(el, n));
		return;
	}
	if (c.rspauth_len >= 0) {
		if (r->r_rspauth[0] == '\0' || strcmp(c.rspauth, r->r_rspauth)) {
			rabbit_fail(r, "BAD rspauth=%s: silence until 12 s",
			    c.rspauth);
			return;
		}
		r->r_rspauth[0] = '\0';
		rabbit_send(r, script_a6, NULL, NULL);
		return;
	}
	if (!fw_challenge_answerable(&c)) {
		rabbit_fail(r, "challenge %s is not one the firmware answers: "
		    "it stays silent", rabbit_show((char *)raw, (size_t)len));
		return;
	}
	len = fw_digest_response(r->r_mac, r->r_opts->ro_domain, r->r_pw, &c,
	    r->r_cnonce, plain, sizeof(plain), r->r_rspauth);
	if (len == -1 || fw_b64encode(plain, (size_t)len, b64,
	    sizeof(b64)) == -1) {
		rabbit_fail(r, "challenge too large");
		return;
	}
	rabbit_send(r, script_a5, NULL, b64);
}

static void
fw_sasl(struct rabbit *r, const char *el, size_t n)
{
	int	ch = is(el, n, "challenge");

	if (!ch && !is(el, n, "success") && !is(el, n, "failure"))
		return;
	if (!ch && !attr_is(el, n, "xmlns", NS_SASL)) {
		rabbit_fail(r, "%s without the SASL xmlns is ignored: the "
		    "firmware waits 12 s", rabbit_show(el, n));
		return;
	}
	if (is(el, n, "failure")) {
		r->r_pw[0] = '\0';	/* it re-registers after reconnecting */
		rabbit_fail(r, "SASL failure %s: FailureLogin, reconnect, "
		    "re-register", rabbit_show(el, n));
		return;
	}
	if (ch) {
		fw_challenge(r, el, n);
		return;
	}
	rabbit_step_ok(r);
	rabbit_step(r, "restart");
	r->r_state = ST_HEADER2;
	r->r_n = 0;
	rabbit_send(r, script_a1, NULL, NULL);
}

/* The features of the restarted stream: bind, no mechanisms. */
static void
fw_features2(struct rabbit *r, const char *el, size_t n)
{
	if (!is(el, n, "stream:features") || !xs_has_child(el, n, "bind") ||
	    memmem(el, n, NS_BIND, sizeof(NS_BIND) - 1) == NULL) {
		rabbit_fail(r, "no bind in the features after SASL: %s",
		    rabbit_show(el, n));
		return;
	}
	if (xs_has_child(el, n, "mechanisms")) {
		rabbit_fail(r, "mechanisms after SASL: %s", rabbit_show(el, n));
		return;
	}
	rabbit_step_ok(r);
	rabbit_step(r, "bind_boot");
	r->r_state = ST_BIND_BOOT;
	rabbit_send(r, script_a7, "boot", NULL);
}

static void
fw_bind(struct rabbit *r, const char *el, size_t n)
{
	char		 jid[320];
	const char	*slash;

	if (!is(el, n, "iq"))
		return;
	if (!attr_is(el, n, "type", "result") || !xs_has_child(el, n, "bind") ||
	    memmem(el, n, NS_BIND, sizeof(NS_BIND) - 1) == NULL ||
	    !xs_child_text(el, n, "jid", jid, sizeof(jid)) || jid[0] == '\0') {
		rabbit_fail(r, "bind answered %s: the firmware binds again at "
		    "once (tight loop)", rabbit_show(el, n));
		return;
	}
	snprintf(r->r_jid, sizeof(r->r_jid), "%s", jid);
	slash = strchr(jid, '/');
	snprintf(r->r_res, sizeof(r->r_res), "%s", slash ? slash + 1 : "");
	rabbit_step_ok(r);
	if (r->r_state == ST_BIND_BOOT) {
		rabbit_step(r, "session_boot");
		r->r_state = ST_SESSION_BOOT;
	} else {
		rabbit_step(r, "session_idle");
		r->r_state = ST_SESSION_IDLE;
	}
	rabbit_send(r, script_a8, NULL, NULL);
}

static void
fw_session(struct rabbit *r, const char *el, size_t n)
{
	if (!is(el, n, "iq"))
		return;
	if (!attr_is(el, n, "type", "result")) {
		rabbit_fail(r, "session answered %s: free, no presence sent",
		    rabbit_show(el, n));
		return;
	}
	rabbit_step_ok(r);
	if (r->r_state == ST_SESSION_BOOT) {
		rabbit_step(r, "sources");
		r->r_state = ST_SOURCES;
		rabbit_send(r, script_a9, NULL, NULL);
	} else {
		rabbit_step(r, "presence");
		r->r_state = ST_PRESENCE;
		rabbit_send(r, script_a10, NULL, NULL);
	}
}

/*
 * A Violet packet: 0x7f, blocks [type:1][len:3 BE][data], 0xff, then only
 * NULs (base64 padding). 1 if it holds the wake-up block (11, one 0 byte),
 * 0 if well formed without it, -1 malformed.
 */
static int
packet_wakes(const unsigned char *d, size_t n)
{
	size_t	i = 1, len;
	int	wake = 0;

	if (n == 0 || d[0] != 0x7f)
		return -1;
	while (i < n && d[i] != 0xff) {
		if (i + 4 > n)
			return -1;
		len = (size_t)d[i + 1] << 16 | (size_t)d[i + 2] << 8 | d[i + 3];
		if (i + 4 + len > n)
			return -1;
		if (d[i] == 11 && len == 1 && d[i + 4] == 0)
			wake = 1;
		i += 4 + len;
	}
	if (i >= n)
		return -1;
	for (i++; i < n; i++)
		if (d[i] != 0)
			return -1;
	return wake;
}

static void
fw_sources(struct rabbit *r, const char *el, size_t n)
{
	char		 from[320], to[320], text[4096], *at, *res;
	unsigned char	 pkt[4096];
	int		 len;

	if (!is(el, n, "iq"))
		return;
	if (attr_is(el, n, "type", "error")) {
		rabbit_fail(r, "sources error: the firmware reconnects: %s",
		    rabbit_show(el, n));
		return;
	}
	if (!xs_attr(el, n, "from", from, sizeof(from)))
		from[0] = '\0';
	at = strchr(from, '@');
	if (at == NULL || (strncmp(from, "net.violet.platform@", 20) != 0 &&
	    strncmp(at + 1, "xmpp.objects.violet.net", 23) != 0)) {
		rabbit_fail(r, "sources answer from '%s': not the platform", from);
		return;
	}
	if (!xs_attr(el, n, "to", to, sizeof(to)))
		to[0] = '\0';
	res = strchr(to, '/');
	if (res == NULL || (strcmp(res, "/boot") && strcmp(res, "/urgent") &&
	    strcmp(res, "/sources"))) {
		rabbit_fail(r, "sources packet to '%s' would wait, not run", to);
		return;
	}
	if (memmem(el, n, "violet:iq:sources", 17) == NULL ||
	    memmem(el, n, "violet:packet", 13) == NULL ||
	    !xs_child_text(el, n, "packet", text, sizeof(text)) ||
	    (len = fw_b64decode(text, strlen(text), pkt, sizeof(pkt))) == -1 ||
	    packet_wakes(pkt, (size_t)len) != 1) {
		rabbit_fail(r, "sources answer without a wake-up packet: %s",
		    rabbit_show(el, n));
		return;
	}
	rabbit_step_ok(r);
	snprintf(r->r_prev, sizeof(r->r_prev), "%s", r->r_res);
	rabbit_step(r, "bind_idle");
	r->r_state = ST_BIND_IDLE;
	rabbit_send(r, script_a7, "idle", NULL);
}

void
rabbit_fw_element(struct rabbit *r, const char *el, size_t n)
{
	switch (r->r_state) {
	case ST_FEATURES:
		rabbit_fw_features(r, el, n);
		break;
	case ST_REGFORM:
	case ST_REGSET:
		fw_register(r, el, n);
		break;
	case ST_SASL:
		fw_sasl(r, el, n);
		break;
	case ST_FEATURES2:
		fw_features2(r, el, n);
		break;
	case ST_BIND_BOOT:
	case ST_BIND_IDLE:
		fw_bind(r, el, n);
		break;
	case ST_SESSION_BOOT:
	case ST_SESSION_IDLE:
		fw_session(r, el, n);
		break;
	case ST_SOURCES:
		fw_sources(r, el, n);
		break;
	case ST_PRESENCE:
		if (!is(el, n, "presence"))
			break;		/* any presence, from anyone */
		rabbit_step_ok(r);
		rabbit_step(r, "unbind");
		r->r_state = ST_UNBIND;
		rabbit_send(r, script_a11, NULL, NULL);
		break;
	case ST_UNBIND:
		if (!is(el, n, "iq"))
			break;		/* result or error: it is free */
		rabbit_step_ok(r);
		snprintf(r->r_prev, sizeof(r->r_prev), "%s", r->r_res);
		r->r_rep.rr_idle = 1;
		r->r_state = ST_DONE;
		if (r->r_opts->ro_events != NULL)
			rabbit_events_start(r);	/* ST_FREE */
		break;
	case ST_FREE:
		rabbit_free_element(r, el, n);
		break;
	}
}
