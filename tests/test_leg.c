/*
 * test_leg: proxy/leg.c over real loopback TCP connections driven by a
 * libevent loop. Data both ways with the write low-water mark, the pause
 * bitmask (two reasons), FIN only after the output is flushed, the
 * lingering close (every queued byte reaches a peer that keeps sending,
 * then FIN, and the leg closes on the peer's FIN), the reset of
 * leg_abort(), a refused connect, and connects by name through evdns
 * ("localhost" and a name only the test knows, from hosts files of its
 * own).
 *
 * The peer is either another leg or a raw non-blocking socket read and
 * written from events on the same loop. Waiting is always for an event
 * (run_until with a watchdog that fails the test), never a sleep.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>

#include "leg.h"
#include "testutil.h"
#include "rawpeer.h"

#define MIB		(1024 * 1024)

/* One leg under test and what its callbacks saw. */
struct side {
	struct leg	 leg;
	struct evbuffer	*got;		/* everything read, in order */
	int		 reads;
	int		 drained;
	size_t		 drained_max;	/* largest pending seen in drained */
	int		 connected;
	int		 eofs;
	int		 errors;
	int		 connecting;	/* of the last error */
	char		 why[256];
	int		 closed;
};

/* A raw socket peer on the loop. */

static struct event_base *base;

static void	leg_read_cb(struct leg *, void *);
static void	leg_drained_cb(struct leg *, void *);
static void	leg_connected_cb(struct leg *, void *);
static void	leg_eof_cb(struct leg *, void *);
static void	leg_error_cb(struct leg *, void *, const char *, int);
static void	leg_closed_cb(struct leg *, void *);

static const struct leg_cbs cbs = {
	leg_read_cb, leg_drained_cb, leg_connected_cb, leg_eof_cb,
	leg_error_cb, leg_closed_cb
};

static void
leg_read_cb(struct leg *l, void *arg)
{
	struct side	*s = arg;

	s->reads++;
	CHECK(evbuffer_add_buffer(s->got, leg_input(l)) == 0, "add_buffer");
}

static void
leg_drained_cb(struct leg *l, void *arg)
{
	struct side	*s = arg;

	s->drained++;
	if (leg_pending(l) > s->drained_max)
		s->drained_max = leg_pending(l);
}

static void
leg_connected_cb(struct leg *l, void *arg)
{
	((struct side *)arg)->connected++;
}

static void
leg_eof_cb(struct leg *l, void *arg)
{
	((struct side *)arg)->eofs++;
}

static void
leg_error_cb(struct leg *l, void *arg, const char *why, int connecting)
{
	struct side	*s = arg;

	s->errors++;
	s->connecting = connecting;
	snprintf(s->why, sizeof(s->why), "%s", why);
}

static void
leg_closed_cb(struct leg *l, void *arg)
{
	((struct side *)arg)->closed++;
}

static void
side_init(struct side *s)
{
	memset(s, 0, sizeof(*s));
	s->got = evbuffer_new();
	CHECK(s->got != NULL, "evbuffer_new");
}

static void
side_free(struct side *s)
{
	leg_free(&s->leg);
	evbuffer_free(s->got);
}


/* Run the loop until cond holds; fail after 30 s. */
#define RUN_UNTIL(cond, ...) TU_RUN_UNTIL(base, cond, __VA_ARGS__)

/* The fd is readable (data, FIN or RST) within 10 s. */
static void
wait_readable(int fd)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };

	CHECK(poll(&pfd, 1, 10000) == 1, "fd %d never became readable", fd);
}

static int
setup(void **state)
{
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	CHECK(base != NULL, "event_base_new");
	return 0;
}

static int
teardown(void **state)
{
	event_base_free(base);
	base = NULL;
	return 0;
}

