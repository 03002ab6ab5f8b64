/*
 * render: `nabproxy render`, capture bytes in, log lines out. Uses the
 * same xmlstream and vmlog code as the daemon, so what it prints is what
 * the live log would print for the same bytes. Where the capture stops
 * being XMPP, the XML verdict becomes a note line and the firmware's own
 * parser emulation (vmlog, verified against bootcode 18673) reads the
 * rest, so any bytes render as the rabbit would take them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "main-int.h"
#include "proxy.h"
#include "render.h"
#include "stanza.h"
#include "vmlog.h"
#include "vpacket.h"
#include "xmlstream.h"

#define RENDER_MAX_INPUT	(64u * 1024 * 1024)

static const char implicit_header[] =
    "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
    "xmlns='jabber:client'>";

/* How far the XML reading of a capture went. */
struct xpass {
	size_t	rest;		/* capture offset of the first byte not read */
	int	header;		/* the stream header was read */
	char	verdict[256];	/* "" when the whole capture is XMPP */
};

/* Does the capture open a stream (after optional whitespace and decl)? */
static int
has_header(const char *b, size_t n)
{
	size_t	i = 0;

	while (i < n && strchr(" \t\r\n", b[i]) != NULL)
		i++;
	return n - i >= 5 && (memcmp(b + i, "<?xml", 5) == 0 ||
	    (n - i >= 14 && memcmp(b + i, "<stream:stream", 14) == 0));
}

/* "[vm] !! " + the decoded payloads of bytes, if any. 0 or -1. */
static int
render_decoded(struct evbuffer *out, const struct render_opts *o,
    const char *bytes, size_t len)
{
	char	line[VPACKET_LINE_MAX];
	int	rc = vpacket_describe(bytes, len, line, sizeof(line));

	if (rc == 1 && evbuffer_add_printf(out, "%s[vm] !! %s\n", o->prefix,
	    line) == -1)
		return -1;
	return rc == -1 ? -1 : 0;
}

static int
render_unit(struct evbuffer *out, const struct render_opts *o,
    const struct xs_unit *u, const char *bytes, int implicit)
{
	if (u->kind == XS_HEADER && implicit)
		return 0;
	if ((o->format & LOGFMT_RAW) && u->kind != XS_WS &&
	    vmlog_raw(out, o->prefix, o->from_server, bytes, u->len) == -1)
		return -1;
	if ((o->format & LOGFMT_VM) && !o->from_server && u->kind != XS_WS &&
	    vmlog_sending(out, o->prefix, bytes, u->len) == -1)
		return -1;
	if ((o->format & LOGFMT_VM) && o->from_server &&
	    u->kind == XS_STANZA &&
	    vmlog_receive(out, o->prefix, bytes, u->len, NULL) == -1)
		return -1;
	return u->kind == XS_STANZA ? render_decoded(out, o, bytes, u->len) :
	    0;
}

/*
 * "condition (why)", or expat's own "not well-formed (invalid token)"
 * under the condition's name when why already says the condition.
 */
static void
verdict(struct xpass *x, const char *cond, const char *why)
{
	size_t	i, n = strlen(cond);

	for (i = 0; i < n && why[i] != '\0' && (why[i] == cond[i] ||
	    (why[i] == ' ' && cond[i] == '-')); i++)
		;
	if (i == n && why[n] == ' ')
		snprintf(x->verdict, sizeof(x->verdict), "%s%s", cond,
		    why + n);
	else
		snprintf(x->verdict, sizeof(x->verdict), "%s (%s)", cond, why);
}

/*
 * Read the capture as an XMPP stream, rendering each unit into out (NULL:
 * only read). Fills x; returns 0, or -1 on ENOMEM.
 */
static int
xml_pass(struct evbuffer *out, const struct render_opts *o,
    const char *buf, size_t len, struct xpass *x)
{
	struct xs_limits	 lim = { RENDER_MAX_INPUT, 256, 1024 };
	struct xmlstream	*xs;
	struct evbuffer		*in;
	struct xs_unit		 u;
	const char		*p, *base, *why;
	size_t			 n, left, ilen = 0;
	int			 r, rc = 0;

	memset(x, 0, sizeof(*x));
	if ((xs = xs_new(&lim)) == NULL || (in = evbuffer_new()) == NULL) {
		xs_free(xs);
		return -1;
	}
	if (!has_header(buf, len))
		ilen = sizeof(implicit_header) - 1;
	if (evbuffer_add(in, implicit_header, ilen) == -1 ||
	    evbuffer_add(in, buf, len) == -1 ||
	    (base = (const char *)evbuffer_pullup(in, -1)) == NULL) {
		rc = len + ilen > 0 ? -1 : 0;
		goto done;
	}
	p = base;
	left = len + ilen;
	for (;;) {
		while ((r = xs_next(xs, &u)) == 1) {
			x->header |= u.kind == XS_HEADER;
			if (rc == 0 && out != NULL &&
			    render_unit(out, o, &u, p, ilen > 0) == -1)
				rc = -1;
			p += u.len;
			left -= u.len;
			stanza_free(u.st);
		}
		if (r == -1)
			break;
		n = left - xs_buffered(xs);
		if (n == 0)
			break;
		if (n > XS_FEED_MAX)
			n = XS_FEED_MAX;
		if (xs_feed(xs, p + xs_buffered(xs), n) == -1)
			break;
	}
	x->rest = (size_t)(p - base) > ilen ? (size_t)(p - base) - ilen : 0;
	if (xs_error(xs, &why) != XS_ERR_NONE)
		verdict(x, xs_error_condition(xs_error(xs, NULL)), why);
	else if (left > 0)
		snprintf(x->verdict, sizeof(x->verdict), "capture ends inside "
		    "a stanza (%zu bytes)", left);
done:
	xs_free(xs);
	evbuffer_free(in);
	return rc;
}

