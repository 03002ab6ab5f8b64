/*
 * test_leg_send: proxy/leg.c's speculative send on plain legs, over real
 * loopback TCP connections on a libevent loop (test_leg.c has the rest of
 * the leg; this file keeps both under the size limit).
 *
 * Bytes queued on an idle leg leave at the end of the loop turn without
 * EV_WRITE, exactly and in order, and "drained" still comes; a send the
 * socket takes only in part keeps the rest, and bytes queued later, in
 * order behind EV_WRITE, which goes off again once the output is empty;
 * a relay that pauses its reader while the other leg's output is above
 * the high-water mark (the session's backpressure) stays paused while
 * the far peer does not read, and delivers every byte once it does;
 * leg_shutdown() and leg_close() right after queueing (before the
 * flush) still send every byte before the FIN; a send to a reset
 * connection is reported once through the error callback.
 *
 * Waiting is always for an event (RUN_UNTIL with a watchdog that fails
 * the test), never a sleep.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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
#include <event2/event.h>

#include "leg.h"
#include "testutil.h"
#include "rawpeer.h"

#define MIB		(1024 * 1024)
#define SMALLBUF	(64 * 1024)

/* A leg under test, or a relay of two (x's input goes to y's output). */
struct side {
	struct leg	 leg;
	struct leg	*to;		/* relay: where input goes */
	struct side	*from;		/* relay: the side reading for us */
	struct evbuffer	*got;
	int		 drained;
	size_t		 drained_max;
	int		 paused;	/* times the relay paused its reader */
	int		 eofs, errors, closed;
	char		 why[128];	/* of the last error */
};

/* A raw socket peer on the loop. */

static struct event_base *base;

static void
s_read(struct leg *l, void *arg)
{
	struct side	*s = arg;

	if (s->to == NULL) {
		CHECK(evbuffer_add_buffer(s->got, leg_input(l)) == 0, "add");
		return;
	}
	/* As the session does: forward, then pause while the peer is full. */
	CHECK(evbuffer_add_buffer(leg_output(s->to), leg_input(l)) == 0, "add");
	if (leg_pending(s->to) > LEG_HIGH_WATER && !(l->pause &
	    LEG_PAUSE_PEER)) {
		leg_pause(l, LEG_PAUSE_PEER);
		s->paused++;
	}
}

static void
s_drained(struct leg *l, void *arg)
{
	struct side	*s = arg;

	s->drained++;
	if (leg_pending(l) > s->drained_max)
		s->drained_max = leg_pending(l);
	if (s->from != NULL)
		leg_resume(&s->from->leg, LEG_PAUSE_PEER);
}

static void
s_connected(struct leg *l, void *arg)
{
}

static void
s_eof(struct leg *l, void *arg)
{
	((struct side *)arg)->eofs++;
}

static void
s_error(struct leg *l, void *arg, const char *why, int connecting)
{
	struct side	*s = arg;

	s->errors++;
	snprintf(s->why, sizeof(s->why), "%s", why);
}

static void
s_closed(struct leg *l, void *arg)
{
	((struct side *)arg)->closed++;
}

static const struct leg_cbs cbs = {
	s_read, s_drained, s_connected, s_eof, s_error, s_closed
};


static void
side_init(struct side *s)
{
	memset(s, 0, sizeof(*s));
	CHECK((s->got = evbuffer_new()) != NULL, "evbuffer_new");
}

static void
side_free(struct side *s)
{
	leg_free(&s->leg);
	evbuffer_free(s->got);
}

/* Run the loop until cond holds; fail after 30 s. */
#define RUN_UNTIL(cond, ...) TU_RUN_UNTIL(base, cond, __VA_ARGS__)

/* One turn of the loop without waiting. */
static void
turn(void)
{
	CHECK(event_base_loop(base, EVLOOP_NONBLOCK) != -1, "loop");
}

static int
write_on(const struct leg *l)
{
	return (bufferevent_get_enabled(l->bev) & EV_WRITE) != 0;
}

static int
setup(void **state)
{
	signal(SIGPIPE, SIG_IGN);
	CHECK((base = event_base_new()) != NULL, "event_base_new");
	return 0;
}

static int
teardown(void **state)
{
	event_base_free(base);
	base = NULL;
	return 0;
}

