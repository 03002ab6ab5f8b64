/*
 * report: what nabrabbit prints. One JSON object per line: a rabbit's
 * steps with their outcomes and whether it reached idle, and for a load
 * run a summary (reached idle, failures by step, time-to-idle
 * percentiles). Pure formatting into caller buffers; docs/nabrabbit.md
 * documents every field.
 */
#ifndef NAB_RABBIT_REPORT_H
#define NAB_RABBIT_REPORT_H

#include <stddef.h>

#define REPORT_STEPS_MAX	16
#define REPORT_REASON_MAX	256

enum report_outcome {
	REPORT_OK = 0,
	REPORT_SKIPPED,
	REPORT_FAILED
};

struct report_step {
	const char	*rs_name;	/* static string */
	int		 rs_outcome;	/* enum report_outcome */
	double		 rs_ms;		/* from the rabbit's start to the end */
};

struct report_rabbit {
	char			rr_mac[13];
	const char		*rr_firmware;	/* "simulator" or "18673" */
	char			rr_jid[320];	/* the JID it believes it has */
	int			rr_idle;
	double			rr_ms;		/* start to idle or to failure */
	int			rr_registered;	/* it registered a password */
	struct report_step	rr_steps[REPORT_STEPS_MAX];
	int			rr_nsteps;
	char			rr_reason[REPORT_REASON_MAX]; /* "" if idle */
};

/* Failures counted by step name, for the summary. */
#define REPORT_FAILNAMES_MAX	REPORT_STEPS_MAX
struct report_summary {
	unsigned	 su_rabbits;
	unsigned	 su_idle;
	const char	*su_failname[REPORT_FAILNAMES_MAX];
	unsigned	 su_failcount[REPORT_FAILNAMES_MAX];
	int		 su_nfail;
	double		*su_tti;	/* time-to-idle of each idle rabbit, ms */
	size_t		 su_ntti;
	size_t		 su_capti;
	double		 su_elapsed_ms;	/* first start to last end */
};

/* Write s as a JSON string (quotes included) into out; bytes written. */
size_t	report_json_str(char *out, size_t outlen, const char *s, size_t n);
/*
 * One rabbit as one JSON line (no newline) into out. Returns its length,
 * or -1 if out is too small (then out is unspecified).
 */
int	report_rabbit_json(const struct report_rabbit *r, char *out,
	    size_t outlen);
/* Add a rabbit to the summary; -1 without memory (nothing added). */
int	report_summary_add(struct report_summary *s,
	    const struct report_rabbit *r);
/* Nearest-rank percentile p (0..100) of v[0..n) (sorted in place); 0 if n is 0. */
double	report_percentile(double *v, size_t n, double p);
/* The summary as one JSON line; length, or -1 if out is too small. */
int	report_summary_json(struct report_summary *s, char *out,
	    size_t outlen);
void	report_summary_free(struct report_summary *s);

#endif /* NAB_RABBIT_REPORT_H */
