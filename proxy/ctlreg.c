/*
 * ctlreg: the registry behind the control socket. It owns one record per
 * live session, the bounded history of ended attempts, the watch list and
 * its unit buffers, and the tap list. Records point at their session
 * only while it lives; a history entry is a copy that owns its strings.
 *
 * Stages are read from the units the session parses (rabbit side: what
 * it asks for; server side: answers, errors and the stream error), never
 * from a filter's state, so they show the same thing whatever profile
 * runs. Time is kept as wall-clock at connect plus monotonic offsets.
 * The reports (list, history, stats, counters) are in ctlreg_report.c.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "ctlreg.h"
#include "logsafe.h"
#include "ctlreg-int.h"
#include "hostsvc.h"
#include "identity.h"
#include "proxy.h"
#include "session.h"
#include "stanza.h"
#include "vmlog.h"
#include "xmlstream.h"

static const char *const stage_names[] = {
	"connected", "stream", "register", "auth", "bind-boot", "bind",
	"session", "sources", "bind-idle", "presence", "idle"
};

/* RFC 6120 4.9.3, sorted; 0 is "none" and the last "other". */
static const char *const cond_names[CTLREG_NCONDS] = {
	"none", "bad-format", "bad-namespace-prefix", "conflict",
	"connection-timeout", "host-gone", "host-unknown",
	"improper-addressing", "internal-server-error", "invalid-from",
	"invalid-namespace", "invalid-xml", "not-authorized",
	"not-well-formed", "policy-violation", "remote-connection-failed",
	"reset", "resource-constraint", "restricted-xml", "see-other-host",
	"system-shutdown", "undefined-condition", "unsupported-encoding",
	"unsupported-feature", "unsupported-stanza-type",
	"unsupported-version", "other"
};

static long long	 rec_ms(const struct ctlrec *);
static void		 rec_step(struct ctlrec *, enum ctl_stage);
static void		 rec_error(struct ctlrec *, const char *, const char *);
static void		 rec_copy_identity(struct ctlrec *,
			    const struct nab_identity *);
static void		 rec_free(struct ctlrec *);
static void		 rec_keep(struct ctlrec *, int, enum logsafe_vm,
			    const char *, const char *, size_t);
static void		 rec_rabbit(struct ctlrec *, struct stanza *);
static void		 rec_server(struct ctlrec *, struct stanza *);
static void		 rec_auth(struct ctlrec *, int);
static const char	*err_condition(const struct st_node *);
static int		 watched(const struct ctlreg *, const char *);
static int		 tap_matches(const struct ctltap *,
			    const struct ctlrec *);
static void		 tap_send(struct ctltap *, const struct ctlrec *, int,
			    enum logsafe_vm, const char *, const char *, size_t);

const char *
ctlreg_cond_name(int i)
{
	return i >= 0 && i < CTLREG_NCONDS ? cond_names[i] : "other";
}

const char *
ctlreg_stage_name(enum ctl_stage s)
{
	return (unsigned)s <= CTL_IDLE ? stage_names[s] : "?";
}

struct ctlreg *
ctlreg_new(void)
{
	struct ctlreg	*reg;

	if ((reg = calloc(1, sizeof(*reg))) == NULL)
		return NULL;
	TAILQ_INIT(&reg->live);
	TAILQ_INIT(&reg->history);
	TAILQ_INIT(&reg->taps);
	return reg;
}

void
ctlreg_free(struct ctlreg *reg)
{
	struct ctlrec	*r;
	struct ctltap	*t;

	if (reg == NULL)
		return;
	while ((r = TAILQ_FIRST(&reg->live)) != NULL) {
		TAILQ_REMOVE(&reg->live, r, entry);
		rec_free(r);
	}
	while ((r = TAILQ_FIRST(&reg->history)) != NULL) {
		TAILQ_REMOVE(&reg->history, r, entry);
		rec_free(r);
	}
	while ((t = TAILQ_FIRST(&reg->taps)) != NULL) {
		TAILQ_REMOVE(&reg->taps, t, entry);
		free(t);
	}
	free(reg);
}

