/*
 * test_tls: the STARTTLS client (proxy/tls.c) over real TLS on loopback,
 * no mocks. A throwaway self-signed certificate for TLS_NAME, and an
 * unrelated one to play the wrong CA, are made here in memory and written
 * to a scratch directory. nabtest.h's fake server on 127.0.0.1 answers
 * <starttls/> with <proceed/> and turns TLS server on the same connection;
 * a struct leg connects to it and is wrapped by tls_wrap() at the byte
 * after <proceed/>, as upstream.c does. No sleeps: nt_run() turns the
 * loop until a condition holds or its deadline fires. tls_pin_check()
 * runs on such legs too, against a pin store in the scratch directory.
 */
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <sys/stat.h>

#include "leg.h"
#include "nabtest.h"
#include "proxy.h"
#include "stanza.h"
#include "tls.h"
#include "tls_pin.h"
#include "xmlstream.h"

#define TLS_NAME	"tls.example"
#define OTHER_NAME	"other.example"
#define PROCEED		"<proceed xmlns='" TLS_NS "'/>"
#define VFAILED		"certificate verification failed: "

/* The certificates and the server's context, made once in main(). */
static struct {
	char	 dir[64];	/* scratch directory */
	char	 ca[128];	/* TLS_NAME's self-signed certificate */
	char	 other[128];	/* OTHER_NAME's, unrelated */
	SSL_CTX	*srv;
	unsigned char pin[TLS_PIN_LEN];	/* SHA-256 of the server's SPKI */
} pki;

/* The client: a leg to the fake server and what its callbacks saw. */
struct tcli {
	struct leg	 l;
	SSL_CTX		*ctx;
	const char	*name;		/* for tls_wrap() */
	int		 verify;
	struct evbuffer	*in;		/* everything read over TLS */
	int		 nconnected;	/* 1 after TCP, 2 after TLS */
	int		 failed;
	int		 connecting;	/* the error callback's flag */
	int		 eof;
	int		 closed;
	char		 why[256];	/* tls_error() in the error callback */
};

/* One test's world and client; the teardown frees both. */
struct tstate {
	struct nt_world	w;
	struct tcli	c;
};

static X509	*cert_new(const char *, EVP_PKEY **);
static void	 cert_write(const char *, X509 *);
static void	 srv_script(struct nt_peer *);
static void	 srv_accept(struct nt_peer *, void *);
static void	 srv_hangup_write(struct bufferevent *, void *);
static void	 srv_hangup_script(struct nt_peer *);
static void	 srv_hangup_accept(struct nt_peer *, void *);
static void	 tcli_read(struct leg *, void *);
static void	 tcli_nop(struct leg *, void *);
static void	 tcli_connected(struct leg *, void *);
static void	 tcli_eof(struct leg *, void *);
static void	 tcli_error(struct leg *, void *, const char *, int);
static void	 tcli_closed(struct leg *, void *);
static void	 tcli_start(struct tstate *, const char *, int, const char *);
static int	 tcli_c_done(const struct nt_cond *);
static int	 tcli_c_len(const struct nt_cond *);
static void	 tcli_handshake(struct tstate *);
static void	 tcli_refused(struct tstate *, const char *);
static int	 offered(const char *);

static const struct leg_cbs tcli_cbs = {
	tcli_read, tcli_nop, tcli_connected, tcli_eof, tcli_error,
	tcli_closed
};

/*
 * A self-signed certificate for cn (subject CN and DNS subjectAltName),
 * valid from a minute ago for an hour, on a fresh P-256 key (*keyp, the
 * caller frees both).
 */
