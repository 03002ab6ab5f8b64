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
 * It includes testutil.h (and so <cmocka.h>); the per-test set-ups built
 * on it are in nabfixture.h. Every assertion carries a message.
 */
#ifndef NAB_TEST_H
#define NAB_TEST_H

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
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
#include <openssl/rand.h>

#include "chain.h"
#include "creds.h"
#include "listener.h"
#include "log.h"
#include "proxy.h"
#include "session-int.h"
#include "stanza.h"
#include "testutil.h"
#include "xmlstream.h"

#define NT_FN	__attribute__((unused)) static

/* Assert with a message (testutil.h's CHECK). */
#define NT_CHECK	CHECK

#define NT_NS_STREAMS	"urn:ietf:params:xml:ns:xmpp-streams"
#define NT_NS_SASL	"urn:ietf:params:xml:ns:xmpp-sasl"
/* The rabbit's and the server's stream headers. */
#define NT_RHDR	"<?xml version='1.0'?><stream:stream to='example.net'"	\
	" xmlns='jabber:client'"					\
	" xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
#define NT_SHDR	"<?xml version='1.0'?><stream:stream"			\
	" xmlns='jabber:client'"					\
	" xmlns:stream='http://etherx.jabber.org/streams' id='srv1'"	\
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
	void			*user;		/* the test's, never freed */
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
	void		*arg;
};

NT_FN void	nt_peer_readcb(struct bufferevent *, void *);
NT_FN void	nt_peer_eventcb(struct bufferevent *, short, void *);

/*
 * Per-process set-up for every test program: no SIGPIPE, and
 * NT_TESTS=pattern runs only the matching tests (cmocka's filter).
 */
NT_FN void
nt_main_init(void)
{
	unsigned char	b;

	signal(SIGPIPE, SIG_IGN);
	/*
	 * OpenSSL seeds its generator on first use; under valgrind that
	 * alone exceeds a filter hook's time budget (a SCRAM nonce is drawn
	 * inside the hook that starts a login), so seed it up front.
	 */
	NT_CHECK(RAND_bytes(&b, 1) == 1, "RAND_bytes");
	if (getenv("NT_TESTS") != NULL)
		cmocka_set_test_filter(getenv("NT_TESTS"));
}

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

/* A peer around bev, reading into p->in, owned by the world. */
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
	bufferevent_setcb(bev, nt_peer_readcb, NULL, nt_peer_eventcb, p);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
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
	NT_CHECK(w->nsrvc < NT_MAXPEERS, "too many server connections");
	w->srvc[w->nsrvc++] = p;
	if (w->on_accept != NULL)
		w->on_accept(p, w->accept_arg);
}

NT_FN void
nt_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nt_world	*w = arg;

	w->expired = 1;
	/* A proxy that keeps re-activating callbacks must fail, not hang. */
	event_base_loopbreak(w->base);
}

/*
 * A loop, a fake server on 127.0.0.1:any, and proxy options aimed at it:
 * no traffic log, generous limits, PLAIN allowed without TLS.
 */
NT_FN void
nt_world_init(struct nt_world *w)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	struct proxy_opts	*o = &w->px.opt;

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
	snprintf(o->upstream_host, sizeof(o->upstream_host), "127.0.0.1");
	o->upstream_port = w->srv_port;
	o->connect_timeout = 5;
	o->idle_timeout = 60;
	o->max_connections = 64;
	o->max_stanza = o->hold_queue = 65536;
	o->max_depth = 32;
	o->log_format = LOGFMT_NONE;
	o->redact = o->allow_plain_cleartext = 1;
	o->scram_max_iterations = 100000;
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

/* Free everything: sessions first, then peers, then the loop. */
NT_FN void
nt_world_free(struct nt_world *w)
{
	size_t	i;

	session_free_all(&w->px);
	/* Deferred frees: the sessions' probes, then their legs. */
	event_base_loop(w->base, EVLOOP_NONBLOCK);
	event_base_loop(w->base, EVLOOP_NONBLOCK);
	listener_free(w->px.lst);
	w->px.lst = NULL;
	chainset_unref(w->px.chains);
	w->px.chains = NULL;
	creds_close(w->px.creds);
	w->px.creds = NULL;
	for (i = 0; i < w->npeers; i++) {
		if (w->peers[i]->bev != NULL)
			bufferevent_free(w->peers[i]->bev);
		evbuffer_free(w->peers[i]->in);
		free(w->peers[i]->sctx);
		free(w->peers[i]);
	}
	if (w->srv != NULL)
		evconnlistener_free(w->srv);
	if (w->px.dns != NULL)
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
	NT_CHECK(c->fn(c), "timed out after %u ms waiting for %s (peer: %zu "
	    "bytes, eof %d, error %d)", ms, what,
	    c->p ? evbuffer_get_length(c->p->in) : 0, c->p ? c->p->eof : 0,
	    c->p ? c->p->error : 0);
}

/* Conditions: bytes received, bytes or hang-up, EOF, hang-up, counts. */
NT_FN int
nt_c_len(const struct nt_cond *c)
{
	return evbuffer_get_length(c->p->in) >= c->n;
}

