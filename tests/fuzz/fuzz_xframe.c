/*
 * Differential libFuzzer target for xframe (the plain-stanza byte scan)
 * against expat, and for xmlstream's light framing against its normal
 * mode. Byte 0 picks the caps (bits 0-1: 4096/16/32, 64/2/2, 300/4/4,
 * 65536/64/64 for bytes/depth/attributes, the last past XF_MAX_DEPTH and
 * XF_MAX_ATTRS), the light names (bits 2-3: all, message, presence and
 * iq, all), whether the stream runs doze at every boundary they can (bit
 * 4), restart after <success/> or <proceed/> as the proxy does (bit
 * 5) and whether the light run changes its names before every feed, as
 * the proxy may (bit 6: none, then each set in turn); byte 1 the read size of the stream runs (bits 0-6, 0 = all at
 * once) and whether "<stream:stream>" is put before the rest (bit 7).
 * The rest, X, is checked three ways; any violation aborts:
 *
 * 1. If xf_frame(X) frames L bytes, expat (a fresh normal-mode xmlstream,
 *    same caps) fed "<stream:stream>" + X[0..L) yields the header and one
 *    XS_STANZA of exactly L bytes with the same root name, and nothing
 *    else, no error. The one exception is the tree-memory cap
 *    ("stanza exceeds the memory limit"), which a light stanza, building
 *    no tree, does not have. Every shorter prefix of X (all of them up to
 *    512 bytes, a sample beyond) is refused, and X[0..L) alone frames
 *    the same.
 * 2. xf_ws(X) is the run of white space at its front.
 * 3. The stream (X, or the header and X), read the same way by a driver
 *    that feeds like the proxy (at most XS_FEED_MAX, from xs_buffered()
 *    after draining the units), gives the same units (kind, offset,
 *    length; white space too) in light mode as in normal mode, up to the
 *    first error, and the same error class; with the same exception for
 *    the memory cap (then the normal mode's units are a prefix of the
 *    light mode's). Light units have no tree, the XS_LIGHT_* bit of their
 *    name, and are plain.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stanza.h"
#include "xframe.h"
#include "xmlstream.h"

#define HDR	"<stream:stream>"
#define HDRLEN	(sizeof(HDR) - 1)
#define MEMCAP	"stanza exceeds the memory limit"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const struct xs_limits caps[4] = {
	{ 4096, 16, 32 }, { 64, 2, 2 }, { 300, 4, 4 }, { 65536, 64, 64 }
};
static const unsigned names[4] = {
	XS_LIGHT_MESSAGE | XS_LIGHT_PRESENCE | XS_LIGHT_IQ, XS_LIGHT_MESSAGE,
	XS_LIGHT_PRESENCE | XS_LIGHT_IQ,
	XS_LIGHT_MESSAGE | XS_LIGHT_PRESENCE | XS_LIGHT_IQ
};

/* One unit. */
struct rec {
	size_t		off, len;
	enum xs_kind	kind;
};

/* How the stream runs read: doze and restart as the proxy may. */
#define RUN_DOZE	1
#define RUN_RESTART	2
#define RUN_CYCLE	4

/* A stream run: its units, how it ended. */
struct outcome {
	struct rec	*r;
	size_t		 n;
	enum xs_error	 err;
	int		 memcap;	/* err is the tree-memory cap */
};

static void	check_frame(const char *, size_t, const struct xs_limits *);
static void	check_ws(const char *, size_t);
static void	run(const char *, size_t, const struct xs_limits *, unsigned,
		    size_t, int, struct outcome *);
static void	compare(const struct outcome *, const struct outcome *);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct xs_limits	*lim;
	struct outcome		 nrm, lgt;
	unsigned		 light;
	size_t			 rsz, n;
	char			*s;
	int			 how;

	if (size < 2)
		return 0;
	lim = &caps[data[0] & 3];
	light = names[(data[0] >> 2) & 3];
	rsz = data[1] & 127;
	how = (data[0] & 16 ? RUN_DOZE : 0) | (data[0] & 32 ? RUN_RESTART : 0) |
	    (data[0] & 64 ? RUN_CYCLE : 0);
	check_frame((const char *)data + 2, size - 2, lim);
	check_ws((const char *)data + 2, size - 2);
	/* The stream runs, on an exact-size copy. */
	n = (data[1] & 128 ? HDRLEN : 0) + size - 2;
	if ((s = malloc(n > 0 ? n : 1)) == NULL)
		abort();
	if (data[1] & 128)
		memcpy(s, HDR, HDRLEN);
	memcpy(s + n - (size - 2), data + 2, size - 2);
	run(s, n, lim, 0, rsz, how, &nrm);
	run(s, n, lim, light, rsz, how, &lgt);
	compare(&nrm, &lgt);
	free(nrm.r);
	free(lgt.r);
	free(s);
	return 0;
}

