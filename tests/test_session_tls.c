/*
 * test_session_tls: STARTTLS on the server stream (proxy/upstream.c)
 * against a fake server that speaks TLS with a throwaway certificate made
 * here: the rabbit never sees it, what the rabbit sends meanwhile (and
 * what filters inject for the server) waits and goes over TLS after the
 * restarted header, and the refusals close the session.
 */
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "nabfixture.h"
#include "tls.h"

#define FEAT_TLS	"<stream:features><starttls xmlns='" TLS_NS "'/>" \
	"</stream:features>"
#define PROCEED		"<proceed xmlns='" TLS_NS "'/>"

/* The fake server's state (p->sctx, freed by nt_world_free()). */
struct tsrv {
	int		 step;		/* 0 hdr, 1 starttls, 2 tls hdr, 3 on */
	const char	*features;	/* first features */
	char		 plain[1024];	/* what came before TLS */
};

static SSL_CTX	*srv_ctx;

/* A server context with a fresh self-signed certificate for example.net. */
static SSL_CTX *
server_ctx(void)
{
	SSL_CTX		*ctx;
	EVP_PKEY	*key;
	X509		*x;
	X509_NAME	*name;

	NT_CHECK((key = EVP_EC_gen("P-256")) != NULL, "EC key");
	NT_CHECK((x = X509_new()) != NULL, "X509_new");
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"example.net", -1, -1, 0);
	X509_set_issuer_name(x, name);
	NT_CHECK(X509_sign(x, key, EVP_sha256()) > 0, "X509_sign");
	NT_CHECK((ctx = SSL_CTX_new(TLS_server_method())) != NULL &&
	    SSL_CTX_use_certificate(ctx, x) == 1 &&
	    SSL_CTX_use_PrivateKey(ctx, key) == 1, "server SSL_CTX");
	X509_free(x);
	EVP_PKEY_free(key);
	return ctx;
}

/* Headers and features in clear, then wait for <starttls/>. */
static void
tsrv_script(struct nt_peer *p)
{
	struct tsrv	*t = p->sctx;

	if (t->step == 0 && evbuffer_get_length(p->in) >= strlen(NT_RHDR)) {
		evbuffer_add_printf(bufferevent_get_output(p->bev), "%s%s",
		    NT_SHDR, t->features);
		t->step = 1;
	}
	if (t->step == 2 && evbuffer_get_length(p->in) >= strlen(NT_RHDR)) {
		evbuffer_add_printf(bufferevent_get_output(p->bev), "%s%s",
		    NT_SHDR, NT_FEATURES2);
		t->step = 3;
	}
}

static void
tsrv_accept(struct nt_peer *p, void *arg)
{
	struct tsrv	*t = calloc(1, sizeof(*t));

	NT_CHECK(t != NULL, "calloc");
	t->features = arg;
	p->sctx = t;
	p->script = tsrv_script;
}