/* 12 hex digits, with optional ':' or '-' between pairs, to lower case. */
int
ctlreg_mac_norm(const char *s, size_t n, char *mac)
{
	size_t	i, k = 0;

	for (i = 0; i < n; i++) {
		if ((s[i] == ':' || s[i] == '-') && k > 0 && k % 2 == 0 &&
		    i + 1 < n)
			continue;
		if (!isxdigit((unsigned char)s[i]) || k == 12)
			return -1;
		mac[k++] = (char)tolower((unsigned char)s[i]);
	}
	mac[k] = '\0';
	return k == 12 ? 0 : -1;
}

int
ctlreg_set_watch(struct ctlreg *reg, const char *list, char *err,
    size_t errlen)
{
	char	 macs[CTLREG_WATCH_MAX][16];
	size_t	 n = 0, w;

	if (list == NULL)
		list = "";
	while (*list != '\0') {
		list += strspn(list, " \t,");
		if ((w = strcspn(list, " \t,")) == 0)
			break;
		if (n == CTLREG_WATCH_MAX) {
			snprintf(err, errlen, "watch: at most %d MACs",
			    CTLREG_WATCH_MAX);
			return -1;
		}
		if (ctlreg_mac_norm(list, w, macs[n]) == -1) {
			snprintf(err, errlen, "watch: '%.*s' is not a MAC "
			    "(12 hex digits)", (int)(w > 40 ? 40 : w), list);
			return -1;
		}
		n++;
		list += w;
	}
	memcpy(reg->watch, macs, sizeof(macs));
	reg->nwatch = n;
	return 0;
}

static int
watched(const struct ctlreg *reg, const char *mac)
{
	size_t	i;

	for (i = 0; i < reg->nwatch; i++)
		if (strcmp(reg->watch[i], mac) == 0)
			return 1;
	return 0;
}

struct ctlrec *
ctlreg_open(struct ctlreg *reg, struct session *se, uint64_t id,
    const char *peer)
{
	struct ctlrec	*r;

	if (reg == NULL || (r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->reg = reg;
	r->se = se;
	r->id = id;
	snprintf(r->peer, sizeof(r->peer), "%s", peer);
	r->since = time(NULL);
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	r->ended_ms = -1;
	r->steps[0] = (struct step){ CTL_CONNECTED, 0 };
	r->seen = 1u << CTL_CONNECTED;
	reg->reached[CTL_CONNECTED]++;
	r->nsteps = 1;
	r->pending = reg->nwatch > 0;
	TAILQ_INIT(&r->units);
	TAILQ_INSERT_TAIL(&reg->live, r, entry);
	reg->opened++;
	return r;
}

static long long
rec_ms(const struct ctlrec *r)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - r->t0.tv_sec) * 1000 +
	    (now.tv_nsec - r->t0.tv_nsec) / 1000000;
}

/* Move to stage s; a repeat of the current stage is no step. */
static void
rec_step(struct ctlrec *r, enum ctl_stage s)
{
	if (r->stage == s)
		return;
	r->stage = s;
	if (!(r->seen & (1u << s))) {
		r->seen |= 1u << s;
		r->reg->reached[s]++;
	}
	if (r->nsteps == CTLREG_STEPS)
		r->nsteps--;
	r->steps[r->nsteps++] = (struct step){ s, rec_ms(r) };
	hostsvc_stage(r->se, ctlreg_stage_name(s));	/* filters' on_stage */
}

/* Note the server's latest error: what, and its condition if any. */
static void
rec_error(struct ctlrec *r, const char *what, const char *cond)
{
	char	buf[REC_ERROR_MAX];

	snprintf(buf, sizeof(buf), "%s at %s%s%s", what,
	    ctlreg_stage_name(r->stage), cond != NULL ? ": " : "",
	    cond != NULL ? cond : "");
	ctlreg_rec_set(&r->error, sizeof(buf), buf);
}

/* The first element child of an error that names a condition. */
static const char *
err_condition(const struct st_node *err)
{
	const struct st_node	*c;

	for (c = err != NULL ? err->first : NULL; c != NULL; c = c->next)
		if (c->name != NULL && strcmp(c->name, "text") != 0)
			return c->name;
	return NULL;
}

