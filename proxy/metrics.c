/*
 * metrics: the /metrics endpoint. It owns the HTTP listener and renders
 * the counters of the proxy, the log and the control socket's registry
 * (ctlreg_counts) as Prometheus text: every family has its HELP and TYPE
 * lines first, counters end in _total, label values are fixed words.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "ctl.h"
#include "ctlreg.h"
#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "rabbitlog.h"
#include "web.h"
#include "webauth.h"

struct metrics {
	struct proxy			*px;
	struct evhttp			*http;
	struct evhttp_bound_socket	*sock;
	struct web			*web;		/* the page, /events */
	unsigned			 port;
	int				 token;		/* requests need it */
	unsigned char			 digest[WEBAUTH_DIGEST];
};

static void	metrics_cb(struct evhttp_request *, void *);
static int	metrics_addr(const char *, char *, size_t, unsigned *, int *);
static int	metrics_auth(struct metrics *, struct evhttp_request *);

/*
 * Split host:port into host (an IP address or "localhost") and port. 0
 * (*loopback says whether it is), or -1.
 */
static int
metrics_addr(const char *addr, char *host, size_t hlen, unsigned *port,
    int *loopback)
{
	const char	*colon = strrchr(addr, ':'), *h = addr;
	size_t		 n;
	char		*end;
	unsigned long	 p;
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (colon == NULL)
		return -1;
	n = (size_t)(colon - addr);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n == 0 || n >= hlen)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	p = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || p > 65535)
		return -1;
	*port = (unsigned)p;
	*loopback = 1;
	if (strcmp(host, "localhost") == 0) {
		snprintf(host, hlen, "127.0.0.1");
		return 0;
	}
	if (inet_pton(AF_INET, host, &a4) == 1) {
		*loopback = (ntohl(a4.s_addr) >> 24) == 127;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		*loopback = IN6_IS_ADDR_LOOPBACK(&a6);
		return 0;
	}
	return -1;
}

int
metrics_check(const char *addr, int have_token, char *err, size_t errlen)
{
	char		host[64];
	unsigned	port;
	int		loopback;

	if (metrics_addr(addr, host, sizeof(host), &port, &loopback) == -1) {
		snprintf(err, errlen, "http-listen %s: not an ADDR:PORT (an IP "
		    "address or localhost, then a port)", addr);
		return -1;
	}
	if (loopback || have_token)
		return 0;
	snprintf(err, errlen, "http-listen %s: not a loopback ADDR:PORT "
	    "(127.0.0.1:PORT, [::1]:PORT or localhost:PORT), and no "
	    "http-token or http-token-file is set: the page and /metrics "
	    "need a token anywhere else", addr);
	return -1;
}

struct metrics *
metrics_new(struct proxy *px, const char *addr, char *err, size_t errlen)
{
	return metrics_new_token(px, addr, NULL, err, errlen);
}

