/*
 * session internals shared by session.c (lifecycle, flow control, units)
 * and session_io.c (output, logging, identity, hold queue, login). Not a
 * public interface: nothing outside these two files includes it.
 */
#ifndef NAB_SESSION_INT_H
#define NAB_SESSION_INT_H

#include <sys/queue.h>
#include <sys/time.h>

#include "identity.h"
#include "leg.h"
#include "proxy.h"
#include "session.h"
#include "upstream.h"
#include "xmlstream.h"

struct login;
struct st_node;
struct probe;
struct rabbitlog;
struct ctlrec;

/* XEP-0138 compression the rabbit negotiates with the server. */
enum se_z {
	SE_Z_NONE = 0,
	SE_Z_ASKED,		/* <compress/> went up, rabbit paused */
	SE_Z_ON			/* both legs compressed */
};

struct session {
	TAILQ_ENTRY(session)	 entry;
	struct proxy		*px;
	uint64_t		 id;
	const struct proxy_opts *opt;		/* shared, held from accept (optsnap.c) */
	char			 peer[64];
	char			 peer_ip[48];
	struct leg		 r;		/* rabbit side */
	struct leg		 s;		/* server side */
	struct xmlstream	*xs[2];		/* indexed by enum nab_dir */
	struct chain		*chain;
	struct evbuffer		*held;		/* rabbit -> server, held */
	struct rabbitlog	*rlog;		/* log-dir file, or NULL */
	struct ctlrec		*rec;		/* control socket's record */
	int			 holds;
	struct event		*timer;		/* connect, idle, linger */
	struct event		*reaper;	/* deferred free */
	struct event		*kick;		/* deferred re-processing */
	struct event		*login_timer;	/* own-stream login deadline */
	struct event		*deadline;	/* login-timeout from accept */
	struct event		*stall;		/* write-timeout */
	struct session		*dial_next;	/* px->dial_head FIFO */
	struct xs_unit		 dial_unit;	/* header kept while waiting */
	struct timeval		 last_active;

	char			*r_header;	/* rabbit's header bytes */
	size_t			 r_header_len;
	struct stanza		*features;	/* server's latest features */

	/* The server side's protocol: STARTTLS, our login, its restart. */
	struct upstream		 up;
	/* Our login on it (or on a fresh connection): the filter's callback. */
	session_login_cb	*login_cb;
	void			*login_arg;
	int			 authenticated;
	int			 restart_rabbit;	/* reset R parser next */
	int			 eof_deferred;	/* rabbit's FIN waits (se_kick) */
	int			 registered;	/* the server registered an account */
	char			 reg_id[64];	/* id of the register set upstream */
	int			 reg_pending;	/* its answer not seen yet */
	enum se_z		 z_state;
	int			 adopting;	/* fresh-connection login runs */
	struct probe		*probes;

	/* Who the rabbit is and how this connection proved it. */
	struct identity		 who;
	int			 nab_header;	/* rabbit's header is A1-shaped */
	int			 profile_auto;	/* profile not chosen yet */
	int			 we_authenticated;	/* our login, not the rabbit's */

	const char		*close_cond;	/* set by a filter, or NULL */
	char			 close_cond_buf[48];
	char			*close_reason;
	char			*end_reason;	/* for on_close, NULL until set */
	char			*upstream_failed;	/* owned, or se_nomem_upstream */

	unsigned		 linked:1;
	unsigned		 failing:1;
	unsigned		 dead:1;
	unsigned		 r_header_seen:1;
	unsigned		 r_has_decl:1;	/* rabbit's header had <?xml?> */
	unsigned		 rabbit_has_header:1;
	unsigned		 dialled:1;	/* header in: dial (or wait) */
	unsigned		 dialing:1;	/* holds a max-dials slot */
	unsigned		 dial_waiting:1;	/* in the FIFO, not read */
	unsigned		 dial_go:1;	/* its turn: se_kick dials */
	unsigned		 bound:1;	/* server's bind result seen */
	unsigned		 in_process[2];
	unsigned		 ended[2];	/* </stream:stream> seen */
	unsigned		 eof_sent[2];	/* FIN passed on */
};

/* session.c */
extern const struct leg_cbs se_leg_cbs;
struct leg	*se_src(struct session *, enum nab_dir);
struct leg	*se_dst(struct session *, enum nab_dir);
void		 se_arm_timer(struct session *, unsigned);
void		 se_propagate_eof(struct session *, enum nab_dir);
void		 session_fail(struct session *, const char *to_rabbit,
		    const char *to_server, const char *reason);
/* session_login.c: the on_close reason of a session_fail(). */
void		 se_end_failed(struct session *, const char *to_rabbit,
		    const char *reason);

/* session_io.c */
enum logu_origin {
	LOGU_PEER = 0,		/* bytes the peer sent */
	LOGU_REPAIRED,		/* a filter's replacement for them */
	LOGU_PROXY		/* sent by nabproxy on its own */
};
void		 se_log_unit(struct session *, enum nab_dir, const char *bytes,
		    size_t len, enum xs_kind, enum logu_origin);
void		 se_identity_init(struct session *);
/*
 * Move a unit's len bytes from the front of `in` on from `d` (to the other
 * side, or to the hold queue); bytes is the same data, contiguous, for the
 * log.
 */
void		 se_send_unit(struct session *, enum nab_dir d,
		    struct evbuffer *in, const char *bytes, size_t len,
		    enum xs_kind);