/* Small writes: out at the end of the turn, no EV_WRITE, drained once. */
static void
test_send_small(void **state)
{
	struct side	a;
	struct peer	p;
	int		fa, fb;

	side_init(&a);
	tcp_pair(&fa, &fb, 0);
	CHECK(leg_accept(&a.leg, base, fa, &cbs, &a) == 0, "leg_accept");
	peer_init(&p, base, fb, 1);
	CHECK(!write_on(&a.leg), "EV_WRITE on for an idle plain leg");
	CHECK(evbuffer_add(leg_output(&a.leg), "<a/>", 4) == 0, "add");
	CHECK(evbuffer_add(leg_output(&a.leg), "<bb/>", 5) == 0, "add");
	/* Queued, not sent from inside the caller. */
	CHECK(leg_pending(&a.leg) == 9, "pending %zu", leg_pending(&a.leg));
	turn();
	CHECK(leg_pending(&a.leg) == 0, "not sent in one loop turn (%zu)",
	    leg_pending(&a.leg));
	CHECK(!write_on(&a.leg), "EV_WRITE left on after a full send");
	CHECK(a.drained == 1 && a.drained_max == 0, "drained %d times",
	    a.drained);
	RUN_UNTIL(evbuffer_get_length(p.got) >= 9, "9 bytes at the peer");
	CHECK(evbuffer_get_length(p.got) == 9 && memcmp(evbuffer_pullup(p.got,
	    -1), "<a/><bb/>", 9) == 0, "peer got other bytes");
	/* And again: every turn's bytes go out the same way. */
	CHECK(evbuffer_add(leg_output(&a.leg), "<c/>", 4) == 0, "add");
	turn();
	CHECK(leg_pending(&a.leg) == 0 && !write_on(&a.leg) && a.drained == 2,
	    "second send");
	RUN_UNTIL(evbuffer_get_length(p.got) >= 13, "13 bytes at the peer");
	CHECK(memcmp(evbuffer_pullup(p.got, -1), "<a/><bb/><c/>", 13) == 0,
	    "bytes");
	CHECK(a.errors == 0 && a.eofs == 0, "error or eof");
	side_free(&a);
	peer_free(&p);
}

/* The socket takes part: the rest and later bytes follow in order. */
static void
test_send_partial(void **state)
{
	struct side	 a;
	struct peer	 p;
	char		*big;
	size_t		 n = 4 * MIB, i, chunk = 64 * 1024, took;
	int		 fa, fb;

	side_init(&a);
	tcp_pair(&fa, &fb, SMALLBUF);
	CHECK(leg_accept(&a.leg, base, fa, &cbs, &a) == 0, "leg_accept");
	peer_init(&p, base, fb, 0);		/* not reading yet */
	CHECK((big = malloc(n)) != NULL, "malloc");
	fill(big, n, 5);
	for (i = 0; i < n / 2; i += chunk)
		CHECK(evbuffer_add(leg_output(&a.leg), big + i, chunk) == 0,
		    "add");
	turn();
	took = n / 2 - leg_pending(&a.leg);
	CHECK(took > 0 && took < n / 2, "the socket took %zu of %zu", took,
	    n / 2);
	CHECK(write_on(&a.leg), "EV_WRITE off with %zu bytes refused",
	    leg_pending(&a.leg));
	/* Queued behind the refused bytes, not sent ahead of them. */
	for (; i < n; i += chunk)
		CHECK(evbuffer_add(leg_output(&a.leg), big + i, chunk) == 0,
		    "add");
	turn();
	CHECK(event_add(p.rev, NULL) == 0, "event_add");
	RUN_UNTIL(evbuffer_get_length(p.got) >= n, "4 MiB at the peer");
	CHECK(evbuffer_get_length(p.got) == n && memcmp(evbuffer_pullup(p.got,
	    -1), big, n) == 0, "peer got %zu bytes, not the 4 MiB in order",
	    evbuffer_get_length(p.got));
	RUN_UNTIL(!write_on(&a.leg), "EV_WRITE off once empty");
	CHECK(leg_pending(&a.leg) == 0 && a.drained > 0 &&
	    a.drained_max <= LEG_HIGH_WATER / 2, "drained %d, max %zu",
	    a.drained, a.drained_max);
	/* Empty again: the next bytes are speculative once more. */
	CHECK(evbuffer_add(leg_output(&a.leg), "end", 3) == 0, "add");
	turn();
	CHECK(leg_pending(&a.leg) == 0 && !write_on(&a.leg), "after refill");
	RUN_UNTIL(evbuffer_get_length(p.got) >= n + 3, "end");
	CHECK(memcmp((char *)evbuffer_pullup(p.got, -1) + n, "end", 3) == 0,
	    "tail");
	free(big);
	side_free(&a);
	peer_free(&p);
}