static X509 *
cert_new(const char *cn, EVP_PKEY **keyp)
{
	X509V3_CTX	 v3;
	X509_EXTENSION	*ext;
	X509_NAME	*name;
	X509		*x;
	char		 san[64];

	CHECK((*keyp = EVP_EC_gen("P-256")) != NULL, "EC key");
	CHECK((x = X509_new()) != NULL, "X509_new");
	CHECK(X509_set_version(x, 2) == 1 &&
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) == 1 &&
	    X509_gmtime_adj(X509_getm_notBefore(x), -60) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 3600) != NULL &&
	    X509_set_pubkey(x, *keyp) == 1, "certificate fields");
	name = X509_get_subject_name(x);
	CHECK(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) == 1 &&
	    X509_set_issuer_name(x, name) == 1, "certificate names");
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	(void)snprintf(san, sizeof(san), "DNS:%s", cn);
	CHECK((ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
	    san)) != NULL && X509_add_ext(x, ext, -1) == 1, "subjectAltName");
	X509_EXTENSION_free(ext);
	CHECK(X509_sign(x, *keyp, EVP_sha256()) > 0, "X509_sign");
	return x;
}

/* Write x as PEM to path. */
static void
cert_write(const char *path, X509 *x)
{
	FILE	*f;

	CHECK((f = fopen(path, "w")) != NULL, "fopen %s: %s", path,
	    strerror(errno));
	CHECK(PEM_write_X509(f, x) == 1 && fclose(f) == 0, "write %s", path);
}

/* SHA-256 of key's DER SubjectPublicKeyInfo, made apart from tls_pin.c. */
static void
pin_of(EVP_PKEY *key, unsigned char *pin)
{
	unsigned char	*der = NULL;
	int		 n;

	CHECK((n = i2d_PUBKEY(key, &der)) > 0 &&
	    EVP_Digest(der, (size_t)n, pin, NULL, EVP_sha256(), NULL) == 1,
	    "SPKI digest");
	OPENSSL_free(der);
}

/* The scratch directory, both certificates, the server's context. */
static int
pki_setup(void **state UNUSED)
{
	EVP_PKEY	*key, *okey;
	X509		*x, *ox;

	tu_mkdtemp(pki.dir, sizeof(pki.dir), "test_tls");
	(void)snprintf(pki.ca, sizeof(pki.ca), "%s/ca.pem", pki.dir);
	(void)snprintf(pki.other, sizeof(pki.other), "%s/other.pem", pki.dir);
	x = cert_new(TLS_NAME, &key);
	ox = cert_new(OTHER_NAME, &okey);
	cert_write(pki.ca, x);
	cert_write(pki.other, ox);
	pin_of(key, pki.pin);
	CHECK((pki.srv = SSL_CTX_new(TLS_server_method())) != NULL &&
	    SSL_CTX_use_certificate(pki.srv, x) == 1 &&
	    SSL_CTX_use_PrivateKey(pki.srv, key) == 1, "server SSL_CTX");
	X509_free(x);
	X509_free(ox);
	EVP_PKEY_free(key);
	EVP_PKEY_free(okey);
	return 0;
}

static int
pki_teardown(void **state UNUSED)
{
	SSL_CTX_free(pki.srv);
	pki.srv = NULL;
	return tu_rmtree(pki.dir) == 0 ? 0 : -1;
}

/*
 * The fake server: in clear it waits for exactly <starttls/>, answers
 * <proceed/> and becomes a TLS server on the same connection; from then
 * on its peer collects what the client sends over TLS.
 */
