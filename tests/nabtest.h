/*
 * nabtest.h: the loopback world the session, chain, probe and daemon
 * tests share. Header-only; every function is static and may go unused
 * in one test file, hence NT_FN.
 *
 * One event_base runs everything in-process: the proxy (a struct proxy
 * with a real listener), a fake XMPP server (an evconnlistener whose
 * connections are struct nt_peer, optionally driven by a script such as
 * the SASL server below), and rabbits (bufferevent clients). Tests never
 * sleep to synchronise: nt_run() turns the loop until a condition holds
 * and fails the test when its deadline timer fires first.
 *
 * Include after <cmocka.h>. Every assertion carries a message.
 */
#ifndef NAB_TEST_H
#define NAB_TEST_H

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "chain.h"
#include "listener.h"
#include "proxy.h"
#include "session-int.h"

#define NT_FN	__attribute__((unused)) static

/* Assert with a message; fail_msg() longjmps, abort() tells the compiler. */
#define NT_CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		fail_msg(__VA_ARGS__);					\
		abort();						\
	}								\
} while (0)

#define NT_NS_STREAMS	"urn:ietf:params:xml:ns:xmpp-streams"
#define NT_NS_SASL	"urn:ietf:params:xml:ns:xmpp-sasl"
/* The rabbit's and the server's stream headers. */
#define NT_RHDR		"<?xml version='1.0'?><stream:stream to='example.net'" \
	" xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'" \
	" version='1.0'>"
#define NT_SHDR		"<?xml version='1.0'?><stream:stream xmlns='jabber:client'" \
	" xmlns:stream='http://etherx.jabber.org/streams' id='srv1'" \
	" from='example.net' version='1.0'>"
#define NT_ERR(cond)	"<stream:error><" cond " xmlns='" NT_NS_STREAMS \
	"'/></stream:error></stream:stream>"
#define NT_END		"</stream:stream>"
#define NT_MAXPEERS	16
#define NT_SEC		1000	/* nt_run() deadlines are in milliseconds */

struct nt_world;

/* One TCP end the test owns: a rabbit or a fake server's connection. */
struct nt_peer {
	struct nt_world		*w;
	struct bufferevent	*bev;
	struct evbuffer		*in;		/* everything received */
	int			 connected;
	int			 eof;
	int			 error;		/* errno of BEV_EVENT_ERROR */
	int			 gone;		/* error or EOF seen */
	/* Script run after each read; sees everything in `in`. */
	void			(*script)(struct nt_peer *);
	void			*sctx;
	size_t			 soff;		/* script's parse offset */
};

struct nt_world {
	struct event_base	*base;
	struct proxy		 px;
	struct evconnlistener	*srv;		/* the fake XMPP server */
	unsigned short		 srv_port;
	unsigned short		 px_port;
	struct nt_peer		*peers[NT_MAXPEERS * 2];
	size_t			 npeers;
	struct nt_peer		*srvc[NT_MAXPEERS];	/* accepted, in order */
	size_t			 nsrvc;
	/* Called for every accepted server connection (sets a script). */
	void			(*on_accept)(struct nt_peer *, void *);
	void			*accept_arg;
	struct event		*deadline;
	int			 expired;
};

/* A condition nt_run() waits for. */
struct nt_cond {
	int		(*fn)(const struct nt_cond *);
	struct nt_world	*w;
	struct nt_peer	*p;
	size_t		 n;
};

NT_FN void	nt_peer_readcb(struct bufferevent *, void *);

/* Path of a test filter module built from tests/filters/NAME.c. */
NT_FN const char *
nt_filter_path(const char *name)
{
	static char	buf[8][1024];
	static int	i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/tests/filters/%s.so",
	    NAB_BINARY_DIR, name);
	return buf[i];
}

/* An exported variable of a loaded test filter module (for counters). */
NT_FN void *
nt_filter_sym(const char *name, const char *sym)
{
	void	*dl, *p;

	dl = dlopen(nt_filter_path(name), RTLD_NOW | RTLD_LOCAL);
	NT_CHECK(dl != NULL, "dlopen %s: %s", name, dlerror());
	p = dlsym(dl, sym);
	NT_CHECK(p != NULL, "dlsym %s in %s", sym, name);
	/* Keep our reference: the counters outlive any chainset. */
	return p;
}

