/*
 * hostsvc: the filter ABI 1.4 (events) host services that live outside
 * any session: filter-level timers, descriptor watches, asynchronous name
 * resolution, reaching an online rabbit by MAC from outside a hook, an
 * HTTP(S) POST client (hostsvc_http.c), and the boot-stage hook
 * (on_stage) fed by ctlreg. All run on the daemon's one event loop; the
 * daemon attaches its proxy once the loop exists and detaches it before
 * the resolver goes. Without an attached proxy (check-config, unit tests)
 * every service answers NULL or -1 and no stage is delivered.
 */
#ifndef NAB_HOSTSVC_H
#define NAB_HOSTSVC_H

#include <nabproxy/filter.h>

struct proxy;
struct session;

void	hostsvc_attach(struct proxy *);
void	hostsvc_detach(void);

/* A session's boot stage changed (delivered to on_stage on the next turn). */
void	hostsvc_stage(struct session *, const char *stage);
/* The session ends: pending stages, then "offline", delivered at once. */
void	hostsvc_offline(struct session *);

/* The services, for chain_host.c's table. */
struct nab_ftimer *hostsvc_ftimer_add(unsigned, nab_ftimer_cb *, void *);
void	hostsvc_ftimer_del(struct nab_ftimer *);
struct nab_watch *hostsvc_watch_add(int, unsigned, nab_fd_cb *, void *);
int	hostsvc_watch_set(struct nab_watch *, unsigned);
void	hostsvc_watch_del(struct nab_watch *);
struct nab_resolve *hostsvc_resolve(const char *, nab_resolve_cb *, void *);
void	hostsvc_resolve_cancel(struct nab_resolve *);
int	hostsvc_rabbit_call(const struct nab_filter *, const char *,
	    nab_rabbit_cb *, void *);
struct nab_http *hostsvc_http_post(const char *, const char *, const char *,
	    size_t, unsigned, const char *, nab_http_cb *, void *,
	    const char **);
void	hostsvc_http_cancel(struct nab_http *);
void	hostsvc_flog(const struct nab_filter *, enum nab_loglevel,
	    const char *, ...) __attribute__((format(printf, 3, 4)));

/* hostsvc_http.c needs the loop and the resolver. */
struct event_base	*hostsvc_base(void);
struct evdns_base	*hostsvc_dns(void);

#endif /* NAB_HOSTSVC_H */
