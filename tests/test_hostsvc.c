/*
 * test_hostsvc: proxy/hostsvc.c and hostsvc_http.c, the filter-level
 * services of ABI 1.4 (events), on a real event loop. Without an attached
 * proxy every service refuses. A timer fires once; a cancelled one never.
 * A watch on a socketpair reports readability, write interest can be
 * turned on and off. Resolving an address answers on a later turn, never
 * inside the call; a cancelled resolution never answers. rabbit_call
 * finds no online rabbit among no sessions. http_post: a bad URL refused
 * with a reason, a real loopback server's status delivered (and the
 * request's bytes checked), a server that never answers timed out.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <unistd.h>

#include "testutil.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "hostsvc.h"
#include "proxy.h"

static struct event_base	*base;
static struct proxy		 px;
static int			 fired, got_what, status;
static const char		*why_seen;
static char			 addr_seen[64];
static char			 req_seen[2048];
static int			 answer = 1;
static struct bufferevent	*srv_bev[4];
static int			 nsrv;

static void
setup_px(void)
{
	base = event_base_new();
	memset(&px, 0, sizeof(px));
	px.base = base;
	px.dns = evdns_base_new(base, 0);
	TAILQ_INIT(&px.sessions);
	hostsvc_attach(&px);
}

static void
teardown_px(void)
{
	hostsvc_detach();
	evdns_base_free(px.dns, 0);
	event_base_free(base);
}

static void
tcb(void *arg)
{
	(void)arg;
	fired++;
}

static void
test_detached(void **state)
{
	(void)state;
	assert_null(hostsvc_ftimer_add(1, tcb, NULL));
	assert_null(hostsvc_watch_add(0, NAB_FD_READ, NULL, NULL));
	assert_null(hostsvc_resolve("127.0.0.1", NULL, NULL));
	assert_int_equal(hostsvc_rabbit_call(NULL, "0013d3000001", NULL,
	    NULL), -1);
	assert_null(hostsvc_http_post("http://127.0.0.1/", "a/b", "", 0, 100,
	    NULL, NULL, NULL, NULL));
}

static void
test_timer(void **state)
{
	struct nab_ftimer	*t;

	(void)state;
	setup_px();
	fired = 0;
	assert_non_null(hostsvc_ftimer_add(10, tcb, NULL));
	assert_non_null(t = hostsvc_ftimer_add(10, tcb, NULL));
	hostsvc_ftimer_del(t);
	event_base_dispatch(base);
	assert_int_equal(fired, 1);
	teardown_px();
}

static void
wcb(int fd, unsigned what, void *arg)
{
	char	c;

	(void)arg;
	got_what |= (int)what;
	if (what & NAB_FD_READ)
		assert_int_equal(read(fd, &c, 1), 1);
}

static void
test_watch(void **state)
{
	struct nab_watch	*w;
	int			 sv[2];

	(void)state;
	setup_px();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_null(hostsvc_watch_add(-1, NAB_FD_READ, wcb, NULL));
	/* nothing to read yet: a read watch stays quiet */
	assert_non_null(w = hostsvc_watch_add(sv[0], NAB_FD_READ, wcb, NULL));
	got_what = 0;
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(got_what, 0);
	/* a byte: readable (the callback reads it) */
	assert_int_equal(write(sv[1], "x", 1), 1);
	event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(got_what, NAB_FD_READ);
	/* write interest on, read off: writable at once */
	assert_int_equal(hostsvc_watch_set(w, NAB_FD_WRITE), 0);
	got_what = 0;
	event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(got_what, NAB_FD_WRITE);
	/* paused: nothing, even with a byte waiting */
	assert_int_equal(hostsvc_watch_set(w, 0), 0);
	assert_int_equal(write(sv[1], "y", 1), 1);
	got_what = 0;
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(got_what, 0);
	hostsvc_watch_del(w);
	close(sv[0]);
	close(sv[1]);
	teardown_px();
}

static void
rcb(const char *addr, const char *why, void *arg)
{
	(void)arg;
	fired++;
	snprintf(addr_seen, sizeof(addr_seen), "%s", addr ? addr : "");
	why_seen = why;
}