NT_FN struct nt_peer *
nt_peer_new(struct nt_world *w, struct bufferevent *bev)
{
	struct nt_peer	*p = calloc(1, sizeof(*p));

	NT_CHECK(p != NULL && bev != NULL, "peer alloc");
	NT_CHECK(w->npeers < NT_MAXPEERS * 2, "too many peers");
	p->w = w;
	p->bev = bev;
	p->in = evbuffer_new();
	NT_CHECK(p->in != NULL, "evbuffer_new");
	w->peers[w->npeers++] = p;
	return p;
}

NT_FN void
nt_peer_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct nt_peer	*p = arg;

	if (what & BEV_EVENT_CONNECTED) {
		p->connected = 1;
		return;
	}
	if (what & BEV_EVENT_EOF) {
		nt_peer_readcb(bev, p);
		p->eof = 1;
		p->gone = 1;
		bufferevent_disable(bev, EV_READ);
	}
	if (what & BEV_EVENT_ERROR) {
		p->error = EVUTIL_SOCKET_ERROR();
		if (p->error == 0)
			p->error = -1;
		p->gone = 1;
	}
}

NT_FN void
nt_peer_readcb(struct bufferevent *bev, void *arg)
{
	struct nt_peer	*p = arg;

	evbuffer_add_buffer(p->in, bufferevent_get_input(bev));
	if (p->script != NULL)
		p->script(p);
}

NT_FN void
nt_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int len, void *arg)
{
	struct nt_world	*w = arg;
	struct nt_peer	*p;

	p = nt_peer_new(w, bufferevent_socket_new(w->base, fd,
	    BEV_OPT_CLOSE_ON_FREE));
	p->connected = 1;
	bufferevent_setcb(p->bev, nt_peer_readcb, NULL, nt_peer_eventcb, p);
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
	NT_CHECK(w->nsrvc < NT_MAXPEERS, "too many server connections");
	w->srvc[w->nsrvc++] = p;
	if (w->on_accept != NULL)
		w->on_accept(p, w->accept_arg);
}

NT_FN void
nt_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	((struct nt_world *)arg)->expired = 1;
}

/* Options the tests start from: no traffic log, generous limits. */
NT_FN void
nt_default_opts(struct proxy_opts *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->upstream_host, sizeof(o->upstream_host), "127.0.0.1");
	o->connect_timeout = 5;
	o->idle_timeout = 60;
	o->drain_timeout = 1;
	o->max_connections = 64;
	o->max_per_source = 0;
	o->max_stanza = 65536;
	o->max_depth = 32;
	o->hold_queue = 65536;
	o->log_format = LOGFMT_NONE;
	o->redact = 1;
	o->scram_max_iterations = 100000;
	o->allow_plain_cleartext = 1;
}

/* A loop, a fake server on 127.0.0.1:any, and proxy options aimed at it. */
NT_FN void
nt_world_init(struct nt_world *w)
{
	struct sockaddr_in	sin;
	socklen_t		sl = sizeof(sin);

	memset(w, 0, sizeof(*w));
	w->base = event_base_new();
	NT_CHECK(w->base != NULL, "event_base_new");
	w->deadline = evtimer_new(w->base, nt_deadline_cb, w);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	w->srv = evconnlistener_new_bind(w->base, nt_accept_cb, w,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
	    (struct sockaddr *)&sin, sizeof(sin));
	NT_CHECK(w->srv != NULL, "fake server listener: %s", strerror(errno));
	NT_CHECK(getsockname(evconnlistener_get_fd(w->srv),
	    (struct sockaddr *)&sin, &sl) == 0, "getsockname");
	w->srv_port = ntohs(sin.sin_port);
	TAILQ_INIT(&w->px.sessions);
	w->px.base = w->base;
	w->px.dns = evdns_base_new(w->base, 0);
	NT_CHECK(w->px.dns != NULL, "evdns_base_new");
	nt_default_opts(&w->px.opt);
	w->px.opt.upstream_port = w->srv_port;
}

/* Start the proxy's listener (after the options and chains are set). */
NT_FN void
nt_proxy_start(struct nt_world *w)
{
	struct listen_addr	la = { "127.0.0.1", 0 };
	char			err[256];

	w->px.lst = listener_new(&w->px, &la, 1, err, sizeof(err));
	NT_CHECK(w->px.lst != NULL, "listener_new: %s", err);
	w->px_port = listener_port(w->px.lst, 0);
}

/* Turn the loop once without blocking (deferred frees, callbacks). */
NT_FN void
nt_spin(struct nt_world *w)
{
	event_base_loop(w->base, EVLOOP_NONBLOCK);
}