static void
srv_script(struct nt_peer *p)
{
	struct bufferevent	*tb;
	SSL			*ssl;

	if (evbuffer_get_length(p->in) < strlen(TLS_STARTTLS))
		return;
	CHECK(evbuffer_get_length(p->in) == strlen(TLS_STARTTLS) &&
	    memcmp(evbuffer_pullup(p->in, -1), TLS_STARTTLS,
	    strlen(TLS_STARTTLS)) == 0, "server got in clear: %s",
	    nt_vis((const char *)evbuffer_pullup(p->in, -1),
	    evbuffer_get_length(p->in)));
	nt_clear(p);
	p->script = NULL;
	CHECK(bufferevent_write(p->bev, PROCEED, strlen(PROCEED)) == 0,
	    "write <proceed/>");
	CHECK((ssl = SSL_new(pki.srv)) != NULL, "SSL_new");
	tb = bufferevent_openssl_filter_new(bufferevent_get_base(p->bev),
	    p->bev, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	CHECK(tb != NULL, "server TLS bufferevent");
	p->bev = tb;
	bufferevent_setcb(tb, nt_peer_readcb, NULL, nt_peer_eventcb, p);
	bufferevent_enable(tb, EV_READ | EV_WRITE);
}

static void
srv_accept(struct nt_peer *p, void *arg UNUSED)
{
	p->script = srv_script;
}

/* Once <proceed/> is out, send FIN: a server gone before the handshake. */
static void
srv_hangup_write(struct bufferevent *bev, void *arg UNUSED)
{
	CHECK(shutdown(bufferevent_getfd(bev), SHUT_WR) == 0, "shutdown: %s",
	    strerror(errno));
	bufferevent_setcb(bev, nt_peer_readcb, NULL, nt_peer_eventcb, arg);
}

/* <proceed/> after <starttls/>, then FIN instead of TLS. */
static void
srv_hangup_script(struct nt_peer *p)
{
	if (evbuffer_get_length(p->in) < strlen(TLS_STARTTLS))
		return;
	p->script = NULL;
	bufferevent_setcb(p->bev, nt_peer_readcb, srv_hangup_write,
	    nt_peer_eventcb, p);
	CHECK(bufferevent_write(p->bev, PROCEED, strlen(PROCEED)) == 0,
	    "write <proceed/>");
}

static void
srv_hangup_accept(struct nt_peer *p, void *arg UNUSED)
{
	p->script = srv_hangup_script;
}

static int
setup(void **state)
{
	struct tstate	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	nt_world_init(&t->w);
	t->w.on_accept = srv_accept;
	*state = t;
	return 0;
}

/* The client (leg first: its bufferevents live on the world's base). */
static int
teardown(void **state)
{
	struct tstate	*t = *state;

	leg_free(&t->c.l);
	if (t->c.in != NULL)
		evbuffer_free(t->c.in);
	SSL_CTX_free(t->c.ctx);
	nt_world_free(&t->w);
	free(t);
	return 0;
}

/* In clear: only <proceed/>, then wrap; over TLS: collect. */
static void
tcli_read(struct leg *l, void *arg)
{
	struct tcli	*c = arg;
	struct evbuffer	*in = leg_input(l);
	char		 err[256];

	if (c->nconnected >= 2) {
		evbuffer_add_buffer(c->in, in);
		return;
	}
	if (evbuffer_get_length(in) < strlen(PROCEED))
		return;
	CHECK(evbuffer_get_length(in) == strlen(PROCEED) &&
	    memcmp(evbuffer_pullup(in, -1), PROCEED, strlen(PROCEED)) == 0,
	    "client got in clear: %s", nt_vis((const char *)
	    evbuffer_pullup(in, -1), evbuffer_get_length(in)));
	evbuffer_drain(in, strlen(PROCEED));
	CHECK(tls_error(l, err, sizeof(err)) == err && err[0] == '\0',
	    "tls_error() on a leg without TLS: %s", err);
	CHECK(tls_wrap(l, c->ctx, c->name, c->verify, err, sizeof(err)) == 0,
	    "tls_wrap: %s", err);
}

static void
tcli_nop(struct leg *l UNUSED, void *arg UNUSED)
{
}

/* TCP: send <starttls/>. TLS: the second call. */
static void
tcli_connected(struct leg *l, void *arg)
{
	struct tcli	*c = arg;

	if (++c->nconnected == 1)
		CHECK(evbuffer_add(leg_output(l), TLS_STARTTLS,
		    strlen(TLS_STARTTLS)) == 0, "send <starttls/>");
	else
		tls_established(l);	/* as upstream.c and probe.c do */
}

static void
tcli_eof(struct leg *l UNUSED, void *arg)
{
	((struct tcli *)arg)->eof = 1;
}

static void
tcli_error(struct leg *l, void *arg, const char *why UNUSED, int connecting)
{
	struct tcli	*c = arg;

	c->failed = 1;
	c->connecting = connecting;
	(void)tls_error(l, c->why, sizeof(c->why));
}

static void
tcli_closed(struct leg *l UNUSED, void *arg)
{
	((struct tcli *)arg)->closed = 1;
}

/*
 * Connect t's client to the fake server; after <proceed/> it wraps its
 * leg for name, verify on or off, with a context trusting ca_file.
 */
static void
tcli_start(struct tstate *t, const char *ca_file, int verify,
    const char *name)
{
	struct tcli	*c = &t->c;
	char		 err[256];

	c->ctx = tls_client_ctx(ca_file, verify, err, sizeof(err));
	CHECK(c->ctx != NULL, "tls_client_ctx(%s): %s", ca_file, err);
	c->name = name;
	c->verify = verify;
	CHECK((c->in = evbuffer_new()) != NULL, "evbuffer_new");
	CHECK(leg_connect(&c->l, t->w.base, t->w.px.dns, "127.0.0.1",
	    t->w.srv_port, &tcli_cbs, c) == 0, "leg_connect");
}

/* Conditions on the client: handshake over either way; bytes read. */
static int
tcli_c_done(const struct nt_cond *nc)
{
	const struct tcli	*c = nc->arg;

	return c->nconnected >= 2 || c->failed || c->eof || c->closed;
}

static int
tcli_c_len(const struct nt_cond *nc)
{
	const struct tcli	*c = nc->arg;

	return evbuffer_get_length(c->in) >= nc->n || c->failed || c->eof;
}

/*
 * Wait for the handshake; it must have succeeded, with SNI naming the
 * client's name at the server, and the server must have kept still.
 */
static void
tcli_handshake(struct tstate *t)
{
	struct nt_cond	 nc = { tcli_c_done, &t->w, NULL, 0, &t->c };
	struct nt_peer	*srv;
	const char	*sni;

	nt_run(&nc, 5 * NT_SEC, "the TLS handshake");
	CHECK(t->c.nconnected == 2 && !t->c.failed && !t->c.eof,
	    "handshake: connected %d, failed %d (%s), eof %d",
	    t->c.nconnected, t->c.failed, t->c.why, t->c.eof);
	srv = nt_server(&t->w, 0);
	CHECK(!srv->gone, "server connection gone (error %d)", srv->error);
	sni = SSL_get_servername(bufferevent_openssl_get_ssl(srv->bev),
	    TLSEXT_NAMETYPE_host_name);
	CHECK(sni != NULL && strcmp(sni, t->c.name) == 0, "SNI %s, want %s",
	    sni != NULL ? sni : "(none)", t->c.name);
}

/*
 * Wait for the handshake; it must have failed in the client's error
 * callback, after the TCP connect, with tls_error() exactly want; the
 * server then sees its connection end.
 */
static void
tcli_refused(struct tstate *t, const char *want)
{
	struct nt_cond	 nc = { tcli_c_done, &t->w, NULL, 0, &t->c };

	nt_run(&nc, 5 * NT_SEC, "the TLS handshake");
	CHECK(t->c.failed && t->c.nconnected == 1 && !t->c.connecting,
	    "handshake: failed %d, connected %d, connecting %d, eof %d",
	    t->c.failed, t->c.nconnected, t->c.connecting, t->c.eof);
	CHECK(strcmp(t->c.why, want) == 0, "tls_error() \"%s\", want \"%s\"",
	    t->c.why, want);
	nt_wait_gone(nt_server(&t->w, 0), "the server's end of the refusal");
}

/*
 * Verify on against the right CA and name: the handshake succeeds and
 * bytes of every value cross both ways exactly, in more than one record.
 */
static void
test_roundtrip(void **state)
{
	struct tstate	*t = *state;
	struct nt_cond	 nc = { tcli_c_len, &t->w, NULL, 0, &t->c };
	struct nt_peer	*srv;
	char		*up, *down, why[256];
	size_t		 i, nup = 70001, ndown = 50003;

	CHECK((up = malloc(nup)) != NULL && (down = malloc(ndown)) != NULL,
	    "malloc");
	for (i = 0; i < nup; i++)
		up[i] = (char)(i * 7 + i / 256);
	for (i = 0; i < ndown; i++)
		down[i] = (char)(255 - i % 251);
	tcli_start(t, pki.ca, 1, TLS_NAME);
	tcli_handshake(t);
	srv = nt_server(&t->w, 0);
	CHECK(evbuffer_add(leg_output(&t->c.l), up, nup) == 0, "client write");
	nt_expect_n(srv, up, nup, "server (client's bytes over TLS)");
	CHECK(bufferevent_write(srv->bev, down, ndown) == 0, "server write");
	nc.n = ndown;
	nt_run(&nc, 5 * NT_SEC, "the server's bytes at the client");
	CHECK(evbuffer_get_length(t->c.in) == ndown &&
	    memcmp(evbuffer_pullup(t->c.in, -1), down, ndown) == 0,
	    "client got %zu bytes, not the server's %zu",
	    evbuffer_get_length(t->c.in), ndown);
	CHECK(!t->c.failed && !t->c.eof && !t->c.closed,
	    "client failed %d (%s), eof %d, closed %d", t->c.failed,
	    t->c.why, t->c.eof, t->c.closed);
	CHECK(*tls_error(&t->c.l, why, sizeof(why)) == '\0',
	    "tls_error() on a healthy leg: \"%s\"", why);
	free(up);
	free(down);
}

/* Verify off: the wrong CA and the wrong name do not matter. */
static void
test_verify_off(void **state)
{
	struct tstate	*t = *state;
	struct nt_cond	 nc = { tcli_c_len, &t->w, NULL, 15, &t->c };
	struct nt_peer	*srv;

	tcli_start(t, pki.other, 0, OTHER_NAME);
	tcli_handshake(t);
	srv = nt_server(&t->w, 0);
	nt_send(srv, "<message/>");
	nt_send(srv, "<iq/>");
	CHECK(evbuffer_add_printf(leg_output(&t->c.l), "<presence/>") == 11,
	    "client write");
	nt_expect(srv, "<presence/>", "server over TLS");
	nt_run(&nc, 5 * NT_SEC, "the server's bytes at the client");
	CHECK(evbuffer_get_length(t->c.in) == 15 &&
	    memcmp(evbuffer_pullup(t->c.in, -1), "<message/><iq/>", 15) == 0,
	    "client got %s", nt_vis((const char *)evbuffer_pullup(t->c.in,
	    -1), evbuffer_get_length(t->c.in)));
}

/* The right CA, but the certificate names another host. */
static void
test_wrong_name(void **state)
{
	struct tstate	*t = *state;

	tcli_start(t, pki.ca, 1, OTHER_NAME);
	tcli_refused(t, VFAILED "hostname mismatch");
}

/* The certificate does not chain to the CA the client trusts. */
static void
test_unknown_ca(void **state)
{
	struct tstate	*t = *state;
	char		 want[256];

	(void)snprintf(want, sizeof(want), VFAILED "%s",
	    X509_verify_cert_error_string(
	    X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT));
	tcli_start(t, pki.other, 1, TLS_NAME);
	tcli_refused(t, want);
}

/*
 * The server hangs up after <proceed/>: the handshake never completes
 * (the leg ends with an error, not EOF: a close without close_notify is
 * an ordinary end only after the handshake), and
 * tls_error() says the connection was lost during the handshake.
 */
static void
test_server_hangs_up(void **state)
{
	struct tstate	*t = *state;
	struct nt_cond	 nc = { tcli_c_done, &t->w, NULL, 0, &t->c };
	const char	*want = "connection lost during the handshake (";
	char		 why[256];

	t->w.on_accept = srv_hangup_accept;
	tcli_start(t, pki.ca, 1, TLS_NAME);
	nt_run(&nc, 5 * NT_SEC, "the end of the TLS handshake");
	CHECK(t->c.nconnected == 1 && t->c.failed && !t->c.eof,
	    "connected %d, eof %d, failed %d", t->c.nconnected, t->c.eof,
	    t->c.failed);
	(void)tls_error(&t->c.l, why, sizeof(why));
	CHECK(strncmp(why, want, strlen(want)) == 0, "tls_error() \"%s\", "
	    "want \"%s...)\"", why, want);
}

/*
 * A CA file without a certificate, or missing: NULL and a reason naming
 * the file (verify off never reads it). The context enforces TLS 1.2 or
 * later and verifies the peer only when asked to.
 */
static void
test_client_ctx(void **state UNUSED)
{
	char	 path[160], want[200], err[512];
	SSL_CTX	*ctx;
	int	 i;

	tu_put(pki.dir, "garbage.pem", "not a certificate\n");
	(void)snprintf(path, sizeof(path), "%s/garbage.pem", pki.dir);
	(void)snprintf(want, sizeof(want), "upstream-ca %s: no certificate "
	    "or crl found", path);
	CHECK(tls_client_ctx(path, 1, err, sizeof(err)) == NULL,
	    "CA file without a certificate accepted");
	CHECK(strcmp(err, want) == 0, "error \"%s\", want \"%s\"", err, want);
	(void)snprintf(path, sizeof(path), "%s/missing.pem", pki.dir);
	(void)snprintf(want, sizeof(want), "upstream-ca %s: No such file or "
	    "directory", path);
	/* Twice: nothing a failure leaves behind leaks into the next one. */
	for (i = 0; i < 2; i++) {
		err[0] = '\0';
		CHECK(tls_client_ctx(path, 1, err, sizeof(err)) == NULL,
		    "missing CA file accepted");
		CHECK(strcmp(err, want) == 0, "error \"%s\", want \"%s\"", err,
		    want);
	}
	CHECK((ctx = tls_client_ctx(path, 0, err, sizeof(err))) != NULL,
	    "verify off read the CA file: %s", err);
	CHECK(SSL_CTX_get_verify_mode(ctx) == SSL_VERIFY_NONE &&
	    SSL_CTX_get_min_proto_version(ctx) == TLS1_2_VERSION,
	    "verify off: mode %d, min version %#lx",
	    SSL_CTX_get_verify_mode(ctx), SSL_CTX_get_min_proto_version(ctx));
	SSL_CTX_free(ctx);
	CHECK((ctx = tls_client_ctx(pki.ca, 1, err, sizeof(err))) != NULL,
	    "tls_client_ctx(%s): %s", pki.ca, err);
	CHECK(SSL_CTX_get_verify_mode(ctx) == SSL_VERIFY_PEER &&
	    SSL_CTX_get_min_proto_version(ctx) == TLS1_2_VERSION,
	    "verify on: mode %d, min version %#lx",
	    SSL_CTX_get_verify_mode(ctx), SSL_CTX_get_min_proto_version(ctx));
	SSL_CTX_free(ctx);
}

/* tls_offered() of the first stanza of features, parsed by xmlstream. */
static int
offered(const char *features)
{
	return nt_features_probe(features, tls_offered);
}

/* 0 without <starttls/>, 1 with it, 2 with it and <required/> in it. */
static void
test_offered(void **state UNUSED)
{
	static const struct {
		const char	*features;
		int		 want;
	} v[] = {
		{ "<stream:features/>", 0 },
		{ "<stream:features><mechanisms xmlns='urn:ietf:params:xml:"
		  "ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>"
		  "</stream:features>", 0 },
		{ "<stream:features><starttls xmlns='jabber:client'/>"
		  "</stream:features>", 0 },
		{ "<stream:features><starttls/></stream:features>", 0 },
		{ "<stream:features><starttls xmlns='" TLS_NS "'/>"
		  "</stream:features>", 1 },
		{ "<stream:features><bind xmlns='urn:ietf:params:xml:ns:"
		  "xmpp-bind'><required/></bind><starttls xmlns='" TLS_NS
		  "'/></stream:features>", 1 },
		{ "<stream:features><starttls xmlns='" TLS_NS "'>"
		  "<required/></starttls></stream:features>", 2 },
		{ "<stream:features xmlns:t='" TLS_NS "'><mechanisms "
		  "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/><starttls "
		  "xmlns='" TLS_NS "'>\n  <required/>\n</starttls>"
		  "</stream:features>", 2 },
	};
	size_t	i;
	int	got;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		got = offered(v[i].features);
		CHECK(got == v[i].want, "tls_offered(%s) = %d, want %d",
		    v[i].features, got, v[i].want);
	}
}

