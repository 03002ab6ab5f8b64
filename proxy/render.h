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
	int		 one_read;	/* 1: the whole capture as one read */
};

/*
 * Render a capture. By default it is cut into units with the proxy's own
 * stream parser (a capture without a stream header gets an implicit one)
 * and each stanza is rendered on its own, as if it arrived in its own
 * read. Where the capture stops being XMPP (not well-formed, restricted
 * XML, text between stanzas, a capture that ends inside a stanza), a note
 * "[vm] !! not XMPP from here on: VERDICT; the rest as the firmware reads
 * it in one read" follows, then the rest of the capture read by the
 * firmware's parser emulation as one buffer (after the stream header if
 * it was not read yet): its trees, where it stalls, goes deaf or drops an
 * element. With one_read, the whole capture is one read: a note
 * "[vm] !! the whole capture as one read (N bytes)", the verdict as
 * "[vm] !! not XMPP: VERDICT" when there is one, then that reading. Every
 * stanza holding a violet:packet, a button or ears is followed by the
 * "[vm] !! ..." line of vpacket_describe(). Returns 0 (the capture is
 * XMPP), 1 (it is not: the verdict is in err), or -1 on ENOMEM.
 */
int	render_capture(struct evbuffer *out, const struct render_opts *,
	    const char *buf, size_t len, char *err, size_t errlen) WUNRES;

#endif /* NAB_RENDER_H */