/* What the rabbit asks for tells its stage. */
static void
rec_rabbit(struct ctlrec *r, struct stanza *s)
{
	const struct st_node	*st = stanza_root(s), *c;
	const char		*res, *colon = strchr(st->name, ':');

	/* SASL: the stage, and the user it names (a MAC before any proof). */
	if (strcmp(st->name, "auth") == 0 || strcmp(st->name, "response") == 0) {
		if (r->sasl == NULL && (r->sasl = calloc(1,
		    sizeof(*r->sasl))) != NULL)
			identity_init(r->sasl, r->peer, r->id);
		if (r->sasl != NULL)
			identity_note_sasl(r->sasl, st);
	}
	if (strcmp(colon != NULL ? colon + 1 : st->name, "auth") == 0) {
		res = st_attr(st, "mechanism");
		snprintf(r->mech, sizeof(r->mech), "%s", res ? res : "");
		rec_step(r, CTL_AUTH);
		return;
	}
	if (strcmp(st->name, "presence") == 0) {
		rec_step(r, CTL_PRESENCE);
		r->online = 1;
		return;
	}
	if (strcmp(st->name, "iq") != 0)
		return;
	if (st_child(st, "query", "violet:iq:register") != NULL ||
	    st_child(st, "query", "jabber:iq:register") != NULL)
		rec_step(r, CTL_REGISTER);
	else if (st_child(st, "query", "violet:iq:sources") != NULL)
		rec_step(r, CTL_SOURCES);
	else if (st_child(st, "session", NULL) != NULL)
		rec_step(r, CTL_SESSION);
	else if ((c = st_child(st, "bind", NULL)) != NULL) {
		c = st_child(c, "resource", NULL);
		res = c != NULL ? st_text(s, c) : NULL;
		rec_step(r, res != NULL && strcmp(res, "boot") == 0 ?
		    CTL_BIND_BOOT : res != NULL && strcmp(res, "idle") == 0 ?
		    CTL_BIND_IDLE : CTL_BIND);
	}
}

/* A SASL outcome the rabbit got, by its mechanism and profile. */
static void
rec_auth(struct ctlrec *r, int ok)
{
	if (r->reg->cnt == NULL)
		return;
	ctlreg_rec_identity(r);
	counters_auth(r->reg->cnt, CNT_RABBIT, r->mech,
	    ctlreg_rec_str(r->profile), ok);
}

void
ctlreg_set_counters(struct ctlreg *reg, struct counters *c)
{
	reg->cnt = c;
}

/* What the server answers: errors, and whether the rabbit got online. */
static void
rec_server(struct ctlrec *r, struct stanza *s)
{
	const struct st_node	*st = stanza_root(s);
	const char		*type = st_attr(st, "type");

	if (strcmp(st->name, "stream:error") == 0 ||
	    strcmp(st->name, "error") == 0) {
		rec_error(r, "stream error", err_condition(st));
		r->reg->stream_errors++;
	} else if (strcmp(st->name, "failure") == 0 && r->stage == CTL_AUTH) {
		rec_error(r, "authentication failed", err_condition(st));
		r->reg->auth_failed++;
		rec_auth(r, 0);
	} else if (strcmp(st->name, "success") == 0 && r->stage == CTL_AUTH) {
		rec_auth(r, 1);
	} else if (strcmp(st->name, "iq") == 0 && type != NULL &&
	    strcmp(type, "error") == 0) {
		rec_error(r, "refused", err_condition(st_child(st, "error",
		    NULL)));
		r->reg->refused++;
	} else if (strcmp(st->name, "iq") == 0 && type != NULL &&
	    strcmp(type, "result") == 0 && r->stage >= CTL_SESSION)
		r->online = 1;
	if (r->stage == CTL_PRESENCE)
		rec_step(r, CTL_IDLE);
}