/* <proceed/> in clear, then TLS on the same connection. */
static void
tsrv_proceed(struct nt_peer *p)
{
	struct tsrv		*t = p->sctx;
	struct bufferevent	*tb;
	SSL			*ssl;
	size_t			 n = evbuffer_get_length(p->in);

	NT_CHECK(n < sizeof(t->plain), "%zu bytes before TLS", n);
	memcpy(t->plain, evbuffer_pullup(p->in, -1), n);
	nt_clear(p);
	bufferevent_write(p->bev, PROCEED, strlen(PROCEED));
	NT_CHECK((ssl = SSL_new(srv_ctx)) != NULL, "SSL_new");
	tb = bufferevent_openssl_filter_new(bufferevent_get_base(p->bev),
	    p->bev, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	NT_CHECK(tb != NULL, "server TLS bufferevent");
	/* Like servers do: a FIN after </stream:stream>, no close_notify. */
	bufferevent_openssl_set_allow_dirty_shutdown(tb, 1);
	p->bev = tb;
	bufferevent_setcb(tb, nt_peer_readcb, NULL, nt_peer_eventcb, p);
	bufferevent_enable(tb, EV_READ | EV_WRITE);
	t->step = 2;
}

static int
setup(void **state)
{
	struct nt_world	*w;
	char		 err[256];

	if (srv_ctx == NULL)
		srv_ctx = server_ctx();
	if (nt_setup(state) != 0)
		return -1;
	w = *state;
	w->px.opt.upstream_tls = UPSTREAM_TLS_STARTTLS;
	w->px.tls_ctx = tls_client_ctx(NULL, 0, err, sizeof(err));
	NT_CHECK(w->px.tls_ctx != NULL, "tls_client_ctx: %s", err);
	nt_chain1(w, "t-host", "t_host");
	w->on_accept = tsrv_accept;
	w->accept_arg = (void *)FEAT_TLS;
	return 0;
}

static int
teardown(void **state)
{
	SSL_CTX_free(((struct nt_world *)*state)->px.tls_ctx);
	return nt_teardown(state);
}

/*
 * The rabbit sees one header and the features after TLS; a stanza it sends
 * and one a filter injects for the server while STARTTLS runs both wait,
 * and reach the server over TLS after the restarted header, in order.
 */
static void
test_starttls_hidden(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;
	struct tsrv	*t;

	nt_proxy_start(w);
	rabbit = nt_rabbit(w);
	nt_send(rabbit, NT_RHDR);
	srv = nt_server(w, 0);
	nt_expect(srv, NT_RHDR TLS_STARTTLS, "server (header, <starttls/>)");
	nt_expect(rabbit, NT_SHDR, "rabbit (header, no TLS features)");
	nt_send(rabbit, "<t op='build'/><message id='m1'/><t op='data'/>");
	nt_expect(rabbit, NT_SHDR "<r op='data' count='1' state='none'></r>",
	    "rabbit (the chain runs while STARTTLS waits)");
	nt_expect(srv, NT_RHDR TLS_STARTTLS, "server (nothing in clear after "
	    "<starttls/>, not even an injected stanza)");
	tsrv_proceed(srv);
	nt_expect(srv, NT_RHDR "<built id='b1'><c>x &amp; y</c><d></d></built>"
	    "<message id='m1'/>", "server over TLS (header, then what "
	    "waited, in order)");
	t = srv->sctx;
	NT_CHECK(strcmp(t->plain, NT_RHDR TLS_STARTTLS) == 0,
	    "in clear: %s", t->plain);
	nt_expect(rabbit, NT_SHDR "<r op='data' count='1' state='none'></r>"
	    NT_FEATURES2, "rabbit (the features after TLS, no second header)");
	nt_send(srv, "<message id='s1'/>");
	nt_send(rabbit, "<message id='m2'/>");
	nt_expect(rabbit, NT_SHDR "<r op='data' count='1' state='none'></r>"
	    NT_FEATURES2 "<message id='s1'/>", "rabbit (server over TLS)");
	nt_expect(srv, NT_RHDR "<built id='b1'><c>x &amp; y</c><d></d></built>"
	    "<message id='m1'/><message id='m2'/>", "server (rabbit over TLS)");
}

/* A session with TLS to the server, both streams open, buffers cleared. */
static void
tls_up(struct nt_world *w, struct nt_peer **rabbit, struct nt_peer **srv)
{
	nt_proxy_start(w);
	*rabbit = nt_rabbit(w);
	nt_send(*rabbit, NT_RHDR);
	*srv = nt_server(w, 0);
	nt_expect(*srv, NT_RHDR TLS_STARTTLS, "server (<starttls/>)");
	tsrv_proceed(*srv);
	nt_expect(*srv, NT_RHDR, "server over TLS (header)");
	nt_expect(*rabbit, NT_SHDR NT_FEATURES2, "rabbit (header, features)");
	nt_clear(*rabbit);
	nt_clear(*srv);
}

/* The last bytes before the close reach the server over TLS. */
static void
test_tls_stream_end_flushed(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	tls_up(w, &rabbit, &srv);
	nt_send(rabbit, "<message id='last'/><t op='close' "
	    "cond='policy-violation'/>");
	nt_expect(rabbit, NT_ERR("policy-violation"), "rabbit (stream error)");
	nt_wait_gone(srv, "server EOF");
	nt_expect(srv, "<message id='last'/>" NT_END, "server over TLS (the "
	    "last stanza and the stream end, then FIN)");
	NT_CHECK(srv->eof && srv->error == 0, "the server saw %s",
	    srv->error ? strerror(srv->error) : "no clean EOF");
}

static int
c_flushed(const struct nt_cond *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->p->bev)) == 0;
}

/* A FIN from the rabbit reaches the server after everything before it. */
static void
test_tls_half_close_flushed(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;
	struct nt_cond	 c = { c_flushed, w, NULL, 0, NULL };

	tls_up(w, &rabbit, &srv);
	c.p = rabbit;
	nt_send(rabbit, "<message id='last'/>" NT_END);
	nt_run(&c, 5 * NT_SEC, "the rabbit's bytes to leave");
	NT_CHECK(shutdown(bufferevent_getfd(rabbit->bev), SHUT_WR) == 0,
	    "shutdown");
	nt_wait_gone(srv, "server EOF");
	nt_expect(srv, "<message id='last'/>" NT_END, "server over TLS (all "
	    "of it, then FIN)");
	NT_CHECK(srv->eof && srv->error == 0, "the server saw %s",
	    srv->error ? strerror(srv->error) : "no clean EOF");
}

/*
 * Backpressure through the TLS layer: a server that reads nothing pauses
 * the rabbit; the encrypted bytes do not pile up below the layer.
 */
#define TBP_TOTAL	(8u * 1024 * 1024)
#define TBP_STANZA	8192

