/*
 * zutil.h: the test side of a zlib stream (XEP-0138) for the tests of
 * zstream.c and session_zlib.c. Header-only, like nabtest.h.
 */
#ifndef NAB_ZUTIL_H
#define NAB_ZUTIL_H

#include <stdint.h>

#include <event2/buffer.h>
#include <zlib.h>

#include "testutil.h"

/* Deflate n bytes onto out; flush is Z_NO_FLUSH or Z_SYNC_FLUSH. */
__attribute__((unused)) static void
zput(z_stream *zo, struct evbuffer *out, const void *p, size_t n, int flush)
{
	unsigned char	buf[16384];
	int		r;

	zo->next_in = (Bytef *)(uintptr_t)p;
	zo->avail_in = (uInt)n;
	do {
		zo->next_out = buf;
		zo->avail_out = sizeof(buf);
		r = deflate(zo, flush);
		CHECK(r == Z_OK || r == Z_BUF_ERROR, "deflate: %d", r);
		CHECK(evbuffer_add(out, buf, sizeof(buf) - zo->avail_out) == 0,
		    "evbuffer_add");
	} while (zo->avail_out == 0 || zo->avail_in > 0);
}

#endif /* NAB_ZUTIL_H */
