/*
 * test_digest_server: the digest-server filter's decisions (relay, abort
 * and finish locally, local path, transient login failure) driven through
 * its descriptor by a mock host: stanzas are small structs, the digest
 * services call the real sasl_* functions, and every service the filter
 * uses records what it was asked to do. The upstream login's result is
 * given by the test, `transient` included (the real host decides it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <nabproxy/filter.h>

#include "sasl.h"
#include "testutil.h"

#define NS_SASL	"urn:ietf:params:xml:ns:xmpp-sasl"
#define MAC	"0013d3000201"
#define DOM	"almacska"
#define PW	"4e532621736a"
#define NMAX	8

extern const struct nab_filter nab_builtin_digest_server;

struct nab_stanza {
	char			 name[32], xmlns[64], mech[32], text[1024];
	struct nab_stanza	*kid, *sib;
};

/* What the filter did, and what the mock answers. */
static struct mock {
	struct nab_stanza	 pool[64];
	size_t			 npool;
	void			*data;
	struct nab_identity	 id;
	char			 mac[16];
	const char		*cred;		/* stored password or NULL */
	struct nab_stanza	*features;
	struct nab_stanza	*replaced;
	struct nab_stanza	*inj[NMAX];
	enum nab_dir		 injdir[NMAX];
	size_t			 ninj;
	int			 holds, logins, authenticated;
	nab_login_cb		*login_cb;
	char			 closed[64];
} m;

static struct nab_stanza *
st(const char *name, const char *text)
{
	struct nab_stanza	*s;

	CHECK(m.npool < sizeof(m.pool) / sizeof(m.pool[0]), "pool full");
	s = &m.pool[m.npool++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->text, sizeof(s->text), "%s", text ? text : "");
	return s;
}

static struct nab_stanza *
sasl(const char *name, const char *text)
{
	struct nab_stanza	*s = st(name, text);

	snprintf(s->xmlns, sizeof(s->xmlns), "%s", NS_SASL);
	return s;
}

static void
h_log(struct nab_ctx *c, enum nab_loglevel l, const char *fmt, ...)
{
	va_list	ap;
	char	line[1024];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	CHECK(strstr(line, PW) == NULL, "password in the log: %s", line);
}

static const struct nab_identity *h_identity(struct nab_ctx *c) { return &m.id; }
static void *h_get_data(struct nab_ctx *c) { return m.data; }
static void h_set_data(struct nab_ctx *c, void *d) { m.data = d; }
static const char *h_name(const struct nab_stanza *s) { return s->name; }
static struct nab_stanza *h_next(const struct nab_stanza *s) { return s->sib; }
static void h_hold(struct nab_ctx *c) { m.holds++; }
static void h_release(struct nab_ctx *c) { m.holds--; }
static int h_authd(struct nab_ctx *c) { return m.authenticated; }
static struct nab_stanza *h_features(struct nab_ctx *c) { return m.features; }
static void h_timer_del(struct nab_ctx *c, struct nab_timer *t) { }
static void h_restart(struct nab_ctx *c) { }

static void
h_set_identity(struct nab_ctx *c, const char *mac, const char *d,
    const char *fw)
{
	if (mac != NULL)
		snprintf(m.mac, sizeof(m.mac), "%s", mac);
}

static const char *
h_attr(const struct nab_stanza *s, const char *n)
{
	return strcmp(n, "mechanism") == 0 && s->mech[0] ? s->mech : NULL;
}

static const char *
h_xmlns(const struct nab_stanza *s)
{
	return s->xmlns[0] ? s->xmlns : NULL;
}

static struct nab_stanza *
h_child(const struct nab_stanza *s, const char *name, const char *ns)
{
	struct nab_stanza	*k;

	for (k = s->kid; k != NULL; k = k->sib)
		if ((name == NULL || strcmp(k->name, name) == 0) &&
		    (ns == NULL || strcmp(k->xmlns, ns) == 0))
			return k;
	return NULL;
}

static const char *
h_text(struct nab_ctx *c, const struct nab_stanza *s)
{
	return s->text;
}

static int
h_set_attr(struct nab_ctx *c, struct nab_stanza *s, const char *n,
    const char *v)
{
	CHECK(strcmp(n, "xmlns") == 0, "attribute %s", n);
	snprintf(s->xmlns, sizeof(s->xmlns), "%s", v);
	return 0;
}

static struct nab_stanza *
h_new(struct nab_ctx *c, const char *name)
{
	return st(name, NULL);
}

static struct nab_stanza *
h_add_child(struct nab_ctx *c, struct nab_stanza *p, const char *name)
{
	struct nab_stanza	*k = st(name, NULL);

	k->sib = p->kid;
	p->kid = k;
	return k;
}