void
ctlreg_unit(struct ctlrec *r, int from_server, const struct xs_unit *u)
{
	if (r == NULL)
		return;
	r->bytes[from_server != 0] += u->len;
	r->reg->total[from_server != 0] += u->len;
	r->reg->units[from_server != 0]++;
	if (u->kind == XS_STANZA)
		r->reg->stanzas[from_server != 0]++;
	if (u->kind == XS_HEADER && !from_server && !r->header_seen) {
		r->header_seen = 1;
		rec_step(r, CTL_STREAM);
	}
	/*
	 * A server stanza counts once it goes to the rabbit (ctlreg_stanza):
	 * what nabproxy's own login consumes (a relayed exchange it aborted,
	 * say) is not what the rabbit got.
	 */
	if (from_server || u->kind != XS_STANZA || u->st == NULL ||
	    stanza_root(u->st) == NULL)
		return;
	rec_rabbit(r, u->st);
}

void
ctlreg_stanza(struct ctlrec *r, int from_server, struct stanza *s)
{
	if (r == NULL || s == NULL || stanza_root(s) == NULL ||
	    stanza_root(s)->name == NULL)
		return;
	if (from_server)
		rec_server(r, s);
	else
		rec_rabbit(r, s);
}

void
ctlreg_light(struct ctlrec *r, int from_server, unsigned light)
{
	if (r == NULL)
		return;
	r->reg->scanned[from_server != 0]++;
	/* rec_rabbit() and rec_server() for a message or a presence. */
	if (!from_server && light == XS_LIGHT_PRESENCE) {
		rec_step(r, CTL_PRESENCE);
		r->online = 1;
	} else if (from_server && r->stage == CTL_PRESENCE)
		rec_step(r, CTL_IDLE);
}

void
ctlreg_warning(struct ctlrec *r, const char *msg)
{
	if (r != NULL)
		ctlreg_rec_set(&r->warning, REC_WARNING_MAX, msg);
}

/* Fill the identity from the live session (MAC, JID, firmware, profile). */
void
ctlreg_rec_identity(struct ctlrec *r)
{
	const struct nab_identity	*who;

	if (r->se != NULL) {
		who = session_identity(r->se);
		rec_copy_identity(r, who);
	}
	/* No MAC proven or claimed yet: the SASL user, if it is one. */
	if (r->mac[0] == '\0' && r->sasl != NULL)
		(void)ctlreg_mac_norm(identity_sasl_user(r->sasl),
		    strcspn(identity_sasl_user(r->sasl), "@"), r->mac);
	if (ctlreg_mac_norm(r->mac, strlen(r->mac), r->mac) == -1)
		r->mac[0] = '\0';
}

static void
rec_copy_identity(struct ctlrec *r, const struct nab_identity *who)
{
	snprintf(r->mac, sizeof(r->mac), "%s", who->mac ? who->mac : "");
	ctlreg_rec_set(&r->jid, REC_JID_MAX, who->bare_jid ?
	    who->bare_jid : "");
	ctlreg_rec_set(&r->firmware, REC_FIRMWARE_MAX, who->firmware ?
	    who->firmware : "");
	ctlreg_rec_set(&r->profile, REC_PROFILE_MAX, who->profile ?
	    who->profile : "");
}

void
ctlreg_rec_set(char **dst, size_t size, const char *s)
{
	size_t	 n = strnlen(s, size - 1);
	char	*p;

	if (*dst != NULL && strncmp(*dst, s, n) == 0 && (*dst)[n] == '\0')
		return;		/* unchanged: the usual case at report time */
	if (n == 0 || (p = realloc(*dst, n + 1)) == NULL) {
		free(*dst);
		*dst = NULL;
		return;
	}
	memcpy(p, s, n);
	p[n] = '\0';
	*dst = p;
}

/* Keep a unit for a watched rabbit (or one whose MAC is not known yet). */
static void
rec_keep(struct ctlrec *r, int from_server, enum logsafe_vm vm,
    const char *intro, const char *bytes, size_t len)
{
	struct wunit	*w;
	size_t		 cap = r->watched ? CTLREG_WATCH_BYTES :
			    CTLREG_PENDING_BYTES;

	if (len > cap || (w = malloc(sizeof(*w) + len)) == NULL) {
		r->udropped++;
		return;
	}
	w->from_server = from_server;
	w->vm = vm;
	w->intro = intro;
	w->len = len;
	memcpy(w->bytes, bytes, len);
	TAILQ_INSERT_TAIL(&r->units, w, entry);
	r->ubytes += len;
	while (r->ubytes > cap &&
	    (w = TAILQ_FIRST(&r->units)) != NULL) {
		TAILQ_REMOVE(&r->units, w, entry);
		r->ubytes -= w->len;
		r->udropped++;
		free(w);
	}
}