/*
 * Options for tls_pin_check() against the fake server: mode, a pin store
 * pki.dir/NAME (removed first), the config path the messages quote.
 */
static void
pin_opts(struct tstate *t, struct proxy_opts *o, int mode, const char *name)
{
	memset(o, 0, sizeof(*o));
	o->upstream_verify = mode;
	o->upstream_tls = UPSTREAM_TLS_STARTTLS;
	(void)snprintf(o->upstream_host, sizeof(o->upstream_host), "127.0.0.1");
	o->upstream_port = t->w.srv_port;
	(void)snprintf(o->pin_file, sizeof(o->pin_file), "%s/%s", pki.dir,
	    name);
	(void)snprintf(o->conf_path, sizeof(o->conf_path), "/etc/n.conf");
	(void)unlink(o->pin_file);
}

/* pin: the key is an upstream-pin; chain and name are not looked at. */
static void
test_pin_match(void **state)
{
	struct tstate		*t = *state;
	struct proxy_opts	 o;
	char			 why[1536];

	pin_opts(t, &o, TLS_VERIFY_PIN, "pins-match");
	memset(o.upstream_pins[0], 0xab, TLS_PIN_LEN);
	memcpy(o.upstream_pins[1], pki.pin, TLS_PIN_LEN);
	o.nupstream_pins = 2;
	tcli_start(t, pki.other, TLS_VERIFY_PIN, OTHER_NAME);
	tcli_handshake(t);
	CHECK(tls_pin_check(&t->c.l, &o, why, sizeof(why)) == 0,
	    "pinned key refused: %s", why);
}