static int
h_add_text(struct nab_ctx *c, struct nab_stanza *s, const char *t)
{
	snprintf(s->text, sizeof(s->text), "%s", t);
	return 0;
}

static int
h_replace(struct nab_ctx *c, struct nab_stanza *s)
{
	m.replaced = s;
	return 0;
}

static int
h_inject(struct nab_ctx *c, enum nab_dir d, struct nab_stanza *s)
{
	CHECK(m.ninj < NMAX, "too many injections");
	m.injdir[m.ninj] = d;
	m.inj[m.ninj++] = s;
	return 0;
}

static struct nab_timer *
h_timer_add(struct nab_ctx *c, unsigned ms, nab_timer_cb *cb, void *arg)
{
	return (struct nab_timer *)&m;	/* never fires here */
}

static const char *
h_cred_get(struct nab_ctx *c, const char *jid)
{
	CHECK(strcmp(jid, MAC "@" DOM) == 0, "looked up %s", jid);
	return m.cred;
}

static int
h_login(struct nab_ctx *c, const char *user, const char *pw,
    nab_login_cb *cb, void *arg)
{
	CHECK(strcmp(user, MAC) == 0 && strcmp(pw, PW) == 0, "login as %s",
	    user);
	m.logins++;
	m.login_cb = cb;
	return 0;
}

static void
h_close_with(struct nab_ctx *c, const char *cond, const char *why)
{
	snprintf(m.closed, sizeof(m.closed), "%s", cond);
}

static int
h_challenge(struct nab_ctx *c, char *nonce, size_t ncap, char *b64,
    size_t cap)
{
	char	plain[256];
	int	n;

	if (sasl_digest_server_nonce(nonce, ncap) == -1 ||
	    (n = sasl_digest_server_challenge(nonce, plain, sizeof(plain))) ==
	    -1 || sasl_b64_encode(plain, (size_t)n, b64, cap) == -1)
		return -1;
	return (int)strlen(b64);
}

static int
h_username(struct nab_ctx *c, const char *b64, char *user, size_t cap)
{
	char	r[1024];
	size_t	n;

	if (sasl_b64_decode_lenient(b64, strlen(b64), (unsigned char *)r,
	    sizeof(r), &n) == -1)
		return -1;
	return sasl_digest_server_username(r, n, user, cap) == -1 ? -1 : 0;
}

static int
h_verify(struct nab_ctx *c, const char *b64, const char *user,
    const char *pw, const char *nonce, char *out, size_t cap,
    const char **why)
{
	char	r[1024], ra[SASL_DIGEST_HEXSIZE], plain[64];
	size_t	n;
	int	v;

	*why = "not base64";
	if (sasl_b64_decode_lenient(b64, strlen(b64), (unsigned char *)r,
	    sizeof(r), &n) == -1)
		return -1;
	v = sasl_digest_server_verify(r, n, user, pw, nonce, DOM, ra,
	    sizeof(ra));
	*why = sasl_digest_strerror(v);
	if (v != SASL_DIGEST_OK)
		return -1;
	n = (size_t)snprintf(plain, sizeof(plain), "rspauth=%s", ra);
	return sasl_b64_encode(plain, n, out, cap);
}

static int
h_relay_challenge(struct nab_ctx *c, const char *b64, char *out, size_t cap)
{
	return sasl_digest_relay_challenge(b64, strlen(b64), out, cap);
}

static int
h_repad(struct nab_ctx *c, const char *b64, char *out, size_t cap)
{
	return sasl_digest_repad(b64, strlen(b64), out, cap);
}

static const struct nab_host mock_host = {
	.struct_size = sizeof(struct nab_host),
	.abi_major = NAB_ABI_MAJOR, .abi_minor = NAB_ABI_MINOR,
	.log = h_log, .identity = h_identity, .set_identity = h_set_identity,
	.get_data = h_get_data, .set_data = h_set_data, .name = h_name,
	.attr = h_attr, .xmlns = h_xmlns, .child = h_child, .next = h_next,
	.text = h_text, .set_attr = h_set_attr, .stanza_new = h_new,
	.add_child = h_add_child, .add_text = h_add_text,
	.replace = h_replace, .inject = h_inject, .hold = h_hold,
	.release = h_release, .timer_add = h_timer_add,
	.timer_del = h_timer_del, .cred_get = h_cred_get,
	.upstream_login = h_login, .upstream_authenticated = h_authd,
	.close_with = h_close_with, .server_features = h_features,
	.restart_rabbit = h_restart, .digest_challenge = h_challenge,
	.digest_username = h_username, .digest_verify = h_verify,
	.digest_relay_challenge = h_relay_challenge, .digest_repad = h_repad,
};

