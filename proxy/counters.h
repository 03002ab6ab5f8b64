/*
 * counters: the process-wide event counters /metrics shows beside the
 * registry's (ctlreg_counts): repairs per filter, authentication outcomes
 * per mechanism and per profile, upstream connect and TLS failures, parser
 * errors per class, login probe backoffs. One struct counters lives in
 * struct proxy; the places where the events happen increment a plain
 * integer (the loop is single-threaded), so counting costs no lock and no
 * allocation on the hot path. Names (filters, profiles) are looked up
 * once, when a chain opens or a login ends, into bounded tables; names
 * beyond the table count under "_other".
 */
#ifndef NAB_COUNTERS_H
#define NAB_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include "attrib.h"

struct config;
struct evbuffer;
struct session;

#define COUNTERS_NAMES		32	/* filters or profiles kept by name */
#define COUNTERS_NAME_MAX	64
#define COUNTERS_PARSE_CLASSES	5	/* enum xs_error, XS_ERR_NONE unused */

/* SASL mechanisms counted by name; anything else is CNT_MECH_OTHER. */
enum cnt_mech {
	CNT_MECH_PLAIN = 0,
	CNT_MECH_DIGEST_MD5,
	CNT_MECH_SCRAM_SHA_1,
	CNT_MECH_SCRAM_SHA_1_PLUS,
	CNT_MECH_ANONYMOUS,
	CNT_MECH_OTHER,
	CNT_NMECH
};

/* Who authenticated: the rabbit (its own <auth/>), or nabproxy upstream. */
enum cnt_side { CNT_RABBIT = 0, CNT_NABPROXY = 1 };
enum cnt_outcome { CNT_SUCCESS = 0, CNT_FAILURE = 1 };

struct cnt_named {
	char		name[COUNTERS_NAME_MAX];
	uint64_t	n[2];			/* filters use n[0] only */
};

struct counters {
	uint64_t	upstream_connect_failed;	/* TCP connect, timeout */
	uint64_t	upstream_tls_failed;	/* STARTTLS, handshake, pin */
	uint64_t	parse_errors[2][COUNTERS_PARSE_CLASSES]; /* [dir][xs_error] */
	uint64_t	probe_backoffs;		/* password attempts refused */
	uint64_t	auth[2][CNT_NMECH][2];	/* [side][mech][outcome] */
	struct cnt_named filters[COUNTERS_NAMES + 1];	/* last: "_other" */
	size_t		nfilters;
	struct cnt_named profiles[COUNTERS_NAMES + 1];	/* [outcome] */
	size_t		nprofiles;
};

/* Mechanism index of a SASL mechanism name (NULL: CNT_MECH_OTHER). */
enum cnt_mech	 counters_mech(const char *name);
const char	*counters_mech_name(enum cnt_mech);
/*
 * The counter slot of filter name: its repairs counter. NULL-safe (c
 * NULL: NULL). The slot stays valid as long as c.
 */
uint64_t	*counters_filter(struct counters *c, const char *name);
/*
 * Give every filter and profile cfg names its series now, at 0, so that
 * /metrics shows them before their first event (start and reload).
 */
void		 counters_declare(struct counters *, const struct config *cfg);
/* Count an authentication outcome (rabbit side: per profile too). */
void		 counters_auth(struct counters *c, enum cnt_side,
		    const char *mech, const char *profile, int ok);
/* The counters of the proxy a session belongs to; NULL-safe. */
struct counters	*session_counters(struct session *);
/* Append the families to out, Prometheus text 0.0.4. -1 on ENOMEM. */
int		 counters_render(const struct counters *,
		    struct evbuffer *out) WUNRES;

#endif /* NAB_COUNTERS_H */