static void
test_resolve(void **state)
{
	struct nab_resolve	*r;

	(void)state;
	setup_px();
	fired = 0;
	assert_non_null(hostsvc_resolve("192.0.2.7", rcb, NULL));
	assert_int_equal(fired, 0);		/* never inside the call */
	event_base_dispatch(base);
	assert_int_equal(fired, 1);
	assert_string_equal(addr_seen, "192.0.2.7");
	assert_null(why_seen);
	assert_non_null(r = hostsvc_resolve("2001:db8::1", rcb, NULL));
	hostsvc_resolve_cancel(r);
	event_base_dispatch(base);
	assert_int_equal(fired, 1);
	/* no session at all: no online rabbit; stages of no session ignored */
	assert_int_equal(hostsvc_rabbit_call(NULL, "0013d3000001", NULL,
	    NULL), -1);
	hostsvc_stage(NULL, "idle");
	hostsvc_offline(NULL);
	teardown_px();
}

static void
srv_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer	*in = bufferevent_get_input(bev);
	size_t		 n = evbuffer_get_length(in);

	(void)arg;
	if (n >= sizeof(req_seen))
		n = sizeof(req_seen) - 1;
	evbuffer_copyout(in, req_seen, n);
	req_seen[n] = '\0';
	if (answer && strstr(req_seen, "\r\n\r\nhello") != NULL)
		bufferevent_write(bev, "HTTP/1.1 201 Created\r\nContent-Length: "
		    "0\r\nConnection: close\r\n\r\n", 63);
}

static void
srv_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int len, void *arg)
{
	struct bufferevent	*bev;

	(void)l;
	(void)sa;
	(void)len;
	bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (nsrv < 4)
		srv_bev[nsrv++] = bev;
	bufferevent_setcb(bev, srv_read, NULL, NULL, arg);
	bufferevent_enable(bev, EV_READ);
}

static void
hcb(int st, const char *why, void *arg)
{
	(void)arg;
	status = st;
	why_seen = why;
	fired++;
	event_base_loopexit(base, NULL);
}

static void
test_http(void **state)
{
	struct evconnlistener	*l;
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	const char		*why = NULL;
	char			 url[64];

	(void)state;
	setup_px();
	assert_null(hostsvc_http_post("ftp://x/", "a/b", "", 0, 100, NULL,
	    hcb, NULL, &why));
	assert_string_equal(why, "not an http:// or https:// URL");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = evconnlistener_new_bind(base, srv_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 8,
	    (struct sockaddr *)&sin, sizeof(sin));
	assert_non_null(l);
	getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&sin, &sl);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook?a=1",
	    ntohs(sin.sin_port));
	fired = 0;
	answer = 1;
	assert_non_null(hostsvc_http_post(url, "application/json", "hello", 5,
	    2000, NULL, hcb, NULL, &why));
	assert_int_equal(fired, 0);
	event_base_dispatch(base);
	assert_int_equal(fired, 1);
	assert_int_equal(status, 201);
	assert_non_null(strstr(req_seen, "POST /hook?a=1 HTTP/1.1\r\n"));
	assert_non_null(strstr(req_seen, "Content-Type: application/json\r\n"));
	assert_non_null(strstr(req_seen, "Content-Length: 5\r\n"));
	snprintf(url, sizeof(url), "Host: 127.0.0.1:%u\r\n", ntohs(sin.sin_port));
	assert_non_null(strstr(req_seen, url));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook?a=1",
	    ntohs(sin.sin_port));
	/* a server that never answers: the deadline */
	answer = 0;
	assert_non_null(hostsvc_http_post(url, "application/json", "hello", 5,
	    300, NULL, hcb, NULL, &why));
	event_base_dispatch(base);
	assert_int_equal(fired, 2);
	assert_int_equal(status, 0);
	assert_string_equal(why_seen, "timed out");
	evconnlistener_free(l);
	while (nsrv > 0)
		bufferevent_free(srv_bev[--nsrv]);
	teardown_px();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detached),
		cmocka_unit_test(test_timer),
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_http),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
