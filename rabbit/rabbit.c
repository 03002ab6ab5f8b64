/*
 * rabbit: one simulated rabbit's connection and life cycle (see rabbit.h),
 * and the seed simulator's four steps. Reads are exact recv() calls, so
 * "in one read" means what the firmware means by it; writes go out at once
 * and only a remainder waits for the socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "rabbit-int.h"
#include "report.h"
#include "script.h"
#include "xscan.h"

static void	on_connect(evutil_socket_t, short, void *);
static void	on_read(evutil_socket_t, short, void *);
static void	on_write(evutil_socket_t, short, void *);
static void	on_timeout(evutil_socket_t, short, void *);
static void	finish(struct rabbit *);
static void	sim_element(struct rabbit *, const char *, size_t);

static double
ms_since(const struct timespec *t0)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

void
rabbit_step(struct rabbit *r, const char *name)
{
	struct report_step	*s;

	if (r->r_rep.rr_nsteps == REPORT_STEPS_MAX)
		return;
	s = &r->r_rep.rr_steps[r->r_rep.rr_nsteps++];
	s->rs_name = name;
	s->rs_outcome = REPORT_FAILED;	/* until it succeeds */
	s->rs_ms = ms_since(&r->r_t0);
}

void
rabbit_step_ok(struct rabbit *r)
{
	struct report_step	*s;

	if (r->r_rep.rr_nsteps == 0)
		return;
	s = &r->r_rep.rr_steps[r->r_rep.rr_nsteps - 1];
	s->rs_outcome = REPORT_OK;
	s->rs_ms = ms_since(&r->r_t0);
}

void
rabbit_fail(struct rabbit *r, const char *fmt, ...)
{
	va_list	ap;

	if (r->r_state == ST_DONE)
		return;
	va_start(ap, fmt);
	vsnprintf(r->r_rep.rr_reason, sizeof(r->r_rep.rr_reason), fmt, ap);
	va_end(ap);
	if (r->r_rep.rr_nsteps > 0)
		r->r_rep.rr_steps[r->r_rep.rr_nsteps - 1].rs_ms =
		    ms_since(&r->r_t0);
	r->r_state = ST_DONE;
}

const char *
rabbit_show(const char *el, size_t n)
{
	static char	buf[200];
	size_t		i, o = 0;

	for (i = 0; i < n && o + 5 < sizeof(buf); i++)
		buf[o++] = el[i] == '\n' || el[i] == '\t' ? ' ' : el[i];
	if (i < n)
		memcpy(buf + o, "...", 3), o += 3;
	buf[o] = '\0';
	return buf;
}

/* Queue bytes; a write error fails the rabbit. */
static void
put(struct rabbit *r, const char *s, size_t n)
{
	ssize_t	w = 0;

	if (r->r_outlen == 0) {
		w = send(r->r_fd, s, n, MSG_NOSIGNAL);
		if (w == -1 && errno != EAGAIN && errno != EINTR) {
			rabbit_fail(r, "write: %s", strerror(errno));
			return;
		}
		if (w == -1)
			w = 0;
	}
	if ((size_t)w == n)
		return;
	if (r->r_outlen + n - (size_t)w > sizeof(r->r_out)) {
		rabbit_fail(r, "write: the server does not read");
		return;
	}
	memcpy(r->r_out + r->r_outlen, s + w, n - (size_t)w);
	r->r_outlen += n - (size_t)w;
	event_add(r->r_wev, NULL);
}

void
rabbit_put(struct rabbit *r, const char *s, size_t n)
{
	put(r, s, n);
}

void
rabbit_finish(struct rabbit *r)
{
	finish(r);
}

