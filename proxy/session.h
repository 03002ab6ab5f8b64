/*
 * session: one rabbit. Owns the two legs (rabbit side, server side), the
 * stream parser of each direction, the filter chain instance, the hold
 * queue and the upstream login. It is the only place that moves bytes
 * between the legs, and session_fail() is the only way a session ends.
 *
 * The functions below the line are the host services chain.c exposes to
 * filters; they are safe to call from inside a filter hook.
 */
#ifndef NAB_SESSION_H
#define NAB_SESSION_H

#include <stddef.h>
#include <sys/socket.h>

#include <nabproxy/filter.h>

#include "attrib.h"

struct proxy;
struct session;
struct stanza;
struct st_node;

/*
 * Take over an accepted socket. On failure the fd is closed, -1 returned
 * and the reason logged; the proxy is unchanged.
 */
int	session_new(struct proxy *, int fd, const struct sockaddr *, int len);
/* Stop a session for shutdown: stream error to both sides, then close. */
void	session_shutdown(struct session *, const char *condition);
const char *session_peer(const struct session *);
/* Stream error `condition` to every rabbit and close (drain or exit). */
void	session_shutdown_all(struct proxy *, const char *condition);
/* Abort and free every session now (process exit only). */
void	session_free_all(struct proxy *);
/* Bytes all sessions hold (buffers plus a fixed charge each). */
size_t	session_mem_all(struct proxy *);

/* ---- host services for chain.c ---- */

/*
 * ok 1: success. ok 0: failure; transient 1 when nothing was judged about
 * the password (connection, TLS, timeout, protocol, backoff), 0 when the
 * server refused the credentials.
 */
typedef void session_login_cb(void *arg, int ok, int transient,
    const char *mech, const char *reason);

const struct nab_identity *session_identity(struct session *);
/* Who the rabbit is and what it proved (identity.h). */
struct identity *session_who(struct session *);
void	session_set_identity(struct session *, const char *mac,
	    const char *domain, const char *firmware);
/* Serialise st and send it as if `as_from` had sent it; frees st. */
int	session_inject(struct session *, enum nab_dir as_from, struct stanza *st);
int	session_inject_raw(struct session *, enum nab_dir as_from,
	    const char *bytes, size_t len);
void	session_hold(struct session *);
void	session_release(struct session *);
int	session_upstream_login(struct session *, const char *localpart,
	    const char *password, session_login_cb *, void *arg);
int	session_login_probe(struct session *, const char *localpart,
	    const char *password, session_login_cb *, void *arg);
int	session_upstream_authenticated(struct session *);
/*
 * The guard on password attempts that cost nothing (identity_guard.c):
 * check: 0, or -1 (logged) while jid or this session's address backs
 * off; note: the attempt's outcome (ok 1 right, 0 wrong). Login probes
 * pass the same guard, and its cap, by themselves (probe.c).
 */
int	session_guard_check(struct session *, const char *jid);
void	session_guard_note(struct session *, const char *jid, int ok);
/*
 * Why the session ends, for the filters' on_close (filter.h lists the
 * categories): the first call wins; detail may be NULL.
 */
void	session_end_reason(struct session *, const char *category,
	    const char *detail);
/* Ask for a close after the current unit: condition goes to the rabbit. */
void	session_close_with(struct session *, const char *condition,
	    const char *reason);
/* The server's latest features element (session-owned), NULL if none. */
const struct st_node *session_server_features(struct session *);
/* The rabbit starts a new stream at the next unit boundary. */
void	session_restart_rabbit(struct session *);
struct event_base *session_base(struct session *);
struct proxy *session_proxy(struct session *);
void	session_log(struct session *, int level, const char *fmt, ...)
	    PRINTF(3, 4);

#endif /* NAB_SESSION_H */
