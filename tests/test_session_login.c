/*
 * test_session_login: SASL on the rabbit's behalf (proxy/session_login.c)
 * against the fake server of nabtest.h speaking PLAIN and SCRAM-SHA-1
 * (computed here with OpenSSL): upstream login on the session's own
 * stream, its failure paths, the fresh-connection login after in-band
 * registration (and none after a refused one), the login probe's
 * connection kept for it (taken, timed out, closed with the session),
 * stream restarts after the rabbit's own SASL, and firmware
 * and MAC detection. The t-host test filter starts the logins; the auth
 * filter does for a rabbit that half-closes during the login.
 */
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "nabfixture.h"

#define USER		"0013d3010203"
#define PW		"s3cret"
#define PLAIN_B64	"ADAwMTNkMzAxMDIwMwBzM2NyZXQ="	/* \0USER\0PW */
#define FEAT1(m)	"<stream:features><mechanisms xmlns='" NT_NS_SASL "'>" \
	m "</mechanisms></stream:features>"
#define MECH(m)		"<mechanism>" m "</mechanism>"
#define AUTH_PLAIN	"<auth xmlns='" NT_NS_SASL "' mechanism='PLAIN'>" \
	PLAIN_B64 "</auth>"
#define LOGIN(cmd)	"<t op='" cmd "' user='" USER "' pw='" PW "'/>"
#define SALT		"nabtestsalt12345"

static void
hmac_sha1(const unsigned char *key, size_t kl, const char *msg,
    unsigned char out[20])
{
	unsigned int	len = 20;

	NT_CHECK(HMAC(EVP_sha1(), key, (int)kl, (const unsigned char *)msg,
	    strlen(msg), out, &len) != NULL, "HMAC");
}

/*
 * The fake server's SCRAM-SHA-1 (RFC 5802): server-first for the
 * client-first message, then check the client proof and answer success
 * with the server signature (or failure).
 */
static void
scram_sha1(struct nt_peer *p, struct nt_sasl *s, const char *msg)
{
	unsigned char	ck[20], sk[20], stk[20], sig[20], proof[20], ssig[20];
	char		am[1024], bare[512], *b64, *pp, *nonce;
	char		*saltb;
	unsigned int	i;

	if (s->step == 1) {
		NT_CHECK(strncmp(msg, "n,,", 3) == 0, "gs2 header: %s", msg);
		snprintf(s->cfirst_bare, sizeof(s->cfirst_bare), "%s", msg + 3);
		nonce = strstr(s->cfirst_bare, ",r=");
		NT_CHECK(nonce != NULL, "client nonce");
		saltb = nt_b64((const unsigned char *)SALT, strlen(SALT));
		snprintf(s->sfirst, sizeof(s->sfirst),
		    "r=%sSRVNONCE,s=%s,i=4096", nonce + 3, saltb);
		free(saltb);
		NT_CHECK(PKCS5_PBKDF2_HMAC(s->password,
		    (int)strlen(s->password), (const unsigned char *)SALT,
		    (int)strlen(SALT), 4096, EVP_sha1(), 20,
		    s->salted) == 1, "PBKDF2");
		nt_sasl_reply(p, "challenge", s->sfirst);
		s->step = 2;
		return;
	}
	snprintf(bare, sizeof(bare), "%s", msg);
	NT_CHECK((pp = strstr(bare, ",p=")) != NULL, "no proof: %s", msg);
	*pp = '\0';
	snprintf(am, sizeof(am), "%s,%s,%s", s->cfirst_bare, s->sfirst, bare);
	hmac_sha1(s->salted, 20, "Client Key", ck);
	SHA1(ck, 20, stk);
	hmac_sha1(stk, 20, am, sig);
	for (i = 0; i < 20; i++)
		proof[i] = ck[i] ^ sig[i];
	b64 = nt_b64(proof, 20);
	if (strcmp(b64, pp + 3) != 0) {
		free(b64);
		nt_sasl_failure(p);
		s->step = 4;
		return;
	}
	free(b64);
	hmac_sha1(s->salted, 20, "Server Key", sk);
	hmac_sha1(sk, 20, am, ssig);
	b64 = nt_b64(ssig, 20);
	snprintf(am, sizeof(am), "v=%s", b64);
	free(b64);
	nt_sasl_reply(p, "success", am);
	s->step = 3;
}