/* xf_frame on an exact-size copy of p[0..n). */
static int
frame(const char *p, size_t n, const struct xf_limits *xl, size_t *len,
    size_t *noff, size_t *nlen)
{
	char		*c = malloc(n > 0 ? n : 1);
	const char	*name;
	int		 r;

	if (c == NULL)
		abort();
	memcpy(c, p, n);
	r = xf_frame(c, n, xl, len, &name, nlen);
	if (r != 0 && r != 1)
		abort();
	if (r == 1) {
		if (*len == 0 || *len > n || name != c + 1 || *nlen == 0 ||
		    *nlen + 1 > *len)
			abort();
		*noff = 1;
	}
	free(c);
	return r;
}

/*
 * Expat's verdict on HDR + p[0..len): 1 if the header and exactly one
 * stanza of len bytes named name[0..nlen) come out, 0 if it fails on
 * the tree-memory cap; aborts otherwise.
 */
static int
expat_one(const char *p, size_t len, const char *name, size_t nlen,
    const struct xs_limits *lim)
{
	struct xmlstream	*xs = xs_new(lim);
	struct xs_unit		 u;
	char			*buf = malloc(HDRLEN + len);
	size_t			 total = HDRLEN + len, front = 0, k;
	const char		*why = NULL;
	int			 r, units = 0, ok = 1;

	if (xs == NULL || buf == NULL)
		abort();
	memcpy(buf, HDR, HDRLEN);
	memcpy(buf + HDRLEN, p, len);
	while (ok && front + xs_buffered(xs) < total) {
		k = total - front - xs_buffered(xs);
		k = k < XS_FEED_MAX ? k : XS_FEED_MAX;
		r = xs_feed(xs, buf + front + xs_buffered(xs), k) == 0 ? 1 : -1;
		while (r == 1 && (r = xs_next(xs, &u)) == 1) {
			if (units == 0 ? u.kind != XS_HEADER || u.len != HDRLEN :
			    units > 1 || u.kind != XS_STANZA || u.len != len ||
			    strlen(stanza_root(u.st)->name) != nlen ||
			    memcmp(stanza_root(u.st)->name, name, nlen) != 0)
				abort();
			units++;
			front += u.len;
			stanza_free(u.st);
		}
		if (r == -1) {
			if (xs_error(xs, &why) != XS_ERR_POLICY ||
			    strcmp(why, MEMCAP) != 0)
				abort();
			ok = 0;
		}
	}
	if (ok && (units != 2 || xs_buffered(xs) != 0 || front != total))
		abort();
	xs_free(xs);
	free(buf);
	return ok;
}

static void
check_frame(const char *p, size_t n, const struct xs_limits *lim)
{
	struct xf_limits	xl;
	size_t			len, noff, nlen, l2, o2, n2, k, step;

	xl.max_len = lim->max_stanza;
	xl.max_depth = lim->max_depth;
	xl.max_attrs = lim->max_attrs;
	if (frame(p, n, &xl, &len, &noff, &nlen) == 0)
		return;
	(void)expat_one(p, len, p + noff, nlen, lim);
	if (frame(p, len, &xl, &l2, &o2, &n2) != 1 || l2 != len ||
	    n2 != nlen)
		abort();
	step = len <= 512 ? 1 : len / 97 + 1;
	for (k = 0; k < len; k += step)
		if (frame(p, k, &xl, &l2, &o2, &n2) != 0)
			abort();
	for (k = len > 16 ? len - 16 : 0; k < len; k++)
		if (frame(p, k, &xl, &l2, &o2, &n2) != 0)
			abort();
}

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
check_ws(const char *p, size_t n)
{
	size_t	w = xf_ws(p, n), i;

	if (w > n || (w < n && is_ws(p[w])))
		abort();
	for (i = 0; i < w; i++)
		if (!is_ws(p[i]))
			abort();
}