static int
tap_matches(const struct ctltap *t, const struct ctlrec *r)
{
	return t->all || (t->id != 0 && t->id == r->id) ||
	    (t->id == 0 && r->mac[0] != '\0' && strcmp(t->mac, r->mac) == 0);
}

/* Render one unit in the tap's format, every line led by the id. */
static void
tap_send(struct ctltap *t, const struct ctlrec *r, int from_server,
    enum logsafe_vm vm, const char *intro, const char *bytes, size_t len)
{
	struct evbuffer	*out;
	char		 prefix[32];

	if ((out = evbuffer_new()) == NULL)
		return;
	snprintf(prefix, sizeof(prefix), "%llu ", (unsigned long long)r->id);
	if (logsafe_render(out, prefix, t->fmt, from_server, vm, intro, bytes,
	    len, NULL) == 0 && evbuffer_get_length(out) > 0)
		t->sink(t->arg, (const char *)evbuffer_pullup(out, -1),
		    evbuffer_get_length(out));
	evbuffer_free(out);
}

void
ctlreg_traffic(struct ctlrec *r, int from_server, enum logsafe_vm vm,
    const char *intro, const char *bytes, size_t len, int misread)
{
	struct ctltap	*t, *next;
	struct wunit	*w;
	char		 why[VMLOG_WHY_SIZE];

	if (r == NULL)
		return;
	if (r->pending || r->watched || !TAILQ_EMPTY(&r->reg->taps))
		ctlreg_rec_identity(r);
	if (r->pending && r->mac[0] != '\0') {
		r->pending = 0;
		r->watched = watched(r->reg, r->mac);
		while (!r->watched && (w = TAILQ_FIRST(&r->units)) != NULL) {
			TAILQ_REMOVE(&r->units, w, entry);
			free(w);
		}
		if (!r->watched)
			r->ubytes = 0;
	}
	if (r->pending || r->watched)
		rec_keep(r, from_server, vm, intro, bytes, len);
	/* A parser hazard: what the firmware would read differently. */
	if (vm == LOGSAFE_VM_RECEIVE && misread != 0 && vmlog_misread(bytes,
	    len, why, sizeof(why)) == 1)
		ctlreg_rec_set(&r->hazard, REC_HAZARD_MAX, why);
	/* A sink may untap itself (its client went away): walk safely. */
	for (t = TAILQ_FIRST(&r->reg->taps); t != NULL; t = next) {
		next = TAILQ_NEXT(t, entry);
		if (tap_matches(t, r))
			tap_send(t, r, from_server, vm, intro, bytes, len);
	}
}

int
ctlreg_wants_traffic(const struct ctlrec *r)
{
	return r != NULL && (r->pending || r->watched ||
	    !TAILQ_EMPTY(&r->reg->taps));
}

void
ctlreg_hazard(struct ctlrec *r, const char *bytes, size_t len, int redact)
{
	char		 why[VMLOG_WHY_SIZE];
	struct evbuffer	*red;
	int		 ok = 0;

	if (r == NULL || vmlog_misread(bytes, len, why, sizeof(why)) != 1)
		return;
	if (redact) {
		/* Rare: redo it on what a log would show, for the excerpt. */
		if ((red = evbuffer_new()) != NULL &&
		    logsafe_redact(red, bytes, len) >= 0)
			ok = vmlog_misread((const char *)evbuffer_pullup(red,
			    -1), evbuffer_get_length(red), why,
			    sizeof(why)) == 1;
		if (red != NULL)
			evbuffer_free(red);
		if (!ok)
			snprintf(why, sizeof(why), "the firmware misreads "
			    "this stanza (inside a redacted payload)");
	}
	ctlreg_rec_set(&r->hazard, REC_HAZARD_MAX, why);
}