/*
 * A login on the rabbit's behalf needs this connection's proof of the
 * password: the scratch store holds USER's, which t-host proves first.
 */
static int
setup(void **state)
{
	struct nt_world	*w;
	char		 path[128], err[256];

	if (nt_setup(state) != 0)
		return -1;
	w = *state;
	tu_mkdtemp(nt_scratch, sizeof(nt_scratch), "test_session_login");
	snprintf(path, sizeof(path), "%s/credentials", nt_scratch);
	w->px.creds = creds_open(path, err, sizeof(err));
	NT_CHECK(w->px.creds != NULL, "creds_open: %s", err);
	NT_CHECK(creds_put(w->px.creds, USER "@example.net", PW, err,
	    sizeof(err)) != -1, "creds_put: %s", err);
	nt_chain1(w, "t-host", "t_host");
	return 0;
}

/* Every upstream connection is a SASL server offering `mechs`. */
static void
sasl_server(struct nt_world *w, enum nt_sasl_mode mode, const char *mechs,
    const char *pw)
{
	static struct nt_sasl	proto;

	nt_sasl_serve(w, &proto, mechs, USER, pw);
	proto.mode = mode;
	proto.mech = scram_sha1;
	nt_proxy_start(w);
}

/* A rabbit that saw the server's header and first features. */
static struct nt_peer *
rabbit_up(struct nt_world *w, const char *mechs)
{
	struct nt_peer	*rabbit = nt_rabbit(w);
	char		 want[512];

	nt_send(rabbit, NT_RHDR);
	snprintf(want, sizeof(want), "%s<stream:features><mechanisms xmlns='"
	    NT_NS_SASL "'>%s</mechanisms></stream:features>", NT_SHDR, mechs);
	nt_expect(rabbit, want, "rabbit (server header and features)");
	nt_clear(rabbit);
	return rabbit;
}

static void
test_login_plain(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	sasl_server(w, NT_SASL_OK, MECH("PLAIN"), PW);
	rabbit = rabbit_up(w, MECH("PLAIN"));
	srv = nt_server(w, 0);
	nt_send(rabbit, LOGIN("login") "<message id='m1'/> <message id='m2'/>");
	nt_expect(rabbit, "<login ok='1' mechanism='PLAIN' reason='' auth='1' "
	    "restarts='1'></login>", "rabbit (only the filter's report: the "
	    "restarted header and features are swallowed)");
	nt_expect(srv, NT_RHDR AUTH_PLAIN NT_RHDR "<message id='m1'/> "
	    "<message id='m2'/>",
	    "server (auth, restart, held stanzas in order)");
	nt_clear(rabbit);
	nt_send(srv, "<message id='after'/>");
	nt_expect(rabbit, "<message id='after'/>", "rabbit (stream goes on)");
	nt_send(rabbit, "<t op='auth'/>");
	nt_expect(rabbit, "<message id='after'/><r op='auth' v='1'></r>",
	    "rabbit (upstream_authenticated)");
}

static void
test_login_scram_sha1(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;
	const char	*tail = NT_RHDR "<message id='m1'/>", *got;
	size_t		 len;

	sasl_server(w, NT_SASL_OK, MECH("PLAIN") MECH("SCRAM-SHA-1"), PW);
	rabbit = rabbit_up(w, MECH("PLAIN") MECH("SCRAM-SHA-1"));
	srv = nt_server(w, 0);
	nt_send(rabbit, LOGIN("login") "<message id='m1'/>");
	nt_expect(rabbit, "<login ok='1' mechanism='SCRAM-SHA-1' reason='' "
	    "auth='1' restarts='1'></login>", "rabbit (SCRAM-SHA-1 preferred)");
	nt_wait_len(srv, strlen(tail), "server");
	got = (const char *)evbuffer_pullup(srv->in, -1);
	len = evbuffer_get_length(srv->in);
	NT_CHECK(strncmp(got, NT_RHDR "<auth xmlns='" NT_NS_SASL "' mechanism="
	    "'SCRAM-SHA-1'>", strlen(NT_RHDR) + 60) == 0 &&
	    memmem(got, len, "</response>" NT_RHDR "<message id='m1'/>",
	    strlen(tail) + 11) == got + len - strlen(tail) - 11,
	    "server got %s", nt_vis(got, len));
}

