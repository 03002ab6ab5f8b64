/*
 * listener: evconnlistener per address, accept limits, EMFILE back-off.
 *
 * Per-source accounting is a small open hash of source -> live sessions,
 * so one rabbit (or one misbehaving host) cannot take every slot; an IPv6
 * source counts by its /64 (one host holds a whole /64), IPv4 by its
 * address. Refused connections are closed at once and logged one by one up
 * to 20 a second, then counted (one line with the count in the next
 * second that has a refusal), so a flood cannot flood the log.
 * Beyond memory-budget (what sessions hold, session_mem_all()) a new
 * connection gets a stream header and <resource-constraint/> and is
 * closed. When accept fails for lack of descriptors the listeners pause
 * for a second instead of spinning (relayd relay.c:1105).
 */
#include <sys/queue.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "listener.h"
#include "log.h"
#include "proxy.h"
#include "session.h"

#define SRC_BUCKETS	1024
#define REFUSE_LOG_MAX	20	/* refusal lines a second, then a count */

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
	time_t			  refused_at;	/* last refusal logged */
	unsigned		  refused_logged;	/* in that second */
	unsigned long		  refused_quiet;	/* not logged since */
	size_t			  mem;		/* session_mem_all(), cached */
	struct timeval		  mem_at;
	unsigned		  nlinger;	/* refused, error being read */
	TAILQ_HEAD(, linger_fd)	  lingering;
};

/*
 * A connection refused with a stream error waits (at most LINGER_MAX of
 * them, LINGER_SEC each) for the peer's EOF, its input read and dropped:
 * closing with unread input would send a reset that can overtake the
 * error on its way.
 */
#define LINGER_MAX	64
#define LINGER_SEC	2

struct linger_fd {
	TAILQ_ENTRY(linger_fd)	 entry;
	struct listener	*l;
	struct event	*ev;
	int		 fd;
};

/* The answer to a connection beyond memory-budget (RFC 6120 4.9.1.1). */
static const char refuse_mem[] =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
    "<stream:error><resource-constraint "
    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
    "</stream:stream>";

static void	accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	accept_error_cb(struct evconnlistener *, void *);
static void	retry_cb(evutil_socket_t, short, void *);
static void	linger_free(struct linger_fd *);
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

void
listener_source_key(const char *ip, char *key, size_t len)
{
	struct in6_addr	a;
	char		buf[INET6_ADDRSTRLEN];

	if (strchr(ip, ':') != NULL && inet_pton(AF_INET6, ip, &a) == 1 &&
	    !IN6_IS_ADDR_V4MAPPED(&a)) {
		memset(&a.s6_addr[8], 0, 8);
		if (inet_ntop(AF_INET6, &a, buf, sizeof(buf)) != NULL) {
			snprintf(key, len, "%s/64", buf);
			return;
		}
	}
	snprintf(key, len, "%s", ip);
}

static struct src_count **
src_find(struct listener *l, const char *ip)
{
	struct src_count	**pp;
	char			  key[48];

	listener_source_key(ip, key, sizeof(key));
	for (pp = &l->src[hash_ip(key)]; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->ip, key) == 0)
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
	TAILQ_INIT(&l->lingering);
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
	while (l->px != NULL && !TAILQ_EMPTY(&l->lingering))
		linger_free(TAILQ_FIRST(&l->lingering));
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

/*
 * Bytes the sessions hold: recounted at every accept while there are few
 * sessions, else at most every 50 ms (a storm of accepts would otherwise
 * walk every session each time).
 */
static size_t
mem_in_use(struct listener *l)
{
	struct timeval	now, d;

	event_base_gettimeofday_cached(l->px->base, &now);
	timersub(&now, &l->mem_at, &d);
	if (l->px->nsessions < 256 || d.tv_sec != 0 || d.tv_usec >= 50000) {
		l->mem = session_mem_all(l->px);
		l->mem_at = now;
	}
	return l->mem;
}