NT_FN int
nt_c_len_or_gone(const struct nt_cond *c)
{
	return nt_c_len(c) || c->p->gone;
}

NT_FN int nt_c_eof(const struct nt_cond *c) { return c->p->eof; }
NT_FN int nt_c_gone(const struct nt_cond *c) { return c->p->gone; }
NT_FN int nt_c_nsrv(const struct nt_cond *c) { return c->w->nsrvc >= c->n; }
NT_FN int nt_c_nsess(const struct nt_cond *c)
{
	return c->w->px.nsessions == c->n;
}

/* Wait up to 5 s for fn(p, n). */
NT_FN void
nt_wait(int (*fn)(const struct nt_cond *), struct nt_peer *p, size_t n,
    const char *what)
{
	struct nt_cond	c = { fn, p->w, p, n, NULL };

	nt_run(&c, 5 * NT_SEC, what);
}

/* Wait until p received at least n bytes, saw EOF, saw EOF or an error. */
NT_FN void
nt_wait_len(struct nt_peer *p, size_t n, const char *what)
{
	nt_wait(nt_c_len, p, n, what);
}

NT_FN void
nt_wait_eof(struct nt_peer *p, const char *what)
{
	nt_wait(nt_c_eof, p, 0, what);
}

NT_FN void
nt_wait_gone(struct nt_peer *p, const char *what)
{
	nt_wait(nt_c_gone, p, 0, what);
}

NT_FN void
nt_wait_sessions(struct nt_world *w, size_t n, unsigned ms)
{
	struct nt_cond	c = { nt_c_nsess, w, NULL, n, NULL };

	nt_run(&c, ms, "the proxy's session count");
}

/* The n-th (0-based) connection the fake server accepted. */
NT_FN struct nt_peer *
nt_server(struct nt_world *w, size_t n)
{
	struct nt_cond	c = { nt_c_nsrv, w, NULL, n + 1, NULL };

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

	/* Stop early when p's peer hung up, to show what came instead. */
	nt_wait(nt_c_len_or_gone, p, n, who);
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

/*
 * Open a passthrough stream for an already created rabbit: it sends
 * NT_RHDR, the server answers NT_SHDR; both sides' buffers are cleared.
 */
NT_FN struct nt_peer *
nt_open_with(struct nt_world *w, struct nt_peer *rabbit)
{
	size_t		 n = w->nsrvc;
	struct nt_peer	*srv;

	nt_send(rabbit, NT_RHDR);
	srv = nt_server(w, n);
	nt_expect(srv, NT_RHDR, "server (rabbit's header)");
	nt_send(srv, NT_SHDR);
	nt_expect(rabbit, NT_SHDR, "rabbit (server's header)");
	nt_clear(rabbit);
	nt_clear(srv);
	return srv;
}

NT_FN void
nt_open(struct nt_world *w, struct nt_peer **rabbit, struct nt_peer **srv)
{
	*rabbit = nt_rabbit(w);
	*srv = nt_open_with(w, *rabbit);
}

/* Build a chainset or fail the test with chainset_build()'s message. */
NT_FN struct chainset *
nt_build(const struct chain_filter_conf *fc, size_t nfc,
    const struct chain_profile_conf *pc, size_t npc, const char *def)
{
	struct chainset	*cs;
	char		 err[4096];

	cs = chainset_build(fc, nfc, pc, npc, def, err, sizeof(err));
	NT_CHECK(cs != NULL, "chainset_build: %s", err);
	return cs;
}

/* One profile "p" (the default) running the given filters in order. */
NT_FN void
nt_chain(struct nt_world *w, const struct chain_filter_conf *fc, size_t nfc)
{
	static const char		*names[8];
	struct chain_profile_conf	 pc;
	size_t				 i;

	NT_CHECK(nfc <= 8, "too many filters");
	for (i = 0; i < nfc; i++)
		names[i] = fc[i].name;
	memset(&pc, 0, sizeof(pc));
	pc.name = "p";
	pc.filters = names;
	pc.nfilters = nfc;
	w->px.chains = nt_build(fc, nfc, &pc, 1, "p");
}

/* Send the daemon log to a file from now on (this process). */
NT_FN void
nt_log_to(const char *path)
{
	unlink(path);
	NT_CHECK(log_open(path, 1) == 0, "log_open %s", path);
}

/* Does the log file contain s? */
NT_FN int
nt_log_has(const char *path, const char *s)
{
	static char	buf[1 << 20];
	FILE		*f = fopen(path, "r");
	size_t		 n;

	NT_CHECK(f != NULL, "open %s", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, s) != NULL;
}

/* ---- A fake XMPP server speaking SASL PLAIN and SCRAM-SHA-1 ---- */

enum nt_sasl_mode {
	NT_SASL_OK = 0,		/* accept the right password */
	NT_SASL_MUTE,		/* answer the header, never the auth */
	NT_SASL_CLOSE		/* close the connection on the header */
};

struct nt_sasl {
	enum nt_sasl_mode	 mode;
	const char		*mechs;		/* <mechanism> elements */
	/*
	 * A mechanism other than PLAIN: gets each decoded <auth> (step 1)
	 * or <response> (step 2) payload, answers, and sets step (2 for
	 * more, 3 after success, 4 after failure).
	 */
	void			(*mech)(struct nt_peer *, struct nt_sasl *,
				    const char *);
	const char		*user;
	const char		*password;
	int			 step;	/* 0 hdr, 1 auth, 2 resp, 3 hdr2 */
	char			 cfirst_bare[256];	/* SCRAM state */
	char			 sfirst[256];
	unsigned char		 salted[20];
};

#define NT_FEATURES2	"<stream:features><bind xmlns='urn:ietf:params:" \
	"xml:ns:xmpp-bind'/></stream:features>"

/* Base64 of p (malloc'd), and the reverse (NUL-terminated, its length). */
NT_FN char *
nt_b64(const unsigned char *p, size_t n)
{
	char	*o = malloc(4 * ((n + 2) / 3) + 1);

	NT_CHECK(o != NULL, "malloc");
	EVP_EncodeBlock((unsigned char *)o, p, (int)n);
	return o;
}

NT_FN size_t
nt_unb64(const char *s, size_t n, char *out, size_t outlen)
{
	int	r;

	NT_CHECK(n % 4 == 0 && n / 4 * 3 < outlen, "bad base64 length %zu", n);
	r = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)s,
	    (int)n);
	NT_CHECK(r >= 0, "bad base64");
	while (n > 0 && s[--n] == '=')
		r--;
	out[r] = '\0';
	return (size_t)r;
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
nt_sasl_failure(struct nt_peer *p)
{
	evbuffer_add_printf(bufferevent_get_output(p->bev), "<failure xmlns='"
	    NT_NS_SASL "'><not-authorized/></failure>");
}

