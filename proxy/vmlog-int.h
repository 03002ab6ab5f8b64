/*
 * vmlog internals shared by vmlog.c (the firmware parser emulation and
 * the renderings), vmlog_misread.c (what the rabbit gets wrong, in one
 * sentence) and vpacket.c (decoded payloads, read from the firmware's
 * tree). Not a public interface: nothing else includes it. The tree
 * is a list of windows into the caller's buffer, so both sides read it
 * without copies.
 */
#ifndef NAB_VMLOG_INT_H
#define NAB_VMLOG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "attrib.h"

#define VS_NIL		SIZE_MAX	/* struct vs.off of nil */
#define FC_BYTES	" ><='\""	/* bytes the parser searches for; */
					/* vmlog.c fc_index() in this order */
#define NCACHE		32		/* end-tag searches kept, by name */
#define STREAM_END	"</stream:stream>"

/* An MTL string: a window of the input, or nil. */
struct vs {
	size_t	off;
	size_t	len;
};

/* Node kinds; EV_DROP: an element the firmware dropped, a = its name. */
enum ev_kind { EV_NONE = 0, EV_ELEM, EV_ATTR, EV_TEXT, EV_DROP };

/* One node of a tree in document order; depth gives the shape. */
struct ev {
	enum ev_kind	kind;
	int		depth;	/* text: its parent's depth + 1 */
	struct vs	a;	/* name, attribute name or text */
	struct vs	b;	/* attribute value */
};

/* Why the firmware stopped taking elements off the buffer. */
enum fw_state {
	FW_DONE = 0,	/* buffer drained */
	FW_ENOMEM,
	FW_POISON,	/* leading text: deaf for good */
	FW_NOGT,	/* "<" without ">": waits */
	FW_NOEND,	/* no "</name>": waits, forever for "x/" */
	FW_DROP,	/* attributes end after a quote: element dropped */
	FW_STALL,	/* unclosed quote: endless recursion */
	FW_REBOOT,	/* "</stream:stream>" in the buffer */
	FW_DEEP,	/* our limits from here on */
	FW_NODES,
	FW_COSTLY,
	FW_TOOBIG
};

/* First position >= from of a byte or of "</key>"; SIZE_MAX: none. */
struct fcache {
	size_t	key;
	size_t	keylen;
	size_t	from;
	size_t	at;
	int	valid;
};

/* One emulation run: the input, its tree and where the firmware stopped. */
struct fw {
	const char	*buf;
	size_t		 len;
	struct fcache	 fc[sizeof(FC_BYTES) - 1];
	struct fcache	 ec[NCACHE];
	char		*pat;		/* "</name>" scratch */
	size_t		 patcap;
	size_t		 work;		/* bytes scanned so far */
	size_t		 budget;
	struct ev	*ev;		/* the tree, in document order: */
					/* ev0 until it outgrows it */
	size_t		 nev;
	size_t		 evcap;
	enum fw_state	 state;
	struct vs	 what;		/* name or text the state is about */
	size_t		 kept;		/* bytes left in the rabbit's buffer */
	struct vs	 lost;		/* first bytes a "<x .../>" lost */
	int		 trees;
	/* Not cleared per run (vmlog_fw_run): a stanza's tree without malloc. */
	struct ev	 ev0[16];
	char		 pat0[64];
};

/*
 * vmlog.c: run the emulation on buf (not NULL; "" when len is 0) into f,
 * which borrows buf. Always fills f: on ENOMEM f->state is FW_ENOMEM.
 * The caller releases f with vmlog_fw_free(), whatever the state.
 */
void	vmlog_fw_run(struct fw *f, const char *buf, size_t len) NONNULL(1, 2);

/* vmlog.c: free what vmlog_fw_run() allocated; f may be run again. */
void	vmlog_fw_free(struct fw *f) NONNULL(1);
/* memmem(h, n, needle, m) for short needles (the emulation's searches). */
const char *vmlog_find(const char *h, size_t n, const char *needle, size_t m)
	    NONNULL(1, 3);

/* vmlog.c: 1 if the window holds only spaces, tabs, CRs and LFs. */
int	vmlog_vs_blank(const char *buf, struct vs s) NONNULL(1);

/*
 * vmlog_misread.c: one sentence on why the firmware stopped (st, about
 * what), or on dropping element `what` (FW_DROP), into msg: always
 * NUL-terminated, truncated to msgsz (at least 1). Peer bytes are escaped
 * and quoted.
 */
void	vmlog_fw_msg(char *msg, size_t msgsz, const struct fw *f,
	    enum fw_state st, struct vs what) NONNULL(1, 3);

/*
 * vmlog_misread.c: misread check of a finished emulation (state not
 * FW_ENOMEM). Returns 1 with a reason in why, or 0 with why ""; why may
 * be NULL when whysz is 0. See vmlog_misread() in vmlog.h.
 */
int	vmlog_fw_check(const struct fw *f, char *why, size_t whysz)
	    NONNULL(1);

#endif /* NAB_VMLOG_INT_H */