static void
test_login_failure(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	sasl_server(w, NT_SASL_OK, MECH("PLAIN"), "other");
	rabbit = rabbit_up(w, MECH("PLAIN"));
	srv = nt_server(w, 0);
	nt_send(rabbit, LOGIN("login") "<message id='m1'/>");
	nt_expect(rabbit, "<login ok='0' mechanism='PLAIN' reason='server "
	    "refused authentication: not-authorized' auth='0' restarts='0'>"
	    "</login>",
	    "rabbit (failure reported)");
	nt_expect(srv, NT_RHDR AUTH_PLAIN "<message id='m1'/>",
	    "server (held stanza released unauthenticated)");
	nt_send(srv, "<iq type='error'/>");
	nt_expect(rabbit, "<login ok='0' mechanism='PLAIN' reason='server "
	    "refused authentication: not-authorized' auth='0' restarts='0'>"
	    "</login>"
	    "<iq type='error'/>", "rabbit (server units reach it again)");
}

/*
 * A server that never answers the auth: the held stanzas must not stay
 * held forever; after 3 x connect-timeout the rabbit gets
 * remote-connection-failed (well inside nt_expect's 5 s).
 */
static void
test_login_deadline(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit;

	w->px.opt.connect_timeout = 1;
	sasl_server(w, NT_SASL_MUTE, MECH("PLAIN"), PW);
	rabbit = rabbit_up(w, MECH("PLAIN"));
	nt_send(rabbit, LOGIN("login") "<message id='m1'/>");
	nt_expect(rabbit, "<stream:error><remote-connection-failed xmlns='"
	    "urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
	    "</stream:stream>", "rabbit (login deadline)");
}

static void
test_login_no_usable_mechanism(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	w->px.opt.allow_plain_cleartext = 0;
	sasl_server(w, NT_SASL_OK, MECH("PLAIN"), PW);
	rabbit = rabbit_up(w, MECH("PLAIN"));
	srv = nt_server(w, 0);
	nt_send(rabbit, "<t op='login' user='" USER "' pw='" PW "' pre='1'/>"
	    "<message id='m1'/>");
	nt_expect(rabbit, "<login ok='0' mechanism='none' reason='server "
	    "offers no usable mechanism (offered: PLAIN; PLAIN refused "
	    "without TLS)' auth='0' restarts='0'></login><pre rc='0'></pre>",
	    "rabbit (refused at once; the hook's own stanza survived)");
	nt_expect(srv, NT_RHDR "<message id='m1'/>", "server (no auth sent)");
}

static void
test_login_needs_features(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, LOGIN("login") "<message id='m1'/>");
	nt_expect(rabbit, "<login rc='-1'></login>",
	    "rabbit (no features yet: cannot start)");
	nt_expect(srv, "<message id='m1'/>", "server (nothing held)");
}

/* The rabbit authenticates itself: both streams restart after success. */
static void
test_rabbit_own_sasl(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	nt_proxy_start(w);
	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, "<auth xmlns='" NT_NS_SASL "' mechanism='PLAIN'>="
	    "</auth>");
	nt_expect(srv, "<auth xmlns='" NT_NS_SASL "' mechanism='PLAIN'>="
	    "</auth>", "server");
	nt_send(srv, "<success xmlns='" NT_NS_SASL "'/>");
	nt_expect(rabbit, "<success xmlns='" NT_NS_SASL "'/>", "rabbit");
	nt_clear(rabbit);
	nt_clear(srv);
	nt_send(rabbit, NT_RHDR "<t op='auth'/>");
	nt_expect(rabbit, "<r op='auth' v='1'></r>", "rabbit (authenticated)");
	nt_expect(srv, NT_RHDR, "server (the new header)");
	nt_send(srv, NT_SHDR NT_FEATURES2);
	nt_expect(rabbit, "<r op='auth' v='1'></r>" NT_SHDR NT_FEATURES2,
	    "rabbit (the server's new stream)");
}

