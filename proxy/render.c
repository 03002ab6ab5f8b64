/*
 * render: `nabproxy render`, capture bytes in, log lines out. Uses the
 * same xmlstream and vmlog code as the daemon, so what it prints is what
 * the live log would print for the same bytes.
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
#include "xmlstream.h"

#define RENDER_MAX_INPUT	(64u * 1024 * 1024)

static const char implicit_header[] =
    "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
    "xmlns='jabber:client'>";

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

static int
render_unit(struct evbuffer *out, const struct render_opts *o,
    const struct xs_unit *u, const char *bytes, int implicit)
{
	if (u->kind == XS_HEADER && implicit)
		return 0;
	if ((o->format & LOGFMT_RAW) && u->kind != XS_WS &&
	    vmlog_raw(out, o->prefix, o->from_server, bytes, u->len) == -1)
		return -1;
	if (!(o->format & LOGFMT_VM))
		return 0;
	if (!o->from_server)
		return u->kind == XS_WS ? 0 :
		    vmlog_sending(out, o->prefix, bytes, u->len);
	if (u->kind != XS_STANZA)
		return 0;
	return vmlog_receive(out, o->prefix, bytes, u->len, NULL) == -1 ? -1 : 0;
}

int
render_capture(struct evbuffer *out, const struct render_opts *o,
    const char *buf, size_t len, char *err, size_t errlen)
{
	struct xs_limits	 lim = { RENDER_MAX_INPUT, 256, 1024 };
	struct xmlstream	*xs;
	struct evbuffer		*in;
	struct xs_unit		 u;
	const char		*p, *why;
	int			 implicit, r, rc = 0;
	size_t			 n;

	if ((xs = xs_new(&lim)) == NULL || (in = evbuffer_new()) == NULL) {
		xs_free(xs);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	implicit = !has_header(buf, len);
	if (implicit)
		evbuffer_add(in, implicit_header, sizeof(implicit_header) - 1);
	evbuffer_add(in, buf, len);
	p = (const char *)evbuffer_pullup(in, -1);
	len = evbuffer_get_length(in);
	for (;;) {
		while ((r = xs_next(xs, &u)) == 1) {
			if (rc == 0 && render_unit(out, o, &u, p, implicit) ==
			    -1) {
				snprintf(err, errlen, "out of memory");
				rc = -1;
			}
			p += u.len;
			len -= u.len;
			stanza_free(u.st);
		}
		if (r == -1)
			break;
		n = len - xs_buffered(xs);
		if (n == 0)
			break;
		if (n > XS_FEED_MAX)
			n = XS_FEED_MAX;
		if (xs_feed(xs, p + xs_buffered(xs), n) == -1)
			break;
	}
	if (xs_error(xs, &why) != XS_ERR_NONE) {
		snprintf(err, errlen, "capture is not a valid XMPP stream: %s "
		    "(%s)", xs_error_condition(xs_error(xs, NULL)), why);
		rc = -1;
	} else if (len > 0 && rc == 0) {
		snprintf(err, errlen, "capture ends inside a stanza (%zu "
		    "bytes not rendered)", len);
		rc = -1;
	}
	xs_free(xs);
	evbuffer_free(in);
	return rc;
}

int
cmd_render(int argc, char **argv)
{
	struct render_opts	 o = { 1, LOGFMT_VM, "" };
	struct evbuffer		*in, *out;
	char			 err[512];
	int			 i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--from-server") == 0)
			o.from_server = 1;
		else if (strcmp(argv[i], "--from-rabbit") == 0)
			o.from_server = 0;
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
			    " [--format vm|raw|both] [--prefix STR] < capture\n");
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
	evbuffer_free(in);
	evbuffer_free(out);
	return rc == -1 ? 1 : 0;
}
