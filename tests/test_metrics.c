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
#include "counters.h"
#include "metrics.h"
#include "xmlstream.h"
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

/* The event counters (counters.c): exact lines, names escaped. */
static void
test_counters(void **state)
{
	uint64_t	*f;
	char		*m;
	int		 i;

	f = counters_filter(&px.cnt, "auth");
	(*f) += 3;
	EXPECT(counters_filter(&px.cnt, "auth") == f, "same slot");
	(*counters_filter(&px.cnt, "we\"ird\\")) += 1;
	counters_auth(&px.cnt, CNT_RABBIT, "digest-md5", "bootcode", 1);
	counters_auth(&px.cnt, CNT_RABBIT, "DIGEST-MD5", "bootcode", 0);
	counters_auth(&px.cnt, CNT_RABBIT, "X-NEW", "", 0);
	counters_auth(&px.cnt, CNT_NABPROXY, "SCRAM-SHA-1", NULL, 1);
	px.cnt.upstream_connect_failed = 4;
	px.cnt.upstream_tls_failed = 5;
	px.cnt.parse_errors[1][XS_ERR_NOT_WELL_FORMED] = 6;
	px.cnt.probe_backoffs = 7;
	m = render();
	EXPECT(strstr(m, "# TYPE nabproxy_filter_repairs_total counter\n"
	    "nabproxy_filter_repairs_total{filter=\"auth\"} 3\n"
	    "nabproxy_filter_repairs_total{filter=\"we\\\"ird\\\\\"} 1\n#")
	    != NULL, "%s", m);
	EXPECT(strstr(m, "\nnabproxy_auth_total{side=\"rabbit\",mechanism="
	    "\"DIGEST-MD5\",outcome=\"success\"} 1\nnabproxy_auth_total{side="
	    "\"rabbit\",mechanism=\"DIGEST-MD5\",outcome=\"failure\"} 1\n")
	    != NULL, "%s", m);
	EXPECT(strstr(m, "\nnabproxy_auth_total{side=\"rabbit\",mechanism="
	    "\"other\",outcome=\"failure\"} 1\n") != NULL, "%s", m);
	EXPECT(strstr(m, "\nnabproxy_auth_total{side=\"nabproxy\",mechanism="
	    "\"SCRAM-SHA-1\",outcome=\"success\"} 1\n") != NULL, "%s", m);
	EXPECT(strstr(m, "\nnabproxy_auth_profile_total{profile=\"bootcode\","
	    "outcome=\"success\"} 1\nnabproxy_auth_profile_total{profile="
	    "\"bootcode\",outcome=\"failure\"} 1\nnabproxy_auth_profile_total"
	    "{profile=\"_none\",outcome=\"success\"} 0\n") != NULL, "%s", m);
	EXPECT(strstr(m, "\nnabproxy_upstream_connect_failures_total 4\n")
	    != NULL, "%s", m);
	EXPECT(strstr(m, "\nnabproxy_upstream_tls_failures_total 5\n")
	    != NULL, "%s", m);
	EXPECT(strstr(m, "\nnabproxy_parser_errors_total{direction=\"from_"
	    "server\",class=\"not-well-formed\"} 6\n") != NULL, "%s", m);
	EXPECT(strstr(m, "\nnabproxy_login_probe_backoffs_total 7\n") != NULL,
	    "%s", m);
	EXPECT(strstr(m, "\nnabproxy_log_lines_dropped_total{log=\"rabbit\"} "
	    "0\n") != NULL, "%s", m);
	/* Names beyond the table count together, under "_other". */
	for (i = 0; i < COUNTERS_NAMES + 5; i++) {
		char	name[16];

		snprintf(name, sizeof(name), "f%d", i);
		(*counters_filter(&px.cnt, name))++;
	}
	m = render();
	EXPECT(strstr(m, "\nnabproxy_filter_repairs_total{filter=\"_other\"} "
	    "7\n") != NULL, "%s", m);
	memset(&px.cnt, 0, sizeof(px.cnt));
}