/* The identity the proxy learned, as t-host reports it. */
static void
expect_ident(struct nt_world *w, const char *first, const char *mac,
    const char *jid, const char *fw)
{
	struct nt_peer	*rabbit, *srv;
	char		 want[512];

	nt_open(w, &rabbit, &srv);
	nt_send(rabbit, first);
	nt_expect(srv, first, "server");
	nt_send(rabbit, "<t op='ident'/>");
	snprintf(want, sizeof(want), "<r op='ident' mac='%s' domain='example."
	    "net' jid='%s' fw='%s' profile='p' sid='%llu' peer-ok='1'></r>",
	    mac, jid, fw, (unsigned long long)w->px.next_id);
	nt_expect(rabbit, want, "rabbit (identity)");
}

static void
test_firmware_detection(void **state)
{
	struct nt_world	*w = *state;

	nt_proxy_start(w);
	expect_ident(w, "<iq type='set' id='r'><query xmlns='violet:iq:"
	    "register'><username>0013D3ABCDEF</username></query></iq>",
	    "0013d3abcdef", "0013d3abcdef@example.net", "bootcode-18673");
	expect_ident(w, "<iq type='set' id='r'><query xmlns='jabber:iq:"
	    "register'><username>f81edfee27c1</username><name>n</name>"
	    "</query></iq>", "f81edfee27c1", "f81edfee27c1@example.net",
	    "simulator");
	expect_ident(w, "<iq type='set' id='b' from='0013d3010203@example.net/'"
	    "><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>", "", "",
	    "bootcode-18673");
	expect_ident(w, "<iq type='set' id='b' from='x@example.net/idle'><bind "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>", "", "",
	    "simulator");
	expect_ident(w, "<iq type='get' id='r'><query xmlns='jabber:iq:"
	    "register'><username>not-a-mac</username></query></iq>", "", "",
	    "");
}

/*
 * After in-band registration the login runs on a fresh connection that
 * the session then adopts as its server leg; the old one is ended.
 */
#define REG	"<iq type='set' id='reg'><query xmlns='jabber:iq:register'>" \
	"<username>" USER "</username><password>" PW "</password></query></iq>"

static void
test_login_fresh_after_registration(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *old, *fresh;

	sasl_server(w, NT_SASL_OK, MECH("PLAIN"), PW);
	rabbit = rabbit_up(w, MECH("PLAIN"));
	old = nt_server(w, 0);
	nt_send(rabbit, REG);
	nt_expect(old, NT_RHDR, "server (header)");
	nt_clear(old);
	nt_expect(old, REG, "server (registration)");
	nt_send(old, "<iq type='result' id='reg'/>");
	nt_expect(rabbit, "<iq type='result' id='reg'/>", "rabbit");
	nt_clear(rabbit);
	nt_send(rabbit, LOGIN("login") "<message id='m1'/>");
	nt_expect(rabbit, "<login ok='1' mechanism='PLAIN' reason='' auth='1' "
	    "restarts='1'></login>", "rabbit (login on a fresh connection)");
	fresh = nt_server(w, 1);
	nt_expect(fresh, NT_RHDR AUTH_PLAIN NT_RHDR "<message id='m1'/>",
	    "fresh connection (login, restart, held stanza)");
	nt_wait_eof(old, "the old server stream to end");
	nt_expect(old, REG NT_END, "old connection (ended cleanly)");
	nt_clear(rabbit);
	nt_send(fresh, "<message id='s'/>");
	nt_expect(rabbit, "<message id='s'/>",
	    "rabbit (served by the new leg)");
	nt_send(rabbit, "<t op='ident'/><message id='r'/>");
	nt_expect(fresh, NT_RHDR AUTH_PLAIN NT_RHDR "<message id='m1'/>"
	    "<message id='r'/>", "fresh connection (the rabbit's next stanza)");
	nt_expect(rabbit, "<message id='s'/><r op='ident' mac='" USER "' "
	    "domain='example.net' jid='" USER "@example.net' fw='' profile='p' "
	    "sid='1' peer-ok='1'></r>", "rabbit (MAC from the registration)");
}

/*
 * A register the server refused (409) registered nothing: the login runs
 * on the session's own stream, no second connection.
 */