/* pin: a key that is no upstream-pin is refused, both keys named. */
static void
test_pin_mismatch(void **state)
{
	struct tstate		*t = *state;
	struct proxy_opts	 o;
	char			 why[1536], want[1536], h1[TLS_PIN_TEXT],
				 h2[TLS_PIN_TEXT];

	pin_opts(t, &o, TLS_VERIFY_PIN, "pins-mismatch");
	memset(o.upstream_pins[0], 0xab, TLS_PIN_LEN);
	o.nupstream_pins = 1;
	tcli_start(t, pki.ca, TLS_VERIFY_PIN, TLS_NAME);
	tcli_handshake(t);
	CHECK(tls_pin_check(&t->c.l, &o, why, sizeof(why)) == -1,
	    "key accepted against the wrong upstream-pin");
	(void)snprintf(want, sizeof(want), "TLS with 127.0.0.1:%u refused: the"
	    " server's key %s is not an upstream-pin (%s); if the server's key"
	    " changed on purpose, set upstream-pin = %s in /etc/n.conf",
	    t->w.srv_port, tls_pin_format(pki.pin, h1),
	    tls_pin_format(o.upstream_pins[0], h2), h1);
	CHECK(strcmp(why, want) == 0, "why \"%s\", want \"%s\"", why, want);
}

