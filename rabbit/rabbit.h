/*
 * rabbit: one simulated rabbit on an event loop. It connects, sends its
 * firmware's bytes (script.c) one step after each answer, reads the
 * server the way that firmware reads (xscan.c; for bootcode 18673 also
 * the parser's fatal quirks and DIGEST-MD5 by fwsasl.c), records each
 * step's outcome in a report_rabbit, and stops at idle or at the first
 * failure. Non-blocking throughout; many rabbits share one loop.
 */
#ifndef NAB_RABBIT_RABBIT_H
#define NAB_RABBIT_RABBIT_H

#include <sys/socket.h>

#include <event2/event.h>

#include "report.h"

enum rabbit_firmware {
	RABBIT_SIMULATOR = 0,	/* the seed log's simulator */
	RABBIT_18673		/* bootcode 18673 */
};

struct rabbit_opts {
	int			ro_firmware;	/* enum rabbit_firmware */
	struct sockaddr_storage	ro_addr;
	socklen_t		ro_addrlen;
	char			ro_domain[256];
	double			ro_timeout;	/* seconds, start to idle */
	/*
	 * 18673 only, NULL for none: once idle, play this script of events
	 * (rabbit_live.c: "click 1; click 2 v; ears 3 12; wait 2") before
	 * saying goodbye, and hand every violet:packet <message> received
	 * meanwhile to ro_packet (the decoded bytes, 0x7f .. 0xff).
	 */
	const char		*ro_events;
	void			(*ro_packet)(const char *mac,
				    const unsigned char *pkt, size_t n,
				    void *arg);
	void			*ro_packet_arg;
};

/*
 * Check an events script: 0, or -1 with err naming the bad step. Steps,
 * separated by ';': "click 1", "click 2", "click N EVENT" (the firmware's
 * <event>), "ears L R" (0..255), "wait SEC" (0..3600, reading).
 */
int	rabbit_events_check(const char *script, char *err, size_t errlen);
/* A packet as a JSON line body: {"mac":M,"packet":[[type,"hex"],...]}. */
int	rabbit_packet_json(const char *mac, const unsigned char *pkt, size_t n,
	    char *out, size_t cap);

/*
 * Called once per rabbit when it reached idle or failed: its report, and
 * the password it now keeps (like conf.bin; "" for none: never had one,
 * or forgot it after a SASL failure, as the firmware does). The rabbit is
 * freed after the callback returns.
 */
#define RABBIT_DONE_FN(name) \
	void (*name)(const struct report_rabbit *, const char *password, \
	    void *arg)

/*
 * Starts a rabbit with this MAC (12 hex digits) and password (NULL or ""
 * for none: bootcode 18673 then registers first). opts must outlive it.
 * Returns 0, or -1 if it could not even start (done was called with the
 * failure).
 */
int	rabbit_start(struct event_base *base, const struct rabbit_opts *opts,
	    const char *mac, const char *password, RABBIT_DONE_FN(done),
	    void *arg);
/*
 * The same, the socket bound to src (port 0: any) before it connects, so
 * the server sees this rabbit come from that address; src NULL: the
 * kernel chooses, as rabbit_start().
 */
int	rabbit_start_from(struct event_base *base,
	    const struct rabbit_opts *opts, const struct sockaddr *src,
	    socklen_t srclen, const char *mac, const char *password,
	    RABBIT_DONE_FN(done), void *arg);

#endif /* NAB_RABBIT_RABBIT_H */
