/*
 * rawpeer: the far end of a leg in tests/test_leg*.c, a plain socket on
 * the test's event loop: collects what it reads (and notes EOF or the
 * errno of a failed read), and, while `sending`, writes junk as fast as
 * the socket takes it. Also the loopback TCP pair both tests start from
 * and the byte pattern they send. Include <sys/socket.h>,
 * <netinet/in.h>, <arpa/inet.h>, <errno.h>, <event2/event.h>,
 * <event2/buffer.h> and testutil.h first.
 */
#ifndef NAB_RAWPEER_H
#define NAB_RAWPEER_H

struct peer {
	int		 fd;
	struct event	*rev, *wev;
	struct evbuffer	*got;
	int		 eof;		/* read returned 0 */
	int		 err;		/* errno of a failed read, 0 if none */
	size_t		 got_at_eof;
	int		 sending;	/* keep writing while writable */
	size_t		 sent;
};

static inline void
peer_read(evutil_socket_t fd, short what, void *arg)
{
	struct peer	*p = arg;
	int		 n;

	(void)what;
	while ((n = evbuffer_read(p->got, fd, 65536)) > 0)
		;
	if (n == 0 && !p->eof) {
		p->eof = 1;
		p->got_at_eof = evbuffer_get_length(p->got);
		event_del(p->rev);
	} else if (n == -1 && errno != EAGAIN) {
		p->err = errno;
		event_del(p->rev);
	}
}

static inline void
peer_write(evutil_socket_t fd, short what, void *arg)
{
	static char	 junk[16384];
	struct peer	*p = arg;
	ssize_t		 n;

	(void)what;
	if (!p->sending) {
		event_del(p->wev);
		return;
	}
	memset(junk, 'j', sizeof(junk));
	while ((n = write(fd, junk, sizeof(junk))) > 0)
		p->sent += (size_t)n;
}

/* reading: start with the read event on. */
static inline void
peer_init(struct peer *p, struct event_base *base, int fd, int reading)
{
	memset(p, 0, sizeof(*p));
	p->fd = fd;
	p->got = evbuffer_new();
	p->rev = event_new(base, fd, EV_READ | EV_PERSIST, peer_read, p);
	p->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, peer_write, p);
	CHECK(p->got && p->rev && p->wev, "peer events");
	if (reading)
		CHECK(event_add(p->rev, NULL) == 0, "event_add");
}

static inline void
peer_free(struct peer *p)
{
	event_free(p->rev);
	event_free(p->wev);
	evbuffer_free(p->got);
	if (p->fd != -1)
		close(p->fd);
}

/*
 * A connected loopback TCP pair, both ends non-blocking; bufsz > 0: that
 * receive buffer at *cli and send buffer at *srv (flow control sooner).
 */
static inline void
tcp_pair(int *srv, int *cli, int bufsz)
{
	struct sockaddr_in	sin;
	socklen_t		sl = sizeof(sin);
	int			lfd;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(lfd != -1 && bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) ==
	    0 && listen(lfd, 4) == 0 && getsockname(lfd, (struct sockaddr *)
	    &sin, &sl) == 0, "listen: %s", strerror(errno));
	*cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(*cli != -1, "socket");
	if (bufsz > 0)
		CHECK(setsockopt(*cli, SOL_SOCKET, SO_RCVBUF, &bufsz,
		    sizeof(bufsz)) == 0, "SO_RCVBUF");
	CHECK(connect(*cli, (struct sockaddr *)&sin, sizeof(sin)) == 0,
	    "connect: %s", strerror(errno));
	*srv = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	CHECK(*srv != -1, "accept: %s", strerror(errno));
	if (bufsz > 0)
		CHECK(setsockopt(*srv, SOL_SOCKET, SO_SNDBUF, &bufsz,
		    sizeof(bufsz)) == 0, "SO_SNDBUF");
	CHECK(evutil_make_socket_nonblocking(*cli) == 0, "nonblocking");
	close(lfd);
}

/* Fill a buffer with a position-dependent pattern. */
static inline void
fill(char *p, size_t n, unsigned seed)
{
	size_t	i;

	for (i = 0; i < n; i++)
		p[i] = (char)((i * 7 + seed + i / 251) & 0xff);
}

#endif /* NAB_RAWPEER_H */
