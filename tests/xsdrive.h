/*
 * xsdrive.h: feeding a byte stream to xmlstream the way the proxy does
 * (tests/test_xmlstream.c, tests/test_xmlstream_light.c). run() feeds
 * what has arrived, from the offset xs_buffered() gives after the units
 * are drained, at most XS_FEED_MAX at a time, and describes the units as
 * one comparable string; the check_* helpers repeat a stream under many
 * ways of reading it and compare. Light units (xs_set_light) are checked
 * on the way (check_light). Header-only, every function TU_FN.
 */
#ifndef NAB_XSDRIVE_H
#define NAB_XSDRIVE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "stanza.h"
#include "testutil.h"
#include "xmlstream.h"

static struct xs_limits lim = { 65536, 32, 64 };

/*
 * One unit as a comparable string: kind, bytes, serialised tree.
 * Whitespace is yielded as soon as it is read (keep-alives must not wait
 * for the next stanza), so a run split across reads comes as several
 * XS_WS units: runs are described merged, everything else exactly.
 */
static int	last_ws;
/* When set, run() lets the stream doze at every boundary it can. */
static int	doze_mode;
static unsigned	dozes;
/* run()'s light framing (xs_set_light), and descriptions without trees. */
static unsigned	light_names;
static int	brief;
/* Describe each XS_WS unit on its own, not merged into runs. */
static int	exact_ws;
static unsigned	light_units;
/* The unit boundaries of run()'s last stream. */
static size_t	bounds[1024];
static size_t	nbounds;

TU_FN void	check_light(const struct xs_unit *, const char *);

TU_FN void
describe(struct evbuffer *out, const struct xs_unit *u, const char *bytes)
{
	if (u->kind == XS_WS && !exact_ws) {
		if (!last_ws)
			evbuffer_add(out, "2:", 2);
		evbuffer_add(out, bytes, u->len);
		last_ws = 1;
		return;
	}
	if (last_ws)
		evbuffer_add(out, "|\n", 2);
	last_ws = 0;
	check_light(u, bytes);
	evbuffer_add_printf(out, "%d:%zu:", (int)u->kind, u->len);
	evbuffer_add(out, bytes, u->len);
	evbuffer_add(out, "|", 1);
	if (u->st != NULL && !brief)
		assert_int_equal(st_serialize(stanza_root(u->st), out,
		    u->kind == XS_HEADER), 0);
	evbuffer_add(out, "\n", 1);
}

/*
 * Feed `in` cut at the given positions (sorted, ends implied) and return
 * the description of all units, or NULL on error with *err set.
 */
TU_FN char *
run(const char *in, size_t len, const size_t *cuts, size_t ncuts,
    enum xs_error *err)
{
	struct xmlstream	*xs = xs_new(&lim);
	struct evbuffer		*out = evbuffer_new();
	struct xs_unit		 u;
	size_t			 pos = 0, front = 0, next, i = 0, avail;
	char			*s;
	int			 r;

	assert_non_null(xs);
	nbounds = 0;
	xs_set_light(xs, light_names);
	*err = XS_ERR_NONE;
	while (pos < len) {
		next = i < ncuts ? cuts[i++] : len;
		/* Bytes available so far: [front, next). Feed what is unfed. */
		while (front + xs_buffered(xs) < next) {
			avail = next - front - xs_buffered(xs);
			if (avail > XS_FEED_MAX)
				avail = XS_FEED_MAX;
			if (xs_feed(xs, in + front + xs_buffered(xs), avail) == -1)
				goto bad;
			while ((r = xs_next(xs, &u)) == 1) {
				describe(out, &u, in + front);
				front += u.len;
				if (nbounds < sizeof(bounds) / sizeof(bounds[0]))
					bounds[nbounds++] = front;
				stanza_free(u.st);
			}
			if (r == -1)
				goto bad;
			/* At a boundary with nothing pending, a doze must work. */
			if (doze_mode && xs_buffered(xs) == 0) {
				assert_int_equal(xs_doze(xs), 1);
				assert_int_equal(xs_dozing(xs), 1);
				dozes++;
			}
		}
		pos = next;
	}
	assert_int_equal(front, len);
	if (last_ws)
		evbuffer_add(out, "|\n", 2);
	last_ws = 0;
	evbuffer_add(out, "", 1);
	s = strdup((char *)evbuffer_pullup(out, -1));
	evbuffer_free(out);
	xs_free(xs);
	return s;
bad:
	last_ws = 0;
	*err = xs_error(xs, NULL);
	evbuffer_free(out);
	xs_free(xs);
	return NULL;
}