struct metrics *
metrics_new_token(struct proxy *px, const char *addr, const char *token,
    char *err, size_t errlen)
{
	struct metrics		*m;
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	char			 host[64];
	unsigned		 port;
	int			 loopback, tok = token != NULL && *token;

	if (metrics_check(addr, tok, err, errlen) == -1 ||
	    metrics_addr(addr, host, sizeof(host), &port, &loopback) == -1 ||
	    (tok && webauth_token_check(token, err, errlen) == -1))
		return NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->http = evhttp_new(px->base)) == NULL) {
		free(m);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->px = px;
	if (tok) {
		webauth_digest(token, m->digest);
		m->token = 1;
	}
	if ((m->web = web_new(px, m->http)) == NULL) {
		evhttp_free(m->http);
		free(m);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	evhttp_set_timeout(m->http, 10);
	evhttp_set_max_headers_size(m->http, 8192);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(m->http, metrics_cb, m);
	if ((m->sock = evhttp_bind_socket_with_handle(m->http, host,
	    (ev_uint16_t)port)) == NULL) {
		snprintf(err, errlen, "http-listen %s: cannot listen there",
		    addr);
		metrics_free(m);
		return NULL;
	}
	if (getsockname(evhttp_bound_socket_get_fd(m->sock),
	    (struct sockaddr *)&ss, &sl) == 0)
		m->port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	web_free(m->web);
	evhttp_free(m->http);
	free(m);
}

unsigned
metrics_port(const struct metrics *m)
{
	return m->port;
}

#define FAMILY(out, name, type, help) \
	evbuffer_add_printf(out, "# HELP nabproxy_" name " " help "\n" \
	    "# TYPE nabproxy_" name " " type "\n")

int
metrics_render(struct proxy *px, struct evbuffer *out)
{
	static const char *const dir[] = { "from_rabbit", "from_server" };
	struct ctlreg_counts	 c;
	int			 rc = 0, i;

	ctlreg_counts(px->reg, &c);
	rc |= FAMILY(out, "connections", "gauge", "Rabbit connections open.");
	rc |= evbuffer_add_printf(out, "nabproxy_connections %u\n",
	    px->nsessions);
	rc |= FAMILY(out, "connections_accepted_total", "counter",
	    "Rabbit connections accepted.");
	rc |= evbuffer_add_printf(out, "nabproxy_connections_accepted_total "
	    "%llu\n", (unsigned long long)px->n_accepted);
	rc |= FAMILY(out, "connections_refused_total", "counter",
	    "Rabbit connections refused at accept (limits).");
	rc |= evbuffer_add_printf(out, "nabproxy_connections_refused_total "
	    "%llu\n", (unsigned long long)px->n_refused);
	rc |= FAMILY(out, "units_total", "counter",
	    "Stream units parsed (headers, stanzas, whitespace), by direction.");
	for (i = 0; i < 2; i++)
		rc |= evbuffer_add_printf(out, "nabproxy_units_total{direction="
		    "\"%s\"} %llu\n", dir[i], c.units[i]);
	rc |= FAMILY(out, "stanzas_total", "counter",
	    "Stanzas parsed, by direction.");
	for (i = 0; i < 2; i++)
		rc |= evbuffer_add_printf(out, "nabproxy_stanzas_total{direction="
		    "\"%s\"} %llu\n", dir[i], c.stanzas[i]);
	rc |= FAMILY(out, "stanzas_scanned_total", "counter",
	    "Of those, stanzas framed by the byte scan, without a tree "
	    "(plain, and nothing needed the tree), by direction.");
	for (i = 0; i < 2; i++)
		rc |= evbuffer_add_printf(out, "nabproxy_stanzas_scanned_total{"
		    "direction=\"%s\"} %llu\n", dir[i], c.scanned[i]);
	rc |= FAMILY(out, "bytes_total", "counter",
	    "Bytes of parsed units, by direction.");
	for (i = 0; i < 2; i++)
		rc |= evbuffer_add_printf(out, "nabproxy_bytes_total{direction="
		    "\"%s\"} %llu\n", dir[i], c.bytes[i]);
	rc |= FAMILY(out, "stage_reached_total", "counter",
	    "Sessions that reached each boot stage.");
	for (i = 0; i <= CTL_IDLE; i++)
		rc |= evbuffer_add_printf(out, "nabproxy_stage_reached_total"
		    "{stage=\"%s\"} %llu\n", ctlreg_stage_name(i),
		    c.reached[i]);
	rc |= FAMILY(out, "never_online_total", "counter",
	    "Sessions that ended without getting online.");
	rc |= evbuffer_add_printf(out, "nabproxy_never_online_total %llu\n",
	    c.never_online);
	rc |= FAMILY(out, "server_errors_total", "counter",
	    "Errors the rabbits got, by kind.");
	rc |= evbuffer_add_printf(out, "nabproxy_server_errors_total{kind="
	    "\"auth\"} %llu\nnabproxy_server_errors_total{kind=\"iq\"} %llu\n"
	    "nabproxy_server_errors_total{kind=\"stream\"} %llu\n",
	    c.auth_failed, c.refused, c.stream_errors);
	rc |= FAMILY(out, "sessions_closed_total", "counter",
	    "Sessions ended, by the stream error the rabbit got (none: a "
	    "plain close).");
	for (i = 0; i < CTLREG_NCONDS; i++)
		if (i == 0 || c.closed[i] > 0)
			rc |= evbuffer_add_printf(out, "nabproxy_sessions_closed_"
			    "total{condition=\"%s\"} %llu\n", ctlreg_cond_name(i),
			    c.closed[i]);
	rc |= FAMILY(out, "kicked_total", "counter",
	    "Sessions ended with ctl kick.");
	rc |= evbuffer_add_printf(out, "nabproxy_kicked_total %llu\n",
	    c.kicked);
	rc |= FAMILY(out, "log_lines_dropped_total", "counter",
	    "Log lines dropped because a log writer was behind, by log (the "
	    "daemon's log-file, the per-rabbit files of log-dir).");
	rc |= evbuffer_add_printf(out, "nabproxy_log_lines_dropped_total"
	    "{log=\"daemon\"} %zu\nnabproxy_log_lines_dropped_total"
	    "{log=\"rabbit\"} %llu\n", log_dropped(), rabbitlog_dropped());
	rc |= FAMILY(out, "login_probes", "gauge",
	    "Login probe connections open.");
	rc |= evbuffer_add_printf(out, "nabproxy_login_probes %u\n",
	    px->nprobes);
	if (rc >= 0)
		rc = counters_render(&px->cnt, out);
	return rc < 0 ? -1 : 0;
}

/*
 * With a token, a request without it gets 401 and a challenge for both
 * schemes (basic first, for browsers). 0: go on; -1: answered.
 */
static int
metrics_auth(struct metrics *m, struct evhttp_request *req)
{
	struct evkeyvalq	*h;
	struct evbuffer		*body;

	if (!m->token || webauth_check(m->digest, evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Authorization")))
		return 0;
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "WWW-Authenticate",
	    "Basic realm=\"nabproxy\", charset=\"UTF-8\"");
	evhttp_add_header(h, "WWW-Authenticate", "Bearer realm=\"nabproxy\"");
	evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
	if ((body = evbuffer_new()) != NULL)
		evbuffer_add_printf(body, "401: this nabproxy wants its "
		    "http-token (Authorization: Bearer, or basic auth with "
		    "the token as the password)\n");
	evhttp_send_reply(req, 401, "Unauthorized", body);
	if (body != NULL)
		evbuffer_free(body);
	return -1;
}

static void
metrics_cb(struct evhttp_request *req, void *arg)
{
	struct metrics	*m = arg;
	struct evbuffer	*out;
	const char	*uri = evhttp_request_get_uri(req);

	if (metrics_auth(m, req) == -1)
		return;
	if (uri == NULL || (strcmp(uri, "/metrics") != 0 &&
	    strncmp(uri, "/metrics?", 9) != 0)) {
		if (web_handle(m->web, req) == -1)
			evhttp_send_error(req, HTTP_NOTFOUND, "not here: /, "
			    "/events and /metrics are");
		return;
	}
	if ((out = evbuffer_new()) == NULL ||
	    metrics_render(m->px, out) == -1) {
		if (out != NULL)
			evbuffer_free(out);
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", out);
	evbuffer_free(out);
}
