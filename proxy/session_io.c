/*
 * session_io: everything a session writes: units moved or serialised to a
 * leg or the hold queue, stream errors, the [vm]/raw traffic log, and the
 * upstream login that runs on the session's own server stream.
 *
 * Redaction is decided from the parsed unit, not by pattern over the
 * text (logsafe.c): the contents of password elements and of SASL
 * payloads are replaced by "***" before a line is formatted, unless the
 * operator turned redaction off; peer bytes are escaped in every line.
 */
#include <ctype.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "chain.h"
#include "ctlreg.h"
#include "leg.h"
#include "log.h"
#include "logsafe.h"
#include "rabbitlog.h"
#include "login.h"
#include "session-int.h"
#include "stanza.h"
#include "vmlog.h"
#include "xmlstream.h"

#define NS_SASL		"urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_STREAMS	"urn:ietf:params:xml:ns:xmpp-streams"

static struct evbuffer *se_out(struct session *, enum nab_dir, int);
static int	se_may_hide(const char *, size_t);
static void	se_doze_sweep(evutil_socket_t, short, void *);

/*
 * Idle sessions give their parsers back (xs_doze): a proxy-wide timer,
 * armed while sessions exist, walks them every SE_DOZE_EVERY seconds and
 * puts to sleep the streams of every session quiet for SE_DOZE_AFTER.
 * One timer rather than one per session: an idle rabbit costs no event.
 */
#define SE_DOZE_EVERY	2
#define SE_DOZE_AFTER	2
#define SE_DOZE_TRIM	16	/* streams put to sleep before a malloc_trim */

void
se_identity_init(struct session *se)
{
	struct proxy	*px = se->px;
	struct timeval	 tv = { SE_DOZE_EVERY, 0 };

	identity_init(&se->who, se->peer, se->id);
	if (px->doze_ev == NULL)
		px->doze_ev = evtimer_new(px->base, se_doze_sweep, px);
	if (px->doze_ev != NULL && !evtimer_pending(px->doze_ev, NULL))
		evtimer_add(px->doze_ev, &tv);
}

static void
se_doze_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct proxy	*px = arg;
	struct timeval	 tv = { SE_DOZE_EVERY, 0 };

	session_doze_idle(px, SE_DOZE_AFTER);
	if (px->nsessions > 0)
		evtimer_add(px->doze_ev, &tv);
	else
		proxy_doze_gone(px);	/* not pending: safe in its callback */
}

unsigned
session_doze_idle(struct proxy *px, unsigned quiet)
{
	struct session	*se;
	struct timeval	 now;
	unsigned	 d, n = 0;

	event_base_gettimeofday_cached(px->base, &now);
	TAILQ_FOREACH(se, &px->sessions, entry) {
		if (se->dead || se->failing || se->in_process[0] ||
		    se->in_process[1] ||
		    now.tv_sec - se->last_active.tv_sec < (time_t)quiet)
			continue;
		for (d = 0; d < 2; d++)
			if (se->xs[d] != NULL && !xs_dozing(se->xs[d]) &&
			    xs_doze(se->xs[d]))
				n++;
	}
#ifdef __GLIBC__
	/*
	 * The parsers freed leave holes inside the heap, which glibc keeps
	 * mapped: hand whole free pages back, so that idle rabbits really
	 * cost no memory (a walk of the heap, once per sweep that freed some).
	 */
	if (n >= SE_DOZE_TRIM)
		malloc_trim(0);
#endif
	return n;
}

void
proxy_doze_gone(struct proxy *px)
{
	if (px->nsessions == 0 && px->doze_ev != NULL) {
		event_free(px->doze_ev);
		px->doze_ev = NULL;
	}
}

struct identity *
session_who(struct session *se)
{
	return &se->who;
}

const struct nab_identity *
session_identity(struct session *se)
{
	se->who.pub.profile = se->chain ? chain_profile(se->chain) : "";
	return &se->who.pub;
}

/*
 * A claim (filter.h set_identity): a MAC must be 12 hex digits, kept in
 * lower case (it names the rabbit's file under log-dir); once the
 * connection proved an account, the MAC and domain stay that account's.
 */
void
session_set_identity(struct session *se, const char *mac, const char *domain,
    const char *firmware)
{
	identity_claim(&se->who, mac, domain, firmware);
}

struct event_base *
session_base(struct session *se)
{
	return se->px->base;
}

struct proxy *
session_proxy(struct session *se)
{
	return se->px;
}

