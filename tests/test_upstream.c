/*
 * test_upstream: proxy/upstream.c, the server side's protocol, driven the
 * way its owners drive it: real server bytes cut into units by the real
 * stream parser, offered to upstream_unit(), its output read from a real
 * leg (one end of a socketpair). The test is the owner: it records what
 * the upstream calls back. Covered: STARTTLS chosen or not (offered, not
 * offered, upstream-tls = no, required), a refused STARTTLS, our SASL
 * login (PLAIN) with the stream restart whose header and features stay
 * hidden, a login without restart (a probe), a rejected password
 * (judged), a stream error during the login (passed on, not judged) and a
 * server that does not restart after success.
 */
#include <sys/socket.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "leg.h"
#include "proxy.h"
#include "stanza.h"
#include "tls.h"
#include "upstream.h"
#include "xmlstream.h"
#include "testutil.h"

#define HDR	"<stream:stream xmlns='jabber:client' " \
		"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
#define RHDR	"<stream:stream to='x' xmlns='jabber:client' " \
		"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
#define NS_SASL	"urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_TLS	"urn:ietf:params:xml:ns:xmpp-tls"
#define FEAT_TLS "<stream:features><starttls xmlns='" NS_TLS "'/>" \
		"<mechanisms xmlns='" NS_SASL "'><mechanism>PLAIN</mechanism>" \
		"</mechanisms></stream:features>"
#define FEAT	"<stream:features><mechanisms xmlns='" NS_SASL "'>" \
		"<mechanism>PLAIN</mechanism></mechanisms></stream:features>"

/* The owner: a leg, its parser, its input, what the upstream said. */
struct owner {
	struct event_base	*base;
	struct leg		 leg;
	int			 peer;
	struct xmlstream	*xs;
	struct evbuffer		*in;
	struct proxy_opts	 opt;
	struct ssl_ctx_st	*ctx;
	char			*header;
	size_t			 header_len;
	struct upstream		 up;
	char			 passed[512];	/* names of units passed on */
	char			 calls[512];	/* callbacks, in order */
	int			 ok, transient, features;
};

static void
nop(struct leg *l, void *arg)
{
}

static void
nop_err(struct leg *l, void *arg, const char *why, int connecting)
{
}

static const struct leg_cbs cbs = { nop, nop, nop, nop, nop_err, nop };

static void
o_tls_begin(void *arg)
{
	strcat(((struct owner *)arg)->calls, "tls_begin;");
}

static void
o_tls_open(void *arg)
{
	strcat(((struct owner *)arg)->calls, "tls_open;");
}

static void
o_login_done(void *arg, int ok, int transient, const char *mech,
    const char *reason, struct stanza *features)
{
	struct owner	*o = arg;

	snprintf(o->calls + strlen(o->calls), sizeof(o->calls) -
	    strlen(o->calls), "login_done %d %d %s [%s];", ok, transient, mech,
	    reason);
	o->ok = ok;
	o->transient = transient;
	o->features = features != NULL;
}

static void
o_fail(void *arg, const char *reason, int clean)
{
	struct owner	*o = arg;

	snprintf(o->calls + strlen(o->calls), sizeof(o->calls) -
	    strlen(o->calls), "fail %d [%s];", clean, reason);
}

static const struct upstream_ops ops = {
	o_tls_begin, o_tls_open, o_login_done, o_fail
};

static int
setup(void **state)
{
	struct owner		*o = calloc(1, sizeof(*o));
	struct xs_limits	 lim = { 65536, 64, 64 };
	int			 sv[2];
	char			 err[256];

	assert_non_null(o);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	o->base = event_base_new();
	assert_int_equal(leg_accept(&o->leg, o->base, sv[0], &cbs, o), 0);
	o->peer = sv[1];
	o->xs = xs_new(&lim);
	o->in = evbuffer_new();
	o->header = strdup(RHDR);
	o->header_len = strlen(RHDR);
	o->ctx = tls_client_ctx(NULL, 1, err, sizeof(err));
	assert_non_null(o->ctx);
	o->opt.upstream_tls = UPSTREAM_TLS_STARTTLS;
	o->opt.allow_plain_cleartext = 1;
	snprintf(o->opt.upstream_host, sizeof(o->opt.upstream_host), "srv");
	o->opt.upstream_port = 5222;
	upstream_init(&o->up, &o->leg, &o->xs, &o->opt, o->ctx, "x",
	    &o->header, &o->header_len, &ops, o, 1);
	*state = o;
	return 0;
}

