/*
 * vmlog: the rabbit's own "[vm]" log, rendered from the bytes that cross
 * the proxy.
 *
 * The tree is produced by an emulation of the firmware's XML parser
 * (bootcode 18673, xmlparser.mtl, run in the Metal VM's string
 * primitives), so it shows what the rabbit understood, quirks included,
 * not what the XML means. Everything is stateless: one call renders one
 * read buffer.
 *
 * Output format (prefix P, empty for the exact seed format, is written at
 * the start of every output line, continuation lines included):
 *
 *	P[vm] Receive : 			one per top-level element
 *	P[vm]     |<2d dots>name		element at depth d (0 = top)
 *	P[vm]     |<2d+1 spaces>name => value	attribute (NIL if nil)
 *	P[vm]     !<2(d+1) dots>text		text child of an element at d
 *	P[vm] Sending : <bytes>(end)
 *	P[vm] !! <warning>			our own lines, never firmware's
 *
 * Names, values and texts are printed raw (no escaping, no entity
 * decoding) and cut at their first NUL, as the simulator's "%s" does. A
 * string holding newlines continues on further lines, each starting with
 * P"[vm] " and nothing else (the simulator prefixes every line it prints).
 * Text nodes that print as nothing but spaces, tabs, CRs and LFs are
 * skipped (the seed was pretty-printed by hand and shows none).
 *
 * All functions append to `out` only on success: on -1 (ENOMEM) nothing
 * was appended. Output is at most a small constant times the input plus
 * the prefix per line, and at most VMLOG_MAX_NODES lines of tree; time is
 * linear in the input (the firmware's own parser is quadratic on some
 * inputs: the emulation stops with a warning after VMLOG_WORK_FACTOR
 * bytes scanned per input byte).
 */
#ifndef NAB_VMLOG_H
#define NAB_VMLOG_H

#include <stddef.h>

#include "attrib.h"

struct evbuffer;

/*
 * Limits of the emulation; past one, it stops with a warning line. Each
 * is far beyond what a stanza the rabbit can handle needs.
 */
#define VMLOG_MAX_DEPTH		64	/* nesting */
#define VMLOG_MAX_NODES		65536	/* elements, attributes, texts */
#define VMLOG_MAX_INPUT		(4u * 1024 * 1024)	/* bytes */
#define VMLOG_WORK_FACTOR	128	/* bytes scanned per input byte */
/* Size for vmlog_misread()'s reason buffer that never truncates it. */
#define VMLOG_WHY_SIZE		256

/*
 * Render one read buffer from the server as the rabbit logs it: a
 * "Receive : " header and tree for every top-level element the firmware
 * takes off the buffer, in order (always that header, also where the
 * firmware's state machine would print "XML in=[" around the tree). When
 * the firmware would not take the rest, one warning line "[vm] !! ..."
 * says why instead of a tree: leading text that makes the rabbit deaf,
 * an element whose end is not in the buffer (the firmware waits; "<x/>"
 * never ends), an unclosed attribute quote (the firmware recurses
 * forever), one of the VMLOG_MAX_ limits or the work limit. An element
 * the firmware drops gets a warning line and parsing goes on after it, as
 * at the rabbit's next read. A buffer holding "</stream:stream>" prints
 * the firmware's own "gate stream closed, rebooting" and nothing else.
 *
 * prefix may be NULL (empty); buf may be NULL when len is 0. If misread
 * is not NULL, *misread is set to 1 when the firmware's reading differs
 * from a clean XML reading (see vmlog_misread()), else 0; the tree lines
 * are the same either way.
 *
 * Returns the number of trees rendered (0 or more), or -1 on ENOMEM, in
 * which case nothing was appended and *misread is 0. Borrows everything.
 */
int	vmlog_receive(struct evbuffer *out, const char *prefix,
	    const char *buf, size_t len, int *misread) NONNULL(1);

/*
 * Say whether the firmware reads buf differently from a clean XML reading,
 * by looking in its tree for what no conforming parser would produce: an
 * element or attribute name that is not an XML Name ("x/", NIL, "b ", a
 * tab inside), markup or a NUL in a text or value (an element swallowed
 * into text), a dropped element, bytes lost after a self-closing tag, an
 * entity left encoded, and any buffer the firmware does not drain (leading
 * text, an end it waits for, a stall, a limit, "</stream:stream>" inside
 * a stanza). For well-formed XML this is exactly "the trees differ"
 * (whitespace-only text aside); for other input it flags what the rabbit
 * visibly gets wrong, not every departure from the XML grammar.
 *
 * Returns 1 (misread) with a one-line reason in why, 0 with why "", or
 * -1 on ENOMEM. why is NUL-terminated, peer bytes in it are escaped and
 * quoted, it is truncated to whysz; it may be NULL when whysz is 0.
 */
int	vmlog_misread(const char *buf, size_t len, char *why, size_t whysz)
	    WUNRES;

/*
 * Render bytes the rabbit sends as its firmware logs them:
 * "[vm] Sending : " + bytes + "(end)". Bytes holding newlines span lines
 * (the stream header ends in one, so its "(end)" stands on a line of its
 * own). Like the simulator's "%s", output stops at the first NUL byte,
 * and then no "(end)" follows. Returns 0, or -1 on ENOMEM.
 */
int	vmlog_sending(struct evbuffer *out, const char *prefix,
	    const char *buf, size_t len) NONNULL(1);

/*
 * Render bytes as the seed's raw blocks: "SEND:" (from_server 0) or
 * "RECEIVE:" (from_server 1), an empty line, the bytes exactly as they
 * are (NULs and CRs included), a newline, an empty line. The prefix starts
 * every line, the empty ones included. Returns 0, or -1 on ENOMEM.
 */
int	vmlog_raw(struct evbuffer *out, const char *prefix, int from_server,
	    const char *buf, size_t len) NONNULL(1);

/*
 * Find where the firmware's buffer starts after a server stream header:
 * just past the first '>' following the literal "<stream:stream". The
 * firmware looks in one TCP segment only and discards everything up to
 * there, "<?xml ...?>" included. Returns 1 with *end set, or 0 when the
 * header is not complete in buf (the stream does not open).
 */
int	vmlog_header_end(const char *buf, size_t len, size_t *end)
	    NONNULL(3);

#endif /* NAB_VMLOG_H */