/* Why a new connection from source s (NULL: none live) is refused. */
static const char *
accept_refusal(struct listener *l, const struct src_count *s)
{
	struct proxy	*px = l->px;

	if (px->draining)
		return "draining";
	/* Login probes are connections too. */
	if (px->nsessions + px->nprobes >= px->opt.max_connections)
		return "max-connections reached";
	if (px->opt.max_per_source > 0 && s != NULL &&
	    s->n >= px->opt.max_per_source)
		return "max-per-source reached";
	if (px->opt.memory_budget > 0 &&
	    mem_in_use(l) >= px->opt.memory_budget)
		return "memory-budget reached";
	return NULL;
}

/* One line a second at most, with how many went unlogged before it. */
static void
log_refusal(struct listener *l, const char *ip, const char *why)
{
	time_t	now = time(NULL);

	if (now != l->refused_at) {
		if (l->refused_quiet > 0)
			log_warnx("(%lu more connections refused, not logged "
			    "one by one)", l->refused_quiet);
		l->refused_at = now;
		l->refused_quiet = 0;
		l->refused_logged = 0;
	}
	if (l->refused_logged >= REFUSE_LOG_MAX) {
		l->refused_quiet++;
		return;
	}
	l->refused_logged++;
	if (strcmp(why, "memory-budget reached") == 0)
		log_warnx("refusing connection from %s: %s (%zu of %zu bytes "
		    "held by sessions)", ip, why, l->mem,
		    l->px->opt.memory_budget);
	else
		log_warnx("refusing connection from %s: %s", ip, why);
}

/*
 * The stream error for a connection refused for memory: whatever the
 * socket takes at once, nothing waits. What the peer already sent is read
 * away first so that the close is a FIN, not a reset that could overtake
 * the error.
 */
static void
linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct linger_fd	*lf = arg;
	char			 buf[512];
	ssize_t			 n = 0;
	int			 i;

	for (i = 0; (what & EV_READ) && i < 16; i++)
		if ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) <= 0)
			break;
	if ((what & EV_READ) && (n > 0 || (n == -1 && (errno == EAGAIN ||
	    errno == EINTR))))
		return;
	linger_free(lf);
}

static void
linger_free(struct linger_fd *lf)
{
	TAILQ_REMOVE(&lf->l->lingering, lf, entry);
	event_free(lf->ev);
	close(lf->fd);
	lf->l->nlinger--;
	free(lf);
}

/* Send the stream error; the fd is the listener's to close (1) or not. */
static int
refuse_with_error(struct listener *l, int fd)
{
	struct linger_fd	*lf;
	struct timeval		 tv = { LINGER_SEC, 0 };

	(void)send(fd, refuse_mem, sizeof(refuse_mem) - 1,
	    MSG_DONTWAIT | MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	if (l->nlinger >= LINGER_MAX || (lf = calloc(1, sizeof(*lf))) == NULL)
		return 1;
	if ((lf->ev = event_new(l->px->base, fd, EV_READ | EV_PERSIST,
	    linger_cb, lf)) == NULL || event_add(lf->ev, &tv) == -1) {
		if (lf->ev != NULL)
			event_free(lf->ev);
		free(lf);
		return 1;
	}
	lf->l = l;
	lf->fd = fd;
	l->nlinger++;
	TAILQ_INSERT_TAIL(&l->lingering, lf, entry);
	return 0;
}

static void
accept_cb(struct evconnlistener *ev, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct listener		*l = arg;
	struct proxy		*px = l->px;
	struct src_count	**pp, *s;
	const char		*why;
	char			 ip[48] = "";

	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, ip,
		    sizeof(ip));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr,
		    ip, sizeof(ip));
	pp = src_find(l, ip);
	if ((why = accept_refusal(l, *pp)) != NULL) {
		px->n_refused++;
		log_refusal(l, ip, why);
		if (strcmp(why, "memory-budget reached") != 0 ||
		    refuse_with_error(l, fd))
			close(fd);
		return;
	}
	if ((s = *pp) == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL) {
			close(fd);
			return;
		}
		listener_source_key(ip, s->ip, sizeof(s->ip));
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