static void
test_login_same_stream_after_409(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;
	const char	*conflict = "<iq type='error' id='reg'><error "
			    "type='cancel'><conflict xmlns='urn:ietf:params:"
			    "xml:ns:xmpp-stanzas'/></error></iq>";

	sasl_server(w, NT_SASL_OK, MECH("PLAIN"), PW);
	rabbit = rabbit_up(w, MECH("PLAIN"));
	srv = nt_server(w, 0);
	nt_send(rabbit, REG);
	nt_expect(srv, NT_RHDR REG, "server (header, registration)");
	nt_send(srv, conflict);
	nt_expect(rabbit, conflict, "rabbit (409)");
	nt_clear(rabbit);
	nt_send(rabbit, LOGIN("login") "<message id='m1'/>");
	nt_expect(rabbit, "<login ok='1' mechanism='PLAIN' reason='' auth='1' "
	    "restarts='1'></login>", "rabbit (login on its own stream)");
	nt_expect(srv, NT_RHDR REG AUTH_PLAIN NT_RHDR "<message id='m1'/>",
	    "server (auth, restart, held stanza on the same stream)");
	NT_CHECK(w->nsrvc == 1, "%zu server connections", w->nsrvc);
}

/*
 * A rabbit whose stream registered an account: *rabbit and *old (the
 * session's own server stream) after the server's result.
 */
static void
registered(struct nt_world *w, struct nt_peer **rabbit, struct nt_peer **old)
{
	sasl_server(w, NT_SASL_OK, MECH("PLAIN"), PW);
	*rabbit = rabbit_up(w, MECH("PLAIN"));
	*old = nt_server(w, 0);
	nt_send(*rabbit, REG);
	nt_expect(*old, NT_RHDR REG, "server (header, registration)");
	nt_send(*old, "<iq type='result' id='reg'/>");
	nt_expect(*rabbit, "<iq type='result' id='reg'/>", "rabbit");
	nt_clear(*rabbit);
}

/* registered(), then a login probe that succeeded: its connection. */
static struct nt_peer *
probed(struct nt_world *w, struct nt_peer **rabbit, struct nt_peer **old)
{
	struct nt_peer	*pc;

	registered(w, rabbit, old);
	nt_send(*rabbit, LOGIN("probe"));
	nt_expect(*rabbit, "<probe ok='1' mechanism='PLAIN' reason='' "
	    "auth='0' restarts='0'></probe>", "rabbit (probe succeeded)");
	pc = nt_server(w, 1);
	nt_expect(pc, NT_RHDR AUTH_PLAIN NT_RHDR, "probe (auth, restart)");
	return pc;
}

/*
 * The stream registered an account and a login probe proved the
 * password: the probe's connection, restarted and kept, becomes the
 * session's server leg (two connections, one SASL exchange for the
 * login). Another password would dial.
 */
static void
test_login_takes_kept_probe(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *old, *pc;

	pc = probed(w, &rabbit, &old);
	nt_clear(rabbit);
	nt_send(rabbit, LOGIN("login") "<message id='m1'/>");
	nt_expect(rabbit, "<login ok='1' mechanism='PLAIN' reason='' auth='1' "
	    "restarts='1'></login>", "rabbit (login on the probe's stream)");
	nt_expect(pc, NT_RHDR AUTH_PLAIN NT_RHDR "<message id='m1'/>",
	    "probe connection (the held stanza, no second auth)");
	nt_wait_eof(old, "the old server stream to end");
	NT_CHECK(w->nsrvc == 2, "%zu server connections", w->nsrvc);
	nt_clear(rabbit);
	nt_send(pc, "<message id='s'/>");
	nt_expect(rabbit, "<message id='s'/>", "rabbit (served by the probe's "
	    "connection)");
}

/* Unused, a kept probe connection closes at connect-timeout. */
static void
test_kept_probe_times_out(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *old, *pc;

	w->px.opt.connect_timeout = 1;
	pc = probed(w, &rabbit, &old);
	nt_wait_gone(pc, "the unused kept probe connection to close");
	NT_CHECK(!old->gone, "the session's own server stream was closed");
}

