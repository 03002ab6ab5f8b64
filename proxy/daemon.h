/*
 * daemon: turns a validated config into a running proxy (options, filter
 * chains, credential store, listeners, signals) and back. Reload builds
 * everything new first and swaps only when all of it succeeded.
 */
#ifndef NAB_DAEMON_H
#define NAB_DAEMON_H

#include <sys/types.h>

#include <stddef.h>

#include "attrib.h"

struct config;
struct proxy;
struct proxy_opts;
struct chainset;
struct event_base;

/* Fill opts from cfg (no allocation). */
void	daemon_opts(const struct config *, struct proxy_opts *);
/* Build the filter chains cfg describes; NULL with err (lines). */
struct chainset *daemon_chains(const struct config *, char *err,
	    size_t errlen) WUNRES;
/*
 * Set up px on base from cfg: options, chains, credentials (the store
 * must belong to owner: the uid the daemon runs as after the drop),
 * listeners. 0, or -1 with err set and px left empty (daemon_teardown is
 * safe).
 */
int	daemon_setup(struct proxy *, struct event_base *, const struct config *,
	    uid_t owner, char *err, size_t errlen) WUNRES;
/* Close every session at once and free what daemon_setup made. */
void	daemon_teardown(struct proxy *);

#endif /* NAB_DAEMON_H */
