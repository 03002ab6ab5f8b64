/*
 * listener: the listening sockets and the accept policy (total and
 * per-source connection limits, EMFILE back-off). It hands accepted
 * sockets to session_new() and knows nothing about XMPP.
 */
#ifndef NAB_LISTENER_H
#define NAB_LISTENER_H

#include "attrib.h"

struct proxy;
struct listener;

struct listen_addr {
	const char	*host;		/* numeric or name; "" = any */
	unsigned short	 port;
};

/*
 * Bind and listen on every address (SO_REUSEADDR; IPv6 sockets v6-only).
 * NULL with a message in err naming the address that failed.
 */
struct listener *listener_new(struct proxy *, const struct listen_addr *,
    size_t n, char *err, size_t errlen) WUNRES;
/* Stop accepting for good (drain): the listening sockets are closed. */
void	listener_disable(struct listener *);
void	listener_free(struct listener *);
/* The port actually bound for address i (for port 0 in tests). */
unsigned short listener_port(const struct listener *, size_t i);
/* A session from this source ended: release its per-source slot. */
void	listener_release(struct listener *, const char *source_ip);
/*
 * What max-per-source counts ip as, into key: an IPv6 address's /64
 * ("2001:db8:1:2::/64"), an IPv4 (or IPv4-mapped) address as it is.
 */
void	listener_source_key(const char *ip, char *key, size_t len);

#endif /* NAB_LISTENER_H */