/* Bytes both ways between two legs; drained fires below low water. */
static void
test_data_flow(void **state)
{
	struct side	a, b;
	char		*big;
	size_t		 n = 3 * MIB;
	int		 fa, fb;

	side_init(&a);
	side_init(&b);
	tcp_pair(&fa, &fb, 0);
	CHECK(leg_accept(&a.leg, base, fa, &cbs, &a) == 0, "leg_accept a");
	CHECK(leg_accept(&b.leg, base, fb, &cbs, &b) == 0, "leg_accept b");
	CHECK(a.leg.connected && !a.leg.eof && a.leg.pause == 0,
	    "accepted leg state");

	CHECK(evbuffer_add(leg_output(&a.leg), "hello", 5) == 0, "add");
	CHECK(leg_pending(&a.leg) == 5, "pending %zu", leg_pending(&a.leg));
	RUN_UNTIL(evbuffer_get_length(b.got) >= 5, "hello at b");
	CHECK(evbuffer_get_length(b.got) == 5 &&
	    memcmp(evbuffer_pullup(b.got, -1), "hello", 5) == 0,
	    "b read something else than hello");
	CHECK(leg_pending(&a.leg) == 0 && a.drained >= 1,
	    "a not drained after the write");

	big = malloc(n);
	CHECK(big != NULL, "malloc");
	fill(big, n, 3);
	CHECK(evbuffer_add(leg_output(&b.leg), big, n) == 0, "add");
	RUN_UNTIL(evbuffer_get_length(a.got) >= n, "3 MiB at a");
	CHECK(evbuffer_get_length(a.got) == n &&
	    memcmp(evbuffer_pullup(a.got, -1), big, n) == 0,
	    "a received %zu bytes, not the 3 MiB sent",
	    evbuffer_get_length(a.got));
	CHECK(a.reads > 1, "3 MiB in %d reads", a.reads);
	/* drained means output at or below the low-water mark. */
	RUN_UNTIL(leg_pending(&b.leg) == 0 && b.drained > 0, "b flushed");
	CHECK(b.drained_max <= LEG_HIGH_WATER / 2,
	    "drained called with %zu bytes pending (low water %d)",
	    b.drained_max, LEG_HIGH_WATER / 2);
	CHECK(a.eofs == 0 && b.eofs == 0 && a.errors == 0 && b.errors == 0,
	    "unexpected eof/error");
	free(big);
	side_free(&a);
	side_free(&b);
}

/* Reading stays off until every pause reason is lifted. */
static void
test_pause_resume(void **state)
{
	struct side	a, b;
	int		fa, fb, i;

	side_init(&a);
	side_init(&b);
	tcp_pair(&fa, &fb, 0);
	CHECK(leg_accept(&a.leg, base, fa, &cbs, &a) == 0, "leg_accept a");
	CHECK(leg_accept(&b.leg, base, fb, &cbs, &b) == 0, "leg_accept b");
	leg_pause(&a.leg, LEG_PAUSE_PEER);
	leg_pause(&a.leg, LEG_PAUSE_HOLD);
	leg_pause(&a.leg, LEG_PAUSE_HOLD);	/* twice is still one reason */
	CHECK(a.leg.pause == (LEG_PAUSE_PEER | LEG_PAUSE_HOLD),
	    "pause mask %#x", a.leg.pause);

	CHECK(evbuffer_add(leg_output(&b.leg), "ping", 4) == 0, "add");
	RUN_UNTIL(leg_pending(&b.leg) == 0, "b sent ping");
	/* The bytes are in a's socket; a read-enabled leg would take them. */
	wait_readable(fa);
	for (i = 0; i < 3; i++)
		CHECK(event_base_loop(base, EVLOOP_NONBLOCK) != -1, "loop");
	CHECK(a.reads == 0 && evbuffer_get_length(leg_input(&a.leg)) == 0,
	    "paused leg read (%d reads)", a.reads);

	leg_resume(&a.leg, LEG_PAUSE_PEER);
	CHECK(a.leg.pause == LEG_PAUSE_HOLD, "mask after one resume %#x",
	    a.leg.pause);
	for (i = 0; i < 3; i++)
		CHECK(event_base_loop(base, EVLOOP_NONBLOCK) != -1, "loop");
	CHECK(a.reads == 0, "leg read with LEG_PAUSE_HOLD still set");
	leg_resume(&a.leg, LEG_PAUSE_LOGIN);	/* a reason never set */
	for (i = 0; i < 3; i++)
		CHECK(event_base_loop(base, EVLOOP_NONBLOCK) != -1, "loop");
	CHECK(a.reads == 0 && a.leg.pause == LEG_PAUSE_HOLD,
	    "resuming an unset reason resumed reading");

	leg_resume(&a.leg, LEG_PAUSE_HOLD);
	CHECK(a.leg.pause == 0, "mask %#x", a.leg.pause);
	RUN_UNTIL(evbuffer_get_length(a.got) >= 4, "ping after resume");
	CHECK(evbuffer_get_length(a.got) == 4 &&
	    memcmp(evbuffer_pullup(a.got, -1), "ping", 4) == 0,
	    "a read wrong bytes");
	/* Pausing again stops the next bytes too. */
	leg_pause(&a.leg, LEG_PAUSE_LOGIN);
	CHECK(evbuffer_add(leg_output(&b.leg), "pong", 4) == 0, "add");
	RUN_UNTIL(leg_pending(&b.leg) == 0, "b sent pong");
	wait_readable(fa);
	for (i = 0; i < 3; i++)
		CHECK(event_base_loop(base, EVLOOP_NONBLOCK) != -1, "loop");
	CHECK(evbuffer_get_length(a.got) == 4, "read while paused for login");
	leg_resume(&a.leg, LEG_PAUSE_LOGIN);
	RUN_UNTIL(evbuffer_get_length(a.got) >= 8, "pong");
	CHECK(memcmp(evbuffer_pullup(a.got, -1), "pingpong", 8) == 0, "bytes");
	side_free(&a);
	side_free(&b);
}