/*
 * The firmware's reading of buf as one read: raw, then the rabbit's
 * "Sending" or the trees of what the firmware takes off its buffer (after
 * the stream header when the stream is not open yet), then the decoded
 * payloads. 0, or -1 on ENOMEM.
 */
static int
fw_read(struct evbuffer *out, const struct render_opts *o, const char *buf,
    size_t len, int header)
{
	size_t	end = 0;

	if (len == 0)
		return 0;
	if ((o->format & LOGFMT_RAW) &&
	    vmlog_raw(out, o->prefix, o->from_server, buf, len) == -1)
		return -1;
	if (!o->from_server)
		return (o->format & LOGFMT_VM) && vmlog_sending(out, o->prefix,
		    buf, len) == -1 ? -1 : render_decoded(out, o, buf, len);
	if (!header && has_header(buf, len) &&
	    vmlog_header_end(buf, len, &end) == 0)
		return evbuffer_add_printf(out, "%s[vm] !! the stream never "
		    "opens: no \">\" after \"<stream:stream\"\n", o->prefix) ==
		    -1 ? -1 : 0;
	if ((o->format & LOGFMT_VM) &&
	    vmlog_receive(out, o->prefix, buf + end, len - end, NULL) == -1)
		return -1;
	return render_decoded(out, o, buf + end, len - end);
}

int
render_capture(struct evbuffer *out, const struct render_opts *o,
    const char *buf, size_t len, char *err, size_t errlen)
{
	struct xpass	x;
	int		one = o->one_read;

	snprintf(err, errlen, "out of memory");
	if (xml_pass(one ? NULL : out, o, buf, len, &x) == -1)
		return -1;
	if (one) {
		x.rest = 0;
		x.header = 0;
		if (evbuffer_add_printf(out, "%s[vm] !! the whole capture as "
		    "one read (%zu bytes)\n", o->prefix, len) == -1)
			return -1;
	}
	snprintf(err, errlen, "%s", x.verdict);
	if (x.verdict[0] != '\0' && evbuffer_add_printf(out, one ?
	    "%s[vm] !! not XMPP: %s\n" : "%s[vm] !! not XMPP from here on: "
	    "%s; the rest as the firmware reads it in one read\n", o->prefix,
	    x.verdict) == -1)
		return -1;
	if ((one || x.verdict[0] != '\0') &&
	    fw_read(out, o, buf + x.rest, len - x.rest, x.header) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return x.verdict[0] != '\0';
}

int
cmd_render(int argc, char **argv)
{
	struct render_opts	 o = { 1, LOGFMT_VM, "", 0 };
	struct evbuffer		*in, *out;
	char			 err[512];
	int			 i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--from-server") == 0)
			o.from_server = 1;
		else if (strcmp(argv[i], "--from-rabbit") == 0)
			o.from_server = 0;
		else if (strcmp(argv[i], "--one-read") == 0)
			o.one_read = 1;
		else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			i++;
			if (strcmp(argv[i], "vm") == 0)
				o.format = LOGFMT_VM;
			else if (strcmp(argv[i], "raw") == 0)
				o.format = LOGFMT_RAW;
			else if (strcmp(argv[i], "both") == 0)
				o.format = LOGFMT_BOTH;
			else
				errx_usage("render: --format vm, raw or both");
		} else if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc)
			o.prefix = argv[++i];
		else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			printf("usage: nabproxy render [--from-server|--from-rabbit]"
			    " [--format vm|raw|both] [--prefix STR] [--one-read]"
			    " < capture\n");
			return 0;
		} else
			errx_usage("render: unknown argument '%s'", argv[i]);
	}
	if ((in = evbuffer_new()) == NULL || (out = evbuffer_new()) == NULL)
		return 1;
	while ((rc = evbuffer_read(in, STDIN_FILENO, 65536)) > 0)
		if (evbuffer_get_length(in) > RENDER_MAX_INPUT)
			errx_usage("render: capture larger than %u bytes",
			    RENDER_MAX_INPUT);
	rc = render_capture(out, &o, (const char *)evbuffer_pullup(in, -1),
	    evbuffer_get_length(in), err, sizeof(err));
	/* Nothing rendered: pullup answers NULL, which fwrite may not get. */
	if (evbuffer_get_length(out) > 0)
		fwrite(evbuffer_pullup(out, -1), 1, evbuffer_get_length(out),
		    stdout);
	fflush(stdout);
	if (rc == -1)
		fprintf(stderr, "nabproxy render: %s\n", err);
	else if (rc == 1)
		fprintf(stderr, "nabproxy render: note: not XMPP: %s\n", err);
	evbuffer_free(in);
	evbuffer_free(out);
	return rc == -1 ? 1 : 0;
}