void
rabbit_send(struct rabbit *r, const char *tmpl, const char *res,
    const char *b64)
{
	char	n[16], xpw[13] = "", buf[RABBIT_OUT_MAX];
	struct script_var v[] = {
		{ "DOM", r->r_opts->ro_domain }, { "MAC", r->r_mac },
		{ "PW", r->r_pw }, { "N", n }, { "JID", r->r_jid },
		{ "PREV", r->r_prev }, { "RES", res ? res : "" },
		{ "B64", b64 ? b64 : "" }, { "XPW", xpw },
	};
	int	len;

	if (strstr(tmpl, "{N}"))
		snprintf(n, sizeof(n), "%d", ++r->r_n);
	if (strstr(tmpl, "{XPW}"))
		(void)script_xor_hex(r->r_pw, r->r_mac, xpw);
	len = script_fill(tmpl, v, sizeof(v) / sizeof(v[0]), buf, sizeof(buf));
	if (len == -1) {
		rabbit_fail(r, "stanza too long");
		return;
	}
	put(r, buf, (size_t)len);
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
	struct rabbit	*r = arg;
	ssize_t		 w;

	w = send(fd, r->r_out, r->r_outlen, MSG_NOSIGNAL);
	if (w == -1 && errno != EAGAIN && errno != EINTR)
		rabbit_fail(r, "write: %s", strerror(errno));
	else if (w > 0) {
		memmove(r->r_out, r->r_out + w, r->r_outlen - (size_t)w);
		r->r_outlen -= (size_t)w;
	}
	if (r->r_state == ST_DONE)
		finish(r);
	else if (r->r_outlen > 0)
		event_add(r->r_wev, NULL);
}

int
rabbit_start(struct event_base *base, const struct rabbit_opts *o,
    const char *mac, const char *pw, RABBIT_DONE_FN(done), void *arg)
{
	return rabbit_start_from(base, o, NULL, 0, mac, pw, done, arg);
}