/* A kept probe connection goes with its session. */
static void
test_kept_probe_closed_with_session(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *old, *pc;

	pc = probed(w, &rabbit, &old);
	nt_send(rabbit, "<bad></xml>");
	nt_wait_len(rabbit, strlen(NT_ERR("not-well-formed")),
	    "rabbit (session ends)");
	bufferevent_free(rabbit->bev);
	rabbit->bev = NULL;
	nt_wait_eof(old, "the session's server stream to end");
	bufferevent_free(old->bev);
	old->bev = NULL;
	nt_wait_sessions(w, 0, 5 * NT_SEC);
	nt_wait_gone(pc, "the kept probe connection to close with its session");
}

/* Has c->p received the string c->arg? */
static int
c_has(const struct nt_cond *c)
{
	return evbuffer_search(c->p->in, c->arg, strlen(c->arg), NULL).pos !=
	    -1;
}

/*
 * A fresh-connection login whose connect fails at once (the callback runs
 * before the service returns) leaves the session free to log in again.
 */
static void
test_login_fresh_fails_at_once(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *old, *fresh;
	struct session	*se;
	struct proxy_opts *so;
	const char	*got;
	struct nt_cond	 c = { c_has, w, NULL, 0, (void *)"</login>" };

	registered(w, &rabbit, &old);
	c.p = rabbit;
	/* Connecting to the broadcast address fails inside connect(). */
	se = nt_session(w);
	/* The session's own (shared, heap) snapshot of the options, edited
	   in place: the only way to change where this session dials. */
	so = (struct proxy_opts *)(uintptr_t)se->opt;
	snprintf(so->upstream_host, sizeof(so->upstream_host),
	    "255.255.255.255");
	nt_send(rabbit, LOGIN("login"));
	nt_run(&c, 5 * NT_SEC, "rabbit (the failed login)");
	got = (const char *)evbuffer_pullup(rabbit->in, -1);
	NT_CHECK(strncmp(got, "<login ok='0' ", 14) == 0, "rabbit got %s",
	    nt_vis(got, evbuffer_get_length(rabbit->in)));
	nt_clear(rabbit);
	snprintf(so->upstream_host, sizeof(so->upstream_host),
	    "127.0.0.1");
	nt_send(rabbit, LOGIN("login"));
	nt_expect(rabbit, "<login ok='1' mechanism='PLAIN' reason='' auth='1' "
	    "restarts='1'></login>", "rabbit (the second login runs)");
	fresh = nt_server(w, 1);
	nt_expect(fresh, NT_RHDR AUTH_PLAIN NT_RHDR, "fresh connection");
}

/*
 * The auth filter (as profile 'simulator' runs it) with USER@example.net
 * in a scratch credential store. The fake server stays mute after the
 * <auth>: the test answers it with sasl_succeed(), so whatever the rabbit
 * does meanwhile happens in the middle of the login.
 */
static struct nt_sasl	auth_proto;

static int
setup_auth(void **state)
{
	struct nt_world	*w;
	char		 err[256];

	if (nt_setup_filter(state, "test_session_login", "auth", &auth_proto,
	    MECH("PLAIN"), USER, PW) != 0)
		return -1;
	w = *state;
	auth_proto.mode = NT_SASL_MUTE;
	NT_CHECK(creds_put(w->px.creds, USER "@example.net", PW, err,
	    sizeof(err)) != -1, "creds_put: %s", err);
	return 0;
}

/* The mute server accepts now; its script answers the restarted header. */
static void
sasl_succeed(struct nt_peer *srv)
{
	struct nt_sasl	*s = srv->sctx;

	NT_CHECK(s->step == 1, "server SASL step %d, want 1 (auth seen)",
	    s->step);
	s->mode = NT_SASL_OK;
	s->step = 3;
	nt_send(srv, "<success xmlns='" NT_NS_SASL "'/>");
}

/*
 * The auth filter acts only for a connection that proved the account's
 * password (it_security tests how a rabbit proves it): these tests are
 * about what happens during the login, so the session is proven here.
 */
static void
proven(struct nt_world *w)
{
	NT_CHECK(identity_prove(&nt_session(w)->who, USER, "stored") == 0,
	    "identity_prove");
}

