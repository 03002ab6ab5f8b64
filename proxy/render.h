/*
 * render: offline rendering of a captured XMPP byte stream into the log
 * formats, so people can paste a capture and see how the rabbit sees it.
 */
#ifndef NAB_RENDER_H
#define NAB_RENDER_H

#include <stddef.h>

#include "attrib.h"

struct evbuffer;

struct render_opts {
	int		from_server;	/* 1: server -> rabbit, 0: rabbit -> server */
	int		format;		/* LOGFMT_VM, LOGFMT_RAW, LOGFMT_BOTH */
	const char	*prefix;	/* before every line, may be "" */
};

/*
 * Render a capture: it is cut into units with the proxy's own stream
 * parser (a capture without a stream header gets an implicit one), and
 * each stanza is rendered on its own, as if it arrived in its own read.
 * Returns 0, or -1 with a reason in err when the capture is not XMPP
 * (what was rendered before the error is in out).
 */
int	render_capture(struct evbuffer *out, const struct render_opts *,
	    const char *buf, size_t len, char *err, size_t errlen) WUNRES;

#endif /* NAB_RENDER_H */
