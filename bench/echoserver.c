/*
 * echoserver: a trivial XMPP "server" for benchmarks.
 *
 * Per connection: wait for the client's stream header (optional <?xml?>
 * then <stream:stream ...>), answer with a fixed server stream header,
 * then echo every complete top-level stanza back, byte for byte, in
 * order. Whitespace between stanzas is dropped. On </stream:stream> it
 * answers </stream:stream> and closes once flushed. No features, no
 * SASL, no namespaces: just enough XMPP framing for a proxy that parses
 * both directions.
 *
 * Stanzas are cut with a small tag scanner (quotes, self-closing tags,
 * end tags, <? ?> / <! > skipped); bytes are moved from input to output
 * with evbuffer_remove_buffer (no copy). Backpressure: reading pauses
 * while a connection's output holds more than 1 MiB.
 *
 * usage: echoserver [-l 127.0.0.1] [-p PORT]   (PORT 0: pick one)
 * Prints "echoserver listening on 127.0.0.1:PORT" on stdout, then serves
 * until SIGINT/SIGTERM.
 *
 * Build: gcc -O2 -o echoserver echoserver.c -levent_core
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#define HIGH_WATER	(1024 * 1024)

static const char server_header[] =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' from='almacska' "
    "id='bench' xml:lang='en' version='1.0'>";

enum scan { S_TEXT, S_LT, S_TAG, S_QUOTE, S_ENDTAG, S_SKIP };

struct conn {
	struct bufferevent	*bev;
	int			 header_done;
	int			 closing;
	/* stanza scanner */
	enum scan		 st;
	char			 quote;
	char			 last;		/* last non-space char in a tag */
	int			 depth;		/* inside the current stanza */
	size_t			 lead;		/* whitespace before the stanza */
	size_t			 scanned;	/* bytes of input scanned */
	int			 in_stanza;
};

static unsigned long long	n_conns, n_stanzas;

static void	conn_free(struct conn *);

static void
conn_free(struct conn *c)
{
	bufferevent_free(c->bev);
	free(c);
}

/* Header: everything through the '>' that closes <stream:stream. */
static int
do_header(struct conn *c, struct evbuffer *in)
{
	struct evbuffer_ptr	p, q;

	p = evbuffer_search(in, "<stream:stream", 14, NULL);
	if (p.pos == -1)
		return 0;
	q = evbuffer_search(in, ">", 1, &p);
	if (q.pos == -1)
		return 0;
	evbuffer_drain(in, (size_t)q.pos + 1);
	bufferevent_write(c->bev, server_header, sizeof(server_header) - 1);
	c->header_done = 1;
	return 1;
}

/*
 * Feed one byte to c's stanza scanner. Returns 1 when the byte ends a
 * top-level stanza, -1 when it ends an end tag below depth 0 (that is
 * </stream:stream>), else 0.
 */
static int
scan_byte(struct conn *c, unsigned char ch)
{
	switch (c->st) {
	case S_TEXT:
		if (ch == '<') {
			c->st = S_LT;
			c->in_stanza = 1;
		} else if (!c->in_stanza)
			c->lead++;
		break;
	case S_LT:
		if (ch == '/')
			c->st = S_ENDTAG;
		else if (ch == '?' || ch == '!')
			c->st = S_SKIP;
		else {
			c->st = S_TAG;
			c->last = (char)ch;
		}
		break;
	case S_TAG:
		if (ch == '\'' || ch == '"') {
			c->quote = (char)ch;
			c->st = S_QUOTE;
		} else if (ch == '>') {
			c->st = S_TEXT;
			if (c->last != '/')
				c->depth++;
			else if (c->depth == 0)
				return 1;
		} else if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n')
			c->last = (char)ch;
		break;
	case S_QUOTE:
		if (ch == (unsigned char)c->quote) {
			c->st = S_TAG;
			c->last = (char)ch;
		}
		break;
	case S_ENDTAG:
		if (ch == '>') {
			c->st = S_TEXT;
			if (--c->depth == 0)
				return 1;
			if (c->depth < 0)
				return -1;
		}
		break;
	case S_SKIP:
		if (ch == '>') {
			c->st = S_TEXT;
			c->in_stanza = 0;
		}
		break;
	}
	return 0;
}

/*
 * Scan the nv extents in v, counting each byte in c->scanned. Stops at
 * the byte that ends a stanza (1) or the stream (-1); 0 when all of them
 * were scanned without either.
 */
