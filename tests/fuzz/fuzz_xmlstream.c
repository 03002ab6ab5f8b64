/*
 * libFuzzer target for the stream parser, in either direction. The first
 * byte gives the chunk size the input is fed in (low 6 bits), the
 * direction (bit 6) and whether stanzas are round-tripped (bit 7); the
 * second picks the caps (low 2 bits: the proxy's defaults scaled down,
 * tiny ones, the defaults, generous ones). A
 * stream restarts where the proxy restarts it: from the server after
 * <success/>, <proceed/> or <compressed/>; from the rabbit after what
 * the server answers that way (<auth/>, <response/>, <starttls/>,
 * <compress/>). Checks the invariants the proxy relies on: units tile the
 * input exactly, no unit is longer than the cap, every error is one of
 * the documented classes, and a stanza the proxy rewrites reads back as
 * itself (serialise, parse again, serialise: same bytes).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "stanza.h"
#include "xmlstream.h"

/* Short enough for the smallest cap. */
#define HEADER	"<stream:stream xmlns='jabber:client'>"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const struct xs_limits limits[4] = {
	{ 4096, 16, 32 }, { 64, 2, 2 }, { 300, 4, 4 }, { 65536, 64, 64 }
};

static const char *const restart_server[] = {
	"success", "proceed", "compressed", NULL
};
static const char *const restart_rabbit[] = {
	"auth", "response", "starttls", "compress", NULL
};

static int	restarts(const struct stanza *, const char *const *);
static void	roundtrip(const struct stanza *, const struct xs_limits *);
static void	copy_same(const struct stanza *, struct evbuffer *);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *const *names;
	const struct xs_limits	*lim;
	struct xmlstream	*xs;
	struct xs_unit		 u;
	size_t			 front = 0, chunk, fed, n;
	int			 r, rt;

	if (size < 2)
		return 0;
	chunk = (data[0] & 63) + 1;
	names = data[0] & 64 ? restart_rabbit : restart_server;
	rt = data[0] & 128;
	lim = &limits[data[1] & 3];
	data += 2;
	size -= 2;
	if ((xs = xs_new(lim)) == NULL)
		return 0;
	for (;;) {
		while ((r = xs_next(xs, &u)) == 1) {
			if (u.len > lim->max_stanza + 4096 ||
			    front + u.len > size)
				abort();
			if ((u.kind == XS_HEADER || u.kind == XS_STANZA) !=
			    (u.st != NULL))
				abort();
			front += u.len;
			if (rt && u.kind == XS_STANZA)
				roundtrip(u.st, lim);
			if (u.kind == XS_STANZA && restarts(u.st, names) &&
			    xs_reset(xs) == -1) {
				stanza_free(u.st);
				goto done;
			}
			stanza_free(u.st);
		}
		if (r == -1)
			break;
		fed = front + xs_buffered(xs);
		if (fed >= size)
			break;
		n = size - fed < chunk ? size - fed : chunk;
		if (xs_feed(xs, (const char *)data + fed, n) == -1)
			break;
	}
	if (xs_error(xs, NULL) > XS_ERR_NOMEM)
		abort();
done:
	xs_free(xs);
	return 0;
}

static int
restarts(const struct stanza *st, const char *const *names)
{
	const char	*name = stanza_root(st)->name;

	for (; *names != NULL; names++)
		if (strcmp(name, *names) == 0)
			return 1;
	return 0;
}

/* A deep copy (st_copy) serialises as the original did (in ser). */
static void
copy_same(const struct stanza *st, struct evbuffer *ser)
{
	struct stanza	*c;
	struct st_node	*n;
	struct evbuffer	*b;
	size_t		 len = evbuffer_get_length(ser);

	if ((c = stanza_new(2 * stanza_used(st) + 4096)) == NULL ||
	    (b = evbuffer_new()) == NULL)
		abort();
	if ((n = st_copy(c, stanza_root(st))) == NULL)
		abort();	/* twice the original's arena is enough */
	stanza_set_root(c, n);
	(void)st_text(c, n);
	if (st_serialize(n, b, 0) == -1 || evbuffer_get_length(b) != len ||
	    memcmp(evbuffer_pullup(b, -1), evbuffer_pullup(ser, -1), len) != 0)
		abort();
	evbuffer_free(b);
	stanza_free(c);
}

/* Serialise, parse after a fresh header, serialise: the same bytes. */
static void
roundtrip(const struct stanza *st, const struct xs_limits *lim)
{
	struct evbuffer		*a, *b;
	struct xmlstream	*xs;
	struct xs_unit		 u;
	size_t			 len;

	if ((a = evbuffer_new()) == NULL || (b = evbuffer_new()) == NULL ||
	    (xs = xs_new(lim)) == NULL)
		abort();
	if (st_serialize(stanza_root(st), a, 0) == -1)
		abort();
	len = evbuffer_get_length(a);
	copy_same(st, a);
	/* Escaping may grow a stanza past the cap; that is not a bug. */
	if (len > XS_FEED_MAX - sizeof(HEADER) || len > lim->max_stanza)
		goto out;
	if (xs_feed(xs, HEADER, sizeof(HEADER) - 1) == -1 ||
	    xs_next(xs, &u) != 1 || u.kind != XS_HEADER)
		abort();
	stanza_free(u.st);
	if (xs_next(xs, &u) != 0 ||
	    xs_feed(xs, (const char *)evbuffer_pullup(a, -1), len) == -1 ||
	    xs_next(xs, &u) != 1 || u.kind != XS_STANZA || u.len != len)
		abort();
	if (st_serialize(stanza_root(u.st), b, 0) == -1)
		abort();
	stanza_free(u.st);
	if (evbuffer_get_length(b) != len ||
	    memcmp(evbuffer_pullup(a, -1), evbuffer_pullup(b, -1), len) != 0)
		abort();
out:
	xs_free(xs);
	evbuffer_free(a);
	evbuffer_free(b);
}
