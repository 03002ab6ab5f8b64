/*
 * test_web: the live page (proxy/web.c) through the real HTTP listener of
 * metrics.c on loopback, served by this process's loop: GET / is the
 * self-contained page, GET /events streams a "rabbits" event at once and
 * a "unit" event per unit of traffic, with ?mac= selecting one rabbit;
 * streams beyond WEB_MAX_CLIENTS get 503; a reader that goes away is
 * forgotten (and freed: ASan checks at exit).
 */
#include "testutil.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <time.h>

#include <event2/event.h>

#include "ctlreg.h"
#include "metrics.h"
#include "proxy.h"
#include "web.h"

static struct proxy	px;

static int
setup(void **state)
{
	memset(&px, 0, sizeof(px));
	CHECK((px.base = event_base_new()) != NULL, "event_base_new");
	CHECK((px.reg = ctlreg_new()) != NULL, "ctlreg_new");
	return 0;
}

static int
teardown(void **state)
{
	ctlreg_free(px.reg);
	event_base_free(px.base);
	return 0;
}

static int
http(unsigned port, const char *path)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	char			req[256];
	int			fd;

	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1, "socket");
	CHECK(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0,
	    "connect: %s", strerror(errno));
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
	CHECK(write(fd, req, strlen(req)) == (ssize_t)strlen(req), "write");
	CHECK(fcntl(fd, F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
	return fd;
}

/* Run the loop and read until want appears in what fd sent (or EOF). */
static char *
until(int fd, const char *want)
{
	static char	buf[131072];
	static int	last = -1;
	static size_t	len;
	ssize_t		n;
	time_t		t0 = time(NULL);

	if (fd != last) {
		len = 0;
		last = fd;
	}
	for (;;) {
		buf[len] = '\0';
		if (want != NULL && strstr(buf, want) != NULL)
			return buf;
		event_base_loop(px.base, EVLOOP_NONBLOCK);
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n == 0)
			return buf;
		if (n > 0)
			len += (size_t)n;
		CHECK(n > 0 || errno == EAGAIN, "read: %s", strerror(errno));
		CHECK(time(NULL) - t0 < 10, "never got '%s'; so far:\n%s",
		    want ? want : "EOF", buf);
	}
}

static void
test_page_and_events(void **state)
{
	struct metrics	*m;
	struct ctlrec	*r;
	char		 err[256], *got;
	int		 fd, ev, one, streams[WEB_MAX_CLIENTS], i;

	CHECK((m = metrics_new(&px, "127.0.0.1:0", err, sizeof(err))) != NULL,
	    "metrics_new: %s", err);
	fd = http(metrics_port(m), "/");
	got = until(fd, "</html>\n");
	EXPECT(strstr(got, "HTTP/1.1 200 OK\r\n") == got, "%.200s", got);
	EXPECT(strstr(got, "Content-Type: text/html; charset=utf-8\r\n") !=
	    NULL, "%.400s", got);
	EXPECT(strstr(got, "new EventSource(\"/events\" + sel)") != NULL,
	    "the page's script");
	close(fd);
	r = ctlreg_open(px.reg, NULL, 4, "192.0.2.4:4");
	ev = http(metrics_port(m), "/events");
	got = until(ev, "\"stage\":\"connected\"");
	EXPECT(strstr(got, "Content-Type: text/event-stream\r\n") != NULL,
	    "%.400s", got);
	EXPECT(strstr(got, "event: rabbits\ndata: [{\"id\":4,\"addr\":"
	    "\"192.0.2.4:4\"") != NULL, "%s", got);
	one = http(metrics_port(m), "/events?id=5");
	until(one, "event: rabbits\n");
	ctlreg_traffic(r, 0, LOGSAFE_VM_SENDING, NULL, "<a>x</a>", 8, -1);
	got = until(ev, "(end)\n\n");
	EXPECT(strstr(got, "event: unit\ndata: 4 SEND:\ndata: 4 \ndata: 4 "
	    "<a>x</a>\ndata: 4 \ndata: 4 [vm] Sending : <a>x</a>(end)\n\n") !=
	    NULL, "%s", got);
	/* Session 5's stream saw nothing of session 4. */
	got = until(one, "event: rabbits\n");
	EXPECT(strstr(got, "event: unit") == NULL, "%s", got);
	/* Two streams are open: six more fit, the next is refused. */
	for (i = 0; i < WEB_MAX_CLIENTS - 2; i++) {
		streams[i] = http(metrics_port(m), "/events");
		until(streams[i], "event: rabbits\n");
	}
	fd = http(metrics_port(m), "/events");
	got = until(fd, NULL);
	EXPECT(strstr(got, " 503 ") != NULL, "%.200s", got);
	close(fd);
	/* Readers that go: forgotten, a new one fits again. */
	close(one);
	for (i = 0; i < WEB_MAX_CLIENTS - 2; i++)
		close(streams[i]);
	ctlreg_traffic(r, 0, LOGSAFE_VM_SENDING, NULL, "<b/>", 4, -1);
	until(ev, "<b/>(end)\n\n");
	fd = http(metrics_port(m), "/events");
	until(fd, "event: rabbits\n");
	ctlreg_close(r);
	metrics_free(m);
	close(fd);
	close(ev);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_page_and_events, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