static int
scan_extents(struct conn *c, const struct evbuffer_iovec *v, int nv)
{
	int	i, r;
	size_t	j;

	for (i = 0; i < nv; i++)
		for (j = 0; j < v[i].iov_len; j++) {
			c->scanned++;
			r = scan_byte(c, ((unsigned char *)v[i].iov_base)[j]);
			if (r != 0)
				return r;
		}
	return 0;
}

/*
 * Move the stanza that ends at c->scanned to out, its leading whitespace
 * dropped, and restart the scanner at the next byte.
 */
static void
move_stanza(struct conn *c, struct evbuffer *in, struct evbuffer *out)
{
	evbuffer_drain(in, c->lead);
	evbuffer_remove_buffer(in, out, c->scanned - c->lead);
	c->scanned = 0;
	c->lead = 0;
	c->in_stanza = 0;
	n_stanzas++;
}

/*
 * Scan new input; move each complete stanza to the output. Returns -1 at
 * </stream:stream>.
 */
static int
do_stanzas(struct conn *c, struct evbuffer *in, struct evbuffer *out)
{
	struct evbuffer_ptr	 ptr;
	struct evbuffer_iovec	 v[8];
	int			 nv, r;

	for (;;) {
		if (evbuffer_get_length(in) <= c->scanned)
			return 0;
		if (evbuffer_ptr_set(in, &ptr, c->scanned,
		    EVBUFFER_PTR_SET) == -1)
			return 0;
		/* Up to 8 extents at a time; the loop comes back for more. */
		nv = evbuffer_peek(in, -1, &ptr, v, 8);
		if (nv > 8)
			nv = 8;
		if ((r = scan_extents(c, v, nv)) == -1)
			return -1;
		if (r == 1)
			move_stanza(c, in, out);
	}
}

static void
readcb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct evbuffer	*out = bufferevent_get_output(bev);

	if (c->closing) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (!c->header_done && !do_header(c, in))
		return;
	if (do_stanzas(c, in, out) == -1) {
		evbuffer_drain(in, evbuffer_get_length(in));
		evbuffer_add(out, "</stream:stream>", 16);
		c->closing = 1;
		return;
	}
	if (evbuffer_get_length(out) > HIGH_WATER)
		bufferevent_disable(bev, EV_READ);
}

static void
writecb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	if (c->closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			conn_free(c);
		return;
	}
	if (evbuffer_get_length(bufferevent_get_output(bev)) <= HIGH_WATER / 2)
		bufferevent_enable(bev, EV_READ);
}

static void
eventcb(struct bufferevent *bev, short what, void *arg)
{
	conn_free(arg);
}

static void
acceptcb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct event_base	*base = arg;
	struct conn		*c;
	int			 on = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->bev = bufferevent_socket_new(base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(c);
		close(fd);
		return;
	}
	n_conns++;
	bufferevent_setcb(c->bev, readcb, writecb, eventcb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, HIGH_WATER / 2, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
sigcb(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(arg);
}

int
main(int argc, char **argv)
{
	struct event_base	*base;
	struct evconnlistener	*l;
	struct event		*si, *st;
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	const char		*host = "127.0.0.1";
	int			 ch, port = 0;

	while ((ch = getopt(argc, argv, "l:p:")) != -1) {
		switch (ch) {
		case 'l': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: echoserver [-l ADDR] [-p PORT]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
		fprintf(stderr, "echoserver: bad address %s\n", host);
		return 2;
	}
	if ((base = event_base_new()) == NULL)
		return 1;
	if ((l = evconnlistener_new_bind(base, acceptcb, base,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 4096,
	    (struct sockaddr *)&sin, sizeof(sin))) == NULL) {
		fprintf(stderr, "echoserver: bind %s:%d: %s\n", host, port,
		    strerror(errno));
		return 1;
	}
	getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&sin, &sl);
	printf("echoserver listening on %s:%u\n", host, ntohs(sin.sin_port));
	fflush(stdout);
	si = evsignal_new(base, SIGINT, sigcb, base);
	st = evsignal_new(base, SIGTERM, sigcb, base);
	event_add(si, NULL);
	event_add(st, NULL);
	event_base_dispatch(base);
	fprintf(stderr, "echoserver: %llu connections, %llu stanzas echoed\n",
	    n_conns, n_stanzas);
	event_free(si);
	event_free(st);
	evconnlistener_free(l);
	event_base_free(base);
	return 0;
}