/*
 * The root names (XS_LIGHT_*) whose stanzas nothing reads as a tree right
 * now: no filter with a stanza hook, no profile to choose, no upstream
 * login or STARTTLS running, no close decided. Message and presence only,
 * never iq: nabproxy's own readers (login, bind, registration, the
 * firmware, the refused account changes) look into iq. The logs, taps and the hazard check read bytes, not trees (a
 * light stanza is well-formed: xframe checked it).
 */
unsigned	 se_light_names(struct session *);
/* An XS_STANZA unit framed without a tree: counted, noted, sent on. */
void		 se_light_unit(struct session *, enum nab_dir d,
		    const struct xs_unit *, struct evbuffer *in,
		    const char *bytes);
/* Serialise and send; frees nothing. */
void		 se_send_stanza(struct session *, enum nab_dir d,
		    struct stanza *, int open_only);
/* Stream error to the side opposite `as_from`; cond "" = just the end. */
void		 se_send_error(struct session *, enum nab_dir as_from,
		    const char *cond);
void		 se_keep_features(struct session *, struct stanza *);
void		 se_check_restart(struct session *, const struct xs_unit *);
void		 se_login_free(struct session *);
/* 1 if this connection proved localpart@domain (else logged, 0). */
int		 se_may_act(struct session *, const char *localpart);
void		 se_reselect(struct session *);
/* profile = auto: choose now, `by` says what showed the firmware. */
void		 se_choose_profile(struct session *, const char *by);
/* The rabbit's or server's stream header: what later stages need of it. */
void		 se_note_header(struct session *, enum nab_dir,
		    const struct xs_unit *, const char *bytes);
/* The profile a new session starts with (passthrough while `auto`). */
const char	*se_profile_for(struct session *);
/*
 * A rabbit stanza before the chain: what it shows of the rabbit, the
 * profile, refused account changes (1: answered here, unit consumed).
 */
int		 se_rabbit_stanza(struct session *, const struct st_node *);
/*
 * 1 if st is an iq set whose payload (any element child, its prefix
 * resolved) is in jabber:iq:register or violet:iq:register, or carries a
 * prefix the unit does not declare (fail closed).
 */
int		 se_account_change(const struct st_node *);
/* An account change on a stream we authenticated: refused, 1. */
int		 se_refuse_account_change(struct session *,
		    const struct st_node *);
/*
 * Replace the server leg and its parser with an authenticated connection
 * (from a probe): the old leg is closed politely, features kept.
 * *leg is emptied and *xs set to NULL.
 */
void		 se_adopt_upstream(struct session *, struct leg *leg,
		    struct xmlstream **xs, struct stanza *features, int tls);
void		 se_detect_firmware(struct session *, const struct st_node *);

/* session_guard.c: deadlines, write-timeout, memory (see its comment). */
/*
 * The rabbit's header unit is in: dial upstream (0), or (max-dials streams
 * being opened) keep the unit, stop reading and wait (1); -1 failed.
 */
int		 se_dial(struct session *, struct xs_unit *);
/* Its turn came (se_kick): dial; *u is the kept header unit to handle. */
int		 se_dial_go(struct session *, struct xs_unit *);
/* The server's header arrived, or the attempt ended: free the slot. */
void		 se_dial_done(struct session *);
void		 se_arm_deadline(struct session *);
void		 se_note_bound(struct session *, const struct xs_unit *);
/* session_login.c: a register set upstream, and the server's answer. */
void		 se_note_register_set(struct session *, const struct st_node *);
void		 se_note_register_answer(struct session *, const struct xs_unit *);
void		 se_stall_check(struct session *);
void		 se_stall_clear(struct session *);
void		 se_guard_free(struct session *);

/* session_upstream.c: the server side is an upstream (upstream.c). */
void		 se_upstream_init(struct session *);
/* session_login.c: our login ended (from the upstream or a fresh one). */
void		 se_login_done(struct session *, int ok, int transient,
		    const char *mech, const char *reason);

/* 1 while the rabbit's FIN must wait (held stanzas, login, STARTTLS). */
int		 se_upstream_busy(const struct session *);

/* session_zlib.c: compression a client negotiates with the server. */
/* After a rabbit unit passed: <compress/> pauses the rabbit. */
void		 se_z_rabbit_unit(struct session *, const struct xs_unit *);
/* After a server unit passed: <compressed/> wraps both legs. */
void		 se_z_server_unit(struct session *, const struct xs_unit *);
/* 1 if the leg's error was its zlib layer (session failed with a reason). */
int		 se_z_failed(struct session *, struct leg *);

/* probe.c: login probes on separate server connections. */
int		 probe_start(struct session *, const char *localpart,
		    const char *password, session_login_cb *, void *arg);
/* Like probe_start, but on success the session adopts the connection. */
int		 probe_start_adopt(struct session *, const char *localpart,
		    const char *password, session_login_cb *, void *arg);
/*
 * A fresh-connection login: take a probe kept open after it logged in
 * with this account and password (1; cb runs later), else 0.
 */
int		 probe_take_kept(struct session *, const char *localpart,
		    const char *password, session_login_cb *, void *);
/* Close the probes kept for a login the session no longer needs. */
void		 probe_drop_kept(struct session *);
/* Cancel a session's probes without calling their callbacks. */
void		 probe_cancel_all(struct session *);
/* Cancel, without callbacks, the probes filters started (not adoptions). */
void		 probe_cancel_filters(struct session *);

#endif /* NAB_SESSION_INT_H */
