/*
 * logsafe: what makes a traffic line safe to log. Redaction decided from
 * the parsed stanza (expat's view of the bytes, not a text pattern), and
 * escaping of peer bytes so that no peer byte can start a line of its own,
 * look like a daemon line or drive a terminal.
 *
 * Secret content (replaced by "***"): the children and text of every
 * element whose local name is `password` or `digest`, whatever its prefix
 * or namespace; of SASL `auth`, `response`, `challenge` and `success`
 * (namespace urn:ietf:params:xml:ns:xmpp-sasl, or a prefix nobody
 * declared). Tags stay, so the log still shows the structure. Bytes the
 * parser cannot read are withheld from the first unreadable byte on, and
 * so is the rest of a unit past a limit (more than 64 secrets, 128 xmlns
 * declarations in scope, a prefix of 32 bytes or more, depth 256).
 */
#ifndef NAB_LOGSAFE_H
#define NAB_LOGSAFE_H

#include <stddef.h>

#include "attrib.h"

struct evbuffer;

/* Escaping modes of logsafe_escape(). */
enum logsafe_mode {
	LOGSAFE_KEEP_NL = 0,	/* newline and tab kept (rendered [vm] lines) */
	LOGSAFE_ONE_LINE	/* everything below 0x20 escaped, and a line
				   never starts with anything but '<' or '\' */
};

/*
 * Append to out the unit bytes b[0..n) with every secret element's content
 * replaced by "***" (see above). A secret element that does not end in b
 * hides everything after its start tag. Returns the number of
 * secrets hidden (0 or more), or -1 on ENOMEM, in which case out may hold
 * a partial copy the caller must discard. Borrows everything.
 */
int	logsafe_redact(struct evbuffer *out, const char *b, size_t n)
	    NONNULL(1) WUNRES;

/*
 * Append b[0..n) to out with peer bytes made inert: a backslash is "\\",
 * CR "\r", NUL "\0", DEL and the other C0 controls "\xNN", newline and tab
 * as "\n" and "\t" in LOGSAFE_ONE_LINE mode (kept in LOGSAFE_KEEP_NL
 * mode); UTF-8 sequences are kept except C1 controls (U+0080 to U+009F),
 * and bytes that are not valid UTF-8 are "\xNN". In LOGSAFE_ONE_LINE mode
 * a first byte that is not '<' is written as "\xNN", so the line cannot
 * begin like a daemon line's time stamp. 0, or -1 on ENOMEM.
 */
int	logsafe_escape(struct evbuffer *out, const char *b, size_t n,
	    enum logsafe_mode mode) NONNULL(1) WUNRES;

/* What logsafe_render() shows of a unit in the [vm] format. */
enum logsafe_vm {
	LOGSAFE_VM_NONE = 0,	/* nothing (whitespace, headers from the server) */
	LOGSAFE_VM_SENDING,	/* "[vm] Sending : ...(end)" (from the rabbit) */
	LOGSAFE_VM_RECEIVE	/* the firmware's tree (a server stanza) */
};

/*
 * Render one unit's (already redacted) bytes as traffic lines: fmt is a
 * LOGFMT_* mask (proxy.h); raw blocks carry the bytes escaped in
 * LOGSAFE_ONE_LINE mode, [vm] lines are rendered from the bytes and then
 * escaped in LOGSAFE_KEEP_NL mode (the renderer starts every line it
 * makes with prefix and "[vm] "). intro, when not NULL, is a note line
 * "[vm] !! intro:" put first; a stanza the firmware misreads gets a
 * "[vm] !! rabbit misreads this stanza: why" line; a unit holding a
 * violet:packet, a button click or ear positions (vpacket.h) ends with a
 * "[vm] !! packet: ..." / "button: ..." / "ears: ..." line, whatever the
 * format (fmt not 0, vm not LOGSAFE_VM_NONE). prefix (trusted, may be
 * "") starts every line. With misread not NULL, *misread is what the
 * [vm] rendering found out about the firmware misreading the unit (1 or
 * 0), or -1 if it did not look (not LOGSAFE_VM_RECEIVE in the vm format).
 * 0, or -1 on ENOMEM (out may hold part).
 */
int	logsafe_render(struct evbuffer *out, const char *prefix, int fmt,
	    int from_server, enum logsafe_vm vm, const char *intro,
	    const char *bytes, size_t len, int *misread) NONNULL(1, 2) WUNRES;

#endif /* NAB_LOGSAFE_H */