static int
c_tbp(const struct nt_cond *c)
{
	struct session		*se = TAILQ_FIRST(&c->w->px.sessions);
	struct bufferevent	*lower;
	size_t			*max = c->arg, n;

	if (se == NULL || se->s.bev == NULL)
		return 0;
	/* Counted here, not by leg_pending(): the bytes below the layer too. */
	n = evbuffer_get_length(bufferevent_get_output(se->s.bev));
	if ((lower = bufferevent_get_underlying(se->s.bev)) != NULL)
		n += evbuffer_get_length(bufferevent_get_output(lower));
	if (n > *max)
		*max = n;
	return *max > 4 * LEG_HIGH_WATER || ((se->r.pause & LEG_PAUSE_PEER) &&
	    evbuffer_get_length(bufferevent_get_output(c->p->bev)) > 0);
}

static void
test_tls_backpressure(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;
	struct evbuffer	*all = evbuffer_new();
	char		 st[TBP_STANZA + 1];
	size_t		 max = 0, i;
	struct nt_cond	 c = { c_tbp, w, NULL, 0, &max };

	tls_up(w, &rabbit, &srv);
	bufferevent_disable(srv->bev, EV_READ);
	memset(st, 'x', sizeof(st));
	memcpy(st, "<message><body>", 15);
	memcpy(st + TBP_STANZA - 17, "</body></message>", 17);
	for (i = 0; i < TBP_TOTAL / TBP_STANZA; i++)
		evbuffer_add(all, st, TBP_STANZA);
	c.p = rabbit;
	bufferevent_write_buffer(rabbit->bev, all);
	nt_run(&c, 30 * NT_SEC, "the proxy to pause the rabbit");
	NT_CHECK(max <= LEG_HIGH_WATER + 4 * TBP_STANZA, "%zu bytes queued "
	    "toward a TLS server that reads nothing", max);
	print_message("TLS backpressure: at most %zu bytes queued\n", max);
	bufferevent_enable(srv->bev, EV_READ);
	nt_run(&(struct nt_cond){ nt_c_len, w, srv, TBP_TOTAL, NULL },
	    60 * NT_SEC, "the server to get everything");
	NT_CHECK(evbuffer_get_length(srv->in) == TBP_TOTAL, "the server got "
	    "%zu bytes", evbuffer_get_length(srv->in));
	evbuffer_free(all);
}

static void
test_starttls_refused(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	nt_proxy_start(w);
	rabbit = nt_rabbit(w);
	nt_send(rabbit, NT_RHDR);
	srv = nt_server(w, 0);
	nt_expect(srv, NT_RHDR TLS_STARTTLS, "server (<starttls/>)");
	nt_expect(rabbit, NT_SHDR, "rabbit (header)");
	nt_send(srv, "<failure xmlns='" TLS_NS "'/>");
	nt_expect(rabbit, NT_SHDR NT_ERR("remote-connection-failed"),
	    "rabbit (stream error)");
	nt_wait_eof(srv, "server EOF");
	nt_expect(srv, NT_RHDR TLS_STARTTLS, "server (only FIN after "
	    "<starttls/>)");
}

static void
test_starttls_required_not_offered(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	w->px.opt.upstream_tls = UPSTREAM_TLS_REQUIRED;
	w->accept_arg = (void *)NT_FEATURES2;
	nt_proxy_start(w);
	rabbit = nt_rabbit(w);
	nt_send(rabbit, NT_RHDR);
	srv = nt_server(w, 0);
	nt_expect(rabbit, NT_SHDR NT_ERR("remote-connection-failed"),
	    "rabbit (no TLS offered: stream error)");
	nt_wait_eof(srv, "server EOF");
	nt_expect(srv, NT_RHDR NT_END, "server (stream end, no <starttls/>)");
}

/*
 * Idle over TLS (restarted after STARTTLS): both parsers are freed and
 * woken by the next decrypted byte; every byte still arrives exactly.
 */
static void
test_tls_dozing(void **state)
{
	struct nt_world	*w = *state;
	struct nt_peer	*rabbit, *srv;

	tls_up(w, &rabbit, &srv);
	NT_CHECK(session_doze_idle(&w->px, 0) == 2, "both streams should "
	    "doze after the TLS restart");
	nt_send(rabbit, "<message id='m1'><body>a &amp; b</body></message>");
	nt_expect(srv, "<message id='m1'><body>a &amp; b</body></message>",
	    "server over TLS (a stanza after a doze)");
	(void)session_doze_idle(&w->px, 0);
	nt_send(srv, "\n<message id='s1'/>");
	nt_expect(rabbit, "\n<message id='s1'/>", "rabbit (whitespace and a "
	    "stanza after a doze)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_starttls_hidden),
		T(test_tls_dozing),
		T(test_tls_stream_end_flushed),
		T(test_tls_half_close_flushed),
		T(test_tls_backpressure),
		T(test_starttls_refused),
		T(test_starttls_required_not_offered),
#undef T
	};
	int	rc;

	nt_main_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	SSL_CTX_free(srv_ctx);
	return rc;
}