/*
 * tofu, a chain that does not verify: the first check pins the key in a
 * new 0600 store; the same key passes again; a different pinned key
 * (written behind the proxy's back: the store is read at every check)
 * is refused with the re-pin command; after forget the key is pinned anew.
 */
static void
test_tofu(void **state)
{
	struct tstate		*t = *state;
	struct proxy_opts	 o;
	struct stat		 sb;
	unsigned char		 got[TLS_PIN_LEN], bad[TLS_PIN_LEN];
	char			 why[1536], want[1536], up[64], err[512],
				 h1[TLS_PIN_TEXT], h2[TLS_PIN_TEXT];

	pin_opts(t, &o, TLS_VERIFY_TOFU, "pins-tofu");
	(void)snprintf(up, sizeof(up), "127.0.0.1:%u", t->w.srv_port);
	tcli_start(t, pki.other, TLS_VERIFY_TOFU, TLS_NAME);
	tcli_handshake(t);
	CHECK(tls_pin_check(&t->c.l, &o, why, sizeof(why)) == 0,
	    "first use refused: %s", why);
	CHECK(stat(o.pin_file, &sb) == 0 && (sb.st_mode & 07777) == 0600,
	    "pin store mode %o", (unsigned)sb.st_mode);
	CHECK(tls_pin_lookup(o.pin_file, up, got, err, sizeof(err)) == 1 &&
	    memcmp(got, pki.pin, TLS_PIN_LEN) == 0, "pinned key: %s", err);
	CHECK(tls_pin_check(&t->c.l, &o, why, sizeof(why)) == 0,
	    "pinned key refused: %s", why);
	memset(bad, 0x5a, sizeof(bad));
	CHECK(tls_pin_store(o.pin_file, up, bad, err, sizeof(err)) == 0,
	    "store: %s", err);
	CHECK(tls_pin_check(&t->c.l, &o, why, sizeof(why)) == -1,
	    "a key other than the pinned one accepted");
	(void)snprintf(want, sizeof(want), "TLS with %s refused: the server's "
	    "key %s is not the key pinned in %s (%s); if the server's key "
	    "changed on purpose, run: nabproxy tls-pin -c /etc/n.conf forget "
	    "%s", up, tls_pin_format(pki.pin, h1), o.pin_file,
	    tls_pin_format(bad, h2), up);
	CHECK(strcmp(why, want) == 0, "why \"%s\", want \"%s\"", why, want);
	CHECK(tls_pin_store(o.pin_file, up, NULL, err, sizeof(err)) == 0 &&
	    tls_pin_store(o.pin_file, up, NULL, err, sizeof(err)) == 1,
	    "forget: %s", err);
	CHECK(tls_pin_check(&t->c.l, &o, why, sizeof(why)) == 0 &&
	    tls_pin_lookup(o.pin_file, up, got, err, sizeof(err)) == 1 &&
	    memcmp(got, pki.pin, TLS_PIN_LEN) == 0, "re-pin: %s %s", why, err);
}

