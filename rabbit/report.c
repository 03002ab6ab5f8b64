/*
 * report: JSON lines for nabrabbit (see report.h). Strings are escaped
 * byte by byte: '"', '\\' and every byte outside printable ASCII become
 * escapes, so a server's bytes in a reason never break the line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static const char *const outcomes[] = { "ok", "skipped", "failed" };

size_t
report_json_str(char *out, size_t outlen, const char *s, size_t n)
{
	size_t		o = 0, i;
	unsigned char	c;
	char		esc[8];
	size_t		el;

	if (outlen < 3)
		return 0;
	out[o++] = '"';
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			el = (size_t)snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			el = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c);
		else {
			esc[0] = (char)c;
			el = 1;
		}
		if (o + el + 2 > outlen)
			break;
		memcpy(out + o, esc, el);
		o += el;
	}
	out[o++] = '"';
	out[o] = '\0';
	return o;
}

/* Append printf output to out at *o; -1 once it does not fit. */
static int
app(char *out, size_t outlen, size_t *o, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (*o >= outlen)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(out + *o, outlen - *o, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= outlen - *o)
		return -1;
	*o += (size_t)n;
	return 0;
}

/* Append a JSON string; -1 once it does not fit. */
static int
appstr(char *out, size_t outlen, size_t *o, const char *s)
{
	char	buf[2048];
	size_t	n = report_json_str(buf, sizeof(buf), s, strlen(s));

	return app(out, outlen, o, "%.*s", (int)n, buf);
}

int
report_rabbit_json(const struct report_rabbit *r, char *out, size_t outlen)
{
	size_t	o = 0;
	int	i, bad = 0;

	bad |= app(out, outlen, &o, "{\"mac\":\"%s\",\"firmware\":\"%s\","
	    "\"idle\":%s,\"ms\":%.1f,\"jid\":", r->rr_mac, r->rr_firmware,
	    r->rr_idle ? "true" : "false", r->rr_ms);
	bad |= r->rr_jid[0] ? appstr(out, outlen, &o, r->rr_jid) :
	    app(out, outlen, &o, "null");
	bad |= app(out, outlen, &o, ",\"registered\":%s,\"steps\":[",
	    r->rr_registered ? "true" : "false");
	for (i = 0; i < r->rr_nsteps; i++)
		bad |= app(out, outlen, &o, "%s{\"step\":\"%s\",\"outcome\":"
		    "\"%s\",\"ms\":%.1f}", i ? "," : "",
		    r->rr_steps[i].rs_name, outcomes[r->rr_steps[i].rs_outcome],
		    r->rr_steps[i].rs_ms);
	bad |= app(out, outlen, &o, "],\"failed\":");
	if (r->rr_idle)
		bad |= app(out, outlen, &o, "null,\"reason\":null}");
	else {
		bad |= r->rr_nsteps > 0 ? appstr(out, outlen, &o,
		    r->rr_steps[r->rr_nsteps - 1].rs_name) :
		    app(out, outlen, &o, "null");
		bad |= app(out, outlen, &o, ",\"reason\":");
		bad |= appstr(out, outlen, &o, r->rr_reason);
		bad |= app(out, outlen, &o, "}");
	}
	return bad ? -1 : (int)o;
}

int
report_summary_add(struct report_summary *s, const struct report_rabbit *r)
{
	const char	*step;
	double		*nv;
	int		 i;

	if (r->rr_idle) {
		if (s->su_ntti == s->su_capti) {
			nv = realloc(s->su_tti, (s->su_capti * 2 + 64) *
			    sizeof(*nv));
			if (nv == NULL)
				return -1;
			s->su_tti = nv;
			s->su_capti = s->su_capti * 2 + 64;
		}
		s->su_tti[s->su_ntti++] = r->rr_ms;
		s->su_idle++;
	} else {
		step = r->rr_nsteps ? r->rr_steps[r->rr_nsteps - 1].rs_name :
		    "start";
		for (i = 0; i < s->su_nfail; i++)
			if (strcmp(s->su_failname[i], step) == 0)
				break;
		if (i == s->su_nfail) {
			if (i == REPORT_FAILNAMES_MAX)
				return -1;
			s->su_failname[s->su_nfail++] = step;
			s->su_failcount[i] = 0;
		}
		s->su_failcount[i]++;
	}
	s->su_rabbits++;
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
report_percentile(double *v, size_t n, double p)
{
	size_t	rank;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	rank = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

int
report_summary_json(struct report_summary *s, char *out, size_t outlen)
{
	size_t	o = 0;
	int	i, bad = 0;
	double	p50 = report_percentile(s->su_tti, s->su_ntti, 50);
	double	p99 = report_percentile(s->su_tti, s->su_ntti, 99);

	bad |= app(out, outlen, &o, "{\"summary\":true,\"rabbits\":%u,"
	    "\"idle\":%u,\"failed\":%u,\"failed_by_step\":{", s->su_rabbits,
	    s->su_idle, s->su_rabbits - s->su_idle);
	for (i = 0; i < s->su_nfail; i++)
		bad |= app(out, outlen, &o, "%s\"%s\":%u", i ? "," : "",
		    s->su_failname[i], s->su_failcount[i]);
	bad |= app(out, outlen, &o, "},\"p50_ms\":%.1f,\"p99_ms\":%.1f,"
	    "\"elapsed_ms\":%.1f}", p50, p99, s->su_elapsed_ms);
	return bad ? -1 : (int)o;
}

void
report_summary_free(struct report_summary *s)
{
	free(s->su_tti);
	memset(s, 0, sizeof(*s));
}
