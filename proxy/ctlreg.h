/*
 * ctlreg: what the control socket shows. A registry of the live sessions
 * (address, identity, boot stage timeline, bytes each way, last error), a
 * bounded history of attempts that never got online, the `watch` list of
 * MACs whose traffic is kept from the first byte, and the live taps.
 *
 * Sessions report through a few NULL-safe calls (open, unit, traffic,
 * closing, close); nothing here calls back into a session except for its
 * identity (read) and ctlreg_kick(). Everything is bounded: timeline
 * steps, history entries, watch bytes, and a tap sink decides itself
 * what it drops.
 */
#ifndef NAB_CTLREG_H
#define NAB_CTLREG_H

#include <stddef.h>
#include <stdint.h>

#include "attrib.h"
#include "logsafe.h"

struct ctlreg;
struct ctlrec;
struct ctltap;
struct counters;
struct evbuffer;
struct session;
struct stanza;
struct xs_unit;

#define CTLREG_HISTORY		32	/* ended attempts kept */
#define CTLREG_WATCH_BYTES	(256 * 1024)	/* unit bytes per watched session */
#define CTLREG_PENDING_BYTES	(64 * 1024)	/* same, until its MAC is known */
#define CTLREG_WATCH_MAX	64	/* MACs in `watch` */
#define CTLREG_STEPS		16	/* timeline steps per session */
#define CTLREG_NCONDS		27	/* RFC 6120 stream errors, none, other */

/* The boot stages, in the firmware's order (the simulator skips some). */
enum ctl_stage {
	CTL_CONNECTED = 0,
	CTL_STREAM,
	CTL_REGISTER,
	CTL_AUTH,
	CTL_BIND_BOOT,
	CTL_BIND,		/* a bind with another resource (simulator) */
	CTL_SESSION,
	CTL_SOURCES,
	CTL_BIND_IDLE,
	CTL_PRESENCE,
	CTL_IDLE
};

/* Condition i of ctlreg_counts.closed: "none", RFC 6120's, "other". */
const char	*ctlreg_cond_name(int i);
/* Stage name as shown ("bind-boot"). */
const char	*ctlreg_stage_name(enum ctl_stage);

struct ctlreg	*ctlreg_new(void) WUNRES;
void		 ctlreg_free(struct ctlreg *);
/*
 * Set the watch list from a config value: MACs (12 hex digits, any case,
 * ':' or '-' between pairs allowed) separated by spaces or commas. 0, or
 * -1 with err naming the bad word (the old list stays).
 */
int		 ctlreg_set_watch(struct ctlreg *, const char *list, char *err,
		    size_t errlen) WUNRES;

/* A new session (reg may be NULL: then NULL, and every call is a no-op). */
struct ctlrec	*ctlreg_open(struct ctlreg *, struct session *, uint64_t id,
		    const char *peer);
/*
 * A unit parsed from the rabbit (from_server 0) or the server: bytes and
 * counts, and the rabbit's stage. Server stanzas tell errors and getting
 * online only through ctlreg_stanza(), once they go to the rabbit.
 */
void		 ctlreg_unit(struct ctlrec *, int from_server,
		    const struct xs_unit *);
/* A stanza that goes to the rabbit (from_server 1), the server's or
   nabproxy's own, or one nabproxy sends the server in the rabbit's place. */
void		 ctlreg_stanza(struct ctlrec *, int from_server,
		    struct stanza *);
/*
 * A stanza framed without a tree (xs_unit.light, an XS_LIGHT_* bit) that
 * went its way: what its name tells, as ctlreg_unit() and ctlreg_stanza()
 * would have read it from the tree (call after ctlreg_unit()).
 */
void		 ctlreg_light(struct ctlrec *, int from_server, unsigned light);
/* A warning the session logged: kept as the record's last warning. */
void		 ctlreg_warning(struct ctlrec *, const char *msg);
/*
 * Redacted unit bytes as logged: to the taps and the watch buffer, and a
 * server stanza's firmware hazard noted. misread: what a [vm] rendering
 * of the same bytes already found (logsafe_render(); 1 or 0), or -1 to
 * look here.
 */
void		 ctlreg_traffic(struct ctlrec *, int from_server,
		    enum logsafe_vm, const char *intro, const char *bytes,
		    size_t len, int misread);
/*
 * 1 if ctlreg_traffic() would keep or show the bytes (a watch or a tap):
 * without one, and without a log, a session need not format its units.
 */
int		 ctlreg_wants_traffic(const struct ctlrec *);
/*
 * A server stanza nobody logs or taps: only its parser hazard is kept
 * (what ctlreg_traffic() would note). Raw bytes; with redact set, the
 * reason is taken from the redacted bytes, never from a secret.
 */
void		 ctlreg_hazard(struct ctlrec *, const char *bytes, size_t len,
		    int redact);
/*
 * The session's one teardown reason (the first one given stays), and the
 * stream error condition the rabbit gets (NULL or "": none).
 */
void		 ctlreg_closing(struct ctlrec *, const char *cond,
		    const char *reason);
/* The session is freed: into the history if it never got online. */
void		 ctlreg_close(struct ctlrec *);

/*
 * Taps. sel is "all", a session id or a MAC; fmt a LOGFMT_* mask. sink
 * gets rendered lines (each starting with the session id and a space);
 * it must not block and decides itself what to drop. A MAC tap first
 * gets what the watch buffer holds for that MAC. NULL on a bad selector
 * (err says why) or ENOMEM.
 */
typedef void	 ctltap_sink(void *arg, const char *lines, size_t len);
struct ctltap	*ctlreg_tap(struct ctlreg *, const char *sel, int fmt,
		    ctltap_sink *, void *arg, char *err, size_t errlen);
void		 ctlreg_untap(struct ctlreg *, struct ctltap *);

/* Reports; each appends lines to out. -1 on ENOMEM. */
int		 ctlreg_list(struct ctlreg *, struct evbuffer *out, int json);
int		 ctlreg_history(struct ctlreg *, struct evbuffer *out,
		    const char *mac, int json);
int		 ctlreg_stats(struct ctlreg *, struct evbuffer *out);
/* Counters since start, for /metrics. */
struct ctlreg_counts {
	unsigned long long	opened;		/* sessions */
	unsigned long long	never_online;	/* ended without getting online */
	unsigned long long	kicked;
	unsigned long long	bytes[2];	/* by from_server */
	unsigned long long	units[2];	/* parsed units, by from_server */
	unsigned long long	stanzas[2];	/* of which stanzas */
	unsigned long long	scanned[2];	/* of which framed without expat */
	unsigned long long	reached[CTL_IDLE + 1];	/* sessions per stage */
	unsigned long long	auth_failed;	/* SASL <failure> */
	unsigned long long	refused;	/* iq errors */
	unsigned long long	stream_errors;
	unsigned long long	closed[CTLREG_NCONDS];	/* ctlreg_cond_name() */
	size_t			live;
	size_t			history;
};
void		 ctlreg_counts(struct ctlreg *, struct ctlreg_counts *)
		    NONNULL(1, 2);
/* Count the rabbits' SASL outcomes into c (counters_auth) from now on. */
void		 ctlreg_set_counters(struct ctlreg *, struct counters *c);
/* End session id (reason "kicked by the control socket"); 0 or -1. */
int		 ctlreg_kick(struct ctlreg *, uint64_t id);

#endif /* NAB_CTLREG_H */