/* FIN goes out only after the last queued byte; reading goes on. */
static void
test_shutdown_after_flush(void **state)
{
	struct side	 a;
	struct peer	 p;
	char		*big, c;
	size_t		 n = 4 * MIB;
	int		 fa, fb;

	side_init(&a);
	tcp_pair(&fa, &fb, 0);
	CHECK(leg_accept(&a.leg, base, fa, &cbs, &a) == 0, "leg_accept");
	big = malloc(n);
	CHECK(big != NULL, "malloc");
	fill(big, n, 11);
	CHECK(evbuffer_add(leg_output(&a.leg), big, n) == 0, "add");
	leg_shutdown(&a.leg);
	CHECK(!a.leg.shut && a.leg.shut_pending,
	    "shutdown with 4 MiB queued did not wait for the flush");
	/* The peer starts reading only now. */
	peer_init(&p, base, fb, 1);
	RUN_UNTIL(p.eof || p.err, "FIN at the peer");
	CHECK(p.err == 0, "peer read error %s", strerror(p.err));
	CHECK(p.got_at_eof == n, "FIN after %zu bytes, want %zu", p.got_at_eof,
	    n);
	CHECK(memcmp(evbuffer_pullup(p.got, -1), big, n) == 0,
	    "peer got other bytes");
	CHECK(a.leg.shut && !a.leg.shut_pending && a.closed == 0,
	    "leg state after the FIN");

	/* Half-close: the leg still reads what the peer sends. */
	CHECK(write(fb, "after", 5) == 5, "write");
	RUN_UNTIL(evbuffer_get_length(a.got) >= 5, "bytes after our FIN");
	CHECK(memcmp(evbuffer_pullup(a.got, -1), "after", 5) == 0, "bytes");
	CHECK(shutdown(fb, SHUT_WR) == 0, "shutdown");
	RUN_UNTIL(a.eofs > 0, "peer FIN at the leg");
	CHECK(a.leg.eof && a.eofs == 1 && a.errors == 0, "eof state");
	/* A second leg_shutdown is a no-op. */
	leg_shutdown(&a.leg);
	CHECK(a.leg.shut && !a.leg.shut_pending, "second shutdown");
	side_free(&a);
	peer_free(&p);

	/* Nothing queued: FIN at once. */
	side_init(&a);
	tcp_pair(&fa, &fb, 0);
	CHECK(leg_accept(&a.leg, base, fa, &cbs, &a) == 0, "leg_accept");
	leg_shutdown(&a.leg);
	CHECK(a.leg.shut && !a.leg.shut_pending, "immediate shutdown");
	wait_readable(fb);
	CHECK(read(fb, &c, 1) == 0, "peer did not see a FIN");
	side_free(&a);
	close(fb);
	free(big);
}