/* Free everything: sessions first, then peers, then the loop. */
NT_FN void
nt_world_free(struct nt_world *w)
{
	size_t	i;

	session_free_all(&w->px);
	nt_spin(w);
	nt_spin(w);
	listener_free(w->px.lst);
	w->px.lst = NULL;
	chainset_unref(w->px.chains);
	w->px.chains = NULL;
	for (i = 0; i < w->npeers; i++) {
		if (w->peers[i]->bev != NULL)
			bufferevent_free(w->peers[i]->bev);
		evbuffer_free(w->peers[i]->in);
		free(w->peers[i]->sctx);
		free(w->peers[i]);
	}
	evconnlistener_free(w->srv);
	evdns_base_free(w->px.dns, 0);
	event_free(w->deadline);
	event_base_free(w->base);
	memset(w, 0, sizeof(*w));
}

/*
 * Run the loop until c->fn(c) holds; fail the test ("what") if ms pass
 * first. The deadline is a timer, so a stuck loop fails instead of hanging.
 */
NT_FN void
nt_run(const struct nt_cond *c, unsigned ms, const char *what)
{
	struct nt_world	*w = c->w;
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };

	w->expired = 0;
	evtimer_add(w->deadline, &tv);
	while (!c->fn(c) && !w->expired)
		event_base_loop(w->base, EVLOOP_ONCE);
	evtimer_del(w->deadline);
	NT_CHECK(c->fn(c), "timed out after %u ms waiting for %s", ms, what);
}

NT_FN int nt_c_len(const struct nt_cond *c)
{
	return evbuffer_get_length(c->p->in) >= c->n;
}
NT_FN int nt_c_eof(const struct nt_cond *c) { return c->p->eof; }
NT_FN int nt_c_gone(const struct nt_cond *c) { return c->p->gone; }
NT_FN int nt_c_error(const struct nt_cond *c) { return c->p->error != 0; }
NT_FN int nt_c_conn(const struct nt_cond *c) { return c->p->connected; }
NT_FN int nt_c_nsrv(const struct nt_cond *c) { return c->w->nsrvc >= c->n; }
NT_FN int nt_c_nsess(const struct nt_cond *c)
{
	return c->w->px.nsessions == c->n;
}

NT_FN void
nt_wait_len(struct nt_peer *p, size_t n, const char *what)
{
	struct nt_cond	c = { nt_c_len, p->w, p, n };

	nt_run(&c, 5 * NT_SEC, what);
}

NT_FN void
nt_wait_eof(struct nt_peer *p, const char *what)
{
	struct nt_cond	c = { nt_c_eof, p->w, p, 0 };

	nt_run(&c, 5 * NT_SEC, what);
}

NT_FN void
nt_wait_gone(struct nt_peer *p, const char *what)
{
	struct nt_cond	c = { nt_c_gone, p->w, p, 0 };

	nt_run(&c, 5 * NT_SEC, what);
}

NT_FN void
nt_wait_error(struct nt_peer *p, const char *what)
{
	struct nt_cond	c = { nt_c_error, p->w, p, 0 };

	nt_run(&c, 5 * NT_SEC, what);
}

NT_FN void
nt_wait_sessions(struct nt_world *w, size_t n, unsigned ms)
{
	struct nt_cond	c = { nt_c_nsess, w, NULL, n };

	nt_run(&c, ms, "the proxy's session count");
}

/* The n-th (0-based) connection the fake server accepted. */
NT_FN struct nt_peer *
nt_server(struct nt_world *w, size_t n)
{
	struct nt_cond	c = { nt_c_nsrv, w, NULL, n + 1 };

	nt_run(&c, 5 * NT_SEC, "an upstream connection");
	return w->srvc[n];
}

/* The only (or first) live session of the proxy. */
NT_FN struct session *
nt_session(struct nt_world *w)
{
	NT_CHECK(TAILQ_FIRST(&w->px.sessions) != NULL, "no session");
	return TAILQ_FIRST(&w->px.sessions);
}