void
session_log(struct session *se, int level, const char *fmt, ...)
{
	char	buf[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_msg((enum log_level)level, "session %llu: %s",
	    (unsigned long long)se->id, buf);
	if (level <= LOG_LVL_WARN)
		ctlreg_warning(se->rec, buf);
}

/*
 * Where bytes from `d` go: the other leg, or the hold queue. Between
 * <starttls/> and the restarted header nothing may reach the server, not
 * even what a filter injects: it waits with the held stanzas.
 */
static struct evbuffer *
se_out(struct session *se, enum nab_dir d, int may_hold)
{
	struct leg	*dst = se_dst(se, d);

	if (d == NAB_FROM_RABBIT && se->holds > 0 && (may_hold ||
	    upstream_tls_pending(&se->up)))
		return se->held;
	if (dst->bev == NULL || dst->closing)
		return NULL;
	return leg_output(dst);
}

void
se_send_unit(struct session *se, enum nab_dir d, struct evbuffer *in,
    const char *bytes, size_t len, enum xs_kind kind)
{
	struct evbuffer	*out = se_out(se, d, 1);

	if (d == NAB_FROM_SERVER)
		se_log_unit(se, d, bytes, len, kind, LOGU_PEER);
	if (out == NULL || evbuffer_remove_buffer(in, out, len) != (int)len) {
		evbuffer_drain(in, len);
		return;
	}
}

unsigned
se_light_names(struct session *se)
{
	if (se->profile_auto || se->close_cond != NULL ||
	    upstream_busy(&se->up) ||
	    (se->chain != NULL && chain_reads_stanzas(se->chain)))
		return 0;
	return XS_LIGHT_MESSAGE | XS_LIGHT_PRESENCE;
}

void
se_light_unit(struct session *se, enum nab_dir d, const struct xs_unit *u,
    struct evbuffer *in, const char *bytes)
{
	ctlreg_unit(se->rec, d == NAB_FROM_SERVER, u);
	if (d == NAB_FROM_RABBIT)
		se_log_unit(se, d, bytes, u->len, XS_STANZA, LOGU_PEER);
	ctlreg_light(se->rec, d == NAB_FROM_SERVER, u->light);
	se_send_unit(se, d, in, bytes, u->len, XS_STANZA);
}

/*
 * The one way a tree leaves nabproxy: an edited or replaced unit, a
 * header, or a stanza a filter injected. st_serialize() is the canonical,
 * firmware-safe form (never self-closing, single quotes); the same bytes
 * go to the log, the control socket's history and the leg (or the hold
 * queue when may_hold). 0, or -1 on ENOMEM or when the side is gone.
 */
static int
se_write_tree(struct session *se, enum nab_dir d, struct stanza *st,
    int open_only, int may_hold, enum logu_origin origin)
{
	struct evbuffer	*tmp, *out = se_out(se, d, may_hold);
	int		 rc = -1;

	if ((tmp = evbuffer_new()) == NULL)
		return -1;
	if (st_serialize(stanza_root(st), tmp, open_only) == 0) {
		if (!open_only)
			ctlreg_stanza(se->rec, d == NAB_FROM_SERVER, st);
		se_log_unit(se, d, (const char *)evbuffer_pullup(tmp, -1),
		    evbuffer_get_length(tmp), open_only ? XS_HEADER :
		    XS_STANZA, origin);
		rc = out != NULL ? evbuffer_add_buffer(out, tmp) : -1;
	}
	evbuffer_free(tmp);
	return rc;
}

void
se_send_stanza(struct session *se, enum nab_dir d, struct stanza *st,
    int open_only)
{
	if (st == NULL || stanza_root(st) == NULL)
		return;
	if (se_write_tree(se, d, st, open_only, 1, d == NAB_FROM_SERVER ?
	    LOGU_PEER : LOGU_REPAIRED) == -1 && se_out(se, d, 1) != NULL)
		session_fail(se, "internal-server-error", "", "out of memory");
}

int
session_inject(struct session *se, enum nab_dir as_from, struct stanza *st)
{
	int	rc = -1;

	/* Nothing is logged for a side that is gone, as before. */
	if (se_out(se, as_from, 0) != NULL) {
		if (as_from == NAB_FROM_RABBIT)	/* a filter's register set */
			se_note_register_set(se, stanza_root(st));
		rc = se_write_tree(se, as_from, st, 0, 0, LOGU_PROXY);
	}
	stanza_free(st);
	return rc;
}

int
session_inject_raw(struct session *se, enum nab_dir as_from,
    const char *bytes, size_t len)
{
	struct evbuffer	*out = se_out(se, as_from, 0);

	if (out == NULL)
		return -1;
	se_log_unit(se, as_from, bytes, len, XS_WS, LOGU_PROXY);
	return evbuffer_add(out, bytes, len);
}

void
se_send_error(struct session *se, enum nab_dir as_from, const char *cond)
{
	struct evbuffer	*out = se_out(se, as_from, 0), *tmp;

	/* An evbuffer, not a fixed array: the domain and cond vary in length. */
	if (out == NULL || (tmp = evbuffer_new()) == NULL)
		return;
	if (as_from == NAB_FROM_SERVER && !se->rabbit_has_header) {
		/* A declaration only where the rabbit sent one. */
		evbuffer_add_printf(tmp, "%s"
		    "<stream:stream xmlns='jabber:client' xmlns:stream="
		    "'http://etherx.jabber.org/streams' id='nabproxy-%llu'",
		    se->r_has_decl ? "<?xml version='1.0'?>" : "",
		    (unsigned long long)se->id);
		/* The domain is the rabbit's `to`: any bytes, escaped. */
		if (se->who.domain[0] != '\0' &&
		    (evbuffer_add(tmp, " from='", 7) == -1 ||
		    st_escape(tmp, se->who.domain, strlen(se->who.domain)) == -1 ||
		    evbuffer_add(tmp, "'", 1) == -1)) {
			evbuffer_free(tmp);
			return;
		}
		evbuffer_add(tmp, " version='1.0'>", 15);
		se->rabbit_has_header = 1;
	}
	if (*cond != '\0')
		evbuffer_add_printf(tmp,
		    "<stream:error><%s xmlns='%s'/></stream:error>", cond,
		    NS_STREAMS);
	if (!se->ended[as_from])
		evbuffer_add(tmp, "</stream:stream>", 16);
	se_log_unit(se, as_from, (const char *)evbuffer_pullup(tmp, -1),
	    evbuffer_get_length(tmp), XS_STANZA, LOGU_PROXY);
	evbuffer_add_buffer(out, tmp);
	evbuffer_free(tmp);
}

void
session_hold(struct session *se)
{
	se->holds++;
}

void
session_release(struct session *se)
{
	struct evbuffer	*out;

	if (se->holds == 0 || --se->holds > 0)
		return;
	if ((out = se_out(se, NAB_FROM_RABBIT, 0)) != NULL)
		evbuffer_add_buffer(out, se->held);
	else
		evbuffer_drain(se->held, evbuffer_get_length(se->held));
	/* Deferred: we may be inside the chain right now. */
	if (se->r.pause & LEG_PAUSE_HOLD) {
		leg_resume(&se->r, LEG_PAUSE_HOLD);
		event_active(se->kick, 0, 0);
	} else if (se->eof_deferred)
		event_active(se->kick, 0, 0);
}

void
session_close_with(struct session *se, const char *condition,
    const char *reason)
{
	size_t	n;

	if (se->close_cond != NULL)
		return;
	/*
	 * Copied (the filter may free it when the hook returns) and checked:
	 * it becomes an element name in the stream error.
	 */
	n = condition != NULL ? strspn(condition,
	    "abcdefghijklmnopqrstuvwxyz-") : 0;
	if (n == 0 || condition[n] != '\0' || n >= sizeof(se->close_cond_buf))
		condition = "undefined-condition";
	snprintf(se->close_cond_buf, sizeof(se->close_cond_buf), "%s",
	    condition);
	se->close_cond = se->close_cond_buf;
	se->close_reason = strdup(reason ? reason : "closed by a filter");
	/* From a timer or a login callback too, not only inside a hook. */
	event_active(se->kick, 0, 0);
}

/*
 * Log what crosses the proxy in the configured formats. Toward the
 * rabbit, the tree of what it receives; from the rabbit, what it sent
 * (LOGU_PEER), and as a note what nabproxy sent the server instead
 * (LOGU_REPAIRED) or on its own (LOGU_PROXY). Secrets are hidden from
 * the parsed unit (logsafe_redact) and peer bytes escaped before any
 * sink, the control socket's taps included, sees them.
 */
void
se_log_unit(struct session *se, enum nab_dir d, const char *bytes,
    size_t len, enum xs_kind kind, enum logu_origin origin)
{
	struct evbuffer	*out, *red = NULL;
	char		 prefix[64];
	const char	*intro = NULL;
	enum logsafe_vm	 vm = LOGSAFE_VM_NONE;
	int		 rendered, misread;

	if (len == 0)
		return;
	/*
	 * Nobody reads the line (no log, no watch, no tap): only a server
	 * stanza's parser hazard is noted, and nothing is redacted or
	 * formatted (the hot path of log-format none).
	 */
	if (se->opt->log_format == LOGFMT_NONE &&
	    !ctlreg_wants_traffic(se->rec)) {
		if (d == NAB_FROM_SERVER && kind == XS_STANZA)
			ctlreg_hazard(se->rec, bytes, len, se->opt->redact);
		return;
	}
	/*
	 * A peer unit is well-formed (expat parsed it, or xframe checked it):
	 * if none of its elements has a secret's local name, logsafe_redact()
	 * would return it unchanged, so its parser is spared.
	 */
	if (se->opt->redact && (origin != LOGU_PEER || se_may_hide(bytes, len))) {
		if ((red = evbuffer_new()) == NULL ||
		    logsafe_redact(red, bytes, len) == -1) {
			/* Nothing unredacted is ever logged. */
			if (red != NULL)
				evbuffer_free(red);
			return;
		}
		len = evbuffer_get_length(red);
		bytes = (const char *)evbuffer_pullup(red, -1);
	}
	if (origin != LOGU_PEER)
		intro = d == NAB_FROM_SERVER ? "nabproxy sends the rabbit" :
		    origin == LOGU_REPAIRED ? "nabproxy repaired that, the "
		    "server gets" : "nabproxy sends the server";
	if (d == NAB_FROM_RABBIT && kind != XS_WS)
		vm = LOGSAFE_VM_SENDING;
	else if (d == NAB_FROM_SERVER && kind == XS_STANZA)
		vm = LOGSAFE_VM_RECEIVE;
	prefix[0] = '\0';
	if (se->opt->log_prefix)
		snprintf(prefix, sizeof(prefix), "%s ", se->who.mac[0] ? se->who.mac :
		    se->peer);
	if (se->opt->log_format == LOGFMT_NONE || (out = evbuffer_new()) == NULL) {
		ctlreg_traffic(se->rec, d == NAB_FROM_SERVER, vm, intro, bytes,
		    len, -1);
		if (red != NULL)
			evbuffer_free(red);
		return;
	}
	/* The log first: its [vm] rendering tells the hazard check. */
	rendered = logsafe_render(out, prefix, se->opt->log_format,
	    d == NAB_FROM_SERVER, vm, intro, bytes, len, &misread);
	ctlreg_traffic(se->rec, d == NAB_FROM_SERVER, vm, intro, bytes, len,
	    rendered == 0 ? misread : -1);
	if (rendered == 0) {
		log_raw((const char *)evbuffer_pullup(out, -1),
		    evbuffer_get_length(out));
		if (se->opt->log_dir[0] != '\0' && se->rlog == NULL)
			se->rlog = rabbitlog_new(se->opt->log_dir, se->peer_ip);
		if (se->rlog != NULL)
			rabbitlog_add(se->rlog, se->who.mac,
			    (const char *)evbuffer_pullup(out, -1),
			    evbuffer_get_length(out));
	}
	evbuffer_free(out);
	if (red != NULL)
		evbuffer_free(red);
}

/*
 * 1 if some tag in b names an element whose content logsafe.h calls
 * secret (local name password, digest, auth, response, challenge or
 * success, whatever the prefix or namespace): a superset of what
 * logsafe_redact() hides, decided from the tag names alone.
 */
static int
se_may_hide(const char *b, size_t n)
{
	static const char *const names[] = { "password", "digest", "auth",
	    "response", "challenge", "success" };
	const char	*p = b, *end = b + n, *name, *local;
	size_t		 i, len;

	while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
		name = ++p;
		if (name < end && *name == '/')
			name++;
		local = name;
		for (p = name; p < end && *p != '>' && *p != '/' && *p != ' ' &&
		    *p != '\t' && *p != '\r' && *p != '\n'; p++)
			if (*p == ':')
				local = p + 1;
		len = (size_t)(p - local);
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i]) == len &&
			    memcmp(names[i], local, len) == 0)
				return 1;
	}
	return 0;
}

void
se_keep_features(struct session *se, struct stanza *st)
{
	struct stanza	*copy;
	struct st_node	*root;

	if ((copy = stanza_new(stanza_used(st) * 2 + 4096)) == NULL ||
	    (root = st_copy(copy, stanza_root(st))) == NULL) {
		stanza_free(copy);
		return;
	}
	stanza_set_root(copy, root);
	stanza_free(se->features);
	se->features = copy;
}