static const struct nab_filter	*F = &nab_builtin_digest_server;
static struct nab_ctx		*ctx = (struct nab_ctx *)&m;

/* A fresh session; the server offers DIGEST-MD5 if digest. */
static void
start(int digest, const char *cred)
{
	struct nab_stanza	*ms;
	void			*fs;
	char			 err[128];

	memset(&m, 0, sizeof(m));
	m.id.domain = DOM;
	m.id.mac = m.mac;
	m.cred = cred;
	m.features = st("stream:features", NULL);
	ms = h_add_child(ctx, m.features, "mechanisms");
	snprintf(ms->xmlns, sizeof(ms->xmlns), "%s", NS_SASL);
	h_add_child(ctx, ms, "mechanism")->text[0] = '\0';
	snprintf(ms->kid->text, sizeof(ms->kid->text), "%s",
	    digest ? "DIGEST-MD5" : "SCRAM-SHA-1");
	CHECK(F->init(&mock_host, NULL, 0, &fs, err, sizeof(err)) == 0, "%s",
	    err);
	CHECK(F->open(ctx) == 0, "open");
}

static enum nab_verdict
from(enum nab_dir d, struct nab_stanza *s)
{
	m.replaced = NULL;
	return F->on_stanza(ctx, d, s);
}

/* The rabbit's <auth>. */
static enum nab_verdict
auth(void)
{
	struct nab_stanza	*a = sasl("auth", NULL);

	snprintf(a->mech, sizeof(a->mech), "DIGEST-MD5");
	return from(NAB_FROM_RABBIT, a);
}

/* The firmware's answer (short padding) to a base64 challenge. */
static void
firmware_response(const char *chal_b64, const char *pw, char *out,
    size_t cap)
{
	struct sasl_client	*c;
	unsigned char		 chal[512], *o;
	size_t			 n, ol;
	char			 err[128];

	CHECK(sasl_b64_decode(chal_b64, strlen(chal_b64), chal, sizeof(chal),
	    &n) == 0, "challenge %s", chal_b64);
	c = sasl_client_new(SASL_MECH_DIGEST_MD5, MAC, pw, DOM, 0, err,
	    sizeof(err));
	CHECK(c != NULL && sasl_client_start(c, &o, &ol) == SASL_CONTINUE &&
	    sasl_client_step(c, chal, n, &o, &ol) == SASL_CONTINUE, "client");
	CHECK(sasl_b64_encode(o, ol, out, cap) == 0, "encode");
	n = strlen(out);
	if (ol % 3 != 0)		/* one '=' short, as the firmware */
		out[n - 1] = '\0';
	sasl_client_free(c);
}

/* ejabberd 23.01's challenge (19-digit nonce, canonical already). */
#define EJ "bm9uY2U9IjE3MzM1MjMxOTExMTI5MTc0NDYiLHFvcD0iYXV0aCIsY2hhcnNl" \
	"dD11dGYtOCxhbGdvcml0aG09bWQ1LXNlc3M="
#define EJ_RSP "cnNwYXV0aD0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZg=="
#define J2 "cmVhbG09ImFsbWFjc2thIiwgbm9uY2U9IjBsVndNb3ZjUDRKbWFWTXRVSXlD" \
	"UkE9PSIsIHFvcD0iYXV0aCIsIGNoYXJzZXQ9dXRmLTgsIGFsZ29yaXRobT1tZDUt" \
	"c2Vzcw=="

/* No stored password: everything goes to the server, repaired. */
static void
test_relay_unknown(void **state)
{
	char	resp[512], fixed[512];

	(void)state;
	start(1, NULL);
	CHECK(auth() == NAB_PASS, "auth not forwarded");
	CHECK(from(NAB_FROM_SERVER, sasl("challenge", EJ)) == NAB_REPLACE &&
	    strcmp(m.replaced->text, EJ) == 0 &&
	    strcmp(m.replaced->xmlns, NS_SASL) == 0, "challenge not relayed");
	firmware_response(EJ, "wrongpass", resp, sizeof(resp));
	CHECK(sasl_digest_repad(resp, strlen(resp), fixed, sizeof(fixed)) > 0,
	    "repad");
	CHECK(from(NAB_FROM_RABBIT, sasl("response", resp)) == NAB_REPLACE &&
	    strcmp(m.replaced->name, "response") == 0 &&
	    strcmp(m.replaced->text, fixed) == 0, "response not re-padded");
	CHECK(from(NAB_FROM_SERVER, sasl("challenge", EJ_RSP)) == NAB_REPLACE &&
	    strcmp(m.replaced->text, EJ_RSP) == 0, "rspauth not relayed");
	CHECK(from(NAB_FROM_RABBIT, sasl("response", NULL)) == NAB_PASS,
	    "empty response not passed");
	CHECK(from(NAB_FROM_SERVER, sasl("success", NULL)) == NAB_PASS,
	    "success not passed");
	CHECK(m.ninj == 0 && m.logins == 0 && m.holds == 0 && !m.closed[0],
	    "the relay did something else");
	CHECK(strcmp(m.mac, MAC) == 0, "mac not learned from the success");
	F->close(ctx);
}