/* A rabbit: a client connected to the proxy. rcvbuf 0 = kernel default. */
NT_FN struct nt_peer *
nt_rabbit_rcvbuf(struct nt_world *w, int rcvbuf)
{
	struct sockaddr_in	 sin;
	struct bufferevent	*bev;
	struct nt_peer		*p;
	int			 fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	NT_CHECK(fd != -1, "socket");
	if (rcvbuf > 0)
		NT_CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf)) == 0, "SO_RCVBUF");
	NT_CHECK(evutil_make_socket_nonblocking(fd) == 0, "nonblocking");
	bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	p = nt_peer_new(w, bev);
	bufferevent_setcb(bev, nt_peer_readcb, NULL, nt_peer_eventcb, p);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(w->px_port);
	NT_CHECK(bufferevent_socket_connect(bev, (struct sockaddr *)&sin,
	    sizeof(sin)) == 0, "connect to the proxy");
	return p;
}

NT_FN struct nt_peer *
nt_rabbit(struct nt_world *w)
{
	return nt_rabbit_rcvbuf(w, 0);
}

NT_FN void
nt_send(struct nt_peer *p, const char *s)
{
	NT_CHECK(bufferevent_write(p->bev, s, strlen(s)) == 0, "write");
}

/* Show bytes readably in a failure message (static, truncated). */
NT_FN const char *
nt_vis(const char *b, size_t n)
{
	static char	out[2][2048];
	static int	k;
	size_t		i, o = 0;

	k ^= 1;
	for (i = 0; i < n && o + 5 < sizeof(out[k]); i++) {
		unsigned char c = (unsigned char)b[i];
		if (c >= 32 && c < 127)
			out[k][o++] = (char)c;
		else
			o += (size_t)snprintf(out[k] + o, sizeof(out[k]) - o,
			    "\\x%02x", c);
	}
	out[k][o] = '\0';
	return out[k];
}

/* Wait until p has received as many bytes as want, then compare exactly. */
NT_FN void
nt_expect_n(struct nt_peer *p, const char *want, size_t n, const char *who)
{
	const char	*got;
	size_t		 len;

	nt_wait_len(p, n, who);
	len = evbuffer_get_length(p->in);
	got = (const char *)evbuffer_pullup(p->in, -1);
	NT_CHECK(len == n && memcmp(got, want, n) == 0,
	    "%s got %zu bytes:\n  %s\nwant %zu bytes:\n  %s", who, len,
	    nt_vis(got, len), n, nt_vis(want, n));
}

NT_FN void
nt_expect(struct nt_peer *p, const char *want, const char *who)
{
	nt_expect_n(p, want, strlen(want), who);
}

/* Forget what p received so far (the next expectation starts afresh). */
NT_FN void
nt_clear(struct nt_peer *p)
{
	evbuffer_drain(p->in, evbuffer_get_length(p->in));
	p->soff = 0;
}

/* Does p's input contain s? */
NT_FN int
nt_has(struct nt_peer *p, const char *s)
{
	size_t	len = evbuffer_get_length(p->in);

	return evbuffer_search(p->in, s, strlen(s), NULL).pos != -1 &&
	    len > 0;
}

/* Send a TCP reset: linger 0, then close. */
NT_FN void
nt_reset(struct nt_peer *p)
{
	struct linger	lin = { 1, 0 };

	setsockopt(bufferevent_getfd(p->bev), SOL_SOCKET, SO_LINGER, &lin,
	    sizeof(lin));
	bufferevent_free(p->bev);
	p->bev = NULL;
}

/*
 * Open a passthrough stream: a rabbit connects and sends NT_RHDR, the
 * server answers NT_SHDR; both sides' buffers are cleared after.
 */
NT_FN void
nt_open(struct nt_world *w, struct nt_peer **rabbit, struct nt_peer **srv)
{
	size_t	n = w->nsrvc;

	*rabbit = nt_rabbit(w);
	nt_send(*rabbit, NT_RHDR);
	*srv = nt_server(w, n);
	nt_expect(*srv, NT_RHDR, "server (rabbit's header)");
	nt_send(*srv, NT_SHDR);
	nt_expect(*rabbit, NT_SHDR, "rabbit (server's header)");
	nt_clear(*rabbit);
	nt_clear(*srv);
}

/* ---- A fake XMPP server speaking SASL PLAIN and SCRAM-SHA-1 ---- */

enum nt_sasl_mode {
	NT_SASL_OK = 0,		/* accept the right password */
	NT_SASL_MUTE,		/* answer the header, never the auth */
	NT_SASL_SILENT,		/* never answer at all */
	NT_SASL_CLOSE		/* close the connection on the header */
};