/*
 * The decoded SASL payload of the element in [start, end) of p's input,
 * which ends with `close`; *plain says if it names mechanism='PLAIN'.
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
		s->step = 3;
	} else {
		nt_sasl_failure(p);
		s->step = 4;
	}
}

/* The script: headers, then <auth>/<response>, then the restarted stream. */
NT_FN void
nt_sasl_script(struct nt_peer *p)
{
	struct nt_sasl	*s = p->sctx;
	struct evbuffer	*out;
	char		 msg[1024];
	size_t		 end, start, n;
	int		 plain;

	for (;;) {
		if (s->step == 0 || s->step == 3) {
			if (nt_find(p, "<stream:stream", &start) == 0)
				return;
			p->soff = start;
			if ((end = nt_find(p, ">", NULL)) == 0)
				return;
			p->soff = end;
			if (s->mode == NT_SASL_CLOSE) {
				bufferevent_free(p->bev);
				p->bev = NULL;
				p->gone = 1;
				return;
			}
			out = bufferevent_get_output(p->bev);
			if (s->step == 0)
				evbuffer_add_printf(out, "%s<stream:features>"
				    "<mechanisms xmlns='" NT_NS_SASL "'>%s"
				    "</mechanisms></stream:features>", NT_SHDR,
				    s->mechs);
			else
				evbuffer_add_printf(out, "%s", NT_SHDR
				    NT_FEATURES2);
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
			else if (s->mech != NULL)
				s->mech(p, s, msg);
			else
				nt_sasl_failure(p);
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

/* Write s and a FIN at once: both are in the socket before the proxy reads. */
NT_FN void
nt_send_with_fin(struct nt_peer *p, const char *s)
{
	int	fd = bufferevent_getfd(p->bev);
	size_t	len = strlen(s);

	NT_CHECK(evbuffer_get_length(bufferevent_get_output(p->bev)) == 0,
	    "unsent bytes would follow the FIN");
	NT_CHECK(send(fd, s, len, 0) == (ssize_t)len, "send");
	NT_CHECK(shutdown(fd, SHUT_WR) == 0, "shutdown");
}

/*
 * probe() of the first stanza after NT_SHDR in `features`, parsed by the
 * proxy's own stream parser (tls_offered, zs_offered...).
 */
NT_FN int
nt_features_probe(const char *features, int (*probe)(const struct st_node *))
{
	static const struct xs_limits lim = { 65536, 32, 64 };
	struct xmlstream	*xs;
	struct xs_unit		 u;
	char			 in[1024];
	int			 n, rv = -1;

	n = snprintf(in, sizeof(in), "%s%s", NT_SHDR, features);
	NT_CHECK(n > 0 && (size_t)n < sizeof(in), "features too long");
	NT_CHECK((xs = xs_new(&lim)) != NULL, "xs_new");
	NT_CHECK(xs_feed(xs, in, (size_t)n) == 0, "xs_feed: %s", features);
	while (rv == -1 && xs_next(xs, &u) == 1) {
		if (u.kind == XS_STANZA)
			rv = probe(stanza_root(u.st));
		stanza_free(u.st);
	}
	xs_free(xs);
	NT_CHECK(rv != -1, "no stanza in %s", features);
	return rv;
}

#endif /* NAB_TEST_H */