/* Has the proxy read the rabbit's FIN? */
static int
c_rabbit_fin(const struct nt_cond *c)
{
	struct session	*se = TAILQ_FIRST(&c->w->px.sessions);

	return se == NULL || se->r.eof;
}

/* The simulator's bind (it needs an authenticated stream) and its answer. */
#define BIND		"<iq type='set' id='b' from='" USER		\
	"@example.net/idle'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>" \
	"</bind></iq>"
#define BOUND		"<iq type='result' id='b'><bind xmlns='urn:ietf:" \
	"params:xml:ns:xmpp-bind'><jid>" USER "@example.net/x</jid></bind></iq>"

/*
 * A rabbit half-closes (bind, its end and a FIN in one go) while the bind
 * is held for our login: the FIN must wait behind the SASL exchange and
 * the held stanzas, not reach the server mid-SASL (which lost the bind and
 * ended in "server connection error: Broken pipe"). The rabbit still
 * reads: it gets the server's answer and end, then EOF, and the session
 * ends cleanly.
 */

static void
test_login_rabbit_half_closes(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;
	struct nt_cond	 c = { c_rabbit_fin, w, NULL, 0, NULL };

	rabbit = nt_rabbit_up(w, NT_RHDR, FEAT1(MECH("PLAIN")), &srv);
	proven(w);
	nt_send_with_fin(rabbit, BIND NT_END);
	nt_expect(srv, AUTH_PLAIN, "server (the login's auth)");
	nt_run(&c, 5 * NT_SEC, "the proxy to read the rabbit's FIN");
	NT_CHECK(w->px.nsessions == 1 &&
	    !nt_session(w)->eof_sent[NAB_FROM_RABBIT],
	    "the rabbit's FIN went to the server in the middle of SASL");
	sasl_succeed(srv);
	nt_expect(srv, AUTH_PLAIN NT_RHDR BIND NT_END, "server (auth, restart, "
	    "the held bind, the rabbit's end)");
	nt_wait_eof(srv, "the rabbit's FIN after its end");
	nt_expect(srv, AUTH_PLAIN NT_RHDR BIND NT_END,
	    "server (nothing after the end)");
	nt_send_with_fin(srv, BOUND NT_END);
	nt_wait_eof(rabbit, "the server's FIN");
	nt_expect(rabbit, BOUND NT_END, "rabbit (the bind answer and the end "
	    "only: the restart is hidden)");
	nt_wait_sessions(w, 0, 2 * NT_SEC);
	NT_CHECK(rabbit->error == 0 && srv->error == 0, "no reset (rabbit %d, "
	    "server %d)", rabbit->error, srv->error);
}

#define ERR_ISE	"<stream:error><internal-server-error xmlns='"		\
	NT_NS_STREAMS "'/></stream:error>"

/*
 * The server ends the stream while we log in for the rabbit: the rabbit
 * gets the server's own stream error (not just </stream:stream>), so the
 * [vm] log shows why.
 */
static void
test_login_server_stream_error(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	rabbit = nt_rabbit_up(w, NT_RHDR, FEAT1(MECH("PLAIN")), &srv);
	proven(w);
	nt_send(rabbit, BIND);
	nt_expect(srv, AUTH_PLAIN, "server (the login's auth)");
	nt_send(srv, ERR_ISE NT_END);
	nt_expect(rabbit, ERR_ISE NT_END, "rabbit (the server's stream error "
	    "and end, exactly)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, nt_teardown)
		T(test_login_plain),
		T(test_login_scram_sha1),
		T(test_login_failure),
		T(test_login_deadline),
		T(test_login_no_usable_mechanism),
		T(test_login_needs_features),
		T(test_rabbit_own_sasl),
		T(test_firmware_detection),
		T(test_login_fresh_after_registration),
		T(test_login_fresh_fails_at_once),
		T(test_login_same_stream_after_409),
		T(test_login_takes_kept_probe),
		T(test_kept_probe_closed_with_session),
		T(test_kept_probe_times_out),
#undef T
#define T(f)	cmocka_unit_test_setup_teardown(f, setup_auth, \
	    nt_teardown_filter)
		T(test_login_rabbit_half_closes),
		T(test_login_server_stream_error),
#undef T
	};

	nt_main_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
