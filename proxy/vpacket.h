/*
 * vpacket: the payloads of a Nabaztag conversation as one short human
 * line, for the tap, the traffic log, the live page and `nabproxy render`.
 *
 * A violet:packet (bootcode-xmpp.md section 5) is base64 of 0x7f, blocks
 * [type:1][len:3 big-endian][data], 0xff. It reads as
 *	packet: ambient(weather=2, left ear=5) reboot
 * one word per block, in order: ambient(SERVICE=VALUE, ...) for type 4
 * (after its 4-byte header, pairs of service and value; service 0 is
 * "disable=SERVICE"), reboot (9), program("TEXT") (10, the message
 * program text de-obfuscated as OpenJabNab's server does), wake / sleep
 * (11 with 0 or 1, else mode(HEX)), ping-delay(HEX) (3) and type-N(HEX)
 * otherwise. What is wrong is said in brackets where it is found:
 * [no 0x7f], [block type 4 cut: 3 of 9 bytes], [no 0xff], [2 bytes after
 * 0xff], [3 bytes outside base64]. The
 * rabbit's own events read "button: 1 click" / "button: 2 clicks" (from
 * <clic>, plus ", event V" when an <event> text follows) and
 * "ears: left=L right=R".
 *
 * Every peer byte in a line is printable ASCII: a newline is \n, '"' and
 * '\\' are \" and \\, anything else \xNN; texts are cut at VPACKET_TEXT_MAX
 * bytes ("..."), the whole line at the caller's size. Nothing here
 * allocates except the firmware-parser emulation vpacket_describe() runs;
 * time is linear in the input.
 */
#ifndef NAB_VPACKET_H
#define NAB_VPACKET_H

#include <stddef.h>

#include "attrib.h"

#define VPACKET_LINE_MAX	512	/* a line that never truncates */
#define VPACKET_TEXT_MAX	48	/* peer text quoted in a line */

/*
 * Decode the base64 text of one violet:packet (b64 may be NULL when n is
 * 0) into line as "packet: ..." (see above), NUL-terminated, truncated to
 * linesz (at least 1). Base64 as the firmware reads it: '=' is a zero
 * sextet, other bytes outside the alphabet are skipped (and counted).
 */
void	vpacket_decode(const char *b64, size_t n, char *line, size_t linesz)
	    NONNULL(3);

/*
 * Describe one unit (a stanza's bytes, from either side) as the firmware's
 * parser reads it: every element named "packet" whose xmlns attribute is
 * "violet:packet" and whose first child is text, every "button" holding a
 * "clic" and every "ears" holding "left" or "right", joined by "; ".
 * Returns 1 with the line, 0 (line "") when there is nothing to describe,
 * -1 on ENOMEM (line ""). A cheap byte search skips the parser for units
 * that mention none of these.
 */
int	vpacket_describe(const char *buf, size_t len, char *line,
	    size_t linesz) NONNULL(3) WUNRES;

#endif /* NAB_VPACKET_H */