/* A relay x -> y pauses x while y's peer does not read, then delivers. */
static void
test_send_backpressure(void **state)
{
	struct side	 x, y;
	struct peer	 px, py;
	const char	*b;
	size_t		 held, i, len;
	int		 fx, fpx, fy, fpy, k;

	side_init(&x);
	side_init(&y);
	tcp_pair(&fx, &fpx, 0);
	tcp_pair(&fy, &fpy, SMALLBUF);
	CHECK(leg_accept(&x.leg, base, fx, &cbs, &x) == 0, "leg_accept x");
	CHECK(leg_accept(&y.leg, base, fy, &cbs, &y) == 0, "leg_accept y");
	x.to = &y.leg;
	y.from = &x;
	peer_init(&px, base, fpx, 0);
	peer_init(&py, base, fpy, 0);		/* y's peer does not read */
	px.sending = 1;
	CHECK(event_add(px.wev, NULL) == 0, "event_add");
	RUN_UNTIL(x.leg.pause & LEG_PAUSE_PEER, "x paused by y's output");
	held = leg_pending(&y.leg);
	CHECK(held > LEG_HIGH_WATER, "paused at %zu bytes", held);
	/* Paused stays paused: nothing more is read or queued. */
	for (k = 0; k < 20; k++)
		turn();
	CHECK((x.leg.pause & LEG_PAUSE_PEER) && leg_pending(&y.leg) == held &&
	    evbuffer_get_length(leg_input(&x.leg)) == 0,
	    "x read on while paused (y holds %zu, was %zu)",
	    leg_pending(&y.leg), held);
	/* The far peer reads: x resumes and every byte arrives. */
	px.sending = 0;
	CHECK(event_add(py.rev, NULL) == 0, "event_add");
	RUN_UNTIL(!px.sending && evbuffer_get_length(py.got) == px.sent &&
	    event_pending(px.wev, EV_WRITE, NULL) == 0,
	    "every byte across the relay");
	len = evbuffer_get_length(py.got);
	b = (const char *)evbuffer_pullup(py.got, -1);
	for (i = 0; i < len && b[i] == 'j'; i++)
		;
	CHECK(i == len && len == px.sent, "relay changed bytes at %zu", i);
	CHECK(x.paused >= 1 && x.leg.pause == 0 && y.drained > 0,
	    "paused %d, mask %#x, drained %d", x.paused, x.leg.pause,
	    y.drained);
	CHECK(x.errors + y.errors + x.eofs + y.eofs == 0, "error or eof");
	side_free(&x);
	side_free(&y);
	peer_free(&px);
	peer_free(&py);
}

/* FIN right after queueing, before the flush ran: bytes first. */
static void
test_send_then_fin(void **state)
{
	struct side	a;
	struct peer	p;
	int		fa, fb;

	side_init(&a);
	tcp_pair(&fa, &fb, 0);
	CHECK(leg_accept(&a.leg, base, fa, &cbs, &a) == 0, "leg_accept");
	peer_init(&p, base, fb, 1);
	CHECK(evbuffer_add(leg_output(&a.leg), "</stream:stream>", 16) == 0,
	    "add");
	leg_shutdown(&a.leg);
	CHECK(a.leg.shut_pending && !a.leg.shut, "FIN before the bytes");
	RUN_UNTIL(p.eof, "FIN at the peer");
	CHECK(p.got_at_eof == 16 && memcmp(evbuffer_pullup(p.got, -1),
	    "</stream:stream>", 16) == 0, "FIN after %zu bytes", p.got_at_eof);
	CHECK(a.leg.shut && !a.leg.shut_pending && a.closed == 0, "state");
	side_free(&a);
	peer_free(&p);

	/* leg_close(): bytes, FIN, and closed once the peer's FIN came. */
	side_init(&a);
	tcp_pair(&fa, &fb, 0);
	CHECK(leg_accept(&a.leg, base, fa, &cbs, &a) == 0, "leg_accept");
	peer_init(&p, base, fb, 1);
	CHECK(evbuffer_add(leg_output(&a.leg), "<error/>", 8) == 0, "add");
	leg_close(&a.leg);
	RUN_UNTIL(p.eof, "FIN at the peer after leg_close");
	CHECK(p.got_at_eof == 8 && memcmp(evbuffer_pullup(p.got, -1),
	    "<error/>", 8) == 0, "FIN after %zu bytes", p.got_at_eof);
	CHECK(a.closed == 0, "closed before the peer's FIN");
	CHECK(shutdown(fb, SHUT_WR) == 0, "shutdown");
	RUN_UNTIL(a.closed, "closed on the peer's FIN");
	CHECK(a.closed == 1 && a.leg.bev == NULL && a.errors == 0, "state");
	side_free(&a);
	peer_free(&p);
}

/* The peer reset the connection: the speculative send reports it once. */
static void
test_send_error(void **state)
{
	struct side	a;
	struct linger	lin = { 1, 0 };
	int		fa, fb, k;

	side_init(&a);
	tcp_pair(&fa, &fb, 0);
	CHECK(leg_accept(&a.leg, base, fa, &cbs, &a) == 0, "leg_accept");
	leg_pause(&a.leg, LEG_PAUSE_LOGIN);	/* only the send sees it */
	CHECK(setsockopt(fb, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin)) == 0,
	    "SO_LINGER");
	close(fb);		/* the reset reaches fa at once on loopback */
	CHECK(evbuffer_add(leg_output(&a.leg), "<a/>", 4) == 0, "add");
	turn();
	CHECK(a.errors == 1 && a.leg.closed && (strstr(a.why, "reset") ||
	    strstr(a.why, "pipe")), "errors %d (%s)", a.errors, a.why);
	CHECK(evbuffer_add(leg_output(&a.leg), "<b/>", 4) == 0, "add");
	for (k = 0; k < 3; k++)
		turn();
	CHECK(a.errors == 1 && a.eofs == 0 && a.drained == 0,
	    "after the error: errors %d, eofs %d, drained %d", a.errors,
	    a.eofs, a.drained);
	side_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_send_small, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_send_partial, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_send_backpressure, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_send_then_fin, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_send_error, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