struct nt_sasl {
	enum nt_sasl_mode	 mode;
	const char		*mechs;		/* <mechanism> elements */
	const char		*user;
	const char		*password;
	int			 step;		/* 0 hdr, 1 auth, 2 resp, 3 hdr2 */
	int			 authenticated;
	char			 cfirst_bare[256];
	char			 sfirst[256];
	unsigned char		 salted[20];
};

#define NT_SALT		"nabtestsalt12345"
#define NT_FEATURES2	"<stream:features><bind xmlns='urn:ietf:params:xml:ns:" \
	"xmpp-bind'/></stream:features>"

NT_FN char *
nt_b64(const unsigned char *p, size_t n)
{
	char	*o = malloc(4 * ((n + 2) / 3) + 1);

	NT_CHECK(o != NULL, "malloc");
	EVP_EncodeBlock((unsigned char *)o, p, (int)n);
	return o;
}

/* Decode base64 into out (NUL-terminated); the decoded length. */
NT_FN size_t
nt_unb64(const char *s, size_t n, char *out, size_t outlen)
{
	int	r;
	size_t	pad = 0;

	NT_CHECK(n % 4 == 0 && n / 4 * 3 < outlen, "bad base64 length %zu", n);
	r = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)s,
	    (int)n);
	NT_CHECK(r >= 0, "bad base64");
	if (n > 0 && s[n - 1] == '=')
		pad++;
	if (n > 1 && s[n - 2] == '=')
		pad++;
	out[(size_t)r - pad] = '\0';
	return (size_t)r - pad;
}

/* Offset just past `pat` in p->in from p->soff, or 0 if not there yet. */
NT_FN size_t
nt_find(struct nt_peer *p, const char *pat, size_t *start)
{
	struct evbuffer_ptr	pos, at;

	NT_CHECK(evbuffer_ptr_set(p->in, &pos, p->soff, EVBUFFER_PTR_SET) == 0,
	    "ptr_set");
	at = evbuffer_search(p->in, pat, strlen(pat), &pos);
	if (at.pos == -1)
		return 0;
	if (start != NULL)
		*start = (size_t)at.pos;
	return (size_t)at.pos + strlen(pat);
}

NT_FN void
nt_sasl_reply(struct nt_peer *p, const char *name, const char *data)
{
	char	*b = nt_b64((const unsigned char *)data, strlen(data));

	evbuffer_add_printf(bufferevent_get_output(p->bev),
	    "<%s xmlns='" NT_NS_SASL "'>%s</%s>", name, b, name);
	free(b);
}

NT_FN void
nt_hmac(const unsigned char *key, size_t kl, const char *msg,
    unsigned char out[20])
{
	unsigned int	len = 20;

	NT_CHECK(HMAC(EVP_sha1(), key, (int)kl, (const unsigned char *)msg,
	    strlen(msg), out, &len) != NULL, "HMAC");
}

/*
 * The decoded SASL payload of the element in [start, end) of p's input,
 * which ends with `close`; *mech is set if it names mechanism='PLAIN'.
 */
NT_FN size_t
nt_payload(struct nt_peer *p, size_t start, size_t end, const char *close,
    char *out, size_t outlen, int *plain)
{
	const char	*b = (const char *)evbuffer_pullup(p->in, -1);
	const char	*gt = memchr(b + start, '>', end - start);

	NT_CHECK(gt != NULL, "no '>' in SASL element");
	*plain = memmem(b + start, (size_t)(gt - b) - start,
	    "mechanism='PLAIN'", 17) != NULL;
	return nt_unb64(gt + 1, end - strlen(close) - (size_t)(gt + 1 - b),
	    out, outlen);
}