/*
 * Lingering close: the peer keeps sending, yet receives every queued
 * byte and then a FIN (no reset); the leg closes on the peer's FIN.
 */
static void
test_close_lingering(void **state)
{
	struct side	 a;
	struct peer	 p;
	char		*big, junk[65536];
	size_t		 n = 2 * MIB;
	int		 fa, fb, reads, unread;

	side_init(&a);
	tcp_pair(&fa, &fb, 0);
	CHECK(leg_accept(&a.leg, base, fa, &cbs, &a) == 0, "leg_accept");
	peer_init(&p, base, fb, 1);
	p.sending = 1;
	CHECK(event_add(p.wev, NULL) == 0, "event_add");
	/* Some traffic first, read normally. */
	RUN_UNTIL(evbuffer_get_length(a.got) > 0, "peer traffic");
	big = malloc(n);
	CHECK(big != NULL, "malloc");
	fill(big, n, 5);
	CHECK(evbuffer_add(leg_output(&a.leg), big, n) == 0, "add");
	reads = a.reads;
	/* Unread input at close time: what turns a plain close into a reset. */
	CHECK(ioctl(fa, FIONREAD, &unread) == 0 && unread > 0,
	    "no unread input in the leg's socket at close");
	leg_close(&a.leg);
	CHECK(a.leg.closing && a.closed == 0 && a.leg.bev != NULL,
	    "leg_close did not linger");
	RUN_UNTIL(p.eof || p.err, "FIN at the peer");
	CHECK(p.err == 0, "peer got %s instead of the queued bytes and FIN",
	    strerror(p.err));
	CHECK(p.got_at_eof == n, "peer got %zu bytes before FIN, want %zu",
	    p.got_at_eof, n);
	CHECK(memcmp(evbuffer_pullup(p.got, -1), big, n) == 0,
	    "queued bytes corrupted");
	CHECK(a.reads == reads, "closing leg passed input to the session");
	CHECK(a.closed == 0 && a.leg.bev != NULL,
	    "closed before the peer's FIN");
	/*
	 * The peer stops and sends its FIN: the leg reads everything the
	 * peer sent up to it, then finishes.
	 */
	p.sending = 0;
	event_del(p.wev);
	CHECK(shutdown(fb, SHUT_WR) == 0, "shutdown");
	RUN_UNTIL(a.closed > 0, "closed callback");
	CHECK(a.closed == 1 && a.leg.closed && a.leg.bev == NULL,
	    "leg state after close");
	CHECK(a.errors == 0 && a.eofs == 0,
	    "eof/error callbacks during close (%d, %d)", a.eofs, a.errors);
	/* The socket is gone without a reset: a read sees EOF again. */
	CHECK(read(fb, junk, 1) == 0, "peer read after close: %s",
	    strerror(errno));
	/* Calls on a closed leg are no-ops. */
	leg_close(&a.leg);
	leg_abort(&a.leg);
	leg_shutdown(&a.leg);
	CHECK(a.closed == 1 && leg_pending(&a.leg) == 0, "calls after close");
	side_free(&a);
	peer_free(&p);
	free(big);

	/* Nothing queued and the peer already gone: close at once. */
	side_init(&a);
	tcp_pair(&fa, &fb, 0);
	CHECK(leg_accept(&a.leg, base, fa, &cbs, &a) == 0, "leg_accept");
	CHECK(shutdown(fb, SHUT_WR) == 0, "shutdown");
	RUN_UNTIL(a.eofs > 0, "eof");
	leg_close(&a.leg);
	CHECK(a.closed == 1 && a.leg.bev == NULL,
	    "close after EOF with nothing queued did not finish");
	wait_readable(fb);
	CHECK(read(fb, junk, 1) == 0, "no FIN");
	close(fb);
	side_free(&a);
}

