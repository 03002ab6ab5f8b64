/*
 * web: the page and its event stream (see web.h). It owns the streams'
 * taps and the one-second timer that pushes the list of rabbits; the
 * registry owns what is shown. Everything sent is already escaped (tap
 * lines) or JSON (the list); the page inserts it as text, never as HTML.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "ctlreg.h"
#include "proxy.h"
#include "web.h"

struct web_client {
	TAILQ_ENTRY(web_client)	 entry;
	struct web		*web;
	struct evhttp_request	*req;
	struct ctltap		*tap;
	unsigned long long	 lost;
};
TAILQ_HEAD(web_clients, web_client);

struct web {
	struct proxy		*px;
	struct evhttp		*http;
	struct event		*tick;
	struct web_clients	 clients;
	unsigned		 nclients;
};

static void	web_tick(evutil_socket_t, short, void *);
static void	web_closed(struct evhttp_connection *, void *);
static void	web_drop(struct web_client *);
static void	web_sink(void *, const char *, size_t);
static int	web_rabbits(struct web *, struct evbuffer *);
static void	web_events(struct web *, struct evhttp_request *);
static size_t	web_pending(struct web_client *);

static const char page[] =
#include "web_page.inc"
;

struct web *
web_new(struct proxy *px, struct evhttp *http)
{
	struct web	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->px = px;
	w->http = http;
	TAILQ_INIT(&w->clients);
	if ((w->tick = event_new(px->base, -1, EV_PERSIST, web_tick, w)) ==
	    NULL) {
		free(w);
		return NULL;
	}
	return w;
}

void
web_free(struct web *w)
{
	struct web_client	*c;

	if (w == NULL)
		return;
	/* A stream never ends by itself: cut it, request and all. */
	while ((c = TAILQ_FIRST(&w->clients)) != NULL) {
		struct evhttp_connection *evcon =
		    evhttp_request_get_connection(c->req);

		evhttp_connection_set_closecb(evcon, NULL, NULL);
		web_drop(c);
		evhttp_connection_free(evcon);
	}
	event_free(w->tick);
	free(w);
}

static void
web_drop(struct web_client *c)
{
	struct web	*w = c->web;

	ctlreg_untap(w->px->reg, c->tap);
	TAILQ_REMOVE(&w->clients, c, entry);
	w->nclients--;
	if (w->nclients == 0)
		event_del(w->tick);
	free(c);
}

/*
 * The reader went away. libevent detached the unfinished request from its
 * connection and leaves it to us: ending a detached reply frees it.
 */
static void
web_closed(struct evhttp_connection *evcon, void *arg)
{
	struct web_client	*c = arg;
	struct evhttp_request	*req = c->req;

	web_drop(c);
	if (evhttp_request_get_connection(req) == NULL)
		evhttp_send_reply_end(req);
}

/* Bytes queued toward this client and not yet written. */
static size_t
web_pending(struct web_client *c)
{
	struct bufferevent	*bev = evhttp_connection_get_bufferevent(
	    evhttp_request_get_connection(c->req));

	return bev != NULL ? evbuffer_get_length(bufferevent_get_output(bev)) :
	    0;
}

/* The live rabbits as one "rabbits" event. 0, or -1. */
static int
web_rabbits(struct web *w, struct evbuffer *out)
{
	struct evbuffer	*list;
	char		*p;
	size_t		 n, i;
	int		 rc = -1;

	if ((list = evbuffer_new()) == NULL)
		return -1;
	if (ctlreg_list(w->px->reg, list, 1) == 0 &&
	    (n = evbuffer_get_length(list)) < 1024 * 1024) {
		p = (char *)evbuffer_pullup(list, -1);
		/* One object per line: a JSON array on one data line. */
		for (i = 0; i + 1 < n; i++)
			if (p[i] == '\n')
				p[i] = ',';
		rc = evbuffer_add_printf(out, "event: rabbits\ndata: [%.*s]\n\n",
		    (int)(n > 0 ? n - 1 : 0), n > 0 ? p : "") == -1 ? -1 : 0;
	}
	evbuffer_free(list);
	return rc;
}