/* SCRAM-SHA-1 server-first, or verify client-final and answer success. */
NT_FN void
nt_scram(struct nt_peer *p, struct nt_sasl *s, const char *msg)
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
		saltb = nt_b64((const unsigned char *)NT_SALT, strlen(NT_SALT));
		snprintf(s->sfirst, sizeof(s->sfirst), "r=%sSRVNONCE,s=%s,i=4096",
		    nonce + 3, saltb);
		free(saltb);
		NT_CHECK(PKCS5_PBKDF2_HMAC(s->password, (int)strlen(s->password),
		    (const unsigned char *)NT_SALT, (int)strlen(NT_SALT), 4096,
		    EVP_sha1(), 20, s->salted) == 1, "PBKDF2");
		nt_sasl_reply(p, "challenge", s->sfirst);
		s->step = 2;
		return;
	}
	snprintf(bare, sizeof(bare), "%s", msg);
	NT_CHECK((pp = strstr(bare, ",p=")) != NULL, "no proof: %s", msg);
	*pp = '\0';
	snprintf(am, sizeof(am), "%s,%s,%s", s->cfirst_bare, s->sfirst, bare);
	nt_hmac(s->salted, 20, "Client Key", ck);
	SHA1(ck, 20, stk);
	nt_hmac(stk, 20, am, sig);
	for (i = 0; i < 20; i++)
		proof[i] = ck[i] ^ sig[i];
	b64 = nt_b64(proof, 20);
	if (strcmp(b64, pp + 3) != 0) {
		free(b64);
		evbuffer_add_printf(bufferevent_get_output(p->bev),
		    "<failure xmlns='" NT_NS_SASL "'><not-authorized/></failure>");
		s->step = 4;
		return;
	}
	free(b64);
	nt_hmac(s->salted, 20, "Server Key", sk);
	nt_hmac(sk, 20, am, ssig);
	b64 = nt_b64(ssig, 20);
	snprintf(am, sizeof(am), "v=%s", b64);
	free(b64);
	nt_sasl_reply(p, "success", am);
	s->authenticated = 1;
	s->step = 3;
}

/* PLAIN: "\0user\0password". */
NT_FN void
nt_plain(struct nt_peer *p, struct nt_sasl *s, const char *msg, size_t n)
{
	char	want[256];
	size_t	wl;

	wl = (size_t)snprintf(want, sizeof(want), "%c%s%c%s", 0, s->user, 0,
	    s->password);
	if (n == wl && memcmp(msg, want, n) == 0) {
		evbuffer_add_printf(bufferevent_get_output(p->bev),
		    "<success xmlns='" NT_NS_SASL "'/>");
		s->authenticated = 1;
		s->step = 3;
	} else {
		evbuffer_add_printf(bufferevent_get_output(p->bev),
		    "<failure xmlns='" NT_NS_SASL "'><not-authorized/></failure>");
		s->step = 4;
	}
}

/* The script: headers, then <auth>/<response>, then the restarted stream. */
NT_FN void
nt_sasl_script(struct nt_peer *p)
{
	struct nt_sasl	*s = p->sctx;
	char		 msg[1024];
	size_t		 end, start, n;
	int		 plain;

	for (;;) {
		if (s->mode == NT_SASL_SILENT)
			return;
		if (s->step == 0 || s->step == 3) {
			if ((end = nt_find(p, "<stream:stream", &start)) == 0 ||
			    (end = nt_find(p, ">", NULL)) == 0)
				return;
			p->soff = end;
			if (s->mode == NT_SASL_CLOSE) {
				bufferevent_free(p->bev);
				p->bev = NULL;
				p->gone = 1;
				return;
			}
			evbuffer_add_printf(bufferevent_get_output(p->bev),
			    "%s%s", NT_SHDR, s->step == 0 ?
			    "<stream:features><mechanisms xmlns='" NT_NS_SASL "'>" :
			    NT_FEATURES2);
			if (s->step == 0)
				evbuffer_add_printf(bufferevent_get_output(p->bev),
				    "%s</mechanisms></stream:features>", s->mechs);
			s->step = s->step == 0 ? 1 : 4;
			continue;
		}
		if (s->step == 1 || s->step == 2) {
			const char *close = s->step == 1 ? "</auth>" :
			    "</response>";
			if ((end = nt_find(p, close, NULL)) == 0 ||
			    nt_find(p, s->step == 1 ? "<auth" : "<response",
			    &start) == 0)
				return;
			p->soff = end;
			if (s->mode == NT_SASL_MUTE)
				return;
			n = nt_payload(p, start, end, close, msg, sizeof(msg),
			    &plain);
			if (s->step == 1 && plain)
				nt_plain(p, s, msg, n);
			else
				nt_scram(p, s, msg);
			continue;
		}
		return;
	}
}

/* Make every accepted server connection a SASL server like `proto`. */
NT_FN void
nt_sasl_accept(struct nt_peer *p, void *arg)
{
	struct nt_sasl	*s = malloc(sizeof(*s));

	NT_CHECK(s != NULL, "malloc");
	*s = *(const struct nt_sasl *)arg;
	p->sctx = s;
	p->script = nt_sasl_script;
	nt_sasl_script(p);
}

#endif /* NAB_TEST_H */
