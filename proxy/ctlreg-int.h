/*
 * ctlreg internals shared by ctlreg.c (records, stages, taps, watch) and
 * ctlreg_report.c (list, history, stats and counters). Not a public
 * interface: nothing else includes it.
 */
#ifndef NAB_CTLREG_INT_H
#define NAB_CTLREG_INT_H

#include <sys/queue.h>

#include <stdint.h>
#include <time.h>

#include "ctlreg.h"

struct counters;
struct identity;

/* One unit kept for a watched rabbit. */
struct wunit {
	TAILQ_ENTRY(wunit)	 entry;
	int			 from_server;
	enum logsafe_vm		 vm;
	const char		*intro;		/* static string or NULL */
	size_t			 len;
	char			 bytes[];
};
TAILQ_HEAD(wunit_list, wunit);

struct step {
	enum ctl_stage	stage;
	long long	ms;		/* since connect */
};

/* Longest strings a record keeps, with the NUL (they were arrays). */
#define REC_JID_MAX		320
#define REC_FIRMWARE_MAX	32
#define REC_PROFILE_MAX		64
#define REC_ERROR_MAX		160
#define REC_WARNING_MAX		512
#define REC_HAZARD_MAX		256

/*
 * What a record shows; live records fill the identity at report time.
 * A session's record stays small while nothing happens: the strings are
 * allocated when there is something to say (ctlreg_rec_set).
 */
struct ctlrec {
	TAILQ_ENTRY(ctlrec)	 entry;
	struct ctlreg		*reg;
	struct session		*se;		/* NULL once ended */
	uint64_t		 id;
	char			 peer[64];
	char			 mac[16];
	/* Strings on demand (NULL = ""), cut to REC_*_MAX - 1 bytes. */
	char			*jid, *firmware, *profile;
	time_t			 since;		/* wall clock at connect */
	struct timespec		 t0;		/* monotonic at connect */
	long long		 ended_ms;	/* -1 while live */
	struct step		 steps[CTLREG_STEPS];
	size_t			 nsteps;
	enum ctl_stage		 stage;
	unsigned		 seen;		/* stages reached, bit mask */
	int			 online;
	int			 header_seen;
	unsigned long long	 bytes[2];	/* indexed by from_server */
	char			*error;		/* last error from the server */
	char			*warning;	/* last warning logged */
	char			*hazard;	/* last stanza the rabbit misreads */
	struct identity		*sasl;		/* the rabbit's SASL user */
	char			*reason;	/* teardown reason */
	int			 cond;		/* ctlreg_cond_name() index */
	int			 watched;	/* keeps units (MAC matched) */
	int			 pending;	/* keeps units until MAC known */
	struct wunit_list	 units;
	size_t			 ubytes;
	unsigned long long	 udropped;
	char			 mech[24];	/* the rabbit's <auth mechanism> */
};
TAILQ_HEAD(ctlrec_list, ctlrec);

struct ctltap {
	TAILQ_ENTRY(ctltap)	 entry;
	int			 all;
	uint64_t		 id;		/* 0 = by MAC */
	char			 mac[16];
	int			 fmt;
	ctltap_sink		*sink;
	void			*arg;
};
TAILQ_HEAD(ctltap_list, ctltap);

struct ctlreg {
	struct ctlrec_list	 live;
	struct ctlrec_list	 history;	/* newest first */
	size_t			 nhistory;
	struct ctltap_list	 taps;
	char			 watch[CTLREG_WATCH_MAX][16];
	size_t			 nwatch;
	unsigned long long	 opened, failed, kicked;
	unsigned long long	 total[2];
	unsigned long long	 units[2];
	unsigned long long	 stanzas[2];
	unsigned long long	 scanned[2];	/* of which light (xframe) */
	unsigned long long	 reached[CTL_IDLE + 1];
	unsigned long long	 auth_failed, refused, stream_errors;
	unsigned long long	 closed[CTLREG_NCONDS];
	struct counters		*cnt;		/* auth outcomes, may be NULL */
};

/* Fill a record's identity from its live session (and its SASL user). */
void	ctlreg_rec_identity(struct ctlrec *);
/* 12 hex digits, ':' or '-' between pairs allowed, to lower case in mac
   (16 bytes): 0, or -1. mac may be s. */
int	ctlreg_mac_norm(const char *s, size_t n, char *mac);
/* *dst = s cut to size - 1 bytes (a copy, or NULL for ""); on ENOMEM
   NULL. */
void	ctlreg_rec_set(char **dst, size_t size, const char *s);
/* A record's string as shown: "" for NULL. */
static inline const char *
ctlreg_rec_str(const char *s)
{
	return s != NULL ? s : "";
}

#endif /* NAB_CTLREG_INT_H */