int
rabbit_start_from(struct event_base *base, const struct rabbit_opts *o,
    const struct sockaddr *src, socklen_t srclen, const char *mac,
    const char *pw, RABBIT_DONE_FN(done), void *arg)
{
	struct rabbit	*r;
	struct timeval	 tv;
	int		 one = 1;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->r_in = malloc(RABBIT_IN_MAX)) == NULL) {
		free(r);
		return -1;
	}
	r->r_base = base, r->r_opts = o, r->r_done = done, r->r_arg = arg;
	clock_gettime(CLOCK_MONOTONIC, &r->r_t0);
	snprintf(r->r_mac, sizeof(r->r_mac), "%s", mac);
	snprintf(r->r_pw, sizeof(r->r_pw), "%s", pw ? pw : "");
	snprintf(r->r_rep.rr_mac, sizeof(r->r_rep.rr_mac), "%s", mac);
	r->r_rep.rr_firmware = o->ro_firmware == RABBIT_18673 ? "18673" :
	    "simulator";
	rabbit_step(r, "connect");
	r->r_fd = socket(o->ro_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	r->r_rev = event_new(base, r->r_fd, EV_READ | EV_PERSIST, on_read, r);
	r->r_wev = event_new(base, r->r_fd, EV_WRITE, on_write, r);
	r->r_tmo = evtimer_new(base, on_timeout, r);
	if (r->r_fd == -1 || !r->r_rev || !r->r_wev || !r->r_tmo) {
		rabbit_fail(r, "socket: %s", strerror(errno));
		finish(r);
		return -1;
	}
	(void)setsockopt(r->r_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (src != NULL && bind(r->r_fd, src, srclen) == -1) {
		rabbit_fail(r, "bind to the --source address: %s",
		    strerror(errno));
		finish(r);
		return -1;
	}
	tv.tv_sec = (time_t)o->ro_timeout;
	tv.tv_usec = (suseconds_t)((o->ro_timeout - (double)tv.tv_sec) * 1e6);
	evtimer_add(r->r_tmo, &tv);
	if (connect(r->r_fd, (const struct sockaddr *)&o->ro_addr,
	    o->ro_addrlen) == -1 && errno != EINPROGRESS) {
		rabbit_fail(r, "connect: %s", strerror(errno));
		finish(r);
		return -1;
	}
	event_assign(r->r_wev, base, r->r_fd, EV_WRITE, on_connect, r);
	event_add(r->r_wev, NULL);
	return 0;
}

static void
on_connect(evutil_socket_t fd, short what, void *arg)
{
	struct rabbit	*r = arg;
	int		 err = 0;
	socklen_t	 len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	event_assign(r->r_wev, r->r_base, fd, EV_WRITE, on_write, r);
	if (err != 0) {
		rabbit_fail(r, "connect: %s", strerror(err));
		finish(r);
		return;
	}
	rabbit_step_ok(r);
	rabbit_step(r, "stream");
	r->r_state = ST_HEADER;
	event_add(r->r_rev, NULL);
	rabbit_send(r, script_a1, NULL, NULL);
	if (r->r_state == ST_DONE)
		finish(r);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct rabbit	*r = arg;

	rabbit_fail(r, "timed out after %.0f s", r->r_opts->ro_timeout);
	finish(r);
}

/*
 * The stream header, from what has arrived. The firmware looks for it in
 * the latest read only (`fresh` bytes at the end of the buffer): bytes
 * without it are dropped, a header split across reads never opens.
 * Returns 1 when the header was consumed, 0 to wait, -1 failed.
 */
static int
take_header(struct rabbit *r, size_t fresh)
{
	int	fw = r->r_opts->ro_firmware == RABBIT_18673;
	char	*from = fw ? r->r_in + r->r_inlen - fresh : r->r_in;
	size_t	 n = fw ? fresh : r->r_inlen;
	long	 end = xs_header(from, n);

	if (end == 0 || (end == -1 && !fw)) {
		if (fw)
			r->r_inlen -= fresh;	/* discarded */
		return 0;
	}
	if (end == -1) {
		rabbit_fail(r, "stream header split across reads: the "
		    "firmware never opens the stream");
		return -1;
	}
	end += from - r->r_in;
	memmove(r->r_in, r->r_in + end, r->r_inlen - (size_t)end);
	r->r_inlen -= (size_t)end;
	r->r_state = r->r_state == ST_HEADER ? ST_FEATURES : ST_FEATURES2;
	return 1;
}

/* One element, checked the way the rabbit's parser reads it. */
static long
take_element(struct rabbit *r)
{
	int	fw = r->r_opts->ro_firmware == RABBIT_18673, flags;
	size_t	skip = 0;
	long	n;

	if (!fw)
		while (skip < r->r_inlen && strchr(" \t\r\n", r->r_in[skip]))
			skip++;
	else if (r->r_in[0] != '<') {
		rabbit_fail(r, "leading text %s: the firmware replaces its "
		    "buffer with it and is deaf for good",
		    rabbit_show(r->r_in, r->r_inlen));
		return -1;
	}
	n = xs_element(r->r_in + skip, r->r_inlen - skip, &flags);
	if (n == 0)
		return 0;
	if (n == -1) {
		rabbit_fail(r, "%s received%s", rabbit_show(r->r_in + skip,
		    r->r_inlen - skip), fw ? ": the rabbit reboots" : "");
		return -1;
	}
	if (n == -2) {
		rabbit_fail(r, "malformed: %s", rabbit_show(r->r_in + skip,
		    r->r_inlen - skip));
		return -1;
	}
	if (fw && flags) {
		rabbit_fail(r, "%s in %s: the firmware misreads it",
		    flags & XS_BARE_EMPTY ? "attribute-less <x/>" :
		    flags & XS_MARKUP ? "comment, CDATA or PI" :
		    flags & XS_ENTITY ? "an entity (never decoded)" :
		    "tab or newline between attributes",
		    rabbit_show(r->r_in + skip, (size_t)n));
		return -1;
	}
	if (fw)
		rabbit_fw_element(r, r->r_in, (size_t)n);
	else
		sim_element(r, r->r_in + skip, (size_t)n);
	return (long)skip + n;
}

/* Read once; hand complete elements to the flow. */
static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct rabbit	*r = arg;
	ssize_t		 got;
	long		 n;
	int		 was;

	got = recv(fd, r->r_in + r->r_inlen, RABBIT_IN_MAX - r->r_inlen, 0);
	if (got == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (got <= 0) {
		if (got == 0)
			rabbit_fail(r, "connection closed by the server");
		else
			rabbit_fail(r, "read: %s", strerror(errno));
		finish(r);
		return;
	}
	r->r_inlen += (size_t)got;
	if ((r->r_state == ST_HEADER || r->r_state == ST_HEADER2) &&
	    take_header(r, (size_t)got) != 1)
		goto out;
	while (r->r_state != ST_DONE && r->r_inlen > 0) {
		was = r->r_state;
		if ((n = take_element(r)) <= 0)
			break;
		memmove(r->r_in, r->r_in + n, r->r_inlen - (size_t)n);
		r->r_inlen -= (size_t)n;
		if (r->r_state == ST_HEADER2 && was == ST_SASL &&
		    r->r_inlen > 0)
			rabbit_fail(r, "%s after <success> in the same read: "
			    "the stream restart empties the buffer",
			    rabbit_show(r->r_in, r->r_inlen));
	}
	if (r->r_state != ST_DONE && r->r_inlen == RABBIT_IN_MAX)
		rabbit_fail(r, "an element larger than %d bytes",
		    RABBIT_IN_MAX);
out:
	if (r->r_state == ST_DONE)
		finish(r);
}

/* The seed simulator: the answer to each of its stanzas, by id. */
static void
sim_element(struct rabbit *r, const char *el, size_t n)
{
	static const char *const steps[] = { "register_form", "register",
	    "bind", "session" };
	char	id[16], type[16];
	int	k;

	if (r->r_state == ST_FEATURES) {
		rabbit_step_ok(r);
		r->r_state = ST_SIM_FORM;
		rabbit_step(r, steps[0]);
		rabbit_send(r, script_seed[0], NULL, NULL);
		return;
	}
	k = r->r_state - ST_SIM_FORM;
	snprintf(id, sizeof(id), "%d", k + 1);
	if (!xs_attr(el, n, "id", type, sizeof(type)) || strcmp(type, id))
		return;		/* not the answer it waits for */
	if (!xs_attr(el, n, "type", type, sizeof(type)) ||
	    strcmp(type, "result") != 0) {
		rabbit_fail(r, "answered %s", rabbit_show(el, n));
		return;
	}
	if (r->r_state == ST_SIM_BIND &&
	    !xs_child_text(el, n, "jid", r->r_jid, sizeof(r->r_jid))) {
		rabbit_fail(r, "bind result without a jid: %s",
		    rabbit_show(el, n));
		return;
	}
	rabbit_step_ok(r);
	if (r->r_state == ST_SIM_SESSION) {
		r->r_rep.rr_idle = 1;
		r->r_state = ST_DONE;
		return;
	}
	r->r_state++;
	rabbit_step(r, steps[k + 1]);
	rabbit_send(r, script_seed[k + 1], NULL, NULL);
}

/* Report, say goodbye if idle, free. */
static void
finish(struct rabbit *r)
{
	static const char	bye[] = "</stream:stream>";

	if (r->r_outlen > 0 && r->r_rep.rr_reason[0] == '\0' &&
	    event_pending(r->r_wev, EV_WRITE, NULL))
		return;		/* on_write finishes once it is flushed */
	r->r_rep.rr_ms = ms_since(&r->r_t0);
	snprintf(r->r_rep.rr_jid, sizeof(r->r_rep.rr_jid), "%s", r->r_jid);
	if (r->r_rep.rr_idle && r->r_fd != -1)
		(void)send(r->r_fd, bye, sizeof(bye) - 1, MSG_NOSIGNAL);
	r->r_done(&r->r_rep, r->r_pw, r->r_arg);
	if (r->r_rev)
		event_free(r->r_rev);
	if (r->r_wev)
		event_free(r->r_wev);
	if (r->r_tmo)
		event_free(r->r_tmo);
	if (r->r_evt)
		event_free(r->r_evt);
	if (r->r_fd != -1)
		close(r->r_fd);
	explicit_bzero(r->r_pw, sizeof(r->r_pw));
	free(r->r_in);
	free(r);
}