static int
teardown(void **state)
{
	struct owner	*o = *state;

	upstream_clear(&o->up);
	leg_free(&o->leg);
	close(o->peer);
	xs_free(o->xs);
	evbuffer_free(o->in);
	SSL_CTX_free((SSL_CTX *)o->ctx);
	free(o->header);
	event_base_free(o->base);
	free(o);
	return 0;
}

/* The server sends s: cut into units, each offered to the upstream. */
static void
server(struct owner *o, const char *s)
{
	struct evbuffer_ptr	 pos;
	struct evbuffer_iovec	 v;
	struct xs_unit		 u;
	int			 r;

	evbuffer_add(o->in, s, strlen(s));
	for (;;) {
		while ((r = xs_next(o->xs, &u)) == 1) {
			if (!upstream_unit(&o->up, &u, o->in)) {
				snprintf(o->passed + strlen(o->passed),
				    sizeof(o->passed) - strlen(o->passed),
				    "%s;", u.kind == XS_HEADER ? "header" :
				    u.st ? stanza_root(u.st)->name : "ws");
				evbuffer_drain(o->in, u.len);
			}
			stanza_free(u.st);
		}
		assert_int_not_equal(r, -1);
		if (evbuffer_get_length(o->in) <= xs_buffered(o->xs))
			break;
		assert_int_equal(evbuffer_ptr_set(o->in, &pos,
		    xs_buffered(o->xs), EVBUFFER_PTR_SET), 0);
		assert_true(evbuffer_peek(o->in, -1, &pos, &v, 1) >= 1);
		assert_int_equal(xs_feed(o->xs, v.iov_base, v.iov_len), 0);
	}
	assert_int_equal(evbuffer_get_length(o->in), 0);
}

/*
 * What the upstream wrote toward the server since the last call: the
 * loop flushes the leg into the socketpair, the peer end reads it.
 */