void
ctlreg_closing(struct ctlrec *r, const char *cond, const char *reason)
{
	int	i;

	if (r == NULL || r->reason != NULL)
		return;
	r->cond = 0;
	if (cond != NULL && *cond != '\0') {
		for (i = 1; i < CTLREG_NCONDS - 1 &&
		    strcmp(cond_names[i], cond) != 0; i++)
			;
		r->cond = i;
	}
	r->reason = strdup(reason != NULL && *reason ? reason : "closed");
}

static void
rec_free(struct ctlrec *r)
{
	struct wunit	*w;

	while ((w = TAILQ_FIRST(&r->units)) != NULL) {
		TAILQ_REMOVE(&r->units, w, entry);
		free(w);
	}
	free(r->reason);
	if (r->sasl != NULL)
		identity_free(r->sasl);
	free(r->sasl);
	free(r->jid);
	free(r->firmware);
	free(r->profile);
	free(r->error);
	free(r->warning);
	free(r->hazard);
	free(r);
}

void
ctlreg_close(struct ctlrec *r)
{
	struct ctlreg	*reg;
	struct ctlrec	*old;

	if (r == NULL)
		return;
	reg = r->reg;
	ctlreg_rec_identity(r);
	hostsvc_offline(r->se);		/* filters' on_stage("offline") */
	r->se = NULL;
	r->ended_ms = rec_ms(r);
	TAILQ_REMOVE(&reg->live, r, entry);
	reg->closed[r->cond]++;
	if (!r->online)
		reg->failed++;
	if (r->online && !r->watched) {
		rec_free(r);
		return;
	}
	TAILQ_INSERT_HEAD(&reg->history, r, entry);
	if (++reg->nhistory > CTLREG_HISTORY) {
		old = TAILQ_LAST(&reg->history, ctlrec_list);
		TAILQ_REMOVE(&reg->history, old, entry);
		rec_free(old);
		reg->nhistory--;
	}
}

struct ctltap *
ctlreg_tap(struct ctlreg *reg, const char *sel, int fmt, ctltap_sink *sink,
    void *arg, char *err, size_t errlen)
{
	struct ctltap	*t;
	struct ctlrec	*r;
	struct wunit	*w;
	char		*end;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->fmt = fmt;
	t->sink = sink;
	t->arg = arg;
	if (strcmp(sel, "all") == 0)
		t->all = 1;
	else if (ctlreg_mac_norm(sel, strlen(sel), t->mac) == 0)
		;
	else if ((t->id = strtoull(sel, &end, 10)) == 0 || *end != '\0') {
		snprintf(err, errlen, "tap: '%.40s' is not all, a session id "
		    "or a MAC", sel);
		free(t);
		return NULL;
	}
	/* What the watch kept for this MAC: the newest attempt that has it. */
	TAILQ_FOREACH(r, &reg->live, entry)
		ctlreg_rec_identity(r);
	if (t->id == 0 && !t->all) {
		TAILQ_FOREACH(r, &reg->live, entry)
			if (strcmp(r->mac, t->mac) == 0 && r->watched)
				break;
		if (r == NULL)
			TAILQ_FOREACH(r, &reg->history, entry)
				if (strcmp(r->mac, t->mac) == 0 && r->watched)
					break;
		if (r != NULL)
			TAILQ_FOREACH(w, &r->units, entry)
				tap_send(t, r, w->from_server, w->vm,
				    w->intro, w->bytes, w->len);
	}
	TAILQ_INSERT_TAIL(&reg->taps, t, entry);
	return t;
}

void
ctlreg_untap(struct ctlreg *reg, struct ctltap *t)
{
	if (t == NULL)
		return;
	TAILQ_REMOVE(&reg->taps, t, entry);
	free(t);
}



int
ctlreg_kick(struct ctlreg *reg, uint64_t id)
{
	struct ctlrec	*r;

	TAILQ_FOREACH(r, &reg->live, entry)
		if (r->id == id && r->se != NULL) {
			reg->kicked++;
			session_end_reason(r->se, "kicked", NULL);
			session_close_with(r->se, "reset",
			    "kicked by the control socket");
			return 0;
		}
	return -1;
}

