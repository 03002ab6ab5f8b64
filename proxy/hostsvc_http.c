/*
 * hostsvc_http: one HTTP/1.1 POST for a filter (ABI 1.4, events), on the
 * daemon's loop: libevent's evhttp client over a plain or an OpenSSL
 * bufferevent (https: peer verification against ca_file or the system
 * store, and the URL's host name checked with SSL_set1_host, sent as
 * SNI; an address is checked against the certificate's IP names). Names are resolved by the daemon's evdns base. A timer bounds the
 * whole exchange. The callback runs on a later turn of the loop, after
 * the connection is freed, so it may post again or cancel nothing.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "hostsvc.h"
#include "tls.h"
#include "tls_pin.h"

struct nab_http {
	struct evhttp_connection *conn;
	struct evhttp_request	*req;		/* until done */
	struct event		*tmo;
	struct event		*fin;		/* delivers cb */
	SSL_CTX			*ctx;
	nab_http_cb		*cb;
	void			*arg;
	int			 status;
	const char		*why;
};

static void
http_free(struct nab_http *h)
{
	if (h->req != NULL)
		evhttp_cancel_request(h->req);
	if (h->conn != NULL)
		evhttp_connection_free(h->conn);
	if (h->tmo != NULL)
		event_free(h->tmo);
	if (h->fin != NULL)
		event_free(h->fin);
	SSL_CTX_free(h->ctx);
	free(h);
}

static void
http_fin(evutil_socket_t fd, short what, void *arg)
{
	struct nab_http	*h = arg;
	nab_http_cb	*cb = h->cb;
	void		*cbarg = h->arg;
	int		 status = h->status;
	const char	*why = h->why;

	(void)fd;
	(void)what;
	http_free(h);
	cb(status, why, cbarg);
}

/* Finish once: the request is over (answered, failed or timed out). */
static void
http_finish(struct nab_http *h, int status, const char *why)
{
	if (event_pending(h->fin, EV_TIMEOUT, NULL) || h->status != 0 ||
	    h->why != NULL)
		return;
	h->status = status;
	h->why = status == 0 ? why : NULL;
	event_del(h->tmo);
	event_active(h->fin, EV_TIMEOUT, 0);
}

static void
http_done(struct evhttp_request *req, void *arg)
{
	struct nab_http	*h = arg;
	int		 code = req != NULL ?
			    evhttp_request_get_response_code(req) : 0;

	h->req = NULL;		/* evhttp frees it after this callback */
	http_finish(h, code, "no answer (refused, reset or TLS failure)");
}

static void
http_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct nab_http	*h = arg;

	(void)fd;
	(void)what;
	if (h->req != NULL)
		evhttp_cancel_request(h->req);
	h->req = NULL;
	http_finish(h, 0, "timed out");
}

/* An IPv4 or IPv6 address (checked against the certificate's IP names). */
static int
numeric(const char *host)
{
	unsigned char	a[16];

	return evutil_inet_pton(AF_INET, host, a) == 1 ||
	    evutil_inet_pton(AF_INET6, host, a) == 1;
}