static void
web_tick(evutil_socket_t fd, short what, void *arg)
{
	struct web		*w = arg;
	struct web_client	*c;
	struct evbuffer		*ev;

	TAILQ_FOREACH(c, &w->clients, entry) {
		if (web_pending(c) > WEB_CLIENT_BUF ||
		    (ev = evbuffer_new()) == NULL)
			continue;
		if (c->lost > 0 && web_pending(c) == 0) {
			evbuffer_add_printf(ev, "event: lost\ndata: %llu\n\n",
			    c->lost);
			c->lost = 0;
		}
		if (web_rabbits(w, ev) == 0)
			evhttp_send_reply_chunk(c->req, ev);
		evbuffer_free(ev);
	}
}

/* Tap lines of one unit: one "unit" event, or lost and counted. */
static void
web_sink(void *arg, const char *lines, size_t len)
{
	struct web_client	*c = arg;
	struct evbuffer		*ev;
	const char		*nl;

	if (web_pending(c) + len * 2 > WEB_CLIENT_BUF ||
	    (ev = evbuffer_new()) == NULL) {
		c->lost++;
		return;
	}
	evbuffer_add(ev, "event: unit\n", 12);
	while (len > 0) {
		nl = memchr(lines, '\n', len);
		size_t k = nl != NULL ? (size_t)(nl - lines) : len;
		evbuffer_add(ev, "data: ", 6);
		evbuffer_add(ev, lines, k);
		evbuffer_add(ev, "\n", 1);
		k += nl != NULL;
		lines += k;
		len -= k;
	}
	evbuffer_add(ev, "\n", 1);
	evhttp_send_reply_chunk(c->req, ev);
	evbuffer_free(ev);
}

static void
web_events(struct web *w, struct evhttp_request *req)
{
	struct web_client	*c;
	struct evkeyvalq	 q;
	const char		*sel = "all", *v;
	const char		*query = evhttp_uri_get_query(
	    evhttp_request_get_evhttp_uri(req));
	struct evbuffer		*ev;
	struct timeval		 sec = { 1, 0 };
	char			 err[128];

	TAILQ_INIT(&q);
	if (query != NULL && evhttp_parse_query_str(query, &q) == 0 &&
	    (((v = evhttp_find_header(&q, "mac")) != NULL && *v) ||
	    ((v = evhttp_find_header(&q, "id")) != NULL && *v)))
		sel = v;
	if (w->nclients >= WEB_MAX_CLIENTS ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		evhttp_clear_headers(&q);
		evhttp_send_error(req, 503, "too many event streams");
		return;
	}
	c->web = w;
	c->req = req;
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/event-stream");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	evhttp_send_reply_start(req, HTTP_OK, "OK");
	TAILQ_INSERT_TAIL(&w->clients, c, entry);
	w->nclients++;
	evhttp_connection_set_closecb(evhttp_request_get_connection(req),
	    web_closed, c);
	if ((ev = evbuffer_new()) != NULL) {
		if (web_rabbits(w, ev) == 0)
			evhttp_send_reply_chunk(req, ev);
		evbuffer_free(ev);
	}
	c->tap = ctlreg_tap(w->px->reg, sel, LOGFMT_BOTH, web_sink, c, err,
	    sizeof(err));
	evhttp_clear_headers(&q);
	if (c->tap == NULL && (ev = evbuffer_new()) != NULL) {
		evbuffer_add_printf(ev, "event: error\ndata: %s\n\n", err);
		evhttp_send_reply_chunk(req, ev);
		evbuffer_free(ev);
	}
	if (!evtimer_pending(w->tick, NULL))
		evtimer_add(w->tick, &sec);
}

int
web_handle(struct web *w, struct evhttp_request *req)
{
	const char	*path = evhttp_uri_get_path(
	    evhttp_request_get_evhttp_uri(req));
	struct evbuffer	*out;

	if (path == NULL)
		return -1;
	if (strcmp(path, "/events") == 0) {
		web_events(w, req);
		return 0;
	}
	if (strcmp(path, "/") != 0)
		return -1;
	if ((out = evbuffer_new()) == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return 0;
	}
	evbuffer_add(out, page, sizeof(page) - 1);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/html; charset=utf-8");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Security-Policy", "default-src 'self'; "
	    "script-src 'unsafe-inline'; style-src 'unsafe-inline'");
	evhttp_send_reply(req, HTTP_OK, "OK", out);
	evbuffer_free(out);
	return 0;
}