/*
 * leg_abort resets the connection and drops what was queued. The socket
 * closes when libevent finalises the bufferevent, on the loop.
 */
static void
test_abort_rst(void **state)
{
	struct side	a;
	struct peer	p;
	int		fa, fb;

	side_init(&a);
	tcp_pair(&fa, &fb, 0);
	CHECK(leg_accept(&a.leg, base, fa, &cbs, &a) == 0, "leg_accept");
	CHECK(evbuffer_add(leg_output(&a.leg), "never sent", 10) == 0, "add");
	leg_abort(&a.leg);
	CHECK(a.closed == 1 && a.leg.closed && a.leg.bev == NULL,
	    "abort did not close (closed cb %d)", a.closed);
	CHECK(leg_pending(&a.leg) == 0, "pending after abort");
	peer_init(&p, base, fb, 1);
	RUN_UNTIL(p.err || p.eof, "reset at the peer");
	CHECK(p.err == ECONNRESET && evbuffer_get_length(p.got) == 0,
	    "peer saw %s after %zu bytes, want ECONNRESET and nothing",
	    p.eof ? "EOF" : strerror(p.err), evbuffer_get_length(p.got));
	peer_free(&p);
	side_free(&a);
}

/* A listening socket on 127.0.0.1 (or ::1) at port, or -1. */
static int
listen_on(int family, unsigned short *port)
{
	struct sockaddr_storage	ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		sl;
	int			fd, on = 1;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin->sin_port = htons(*port);
		sl = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		sin6->sin6_port = htons(*port);
		sl = sizeof(*sin6);
	}
	if ((fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1 || listen(fd, 8) == -1) {
		close(fd);
		return -1;
	}
	sl = sizeof(ss);
	CHECK(getsockname(fd, (struct sockaddr *)&ss, &sl) == 0, "getsockname");
	*port = ntohs(family == AF_INET ? sin->sin_port : sin6->sin6_port);
	return fd;
}