/* Stored password matches the server's nonce: abort, finish locally. */
static void
test_relay_stored_abort(void **state)
{
	struct nab_login_result	r = { 0, "SCRAM-SHA-1", "timeout", 1 };
	char			resp[512];

	(void)state;
	start(1, PW);
	CHECK(auth() == NAB_PASS, "auth not forwarded");
	CHECK(from(NAB_FROM_SERVER, sasl("challenge", J2)) == NAB_REPLACE,
	    "jabberd2 challenge not relayed");
	firmware_response(m.replaced->text, PW, resp, sizeof(resp));
	CHECK(from(NAB_FROM_RABBIT, sasl("response", resp)) == NAB_HANDLED,
	    "matching response forwarded");
	CHECK(m.ninj == 2 && m.injdir[0] == NAB_FROM_RABBIT &&
	    strcmp(m.inj[0]->name, "abort") == 0 &&
	    m.injdir[1] == NAB_FROM_SERVER &&
	    strcmp(m.inj[1]->name, "challenge") == 0 &&
	    strncmp(m.inj[1]->text, "cnNwYXV0aD", 10) == 0,
	    "no abort upstream and rspauth to the rabbit");
	CHECK(from(NAB_FROM_RABBIT, sasl("response", NULL)) == NAB_HANDLED &&
	    m.holds == 1 && m.logins == 0, "login started before the abort "
	    "was confirmed");
	CHECK(from(NAB_FROM_SERVER, sasl("failure", NULL)) == NAB_DROP &&
	    m.logins == 1, "aborted failure not swallowed, or no login");
	/* Not judged: close, never <failure> (the firmware re-registers). */
	m.login_cb(ctx, &r, NULL);
	CHECK(strcmp(m.closed, "remote-connection-failed") == 0,
	    "closed with '%s'", m.closed);
	CHECK(m.ninj == 2 && m.holds == 0, "failure sent or hold kept");
	F->close(ctx);
}

/* Prosody: no DIGEST-MD5 upstream; a judged failure is a <failure>. */
static void
test_local(void **state)
{
	struct nab_login_result	bad = { 0, "SCRAM-SHA-1", "not-authorized", 0 };
	struct nab_login_result	down = { 0, "SCRAM-SHA-1", "refused", 1 };
	char			resp[512];
	int			i;

	(void)state;
	for (i = 0; i < 2; i++) {
		start(0, PW);
		CHECK(auth() == NAB_HANDLED && m.ninj == 1 &&
		    strcmp(m.inj[0]->name, "challenge") == 0, "no local "
		    "challenge");
		firmware_response(m.inj[0]->text, PW, resp, sizeof(resp));
		CHECK(from(NAB_FROM_RABBIT, sasl("response", resp)) ==
		    NAB_HANDLED && m.ninj == 2, "no rspauth");
		CHECK(from(NAB_FROM_RABBIT, sasl("response", NULL)) ==
		    NAB_HANDLED && m.logins == 1, "no login");
		m.login_cb(ctx, i == 0 ? &bad : &down, NULL);
		if (i == 0)
			CHECK(m.ninj == 3 && strcmp(m.inj[2]->name,
			    "failure") == 0 && !m.closed[0], "no failure");
		else
			CHECK(m.ninj == 2 && strcmp(m.closed,
			    "remote-connection-failed") == 0, "not closed");
		CHECK(m.holds == 0, "hold kept");
		F->close(ctx);
	}
	/* Unknown user: failure at once. */
	start(0, NULL);
	CHECK(auth() == NAB_HANDLED, "no local challenge");
	firmware_response(m.inj[0]->text, PW, resp, sizeof(resp));
	CHECK(from(NAB_FROM_RABBIT, sasl("response", resp)) == NAB_HANDLED &&
	    m.ninj == 2 && strcmp(m.inj[1]->name, "failure") == 0,
	    "unknown user not refused");
	F->close(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay_unknown),
		cmocka_unit_test(test_relay_stored_abort),
		cmocka_unit_test(test_local),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
