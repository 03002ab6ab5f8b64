/*
 * ctl: the control socket, a unix stream socket (mode 0660) on the
 * daemon's loop. A client writes one command line and reads the answer
 * until the daemon closes; `tap` keeps streaming until the client goes.
 *
 *	list [--json]			one line per connected rabbit
 *	history [MAC] [--json]		recent attempts that never got online
 *	tap all|ID|MAC [vm|raw|both]	live traffic (a watched MAC's kept
 *					traffic first)
 *	kick ID				end a session (stream error reset)
 *	stats				counters, one key=value line
 *	reload				as SIGHUP
 *
 * An answer that is an error is one line "error: ...". Peers are bounded:
 * CTL_MAX_CLIENTS at once (more are told so and closed), a command line
 * of at most CTL_LINE_MAX bytes within CTL_CMD_TIMEOUT seconds, and a tap
 * reader gets at most CTL_TAP_BUF bytes queued: lines beyond are lost and
 * counted, and a "nabproxy: tap: N lines lost" line says so once the
 * reader catches up. Nothing a client does slows a rabbit.
 */
#ifndef NAB_CTL_H
#define NAB_CTL_H

#include <stddef.h>

#include "attrib.h"

struct ctl;
struct ctlreg;
struct proxy;

#define CTL_MAX_CLIENTS		16
#define CTL_LINE_MAX		512
#define CTL_CMD_TIMEOUT		10
#define CTL_TAP_BUF		(256 * 1024)
#define CTL_SOCK_NAME		"nabproxy.sock"

/* Reload the configuration (SIGHUP's work): 0, or -1 with msg set. */
typedef int	ctl_reload_fn(void *arg, char *msg, size_t msglen);

/*
 * Listen on path (an existing socket nobody answers on is replaced; a
 * live one or any other file is refused). NULL with err set.
 */
struct ctl	*ctl_new(struct proxy *, struct ctlreg *, const char *path,
		    ctl_reload_fn *, void *arg, char *err, size_t errlen)
		    WUNRES;
/* Close every client, remove the socket file. NULL is fine. */
void		 ctl_free(struct ctl *);

/*
 * The socket path cfg asks for: control-socket, or STATE-DIR/nabproxy.sock
 * when it is empty; "" for "none". 0, or -1 when it does not fit.
 */
int		 ctl_path(const char *control_socket, const char *state_dir,
		    char *path, size_t len);

/* nabproxy ctl ...: the command-line client (ctl_client.c). */
int		 cmd_ctl(int argc, char **argv);

#endif /* NAB_CTL_H */