/* A refused connect reports an error with connecting = 1. */
static void
test_connect_refused(void **state)
{
	struct evdns_base	*dns = evdns_base_new(base, 0);
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	struct side		 a;
	int			 fd;

	CHECK(dns != NULL, "evdns_base_new");
	/* Bound but not listening: a connect gets a reset, ECONNREFUSED. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(fd != -1 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &sl) == 0, "bind");
	side_init(&a);
	CHECK(leg_connect(&a.leg, base, dns, "127.0.0.1", ntohs(sin.sin_port),
	    &cbs, &a) == 0, "leg_connect");
	RUN_UNTIL(a.errors > 0, "connect error");
	CHECK(a.errors == 1 && a.connecting == 1, "error %d, connecting %d",
	    a.errors, a.connecting);
	CHECK(strcmp(a.why, strerror(ECONNREFUSED)) == 0, "why '%s'", a.why);
	CHECK(a.connected == 0 && !a.leg.connected && a.leg.closed,
	    "leg state after a refused connect");
	side_free(&a);
	close(fd);
	evdns_base_free(dns, 0);
}

/*
 * Write a hosts file of the test's own (the system's /etc/hosts is
 * outside the repository) into path (a mkstemp template) and load it.
 */
static void
load_hosts(struct evdns_base *dns, char *path, const char *text)
{
	FILE	*f;
	int	 fd;

	fd = mkstemp(path);
	CHECK(fd != -1 && (f = fdopen(fd, "w")) != NULL, "mkstemp");
	fputs(text, f);
	CHECK(fclose(f) == 0, "fclose");
	CHECK(evdns_base_load_hosts(dns, path) == 0, "load %s", path);
	unlink(path);
}

/*
 * Connect by name through evdns: "localhost" from a hosts file, with
 * both address families when there is an IPv6 loopback (whichever it
 * gives first), then a name only the test knows (the system resolver
 * cannot), then a leg_close() issued while still connecting, which
 * closes cleanly after the connect.
 */
static void
test_connect_by_name(void **state)
{
	struct evdns_base	*dns = evdns_base_new(base, 0);
	struct sockaddr_storage	 local, peer;
	socklen_t		 ll, pl;
	struct side		 a;
	unsigned short		 port = 0;
	char			 hosts[64], c;
	int			 l4, l6, fd, cfd;

	CHECK(dns != NULL, "evdns_base_new");
	l4 = listen_on(AF_INET, &port);
	CHECK(l4 != -1, "listen on 127.0.0.1: %s", strerror(errno));
	l6 = listen_on(AF_INET6, &port);	/* same port; may not exist */
	snprintf(hosts, sizeof(hosts), "/tmp/test_leg.hosts.XXXXXX");
	load_hosts(dns, hosts, l6 != -1 ? "127.0.0.1\tlocalhost\n"
	    "::1\tlocalhost\n" : "127.0.0.1\tlocalhost\n");

	side_init(&a);
	CHECK(leg_connect(&a.leg, base, dns, "localhost", port, &cbs, &a) == 0,
	    "leg_connect localhost");
	RUN_UNTIL(a.connected || a.errors, "connect to localhost");
	CHECK(a.connected == 1 && a.errors == 0 && a.leg.connected,
	    "localhost: %s", a.errors ? a.why : "not connected");
	/* Exactly one listener holds it, and it is our connection. */
	fd = accept4(l4, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1 && l6 != -1)
		fd = accept4(l6, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	CHECK(fd != -1, "no listener got the connection");
	ll = sizeof(local);
	pl = sizeof(peer);
	CHECK(getsockname(bufferevent_getfd(a.leg.bev), (struct sockaddr *)
	    &local, &ll) == 0 && getpeername(fd, (struct sockaddr *)&peer,
	    &pl) == 0 && ll == pl && memcmp(&local, &peer, ll) == 0,
	    "accepted connection is not the leg's");
	CHECK(evbuffer_add(leg_output(&a.leg), "hi", 2) == 0, "add");
	RUN_UNTIL(leg_pending(&a.leg) == 0, "flush");
	wait_readable(fd);
	CHECK(read(fd, hosts, 2) == 2 && memcmp(hosts, "hi", 2) == 0, "hi");
	close(fd);
	side_free(&a);

	/* A name from a hosts file of our own. */
	snprintf(hosts, sizeof(hosts), "/tmp/test_leg.hosts.XXXXXX");
	load_hosts(dns, hosts, "127.0.0.1\trabbit.nabproxy-test.invalid\n");
	side_init(&a);
	CHECK(leg_connect(&a.leg, base, dns, "rabbit.nabproxy-test.invalid",
	    port, &cbs, &a) == 0, "leg_connect by test name");
	/* Close before the connect completes: FIN right after it. */
	leg_close(&a.leg);
	CHECK(a.leg.closing && a.closed == 0 && !a.leg.shut,
	    "closing an unconnected leg");
	RUN_UNTIL(a.leg.connected || a.errors || a.closed, "connect");
	CHECK(a.errors == 0 && a.closed == 0 && a.leg.connected,
	    "connect while closing: %s", a.errors ? a.why : "closed");
	cfd = accept4(l4, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	CHECK(cfd != -1, "the test name did not lead to 127.0.0.1: %s",
	    strerror(errno));
	wait_readable(cfd);
	CHECK(read(cfd, &c, 1) == 0, "no FIN after the connect");
	CHECK(a.closed == 0, "closed before the peer's FIN");
	CHECK(shutdown(cfd, SHUT_WR) == 0, "shutdown");
	RUN_UNTIL(a.closed > 0, "closed after the peer's FIN");
	CHECK(a.leg.bev == NULL && a.leg.closed, "closed state");
	close(cfd);
	side_free(&a);

	close(l4);
	if (l6 != -1)
		close(l6);
	evdns_base_free(dns, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_data_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_resume, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_after_flush,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_lingering, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_abort_rst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_connect_by_name, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
