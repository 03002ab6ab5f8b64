/*
 * zstream: XEP-0138 stream compression (method zlib) as a layer on a leg.
 *
 * Like TLS, the layer is a filter bufferevent on top of the leg's current
 * one, put there at the byte after <compressed/>: input is inflated,
 * output deflated with a sync flush per write so every stanza leaves at
 * once. A compressed peer can send a bomb (a few KB that inflate to GB),
 * so inflation stops at ZS_HIGH_WATER bytes of plain input not yet
 * consumed and resumes as the reader consumes them: memory stays bounded
 * whatever the ratio, and the stream parser's caps do the rest.
 */
#ifndef NAB_ZSTREAM_H
#define NAB_ZSTREAM_H

#include <stddef.h>

#include "attrib.h"

struct leg;
struct st_node;

#define ZS_NS_FEATURE	"http://jabber.org/features/compress"
#define ZS_NS		"http://jabber.org/protocol/compress"

/* Plain input inflated ahead of the reader, at most, by default. */
#define ZS_HIGH_WATER	(64 * 1024)

/* Does this <stream:features> offer <method>zlib</method>? 1 yes, 0 no. */
int	 zs_offered(const struct st_node *features);

/*
 * Put a zlib layer on the leg; bytes already in its input buffer are the
 * first compressed ones. -1 with a reason in err (ENOMEM, zlib refusing
 * to start, a leg already compressed): the caller closes the leg.
 */
int	 zs_wrap(struct leg *, char *err, size_t errlen) WUNRES;

/*
 * Inflate at most `high` bytes ahead of the reader (default ZS_HIGH_WATER).
 * A reader that keeps a partial unit in its input until it is complete
 * needs more than its largest unit, or it waits forever.
 */
void	 zs_set_high_water(struct leg *, size_t high);

/* For leg.c: the bufferevent goes; the layer must not touch it again. */
void	 zs_detach(struct leg *);

/* For leg.c: reading resumed; inflate what waits below. */
void	 zs_kick(struct leg *);

/*
 * For leg.c: the lower layer reported EOF. 1 if compressed bytes still
 * wait (the EOF is reported again once they are inflated), 0 to report
 * it now.
 */
int	 zs_defer_eof(struct leg *);

/*
 * Why the zlib layer of a leg failed (corrupt or truncated data), "" if
 * it did not or the leg has none.
 */
const char *zs_error(struct leg *, char *buf, size_t len);

/* For leg.c: did the layer itself fail (the socket below is fine)? */
int	 zs_failed(const struct leg *);

/* Totals of the leg's zlib layer (plain and compressed bytes); 0 if none. */
void	 zs_counts(struct leg *, unsigned long long *in_plain,
	    unsigned long long *in_z, unsigned long long *out_plain,
	    unsigned long long *out_z);

#endif /* NAB_ZSTREAM_H */
