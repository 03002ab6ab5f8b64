/*
 * test_metrics: the /metrics endpoint (proxy/metrics.c): the exposition's
 * exact lines for known counters, loopback-only addresses, and a real
 * HTTP GET on a loopback socket served by the event loop in this process
 * (200 with the text format's content type, 404 on a path nobody serves).
 */
#include "testutil.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "ctlreg.h"
#include "metrics.h"
#include "proxy.h"

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

static char *
render(void)
{
	static char	 buf[16384];
	struct evbuffer	*eb = evbuffer_new();
	size_t		 n;

	CHECK(eb != NULL && metrics_render(&px, eb) == 0, "render");
	n = evbuffer_get_length(eb);
	CHECK(n < sizeof(buf), "too long");
	evbuffer_remove(eb, buf, n);
	buf[n] = '\0';
	evbuffer_free(eb);
	return buf;
}

static void
test_render(void **state)
{
	struct ctlrec	*r;
	char		*m, *line, *save = NULL;
	int		 samples = 0;

	px.nsessions = 1;
	px.n_accepted = 3;
	px.n_refused = 2;
	r = ctlreg_open(px.reg, NULL, 1, "192.0.2.1:1");
	m = render();
	EXPECT(strstr(m, "# HELP nabproxy_connections Rabbit connections "
	    "open.\n# TYPE nabproxy_connections gauge\nnabproxy_connections "
	    "1\n") != NULL, "%s", m);
	EXPECT(strstr(m, "\nnabproxy_connections_accepted_total 3\n") != NULL,
	    "%s", m);
	EXPECT(strstr(m, "\nnabproxy_connections_refused_total 2\n") != NULL,
	    "%s", m);
	EXPECT(strstr(m, "\nnabproxy_stage_reached_total{stage=\"connected\"} "
	    "1\nnabproxy_stage_reached_total{stage=\"stream\"} 0\n") != NULL,
	    "%s", m);
	EXPECT(strstr(m, "\nnabproxy_never_online_total 0\n") != NULL, "%s", m);
	ctlreg_close(r);
	m = render();
	EXPECT(strstr(m, "\nnabproxy_never_online_total 1\n") != NULL, "%s", m);
	/* Every line: a HELP or TYPE comment, or "name{labels} value". */
	for (line = strtok_r(m, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP nabproxy_", 16) == 0 ||
		    strncmp(line, "# TYPE nabproxy_", 16) == 0)
			continue;
		samples++;
		EXPECT(strncmp(line, "nabproxy_", 9) == 0 &&
		    strchr(line, ' ') != NULL &&
		    strspn(strrchr(line, ' ') + 1, "0123456789") ==
		    strlen(strrchr(line, ' ') + 1), "bad sample line: %s", line);
	}
	EXPECT(samples >= 20, "%d samples", samples);
}

static void
test_addresses(void **state)
{
	char		 err[256];
	const char	*bad[] = { "0.0.0.0:9188", "192.0.2.1:80", "[::]:1",
	    "127.0.0.1", "127.0.0.1:x", "127.0.0.1:70000", "host:1", NULL };
	size_t		 i;

	for (i = 0; bad[i] != NULL; i++) {
		assert_null(metrics_new(&px, bad[i], err, sizeof(err)));
		EXPECT(strstr(err, "not a loopback ADDR:PORT") != NULL,
		    "%s: %s", bad[i], err);
	}
}

/* A GET over loopback, served by this process's loop. */
static char *
get(unsigned port, const char *path)
{
	static char		 buf[32768];
	struct sockaddr_in	 sin = { .sin_family = AF_INET };
	size_t			 len = 0;
	ssize_t			 n;
	time_t			 t0 = time(NULL);
	int			 fd;

	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1, "socket");
	CHECK(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0,
	    "connect: %s", strerror(errno));
	snprintf(buf, sizeof(buf), "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
	CHECK(write(fd, buf, strlen(buf)) == (ssize_t)strlen(buf), "write");
	CHECK(fcntl(fd, F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
	for (;;) {
		event_base_loop(px.base, EVLOOP_NONBLOCK);
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n == 0)
			break;
		if (n > 0)
			len += (size_t)n;
		CHECK(n > 0 || errno == EAGAIN, "read: %s", strerror(errno));
		CHECK(time(NULL) - t0 < 10, "no answer");
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

static void
test_http(void **state)
{
	struct metrics	*m;
	char		 err[256], *ans;

	m = metrics_new(&px, "127.0.0.1:0", err, sizeof(err));
	CHECK(m != NULL, "metrics_new: %s", err);
	EXPECT(metrics_port(m) != 0, "port");
	ans = get(metrics_port(m), "/metrics");
	EXPECT(strncmp(ans, "HTTP/1.0 200 OK\r\n", 17) == 0 ||
	    strncmp(ans, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", ans);
	EXPECT(strstr(ans, "Content-Type: text/plain; version=0.0.4; "
	    "charset=utf-8\r\n") != NULL, "%s", ans);
	EXPECT(strstr(ans, "\r\n\r\n# HELP nabproxy_connections ") != NULL,
	    "%s", ans);
	ans = get(metrics_port(m), "/nope");
	EXPECT(strstr(ans, " 404 ") != NULL, "%s", ans);
	metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_render, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addresses, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_http, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
