/*
 * metrics: the HTTP listener on `http-listen`: GET /metrics in the
 * Prometheus text format (version 0.0.4), and the live page (web.c) at /
 * and /events. Off unless configured. Loopback unless a token is set
 * (webauth.h); with a token, every request must carry it, or it gets 401
 * and nothing else. Served by libevent's HTTP server on the daemon's
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
/*
 * The same with a token (NULL or "": none; checked with
 * webauth_token_check): any address ("0.0.0.0:9188", "[::]:9188", a
 * host's address), and every request must carry the token.
 */
struct metrics	*metrics_new_token(struct proxy *, const char *addr,
		    const char *token, char *err, size_t errlen) WUNRES;
void		 metrics_free(struct metrics *);
/*
 * Check an http-listen value without binding: a loopback ADDR:PORT, or
 * any ADDR:PORT if have_token. 0, or -1 with err set.
 */
int		 metrics_check(const char *addr, int have_token, char *err,
		    size_t errlen);
/* The bound port. */
unsigned	 metrics_port(const struct metrics *);
/* Append the whole exposition for px to out. 0, or -1 on ENOMEM. */
int		 metrics_render(struct proxy *, struct evbuffer *out) WUNRES;

#endif /* NAB_METRICS_H */