/* The bufferevent for the URL's scheme; NULL with *why. */
static struct bufferevent *
http_bev(struct nab_http *h, int https, const char *host, const char *ca,
    const char **why)
{
	struct event_base	*base = hostsvc_base();
	struct bufferevent	*bev;
	SSL			*ssl;
	char			 err[256];

	if (!https)
		return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if ((h->ctx = tls_client_ctx(ca, TLS_VERIFY_CHAIN, err,
	    sizeof(err))) == NULL) {
		*why = "cannot set up TLS (CA file?)";
		return NULL;
	}
	if ((ssl = SSL_new(h->ctx)) == NULL || (numeric(host) ?
	    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1 :
	    SSL_set_tlsext_host_name(ssl, host) != 1 ||
	    SSL_set1_host(ssl, host) != 1)) {
		SSL_free(ssl);
		*why = "cannot set up TLS";
		return NULL;
	}
	if ((bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		SSL_free(ssl);
		*why = "cannot set up TLS";
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* Build the request on h->conn; -1 on ENOMEM. */
static int
http_request(struct nab_http *h, const struct evhttp_uri *u,
    const char *host, const char *ctype, const char *body, size_t len)
{
	struct evkeyvalq	*hd;
	const char		*path = evhttp_uri_get_path(u);
	const char		*query = evhttp_uri_get_query(u);
	char			 target[2048], clen[32], hostport[300];

	snprintf(target, sizeof(target), "%s%s%s", path && *path ? path :
	    "/", query ? "?" : "", query ? query : "");
	snprintf(clen, sizeof(clen), "%zu", len);
	if (evhttp_uri_get_port(u) != -1)
		snprintf(hostport, sizeof(hostport), "%s:%d", host,
		    evhttp_uri_get_port(u));
	else
		snprintf(hostport, sizeof(hostport), "%s", host);
	if ((h->req = evhttp_request_new(http_done, h)) == NULL)
		return -1;
	hd = evhttp_request_get_output_headers(h->req);
	if (evhttp_add_header(hd, "Host", hostport) == -1 ||
	    evhttp_add_header(hd, "Content-Type", ctype) == -1 ||
	    evhttp_add_header(hd, "Content-Length", clen) == -1 ||
	    evhttp_add_header(hd, "Connection", "close") == -1 ||
	    evhttp_add_header(hd, "User-Agent", "nabproxy") == -1 ||
	    evbuffer_add(evhttp_request_get_output_buffer(h->req), body,
	    len) == -1) {
		evhttp_request_free(h->req);
		h->req = NULL;
		return -1;
	}
	if (evhttp_make_request(h->conn, h->req, EVHTTP_REQ_POST,
	    target) == -1) {
		h->req = NULL;		/* freed by evhttp on failure */
		return -1;
	}
	return 0;
}

struct nab_http *
hostsvc_http_post(const char *url, const char *ctype, const char *body,
    size_t len, unsigned timeout_ms, const char *ca, nab_http_cb *cb,
    void *arg, const char **why)
{
	struct evhttp_uri	*u = NULL;
	struct nab_http		*h = NULL;
	struct bufferevent	*bev;
	struct timeval		 tv = { timeout_ms / 1000,
				    (timeout_ms % 1000) * 1000 };
	const char		*scheme, *host, *dummy;
	int			 https, port;

	if (why == NULL)
		why = &dummy;
	*why = "out of memory";
	if (hostsvc_base() == NULL) {
		*why = "no event loop";
		return NULL;
	}
	if ((u = evhttp_uri_parse(url)) == NULL ||
	    (scheme = evhttp_uri_get_scheme(u)) == NULL ||
	    (host = evhttp_uri_get_host(u)) == NULL || *host == '\0' ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) ||
	    evhttp_uri_get_userinfo(u) != NULL) {
		*why = "not an http:// or https:// URL";
		goto fail;
	}
	https = strcmp(scheme, "https") == 0;
	if ((port = evhttp_uri_get_port(u)) == -1)
		port = https ? 443 : 80;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		goto fail;
	h->cb = cb;
	h->arg = arg;
	if ((h->tmo = evtimer_new(hostsvc_base(), http_timeout, h)) == NULL ||
	    (h->fin = event_new(hostsvc_base(), -1, 0, http_fin, h)) == NULL)
		goto fail;
	if ((bev = http_bev(h, https, host, ca, why)) == NULL)
		goto fail;
	if ((h->conn = evhttp_connection_base_bufferevent_new(hostsvc_base(),
	    hostsvc_dns(), bev, host, (unsigned short)port)) == NULL) {
		bufferevent_free(bev);
		goto fail;
	}
	evhttp_connection_set_retries(h->conn, 0);
	evhttp_connection_set_timeout(h->conn, (int)(timeout_ms / 1000) + 1);
	if (http_request(h, u, host, ctype, body, len) == -1)
		goto fail;
	evtimer_add(h->tmo, &tv);
	evhttp_uri_free(u);
	return h;
 fail:
	if (h != NULL)
		http_free(h);
	if (u != NULL)
		evhttp_uri_free(u);
	return NULL;
}

void
hostsvc_http_cancel(struct nab_http *h)
{
	if (h != NULL)
		http_free(h);
}
