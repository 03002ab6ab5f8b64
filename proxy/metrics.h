/*
 * metrics: the HTTP listener on `http-listen`, a loopback address only
 * (there is no authentication): GET /metrics in the Prometheus text
 * format (version 0.0.4), and the live page (web.c) at / and /events.
 * Off unless configured. Served by libevent's HTTP server on the daemon's
 * loop: requests are small and answered from counters in memory.
 */
#ifndef NAB_METRICS_H
#define NAB_METRICS_H

#include <stddef.h>

#include "attrib.h"

struct evbuffer;
struct metrics;
struct proxy;

/*
 * Listen on addr ("127.0.0.1:9188", "[::1]:9188", "localhost:9188"; port
 * 0 picks one, see metrics_port()). NULL with err set: not loopback, a bad
 * address, or the bind failed.
 */
struct metrics	*metrics_new(struct proxy *, const char *addr, char *err,
		    size_t errlen) WUNRES;
void		 metrics_free(struct metrics *);
/* Check an http-listen value without binding: 0, or -1 with err set. */
int		 metrics_check(const char *addr, char *err, size_t errlen);
/* The bound port. */
unsigned	 metrics_port(const struct metrics *);
/* Append the whole exposition for px to out. 0, or -1 on ENOMEM. */
int		 metrics_render(struct proxy *, struct evbuffer *out) WUNRES;

#endif /* NAB_METRICS_H */