static char *
sent(struct owner *o)
{
	struct evbuffer	*out = leg_output(&o->leg);
	char		 buf[4096];
	size_t		 len = 0;
	ssize_t		 n;
	int		 i;

	for (i = 0; i < 1000 && evbuffer_get_length(out) > 0; i++)
		event_base_loop(o->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(evbuffer_get_length(out), 0);
	while ((n = recv(o->peer, buf + len, sizeof(buf) - 1 - len,
	    MSG_DONTWAIT)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return strdup(buf);
}

static void
expect_sent(struct owner *o, const char *want)
{
	char	*got = sent(o);

	EXPECT(strcmp(got, want) == 0, "sent '%s', want '%s'", got, want);
	free(got);
}

static void
test_tls_not_offered(void **state)
{
	struct owner	*o = *state;

	server(o, HDR FEAT);
	assert_string_equal(o->passed, "header;stream:features;");
	assert_int_equal(o->up.tls, UP_TLS_DONE);
	assert_string_equal(o->calls, "");
	expect_sent(o, "");
}

static void
test_tls_off(void **state)
{
	struct owner	*o = *state;

	o->opt.upstream_tls = UPSTREAM_TLS_NO;
	server(o, HDR FEAT_TLS);
	assert_string_equal(o->passed, "header;stream:features;");
	expect_sent(o, "");
}

static void
test_tls_required_not_offered(void **state)
{
	struct owner	*o = *state;

	o->opt.upstream_tls = UPSTREAM_TLS_REQUIRED;
	server(o, HDR FEAT);
	assert_string_equal(o->passed, "header;");
	assert_string_equal(o->calls, "fail 1 [server srv:5222 does not offer "
	    "STARTTLS and upstream-tls = required];");
}

static void
test_tls_refused(void **state)
{
	struct owner	*o = *state;

	server(o, HDR FEAT_TLS);
	assert_string_equal(o->passed, "header;");
	assert_string_equal(o->calls, "tls_begin;");
	expect_sent(o, TLS_STARTTLS);
	assert_true(upstream_busy(&o->up) && upstream_tls_pending(&o->up));
	server(o, "<failure xmlns='" NS_TLS "'/>");
	assert_string_equal(o->calls, "tls_begin;fail 1 [server refused "
	    "STARTTLS];");
}

/* Log in with PLAIN on the features the owner kept. */
static void
login(struct owner *o, const char *features_xml)
{
	struct xmlstream	*xs;
	struct xs_limits	 lim = { 65536, 64, 64 };
	struct xs_unit		 u;
	char			 doc[1024], err[128];

	/* The features as the owner keeps them: a parsed tree. */
	xs = xs_new(&lim);
	snprintf(doc, sizeof(doc), "%s%s", HDR, features_xml);
	assert_int_equal(xs_feed(xs, doc, strlen(doc)), 0);
	assert_int_equal(xs_next(xs, &u), 1);
	stanza_free(u.st);
	assert_int_equal(xs_next(xs, &u), 1);
	assert_int_equal(upstream_login(&o->up, "u", "secret",
	    stanza_root(u.st), err, sizeof(err)), 0);
	stanza_free(u.st);
	xs_free(xs);
	/* PLAIN: \0u\0secret */
	expect_sent(o, "<auth xmlns='" NS_SASL "' mechanism='PLAIN'>"
	    "AHUAc2VjcmV0</auth>");
}

static void
test_login_restart(void **state)
{
	struct owner	*o = *state;

	server(o, HDR FEAT);
	login(o, FEAT);
	assert_true(upstream_busy(&o->up));
	server(o, "<success xmlns='" NS_SASL "'/>");
	/* The rabbit's header again; the restarted stream stays hidden. */
	expect_sent(o, RHDR);
	assert_string_equal(o->calls, "");
	server(o, HDR "<stream:features><bind xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-bind'/></stream:features><message/>");
	assert_string_equal(o->calls, "login_done 1 0 PLAIN [];");
	assert_int_equal(o->features, 1);
	assert_string_equal(o->passed, "header;stream:features;message;");
	assert_false(upstream_busy(&o->up));
}

static void
test_login_no_restart(void **state)
{
	struct owner	*o = *state;

	o->up.restart = 0;
	server(o, HDR FEAT);
	login(o, FEAT);
	server(o, "<success xmlns='" NS_SASL "'/>");
	assert_string_equal(o->calls, "login_done 1 0 PLAIN [];");
	assert_int_equal(o->features, 0);
	expect_sent(o, "");
}

static void
test_login_rejected(void **state)
{
	struct owner	*o = *state;

	server(o, HDR FEAT);
	login(o, FEAT);
	server(o, "<failure xmlns='" NS_SASL "'><not-authorized/></failure>");
	assert_int_equal(o->ok, 0);
	assert_int_equal(o->transient, 0);
	assert_string_equal(o->passed, "header;stream:features;");
	assert_false(upstream_busy(&o->up));
}

static void
test_login_stream_error(void **state)
{
	struct owner	*o = *state;

	server(o, HDR FEAT);
	login(o, FEAT);
	server(o, "<stream:error><system-shutdown xmlns='urn:ietf:params:xml:"
	    "ns:xmpp-streams'/></stream:error>");
	assert_int_equal(o->ok, 0);
	assert_int_equal(o->transient, 1);
	/* The server's word to the rabbit too: passed on. */
	assert_string_equal(o->passed, "header;stream:features;stream:error;");
}

static void
test_login_no_restart_after_success(void **state)
{
	struct owner	*o = *state;

	server(o, HDR FEAT);
	login(o, FEAT);
	server(o, "<success xmlns='" NS_SASL "'/>");
	expect_sent(o, RHDR);
	server(o, HDR "<message/>");
	assert_string_equal(o->calls, "login_done 0 1 PLAIN [server did not "
	    "restart the stream after success];");
	assert_string_equal(o->passed, "header;stream:features;message;");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_tls_not_offered),
		T(test_tls_off),
		T(test_tls_required_not_offered),
		T(test_tls_refused),
		T(test_login_restart),
		T(test_login_no_restart),
		T(test_login_rejected),
		T(test_login_stream_error),
		T(test_login_no_restart_after_success),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