/* The XS_LIGHT_* bit of the name at the front of a light unit. */
static unsigned
light_of(const char *p, size_t len)
{
	struct xf_limits	 xl = { len, XF_MAX_DEPTH, XF_MAX_ATTRS };
	size_t			 l, nlen;
	const char		*name;

	if (xf_frame(p, len, &xl, &l, &name, &nlen) != 1 || l != len)
		abort();
	if (nlen == 7 && memcmp(name, "message", 7) == 0)
		return XS_LIGHT_MESSAGE;
	if (nlen == 8 && memcmp(name, "presence", 8) == 0)
		return XS_LIGHT_PRESENCE;
	if (nlen == 2 && memcmp(name, "iq", 2) == 0)
		return XS_LIGHT_IQ;
	abort();
}

/* Check one unit at s[off..) of a run with light names `light`. */
static void
check_unit(const struct xs_unit *u, const char *s, size_t off,
    unsigned light)
{
	if (u->kind == XS_WS) {
		/* Character data: "&#9;" and CDATA may be white space too. */
		if (u->st != NULL || u->light != 0 || u->len == 0)
			abort();
	} else if (u->light != 0) {
		if (u->kind != XS_STANZA || u->st != NULL ||
		    (u->light & light) != u->light ||
		    light_of(s + off, u->len) != u->light)
			abort();
	} else if ((u->kind == XS_HEADER || u->kind == XS_STANZA) !=
	    (u->st != NULL))
		abort();
}

/* A stanza after which the proxy starts a new stream (server side). */
static int
restarts(const struct xs_unit *u)
{
	const char	*name;

	if (u->kind != XS_STANZA || u->st == NULL)
		return 0;
	name = stanza_root(u->st)->name;
	return strcmp(name, "success") == 0 || strcmp(name, "proceed") == 0;
}

/*
 * Read s[0..n) in reads of rsz bytes (0: all at once) into a stream with
 * light names `light`, fed as the proxy feeds it, dozing and restarting
 * as `how` says.
 */
static void
run(const char *s, size_t n, const struct xs_limits *lim, unsigned light,
    size_t rsz, int how, struct outcome *o)
{
	struct xmlstream	*xs = xs_new(lim);
	struct xs_unit		 u;
	size_t			 front = 0, have = 0, k;
	const char		*why;
	int			 r = 0;
	unsigned		 feeds = 0;

	if (xs == NULL || (o->r = malloc((n + 1) * sizeof(*o->r))) == NULL)
		abort();
	o->n = 0;
	xs_set_light(xs, light);
	while (r != -1 && have < n) {
		have = rsz == 0 || n - have < rsz ? n : have + rsz;
		while (r != -1 && front + xs_buffered(xs) < have) {
			k = have - front - xs_buffered(xs);
			k = k < XS_FEED_MAX ? k : XS_FEED_MAX;
			if (light != 0 && (how & RUN_CYCLE)) {
				/* None, then each set within light in turn. */
				xs_set_light(xs, feeds % 4 == 0 ? 0 :
				    light & names[feeds % 4]);
				feeds++;
			}
			if ((r = xs_feed(xs, s + front + xs_buffered(xs), k)) ==
			    -1)
				break;
			while ((r = xs_next(xs, &u)) == 1) {
				if (front + u.len > have)
					abort();
				check_unit(&u, s, front, light);
				o->r[o->n].off = front;
				o->r[o->n].len = u.len;
				o->r[o->n++].kind = u.kind;
				front += u.len;
				if ((how & RUN_RESTART) && restarts(&u) &&
				    xs_reset(xs) == -1)
					abort();
				stanza_free(u.st);
			}
			/* Refused inside a CDATA section: not checked here. */
			if ((how & RUN_DOZE) && r == 0 && xs_buffered(xs) == 0)
				(void)xs_doze(xs);
		}
	}
	o->err = xs_error(xs, &why);
	o->memcap = o->err == XS_ERR_POLICY && strcmp(why, MEMCAP) == 0;
	if (o->err > XS_ERR_NOMEM || (o->err == XS_ERR_NONE &&
	    front + xs_buffered(xs) != n))
		abort();
	xs_free(xs);
}

static void
compare(const struct outcome *nrm, const struct outcome *lgt)
{
	size_t	i;

	if (nrm->memcap) {
		/* Light stanzas build no tree: the light run may go on. */
		if (lgt->n < nrm->n)
			abort();
	} else if (nrm->err != lgt->err || nrm->n != lgt->n)
		abort();
	for (i = 0; i < nrm->n; i++)
		if (nrm->r[i].off != lgt->r[i].off ||
		    nrm->r[i].len != lgt->r[i].len ||
		    nrm->r[i].kind != lgt->r[i].kind)
			abort();
}