/*
 * tofu with a chain that verifies: accepted whatever is pinned, and
 * recorded when nothing was. Then features without <starttls/> from
 * that upstream are a downgrade (upstream-tls = starttls only).
 */
static void
test_tofu_chain_stripped(void **state)
{
	struct tstate		*t = *state;
	struct proxy_opts	 o;
	unsigned char		 got[TLS_PIN_LEN];
	char			 why[1536], want[1536], up[64], err[512];

	pin_opts(t, &o, TLS_VERIFY_TOFU, "pins-chain");
	(void)snprintf(up, sizeof(up), "127.0.0.1:%u", t->w.srv_port);
	CHECK(tls_pin_stripped(&o, why, sizeof(why)) == 0, "stripped, unseen");
	tcli_start(t, pki.ca, TLS_VERIFY_TOFU, TLS_NAME);
	tcli_handshake(t);
	CHECK(tls_pin_check(&t->c.l, &o, why, sizeof(why)) == 0,
	    "verified chain refused: %s", why);
	CHECK(tls_pin_lookup(o.pin_file, up, got, err, sizeof(err)) == 1 &&
	    memcmp(got, pki.pin, TLS_PIN_LEN) == 0, "recorded key: %s", err);
	CHECK(tls_pin_stripped(&o, why, sizeof(why)) == 1, "not stripped");
	(void)snprintf(want, sizeof(want), "server %s does not offer STARTTLS"
	    " but did before (%s): STARTTLS was stripped, refusing to go on in"
	    " clear; if TLS was switched off on purpose, run: nabproxy tls-pin"
	    " -c /etc/n.conf forget %s", up, o.pin_file, up);
	CHECK(strcmp(why, want) == 0, "why \"%s\", want \"%s\"", why, want);
	o.upstream_verify = TLS_VERIFY_NO;
	CHECK(tls_pin_stripped(&o, why, sizeof(why)) == 0, "stripped, no");
	o.upstream_verify = TLS_VERIFY_CHAIN;
	o.upstream_tls = UPSTREAM_TLS_NO;
	CHECK(tls_pin_stripped(&o, why, sizeof(why)) == 0, "stripped, tls no");
}

int
main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_ctx),
		cmocka_unit_test(test_offered),
		T(test_roundtrip),
		T(test_verify_off),
		T(test_wrong_name),
		T(test_unknown_ca),
		T(test_server_hangs_up),
		T(test_pin_match),
		T(test_pin_mismatch),
		T(test_tofu),
		T(test_tofu_chain_stripped),
	};
#undef T

	nt_main_init();
	return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
