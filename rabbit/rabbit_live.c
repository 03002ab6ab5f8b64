/*
 * rabbit_live: a bootcode 18673 rabbit after idle, for nabrabbit
 * --events. It plays a script of what its owner does (button clicks,
 * ears moved by hand: Table A rows A13 and A14, byte for byte) and hands
 * every violet:packet <message> it receives to ro_packet, decoded the
 * way the firmware decodes it (section 5: a direct child `packet` with
 * xmlns violet:packet, its base64 text). A message the firmware would
 * ignore is ignored. When the script ends the rabbit is done (goodbye and
 * report, as at idle without a script); the boot timeout no longer
 * applies once idle.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwsasl.h"
#include "rabbit-int.h"
#include "xscan.h"

#define A13	"<message from='%s' to='int@xmpp.objects.violet.net/int' " \
		"id='%d'><button xmlns=\"violet:nabaztag:button\"><clic>%ld" \
		"</clic>%s</button></message>"
#define A14	"<message from='%s' to='int@xmpp.objects.violet.net/int' " \
		"id='%d'><ears xmlns=\"violet:nabaztag:ears\"><left>%ld</left>" \
		"<right>%ld</right></ears></message>"

struct step {
	enum { EV_CLICK, EV_EARS, EV_WAIT } kind;
	long	a, b;
	double	sec;
	char	event[64];
};

/* Parse the step at *p (up to ';' or the end); advance *p. 0 or -1. */
static int
step_parse(const char **p, struct step *st)
{
	char		 buf[128], w[4][64];
	const char	*end = strchr(*p, ';');
	size_t		 n = end != NULL ? (size_t)(end - *p) : strlen(*p);
	int		 k;
	char		*e;

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, *p, n);
	buf[n] = '\0';
	*p += n + (end != NULL);
	memset(st, 0, sizeof(*st));
	k = sscanf(buf, " %63s %63s %63s %63s", w[0], w[1], w[2], w[3]);
	if (k >= 2 && strcmp(w[0], "click") == 0 && k <= 3) {
		st->kind = EV_CLICK;
		st->a = strtol(w[1], &e, 10);
		if (*e != '\0' || (st->a != 1 && st->a != 2))
			return -1;
		if (k == 3) {
			for (e = w[2]; *e != '\0'; e++)
				if (!isalnum((unsigned char)*e) && *e != '-' &&
				    *e != '_')
					return -1;
			snprintf(st->event, sizeof(st->event), "%s", w[2]);
		}
		return 0;
	}
	if (k == 3 && strcmp(w[0], "ears") == 0) {
		st->kind = EV_EARS;
		st->a = strtol(w[1], &e, 10);
		if (*e != '\0' || st->a < 0 || st->a > 255)
			return -1;
		st->b = strtol(w[2], &e, 10);
		return *e != '\0' || st->b < 0 || st->b > 255 ? -1 : 0;
	}
	if (k == 2 && strcmp(w[0], "wait") == 0) {
		st->kind = EV_WAIT;
		st->sec = strtod(w[1], &e);
		return *e != '\0' || st->sec < 0 || st->sec > 3600 ? -1 : 0;
	}
	return -1;
}

int
rabbit_events_check(const char *script, char *err, size_t errlen)
{
	const char	*p = script, *at;
	struct step	 st;

	while (*p != '\0') {
		at = p;
		if (step_parse(&p, &st) == -1) {
			snprintf(err, errlen, "--events: bad step '%.*s' (click "
			    "1|2 [EVENT], ears L R, wait SEC)",
			    (int)strcspn(at, ";"), at);
			return -1;
		}
	}
	return 0;
}

static void	ev_next(evutil_socket_t, short, void *);

/* Run steps until one waits; the script's end finishes the rabbit. */
static void
ev_next(evutil_socket_t fd, short what, void *arg)
{
	struct rabbit	*r = arg;
	struct step	 st;
	struct timeval	 tv;
	char		 buf[1024], ev[96];
	int		 n;

	(void)fd;
	(void)what;
	while (r->r_state == ST_FREE && *r->r_ev != '\0') {
		if (step_parse(&r->r_ev, &st) == -1)
			break;		/* checked before: not reached */
		if (st.kind == EV_WAIT) {
			tv.tv_sec = (time_t)st.sec;
			tv.tv_usec = (suseconds_t)((st.sec - (double)tv.tv_sec) *
			    1e6);
			evtimer_add(r->r_evt, &tv);
			return;
		}
		snprintf(ev, sizeof(ev), st.event[0] ? "<event>%s</event>" :
		    "%s", st.event);
		n = st.kind == EV_CLICK ?
		    snprintf(buf, sizeof(buf), A13, r->r_jid, ++r->r_n, st.a,
		    ev) :
		    snprintf(buf, sizeof(buf), A14, r->r_jid, ++r->r_n, st.a,
		    st.b);
		rabbit_put(r, buf, (size_t)n);
	}
	if (r->r_state == ST_FREE)
		r->r_state = ST_DONE;
	rabbit_finish(r);
}

void
rabbit_events_start(struct rabbit *r)
{
	struct timeval	tv = { 0, 0 };

	evtimer_del(r->r_tmo);		/* idle: the boot deadline is met */
	r->r_ev = r->r_opts->ro_events;
	if ((r->r_evt = evtimer_new(r->r_base, ev_next, r)) == NULL) {
		rabbit_fail(r, "out of memory");
		return;
	}
	r->r_state = ST_FREE;
	evtimer_add(r->r_evt, &tv);
}

/* A message with a Violet packet, as the firmware takes it (section 5). */
void
rabbit_free_element(struct rabbit *r, const char *el, size_t n)
{
	char		name[16], text[8192];
	unsigned char	pkt[6144];
	int		len;

	xs_name(el, n, name, sizeof(name));
	if (strcmp(name, "message") != 0 || !xs_has_child(el, n, "packet") ||
	    memmem(el, n, "violet:packet", 13) == NULL ||
	    !xs_child_text(el, n, "packet", text, sizeof(text)) ||
	    (len = fw_b64decode(text, strlen(text), pkt, sizeof(pkt))) <= 0)
		return;
	if (r->r_opts->ro_packet != NULL)
		r->r_opts->ro_packet(r->r_mac, pkt, (size_t)len,
		    r->r_opts->ro_packet_arg);
}

int
rabbit_packet_json(const char *mac, const unsigned char *p, size_t n,
    char *out, size_t cap)
{
	size_t	i = 1, len, j, o;
	int	w;

	w = snprintf(out, cap, "{\"mac\":\"%s\",\"packet\":[", mac);
	if (w < 0 || (size_t)w >= cap || n < 2 || p[0] != 0x7f)
		return -1;
	o = (size_t)w;
	while (i < n && p[i] != 0xff) {
		if (i + 4 > n)
			return -1;
		len = (size_t)p[i + 1] << 16 | (size_t)p[i + 2] << 8 | p[i + 3];
		if (i + 4 + len > n || o + 16 + 2 * len >= cap)
			return -1;
		o += (size_t)snprintf(out + o, cap - o, "%s[%u,\"",
		    i > 1 ? "," : "", p[i]);
		for (j = 0; j < len; j++)
			o += (size_t)snprintf(out + o, cap - o, "%02x",
			    p[i + 4 + j]);
		o += (size_t)snprintf(out + o, cap - o, "\"]");
		i += 4 + len;
	}
	if (i >= n || o + 3 >= cap)
		return -1;
	o += (size_t)snprintf(out + o, cap - o, "]}");
	return (int)o;
}
