/*
 * listener: evconnlistener per address, accept limits, EMFILE back-off.
 *
 * Per-source accounting is a small open hash of source IP -> live
 * sessions, so one rabbit (or one misbehaving host) cannot take every
 * slot. When accept fails for lack of descriptors the listeners pause
 * for a second instead of spinning (relayd relay.c:1105).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "listener.h"
#include "log.h"
#include "proxy.h"
#include "session.h"

#define SRC_BUCKETS	1024

struct src_count {
	struct src_count	*next;
	unsigned		 n;
	char			 ip[48];
};

struct listener {
	struct proxy		 *px;
	struct evconnlistener	**ev;
	unsigned short		 *ports;
	size_t			  n;
	struct event		 *retry;
	struct src_count	 *src[SRC_BUCKETS];
};

static void	accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	accept_error_cb(struct evconnlistener *, void *);
static void	retry_cb(evutil_socket_t, short, void *);
static unsigned	hash_ip(const char *);
static struct src_count **src_find(struct listener *, const char *);

static unsigned
hash_ip(const char *s)
{
	unsigned	h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % SRC_BUCKETS;
}

static struct src_count **
src_find(struct listener *l, const char *ip)
{
	struct src_count	**pp;

	for (pp = &l->src[hash_ip(ip)]; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->ip, ip) == 0)
			break;
	return pp;
}

/* Bind one address; -1 with err set. */
static int
bind_one(struct listener *l, size_t i, const struct listen_addr *a,
    char *err, size_t errlen)
{
	struct addrinfo		 hints, *res = NULL;
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	char			 port[8];
	int			 rc, fd, on = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", a->port);
	if ((rc = getaddrinfo(*a->host ? a->host : NULL, port, &hints,
	    &res)) != 0) {
		snprintf(err, errlen, "listen %s:%u: %s", a->host, a->port,
		    gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (res->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, 511) == -1) {
		snprintf(err, errlen, "listen %s:%u: %s", a->host, a->port,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		l->ports[i] = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	/* Backlog 0: already listening (-1 would listen again with 128). */
	if ((l->ev[i] = evconnlistener_new(l->px->base, accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE, 0, fd)) == NULL) {
		snprintf(err, errlen, "listen %s:%u: out of memory", a->host,
		    a->port);
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(l->ev[i], accept_error_cb);
	return 0;
}

struct listener *
listener_new(struct proxy *px, const struct listen_addr *a, size_t n,
    char *err, size_t errlen)
{
	struct listener	*l;
	size_t		 i;

	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->ev = calloc(n, sizeof(*l->ev))) == NULL ||
	    (l->ports = calloc(n, sizeof(*l->ports))) == NULL ||
	    (l->retry = evtimer_new(px->base, retry_cb, l)) == NULL) {
		snprintf(err, errlen, "out of memory");
		listener_free(l);
		return NULL;
	}
	l->px = px;
	l->n = n;
	for (i = 0; i < n; i++) {
		if (bind_one(l, i, &a[i], err, errlen) == -1) {
			listener_free(l);
			return NULL;
		}
	}
	return l;
}

void
listener_disable(struct listener *l)
{
	size_t	i;

	/*
	 * Close the sockets, not just stop accepting: connections queued in
	 * a backlog nobody reads would hang until the drain ends.
	 */
	for (i = 0; i < l->n; i++)
		if (l->ev[i] != NULL) {
			evconnlistener_free(l->ev[i]);
			l->ev[i] = NULL;
		}
	evtimer_del(l->retry);
}

void
listener_free(struct listener *l)
{
	struct src_count	*s, *n;
	size_t			 i;

	if (l == NULL)
		return;
	for (i = 0; l->ev != NULL && i < l->n; i++)
		if (l->ev[i] != NULL)
			evconnlistener_free(l->ev[i]);
	for (i = 0; i < SRC_BUCKETS; i++)
		for (s = l->src[i]; s != NULL; s = n) {
			n = s->next;
			free(s);
		}
	if (l->retry != NULL)
		event_free(l->retry);
	free(l->ev);
	free(l->ports);
	free(l);
}

unsigned short
listener_port(const struct listener *l, size_t i)
{
	return i < l->n ? l->ports[i] : 0;
}

void
listener_release(struct listener *l, const char *ip)
{
	struct src_count	**pp = src_find(l, ip), *s = *pp;

	if (s == NULL)
		return;
	if (--s->n == 0) {
		*pp = s->next;
		free(s);
	}
}

static void
accept_cb(struct evconnlistener *ev, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct listener		*l = arg;
	struct proxy		*px = l->px;
	struct src_count	**pp, *s;
	char			 ip[48] = "";

	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, ip,
		    sizeof(ip));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr,
		    ip, sizeof(ip));
	pp = src_find(l, ip);
	/* Login probes are connections too. */
	if (px->draining ||
	    px->nsessions + px->nprobes >= px->opt.max_connections ||
	    (px->opt.max_per_source > 0 && *pp != NULL &&
	    (*pp)->n >= px->opt.max_per_source)) {
		px->n_refused++;
		log_warnx("refusing connection from %s: %s", ip, px->draining ?
		    "draining" : px->nsessions + px->nprobes >=
		    px->opt.max_connections ?
		    "max-connections reached" : "max-per-source reached");
		close(fd);
		return;
	}
	if ((s = *pp) == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL) {
			close(fd);
			return;
		}
		snprintf(s->ip, sizeof(s->ip), "%s", ip);
		*pp = s;
	}
	s->n++;
	px->n_accepted++;
	if (session_new(px, fd, sa, salen) == -1)
		listener_release(l, ip);
}

static void
accept_error_cb(struct evconnlistener *ev, void *arg)
{
	struct listener	*l = arg;
	struct timeval	 tv = { 1, 0 };
	size_t		 i;

	log_warn("accept");
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
	    errno == ENOMEM) {
		for (i = 0; i < l->n; i++)
			if (l->ev[i] != NULL)
				evconnlistener_disable(l->ev[i]);
		evtimer_add(l->retry, &tv);
	}
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener	*l = arg;
	size_t		 i;

	if (l->px->draining)
		return;
	for (i = 0; i < l->n; i++)
		if (l->ev[i] != NULL)
			evconnlistener_enable(l->ev[i]);
}
