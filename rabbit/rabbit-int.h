/*
 * rabbit internals shared by rabbit.c (transport, life cycle, the seed
 * simulator) and rabbit_fw.c (bootcode 18673's steps).
 */
#ifndef NAB_RABBIT_RABBIT_INT_H
#define NAB_RABBIT_RABBIT_INT_H

#include <stddef.h>
#include <time.h>

#include "attrib.h"
#include "rabbit.h"
#include "report.h"

#define RABBIT_IN_MAX	32768	/* largest element it reads */
#define RABBIT_OUT_MAX	8192

enum rabbit_state {
	ST_CONNECT = 0,
	ST_HEADER,		/* waiting for the stream header */
	ST_FEATURES,
	ST_SIM_FORM,		/* simulator: the answer to id 1 .. 4 */
	ST_SIM_REG,
	ST_SIM_BIND,
	ST_SIM_SESSION,
	ST_REGFORM,		/* 18673 */
	ST_REGSET,
	ST_SASL,
	ST_HEADER2,		/* after <success>: the restarted stream */
	ST_FEATURES2,
	ST_BIND_BOOT,
	ST_SESSION_BOOT,
	ST_SOURCES,
	ST_BIND_IDLE,
	ST_SESSION_IDLE,
	ST_PRESENCE,
	ST_UNBIND,
	ST_FREE,		/* 18673 idle, playing ro_events */
	ST_DONE,		/* idle or failed: finish at the next chance */
};

struct rabbit {
	struct event_base		*r_base;
	const struct rabbit_opts	*r_opts;
	RABBIT_DONE_FN(r_done);
	void				*r_arg;
	int				 r_fd;
	struct event			*r_rev, *r_wev, *r_tmo;
	int				 r_state;	/* enum rabbit_state */
	int				 r_n;		/* stanza id counter */
	struct timespec			 r_t0;
	char				 r_mac[13];
	char				 r_pw[64];	/* "" = none */
	char				 r_jid[320];
	char				 r_res[128];
	char				 r_prev[128];
	unsigned char			 r_cnonce[14];
	char				 r_rspauth[33];	/* "" = none expected */
	char				*r_in;
	size_t				 r_inlen;
	char				 r_out[RABBIT_OUT_MAX];
	size_t				 r_outlen;
	struct report_rabbit		 r_rep;
	const char			*r_ev;		/* next event step */
	struct event			*r_evt;		/* its timer */
};

/* rabbit.c */
void	rabbit_step(struct rabbit *, const char *name);
void	rabbit_step_ok(struct rabbit *);
void	rabbit_fail(struct rabbit *, const char *fmt, ...) PRINTF(2, 3);
/* Send a template filled with the rabbit's variables (and extra). */
void	rabbit_send(struct rabbit *, const char *tmpl, const char *res,
	    const char *b64);
/* The element's bytes, escaped for a reason line (at most ~160 bytes). */
const char *rabbit_show(const char *el, size_t n);

/* Raw bytes to the server; end the rabbit (report, goodbye, free). */
void	rabbit_put(struct rabbit *, const char *, size_t);
void	rabbit_finish(struct rabbit *);

/* rabbit_live.c: the free rabbit's events and the packets it gets. */
void	rabbit_events_start(struct rabbit *);
void	rabbit_free_element(struct rabbit *, const char *el, size_t n);

/* rabbit_fw.c: one element in a bootcode 18673 state. */
void	rabbit_fw_element(struct rabbit *, const char *el, size_t n);
/* The features before SASL: register or authenticate. */
void	rabbit_fw_features(struct rabbit *, const char *el, size_t n);

#endif /* NAB_RABBIT_RABBIT_INT_H */