/*
 * Every 2-chunk split of in, and 1-byte chunks (every tag split at every
 * byte), give the same units with the same bytes as one read. Returns
 * that reference description (caller frees).
 */
TU_FN char *
check_every_split(const char *in, size_t len)
{
	enum xs_error	 err;
	size_t		 i, *cuts;
	char		*ref, *s;

	ref = run(in, len, NULL, 0, &err);
	assert_non_null(ref);
	for (i = 1; i < len; i++) {
		s = run(in, len, &i, 1, &err);
		assert_non_null(s);
		assert_string_equal(s, ref);
		free(s);
	}
	cuts = calloc(len, sizeof(*cuts));
	for (i = 0; i < len - 1; i++)
		cuts[i] = i + 1;
	s = run(in, len, cuts, len - 1, &err);
	assert_non_null(s);
	assert_string_equal(s, ref);
	free(s);
	free(cuts);
	return ref;
}


/* Read a golden file (the seed's own bytes). */
TU_FN char *
slurp(const char *name, size_t *len)
{
	char	 path[1024], *buf;
	FILE	*f;
	long	 n;

	snprintf(path, sizeof(path), "%s/tests/golden/%s", NAB_SOURCE_DIR, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}


/*
 * A light unit is a whole plain stanza whose root is named in
 * light_names, and carries no tree; the header and every other stanza
 * carry theirs.
 */
TU_FN void
check_light(const struct xs_unit *u, const char *bytes)
{
	const char	*name;

	if (u->light == 0) {
		assert_int_equal(u->kind == XS_HEADER || u->kind == XS_STANZA,
		    u->st != NULL);
		return;
	}
	light_units++;
	assert_int_equal(u->kind, XS_STANZA);
	assert_null(u->st);
	assert_true((u->light & light_names) == u->light);
	switch (u->light) {
	case XS_LIGHT_MESSAGE: name = "<message"; break;
	case XS_LIGHT_PRESENCE: name = "<presence"; break;
	case XS_LIGHT_IQ: name = "<iq"; break;
	default: fail_msg("light bits %#x", u->light); return;
	}
	assert_memory_equal(bytes, name, strlen(name));
	assert_non_null(strchr(" \t\r\n/>", bytes[strlen(name)]));
}

/*
 * Feed in cut at cuts[0..n) and compare its description with ref, or,
 * with ref NULL, with the normal mode's (light_names 0) on the same
 * reads, each white space unit on its own: light framing must cut
 * exactly where expat does.
 */
TU_FN void
same_reads(const char *in, size_t len, const size_t *cuts, size_t n,
    const char *ref)
{
	enum xs_error	 err;
	unsigned	 names = light_names;
	char		*s, *normal = NULL;

	if (ref == NULL) {
		exact_ws = 1;
		light_names = 0;
		normal = run(in, len, cuts, n, &err);
		assert_non_null(normal);
		light_names = names;
	}
	s = run(in, len, cuts, n, &err);
	if (s == NULL)
		fail_msg("%zu reads: error %d", n + 1, (int)err);
	assert_string_equal(s, ref != NULL ? ref : normal);
	exact_ws = 0;
	free(s);
	free(normal);
}

/*
 * in arriving in reads of k bytes, for every k from 1 to len (the last
 * is one read): each gives the description ref (NULL: see same_reads).
 */
TU_FN void
check_every_chunk(const char *in, size_t len, const char *ref)
{
	size_t	*cuts = calloc(len, sizeof(*cuts)), k, i, n;

	assert_non_null(cuts);
	for (k = 1; k <= len; k++) {
		for (n = 0, i = k; i < len; i += k)
			cuts[n++] = i;
		same_reads(in, len, cuts, n, ref);
	}
	free(cuts);
}

/*
 * in arriving as its peer wrote it: a read ending at every g-th unit
 * boundary of a stream (nb of them in b), for g = 1, 2, 3; each gives
 * the description ref (NULL: see same_reads).
 */
TU_FN void
check_unit_reads(const char *in, size_t len, const char *ref,
    const size_t *b, size_t nb)
{
	size_t	cuts[1024], n, g, i;

	for (g = 1; g <= 3; g++) {
		for (n = 0, i = g - 1; i < nb; i += g)
			cuts[n++] = b[i];
		same_reads(in, len, cuts, n, ref);
	}
}

#endif /* NAB_XSDRIVE_H */