static void
test_addresses(void **state)
{
	char		 err[512];
	const char	*far[] = { "0.0.0.0:9188", "192.0.2.1:80", "[::]:1",
	    NULL };
	const char	*bad[] = { "127.0.0.1", "127.0.0.1:x", "127.0.0.1:70000",
	    "host:1", ":1", NULL };
	size_t		 i;

	/* Not loopback: refused without a token, accepted with one. */
	for (i = 0; far[i] != NULL; i++) {
		assert_null(metrics_new(&px, far[i], err, sizeof(err)));
		EXPECT(strstr(err, "not a loopback ADDR:PORT") != NULL &&
		    strstr(err, "no http-token or http-token-file") != NULL,
		    "%s: %s", far[i], err);
		EXPECT(metrics_check(far[i], 1, err, sizeof(err)) == 0,
		    "%s: %s", far[i], err);
	}
	for (i = 0; bad[i] != NULL; i++) {
		assert_null(metrics_new_token(&px, bad[i], "0123456789abcdef",
		    err, sizeof(err)));
		EXPECT(strstr(err, "not an ADDR:PORT") != NULL, "%s: %s",
		    bad[i], err);
	}
	/* A token too short to be one is refused before listening. */
	assert_null(metrics_new_token(&px, "0.0.0.0:0", "short", err,
	    sizeof(err)));
	EXPECT(strstr(err, "needs 16 to 256") != NULL, "%s", err);
}

/* A GET over loopback, served by this process's loop. */
static char *
get_auth(unsigned port, const char *path, const char *auth)
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
	snprintf(buf, sizeof(buf), "GET %s HTTP/1.0\r\nHost: x\r\n%s%s%s\r\n",
	    path, auth ? "Authorization: " : "", auth ? auth : "",
	    auth ? "\r\n" : "");
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

static char *
get(unsigned port, const char *path)
{
	return get_auth(port, path, NULL);
}

/* Status code of an answer ("HTTP/1.x NNN ..."). */
static int
status(const char *ans)
{
	return strncmp(ans, "HTTP/1.", 7) == 0 ? atoi(ans + 9) : -1;
}

/*
 * With a token, every path wants it: 401 with both challenges without it
 * or with a wrong one (bearer or basic), 200 with it either way; the 404
 * of an unknown path only once authorised.
 */
static void
test_token(void **state)
{
	/* "u:" + the token, and "u:" + a wrong one, in base64. */
	const char	*tok = "s3cret-token-0123456789";
	const char	*basic_ok = "Basic dTpzM2NyZXQtdG9rZW4tMDEyMzQ1Njc4OQ==";
	const char	*basic_bad = "Basic dTpzM2NyZXQtdG9rZW4tMDEyMzQ1Njc4OA==";
	const char	*paths[] = { "/metrics", "/", "/nope", NULL };
	struct metrics	*m;
	char		 err[512], *ans;
	unsigned	 port;
	size_t		 i;

	m = metrics_new_token(&px, "127.0.0.1:0", tok, err, sizeof(err));
	CHECK(m != NULL, "metrics_new_token: %s", err);
	port = metrics_port(m);
	for (i = 0; paths[i] != NULL; i++) {
		ans = get(port, paths[i]);
		EXPECT(status(ans) == 401, "%s: %s", paths[i], ans);
		EXPECT(strstr(ans, "WWW-Authenticate: Basic realm=\"nabproxy\""
		    ", charset=\"UTF-8\"\r\n") != NULL &&
		    strstr(ans, "WWW-Authenticate: Bearer realm=\"nabproxy\""
		    "\r\n") != NULL, "%s", ans);
		EXPECT(strstr(ans, "nabproxy_") == NULL, "%s", ans);
		ans = get_auth(port, paths[i], "Bearer s3cret-token-012345678");
		EXPECT(status(ans) == 401, "%s: %s", paths[i], ans);
		ans = get_auth(port, paths[i], "Bearer s3cret-token-01234567890");
		EXPECT(status(ans) == 401, "%s: %s", paths[i], ans);
		ans = get_auth(port, paths[i], basic_bad);
		EXPECT(status(ans) == 401, "%s: %s", paths[i], ans);
		ans = get_auth(port, paths[i], "Basic !!!");
		EXPECT(status(ans) == 401, "%s: %s", paths[i], ans);
		ans = get_auth(port, paths[i], "s3cret-token-0123456789");
		EXPECT(status(ans) == 401, "%s: %s", paths[i], ans);
		ans = get_auth(port, paths[i], "Bearer s3cret-token-0123456789");
		EXPECT(status(ans) == (i == 2 ? 404 : 200), "%s: %s",
		    paths[i], ans);
		ans = get_auth(port, paths[i], basic_ok);
		EXPECT(status(ans) == (i == 2 ? 404 : 200), "%s: %s",
		    paths[i], ans);
	}
	ans = get_auth(port, "/metrics", "bearer  s3cret-token-0123456789");
	EXPECT(status(ans) == 200 && strstr(ans, "\r\n\r\n# HELP "
	    "nabproxy_connections ") != NULL, "%s", ans);
	metrics_free(m);
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
		cmocka_unit_test_setup_teardown(test_counters, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_addresses, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_http, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
