/*
 * web: the live page on http-listen. GET / is one self-contained HTML page
 * (styles and script embedded, nothing loaded from elsewhere); GET
 * /events is its Server-Sent Events stream: "rabbits" events (the JSON of
 * `ctl list --json` as an array) once at connect and every second, and
 * "unit" events, one per unit of traffic in both formats, each data line
 * a traffic line led by the session id (all rabbits, or ?mac=MAC / ?id=N
 * for one, a watched MAC's kept attempt first). A client that does not
 * read loses units with a counter (a "lost" event once it caught up),
 * never slowing a rabbit; at most WEB_MAX_CLIENTS streams at once.
 */
#ifndef NAB_WEB_H
#define NAB_WEB_H

#include "attrib.h"

struct evhttp;
struct evhttp_request;
struct proxy;
struct web;

#define WEB_MAX_CLIENTS		8
#define WEB_CLIENT_BUF		(256 * 1024)

struct web	*web_new(struct proxy *, struct evhttp *) WUNRES;
/* End every stream (before the evhttp goes). NULL is fine. */
void		 web_free(struct web *);
/* Answer GET / and /events; 0, or -1 if the path is not the page's. */
int		 web_handle(struct web *, struct evhttp_request *);

#endif /* NAB_WEB_H */
